// Package traefik is everything kubecors knows about Traefik: the headers
// Middleware a policy is rendered as (render.go), which an Ingress chains
// through its router.middlewares annotation and an HTTPRoute through an
// ExtensionRef filter (httproute.go); how Traefik reads a chain of
// Middlewares and answers a browser (read.go); and the edit kubectl cors
// explain suggests (fix.go). DataPlane is its one entry in package
// registry.
package traefik

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// Name is the data plane's name in status, flags and kubectl cors.
const Name = "traefik"

// Controller is the IngressClass spec.controller of Traefik's Ingress
// provider.
const Controller = "traefik.io/ingress-controller"

// The operator creates, updates and deletes the Middlewares it renders.
// +kubebuilder:rbac:groups=traefik.io,resources=middlewares,verbs=get;list;create;patch;delete

// DataPlane describes Traefik for the registry.
func DataPlane() dataplanes.DataPlane {
	read := readIngressConfig
	return dataplanes.DataPlane{
		Name: Name,
		Description: "Traefik, configured by a kubecors-owned headers Middleware that the Ingress's " +
			MiddlewaresAnnotation + " annotation or the HTTPRoute rule's ExtensionRef filter names",
		IngressControllers: []string{Controller},
		GatewayControllers: []string{GatewayController},
		Ingress:            renderer{},
		ReadIngress:        read,
		Rendered:           dataplanes.RenderedIngress(renderer{}, read),
		AnnotationKeys:     []string{MiddlewaresAnnotation},
		SharedList:         &MiddlewareList,
		ObjectsKind:        schema.GroupVersionKind{Group: Group, Version: Version, Kind: Kind + "List"},
		ReadIngressObjects: readIngressObjects,
		RenderRoute: func(p dataplanes.Policy, namespace string) dataplanes.RouteConfig {
			c := RenderHTTPRouteMiddleware(p, namespace)
			return dataplanes.RouteConfig{Filter: c.RouteFilter(), Object: c.Middleware, Narrowed: c.Narrowed}
		},
		Check: func(p dataplanes.Policy) (string, []dataplanes.Narrowing) {
			c := renderTraefik(p, dataplanes.IngressTarget{})
			return c.Refused, c.Narrowed
		},
		RBAC: []string{
			"list, watch, patch on networking.k8s.io/ingresses (the router.middlewares annotation)",
			"get, list, create, patch, delete on traefik.io/middlewares (server-side apply; deleted once no target needs them)",
		},
	}
}

// readIngressConfig reads the Middlewares a render created, in the order the
// Ingress's middleware list names them.
func readIngressConfig(c dataplanes.IngressConfig) (dataplanes.Model, error) {
	chain := make([]Middleware, 0, len(c.Objects))
	for i, obj := range c.Objects {
		chain = append(chain, Middleware{Ref: c.ListEntries[min(i, len(c.ListEntries)-1)], Object: obj})
	}
	return ParseTraefik(chain)
}

// readIngressObjects reads the Middlewares an Ingress's router.middlewares
// list names, among the Middlewares of the cluster.
func readIngressObjects(ingress string, annotations map[string]string, middlewares []unstructured.Unstructured) (dataplanes.Model, []string, dataplanes.Fixer, error) {
	chain, notes := ChainFromAnnotation(annotations[MiddlewaresAnnotation], middlewares)
	model, err := ParseTraefik(chain)
	if err != nil {
		return nil, notes, nil, err
	}
	return model, notes, NewFixer(chain, ingress), nil
}

// ChainFromAnnotation resolves an Ingress's router.middlewares entries to
// Middleware objects. Entries of other providers are left out with a note.
func ChainFromAnnotation(annotation string, middlewares []unstructured.Unstructured) ([]Middleware, []string) {
	var chain []Middleware
	var notes []string
	for _, ref := range ParseMiddlewareRefs(annotation) {
		if !ref.CRD {
			notes = append(notes, fmt.Sprintf("middleware %q comes from another Traefik provider and cannot be read from the cluster; it is left out", ref.Ref))
			continue
		}
		entry := Middleware{Ref: ref.Ref}
		for i := range middlewares {
			if ref.Matches(middlewares[i].GetNamespace(), middlewares[i].GetName()) {
				entry.Object = &middlewares[i]
				break
			}
		}
		chain = append(chain, entry)
	}
	return chain, notes
}
