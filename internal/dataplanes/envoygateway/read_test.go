package envoygateway

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

// durationPattern is the pattern of Gateway API's Duration, which
// SecurityPolicy's maxAge uses.
var durationPattern = regexp.MustCompile(`^([0-9]{1,5}(h|m|s|ms)){1,4}$`)

func TestEnvoyGateway(t *testing.T) {
	m := ParseCORS(map[string]any{
		"allowOrigins":     []any{"https://app.example.com", "https://*.example.org"},
		"allowMethods":     []any{"GET", "PUT"},
		"allowHeaders":     []any{"X-Request-Id"},
		"exposeHeaders":    []any{"X-Total"},
		"allowCredentials": true,
		"maxAge":           "10m",
	}, "spec.cors")
	dataplanestest.CheckExchanges(t, m, []dataplanestest.ExchangeCase{
		{Name: "exact origin: Envoy answers the preflight with 200 and echoes the origin, no Vary", Origin: "https://app.example.com", WantStatus: http.StatusOK,
			WantPreflight: map[string]string{dataplanes.HeaderAllowOrigin: "https://app.example.com", dataplanes.HeaderAllowCredentials: "true",
				dataplanes.HeaderAllowMethods: "GET, PUT", dataplanes.HeaderAllowHeaders: "X-Request-Id", dataplanes.HeaderMaxAge: "600"},
			WantActual: map[string]string{dataplanes.HeaderAllowOrigin: "https://app.example.com", dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderExposeHeaders: "X-Total"}},
		{Name: `"*." becomes ".*": any depth`, Origin: "https://a.b.example.org",
			WantActual: map[string]string{dataplanes.HeaderAllowOrigin: "https://a.b.example.org", dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderExposeHeaders: "X-Total"}},
		{Name: `"*." becomes ".*": characters no host label has`, Origin: "https://a_b.example.org",
			WantActual: map[string]string{dataplanes.HeaderAllowOrigin: "https://a_b.example.org", dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderExposeHeaders: "X-Total"}},
		{Name: "the regex is matched in full", Origin: "https://a.example.org.evil.net", WantStatus: http.StatusOK,
			WantPreflight: map[string]string{}, WantActual: map[string]string{}},
	})
	star := ParseCORS(map[string]any{"allowOrigins": []any{"*"}, "allowMethods": []any{"*"}, "allowHeaders": []any{"*", "X"}}, "spec.cors")
	dataplanestest.CheckExchanges(t, star, []dataplanestest.ExchangeCase{
		{Name: `"*" echoes the origin, and "*" in methods or headers echoes the request`, Origin: "https://evil.example", Method: "PATCH",
			Headers:       http.Header{"Authorization": {"x"}},
			WantPreflight: map[string]string{dataplanes.HeaderAllowOrigin: "https://evil.example", dataplanes.HeaderAllowMethods: "PATCH", dataplanes.HeaderAllowHeaders: "authorization"}},
	})
	if s, _ := ParseCORS(map[string]any{"allowOrigins": []any{"https://a.example"}, "maxAge": "soon"}, "spec.cors").Effective().Setting(dataplanes.SettingMaxAge); s.Source != dataplanes.SourceFallback {
		t.Errorf("a maxAge that is no duration is dropped: got %+v", s)
	}
}
