// Package v1alpha1 holds the admission webhooks of the kubecors.io/v1alpha1
// API.
package v1alpha1

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// SetupCorsPolicyWebhookWithManager registers the CorsPolicy validating
// webhook with the manager's webhook server.
func SetupCorsPolicyWebhookWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &kubecorsv1alpha1.CorsPolicy{}).
		WithValidator(&CorsPolicyValidator{}).
		Complete()
}

// The webhook answers only for the rules that the CRD's CEL cannot express
// (public-suffix wildcards, canonical IP forms, duplicates after
// normalisation) and for warnings, but it runs every rule: a CRD installed
// without its CEL rules, or an older one, must not let anything through.
//
// +kubebuilder:webhook:path=/validate-kubecors-io-v1alpha1-corspolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=kubecors.io,resources=corspolicies,verbs=create;update,versions=v1alpha1,name=vcorspolicy-v1alpha1.kubecors.io,admissionReviewVersions=v1

// CorsPolicyValidator validates CorsPolicies at admission with the rules
// of package corsrules.
type CorsPolicyValidator struct{}

var _ admission.Validator[*kubecorsv1alpha1.CorsPolicy] = &CorsPolicyValidator{}

// ValidateCreate rejects a new policy that breaks a rule.
func (v *CorsPolicyValidator) ValidateCreate(_ context.Context, p *kubecorsv1alpha1.CorsPolicy) (admission.Warnings, error) {
	return validate(p)
}

// ValidateUpdate rejects an update that changes the spec into one that
// breaks a rule; the whole new spec is judged, so editing a policy stored
// before a rule was tightened requires bringing it into line. Updates that
// leave the spec alone (labels, annotations, finalizers) and updates of an
// object being deleted are always allowed: a stored policy that no longer
// passes must still be cleaned up and released by its finalizer.
func (v *CorsPolicyValidator) ValidateUpdate(_ context.Context, oldP, p *kubecorsv1alpha1.CorsPolicy) (admission.Warnings, error) {
	if p.DeletionTimestamp != nil || equality.Semantic.DeepEqual(oldP.Spec, p.Spec) {
		return nil, nil
	}
	return validate(p)
}

// ValidateDelete allows every deletion: removing a policy only removes
// what kubecors wrote.
func (v *CorsPolicyValidator) ValidateDelete(_ context.Context, _ *kubecorsv1alpha1.CorsPolicy) (admission.Warnings, error) {
	return nil, nil
}

func validate(p *kubecorsv1alpha1.CorsPolicy) (admission.Warnings, error) {
	errs, warnings := corsrules.ValidateCorsPolicy(p)
	if len(errs) == 0 {
		return admission.Warnings(warnings), nil
	}
	return admission.Warnings(warnings), apierrors.NewInvalid(kubecorsv1alpha1.GroupVersion.WithKind("CorsPolicy").GroupKind(), p.Name, errs)
}
