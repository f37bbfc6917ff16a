package cli

import (
	"fmt"
	"net/http"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/resolve"
)

// Severities of audit findings, from the most to the least urgent.
const (
	severityHigh   = "high"
	severityMedium = "medium"
	severityLow    = "low"
	severityInfo   = "info"
)

// severityRank orders severities; a higher rank is more urgent.
var severityRank = map[string]int{severityInfo: 0, severityLow: 1, severityMedium: 2, severityHigh: 3}

// auditRule is one kind of finding, with its SARIF identity.
type auditRule struct {
	ID, Name, Short, Help string
}

// The rules of audit. IDs never change meaning, because CI systems
// suppress findings by rule ID.
var (
	ruleWildcardCredentials = auditRule{"KCORS001", "wildcard-with-credentials", "Any origin with credentials",
		`The target answers every origin with Access-Control-Allow-Origin: * and Access-Control-Allow-Credentials: true. Browsers refuse credentialed reads with "*", but the configuration says "any site may read my users' data": one change to an echoing data plane or a backend that reflects the Origin makes it true. List the trusted origins, or turn credentials off.`}
	ruleReflectedOrigin = auditRule{"KCORS002", "reflected-any-origin", "Any origin is echoed",
		"The target echoes an arbitrary Origin in Access-Control-Allow-Origin. With credentials, any website a user visits can read the user's responses from this target. List the trusted origins instead."}
	ruleNullOrigin = auditRule{"KCORS003", "null-origin", `The "null" origin is allowed`,
		`Any page can send Origin: null, from a sandboxed iframe or a local file, so allowing "null" allows everyone. Remove it.`}
	ruleInsecureOrigin = auditRule{"KCORS004", "insecure-origin-with-credentials", "Plain-http origin with credentials",
		"A plain-http origin may read credentialed responses; anyone on the network path between that page and its users can inject script into it. Serve the page over https and allow the https origin."}
	rulePublicSuffix = auditRule{"KCORS005", "public-suffix-wildcard", "Wildcard over a public suffix",
		`A wildcard origin over a public suffix ("https://*.github.io", "https://*.com") matches sites of unrelated owners. Name the origins, or a wildcard under a domain you own.`}
	ruleSilentFallback = auditRule{"KCORS006", "silent-fallback", "Invalid value replaced by a default",
		"The data plane rejected a written value and silently uses its default, which is often permissive (any origin, a header list with Authorization). Fix the value, or let kubecors write it."}
	ruleMaxAge = auditRule{"KCORS007", "max-age-over-browser-cap", "Preflight cache above browser caps",
		"Browsers cap the preflight cache (Chromium at 7200 seconds, Firefox at 86400); a longer max age is not honoured and hides how long a change takes to reach browsers."}
	ruleConflict = auditRule{"KCORS008", "conflicting-policies", "Several policies or writers for one target",
		"More than one CorsPolicy targets the object, or kubecors found CORS configuration another writer owns; only one configuration can apply, and which one is easy to mistake."}
	ruleUnanchoredRegex = auditRule{"KCORS009", "unanchored-origin-regex", "Origin regex not anchored",
		`An origin regular expression without "^" and "$" also matches look-alike origins such as "https://app.example.com.evil.net". Anchor it at both ends.`}
	ruleMissingVary = auditRule{"KCORS010", "missing-vary-origin", "Echoed origin without Vary: Origin",
		"The response echoes the Origin but has no Vary: Origin, so a shared cache can serve one origin's response to another."}
	ruleIneffective = auditRule{"KCORS011", "ineffective-annotations", "CORS annotations of another data plane",
		"The object carries CORS annotations of a data plane that does not serve it; they have no effect, and readers believe they do."}
	ruleAnyOrigin = auditRule{"KCORS012", "any-origin", "Any origin may read responses",
		`Access-Control-Allow-Origin: * lets every website read this target's responses (without credentials). That is right for public data only.`}
)

// auditRules lists every rule, for SARIF's rule table.
var auditRules = []auditRule{ruleWildcardCredentials, ruleReflectedOrigin, ruleNullOrigin, ruleInsecureOrigin, rulePublicSuffix,
	ruleSilentFallback, ruleMaxAge, ruleConflict, ruleUnanchoredRegex, ruleMissingVary, ruleIneffective, ruleAnyOrigin,
	ruleRouteWildcardCredentials, ruleAnyDepthWildcard}

// auditProbeOrigin is an origin no configuration means to allow: the
// .invalid top-level domain is reserved and never resolves.
const auditProbeOrigin = "https://kubecors-audit.invalid"

// auditModel finds the risks of one configuration by reading its effective
// settings and probing its model with the requests an attacker would send.
func auditModel(t auditTarget) []auditFinding {
	eff := t.model.Effective()
	if !eff.Enabled {
		return nil
	}
	a := &auditor{target: t, eff: eff, originKey: settingKey(eff, dataplanes.SettingAllowOrigins, t.key)}
	reflected := a.probeOrigins()
	for _, origin := range eff.AllowOrigins {
		a.findings = append(a.findings, originFindings(t, eff, origin, a.originKey)...)
	}
	a.regexes(reflected)
	a.fallbacks()
	a.maxAge()
	a.vary()
	return a.findings
}

// auditor collects the findings of one configuration.
type auditor struct {
	target    auditTarget
	eff       dataplanes.Effective
	originKey string
	findings  []auditFinding
}

func (a *auditor) add(rule auditRule, severity, key, message string) {
	a.findings = append(a.findings, auditFinding{RuleID: rule.ID, Rule: rule.Name, Severity: severity, Object: a.target.object,
		DataPlane: a.eff.DataPlane, Key: key, Message: message, ManagedBy: a.target.managedBy})
}

// probeOrigins sends a credentialed request from an origin nobody means
// to allow, and from "null", and reports whether any origin is echoed.
func (a *auditor) probeOrigins() bool {
	eff := a.eff
	credKey := settingKey(eff, dataplanes.SettingAllowCredentials, a.target.key)
	probe := probeActual(a.target.model, auditProbeOrigin)
	acao, acac := probe.Get(dataplanes.HeaderAllowOrigin), probe.Get(dataplanes.HeaderAllowCredentials) == trueValue
	reflected := acao == auditProbeOrigin
	reflectKey := a.originKey
	if len(eff.AllowOriginRegexes) > 0 && !eff.AnyOrigin {
		// An arbitrary origin can only have come through a regex.
		reflectKey = settingKey(eff, dataplanes.SettingAllowOriginRegexes, a.target.key)
	}
	switch {
	case acao == "*" && acac:
		msg := fmt.Sprintf("any origin is allowed (%s) with Access-Control-Allow-Credentials: true", describeSource(eff, dataplanes.SettingAllowOrigins))
		if credentialsDefaulted(eff) {
			msg += fmt.Sprintf("; credentials are on because %s defaults them to true (%s is not set)", eff.DataPlane, credKey)
		}
		a.add(ruleWildcardCredentials, severityHigh, a.originKey, msg)
	case acao == "*":
		a.add(ruleAnyOrigin, severityInfo, a.originKey,
			fmt.Sprintf("any origin may read responses (%s), without credentials", describeSource(eff, dataplanes.SettingAllowOrigins)))
	case reflected && acac:
		a.add(ruleReflectedOrigin, severityHigh, reflectKey, fmt.Sprintf("an arbitrary origin (%s) is echoed with Access-Control-Allow-Credentials: true: "+
			"any website can read users' responses", auditProbeOrigin))
	case reflected:
		a.add(ruleReflectedOrigin, severityMedium, reflectKey, fmt.Sprintf("an arbitrary origin (%s) is echoed: any website can read the responses", auditProbeOrigin))
	}
	// An echo of any origin includes "null": reported once, as reflection.
	if null := probeActual(a.target.model, "null"); !reflected && null.Get(dataplanes.HeaderAllowOrigin) == "null" {
		severity := severityMedium
		if null.Get(dataplanes.HeaderAllowCredentials) == trueValue {
			severity = severityHigh
		}
		a.add(ruleNullOrigin, severity, a.originKey, `the "null" origin is allowed: sandboxed iframes and local files of any site send it`)
	}
	return reflected
}

// regexes reports origin regexes that are not anchored; one that matches
// any origin is already reported as reflection.
func (a *auditor) regexes(reflected bool) {
	for _, expr := range a.eff.AllowOriginRegexes {
		if anchoredAtBothEnds(expr) || reflected && regexMatches(expr, auditProbeOrigin) {
			continue
		}
		severity := severityMedium
		if a.eff.AllowCredentials {
			severity = severityHigh
		}
		a.add(ruleUnanchoredRegex, severity, settingKey(a.eff, dataplanes.SettingAllowOriginRegexes, a.target.key),
			fmt.Sprintf("origin regex %q is not anchored at both ends, so look-alike origins match it too", expr))
	}
}

// fallbacks reports values the data plane replaced or narrowed silently.
func (a *auditor) fallbacks() {
	for _, s := range a.eff.Settings {
		if s.Source == dataplanes.SourceFallback || s.Source == dataplanes.SourceNarrowed {
			a.add(ruleSilentFallback, fallbackSeverity(s), s.Key, fmt.Sprintf("%s (written %s, used %q)", s.Note, strconv.Quote(s.Written), s.Effective))
		}
	}
}

// maxAge reports a preflight cache above the browsers' caps.
func (a *auditor) maxAge() {
	eff := a.eff
	if eff.MaxAge == nil || *eff.MaxAge <= corsrules.BrowserMaxAge {
		return
	}
	severity, limit := severityInfo, "Chromium's cap of 7200"
	if *eff.MaxAge > corsrules.MaxMaxAge {
		severity, limit = severityLow, "every browser's cap (Firefox 86400, Chromium 7200)"
	}
	msg := fmt.Sprintf("Access-Control-Max-Age is %d seconds, above %s", *eff.MaxAge, limit)
	if s, ok := eff.Setting(dataplanes.SettingMaxAge); ok && s.Source == dataplanes.SourceDefault {
		msg += fmt.Sprintf(" (%s's default)", eff.DataPlane)
	}
	a.add(ruleMaxAge, severity, settingKey(eff, dataplanes.SettingMaxAge, a.target.key), msg)
}

// vary reports an echoed origin without Vary: Origin, except on data
// planes whose reader cannot know it (Gateway API leaves Vary to the
// implementation).
func (a *auditor) vary() {
	if plane, _ := registry.Lookup(a.eff.DataPlane); plane.VaryUnknown {
		return
	}
	origin := firstExactOrigin(a.eff)
	if origin == "" {
		return
	}
	if resp := probeActual(a.target.model, origin); resp.Get(dataplanes.HeaderAllowOrigin) == origin && !varyOrigin(resp) {
		a.add(ruleMissingVary, severityLow, a.originKey, fmt.Sprintf("%s is echoed without Vary: Origin (%s never sends it)", origin, a.eff.DataPlane))
	}
}

// anchoredAtBothEnds reports whether every string expr matches runs from
// the start of the origin to its end: each alternative begins with ^ (or
// \A) and ends with $ (or \z). "^https://a\.example\.com" alone also
// matches "https://a.example.com.evil.net", and "^a$|b" matches any origin
// containing "b". An expression that does not parse is not anchored.
func anchoredAtBothEnds(expr string) bool {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return false
	}
	return anchoredAt(re, true) && anchoredAt(re, false)
}

// anchoredAt reports whether re is anchored at its start (start true) or
// its end.
func anchoredAt(re *syntax.Regexp, start bool) bool {
	switch re.Op {
	case syntax.OpBeginText, syntax.OpBeginLine:
		return start
	case syntax.OpEndText, syntax.OpEndLine:
		return !start
	case syntax.OpCapture:
		return anchoredAt(re.Sub[0], start)
	case syntax.OpConcat:
		if len(re.Sub) == 0 {
			return false
		}
		if start {
			return anchoredAt(re.Sub[0], start)
		}
		return anchoredAt(re.Sub[len(re.Sub)-1], start)
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !anchoredAt(sub, start) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// regexMatches reports whether expr compiles and matches s.
func regexMatches(expr, s string) bool {
	re, err := regexp.Compile(expr)
	return err == nil && re.MatchString(s)
}

// originFindings checks one allowed origin for insecure schemes and
// public-suffix wildcards.
func originFindings(t auditTarget, eff dataplanes.Effective, origin, key string) []auditFinding {
	var findings []auditFinding
	add := func(rule auditRule, severity, message string) {
		findings = append(findings, auditFinding{RuleID: rule.ID, Rule: rule.Name, Severity: severity, Object: t.object,
			DataPlane: eff.DataPlane, Key: key, Message: message, ManagedBy: t.managedBy})
	}
	// The rules package's reading of an origin, so that audit and the
	// webhook agree on what is loopback: "http://localhost.evil.com" is not.
	p, err := corsrules.ParseOriginPattern(origin)
	if err != nil {
		return nil
	}
	if p.ReadableOnTheWire() && eff.AllowCredentials {
		add(ruleInsecureOrigin, severityMedium, fmt.Sprintf("%s is a plain-http origin allowed with credentials", origin))
	}
	if corsrules.PublicSuffixWildcard(p) {
		severity := severityMedium
		if eff.AllowCredentials {
			severity = severityHigh
		}
		add(rulePublicSuffix, severity, fmt.Sprintf("%s covers the public suffix %q: sites of unrelated owners match it", origin, p.Host))
	}
	return findings
}

// fallbackSeverity rates a silently replaced value by what the default
// allows.
func fallbackSeverity(s dataplanes.Setting) string {
	switch {
	case s.Name == dataplanes.SettingAllowOrigins && s.Effective == "*":
		return severityHigh
	case s.Name == dataplanes.SettingAllowHeaders || s.Name == dataplanes.SettingAllowCredentials && s.Effective == trueValue:
		return severityMedium
	}
	return severityLow
}

// settingKey is the key of a named setting, or fallback.
func settingKey(eff dataplanes.Effective, name, fallback string) string {
	if s, ok := eff.Setting(name); ok {
		return s.Key
	}
	return fallback
}

// describeSource says where an effective value came from, for messages.
func describeSource(eff dataplanes.Effective, name string) string {
	s, ok := eff.Setting(name)
	switch {
	case !ok:
		return "as configured"
	case s.Source == dataplanes.SourceDefault:
		return fmt.Sprintf("%s is not set, and %s's default is %q", s.Key, eff.DataPlane, s.Effective)
	case s.Source == dataplanes.SourceFallback:
		return fmt.Sprintf("%s %q fails validation, and %s falls back to %q", s.Key, s.Written, eff.DataPlane, s.Effective)
	}
	return fmt.Sprintf("%s is %q", s.Key, s.Written)
}

// probeActual sends a credentialed GET from origin to the model.
func probeActual(m dataplanes.Model, origin string) http.Header {
	resp, err := m.Actual(corscheck.Request{Origin: origin, Method: http.MethodGet, Headers: http.Header{}, Credentials: true})
	if err != nil || resp.Header == nil {
		return http.Header{}
	}
	return resp.Header
}

// varyOrigin reports whether a response varies by Origin.
func varyOrigin(h http.Header) bool {
	for _, v := range h.Values(dataplanes.HeaderVary) {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item == "*" || strings.EqualFold(item, "Origin") {
				return true
			}
		}
	}
	return false
}

// firstExactOrigin is the first allowed origin without a wildcard.
func firstExactOrigin(eff dataplanes.Effective) string {
	for _, o := range eff.AllowOrigins {
		if strings.Contains(o, "://") && !strings.Contains(o, "*") {
			return o
		}
	}
	return ""
}

// conflictFindings reports targets that several CorsPolicies compete for,
// weighed as the controller weighs them (internal/resolve: a namespace's
// own policies before ClusterCorsPolicy defaults, then the oldest; a whole
// HTTPRoute at a time), and targets whose policy status says Conflicted.
func conflictFindings(candidates map[string]resolve.Candidates, policies []kubecorsv1alpha1.CorsPolicy,
	ingresses []networkingv1.Ingress, routes []unstructured.Unstructured) []auditFinding {
	type target struct {
		obj    auditObject
		labels map[string]string
	}
	targets := make([]target, 0, len(ingresses)+len(routes))
	for _, ing := range ingresses {
		targets = append(targets, target{auditObject{ingressAPIVersion, kubecorsv1alpha1.KindIngress, ing.Namespace, ing.Name}, ing.Labels})
	}
	for _, r := range routes {
		targets = append(targets, target{auditObject{gatewayapi.Group + "/" + gatewayapi.Version, gatewayapi.HTTPRouteKind,
			r.GetNamespace(), r.GetName()}, r.GetLabels()})
	}
	var findings []auditFinding
	flagged := map[string]bool{}
	for _, t := range targets {
		obj := resolve.Object{Kind: t.obj.Kind, Name: t.obj.Name, Labels: t.labels}
		c := candidates[t.obj.Namespace]
		names := c.Competitors(obj)
		if len(names) < 2 {
			continue
		}
		flagged[t.obj.String()] = true
		findings = append(findings, auditFinding{RuleID: ruleConflict.ID, Rule: ruleConflict.Name, Severity: severityMedium, Object: t.obj,
			Message: fmt.Sprintf("%d CorsPolicies target it (%s); only %s applies (the oldest)", len(names), strings.Join(names, ", "), c.Governing(obj).Name)})
	}
	for _, p := range policies {
		for _, ts := range p.Status.Targets {
			c := meta.FindStatusCondition(ts.Conditions, kubecorsv1alpha1.ConditionProgrammed)
			conflicted := meta.FindStatusCondition(ts.Conditions, kubecorsv1alpha1.ConditionConflicted)
			if (c == nil || c.Reason != kubecorsv1alpha1.ReasonConflicted) && (conflicted == nil || conflicted.Status != "True") {
				continue
			}
			if c == nil || c.Reason != kubecorsv1alpha1.ReasonConflicted {
				c = conflicted
			}
			obj := auditObject{ingressAPIVersion, ts.TargetRef.Kind, p.Namespace, ts.TargetRef.Name}
			if ts.TargetRef.Kind == kubecorsv1alpha1.KindHTTPRoute {
				obj.APIVersion = gatewayapi.Group + "/" + gatewayapi.Version
			}
			if flagged[obj.String()] && strings.Contains(c.Message, corsPolicyKind) {
				continue
			}
			findings = append(findings, auditFinding{RuleID: ruleConflict.ID, Rule: ruleConflict.Name, Severity: severityMedium, Object: obj,
				Message: fmt.Sprintf("CorsPolicy %s is not programmed here (Conflicted): %s", p.Name, c.Message)})
		}
	}
	return findings
}

// sortFindings orders findings by severity, then object, rule and key, so
// that output is stable.
func sortFindings(findings []auditFinding) {
	slices.SortStableFunc(findings, func(a, b auditFinding) int {
		if d := severityRank[b.Severity] - severityRank[a.Severity]; d != 0 {
			return d
		}
		for _, pair := range [][2]string{{a.Object.Namespace, b.Object.Namespace}, {a.Object.Kind, b.Object.Kind},
			{a.Object.Name, b.Object.Name}, {a.RuleID, b.RuleID}, {a.Key, b.Key}, {a.Message, b.Message}} {
			if c := strings.Compare(pair[0], pair[1]); c != 0 {
				return c
			}
		}
		return 0
	})
}
