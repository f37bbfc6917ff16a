package gatewayapi

import (
	"fmt"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// fixer writes kubectl cors explain's fixes as edits of an HTTPRoute
// rule's CORS filter.
type fixer struct {
	route string
	rule  RouteRule
}

// NewFixer returns the fixer of one rule of the HTTPRoute route
// ("namespace/name").
func NewFixer(route string, rule RouteRule) dataplanes.Fixer {
	return fixer{route: route, rule: rule}
}

// Edit names the filter field to change, or the filter to add.
func (f fixer) Edit(c corscheck.Change, _ *corscheck.Diagnosis, req corscheck.Request) (string, bool) {
	if f.rule.CORS == nil {
		return fmt.Sprintf("add a filter {type: CORS, cors: {allowOrigins: [%q]}} to spec.rules[%d] of HTTPRoute %s "+
			"(the Gateway must support HTTPRouteCORS)", req.Origin, f.rule.Index, f.route), true
	}
	return c.Render(func(field string) string {
		return fmt.Sprintf("spec.rules[%d].filters[%d].cors.%s of HTTPRoute %s", f.rule.Index, f.rule.CORSFilterIndex, field, f.route)
	}), true
}

// CredentialsOff names the filter field that turns credentials off.
func (f fixer) CredentialsOff() string {
	return fmt.Sprintf("spec.rules[%d].filters[%d].cors.allowCredentials: false on HTTPRoute %s", f.rule.Index, f.rule.CORSFilterIndex, f.route)
}
