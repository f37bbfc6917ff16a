package controllers

import (
	"context"
	"errors"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/plan"
)

// ownedObjectKinds lists the kinds of the objects kubecors creates for a
// policy on some data plane (Traefik's Middlewares), as list kinds.
func ownedObjectKinds() map[string]schema.GroupVersionKind {
	kinds := map[string]schema.GroupVersionKind{}
	for _, dp := range registry.All() {
		if !dp.ObjectsKind.Empty() {
			kinds[dp.Name] = dp.ObjectsKind
		}
	}
	return kinds
}

// unneededObjectKinds returns the list kinds of the owned objects the
// policy may no longer need: no target of a data plane that creates
// objects kept its configuration, and one had before this reconcile (the
// previous status, or lastRun, the data planes the last reconcile in this
// process kept, which holds even when its status write was lost to a
// conflict), or that is unknown (unchecked: the first reconcile of the
// policy in this process, or after a reconcile that could not delete
// them). Listing them costs a request, so only then.
func unneededObjectKinds(previous kubecorsv1alpha1.CorsPolicyStatus, lastRun map[string]bool, results []plan.Result, unchecked bool) []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for name, kind := range ownedObjectKinds() {
		had := unchecked || lastRun[name] || slices.ContainsFunc(previous.Targets, func(t kubecorsv1alpha1.TargetStatus) bool { return t.DataPlane == name })
		has := slices.ContainsFunc(results, func(r plan.Result) bool { return r.DataPlane == name && (r.Programmed() || r.Failed()) })
		if had && !has {
			out = append(out, kind)
		}
	}
	return out
}

// dataPlanesKept lists the data planes whose targets kept configuration
// (programmed, or failed and left as they were).
func dataPlanesKept(results []plan.Result) map[string]bool {
	kept := map[string]bool{}
	for _, r := range results {
		if r.Programmed() || r.Failed() {
			kept[r.DataPlane] = true
		}
	}
	return kept
}

// deleteOwnedObjects deletes the objects of the given list kinds that
// kubecors created for the policy (labelled as kubecors's and controlled
// by the policy, nothing else), once no target refers to them. The garbage
// collector does the same when the policy goes, but a policy that stays
// and no longer needs them would otherwise keep them for good.
func (r *CorsPolicyReconciler) deleteOwnedObjects(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, kinds []schema.GroupVersionKind) error {
	var failures []error
	for _, kind := range kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(kind)
		err := r.APIReader.List(ctx, list, client.InNamespace(policy.Namespace),
			client.MatchingLabels{dataplanes.LabelManagedBy: dataplanes.ManagedByKubecors})
		if meta.IsNoMatchError(err) {
			continue // the data plane's CRD is not installed: nothing to delete
		}
		if err != nil {
			failures = append(failures, err)
			continue
		}
		for i := range list.Items {
			obj := &list.Items[i]
			if !metav1.IsControlledBy(obj, policy) {
				continue
			}
			uid := obj.GetUID()
			if err := r.Delete(ctx, obj, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
				failures = append(failures, err)
			}
		}
	}
	return errors.Join(failures...)
}
