package envoygateway

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// specKey is where a SecurityPolicy's CORS settings live.
const specKey = "spec.cors"

// originMatcher is one allowOrigins entry as Envoy Gateway translates it:
// an exact string, or the full-match regular expression of wildcard2regex.
type originMatcher struct {
	exact string
	regex *regexp.Regexp
}

// model answers requests as Envoy's CORS filter does with the
// configuration Envoy Gateway translates a SecurityPolicy's spec.cors
// into.
type model struct {
	effective   dataplanes.Effective
	origins     []originMatcher
	methods     string
	headers     string
	expose      string
	credentials bool
	maxAge      string
}

// wildcardRegexp is wildcard2regex of Envoy Gateway v1.9.1: the origin with
// every regex metacharacter escaped and every "*" made ".*", matched in
// full (Envoy's safe_regex).
func wildcardRegexp(origin string) *regexp.Regexp {
	expr := strings.ReplaceAll(regexp.QuoteMeta(origin), `\*`, ".*")
	return regexp.MustCompile("^(?:" + expr + ")$")
}

// ReadSecurityPolicy reads spec.cors of a SecurityPolicy and returns the
// model of how Envoy answers a browser for its targets; a SecurityPolicy
// without spec.cors adds no CORS header.
func ReadSecurityPolicy(obj *unstructured.Unstructured) (dataplanes.Model, error) {
	cors, found, err := unstructured.NestedMap(obj.Object, "spec", "cors")
	if err != nil {
		return nil, fmt.Errorf("SecurityPolicy %s/%s: spec.cors: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	if !found {
		return dataplanes.NoCORS(Name, fmt.Sprintf("SecurityPolicy %s/%s has no spec.cors", obj.GetNamespace(), obj.GetName())), nil
	}
	return ParseCORS(cors, fmt.Sprintf("SecurityPolicy %s/%s %s", obj.GetNamespace(), obj.GetName(), specKey)), nil
}

// ParseCORS reads a SecurityPolicy's spec.cors as Envoy Gateway translates
// it (buildCORS and the xDS translator's cors.go): "*" anywhere in an
// origin becomes ".*"; a list of methods or headers holding "*" becomes
// "*", which Envoy answers by echoing what the preflight asks for; maxAge
// is a duration sent in whole seconds, and nothing is sent when it is
// absent or does not parse; unmatched preflights are answered by Envoy
// with no CORS header (forward_not_matching_preflights: false). A matched
// origin is always echoed; Envoy sends no Vary.
func ParseCORS(cors map[string]any, key string) dataplanes.Model {
	m := &model{effective: dataplanes.Effective{DataPlane: Name}}
	e := &m.effective
	origins, _, _ := unstructured.NestedStringSlice(cors, "allowOrigins")
	methods, _, _ := unstructured.NestedStringSlice(cors, "allowMethods")
	headers, _, _ := unstructured.NestedStringSlice(cors, "allowHeaders")
	expose, _, _ := unstructured.NestedStringSlice(cors, "exposeHeaders")
	m.credentials, _, _ = unstructured.NestedBool(cors, "allowCredentials")
	for _, o := range origins {
		if strings.Contains(o, "*") {
			m.origins = append(m.origins, originMatcher{regex: wildcardRegexp(o)})
			e.AllowOriginRegexes = append(e.AllowOriginRegexes, wildcardRegexp(o).String())
			continue
		}
		m.origins = append(m.origins, originMatcher{exact: o})
	}
	m.methods = starOrJoined(methods)
	m.headers = starOrJoined(headers)
	m.expose = strings.Join(expose, ", ")
	age := dataplanes.Setting{Name: dataplanes.SettingMaxAge, Key: key + ".maxAge", Source: dataplanes.SourceDefault,
		Note: "absent: Envoy sends no Access-Control-Max-Age (browsers use 5 seconds)"}
	if raw, ok, _ := unstructured.NestedString(cors, "maxAge"); ok {
		age.Present, age.Written = true, raw
		if d, err := time.ParseDuration(raw); err == nil {
			m.maxAge = strconv.Itoa(int(d.Seconds()))
			age.Effective, age.Source, age.Note = m.maxAge, dataplanes.SourceWritten, ""
			e.MaxAge = new(int64(d.Seconds()))
		} else {
			age.Source, age.Note = dataplanes.SourceFallback, fmt.Sprintf("%q is not a duration: Envoy Gateway drops it and no Access-Control-Max-Age is sent", raw)
		}
	}
	e.Enabled = true
	e.AnyOrigin = slices.Contains(origins, "*")
	e.AllowOrigins = dataplanes.EmptyIfNil(origins)
	e.AllowMethods = dataplanes.EmptyIfNil(methods)
	e.AllowHeaders = dataplanes.EmptyIfNil(headers)
	e.ExposeHeaders = dataplanes.EmptyIfNil(expose)
	e.AllowCredentials = m.credentials
	e.Preflight = "Envoy answers preflights itself with 200, also those from origins it does not allow (without CORS headers)"
	list := func(name, field string, values []string) dataplanes.Setting {
		v := strings.Join(values, ",")
		s := dataplanes.Setting{Name: name, Key: key + "." + field, Written: v, Present: len(values) > 0, Effective: v, Source: dataplanes.SourceWritten}
		if len(values) == 0 {
			s.Source = dataplanes.SourceDefault
		}
		return s
	}
	originSetting := list(dataplanes.SettingAllowOrigins, "allowOrigins", origins)
	if len(e.AllowOriginRegexes) > 0 {
		originSetting.Note = `Envoy Gateway turns each "*" into ".*": a "*." origin matches any depth of labels and any characters in them`
	}
	credentials := dataplanes.Setting{Name: dataplanes.SettingAllowCredentials, Key: key + ".allowCredentials", Effective: strconv.FormatBool(m.credentials), Source: dataplanes.SourceDefault}
	if _, ok := cors["allowCredentials"]; ok {
		credentials.Present, credentials.Written, credentials.Source = true, credentials.Effective, dataplanes.SourceWritten
	}
	if e.AnyOrigin && m.credentials {
		originSetting.Note = `"*" with allowCredentials: Envoy echoes every origin with credentials, so any site can read credentialed responses`
	}
	e.Settings = []dataplanes.Setting{
		originSetting,
		list(dataplanes.SettingAllowMethods, "allowMethods", methods),
		list(dataplanes.SettingAllowHeaders, "allowHeaders", headers),
		list(dataplanes.SettingExposeHeaders, "exposeHeaders", expose),
		credentials, age,
	}
	return m
}

// starOrJoined is how the xDS translator writes allowMethods and
// allowHeaders: "*" when the list holds it, else the list joined.
func starOrJoined(values []string) string {
	if slices.Contains(values, "*") {
		return "*"
	}
	return strings.Join(values, ", ")
}

// Effective returns the configuration the model answers from.
func (m *model) Effective() dataplanes.Effective { return m.effective }

// AnsweredBy says who answers req: Envoy answers every preflight itself.
func (m *model) AnsweredBy(corscheck.Request, bool) string { return dataplanes.ByDataPlane }

// allowed reports whether Envoy allows origin.
func (m *model) allowed(origin string) bool {
	if origin == "" {
		return false
	}
	return slices.ContainsFunc(m.origins, func(o originMatcher) bool {
		if o.regex != nil {
			return o.regex.MatchString(origin)
		}
		return o.exact == origin
	})
}

// Preflight answers a preflight as Envoy's CORS filter does.
func (m *model) Preflight(req corscheck.Request) (corscheck.Response, error) {
	resp := corscheck.Response{Status: http.StatusOK, Header: http.Header{}}
	if !m.allowed(req.Origin) {
		return resp, nil
	}
	sent := corscheck.PreflightRequestHeaders(req)
	resp.Header.Set(dataplanes.HeaderAllowOrigin, req.Origin)
	if m.credentials {
		resp.Header.Set(dataplanes.HeaderAllowCredentials, dataplanes.CredentialsTrue)
	}
	if v := echoIfStar(m.methods, sent.Get(dataplanes.HeaderRequestMethod)); v != "" {
		resp.Header.Set(dataplanes.HeaderAllowMethods, v)
	}
	if v := echoIfStar(m.headers, sent.Get(dataplanes.HeaderRequestHeaders)); v != "" {
		resp.Header.Set(dataplanes.HeaderAllowHeaders, v)
	}
	if m.maxAge != "" {
		resp.Header.Set(dataplanes.HeaderMaxAge, m.maxAge)
	}
	return resp, nil
}

// echoIfStar is Envoy's answer for allowMethods and allowHeaders: "*" is
// answered with what the preflight asks for.
func echoIfStar(configured, requested string) string {
	if configured == "*" {
		return requested
	}
	return configured
}

// Actual answers the actual request: the backend's response with the CORS
// headers for an allowed origin.
func (m *model) Actual(req corscheck.Request) (corscheck.Response, error) {
	resp := dataplanes.BackendResponse()
	if !m.allowed(req.Origin) {
		return resp, nil
	}
	resp.Header.Set(dataplanes.HeaderAllowOrigin, req.Origin)
	if m.credentials {
		resp.Header.Set(dataplanes.HeaderAllowCredentials, dataplanes.CredentialsTrue)
	}
	if m.expose != "" {
		resp.Header.Set(dataplanes.HeaderExposeHeaders, m.expose)
	}
	return resp, nil
}
