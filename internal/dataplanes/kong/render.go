package kong

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// PluginsAnnotation is the Ingress (and Service) annotation that attaches
// KongPlugins of the object's namespace, by name, comma-separated.
const PluginsAnnotation = "konghq.com/plugins"

// PluginList is the konghq.com/plugins list as kubecors shares it with
// users: its entries are recorded in kubecors.io/kong-plugins.
var PluginList = dataplanes.SharedList{Key: PluginsAnnotation, RecordKey: "kubecors.io/kong-plugins"}

// The KongPlugin kind of Kong Ingress Controller, and the plugin kubecors
// configures.
const (
	Group      = "configuration.konghq.com"
	Version    = "v1"
	Kind       = "KongPlugin"
	PluginName = "cors"
)

// kongMethods is the enum of the cors plugin's config.methods
// (schema.lua): a method outside it makes Kong reject the whole plugin.
var kongMethods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

// renderer renders policies as a Kong cors plugin.
type renderer struct{}

// Name is the data plane's name in status.
func (renderer) Name() string { return Name }

// RenderIngress computes the KongPlugin for one Ingress.
func (renderer) RenderIngress(p dataplanes.Policy, t dataplanes.IngressTarget) dataplanes.IngressConfig {
	return renderKong(p, t)
}

// RouteFilter is the ExtensionRef filter that attaches the KongPlugin
// named name to an HTTPRoute rule (an ExtensionRef is local: the plugin
// shares the route's namespace).
func RouteFilter(name string) gatewayv1.HTTPRouteFilter {
	return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterExtensionRef, ExtensionRef: &gatewayv1.LocalObjectReference{
		Group: Group, Kind: Kind, Name: gatewayv1.ObjectName(name),
	}}
}

// renderKong writes a policy as a configuration.konghq.com/v1 KongPlugin of
// plugin cors, in the target's namespace, named after the policy so that
// every target of the policy in a namespace shares it.
//
// How Kong reads it (kong/plugins/cors/handler.lua): an empty origins list
// allows every origin, and "*" with credentials echoes the caller's
// origin, so neither is ever written: a policy with no origin left is
// refused, and "*" is written only without credentials (the rules forbid
// "*" with credentials). An entry made only of letters, digits, ".", ":",
// "/" and "-" is compared with the request's origin after both drop a
// default port; any other entry is a PCRE matched, anchored at both ends,
// against the origin (or only its host when the entry has no ":").
// Wildcards are therefore written as anchored regular expressions. IPv6
// literals are left out: LuaSocket's URL parser drops their brackets before
// the comparison. An empty
// or absent headers list echoes Access-Control-Request-Headers (any
// header, Authorization included) and an absent methods list allows every
// method, TRACE and CONNECT included: both are always written, with
// dataplanes.NoRequestHeaders and the safelisted methods standing in for
// an empty list. max_age and credentials are always written and
// preflight_continue is false, so that Kong answers preflights itself.
func renderKong(p dataplanes.Policy, t dataplanes.IngressTarget) dataplanes.IngressConfig {
	spec := p.Spec
	credentials := dataplanes.Credentials(spec)
	var origins []string
	var narrowed []dataplanes.Narrowing
	for _, o := range dataplanes.OriginPatterns(spec) {
		switch {
		case o.IP.Is6():
			narrowed = append(narrowed, dataplanes.Narrowing{Field: o.Path(), Value: o.Written,
				Reason: "Kong compares origins after parsing them with LuaSocket, which drops the brackets of an IPv6 literal, and reads brackets in an origins entry as a regular expression; the origin was left out, so pages served from it are refused on this data plane"})
		case o.Any && credentials:
			// Unreachable for accepted policies; never written, because
			// Kong would echo every origin with credentials.
			continue
		case o.Any:
			origins = append(origins, "*")
		case o.SubdomainWildcard || o.Port == corsrules.AnyPort:
			origins = append(origins, dataplanes.OriginRegexp(o.OriginPattern))
		default:
			origins = append(origins, o.String())
		}
	}
	if len(origins) == 0 {
		return dataplanes.IngressConfig{Refused: "the policy allows no origin that Kong can be told about, and Kong's cors plugin reads an empty origins list as every origin; no KongPlugin was written"}
	}
	if slices.Contains(origins, "*") {
		// "*" allows everything on its own; Kong stops at it anyway.
		origins = []string{"*"}
	}
	methodNames, tokenNarrowed := dataplanes.HTTPTokens(dataplanes.AllowMethodsPath, dataplanes.MethodNames(spec))
	narrowed = append(narrowed, tokenNarrowed...)
	methods, methodsNarrowed := kongAllowMethods(methodNames)
	narrowed = append(narrowed, methodsNarrowed...)
	headers, tokenNarrowed := dataplanes.HTTPTokens(dataplanes.AllowHeadersPath, dataplanes.AllowHeaderNames(spec))
	narrowed = append(narrowed, tokenNarrowed...)
	expose, tokenNarrowed := dataplanes.HTTPTokens(dataplanes.ExposeHeadersPath, dataplanes.ExposeHeaderNames(spec))
	narrowed = append(narrowed, tokenNarrowed...)
	if len(headers) == 0 {
		headers = []string{dataplanes.NoRequestHeaders}
	}
	config := map[string]any{
		"origins":            dataplanes.StringList(origins),
		"methods":            dataplanes.StringList(methods),
		"headers":            dataplanes.StringList(headers),
		"credentials":        credentials,
		"max_age":            int64(dataplanes.MaxAge(spec)),
		"preflight_continue": false,
	}
	if len(expose) > 0 {
		config["exposed_headers"] = dataplanes.StringList(expose)
	}
	name := dataplanes.OwnedObjectName(p.Name)
	plugin := dataplanes.OwnedObject(Group+"/"+Version, Kind, t.Namespace, name, p.Name, map[string]any{"plugin": PluginName, "config": config})
	return dataplanes.IngressConfig{
		Objects:     []*unstructured.Unstructured{plugin},
		ListEntries: []string{name},
		SharedList:  &PluginList,
		Narrowed:    narrowed,
	}
}

// kongAllowMethods keeps the methods of the plugin's enum. "*" is not in
// it: the standard methods stand in for it. An empty result would leave
// methods out, which Kong reads as every method, so the safelisted methods
// (which browsers allow anyway) stand in for it.
func kongAllowMethods(methods []string) ([]string, []dataplanes.Narrowing) {
	var kept []string
	var narrowed []dataplanes.Narrowing
	for i, m := range methods {
		switch {
		case m == "*":
			for _, std := range dataplanes.StandardMethods {
				kept = appendNew(kept, std)
			}
			narrowed = append(narrowed, dataplanes.Narrowing{Field: dataplanes.AllowMethodsPath.Index(i).String(), Value: m,
				Reason: fmt.Sprintf(`Kong's cors plugin cannot express "*" (any method); rendered the standard methods %s instead`, strings.Join(dataplanes.StandardMethods, ", "))})
		case slices.Contains(kongMethods, m):
			kept = appendNew(kept, m)
		default:
			narrowed = append(narrowed, dataplanes.Narrowing{Field: dataplanes.AllowMethodsPath.Index(i).String(), Value: m,
				Reason: "Kong's cors plugin accepts only " + strings.Join(kongMethods, ", ") + " (method names are case-sensitive, and any other value makes Kong reject the plugin); the method was left out, so browsers refuse it on this data plane"})
		}
	}
	if len(kept) == 0 {
		kept = dataplanes.SafelistedMethods
	}
	return kept, narrowed
}

// appendNew appends v unless list holds it already.
func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}
