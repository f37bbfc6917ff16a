package ingressnginx

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// The items of the method and header lists that ingress-nginx's validation
// accepts: its list regexes (`^([A-Za-z]+,?\s?)+$` for methods,
// `^([A-Za-z0-9\-\_]+,?\s?)+$` for headers) read item by item.
var (
	methodItem = dataplanes.ItemRule{Accepted: regexp.MustCompile(`^[A-Za-z]+$`), Says: "only letters in a method name"}
	headerItem = dataplanes.ItemRule{Accepted: regexp.MustCompile(`^[A-Za-z0-9_-]+$`), Says: `only letters, digits, "-" and "_" in a header name`}
)

// nginxOriginHost is the host part that ingress-nginx's per-origin regex
// accepts after the optional "*." (`[A-Za-z0-9\-.]*`): no brackets, so no
// IPv6 literal.
var nginxOriginHost = regexp.MustCompile(`^[A-Za-z0-9.-]+$`)

// renderer renders policies as ingress-nginx CORS annotations.
type renderer struct{}

// Name is the data plane's name in status.
func (renderer) Name() string { return Name }

// RenderIngress computes the ingress-nginx annotations for one Ingress.
func (renderer) RenderIngress(p dataplanes.Policy, t dataplanes.IngressTarget) dataplanes.IngressConfig {
	return renderIngressNginx(p, t)
}

// renderIngressNginx writes a policy as the seven ingress-nginx CORS
// annotations, narrowing what ingress-nginx cannot express.
//
// How ingress-nginx reads them: cors-allow-origin is split on ",", each
// origin is trimmed and must match `^([a-z]+://(\*\.)?[A-Za-z0-9\-.]*(:\d+)?|\*|null)?$`
// or is skipped; a lone "*" anywhere makes the list "*"; an absent, empty or
// (with annotation validation on) malformed value is "*". The origins become
// one case-insensitive nginx regex, `$http_origin ~* ((o1)|(o2))$`, where each
// origin is regexp.QuoteMeta'd and its "*" replaced by `[A-Za-z0-9\-]+`: "*."
// is exactly one DNS label, the port must match literally (no port means the
// default port, which browsers never send), and the start is unanchored,
// which cannot matter for an http(s) origin, whose only "://" follows the
// scheme. Methods, headers and expose headers that fail their regex revert to
// a default (methods: GET, PUT, POST, DELETE, PATCH, OPTIONS; headers: a list
// that includes Authorization; expose headers: none), credentials default to
// true and max age to 1728000. nginx never checks methods or headers itself:
// it only sends them, and the browser enforces them. When every origin is
// skipped, nginx sends no CORS header at all.
//
// Every value written passes the validation of current main and of the
// v1.11-era release alike; the tests hold copies of both sets of regexes.
func renderIngressNginx(p dataplanes.Policy, _ dataplanes.IngressTarget) dataplanes.IngressConfig {
	spec := p.Spec
	origins, narrowed := renderOrigins(dataplanes.OriginPatterns(spec))
	if len(origins) == 0 {
		// A refusal carries no other field, so its message says why each
		// origin was left out.
		if len(spec.AllowOrigins) == 0 {
			return dataplanes.IngressConfig{Refused: `the policy allows no origin, which ingress-nginx cannot express: an empty cors-allow-origin means "*" (any origin) to it; nothing was written`}
		}
		reasons := make([]string, len(narrowed))
		for i, n := range narrowed {
			reasons[i] = fmt.Sprintf("%s %q: %s", n.Field, n.Value, n.Reason)
		}
		return dataplanes.IngressConfig{Refused: `ingress-nginx can express none of the allowed origins, and an empty cors-allow-origin means "*" (any origin) to it, so nothing was written: ` +
			strings.Join(reasons, "; ")}
	}
	methods, methodNarrowed := dataplanes.MethodsWithFallback(spec, Name, methodItem)
	headers, headerNarrowed := dataplanes.HeadersWithFallback(spec, Name, headerItem)
	expose, exposeNarrowed := nginxExposedHeaderList(dataplanes.ExposeHeaderNames(spec))
	narrowed = append(narrowed, methodNarrowed...)
	narrowed = append(narrowed, headerNarrowed...)
	narrowed = append(narrowed, exposeNarrowed...)
	return dataplanes.IngressConfig{
		Annotations: map[string]string{
			EnableCors:       "true",
			AllowOrigin:      strings.Join(origins, ","),
			AllowMethods:     methods,
			AllowHeaders:     headers,
			ExposeHeaders:    expose,
			AllowCredentials: strconv.FormatBool(dataplanes.Credentials(spec)),
			MaxAge:           strconv.Itoa(int(dataplanes.MaxAge(spec))),
		},
		Narrowed: narrowed,
	}
}

// renderOrigins writes each origin pattern as ingress-nginx reads it, leaving
// out what it cannot express and narrowing "*." to the one label nginx
// matches.
func renderOrigins(patterns []dataplanes.IndexedOrigin) ([]string, []dataplanes.Narrowing) {
	var origins []string
	var narrowed []dataplanes.Narrowing
	for _, o := range patterns {
		switch {
		case o.Any:
			// Only ever alone and without credentials: the rules guarantee it.
			origins = append(origins, "*")
		case o.Port == corsrules.AnyPort:
			narrowed = append(narrowed, dataplanes.Narrowing{
				Field: o.Path(), Value: o.Written,
				Reason: `ingress-nginx cannot express a port wildcard (":*"): cors-allow-origin accepts only a numeric port. ` +
					`The origin was left out; list the ports you need instead, for example "` + exampleWithPort(o.OriginPattern) + `"`,
			})
		case !nginxOriginHost.MatchString(o.Host):
			narrowed = append(narrowed, dataplanes.Narrowing{
				Field: o.Path(), Value: o.Written,
				Reason: `ingress-nginx accepts only letters, digits, "-" and "." in an origin's host, so an IPv6 address cannot be listed; the origin was left out`,
			})
		case o.SubdomainWildcard:
			origins = append(origins, o.String())
			narrowed = append(narrowed, dataplanes.Narrowing{
				Field: o.Path(), Value: o.Written,
				Reason: fmt.Sprintf(`ingress-nginx matches "*." against exactly one DNS label, so this was rendered for one label only: %q is allowed, %q is not`,
					withLabels(o.OriginPattern, "a."), withLabels(o.OriginPattern, "a.b.")),
			})
		default:
			origins = append(origins, o.String())
		}
	}
	return origins, narrowed
}

// nginxExposedHeaderList writes the exposed headers. ingress-nginx accepts "*"
// here (`^(([A-Za-z0-9\-\_]+|\*),?\s?)+$`); a name with other characters is
// left out, because one bad name would void the whole list. An empty value
// means no exposed header to ingress-nginx.
func nginxExposedHeaderList(names []string) (string, []dataplanes.Narrowing) {
	var kept []string
	var narrowed []dataplanes.Narrowing
	for i, name := range names {
		if name == "*" || headerItem.Accepted.MatchString(name) {
			kept = append(kept, name)
			continue
		}
		narrowed = append(narrowed, dataplanes.Narrowing{
			Field: dataplanes.ExposeHeadersPath.Index(i).String(), Value: name,
			Reason: `ingress-nginx accepts only letters, digits, "-", "_" and "*" in cors-expose-headers (and drops the whole list otherwise); the header was left out, so scripts cannot read it on this data plane`,
		})
	}
	return strings.Join(kept, ", "), narrowed
}

// withLabels writes a subdomain-wildcard pattern with its "*." replaced by
// labels, for narrowing messages.
func withLabels(p corsrules.OriginPattern, labels string) string {
	return strings.Replace(p.String(), "*.", labels, 1)
}

// exampleWithPort writes a port-wildcard pattern with a sample port, for
// narrowing messages.
func exampleWithPort(p corsrules.OriginPattern) string {
	return strings.TrimSuffix(p.String(), ":*") + ":3000"
}
