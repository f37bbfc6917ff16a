package controllers

import (
	"context"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/clusterpolicy"
	"github.com/kubecors/kubecors/internal/plan"
)

// snapshot reads from the cache everything plan.Compute decides a
// policy's reconcile from: the ClusterCorsPolicies selecting its
// namespace, the namespace's competing policies, the Ingresses and
// HTTPRoutes it names or selects, and the classes and Gateways that tell
// their data planes.
func (r *CorsPolicyReconciler) snapshot(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy) (plan.Snapshot, error) {
	s := plan.Snapshot{Policy: policy, GatewayAPI: r.gatewayAPIEnabled()}
	var err error
	if s.ClusterPolicies, err = clusterpolicy.Selecting(ctx, r.Client, policy.Namespace); err != nil {
		return s, err
	}
	policies := &kubecorsv1alpha1.CorsPolicyList{}
	if err := r.List(ctx, policies, client.InNamespace(policy.Namespace)); err != nil {
		return s, err
	}
	s.Policies = policies.Items
	classes := &networkingv1.IngressClassList{}
	if err := r.List(ctx, classes); err != nil {
		return s, err
	}
	s.IngressClasses = classes.Items
	if s.Ingresses, err = targetObjects[networkingv1.Ingress, *networkingv1.Ingress, *networkingv1.IngressList](
		ctx, r.Client, policy, kubecorsv1alpha1.KindIngress, &networkingv1.IngressList{}, func(l *networkingv1.IngressList) []networkingv1.Ingress { return l.Items }); err != nil {
		return s, err
	}
	if err := r.targetKindObjects(ctx, policy, &s); err != nil {
		return s, err
	}
	if !s.GatewayAPI {
		return s, nil
	}
	if s.HTTPRoutes, err = targetObjects[gatewayv1.HTTPRoute, *gatewayv1.HTTPRoute, *gatewayv1.HTTPRouteList](
		ctx, r.Client, policy, kubecorsv1alpha1.KindHTTPRoute, &gatewayv1.HTTPRouteList{}, func(l *gatewayv1.HTTPRouteList) []gatewayv1.HTTPRoute { return l.Items }); err != nil {
		return s, err
	}
	gatewayClasses := &gatewayv1.GatewayClassList{}
	if err := r.List(ctx, gatewayClasses); err != nil {
		return s, err
	}
	s.GatewayClasses = gatewayClasses.Items
	seen := map[types.NamespacedName]bool{}
	for _, ref := range policy.Spec.TargetRefs {
		key := types.NamespacedName{Namespace: policy.Namespace, Name: ref.Name}
		if ref.Kind != kubecorsv1alpha1.KindGateway || seen[key] {
			continue
		}
		seen[key] = true
		gw := &gatewayv1.Gateway{}
		switch err := r.Get(ctx, key, gw); {
		case err == nil:
			s.Gateways = append(s.Gateways, *gw)
		case !apierrors.IsNotFound(err):
			return s, err
		}
		routes := &gatewayv1.HTTPRouteList{}
		if err := r.List(ctx, routes, client.InNamespace(policy.Namespace), client.MatchingFields{IndexRouteParent: key.String()}); err != nil {
			return s, err
		}
		s.AttachedRoutes = append(s.AttachedRoutes, routes.Items...)
	}
	for _, route := range slices.Concat(s.HTTPRoutes, s.AttachedRoutes) {
		for _, ref := range route.Spec.ParentRefs {
			key := types.NamespacedName{Namespace: route.Namespace, Name: string(ref.Name)}
			if ref.Namespace != nil {
				key.Namespace = string(*ref.Namespace)
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			gw := &gatewayv1.Gateway{}
			switch err := r.Get(ctx, key, gw); {
			case err == nil:
				s.Gateways = append(s.Gateways, *gw)
			case !apierrors.IsNotFound(err):
				return s, err
			}
		}
	}
	return s, nil
}

// targetObjects returns the objects of one kind in the policy's namespace
// that it names in targetRefs (those that exist) or selects with
// targetSelector; an object both named and selected may appear twice.
func targetObjects[T any, PT interface {
	*T
	client.Object
}, L client.ObjectList](ctx context.Context, c client.Reader, policy *kubecorsv1alpha1.CorsPolicy, kind string, list L, items func(L) []T) ([]T, error) {
	var out []T
	for _, ref := range policy.Spec.TargetRefs {
		if ref.Kind != kind {
			continue
		}
		obj := PT(new(T))
		switch err := c.Get(ctx, types.NamespacedName{Namespace: policy.Namespace, Name: ref.Name}, obj); {
		case err == nil:
			out = append(out, *obj)
		case !apierrors.IsNotFound(err):
			return nil, err
		}
	}
	if policy.Spec.TargetSelector == nil {
		return out, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(policy.Spec.TargetSelector)
	if err != nil {
		return out, nil // validation rejects such selectors; the plan reports the policy invalid
	}
	if err := c.List(ctx, list, client.InNamespace(policy.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, err
	}
	return append(out, items(list)...), nil
}
