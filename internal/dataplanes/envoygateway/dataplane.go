// Package envoygateway is everything kubecors knows about Envoy Gateway's
// own CORS mechanism: the SecurityPolicy (gateway.envoyproxy.io/v1alpha1,
// spec.cors) a policy is rendered as, attached to a whole Gateway (or one
// listener) or to one HTTPRoute through its targetRefs (render.go); how
// Envoy Gateway translates it and Envoy's CORS filter answers a browser
// (read.go); and the edit kubectl cors explain suggests (fix.go).
// DataPlane is its one entry in package registry.
//
// Sources: the Go module github.com/envoyproxy/gateway v1.9.1 from the Go
// module proxy: api/v1alpha1/cors_types.go (CORS, Origin and its
// validation pattern), internal/gatewayapi/securitypolicy.go (buildCORS,
// wildcard2regex: every "*" of an origin becomes ".*"),
// internal/xds/translator/cors.go (a route's Gateway API CORS filter takes
// precedence over a SecurityPolicy; "*" in allowMethods or allowHeaders
// makes the list "*", which Envoy answers by echoing the request;
// forward_not_matching_preflights is false; maxAge in whole seconds); the
// SecurityPolicy CRD, charts/gateway-crds-helm/templates/generated/
// gateway.envoyproxy.io_securitypolicies.yaml, vendored in
// test/crds/envoy-gateway.
//
// Envoy Gateway's Go types are not imported: the module brings Envoy's
// go-control-plane, the Kubernetes API server's and OpenTelemetry's
// modules with it, far more than the manager needs for one struct, so the
// SecurityPolicy is written as unstructured content with its GVK and its
// limits are pinned to the vendored CRD by a test.
package envoygateway

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// Name is the data plane's name in status and kubectl cors.
const Name = "envoy-gateway"

// GatewayController is the GatewayClass spec.controllerName of Envoy
// Gateway.
const GatewayController = "gateway.envoyproxy.io/gatewayclass-controller"

// The SecurityPolicy kind of Envoy Gateway.
const (
	Group   = "gateway.envoyproxy.io"
	Version = "v1alpha1"
	Kind    = "SecurityPolicy"
)

// GVK is the SecurityPolicy's group, version and kind.
var GVK = schema.GroupVersionKind{Group: Group, Version: Version, Kind: Kind}

// The operator applies (server-side) and deletes the SecurityPolicies it
// renders: each attaches itself to its target, so one no target wants any
// more must go at once, not only with the policy.
// +kubebuilder:rbac:groups=gateway.envoyproxy.io,resources=securitypolicies,verbs=get;list;create;patch;delete

// DataPlane describes Envoy Gateway's SecurityPolicy for the registry.
func DataPlane() dataplanes.DataPlane {
	return dataplanes.DataPlane{
		Name: Name,
		Description: "Envoy Gateway, configured by a kubecors-owned SecurityPolicy (spec.cors) attached to the Gateway, listener or HTTPRoute; " +
			"used for policies on a Gateway, and for routes whose class lacks HTTPRouteCORS",
		GatewayControllers: []string{GatewayController},
		RenderAttached:     RenderSecurityPolicy,
		AttachedKind:       GVK,
		Rendered:           rendered,
		Check: func(p dataplanes.Policy) (string, []dataplanes.Narrowing) {
			c := RenderSecurityPolicy(p, dataplanes.AttachTarget{Kind: "HTTPRoute", Name: "check"})
			return c.Refused, c.Narrowed
		},
		SubdomainWildcardNote: `Envoy Gateway turns every "*" of an origin into the regular expression ".*": "https://*.example.com" matches any depth of labels and any characters in them`,
		RBAC: []string{
			"get, list, create, patch, delete on gateway.envoyproxy.io/securitypolicies",
		},
	}
}

// rendered renders a policy as the SecurityPolicy kubecors writes and
// reads it back as Envoy Gateway does.
func rendered(p dataplanes.Policy, t dataplanes.IngressTarget) (dataplanes.Model, []dataplanes.Narrowing, string, error) {
	c := RenderSecurityPolicy(p, dataplanes.AttachTarget{Namespace: t.Namespace, Kind: "HTTPRoute", Name: t.Name})
	if c.Refused != "" {
		return dataplanes.NoCORS(Name, "kubecors writes no SecurityPolicy: "+c.Refused), nil, c.Refused, nil
	}
	m, err := ReadSecurityPolicy(c.Object)
	return m, c.Narrowed, "", err
}
