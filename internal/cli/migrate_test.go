package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/policycheck"
)

// migrateCase is one case of the difference report: an Ingress with
// ingress-nginx annotations and the HTTPRoute ingress2gateway made of it
// (testdata/migrate/NAME/input.yaml), with the CorsPolicies, cleaned
// routes and report as golden files next to it.
type migrateCase struct {
	name string
	args []string
	// wantPolicies and wantRoutes count the documents written.
	wantPolicies, wantRoutes int
	// wantReport are lines the report must hold, whatever the goldens say,
	// with single spaces between words.
	wantReport []string
	// wantPolicy are lines the CorsPolicy YAML must hold.
	wantPolicy []string
}

func TestMigrateGolden(t *testing.T) {
	checker, err := policycheck.New()
	if err != nil {
		t.Fatal(err)
	}
	cases := []migrateCase{
		{name: "one-label-wildcard", wantPolicies: 1, wantRoutes: 1,
			wantPolicy: []string{"  - https://www.example.com\n  maxAge: 600"},
			wantReport: []string{
				`"https://*.example.com" left out`,
				"GET from https://a.b.example.com, credentialed blocked (no-cors-headers) blocked (no-cors-headers) allowed",
				"kubecors: 0 allowed that nginx blocked",
			}},
		{name: "one-label-wildcard-any-depth", args: []string{"--any-depth-wildcards"}, wantPolicies: 1, wantRoutes: 1,
			wantPolicy: []string{"  - https://*.example.com", `"https://*.example.com" kept as --any-depth-wildcards asks: it now matches any number of labels (https://a.b.example.com too)`},
			wantReport: []string{"GET from https://a.b.example.com, credentialed blocked (no-cors-headers) allowed allowed", "kubecors: 2 allowed that nginx blocked"}},
		{name: "credentials-default", wantPolicies: 1, wantRoutes: 1,
			wantPolicy: []string{"allowCredentials is true only because ingress-nginx defaults it to true", "allowCredentials: true", "maxAge: 7200"},
			wantReport: []string{"nginx 1728000 s, kubecors 7200 s, ingress2gateway's copy 1728000 s"}},
		{name: "invalid-fallback", wantPolicies: 1, wantRoutes: 1,
			wantPolicy: []string{"fails ingress-nginx's validation of cors-allow-origin", "allowCredentials: false", "  - '*'"},
			wantReport: []string{
				`the API server rejects ingress2gateway's copy (allowOrigins[0] "https://app.example.com/" is not a Gateway API CORSOrigin)`,
				"GET from https://evil.example allowed allowed blocked (no-cors-headers)",
			}},
		{name: "wildcard-credentials", wantPolicies: 1, wantRoutes: 1,
			wantPolicy: []string{`allowCredentials is false: ingress-nginx answers "*" with credentials`, "  - '*'"},
			wantReport: []string{"GET from https://evil.example, credentialed blocked (wildcard-with-credentials) blocked (wildcard-with-credentials) allowed"}},
		{name: "multiple-origins", wantPolicies: 1, wantRoutes: 1,
			wantPolicy: []string{"  - https://admin.example.com:8443", "  - http://localhost:3000", "  - X-Total-Count", "    name: orders-orders-example-com\n"},
			wantReport: []string{"rule 0, rule 1 (from Ingress shop/orders)", "0 change verdict"}},
		{name: "no-route", wantPolicies: 1, wantRoutes: 0,
			wantPolicy: []string{"kind: Ingress\n    name: media", "takeOverExistingConfiguration: true"},
			wantReport: []string{"Ingress shop/static: ingress-nginx sent no CORS header", "Ingress shop/media (no HTTPRoute generated from it was given",
				"GET from https://a.b.shop.example.com blocked (no-cors-headers) blocked (no-cors-headers) allowed"}},
		{name: "user-changed", wantPolicies: 1, wantRoutes: 1,
			wantPolicy: []string{"sectionName: orders"},
			wantReport: []string{"rule 0 (from Ingress shop/backoffice)\nCORS filter kept: it differs from what ingress2gateway writes",
				`rule "orders" (from Ingress shop/backoffice)` + "\ningress2gateway's CORS filter removed",
				"GET from https://ops.example.com allowed blocked (no-cors-headers) allowed"}},
		{name: "no-origin-left", wantPolicies: 0, wantRoutes: 1,
			wantReport: []string{
				"Ingress shop/reports: ingress-nginx sent no CORS header for it (no origin of nginx.ingress.kubernetes.io/cors-allow-origin passed its validation)",
				"ingress2gateway's CORS filter removed; no CorsPolicy",
				`the API server rejects ingress2gateway's copy (allowOrigins[0] "app.example.com" is not a Gateway API CORSOrigin)`,
			}},
		{name: "mixed-route", wantPolicies: 0, wantRoutes: 0,
			wantReport: []string{
				"Ingress shop/legacy: left alone: it is served by haproxy-ingress",
				"Ingress shop/web: no rule generated from it can be programmed by kubecors",
				`rule 0 (from Ingress shop/web)` + "\ningress2gateway's CORS filter kept: the route also has rules of other Ingresses and these rules have no name",
				"rule 1 (from Ingress shop/docs)\nCORS filter kept: ingress2gateway writes none for these rules, so it is not its copy",
				"GET from https://evil.example blocked (no-cors-headers) allowed blocked (no-cors-headers)",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "migrate", strings.TrimSuffix(tc.name, "-any-depth"))
			golden := filepath.Join("testdata", "migrate", tc.name)
			got, code := run(t, append([]string{"migrate", "-f", filepath.Join(dir, "input.yaml")}, tc.args...), nil)
			if code != ExitOK {
				t.Fatalf("exit status %d\n%s", code, got)
			}
			_, rest, _ := strings.Cut(got, "--- stdout\n")
			stdout, report, _ := strings.Cut(rest, "--- stderr\n")
			policies, routes := splitMigrationOutput(t, stdout)
			checkGolden(t, filepath.Join(golden, "policies.golden"), strings.Join(policies, "---\n"))
			checkGolden(t, filepath.Join(golden, "routes.golden"), strings.Join(routes, "---\n"))
			checkGolden(t, filepath.Join(golden, "report.golden"), report)
			if len(policies) != tc.wantPolicies || len(routes) != tc.wantRoutes {
				t.Errorf("%d CorsPolicies and %d HTTPRoutes, want %d and %d", len(policies), len(routes), tc.wantPolicies, tc.wantRoutes)
			}
			// Table columns are aligned with runs of spaces: compare words.
			var words []string
			for line := range strings.Lines(report) {
				words = append(words, strings.Join(strings.Fields(line), " "))
			}
			normalized := strings.Join(words, "\n")
			for _, want := range tc.wantReport {
				if !strings.Contains(normalized, want) {
					t.Errorf("the report lacks %q:\n%s", want, report)
				}
			}
			for _, want := range tc.wantPolicy {
				if !strings.Contains(strings.Join(policies, ""), want) {
					t.Errorf("the CorsPolicy lacks %q:\n%s", want, policies)
				}
			}
			// The offline checker, as kubectl cors check and the API
			// server would judge the policies.
			for _, doc := range policies {
				obj := &unstructured.Unstructured{}
				if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
					t.Fatal(err)
				}
				if r := checker.Check(obj); !r.Valid() {
					t.Errorf("kubectl cors check rejects the CorsPolicy: %v %s\n%s", r.Errors, r.Skipped, doc)
				}
				// Taking over is for annotations; routes come cleaned.
				if strings.Contains(doc, "kind: HTTPRoute") && strings.Contains(doc, "takeOverExistingConfiguration") {
					t.Errorf("a policy on routes must not take over:\n%s", doc)
				}
			}
			for _, doc := range routes {
				checkCleanedRoute(t, filepath.Join(dir, "input.yaml"), doc)
			}
		})
	}
}

// splitMigrationOutput splits migrate's standard output into CorsPolicy
// and HTTPRoute documents.
func splitMigrationOutput(t *testing.T, stdout string) (policies, routes []string) {
	t.Helper()
	for _, doc := range splitDocuments([]byte(stdout)) {
		text := string(doc.data)
		switch {
		case strings.TrimSpace(text) == "":
		case strings.Contains(text, "\nkind: CorsPolicy\n"):
			policies = append(policies, text)
		case strings.Contains(text, "\nkind: HTTPRoute\n"):
			routes = append(routes, text)
		default:
			t.Errorf("unexpected document:\n%s", text)
		}
	}
	return policies, routes
}

// checkCleanedRoute checks that a cleaned route is its input with CORS
// filters taken out and nothing else changed.
func checkCleanedRoute(t *testing.T, input, cleaned string) {
	t.Helper()
	got := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(cleaned), &got.Object); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range splitDocuments(data) {
		original := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc.data, &original.Object); err != nil {
			t.Fatal(err)
		}
		if original.GetKind() != got.GetKind() || original.GetName() != got.GetName() {
			continue
		}
		stripCORS := func(u *unstructured.Unstructured) string {
			rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
			for i := range rules {
				rule, _ := rules[i].(map[string]any)
				filters, _, _ := unstructured.NestedSlice(rule, "filters")
				var kept []any
				for _, f := range filters {
					if f.(map[string]any)["type"] != "CORS" {
						kept = append(kept, f)
					}
				}
				delete(rule, "filters")
				if len(kept) > 0 {
					rule["filters"] = kept
				}
			}
			_ = unstructured.SetNestedSlice(u.Object, rules, "spec", "rules")
			out, _ := yaml.Marshal(u.Object)
			return string(out)
		}
		if a, b := stripCORS(original.DeepCopy()), stripCORS(got.DeepCopy()); a != b {
			t.Errorf("the cleaned route differs from its input in more than CORS filters:\n%s\nwant\n%s", b, a)
		}
		if strings.Count(cleaned, "type: CORS") >= strings.Count(string(doc.data), "type: CORS") {
			t.Errorf("no CORS filter was removed:\n%s", cleaned)
		}
		return
	}
	t.Errorf("HTTPRoute %s is not in %s", got.GetName(), input)
}

// TestMigrationHazards checks audit's migration hazards on route filters,
// case by case, with the message and the fix they print.
func TestMigrationHazards(t *testing.T) {
	obj := auditObject{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute", Namespace: "shop", Name: "api"}
	filter := func(credentials bool, origins ...any) dataplanes.Model {
		return gatewayapi.ParseGatewayCORS(map[string]any{"allowOrigins": origins, "allowCredentials": credentials}, "spec.rules[0].filters[0].cors")
	}
	tests := []struct {
		name      string
		model     dataplanes.Model
		managedBy string
		want      []string
	}{
		{"star with credentials, as ingress2gateway copies nginx's defaults", filter(true, "*"), "",
			[]string{`high route-wildcard-with-credentials: migration hazard: allowOrigins "*" with allowCredentials: true makes the gateway echo every origin`}},
		{"star without credentials is public data, not a hazard", filter(false, "*"), "", nil},
		{"a one-label nginx wildcard copied with credentials", filter(true, "https://*.example.com"), "",
			[]string{"medium any-depth-wildcard: migration hazard: https://*.example.com matches any depth on Gateway API (https://a.b.example.com too), " +
				"where ingress-nginx matched one label (https://app.example.com); fix: list the subdomains"}},
		{"the same wildcard without credentials", filter(false, "https://www.example.com", "https://*.example.com"), "",
			[]string{"low any-depth-wildcard: migration hazard: https://*.example.com"}},
		{"exact origins are no hazard", filter(true, "https://app.example.com"), "", nil},
		{"kubecors's own filter says what its policy means", filter(true, "https://*.example.com"), "CorsPolicy shop/api", nil},
		{"no filter", gatewayapi.ParseGatewayCORS(nil, "cors"), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			findings := migrationHazards(auditTarget{object: obj, model: tt.model, key: "spec.rules[0]", managedBy: tt.managedBy})
			if len(findings) != len(tt.want) {
				t.Fatalf("%d findings, want %d: %+v", len(findings), len(tt.want), findings)
			}
			for i, f := range findings {
				if got := f.Severity + " " + f.Rule + ": " + f.Message; !strings.HasPrefix(got, tt.want[i]) {
					t.Errorf("finding %q, want it to start with %q", got, tt.want[i])
				}
				if f.Key != "spec.rules[0].filters[0].cors.allowOrigins" {
					t.Errorf("key %q", f.Key)
				}
			}
		})
	}
}

// testMigrateCluster runs migrate against the API server: the Ingresses and
// HTTPRoutes of two cases are created in their own namespace, read back by
// migrate (-n) and migrated as the files were.
func testMigrateCluster(t *testing.T, c client.Client, kubeconfig string) {
	ctx := context.Background()
	const namespace = "migration"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		t.Fatal(err)
	}
	for _, input := range []string{"user-changed", "wildcard-credentials"} {
		data, err := os.ReadFile(filepath.Join("testdata", "migrate", input, "input.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range splitDocuments(data) {
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(doc.data, &obj.Object); err != nil {
				t.Fatal(err)
			}
			obj.SetNamespace(namespace)
			if err := c.Create(ctx, obj); err != nil {
				t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
			}
		}
	}
	got, code := runCLI(t, []string{"migrate", "-n", namespace, "--kubeconfig", kubeconfig})
	if code != ExitOK {
		t.Fatalf("exit status %d\n%s", code, got)
	}
	checkGolden(t, filepath.Join("testdata", "migrate", "cluster.golden"), stripServerFields(got))
	_, rest, _ := strings.Cut(got, "--- stdout\n")
	stdout, report, _ := strings.Cut(rest, "--- stderr\n")
	policies, routes := splitMigrationOutput(t, stdout)
	if len(policies) != 2 || len(routes) != 2 {
		t.Fatalf("%d CorsPolicies and %d HTTPRoutes, want 2 and 2:\n%s", len(policies), len(routes), stdout)
	}
	for _, want := range []string{"rule 0 (from Ingress migration/backoffice)", "rule 0 (from Ingress migration/search)", "CORS filter kept"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	checker, err := policycheck.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range policies {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatal(err)
		}
		if r := checker.Check(obj); !r.Valid() {
			t.Errorf("kubectl cors check rejects the CorsPolicy: %v\n%s", r.Errors, doc)
		}
		// The API server itself takes it, and the cleaned routes too.
		if err := c.Create(ctx, obj); err != nil {
			t.Errorf("creating the CorsPolicy: %v", err)
		}
	}
	for _, doc := range routes {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatal(err)
		}
		if obj.GetResourceVersion() == "" || obj.GetManagedFields() != nil || obj.GetUID() != "" {
			t.Errorf("the cleaned route must keep resourceVersion (so applying a stale copy fails) and drop server fields:\n%s", doc)
		}
		if err := c.Update(ctx, obj.DeepCopy()); err != nil {
			t.Errorf("applying the cleaned route: %v", err)
		}
		if err := c.Update(ctx, obj); err == nil {
			t.Errorf("a cleaned route applied twice must fail on its resourceVersion")
		}
	}

	// -o DIR writes one file per object and the report to standard output.
	dir := t.TempDir()
	got, code = runCLI(t, []string{"migrate", "-n", namespace, "--kubeconfig", kubeconfig, "-o", dir})
	if code != ExitOK {
		t.Fatalf("exit status %d\n%s", code, got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := make([]string, 0, len(entries))
	for _, e := range entries {
		files = append(files, e.Name())
	}
	// The routes are clean now: the policies are written again (the rules
	// have no filter, so they are still targeted), no route is.
	want := []string{"corspolicy-migration-backoffice-cors.yaml", "corspolicy-migration-search-cors.yaml"}
	if !slices.Equal(files, want) || !strings.Contains(got, "wrote "+filepath.Join(dir, want[0])) || !strings.Contains(got, "the rule has no CORS filter") {
		t.Errorf("files %v, want %v\n%s", files, want, got)
	}
}

// stripServerFields replaces what the API server chose (resourceVersion)
// so that the golden file is stable.
func stripServerFields(s string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.HasPrefix(strings.TrimSpace(line), "resourceVersion:") {
			line = "  resourceVersion: RESOURCE_VERSION\n"
		}
		out = append(out, line)
	}
	return strings.Join(out, "")
}

// TestIngress2GatewayFilter pins migrate's reproduction of ingress2gateway's
// copy (pkg/i2gw/providers/ingressnginx/cors.go) case by case.
func TestIngress2GatewayFilter(t *testing.T) {
	const (
		enable  = "nginx.ingress.kubernetes.io/enable-cors"
		origin  = "nginx.ingress.kubernetes.io/cors-allow-origin"
		creds   = "nginx.ingress.kubernetes.io/cors-allow-credentials"
		maxAge  = "nginx.ingress.kubernetes.io/cors-max-age"
		methods = "nginx.ingress.kubernetes.io/cors-allow-methods"
	)
	tests := []struct {
		name        string
		annotations map[string]string
		// want is the filter as JSON, "" for none.
		want string
	}{
		{"CORS off writes nothing", map[string]string{origin: "https://a.example.com"}, ""},
		{"enable-cors must parse as a boolean", map[string]string{enable: "yes"}, ""},
		{"ParseBool takes True", map[string]string{enable: "True", origin: "https://a.example.com", creds: "false", maxAge: "10", methods: "GET"},
			`{"allowCredentials":false,"allowHeaders":["DNT","Keep-Alive","User-Agent","X-Requested-With","If-Modified-Since","Cache-Control","Content-Type","Range","Authorization"],"allowMethods":["GET"],"allowOrigins":["https://a.example.com"],"maxAge":10}`},
		{"defaults: any origin, credentials, 20 days", map[string]string{enable: "true"},
			`{"allowCredentials":true,"allowHeaders":["DNT","Keep-Alive","User-Agent","X-Requested-With","If-Modified-Since","Cache-Control","Content-Type","Range","Authorization"],"allowMethods":["GET","PUT","POST","DELETE","PATCH","OPTIONS"],"allowOrigins":["*"],"maxAge":1728000}`},
		{"copied verbatim: a path, a one-label wildcard, an unparsable credentials value reads as true, a bad max age as the default",
			map[string]string{enable: "true", origin: "https://a.example.com/ , https://*.example.com,", creds: "no", maxAge: "20d", methods: "get"},
			`{"allowCredentials":true,"allowHeaders":["DNT","Keep-Alive","User-Agent","X-Requested-With","If-Modified-Since","Cache-Control","Content-Type","Range","Authorization"],"allowMethods":["get"],"allowOrigins":["https://a.example.com/","https://*.example.com"],"maxAge":1728000}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if f := ingress2gatewayFilter(tt.annotations); f != nil {
				data, err := json.Marshal(filterContent(f))
				if err != nil {
					t.Fatal(err)
				}
				got = string(data)
			}
			if got != tt.want {
				t.Errorf("filter\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestMigrateRejections checks what migrate says about inputs it cannot
// use, and that it then writes nothing.
func TestMigrateRejections(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantExit int
		want     string
	}{
		{"missing file", []string{"-f", "testdata/migrate/errors/missing.yaml"}, ExitUsage,
			"error: testdata/migrate/errors/missing.yaml: cannot read: no such file or directory"},
		{"broken YAML", []string{"-f", "testdata/broken.yaml"}, ExitUsage, "error: testdata/broken.yaml:"},
		{"an Ingress that does not decode", []string{"-f", "testdata/migrate/errors/bad-ingress.yaml"}, ExitUsage,
			"error: testdata/migrate/errors/bad-ingress.yaml:1: cannot read Ingress broken:"},
		{"nothing to migrate", []string{"-f", "testdata/migrate/errors/nothing.yaml"}, ExitOK,
			"No Ingress served by ingress-nginx with its CORS annotations found: nothing to migrate."},
		{"arguments are not files", []string{"ingress.yaml"}, ExitUsage, `unknown command "ingress.yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, code := run(t, append([]string{"migrate"}, tt.args...), nil)
			if code != tt.wantExit || !strings.Contains(got, tt.want) {
				t.Errorf("exit status %d, want %d, and output with %q:\n%s", code, tt.wantExit, tt.want, got)
			}
			if _, rest, _ := strings.Cut(got, "--- stdout\n"); !strings.HasPrefix(rest, "--- stderr\n") {
				t.Errorf("something was written:\n%s", got)
			}
		})
	}
}

// TestMigrateTooManyTargets checks that an Ingress whose rules would need
// more targetRefs than a CorsPolicy holds gets no policy, keeps its
// routes' filters, and is told why.
func TestMigrateTooManyTargets(t *testing.T) {
	prefix := networkingv1.PathTypePrefix
	ingress := func(name string, paths ...string) networkingv1.Ingress {
		rule := networkingv1.IngressRule{Host: "www.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}
		for _, p := range paths {
			rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1.HTTPIngressPath{Path: p, PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "svc", Port: networkingv1.ServiceBackendPort{Number: 80}}}})
		}
		return networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}, Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{rule}}}
	}
	many := make([]string, maxTargetRefs+1)
	for i := range many {
		many[i] = fmt.Sprintf("/p%d", i)
	}
	wide := ingress("wide", many...)
	wide.Annotations = map[string]string{"nginx.ingress.kubernetes.io/enable-cors": "true", "nginx.ingress.kubernetes.io/cors-allow-origin": "https://app.example.com"}
	copied := filterContent(ingress2gatewayFilter(wide.Annotations))
	rules := make([]any, 0, len(many)+1)
	for i, p := range append(many, "/other") {
		rule := map[string]any{"name": fmt.Sprintf("r%d", i), "matches": []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": p}}},
			"backendRefs": []any{map[string]any{"name": "svc", "port": int64(80)}}}
		if p != "/other" {
			rule["filters"] = []any{map[string]any{"type": "CORS", "cors": copied}}
		}
		rules = append(rules, rule)
	}
	route := unstructured.Unstructured{Object: map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"namespace": "shop", "name": "wide-www-example-com"},
		"spec":     map[string]any{"hostnames": []any{"www.example.com"}, "rules": rules}}}
	m := planMigration(migrationInput{ingresses: []networkingv1.Ingress{wide, ingress("other", "/other")}, routes: []unstructured.Unstructured{route}}, migrationOptions{})
	if len(m.ingresses) != 1 || m.ingresses[0].policy != nil || !strings.Contains(m.ingresses[0].skipped, "its rules are in 17 targets and a CorsPolicy has at most 16") {
		t.Fatalf("want no policy and the reason, got %+v", m.ingresses)
	}
	if m.routes[0].cleaned != nil {
		t.Errorf("the route must keep ingress2gateway's filters when no policy replaces them")
	}
	var b strings.Builder
	if err := printMigrationReport(&b, m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "CORS filter kept; no CorsPolicy: its rules are in 17 targets") {
		t.Errorf("report:\n%s", b.String())
	}
}

// TestSameFilter checks what counts as ingress2gateway's copy: exactly its
// fields and values, nothing someone added.
func TestSameFilter(t *testing.T) {
	copied := ingress2gatewayFilter(map[string]string{"nginx.ingress.kubernetes.io/enable-cors": "true"})
	with := func(key string, value any) map[string]any {
		f := filterContent(copied)
		if key != "" {
			f[key] = value
		}
		return f
	}
	tests := []struct {
		name    string
		written map[string]any
		want    bool
	}{
		{"the copy itself", with("", nil), true},
		{"a field of a newer Gateway API", with("allowPrivateNetwork", true), false},
		{"credentials turned off by hand", with("allowCredentials", false), false},
		{"an empty list written out", with("exposeHeaders", []any{}), false},
		{"no filter", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameFilter(tt.written, copied); got != tt.want {
				t.Errorf("sameFilter = %v, want %v", got, tt.want)
			}
		})
	}
}
