package render

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// defaultMaxAge is the API's default for spec.maxAge, used when a spec
// reaches a renderer without defaulting (an offline check, a unit test):
// every data plane then still gets an explicit value, never its own default.
const defaultMaxAge int32 = 5

// standardMethods stand in for "*" (any method) on data planes that cannot
// express it: a finite subset of "any", so rendering them never broadens.
var standardMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

// safelistedMethods are allowed by browsers whatever
// Access-Control-Allow-Methods says. Data planes that replace an empty or
// invalid method list with a permissive default get these instead, which
// allow nothing a browser would not allow anyway.
var safelistedMethods = []string{"GET", "HEAD", "POST"}

// noRequestHeaders is written where a data plane needs a non-empty
// Access-Control-Allow-Headers value and the policy allows no header beyond
// the CORS-safelisted ones. ingress-nginx and HAProxy Ingress replace an
// empty or invalid value with a default list that includes Authorization, so
// an empty value would broaden the policy. Origin is a forbidden request
// header: no page can set it, so listing it allows nothing.
const noRequestHeaders = "Origin"

// methodName is a method name that ingress-nginx and HAProxy Ingress accept:
// their regex `^([A-Za-z]+,?\s?)+$` allows letters only.
var methodName = regexp.MustCompile(`^[A-Za-z]+$`)

// plainHeaderName is a header name that ingress-nginx and HAProxy Ingress
// accept: letters, digits, "-" and "_".
var plainHeaderName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Field paths that narrowings name, as the rules' error messages do.
var (
	specPath          = field.NewPath("spec")
	allowOriginsPath  = specPath.Child("allowOrigins")
	allowMethodsPath  = specPath.Child("allowMethods")
	allowHeadersPath  = specPath.Child("allowHeaders")
	exposeHeadersPath = specPath.Child("exposeHeaders")
)

// credentials reports whether the policy allows credentialed requests; an
// unset field means false, the API's default.
func credentials(spec kubecorsv1alpha1.CorsPolicySpec) bool {
	return spec.AllowCredentials != nil && *spec.AllowCredentials
}

// maxAge is the preflight cache lifetime to render, in seconds.
func maxAge(spec kubecorsv1alpha1.CorsPolicySpec) int32 {
	if spec.MaxAge == nil {
		return defaultMaxAge
	}
	return *spec.MaxAge
}

// originPattern is one entry of spec.allowOrigins with its position, so that
// a narrowing can name the field it comes from.
type originPattern struct {
	index   int
	written string
	corsrules.OriginPattern
}

// path is the field path of the entry, e.g. "spec.allowOrigins[2]".
func (o originPattern) path() string {
	return allowOriginsPath.Index(o.index).String()
}

// originPatterns parses spec.allowOrigins. Renderers receive accepted
// policies only, so an entry that does not parse is a bug upstream; it is
// skipped rather than guessed at, which can only narrow.
func originPatterns(spec kubecorsv1alpha1.CorsPolicySpec) []originPattern {
	patterns := make([]originPattern, 0, len(spec.AllowOrigins))
	for i, o := range spec.AllowOrigins {
		p, err := corsrules.ParseOriginPattern(string(o))
		if err != nil {
			continue
		}
		patterns = append(patterns, originPattern{index: i, written: string(o), OriginPattern: p})
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

// originRegexp writes an origin pattern as an anchored regular expression
// that matches exactly the serialized origins the pattern allows. "*." is one
// or more whole labels in front of the suffix (the escaped dot keeps
// "evilexample.com" out, the anchors keep "example.com.evil.net" out). The
// syntax is common to Go's RE2 (Traefik) and PCRE (HAProxy). The lone "*" has
// no regular expression; callers handle it.
func originRegexp(p corsrules.OriginPattern) string {
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

// tokenFilter keeps the entries of a method or header list that a data
// plane's validation accepts and records the others as narrowings.
type tokenFilter struct {
	// path is the list's field path, e.g. spec.allowMethods.
	path *field.Path
	// accepted reports whether the data plane accepts the entry as written.
	accepted *regexp.Regexp
	// reason says why a rejected entry was left out.
	reason string
}

// filter returns the accepted entries in order, and a narrowing for each
// entry that is neither accepted nor "*"; callers decide what "*" becomes.
func (f tokenFilter) filter(entries []string) (kept []string, hasWildcard bool, narrowed []Narrowing) {
	for i, e := range entries {
		switch {
		case e == "*":
			hasWildcard = true
		case f.accepted.MatchString(e):
			kept = append(kept, e)
		default:
			narrowed = append(narrowed, Narrowing{Field: f.path.Index(i).String(), Value: e, Reason: f.reason})
		}
	}
	return kept, hasWildcard, narrowed
}

// wildcardIndex is the position of "*" in a list, for the narrowing that
// names it.
func wildcardIndex(entries []string) int {
	for i, e := range entries {
		if e == "*" {
			return i
		}
	}
	return -1
}

func methodNames(spec kubecorsv1alpha1.CorsPolicySpec) []string {
	names := make([]string, len(spec.AllowMethods))
	for i, m := range spec.AllowMethods {
		names[i] = string(m)
	}
	return names
}

func allowHeaderNames(spec kubecorsv1alpha1.CorsPolicySpec) []string {
	names := make([]string, len(spec.AllowHeaders))
	for i, h := range spec.AllowHeaders {
		names[i] = string(h)
	}
	return names
}

func exposeHeaderNames(spec kubecorsv1alpha1.CorsPolicySpec) []string {
	names := make([]string, len(spec.ExposeHeaders))
	for i, h := range spec.ExposeHeaders {
		names[i] = string(h)
	}
	return names
}

// letterMethods narrows a method list for data planes whose validation
// accepts only letters (ingress-nginx and HAProxy Ingress share the regex
// `^([A-Za-z]+,?\s?)+$`). "*" becomes the standard methods and an empty
// result becomes the safelisted ones, because an empty or invalid value
// reverts to the data plane's default list.
func letterMethods(spec kubecorsv1alpha1.CorsPolicySpec, dataPlane string) (string, []Narrowing) {
	methods := methodNames(spec)
	f := tokenFilter{
		path:     allowMethodsPath,
		accepted: methodName,
		reason: fmt.Sprintf("%s accepts only letters in a method name (and replaces the whole list with its own default otherwise); "+
			"the method was left out, so browsers refuse it on this data plane", dataPlane),
	}
	kept, wildcard, narrowed := f.filter(methods)
	if wildcard {
		kept = standardMethods
		narrowed = append(narrowed, Narrowing{
			Field: allowMethodsPath.Index(wildcardIndex(methods)).String(),
			Value: "*",
			Reason: fmt.Sprintf(`%s cannot express "*" (any method) and would replace it with its own default list; rendered the standard methods %s instead`,
				dataPlane, strings.Join(standardMethods, ", ")),
		})
	}
	if len(kept) == 0 {
		kept = safelistedMethods
	}
	return strings.Join(kept, ", "), narrowed
}

// plainHeaders narrows a request-header list for data planes whose
// validation accepts only letters, digits, "-" and "_". "*" cannot be
// written: both data planes would replace it with a default list that
// includes Authorization, which "*" never covers.
func plainHeaders(spec kubecorsv1alpha1.CorsPolicySpec, dataPlane string) (string, []Narrowing) {
	headers := allowHeaderNames(spec)
	f := tokenFilter{
		path:     allowHeadersPath,
		accepted: plainHeaderName,
		reason: fmt.Sprintf(`%s accepts only letters, digits, "-" and "_" in a header name (and replaces the whole list with a default that includes Authorization otherwise); `+
			"the header was left out, so browsers refuse requests that carry it on this data plane", dataPlane),
	}
	kept, wildcard, narrowed := f.filter(headers)
	if wildcard {
		narrowed = append(narrowed, Narrowing{
			Field: allowHeadersPath.Index(wildcardIndex(headers)).String(),
			Value: "*",
			Reason: fmt.Sprintf(`%s cannot express "*" (any header) and would replace it with a default list that includes Authorization; `+
				"only the headers listed by name are allowed on this data plane", dataPlane),
		})
	}
	if len(kept) == 0 {
		return noRequestHeaders, narrowed
	}
	return strings.Join(kept, ", "), narrowed
}
