package ingressnginx

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// Prefix is the prefix of every ingress-nginx annotation.
const Prefix = "nginx.ingress.kubernetes.io/"

// The CORS annotations of ingress-nginx
// (internal/ingress/annotations/cors/main.go). kubecors writes all seven on
// every render: the controller's defaults when one is absent are permissive
// (origin "*", credentials true, a 20-day max age).
const (
	EnableCors       = Prefix + "enable-cors"
	AllowOrigin      = Prefix + "cors-allow-origin"
	AllowMethods     = Prefix + "cors-allow-methods"
	AllowHeaders     = Prefix + "cors-allow-headers"
	ExposeHeaders    = Prefix + "cors-expose-headers"
	AllowCredentials = Prefix + "cors-allow-credentials"
	MaxAge           = Prefix + "cors-max-age"
)

// Annotations are the CORS annotation keys of ingress-nginx, in the
// order its documentation lists them.
var Annotations = []string{
	EnableCors, AllowOrigin, AllowMethods, AllowHeaders,
	ExposeHeaders, AllowCredentials, MaxAge,
}

// The defaults ingress-nginx uses when an annotation is absent or invalid
// (internal/ingress/annotations/cors/main.go).
const (
	DefaultMethods = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
	DefaultHeaders = "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization"
	DefaultMaxAge  = 1728000
)

// The input validation of ingress-nginx (current main):
// corsOriginRegexValidator and the other annotation validators in
// internal/ingress/annotations/cors/main.go, which see the value with every
// space removed; corsOriginRegex, which Parse applies to each trimmed origin;
// and parser.HeadersVariable from internal/ingress/annotations/parser/validators.go.
// A value that fails an annotation validator makes the annotation read as
// absent, so the default applies.
var (
	nginxOriginValidator    = regexp.MustCompile(`^((((([a-z]+://)?(\*\.)?[A-Za-z0-9\-.]*(:\d+)?,?)|null)+)|\*)?$`)
	nginxOriginEntry        = regexp.MustCompile(`^([a-z]+://(\*\.)?[A-Za-z0-9\-.]*(:\d+)?|\*|null)?$`)
	nginxMethodsRegex       = regexp.MustCompile(`^([A-Za-z]+,?\s?)+$`)
	nginxHeadersVariable    = regexp.MustCompile(`^[A-Za-z0-9-_, ]*$`)
	nginxExposeHeadersRegex = regexp.MustCompile(`^(([A-Za-z0-9\-\_]+|\*),?\s?)+$`)
)

// model answers requests as ingress-nginx does for one location.
type model struct {
	effective dataplanes.Effective
	// active is true when nginx adds CORS headers at all: enable-cors is
	// true and at least one origin survived parsing.
	active bool
	// anyOrigin is the "*" case: nginx sets $http_origin to "*".
	anyOrigin bool
	// originMatch is the `$http_origin ~* (...)$` test.
	originMatch *regexp.Regexp
	methods     string
	headers     string
	expose      string
	credentials bool
	maxAge      int
}

// ParseIngressNginx reads an Ingress's annotations the way ingress-nginx
// does and returns its model of the Ingress's locations.
//
// Sources (kubernetes/ingress-nginx, current main):
// internal/ingress/annotations/cors/main.go (validators, Parse, the
// defaults: origin "*", the method and header lists, credentials true, max
// age 1728000), internal/ingress/controller/template/template.go
// (buildCorsOriginRegex, buildOriginRegex) and the "CORS" block of
// rootfs/etc/nginx/template/nginx.tmpl:
//
//	{{ if $cors.CorsAllowOrigin }} {{ buildCorsOriginRegex ... }} {{ end }}
//	if ($request_method = 'OPTIONS') { set $cors ${cors}options; }
//	if ($cors = "true") { more_set_headers 'Access-Control-Allow-Origin: $http_origin'; ... }
//	if ($cors = "trueoptions") { ... return 204; }
//
// For "*", buildCorsOriginRegex emits `set $http_origin *; set $cors 'true';`,
// so nginx sends the literal "Access-Control-Allow-Origin: *" (with
// "Access-Control-Allow-Credentials: true" unless the annotation says
// false, which browsers reject for credentialed requests). For a list it
// emits `if ($http_origin ~* ((o1)|(o2))$) { set $cors 'true'; }` with each
// origin regexp.QuoteMeta'd and its "*" turned into `[A-Za-z0-9\-]+`: one
// DNS label, case-insensitive, unanchored at the start. An allowed origin is
// echoed. Allowed OPTIONS requests are answered by nginx with 204; other
// requests from unlisted origins get no CORS header and OPTIONS goes to
// the backend. nginx never sends Vary: Origin.
func ParseIngressNginx(annotations map[string]string) dataplanes.Model {
	m := &model{effective: dataplanes.Effective{DataPlane: Name}}
	enabledValue, enabledPresent := annotations[EnableCors]
	enabled, err := strconv.ParseBool(enabledValue)
	enabledSetting := dataplanes.Setting{Name: dataplanes.SettingEnabled, Key: EnableCors, Written: enabledValue, Present: enabledPresent,
		Effective: strconv.FormatBool(enabled && err == nil), Source: dataplanes.SourceWritten}
	switch {
	case !enabledPresent:
		enabledSetting.Source, enabledSetting.Note = dataplanes.SourceDefault, "absent: CORS is off"
	case err != nil:
		enabledSetting.Source, enabledSetting.Note = dataplanes.SourceFallback, fmt.Sprintf("%q is not a boolean: CORS is off", enabledValue)
	}
	enabled = enabled && err == nil
	origins, originSetting := readOrigins(annotations)
	methods, methodSetting := nginxListValue(annotations, AllowMethods, dataplanes.SettingAllowMethods, nginxMethodsRegex, DefaultMethods)
	headers, headerSetting := nginxListValue(annotations, AllowHeaders, dataplanes.SettingAllowHeaders, nginxHeadersVariable, DefaultHeaders)
	expose, exposeSetting := nginxExposeHeaders(annotations)
	credentials, credentialSetting := dataplanes.BoolWithDefault(annotations, AllowCredentials, dataplanes.SettingAllowCredentials, true,
		"absent: ingress-nginx defaults cors-allow-credentials to true")
	maxAge, maxAgeSetting := nginxMaxAge(annotations)
	settings := []dataplanes.Setting{enabledSetting, originSetting, methodSetting, headerSetting, exposeSetting, credentialSetting, maxAgeSetting}

	m.active = enabled && len(origins) > 0
	m.methods, m.headers, m.expose, m.credentials, m.maxAge = methods, headers, expose, credentials, maxAge
	if len(origins) == 1 && origins[0] == "*" {
		m.anyOrigin = true
	} else if len(origins) > 0 {
		m.originMatch = nginxOriginMatcher(origins)
	}

	e := &m.effective
	e.Enabled = m.active
	e.Settings = settings
	if !m.active {
		e.AllowOrigins, e.AllowMethods, e.AllowHeaders, e.ExposeHeaders = []string{}, []string{}, []string{}, []string{}
		e.Preflight = "the backend: ingress-nginx adds no CORS header"
		if enabled {
			e.Preflight += ", because no origin of cors-allow-origin passed its validation"
		}
		return m
	}
	e.AnyOrigin = m.anyOrigin
	e.AllowOrigins = origins
	e.AllowMethods = dataplanes.SplitList(methods)
	e.AllowHeaders = dataplanes.SplitList(headers)
	e.ExposeHeaders = dataplanes.EmptyIfNil(dataplanes.SplitList(expose))
	e.AllowCredentials = credentials
	e.MaxAge = new(int64(maxAge))
	e.Preflight = "ingress-nginx answers OPTIONS from an allowed origin itself with 204; OPTIONS from other origins go to the backend"
	return m
}

// readOrigins follows ingress-nginx from cors-allow-origin to
// Config.CorsAllowOrigin.
func readOrigins(annotations map[string]string) ([]string, dataplanes.Setting) {
	value, present := annotations[AllowOrigin]
	s := dataplanes.Setting{Name: dataplanes.SettingAllowOrigins, Key: AllowOrigin, Written: value, Present: present, Source: dataplanes.SourceWritten}
	switch {
	case !present || strings.TrimSpace(value) == "":
		s.Effective, s.Source = "*", dataplanes.SourceDefault
		s.Note = `absent or empty: ingress-nginx allows any origin ("*")`
		return []string{"*"}, s
	case !nginxOriginValidator.MatchString(strings.ReplaceAll(value, " ", "")):
		s.Effective, s.Source = "*", dataplanes.SourceFallback
		s.Note = fmt.Sprintf(`%q fails ingress-nginx's validation of cors-allow-origin, which then reads as absent: any origin ("*") is allowed`, value)
		return []string{"*"}, s
	}
	origins := []string{}
	var skipped []string
	for o := range strings.SplitSeq(value, ",") {
		o = strings.TrimSpace(o)
		switch {
		case o == "":
		case o == "*":
			// A lone "*" anywhere in the list makes the whole list "*".
			s.Effective = "*"
			if len(strings.Split(value, ",")) > 1 {
				s.Source = dataplanes.SourceFallback
				s.Note = `"*" among other origins makes the whole list "*" (any origin)`
			}
			return []string{"*"}, s
		case nginxOriginEntry.MatchString(o):
			origins = append(origins, o)
		default:
			skipped = append(skipped, strconv.Quote(o))
		}
	}
	s.Effective = strings.Join(origins, ",")
	var notes []string
	if len(skipped) > 0 {
		s.Source = dataplanes.SourceNarrowed
		notes = append(notes, fmt.Sprintf("ingress-nginx skips %s: not scheme://host[:port]", strings.Join(skipped, ", ")))
	}
	if len(origins) == 0 {
		notes = append(notes, "no origin is left, so ingress-nginx adds no CORS header at all")
	}
	if strings.Contains(s.Effective, "*.") {
		notes = append(notes, `"*." matches exactly one DNS label on ingress-nginx`)
	}
	s.Note = strings.Join(notes, "; ")
	return origins, s
}

// nginxOriginMatcher builds the regular expression of the nginx.tmpl
// `if ($http_origin ~* ((o1)|(o2))$)` test, as buildCorsOriginRegex does.
func nginxOriginMatcher(origins []string) *regexp.Regexp {
	parts := make([]string, len(origins))
	for i, o := range origins {
		quoted := regexp.QuoteMeta(o)
		parts[i] = "(" + strings.Replace(quoted, `\*`, `[A-Za-z0-9\-]+`, 1) + ")"
	}
	// The parts are QuoteMeta'd, so the expression always compiles.
	return regexp.MustCompile("(?i)(" + strings.Join(parts, "|") + ")$")
}

// nginxListValue follows ingress-nginx for methods and headers: an absent,
// empty or invalid value is replaced by the default list.
func nginxListValue(annotations map[string]string, key, name string, valid *regexp.Regexp, fallback string) (string, dataplanes.Setting) {
	raw, present := annotations[key]
	value := strings.TrimSpace(raw)
	s := dataplanes.Setting{Name: name, Key: key, Written: raw, Present: present, Effective: value, Source: dataplanes.SourceWritten}
	switch {
	case !present || value == "":
		s.Effective, s.Source = fallback, dataplanes.SourceDefault
		s.Note = "absent: ingress-nginx sends its default list"
	case !valid.MatchString(strings.ReplaceAll(value, " ", "")) || !valid.MatchString(value):
		s.Effective, s.Source = fallback, dataplanes.SourceFallback
		s.Note = fmt.Sprintf("%q fails ingress-nginx's validation, so it silently sends its default list instead", raw)
	}
	return s.Effective, s
}

// nginxExposeHeaders reads cors-expose-headers: invalid or absent means
// none exposed.
func nginxExposeHeaders(annotations map[string]string) (string, dataplanes.Setting) {
	raw, present := annotations[ExposeHeaders]
	value := strings.TrimSpace(raw)
	s := dataplanes.Setting{Name: dataplanes.SettingExposeHeaders, Key: ExposeHeaders, Written: raw, Present: present, Effective: value, Source: dataplanes.SourceWritten}
	switch {
	case !present || value == "":
		s.Effective, s.Source = "", dataplanes.SourceDefault
	case !nginxExposeHeadersRegex.MatchString(value):
		s.Effective, s.Source = "", dataplanes.SourceFallback
		s.Note = fmt.Sprintf("%q fails ingress-nginx's validation, so no header is exposed", raw)
	}
	return s.Effective, s
}

// nginxMaxAge reads cors-max-age as parser.GetIntAnnotation does.
func nginxMaxAge(annotations map[string]string) (int, dataplanes.Setting) {
	raw, present := annotations[MaxAge]
	s := dataplanes.Setting{Name: dataplanes.SettingMaxAge, Key: MaxAge, Written: raw, Present: present, Source: dataplanes.SourceWritten}
	n, err := strconv.Atoi(raw)
	switch {
	case !present:
		n, s.Source, s.Note = DefaultMaxAge, dataplanes.SourceDefault, "absent: ingress-nginx defaults to 1728000 seconds (20 days)"
	case err != nil:
		n, s.Source = DefaultMaxAge, dataplanes.SourceFallback
		s.Note = fmt.Sprintf("%q is not a whole number: ingress-nginx uses 1728000 seconds (20 days)", raw)
	}
	s.Effective = strconv.Itoa(n)
	return n, s
}

// Effective returns the configuration the model answers from.
func (m *model) Effective() dataplanes.Effective { return m.effective }

// allowed is the outcome of the nginx.tmpl origin test: whether $cors is
// "true", and the value of Access-Control-Allow-Origin.
func (m *model) allowed(origin string) (bool, string) {
	switch {
	case !m.active:
		return false, ""
	case m.anyOrigin:
		return true, "*"
	case m.originMatch.MatchString(origin):
		return true, origin
	}
	return false, ""
}

// AnsweredBy says whether nginx or the backend answers req.
func (m *model) AnsweredBy(req corscheck.Request, preflight bool) string {
	if ok, _ := m.allowed(req.Origin); ok {
		return dataplanes.ByDataPlane
	}
	return dataplanes.ByBackend
}

// Preflight answers an OPTIONS preflight: 204 from nginx for an allowed
// origin, the backend's answer otherwise.
func (m *model) Preflight(req corscheck.Request) (corscheck.Response, error) {
	ok, origin := m.allowed(req.Origin)
	if !ok {
		return dataplanes.BackendResponse(), nil
	}
	resp := corscheck.Response{Status: http.StatusNoContent, Header: http.Header{}}
	m.setHeaders(resp.Header, origin)
	resp.Header.Set(dataplanes.HeaderContentType, "text/plain charset=UTF-8")
	resp.Header.Set(dataplanes.HeaderContentLength, "0")
	return resp, nil
}

// Actual answers the actual request: the backend's response with nginx's
// CORS headers for an allowed origin.
func (m *model) Actual(req corscheck.Request) (corscheck.Response, error) {
	resp := dataplanes.BackendResponse()
	if ok, origin := m.allowed(req.Origin); ok {
		m.setHeaders(resp.Header, origin)
	}
	return resp, nil
}

// setHeaders adds the headers of the nginx.tmpl CORS block, which are the
// same for preflight and actual responses.
func (m *model) setHeaders(h http.Header, origin string) {
	h.Set(dataplanes.HeaderAllowOrigin, origin)
	if m.credentials {
		h.Set(dataplanes.HeaderAllowCredentials, dataplanes.CredentialsTrue)
	}
	h.Set(dataplanes.HeaderAllowMethods, m.methods)
	h.Set(dataplanes.HeaderAllowHeaders, m.headers)
	if m.expose != "" {
		h.Set(dataplanes.HeaderExposeHeaders, m.expose)
	}
	h.Set(dataplanes.HeaderMaxAge, strconv.Itoa(m.maxAge))
}
