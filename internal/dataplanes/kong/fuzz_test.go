package kong

import (
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

func FuzzParseKong(f *testing.F) {
	f.Add("https://app.example.com", `^https://[a-z]+\.example\.org$`, true, "https://x.example.org")
	f.Add("*", "(", false, "null")
	f.Fuzz(func(t *testing.T, origin, regex string, credentials bool, requestOrigin string) {
		p := plugin("fuzz", map[string]any{"origins": []any{origin, regex}, "credentials": credentials})
		m, err := ParseKong([]Plugin{{Ref: "fuzz", Object: p}})
		if err != nil {
			return
		}
		dataplanestest.CheckModelAnswers(t, m, requestOrigin)
	})
}
