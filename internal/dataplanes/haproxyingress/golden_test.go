package haproxyingress

import (
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

// TestGolden renders every testdata/golden/*.in.yaml policy and compares
// the result with *.out.yaml. Run with -update to rewrite the golden files
// after an intended change, and review the diff.
func TestGolden(t *testing.T) {
	for _, in := range dataplanestest.Inputs(t) {
		t.Run(dataplanestest.CaseName(in), func(t *testing.T) {
			policy, target := dataplanestest.ReadPolicy(t, in)
			config := renderer{}.RenderIngress(policy, target)
			dataplanestest.CheckConfig(t, config, func(c dataplanes.IngressConfig) []string { return valueProblems(c.Annotations) })
			dataplanestest.CompareGolden(t, in, dataplanestest.ToGolden(config))
		})
	}
}
