package istio

import (
	"fmt"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// NewFixer returns the fixer of one http route's corsPolicy (key, e.g.
// "spec.http[0].corsPolicy") of the VirtualService vs ("namespace/name"):
// origins are added as exact StringMatches, never as prefixes.
func NewFixer(vs, key string) dataplanes.Fixer {
	return dataplanes.TargetFixer{Object: Kind + " " + vs, Key: key,
		OriginValue: func(origin string) string { return fmt.Sprintf("{exact: %q}", origin) }}
}
