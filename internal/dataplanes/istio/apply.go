package istio

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// RecordAnnotation records on a VirtualService what kubecors wrote into its
// http routes and the corsPolicy each route had before
// (dataplanes.TargetRecord). spec.http is an atomic list, and routes need
// not have names, so this is how kubecors finds its change again and tells
// it from the user's.
const RecordAnnotation = "kubecors.io/istio-cors"

// routePlaces lists the corsPolicy place of every http route of obj, on
// the object's own maps.
func routePlaces(obj *unstructured.Unstructured) []dataplanes.ConfigPlace {
	spec, _ := obj.Object["spec"].(map[string]any)
	routes, _ := spec["http"].([]any)
	places := make([]dataplanes.ConfigPlace, 0, len(routes))
	for i, r := range routes {
		route, ok := r.(map[string]any)
		if !ok {
			continue
		}
		name, _ := route["name"].(string)
		places = append(places, dataplanes.ConfigPlace{Name: name, Index: i, Holder: route, Field: "corsPolicy",
			Path: fmt.Sprintf("spec.http[%d].corsPolicy", i)})
	}
	return places
}

// Apply sets the rendered corsPolicy on every http route of obj, keeping
// the routes, their order and every other field, and records each route's
// previous corsPolicy. A route with a corsPolicy kubecors did not write is
// a conflict unless takeOver.
func Apply(obj *unstructured.Unstructured, change dataplanes.TargetChange, takeOver bool) error {
	return dataplanes.ApplyToPlaces(obj, routePlaces(obj), change.CORS, RecordAnnotation, takeOver, Kind)
}

// Remove restores each http route's corsPolicy as it was before kubecors
// wrote it, verbatim; routes whose corsPolicy the user changed since keep
// the user's.
func Remove(obj *unstructured.Unstructured) error {
	return dataplanes.RemoveFromPlaces(obj, routePlaces(obj), RecordAnnotation)
}
