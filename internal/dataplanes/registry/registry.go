// Package registry is the one list of the data planes kubecors knows, in
// the style of external-dns's provider/factory: every name list, the flag
// help, the API enum check, controller-name detection and the RBAC table
// are derived from All. Adding a data plane is one folder under
// internal/dataplanes and one line in All.
//
// It lives apart from package dataplanes because it imports every data
// plane's package, and those import dataplanes for the shared types.
package registry

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/contour"
	"github.com/kubecors/kubecors/internal/dataplanes/envoygateway"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/haproxyingress"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/istio"
	"github.com/kubecors/kubecors/internal/dataplanes/kong"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

// All returns every data plane kubecors knows, sorted by name. Each call
// returns fresh values, so callers may keep or change them.
func All() []dataplanes.DataPlane {
	return []dataplanes.DataPlane{
		contour.DataPlane(),
		envoygateway.DataPlane(),
		gatewayapi.DataPlane(),
		haproxyingress.DataPlane(),
		ingressnginx.DataPlane(),
		istio.DataPlane(),
		kong.DataPlane(),
		traefik.DataPlane(),
	}
}

// Lookup returns the data plane named name, and false when there is none.
func Lookup(name string) (dataplanes.DataPlane, bool) {
	all := All()
	i := slices.IndexFunc(all, func(dp dataplanes.DataPlane) bool { return dp.Name == name })
	if i < 0 {
		return dataplanes.DataPlane{}, false
	}
	return all[i], true
}

// Names lists the names of every data plane, sorted.
func Names() []string {
	all := All()
	names := make([]string, 0, len(all))
	for _, dp := range all {
		names = append(names, dp.Name)
	}
	return names
}

// RendererNames lists, sorted, the data planes that render policies for
// Ingresses: the values --data-plane-mapping and a policy's
// spec.dataPlaneMappings[].dataPlane accept.
func RendererNames() []string {
	var names []string
	for _, dp := range All() {
		if dp.Ingress != nil {
			names = append(names, dp.Name)
		}
	}
	return names
}

// TargetKinds lists the data planes that have a target kind of their own
// (dataplanes.TargetKind: an Istio VirtualService, a Contour HTTPProxy),
// sorted by name.
func TargetKinds() []dataplanes.DataPlane {
	var planes []dataplanes.DataPlane
	for _, dp := range All() {
		if dp.Target != nil {
			planes = append(planes, dp)
		}
	}
	return planes
}

// ForTargetKind returns the data plane whose own target kind is kind (as a
// policy's targetRefs name it), and false when none is.
func ForTargetKind(kind string) (dataplanes.DataPlane, bool) {
	for _, dp := range TargetKinds() {
		if dp.Target.Kind() == kind {
			return dp, true
		}
	}
	return dataplanes.DataPlane{}, false
}

// SharedLists are the annotation lists, shared with users, that data
// planes add entries to: the controller takes its entries out of each
// whenever they are no longer wanted there.
func SharedLists() []dataplanes.SharedList {
	var lists []dataplanes.SharedList
	for _, dp := range All() {
		if dp.SharedList != nil && !slices.Contains(lists, *dp.SharedList) {
			lists = append(lists, *dp.SharedList)
		}
	}
	return lists
}

// IngressControllers maps every built-in IngressClass spec.controller value
// to the name of the data plane that serves it.
func IngressControllers() map[string]string {
	m := map[string]string{}
	for _, dp := range All() {
		for _, c := range dp.IngressControllers {
			m[c] = dp.Name
		}
	}
	return m
}

// Registry chooses the renderer for an Ingress from the controller that
// serves it (its IngressClass's spec.controller). It is read-only once built
// and safe for concurrent use.
type Registry struct {
	byName       map[string]dataplanes.IngressRenderer
	byController map[string]dataplanes.IngressRenderer
}

// NewRegistry builds a Registry that knows the built-in controller names
// plus extra, a map from further controller names to renderer names (for
// example from an operator flag: a fork of ingress-nginx that reports its own
// controller name). An extra entry may override a built-in controller. It
// fails on a renderer name it does not know, naming the known ones.
func NewRegistry(extra map[string]string) (*Registry, error) {
	r := &Registry{byName: map[string]dataplanes.IngressRenderer{}, byController: map[string]dataplanes.IngressRenderer{}}
	for _, dp := range All() {
		if dp.Ingress == nil {
			continue
		}
		r.byName[dp.Name] = dp.Ingress
		for _, c := range dp.IngressControllers {
			r.byController[c] = dp.Ingress
		}
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
		renderer, ok := r.byName[name]
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
func (r *Registry) ForController(controller string) (dataplanes.IngressRenderer, bool) {
	renderer, ok := r.byController[controller]
	return renderer, ok
}

// ByName returns the renderer with the given name, for policies that name
// their data plane explicitly, and false when there is none.
func (r *Registry) ByName(name string) (dataplanes.IngressRenderer, bool) {
	renderer, ok := r.byName[name]
	return renderer, ok
}

// ForIngressController returns the data plane whose own Ingress controller
// reports controller as its IngressClass's spec.controller, and false when
// none does. Operator mappings (NewRegistry's extra) are not consulted.
func ForIngressController(controller string) (dataplanes.DataPlane, bool) {
	for _, dp := range All() {
		if slices.Contains(dp.IngressControllers, controller) {
			return dp, true
		}
	}
	return dataplanes.DataPlane{}, false
}

// FeatureHTTPRouteCORS is the GatewayClass supported feature of Gateway
// API's standard CORS filter.
const FeatureHTTPRouteCORS = "HTTPRouteCORS"

// RouteDataPlanes lists, in order of preference, the data planes that can
// program HTTPRoutes whose Gateway's class has spec.controllerName
// controller: Gateway API's standard filter first when the class lists the
// HTTPRouteCORS feature (supportsCORS), then the data planes with their own
// mechanism for that controller (Traefik's Middleware through an
// ExtensionRef).
func RouteDataPlanes(controller string, supportsCORS bool) []dataplanes.DataPlane {
	var planes []dataplanes.DataPlane
	if supportsCORS {
		if dp, ok := Lookup(gatewayapi.Name); ok {
			planes = append(planes, dp)
		}
	}
	for _, dp := range All() {
		if (dp.RenderRoute != nil || dp.RenderAttached != nil) && slices.Contains(dp.GatewayControllers, controller) {
			planes = append(planes, dp)
		}
	}
	return planes
}

// ForGateway returns the data plane that programs a whole Gateway (or one
// listener) of a class whose spec.controllerName is controller with one
// object of its own attached to the Gateway (Envoy Gateway's
// SecurityPolicy), and false when none does: the policy then reaches the
// Gateway's routes one by one.
func ForGateway(controller string) (dataplanes.DataPlane, bool) {
	for _, dp := range All() {
		if dp.RenderAttached != nil && slices.Contains(dp.GatewayControllers, controller) {
			return dp, true
		}
	}
	return dataplanes.DataPlane{}, false
}

// AttachedKinds lists the kinds of the objects data planes attach to
// Gateway API objects (DataPlane.AttachedKind), which the controller
// deletes when no target wants them.
func AttachedKinds() []schema.GroupVersionKind {
	var kinds []schema.GroupVersionKind
	for _, dp := range All() {
		if dp.RenderAttached != nil {
			kinds = append(kinds, dp.AttachedKind)
		}
	}
	return kinds
}

// ForGatewayClass returns the data plane that programs HTTPRoutes whose
// Gateway's class has spec.controllerName controller: Gateway API's
// standard filter when the class lists the HTTPRouteCORS feature
// (supportsCORS), else a data plane with its own mechanism for that
// controller (Traefik's Middleware through an ExtensionRef), and false
// when there is none.
func ForGatewayClass(controller string, supportsCORS bool) (dataplanes.DataPlane, bool) {
	if supportsCORS {
		return Lookup(gatewayapi.Name)
	}
	for _, dp := range All() {
		if slices.Contains(dp.GatewayControllers, controller) {
			return dp, true
		}
	}
	return dataplanes.DataPlane{}, false
}
