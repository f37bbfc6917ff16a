package traefik

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// renderer renders policies as a Traefik headers Middleware.
type renderer struct{}

// Name is the data plane's name in status.
func (renderer) Name() string { return Name }

// RenderIngress computes the Traefik Middleware for one Ingress.
func (renderer) RenderIngress(p dataplanes.Policy, t dataplanes.IngressTarget) dataplanes.IngressConfig {
	return renderTraefik(p, t)
}

// renderTraefik writes a policy as a traefik.io/v1alpha1 Middleware with
// spec.headers, in the target's namespace, named after the policy so that
// every Ingress the policy targets shares it.
//
// How Traefik v3.6 reads it (pkg/middlewares/headers/header.go): an origin is
// allowed when it equals an entry of accessControlAllowOriginList byte for
// byte, when that list holds "*" (the response then says "*"), or when a
// regular expression of accessControlAllowOriginListRegex matches it
// (Go regexp MatchString, so unanchored unless anchored). Preflights are
// answered by Traefik itself with the configured methods, headers and max
// age; accessControlAllowCredentials is sent whatever the origin. Everything a
// validated policy says is expressible, so nothing is narrowed: wildcards
// become anchored regular expressions with one or more labels and any port.
func renderTraefik(p dataplanes.Policy, t dataplanes.IngressTarget) dataplanes.IngressConfig {
	spec := p.Spec
	var exact, patterns []any
	for _, o := range dataplanes.OriginPatterns(spec) {
		if o.Any || (!o.SubdomainWildcard && o.Port != corsrules.AnyPort) {
			exact = append(exact, o.String())
			continue
		}
		patterns = append(patterns, dataplanes.OriginRegexp(o.OriginPattern))
	}
	headers := map[string]any{
		"accessControlAllowCredentials": dataplanes.Credentials(spec),
		"accessControlMaxAge":           int64(dataplanes.MaxAge(spec)),
		// Responses differ by Origin: without Vary, a shared cache could
		// serve one origin's allowance to another.
		"addVaryHeader": true,
	}
	setList(headers, "accessControlAllowOriginList", exact)
	setList(headers, "accessControlAllowOriginListRegex", patterns)
	methods, narrowed := dataplanes.HTTPTokens(dataplanes.AllowMethodsPath, dataplanes.MethodNames(spec))
	allow, allowNarrowed := dataplanes.HTTPTokens(dataplanes.AllowHeadersPath, dataplanes.AllowHeaderNames(spec))
	expose, exposeNarrowed := dataplanes.HTTPTokens(dataplanes.ExposeHeadersPath, dataplanes.ExposeHeaderNames(spec))
	narrowed = append(append(narrowed, allowNarrowed...), exposeNarrowed...)
	setList(headers, "accessControlAllowMethods", dataplanes.StringList(methods))
	setList(headers, "accessControlAllowHeaders", dataplanes.StringList(allow))
	setList(headers, "accessControlExposeHeaders", dataplanes.StringList(expose))

	name := MiddlewareName(p.Name)
	middleware := dataplanes.OwnedObject(Group+"/"+Version, Kind, t.Namespace, name, p.Name, map[string]any{"spec": map[string]any{"headers": headers}})
	return dataplanes.IngressConfig{
		Objects:     []*unstructured.Unstructured{middleware},
		ListEntries: []string{t.Namespace + "-" + name + CRDProvider},
		SharedList:  &MiddlewareList,
		Narrowed:    narrowed,
	}
}

// MiddlewareName is the name of the Middleware rendered for a policy
// (dataplanes.OwnedObjectName).
func MiddlewareName(policyName string) string { return dataplanes.OwnedObjectName(policyName) }

// PolicyLabelValue is the value of dataplanes.LabelPolicy for a policy
// (dataplanes.PolicyLabelValue).
func PolicyLabelValue(policyName string) string { return dataplanes.PolicyLabelValue(policyName) }

// setList sets a list field only when it has entries: Traefik reads an
// absent list as empty, and the Middleware stays short to read.
func setList(m map[string]any, key string, values []any) {
	if len(values) > 0 {
		m[key] = values
	}
}
