package dataplanes

import (
	"net/http"
	"strconv"
	"strings"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// policyDefaultMaxAge is spec.maxAge's API default, for specs read from a
// file without defaulting.
const policyDefaultMaxAge = 5

// policy answers requests as a CorsPolicy means them: the behaviour every
// renderer aims at, before any data plane narrows it.
type policy struct {
	effective   Effective
	patterns    []corsrules.OriginPattern
	methods     []string
	headers     []string
	expose      []string
	credentials bool
	maxAge      int64
}

// ParsePolicy returns the model of a CorsPolicy's own semantics (corsrules):
// an allowed origin is echoed with Vary: Origin ("*" alone answers "*"),
// preflights from allowed origins are answered with 204 and the listed
// methods and headers, and responses to other origins carry no CORS header.
// Origins that do not parse are left out, as the renderers leave them out.
func ParsePolicy(spec kubecorsv1alpha1.CorsPolicySpec) Model {
	m := &policy{effective: Effective{DataPlane: PolicyDataPlane}}
	e := &m.effective
	origins := make([]string, 0, len(spec.AllowOrigins))
	for _, o := range spec.AllowOrigins {
		p, err := corsrules.ParseOriginPattern(string(o))
		if err != nil {
			continue
		}
		m.patterns = append(m.patterns, p)
		origins = append(origins, p.String())
		e.AnyOrigin = e.AnyOrigin || p.Any
	}
	for _, v := range spec.AllowMethods {
		m.methods = append(m.methods, string(v))
	}
	for _, v := range spec.AllowHeaders {
		m.headers = append(m.headers, string(v))
	}
	for _, v := range spec.ExposeHeaders {
		m.expose = append(m.expose, string(v))
	}
	m.credentials = spec.AllowCredentials != nil && *spec.AllowCredentials
	m.maxAge = policyDefaultMaxAge
	if spec.MaxAge != nil {
		m.maxAge = int64(*spec.MaxAge)
	}
	e.Enabled = true
	e.AllowOrigins = origins
	e.AllowMethods = EmptyIfNil(m.methods)
	e.AllowHeaders = EmptyIfNil(m.headers)
	e.ExposeHeaders = EmptyIfNil(m.expose)
	e.AllowCredentials = m.credentials
	e.MaxAge = new(m.maxAge)
	e.VaryOrigin = true
	e.Preflight = "answered with 204 for allowed origins, as kubecors renders it"
	written := func(name, field string, values []string) Setting {
		v := strings.Join(values, ",")
		return Setting{Name: name, Key: "spec." + field, Written: v, Present: len(values) > 0, Effective: v, Source: SourceWritten}
	}
	e.Settings = []Setting{
		written(SettingAllowOrigins, "allowOrigins", origins),
		written(SettingAllowMethods, "allowMethods", m.methods),
		written(SettingAllowHeaders, "allowHeaders", m.headers),
		written(SettingExposeHeaders, "exposeHeaders", m.expose),
		{Name: SettingAllowCredentials, Key: "spec.allowCredentials", Present: spec.AllowCredentials != nil,
			Written: strconv.FormatBool(m.credentials), Effective: strconv.FormatBool(m.credentials), Source: SourceWritten},
		{Name: SettingMaxAge, Key: "spec.maxAge", Present: spec.MaxAge != nil,
			Written: strconv.FormatInt(m.maxAge, 10), Effective: strconv.FormatInt(m.maxAge, 10), Source: SourceWritten},
	}
	return m
}

// Effective returns the configuration the model answers from.
func (m *policy) Effective() Effective { return m.effective }

// AnsweredBy says who answers req: kubecors's data plane always.
func (m *policy) AnsweredBy(corscheck.Request, bool) string { return ByDataPlane }

// allowOrigin is the Access-Control-Allow-Origin value for origin, "" when
// no pattern allows it.
func (m *policy) allowOrigin(origin string) string {
	o, err := corsrules.ParseRequestOrigin(origin)
	for _, p := range m.patterns {
		switch {
		case p.Any:
			return "*"
		case err == nil && p.Matches(o):
			return origin
		}
	}
	return ""
}

// Preflight answers a preflight with 204.
func (m *policy) Preflight(req corscheck.Request) (corscheck.Response, error) {
	resp := corscheck.Response{Status: http.StatusNoContent, Header: http.Header{HeaderVary: {"Origin"}}}
	origin := m.allowOrigin(req.Origin)
	if origin == "" {
		return resp, nil
	}
	resp.Header.Set(HeaderAllowOrigin, origin)
	if m.credentials {
		resp.Header.Set(HeaderAllowCredentials, CredentialsTrue)
	}
	if len(m.methods) > 0 {
		resp.Header.Set(HeaderAllowMethods, strings.Join(m.methods, ", "))
	}
	if len(m.headers) > 0 {
		resp.Header.Set(HeaderAllowHeaders, strings.Join(m.headers, ", "))
	}
	resp.Header.Set(HeaderMaxAge, strconv.FormatInt(m.maxAge, 10))
	return resp, nil
}

// Actual answers the actual request: the backend's response with the CORS
// headers for an allowed origin.
func (m *policy) Actual(req corscheck.Request) (corscheck.Response, error) {
	resp := BackendResponse()
	resp.Header.Set(HeaderVary, "Origin")
	origin := m.allowOrigin(req.Origin)
	if origin == "" {
		return resp, nil
	}
	resp.Header.Set(HeaderAllowOrigin, origin)
	if m.credentials {
		resp.Header.Set(HeaderAllowCredentials, CredentialsTrue)
	}
	if len(m.expose) > 0 {
		resp.Header.Set(HeaderExposeHeaders, strings.Join(m.expose, ", "))
	}
	return resp, nil
}

// noCORS is a target whose data plane adds no CORS header.
type noCORS struct{ effective Effective }

// NoCORS returns the model of a target without any CORS configuration on
// dataPlane: the backend answers everything. reason says why, for the
// effective configuration's Preflight line.
func NoCORS(dataPlane, reason string) Model {
	return &noCORS{effective: Effective{
		DataPlane: dataPlane, AllowOrigins: []string{}, AllowMethods: []string{}, AllowHeaders: []string{},
		ExposeHeaders: []string{}, Preflight: "the backend: " + reason, Settings: []Setting{},
	}}
}

// Effective returns the (empty) configuration.
func (m *noCORS) Effective() Effective { return m.effective }

// AnsweredBy is always the backend.
func (m *noCORS) AnsweredBy(corscheck.Request, bool) string { return ByBackend }

// Preflight is the backend's answer.
func (m *noCORS) Preflight(corscheck.Request) (corscheck.Response, error) {
	return BackendResponse(), nil
}

// Actual is the backend's answer.
func (m *noCORS) Actual(corscheck.Request) (corscheck.Response, error) {
	return BackendResponse(), nil
}
