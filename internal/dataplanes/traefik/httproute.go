package traefik

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// GatewayController is the GatewayClass spec.controllerName of
// Traefik's Gateway API provider, whose HTTPRoutes can use a Traefik
// Middleware through an ExtensionRef filter when the class does not
// implement the HTTPRouteCORS feature.
const GatewayController = "traefik.io/gateway-controller"

// HTTPRouteMiddlewareConfig is the desired configuration for an HTTPRoute
// served by Traefik's Gateway API provider without the HTTPRouteCORS
// feature: a kubecors-owned Traefik Middleware, referred to from each
// targeted rule by an ExtensionRef filter.
type HTTPRouteMiddlewareConfig struct {
	// Middleware is the traefik.io/v1alpha1 Middleware to create in the
	// route's namespace, labelled for kubecors; the controller sets its
	// owner reference to the policy.
	Middleware *unstructured.Unstructured
	// ExtensionRef names the Middleware (group traefik.io, kind
	// Middleware); an ExtensionRef is local, so the Middleware shares the
	// route's namespace.
	ExtensionRef gatewayv1.LocalObjectReference
	// Narrowed lists what the Middleware could not express; Traefik
	// expresses every valid policy, so it is empty today.
	Narrowed []dataplanes.Narrowing
}

// RouteFilter returns the ExtensionRef filter to place in each targeted
// rule.
func (c HTTPRouteMiddlewareConfig) RouteFilter() gatewayv1.HTTPRouteFilter {
	ref := c.ExtensionRef
	return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterExtensionRef, ExtensionRef: &ref}
}

// RenderHTTPRouteMiddleware renders a policy as the Traefik Middleware of an
// HTTPRoute in namespace: the very Middleware an Ingress in that namespace
// gets (see renderTraefik), so that both kinds of target share one
// Middleware per policy and namespace and behave alike.
func RenderHTTPRouteMiddleware(p dataplanes.Policy, namespace string) HTTPRouteMiddlewareConfig {
	c := renderTraefik(p, dataplanes.IngressTarget{Namespace: namespace})
	middleware := c.Objects[0]
	return HTTPRouteMiddlewareConfig{
		Middleware: middleware,
		ExtensionRef: gatewayv1.LocalObjectReference{
			Group: Group,
			Kind:  Kind,
			Name:  gatewayv1.ObjectName(middleware.GetName()),
		},
		Narrowed: c.Narrowed,
	}
}
