package istio

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// SupportedMethods are the methods istiod's validation accepts in
// corsPolicy.allowMethods (validateHTTPMethod in
// pkg/config/validation/validation.go); a VirtualService with any other
// is rejected at admission. CONNECT and TRACE are accepted there but
// forbidden by kubecors's rules.
var SupportedMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"}

// UnmatchedPreflightsIgnore is the unmatchedPreflights value kubecors
// writes. Istio's default (FORWARD) sends a preflight from an origin the
// policy does not allow on to the backend, so a backend that answers CORS
// itself (echoing any Origin, say) would answer preflights the policy
// refuses: broader than the policy. With IGNORE, Envoy answers them itself
// with 200 and no CORS header, which is what a CorsPolicy means.
const UnmatchedPreflightsIgnore = "IGNORE"

// refusedNoOrigin is the refusal of a policy that allows no origin:
// a corsPolicy without allowOrigins adds no header, the same as none, but
// kubecors writes nothing rather than a configuration that does nothing.
const refusedNoOrigin = "the policy allows no origin; kubecors writes no corsPolicy"

// methodToken is what kubecors writes for a method: one of
// SupportedMethods, as written (istiod compares them case-sensitively).
var methodToken = regexp.MustCompile(`^(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH)$`)

// RenderCorsPolicy renders a policy as an Istio corsPolicy: exact origins
// as StringMatch exact, wildcard origins as anchored RE2 regexes (never
// prefix, which matches "https://app.example.com.evil.net"), methods
// narrowed to those istiod accepts ("*" becomes the standard methods),
// header names lowercased (header names are case-insensitive, and istiod
// before 1.26 rejected upper case), maxAge as a duration, allowCredentials
// always explicit and unmatchedPreflights IGNORE. It returns nil when the
// policy allows no origin.
func RenderCorsPolicy(p dataplanes.Policy) (map[string]any, []dataplanes.Narrowing) {
	spec := p.Spec
	var origins []any
	for _, o := range dataplanes.OriginPatterns(spec) {
		switch {
		case o.Any:
			origins = append(origins, map[string]any{"exact": "*"})
		case o.SubdomainWildcard || o.Port == corsrules.AnyPort:
			origins = append(origins, map[string]any{"regex": dataplanes.OriginRegexp(o.OriginPattern)})
		default:
			origins = append(origins, map[string]any{"exact": o.String()})
		}
	}
	if len(origins) == 0 {
		return nil, nil
	}
	var narrowed []dataplanes.Narrowing
	methods := dataplanes.MethodNames(spec)
	filter := dataplanes.TokenFilter{Path: dataplanes.AllowMethodsPath, Accepted: methodToken,
		Reason: "istiod's validation accepts only " + strings.Join(SupportedMethods[:7], ", ") + " (case-sensitive) and rejects the whole VirtualService otherwise; the method was left out, so browsers refuse it on this data plane"}
	kept, wildcard, n := filter.Filter(methods)
	narrowed = append(narrowed, n...)
	if wildcard {
		kept = dataplanes.StandardMethods
		narrowed = append(narrowed, dataplanes.Narrowing{Field: dataplanes.AllowMethodsPath.Index(dataplanes.WildcardIndex(methods)).String(), Value: "*",
			Reason: "istiod's validation rejects \"*\" in allowMethods; rendered the standard methods " + strings.Join(dataplanes.StandardMethods, ", ") + " instead"})
	}
	cors := map[string]any{
		"allowOrigins":        origins,
		"allowCredentials":    dataplanes.Credentials(spec),
		"unmatchedPreflights": UnmatchedPreflightsIgnore,
	}
	if len(kept) > 0 {
		cors["allowMethods"] = dataplanes.AnyList(kept)
	}
	allow, allowNarrowed := dataplanes.HTTPTokens(dataplanes.AllowHeadersPath, dataplanes.AllowHeaderNames(spec))
	expose, exposeNarrowed := dataplanes.HTTPTokens(dataplanes.ExposeHeadersPath, dataplanes.ExposeHeaderNames(spec))
	narrowed = slices.Concat(narrowed, allowNarrowed, exposeNarrowed)
	if headers := lowercase(allow); len(headers) > 0 {
		cors["allowHeaders"] = dataplanes.AnyList(headers)
	}
	if headers := lowercase(expose); len(headers) > 0 {
		cors["exposeHeaders"] = dataplanes.AnyList(headers)
	}
	maxAge := dataplanes.MaxAge(spec)
	if maxAge == 0 {
		// istiod rejects durations below one second or with a fraction of
		// one, and leaving maxAge out lets browsers cache for 5 seconds.
		maxAge = 1
		narrowed = append(narrowed, dataplanes.Narrowing{Field: "spec.maxAge", Value: "0",
			Reason: "Istio cannot express a max age of 0 (istiod accepts whole seconds from 1s, and without maxAge browsers cache for 5 seconds); rendered 1s, the shortest it accepts"})
	}
	cors["maxAge"] = fmt.Sprintf("%ds", maxAge)
	return cors, narrowed
}

// Render renders a policy for one VirtualService: the same corsPolicy in
// every http route. A VirtualService without http routes (TCP or TLS only)
// is refused.
func Render(p dataplanes.Policy, obj *unstructured.Unstructured) dataplanes.TargetChange {
	if routes, _, _ := unstructured.NestedSlice(obj.Object, "spec", "http"); len(routes) == 0 {
		return dataplanes.TargetChange{Refused: fmt.Sprintf("VirtualService %q has no http routes; Istio applies a corsPolicy to http routes only", obj.GetName())}
	}
	cors, narrowed := RenderCorsPolicy(p)
	if cors == nil {
		return dataplanes.TargetChange{Refused: refusedNoOrigin}
	}
	return dataplanes.TargetChange{CORS: cors, Narrowed: narrowed}
}

func lowercase(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if l := strings.ToLower(n); !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}
