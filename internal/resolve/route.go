package resolve

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
)

// RouteParent is one parent Gateway of a route and what its class
// supports.
type RouteParent struct {
	// Gateway is the parent Gateway's namespace and name.
	Gateway types.NamespacedName
	// Class is the Gateway's GatewayClass name.
	Class string
	// Controller is the GatewayClass's spec.controllerName.
	Controller string
	// CORS reports whether the class lists the HTTPRouteCORS feature.
	CORS bool
	// Problem says why the parent cannot be followed (not a Gateway, the
	// Gateway or its class missing); the other fields may be empty.
	Problem string
}

// String names the parent for status messages.
func (p RouteParent) String() string {
	return fmt.Sprintf("Gateway %s (GatewayClass %q, controller %q)", p.Gateway, p.Class, p.Controller)
}

// RouteParents follows each parentRef of a route to its Gateway and
// GatewayClass, among gateways and classes (those of the cluster, or at
// least those the route names).
func RouteParents(route *gatewayv1.HTTPRoute, gateways []gatewayv1.Gateway, classes []gatewayv1.GatewayClass) []RouteParent {
	parents := make([]RouteParent, 0, len(route.Spec.ParentRefs))
	for _, ref := range route.Spec.ParentRefs {
		p := RouteParent{Gateway: types.NamespacedName{Namespace: route.Namespace, Name: string(ref.Name)}}
		if ref.Namespace != nil {
			p.Gateway.Namespace = string(*ref.Namespace)
		}
		if (ref.Group != nil && *ref.Group != gatewayv1.GroupName) || (ref.Kind != nil && *ref.Kind != "Gateway") {
			p.Problem = fmt.Sprintf("parent %s %s is not a Gateway; kubecors only follows Gateway parents", parentKind(ref), p.Gateway)
			parents = append(parents, p)
			continue
		}
		gi := slices.IndexFunc(gateways, func(g gatewayv1.Gateway) bool {
			return g.Namespace == p.Gateway.Namespace && g.Name == p.Gateway.Name
		})
		if gi < 0 {
			p.Problem = fmt.Sprintf("parent Gateway %s does not exist", p.Gateway)
			parents = append(parents, p)
			continue
		}
		p.Class = string(gateways[gi].Spec.GatewayClassName)
		ci := slices.IndexFunc(classes, func(c gatewayv1.GatewayClass) bool { return c.Name == p.Class })
		if ci < 0 {
			p.Problem = fmt.Sprintf("GatewayClass %q of parent Gateway %s does not exist", p.Class, p.Gateway)
			parents = append(parents, p)
			continue
		}
		p.Controller = string(classes[ci].Spec.ControllerName)
		p.CORS = slices.ContainsFunc(classes[ci].Status.SupportedFeatures, func(f gatewayv1.SupportedFeature) bool {
			return string(f.Name) == registry.FeatureHTTPRouteCORS
		})
		parents = append(parents, p)
	}
	return parents
}

// RouteDataPlane picks the one data plane that programs a route for every
// parent: filters apply to a rule for all of its parents at once, so the
// route gets the most preferred data plane (registry.RouteDataPlanes) that
// every parent accepts — the standard CORS filter when every class
// supports HTTPRouteCORS, else, for example, a Traefik Middleware when
// every parent is Traefik's. When none fits, it returns false and a
// message naming the parents that block the route.
func RouteDataPlane(parents []RouteParent) (dataplanes.DataPlane, string, bool) {
	if len(parents) == 0 {
		return dataplanes.DataPlane{}, "the HTTPRoute has no parentRefs, so no Gateway serves it", false
	}
	var problems []string
	accepted := make([][]dataplanes.DataPlane, 0, len(parents))
	for _, p := range parents {
		if p.Problem != "" {
			problems = append(problems, p.Problem)
			continue
		}
		accepted = append(accepted, registry.RouteDataPlanes(p.Controller, p.CORS))
	}
	if len(problems) > 0 {
		return dataplanes.DataPlane{}, strings.Join(problems, "; "), false
	}
	for _, dp := range accepted[0] {
		if !slices.ContainsFunc(accepted[1:], func(planes []dataplanes.DataPlane) bool { return !containsPlane(planes, dp.Name) }) {
			return dp, "", true
		}
	}
	var blocking []string
	for i, p := range parents {
		if len(accepted[i]) == 0 || !p.CORS {
			blocking = append(blocking, p.String())
		}
	}
	return dataplanes.DataPlane{}, fmt.Sprintf("not programmed on any parent, because the route's filters apply to all of them and "+
		"%s does not support the HTTPRouteCORS feature (and kubecors knows no other CORS mechanism that every parent's controller understands)",
		strings.Join(blocking, " and ")), false
}

func containsPlane(planes []dataplanes.DataPlane, name string) bool {
	return slices.ContainsFunc(planes, func(dp dataplanes.DataPlane) bool { return dp.Name == name })
}

// parentKind is the kind a parentRef names, Gateway when it names none.
func parentKind(ref gatewayv1.ParentReference) string {
	if ref.Kind == nil {
		return "Gateway"
	}
	return string(*ref.Kind)
}
