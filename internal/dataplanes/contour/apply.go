package contour

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// RecordAnnotation records on an HTTPProxy what kubecors wrote into its
// virtual host and the corsPolicy the user had there before
// (dataplanes.TargetRecord).
const RecordAnnotation = "kubecors.io/contour-cors"

// virtualHostPlaces is the corsPolicy place of a root proxy's virtual host,
// on the object's own map; none for a proxy that is not a root.
func virtualHostPlaces(obj *unstructured.Unstructured) []dataplanes.ConfigPlace {
	spec, _ := obj.Object["spec"].(map[string]any)
	vhost, ok := spec["virtualhost"].(map[string]any)
	if !ok {
		return nil
	}
	return []dataplanes.ConfigPlace{{Holder: vhost, Field: "corsPolicy", Path: "spec.virtualhost.corsPolicy"}}
}

// Apply sets the rendered corsPolicy on the virtual host, keeping every
// other field; a corsPolicy kubecors did not write is a conflict unless
// takeOver.
func Apply(obj *unstructured.Unstructured, change dataplanes.TargetChange, takeOver bool) error {
	return dataplanes.ApplyToPlaces(obj, virtualHostPlaces(obj), change.CORS, RecordAnnotation, takeOver, Kind)
}

// Remove restores the virtual host's corsPolicy as it was before kubecors
// wrote it; one the user changed since stays.
func Remove(obj *unstructured.Unstructured) error {
	return dataplanes.RemoveFromPlaces(obj, virtualHostPlaces(obj), RecordAnnotation)
}
