package kong

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// defaultMethods is Access-Control-Allow-Methods when config.methods is
// absent (handler.lua).
var defaultMethods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

// exactOrigin is handler.lua's test for an origins entry that is compared
// as a string rather than matched as a regular expression.
var exactOrigin = regexp.MustCompile(`^[A-Za-z0-9.:/-]+$`)

// Plugin is one entry of a konghq.com/plugins list or one ExtensionRef,
// with the KongPlugin it names (nil when there is none).
type Plugin struct {
	// Ref is the plugin's name as the list writes it.
	Ref string
	// Object is the KongPlugin; nil when it does not exist.
	Object *unstructured.Unstructured
}

// originEntry is one entry of config.origins as handler.lua prepares it.
type originEntry struct {
	written string
	// regex is set for an entry Kong matches as a PCRE.
	regex *regexp.Regexp
	// byHost is true for a regex without ":", matched against the host
	// only.
	byHost bool
}

// corsPlugin is config of a KongPlugin of plugin cors.
type corsPlugin struct {
	name              string
	origins           []originEntry
	allowAll          bool
	headers           []string
	methods           []string
	methodsSet        bool
	expose            []string
	credentials       bool
	maxAge            *int64
	preflightContinue bool
}

// model answers requests as Kong's cors plugin does.
type model struct {
	effective dataplanes.Effective
	plugin    *corsPlugin
}

// ParseKong reads the KongPlugins attached to one route and returns the
// model of how Kong answers a browser there. Plugins of other kinds pass
// requests through; a disabled plugin or one that does not exist is not
// run. Kong runs one plugin of a name per route, so two cors plugins fail,
// as Kong Ingress Controller fails to configure the route; so does an
// origins entry Kong would reject (not "*" and not a regular expression).
func ParseKong(plugins []Plugin) (dataplanes.Model, error) {
	m := &model{effective: dataplanes.Effective{DataPlane: Name, AllowOrigins: []string{}, AllowMethods: []string{}, AllowHeaders: []string{},
		ExposeHeaders: []string{}, Settings: []dataplanes.Setting{}, Preflight: "the backend: no cors KongPlugin is attached"}}
	for _, p := range plugins {
		if p.Object == nil {
			continue
		}
		if name, _, _ := unstructured.NestedString(p.Object.Object, "plugin"); name != PluginName {
			continue
		}
		if disabled, _, _ := unstructured.NestedBool(p.Object.Object, "disabled"); disabled {
			continue
		}
		if m.plugin != nil {
			return nil, fmt.Errorf("KongPlugins %q and %q are both cors plugins: Kong runs one plugin of a name per route, so Kong Ingress Controller cannot configure it", m.plugin.name, p.Ref)
		}
		c, err := parseCorsPlugin(p)
		if err != nil {
			return nil, err
		}
		m.plugin = c
	}
	if m.plugin != nil {
		m.summarise()
	}
	return m, nil
}

// parseCorsPlugin reads config of a cors KongPlugin.
func parseCorsPlugin(p Plugin) (*corsPlugin, error) {
	config, _, err := unstructured.NestedMap(p.Object.Object, "config")
	if err != nil {
		return nil, fmt.Errorf("KongPlugin %q: config: %w", p.Ref, err)
	}
	list := func(key string) ([]string, bool) {
		values, found, _ := unstructured.NestedStringSlice(config, key)
		return values, found
	}
	c := &corsPlugin{name: p.Object.GetNamespace() + "/" + p.Object.GetName()}
	origins, _ := list("origins")
	c.allowAll = len(origins) == 0
	for _, o := range origins {
		if o == "*" {
			c.allowAll = true
			continue
		}
		entry := originEntry{written: o}
		if !exactOrigin.MatchString(o) {
			// Kong anchors at the start (the "a" flag) and appends "$"
			// unless the entry ends with it; a leading "^" is dropped.
			expr := strings.TrimPrefix(o, "^")
			if !strings.HasSuffix(expr, "$") {
				expr += "$"
			}
			re, err := regexp.Compile("^(?:" + expr + ")")
			if err != nil {
				return nil, fmt.Errorf("KongPlugin %q: config.origins entry %q is not a regular expression Kong accepts, so it rejects the plugin: %w", p.Ref, o, err)
			}
			entry.regex, entry.byHost = re, !strings.Contains(o, ":")
		}
		c.origins = append(c.origins, entry)
	}
	c.headers, _ = list("headers")
	c.methods, c.methodsSet = list("methods")
	c.expose, _ = list("exposed_headers")
	c.credentials, _, _ = unstructured.NestedBool(config, "credentials")
	c.preflightContinue, _, _ = unstructured.NestedBool(config, "preflight_continue")
	if age, ok := config["max_age"]; ok {
		switch v := age.(type) {
		case int64:
			c.maxAge = new(v)
		case float64:
			c.maxAge = new(int64(v))
		}
	}
	return c, nil
}

// summarise fills the effective configuration and its settings.
func (m *model) summarise() {
	c, e := m.plugin, &m.effective
	key := func(field string) string { return fmt.Sprintf("KongPlugin %s config.%s", c.name, field) }
	e.Enabled = true
	e.AnyOrigin = c.allowAll
	written := make([]string, 0, len(c.origins))
	for _, o := range c.origins {
		if o.regex != nil {
			e.AllowOriginRegexes = append(e.AllowOriginRegexes, o.written)
		} else {
			written = append(written, o.written)
		}
	}
	e.AllowOrigins = written
	if c.allowAll {
		e.AllowOrigins = []string{"*"}
	}
	e.AllowMethods = c.methods
	if !c.methodsSet {
		e.AllowMethods = defaultMethods
	}
	e.AllowHeaders = dataplanes.EmptyIfNil(c.headers)
	e.ExposeHeaders = dataplanes.EmptyIfNil(c.expose)
	e.AllowCredentials = c.credentials
	e.MaxAge = c.maxAge
	e.VaryOrigin = !c.allowAll
	e.Preflight = fmt.Sprintf("Kong (KongPlugin %s) answers preflights itself with 200", c.name)
	if c.preflightContinue {
		e.Preflight = fmt.Sprintf("the backend: KongPlugin %s has preflight_continue: true", c.name)
	}
	joined := func(name, field string, values []string, note string) dataplanes.Setting {
		v := strings.Join(values, ",")
		s := dataplanes.Setting{Name: name, Key: key(field), Written: v, Present: len(values) > 0, Effective: v, Source: dataplanes.SourceWritten}
		if len(values) == 0 {
			s.Source, s.Note = dataplanes.SourceDefault, note
		}
		return s
	}
	origins := make([]string, 0, len(c.origins))
	for _, o := range c.origins {
		origins = append(origins, o.written)
	}
	originSetting := joined(dataplanes.SettingAllowOrigins, "origins", origins, "empty: Kong allows every origin")
	if len(origins) == 0 {
		originSetting.Effective = "*"
	}
	if c.allowAll && c.credentials {
		originSetting.Note = "every origin with credentials: Kong echoes the caller's origin, so any site can read credentialed responses"
	}
	methods := joined(dataplanes.SettingAllowMethods, "methods", c.methods, "absent: Kong allows every method, TRACE and CONNECT included")
	if !c.methodsSet {
		methods.Effective = strings.Join(defaultMethods, ",")
	}
	age := dataplanes.Setting{Name: dataplanes.SettingMaxAge, Key: key("max_age"), Source: dataplanes.SourceDefault, Note: "absent: Kong sends no Access-Control-Max-Age (browsers use 5 seconds)"}
	if c.maxAge != nil {
		v := strconv.FormatInt(*c.maxAge, 10)
		age = dataplanes.Setting{Name: dataplanes.SettingMaxAge, Key: key("max_age"), Written: v, Present: true, Effective: v, Source: dataplanes.SourceWritten}
	}
	e.Settings = []dataplanes.Setting{
		originSetting,
		methods,
		joined(dataplanes.SettingAllowHeaders, "headers", c.headers, "empty: Kong echoes the requested headers, Authorization included"),
		joined(dataplanes.SettingExposeHeaders, "exposed_headers", c.expose, ""),
		{Name: dataplanes.SettingAllowCredentials, Key: key("credentials"), Written: strconv.FormatBool(c.credentials), Present: true,
			Effective: strconv.FormatBool(c.credentials), Source: dataplanes.SourceWritten},
		age,
	}
}

// Effective returns the configuration the model answers from.
func (m *model) Effective() dataplanes.Effective { return m.effective }

// AnsweredBy says who answers req.
func (m *model) AnsweredBy(_ corscheck.Request, preflight bool) string {
	if m.plugin == nil || preflight && m.plugin.preflightContinue {
		return dataplanes.ByBackend
	}
	return dataplanes.ByDataPlane
}

// normalizeOrigin is handler.lua's normalize_origin: scheme://host[:port]
// with the scheme's default port dropped, and the host alone.
func normalizeOrigin(origin string) (domain, host string) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return origin, origin
	}
	port := u.Port()
	if u.Scheme == "http" && port == "80" || u.Scheme == "https" && port == "443" {
		port = ""
	}
	// LuaSocket's url.parse drops the brackets of an IPv6 literal.
	host = u.Hostname()
	domain = u.Scheme + "://" + host
	if port != "" {
		domain += ":" + port
	}
	return domain, host
}

// originHeaders sets Access-Control-Allow-Origin, Vary and
// Access-Control-Allow-Credentials as configure_origin and
// configure_credentials do.
func (c *corsPlugin) originHeaders(h http.Header, origin string) {
	if c.allowAll {
		h.Set(dataplanes.HeaderAllowOrigin, "*")
		if c.credentials && origin != "" {
			h.Add(dataplanes.HeaderVary, "Origin")
			h.Set(dataplanes.HeaderAllowOrigin, origin)
			h.Set(dataplanes.HeaderAllowCredentials, dataplanes.CredentialsTrue)
		}
		return
	}
	h.Add(dataplanes.HeaderVary, "Origin")
	if c.credentials {
		h.Set(dataplanes.HeaderAllowCredentials, dataplanes.CredentialsTrue)
	}
	if len(c.origins) == 1 && c.origins[0].regex == nil {
		// One plain entry is sent as written, whatever the origin.
		h.Set(dataplanes.HeaderAllowOrigin, c.origins[0].written)
		return
	}
	if origin == "" {
		return
	}
	domain, host := normalizeOrigin(origin)
	for _, o := range c.origins {
		var found bool
		switch {
		case o.regex != nil && o.byHost:
			found = o.regex.MatchString(host)
		case o.regex != nil:
			found = o.regex.MatchString(domain)
		default:
			written, _ := normalizeOrigin(o.written)
			found = written == domain
		}
		if found {
			h.Set(dataplanes.HeaderAllowOrigin, domain)
			return
		}
	}
}

// Preflight answers a preflight as CorsHandler:access does.
func (m *model) Preflight(req corscheck.Request) (corscheck.Response, error) {
	c := m.plugin
	if c == nil || c.preflightContinue || req.Origin == "" {
		return dataplanes.BackendResponse(), nil
	}
	resp := corscheck.Response{Status: http.StatusOK, Header: http.Header{}}
	c.originHeaders(resp.Header, req.Origin)
	sent := corscheck.PreflightRequestHeaders(req)
	if len(c.headers) > 0 {
		resp.Header.Set(dataplanes.HeaderAllowHeaders, strings.Join(c.headers, ","))
	} else if acrh := sent.Get(dataplanes.HeaderRequestHeaders); acrh != "" {
		resp.Header.Set(dataplanes.HeaderAllowHeaders, acrh)
	}
	methods := defaultMethods
	if c.methodsSet {
		methods = c.methods
	}
	resp.Header.Set(dataplanes.HeaderAllowMethods, strings.Join(methods, ","))
	if c.maxAge != nil {
		resp.Header.Set(dataplanes.HeaderMaxAge, strconv.FormatInt(*c.maxAge, 10))
	}
	return resp, nil
}

// Actual answers the actual request as CorsHandler:header_filter does:
// the backend's response with the CORS headers.
func (m *model) Actual(req corscheck.Request) (corscheck.Response, error) {
	resp := dataplanes.BackendResponse()
	c := m.plugin
	if c == nil || req.Origin == "" {
		return resp, nil
	}
	c.originHeaders(resp.Header, req.Origin)
	if len(c.expose) > 0 {
		resp.Header.Set(dataplanes.HeaderExposeHeaders, strings.Join(c.expose, ","))
	}
	return resp, nil
}

// namespaceOf is the namespace of "namespace/name".
func namespaceOf(ref string) string {
	namespace, _, _ := strings.Cut(ref, "/")
	return namespace
}

// hasCorsPlugin reports whether plugins hold an enabled cors KongPlugin.
func hasCorsPlugin(plugins []Plugin) bool {
	return slices.ContainsFunc(plugins, func(p Plugin) bool {
		if p.Object == nil {
			return false
		}
		name, _, _ := unstructured.NestedString(p.Object.Object, "plugin")
		return name == PluginName
	})
}
