package haproxyingress

import (
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

func FuzzParseHAProxyIngress(f *testing.F) {
	f.Add("true", "https://a.example.com,https://b.example.com", `^https://[a-z]+\.example\.org$`, "true", "https://b.example.com")
	f.Add("true", "", "(", "nope", "https://evil.example")
	f.Fuzz(func(t *testing.T, enable, origins, regexes, credentials, origin string) {
		m := ParseHAProxyIngress(map[string]string{
			CorsEnable: enable, AllowOrigin: origins, AllowOriginRegex: regexes, AllowCredentials: credentials,
		})
		dataplanestest.CheckModelAnswers(t, m, origin)
	})
}
