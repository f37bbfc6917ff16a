package controllers

import (
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// lastAppliedAnnotation is kubectl's copy of the whole object as last
// applied client-side; often the largest part of an Ingress, and never
// read by kubecors.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// CacheTransform returns the transform the manager's cache applies to every
// object before storing it: it drops what kubecors never reads, the
// managed fields of every other manager and kubectl's last-applied copy,
// which on large clusters are most of the cache's memory. kubecors's own
// managed-fields entries stay: they say which annotations it applied.
func CacheTransform() toolscache.TransformFunc {
	return func(in any) (any, error) {
		obj, ok := in.(metav1.Object)
		if !ok {
			return in, nil
		}
		if managed := obj.GetManagedFields(); len(managed) > 0 {
			kept := slices.DeleteFunc(slices.Clone(managed), func(e metav1.ManagedFieldsEntry) bool { return e.Manager != FieldManager })
			if len(kept) == 0 {
				kept = nil
			}
			obj.SetManagedFields(kept)
		}
		if annotations := obj.GetAnnotations(); annotations != nil {
			if _, ok := annotations[lastAppliedAnnotation]; ok {
				delete(annotations, lastAppliedAnnotation)
				obj.SetAnnotations(annotations)
			}
		}
		return obj, nil
	}
}

// metadataOrGenerationChanged lets through the updates of a target that
// can change what kubecors does: its labels (selectors), annotations
// (class, markers, Traefik's middleware list, hand-written CORS keys),
// its spec (generation: class, rules, parents) or its deletion. Status
// updates, such as an ingress controller writing the load-balancer
// address, are dropped.
func metadataOrGenerationChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld, e.ObjectNew
		return o.GetGeneration() != n.GetGeneration() ||
			!maps.Equal(o.GetLabels(), n.GetLabels()) ||
			!maps.Equal(o.GetAnnotations(), n.GetAnnotations()) ||
			!o.GetDeletionTimestamp().Equal(n.GetDeletionTimestamp())
	}}
}
