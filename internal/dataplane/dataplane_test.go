package dataplane

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/corscheck"
)

// exchangeCase is one request to a model and the CORS part of the answers
// it must give. want* maps hold the exact CORS headers (Access-Control-*
// and Vary); a nil map means "not checked".
type exchangeCase struct {
	name          string
	origin        string
	method        string
	headers       http.Header
	wantPreflight map[string]string
	wantStatus    int
	wantActual    map[string]string
}

// corsHeaders keeps the CORS headers of a response, for comparison.
func corsHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for name, values := range h {
		if strings.HasPrefix(name, "Access-Control-") || name == HeaderVary {
			out[name] = strings.Join(values, ", ")
		}
	}
	return out
}

func checkExchanges(t *testing.T, m Model, cases []exchangeCase) {
	t.Helper()
	for _, c := range cases {
		req := corscheck.Request{Origin: c.origin, Method: c.method, Headers: c.headers}
		if req.Method == "" {
			req.Method = http.MethodPut
		}
		if req.Headers == nil {
			req.Headers = http.Header{}
		}
		pre, err := m.Preflight(req)
		if err != nil {
			t.Fatalf("%s: preflight: %v", c.name, err)
		}
		if c.wantStatus != 0 && pre.Status != c.wantStatus {
			t.Errorf("%s: preflight status %d, want %d", c.name, pre.Status, c.wantStatus)
		}
		if c.wantPreflight != nil {
			if diff := cmp.Diff(c.wantPreflight, corsHeaders(pre.Header)); diff != "" {
				t.Errorf("%s: preflight headers (-want +got):\n%s", c.name, diff)
			}
		}
		act, err := m.Actual(req)
		if err != nil {
			t.Fatalf("%s: actual: %v", c.name, err)
		}
		if c.wantActual != nil {
			if diff := cmp.Diff(c.wantActual, corsHeaders(act.Header)); diff != "" {
				t.Errorf("%s: actual headers (-want +got):\n%s", c.name, diff)
			}
		}
	}
}

// nginxDefaults are the headers ingress-nginx sends with enable-cors alone.
func nginxDefaults(origin string) map[string]string {
	return map[string]string{
		HeaderAllowOrigin: origin, HeaderAllowCredentials: "true", HeaderAllowMethods: NginxDefaultMethods,
		HeaderAllowHeaders: NginxDefaultHeaders, HeaderMaxAge: "1728000",
	}
}

func TestIngressNginx(t *testing.T) {
	none := map[string]string{}
	tests := []struct {
		name        string
		annotations map[string]string
		cases       []exchangeCase
		// wantSources are the sources of the named settings.
		wantSources map[string]Source
		wantAny     bool
		wantOrigins []string
	}{
		{
			name:        "enable-cors alone means any origin, literally, with credentials on by default",
			annotations: map[string]string{NginxEnableCors: "true"},
			cases: []exchangeCase{{name: "preflight answered by nginx", origin: "https://app.example.com", wantStatus: http.StatusNoContent,
				wantPreflight: nginxDefaults("*"), wantActual: nginxDefaults("*")}},
			wantSources: map[string]Source{"allowOrigins": SourceDefault, "allowCredentials": SourceDefault, "maxAge": SourceDefault, "allowMethods": SourceDefault},
			wantAny:     true, wantOrigins: []string{"*"},
		},
		{
			name:        "CORS off: the backend answers",
			annotations: map[string]string{NginxAllowOrigin: "https://app.example.com"},
			cases:       []exchangeCase{{name: "no headers", origin: "https://app.example.com", wantStatus: BackendStatus, wantPreflight: none, wantActual: none}},
			wantSources: map[string]Source{"enabled": SourceDefault},
		},
		{
			name:        "enable-cors that is not a boolean is off",
			annotations: map[string]string{NginxEnableCors: "yes"},
			cases:       []exchangeCase{{name: "no headers", origin: "https://app.example.com", wantPreflight: none, wantActual: none}},
			wantSources: map[string]Source{"enabled": SourceFallback},
		},
		{
			name:        "an origin list that fails validation falls back to any origin",
			annotations: map[string]string{NginxEnableCors: "true", NginxAllowOrigin: "https://app.example.com/", NginxAllowCredentials: "false"},
			cases: []exchangeCase{{name: "star", origin: "https://evil.example", wantStatus: http.StatusNoContent,
				wantActual: map[string]string{HeaderAllowOrigin: "*", HeaderAllowMethods: NginxDefaultMethods, HeaderAllowHeaders: NginxDefaultHeaders, HeaderMaxAge: "1728000"}}},
			wantSources: map[string]Source{"allowOrigins": SourceFallback, "allowCredentials": SourceWritten},
			wantAny:     true, wantOrigins: []string{"*"},
		},
		{
			name: "listed origins are echoed; others get nothing and their preflight goes to the backend",
			annotations: map[string]string{NginxEnableCors: "true", NginxAllowOrigin: "https://app.example.com, https://admin.example.com:8443",
				NginxAllowMethods: "GET, PUT", NginxAllowHeaders: "X-Request-Id", NginxExposeHeaders: "X-Total", NginxAllowCredentials: "true", NginxMaxAge: "600"},
			cases: []exchangeCase{
				{name: "listed", origin: "https://app.example.com", wantStatus: http.StatusNoContent,
					wantPreflight: map[string]string{HeaderAllowOrigin: "https://app.example.com", HeaderAllowCredentials: "true", HeaderAllowMethods: "GET, PUT",
						HeaderAllowHeaders: "X-Request-Id", HeaderExposeHeaders: "X-Total", HeaderMaxAge: "600"}},
				{name: "port must match", origin: "https://admin.example.com", wantStatus: BackendStatus, wantPreflight: none, wantActual: none},
				{name: "look-alike suffix", origin: "https://app.example.com.evil.net", wantPreflight: none, wantActual: none},
			},
			wantOrigins: []string{"https://app.example.com", "https://admin.example.com:8443"},
		},
		{
			name:        `"*." is one DNS label`,
			annotations: map[string]string{NginxEnableCors: "true", NginxAllowOrigin: "https://*.example.com"},
			cases: []exchangeCase{
				{name: "one label", origin: "https://a.example.com", wantStatus: http.StatusNoContent},
				{name: "two labels", origin: "https://a.b.example.com", wantStatus: BackendStatus, wantPreflight: none},
				{name: "the apex", origin: "https://example.com", wantPreflight: none},
			},
		},
		{
			name:        "an entry without scheme is skipped, the others stay",
			annotations: map[string]string{NginxEnableCors: "true", NginxAllowOrigin: "https://app.example.com,admin.example.com"},
			cases:       []exchangeCase{{name: "kept", origin: "https://app.example.com", wantStatus: http.StatusNoContent}},
			wantSources: map[string]Source{"allowOrigins": SourceNarrowed},
			wantOrigins: []string{"https://app.example.com"},
		},
		{
			name:        "when every entry is skipped nginx sends no CORS header at all",
			annotations: map[string]string{NginxEnableCors: "true", NginxAllowOrigin: "app.example.com"},
			cases:       []exchangeCase{{name: "nothing", origin: "https://app.example.com", wantPreflight: none, wantActual: none}},
			wantSources: map[string]Source{"allowOrigins": SourceNarrowed},
		},
		{
			name:        `"*" among other origins makes the list "*"`,
			annotations: map[string]string{NginxEnableCors: "true", NginxAllowOrigin: "https://app.example.com, *"},
			cases:       []exchangeCase{{name: "star", origin: "https://evil.example", wantActual: nginxDefaults("*")}},
			wantSources: map[string]Source{"allowOrigins": SourceFallback},
			wantAny:     true, wantOrigins: []string{"*"},
		},
		{
			name:        `"null" is accepted by current ingress-nginx and matched`,
			annotations: map[string]string{NginxEnableCors: "true", NginxAllowOrigin: "null"},
			cases:       []exchangeCase{{name: "null", origin: "null", wantActual: nginxDefaults("null")}},
			wantOrigins: []string{"null"},
		},
		{
			name: "invalid methods and headers revert to the defaults",
			annotations: map[string]string{NginxEnableCors: "true", NginxAllowOrigin: "https://app.example.com",
				NginxAllowMethods: "GET, M-SEARCH", NginxAllowHeaders: "X.Weird", NginxMaxAge: "soon"},
			cases:       []exchangeCase{{name: "defaults", origin: "https://app.example.com", wantPreflight: nginxDefaults("https://app.example.com")}},
			wantSources: map[string]Source{"allowMethods": SourceFallback, "allowHeaders": SourceFallback, "maxAge": SourceFallback},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ParseIngressNginx(tt.annotations)
			checkExchanges(t, m, tt.cases)
			eff := m.Effective()
			for name, want := range tt.wantSources {
				if s, _ := eff.Setting(name); s.Source != want {
					t.Errorf("setting %s: source %q, want %q (note %q)", name, s.Source, want, s.Note)
				}
			}
			if eff.AnyOrigin != tt.wantAny {
				t.Errorf("AnyOrigin %v, want %v", eff.AnyOrigin, tt.wantAny)
			}
			if tt.wantOrigins != nil && !slices.Equal(eff.AllowOrigins, tt.wantOrigins) {
				t.Errorf("AllowOrigins %q, want %q", eff.AllowOrigins, tt.wantOrigins)
			}
			if eff.VaryOrigin {
				t.Error("ingress-nginx never sends Vary: Origin")
			}
		})
	}
}

func TestHAProxyIngress(t *testing.T) {
	defaults := func(origin string) map[string]string {
		return map[string]string{HeaderAllowOrigin: origin, HeaderAllowMethods: HAProxyDefaultMethods, HeaderAllowHeaders: HAProxyDefaultHeaders}
	}
	withCredentials := func(m map[string]string) map[string]string { m[HeaderAllowCredentials] = "true"; return m }
	withVary := func(m map[string]string) map[string]string { m[HeaderVary] = "Origin"; return m }
	withMaxAge := func(m map[string]string, age string) map[string]string { m[HeaderMaxAge] = age; return m }
	tests := []struct {
		name        string
		annotations map[string]string
		cases       []exchangeCase
		wantAny     bool
	}{
		{
			name:        "cors-enable alone: any origin, credentials off (the code has no default for them), every OPTIONS answered",
			annotations: map[string]string{HAProxyCorsEnable: "true"},
			cases: []exchangeCase{{name: "star", origin: "https://app.example.com", wantStatus: http.StatusNoContent,
				wantPreflight: withMaxAge(defaults("*"), "86400"), wantActual: defaults("*")}},
			wantAny: true,
		},
		{
			name:        "one origin is sent whatever the Origin, without Vary",
			annotations: map[string]string{HAProxyCorsEnable: "true", HAProxyAllowOrigin: "https://app.example.com", HAProxyAllowCredentials: "true"},
			cases: []exchangeCase{{name: "other origin gets it too", origin: "https://evil.example",
				wantActual: withCredentials(defaults("https://app.example.com"))}},
		},
		{
			name:        "an invalid credentials value is ignored: off",
			annotations: map[string]string{HAProxyCorsEnable: "true", HAProxyAllowOrigin: "https://app.example.com", HAProxyAllowCredentials: "yes"},
			cases:       []exchangeCase{{name: "no credentials", origin: "https://app.example.com", wantActual: defaults("https://app.example.com")}},
		},
		{
			name:        "several origins: echo a listed one, else the first, with Vary",
			annotations: map[string]string{HAProxyCorsEnable: "true", HAProxyAllowOrigin: "https://a.example.com,https://b.example.com"},
			cases: []exchangeCase{
				{name: "listed", origin: "https://b.example.com", wantActual: withVary(defaults("https://b.example.com"))},
				{name: "unlisted", origin: "https://evil.example", wantActual: withVary(defaults("https://a.example.com"))},
			},
		},
		{
			name:        "a space in the origin list voids the key: any origin",
			annotations: map[string]string{HAProxyCorsEnable: "true", HAProxyAllowOrigin: "https://a.example.com, https://b.example.com"},
			cases:       []exchangeCase{{name: "star", origin: "https://evil.example", wantActual: defaults("*")}},
			wantAny:     true,
		},
		{
			name: "regexes match and are unanchored unless anchored",
			annotations: map[string]string{HAProxyCorsEnable: "true", HAProxyAllowOrigin: "https://a.example.com",
				HAProxyAllowOriginRegex: `^https://[a-z]+\.example\.com$ example\.org`},
			cases: []exchangeCase{
				{name: "anchored match", origin: "https://b.example.com", wantActual: withVary(defaults("https://b.example.com"))},
				{name: "unanchored look-alike", origin: "https://example.org.evil.net", wantActual: withVary(defaults("https://example.org.evil.net"))},
			},
		},
		{
			name:        "a regex that does not compile voids every regex",
			annotations: map[string]string{HAProxyCorsEnable: "true", HAProxyAllowOrigin: "https://a.example.com", HAProxyAllowOriginRegex: `^https://(.example.com$`},
			cases:       []exchangeCase{{name: "static again", origin: "https://b.example.com", wantActual: defaults("https://a.example.com")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ParseHAProxyIngress(tt.annotations)
			checkExchanges(t, m, tt.cases)
			if got := m.Effective().AnyOrigin; got != tt.wantAny {
				t.Errorf("AnyOrigin %v, want %v", got, tt.wantAny)
			}
		})
	}
}

// middleware builds a Middleware object with spec.headers.
func middleware(name string, headers map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
		"metadata": map[string]any{"namespace": "shop", "name": name},
		"spec":     map[string]any{"headers": headers},
	}}
}

func TestTraefik(t *testing.T) {
	cors := middleware("cors", map[string]any{
		"accessControlAllowOriginList":      []any{"https://app.example.com"},
		"accessControlAllowOriginListRegex": []any{`^https://[a-z]+\.example\.org$`},
		"accessControlAllowMethods":         []any{"GET", "PUT"},
		"accessControlAllowHeaders":         []any{"X-Request-Id"},
		"accessControlExposeHeaders":        []any{"X-Total"},
		"accessControlAllowCredentials":     true,
		"accessControlMaxAge":               int64(600),
		"addVaryHeader":                     true,
	})
	m, err := ParseTraefik([]TraefikMiddleware{{Ref: "shop-cors@kubernetescrd", Object: cors}})
	if err != nil {
		t.Fatal(err)
	}
	checkExchanges(t, m, []exchangeCase{
		{name: "listed origin: preflight answered with 200, no Vary", origin: "https://app.example.com", wantStatus: http.StatusOK,
			wantPreflight: map[string]string{HeaderAllowOrigin: "https://app.example.com", HeaderAllowCredentials: "true", HeaderAllowMethods: "GET,PUT",
				HeaderAllowHeaders: "X-Request-Id", HeaderMaxAge: "600"},
			wantActual: map[string]string{HeaderAllowOrigin: "https://app.example.com", HeaderAllowCredentials: "true", HeaderExposeHeaders: "X-Total", HeaderVary: "Origin"}},
		{name: "regex origin is echoed", origin: "https://b.example.org",
			wantActual: map[string]string{HeaderAllowOrigin: "https://b.example.org", HeaderAllowCredentials: "true", HeaderExposeHeaders: "X-Total", HeaderVary: "Origin"}},
		{name: "unlisted origin: credentials sent anyway, no Allow-Origin", origin: "https://evil.example", wantStatus: http.StatusOK,
			wantPreflight: map[string]string{HeaderAllowCredentials: "true", HeaderAllowMethods: "GET,PUT", HeaderAllowHeaders: "X-Request-Id", HeaderMaxAge: "600"}},
	})

	custom := middleware("custom", map[string]any{"customResponseHeaders": map[string]any{"Access-Control-Allow-Origin": "*"}})
	m, err = ParseTraefik([]TraefikMiddleware{{Ref: "shop-custom@kubernetescrd", Object: custom}})
	if err != nil {
		t.Fatal(err)
	}
	checkExchanges(t, m, []exchangeCase{{name: "customResponseHeaders answer no preflight", origin: "https://app.example.com",
		wantStatus: BackendStatus, wantPreflight: map[string]string{HeaderAllowOrigin: "*"}, wantActual: map[string]string{HeaderAllowOrigin: "*"}}})
	if eff := m.Effective(); !eff.Enabled || !strings.Contains(eff.Preflight, "backend") {
		t.Errorf("custom headers: Enabled %v, Preflight %q", eff.Enabled, eff.Preflight)
	}

	// The outer Middleware modifies the response after the inner one.
	outer := middleware("outer", map[string]any{"accessControlAllowOriginList": []any{"*"}})
	m, err = ParseTraefik([]TraefikMiddleware{{Ref: "shop-outer@kubernetescrd", Object: outer}, {Ref: "shop-cors@kubernetescrd", Object: cors}})
	if err != nil {
		t.Fatal(err)
	}
	checkExchanges(t, m, []exchangeCase{{name: "outer answers the preflight and wins on the actual response", origin: "https://app.example.com",
		wantPreflight: map[string]string{HeaderAllowOrigin: "*", HeaderMaxAge: "0"},
		wantActual:    map[string]string{HeaderAllowOrigin: "*", HeaderAllowCredentials: "true", HeaderExposeHeaders: "X-Total", HeaderVary: "Origin"}}})

	if _, err := ParseTraefik([]TraefikMiddleware{{Ref: "shop-gone@kubernetescrd"}}); err == nil {
		t.Error("a missing Middleware must fail: Traefik does not serve the router")
	}
	bad := middleware("bad", map[string]any{"accessControlAllowOriginListRegex": []any{"("}})
	if _, err := ParseTraefik([]TraefikMiddleware{{Ref: "shop-bad@kubernetescrd", Object: bad}}); err == nil {
		t.Error("a regex that does not compile must fail: Traefik does not serve the router")
	}
}

func TestMiddlewareRefs(t *testing.T) {
	refs := ParseMiddlewareRefs(" my-ns-auth@kubernetescrd, compress@file ,")
	if len(refs) != 2 || !refs[0].CRD || refs[1].CRD {
		t.Fatalf("refs %+v", refs)
	}
	if !refs[0].Matches("my-ns", "auth") || refs[0].Matches("my", "ns-auth-x") {
		t.Error("Matches must compare namespace-name exactly")
	}
}

// gatewayFilter builds the "cors" object of a CORS filter.
func gatewayFilter(origins, methods, headers []any, credentials bool) map[string]any {
	f := map[string]any{"allowOrigins": origins, "allowCredentials": credentials}
	if methods != nil {
		f["allowMethods"] = methods
	}
	if headers != nil {
		f["allowHeaders"] = headers
	}
	return f
}

// TestGatewayAPI follows conformance/tests/httproute-cors.go.
func TestGatewayAPI(t *testing.T) {
	m := ParseGatewayCORS(map[string]any{
		"allowOrigins": []any{"https://www.foo.com", "https://*.bar.com"}, "allowMethods": []any{"GET", "OPTIONS"},
		"allowHeaders": []any{"x-header-1", "x-header-2"}, "exposeHeaders": []any{"x-header-3", "x-header-4"},
		"allowCredentials": true, "maxAge": int64(3600),
	}, "cors")
	allowed := func(origin string) map[string]string {
		return map[string]string{HeaderAllowOrigin: origin, HeaderAllowMethods: "GET, OPTIONS", HeaderAllowHeaders: "x-header-1, x-header-2",
			HeaderExposeHeaders: "x-header-3, x-header-4", HeaderMaxAge: "3600", HeaderAllowCredentials: "true"}
	}
	checkExchanges(t, m, []exchangeCase{
		{name: "exact origin", origin: "https://www.foo.com", method: http.MethodGet, wantStatus: http.StatusOK, wantPreflight: allowed("https://www.foo.com")},
		{name: "wildcard, one label", origin: "https://www.bar.com", wantPreflight: allowed("https://www.bar.com")},
		{name: "wildcard, several labels", origin: "https://xpto.www.bar.com", wantPreflight: allowed("https://xpto.www.bar.com")},
		{name: "no match", origin: "https://foobar.com", wantStatus: http.StatusOK, wantPreflight: map[string]string{}, wantActual: map[string]string{}},
	})

	star := ParseGatewayCORS(gatewayFilter([]any{"*"}, []any{"*"}, []any{"*"}, true), "cors")
	checkExchanges(t, star, []exchangeCase{{name: `"*" with credentials echoes origin, method and headers`, origin: "https://other.foo.com",
		headers:       http.Header{"X-Header-1": {"a"}, "X-Header-2": {"b"}},
		wantPreflight: map[string]string{HeaderAllowOrigin: "https://other.foo.com", HeaderAllowMethods: "PUT", HeaderAllowHeaders: "x-header-1,x-header-2", HeaderAllowCredentials: "true", HeaderMaxAge: "5"},
		wantActual:    map[string]string{HeaderAllowOrigin: "https://other.foo.com", HeaderAllowCredentials: "true"}}})
	open := ParseGatewayCORS(gatewayFilter([]any{"*"}, []any{"*"}, nil, false), "cors")
	checkExchanges(t, open, []exchangeCase{{name: `"*" without credentials`, origin: "https://foobar.com:12345",
		wantPreflight: map[string]string{HeaderAllowOrigin: "*", HeaderAllowMethods: "*", HeaderMaxAge: "5"}}})

	if none := ParseGatewayCORS(nil, ""); none.Effective().Enabled {
		t.Error("a rule without a CORS filter has no CORS")
	}
}

func TestHTTPRouteRules(t *testing.T) {
	route := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"rules": []any{
		map[string]any{"name": "api", "filters": []any{
			map[string]any{"type": "RequestHeaderModifier"},
			map[string]any{"type": "CORS", "cors": map[string]any{"allowOrigins": []any{"https://a.example.com"}}},
		}},
		map[string]any{"filters": []any{map[string]any{"type": "ExtensionRef", "extensionRef": map[string]any{
			"group": "traefik.io", "kind": "Middleware", "name": "cors"}}}},
		map[string]any{},
	}}}}
	rules := HTTPRouteRules(route)
	if len(rules) != 3 || rules[0].CORSFilterIndex != 1 || rules[0].Label() != `rule "api"` ||
		!slices.Equal(rules[1].Middlewares, []string{"cors"}) || rules[2].CORS != nil || rules[2].Label() != "rule 2" {
		t.Errorf("rules %+v", rules)
	}
}

func TestDetectIngress(t *testing.T) {
	classes := []networkingv1.IngressClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "nginx", Annotations: map[string]string{DefaultIngressClassAnnotation: "true"}},
			Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "traefik"}, Spec: networkingv1.IngressClassSpec{Controller: "traefik.io/ingress-controller"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kong"}, Spec: networkingv1.IngressClassSpec{Controller: "ingress-controllers.konghq.com/kong"}},
	}
	class := func(name string) *string { return &name }
	tests := []struct {
		name string
		ing  networkingv1.Ingress
		want string
	}{
		{"named class", networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: class("traefik")}}, Traefik},
		{"legacy annotation", networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{LegacyIngressClassAnnotation: "traefik"}}}, Traefik},
		{"default class", networkingv1.Ingress{}, IngressNginx},
		{"unknown controller, guessed from annotations", networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{HAProxyCorsEnable: "true"}},
			Spec: networkingv1.IngressSpec{IngressClassName: class("kong")}}, HAProxyIngress},
		{"missing class, nothing to guess from", networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: class("gone")}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectIngress(&tt.ing, classes); got.DataPlane != tt.want {
				t.Errorf("data plane %q (%s), want %q", got.DataPlane, got.How, tt.want)
			}
		})
	}
	if got := ForeignCORSAnnotations(map[string]string{NginxEnableCors: "true", HAProxyCorsEnable: "true"}, Traefik); len(got) != 2 {
		t.Errorf("foreign annotations %q", got)
	}
}
