package contour

import (
	"strings"
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

// FuzzParseCorsPolicy reads arbitrary corsPolicies: the reader must never
// panic, and what it reads must answer a browser.
func FuzzParseCorsPolicy(f *testing.F) {
	f.Add("https://app.example.com,^https://(?:[a-z]+\\.)+example\\.com$", "GET,PUT", "x-a", true, "10m", "https://a.example.com")
	f.Add("*", "", "", true, "0", "null")
	f.Add("https://*.example.com", "*", "*", false, "-1s", "https://x.example.com")
	f.Fuzz(func(t *testing.T, origins, methods, headers string, credentials bool, maxAge, requestOrigin string) {
		list := func(s string) []any {
			var out []any
			for item := range strings.SplitSeq(s, ",") {
				out = append(out, item)
			}
			return out
		}
		m, _ := ParseCorsPolicy(map[string]any{"allowOrigin": list(origins), "allowMethods": list(methods), "allowHeaders": list(headers),
			"allowCredentials": credentials, "maxAge": maxAge}, "spec.virtualhost.corsPolicy")
		dataplanestest.CheckModelAnswers(t, m, requestOrigin)
	})
}
