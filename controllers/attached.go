package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/plan"
)

// attachedKey identifies an attached object among those of a policy.
func attachedKey(obj *unstructured.Unstructured) string {
	return obj.GroupVersionKind().Kind + "/" + obj.GetName()
}

// keepPlanned records what a programmed (or failed, and so left as it
// was) target keeps: the routes a Gateway target reaches, and the objects
// attached to the target or its routes.
func keepPlanned(t plan.Target, keep, attached map[string]bool) {
	if t.Attached != nil {
		attached[attachedKey(t.Attached)] = true
	}
	if t.Route != nil && t.Route.Attached != nil {
		attached[attachedKey(t.Route.Attached)] = true
	}
	for _, w := range t.Routes {
		keep[targetIndexKey(kubecorsv1alpha1.KindHTTPRoute, w.Route.Name)] = true
	}
}

// applyRouteWrite writes one route's configuration: the object the filter
// refers to and the filter, or the object attached to the route, in which
// case any filter kubecors wrote there before is removed.
func (r *CorsPolicyReconciler) applyRouteWrite(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, w *plan.RouteWrite, owned *ownedWrites) error {
	if w.Attached != nil {
		if err := owned.apply(ctx, r, policy, w.Attached); err != nil {
			return err
		}
		if w.Route.Annotations[AnnotationPolicy] == policy.Name {
			return r.setRouteFilters(ctx, policy, w.Route, nil, nil)
		}
		return nil
	}
	if w.Middleware != nil {
		if err := owned.apply(ctx, r, policy, w.Middleware); err != nil {
			return err
		}
	}
	return r.setRouteFilters(ctx, policy, w.Route, w.Rules, &w.Filter)
}

// applyGatewayRoutes writes the routes a Gateway target reaches, each on
// its own: a route whose rule holds the user's own CORS filter is left
// alone and named in the message; any other failure fails the target, so
// that it is retried, after the other routes were written.
func (r *CorsPolicyReconciler) applyGatewayRoutes(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, res plan.Result, writes []*plan.RouteWrite, owned *ownedWrites) plan.Result {
	var conflicts []string
	var failures []error
	for _, w := range writes {
		err := r.applyRouteWrite(ctx, policy, w, owned)
		var conflict *conflictError
		switch {
		case errors.As(err, &conflict):
			conflicts = append(conflicts, conflict.message)
		case err != nil:
			failures = append(failures, fmt.Errorf("HTTPRoute %q: %w", w.Route.Name, err))
		}
	}
	if len(failures) > 0 {
		return res.FailedWith(errors.Join(failures...))
	}
	if len(conflicts) > 0 {
		res.Message += "; left alone: " + strings.Join(conflicts, "; ")
	}
	return res
}

// cleanupAttached deletes the objects kubecors attached to targets for the
// policy (Envoy Gateway SecurityPolicies) that no target wants any more
// (keys not in keep; nil keeps none). They attach themselves, so leaving
// one behind would keep configuring its target. Only objects labelled as
// kubecors's for this policy and controlled by it are deleted, never one
// kubecors did not create; a kind whose CRD is not installed is skipped.
func (r *CorsPolicyReconciler) cleanupAttached(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, keep map[string]bool) error {
	var failures []error
	for _, gvk := range registry.AttachedKinds() {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		err := r.APIReader.List(ctx, list, client.InNamespace(policy.Namespace), client.MatchingLabels{
			dataplanes.LabelManagedBy: dataplanes.ManagedByKubecors,
			dataplanes.LabelPolicy:    dataplanes.PolicyLabelValue(policy.Name),
		})
		switch {
		case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
			continue
		case err != nil:
			failures = append(failures, err)
			continue
		}
		for i := range list.Items {
			obj := &list.Items[i]
			owner := metav1.GetControllerOfNoCopy(obj)
			if keep[attachedKey(obj)] || owner == nil || owner.UID != policy.UID {
				continue
			}
			if err := r.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
				failures = append(failures, r.cleanupFailed(ctx, policy, gvk.Kind, obj.GetName(), err))
				continue
			}
			r.Recorder.Eventf(policy, nil, corev1.EventTypeNormal, "CleanedUp", "Cleanup",
				"deleted %s %q, which no target of the policy wants any more", gvk.Kind, obj.GetName())
		}
	}
	return errors.Join(failures...)
}
