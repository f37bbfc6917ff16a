package gatewayapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/kong"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

// The HTTPRoute kind of Gateway API.
const (
	Group         = "gateway.networking.k8s.io"
	Version       = "v1"
	HTTPRouteKind = "HTTPRoute"
)

// DefaultMaxAge is the Access-Control-Max-Age a gateway sends when
// the CORS filter has no maxAge (HTTPCORSFilter.MaxAge, default 5).
const DefaultMaxAge = 5

// model answers requests as a Gateway API implementation with the
// HTTPRouteCORS feature does for one route rule.
type model struct {
	effective   dataplanes.Effective
	origins     []string
	methods     []string
	headers     []string
	expose      []string
	credentials bool
	maxAge      int64
	// echo is true under the Echoes reading.
	echo bool
}

// RouteRule is one rule of an HTTPRoute, with its position and name.
type RouteRule struct {
	// Index is the rule's position in spec.rules.
	Index int
	// Name is the rule's name, empty when it has none.
	Name string
	// CORS is the rule's CORS filter (the "cors" object of the filter of
	// type CORS), nil when it has none.
	CORS map[string]any
	// CORSFilterIndex is the position of the CORS filter in the rule's
	// filters, -1 when it has none.
	CORSFilterIndex int
	// Middlewares are the names of the Traefik Middlewares the rule's
	// ExtensionRef filters name, in order (Traefik's Gateway API provider
	// applies them like an Ingress's router.middlewares).
	Middlewares []string
	// KongPlugins are the names of the KongPlugins the rule's ExtensionRef
	// filters name, in order (Kong Ingress Controller attaches them to the
	// rule's Kong route).
	KongPlugins []string
}

// Label names the rule for people: its name, or its index.
func (r RouteRule) Label() string {
	if r.Name != "" {
		return fmt.Sprintf("rule %q", r.Name)
	}
	return fmt.Sprintf("rule %d", r.Index)
}

// HTTPRouteRules lists the rules of an HTTPRoute with their CORS filters.
// The route is read as unstructured content so that no Gateway API module
// is needed.
func HTTPRouteRules(route *unstructured.Unstructured) []RouteRule {
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	out := make([]RouteRule, 0, len(rules))
	for i, r := range rules {
		rule, ok := r.(map[string]any)
		if !ok {
			continue
		}
		rr := RouteRule{Index: i, CORSFilterIndex: -1}
		rr.Name, _, _ = unstructured.NestedString(rule, "name")
		filters, _, _ := unstructured.NestedSlice(rule, "filters")
		for j, f := range filters {
			filter, ok := f.(map[string]any)
			if !ok {
				continue
			}
			switch filter["type"] {
			case "CORS":
				if rr.CORS != nil {
					// Gateway API allows one CORS filter per rule.
					continue
				}
				rr.CORS, _, _ = unstructured.NestedMap(filter, "cors")
				if rr.CORS == nil {
					rr.CORS = map[string]any{}
				}
				rr.CORSFilterIndex = j
			case "ExtensionRef":
				group, _, _ := unstructured.NestedString(filter, "extensionRef", "group")
				kind, _, _ := unstructured.NestedString(filter, "extensionRef", "kind")
				name, _, _ := unstructured.NestedString(filter, "extensionRef", "name")
				switch {
				case name == "":
				case group == traefik.Group && kind == traefik.Kind:
					rr.Middlewares = append(rr.Middlewares, name)
				case group == kong.Group && kind == kong.Kind:
					rr.KongPlugins = append(rr.KongPlugins, name)
				}
			}
		}
		out = append(out, rr)
	}
	return out
}

// ParseGatewayCORS reads an HTTPRoute rule's CORS filter and returns the
// model of a conformant implementation; a nil filter means the rule has
// none, and the backend answers everything.
//
// Source (kubernetes-sigs/gateway-api v1.7.0): apis/v1/httproute_types.go
// (HTTPCORSFilter) and conformance/tests/httproute-cors.go with its YAML.
// "*" in a host matches any number of labels to its left; "*" alone any
// origin. A matched origin is echoed; "*" without credentials is answered
// "*", as the specification allows (Envoy echoes instead; both pass
// conformance). With credentials, "*" in allowMethods and allowHeaders is
// answered with the requested method and headers. Preflights are answered by
// the gateway with 200, with Allow-Origin only for a matched origin.
// Gateway API does not require Vary: Origin, so none is modelled.
func ParseGatewayCORS(filter map[string]any, key string) dataplanes.Model {
	return ReadFilter(filter, key, AnswersStar)
}

// Reading is one of the answers HTTPCORSFilter's doc comments allow a
// gateway wherever the filter says "*" and credentials are off: answer
// "*", or echo the request's Origin, method or headers. Both pass
// conformance, so a rendered filter must stay within the policy under
// both.
type Reading int

const (
	// AnswersStar answers "*" (NGINX Gateway Fabric's reading, per the
	// conformance test's comments).
	AnswersStar Reading = iota
	// Echoes echoes the request (Envoy's reading).
	Echoes
)

// Readings are both readings, for checks that must hold under either.
var Readings = []Reading{AnswersStar, Echoes}

// String names the reading for test output.
func (r Reading) String() string {
	if r == Echoes {
		return "echoing gateway"
	}
	return `gateway answering "*"`
}

// ReadFilter is ParseGatewayCORS under the given reading.
func ReadFilter(filter map[string]any, key string, reading Reading) dataplanes.Model {
	m := &model{echo: reading == Echoes, effective: dataplanes.Effective{DataPlane: Name}}
	e := &m.effective
	if filter == nil {
		e.AllowOrigins, e.AllowMethods, e.AllowHeaders, e.ExposeHeaders = []string{}, []string{}, []string{}, []string{}
		e.Preflight = "the backend: the rule has no CORS filter"
		return m
	}
	m.origins, _, _ = unstructured.NestedStringSlice(filter, "allowOrigins")
	m.methods, _, _ = unstructured.NestedStringSlice(filter, "allowMethods")
	m.headers, _, _ = unstructured.NestedStringSlice(filter, "allowHeaders")
	m.expose, _, _ = unstructured.NestedStringSlice(filter, "exposeHeaders")
	m.credentials, _, _ = unstructured.NestedBool(filter, "allowCredentials")
	maxAge, found, _ := unstructured.NestedInt64(filter, "maxAge")
	if !found {
		maxAge = DefaultMaxAge
	}
	m.maxAge = maxAge

	e.Enabled = true
	e.AnyOrigin = slices.Contains(m.origins, "*")
	e.AllowOrigins = dataplanes.EmptyIfNil(m.origins)
	e.AllowMethods = dataplanes.EmptyIfNil(m.methods)
	e.AllowHeaders = dataplanes.EmptyIfNil(m.headers)
	e.ExposeHeaders = dataplanes.EmptyIfNil(m.expose)
	e.AllowCredentials = m.credentials
	e.MaxAge = new(maxAge)
	e.Preflight = "the gateway answers preflights itself with 200"
	list := func(name, field string, values []string) dataplanes.Setting {
		v := strings.Join(values, ",")
		s := dataplanes.Setting{Name: name, Key: key + "." + field, Written: v, Present: len(values) > 0, Effective: v, Source: dataplanes.SourceWritten}
		if len(values) == 0 {
			s.Source = dataplanes.SourceDefault
		}
		return s
	}
	credentials := dataplanes.Setting{Name: dataplanes.SettingAllowCredentials, Key: key + ".allowCredentials", Effective: strconv.FormatBool(m.credentials), Source: dataplanes.SourceDefault}
	if _, ok := filter["allowCredentials"]; ok {
		credentials.Present, credentials.Written, credentials.Source = true, credentials.Effective, dataplanes.SourceWritten
	}
	age := dataplanes.Setting{Name: dataplanes.SettingMaxAge, Key: key + ".maxAge", Effective: strconv.FormatInt(maxAge, 10), Source: dataplanes.SourceDefault,
		Note: "absent: the gateway sends 5 seconds"}
	if found {
		age.Present, age.Written, age.Source, age.Note = true, age.Effective, dataplanes.SourceWritten, ""
	}
	e.Settings = []dataplanes.Setting{
		list(dataplanes.SettingAllowOrigins, "allowOrigins", m.origins),
		list(dataplanes.SettingAllowMethods, "allowMethods", m.methods),
		list(dataplanes.SettingAllowHeaders, "allowHeaders", m.headers),
		list(dataplanes.SettingExposeHeaders, "exposeHeaders", m.expose),
		credentials, age,
	}
	if e.AnyOrigin && m.credentials {
		e.Settings[0].Note = `"*" with allowCredentials: the gateway echoes every Origin, so any site can read credentialed responses`
	}
	return m
}

// Effective returns the configuration the model answers from.
func (m *model) Effective() dataplanes.Effective { return m.effective }

// AnsweredBy says who answers req.
func (m *model) AnsweredBy(_ corscheck.Request, _ bool) string {
	if m.effective.Enabled {
		return dataplanes.ByDataPlane
	}
	return dataplanes.ByBackend
}

// allowOrigin is the Access-Control-Allow-Origin value for origin, "" when
// the origin does not match.
func (m *model) allowOrigin(origin string) string {
	for _, pattern := range m.origins {
		if pattern == "*" {
			if m.credentials || m.echo {
				return origin
			}
			return "*"
		}
		if gatewayOriginMatches(pattern, origin) {
			return origin
		}
	}
	return ""
}

// gatewayOriginMatches matches an Origin against one CORSOrigin: scheme and
// port exactly (the scheme's default port when none is written), the host
// exactly or, for a leading "*", by a suffix with any number of labels in
// front.
func gatewayOriginMatches(pattern, origin string) bool {
	ps, ph, pp, ok := splitOrigin(pattern)
	if !ok {
		return false
	}
	os, oh, op, ok := splitOrigin(origin)
	if !ok || !strings.EqualFold(ps, os) || pp != op {
		return false
	}
	if suffix, wildcard := strings.CutPrefix(ph, "*"); wildcard {
		return len(oh) > len(suffix) && strings.HasSuffix(strings.ToLower(oh), strings.ToLower(suffix))
	}
	return strings.EqualFold(ph, oh)
}

// splitOrigin splits scheme://host[:port] and fills in the default port.
func splitOrigin(s string) (scheme, host, port string, ok bool) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || rest == "" || strings.ContainsAny(rest, "/?#@") {
		return "", "", "", false
	}
	host, port = rest, ""
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
	}
	if port == "" {
		switch strings.ToLower(scheme) {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme, host, port, true
}

// Preflight answers a preflight as the gateway does.
func (m *model) Preflight(req corscheck.Request) (corscheck.Response, error) {
	if !m.effective.Enabled {
		return dataplanes.BackendResponse(), nil
	}
	resp := corscheck.Response{Status: http.StatusOK, Header: http.Header{}}
	origin := m.allowOrigin(req.Origin)
	if origin == "" {
		return resp, nil
	}
	resp.Header.Set(dataplanes.HeaderAllowOrigin, origin)
	if m.credentials {
		resp.Header.Set(dataplanes.HeaderAllowCredentials, dataplanes.CredentialsTrue)
	}
	// The gateway sees the preflight the browser sends, and echoes what
	// it asks for.
	sent := corscheck.PreflightRequestHeaders(req)
	if v := m.wildcardOrEcho(m.methods, sent.Get(dataplanes.HeaderRequestMethod)); v != "" {
		resp.Header.Set(dataplanes.HeaderAllowMethods, v)
	}
	if v := m.wildcardOrEcho(m.headers, sent.Get(dataplanes.HeaderRequestHeaders)); v != "" {
		resp.Header.Set(dataplanes.HeaderAllowHeaders, v)
	}
	m.setExpose(resp.Header)
	resp.Header.Set(dataplanes.HeaderMaxAge, strconv.FormatInt(m.maxAge, 10))
	return resp, nil
}

// wildcardOrEcho writes allowMethods or allowHeaders: the list as written,
// except that "*" with credentials becomes what was requested.
func (m *model) wildcardOrEcho(values []string, requested string) string {
	if slices.Contains(values, "*") && (m.credentials || m.echo) {
		return requested
	}
	return strings.Join(values, ", ")
}

// setExpose writes Access-Control-Expose-Headers; "*" cannot be sent with
// credentials, so it is left out then.
func (m *model) setExpose(h http.Header) {
	if len(m.expose) == 0 || slices.Contains(m.expose, "*") && m.credentials {
		return
	}
	h.Set(dataplanes.HeaderExposeHeaders, strings.Join(m.expose, ", "))
}

// Actual answers the actual request: the backend's response with
// Allow-Origin, Allow-Credentials and Expose-Headers for a matched origin.
func (m *model) Actual(req corscheck.Request) (corscheck.Response, error) {
	resp := dataplanes.BackendResponse()
	origin := ""
	if m.effective.Enabled {
		origin = m.allowOrigin(req.Origin)
	}
	if origin == "" {
		return resp, nil
	}
	resp.Header.Set(dataplanes.HeaderAllowOrigin, origin)
	if m.credentials {
		resp.Header.Set(dataplanes.HeaderAllowCredentials, dataplanes.CredentialsTrue)
	}
	m.setExpose(resp.Header)
	return resp, nil
}
