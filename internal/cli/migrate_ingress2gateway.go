package cli

import (
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
)

// What ingress2gateway does with ingress-nginx's CORS annotations, read from
// its source (kubernetes-sigs/ingress2gateway, commit 02ae1263fdedb27668cd8dfb80c81ed36f98c548,
// the v1.0 line; its Go module is not served by the module proxy):
//
//   - pkg/i2gw/providers/ingressnginx/cors.go (applyCorsToEmitterIR): for
//     each HTTPRoute rule whose first non-canary source Ingress has
//     enable-cors parsing as true (strconv.ParseBool), a CORS filter whose
//     allowOrigins, allowMethods, allowHeaders and exposeHeaders are the
//     annotations split at commas and trimmed, copied without any
//     validation; an absent or empty cors-allow-origin becomes "*", absent
//     methods "GET, PUT, POST, DELETE, PATCH, OPTIONS", absent headers
//     nginx's documented list; allowCredentials is always written, true
//     unless cors-allow-credentials parses as false; maxAge is
//     cors-max-age parsed as an int32, else 1728000.
//   - pkg/i2gw/emitters/common_emitter/emitter.go (applyCorsPolicies):
//     the filter is appended to the rule's filters.
//   - pkg/i2gw/providers/common/utils.go (RouteName, NameFromHost): one
//     HTTPRoute per namespace, IngressClass and host, named after the first
//     Ingress of that host, "<ingress>-<host with every run of other
//     characters than letters and digits turned into '-'>" ("all-hosts" for
//     none); each Ingress path becomes a rule matching its path, with the
//     path's Service as backend.
//
// So "https://*.example.com", one label on ingress-nginx, is copied as is
// and means any depth on Gateway API; a value ingress-nginx rejected and
// replaced with "*" is copied verbatim (and may fail Gateway API's own
// validation); and credentials are on wherever nginx's default had them on.

// ingress2gatewayMaxAge is the maxAge ingress2gateway writes when
// cors-max-age is absent or not an int32 (nginx's default).
const ingress2gatewayMaxAge = 1728000

// canaryAnnotation marks an ingress-nginx canary Ingress, which
// ingress2gateway never takes a rule's CORS from.
const canaryAnnotation = ingressnginx.Prefix + "canary"

// ingress2gatewayFilter is the CORS filter ingress2gateway writes into the
// rules generated from an Ingress with these annotations, nil when it writes
// none.
func ingress2gatewayFilter(annotations map[string]string) *gatewayv1.HTTPCORSFilter {
	if enabled, err := strconv.ParseBool(annotations[ingressnginx.EnableCors]); err != nil || !enabled {
		return nil
	}
	split := func(key string, fallback []string) []string {
		value := annotations[key]
		if value == "" {
			return fallback
		}
		var out []string
		for item := range strings.SplitSeq(value, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		return out
	}
	f := &gatewayv1.HTTPCORSFilter{}
	for _, o := range split(ingressnginx.AllowOrigin, []string{"*"}) {
		f.AllowOrigins = append(f.AllowOrigins, gatewayv1.CORSOrigin(o))
	}
	for _, m := range split(ingressnginx.AllowMethods, []string{"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"}) {
		f.AllowMethods = append(f.AllowMethods, gatewayv1.HTTPMethodWithWildcard(m))
	}
	for _, h := range split(ingressnginx.AllowHeaders, strings.Split(ingressnginx.DefaultHeaders, ",")) {
		f.AllowHeaders = append(f.AllowHeaders, gatewayv1.HTTPHeaderName(h))
	}
	for _, h := range split(ingressnginx.ExposeHeaders, nil) {
		f.ExposeHeaders = append(f.ExposeHeaders, gatewayv1.HTTPHeaderName(h))
	}
	credentials := true
	if v, ok := annotations[ingressnginx.AllowCredentials]; ok {
		if allowed, err := strconv.ParseBool(v); err == nil && !allowed {
			credentials = false
		}
	}
	f.AllowCredentials = &credentials
	f.MaxAge = ingress2gatewayMaxAge
	if v := annotations[ingressnginx.MaxAge]; v != "" {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil {
			f.MaxAge = int32(n)
		}
	}
	return f
}

// filterContent is a filter as unstructured content, the way it reads back
// from a route.
func filterContent(f *gatewayv1.HTTPCORSFilter) map[string]any {
	if f == nil {
		return nil
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(f)
	if err != nil {
		// A typed filter always converts.
		return nil
	}
	return content
}

// sameFilter reports whether a route's CORS filter is the one
// ingress2gateway writes: the same fields once decoded, nil and empty lists
// alike.
func sameFilter(written map[string]any, copied *gatewayv1.HTTPCORSFilter) bool {
	if written == nil || copied == nil {
		return written == nil && copied == nil
	}
	var typed gatewayv1.HTTPCORSFilter
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(written, &typed); err != nil {
		return false
	}
	// A field the typed filter does not know (from a newer Gateway API)
	// was not written by ingress2gateway: decoding would drop it, so the
	// filter must survive the round trip unchanged.
	if roundTrip, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&typed); err != nil || !equality.Semantic.DeepEqual(roundTrip, written) {
		return false
	}
	return equality.Semantic.DeepEqual(&typed, copied)
}

// routeRuleShape is what ties an HTTPRoute rule to the Ingress paths it was
// generated from: its path values and its backends' names.
type routeRuleShape struct {
	paths    []string
	backends []string
}

// ruleShape reads a rule's path values ("/" when it matches every path)
// and backend names.
func ruleShape(rule map[string]any) routeRuleShape {
	var s routeRuleShape
	matches, _, _ := unstructured.NestedSlice(rule, "matches")
	for _, m := range matches {
		match, ok := m.(map[string]any)
		if !ok {
			continue
		}
		if v, found, _ := unstructured.NestedString(match, "path", "value"); found {
			s.paths = append(s.paths, v)
		} else {
			s.paths = append(s.paths, "/")
		}
	}
	if len(s.paths) == 0 {
		s.paths = []string{"/"}
	}
	refs, _, _ := unstructured.NestedSlice(rule, "backendRefs")
	for _, r := range refs {
		if ref, ok := r.(map[string]any); ok {
			if name, _, _ := unstructured.NestedString(ref, "name"); name != "" {
				s.backends = append(s.backends, name)
			}
		}
	}
	return s
}

// generatedFrom reports whether ingress2gateway generates a rule of this
// shape, in a route for hostnames, from the Ingress: one of its paths on
// one of the route's hosts (or its default backend) has the rule's path
// and, when the rule has backends, one of them.
func (s routeRuleShape) generatedFrom(ing *networkingv1.Ingress, hostnames []string) bool {
	backendMatches := func(b *networkingv1.IngressBackend) bool {
		if len(s.backends) == 0 {
			return true
		}
		return b != nil && b.Service != nil && slices.Contains(s.backends, b.Service.Name)
	}
	onRouteHosts := false
	for _, r := range ing.Spec.Rules {
		if (len(hostnames) != 0 || r.Host != "") && !slices.Contains(hostnames, r.Host) {
			continue
		}
		onRouteHosts = true
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			path := p.Path
			if path == "" {
				path = "/"
			}
			if slices.Contains(s.paths, path) && backendMatches(&p.Backend) {
				return true
			}
		}
	}
	if ing.Spec.DefaultBackend != nil && slices.Contains(s.paths, "/") && len(s.backends) > 0 && backendMatches(ing.Spec.DefaultBackend) {
		return len(hostnames) == 0 || onRouteHosts
	}
	return false
}
