package controllers

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// Field indexes on CorsPolicy, so that an event on a target finds the
// policies that may target it without listing every policy.
const (
	// IndexIngressTargetName indexes policies by the names of the
	// Ingresses their targetRefs name.
	IndexIngressTargetName = "kubecors.io/ingress-target-name"

	// IndexHasTargetSelector indexes policies that have a targetSelector
	// under "true": a labelled object may be selected by any of them.
	IndexHasTargetSelector = "kubecors.io/has-target-selector"
)

// ingressTargetNames lists the Ingress names a policy's targetRefs name.
func ingressTargetNames(obj client.Object) []string {
	policy := obj.(*kubecorsv1alpha1.CorsPolicy)
	var names []string
	for _, ref := range policy.Spec.TargetRefs {
		if ref.Group == kubecorsv1alpha1.GroupNetworking && ref.Kind == kubecorsv1alpha1.KindIngress {
			names = append(names, ref.Name)
		}
	}
	return names
}

// hasTargetSelector indexes a policy under "true" when it selects by label.
func hasTargetSelector(obj client.Object) []string {
	if obj.(*kubecorsv1alpha1.CorsPolicy).Spec.TargetSelector == nil {
		return nil
	}
	return []string{"true"}
}
