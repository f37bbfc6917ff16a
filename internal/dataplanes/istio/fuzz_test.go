package istio

import (
	"strings"
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

// FuzzParseCorsPolicy reads arbitrary corsPolicies: the reader must never
// panic, and what it reads must answer a browser.
func FuzzParseCorsPolicy(f *testing.F) {
	f.Add("exact", "https://app.example.com", "GET,PUT", "x-a", true, "600s", "IGNORE", "https://app.example.com")
	f.Add("prefix", "https://app.example.com", "", "", true, "", "", "https://app.example.com.evil.net")
	f.Add("regex", `^https://(?:[a-z0-9-]+\.)+example\.com$`, "*", "*", false, "1.5s", "FORWARD", "null")
	f.Fuzz(func(t *testing.T, matchType, origin, methods, headers string, credentials bool, maxAge, unmatched, requestOrigin string) {
		list := func(s string) []any {
			var out []any
			for item := range strings.SplitSeq(s, ",") {
				out = append(out, item)
			}
			return out
		}
		cors := map[string]any{
			"allowOrigins": []any{map[string]any{matchType: origin}}, "allowMethods": list(methods), "allowHeaders": list(headers),
			"allowCredentials": credentials, "maxAge": maxAge, "unmatchedPreflights": unmatched,
		}
		m, _ := ParseCorsPolicy(cors, "spec.http[0].corsPolicy")
		dataplanestest.CheckModelAnswers(t, m, requestOrigin)
	})
}
