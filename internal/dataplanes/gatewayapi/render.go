package gatewayapi

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// Limits of Gateway API v1.6's HTTPCORSFilter (apis/v1/httproute_types.go
// and shared_types.go). TestGatewayAPIUpstreamFacts pins them to the
// vendored CRD.
const (
	// gatewayMaxOriginLength is CORSOrigin's MaxLength. A kubecors origin
	// may be longer: its host alone may take 253 characters.
	gatewayMaxOriginLength = 253
	// gatewayMinMaxAge is maxAge's Minimum. The field is an int32 with
	// omitempty, so 0 would not even reach the API server: it would be left
	// out and defaulted to 5.
	gatewayMinMaxAge int32 = 1
)

// corsOriginPattern is the kubebuilder Pattern of Gateway API's CORSOrigin,
// copied verbatim. Every origin the renderer writes is checked against it,
// so that no value reaches the API server that it would reject (the whole
// HTTPRoute update would then fail). It admits no port wildcard (a port is
// digits only) and no IPv6 literal (no brackets in the host).
var corsOriginPattern = regexp.MustCompile(`(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9\-]+\.)*[a-zA-Z0-9-]+|\*)(:([0-9]{1,5}))?)$)`)

// gatewayMethods is the enum of HTTPMethodWithWildcard, the item type of
// HTTPCORSFilter.allowMethods: the standard methods and "*". Any other
// method, including a lowercase spelling of a standard one, is rejected by
// the API server.
var gatewayMethods = sets.New[gatewayv1.HTTPMethodWithWildcard](
	gatewayv1.HTTPMethodWithWildcard(gatewayv1.HTTPMethodGet),
	gatewayv1.HTTPMethodWithWildcard(gatewayv1.HTTPMethodHead),
	gatewayv1.HTTPMethodWithWildcard(gatewayv1.HTTPMethodPost),
	gatewayv1.HTTPMethodWithWildcard(gatewayv1.HTTPMethodPut),
	gatewayv1.HTTPMethodWithWildcard(gatewayv1.HTTPMethodDelete),
	gatewayv1.HTTPMethodWithWildcard(gatewayv1.HTTPMethodConnect),
	gatewayv1.HTTPMethodWithWildcard(gatewayv1.HTTPMethodOptions),
	gatewayv1.HTTPMethodWithWildcard(gatewayv1.HTTPMethodTrace),
	gatewayv1.HTTPMethodWithWildcard(gatewayv1.HTTPMethodPatch),
	"*",
)

// HTTPRouteCORSConfig is the desired CORS filter of the HTTPRoute rules a
// policy targets, for Gateways whose class implements the HTTPRouteCORS
// feature.
type HTTPRouteCORSConfig struct {
	// Filter is the content of the rule's filter of type CORS. It is nil
	// when Refused is set.
	Filter *gatewayv1.HTTPCORSFilter
	// Narrowed lists what the filter could not express.
	Narrowed []dataplanes.Narrowing
	// Refused, when not empty, says why the policy cannot be programmed as
	// a CORS filter at all (no origin could be written). Filter and
	// Narrowed are then empty and no filter is written.
	Refused string
}

// RouteFilter returns the HTTPRoute filter to place in each targeted rule,
// and false when the policy was refused.
func (c HTTPRouteCORSConfig) RouteFilter() (gatewayv1.HTTPRouteFilter, bool) {
	if c.Refused != "" || c.Filter == nil {
		return gatewayv1.HTTPRouteFilter{}, false
	}
	return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterCORS, CORS: c.Filter.DeepCopy()}, true
}

// RenderHTTPRouteCORS writes a policy as Gateway API's standard CORS filter
// (HTTPCORSFilter, Standard channel since v1.5).
//
// How Gateway API reads the filter (the HTTPCORSFilter doc comments): an
// origin without a port means the scheme's default port; a leading "*." is
// a greedy match of any number of labels to its left, and the "." after it
// is literal, so "https://*.example.com" matches one or more labels in
// front of example.com and never example.com itself, as a policy's "*."
// does. (One gap remains: the greedy "*" also matches labels that
// corsrules does not take for host names, such as "a_b", which browsers
// do send; TestGatewayModelAgreesWithCorsrules records it.) Where the filter says "*" and credentials are off, a gateway
// may answer "*" or echo the request's Origin, method or headers; both
// readings must stay within the policy. Everything the filter cannot say is
// left out and reported, never widened:
//
//   - a port wildcard (":*"): CORSOrigin's port is digits only;
//   - an IPv6 literal: CORSOrigin's host admits no brackets;
//   - an origin longer than CORSOrigin's 253 characters;
//   - a method outside the HTTPMethodWithWildcard enum (custom methods,
//     lowercase spellings);
//   - allowHeaders "*" without "Authorization": a gateway may echo the
//     requested headers, Authorization included, which the policy's "*"
//     never covers;
//   - maxAge 0, which Gateway API cannot say (minimum 1): 1 is written.
//
// allowCredentials and maxAge are always written, so that no gateway
// default applies. A policy with no origin left is refused: Gateway API
// does not define what an empty allowOrigins means.
func RenderHTTPRouteCORS(p dataplanes.Policy) HTTPRouteCORSConfig {
	spec := p.Spec
	filter := &gatewayv1.HTTPCORSFilter{AllowCredentials: new(dataplanes.Credentials(spec))}
	var narrowed, originsLeftOut []dataplanes.Narrowing
	for _, o := range dataplanes.OriginPatterns(spec) {
		origin, reason := gatewayOrigin(o)
		if reason != "" {
			originsLeftOut = append(originsLeftOut, dataplanes.Narrowing{Field: o.Path(), Value: o.Written, Reason: reason})
			continue
		}
		if !slices.Contains(filter.AllowOrigins, origin) { // the CRD's lists are sets
			filter.AllowOrigins = append(filter.AllowOrigins, origin)
		}
	}
	if len(filter.AllowOrigins) == 0 {
		return HTTPRouteCORSConfig{Refused: refusedNoOrigin(originsLeftOut)}
	}
	if slices.Contains(filter.AllowOrigins, "*") {
		// "*" allows every origin on its own, and the CRD refuses it beside
		// others (only a policy that got past admission holds both).
		filter.AllowOrigins = []gatewayv1.CORSOrigin{"*"}
	}
	narrowed = append(narrowed, originsLeftOut...)

	methods, methodsNarrowed := gatewayAllowMethods(dataplanes.MethodNames(spec))
	filter.AllowMethods = distinct(methods)
	if slices.Contains(filter.AllowMethods, "*") {
		filter.AllowMethods = []gatewayv1.HTTPMethodWithWildcard{"*"} // as for origins
	}
	narrowed = append(narrowed, methodsNarrowed...)

	headers, headersNarrowed := gatewayAllowHeaders(dataplanes.AllowHeaderNames(spec))
	filter.AllowHeaders = distinct(headers)
	narrowed = append(narrowed, headersNarrowed...)

	expose, exposeNarrowed := gatewayHeaderNames(dataplanes.ExposeHeadersPath, dataplanes.ExposeHeaderNames(spec))
	if len(expose) > 0 {
		filter.ExposeHeaders = distinct(expose)
	}
	narrowed = append(narrowed, exposeNarrowed...)

	filter.MaxAge = dataplanes.MaxAge(spec)
	if filter.MaxAge < gatewayMinMaxAge {
		narrowed = append(narrowed, dataplanes.Narrowing{
			Field: dataplanes.SpecPath.Child("maxAge").String(),
			Value: strconv.Itoa(int(filter.MaxAge)),
			Reason: fmt.Sprintf("Gateway API's maxAge is at least %d second (0 would be dropped and read as its default of 5 seconds); "+
				"rendered %d, so browsers may reuse a preflight answer for %d second", gatewayMinMaxAge, gatewayMinMaxAge, gatewayMinMaxAge),
		})
		filter.MaxAge = gatewayMinMaxAge
	}
	return HTTPRouteCORSConfig{Filter: filter, Narrowed: narrowed}
}

// gatewayOrigin writes one origin pattern as a CORSOrigin, or says why it
// cannot be written.
func gatewayOrigin(o dataplanes.IndexedOrigin) (gatewayv1.CORSOrigin, string) {
	if o.Any {
		return "*", ""
	}
	switch {
	case o.Port == corsrules.AnyPort:
		return "", `Gateway API cannot express a port wildcard (a CORSOrigin port is digits only); the origin was left out, so pages served from it are refused on this route: list the ports you use instead, for example "http://localhost:3000"`
	case o.IP.Is6():
		return "", "Gateway API cannot express an IPv6 literal (CORSOrigin admits no brackets in the host); the origin was left out, so pages served from it are refused on this route"
	}
	origin := o.String()
	switch {
	case len(origin) > gatewayMaxOriginLength:
		return "", fmt.Sprintf("Gateway API accepts origins of at most %d characters and this one has %d; the origin was left out, so pages served from it are refused on this route",
			gatewayMaxOriginLength, len(origin))
	case !corsOriginPattern.MatchString(origin):
		// Unreachable for origins corsrules accepts; kept so that a
		// future rule change cannot make the API server reject the route.
		return "", "the origin does not pass Gateway API's CORSOrigin validation; it was left out, so pages served from it are refused on this route"
	}
	return gatewayv1.CORSOrigin(origin), ""
}

// refusedNoOrigin says why nothing was written: the policy lists no origin,
// or every origin had to be left out.
func refusedNoOrigin(leftOut []dataplanes.Narrowing) string {
	const tail = "Gateway API does not define what a CORS filter with an empty allowOrigins allows, so no filter was written"
	if len(leftOut) == 0 {
		return "the policy allows no origin; " + tail
	}
	reasons := make([]string, len(leftOut))
	for i, n := range leftOut {
		reasons[i] = fmt.Sprintf("%s %q: %s", n.Field, n.Value, n.Reason)
	}
	return "no origin of the policy can be written as a Gateway API CORSOrigin (" + strings.Join(reasons, "; ") + "); " + tail
}

// gatewayAllowMethods keeps the methods of the HTTPMethodWithWildcard enum.
// "*" is kept as is: the policy allows it only without credentials, where a
// gateway answers "*" or echoes the requested method, and browsers read
// either as the policy does.
func gatewayAllowMethods(methods []string) ([]gatewayv1.HTTPMethodWithWildcard, []dataplanes.Narrowing) {
	var kept []gatewayv1.HTTPMethodWithWildcard
	var narrowed []dataplanes.Narrowing
	for i, m := range methods {
		if gatewayMethods.Has(gatewayv1.HTTPMethodWithWildcard(m)) {
			kept = append(kept, gatewayv1.HTTPMethodWithWildcard(m))
			continue
		}
		narrowed = append(narrowed, dataplanes.Narrowing{
			Field: dataplanes.AllowMethodsPath.Index(i).String(),
			Value: m,
			Reason: "Gateway API's allowMethods accepts only GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH and \"*\" " +
				"(method names are case-sensitive); the method was left out, so browsers refuse it on this route",
		})
	}
	return kept, narrowed
}

// gatewayAllowHeaders writes the request-header list. Names pass unchanged
// (CORS-RULES.md's token rule is Gateway API's HTTPHeaderName pattern).
//
// "*" is the exception. Gateway API lets a gateway answer it without
// credentials with "*" or by echoing Access-Control-Request-Headers. An
// echo allows Authorization, which a policy's "*" never covers, so "*"
// alone cannot be written: it is left out. "*" with "Authorization" allows
// every header, which an echo gives exactly; a literal "*" gives everything
// but Authorization, a narrowing. Gateway API forbids "*" alongside other
// names, so "*" is written alone.
func gatewayAllowHeaders(headers []string) ([]gatewayv1.HTTPHeaderName, []dataplanes.Narrowing) {
	star := slices.Index(headers, "*")
	if star < 0 {
		return gatewayHeaderNames(dataplanes.AllowHeadersPath, headers)
	}
	authorization := slices.IndexFunc(headers, func(h string) bool { return strings.EqualFold(h, "Authorization") })
	if authorization < 0 {
		return nil, []dataplanes.Narrowing{{
			Field: dataplanes.AllowHeadersPath.Index(star).String(),
			Value: "*",
			Reason: `Gateway API lets a gateway answer "*" by echoing the requested headers, Authorization included, ` +
				`which this policy's "*" never allows; "*" was left out, so only CORS-safelisted headers are allowed on this route: ` +
				`list the headers by name, or add "Authorization" if pages may send it too`,
		}}
	}
	return []gatewayv1.HTTPHeaderName{"*"}, []dataplanes.Narrowing{{
		Field: dataplanes.AllowHeadersPath.Index(authorization).String(),
		Value: headers[authorization],
		Reason: `Gateway API takes "*" alone and lets a gateway answer it with a literal "*", which browsers never read as covering Authorization; ` +
			`rendered "*", so gateways that answer "*" rather than echoing the requested headers refuse Authorization on this route`,
	}}
}

// gatewayHeaderName is Gateway API's HTTPHeaderName: an HTTP token of at
// most 256 characters.
var gatewayHeaderName = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+\\-.^_`|~]{1,256}$")

// gatewayHeaderNames keeps the header names Gateway API's HTTPHeaderName
// accepts, in order. The rules accept no other, so only a policy that got
// past admission has one; leaving it out keeps the API server from
// rejecting the whole route.
func gatewayHeaderNames(path *field.Path, names []string) ([]gatewayv1.HTTPHeaderName, []dataplanes.Narrowing) {
	kept := make([]gatewayv1.HTTPHeaderName, 0, len(names))
	var narrowed []dataplanes.Narrowing
	for i, h := range names {
		if gatewayHeaderName.MatchString(h) {
			kept = append(kept, gatewayv1.HTTPHeaderName(h))
			continue
		}
		narrowed = append(narrowed, dataplanes.Narrowing{Field: path.Index(i).String(), Value: h,
			Reason: "not a Gateway API HTTPHeaderName (an HTTP token of at most 256 characters), which the API server refuses: the policy got past admission; the header was left out"})
	}
	return kept, narrowed
}

// distinct keeps the first of each entry, in order: Gateway API's CORS
// lists are sets, and the API server refuses a filter that repeats an
// entry (which only a policy that got past admission can hold).
func distinct[T comparable](entries []T) []T {
	var out []T
	for _, e := range entries {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}
