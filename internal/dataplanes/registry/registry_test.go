package registry

import (
	"strings"
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes/haproxyingress"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/kong"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

func TestRegistryForController(t *testing.T) {
	registry, err := NewRegistry(map[string]string{
		"example.com/nginx-fork": ingressnginx.Name,
		// An operator may remap a built-in controller name.
		haproxyingress.Controller: traefik.Name,
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, controller, want string
	}{
		{"ingress-nginx by its controller name", ingressnginx.Controller, ingressnginx.Name},
		{"traefik by its controller name", traefik.Controller, traefik.Name},
		{"extra mapping for a fork", "example.com/nginx-fork", ingressnginx.Name},
		{"extra mapping overrides a built-in one", haproxyingress.Controller, traefik.Name},
		{"kong by its controller name", kong.Controller, kong.Name},
		{"unknown controller has no renderer", "example.com/unknown-ingress", ""},
		{"empty controller has no renderer", "", ""},
	}
	for _, c := range cases {
		renderer, ok := registry.ForController(c.controller)
		switch {
		case c.want == "" && ok:
			t.Errorf("%s: got renderer %s, want none", c.name, renderer.Name())
		case c.want != "" && (!ok || renderer.Name() != c.want):
			t.Errorf("%s: got %v (found %v), want %s", c.name, renderer, ok, c.want)
		}
	}
}

func TestRegistryDefaults(t *testing.T) {
	registry, err := NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	for controller, want := range map[string]string{
		ingressnginx.Controller:   ingressnginx.Name,
		traefik.Controller:        traefik.Name,
		haproxyingress.Controller: haproxyingress.Name,
	} {
		if renderer, ok := registry.ForController(controller); !ok || renderer.Name() != want {
			t.Errorf("%s: got %v, want %s", controller, renderer, want)
		}
	}
	for _, name := range RendererNames() {
		if renderer, ok := registry.ByName(name); !ok || renderer.Name() != name {
			t.Errorf("ByName(%q) = %v, %v", name, renderer, ok)
		}
	}
	if _, ok := registry.ByName("apisix"); ok {
		t.Error(`ByName("apisix") found a renderer that does not exist`)
	}
}

func TestNewRegistryRejectsUnknownRenderer(t *testing.T) {
	cases := []struct {
		name    string
		extra   map[string]string
		message string
	}{
		{"unknown renderer name names the known ones", map[string]string{"example.com/apisix": "apisix"},
			`controller "example.com/apisix" is mapped to the unknown renderer "apisix": use one of haproxy-ingress, ingress-nginx, kong, traefik`},
		{"renderer names are case-sensitive", map[string]string{"example.com/x": "Traefik"}, `unknown renderer "Traefik"`},
		{"empty controller name", map[string]string{"": traefik.Name}, "empty controller name"},
	}
	for _, c := range cases {
		registry, err := NewRegistry(c.extra)
		if err == nil || registry != nil {
			t.Errorf("%s: got %v, %v; want an error", c.name, registry, err)
			continue
		}
		if !strings.Contains(err.Error(), c.message) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.message)
		}
	}
}

// TestControllerLookups checks the lookups a resolution layer uses to go
// from a class's controller name to a data plane.
func TestControllerLookups(t *testing.T) {
	if dp, ok := ForIngressController(haproxyingress.Controller); !ok || dp.Name != haproxyingress.Name || dp.ReadAnnotations == nil {
		t.Errorf("ForIngressController(%q) = %q, %v", haproxyingress.Controller, dp.Name, ok)
	}
	if dp, ok := ForIngressController(kong.Controller); !ok || dp.Name != kong.Name {
		t.Errorf("ForIngressController(%q) = %q, %v", kong.Controller, dp.Name, ok)
	}
	if _, ok := ForIngressController("apisix.apache.org/apisix-ingress-controller"); ok {
		t.Error("APISIX's controller has no data plane")
	}
	cases := []struct {
		name, controller string
		cors             bool
		want             string
	}{
		{"a class with the HTTPRouteCORS feature gets the standard filter, whoever implements it", "gateway.envoyproxy.io/gatewayclass-controller", true, "gateway-api"},
		{"Traefik's class without the feature gets its Middleware", traefik.GatewayController, false, traefik.Name},
		{"Traefik's class with the feature gets the standard filter", traefik.GatewayController, true, "gateway-api"},
		{"another class without the feature has no data plane", "projectcontour.io/gateway-controller", false, ""},
	}
	for _, c := range cases {
		dp, ok := ForGatewayClass(c.controller, c.cors)
		if got := dp.Name; ok != (c.want != "") || got != c.want {
			t.Errorf("%s: ForGatewayClass = %q, %v; want %q", c.name, got, ok, c.want)
		}
	}
}
