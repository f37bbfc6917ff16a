// Package haproxyingress is everything kubecors knows about HAProxy
// Ingress: its CORS annotations and their defaults, the input validation a
// value must pass, how a policy is rendered as annotations (render.go), how
// HAProxy Ingress reads them back and answers a browser (read.go), and the
// edit kubectl cors explain suggests (fix.go). DataPlane is its one entry
// in package registry.
package haproxyingress

import (
	"regexp"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// Name is the data plane's name in status, flags and kubectl cors.
const Name = "haproxy-ingress"

// Controller is the IngressClass spec.controller of HAProxy Ingress.
const Controller = "haproxy-ingress.github.io/controller"

// DataPlane describes HAProxy Ingress for the registry.
func DataPlane() dataplanes.DataPlane {
	read := func(c dataplanes.IngressConfig) (dataplanes.Model, error) {
		return ParseHAProxyIngress(c.Annotations), nil
	}
	return dataplanes.DataPlane{
		Name:               Name,
		Description:        "HAProxy Ingress, configured by haproxy-ingress.github.io/cors-* annotations on the Ingress",
		IngressControllers: []string{Controller},
		Ingress:            renderer{},
		ReadIngress:        read,
		Rendered:           dataplanes.RenderedIngress(renderer{}, read),
		AnnotationKeys:     Annotations,
		ReadAnnotations:    ParseHAProxyIngress,
		NewAnnotationFixer: NewFixer,
		Check: func(p dataplanes.Policy) (string, []dataplanes.Narrowing) {
			c := renderHAProxyIngress(p, dataplanes.IngressTarget{})
			return c.Refused, c.Narrowed
		},
		RBAC: []string{"list, watch, patch on networking.k8s.io/ingresses (its annotations)"},
	}
}

// fixKeys maps the notions kubectl cors explain fixes to HAProxy Ingress's
// annotations.
var fixKeys = map[string]string{
	dataplanes.SettingEnabled: CorsEnable, corscheck.FieldAllowOrigins: AllowOrigin,
	corscheck.FieldAllowMethods: AllowMethods, corscheck.FieldAllowHeaders: AllowHeaders,
	corscheck.FieldExposeHeaders: ExposeHeaders, corscheck.FieldAllowCredentials: AllowCredentials,
}

// fixAccepts is what the validation accepts in one item of each list an
// explain fix edits: an http(s) origin with a plain host, and the items of
// the method and header lists.
var fixAccepts = map[string]*regexp.Regexp{
	corscheck.FieldAllowOrigins: regexp.MustCompile(`^https?://[A-Za-z0-9.-]+(:[0-9]+)?$`),
	corscheck.FieldAllowMethods: methodItem.Accepted,
	corscheck.FieldAllowHeaders: headerItem.Accepted,
}

// NewFixer returns the fixer of an Ingress ("namespace/name") configured by
// HAProxy Ingress annotations, whose configuration is now effective.
func NewFixer(ingress string, effective dataplanes.Effective) dataplanes.Fixer {
	return dataplanes.AnnotationFixer{DataPlane: Name, Ingress: ingress, Effective: effective, Keys: fixKeys, Accepts: fixAccepts}
}
