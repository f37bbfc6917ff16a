package registry

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// AnnotatedDataPlanes lists, sorted, the data planes whose CORS
// configuration an Ingress's annotations hold: one of their AnnotationKeys
// (ingress-nginx or HAProxy Ingress CORS annotations, or a Traefik
// middleware list).
func AnnotatedDataPlanes(annotations map[string]string) []string {
	var planes []string
	for _, dp := range All() {
		for key := range annotations {
			if slices.Contains(dp.AnnotationKeys, key) {
				planes = append(planes, dp.Name)
				break
			}
		}
	}
	slices.Sort(planes)
	return planes
}

// ForeignCORSAnnotations lists the CORS annotation keys an Ingress carries
// for data planes other than dataPlane: they have no effect, and people
// often believe they do. Only the keys of data planes configured by
// annotations alone count: a Traefik middleware list may chain other
// middlewares too.
func ForeignCORSAnnotations(annotations map[string]string, dataPlane string) []string {
	var keys []string
	for _, dp := range All() {
		if dp.Name == dataPlane || dp.ReadAnnotations == nil {
			continue
		}
		for key := range annotations {
			if slices.Contains(dp.AnnotationKeys, key) {
				keys = append(keys, key)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// ParseIngressAnnotations returns the model of an Ingress's annotation-based
// configuration for dataPlane (ingress-nginx or HAProxy Ingress). Traefik
// needs the Middleware objects: use traefik.ParseTraefik.
func ParseIngressAnnotations(dataPlane string, annotations map[string]string) (dataplanes.Model, error) {
	var known []string
	for _, dp := range All() {
		if dp.ReadAnnotations == nil {
			continue
		}
		if dp.Name == dataPlane {
			return dp.ReadAnnotations(annotations), nil
		}
		known = append(known, dp.Name)
	}
	return nil, fmt.Errorf("data plane %q is not configured by annotations alone; known: %s", dataPlane, strings.Join(known, ", "))
}
