package cli

import (
	"fmt"
	"strings"

	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// The migration hazards: what ingress2gateway (or a hand copy of
// ingress-nginx's annotations) leaves in a Gateway API CORS filter.
var (
	ruleRouteWildcardCredentials = auditRule{"KCORS013", "route-wildcard-with-credentials", "Route CORS filter with \"*\" and credentials",
		`A Gateway API CORS filter with allowOrigins "*" and allowCredentials: true makes the gateway echo every Origin with credentials, so any website can read users' responses. ingress-nginx sent a literal "*", which browsers refuse with credentials; ingress2gateway copies its defaults (origin "*", credentials true) into the filter, so the migration opened it. List the trusted origins, or set allowCredentials: false; kubectl cors migrate writes the safe CorsPolicy.`}
	ruleAnyDepthWildcard = auditRule{"KCORS014", "any-depth-wildcard", "Route CORS wildcard matches any depth",
		`In a Gateway API CORS filter "https://*.example.com" matches any number of labels (https://a.b.example.com too); on ingress-nginx the same value matched exactly one. A migrated filter allows more subdomains than before, including ones delegated to others. List the subdomains pages use, or keep the wildcard only if every deeper subdomain is trusted.`}
)

// migrationHazards flags, on a hand-written HTTPRoute CORS filter, what a
// migration from ingress-nginx widens: "*" with credentials and "*."
// wildcards, which match any depth on Gateway API.
func migrationHazards(t auditTarget) []auditFinding {
	eff := t.model.Effective()
	if t.managedBy != "" || !eff.Enabled {
		return nil
	}
	var findings []auditFinding
	add := func(rule auditRule, severity, message string) {
		findings = append(findings, auditFinding{RuleID: rule.ID, Rule: rule.Name, Severity: severity, Object: t.object,
			DataPlane: eff.DataPlane, Key: settingKey(eff, dataplanes.SettingAllowOrigins, t.key), Message: message})
	}
	if eff.AnyOrigin && eff.AllowCredentials {
		add(ruleRouteWildcardCredentials, severityHigh, `migration hazard: allowOrigins "*" with allowCredentials: true makes the gateway echo every origin `+
			`with credentials (ingress-nginx sent a literal "*", which browsers refuse; ingress2gateway copies it with nginx's default of credentials on); `+
			`fix: list the trusted origins or set allowCredentials: false, or run kubectl cors migrate`)
	}
	for _, o := range eff.AllowOrigins {
		p, err := corsrules.ParseOriginPattern(strings.ToLower(o))
		if err != nil || !p.SubdomainWildcard {
			continue
		}
		severity := severityLow
		if eff.AllowCredentials {
			severity = severityMedium
		}
		add(ruleAnyDepthWildcard, severity, fmt.Sprintf("migration hazard: %s matches any depth on Gateway API (%s too), where ingress-nginx matched one label (%s); "+
			"fix: list the subdomains pages use, or keep it only if every deeper subdomain is trusted", o, wildcardSample(p, "a.b"), wildcardSample(p, "app")))
	}
	return findings
}
