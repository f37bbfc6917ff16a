package dataplanes

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/kubecors/kubecors/internal/corscheck"
)

// EnvoyOriginMatcher is one entry of Envoy's CORS allow_origin_string_match
// (envoy.type.matcher.v3.StringMatcher): exact, prefix or safe_regex.
type EnvoyOriginMatcher struct {
	// Exact or Prefix is set, or Regex (see EnvoyRegexMatcher).
	Exact, Prefix string
	// Regex is the safe_regex as written; full is it anchored at both
	// ends, because Envoy's safe_regex is RE2's FullMatch.
	Regex string
	full  *regexp.Regexp
	// IgnoreCase makes exact and prefix matches case-insensitive (Contour
	// sets it on exact origins).
	IgnoreCase bool
}

// EnvoyRegexMatcher returns the safe_regex matcher of expr, or the error
// RE2 (Go's regexp, the same syntax) gives; Envoy rejects the whole
// configuration then.
func EnvoyRegexMatcher(expr string) (EnvoyOriginMatcher, error) {
	full, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return EnvoyOriginMatcher{}, err
	}
	return EnvoyOriginMatcher{Regex: expr, full: full}, nil
}

// Matches reports whether the matcher matches s.
func (m EnvoyOriginMatcher) Matches(s string) bool {
	switch {
	case m.full != nil:
		return m.full.MatchString(s)
	case m.Exact != "" && m.IgnoreCase:
		return strings.EqualFold(m.Exact, s)
	case m.Exact != "":
		return m.Exact == s
	case m.IgnoreCase:
		return len(s) >= len(m.Prefix) && strings.EqualFold(s[:len(m.Prefix)], m.Prefix)
	}
	return strings.HasPrefix(s, m.Prefix)
}

// AsRegex writes the matcher as the regular expression it amounts to, for
// Effective.AllowOriginRegexes: a safe_regex anchored at both ends, and a
// prefix match anchored at the start only, which is what makes it a trap.
func (m EnvoyOriginMatcher) AsRegex() string {
	flags := ""
	if m.IgnoreCase {
		flags = "(?i)"
	}
	switch {
	case m.full != nil:
		return m.full.String()
	case m.Exact != "":
		return "^" + flags + regexp.QuoteMeta(m.Exact) + "$"
	}
	return "^" + flags + regexp.QuoteMeta(m.Prefix)
}

// EnvoyCORS is a CORS policy as Envoy's CORS filter
// (envoy.extensions.filters.http.cors.v3.CorsPolicy) applies it, which is
// what Istio's VirtualService corsPolicy and Contour's HTTPProxy corsPolicy
// are translated to. Its model follows Envoy's cors_filter.cc: an Origin
// is allowed when a matcher matches it or matches the literal "*" (so an
// exact "*", an empty prefix or a regex ".*" allow every origin); the
// allowed origin is always echoed, never answered with "*", and no Vary
// header is added. A preflight (OPTIONS with Origin and
// Access-Control-Request-Method) from an allowed origin is answered by Envoy
// with 200 and the allow-* headers, whatever method it announces; one from
// another origin goes to the backend, unless ForwardUnmatchedPreflights is
// false, when Envoy answers 200 without CORS headers. Actual requests from
// an allowed origin get Access-Control-Allow-Origin, -Credentials and
// -Expose-Headers on the backend's response.
type EnvoyCORS struct {
	// DataPlane is the data plane's name, e.g. "istio".
	DataPlane string
	// Origins are the origin matchers.
	Origins []EnvoyOriginMatcher
	// AllowMethods, AllowHeaders and ExposeHeaders are the header values
	// as Envoy sends them ("" sends none).
	AllowMethods, AllowHeaders, ExposeHeaders string
	// MaxAge is Access-Control-Max-Age as sent ("" sends none).
	MaxAge string
	// Credentials sends Access-Control-Allow-Credentials: true.
	Credentials bool
	// ForwardUnmatchedPreflights sends preflights from origins no matcher
	// allows to the backend (Envoy's default).
	ForwardUnmatchedPreflights bool
	// Preflight says who answers preflights, for Effective.
	Preflight string
	// Settings are the values the configuration was read from.
	Settings []Setting
}

// Model returns the model of the policy.
func (c EnvoyCORS) Model() Model {
	m := &envoyModel{cors: c}
	e := &m.effective
	e.DataPlane, e.Enabled, e.Preflight, e.Settings = c.DataPlane, true, c.Preflight, c.Settings
	e.AllowOrigins, e.AllowOriginRegexes = []string{}, nil
	for _, o := range c.Origins {
		switch {
		case o.Matches("*"):
			e.AnyOrigin = true
		case o.Exact != "" && !o.IgnoreCase:
			e.AllowOrigins = append(e.AllowOrigins, o.Exact)
		case o.Exact != "":
			e.AllowOrigins = append(e.AllowOrigins, strings.ToLower(o.Exact))
		default:
			e.AllowOriginRegexes = append(e.AllowOriginRegexes, o.AsRegex())
		}
	}
	if e.AnyOrigin {
		e.AllowOrigins = []string{"*"}
	}
	e.AllowMethods = EmptyIfNil(SplitList(c.AllowMethods))
	e.AllowHeaders = EmptyIfNil(SplitList(c.AllowHeaders))
	e.ExposeHeaders = EmptyIfNil(SplitList(c.ExposeHeaders))
	e.AllowCredentials = c.Credentials
	if v, err := strconv.ParseInt(c.MaxAge, 10, 64); err == nil {
		e.MaxAge = &v
	}
	return m
}

// envoyModel answers requests as Envoy's CORS filter does.
type envoyModel struct {
	cors      EnvoyCORS
	effective Effective
}

// Effective returns the configuration the model answers from.
func (m *envoyModel) Effective() Effective { return m.effective }

// allowed reports whether Envoy allows origin.
func (m *envoyModel) allowed(origin string) bool {
	if origin == "" {
		return false
	}
	for _, o := range m.cors.Origins {
		if o.Matches("*") || o.Matches(origin) {
			return true
		}
	}
	return false
}

// AnsweredBy says who answers req.
func (m *envoyModel) AnsweredBy(req corscheck.Request, preflight bool) string {
	if preflight && !m.allowed(req.Origin) && (m.cors.ForwardUnmatchedPreflights || req.Origin == "") {
		return ByBackend
	}
	return ByDataPlane
}

// Preflight answers a preflight as Envoy does.
func (m *envoyModel) Preflight(req corscheck.Request) (corscheck.Response, error) {
	if !m.allowed(req.Origin) {
		if m.cors.ForwardUnmatchedPreflights || req.Origin == "" {
			return BackendResponse(), nil
		}
		return corscheck.Response{Status: http.StatusOK, Header: http.Header{}}, nil
	}
	h := http.Header{}
	h.Set(HeaderAllowOrigin, req.Origin)
	if m.cors.Credentials {
		h.Set(HeaderAllowCredentials, CredentialsTrue)
	}
	if m.cors.AllowMethods != "" {
		h.Set(HeaderAllowMethods, m.cors.AllowMethods)
	}
	if m.cors.AllowHeaders != "" {
		h.Set(HeaderAllowHeaders, m.cors.AllowHeaders)
	}
	if m.cors.MaxAge != "" {
		h.Set(HeaderMaxAge, m.cors.MaxAge)
	}
	return corscheck.Response{Status: http.StatusOK, Header: h}, nil
}

// Actual adds Envoy's headers to the backend's response.
func (m *envoyModel) Actual(req corscheck.Request) (corscheck.Response, error) {
	resp := BackendResponse()
	if !m.allowed(req.Origin) {
		return resp, nil
	}
	resp.Header.Set(HeaderAllowOrigin, req.Origin)
	if m.cors.Credentials {
		resp.Header.Set(HeaderAllowCredentials, CredentialsTrue)
	}
	if m.cors.ExposeHeaders != "" {
		resp.Header.Set(HeaderExposeHeaders, m.cors.ExposeHeaders)
	}
	return resp, nil
}
