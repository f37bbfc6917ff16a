package render

import (
	"fmt"
	"slices"
	"strings"
)

// The names of the Ingress renderers, as reported in status and accepted by
// NewRegistry.
const (
	// RendererIngressNginx renders ingress-nginx annotations.
	RendererIngressNginx = "ingress-nginx"
	// RendererTraefik renders a Traefik Middleware.
	RendererTraefik = "traefik"
	// RendererHAProxyIngress renders HAProxy Ingress annotations.
	RendererHAProxyIngress = "haproxy-ingress"
)

// The IngressClass spec.controller values of the data planes kubecors knows.
const (
	// ControllerIngressNginx is the controller name of ingress-nginx.
	ControllerIngressNginx = "k8s.io/ingress-nginx"
	// ControllerTraefik is the controller name of Traefik.
	ControllerTraefik = "traefik.io/ingress-controller"
	// ControllerHAProxyIngress is the controller name of HAProxy Ingress.
	ControllerHAProxyIngress = "haproxy-ingress.github.io/controller"
)

// ingressRenderers holds every Ingress renderer by name. Adding a data plane
// is adding its file and one entry here.
var ingressRenderers = map[string]IngressRenderer{
	RendererIngressNginx:   ingressNginx{},
	RendererTraefik:        traefik{},
	RendererHAProxyIngress: haproxyIngress{},
}

// builtinControllers maps the well-known controller names to renderers.
var builtinControllers = map[string]string{
	ControllerIngressNginx:   RendererIngressNginx,
	ControllerTraefik:        RendererTraefik,
	ControllerHAProxyIngress: RendererHAProxyIngress,
}

// Registry chooses the renderer for an Ingress from the controller that
// serves it (its IngressClass's spec.controller). It is read-only once built
// and safe for concurrent use.
type Registry struct {
	byController map[string]IngressRenderer
}

// NewRegistry builds a Registry that knows the built-in controller names
// plus extra, a map from further controller names to renderer names (for
// example from an operator flag: a fork of ingress-nginx that reports its own
// controller name). An extra entry may override a built-in controller. It
// fails on a renderer name it does not know, naming the known ones.
func NewRegistry(extra map[string]string) (*Registry, error) {
	r := &Registry{byController: make(map[string]IngressRenderer, len(builtinControllers)+len(extra))}
	for controller, name := range builtinControllers {
		r.byController[controller] = ingressRenderers[name]
	}
	// Sorted, so that the error names the same entry on every run.
	controllers := make([]string, 0, len(extra))
	for controller := range extra {
		controllers = append(controllers, controller)
	}
	slices.Sort(controllers)
	for _, controller := range controllers {
		name := extra[controller]
		if controller == "" {
			return nil, fmt.Errorf("renderer %q is mapped from an empty controller name: write the IngressClass's spec.controller", name)
		}
		renderer, ok := ingressRenderers[name]
		if !ok {
			return nil, fmt.Errorf("controller %q is mapped to the unknown renderer %q: use one of %s",
				controller, name, strings.Join(RendererNames(), ", "))
		}
		r.byController[controller] = renderer
	}
	return r, nil
}

// ForController returns the renderer for the data plane whose IngressClass
// names controller in spec.controller, and false when none is known.
func (r *Registry) ForController(controller string) (IngressRenderer, bool) {
	renderer, ok := r.byController[controller]
	return renderer, ok
}

// ByName returns the renderer with the given name, for policies that name
// their data plane explicitly, and false when there is none.
func (r *Registry) ByName(name string) (IngressRenderer, bool) {
	renderer, ok := ingressRenderers[name]
	return renderer, ok
}

// RendererNames lists the names of the Ingress renderers, sorted, for flag
// help and error messages.
func RendererNames() []string {
	names := make([]string, 0, len(ingressRenderers))
	for name := range ingressRenderers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
