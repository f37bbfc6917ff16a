package gatewayapi

import (
	"net/http"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

func gatewayFilter(origins, methods, headers []any, credentials bool) map[string]any {
	f := map[string]any{"allowOrigins": origins, "allowCredentials": credentials}
	if methods != nil {
		f["allowMethods"] = methods
	}
	if headers != nil {
		f["allowHeaders"] = headers
	}
	return f
}

func TestGatewayAPI(t *testing.T) {
	m := ParseGatewayCORS(map[string]any{
		"allowOrigins": []any{"https://www.foo.com", "https://*.bar.com"}, "allowMethods": []any{"GET", "OPTIONS"},
		"allowHeaders": []any{"x-header-1", "x-header-2"}, "exposeHeaders": []any{"x-header-3", "x-header-4"},
		"allowCredentials": true, "maxAge": int64(3600),
	}, "cors")
	allowed := func(origin string) map[string]string {
		return map[string]string{dataplanes.HeaderAllowOrigin: origin, dataplanes.HeaderAllowMethods: "GET, OPTIONS", dataplanes.HeaderAllowHeaders: "x-header-1, x-header-2",
			dataplanes.HeaderExposeHeaders: "x-header-3, x-header-4", dataplanes.HeaderMaxAge: "3600", dataplanes.HeaderAllowCredentials: "true"}
	}
	dataplanestest.CheckExchanges(t, m, []dataplanestest.ExchangeCase{
		{Name: "exact origin", Origin: "https://www.foo.com", Method: http.MethodGet, WantStatus: http.StatusOK, WantPreflight: allowed("https://www.foo.com")},
		{Name: "wildcard, one label", Origin: "https://www.bar.com", WantPreflight: allowed("https://www.bar.com")},
		{Name: "wildcard, several labels", Origin: "https://xpto.www.bar.com", WantPreflight: allowed("https://xpto.www.bar.com")},
		{Name: "no match", Origin: "https://foobar.com", WantStatus: http.StatusOK, WantPreflight: map[string]string{}, WantActual: map[string]string{}},
	})

	star := ParseGatewayCORS(gatewayFilter([]any{"*"}, []any{"*"}, []any{"*"}, true), "cors")
	dataplanestest.CheckExchanges(t, star, []dataplanestest.ExchangeCase{{Name: `"*" with credentials echoes origin, method and headers`, Origin: "https://other.foo.com",
		Headers:       http.Header{"X-Header-1": {"a"}, "X-Header-2": {"b"}},
		WantPreflight: map[string]string{dataplanes.HeaderAllowOrigin: "https://other.foo.com", dataplanes.HeaderAllowMethods: "PUT", dataplanes.HeaderAllowHeaders: "x-header-1,x-header-2", dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderMaxAge: "5"},
		WantActual:    map[string]string{dataplanes.HeaderAllowOrigin: "https://other.foo.com", dataplanes.HeaderAllowCredentials: "true"}}})
	open := ParseGatewayCORS(gatewayFilter([]any{"*"}, []any{"*"}, nil, false), "cors")
	dataplanestest.CheckExchanges(t, open, []dataplanestest.ExchangeCase{{Name: `"*" without credentials`, Origin: "https://foobar.com:12345",
		WantPreflight: map[string]string{dataplanes.HeaderAllowOrigin: "*", dataplanes.HeaderAllowMethods: "*", dataplanes.HeaderMaxAge: "5"}}})

	if none := ParseGatewayCORS(nil, ""); none.Effective().Enabled {
		t.Error("a rule without a CORS filter has no CORS")
	}
}

func TestHTTPRouteRules(t *testing.T) {
	route := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"rules": []any{
		map[string]any{"name": "api", "filters": []any{
			map[string]any{"type": "RequestHeaderModifier"},
			map[string]any{"type": "CORS", "cors": map[string]any{"allowOrigins": []any{"https://a.example.com"}}},
		}},
		map[string]any{"filters": []any{map[string]any{"type": "ExtensionRef", "extensionRef": map[string]any{
			"group": "traefik.io", "kind": "Middleware", "name": "cors"}}}},
		map[string]any{},
	}}}}
	rules := HTTPRouteRules(route)
	if len(rules) != 3 || rules[0].CORSFilterIndex != 1 || rules[0].Label() != `rule "api"` ||
		!slices.Equal(rules[1].Middlewares, []string{"cors"}) || rules[2].CORS != nil || rules[2].Label() != "rule 2" {
		t.Errorf("rules %+v", rules)
	}
}
