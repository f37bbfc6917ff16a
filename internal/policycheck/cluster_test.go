package policycheck

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// clusterCorsPolicy returns a ClusterCorsPolicy document with the given
// name and spec, written as YAML lines indented under "spec:".
func clusterCorsPolicy(name string, spec ...string) string {
	return "apiVersion: kubecors.io/v1alpha1\nkind: ClusterCorsPolicy\nmetadata:\n  name: " + name + "\nspec:\n  " +
		strings.Join(spec, "\n  ") + "\n"
}

// TestCheckClusterCorsPolicy checks the second kind through the same
// steps as CorsPolicy: CRD schema and CEL first, then the webhook rules.
func TestCheckClusterCorsPolicy(t *testing.T) {
	tests := []struct {
		name         string
		document     string
		wantErrors   []string
		wantWarnings []string
	}{
		{
			name:     "a valid ClusterCorsPolicy is admitted without findings",
			document: clusterCorsPolicy("prod", "namespaceSelector: {matchLabels: {env: prod}}", `rules: {allowedOrigins: ["https://*.example.com", "http://localhost:*"], forbidCredentials: true, maxMaxAge: 600}`),
		},
		{
			name:     "an allowedOrigins entry with a path breaks the CEL rule shared with CorsPolicy",
			document: clusterCorsPolicy("prod", `rules: {allowedOrigins: ["https://app.example.com/"]}`),
			wantErrors: []string{
				`spec.rules.allowedOrigins[0]: Invalid value: "https://app.example.com/": "https://app.example.com/" must not have a path, query or fragment (not even a trailing "/"); write "https://app.example.com"`,
			},
		},
		{
			name:     "a wildcard over a public suffix passes the CRD and is rejected by the webhook",
			document: clusterCorsPolicy("prod", `rules: {allowedOrigins: ["https://*.github.io"]}`),
			wantErrors: []string{
				`spec.rules.allowedOrigins[0]: Invalid value: "https://*.github.io": "https://*.github.io" matches every site under the public suffix "github.io", owned by unrelated parties; list your own domain instead ("https://*.yourdomain.github.io")`,
			},
		},
		{
			name:     "a mode outside the enum is not supported, which stops the CEL rules",
			document: clusterCorsPolicy("prod", "mode: Warn", "rules: {}"),
			wantErrors: []string{
				`spec.mode: Unsupported value: "Warn": supported values: "Enforce", "Audit"`,
				notChecked,
			},
		},
		{
			name:     "rules are required",
			document: clusterCorsPolicy("prod", "mode: Audit"),
			wantErrors: []string{
				"spec.rules: Required value",
				notChecked,
			},
		},
		{
			name:     "a safelisted forbidden method is valid with the webhook's warning",
			document: clusterCorsPolicy("prod", "rules: {forbiddenMethods: [POST]}"),
			wantWarnings: []string{
				`spec.rules.forbiddenMethods[0]: "POST" is a CORS-safelisted method that browsers allow cross-origin whether a policy lists it or not, so forbidding it only keeps policies from listing it`,
			},
		},
	}
	c := newTestChecker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Check(parse(t, tt.document))
			if got.Skipped != "" {
				t.Fatalf("Skipped = %q, want the policy checked", got.Skipped)
			}
			if diff := cmp.Diff(tt.wantErrors, errorStrings(got.Errors)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWarnings, got.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if (got.Stored != nil) != got.Valid() {
				t.Errorf("Stored set = %v, want it set exactly when valid (%v)", got.Stored != nil, got.Valid())
			}
		})
	}
}

// TestCheckStoresTheDefaultedObject checks that Stored is what the API
// server would store, so that cluster rules judge the defaulted values.
func TestCheckStoresTheDefaultedObject(t *testing.T) {
	c := newTestChecker(t)
	ccp := c.Check(parse(t, clusterCorsPolicy("prod", "rules: {}")))
	if mode, _, _ := unstructured.NestedString(ccp.Stored.Object, "spec", "mode"); mode != "Enforce" {
		t.Errorf("stored spec.mode = %q, want the CRD default Enforce", mode)
	}
	policy := c.Check(parse(t, corsPolicy(ingressTarget)))
	if ns := policy.Stored.GetNamespace(); ns != currentNamespace {
		t.Errorf("stored namespace = %q, want %q as kubectl fills in", ns, currentNamespace)
	}
	if maxAge, _, _ := unstructured.NestedInt64(policy.Stored.Object, "spec", "maxAge"); maxAge != 5 {
		t.Errorf("stored spec.maxAge = %d, want the CRD default 5", maxAge)
	}
}

func TestSelects(t *testing.T) {
	nameOnly := map[string]string{"kubernetes.io/metadata.name": "web"}
	tests := []struct {
		name         string
		selector     *metav1.LabelSelector
		labels       map[string]string
		complete     bool
		wantSelected bool
		wantMissing  []string
	}{
		{name: "no selector selects every namespace", labels: nameOnly, wantSelected: true},
		{name: "an empty selector selects every namespace", selector: &metav1.LabelSelector{}, labels: nameOnly, wantSelected: true},
		{
			name:     "a selector on the name label alone is decided without a Namespace document",
			selector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "web"}}, labels: nameOnly, wantSelected: true,
		},
		{
			name:     "a failing requirement on a known label decides, whatever the unknown ones",
			selector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "shop", "env": "prod"}}, labels: nameOnly,
		},
		{
			name:     "a requirement on an unknown label cannot be decided",
			selector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}, labels: nameOnly, wantMissing: []string{"env"},
		},
		{
			name: "DoesNotExist on an unknown label cannot be decided either, since the label may be set",
			selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "env", Operator: metav1.LabelSelectorOpDoesNotExist},
				{Key: "team", Operator: metav1.LabelSelectorOpExists},
			}},
			labels: nameOnly, wantMissing: []string{"env", "team"},
		},
		{
			name:     "with a Namespace document the labels are complete, so a missing label is absent",
			selector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}, labels: nameOnly, complete: true,
		},
		{
			name:     "with a Namespace document a matching label selects",
			selector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
			labels:   map[string]string{"kubernetes.io/metadata.name": "shop", "env": "prod"}, complete: true, wantSelected: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			selected, missing := selects(tt.selector, tt.labels, tt.complete)
			if selected != tt.wantSelected {
				t.Errorf("selected = %v, want %v", selected, tt.wantSelected)
			}
			if diff := cmp.Diff(tt.wantMissing, missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClusterEvaluate checks the offline judgement of a CorsPolicy: which
// ClusterCorsPolicies select its namespace, and how each mode reports.
func TestClusterEvaluate(t *testing.T) {
	c := newTestChecker(t)
	stored := func(document string) *unstructured.Unstructured {
		t.Helper()
		result := c.Check(parse(t, document))
		if !result.Valid() {
			t.Fatalf("test document is invalid: %v\n%s", result.Errors, document)
		}
		return result.Stored
	}
	cluster := &Cluster{}
	for _, document := range []string{
		// Added out of name order: findings come in name order.
		clusterCorsPolicy("z-audit", "mode: Audit", "rules: {maxMaxAge: 60}"),
		clusterCorsPolicy("a-prod", "namespaceSelector: {matchLabels: {env: prod}}", "rules: {forbidCredentials: true}"),
		clusterCorsPolicy("m-default", "namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: default}}", `rules: {allowedOrigins: ["https://*.example.com"]}`),
	} {
		if err := cluster.AddClusterCorsPolicy(stored(document)); err != nil {
			t.Fatal(err)
		}
	}
	// The manifest's own metadata.name label is overridden by the API
	// server; it must not make "shop" look like "default".
	cluster.AddNamespace(parse(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {env: prod, kubernetes.io/metadata.name: default}}\n"))

	inNamespace := func(namespace string) string {
		document := corsPolicy(ingressTarget, `allowOrigins: ["https://app.example.org"]`, "allowCredentials: true", "maxAge: 600")
		if namespace != "" {
			document = strings.Replace(document, "name: web\n", "name: web\n  namespace: "+namespace+"\n", 1)
		}
		return document
	}
	tests := []struct {
		name            string
		namespace       string
		wantErrors      []string
		wantWarnings    []string
		wantUnevaluated []Unevaluated
	}{
		{
			name:      "a namespace from a Namespace document is selected by its labels",
			namespace: "shop",
			wantErrors: []string{
				`spec.allowCredentials: Invalid value: ClusterCorsPolicy "a-prod" rules.forbidCredentials: allowCredentials: true is forbidden; write allowCredentials: false, and have pages send a token in the Authorization header instead of cookies`,
			},
			wantWarnings: []string{
				`spec.maxAge: ClusterCorsPolicy "z-audit" rules.maxMaxAge: maxAge 600 is above the largest allowed, 60 seconds; write maxAge: 60 or less`,
			},
		},
		{
			name: "a policy without namespace is in default, and a selector needing unknown labels is unevaluated",
			wantErrors: []string{
				`spec.allowOrigins[0]: Invalid value: ClusterCorsPolicy "m-default" rules.allowedOrigins: "https://app.example.org" is outside the allowed origins https://*.example.com; use an origin within them`,
			},
			wantWarnings: []string{
				`spec.maxAge: ClusterCorsPolicy "z-audit" rules.maxMaxAge: maxAge 600 is above the largest allowed, 60 seconds; write maxAge: 60 or less`,
			},
			wantUnevaluated: []Unevaluated{{ClusterCorsPolicy: "a-prod", Namespace: "default", Labels: []string{"env"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verdict, err := cluster.Evaluate(stored(inNamespace(tt.namespace)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantErrors, errorStrings(verdict.Errors)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWarnings, verdict.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantUnevaluated, verdict.Unevaluated); diff != "" {
				t.Errorf("unevaluated (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKindPredicates(t *testing.T) {
	for _, tt := range []struct {
		document                          string
		corsPolicy, clusterCorsPolicy, ns bool
	}{
		{document: corsPolicy(ingressTarget), corsPolicy: true},
		{document: clusterCorsPolicy("prod", "rules: {}"), clusterCorsPolicy: true},
		{document: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n", ns: true},
		{document: "apiVersion: example.com/v1\nkind: CorsPolicy\nmetadata: {name: web}\n"},
		{document: "apiVersion: example.com/v1\nkind: Namespace\nmetadata: {name: shop}\n"},
	} {
		obj := parse(t, tt.document)
		if IsCorsPolicy(obj) != tt.corsPolicy || IsClusterCorsPolicy(obj) != tt.clusterCorsPolicy || IsNamespace(obj) != tt.ns {
			t.Errorf("%s %s: IsCorsPolicy=%v IsClusterCorsPolicy=%v IsNamespace=%v", obj.GetAPIVersion(), obj.GetKind(),
				IsCorsPolicy(obj), IsClusterCorsPolicy(obj), IsNamespace(obj))
		}
	}
}
