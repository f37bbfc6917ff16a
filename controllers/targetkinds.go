package controllers

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/plan"
)

// The data planes' own target kinds (registry.TargetKinds: Istio
// VirtualServices, Contour HTTPProxies) are handled here through their
// dataplanes.TargetKind hooks, on unstructured objects, with no code of
// their own: the kind says how a policy is rendered, applied, removed and
// read. A kind is watched only when discovery serves its CRD when the
// manager starts, so the operator runs in clusters without Istio or
// Contour; a kind installed later is picked up at the next start.

// servedTargetKinds remembers which target kinds discovery served when
// the controller was set up; it does not change afterwards.
type servedTargetKinds map[string]bool

// setupTargetKinds watches every target kind whose CRD is served.
func (r *CorsPolicyReconciler) setupTargetKinds(ctx context.Context, mgr ctrl.Manager, c controller.Controller) error {
	r.targetKinds = servedTargetKinds{}
	dc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	for _, dp := range registry.TargetKinds() {
		kind := *dp.Target
		served, err := resourceServed(dc, kind.GVK.GroupVersion(), kind.Resource)
		if err != nil {
			return err
		}
		if !served {
			logf.FromContext(ctx).Info("A target kind's CRD is not installed; its targets are reported but not programmed",
				"kind", kind.Kind(), "group", kind.Group(), "dataPlane", dp.Name)
			continue
		}
		r.targetKinds[kind.Kind()] = true
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(kind.GVK)
		if err := c.Watch(source.Kind(mgr.GetCache(), client.Object(obj), handler.EnqueueRequestsFromMapFunc(
			func(ctx context.Context, o client.Object) []reconcile.Request {
				return r.targetToCorsPolicies(ctx, kind.Kind(), o)
			}), metadataOrGenerationChanged())); err != nil {
			return err
		}
	}
	return nil
}

// resourceServed asks discovery whether the API server serves resource in
// gv.
func resourceServed(dc discovery.DiscoveryInterface, gv schema.GroupVersion, resource string) (bool, error) {
	list, err := dc.ServerResourcesForGroupVersion(gv.String())
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	}
	for _, res := range list.APIResources {
		if res.Name == resource {
			return true, nil
		}
	}
	return false, nil
}

// targetKindObjects reads from the cache the objects of every served
// target kind that the policy names or selects.
func (r *CorsPolicyReconciler) targetKindObjects(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, s *plan.Snapshot) error {
	s.Objects, s.ServedKinds = map[string][]unstructured.Unstructured{}, map[string]bool{}
	for _, dp := range registry.TargetKinds() {
		kind := dp.Target
		if !r.targetKinds[kind.Kind()] {
			continue
		}
		s.ServedKinds[kind.Kind()] = true
		for _, ref := range policy.Spec.TargetRefs {
			if ref.Kind != kind.Kind() {
				continue
			}
			obj := &unstructured.Unstructured{}
			obj.SetGroupVersionKind(kind.GVK)
			switch err := r.Get(ctx, types.NamespacedName{Namespace: policy.Namespace, Name: ref.Name}, obj); {
			case err == nil:
				s.Objects[kind.Kind()] = append(s.Objects[kind.Kind()], *obj)
			case !apierrors.IsNotFound(err):
				return err
			}
		}
		if policy.Spec.TargetSelector == nil {
			continue
		}
		selector, err := metav1.LabelSelectorAsSelector(policy.Spec.TargetSelector)
		if err != nil {
			continue // validation rejects such selectors; the plan reports the policy invalid
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(kind.GVK.GroupVersion().WithKind(kind.Kind() + "List"))
		if err := r.List(ctx, list, client.InNamespace(policy.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
			return err
		}
		s.Objects[kind.Kind()] = append(s.Objects[kind.Kind()], list.Items...)
	}
	return nil
}

// applyTargetObject makes the plan's change on one object of a target kind:
// read fresh from the API server, changed by the kind's Apply (which keeps
// every field kubecors does not own and records what it replaced), marked
// with the policy annotation, and patched under a resourceVersion
// precondition (the lists such changes live in are atomic, so server-side
// apply would take them over whole), retried on conflict.
func (r *CorsPolicyReconciler) applyTargetObject(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, w *plan.ObjectWrite) error {
	takeOver := policy.Spec.TakeOverExistingConfiguration
	return r.patchTargetObject(ctx, w.Kind, w.Object, func(next *unstructured.Unstructured) error {
		if owner := next.GetAnnotations()[AnnotationPolicy]; owner != "" && owner != policy.Name {
			// Another policy's configuration comes off first, so that the
			// record of the user's original survives the hand-over.
			if err := w.Kind.Remove(next); err != nil {
				return err
			}
		}
		if err := w.Kind.Apply(next, w.Change, takeOver); err != nil {
			if conflict, ok := errors.AsType[*dataplanes.TargetConflict](err); ok {
				return &conflictError{message: conflict.Message}
			}
			return err
		}
		setPolicyAnnotation(next, policy.Name)
		return nil
	})
}

// patchTargetObject reads obj fresh, lets change edit a copy, and patches
// the difference under a resourceVersion precondition; nothing is sent
// when change leaves the object as it was.
func (r *CorsPolicyReconciler) patchTargetObject(ctx context.Context, kind dataplanes.TargetKind, obj *unstructured.Unstructured,
	change func(next *unstructured.Unstructured) error) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		current := &unstructured.Unstructured{}
		current.SetGroupVersionKind(kind.GVK)
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), current); err != nil {
			return client.IgnoreNotFound(err)
		}
		next := current.DeepCopy()
		if err := change(next); err != nil {
			return err
		}
		if equalJSON(current.Object, next.Object) {
			return nil
		}
		return r.Patch(ctx, next, client.MergeFromWithOptions(current, client.MergeFromWithOptimisticLock{}), client.FieldOwner(FieldManager))
	})
}

// setPolicyAnnotation marks an object with the policy whose configuration
// it carries, or unmarks it for "".
func setPolicyAnnotation(obj *unstructured.Unstructured, policy string) {
	annotations := obj.GetAnnotations()
	if policy == "" {
		delete(annotations, AnnotationPolicy)
	} else {
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[AnnotationPolicy] = policy
	}
	obj.SetAnnotations(annotations)
}

// cleanupTargetObjects removes the policy's configuration from every object
// of a served target kind that carries it but is not in keep, restoring
// what the user had there.
func (r *CorsPolicyReconciler) cleanupTargetObjects(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, keep map[string]bool) error {
	var failures []error
	for _, dp := range registry.TargetKinds() {
		kind := *dp.Target
		if !r.targetKinds[kind.Kind()] {
			continue
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(kind.GVK.GroupVersion().WithKind(kind.Kind() + "List"))
		if err := r.List(ctx, list, client.InNamespace(policy.Namespace)); err != nil {
			failures = append(failures, err)
			continue
		}
		for i := range list.Items {
			obj := &list.Items[i]
			if obj.GetAnnotations()[AnnotationPolicy] != policy.Name || keep[targetIndexKey(kind.Kind(), obj.GetName())] {
				continue
			}
			err := r.patchTargetObject(ctx, kind, obj, func(next *unstructured.Unstructured) error {
				if next.GetAnnotations()[AnnotationPolicy] != policy.Name {
					return nil // another policy took it over meanwhile
				}
				if err := kind.Remove(next); err != nil {
					return err
				}
				setPolicyAnnotation(next, "")
				return nil
			})
			if err != nil {
				failures = append(failures, r.cleanupFailed(ctx, policy, kind.Kind(), obj.GetName(), err))
				continue
			}
			r.Recorder.Eventf(policy, obj, corev1.EventTypeNormal, "CleanedUp", "Cleanup",
				"removed the CORS configuration kubecors wrote on %s %q", kind.Kind(), obj.GetName())
		}
	}
	return errors.Join(failures...)
}

// targetKindObject returns an empty object of a served target kind, for
// reading a target by name; false for other kinds.
func (r *CorsPolicyReconciler) targetKindObject(kind string) (client.Object, bool) {
	dp, ok := registry.ForTargetKind(kind)
	if !ok || !r.targetKinds[kind] {
		return nil, false
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(dp.Target.GVK)
	return obj, true
}
