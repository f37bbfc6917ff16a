package controllers

import (
	"context"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
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
		selector, err := metav1.LabelSelectorAsSelector(p.Spec.TargetSelector)
		if err != nil || !selector.Matches(labels.Set(obj.GetLabels())) {
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
const LabelDefaultOf = "kubecors.io/default-of"

// isDefault reports whether a policy is a ClusterCorsPolicy's default.
func isDefault(p *kubecorsv1alpha1.CorsPolicy) bool {
	_, ok := p.Labels[LabelDefaultOf]
	return ok
}

// governingPolicy decides which of the policies targeting an object
// configures it: a namespace's own policies before the defaults of
// ClusterCorsPolicies, then the oldest valid one that is not being deleted
// (creation time, then name). The order never depends on which policy
// reconciles first, so two policies cannot take turns.
func governingPolicy(ctx context.Context, c client.Reader, kind string, obj client.Object) (*kubecorsv1alpha1.CorsPolicy, error) {
	policies, err := policiesTargeting(ctx, c, kind, obj)
	if err != nil {
		return nil, err
	}
	policies = slices.DeleteFunc(policies, func(p kubecorsv1alpha1.CorsPolicy) bool {
		errs, _ := corsrules.ValidateCorsPolicy(&p)
		return !p.DeletionTimestamp.IsZero() || len(errs) > 0
	})
	if len(policies) == 0 {
		return nil, nil
	}
	oldest := slices.MinFunc(policies, func(a, b kubecorsv1alpha1.CorsPolicy) int {
		if da, db := isDefault(&a), isDefault(&b); da != db {
			if db {
				return -1
			}
			return 1
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			if a.CreationTimestamp.Before(&b.CreationTimestamp) {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return &oldest, nil
}
