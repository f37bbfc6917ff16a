package dataplanes

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kubecors/kubecors/internal/corscheck"
)

// PolicyDataPlane is the Effective.DataPlane of ParsePolicy's model: no
// data plane but a CorsPolicy's own semantics, as the corsrules package
// defines them, which every renderer aims at.
const PolicyDataPlane = "policy"

// Source says where an effective value came from.
type Source string

// The sources of an effective value.
const (
	// SourceWritten means the value is used as written.
	SourceWritten Source = "written"
	// SourceDefault means nothing was written and the data plane's default
	// applies.
	SourceDefault Source = "default"
	// SourceFallback means a value was written but the data plane rejected
	// it and silently used its default instead.
	SourceFallback Source = "fallback"
	// SourceNarrowed means part of the written value was dropped (an
	// invalid origin skipped) and the rest is used.
	SourceNarrowed Source = "narrowed"
)

// The names of Setting.Name: the CORS notions a configuration sets.
const (
	SettingEnabled            = "enabled"
	SettingAllowOrigins       = "allowOrigins"
	SettingAllowOriginRegexes = "allowOriginRegexes"
	SettingAllowMethods       = "allowMethods"
	SettingAllowHeaders       = "allowHeaders"
	SettingExposeHeaders      = "exposeHeaders"
	SettingAllowCredentials   = "allowCredentials"
	SettingMaxAge             = "maxAge"
	// SettingCustomHeaders is a Traefik customResponseHeaders entry that
	// writes a CORS header by hand.
	SettingCustomHeaders = "customResponseHeaders"
)

// Setting is one effective configuration value of a target: the key it is
// written under, what was written, what the data plane uses and why.
type Setting struct {
	// Name is the CORS notion, one of the Setting constants.
	Name string `json:"name"`
	// Key is where it is written: an annotation key, or a field path of a
	// Middleware or HTTPRoute.
	Key string `json:"key"`
	// Written is the value as written; empty when Present is false.
	Written string `json:"written,omitempty"`
	// Present reports whether the key is set at all.
	Present bool `json:"present"`
	// Effective is the value the data plane uses, as it sends it.
	Effective string `json:"effective"`
	// Source says whether Effective is the written value, a default or a
	// fall-back.
	Source Source `json:"source"`
	// Note says in plain words why Effective differs from Written.
	Note string `json:"note,omitempty"`
}

// Effective is the configuration a data plane actually applies to a target,
// in CORS terms, with the settings it was read from.
type Effective struct {
	// DataPlane is the data plane's name, e.g. "ingress-nginx".
	DataPlane string `json:"dataPlane"`
	// Enabled reports whether the data plane adds any CORS header at all.
	Enabled bool `json:"enabled"`
	// AnyOrigin is true when every origin is allowed.
	AnyOrigin bool `json:"anyOrigin"`
	// AllowOrigins are the allowed origins as the data plane matches them
	// (exact values or its own wildcard syntax); "*" when AnyOrigin.
	AllowOrigins []string `json:"allowOrigins"`
	// AllowOriginRegexes are regular expressions an Origin is matched with.
	AllowOriginRegexes []string `json:"allowOriginRegexes,omitempty"`
	// AllowMethods is Access-Control-Allow-Methods as sent.
	AllowMethods []string `json:"allowMethods"`
	// AllowHeaders is Access-Control-Allow-Headers as sent.
	AllowHeaders []string `json:"allowHeaders"`
	// ExposeHeaders is Access-Control-Expose-Headers as sent.
	ExposeHeaders []string `json:"exposeHeaders"`
	// AllowCredentials reports whether Access-Control-Allow-Credentials:
	// true is sent.
	AllowCredentials bool `json:"allowCredentials"`
	// MaxAge is Access-Control-Max-Age in seconds; nil when none is sent.
	MaxAge *int64 `json:"maxAge,omitempty"`
	// VaryOrigin reports whether responses that depend on the Origin carry
	// Vary: Origin.
	VaryOrigin bool `json:"varyOrigin"`
	// Preflight says in plain words who answers preflight requests.
	Preflight string `json:"preflight"`
	// Settings are the values the configuration was read from.
	Settings []Setting `json:"settings"`
}

// Setting returns the setting named name, and false when there is none.
func (e Effective) Setting(name string) (Setting, bool) {
	i := slices.IndexFunc(e.Settings, func(s Setting) bool { return s.Name == name })
	if i < 0 {
		return Setting{}, false
	}
	return e.Settings[i], true
}

// Model is a data plane's simulated answer to one target's requests: a
// corscheck.Server, the effective configuration behind it, and who answers
// each request.
type Model interface {
	corscheck.Server
	// Effective is the configuration the answers come from.
	Effective() Effective
	// AnsweredBy says who produces the response to req: the data plane
	// itself, or the backend it forwards to.
	AnsweredBy(req corscheck.Request, preflight bool) string
}

// Who answers a request, as AnsweredBy reports it.
const (
	// ByDataPlane means the data plane answers the request itself or adds
	// its CORS headers to the backend's response.
	ByDataPlane = "data plane"
	// ByBackend means the data plane forwards the request and adds no CORS
	// header; the response is the backend's.
	ByBackend = "backend"
)

// BackendStatus is the status of the simulated backend's responses. The
// backend behind a data plane is assumed to know nothing of CORS: it answers
// every request, OPTIONS included, with 200 and no CORS header. A backend
// that handles CORS itself is outside what explain can see; probe measures
// it.
const BackendStatus = http.StatusOK

// BackendResponse is the simulated backend's answer.
func BackendResponse() corscheck.Response {
	return corscheck.Response{Status: BackendStatus, Header: http.Header{}}
}

// The CORS header names, in their canonical form.
const (
	HeaderAllowOrigin      = "Access-Control-Allow-Origin"
	HeaderAllowCredentials = "Access-Control-Allow-Credentials"
	HeaderAllowMethods     = "Access-Control-Allow-Methods"
	HeaderAllowHeaders     = "Access-Control-Allow-Headers"
	HeaderExposeHeaders    = "Access-Control-Expose-Headers"
	HeaderMaxAge           = "Access-Control-Max-Age"
	HeaderVary             = "Vary"
	HeaderContentType      = "Content-Type"
	HeaderContentLength    = "Content-Length"
	HeaderRequestHeaders   = "Access-Control-Request-Headers"
	HeaderRequestMethod    = "Access-Control-Request-Method"
)

// CredentialsTrue is the one value of Access-Control-Allow-Credentials that
// browsers accept.
const CredentialsTrue = "true"

// SplitList splits a comma-separated value into trimmed, non-empty items.
func SplitList(v string) []string {
	var items []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// BoolWithDefault reads a boolean annotation with strconv.ParseBool, the
// parser both ingress-nginx and HAProxy Ingress use; an absent or
// unparsable value takes fallback. name is the CORS notion the setting
// reports (one of the Setting constants).
func BoolWithDefault(annotations map[string]string, key, name string, fallback bool, absentNote string) (bool, Setting) {
	raw, present := annotations[key]
	s := Setting{Name: name, Key: key, Written: raw, Present: present, Source: SourceWritten}
	v, err := strconv.ParseBool(raw)
	switch {
	case !present:
		v, s.Source, s.Note = fallback, SourceDefault, absentNote
	case err != nil:
		v, s.Source = fallback, SourceFallback
		s.Note = fmt.Sprintf("%q is not a boolean: the default %v applies", raw, fallback)
	}
	s.Effective = strconv.FormatBool(v)
	return v, s
}

// EmptyIfNil keeps JSON output a list rather than null.
func EmptyIfNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
