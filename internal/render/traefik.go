package render

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubecors/kubecors/internal/corsrules"
)

// The Traefik Middleware kind, and how an Ingress refers to a Middleware in
// its traefik.ingress.kubernetes.io/router.middlewares annotation.
const (
	traefikMiddlewareAPIVersion = "traefik.io/v1alpha1"
	traefikMiddlewareKind       = "Middleware"
	traefikCRDProvider          = "@kubernetescrd"
)

// Labels on every object kubecors creates, so that the controller can find
// the objects of a policy and people can tell who manages them.
const (
	// LabelManagedBy marks objects that kubecors creates and owns.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByKubecors is the value of LabelManagedBy on kubecors objects.
	ManagedByKubecors = "kubecors"
	// LabelPolicy names the CorsPolicy an object was rendered from.
	LabelPolicy = "kubecors.io/policy"
)

// middlewareNamePrefix starts every Middleware name, so that a Middleware
// never collides with one the user wrote for the same purpose.
const middlewareNamePrefix = "kubecors-"

// nameHashLength is how many hex digits of a SHA-256 keep shortened or
// rewritten names apart.
const nameHashLength = 8

// invalidLabelChars are the characters a DNS-1123 label cannot hold. Policy
// names are DNS-1123 subdomains, so only "." is ever replaced.
var invalidLabelChars = regexp.MustCompile(`[^a-z0-9-]`)

// traefik renders policies as a Traefik headers Middleware.
type traefik struct{}

// Name is the data plane's name in status.
func (traefik) Name() string { return RendererTraefik }

// RenderIngress computes the Traefik Middleware for one Ingress.
func (traefik) RenderIngress(p Policy, t IngressTarget) IngressConfig {
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
func renderTraefik(p Policy, t IngressTarget) IngressConfig {
	spec := p.Spec
	var exact, patterns []any
	for _, o := range originPatterns(spec) {
		if o.Any || (!o.SubdomainWildcard && o.Port != corsrules.AnyPort) {
			exact = append(exact, o.String())
			continue
		}
		patterns = append(patterns, originRegexp(o.OriginPattern))
	}
	headers := map[string]any{
		"accessControlAllowCredentials": credentials(spec),
		"accessControlMaxAge":           int64(maxAge(spec)),
		// Responses differ by Origin: without Vary, a shared cache could
		// serve one origin's allowance to another.
		"addVaryHeader": true,
	}
	setList(headers, "accessControlAllowOriginList", exact)
	setList(headers, "accessControlAllowOriginListRegex", patterns)
	setList(headers, "accessControlAllowMethods", stringList(methodNames(spec)))
	setList(headers, "accessControlAllowHeaders", stringList(allowHeaderNames(spec)))
	setList(headers, "accessControlExposeHeaders", stringList(exposeHeaderNames(spec)))

	name := MiddlewareName(p.Name)
	middleware := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": traefikMiddlewareAPIVersion,
		"kind":       traefikMiddlewareKind,
		"metadata": map[string]any{
			"name":      name,
			"namespace": t.Namespace,
			"labels": map[string]any{
				LabelManagedBy: ManagedByKubecors,
				LabelPolicy:    PolicyLabelValue(p.Name),
			},
		},
		"spec": map[string]any{"headers": headers},
	}}
	return IngressConfig{
		Objects:     []*unstructured.Unstructured{middleware},
		Middlewares: []string{t.Namespace + "-" + name + traefikCRDProvider},
	}
}

// MiddlewareName is the name of the Middleware rendered for a policy:
// "kubecors-<policy name>" when that is a valid DNS-1123 label, else a
// shortened, rewritten form with a hash of the policy name, so that two
// policies never share a Middleware.
func MiddlewareName(policyName string) string {
	name := middlewareNamePrefix + policyName
	if len(validation.IsDNS1123Label(name)) == 0 {
		return name
	}
	return hashedName(invalidLabelChars.ReplaceAllString(name, "-"), policyName, validation.DNS1123LabelMaxLength)
}

// PolicyLabelValue is the value of LabelPolicy for a policy: its name when
// that fits a label value (63 characters), else a shortened form with a hash.
func PolicyLabelValue(policyName string) string {
	if len(validation.IsValidLabelValue(policyName)) == 0 {
		return policyName
	}
	return hashedName(policyName, policyName, validation.LabelValueMaxLength)
}

// hashedName shortens name to fit limit together with "-" and a hash of key,
// keeping it free of a trailing "-" or ".".
func hashedName(name, key string, limit int) string {
	sum := sha256.Sum256([]byte(key))
	suffix := "-" + hex.EncodeToString(sum[:])[:nameHashLength]
	if len(name) > limit-len(suffix) {
		name = name[:limit-len(suffix)]
	}
	return strings.TrimRight(name, "-.") + suffix
}

// setList sets a list field only when it has entries: Traefik reads an
// absent list as empty, and the Middleware stays short to read.
func setList(m map[string]any, key string, values []any) {
	if len(values) > 0 {
		m[key] = values
	}
}

// stringList converts to the []any that unstructured content holds.
func stringList(values []string) []any {
	list := make([]any, len(values))
	for i, v := range values {
		list[i] = v
	}
	return list
}
