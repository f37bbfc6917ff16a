package dataplane

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kubecors/kubecors/internal/corscheck"
)

// checkModelAnswers asks a model the questions explain and audit ask, so
// that a parser's output can never make them panic, and checks the one
// thing every data plane here guarantees: Allow-Origin is one value.
func checkModelAnswers(t *testing.T, m Model, origin string) {
	t.Helper()
	req := corscheck.Request{Origin: origin, Method: http.MethodPut, Headers: http.Header{"X-Request-Id": {"1"}}, Credentials: true}
	for _, answer := range []func(corscheck.Request) (corscheck.Response, error){m.Preflight, m.Actual} {
		resp, err := answer(req)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(resp.Header.Values(HeaderAllowOrigin)); n > 1 {
			t.Fatalf("Access-Control-Allow-Origin sent %d times", n)
		}
	}
	_ = m.AnsweredBy(req, true)
	_, _, _ = corscheck.Run(m, req)
}

// FuzzParseIngressNginx feeds arbitrary annotation values to the
// ingress-nginx reader.
func FuzzParseIngressNginx(f *testing.F) {
	f.Add("true", "https://app.example.com, https://*.example.com", "GET, PUT", "X-Request-Id", "false", "600", "https://a.example.com")
	f.Add("true", "", "", "", "", "", "https://evil.example")
	f.Add("TRUE", "null,https://x", "M-SEARCH", "X.Y", "yes", "-1", "null")
	f.Fuzz(func(t *testing.T, enable, origins, methods, headers, credentials, maxAge, origin string) {
		m := ParseIngressNginx(map[string]string{
			NginxEnableCors: enable, NginxAllowOrigin: origins, NginxAllowMethods: methods,
			NginxAllowHeaders: headers, NginxAllowCredentials: credentials, NginxMaxAge: maxAge,
		})
		eff := m.Effective()
		if eff.AnyOrigin && !eff.Enabled {
			t.Fatal("AnyOrigin on a disabled configuration")
		}
		checkModelAnswers(t, m, origin)
	})
}

// FuzzParseHAProxyIngress feeds arbitrary annotation values to the HAProxy
// Ingress reader.
func FuzzParseHAProxyIngress(f *testing.F) {
	f.Add("true", "https://a.example.com,https://b.example.com", `^https://[a-z]+\.example\.org$`, "true", "https://b.example.com")
	f.Add("true", "", "(", "nope", "https://evil.example")
	f.Fuzz(func(t *testing.T, enable, origins, regexes, credentials, origin string) {
		m := ParseHAProxyIngress(map[string]string{
			HAProxyCorsEnable: enable, HAProxyAllowOrigin: origins, HAProxyAllowOriginRegex: regexes, HAProxyAllowCredentials: credentials,
		})
		checkModelAnswers(t, m, origin)
	})
}

// FuzzParseGatewayCORS feeds arbitrary CORS filters to the Gateway API
// reader.
func FuzzParseGatewayCORS(f *testing.F) {
	f.Add("https://www.foo.com,https://*.bar.com", "GET,*", "x-a,*", true, int64(3600), "https://a.b.bar.com")
	f.Add("*", "", "", false, int64(0), "null")
	f.Fuzz(func(t *testing.T, origins, methods, headers string, credentials bool, maxAge int64, origin string) {
		list := func(s string) []any {
			out := make([]any, 0, strings.Count(s, ",")+1)
			for item := range strings.SplitSeq(s, ",") {
				out = append(out, item)
			}
			return out
		}
		m := ParseGatewayCORS(map[string]any{"allowOrigins": list(origins), "allowMethods": list(methods), "allowHeaders": list(headers),
			"allowCredentials": credentials, "maxAge": maxAge}, "cors")
		checkModelAnswers(t, m, origin)
	})
}

// FuzzParseTraefik feeds arbitrary Middleware origin settings to the
// Traefik reader.
func FuzzParseTraefik(f *testing.F) {
	f.Add("https://app.example.com", `^https://[a-z]+\.example\.org$`, true, "https://x.example.org")
	f.Add("*", "(", false, "null")
	f.Fuzz(func(t *testing.T, origin, regex string, credentials bool, requestOrigin string) {
		mw := middleware("fuzz", map[string]any{
			"accessControlAllowOriginList": []any{origin}, "accessControlAllowOriginListRegex": []any{regex},
			"accessControlAllowCredentials": credentials,
		})
		m, err := ParseTraefik([]TraefikMiddleware{{Ref: "shop-fuzz@kubernetescrd", Object: mw}})
		if err != nil {
			return
		}
		checkModelAnswers(t, m, requestOrigin)
	})
}
