package render

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestRegistryForController(t *testing.T) {
	registry, err := NewRegistry(map[string]string{
		"example.com/nginx-fork": RendererIngressNginx,
		// An operator may remap a built-in controller name.
		ControllerHAProxyIngress: RendererTraefik,
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, controller, want string
	}{
		{"ingress-nginx by its controller name", ControllerIngressNginx, RendererIngressNginx},
		{"traefik by its controller name", ControllerTraefik, RendererTraefik},
		{"extra mapping for a fork", "example.com/nginx-fork", RendererIngressNginx},
		{"extra mapping overrides a built-in one", ControllerHAProxyIngress, RendererTraefik},
		{"unknown controller has no renderer", "ingress-controllers.konghq.com/kong", ""},
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
		ControllerIngressNginx:   RendererIngressNginx,
		ControllerTraefik:        RendererTraefik,
		ControllerHAProxyIngress: RendererHAProxyIngress,
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
	if _, ok := registry.ByName("kong"); ok {
		t.Error(`ByName("kong") found a renderer that does not exist`)
	}
}

func TestNewRegistryRejectsUnknownRenderer(t *testing.T) {
	cases := []struct {
		name    string
		extra   map[string]string
		message string
	}{
		{"unknown renderer name names the known ones", map[string]string{"example.com/kong": "kong"},
			`controller "example.com/kong" is mapped to the unknown renderer "kong": use one of haproxy-ingress, ingress-nginx, traefik`},
		{"renderer names are case-sensitive", map[string]string{"example.com/x": "Traefik"}, `unknown renderer "Traefik"`},
		{"empty controller name", map[string]string{"": RendererTraefik}, "empty controller name"},
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

func TestMiddlewareName(t *testing.T) {
	long := strings.Repeat("a", 60)
	cases := []struct {
		name, policy, want string
	}{
		{"short name is kept readable", "storefront", "kubecors-storefront"},
		{"dots are not allowed in a label, so the name is rewritten and hashed", "api.v2", "kubecors-api-v2-"},
		{"too long for a label, so the name is shortened and hashed", long, "kubecors-" + long[:45]},
	}
	for _, c := range cases {
		got := MiddlewareName(c.policy)
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: MiddlewareName(%q) = %q, want prefix %q", c.name, c.policy, got, c.want)
		}
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("%s: %q is not a DNS-1123 label: %v", c.name, got, errs)
		}
	}
	if MiddlewareName("api.v2") == MiddlewareName("api-v2") {
		t.Error(`"api.v2" and "api-v2" share a Middleware`)
	}
	if MiddlewareName(long+"x") == MiddlewareName(long+"y") {
		t.Error("two long names that differ at the end share a Middleware")
	}
	if v := PolicyLabelValue(strings.Repeat("b", 100)); len(validation.IsValidLabelValue(v)) > 0 {
		t.Errorf("PolicyLabelValue gave an invalid label value %q", v)
	}
	if v := PolicyLabelValue("api.v2"); v != "api.v2" {
		t.Errorf("PolicyLabelValue(%q) = %q, want it unchanged", "api.v2", v)
	}
}
