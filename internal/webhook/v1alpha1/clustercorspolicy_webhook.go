package v1alpha1

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// +kubebuilder:webhook:path=/validate-kubecors-io-v1alpha1-clustercorspolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=kubecors.io,resources=clustercorspolicies,verbs=create;update,versions=v1alpha1,name=vclustercorspolicy-v1alpha1.kubecors.io,admissionReviewVersions=v1

// ClusterCorsPolicyValidator validates ClusterCorsPolicies with the same
// rules package: their origin patterns follow the CorsPolicy rules.
type ClusterCorsPolicyValidator struct{}

var _ admission.Validator[*kubecorsv1alpha1.ClusterCorsPolicy] = &ClusterCorsPolicyValidator{}

// ValidateCreate rejects a ClusterCorsPolicy that breaks a rule.
func (v *ClusterCorsPolicyValidator) ValidateCreate(_ context.Context, p *kubecorsv1alpha1.ClusterCorsPolicy) (admission.Warnings, error) {
	return validateClusterCorsPolicy(p)
}

// ValidateUpdate rejects an update that breaks a rule.
func (v *ClusterCorsPolicyValidator) ValidateUpdate(_ context.Context, _, p *kubecorsv1alpha1.ClusterCorsPolicy) (admission.Warnings, error) {
	return validateClusterCorsPolicy(p)
}

// ValidateDelete allows every deletion.
func (v *ClusterCorsPolicyValidator) ValidateDelete(_ context.Context, _ *kubecorsv1alpha1.ClusterCorsPolicy) (admission.Warnings, error) {
	return nil, nil
}

func validateClusterCorsPolicy(p *kubecorsv1alpha1.ClusterCorsPolicy) (admission.Warnings, error) {
	errs, warnings := corsrules.ValidateClusterCorsPolicy(p)
	if len(errs) == 0 {
		return admission.Warnings(warnings), nil
	}
	recordRejection("ClusterCorsPolicy", errs, nil)
	return admission.Warnings(warnings), apierrors.NewInvalid(kubecorsv1alpha1.GroupVersion.WithKind("ClusterCorsPolicy").GroupKind(), p.Name, errs)
}
