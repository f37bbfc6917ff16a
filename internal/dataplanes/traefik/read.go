package traefik

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// MiddlewaresAnnotation is the Ingress annotation that chains
// Middlewares onto the routers Traefik builds for the Ingress.
const MiddlewaresAnnotation = "traefik.ingress.kubernetes.io/router.middlewares"

// MiddlewareList is the router.middlewares list as kubecors shares it with
// users: its entries are recorded in kubecors.io/traefik-middlewares.
var MiddlewareList = dataplanes.SharedList{Key: MiddlewaresAnnotation, RecordKey: "kubecors.io/traefik-middlewares"}

// CRDProvider is the suffix of a reference to a Middleware object of
// the Kubernetes CRD provider.
const CRDProvider = "@kubernetescrd"

// The Middleware kind of Traefik's CRD provider.
const (
	Group   = "traefik.io"
	Version = "v1alpha1"
	Kind    = "Middleware"
)

// MiddlewareRef is one entry of the router.middlewares annotation.
type MiddlewareRef struct {
	// Ref is the entry as written, e.g. "default-cors@kubernetescrd".
	Ref string
	// CRD is true for a reference to a Middleware object
	// ("<namespace>-<name>@kubernetescrd"); other providers' middlewares
	// (@file, @docker) are not visible from the cluster.
	CRD bool
}

// ParseMiddlewareRefs splits the router.middlewares annotation the way
// Traefik's Ingress provider does: comma-separated, trimmed.
func ParseMiddlewareRefs(annotation string) []MiddlewareRef {
	items := dataplanes.SplitList(annotation)
	refs := make([]MiddlewareRef, 0, len(items))
	for _, item := range items {
		refs = append(refs, MiddlewareRef{Ref: item, CRD: strings.HasSuffix(item, CRDProvider)})
	}
	return refs
}

// Matches reports whether the reference names the Middleware object
// namespace/name. Namespaces and names may both contain "-", so a reference
// is resolved against existing objects rather than split.
func (r MiddlewareRef) Matches(namespace, name string) bool {
	return r.CRD && r.Ref == namespace+"-"+name+CRDProvider
}

// traefikHeaders is the CORS part of one headers Middleware
// (dynamic.Headers of Traefik v3.6).
type traefikHeaders struct {
	name            string
	hasCors         bool
	credentials     bool
	allowHeaders    []string
	allowMethods    []string
	originList      []string
	originRegexes   []*regexp.Regexp
	originPatterns  []string
	expose          []string
	maxAge          int64
	addVary         bool
	customResponses map[string]string
}

// model answers requests as a Traefik router with a chain of Middlewares.
type model struct {
	effective dataplanes.Effective
	chain     []traefikHeaders
}

// Middleware is a Middleware object in a router's chain, in order.
type Middleware struct {
	// Ref is the router.middlewares entry that named it.
	Ref string
	// Object is the Middleware; nil when it does not exist.
	Object *unstructured.Unstructured
}

// ParseTraefik reads the Middlewares a router chains, in order, the way
// Traefik v3.6 does, and returns its model. It fails when a Middleware is
// missing or its origin regex does not compile: Traefik then does not serve
// the router at all.
//
// Source (traefik/traefik v3.6.0): pkg/middlewares/headers/header.go
// (NewHeader, ServeHTTP, processCorsHeaders, PostRequestModifyResponseHeaders,
// isOriginAllowed) and pkg/config/dynamic/middlewares.go
// (HasCorsHeadersDefined). A headers Middleware with any CORS field answers
// a preflight (OPTIONS with Origin and Access-Control-Request-Method) itself
// with 200, Allow-Credentials (whatever the origin), Allow-Headers,
// Allow-Methods, Allow-Origin when the origin is allowed, and Max-Age; no
// Vary and no Expose-Headers. On other responses it sets, after
// customResponseHeaders, Allow-Origin when allowed (the list item, so "*"
// stays "*"; a regex match echoes the Origin), Allow-Credentials,
// Expose-Headers and, with addVaryHeader, Vary: Origin. Origins are compared
// byte for byte; regexes with Go's unanchored MatchString. Middlewares wrap
// each other in order, so the first one with CORS fields answers the
// preflight, and on the way back the outer Middlewares' settings win.
func ParseTraefik(middlewares []Middleware) (dataplanes.Model, error) {
	m := &model{effective: dataplanes.Effective{DataPlane: Name}}
	for i, mw := range middlewares {
		if mw.Object == nil {
			return nil, fmt.Errorf("middleware %q does not exist: Traefik does not serve a router whose middleware is missing", mw.Ref)
		}
		h, err := parseTraefikHeaders(mw.Object)
		if err != nil {
			return nil, fmt.Errorf("middleware %q: %w", mw.Ref, err)
		}
		h.name = fmt.Sprintf("%s/%s", mw.Object.GetNamespace(), mw.Object.GetName())
		m.chain = append(m.chain, h)
		m.effective.Settings = append(m.effective.Settings, traefikSettings(i, h)...)
	}
	m.summarise()
	return m, nil
}

// parseTraefikHeaders reads spec.headers of a Middleware; a Middleware of
// another kind passes requests through.
func parseTraefikHeaders(obj *unstructured.Unstructured) (traefikHeaders, error) {
	headers, found, err := unstructured.NestedMap(obj.Object, "spec", "headers")
	if err != nil {
		return traefikHeaders{}, fmt.Errorf("spec.headers: %w", err)
	}
	if !found {
		return traefikHeaders{}, nil
	}
	list := func(key string) []string {
		values, _, _ := unstructured.NestedStringSlice(headers, key)
		return values
	}
	h := traefikHeaders{
		allowHeaders:    list("accessControlAllowHeaders"),
		allowMethods:    list("accessControlAllowMethods"),
		originList:      list("accessControlAllowOriginList"),
		originPatterns:  list("accessControlAllowOriginListRegex"),
		expose:          list("accessControlExposeHeaders"),
		customResponses: map[string]string{},
	}
	h.credentials, _, _ = unstructured.NestedBool(headers, "accessControlAllowCredentials")
	h.addVary, _, _ = unstructured.NestedBool(headers, "addVaryHeader")
	h.maxAge, _, _ = unstructured.NestedInt64(headers, "accessControlMaxAge")
	if custom, ok, _ := unstructured.NestedStringMap(headers, "customResponseHeaders"); ok {
		h.customResponses = custom
	}
	for _, expr := range h.originPatterns {
		re, err := regexp.Compile(expr)
		if err != nil {
			return traefikHeaders{}, fmt.Errorf("accessControlAllowOriginListRegex %q does not compile, so Traefik does not serve the router: %w", expr, err)
		}
		h.originRegexes = append(h.originRegexes, re)
	}
	h.hasCors = h.credentials || len(h.allowHeaders) > 0 || len(h.allowMethods) > 0 || len(h.originList) > 0 ||
		len(h.originPatterns) > 0 || len(h.expose) > 0 || h.maxAge != 0 || h.addVary
	return h, nil
}

// traefikSettings describes one Middleware's CORS fields.
func traefikSettings(index int, h traefikHeaders) []dataplanes.Setting {
	if !h.hasCors && !customCorsHeaders(h) {
		return nil
	}
	key := func(field string) string {
		return fmt.Sprintf("middlewares[%d](%s).spec.headers.%s", index, h.name, field)
	}
	joined := func(name, field string, values []string) dataplanes.Setting {
		v := strings.Join(values, ",")
		s := dataplanes.Setting{Name: name, Key: key(field), Written: v, Present: len(values) > 0, Effective: v, Source: dataplanes.SourceWritten}
		if len(values) == 0 {
			s.Source = dataplanes.SourceDefault
		}
		return s
	}
	settings := []dataplanes.Setting{
		joined(dataplanes.SettingAllowOrigins, "accessControlAllowOriginList", h.originList),
		joined(dataplanes.SettingAllowOriginRegexes, "accessControlAllowOriginListRegex", h.originPatterns),
		joined(dataplanes.SettingAllowMethods, "accessControlAllowMethods", h.allowMethods),
		joined(dataplanes.SettingAllowHeaders, "accessControlAllowHeaders", h.allowHeaders),
		joined(dataplanes.SettingExposeHeaders, "accessControlExposeHeaders", h.expose),
		{Name: dataplanes.SettingAllowCredentials, Key: key("accessControlAllowCredentials"), Written: strconv.FormatBool(h.credentials),
			Present: h.credentials, Effective: strconv.FormatBool(h.credentials), Source: dataplanes.SourceWritten},
		{Name: dataplanes.SettingMaxAge, Key: key("accessControlMaxAge"), Written: strconv.FormatInt(h.maxAge, 10),
			Present: h.maxAge != 0, Effective: strconv.FormatInt(h.maxAge, 10), Source: dataplanes.SourceWritten},
	}
	for i := range settings {
		if settings[i].Name == dataplanes.SettingAllowCredentials || settings[i].Name == dataplanes.SettingMaxAge {
			if !settings[i].Present {
				settings[i].Source, settings[i].Written = dataplanes.SourceDefault, ""
			}
		}
	}
	names := make([]string, 0, len(h.customResponses))
	for name := range h.customResponses {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		value := h.customResponses[name]
		if strings.HasPrefix(strings.ToLower(name), "access-control-") || strings.EqualFold(name, dataplanes.HeaderVary) {
			settings = append(settings, dataplanes.Setting{Name: dataplanes.SettingCustomHeaders, Key: key("customResponseHeaders." + name),
				Written: value, Present: true, Effective: value, Source: dataplanes.SourceWritten,
				Note: "set on every response that passes through the Middleware, whatever the origin"})
		}
	}
	return settings
}

// customCorsHeaders reports whether a Middleware writes CORS headers by hand
// through customResponseHeaders.
func customCorsHeaders(h traefikHeaders) bool {
	for name := range h.customResponses {
		if strings.HasPrefix(strings.ToLower(name), "access-control-") {
			return true
		}
	}
	return false
}

// summarise fills the effective configuration from the Middleware that
// answers preflights (the first one with CORS fields).
func (m *model) summarise() {
	e := &m.effective
	e.AllowOrigins, e.AllowMethods, e.AllowHeaders, e.ExposeHeaders = []string{}, []string{}, []string{}, []string{}
	e.Preflight = "the backend: no Middleware of the router has CORS fields"
	for _, h := range m.chain {
		if !h.hasCors {
			continue
		}
		e.Enabled = true
		e.AllowOrigins = dataplanes.EmptyIfNil(h.originList)
		e.AllowOriginRegexes = h.originPatterns
		e.AnyOrigin = slices.Contains(h.originList, "*")
		e.AllowMethods = dataplanes.EmptyIfNil(h.allowMethods)
		e.AllowHeaders = dataplanes.EmptyIfNil(h.allowHeaders)
		e.ExposeHeaders = dataplanes.EmptyIfNil(h.expose)
		e.AllowCredentials = h.credentials
		e.MaxAge = new(h.maxAge)
		e.VaryOrigin = h.addVary
		e.Preflight = fmt.Sprintf("Traefik (Middleware %s) answers preflights itself with 200", h.name)
		return
	}
	for _, h := range m.chain {
		if customCorsHeaders(h) {
			e.Enabled = true
			e.Preflight = "the backend: CORS headers are set only through customResponseHeaders, which answer no preflight"
		}
	}
}

// Effective returns the configuration the model answers from.
func (m *model) Effective() dataplanes.Effective { return m.effective }

// preflighter is the index of the Middleware that answers the preflight,
// or -1 when the backend does.
func (m *model) preflighter() int {
	for i, h := range m.chain {
		if h.hasCors {
			return i
		}
	}
	return -1
}

// AnsweredBy says who answers req.
func (m *model) AnsweredBy(_ corscheck.Request, preflight bool) string {
	if preflight && m.preflighter() >= 0 || !preflight && m.effective.Enabled {
		return dataplanes.ByDataPlane
	}
	return dataplanes.ByBackend
}

// Preflight answers a preflight as the Middleware chain does.
func (m *model) Preflight(req corscheck.Request) (corscheck.Response, error) {
	i := m.preflighter()
	if i < 0 || req.Origin == "" {
		return m.modify(dataplanes.BackendResponse(), req, len(m.chain)-1), nil
	}
	h := m.chain[i]
	resp := corscheck.Response{Status: http.StatusOK, Header: http.Header{}}
	if h.credentials {
		resp.Header.Set(dataplanes.HeaderAllowCredentials, dataplanes.CredentialsTrue)
	}
	if v := strings.Join(h.allowHeaders, ","); v != "" {
		resp.Header.Set(dataplanes.HeaderAllowHeaders, v)
	}
	if v := strings.Join(h.allowMethods, ","); v != "" {
		resp.Header.Set(dataplanes.HeaderAllowMethods, v)
	}
	if ok, match := h.originAllowed(req.Origin); ok {
		resp.Header.Set(dataplanes.HeaderAllowOrigin, match)
	}
	resp.Header.Set(dataplanes.HeaderMaxAge, strconv.FormatInt(h.maxAge, 10))
	resp.Header.Set(dataplanes.HeaderContentLength, "0")
	// The Middlewares outside the one that answered still modify the
	// response on its way out.
	return m.modify(resp, req, i-1), nil
}

// Actual answers the actual request: the backend's response, modified by
// every Middleware from the innermost out.
func (m *model) Actual(req corscheck.Request) (corscheck.Response, error) {
	return m.modify(dataplanes.BackendResponse(), req, len(m.chain)-1), nil
}

// modify applies PostRequestModifyResponseHeaders of the Middlewares from
// index from down to the outermost.
func (m *model) modify(resp corscheck.Response, req corscheck.Request, from int) corscheck.Response {
	for i := from; i >= 0; i-- {
		m.chain[i].postModify(resp.Header, req.Origin)
	}
	return resp
}

// postModify is PostRequestModifyResponseHeaders of one headers Middleware.
func (h traefikHeaders) postModify(header http.Header, origin string) {
	for name, value := range h.customResponses {
		if value == "" {
			header.Del(name)
		} else {
			header.Set(name, value)
		}
	}
	if ok, match := h.originAllowed(origin); ok {
		header.Set(dataplanes.HeaderAllowOrigin, match)
	}
	if h.credentials {
		header.Set(dataplanes.HeaderAllowCredentials, dataplanes.CredentialsTrue)
	}
	if len(h.expose) > 0 {
		header.Set(dataplanes.HeaderExposeHeaders, strings.Join(h.expose, ","))
	}
	if !h.addVary {
		return
	}
	vary := header.Get(dataplanes.HeaderVary)
	if vary == "Origin" {
		return
	}
	if vary != "" {
		vary += ","
	}
	header.Set(dataplanes.HeaderVary, vary+"Origin")
}

// originAllowed is isOriginAllowed.
func (h traefikHeaders) originAllowed(origin string) (bool, string) {
	for _, item := range h.originList {
		if item == "*" || item == origin {
			return true, item
		}
	}
	for _, re := range h.originRegexes {
		if re.MatchString(origin) {
			return true, origin
		}
	}
	return false, ""
}
