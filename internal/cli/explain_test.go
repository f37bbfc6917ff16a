package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/haproxyingress"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

const (
	appOrigin = "https://app.example.com"
	nginx     = ingressnginx.Name
)

// handTarget is an Ingress shop/api with hand-written annotations for dp.
func handTarget(t *testing.T, dp string, annotations map[string]string, middlewares ...*unstructured.Unstructured) *explainTarget {
	t.Helper()
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api", Annotations: annotations}}
	objects := make([]unstructured.Unstructured, 0, len(middlewares))
	for _, mw := range middlewares {
		objects = append(objects, *mw)
	}
	model, notes, fixer, err := ingressModel(ing, dp, objects)
	if err != nil {
		t.Fatal(err)
	}
	target := &explainTarget{Ref: "Ingress shop/api", Kind: "Ingress", Namespace: "shop", Name: "api", Notes: notes, model: model, fixer: fixer,
		GovernedBy: governedByNone}
	if model.Effective().Enabled {
		target.GovernedBy = governedByHand
	}
	return target
}

// specTarget is CorsPolicy shop/api rendered for dp.
func specTarget(t *testing.T, dp string, spec kubecorsv1alpha1.CorsPolicySpec) *explainTarget {
	t.Helper()
	spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{{Group: "networking.k8s.io", Kind: "Ingress", Name: "api"}}
	policy := &kubecorsv1alpha1.CorsPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api"}, Spec: spec}
	target, err := policyTarget(policy, dp, "test", "CorsPolicy shop/api")
	if err != nil {
		t.Fatal(err)
	}
	return target
}

func origins(values ...string) []kubecorsv1alpha1.Origin {
	return convertList[kubecorsv1alpha1.Origin](values)
}

func yes() *bool { v := true; return &v }

// TestExplainFailureClasses covers every diagnosis class for the
// configurations explain reads, asserting the plain-words diagnosis and the
// exact fix in the terms of what governs the target. Each verdict is
// cross-checked against corscheck's evaluation of the same exchange.
func TestExplainFailureClasses(t *testing.T) {
	creds := func(r corscheck.Request) corscheck.Request { r.Credentials = true; return r }
	get := corscheck.Request{Origin: appOrigin, Method: http.MethodGet, Headers: http.Header{}}
	put := corscheck.Request{Origin: appOrigin, Method: http.MethodPut, Headers: http.Header{}}
	withHeader := corscheck.Request{Origin: appOrigin, Method: http.MethodGet, Headers: http.Header{"X-Request-Id": {"42"}}}
	reading := corscheck.Request{Origin: appOrigin, Method: http.MethodGet, Headers: http.Header{}, ReadHeaders: []string{"X-Total-Count"}}
	spec := func(mutate func(*kubecorsv1alpha1.CorsPolicySpec)) kubecorsv1alpha1.CorsPolicySpec {
		s := kubecorsv1alpha1.CorsPolicySpec{AllowOrigins: origins(appOrigin), AllowMethods: []kubecorsv1alpha1.HTTPMethod{"GET"}}
		if mutate != nil {
			mutate(&s)
		}
		return s
	}
	tests := []struct {
		name        string
		target      func(t *testing.T) *explainTarget
		req         corscheck.Request
		wantClass   string // "" for allowed
		wantMessage string
		wantFix     string
		wantHint    string
	}{
		{
			name: "acceptance: enable-cors alone, credentialed request: nginx sends * with credentials true",
			target: func(t *testing.T) *explainTarget {
				return handTarget(t, nginx, map[string]string{ingressnginx.EnableCors: "true"})
			},
			req:         creds(get),
			wantClass:   corscheck.ClassWildcardWithCredentials,
			wantMessage: `has Access-Control-Allow-Origin: *, which browsers refuse for credentialed requests`,
			wantFix: `set nginx.ingress.kubernetes.io/cors-allow-origin to "https://app.example.com" on Ingress shop/api:
  kubectl annotate ingress api -n shop --overwrite nginx.ingress.kubernetes.io/cors-allow-origin='https://app.example.com'`,
			wantHint: `nginx.ingress.kubernetes.io/cors-allow-credentials: "false" on Ingress shop/api`,
		},
		{
			name: "acceptance: enable-cors alone, request without credentials passes, with a warning about the risk",
			target: func(t *testing.T) *explainTarget {
				return handTarget(t, nginx, map[string]string{ingressnginx.EnableCors: "true"})
			},
			req:      get,
			wantHint: "(wildcard-with-credentials, high risk; see kubectl cors audit)",
		},
		{
			name: "no CORS headers: nginx adds none for an unlisted origin (hand-written)",
			target: func(t *testing.T) *explainTarget {
				return handTarget(t, nginx, map[string]string{ingressnginx.EnableCors: "true", ingressnginx.AllowOrigin: "https://admin.example.com"})
			},
			req:         get,
			wantClass:   corscheck.ClassNoCORSHeaders,
			wantMessage: "carries no CORS headers",
			wantFix: `set nginx.ingress.kubernetes.io/cors-allow-origin to "https://admin.example.com,https://app.example.com" on Ingress shop/api:
  kubectl annotate ingress api -n shop --overwrite nginx.ingress.kubernetes.io/cors-allow-origin='https://admin.example.com,https://app.example.com'`,
			wantHint: "kubectl cors audit -n shop --suggest",
		},
		{
			name: "no CORS headers: the policy does not list the origin",
			target: func(t *testing.T) *explainTarget {
				return specTarget(t, nginx, spec(func(s *kubecorsv1alpha1.CorsPolicySpec) { s.AllowOrigins = origins("https://admin.example.com") }))
			},
			req:         get,
			wantClass:   corscheck.ClassNoCORSHeaders,
			wantMessage: "carries no CORS headers",
			wantFix:     `add "https://app.example.com" to spec.allowOrigins of CorsPolicy shop/api`,
		},
		{
			name: "no CORS headers: nothing configures CORS",
			target: func(t *testing.T) *explainTarget {
				return handTarget(t, nginx, map[string]string{ingressnginx.AllowOrigin: appOrigin})
			},
			req:       get,
			wantClass: corscheck.ClassNoCORSHeaders,
			wantFix:   `create a CorsPolicy in namespace shop with targetRefs naming Ingress api and spec.allowOrigins: ["https://app.example.com"]`,
			wantHint:  "server-side alternative: answer with Access-Control-Allow-Origin: https://app.example.com",
		},
		{
			name: "wrong origin: HAProxy Ingress sends its one origin whatever the request's",
			target: func(t *testing.T) *explainTarget {
				return handTarget(t, haproxyingress.Name, map[string]string{haproxyingress.CorsEnable: "true", haproxyingress.AllowOrigin: "https://admin.example.com"})
			},
			req:         get,
			wantClass:   corscheck.ClassOriginMismatch,
			wantMessage: `allows the origin "https://admin.example.com", not the page's origin https://app.example.com`,
			wantFix: `set haproxy-ingress.github.io/cors-allow-origin to "https://admin.example.com,https://app.example.com" on Ingress shop/api:
  kubectl annotate ingress api -n shop --overwrite haproxy-ingress.github.io/cors-allow-origin='https://admin.example.com,https://app.example.com'`,
		},
		{
			name: "preflight not handled: CORS headers written by hand in customResponseHeaders answer no preflight",
			target: func(t *testing.T) *explainTarget {
				mw := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
					"metadata": map[string]any{"namespace": "shop", "name": "cors"},
					"spec":     map[string]any{"headers": map[string]any{"customResponseHeaders": map[string]any{"Access-Control-Allow-Origin": "*"}}}}}
				return handTarget(t, traefik.Name, map[string]string{traefik.MiddlewaresAnnotation: "shop-cors@kubernetescrd"}, mw)
			},
			req:         put,
			wantClass:   corscheck.ClassPreflightNotHandled,
			wantMessage: "the preflight response has no Access-Control-Allow-Methods",
			wantFix: `no Middleware of Ingress shop/api (in traefik.ingress.kubernetes.io/router.middlewares) answers CORS: create a headers Middleware ` +
				`with accessControlAllowOriginList: ["https://app.example.com"] and the methods and headers the page needs, and add it to Ingress shop/api ` +
				`(in traefik.ingress.kubernetes.io/router.middlewares)`,
		},
		{
			name: "credentials not allowed: cors-allow-credentials is false",
			target: func(t *testing.T) *explainTarget {
				return handTarget(t, nginx, map[string]string{ingressnginx.EnableCors: "true", ingressnginx.AllowOrigin: appOrigin,
					ingressnginx.AllowCredentials: "false"})
			},
			req:         creds(get),
			wantClass:   corscheck.ClassCredentialsNotAllowed,
			wantMessage: "has no Access-Control-Allow-Credentials",
			wantFix: `set nginx.ingress.kubernetes.io/cors-allow-credentials to "true" on Ingress shop/api:
  kubectl annotate ingress api -n shop --overwrite nginx.ingress.kubernetes.io/cors-allow-credentials='true'`,
		},
		{
			name:        "credentials not allowed: the policy does not allow credentials",
			target:      func(t *testing.T) *explainTarget { return specTarget(t, traefik.Name, spec(nil)) },
			req:         creds(get),
			wantClass:   corscheck.ClassCredentialsNotAllowed,
			wantMessage: "has no Access-Control-Allow-Credentials",
			wantFix:     `set spec.allowCredentials of CorsPolicy shop/api to true`,
		},
		{
			name: "wildcard with credentials: the policy allows any origin without credentials",
			target: func(t *testing.T) *explainTarget {
				return specTarget(t, traefik.Name, spec(func(s *kubecorsv1alpha1.CorsPolicySpec) { s.AllowOrigins = origins("*") }))
			},
			req:         creds(get),
			wantClass:   corscheck.ClassWildcardWithCredentials,
			wantMessage: "which browsers refuse for credentialed requests",
			wantFix:     `replace "*" in spec.allowOrigins of CorsPolicy shop/api with "https://app.example.com"`,
		},
		{
			name:        "method not allowed: the policy lists GET only",
			target:      func(t *testing.T) *explainTarget { return specTarget(t, nginx, spec(nil)) },
			req:         put,
			wantClass:   corscheck.ClassMethodNotAllowed,
			wantMessage: `Access-Control-Allow-Methods is "GET", which does not list PUT`,
			wantFix:     `add "PUT" to spec.allowMethods of CorsPolicy shop/api`,
		},
		{
			name: "method not allowed: hand-written cors-allow-methods",
			target: func(t *testing.T) *explainTarget {
				return handTarget(t, nginx, map[string]string{ingressnginx.EnableCors: "true", ingressnginx.AllowOrigin: appOrigin,
					ingressnginx.AllowMethods: "GET, POST"})
			},
			req:       put,
			wantClass: corscheck.ClassMethodNotAllowed,
			wantFix: `set nginx.ingress.kubernetes.io/cors-allow-methods to "GET, POST, PUT" on Ingress shop/api:
  kubectl annotate ingress api -n shop --overwrite nginx.ingress.kubernetes.io/cors-allow-methods='GET, POST, PUT'`,
		},
		{
			name:        "header not allowed: the policy lists no request header",
			target:      func(t *testing.T) *explainTarget { return specTarget(t, haproxyingress.Name, spec(nil)) },
			req:         withHeader,
			wantClass:   corscheck.ClassHeaderNotAllowed,
			wantMessage: "which does not list x-request-id",
			wantFix:     `add "X-Request-Id" to spec.allowHeaders of CorsPolicy shop/api`,
		},
		{
			name: "header not allowed: ingress-nginx's default header list",
			target: func(t *testing.T) *explainTarget {
				return handTarget(t, nginx, map[string]string{ingressnginx.EnableCors: "true", ingressnginx.AllowOrigin: appOrigin})
			},
			req:       withHeader,
			wantClass: corscheck.ClassHeaderNotAllowed,
			wantFix: `set nginx.ingress.kubernetes.io/cors-allow-headers to "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization,X-Request-Id" on Ingress shop/api:
  kubectl annotate ingress api -n shop --overwrite nginx.ingress.kubernetes.io/cors-allow-headers='DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization,X-Request-Id'`,
		},
		{
			name:        "header not exposed: the policy exposes nothing",
			target:      func(t *testing.T) *explainTarget { return specTarget(t, dataplanes.PolicyDataPlane, spec(nil)) },
			req:         reading,
			wantClass:   corscheck.ClassHeaderNotExposed,
			wantMessage: "X-Total-Count",
			wantFix:     `add "X-Total-Count" to spec.exposeHeaders of CorsPolicy shop/api`,
		},
		{
			name: "header not exposed: HTTPRoute CORS filter",
			target: func(t *testing.T) *explainTarget {
				rule := gatewayapi.RouteRule{Index: 0, CORSFilterIndex: 1, CORS: map[string]any{"allowOrigins": []any{appOrigin}}}
				return &explainTarget{Ref: "HTTPRoute shop/api, rule 0", Kind: "HTTPRoute", Namespace: "shop", Name: "api", GovernedBy: governedByHand,
					model: gatewayapi.ParseGatewayCORS(rule.CORS, "spec.rules[0].filters[1].cors"), fixer: gatewayapi.NewFixer("shop/api", rule)}
			},
			req:       reading,
			wantClass: corscheck.ClassHeaderNotExposed,
			wantFix:   `add "X-Total-Count" to spec.rules[0].filters[1].cors.exposeHeaders of HTTPRoute shop/api`,
		},
		{
			name: "the policy allows it, but ingress-nginx cannot express a port wildcard",
			target: func(t *testing.T) *explainTarget {
				return specTarget(t, nginx, spec(func(s *kubecorsv1alpha1.CorsPolicySpec) { s.AllowOrigins = origins(appOrigin, "http://localhost:*") }))
			},
			req:       corscheck.Request{Origin: "http://localhost:3000", Method: http.MethodGet, Headers: http.Header{}},
			wantClass: corscheck.ClassNoCORSHeaders,
			wantFix: `CorsPolicy shop/api allows this request, but ingress-nginx cannot express all of it: spec.allowOrigins[1] "http://localhost:*": ` +
				`ingress-nginx cannot express a port wildcard (":*"): cors-allow-origin accepts only a numeric port. ` +
				`The origin was left out; list the ports you need instead, for example "http://localhost:3000"`,
		},
		{
			name: "a fix that the rules would reject says so",
			target: func(t *testing.T) *explainTarget {
				return specTarget(t, dataplanes.PolicyDataPlane, spec(func(s *kubecorsv1alpha1.CorsPolicySpec) { s.AllowCredentials = yes() }))
			},
			req:       creds(corscheck.Request{Origin: "http://app.example.com", Method: http.MethodGet, Headers: http.Header{}}),
			wantClass: corscheck.ClassNoCORSHeaders,
			wantFix:   `add "http://app.example.com" to spec.allowOrigins of CorsPolicy shop/api`,
			wantHint:  "kubecors would reject the policy after that change: spec.allowOrigins",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, err := explain(tt.target(t), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			crossCheck(t, tt.req, report)
			if tt.wantClass == "" {
				if !report.Verdict.Allowed {
					t.Fatalf("blocked (%s), want allowed", report.Verdict.Failure.Message)
				}
			} else {
				if report.Verdict.Allowed || report.Verdict.Failure == nil {
					t.Fatalf("allowed, want %s", tt.wantClass)
				}
				if got := report.Verdict.Failure.Class; got != tt.wantClass {
					t.Errorf("class %q (%s), want %q", got, report.Verdict.Failure.Message, tt.wantClass)
				}
				if !strings.Contains(report.Verdict.Failure.Message, tt.wantMessage) {
					t.Errorf("diagnosis %q does not say %q", report.Verdict.Failure.Message, tt.wantMessage)
				}
				if diff := cmp.Diff(tt.wantFix, report.Fix); diff != "" {
					t.Errorf("fix (-want +got):\n%s", diff)
				}
			}
			if tt.wantHint != "" && !strings.Contains(strings.Join(report.Hints, "\n"), tt.wantHint) {
				t.Errorf("hints %q do not say %q", report.Hints, tt.wantHint)
			}
		})
	}
}

// crossCheck re-evaluates the exchange a report shows with corscheck, so
// that what explain prints is what the browser model concludes from the
// responses it prints.
func crossCheck(t *testing.T, req corscheck.Request, r *explainReport) {
	t.Helper()
	var ex corscheck.Exchange
	if r.Preflight != nil {
		ex.Preflight = &corscheck.Response{Status: r.Preflight.Status, Header: r.Preflight.Headers}
	}
	if r.Actual != nil {
		ex.Actual = &corscheck.Response{Status: r.Actual.Status, Header: r.Actual.Headers}
	}
	v := corscheck.Evaluate(req, ex)
	if v.Allowed != r.Verdict.Allowed {
		t.Errorf("explain says allowed=%v, corscheck.Evaluate of the shown exchange says %v", r.Verdict.Allowed, v.Allowed)
	}
	if v.Failure != nil && r.Verdict.Failure != nil && v.Failure.Class != r.Verdict.Failure.Class {
		t.Errorf("explain says %s, corscheck.Evaluate says %s", r.Verdict.Failure.Class, v.Failure.Class)
	}
}

// TestExplainGolden runs explain on policy files, without a cluster.
func TestExplainGolden(t *testing.T) {
	tests := []struct {
		golden   string
		args     []string
		wantExit int
	}{
		{"file-allowed", []string{"explain", "-f", "testdata/explain/policy.yaml", "--origin", appOrigin, "--method", "PUT",
			"--header", "X-Request-Id: 7", "--credentials", "--read-header", "X-Total-Count"}, ExitOK},
		{"file-method-blocked", []string{"explain", "-f", "testdata/explain/policy.yaml", "--origin", appOrigin, "--method", "DELETE"}, ExitInvalid},
		{"file-narrowed-haproxy", []string{"explain", "-f", "testdata/explain/policy.yaml", "--data-plane", "haproxy-ingress",
			"--origin", "https://app.example.com", "--method", "PUT", "--header", "X-Request-Id: 7"}, ExitOK},
		{"file-policy-semantics-json", []string{"explain", "-f", "testdata/explain/policy.yaml", "--data-plane", "policy",
			"--origin", "https://evil.example", "-o", "json"}, ExitInvalid},
		{"file-gateway-api-port-wildcard", []string{"explain", "-f", "testdata/explain/policy.yaml", "--data-plane", "gateway-api",
			"--origin", "http://localhost:3000"}, ExitInvalid},
		{"file-traefik-subdomains", []string{"explain", "-f", "testdata/explain/policy.yaml", "--data-plane", "traefik",
			"--origin", "https://a.b.shop.example.com", "--method", "PATCH", "--credentials"}, ExitOK},
		{"no-origin", []string{"explain", "-f", "testdata/explain/policy.yaml"}, ExitUsage},
		{"bad-header", []string{"explain", "-f", "testdata/explain/policy.yaml", "--origin", appOrigin, "--header", "X-Request-Id"}, ExitUsage},
		{"bad-origin", []string{"explain", "-f", "testdata/explain/policy.yaml", "--origin", "https://app.example.com/"}, ExitUsage},
		{"bad-data-plane", []string{"explain", "-f", "testdata/explain/policy.yaml", "--origin", appOrigin, "--data-plane", "apisix"}, ExitUsage},
		{"no-target", []string{"explain", "--origin", appOrigin}, ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, code := runCLI(t, tt.args)
			if code != tt.wantExit {
				t.Errorf("exit status %d, want %d\n%s", code, tt.wantExit, got)
			}
			checkGolden(t, filepath.Join("testdata", "explain", tt.golden+".golden"), got)
		})
	}
}

// runCLI runs kubectl-cors in-process as main would and renders what a
// terminal shows; a --kubeconfig value is printed as KUBECONFIG, so that
// golden files do not depend on the temporary directory.
func runCLI(t *testing.T, args []string) (string, int) {
	t.Helper()
	got, code := run(t, args, nil)
	for i, arg := range args {
		if arg == "--kubeconfig" && i+1 < len(args) {
			got = strings.ReplaceAll(got, args[i+1], "KUBECONFIG")
		}
	}
	return got, code
}

// checkGolden compares got with a golden file, or rewrites it with -update.
// Git records golden files as 100644 whatever the mode on disk, and an
// existing file keeps its mode.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s", path, diff)
	}
}

// testExplainCluster explains targets of the envtest fixture (see
// TestCluster): hand-written annotations of each data plane, a
// kubecors-programmed Ingress, an HTTPRoute CORS filter.
func testExplainCluster(t *testing.T, kubeconfig string) {
	kc := []string{"--kubeconfig", kubeconfig, "-n", "demo"}
	tests := []struct {
		golden   string
		args     []string
		wantExit int
	}{
		// The acceptance case, credentialed: nginx answers "*" with
		// credentials true by default, which the browser refuses.
		{"open-credentials", []string{"explain", "ingress/open", "--origin", appOrigin, "--credentials"}, ExitInvalid},
		{"open-anonymous", []string{"explain", "ingress/open", "--origin", appOrigin}, ExitOK},
		{"fallback-preflight", []string{"explain", "ingress/fallback", "--origin", appOrigin, "--method", "PATCH", "--credentials"}, ExitInvalid},
		{"managed-method", []string{"explain", "ingress/managed", "--origin", appOrigin, "--method", "DELETE", "--credentials"}, ExitInvalid},
		{"managed-allowed-yaml", []string{"explain", "ingress/managed", "--origin", appOrigin, "--method", "PUT", "--credentials",
			"--header", "Content-Type: application/json", "-o", "yaml"}, ExitOK},
		{"haproxy-ineffective", []string{"explain", "ingress/haproxy-app", "--origin", "https://api.example.org.evil.net", "--credentials"}, ExitOK},
		{"traefik-header", []string{"explain", "ingress/traefik-app", "--origin", appOrigin, "--method", "POST",
			"--header", "Authorization: Bearer x", "--credentials"}, ExitInvalid},
		{"route-exposed", []string{"explain", "httproute/gw", "--origin", appOrigin, "--credentials", "--read-header", "X-Total-Count"}, ExitInvalid},
		{"kong-route-trap", []string{"explain", "httproute/kong-route", "--origin", "https://evil.example", "--credentials"}, ExitOK},
		{"envoy-route-security-policy", []string{"explain", "httproute/envoy-route", "--origin", "https://deep.eu.example.com"}, ExitOK},
		// Istio's prefix trap lets a look-alike origin read credentialed
		// responses; Contour's "*" with credentials echoes any origin.
		{"virtualservice-prefix", []string{"explain", "virtualservice/mesh", "--origin", "https://app.example.com.evil.net", "--method", "PUT", "--credentials"}, ExitOK},
		{"virtualservice-blocked", []string{"explain", "virtualservice/mesh", "--origin", "https://admin.example.org", "--credentials"}, ExitInvalid},
		{"httpproxy-any-origin", []string{"explain", "httpproxy/edge", "--origin", "https://evil.example.org", "--credentials"}, ExitOK},
		{"httpproxy-method", []string{"explain", "httpproxies/edge", "--origin", appOrigin, "--method", "DELETE"}, ExitInvalid},
		{"missing-ingress", []string{"explain", "ingress/nope", "--origin", appOrigin}, ExitUsage},
		{"bad-kind", []string{"explain", "service/api", "--origin", appOrigin}, ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, code := runCLI(t, append(tt.args, kc...))
			if code != tt.wantExit {
				t.Errorf("exit status %d, want %d\n%s", code, tt.wantExit, got)
			}
			checkGolden(t, filepath.Join("testdata", "explain", "cluster-"+tt.golden+".golden"), got)
		})
	}
}
