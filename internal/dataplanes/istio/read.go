package istio

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// ReadVirtualService reads the corsPolicy of every http route of a
// VirtualService that has one, as Istio's Envoy applies it.
func ReadVirtualService(obj *unstructured.Unstructured) []dataplanes.TargetSection {
	var sections []dataplanes.TargetSection
	for _, p := range routePlaces(obj) {
		cors, ok := p.Holder[p.Field].(map[string]any)
		if !ok {
			continue
		}
		name := p.Name
		if name == "" {
			name = fmt.Sprintf("http[%d]", p.Index)
		}
		model, problems := ParseCorsPolicy(cors, p.Path)
		sections = append(sections, dataplanes.TargetSection{Key: p.Path, Name: name, Model: model, Problems: problems})
	}
	return sections
}

// ParseCorsPolicy reads one corsPolicy the way istiod translates it for
// Envoy (pilot's translateCORSPolicy): allowOrigins become Envoy string
// matchers (exact and prefix case-sensitive, regex a full RE2 match), the
// deprecated allowOrigin list exact matchers; the method and header lists
// are joined with ","; maxAge is sent in whole seconds and not at all when
// unset (browsers then cache for 5 seconds); allowCredentials unset sends
// no Access-Control-Allow-Credentials; unmatchedPreflights unset or FORWARD
// forwards preflights from other origins to the backend. It returns what
// istiod's validation rejects (the VirtualService is then not admitted, or,
// written past the webhook, not applied) as problems.
func ParseCorsPolicy(cors map[string]any, key string) (dataplanes.Model, []string) {
	var problems []string
	c := dataplanes.EnvoyCORS{DataPlane: Name, ForwardUnmatchedPreflights: true}
	setting := func(name, field string, written any, present bool) *dataplanes.Setting {
		s := dataplanes.Setting{Name: name, Key: key + "." + field, Present: present, Source: dataplanes.SourceWritten}
		if present {
			s.Written = fmt.Sprint(written)
		}
		c.Settings = append(c.Settings, s)
		return &c.Settings[len(c.Settings)-1]
	}
	var exact, regexes []string
	var notes []string
	origins, _ := cors["allowOrigins"].([]any)
	for i, o := range origins {
		m, _ := o.(map[string]any)
		switch {
		case m["exact"] != nil:
			v := fmt.Sprint(m["exact"])
			c.Origins = append(c.Origins, dataplanes.EnvoyOriginMatcher{Exact: v})
			exact = append(exact, v)
		case m["prefix"] != nil:
			v := fmt.Sprint(m["prefix"])
			c.Origins = append(c.Origins, dataplanes.EnvoyOriginMatcher{Prefix: v})
			regexes = append(regexes, "prefix:"+v)
			notes = append(notes, fmt.Sprintf("allowOrigins[%d].prefix %q matches every origin that starts with it, such as %q", i, v, v+".evil.net"))
		case m["regex"] != nil:
			v := fmt.Sprint(m["regex"])
			matcher, err := dataplanes.EnvoyRegexMatcher(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s.allowOrigins[%d].regex %q is not an RE2 expression: %v", key, i, v, err))
				continue
			}
			c.Origins = append(c.Origins, matcher)
			regexes = append(regexes, v)
		default:
			problems = append(problems, fmt.Sprintf("%s.allowOrigins[%d] sets none of exact, prefix and regex", key, i))
		}
	}
	if legacy, ok := cors["allowOrigin"].([]any); ok {
		for _, o := range legacy {
			v := fmt.Sprint(o)
			c.Origins = append(c.Origins, dataplanes.EnvoyOriginMatcher{Exact: v})
			exact = append(exact, v)
		}
		notes = append(notes, "allowOrigin is deprecated; each entry is an exact match")
	}
	s := setting(dataplanes.SettingAllowOrigins, "allowOrigins", strings.Join(exact, ","), len(exact) > 0)
	s.Effective = strings.Join(exact, ",")
	if len(regexes) > 0 {
		r := setting(dataplanes.SettingAllowOriginRegexes, "allowOrigins", strings.Join(regexes, " "), true)
		r.Effective, r.Note = r.Written, strings.Join(notes, "; ")
	}
	if len(c.Origins) == 0 {
		s.Note = "no origin is allowed: Envoy adds no CORS header"
	}
	list := func(name, field, header string, check func(string) string) string {
		values, present := cors[field].([]any)
		items := make([]string, 0, len(values))
		for _, v := range values {
			item := fmt.Sprint(v)
			if problem := check(item); problem != "" {
				problems = append(problems, fmt.Sprintf("%s.%s: %s", key, field, problem))
			}
			items = append(items, item)
		}
		joined := strings.Join(items, ",")
		st := setting(name, field, joined, present)
		st.Effective = joined
		if !present {
			st.Source, st.Note = dataplanes.SourceDefault, "unset: Envoy sends no "+header
		}
		return joined
	}
	c.AllowMethods = list(dataplanes.SettingAllowMethods, "allowMethods", dataplanes.HeaderAllowMethods, func(m string) string {
		if !slices.Contains(SupportedMethods, m) {
			return fmt.Sprintf("%q is not a supported HTTP method", m)
		}
		return ""
	})
	noCheck := func(h string) string {
		if h == "" {
			return "header name cannot be empty"
		}
		return ""
	}
	c.AllowHeaders = list(dataplanes.SettingAllowHeaders, "allowHeaders", dataplanes.HeaderAllowHeaders, noCheck)
	c.ExposeHeaders = list(dataplanes.SettingExposeHeaders, "exposeHeaders", dataplanes.HeaderExposeHeaders, noCheck)
	credentials, present := cors["allowCredentials"].(bool)
	cs := setting(dataplanes.SettingAllowCredentials, "allowCredentials", credentials, present)
	c.Credentials, cs.Effective = credentials, strconv.FormatBool(credentials)
	if !present {
		cs.Source, cs.Note = dataplanes.SourceDefault, "unset: Envoy sends no Access-Control-Allow-Credentials"
	}
	raw, present := cors["maxAge"].(string)
	ms := setting(dataplanes.SettingMaxAge, "maxAge", raw, present)
	switch d, err := time.ParseDuration(raw); {
	case !present:
		ms.Source, ms.Note = dataplanes.SourceDefault, "unset: Envoy sends no Access-Control-Max-Age, so browsers cache preflights for 5 seconds"
	case err != nil || d < time.Second || d%time.Second != 0:
		problems = append(problems, fmt.Sprintf("%s.maxAge %q: istiod accepts whole seconds from 1s", key, raw))
	default:
		c.MaxAge = strconv.FormatInt(int64(d/time.Second), 10)
		ms.Effective = c.MaxAge
	}
	unmatched, _ := cors["unmatchedPreflights"].(string)
	c.ForwardUnmatchedPreflights = unmatched != UnmatchedPreflightsIgnore
	c.Preflight = "Envoy answers preflights from allowed origins with 200; others go to the backend (unmatchedPreflights unset or FORWARD)"
	if !c.ForwardUnmatchedPreflights {
		c.Preflight = "Envoy answers every preflight with 200, with CORS headers for allowed origins only (unmatchedPreflights: IGNORE)"
	}
	if len(problems) > 0 {
		return dataplanes.NoCORS(Name, "istiod rejects this corsPolicy: "+strings.Join(problems, "; ")), problems
	}
	return c.Model(), nil
}
