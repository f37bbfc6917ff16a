package traefik

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// fixer writes kubectl cors explain's fixes as edits of the Middleware
// that answers CORS.
type fixer struct {
	chain   []Middleware
	ingress string
}

// NewFixer returns the fixer of a router that chains the Middlewares of
// chain; ingress is the Ingress ("namespace/name") that names them, empty
// for an HTTPRoute rule.
func NewFixer(chain []Middleware, ingress string) dataplanes.Fixer {
	return fixer{chain: chain, ingress: ingress}
}

// fixFields maps the policy fields to spec.headers fields.
var fixFields = map[string]string{
	corscheck.FieldAllowOrigins: "accessControlAllowOriginList", corscheck.FieldAllowMethods: "accessControlAllowMethods",
	corscheck.FieldAllowHeaders: "accessControlAllowHeaders", corscheck.FieldExposeHeaders: "accessControlExposeHeaders",
	corscheck.FieldAllowCredentials: "accessControlAllowCredentials",
}

// corsMiddleware is the first Middleware of the chain with CORS fields.
func (f fixer) corsMiddleware() *unstructured.Unstructured {
	for _, mw := range f.chain {
		if mw.Object == nil {
			continue
		}
		headers, _, _ := unstructured.NestedMap(mw.Object.Object, "spec", "headers")
		for key := range headers {
			if strings.HasPrefix(key, "accessControl") || key == "addVaryHeader" {
				return mw.Object
			}
		}
	}
	return nil
}

// Edit names the Middleware field to change, or the Middleware to create.
func (f fixer) Edit(c corscheck.Change, _ *corscheck.Diagnosis, req corscheck.Request) (string, bool) {
	mw := f.corsMiddleware()
	if mw == nil {
		where := "the router"
		if f.ingress != "" {
			where = "Ingress " + f.ingress + " (in " + MiddlewaresAnnotation + ")"
		}
		return fmt.Sprintf("no Middleware of %s answers CORS: create a headers Middleware with accessControlAllowOriginList: [%q] "+
			"and the methods and headers the page needs, and add it to %s", where, req.Origin, where), true
	}
	ref := mw.GetNamespace() + "/" + mw.GetName()
	return c.Render(func(field string) string {
		return fmt.Sprintf("spec.headers.%s of Middleware %s", fixFields[field], ref)
	}), true
}

// CredentialsOff names the Middleware field that turns credentials off.
func (f fixer) CredentialsOff() string {
	if mw := f.corsMiddleware(); mw != nil {
		return fmt.Sprintf("spec.headers.accessControlAllowCredentials: false on Middleware %s/%s", mw.GetNamespace(), mw.GetName())
	}
	return "accessControlAllowCredentials: false"
}
