package contour

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// ReadHTTPProxy reads the virtual host corsPolicy of a root HTTPProxy, as
// Contour's Envoy applies it; none for a proxy without one.
func ReadHTTPProxy(obj *unstructured.Unstructured) []dataplanes.TargetSection {
	var sections []dataplanes.TargetSection
	for _, p := range virtualHostPlaces(obj) {
		cors, ok := p.Holder[p.Field].(map[string]any)
		if !ok {
			continue
		}
		model, problems := ParseCorsPolicy(cors, p.Path)
		sections = append(sections, dataplanes.TargetSection{Key: p.Path, Name: "virtualhost", Model: model, Problems: problems})
	}
	return sections
}

// originMatcher is Contour's toAllowOriginMatch (internal/dag/
// httpproxy_processor.go, v1.33): "*" is an exact match (which Envoy takes
// as any origin); a value that url.Parse reads back as exactly
// scheme://host[:port] is an exact match, case-insensitive (Contour sets
// IgnoreCase); anything else must compile as a regex and is matched by
// Envoy's safe_regex, in full. A glob such as "https://*.example.com" is
// therefore an exact match of that literal string, which no browser sends.
func originMatcher(origin string) (dataplanes.EnvoyOriginMatcher, bool, error) {
	if origin == "*" {
		return dataplanes.EnvoyOriginMatcher{Exact: origin, IgnoreCase: true}, false, nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Scheme+"://"+u.Host != origin {
		if _, err := regexp.Compile(origin); err != nil {
			return dataplanes.EnvoyOriginMatcher{}, true, fmt.Errorf("allowed origin %q is invalid exact match and invalid regex match", origin)
		}
		m, err := dataplanes.EnvoyRegexMatcher(origin)
		return m, true, err
	}
	return dataplanes.EnvoyOriginMatcher{Exact: origin, IgnoreCase: true}, false, nil
}

// ParseCorsPolicy reads one HTTPProxy corsPolicy the way Contour
// translates it (toCORSPolicy, then envoy/v3 corsPolicy): allowOrigin and
// allowMethods must not be empty; maxAge unset sends no
// Access-Control-Max-Age (browsers cache for 5 seconds), "0" sends 0, and
// others whole seconds; lists are joined with ","; allowCredentials false
// sends no Access-Control-Allow-Credentials; preflights from other origins
// go to the backend (Contour leaves Envoy's forwarding on). A corsPolicy
// Contour rejects makes the whole HTTPProxy invalid (status
// CORSError/PolicyDidNotParse): nothing of the virtual host is served, and
// the problems say why.
func ParseCorsPolicy(cors map[string]any, key string) (dataplanes.Model, []string) {
	var problems []string
	c := dataplanes.EnvoyCORS{DataPlane: Name, ForwardUnmatchedPreflights: true,
		Preflight: "Envoy answers preflights from allowed origins with 200; others go to the backend"}
	add := func(name, field, written string, present bool) *dataplanes.Setting {
		c.Settings = append(c.Settings, dataplanes.Setting{Name: name, Key: key + "." + field, Present: present, Written: written,
			Effective: written, Source: dataplanes.SourceWritten})
		return &c.Settings[len(c.Settings)-1]
	}
	strs := func(field string) ([]string, bool) {
		values, present := cors[field].([]any)
		out := make([]string, 0, len(values))
		for _, v := range values {
			out = append(out, fmt.Sprint(v))
		}
		return out, present
	}
	origins, _ := strs("allowOrigin")
	if len(origins) == 0 {
		problems = append(problems, "invalid allowed origin configuration with length 0")
	}
	var exact, regexes, globs []string
	for _, o := range origins {
		m, regex, err := originMatcher(o)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("invalid allowed origin %q: %v", o, err))
		case regex:
			regexes = append(regexes, o)
		default:
			exact = append(exact, o)
			if strings.Contains(o, "*.") {
				globs = append(globs, o)
			}
		}
		c.Origins = append(c.Origins, m)
	}
	s := add(dataplanes.SettingAllowOrigins, "allowOrigin", strings.Join(exact, ","), len(exact) > 0)
	if len(globs) > 0 {
		s.Note = fmt.Sprintf("%s is matched literally: Contour has no globs, so no browser origin matches it (write an anchored regex)", strings.Join(globs, ", "))
	}
	if len(regexes) > 0 {
		add(dataplanes.SettingAllowOriginRegexes, "allowOrigin", strings.Join(regexes, " "), true)
	}
	methods, present := strs("allowMethods")
	if len(methods) == 0 {
		problems = append(problems, "invalid allowed methods configuration with length 0")
	}
	c.AllowMethods = strings.Join(methods, ",")
	add(dataplanes.SettingAllowMethods, "allowMethods", c.AllowMethods, present)
	headers, present := strs("allowHeaders")
	c.AllowHeaders = strings.Join(headers, ",")
	add(dataplanes.SettingAllowHeaders, "allowHeaders", c.AllowHeaders, present)
	expose, present := strs("exposeHeaders")
	c.ExposeHeaders = strings.Join(expose, ",")
	add(dataplanes.SettingExposeHeaders, "exposeHeaders", c.ExposeHeaders, present)
	credentials, present := cors["allowCredentials"].(bool)
	c.Credentials = credentials
	add(dataplanes.SettingAllowCredentials, "allowCredentials", strconv.FormatBool(credentials), present)
	raw, present := cors["maxAge"].(string)
	ms := add(dataplanes.SettingMaxAge, "maxAge", raw, present)
	switch d, err := time.ParseDuration(raw); {
	case !present || raw == "":
		ms.Source, ms.Effective, ms.Note = dataplanes.SourceDefault, "", "unset: Envoy sends no Access-Control-Max-Age, so browsers cache preflights for 5 seconds"
	case err != nil:
		problems = append(problems, fmt.Sprintf("unable to parse timeout string %q: %v", raw, err))
	case d < 0:
		problems = append(problems, fmt.Sprintf("invalid max age value %q", raw))
	default:
		c.MaxAge = fmt.Sprintf("%.0f", d.Seconds())
		ms.Effective = c.MaxAge
	}
	if len(problems) > 0 {
		return dataplanes.NoCORS(Name, "Contour rejects this corsPolicy and marks the whole HTTPProxy invalid: "+strings.Join(problems, "; ")), problems
	}
	return c.Model(), nil
}
