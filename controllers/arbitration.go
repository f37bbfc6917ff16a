package controllers

import (
	"context"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// policiesTargetingIngress returns the policies of the Ingress's namespace
// that name it in targetRefs or select it by label, found through the
// field indexes.
func policiesTargetingIngress(ctx context.Context, c client.Reader, ing client.Object) ([]kubecorsv1alpha1.CorsPolicy, error) {
	byName := &kubecorsv1alpha1.CorsPolicyList{}
	if err := c.List(ctx, byName, client.InNamespace(ing.GetNamespace()), client.MatchingFields{IndexIngressTargetName: ing.GetName()}); err != nil {
		return nil, err
	}
	bySelector := &kubecorsv1alpha1.CorsPolicyList{}
	if err := c.List(ctx, bySelector, client.InNamespace(ing.GetNamespace()), client.MatchingFields{IndexHasTargetSelector: indexed}); err != nil {
		return nil, err
	}
	policies := byName.Items
	for _, p := range bySelector.Items {
		selector, err := metav1.LabelSelectorAsSelector(p.Spec.TargetSelector)
		if err != nil || !selector.Matches(labels.Set(ing.GetLabels())) {
			continue
		}
		if !slices.ContainsFunc(policies, func(q kubecorsv1alpha1.CorsPolicy) bool { return q.Name == p.Name }) {
			policies = append(policies, p)
		}
	}
	return policies, nil
}

// governingPolicy decides which of the policies targeting an Ingress
// configures it: the oldest valid one that is not being deleted (creation
// time, then name). The order never depends on which policy reconciles
// first, so two policies cannot take turns.
func governingPolicy(ctx context.Context, c client.Reader, ing *networkingv1.Ingress) (*kubecorsv1alpha1.CorsPolicy, error) {
	policies, err := policiesTargetingIngress(ctx, c, ing)
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
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			if a.CreationTimestamp.Before(&b.CreationTimestamp) {
				return -1
			}
			return 1
		}
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return &oldest, nil
}
