package controllers

import (
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/resolve"
)

// Field indexes on CorsPolicy, so that an event on a target finds the
// policies that may target it without listing every policy.
const (
	// IndexTargetName indexes policies by the targets their targetRefs
	// name, as "Kind/name" (targetIndexKey).
	IndexTargetName = "kubecors.io/target-name"

	// IndexHasTargetSelector indexes policies that have a targetSelector
	// under "true": a labelled object may be selected by any of them.
	IndexHasTargetSelector = "kubecors.io/has-target-selector"
)

// noClass is the IndexIngressClass value of Ingresses that name no class.
const noClass = "<none>"

// indexed is the value under which yes/no indexes file the objects they
// select.
const indexed = "true"

// targetIndexKey is the IndexTargetName value of a target.
func targetIndexKey(kind, name string) string { return kind + "/" + name }

// targetNames lists the targets a policy's targetRefs name.
func targetNames(obj client.Object) []string {
	policy := obj.(*kubecorsv1alpha1.CorsPolicy)
	names := make([]string, 0, len(policy.Spec.TargetRefs))
	for _, ref := range policy.Spec.TargetRefs {
		names = append(names, targetIndexKey(ref.Kind, ref.Name))
	}
	return names
}

// hasTargetSelector indexes a policy under "true" when it selects by label.
func hasTargetSelector(obj client.Object) []string {
	if obj.(*kubecorsv1alpha1.CorsPolicy).Spec.TargetSelector == nil {
		return nil
	}
	return []string{indexed}
}

// Field indexes on Ingresses and IngressClasses.
const (
	// IndexIngressClass indexes Ingresses by the class they name, noClass
	// for none, so that an IngressClass event finds its Ingresses.
	IndexIngressClass = "kubecors.io/ingress-class"

	// IndexPolicyMarker indexes Ingresses and HTTPRoutes by the policy
	// whose configuration kubecors wrote on them (the policy annotation),
	// so that cleanup finds them without listing every object.
	IndexPolicyMarker = "kubecors.io/policy-marker"

	// IndexIngressClassDefault indexes IngressClasses marked default under
	// "true".
	IndexIngressClassDefault = "kubecors.io/ingress-class-default"
)

func ingressClassIndex(obj client.Object) []string {
	if name := resolve.IngressClassName(obj.(*networkingv1.Ingress)); name != "" {
		return []string{name}
	}
	return []string{noClass}
}

// policyMarkerIndex indexes Ingresses and HTTPRoutes by the policy whose
// configuration they carry.
func policyMarkerIndex(obj client.Object) []string {
	if name, ok := obj.GetAnnotations()[AnnotationPolicy]; ok {
		return []string{name}
	}
	return nil
}

func ingressClassDefaultIndex(obj client.Object) []string {
	if obj.GetAnnotations()[resolve.DefaultIngressClassAnnotation] == "true" {
		return []string{indexed}
	}
	return nil
}
