// Package contour is everything kubecors knows about Contour's HTTPProxy
// as a target: the virtual host corsPolicy a policy is rendered as, on root
// proxies only (render.go); how kubecors's change is applied and removed,
// restoring the user's corsPolicy as it was (apply.go); how Contour's Envoy
// answers a browser from a corsPolicy, read from Contour's own translation
// (read.go); and the edit kubectl cors explain suggests (fix.go).
// DataPlane is its one entry in package registry.
package contour

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// Name is the data plane's name in status and kubectl cors.
const Name = "contour"

// The HTTPProxy kind kubecors reads and writes.
const (
	Group    = "projectcontour.io"
	Version  = "v1"
	Kind     = "HTTPProxy"
	Resource = "httpproxies"
)

// GVK is HTTPProxy's group, version and kind.
var GVK = schema.GroupVersionKind{Group: Group, Version: Version, Kind: Kind}

// The operator patches the virtual host of the HTTPProxies it targets.
// +kubebuilder:rbac:groups=projectcontour.io,resources=httpproxies,verbs=get;list;watch;patch

// DataPlane describes Contour for the registry.
func DataPlane() dataplanes.DataPlane {
	return dataplanes.DataPlane{
		Name:        Name,
		Description: "Contour, configured by spec.virtualhost.corsPolicy of a targeted root HTTPProxy",
		Target:      &Target,
		Check: func(p dataplanes.Policy) (string, []dataplanes.Narrowing) {
			cors, narrowed := RenderCorsPolicy(p)
			if cors == nil {
				return refusedNoOrigin, nil
			}
			return "", narrowed
		},
		Rendered: dataplanes.TargetRendered(Name, Target),
		RBAC:     []string{"get, list, watch, patch on projectcontour.io/httpproxies"},
	}
}

// Target is the HTTPProxy target kind.
var Target = dataplanes.TargetKind{
	GVK:               GVK,
	Resource:          Resource,
	Render:            Render,
	Apply:             Apply,
	Remove:            Remove,
	Read:              ReadHTTPProxy,
	Sample:            sampleHTTPProxy,
	NewFixer:          func(proxy, _ string) dataplanes.Fixer { return NewFixer(proxy) },
	RecordAnnotations: []string{RecordAnnotation},
}

// sampleHTTPProxy is a root HTTPProxy, for rendering a policy without a
// target (kubectl cors explain -f, the never-broaden property).
func sampleHTTPProxy() *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"virtualhost": map[string]any{"fqdn": "web.example.com"},
			"routes":      []any{map[string]any{"services": []any{map[string]any{"name": "web", "port": int64(80)}}}},
		},
	}}
	obj.SetGroupVersionKind(GVK)
	return obj
}
