package contour

import (
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// NewFixer returns the fixer of the virtual host corsPolicy of the
// HTTPProxy proxy ("namespace/name").
func NewFixer(proxy string) dataplanes.Fixer {
	return dataplanes.TargetFixer{Object: Kind + " " + proxy, Key: "spec.virtualhost.corsPolicy",
		Fields: map[string]string{corscheck.FieldAllowOrigins: "allowOrigin"}}
}
