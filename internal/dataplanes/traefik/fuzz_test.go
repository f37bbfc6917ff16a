package traefik

import (
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

func FuzzParseTraefik(f *testing.F) {
	f.Add("https://app.example.com", `^https://[a-z]+\.example\.org$`, true, "https://x.example.org")
	f.Add("*", "(", false, "null")
	f.Fuzz(func(t *testing.T, origin, regex string, credentials bool, requestOrigin string) {
		mw := middleware("fuzz", map[string]any{
			"accessControlAllowOriginList": []any{origin}, "accessControlAllowOriginListRegex": []any{regex},
			"accessControlAllowCredentials": credentials,
		})
		m, err := ParseTraefik([]Middleware{{Ref: "shop-fuzz@kubernetescrd", Object: mw}})
		if err != nil {
			return
		}
		dataplanestest.CheckModelAnswers(t, m, requestOrigin)
	})
}
