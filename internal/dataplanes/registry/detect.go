package registry

import (
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/kubecors/kubecors/internal/dataplanes"
)

// The annotations that select an IngressClass.
const (
	// LegacyIngressClassAnnotation names the class on Ingresses older than
	// spec.ingressClassName; controllers still honour it.
	LegacyIngressClassAnnotation = "kubernetes.io/ingress.class"
	// DefaultIngressClassAnnotation marks the IngressClass that serves
	// Ingresses naming none.
	DefaultIngressClassAnnotation = "ingressclass.kubernetes.io/is-default-class"
)

// Detection says which data plane serves an Ingress and how that was found.
type Detection struct {
	// DataPlane is the data plane's name; empty when none could be told.
	DataPlane string
	// Controller is the IngressClass's spec.controller, when known.
	Controller string
	// How says in plain words how the data plane was found, or why not.
	How string
}

// IngressClassName is the class an Ingress names, or "" when it names none.
func IngressClassName(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil && *ing.Spec.IngressClassName != "" {
		return *ing.Spec.IngressClassName
	}
	return ing.Annotations[LegacyIngressClassAnnotation]
}

// DetectIngress finds the data plane that serves ing: its IngressClass's
// controller (the class marked default when it names none), as the
// controllers do; when that does not tell, the data plane whose CORS
// annotations the Ingress carries, which is a guess and said to be one.
func DetectIngress(ing *networkingv1.Ingress, classes []networkingv1.IngressClass) Detection {
	name := IngressClassName(ing)
	var class *networkingv1.IngressClass
	var problem string
	if name != "" {
		i := slices.IndexFunc(classes, func(c networkingv1.IngressClass) bool { return c.Name == name })
		if i >= 0 {
			class = &classes[i]
		} else {
			problem = fmt.Sprintf("IngressClass %q does not exist", name)
		}
	} else {
		var defaults []networkingv1.IngressClass
		for _, c := range classes {
			if c.Annotations[DefaultIngressClassAnnotation] == "true" {
				defaults = append(defaults, c)
			}
		}
		switch len(defaults) {
		case 1:
			class = &defaults[0]
		case 0:
			problem = "the Ingress names no IngressClass and none is marked default"
		default:
			problem = "the Ingress names no IngressClass and several are marked default"
		}
	}
	if class != nil {
		if dp, ok := IngressControllers()[class.Spec.Controller]; ok {
			return Detection{DataPlane: dp, Controller: class.Spec.Controller,
				How: fmt.Sprintf("IngressClass %q is served by %s", class.Name, class.Spec.Controller)}
		}
		problem = fmt.Sprintf("IngressClass %q is served by %s, which kubectl cors does not model", class.Name, class.Spec.Controller)
	}
	if guessed := AnnotatedDataPlanes(ing.Annotations); len(guessed) == 1 {
		return Detection{DataPlane: guessed[0], Controller: controllerOf(class),
			How: fmt.Sprintf("%s; guessed %s from the Ingress's annotations", problem, guessed[0])}
	}
	return Detection{Controller: controllerOf(class), How: problem}
}

func controllerOf(class *networkingv1.IngressClass) string {
	if class == nil {
		return ""
	}
	return class.Spec.Controller
}

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
