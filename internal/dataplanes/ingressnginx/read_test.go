package ingressnginx

import (
	"net/http"
	"slices"
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

func nginxDefaults(origin string) map[string]string {
	return map[string]string{
		dataplanes.HeaderAllowOrigin: origin, dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderAllowMethods: DefaultMethods,
		dataplanes.HeaderAllowHeaders: DefaultHeaders, dataplanes.HeaderMaxAge: "1728000",
	}
}

func TestIngressNginx(t *testing.T) {
	none := map[string]string{}
	tests := []struct {
		name        string
		annotations map[string]string
		cases       []dataplanestest.ExchangeCase
		// wantSources are the sources of the named settings.
		wantSources map[string]dataplanes.Source
		wantAny     bool
		wantOrigins []string
	}{
		{
			name:        "enable-cors alone means any origin, literally, with credentials on by default",
			annotations: map[string]string{EnableCors: "true"},
			cases: []dataplanestest.ExchangeCase{{Name: "preflight answered by nginx", Origin: "https://app.example.com", WantStatus: http.StatusNoContent,
				WantPreflight: nginxDefaults("*"), WantActual: nginxDefaults("*")}},
			wantSources: map[string]dataplanes.Source{"allowOrigins": dataplanes.SourceDefault, "allowCredentials": dataplanes.SourceDefault, "maxAge": dataplanes.SourceDefault, "allowMethods": dataplanes.SourceDefault},
			wantAny:     true, wantOrigins: []string{"*"},
		},
		{
			name:        "CORS off: the backend answers",
			annotations: map[string]string{AllowOrigin: "https://app.example.com"},
			cases:       []dataplanestest.ExchangeCase{{Name: "no headers", Origin: "https://app.example.com", WantStatus: dataplanes.BackendStatus, WantPreflight: none, WantActual: none}},
			wantSources: map[string]dataplanes.Source{"enabled": dataplanes.SourceDefault},
		},
		{
			name:        "enable-cors that is not a boolean is off",
			annotations: map[string]string{EnableCors: "yes"},
			cases:       []dataplanestest.ExchangeCase{{Name: "no headers", Origin: "https://app.example.com", WantPreflight: none, WantActual: none}},
			wantSources: map[string]dataplanes.Source{"enabled": dataplanes.SourceFallback},
		},
		{
			name:        "an origin list that fails validation falls back to any origin",
			annotations: map[string]string{EnableCors: "true", AllowOrigin: "https://app.example.com/", AllowCredentials: "false"},
			cases: []dataplanestest.ExchangeCase{{Name: "star", Origin: "https://evil.example", WantStatus: http.StatusNoContent,
				WantActual: map[string]string{dataplanes.HeaderAllowOrigin: "*", dataplanes.HeaderAllowMethods: DefaultMethods, dataplanes.HeaderAllowHeaders: DefaultHeaders, dataplanes.HeaderMaxAge: "1728000"}}},
			wantSources: map[string]dataplanes.Source{"allowOrigins": dataplanes.SourceFallback, "allowCredentials": dataplanes.SourceWritten},
			wantAny:     true, wantOrigins: []string{"*"},
		},
		{
			name: "listed origins are echoed; others get nothing and their preflight goes to the backend",
			annotations: map[string]string{EnableCors: "true", AllowOrigin: "https://app.example.com, https://admin.example.com:8443",
				AllowMethods: "GET, PUT", AllowHeaders: "X-Request-Id", ExposeHeaders: "X-Total", AllowCredentials: "true", MaxAge: "600"},
			cases: []dataplanestest.ExchangeCase{
				{Name: "listed", Origin: "https://app.example.com", WantStatus: http.StatusNoContent,
					WantPreflight: map[string]string{dataplanes.HeaderAllowOrigin: "https://app.example.com", dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderAllowMethods: "GET, PUT",
						dataplanes.HeaderAllowHeaders: "X-Request-Id", dataplanes.HeaderExposeHeaders: "X-Total", dataplanes.HeaderMaxAge: "600"}},
				{Name: "port must match", Origin: "https://admin.example.com", WantStatus: dataplanes.BackendStatus, WantPreflight: none, WantActual: none},
				{Name: "look-alike suffix", Origin: "https://app.example.com.evil.net", WantPreflight: none, WantActual: none},
			},
			wantOrigins: []string{"https://app.example.com", "https://admin.example.com:8443"},
		},
		{
			name:        `"*." is one DNS label`,
			annotations: map[string]string{EnableCors: "true", AllowOrigin: "https://*.example.com"},
			cases: []dataplanestest.ExchangeCase{
				{Name: "one label", Origin: "https://a.example.com", WantStatus: http.StatusNoContent},
				{Name: "two labels", Origin: "https://a.b.example.com", WantStatus: dataplanes.BackendStatus, WantPreflight: none},
				{Name: "the apex", Origin: "https://example.com", WantPreflight: none},
			},
		},
		{
			name:        "an entry without scheme is skipped, the others stay",
			annotations: map[string]string{EnableCors: "true", AllowOrigin: "https://app.example.com,admin.example.com"},
			cases:       []dataplanestest.ExchangeCase{{Name: "kept", Origin: "https://app.example.com", WantStatus: http.StatusNoContent}},
			wantSources: map[string]dataplanes.Source{"allowOrigins": dataplanes.SourceNarrowed},
			wantOrigins: []string{"https://app.example.com"},
		},
		{
			name:        "when every entry is skipped nginx sends no CORS header at all",
			annotations: map[string]string{EnableCors: "true", AllowOrigin: "app.example.com"},
			cases:       []dataplanestest.ExchangeCase{{Name: "nothing", Origin: "https://app.example.com", WantPreflight: none, WantActual: none}},
			wantSources: map[string]dataplanes.Source{"allowOrigins": dataplanes.SourceNarrowed},
		},
		{
			name:        `"*" among other origins makes the list "*"`,
			annotations: map[string]string{EnableCors: "true", AllowOrigin: "https://app.example.com, *"},
			cases:       []dataplanestest.ExchangeCase{{Name: "star", Origin: "https://evil.example", WantActual: nginxDefaults("*")}},
			wantSources: map[string]dataplanes.Source{"allowOrigins": dataplanes.SourceFallback},
			wantAny:     true, wantOrigins: []string{"*"},
		},
		{
			name:        `"null" is accepted by current ingress-nginx and matched`,
			annotations: map[string]string{EnableCors: "true", AllowOrigin: "null"},
			cases:       []dataplanestest.ExchangeCase{{Name: "null", Origin: "null", WantActual: nginxDefaults("null")}},
			wantOrigins: []string{"null"},
		},
		{
			name: "invalid methods and headers revert to the defaults",
			annotations: map[string]string{EnableCors: "true", AllowOrigin: "https://app.example.com",
				AllowMethods: "GET, M-SEARCH", AllowHeaders: "X.Weird", MaxAge: "soon"},
			cases:       []dataplanestest.ExchangeCase{{Name: "defaults", Origin: "https://app.example.com", WantPreflight: nginxDefaults("https://app.example.com")}},
			wantSources: map[string]dataplanes.Source{"allowMethods": dataplanes.SourceFallback, "allowHeaders": dataplanes.SourceFallback, "maxAge": dataplanes.SourceFallback},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ParseIngressNginx(tt.annotations)
			dataplanestest.CheckExchanges(t, m, tt.cases)
			eff := m.Effective()
			for name, want := range tt.wantSources {
				if s, _ := eff.Setting(name); s.Source != want {
					t.Errorf("setting %s: source %q, want %q (note %q)", name, s.Source, want, s.Note)
				}
			}
			if eff.AnyOrigin != tt.wantAny {
				t.Errorf("AnyOrigin %v, want %v", eff.AnyOrigin, tt.wantAny)
			}
			if tt.wantOrigins != nil && !slices.Equal(eff.AllowOrigins, tt.wantOrigins) {
				t.Errorf("AllowOrigins %q, want %q", eff.AllowOrigins, tt.wantOrigins)
			}
			if eff.VaryOrigin {
				t.Error("ingress-nginx never sends Vary: Origin")
			}
		})
	}
}
