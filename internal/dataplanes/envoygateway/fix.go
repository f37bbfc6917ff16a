package envoygateway

import (
	"fmt"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// fixer writes kubectl cors explain's fixes as edits of a SecurityPolicy's
// spec.cors.
type fixer struct {
	policy string
}

// NewFixer returns the fixer of the SecurityPolicy policy
// ("namespace/name").
func NewFixer(policy string) dataplanes.Fixer {
	return fixer{policy: policy}
}

// Edit names the spec.cors field to change.
func (f fixer) Edit(c corscheck.Change, _ *corscheck.Diagnosis, _ corscheck.Request) (string, bool) {
	return c.Render(func(field string) string {
		return fmt.Sprintf("spec.cors.%s of SecurityPolicy %s", field, f.policy)
	}), true
}

// CredentialsOff names the field that turns credentials off.
func (f fixer) CredentialsOff() string {
	return fmt.Sprintf("spec.cors.allowCredentials: false on SecurityPolicy %s", f.policy)
}
