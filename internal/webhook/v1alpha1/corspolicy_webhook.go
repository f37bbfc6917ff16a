// Package v1alpha1 holds the admission webhooks of the kubecors.io/v1alpha1
// API.
package v1alpha1

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/clusterpolicy"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
)

// +kubebuilder:rbac:groups=kubecors.io,resources=clustercorspolicies,verbs=list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=list;watch

// SetupCorsPolicyWebhookWithManager registers the CorsPolicy and
// ClusterCorsPolicy validating webhooks with the manager's webhook server.
func SetupCorsPolicyWebhookWithManager(mgr ctrl.Manager) error {
	registerMetrics()
	if err := ctrl.NewWebhookManagedBy(mgr, &kubecorsv1alpha1.CorsPolicy{}).
		WithValidator(&CorsPolicyValidator{Reader: mgr.GetClient()}).
		Complete(); err != nil {
		return err
	}
	return ctrl.NewWebhookManagedBy(mgr, &kubecorsv1alpha1.ClusterCorsPolicy{}).
		WithValidator(&ClusterCorsPolicyValidator{}).
		Complete()
}

// The webhook answers only for the rules that the CRD's CEL cannot express
// (public-suffix wildcards, canonical IP forms, duplicates after
// normalisation) and for warnings, but it runs every rule: a CRD installed
// without its CEL rules, or an older one, must not let anything through.
//
// A policy being deleted is not sent to the webhook (the match condition):
// removing kubecors's finalizer is an update, and a webhook that is down
// under failurePolicy Fail must never hold a deletion, and with it the
// cleanup of every target, hostage. There is nothing left to validate.
//
// +kubebuilder:webhook:path=/validate-kubecors-io-v1alpha1-corspolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=kubecors.io,resources=corspolicies,verbs=create;update,versions=v1alpha1,name=vcorspolicy-v1alpha1.kubecors.io,admissionReviewVersions=v1,patch=`{"matchConditions":[{"name":"not-being-deleted","expression":"!has(object.metadata.deletionTimestamp)"}]}`

// CorsPolicyValidator validates CorsPolicies at admission with the rules
// of package corsrules and the ClusterCorsPolicies that select their
// namespace.
type CorsPolicyValidator struct {
	// Reader reads ClusterCorsPolicies and Namespaces.
	Reader client.Reader
}

var _ admission.Validator[*kubecorsv1alpha1.CorsPolicy] = &CorsPolicyValidator{}

// ValidateCreate rejects a new policy that breaks a rule.
func (v *CorsPolicyValidator) ValidateCreate(ctx context.Context, p *kubecorsv1alpha1.CorsPolicy) (admission.Warnings, error) {
	return v.validate(ctx, p)
}

// ValidateUpdate rejects an update that changes the spec into one that
// breaks a rule; the whole new spec is judged, so editing a policy stored
// before a rule was tightened requires bringing it into line. Updates that
// leave the spec alone (labels, annotations, finalizers) and updates of an
// object being deleted are always allowed: a stored policy that no longer
// passes must still be cleaned up and released by its finalizer.
func (v *CorsPolicyValidator) ValidateUpdate(ctx context.Context, oldP, p *kubecorsv1alpha1.CorsPolicy) (admission.Warnings, error) {
	if p.DeletionTimestamp != nil || equality.Semantic.DeepEqual(oldP.Spec, p.Spec) {
		return nil, nil
	}
	return v.validate(ctx, p)
}

// ValidateDelete allows every deletion: removing a policy only removes
// what kubecors wrote.
func (v *CorsPolicyValidator) ValidateDelete(_ context.Context, _ *kubecorsv1alpha1.CorsPolicy) (admission.Warnings, error) {
	return nil, nil
}

// validate applies the rules; then, for a policy that passes them, asks
// every data plane whether it would program the policy (refusing one that
// none could, warning about each that would not: see
// registry.ValidateProgrammable); then applies the ClusterCorsPolicies
// selecting its namespace: an Enforce finding rejects the policy, naming
// the ClusterCorsPolicy and the rule; an Audit finding is a warning.
func (v *CorsPolicyValidator) validate(ctx context.Context, p *kubecorsv1alpha1.CorsPolicy) (admission.Warnings, error) {
	errs, warnings := registry.ValidateCorsPolicy(p)
	own := len(errs)
	var findings []clusterpolicy.Finding
	if len(errs) == 0 && v.Reader != nil {
		ccps, err := clusterpolicy.Selecting(ctx, v.Reader, p.Namespace)
		if err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("reading the ClusterCorsPolicies: %w", err))
		}
		findings = clusterpolicy.Evaluate(ccps, &p.Spec)
		for _, f := range findings {
			if f.Enforced() {
				errs = append(errs, field.Forbidden(field.NewPath(f.Field), f.Detail()))
			} else {
				warnings = append(warnings, f.String()+" (audit mode: admitted, reported)")
			}
		}
	}
	if len(errs) == 0 {
		return admission.Warnings(warnings), nil
	}
	recordRejection("CorsPolicy", errs[:own], findings)
	return admission.Warnings(warnings), apierrors.NewInvalid(kubecorsv1alpha1.GroupVersion.WithKind("CorsPolicy").GroupKind(), p.Name, errs)
}
