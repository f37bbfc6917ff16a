package dataplanes

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// DefaultMaxAge is the API's default for spec.maxAge, used when a spec
// reaches a renderer without defaulting (an offline check, a unit test):
// every data plane then still gets an explicit value, never its own default.
const DefaultMaxAge int32 = 5

// StandardMethods stand in for "*" (any method) on data planes that cannot
// express it: a finite subset of "any", so rendering them never broadens.
var StandardMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

// SafelistedMethods are allowed by browsers whatever
// Access-Control-Allow-Methods says. Data planes that replace an empty or
// invalid method list with a permissive default get these instead, which
// allow nothing a browser would not allow anyway.
var SafelistedMethods = []string{"GET", "HEAD", "POST"}

// NoRequestHeaders is written where a data plane needs a non-empty
// Access-Control-Allow-Headers value and the policy allows no header beyond
// the CORS-safelisted ones, on data planes that replace an empty or invalid
// value with a default list that includes Authorization, where an empty
// value would broaden the policy. Origin is a forbidden request
// header: no page can set it, so listing it allows nothing.
const NoRequestHeaders = "Origin"

// ItemRule is a data plane's validation of the items of a method or
// header list, as its own folder states it.
type ItemRule struct {
	// Accepted matches an item the data plane takes as written.
	Accepted *regexp.Regexp
	// Says completes "<data plane> accepts ..." in a narrowing's reason,
	// e.g. "only letters in a method name".
	Says string
}

// Field paths that narrowings name, as the rules' error messages do.
var (
	SpecPath          = field.NewPath("spec")
	AllowOriginsPath  = SpecPath.Child("allowOrigins")
	AllowMethodsPath  = SpecPath.Child("allowMethods")
	AllowHeadersPath  = SpecPath.Child("allowHeaders")
	ExposeHeadersPath = SpecPath.Child("exposeHeaders")
)

// Credentials reports whether the policy allows credentialed requests; an
// unset field means false, the API's default.
func Credentials(spec kubecorsv1alpha1.CorsPolicySpec) bool {
	return spec.AllowCredentials != nil && *spec.AllowCredentials
}

// MaxAge is the preflight cache lifetime to render, in seconds.
func MaxAge(spec kubecorsv1alpha1.CorsPolicySpec) int32 {
	if spec.MaxAge == nil {
		return DefaultMaxAge
	}
	return *spec.MaxAge
}

// IndexedOrigin is one entry of spec.allowOrigins with its position, so that
// a narrowing can name the field it comes from.
type IndexedOrigin struct {
	// Index is the entry's position in spec.allowOrigins.
	Index int
	// Written is the entry as the policy writes it.
	Written string
	corsrules.OriginPattern
}

// Path is the field path of the entry, e.g. "spec.allowOrigins[2]".
func (o IndexedOrigin) Path() string {
	return AllowOriginsPath.Index(o.Index).String()
}

// OriginPatterns parses spec.allowOrigins. Renderers receive accepted
// policies only, so an entry that does not parse is a bug upstream; it is
// skipped rather than guessed at, which can only narrow.
func OriginPatterns(spec kubecorsv1alpha1.CorsPolicySpec) []IndexedOrigin {
	patterns := make([]IndexedOrigin, 0, len(spec.AllowOrigins))
	for i, o := range spec.AllowOrigins {
		p, err := corsrules.ParseOriginPattern(string(o))
		if err != nil {
			continue
		}
		patterns = append(patterns, IndexedOrigin{Index: i, Written: string(o), OriginPattern: p})
	}
	return patterns
}

// dnsLabel is one label of a host name as corsrules accepts it: lowercase
// letters, digits and inner hyphens, at most 63 characters. Browsers send
// hosts lowercase, so no case-folding is needed.
const dnsLabel = `[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?`

// anyPortSuffix matches what ":*" matches in a serialized origin: no port
// (the scheme's default) or a port from 1 to 65535 without leading zeros.
const anyPortSuffix = `(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?`

// OriginRegexp writes an origin pattern as an anchored regular expression
// that matches exactly the serialized origins the pattern allows. "*." is one
// or more whole labels in front of the suffix (the escaped dot keeps
// "evilexample.com" out, the anchors keep "example.com.evil.net" out). The
// syntax is common to Go's RE2 (Traefik) and PCRE (HAProxy). The lone "*" has
// no regular expression; callers handle it.
func OriginRegexp(p corsrules.OriginPattern) string {
	var b strings.Builder
	b.WriteString("^")
	b.WriteString(regexp.QuoteMeta(string(p.Scheme)))
	b.WriteString("://")
	switch {
	case p.SubdomainWildcard:
		b.WriteString("(?:" + dnsLabel + `\.)+`)
		b.WriteString(regexp.QuoteMeta(p.Host))
	case p.IP.Is6():
		b.WriteString(`\[` + regexp.QuoteMeta(p.Host) + `\]`)
	default:
		b.WriteString(regexp.QuoteMeta(p.Host))
	}
	switch {
	case p.Port == corsrules.AnyPort:
		b.WriteString(anyPortSuffix)
	case p.Port > 0:
		b.WriteString(":" + strconv.Itoa(p.Port))
	}
	b.WriteString("$")
	return b.String()
}

// TokenFilter keeps the entries of a method or header list that a data
// plane's validation accepts and records the others as narrowings.
type TokenFilter struct {
	// Path is the list's field path, e.g. spec.allowMethods.
	Path *field.Path
	// Accepted reports whether the data plane accepts the entry as written.
	Accepted *regexp.Regexp
	// Reason says why a rejected entry was left out.
	Reason string
}

// Filter returns the accepted entries in order, and a narrowing for each
// entry that is neither accepted nor "*"; callers decide what "*" becomes.
func (f TokenFilter) Filter(entries []string) (kept []string, hasWildcard bool, narrowed []Narrowing) {
	for i, e := range entries {
		switch {
		case e == "*":
			hasWildcard = true
		case f.Accepted.MatchString(e):
			kept = append(kept, e)
		default:
			narrowed = append(narrowed, Narrowing{Field: f.Path.Index(i).String(), Value: e, Reason: f.Reason})
		}
	}
	return kept, hasWildcard, narrowed
}

// httpToken is an HTTP token (RFC 9110, section 5.6.2), which method and
// header names are.
var httpToken = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// HTTPTokens keeps the entries of a method or header list that are HTTP
// tokens or "*", in order, and records the others as narrowings. The API
// server refuses a policy with anything else; renderers do not trust that
// and leave such an entry out, so that no control character or non-ASCII
// byte reaches a data plane's configuration or a response header.
func HTTPTokens(path *field.Path, entries []string) ([]string, []Narrowing) {
	var kept []string
	var narrowed []Narrowing
	for i, e := range entries {
		if e == "*" || httpToken.MatchString(e) {
			kept = append(kept, e)
			continue
		}
		narrowed = append(narrowed, Narrowing{Field: path.Index(i).String(), Value: e,
			Reason: "not an HTTP token (RFC 9110), which the API server refuses: the policy got past admission; the entry was left out"})
	}
	return kept, narrowed
}

// WildcardIndex is the position of "*" in a list, for the narrowing that
// names it.
func WildcardIndex(entries []string) int {
	for i, e := range entries {
		if e == "*" {
			return i
		}
	}
	return -1
}

// MethodNames lists spec.allowMethods as strings, in order.
func MethodNames(spec kubecorsv1alpha1.CorsPolicySpec) []string {
	names := make([]string, len(spec.AllowMethods))
	for i, m := range spec.AllowMethods {
		names[i] = string(m)
	}
	return names
}

// AllowHeaderNames lists spec.allowHeaders as strings, in order.
func AllowHeaderNames(spec kubecorsv1alpha1.CorsPolicySpec) []string {
	names := make([]string, len(spec.AllowHeaders))
	for i, h := range spec.AllowHeaders {
		names[i] = string(h)
	}
	return names
}

// ExposeHeaderNames lists spec.exposeHeaders as strings, in order.
func ExposeHeaderNames(spec kubecorsv1alpha1.CorsPolicySpec) []string {
	names := make([]string, len(spec.ExposeHeaders))
	for i, h := range spec.ExposeHeaders {
		names[i] = string(h)
	}
	return names
}

// MethodsWithFallback narrows a method list for data planes that replace
// an empty or invalid list with their own, permissive default: items the
// rule rejects are left out, "*" becomes the standard methods and an empty
// result becomes the safelisted ones.
func MethodsWithFallback(spec kubecorsv1alpha1.CorsPolicySpec, dataPlane string, rule ItemRule) (string, []Narrowing) {
	methods := MethodNames(spec)
	f := TokenFilter{
		Path:     AllowMethodsPath,
		Accepted: rule.Accepted,
		Reason: fmt.Sprintf("%s accepts %s (and replaces the whole list with its own default otherwise); "+
			"the method was left out, so browsers refuse it on this data plane", dataPlane, rule.Says),
	}
	kept, wildcard, narrowed := f.Filter(methods)
	if wildcard {
		kept = StandardMethods
		narrowed = append(narrowed, Narrowing{
			Field: AllowMethodsPath.Index(WildcardIndex(methods)).String(),
			Value: "*",
			Reason: fmt.Sprintf(`%s cannot express "*" (any method) and would replace it with its own default list; rendered the standard methods %s instead`,
				dataPlane, strings.Join(StandardMethods, ", ")),
		})
	}
	if len(kept) == 0 {
		kept = SafelistedMethods
	}
	return strings.Join(kept, ", "), narrowed
}

// HeadersWithFallback narrows a request-header list for data planes that
// replace an empty or invalid list with a default that includes
// Authorization: items the rule rejects are left out, and "*" cannot be
// written, because that default would take its place and "*" never covers
// Authorization.
func HeadersWithFallback(spec kubecorsv1alpha1.CorsPolicySpec, dataPlane string, rule ItemRule) (string, []Narrowing) {
	headers := AllowHeaderNames(spec)
	f := TokenFilter{
		Path:     AllowHeadersPath,
		Accepted: rule.Accepted,
		Reason: fmt.Sprintf(`%s accepts %s (and replaces the whole list with a default that includes Authorization otherwise); `+
			"the header was left out, so browsers refuse requests that carry it on this data plane", dataPlane, rule.Says),
	}
	kept, wildcard, narrowed := f.Filter(headers)
	if wildcard {
		narrowed = append(narrowed, Narrowing{
			Field: AllowHeadersPath.Index(WildcardIndex(headers)).String(),
			Value: "*",
			Reason: fmt.Sprintf(`%s cannot express "*" (any header) and would replace it with a default list that includes Authorization; `+
				"only the headers listed by name are allowed on this data plane", dataPlane),
		})
	}
	if len(kept) == 0 {
		return NoRequestHeaders, narrowed
	}
	return strings.Join(kept, ", "), narrowed
}
