package controllers

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

const (
	// legacyIngressClassAnnotation is how Ingresses named their class
	// before spec.ingressClassName existed; controllers still honour it.
	legacyIngressClassAnnotation = "kubernetes.io/ingress.class"
	// defaultIngressClassAnnotation marks the IngressClass that serves
	// Ingresses naming none.
	defaultIngressClassAnnotation = "ingressclass.kubernetes.io/is-default-class"
	// noClass is the index value of Ingresses that name no class.
	noClass = "<none>"
)

// ingressClassName is the class an Ingress names, or "" when it names none.
func ingressClassName(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil && *ing.Spec.IngressClassName != "" {
		return *ing.Spec.IngressClassName
	}
	return ing.Annotations[legacyIngressClassAnnotation]
}

// dataPlane is the outcome of detecting which data plane serves an Ingress.
type dataPlane struct {
	renderer   dataplanes.IngressRenderer
	controller string
	// problem explains why no renderer was chosen (renderer is nil).
	problem string
}

// ingressDataPlane follows an Ingress to its IngressClass and the class's
// controller, and picks the renderer for it: the policy's own
// dataPlaneMappings first, then the operator's registry. It never guesses:
// an unknown controller is reported, not rendered for.
func (r *CorsPolicyReconciler) ingressDataPlane(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, ing *networkingv1.Ingress) (dataPlane, error) {
	class, problem, err := r.ingressClassOf(ctx, ing)
	if err != nil || class == nil {
		return dataPlane{problem: problem}, err
	}
	dp := dataPlane{controller: class.Spec.Controller}
	for _, m := range policy.Spec.DataPlaneMappings {
		if m.ControllerName == class.Spec.Controller {
			dp.renderer, _ = r.Renderers.ByName(m.DataPlane)
			return dp, nil
		}
	}
	if renderer, ok := r.Renderers.ForController(class.Spec.Controller); ok {
		dp.renderer = renderer
		return dp, nil
	}
	dp.problem = fmt.Sprintf("IngressClass %q is served by controller %q, which kubecors has no renderer for; map it to one with spec.dataPlaneMappings or the --data-plane-mapping flag if it understands one of: ingress-nginx, traefik, haproxy-ingress annotations", class.Name, class.Spec.Controller)
	return dp, nil
}

// ingressClassOf returns the IngressClass serving an Ingress, or a
// problem saying why there is none.
func (r *CorsPolicyReconciler) ingressClassOf(ctx context.Context, ing *networkingv1.Ingress) (*networkingv1.IngressClass, string, error) {
	name := ingressClassName(ing)
	if name != "" {
		class := &networkingv1.IngressClass{}
		err := r.Get(ctx, types.NamespacedName{Name: name}, class)
		if apierrors.IsNotFound(err) {
			return nil, fmt.Sprintf("IngressClass %q does not exist", name), nil
		}
		return class, "", err
	}
	classes := &networkingv1.IngressClassList{}
	if err := r.List(ctx, classes, client.MatchingFields{IndexIngressClassDefault: indexed}); err != nil {
		return nil, "", err
	}
	switch len(classes.Items) {
	case 0:
		return nil, "the Ingress names no IngressClass and no IngressClass is marked default", nil
	case 1:
		return &classes.Items[0], "", nil
	default:
		return nil, "the Ingress names no IngressClass and several IngressClasses are marked default", nil
	}
}
