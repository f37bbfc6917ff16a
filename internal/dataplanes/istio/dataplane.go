// Package istio is everything kubecors knows about Istio's VirtualService
// as a target: the corsPolicy a policy is rendered as in every http route
// (render.go), how kubecors's change is applied to the atomic http list and
// removed again, restoring the user's routes as they were (apply.go), how
// Istio's Envoy answers a browser from a corsPolicy (read.go), and the edit
// kubectl cors explain suggests (fix.go). DataPlane is its one entry in
// package registry.
package istio

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// Name is the data plane's name in status and kubectl cors.
const Name = "istio"

// The VirtualService kind kubecors reads and writes. v1 is served and
// stored by Istio 1.22 and later (the vendored CRD of istio.io/api v1.32.0
// serves v1, v1beta1 and v1alpha3 with one schema).
const (
	Group    = "networking.istio.io"
	Version  = "v1"
	Kind     = "VirtualService"
	Resource = "virtualservices"
)

// GVK is VirtualService's group, version and kind.
var GVK = schema.GroupVersionKind{Group: Group, Version: Version, Kind: Kind}

// The operator patches the http list of the VirtualServices it targets.
// +kubebuilder:rbac:groups=networking.istio.io,resources=virtualservices,verbs=get;list;watch;patch

// DataPlane describes Istio for the registry.
func DataPlane() dataplanes.DataPlane {
	return dataplanes.DataPlane{
		Name:        Name,
		Description: "Istio, configured by the corsPolicy of every http route of a targeted VirtualService",
		Target:      &Target,
		Check: func(p dataplanes.Policy) (string, []dataplanes.Narrowing) {
			cors, narrowed := RenderCorsPolicy(p)
			if cors == nil {
				return refusedNoOrigin, nil
			}
			return "", narrowed
		},
		Rendered: dataplanes.TargetRendered(Name, Target),
		RBAC:     []string{"get, list, watch, patch on networking.istio.io/virtualservices"},
	}
}

// Target is the VirtualService target kind.
var Target = dataplanes.TargetKind{
	GVK:               GVK,
	Resource:          Resource,
	Render:            Render,
	Apply:             Apply,
	Remove:            Remove,
	Read:              ReadVirtualService,
	Sample:            sampleVirtualService,
	NewFixer:          NewFixer,
	RecordAnnotations: []string{RecordAnnotation},
}

// sampleVirtualService is a VirtualService with one http route, for
// rendering a policy without a target (kubectl cors explain -f, the
// never-broaden property).
func sampleVirtualService() *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"hosts": []any{"web.example.com"},
			"http":  []any{map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": "web"}}}}},
		},
	}}
	obj.SetGroupVersionKind(GVK)
	return obj
}
