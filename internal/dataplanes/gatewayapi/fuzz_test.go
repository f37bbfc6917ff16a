package gatewayapi

import (
	"strings"
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

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
		dataplanestest.CheckModelAnswers(t, m, origin)
	})
}
