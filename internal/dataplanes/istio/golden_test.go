package istio

import (
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

// TestGolden renders every testdata/golden/*.in.yaml policy for a
// VirtualService and compares the corsPolicy with *.out.yaml. Run with
// -update to rewrite the golden files after an intended change, and
// review the diff.
func TestGolden(t *testing.T) {
	dataplanestest.RunTargetGolden(t, Target)
}
