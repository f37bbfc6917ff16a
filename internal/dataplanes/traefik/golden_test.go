package traefik

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

// TestGolden renders every testdata/golden/*.in.yaml policy and compares
// the result with *.out.yaml. Run with -update to rewrite the golden files
// after an intended change, and review the diff.
func TestGolden(t *testing.T) {
	dataplanestest.RunGolden(t, renderer{}, configProblems)
}

// configProblems checks the Middleware: the reference matches it, it is
// labelled, every origin regex compiles and is anchored, and Traefik loads
// it (the production reader fails where Traefik would not serve the router).
func configProblems(c dataplanes.IngressConfig) []string {
	var problems []string
	if len(c.Objects) != 1 || len(c.ListEntries) != 1 || len(c.Annotations) != 0 {
		return []string{"want exactly one Middleware, one reference and no annotation"}
	}
	m := c.Objects[0]
	if want := m.GetNamespace() + "-" + m.GetName() + "@kubernetescrd"; c.ListEntries[0] != want {
		problems = append(problems, "reference "+c.ListEntries[0]+" does not name "+want)
	}
	if m.GetLabels()[dataplanes.LabelManagedBy] != dataplanes.ManagedByKubecors || m.GetLabels()[dataplanes.LabelPolicy] == "" {
		problems = append(problems, "Middleware lacks the kubecors labels")
	}
	regexes, _, _ := unstructured.NestedStringSlice(m.Object, "spec", "headers", "accessControlAllowOriginListRegex")
	for _, re := range regexes {
		if _, err := regexp.Compile(re); err != nil || !dataplanestest.AnchoredRegex.MatchString(re) {
			problems = append(problems, "origin regex "+re+" does not compile or is not anchored")
		}
	}
	if _, err := readIngressConfig(c); err != nil {
		problems = append(problems, "Traefik would not load the Middleware: "+err.Error())
	}
	return problems
}

func TestMiddlewareName(t *testing.T) {
	long := strings.Repeat("a", 60)
	cases := []struct {
		name, policy, want string
	}{
		{"short name is kept readable", "storefront", "kubecors-storefront"},
		{"dots are not allowed in a label, so the name is rewritten and hashed", "api.v2", "kubecors-api-v2-"},
		{"too long for a label, so the name is shortened and hashed", long, "kubecors-" + long[:45]},
	}
	for _, c := range cases {
		got := MiddlewareName(c.policy)
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: MiddlewareName(%q) = %q, want prefix %q", c.name, c.policy, got, c.want)
		}
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("%s: %q is not a DNS-1123 label: %v", c.name, got, errs)
		}
	}
	if MiddlewareName("api.v2") == MiddlewareName("api-v2") {
		t.Error(`"api.v2" and "api-v2" share a Middleware`)
	}
	if MiddlewareName(long+"x") == MiddlewareName(long+"y") {
		t.Error("two long names that differ at the end share a Middleware")
	}
	if v := PolicyLabelValue(strings.Repeat("b", 100)); len(validation.IsValidLabelValue(v)) > 0 {
		t.Errorf("PolicyLabelValue gave an invalid label value %q", v)
	}
	if v := PolicyLabelValue("api.v2"); v != "api.v2" {
		t.Errorf("PolicyLabelValue(%q) = %q, want it unchanged", "api.v2", v)
	}
}
