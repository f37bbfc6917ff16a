package kong

import (
	"net/http"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

func plugin(name string, config map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin",
		"metadata": map[string]any{"namespace": "shop", "name": name},
		"plugin":   "cors", "config": config,
	}}
}

func parse(t *testing.T, plugins ...*unstructured.Unstructured) dataplanes.Model {
	t.Helper()
	list := make([]Plugin, 0, len(plugins))
	for _, p := range plugins {
		list = append(list, Plugin{Ref: p.GetName(), Object: p})
	}
	m, err := ParseKong(list)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestKong(t *testing.T) {
	m := parse(t, plugin("cors", map[string]any{
		"origins":         []any{"https://app.example.com", `^https://(?:[a-z0-9-]+\.)+example\.org$`},
		"methods":         []any{"GET", "PUT"},
		"headers":         []any{"X-Request-Id"},
		"exposed_headers": []any{"X-Total"},
		"credentials":     true,
		"max_age":         int64(600),
	}))
	dataplanestest.CheckExchanges(t, m, []dataplanestest.ExchangeCase{
		{Name: "listed origin: preflight answered by Kong with 200 and Vary", Origin: "https://app.example.com", WantStatus: http.StatusOK,
			WantPreflight: map[string]string{dataplanes.HeaderAllowOrigin: "https://app.example.com", dataplanes.HeaderAllowCredentials: "true",
				dataplanes.HeaderAllowMethods: "GET,PUT", dataplanes.HeaderAllowHeaders: "X-Request-Id", dataplanes.HeaderMaxAge: "600", dataplanes.HeaderVary: "Origin"},
			WantActual: map[string]string{dataplanes.HeaderAllowOrigin: "https://app.example.com", dataplanes.HeaderAllowCredentials: "true",
				dataplanes.HeaderExposeHeaders: "X-Total", dataplanes.HeaderVary: "Origin"}},
		{Name: "regex origin is echoed", Origin: "https://a.b.example.org",
			WantActual: map[string]string{dataplanes.HeaderAllowOrigin: "https://a.b.example.org", dataplanes.HeaderAllowCredentials: "true",
				dataplanes.HeaderExposeHeaders: "X-Total", dataplanes.HeaderVary: "Origin"}},
		{Name: "the regex is anchored at the end by Kong", Origin: "https://a.example.org.evil.net",
			WantActual: map[string]string{dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderExposeHeaders: "X-Total", dataplanes.HeaderVary: "Origin"}},
		{Name: "default port is dropped before comparing", Origin: "https://app.example.com:443",
			WantActual: map[string]string{dataplanes.HeaderAllowOrigin: "https://app.example.com", dataplanes.HeaderAllowCredentials: "true",
				dataplanes.HeaderExposeHeaders: "X-Total", dataplanes.HeaderVary: "Origin"}},
	})

	// The traps, as Kong reads them.
	dataplanestest.CheckExchanges(t, parse(t, plugin("open", map[string]any{})), []dataplanestest.ExchangeCase{
		{Name: "empty origins: every origin, every method, requested headers echoed", Origin: "https://evil.example",
			Headers:       http.Header{"Authorization": {"x"}},
			WantPreflight: map[string]string{dataplanes.HeaderAllowOrigin: "*", dataplanes.HeaderAllowMethods: "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT", dataplanes.HeaderAllowHeaders: "authorization"},
			WantActual:    map[string]string{dataplanes.HeaderAllowOrigin: "*"}},
	})
	dataplanestest.CheckExchanges(t, parse(t, plugin("star", map[string]any{"origins": []any{"*"}, "credentials": true, "methods": []any{"GET"}, "headers": []any{"X"}})), []dataplanestest.ExchangeCase{
		{Name: `"*" with credentials echoes any origin`, Origin: "https://evil.example",
			WantActual: map[string]string{dataplanes.HeaderAllowOrigin: "https://evil.example", dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderVary: "Origin"}},
	})
	dataplanestest.CheckExchanges(t, parse(t, plugin("host", map[string]any{"origins": []any{`.*\.example\.com`}, "methods": []any{"GET"}, "headers": []any{"X"}})), []dataplanestest.ExchangeCase{
		{Name: "a regex without ':' is matched against the host only, whatever the scheme", Origin: "http://a.example.com:8080",
			WantActual: map[string]string{dataplanes.HeaderAllowOrigin: "http://a.example.com:8080", dataplanes.HeaderVary: "Origin"}},
	})
	if eff := parse(t, plugin("open", map[string]any{})).Effective(); !eff.AnyOrigin || eff.Settings[0].Note == "" {
		t.Errorf("empty origins: AnyOrigin %v, note %q", eff.AnyOrigin, eff.Settings[0].Note)
	}

	cont := parse(t, plugin("cont", map[string]any{"origins": []any{"https://a.example"}, "preflight_continue": true}))
	if pre, _ := cont.Preflight(dataplanestest.Request{Origin: "https://a.example", Method: http.MethodPut}.Corscheck()); pre.Status != dataplanes.BackendStatus {
		t.Errorf("preflight_continue: the backend must answer, got %d", pre.Status)
	}

	disabled := plugin("off", map[string]any{"origins": []any{"*"}})
	disabled.Object["disabled"] = true
	if parse(t, disabled).Effective().Enabled {
		t.Error("a disabled plugin must not run")
	}
	if _, err := ParseKong([]Plugin{{Ref: "a", Object: plugin("a", map[string]any{})}, {Ref: "b", Object: plugin("b", map[string]any{})}}); err == nil {
		t.Error("two cors plugins on one route must fail: Kong runs one plugin of a name per route")
	}
	if _, err := ParseKong([]Plugin{{Ref: "bad", Object: plugin("bad", map[string]any{"origins": []any{"("}})}}); err == nil {
		t.Error("an origins entry that is no regex must fail: Kong rejects the plugin")
	}
}
