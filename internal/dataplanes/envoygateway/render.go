package envoygateway

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// originPattern is the kubebuilder Pattern of Envoy Gateway's Origin
// (api/v1alpha1/cors_types.go, v1.9.1), copied verbatim and pinned to the
// vendored CRD by TestUpstreamFacts: every origin written passes it, so the
// API server never rejects the SecurityPolicy.
var originPattern = regexp.MustCompile(`^(\*|[A-Za-z][A-Za-z0-9+.-]*:\/\/(\*|(\*\.)?(([\w-]+\.?)+)?[\w-]+)(:\d{1,5})?)$`)

// maxOriginLength is Origin's MaxLength.
const maxOriginLength = 253

// RenderSecurityPolicy writes a policy as an Envoy Gateway SecurityPolicy
// attached to t, in t's namespace, named after the policy and the target.
//
// How Envoy Gateway reads it: an origin without "*" is compared exactly;
// "*" alone matches every origin (and Envoy echoes it, which browsers read
// as "*" without credentials); any other "*" becomes ".*" in a regular
// expression, so "https://*.example.com" also matches hosts a policy's
// "*." does not (any characters, "_" included), and a port cannot be a
// wildcard at all. Such origins are left out and reported, never widened:
// list the subdomains in use instead. IPv6 literals and origins longer than
// 253 characters fail Origin's validation and are left out too.
// allowHeaders "*" alone is left out, because Envoy answers it by echoing
// the requested headers, Authorization included, which the policy's "*"
// never allows ("*" with "Authorization" allows everything, which the
// echo gives exactly). allowCredentials and maxAge (whole seconds, as a
// duration) are always written. A policy with no origin left is refused.
func RenderSecurityPolicy(p dataplanes.Policy, t dataplanes.AttachTarget) dataplanes.RouteConfig {
	spec := p.Spec
	var origins []any
	var originsLeftOut []dataplanes.Narrowing
	for _, o := range dataplanes.OriginPatterns(spec) {
		origin, reason := securityPolicyOrigin(o)
		if reason != "" {
			originsLeftOut = append(originsLeftOut, dataplanes.Narrowing{Field: o.Path(), Value: o.Written, Reason: reason})
			continue
		}
		origins = append(origins, origin)
	}
	if len(origins) == 0 {
		return dataplanes.RouteConfig{Refused: refusedNoOrigin(originsLeftOut)}
	}
	cors := map[string]any{
		"allowOrigins":     origins,
		"allowCredentials": dataplanes.Credentials(spec),
		"maxAge":           fmt.Sprintf("%ds", dataplanes.MaxAge(spec)),
	}
	methods, methodsNarrowed := dataplanes.HTTPTokens(dataplanes.AllowMethodsPath, dataplanes.MethodNames(spec))
	if len(methods) > 0 {
		cors["allowMethods"] = dataplanes.StringList(methods)
	}
	headerNames, tokenNarrowed := dataplanes.HTTPTokens(dataplanes.AllowHeadersPath, dataplanes.AllowHeaderNames(spec))
	headers, headersNarrowed := allowHeaders(headerNames)
	expose, exposeNarrowed := dataplanes.HTTPTokens(dataplanes.ExposeHeadersPath, dataplanes.ExposeHeaderNames(spec))
	narrowed := slices.Concat(originsLeftOut, methodsNarrowed, tokenNarrowed, headersNarrowed, exposeNarrowed)
	if len(headers) > 0 {
		cors["allowHeaders"] = dataplanes.StringList(headers)
	}
	if len(expose) > 0 {
		cors["exposeHeaders"] = dataplanes.StringList(expose)
	}
	ref := map[string]any{"group": "gateway.networking.k8s.io", "kind": t.Kind, "name": t.Name}
	if t.SectionName != nil {
		ref["sectionName"] = *t.SectionName
	}
	name := dataplanes.OwnedObjectNameFor(p.Name, t.Kind, t.Name)
	obj := dataplanes.OwnedObject(Group+"/"+Version, Kind, t.Namespace, name, p.Name, map[string]any{
		"spec": map[string]any{"targetRefs": []any{ref}, "cors": cors},
	})
	return dataplanes.RouteConfig{Object: obj, Narrowed: narrowed}
}

// securityPolicyOrigin writes one origin pattern as an Envoy Gateway
// Origin, or says why it cannot be written.
func securityPolicyOrigin(o dataplanes.IndexedOrigin) (string, string) {
	switch {
	case o.Any:
		return "*", ""
	case o.SubdomainWildcard:
		return "", `Envoy Gateway turns "*" into the regular expression ".*", which also matches host names this policy's "*." does not allow (any characters, "_" included); the origin was left out, so pages served from its subdomains are refused: list the subdomains in use, for example "https://app.example.com"`
	case o.Port == corsrules.AnyPort:
		return "", `Envoy Gateway cannot express a port wildcard (an Origin's port is digits only); the origin was left out, so pages served from it are refused: list the ports you use instead, for example "http://localhost:3000"`
	case o.IP.Is6():
		return "", "Envoy Gateway cannot express an IPv6 literal (its Origin admits no brackets in the host); the origin was left out, so pages served from it are refused"
	}
	origin := o.String()
	switch {
	case len(origin) > maxOriginLength:
		return "", fmt.Sprintf("Envoy Gateway accepts origins of at most %d characters and this one has %d; the origin was left out, so pages served from it are refused", maxOriginLength, len(origin))
	case !originPattern.MatchString(origin):
		return "", "the origin does not pass Envoy Gateway's Origin validation; it was left out, so pages served from it are refused"
	}
	return origin, ""
}

// refusedNoOrigin says why nothing was written.
func refusedNoOrigin(leftOut []dataplanes.Narrowing) string {
	const tail = "a SecurityPolicy with an empty allowOrigins allows no origin, so none was written"
	if len(leftOut) == 0 {
		return "the policy allows no origin; " + tail
	}
	reasons := make([]string, len(leftOut))
	for i, n := range leftOut {
		reasons[i] = fmt.Sprintf("%s %q: %s", n.Field, n.Value, n.Reason)
	}
	return "no origin of the policy can be written as an Envoy Gateway Origin (" + strings.Join(reasons, "; ") + "); " + tail
}

// allowHeaders writes the request-header list. Envoy Gateway makes any
// list holding "*" the single value "*", which Envoy answers by echoing
// Access-Control-Request-Headers: exact for "*" with "Authorization", a
// broadening for "*" alone, which is therefore left out.
func allowHeaders(headers []string) ([]string, []dataplanes.Narrowing) {
	star := slices.Index(headers, "*")
	if star < 0 {
		return headers, nil
	}
	if slices.ContainsFunc(headers, func(h string) bool { return strings.EqualFold(h, "Authorization") }) {
		return []string{"*"}, nil
	}
	return nil, []dataplanes.Narrowing{{
		Field: dataplanes.AllowHeadersPath.Index(star).String(),
		Value: "*",
		Reason: `Envoy answers "*" by echoing the requested headers, Authorization included, which this policy's "*" never allows; ` +
			`"*" was left out, so only CORS-safelisted headers are allowed: list the headers by name, or add "Authorization" if pages may send it too`,
	}}
}
