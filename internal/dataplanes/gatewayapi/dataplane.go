// Package gatewayapi is everything kubecors knows about Gateway API's
// standard CORS filter (HTTPRouteCORS): the filter's own limits, pinned to
// the vendored CRD; how a policy is rendered as a filter (render.go); how a
// conformant gateway answers a browser from it (read.go); and the edit
// kubectl cors explain suggests (fix.go). DataPlane is its one entry in
// package registry.
package gatewayapi

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// Name is the data plane's name in status and kubectl cors, for HTTPRoutes
// programmed through the standard CORS filter.
const Name = "gateway-api"

// DataPlane describes Gateway API's CORS filter for the registry. It serves
// no Ingress, and every GatewayClass whose status lists the HTTPRouteCORS
// feature.
func DataPlane() dataplanes.DataPlane {
	return dataplanes.DataPlane{
		Name:        Name,
		Description: "any Gateway API implementation with the HTTPRouteCORS feature, configured by a CORS filter in the HTTPRoute rule",
		RenderRoute: func(p dataplanes.Policy, _ string) dataplanes.RouteConfig {
			c := RenderHTTPRouteCORS(p)
			f, ok := c.RouteFilter()
			if !ok {
				return dataplanes.RouteConfig{Refused: c.Refused}
			}
			return dataplanes.RouteConfig{Filter: f, Narrowed: c.Narrowed}
		},
		Check: func(p dataplanes.Policy) (string, []dataplanes.Narrowing) {
			c := RenderHTTPRouteCORS(p)
			return c.Refused, c.Narrowed
		},
		Rendered: rendered,
		RBAC: []string{
			"get, list, watch, patch on gateway.networking.k8s.io/httproutes",
			"list, watch on gateway.networking.k8s.io/gateways and gatewayclasses",
		},
	}
}

// renderedFilterKey is where kubectl cors says a rendered filter's settings
// live: in whichever rule the policy targets.
const renderedFilterKey = "spec.rules[].filters[type=CORS].cors"

// rendered renders a policy as the CORS filter kubecors writes into each
// targeted rule, and reads it back as a conformant gateway does. The target
// is not needed: the filter is the same in every rule.
func rendered(p dataplanes.Policy, _ dataplanes.IngressTarget) (dataplanes.Model, []dataplanes.Narrowing, string, error) {
	c := RenderHTTPRouteCORS(p)
	filter, ok := c.RouteFilter()
	if !ok {
		return dataplanes.NoCORS(Name, "kubecors writes no filter: "+c.Refused), nil, c.Refused, nil
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(filter.CORS)
	if err != nil {
		return nil, nil, "", err
	}
	return ParseGatewayCORS(content, renderedFilterKey), c.Narrowed, "", nil
}
