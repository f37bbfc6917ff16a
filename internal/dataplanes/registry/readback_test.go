package registry

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/corsrules/corsrulestest"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

// requestOrigins are the origins every rendered configuration is asked
// about, near misses included.
var requestOrigins = []string{
	"https://app.example.com", "https://a.example.com", "https://a.b.example.com", "https://example.com",
	"https://evilexample.com", "https://app.example.com.evil.net", "http://app.example.com", "https://app.example.com:8443",
	"http://localhost:3000", "http://127.0.0.1:8080", "http://[::1]:3000", "null", "https://evil.example",
}

// TestRenderedConfigurationsReadBack cross-checks the renderers with these
// models: every value kubecors writes is read by the data plane as written
// (no fall-back, nothing skipped), and whatever the data plane then lets a
// browser do, the policy allows (the rendering invariant "never broaden"),
// exactly so on Traefik. Gateway API's CORS filter is checked too.
func TestRenderedConfigurationsReadBack(t *testing.T) {
	allowed := map[string]int{}
	for _, c := range corsrulestest.Cases {
		if !c.Valid {
			continue
		}
		policy := dataplanes.Policy{Namespace: "shop", Name: "api", Spec: c.Spec}
		want := dataplanes.ParsePolicy(c.Spec)
		for _, plane := range All() {
			dp := plane.Name
			m, _, refused, err := plane.Rendered(policy, dataplanes.IngressTarget{Namespace: "shop", Name: "web"})
			if err != nil {
				t.Fatalf("%s on %s: the rendered configuration does not load: %v", c.Name, dp, err)
			}
			if refused != "" {
				continue
			}
			for _, s := range m.Effective().Settings {
				if s.Source == dataplanes.SourceFallback || s.Source == dataplanes.SourceNarrowed {
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
				if dp == traefik.Name && got.Allowed != policyVerdict.Allowed {
					t.Errorf("%s on traefik: allowed %v, the policy says %v for %s", c.Name, got.Allowed, policyVerdict.Allowed, describe(req))
				}
			}
		}
	}
	// A cross-check that allows nothing proves nothing.
	for _, dp := range Names() {
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
