package haproxyingress

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// The items of the method and header lists that HAProxy Ingress's validation
// accepts: its list regexes (`^([A-Za-z]+,?\s?)+$` for methods,
// `^([A-Za-z0-9\-\_]+,?\s?)+$` for headers) read item by item.
var (
	methodItem = dataplanes.ItemRule{Accepted: regexp.MustCompile(`^[A-Za-z]+$`), Says: "only letters in a method name"}
	headerItem = dataplanes.ItemRule{Accepted: regexp.MustCompile(`^[A-Za-z0-9_-]+$`), Says: `only letters, digits, "-" and "_" in a header name`}
)

// haproxyNoExactOrigin fills cors-allow-origin when every origin needs a
// regex: HAProxy Ingress ignores the regexes when the list is empty, and an
// empty key means its default "*". "https://" has no host, so it is no
// origin a browser can send, and as the answer to an unmatched origin it
// allows none.
const haproxyNoExactOrigin = "https://"

// haproxyNoExposedHeaders fills cors-expose-headers when the policy exposes
// nothing: an empty value fails HAProxy Ingress's validation, which would
// leave a global default in place. Cache-Control is a CORS-safelisted
// response header that scripts can read anyway, so exposing it changes
// nothing.
const haproxyNoExposedHeaders = "Cache-Control"

// renderer renders policies as HAProxy Ingress CORS annotations.
type renderer struct{}

// Name is the data plane's name in status.
func (renderer) Name() string { return Name }

// RenderIngress computes the HAProxy Ingress annotations for one Ingress.
func (renderer) RenderIngress(p dataplanes.Policy, t dataplanes.IngressTarget) dataplanes.IngressConfig {
	return renderHAProxyIngress(p, t)
}

// renderHAProxyIngress writes a policy as HAProxy Ingress CORS annotations.
//
// How HAProxy Ingress reads them (pkg/converters/ingress/annotations:
// validator.go, backend.go; the haproxy.tmpl output in
// pkg/haproxy/instance_test.go): cors-allow-origin is split on "," without
// trimming and every item must match `^(https?://[A-Za-z0-9\-\.]*(:[0-9]+)?|\*)?$`,
// or the whole key is ignored and the default ("*") applies.
// cors-allow-origin-regex is split on " " and each item must compile. HAProxy
// then echoes the Origin header when it equals an item of the list
// (`-m str`, case-sensitive) or matches a regex (`-m reg`, PCRE, unanchored
// unless anchored), and otherwise answers with the first item of the list;
// the regexes are ignored when the list is empty. Methods must match
// `^([A-Za-z]+,?\s?)+$` and request and exposed headers
// `^([A-Za-z0-9\-\_]+,?\s?)+$`, or the default applies (for request headers a
// list that includes Authorization).
//
// So exact origins go to cors-allow-origin, and wildcards, port wildcards and
// IPv6 literals (which the list's regex rejects) go to
// cors-allow-origin-regex as anchored regexes: every origin is expressible.
// When no origin is exact, the list holds "https://", which no browser sends
// as an origin and which, as the answer to an unmatched origin, allows none.
func renderHAProxyIngress(p dataplanes.Policy, _ dataplanes.IngressTarget) dataplanes.IngressConfig {
	spec := p.Spec
	exact, patterns := renderOrigins(dataplanes.OriginPatterns(spec))
	methods, narrowed := dataplanes.MethodsWithFallback(spec, Name, methodItem)
	headers, headerNarrowed := dataplanes.HeadersWithFallback(spec, Name, headerItem)
	expose, exposeNarrowed := haproxyExposedHeaderList(dataplanes.ExposeHeaderNames(spec))
	narrowed = append(narrowed, headerNarrowed...)
	narrowed = append(narrowed, exposeNarrowed...)
	return dataplanes.IngressConfig{
		Annotations: map[string]string{
			CorsEnable:       "true",
			AllowOrigin:      strings.Join(exact, ","),
			AllowOriginRegex: strings.Join(patterns, " "),
			AllowMethods:     methods,
			AllowHeaders:     headers,
			ExposeHeaders:    expose,
			AllowCredentials: strconv.FormatBool(dataplanes.Credentials(spec)),
			MaxAge:           strconv.Itoa(int(dataplanes.MaxAge(spec))),
		},
		Narrowed: narrowed,
	}
}

// renderOrigins splits the origin patterns into the exact list and the
// regex list. The list is never empty: an empty cors-allow-origin would
// leave HAProxy Ingress's default "*" in place. An empty regex list is
// written as "", which still overrides a global default.
func renderOrigins(patterns []dataplanes.IndexedOrigin) (exact, regexes []string) {
	for _, o := range patterns {
		if o.Any || (!o.SubdomainWildcard && o.Port != corsrules.AnyPort && !o.IP.Is6()) {
			exact = append(exact, o.String())
			continue
		}
		regexes = append(regexes, dataplanes.OriginRegexp(o.OriginPattern))
	}
	if len(exact) == 0 {
		exact = []string{haproxyNoExactOrigin}
	}
	return exact, regexes
}

// haproxyExposedHeaderList writes the exposed headers. HAProxy Ingress validates
// them with the request-header regex, which has no "*", and ignores the whole
// key for one bad name. With nothing left, a CORS-safelisted response header
// is written: scripts can read it anyway, and the key then overrides any
// global default.
func haproxyExposedHeaderList(names []string) (string, []dataplanes.Narrowing) {
	var kept []string
	var narrowed []dataplanes.Narrowing
	for i, name := range names {
		switch {
		case headerItem.Accepted.MatchString(name):
			kept = append(kept, name)
		case name == "*":
			narrowed = append(narrowed, dataplanes.Narrowing{
				Field: dataplanes.ExposeHeadersPath.Index(i).String(), Value: name,
				Reason: `haproxy-ingress cannot express "*" (every header) in cors-expose-headers: its validation accepts header names only; no header beyond the CORS-safelisted ones is exposed on this data plane`,
			})
		default:
			narrowed = append(narrowed, dataplanes.Narrowing{
				Field: dataplanes.ExposeHeadersPath.Index(i).String(), Value: name,
				Reason: `haproxy-ingress accepts only letters, digits, "-" and "_" in cors-expose-headers (and drops the whole list otherwise); the header was left out, so scripts cannot read it on this data plane`,
			})
		}
	}
	if len(kept) == 0 {
		return haproxyNoExposedHeaders, narrowed
	}
	return strings.Join(kept, ", "), narrowed
}
