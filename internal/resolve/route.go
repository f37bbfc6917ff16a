package resolve

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// FeatureHTTPRouteCORS is the GatewayClass supported feature of
// implementations that honour the standard CORS filter.
const FeatureHTTPRouteCORS = "HTTPRouteCORS"

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
			return string(f.Name) == FeatureHTTPRouteCORS
		})
		parents = append(parents, p)
	}
	return parents
}

// Mechanism is how a route's CORS is expressed for its parents.
type Mechanism int

const (
	// MechanismNone means no mechanism works for every parent.
	MechanismNone Mechanism = iota
	// MechanismCORSFilter is the standard Gateway API CORS filter.
	MechanismCORSFilter
	// MechanismTraefikMiddleware is an ExtensionRef filter to a Traefik
	// Middleware.
	MechanismTraefikMiddleware
)

// ChooseMechanism picks the one mechanism every parent honours: the
// standard CORS filter when all classes support HTTPRouteCORS, else a
// Traefik Middleware when all parents are Traefik's (traefikController is
// Traefik's GatewayClass controller name). Filters apply to a rule for
// every parent at once, so a route whose parents disagree is not
// programmed, and the message names the parents that block it.
func ChooseMechanism(parents []RouteParent, traefikController string) (Mechanism, string) {
	if len(parents) == 0 {
		return MechanismNone, "the HTTPRoute has no parentRefs, so no Gateway serves it"
	}
	var problems, noCORS, notTraefik []string
	for _, p := range parents {
		switch {
		case p.Problem != "":
			problems = append(problems, p.Problem)
		case !p.CORS && p.Controller != traefikController:
			noCORS = append(noCORS, p.String())
			notTraefik = append(notTraefik, p.String())
		case !p.CORS:
			noCORS = append(noCORS, p.String())
		case p.Controller != traefikController:
			notTraefik = append(notTraefik, p.String())
		}
	}
	switch {
	case len(problems) > 0:
		return MechanismNone, strings.Join(problems, "; ")
	case len(noCORS) == 0:
		return MechanismCORSFilter, ""
	case len(notTraefik) == 0:
		return MechanismTraefikMiddleware, ""
	}
	return MechanismNone, fmt.Sprintf("not programmed on any parent, because the route's filters apply to all of them and "+
		"%s does not support the HTTPRouteCORS feature (and is not Traefik, whose Middleware kubecors could use instead)",
		strings.Join(blocking(noCORS, notTraefik), " and "))
}

// blocking lists the parents that support neither mechanism, or else
// those without the standard filter.
func blocking(noCORS, notTraefik []string) []string {
	var both []string
	for _, p := range noCORS {
		if slices.Contains(notTraefik, p) {
			both = append(both, p)
		}
	}
	if len(both) > 0 {
		return both
	}
	return noCORS
}

// parentKind is the kind a parentRef names, Gateway when it names none.
func parentKind(ref gatewayv1.ParentReference) string {
	if ref.Kind == nil {
		return "Gateway"
	}
	return string(*ref.Kind)
}
