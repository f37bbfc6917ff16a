package ingressnginx

import (
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

func FuzzParseIngressNginx(f *testing.F) {
	f.Add("true", "https://app.example.com, https://*.example.com", "GET, PUT", "X-Request-Id", "false", "600", "https://a.example.com")
	f.Add("true", "", "", "", "", "", "https://evil.example")
	f.Add("TRUE", "null,https://x", "M-SEARCH", "X.Y", "yes", "-1", "null")
	f.Fuzz(func(t *testing.T, enable, origins, methods, headers, credentials, maxAge, origin string) {
		m := ParseIngressNginx(map[string]string{
			EnableCors: enable, AllowOrigin: origins, AllowMethods: methods,
			AllowHeaders: headers, AllowCredentials: credentials, MaxAge: maxAge,
		})
		eff := m.Effective()
		if eff.AnyOrigin && !eff.Enabled {
			t.Fatal("AnyOrigin on a disabled configuration")
		}
		dataplanestest.CheckModelAnswers(t, m, origin)
	})
}
