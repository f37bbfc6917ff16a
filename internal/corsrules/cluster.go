package corsrules

import (
	"fmt"
	"slices"
	"strings"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// The rules of a ClusterCorsPolicy, as the paths a Violation names.
const (
	RuleAllowedOrigins          = "rules.allowedOrigins"
	RuleForbidCredentials       = "rules.forbidCredentials"
	RuleRequireHTTPS            = "rules.requireHTTPS"
	RuleForbidLoopback          = "rules.forbidLoopback"
	RuleMaxMaxAge               = "rules.maxMaxAge"
	RuleForbiddenRequestHeaders = "rules.forbiddenRequestHeaders"
	RuleForbiddenMethods        = "rules.forbiddenMethods"
	RuleForbidOptIns            = "rules.forbidOptIns"
)

// DefaultMaxAge is the maxAge of a CorsPolicy that leaves it unset: the
// CRD defaults it to 5 seconds, which is what the maxMaxAge rule compares.
const DefaultMaxAge = 5

// OriginWithin reports whether every origin inner matches is matched by
// outer too, so that a policy allowing inner allows nothing a cluster rule
// allowing outer does not. It reasons on the sets the patterns denote, not
// on their spelling: "https://*.a.example.com" is within
// "https://*.example.com", but "https://example.com" is not, since a
// subdomain wildcard never matches its own suffix. Both patterns are
// expected to come from ParseOriginPattern.
func OriginWithin(inner, outer OriginPattern) bool {
	if outer.Any {
		return true
	}
	// "*" also matches origins of every scheme and port, which no other
	// pattern does.
	if inner.Any || inner.Scheme != outer.Scheme {
		return false
	}
	return portWithin(inner.Port, outer.Port) && hostWithin(inner, outer)
}

// portWithin compares the port sets of two patterns of the same scheme:
// ":*" is every port (the default one included), no port is the default
// port only, and an explicit port is that port only; parsing guarantees an
// explicit port is never the default one.
func portWithin(inner, outer int) bool {
	if outer == AnyPort {
		return true
	}
	return inner == outer
}

// hostWithin compares the host sets of two patterns: an exact host is one
// host, "*.H" is every host with one or more labels in front of H.
func hostWithin(inner, outer OriginPattern) bool {
	if !outer.SubdomainWildcard {
		// An IP host is written canonically, so equal strings are equal
		// addresses.
		return !inner.SubdomainWildcard && inner.Host == outer.Host
	}
	if inner.SubdomainWildcard {
		// Every host under S is under H exactly when S is H or under H;
		// otherwise "x.S", for a label x, is a host inner matches and
		// outer does not.
		return inner.Host == outer.Host || isUnder(inner.Host, outer.Host)
	}
	return isUnder(inner.Host, outer.Host)
}

// isUnder reports whether host has one or more whole labels in front of
// suffix, as Matches reads a subdomain wildcard.
func isUnder(host, suffix string) bool {
	return len(host) > len(suffix)+1 && strings.HasSuffix(host, "."+suffix)
}

// reachesLoopback reports whether a pattern can match an origin served
// from the visitor's own machine: localhost and the names under it, which
// browsers resolve to loopback themselves, and loopback addresses. It is
// wider than IsLoopback, the exemption from the plain-http rules, because
// it serves a rule that forbids.
func reachesLoopback(p OriginPattern) bool {
	if p.Any {
		return true
	}
	if p.IP.IsValid() {
		return p.IP.IsLoopback()
	}
	return p.Host == "localhost" || strings.HasSuffix(p.Host, ".localhost")
}

// Violation is one breach of a ClusterCorsPolicy rule by a CorsPolicy.
type Violation struct {
	// Rule is the path of the broken rule in the ClusterCorsPolicy, such
	// as "rules.allowedOrigins".
	Rule string
	// Field is the path of the offending CorsPolicy field, such as
	// "spec.allowOrigins[1]".
	Field string
	// Message names the offending value and says what to write instead.
	Message string
}

// EvaluateClusterRules returns every breach of rules by a CorsPolicy spec,
// grouped by rule in the order of ClusterCorsRules and, within a rule, in
// the order of the spec's lists. The spec is expected to be valid on its
// own (ValidateSpec); entries that do not parse are left to that
// validation and skipped here.
func EvaluateClusterRules(rules *kubecorsv1alpha1.ClusterCorsRules, spec *kubecorsv1alpha1.CorsPolicySpec) []Violation {
	e := &evaluation{rules: rules, spec: spec, specPath: field.NewPath("spec")}
	origins := e.parsedOrigins()
	e.allowedOrigins(origins)
	if rules.ForbidCredentials && spec.AllowCredentials != nil && *spec.AllowCredentials {
		e.add(RuleForbidCredentials, e.specPath.Child("allowCredentials"),
			"allowCredentials: true is forbidden; write allowCredentials: false, and have pages send a token in the Authorization header instead of cookies")
	}
	if rules.RequireHTTPS {
		e.requireHTTPS(origins)
	}
	if rules.ForbidLoopback {
		e.forbidLoopback(origins)
	}
	e.maxMaxAge()
	e.forbiddenRequestHeaders()
	e.forbiddenMethods()
	if rules.ForbidOptIns {
		if spec.DangerouslyAllowInsecureOrigins {
			e.add(RuleForbidOptIns, e.specPath.Child("dangerouslyAllowInsecureOrigins"),
				"dangerouslyAllowInsecureOrigins: true is forbidden; remove it and write the origins with https://")
		}
		if spec.DangerouslyAllowPublicSuffixWildcards {
			e.add(RuleForbidOptIns, e.specPath.Child("dangerouslyAllowPublicSuffixWildcards"),
				"dangerouslyAllowPublicSuffixWildcards: true is forbidden; remove it and list origins under your own domain")
		}
	}
	return e.violations
}

// evaluation collects the violations of one spec against one rule set.
type evaluation struct {
	rules      *kubecorsv1alpha1.ClusterCorsRules
	spec       *kubecorsv1alpha1.CorsPolicySpec
	specPath   *field.Path
	violations []Violation
}

func (e *evaluation) add(rule string, path *field.Path, format string, args ...any) {
	e.violations = append(e.violations, Violation{Rule: rule, Field: path.String(), Message: fmt.Sprintf(format, args...)})
}

// indexedOrigin is a parsed entry of allowOrigins and its index.
type indexedOrigin struct {
	index   int
	pattern OriginPattern
}

func (e *evaluation) parsedOrigins() []indexedOrigin {
	var origins []indexedOrigin
	for i, o := range e.spec.AllowOrigins {
		if p, err := ParseOriginPattern(string(o)); err == nil {
			origins = append(origins, indexedOrigin{index: i, pattern: p})
		}
	}
	return origins
}

func (e *evaluation) originPath(i int) *field.Path {
	return e.specPath.Child("allowOrigins").Index(i)
}

func (e *evaluation) allowedOrigins(origins []indexedOrigin) {
	if len(e.rules.AllowedOrigins) == 0 {
		return
	}
	var allowed []OriginPattern
	written := make([]string, 0, len(e.rules.AllowedOrigins))
	for _, o := range e.rules.AllowedOrigins {
		written = append(written, string(o))
		// An entry that does not parse allows nothing, as validation of
		// the ClusterCorsPolicy rejects it.
		if p, err := ParseOriginPattern(string(o)); err == nil {
			allowed = append(allowed, p)
		}
	}
	list := strings.Join(written, ", ")
	for _, o := range origins {
		if slices.ContainsFunc(allowed, func(a OriginPattern) bool { return OriginWithin(o.pattern, a) }) {
			continue
		}
		if o.pattern.Any {
			e.add(RuleAllowedOrigins, e.originPath(o.index),
				`"*" (any origin) is outside the allowed origins %s; list origins within them instead`, list)
			continue
		}
		e.add(RuleAllowedOrigins, e.originPath(o.index),
			"%q is outside the allowed origins %s; use an origin within them", o.pattern.String(), list)
	}
}

func (e *evaluation) requireHTTPS(origins []indexedOrigin) {
	for _, o := range origins {
		p := o.pattern
		switch {
		case p.Any:
			e.add(RuleRequireHTTPS, e.originPath(o.index),
				`"*" (any origin) includes plain-http origins, which are forbidden; list https origins instead, for example "https://app.example.com"`)
		case p.Scheme != SchemeHTTP:
		case p.IsLoopback() && !e.rules.ForbidLoopback:
			// A page on the developer's own machine is not reached over
			// the network, so plain http exposes nothing in transit.
		case p.IsLoopback():
			e.add(RuleRequireHTTPS, e.originPath(o.index),
				"%q uses plain http, and loopback origins are not exempt because forbidLoopback is set; remove it", p.String())
		case p.IP.IsValid():
			e.add(RuleRequireHTTPS, e.originPath(o.index),
				"%q uses plain http, which is forbidden; serve the page over https from the host name its certificate is issued for, and write that origin", p.String())
		default:
			secure := p
			secure.Scheme = SchemeHTTPS
			e.add(RuleRequireHTTPS, e.originPath(o.index),
				"%q uses plain http, which is forbidden; write %q", p.String(), secure.String())
		}
	}
}

func (e *evaluation) forbidLoopback(origins []indexedOrigin) {
	for _, o := range origins {
		switch p := o.pattern; {
		case p.Any:
			e.add(RuleForbidLoopback, e.originPath(o.index),
				`"*" (any origin) includes loopback origins such as "http://localhost", which are forbidden; list the origins pages are served from instead`)
		case reachesLoopback(p):
			e.add(RuleForbidLoopback, e.originPath(o.index),
				"%q is a loopback origin, a page running on the visitor's own machine, which is forbidden; remove it", p.String())
		}
	}
}

func (e *evaluation) maxMaxAge() {
	if e.rules.MaxMaxAge == nil {
		return
	}
	limit := *e.rules.MaxMaxAge
	path := e.specPath.Child("maxAge")
	switch {
	case e.spec.MaxAge == nil && DefaultMaxAge > limit:
		e.add(RuleMaxMaxAge, path,
			"maxAge is unset and defaults to %d seconds, above the largest allowed, %d; write maxAge: %d or less", DefaultMaxAge, limit, limit)
	case e.spec.MaxAge != nil && *e.spec.MaxAge > limit:
		e.add(RuleMaxMaxAge, path,
			"maxAge %d is above the largest allowed, %d seconds; write maxAge: %d or less", *e.spec.MaxAge, limit, limit)
	}
}

func (e *evaluation) forbiddenRequestHeaders() {
	if len(e.rules.ForbiddenRequestHeaders) == 0 {
		return
	}
	// Lowercase name to the spelling the rule uses, for the message.
	forbidden := map[string]string{}
	// What "*" would allow: every forbidden header but Authorization, which
	// "*" never covers and a policy must list by name.
	var coveredByWildcard []string
	for _, h := range e.rules.ForbiddenRequestHeaders {
		lower := strings.ToLower(string(h))
		forbidden[lower] = string(h)
		if lower != "authorization" && lower != wildcardMember {
			coveredByWildcard = append(coveredByWildcard, string(h))
		}
	}
	for i, h := range e.spec.AllowHeaders {
		name := string(h)
		path := e.specPath.Child("allowHeaders").Index(i)
		lower := strings.ToLower(name)
		listed, isForbidden := forbidden[lower]
		switch {
		case name == wildcardMember && isForbidden:
			e.add(RuleForbiddenRequestHeaders, path,
				`"*" (any header) is forbidden by this cluster policy; list the headers pages need instead`)
		case name == wildcardMember && len(coveredByWildcard) > 0:
			e.add(RuleForbiddenRequestHeaders, path,
				`"*" (any header) would allow %s, which this cluster policy forbids; list the headers pages need instead`, strings.Join(coveredByWildcard, ", "))
		case isForbidden && listed != name:
			e.add(RuleForbiddenRequestHeaders, path,
				"%q is a header this cluster policy forbids (as %q: names are compared ignoring case); remove it", name, listed)
		case isForbidden:
			e.add(RuleForbiddenRequestHeaders, path, "%q is a header this cluster policy forbids; remove it", name)
		}
	}
}

func (e *evaluation) forbiddenMethods() {
	if len(e.rules.ForbiddenMethods) == 0 {
		return
	}
	forbidden := sets.New[string]()
	var coveredByWildcard []string
	for _, m := range e.rules.ForbiddenMethods {
		forbidden.Insert(string(m))
		if string(m) != wildcardMember {
			coveredByWildcard = append(coveredByWildcard, string(m))
		}
	}
	for i, m := range e.spec.AllowMethods {
		name := string(m)
		path := e.specPath.Child("allowMethods").Index(i)
		switch {
		case name == wildcardMember && forbidden.Has(wildcardMember):
			e.add(RuleForbiddenMethods, path, `"*" (any method) is forbidden by this cluster policy; list the methods pages need instead`)
		case name == wildcardMember:
			e.add(RuleForbiddenMethods, path,
				`"*" (any method) would allow %s, which this cluster policy forbids; list the methods pages need instead`, strings.Join(coveredByWildcard, ", "))
		case forbidden.Has(name):
			e.add(RuleForbiddenMethods, path, "%q is a method this cluster policy forbids; remove it", name)
		}
	}
}

// ValidateClusterCorsPolicy validates a ClusterCorsPolicy's spec, as
// "spec", with the rules a CorsPolicy's entries follow: its origin patterns
// obey the CorsPolicy origin rules, the public-suffix rule included since
// no opt-in exists at cluster level, and its header and method names are
// valid. It returns the errors that make it invalid and the warn-level
// findings.
func ValidateClusterCorsPolicy(p *kubecorsv1alpha1.ClusterCorsPolicy) (field.ErrorList, Warnings) {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if p.Spec.NamespaceSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(p.Spec.NamespaceSelector,
			metav1validation.LabelSelectorValidationOptions{}, spec.Child("namespaceSelector"))...)
	}
	switch p.Spec.Mode {
	case "", kubecorsv1alpha1.ModeEnforce, kubecorsv1alpha1.ModeAudit:
	default:
		errs = append(errs, field.NotSupported(spec.Child("mode"), p.Spec.Mode,
			[]kubecorsv1alpha1.ClusterPolicyMode{kubecorsv1alpha1.ModeEnforce, kubecorsv1alpha1.ModeAudit}))
	}
	rules := &p.Spec.Rules
	rulesPath := spec.Child("rules")
	originErrs, warns := validateAllowedOrigins(rules.AllowedOrigins, rulesPath.Child("allowedOrigins"))
	errs = append(errs, originErrs...)
	if rules.MaxMaxAge != nil {
		path := rulesPath.Child("maxMaxAge")
		switch limit := *rules.MaxMaxAge; {
		case limit < 0 || limit > MaxMaxAge:
			errs = append(errs, field.Invalid(path, limit, "maxMaxAge is out of range: write whole seconds from 0 to 86400 (24 hours)"))
		case limit < DefaultMaxAge:
			warns.add(path, "%d is below the default maxAge of %d seconds, so every policy that leaves maxAge unset breaks this rule", limit, DefaultMaxAge)
		}
	}
	errs = append(errs, validateForbiddenRequestHeaders(rules.ForbiddenRequestHeaders, rulesPath.Child("forbiddenRequestHeaders"))...)
	methodErrs, methodWarns := validateForbiddenMethods(rules.ForbiddenMethods, rulesPath.Child("forbiddenMethods"))
	errs = append(errs, methodErrs...)
	warns = append(warns, methodWarns...)
	if d := p.Spec.DefaultPolicy; d != nil {
		// The default becomes a CorsPolicy in every selected namespace, so
		// it follows every CorsPolicy rule, and it applies by label only.
		path := spec.Child("defaultPolicy")
		if d.TargetSelector == nil || len(d.TargetRefs) > 0 {
			errs = append(errs, field.Invalid(path, "",
				"a defaultPolicy applies by label in many namespaces: set defaultPolicy.targetSelector and leave out targetRefs"))
		}
		defaultErrs, defaultWarns := ValidateSpec(d, path)
		errs = append(errs, defaultErrs...)
		warns = append(warns, defaultWarns...)
	}
	return errs, warns
}

func validateAllowedOrigins(origins []kubecorsv1alpha1.Origin, path *field.Path) (field.ErrorList, Warnings) {
	var errs field.ErrorList
	var warns Warnings
	if len(origins) > MaxOrigins {
		errs = append(errs, field.TooMany(path, len(origins), MaxOrigins))
	}
	seen := sets.New[string]()
	parsed := make([]OriginPattern, len(origins))
	valid := make([]bool, len(origins))
	hasAny := false
	for i, o := range origins {
		p, err := ParseOriginPattern(string(o))
		if err != nil {
			errs = append(errs, field.Invalid(path.Index(i), string(o), err.Error()))
			continue
		}
		if seen.Has(p.String()) {
			errs = append(errs, field.Duplicate(path.Index(i), string(o)))
			continue
		}
		seen.Insert(p.String())
		hasAny = hasAny || p.Any
		if PublicSuffixWildcard(p) {
			errs = append(errs, field.Invalid(path.Index(i), string(o), fmt.Sprintf(
				"%q matches every site under the public suffix %q, owned by unrelated parties; list your own domain instead (\"%s://*.yourdomain.%s\")",
				string(o), p.Host, p.Scheme, p.Host)))
			continue
		}
		parsed[i], valid[i] = p, true
	}
	if hasAny && len(origins) > 1 {
		errs = append(errs, field.Invalid(path, "", `"*" (any origin) must be the only entry: remove the other origins, or replace "*" with the origins you trust`))
		return errs, warns
	}
	for i := range parsed {
		for j := range parsed {
			// A pattern within another adds nothing, and a reader may take
			// it for a restriction; say which entry already covers it.
			if i != j && valid[i] && valid[j] && OriginWithin(parsed[i], parsed[j]) {
				warns.add(path.Index(i), "%q is within %q already; remove it", string(origins[i]), string(origins[j]))
				break
			}
		}
	}
	return errs, warns
}

func validateForbiddenRequestHeaders(headers []kubecorsv1alpha1.RequestHeaderName, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(headers) > MaxHeaders {
		errs = append(errs, field.TooMany(path, len(headers), MaxHeaders))
	}
	seen := map[string]string{}
	for i, h := range headers {
		lower, nameErrs := headerNameErrors(string(h), i, seen, path)
		errs = append(errs, nameErrs...)
		if err := requestHeaderError(string(h), lower, path.Index(i)); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func validateForbiddenMethods(methods []kubecorsv1alpha1.HTTPMethod, path *field.Path) (field.ErrorList, Warnings) {
	var errs field.ErrorList
	var warns Warnings
	if len(methods) > MaxMethods {
		errs = append(errs, field.TooMany(path, len(methods), MaxMethods))
	}
	seen := sets.New[string]()
	for i, m := range methods {
		name := string(m)
		switch err := methodNameError(name, path.Index(i)); {
		case err != nil:
			errs = append(errs, err)
		case isMisspeltStandardMethod(name):
			warns.add(path.Index(i), "%q is not the standard method %q: method names are case-sensitive, so this forbids only %q; write %q to forbid the method browsers send", name, strings.ToUpper(name), name, strings.ToUpper(name))
		case safelistedMethods.Has(name):
			// The Fetch standard lets these through whatever
			// Access-Control-Allow-Methods says.
			warns.add(path.Index(i), "%q is a CORS-safelisted method that browsers allow cross-origin whether a policy lists it or not, so forbidding it only keeps policies from listing it", name)
		}
		if seen.Has(name) {
			errs = append(errs, field.Duplicate(path.Index(i), name))
		}
		seen.Insert(name)
	}
	return errs, warns
}

// safelistedMethods are the CORS-safelisted methods.
var safelistedMethods = sets.New("GET", "HEAD", "POST")
