package haproxyingress

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// Prefix is the prefix of every HAProxy Ingress annotation.
const Prefix = "haproxy-ingress.github.io/"

// The CORS configuration keys of HAProxy Ingress, as Ingress annotations.
// kubecors writes all of them on every render: an absent key takes the
// controller's global default, which an administrator can change in its
// ConfigMap and which is permissive out of the box (origin "*").
const (
	CorsEnable       = Prefix + "cors-enable"
	AllowOrigin      = Prefix + "cors-allow-origin"
	AllowOriginRegex = Prefix + "cors-allow-origin-regex"
	AllowMethods     = Prefix + "cors-allow-methods"
	AllowHeaders     = Prefix + "cors-allow-headers"
	ExposeHeaders    = Prefix + "cors-expose-headers"
	AllowCredentials = Prefix + "cors-allow-credentials"
	MaxAge           = Prefix + "cors-max-age"
)

// Annotations are the CORS annotation keys of HAProxy Ingress.
var Annotations = []string{
	CorsEnable, AllowOrigin, AllowOriginRegex, AllowMethods,
	AllowHeaders, ExposeHeaders, AllowCredentials, MaxAge,
}

// The global defaults of HAProxy Ingress's CORS keys (its documentation,
// "configuration keys", and pkg/converters/ingress/defaults.go). An
// administrator may change them in the controller's ConfigMap; the model
// assumes they were not.
const (
	DefaultMethods = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
	DefaultHeaders = "DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Authorization"
	DefaultMaxAge  = 86400
)

// The input validation of HAProxy Ingress
// (pkg/converters/ingress/annotations/validator.go). A value that fails is
// ignored, with a warning in the controller's log, and the global default
// applies.
var (
	haproxyOriginRegex  = regexp.MustCompile(`^(https?://[A-Za-z0-9\-\.]*(:[0-9]+)?|\*)?$`)
	haproxyMethodsRegex = regexp.MustCompile(`^([A-Za-z]+,?\s?)+$`)
	haproxyHeadersRegex = regexp.MustCompile(`^([A-Za-z0-9\-\_]+,?\s?)+$`)
)

// model answers requests as HAProxy Ingress does for one backend
// path.
type model struct {
	effective   dataplanes.Effective
	enabled     bool
	origins     []string
	regexes     []*regexp.Regexp
	methods     string
	headers     string
	expose      string
	credentials bool
	maxAge      int
}

// ParseHAProxyIngress reads an Ingress's annotations the way HAProxy Ingress
// does and returns its model.
//
// Sources (jcmoraisjr/haproxy-ingress, master):
// pkg/converters/ingress/annotations/validator.go and backend.go
// (buildBackendCors: the origin list is split on "," and the regex list on
// " "), rootfs/etc/templates/haproxy/haproxy.tmpl, the output pinned in
// pkg/haproxy/instance_test.go (test06 to test15) and rootfs/etc/lua/services.lua
// (send-cors-preflight). Every OPTIONS request on a CORS-enabled path is
// answered by HAProxy itself with 204 and Access-Control-Max-Age; the CORS
// headers are added by http-response rules to every response. With one
// origin and no regex, Access-Control-Allow-Origin is that origin, always.
// With more, the Origin is echoed when it equals an item of the list
// (`-m str`, case-sensitive) or matches a regex (`-m reg`, PCRE, unanchored
// unless anchored; Go's regexp stands in for PCRE here), and otherwise the
// first item is sent; Vary: Origin is then added. The origin defaults to
// "*".
//
// Credentials default to false: pkg/converters/ingress/defaults.go
// (createDefaults) has no cors-allow-credentials, so an absent key reads as
// false, as the TestCors cases of pkg/converters/ingress/annotations/backend_test.go
// pin. The documentation's table of configuration keys says "true"; the
// source wins. An empty cors-allow-origin is read as absent ("*"), the
// reading that cannot hide a permissive default.
func ParseHAProxyIngress(annotations map[string]string) dataplanes.Model {
	m := &model{effective: dataplanes.Effective{DataPlane: Name}}
	enabled, enabledSetting := dataplanes.BoolWithDefault(annotations, CorsEnable, dataplanes.SettingEnabled, false, "absent: CORS is off")
	credentials, credentialSetting := dataplanes.BoolWithDefault(annotations, AllowCredentials, dataplanes.SettingAllowCredentials, false,
		"absent: HAProxy Ingress has no default for cors-allow-credentials in its code, so credentials are off (its documentation says true)")
	origins, originSetting := haproxyOrigins(annotations)
	regexes, regexSetting := haproxyOriginRegexes(annotations)
	methods, methodSetting := haproxyValue(annotations, AllowMethods, dataplanes.SettingAllowMethods, haproxyMethodsRegex.MatchString, DefaultMethods)
	headers, headerSetting := haproxyValue(annotations, AllowHeaders, dataplanes.SettingAllowHeaders, haproxyHeadersRegex.MatchString, DefaultHeaders)
	expose, exposeSetting := haproxyValue(annotations, ExposeHeaders, dataplanes.SettingExposeHeaders, haproxyHeadersRegex.MatchString, "")
	maxAge, maxAgeSetting := haproxyMaxAge(annotations)
	m.enabled, m.credentials, m.origins, m.methods, m.headers, m.expose, m.maxAge =
		enabled, credentials, origins, methods, headers, expose, maxAge
	for _, expr := range regexes {
		// haproxyOriginRegexes kept only expressions that compile.
		m.regexes = append(m.regexes, regexp.MustCompile(expr))
	}

	e := &m.effective
	e.Settings = []dataplanes.Setting{enabledSetting, originSetting, regexSetting, methodSetting, headerSetting,
		exposeSetting, credentialSetting, maxAgeSetting}
	e.Enabled = enabled
	if !enabled {
		e.AllowOrigins, e.AllowMethods, e.AllowHeaders, e.ExposeHeaders = []string{}, []string{}, []string{}, []string{}
		e.Preflight = "the backend: HAProxy Ingress adds no CORS header"
		return m
	}
	e.AllowOrigins = origins
	// Unmatched origins get the first item, so "*" first allows every
	// origin, matched or not.
	e.AnyOrigin = origins[0] == "*"
	e.AllowOriginRegexes = regexes
	e.AllowMethods = dataplanes.SplitList(methods)
	e.AllowHeaders = dataplanes.SplitList(headers)
	e.ExposeHeaders = dataplanes.EmptyIfNil(dataplanes.SplitList(expose))
	e.AllowCredentials = credentials
	e.MaxAge = new(int64(maxAge))
	e.VaryOrigin = m.dynamic()
	e.Preflight = "HAProxy Ingress answers every OPTIONS request itself with 204"
	return m
}

// haproxyOrigins reads cors-allow-origin: each comma-separated item,
// untrimmed, must pass the validator, or the whole key is ignored.
func haproxyOrigins(annotations map[string]string) ([]string, dataplanes.Setting) {
	raw, present := annotations[AllowOrigin]
	s := dataplanes.Setting{Name: dataplanes.SettingAllowOrigins, Key: AllowOrigin, Written: raw, Present: present, Effective: raw, Source: dataplanes.SourceWritten}
	if !present || raw == "" {
		s.Effective, s.Source, s.Note = "*", dataplanes.SourceDefault, `absent: HAProxy Ingress allows any origin ("*")`
		return []string{"*"}, s
	}
	items := strings.Split(raw, ",")
	for _, o := range items {
		if !haproxyOriginRegex.MatchString(o) {
			s.Effective, s.Source = "*", dataplanes.SourceFallback
			s.Note = fmt.Sprintf(`%q fails HAProxy Ingress's validation (each item must be scheme://host[:port] or "*", without spaces), so the whole key is ignored and any origin ("*") is allowed`, o)
			return []string{"*"}, s
		}
	}
	if len(items) > 1 && items[0] != "*" && slices.Contains(items, "*") {
		s.Note = `"*" is not first: it is compared as a literal Origin value, which no browser sends`
	}
	return items, s
}

// haproxyOriginRegexes reads cors-allow-origin-regex: space-separated
// expressions, ignored as a whole when one does not compile.
func haproxyOriginRegexes(annotations map[string]string) ([]string, dataplanes.Setting) {
	raw, present := annotations[AllowOriginRegex]
	s := dataplanes.Setting{Name: dataplanes.SettingAllowOriginRegexes, Key: AllowOriginRegex, Written: raw, Present: present, Effective: raw, Source: dataplanes.SourceWritten}
	if !present || raw == "" {
		s.Source = dataplanes.SourceDefault
		return nil, s
	}
	exprs := strings.Split(raw, " ")
	for _, expr := range exprs {
		if _, err := regexp.Compile(expr); err != nil {
			s.Effective, s.Source = "", dataplanes.SourceFallback
			s.Note = fmt.Sprintf("%q does not compile, so HAProxy Ingress ignores every origin regex", expr)
			return nil, s
		}
	}
	if slices.Contains(exprs, "") {
		s.Note = "a doubled space makes an empty expression, which matches every origin"
	}
	return exprs, s
}

// haproxyValue reads a list key: invalid or absent takes the default.
func haproxyValue(annotations map[string]string, key, name string, valid func(string) bool, fallback string) (string, dataplanes.Setting) {
	raw, present := annotations[key]
	s := dataplanes.Setting{Name: name, Key: key, Written: raw, Present: present, Effective: raw, Source: dataplanes.SourceWritten}
	switch {
	case !present:
		s.Effective, s.Source = fallback, dataplanes.SourceDefault
		if fallback != "" {
			s.Note = "absent: HAProxy Ingress sends its default list"
		}
	case !valid(raw):
		s.Effective, s.Source = fallback, dataplanes.SourceFallback
		s.Note = fmt.Sprintf("%q fails HAProxy Ingress's validation, so it is ignored", raw)
		if fallback != "" {
			s.Note += " and the default list is sent instead"
		}
	}
	return s.Effective, s
}

// haproxyMaxAge reads cors-max-age; an invalid value takes the default.
func haproxyMaxAge(annotations map[string]string) (int, dataplanes.Setting) {
	raw, present := annotations[MaxAge]
	s := dataplanes.Setting{Name: dataplanes.SettingMaxAge, Key: MaxAge, Written: raw, Present: present, Source: dataplanes.SourceWritten}
	n, err := strconv.Atoi(raw)
	switch {
	case !present:
		n, s.Source, s.Note = DefaultMaxAge, dataplanes.SourceDefault, "absent: HAProxy Ingress defaults to 86400 seconds"
	case err != nil:
		n, s.Source = DefaultMaxAge, dataplanes.SourceFallback
		s.Note = fmt.Sprintf("%q is not a whole number: HAProxy Ingress uses 86400 seconds", raw)
	}
	s.Effective = strconv.Itoa(n)
	return n, s
}

// dynamic reports whether haproxy.tmpl compares the Origin (more than one
// origin, or any regex) rather than sending a fixed value.
func (m *model) dynamic() bool { return len(m.origins) > 1 || len(m.regexes) > 0 }

// Effective returns the configuration the model answers from.
func (m *model) Effective() dataplanes.Effective { return m.effective }

// AnsweredBy says who answers req: HAProxy for every OPTIONS request and
// for the CORS headers of every response, when CORS is enabled.
func (m *model) AnsweredBy(_ corscheck.Request, _ bool) string {
	if m.enabled {
		return dataplanes.ByDataPlane
	}
	return dataplanes.ByBackend
}

// allowOrigin is the value of Access-Control-Allow-Origin HAProxy sends.
func (m *model) allowOrigin(origin string) string {
	if !m.dynamic() {
		return m.origins[0]
	}
	if slices.Contains(m.origins, origin) ||
		slices.ContainsFunc(m.regexes, func(re *regexp.Regexp) bool { return re.MatchString(origin) }) {
		return origin
	}
	return m.origins[0]
}

// Preflight answers every OPTIONS request with 204 when CORS is enabled.
func (m *model) Preflight(req corscheck.Request) (corscheck.Response, error) {
	if !m.enabled {
		return dataplanes.BackendResponse(), nil
	}
	resp := corscheck.Response{Status: http.StatusNoContent, Header: http.Header{}}
	resp.Header.Set(dataplanes.HeaderContentLength, "0")
	resp.Header.Set(dataplanes.HeaderContentType, "text/plain")
	resp.Header.Set(dataplanes.HeaderMaxAge, strconv.Itoa(m.maxAge))
	m.setHeaders(resp.Header, req.Origin)
	return resp, nil
}

// Actual answers the actual request: the backend's response with the
// http-response CORS headers.
func (m *model) Actual(req corscheck.Request) (corscheck.Response, error) {
	resp := dataplanes.BackendResponse()
	if m.enabled {
		m.setHeaders(resp.Header, req.Origin)
	}
	return resp, nil
}

// setHeaders applies the http-response set-header rules of haproxy.tmpl.
func (m *model) setHeaders(h http.Header, origin string) {
	h.Set(dataplanes.HeaderAllowOrigin, m.allowOrigin(origin))
	h.Set(dataplanes.HeaderAllowMethods, m.methods)
	h.Set(dataplanes.HeaderAllowHeaders, m.headers)
	if m.credentials {
		h.Set(dataplanes.HeaderAllowCredentials, dataplanes.CredentialsTrue)
	}
	if m.expose != "" {
		h.Set(dataplanes.HeaderExposeHeaders, m.expose)
	}
	if m.dynamic() {
		h.Set(dataplanes.HeaderVary, "Origin")
	}
}
