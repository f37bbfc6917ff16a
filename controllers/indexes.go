package controllers

import (
	networkingv1 "k8s.io/api/networking/v1"
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

// indexed is the value under which yes/no indexes file the objects they
// select.
const indexed = "true"

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
	return []string{indexed}
}

// Field indexes on Ingresses and IngressClasses.
const (
	// IndexIngressClass indexes Ingresses by the class they name, noClass
	// for none, so that an IngressClass event finds its Ingresses.
	IndexIngressClass = "kubecors.io/ingress-class"

	// IndexIngressPolicy indexes Ingresses by the policy whose
	// configuration kubecors wrote on them (the policy annotation), so
	// that cleanup finds them without listing every Ingress.
	IndexIngressPolicy = "kubecors.io/ingress-policy"

	// IndexIngressClassDefault indexes IngressClasses marked default under
	// "true".
	IndexIngressClassDefault = "kubecors.io/ingress-class-default"
)

func ingressClassIndex(obj client.Object) []string {
	if name := ingressClassName(obj.(*networkingv1.Ingress)); name != "" {
		return []string{name}
	}
	return []string{noClass}
}

func ingressPolicyIndex(obj client.Object) []string {
	if name, ok := obj.GetAnnotations()[AnnotationPolicy]; ok {
		return []string{name}
	}
	return nil
}

func ingressClassDefaultIndex(obj client.Object) []string {
	if obj.GetAnnotations()[defaultIngressClassAnnotation] == "true" {
		return []string{indexed}
	}
	return nil
}
