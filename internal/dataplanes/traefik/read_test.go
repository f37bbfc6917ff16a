package traefik

import (
	"net/http"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
)

func middleware(name string, headers map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
		"metadata": map[string]any{"namespace": "shop", "name": name},
		"spec":     map[string]any{"headers": headers},
	}}
}

func TestTraefik(t *testing.T) {
	cors := middleware("cors", map[string]any{
		"accessControlAllowOriginList":      []any{"https://app.example.com"},
		"accessControlAllowOriginListRegex": []any{`^https://[a-z]+\.example\.org$`},
		"accessControlAllowMethods":         []any{"GET", "PUT"},
		"accessControlAllowHeaders":         []any{"X-Request-Id"},
		"accessControlExposeHeaders":        []any{"X-Total"},
		"accessControlAllowCredentials":     true,
		"accessControlMaxAge":               int64(600),
		"addVaryHeader":                     true,
	})
	m, err := ParseTraefik([]Middleware{{Ref: "shop-cors@kubernetescrd", Object: cors}})
	if err != nil {
		t.Fatal(err)
	}
	dataplanestest.CheckExchanges(t, m, []dataplanestest.ExchangeCase{
		{Name: "listed origin: preflight answered with 200, no Vary", Origin: "https://app.example.com", WantStatus: http.StatusOK,
			WantPreflight: map[string]string{dataplanes.HeaderAllowOrigin: "https://app.example.com", dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderAllowMethods: "GET,PUT",
				dataplanes.HeaderAllowHeaders: "X-Request-Id", dataplanes.HeaderMaxAge: "600"},
			WantActual: map[string]string{dataplanes.HeaderAllowOrigin: "https://app.example.com", dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderExposeHeaders: "X-Total", dataplanes.HeaderVary: "Origin"}},
		{Name: "regex origin is echoed", Origin: "https://b.example.org",
			WantActual: map[string]string{dataplanes.HeaderAllowOrigin: "https://b.example.org", dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderExposeHeaders: "X-Total", dataplanes.HeaderVary: "Origin"}},
		{Name: "unlisted origin: credentials sent anyway, no Allow-Origin", Origin: "https://evil.example", WantStatus: http.StatusOK,
			WantPreflight: map[string]string{dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderAllowMethods: "GET,PUT", dataplanes.HeaderAllowHeaders: "X-Request-Id", dataplanes.HeaderMaxAge: "600"}},
	})

	custom := middleware("custom", map[string]any{"customResponseHeaders": map[string]any{"Access-Control-Allow-Origin": "*"}})
	m, err = ParseTraefik([]Middleware{{Ref: "shop-custom@kubernetescrd", Object: custom}})
	if err != nil {
		t.Fatal(err)
	}
	dataplanestest.CheckExchanges(t, m, []dataplanestest.ExchangeCase{{Name: "customResponseHeaders answer no preflight", Origin: "https://app.example.com",
		WantStatus: dataplanes.BackendStatus, WantPreflight: map[string]string{dataplanes.HeaderAllowOrigin: "*"}, WantActual: map[string]string{dataplanes.HeaderAllowOrigin: "*"}}})
	if eff := m.Effective(); !eff.Enabled || !strings.Contains(eff.Preflight, "backend") {
		t.Errorf("custom headers: Enabled %v, Preflight %q", eff.Enabled, eff.Preflight)
	}

	// The outer Middleware modifies the response after the inner one.
	outer := middleware("outer", map[string]any{"accessControlAllowOriginList": []any{"*"}})
	m, err = ParseTraefik([]Middleware{{Ref: "shop-outer@kubernetescrd", Object: outer}, {Ref: "shop-cors@kubernetescrd", Object: cors}})
	if err != nil {
		t.Fatal(err)
	}
	dataplanestest.CheckExchanges(t, m, []dataplanestest.ExchangeCase{{Name: "outer answers the preflight and wins on the actual response", Origin: "https://app.example.com",
		WantPreflight: map[string]string{dataplanes.HeaderAllowOrigin: "*", dataplanes.HeaderMaxAge: "0"},
		WantActual:    map[string]string{dataplanes.HeaderAllowOrigin: "*", dataplanes.HeaderAllowCredentials: "true", dataplanes.HeaderExposeHeaders: "X-Total", dataplanes.HeaderVary: "Origin"}}})

	if _, err := ParseTraefik([]Middleware{{Ref: "shop-gone@kubernetescrd"}}); err == nil {
		t.Error("a missing Middleware must fail: Traefik does not serve the router")
	}
	bad := middleware("bad", map[string]any{"accessControlAllowOriginListRegex": []any{"("}})
	if _, err := ParseTraefik([]Middleware{{Ref: "shop-bad@kubernetescrd", Object: bad}}); err == nil {
		t.Error("a regex that does not compile must fail: Traefik does not serve the router")
	}
}

func TestMiddlewareRefs(t *testing.T) {
	refs := ParseMiddlewareRefs(" my-ns-auth@kubernetescrd, compress@file ,")
	if len(refs) != 2 || !refs[0].CRD || refs[1].CRD {
		t.Fatalf("refs %+v", refs)
	}
	if !refs[0].Matches("my-ns", "auth") || refs[0].Matches("my", "ns-auth-x") {
		t.Error("Matches must compare namespace-name exactly")
	}
}
