package controllers

import (
	"context"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/resolve"
)

// policiesTargeting returns the policies of a target's namespace that name
// it in targetRefs or select it by label, found through the field indexes.
// kind is the target's kind: Ingress or HTTPRoute.
func policiesTargeting(ctx context.Context, c client.Reader, kind string, obj client.Object) ([]kubecorsv1alpha1.CorsPolicy, error) {
	byName := &kubecorsv1alpha1.CorsPolicyList{}
	if err := c.List(ctx, byName, client.InNamespace(obj.GetNamespace()),
		client.MatchingFields{IndexTargetName: targetIndexKey(kind, obj.GetName())}); err != nil {
		return nil, err
	}
	bySelector := &kubecorsv1alpha1.CorsPolicyList{}
	if err := c.List(ctx, bySelector, client.InNamespace(obj.GetNamespace()), client.MatchingFields{IndexHasTargetSelector: indexed}); err != nil {
		return nil, err
	}
	policies := byName.Items
	for _, p := range bySelector.Items {
		if !resolve.Selects(&p, resolve.ObjectOf(kind, obj)) {
			continue
		}
		if !slices.ContainsFunc(policies, func(q kubecorsv1alpha1.CorsPolicy) bool { return q.Name == p.Name }) {
			policies = append(policies, p)
		}
	}
	return policies, nil
}

// LabelDefaultOf marks a CorsPolicy that kubecors keeps for a
// ClusterCorsPolicy's defaultPolicy; its value is the ClusterCorsPolicy's
// name.
const LabelDefaultOf = resolve.LabelDefaultOf
