// Package ingressnginx is everything kubecors knows about ingress-nginx:
// its CORS annotations and their defaults, the input validation a value
// must pass, how a policy is rendered as annotations (render.go), how
// ingress-nginx reads them back and answers a browser (read.go), and the
// edit kubectl cors explain suggests (fix.go). DataPlane is its one entry
// in package registry.
package ingressnginx

import (
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// Name is the data plane's name in status, flags and kubectl cors.
const Name = "ingress-nginx"

// Controller is the IngressClass spec.controller of ingress-nginx.
const Controller = "k8s.io/ingress-nginx"

// DataPlane describes ingress-nginx for the registry.
func DataPlane() dataplanes.DataPlane {
	read := func(c dataplanes.IngressConfig) (dataplanes.Model, error) {
		return ParseIngressNginx(c.Annotations), nil
	}
	return dataplanes.DataPlane{
		Name:               Name,
		Description:        "ingress-nginx, configured by nginx.ingress.kubernetes.io/cors-* annotations on the Ingress",
		IngressControllers: []string{Controller},
		Ingress:            renderer{},
		ReadIngress:        read,
		Rendered:           dataplanes.RenderedIngress(renderer{}, read),
		AnnotationKeys:     Annotations,
		ReadAnnotations:    ParseIngressNginx,
		NewAnnotationFixer: NewFixer,
		SubdomainWildcardNote: `ingress-nginx matched one label in place of "*."; in a CorsPolicy it matches one or more ` +
			`(kubecors still renders one label for ingress-nginx)`,
		Check: func(p dataplanes.Policy) (string, []dataplanes.Narrowing) {
			c := renderIngressNginx(p, dataplanes.IngressTarget{})
			return c.Refused, c.Narrowed
		},
		RBAC: []string{"list, watch, patch on networking.k8s.io/ingresses (its annotations)"},
	}
}
