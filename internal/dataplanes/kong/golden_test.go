package kong

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

// TestGolden renders every testdata/golden/*.in.yaml policy and compares
// the result with *.out.yaml. Run with -update to rewrite the golden files
// after an intended change, and review the diff.
func TestGolden(t *testing.T) {
	dataplanestest.RunGolden(t, renderer{}, configProblems)
}

// configProblems checks the KongPlugin: the list entry names it, it is
// labelled, it passes the cors plugin's schema (schema.lua: origins are
// "*" or regexes, methods from its enum), no fail-open trap is written,
// and Kong loads it (the production reader fails where Kong would not).
func configProblems(c dataplanes.IngressConfig) []string {
	if len(c.Objects) != 1 || len(c.ListEntries) != 1 || len(c.Annotations) != 0 {
		return []string{"want exactly one KongPlugin, one list entry and no annotation"}
	}
	var problems []string
	p := c.Objects[0]
	if c.ListEntries[0] != p.GetName() {
		problems = append(problems, "list entry "+c.ListEntries[0]+" does not name the KongPlugin "+p.GetName())
	}
	if p.GetLabels()[dataplanes.LabelManagedBy] != dataplanes.ManagedByKubecors || p.GetLabels()[dataplanes.LabelPolicy] == "" {
		problems = append(problems, "KongPlugin lacks the kubecors labels")
	}
	problems = append(problems, trapProblems(p)...)
	origins, _, _ := unstructured.NestedStringSlice(p.Object, "config", "origins")
	for _, o := range origins {
		if o == "*" || exactOrigin.MatchString(o) {
			continue
		}
		if _, err := regexp.Compile(o); err != nil || !dataplanestest.AnchoredRegex.MatchString(o) {
			problems = append(problems, "origin regex "+o+" does not compile or is not anchored")
		}
	}
	methods, _, _ := unstructured.NestedStringSlice(p.Object, "config", "methods")
	for _, m := range methods {
		if !slices.Contains(kongMethods, m) {
			problems = append(problems, "method "+m+" is outside the cors plugin's enum")
		}
	}
	if _, err := readIngressConfig(c); err != nil {
		problems = append(problems, "Kong would not load the KongPlugin: "+err.Error())
	}
	return problems
}

// trapProblems lists the fail-open settings of Kong's cors plugin that a
// KongPlugin holds: an empty or absent origins list (every origin), "*"
// with credentials (every origin echoed, with credentials), an empty or
// absent headers list (the requested headers echoed, Authorization
// included), an absent methods list (every method), preflight_continue.
func trapProblems(p *unstructured.Unstructured) []string {
	var problems []string
	config, _, _ := unstructured.NestedMap(p.Object, "config")
	origins, _, _ := unstructured.NestedStringSlice(config, "origins")
	credentials, _, _ := unstructured.NestedBool(config, "credentials")
	headers, _, _ := unstructured.NestedStringSlice(config, "headers")
	methods, _, _ := unstructured.NestedStringSlice(config, "methods")
	preflightContinue, _, _ := unstructured.NestedBool(config, "preflight_continue")
	switch {
	case len(origins) == 0:
		problems = append(problems, "config.origins is empty: Kong allows every origin")
	case slices.Contains(origins, "*") && credentials:
		problems = append(problems, `config.origins holds "*" with credentials: Kong echoes every origin with credentials`)
	}
	if len(headers) == 0 {
		problems = append(problems, "config.headers is empty: Kong echoes the requested headers")
	}
	if len(methods) == 0 {
		problems = append(problems, "config.methods is empty: Kong allows every method")
	}
	if preflightContinue {
		problems = append(problems, "config.preflight_continue is true: preflights reach the backend")
	}
	return problems
}

// TestNoPolicyRendersATrap renders many random valid policies, with and
// without credentials, and checks that none writes a fail-open setting.
func TestNoPolicyRendersATrap(t *testing.T) {
	r := rand.New(rand.NewPCG(dataplanestest.PropertySeed, 7)) //nolint:gosec // G404: a fixed seed makes failures reproduce.
	rendered := 0
	for range dataplanestest.PropertyPolicies {
		spec, ok := dataplanestest.RandomSpec(r)
		if !ok {
			continue
		}
		c := renderKong(dataplanes.Policy{Namespace: "shop", Name: "storefront", Spec: spec}, dataplanes.IngressTarget{Namespace: "shop", Name: "web"})
		if c.Refused != "" {
			if len(c.Objects) > 0 {
				t.Fatalf("refused (%s) but a KongPlugin was rendered", c.Refused)
			}
			continue
		}
		rendered++
		if problems := trapProblems(c.Objects[0]); len(problems) > 0 {
			t.Fatalf("policy %+v renders fail-open settings: %v", spec, problems)
		}
	}
	if rendered < dataplanestest.PropertyPolicies/2 {
		t.Fatalf("only %d policies rendered: the run is too thin", rendered)
	}
}

// TestTrapsAreSeen checks that trapProblems sees each trap, so that a
// green TestNoPolicyRendersATrap means something.
func TestTrapsAreSeen(t *testing.T) {
	cases := []struct {
		name   string
		config map[string]any
	}{
		{"empty origins", map[string]any{"origins": []any{}, "headers": []any{"X"}, "methods": []any{"GET"}}},
		{"star with credentials", map[string]any{"origins": []any{"*"}, "credentials": true, "headers": []any{"X"}, "methods": []any{"GET"}}},
		{"no headers", map[string]any{"origins": []any{"https://a.example"}, "methods": []any{"GET"}}},
		{"no methods", map[string]any{"origins": []any{"https://a.example"}, "headers": []any{"X"}}},
		{"preflight continue", map[string]any{"origins": []any{"https://a.example"}, "headers": []any{"X"}, "methods": []any{"GET"}, "preflight_continue": true}},
	}
	for _, c := range cases {
		if problems := trapProblems(plugin("p", c.config)); len(problems) != 1 {
			t.Errorf("%s: trapProblems = %v, want exactly one", c.name, problems)
		}
	}
}
