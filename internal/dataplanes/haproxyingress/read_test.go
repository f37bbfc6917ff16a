package haproxyingress

import (
	"net/http"
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

func TestHAProxyIngress(t *testing.T) {
	defaults := func(origin string) map[string]string {
		return map[string]string{dataplanes.HeaderAllowOrigin: origin, dataplanes.HeaderAllowMethods: DefaultMethods, dataplanes.HeaderAllowHeaders: DefaultHeaders}
	}
	withCredentials := func(m map[string]string) map[string]string { m[dataplanes.HeaderAllowCredentials] = "true"; return m }
	withVary := func(m map[string]string) map[string]string { m[dataplanes.HeaderVary] = "Origin"; return m }
	withMaxAge := func(m map[string]string, age string) map[string]string { m[dataplanes.HeaderMaxAge] = age; return m }
	tests := []struct {
		name        string
		annotations map[string]string
		cases       []dataplanestest.ExchangeCase
		wantAny     bool
	}{
		{
			name:        "cors-enable alone: any origin, credentials off (the code has no default for them), every OPTIONS answered",
			annotations: map[string]string{CorsEnable: "true"},
			cases: []dataplanestest.ExchangeCase{{Name: "star", Origin: "https://app.example.com", WantStatus: http.StatusNoContent,
				WantPreflight: withMaxAge(defaults("*"), "86400"), WantActual: defaults("*")}},
			wantAny: true,
		},
		{
			name:        "one origin is sent whatever the Origin, without Vary",
			annotations: map[string]string{CorsEnable: "true", AllowOrigin: "https://app.example.com", AllowCredentials: "true"},
			cases: []dataplanestest.ExchangeCase{{Name: "other origin gets it too", Origin: "https://evil.example",
				WantActual: withCredentials(defaults("https://app.example.com"))}},
		},
		{
			name:        "an invalid credentials value is ignored: off",
			annotations: map[string]string{CorsEnable: "true", AllowOrigin: "https://app.example.com", AllowCredentials: "yes"},
			cases:       []dataplanestest.ExchangeCase{{Name: "no credentials", Origin: "https://app.example.com", WantActual: defaults("https://app.example.com")}},
		},
		{
			name:        "several origins: echo a listed one, else the first, with Vary",
			annotations: map[string]string{CorsEnable: "true", AllowOrigin: "https://a.example.com,https://b.example.com"},
			cases: []dataplanestest.ExchangeCase{
				{Name: "listed", Origin: "https://b.example.com", WantActual: withVary(defaults("https://b.example.com"))},
				{Name: "unlisted", Origin: "https://evil.example", WantActual: withVary(defaults("https://a.example.com"))},
			},
		},
		{
			name:        "a space in the origin list voids the key: any origin",
			annotations: map[string]string{CorsEnable: "true", AllowOrigin: "https://a.example.com, https://b.example.com"},
			cases:       []dataplanestest.ExchangeCase{{Name: "star", Origin: "https://evil.example", WantActual: defaults("*")}},
			wantAny:     true,
		},
		{
			name: "regexes match and are unanchored unless anchored",
			annotations: map[string]string{CorsEnable: "true", AllowOrigin: "https://a.example.com",
				AllowOriginRegex: `^https://[a-z]+\.example\.com$ example\.org`},
			cases: []dataplanestest.ExchangeCase{
				{Name: "anchored match", Origin: "https://b.example.com", WantActual: withVary(defaults("https://b.example.com"))},
				{Name: "unanchored look-alike", Origin: "https://example.org.evil.net", WantActual: withVary(defaults("https://example.org.evil.net"))},
			},
		},
		{
			name:        "a regex that does not compile voids every regex",
			annotations: map[string]string{CorsEnable: "true", AllowOrigin: "https://a.example.com", AllowOriginRegex: `^https://(.example.com$`},
			cases:       []dataplanestest.ExchangeCase{{Name: "static again", Origin: "https://b.example.com", WantActual: defaults("https://a.example.com")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ParseHAProxyIngress(tt.annotations)
			dataplanestest.CheckExchanges(t, m, tt.cases)
			if got := m.Effective().AnyOrigin; got != tt.wantAny {
				t.Errorf("AnyOrigin %v, want %v", got, tt.wantAny)
			}
		})
	}
}

// TestHAProxyIngressListFallback pins what HAProxy Ingress does with a
// methods or headers value its validator refuses: it ignores the value and
// sends its default list, which allows Authorization. A reader that took
// the value as applied would let explain and audit miss that the target
// accepts more than was written.
func TestHAProxyIngressListFallback(t *testing.T) {
	for _, tc := range []struct {
		name, key, value, setting string
		wantEffective             string
	}{
		{"a semicolon in the headers voids them: the default list, Authorization included",
			AllowHeaders, "X-Request-Id;Authorization", dataplanes.SettingAllowHeaders, DefaultHeaders},
		{"a dot in a header name voids the list", AllowHeaders, "X.Dotted", dataplanes.SettingAllowHeaders, DefaultHeaders},
		{"a dash in a method voids the methods: the default list", AllowMethods, "M-SEARCH", dataplanes.SettingAllowMethods, DefaultMethods},
		{"a star is no method HAProxy Ingress accepts", AllowMethods, "*", dataplanes.SettingAllowMethods, DefaultMethods},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ParseHAProxyIngress(map[string]string{CorsEnable: "true", AllowOrigin: "https://app.example.com", tc.key: tc.value})
			s, ok := m.Effective().Setting(tc.setting)
			if !ok || s.Source != dataplanes.SourceFallback || s.Effective != tc.wantEffective || s.Written != tc.value {
				t.Fatalf("setting %+v, want written %q, source %q, effective %q", s, tc.value, dataplanes.SourceFallback, tc.wantEffective)
			}
			if tc.setting != dataplanes.SettingAllowHeaders {
				return
			}
			// What a browser then sees: a preflight asking for Authorization is
			// allowed, although the written list does not name it.
			dataplanestest.CheckExchanges(t, m, []dataplanestest.ExchangeCase{{Name: "Authorization allowed by the default list",
				Origin: "https://app.example.com", WantStatus: http.StatusNoContent,
				WantPreflight: map[string]string{dataplanes.HeaderAllowOrigin: "https://app.example.com",
					dataplanes.HeaderAllowMethods: DefaultMethods, dataplanes.HeaderAllowHeaders: DefaultHeaders, dataplanes.HeaderMaxAge: "86400"}}})
		})
	}
	// A valid value is used as written, so the checks above are not true of
	// every value.
	m := ParseHAProxyIngress(map[string]string{CorsEnable: "true", AllowHeaders: "X-Request-Id, Content-Type"})
	if s, _ := m.Effective().Setting(dataplanes.SettingAllowHeaders); s.Source != dataplanes.SourceWritten || s.Effective != "X-Request-Id, Content-Type" {
		t.Errorf("a valid header list read as %+v", s)
	}
}

// TestHAProxyIngressMaxAgeFallback pins cors-max-age: absent or not a whole
// number, HAProxy Ingress sends its default of 86400 seconds, which is
// above every browser's cap and audit reports.
func TestHAProxyIngressMaxAgeFallback(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		present     bool
		wantSource  dataplanes.Source
		wantAge     int64
	}{
		{"absent", "", false, dataplanes.SourceDefault, DefaultMaxAge},
		{"not a number", "ten", true, dataplanes.SourceFallback, DefaultMaxAge},
		{"a fraction", "1.5", true, dataplanes.SourceFallback, DefaultMaxAge},
		{"written", "600", true, dataplanes.SourceWritten, 600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			annotations := map[string]string{CorsEnable: "true", AllowOrigin: "https://app.example.com"}
			if tc.present {
				annotations[MaxAge] = tc.value
			}
			eff := ParseHAProxyIngress(annotations).Effective()
			s, _ := eff.Setting(dataplanes.SettingMaxAge)
			if s.Source != tc.wantSource || eff.MaxAge == nil || *eff.MaxAge != tc.wantAge {
				t.Errorf("max age %v from %+v, want %d (%s)", eff.MaxAge, s, tc.wantAge, tc.wantSource)
			}
		})
	}
}
