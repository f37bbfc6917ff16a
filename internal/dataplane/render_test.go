package dataplane

import (
	"fmt"
	"net/http"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/corsrules/corsrulestest"
	"github.com/kubecors/kubecors/internal/render"
)

// requestOrigins are the origins every rendered configuration is asked
// about, near misses included.
var requestOrigins = []string{
	"https://app.example.com", "https://a.example.com", "https://a.b.example.com", "https://example.com",
	"https://evilexample.com", "https://app.example.com.evil.net", "http://app.example.com", "https://app.example.com:8443",
	"http://localhost:3000", "http://127.0.0.1:8080", "http://[::1]:3000", "null", "https://evil.example",
}

// renderedModel renders a spec for a data plane and reads it back.
func renderedModel(t *testing.T, registry *render.Registry, dp string, spec render.Policy) (Model, bool) {
	t.Helper()
	if dp == GatewayAPI {
		filter, ok := render.RenderHTTPRouteCORS(spec).RouteFilter()
		if !ok {
			return nil, false
		}
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(filter.CORS)
		if err != nil {
			t.Fatal(err)
		}
		return ParseGatewayCORS(content, "cors"), true
	}
	renderer, ok := registry.ByName(dp)
	if !ok {
		t.Fatalf("no renderer %q", dp)
	}
	cfg := renderer.RenderIngress(spec, render.IngressTarget{Namespace: "shop", Name: "web"})
	if cfg.Refused != "" {
		return nil, false
	}
	if dp == Traefik {
		var chain []TraefikMiddleware
		for i, obj := range cfg.Objects {
			chain = append(chain, TraefikMiddleware{Ref: cfg.Middlewares[i], Object: obj})
		}
		m, err := ParseTraefik(chain)
		if err != nil {
			t.Fatalf("rendered Middleware does not load: %v", err)
		}
		return m, true
	}
	m, err := ParseIngressAnnotations(dp, cfg.Annotations)
	if err != nil {
		t.Fatal(err)
	}
	return m, true
}

// TestRenderedConfigurationsReadBack cross-checks the renderers with these
// models: every value kubecors writes is read by the data plane as written
// (no fall-back, nothing skipped), and whatever the data plane then lets a
// browser do, the policy allows (the rendering invariant "never broaden"),
// exactly so on Traefik. Gateway API's CORS filter is checked too.
func TestRenderedConfigurationsReadBack(t *testing.T) {
	registry, err := render.NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]int{}
	for _, c := range corsrulestest.Cases {
		if !c.Valid {
			continue
		}
		policy := render.Policy{Namespace: "shop", Name: "api", Spec: c.Spec}
		want := ParsePolicy(c.Spec)
		for _, dp := range append(render.RendererNames(), GatewayAPI) {
			m, ok := renderedModel(t, registry, dp, policy)
			if !ok {
				continue
			}
			for _, s := range m.Effective().Settings {
				if s.Source == SourceFallback || s.Source == SourceNarrowed {
					t.Errorf("%s on %s: %s=%q is not read as written: %s", c.Name, dp, s.Key, s.Written, s.Note)
				}
			}
			for _, req := range requests() {
				_, got, err := corscheck.Run(m, req)
				if err != nil {
					continue
				}
				if got.Allowed {
					allowed[dp]++
				}
				_, policyVerdict, _ := corscheck.Run(want, req)
				if got.Allowed && !policyVerdict.Allowed {
					t.Errorf("%s on %s broadens the policy: %s is allowed by the data plane, not by the policy (%s)",
						c.Name, dp, describe(req), policyVerdict.Failure.Message)
				}
				if dp == Traefik && got.Allowed != policyVerdict.Allowed {
					t.Errorf("%s on traefik: allowed %v, the policy says %v for %s", c.Name, got.Allowed, policyVerdict.Allowed, describe(req))
				}
			}
		}
	}
	// A cross-check that allows nothing proves nothing.
	for _, dp := range append(render.RendererNames(), GatewayAPI) {
		if allowed[dp] < 50 {
			t.Errorf("%s allowed only %d requests over all cases", dp, allowed[dp])
		}
	}
	t.Logf("allowed requests per data plane: %v", allowed)
}

// requests are the browser requests of the cross-check.
func requests() []corscheck.Request {
	out := make([]corscheck.Request, 0, 24*len(requestOrigins))
	for _, origin := range requestOrigins {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, "PATCH"} {
			for _, header := range []string{"", "X-Request-Id", "Authorization"} {
				for _, credentials := range []bool{false, true} {
					req := corscheck.Request{Origin: origin, Method: method, Headers: http.Header{}, Credentials: credentials}
					if header != "" {
						req.Headers.Set(header, "1")
					}
					out = append(out, req)
				}
			}
		}
	}
	return out
}

func describe(req corscheck.Request) string {
	return fmt.Sprintf("%s from %s (headers %v, credentials %v)", req.Method, req.Origin, req.Headers, req.Credentials)
}
