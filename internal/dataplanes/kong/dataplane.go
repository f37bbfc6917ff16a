// Package kong is everything kubecors knows about Kong: the KongPlugin of
// plugin cors a policy is rendered as (render.go), which an Ingress of
// Kong's IngressClass attaches through its konghq.com/plugins annotation and
// an HTTPRoute of Kong's GatewayClass through an ExtensionRef filter (Kong
// does not implement Gateway API's HTTPRouteCORS); how Kong's cors plugin
// answers a browser (read.go); and the edit kubectl cors explain suggests
// (fix.go). DataPlane is its one entry in package registry.
//
// Sources (Kong's Go modules are not served by the Go module proxy, so
// these were read from its public repositories): the plugin's schema and
// handler, github.com/Kong/kong kong/plugins/cors/schema.lua and
// kong/plugins/cors/handler.lua (the handler of Kong Gateway 3.x, commit
// 01789df426ac4b882755b9074556d4b79c29f038, with allow_origin_absent and
// private_network; the methods enum of the current schema: GET, HEAD, PUT,
// PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT); the KongPlugin CRD,
// github.com/Kong/kubernetes-configuration v1.0.6 (commit
// 4408a132b9b6e95917b9f30a23b0e703b9a2bcbe), vendored in test/crds/kong.
package kong

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// Name is the data plane's name in status, flags and kubectl cors.
const Name = "kong"

// Controller is the IngressClass spec.controller of Kong Ingress
// Controller.
const Controller = "ingress-controllers.konghq.com/kong"

// GatewayController is the GatewayClass spec.controllerName of Kong
// Ingress Controller's Gateway API support, whose HTTPRoutes use a
// KongPlugin through an ExtensionRef filter.
const GatewayController = "konghq.com/kic-gateway-controller"

// The operator applies the KongPlugins it renders (server-side), and lists
// and deletes its own when the policy goes or stops targeting them.
// +kubebuilder:rbac:groups=configuration.konghq.com,resources=kongplugins,verbs=get;list;create;patch;delete

// DataPlane describes Kong for the registry.
func DataPlane() dataplanes.DataPlane {
	return dataplanes.DataPlane{
		Name: Name,
		Description: "Kong, configured by a kubecors-owned KongPlugin (plugin cors) that the Ingress's " +
			PluginsAnnotation + " annotation or the HTTPRoute rule's ExtensionRef filter names",
		IngressControllers: []string{Controller},
		GatewayControllers: []string{GatewayController},
		Ingress:            renderer{},
		ReadIngress:        readIngressConfig,
		Rendered:           dataplanes.RenderedIngress(renderer{}, readIngressConfig),
		AnnotationKeys:     []string{PluginsAnnotation},
		SharedList:         &PluginList,
		ObjectsKind:        schema.GroupVersionKind{Group: Group, Version: Version, Kind: Kind + "List"},
		ReadIngressObjects: readIngressObjects,
		RenderRoute: func(p dataplanes.Policy, namespace string) dataplanes.RouteConfig {
			c := renderKong(p, dataplanes.IngressTarget{Namespace: namespace})
			if c.Refused != "" {
				return dataplanes.RouteConfig{Refused: c.Refused}
			}
			return dataplanes.RouteConfig{Filter: RouteFilter(c.Objects[0].GetName()), Object: c.Objects[0], Narrowed: c.Narrowed}
		},
		Check: func(p dataplanes.Policy) (string, []dataplanes.Narrowing) {
			c := renderKong(p, dataplanes.IngressTarget{})
			return c.Refused, c.Narrowed
		},
		SubdomainWildcardNote: `Kong's cors plugin has no wildcard syntax: "*." in an origin makes it a regular expression in which "*" repeats the preceding character`,
		RBAC: []string{
			"get, list, watch, patch on networking.k8s.io/ingresses (the konghq.com/plugins annotation)",
			"get, list, create, patch, delete on configuration.konghq.com/kongplugins",
		},
	}
}

// readIngressConfig reads the KongPlugins a render created.
func readIngressConfig(c dataplanes.IngressConfig) (dataplanes.Model, error) {
	plugins := make([]Plugin, 0, len(c.Objects))
	for i, obj := range c.Objects {
		plugins = append(plugins, Plugin{Ref: c.ListEntries[min(i, len(c.ListEntries)-1)], Object: obj})
	}
	return ParseKong(plugins)
}

// readIngressObjects reads the KongPlugins an Ingress's konghq.com/plugins
// list names, among the KongPlugins of its namespace.
func readIngressObjects(ingress string, annotations map[string]string, objects []unstructured.Unstructured) (dataplanes.Model, []string, dataplanes.Fixer, error) {
	namespace := namespaceOf(ingress)
	refs := dataplanes.SplitList(annotations[PluginsAnnotation])
	plugins := make([]Plugin, 0, len(refs))
	for _, ref := range refs {
		p := Plugin{Ref: ref}
		for i := range objects {
			if objects[i].GetNamespace() == namespace && objects[i].GetName() == ref {
				p.Object = &objects[i]
				break
			}
		}
		plugins = append(plugins, p)
	}
	model, err := ParseKong(plugins)
	if err != nil {
		return nil, nil, nil, err
	}
	return model, nil, NewFixer(plugins, ingress), nil
}
