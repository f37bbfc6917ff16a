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
	dataplanestest.RunGolden(t, renderer{}, func(c dataplanes.IngressConfig) []string { return valueProblems(c.Annotations) })
}
