// Package controllers reconciles CorsPolicies: it resolves their targets,
// reports what it found in status and keeps both in step with the cluster.
package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// CorsPolicyReconciler reconciles CorsPolicy objects.
type CorsPolicyReconciler struct {
	client.Client
	// Recorder emits events on policies.
	Recorder recorder.EventRecorder
}

// +kubebuilder:rbac:groups=kubecors.io,resources=corspolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=kubecors.io,resources=corspolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one policy's status in line with the cluster.
func (r *CorsPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	policy := &kubecorsv1alpha1.CorsPolicy{}
	if err := r.Get(ctx, req.NamespacedName, policy); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !policy.DeletionTimestamp.IsZero() {
		// Nothing was written for the policy, so nothing is left to undo.
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, r.reconcileNormal(ctx, policy)
}

func (r *CorsPolicyReconciler) reconcileNormal(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy) error {
	invalid, _ := corsrules.ValidateCorsPolicy(policy)
	var results []targetResult
	if len(invalid) == 0 {
		targets, err := r.resolveTargets(ctx, policy)
		if err != nil {
			return err
		}
		for _, t := range targets {
			results = append(results, r.reconcileTarget(t))
		}
	}
	return r.writeStatus(ctx, policy, desiredStatus(policy, invalid, results, metav1.Now()))
}

// resolvedTarget is a target reference and, when it exists, its object.
type resolvedTarget struct {
	ref    kubecorsv1alpha1.PolicyTargetReference
	object client.Object
}

// resolveTargets returns the targets named by targetRefs (existing or not)
// and the Ingresses matched by targetSelector, each once, in a stable order.
func (r *CorsPolicyReconciler) resolveTargets(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy) ([]resolvedTarget, error) {
	var targets []resolvedTarget
	seen := map[string]bool{}
	add := func(t resolvedTarget) {
		if key := corsrules.TargetKey(t.ref); !seen[key] {
			seen[key] = true
			targets = append(targets, t)
		}
	}
	for _, ref := range policy.Spec.TargetRefs {
		t := resolvedTarget{ref: ref}
		if ref.Kind == kubecorsv1alpha1.KindIngress {
			ing := &networkingv1.Ingress{}
			err := r.Get(ctx, types.NamespacedName{Namespace: policy.Namespace, Name: ref.Name}, ing)
			switch {
			case err == nil:
				t.object = ing
			case !apierrors.IsNotFound(err):
				return nil, err
			}
		}
		add(t)
	}
	if policy.Spec.TargetSelector != nil {
		selector, err := metav1.LabelSelectorAsSelector(policy.Spec.TargetSelector)
		if err != nil {
			return nil, err // validation rejects such selectors before we get here
		}
		ingresses := &networkingv1.IngressList{}
		if err := r.List(ctx, ingresses, client.InNamespace(policy.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
			return nil, err
		}
		for i := range ingresses.Items {
			ing := &ingresses.Items[i]
			add(resolvedTarget{ref: kubecorsv1alpha1.PolicyTargetReference{
				Group: kubecorsv1alpha1.GroupNetworking, Kind: kubecorsv1alpha1.KindIngress, Name: ing.Name}, object: ing})
		}
	}
	slices.SortFunc(targets, func(a, b resolvedTarget) int {
		return strings.Compare(corsrules.TargetKey(a.ref), corsrules.TargetKey(b.ref))
	})
	return targets, nil
}

// reconcileTarget reports one target. No data plane is rendered yet: the
// target is found or not, and the message says so.
func (r *CorsPolicyReconciler) reconcileTarget(t resolvedTarget) targetResult {
	res := targetResult{ref: t.ref}
	switch {
	case t.ref.Kind == kubecorsv1alpha1.KindHTTPRoute:
		res.reason = kubecorsv1alpha1.ReasonUnsupportedDataPlane
		res.message = "HTTPRoute targets are not programmed by this version of kubecors"
	case t.object == nil:
		res.reason = kubecorsv1alpha1.ReasonTargetNotFound
		res.message = fmt.Sprintf("Ingress %q does not exist; it is picked up when it is created", t.ref.Name)
	default:
		res.reason = kubecorsv1alpha1.ReasonPending
		res.message = fmt.Sprintf("Ingress %q found; this version of kubecors validates and reports but does not render data-plane configuration yet", t.ref.Name)
	}
	return res
}

// writeStatus updates the status subresource only when it changed, so a
// steady state makes no writes.
func (r *CorsPolicyReconciler) writeStatus(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, status kubecorsv1alpha1.CorsPolicyStatus) error {
	if equality.Semantic.DeepEqual(policy.Status, status) {
		return nil
	}
	before := policy.DeepCopy()
	wasAccepted := isTrue(policy.Status.Conditions, kubecorsv1alpha1.ConditionAccepted)
	policy.Status = status
	if err := r.Status().Patch(ctx, policy, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	if accepted := isTrue(status.Conditions, kubecorsv1alpha1.ConditionAccepted); !accepted && (wasAccepted || len(before.Status.Conditions) == 0) {
		r.Recorder.Eventf(policy, nil, corev1.EventTypeWarning, kubecorsv1alpha1.ReasonInvalid, "Validate",
			"%s", findCondition(status.Conditions, kubecorsv1alpha1.ConditionAccepted).Message)
	}
	logf.FromContext(ctx).V(1).Info("Status updated", "programmed", status.ProgrammedTargets)
	return nil
}

func findCondition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return &metav1.Condition{}
}

func isTrue(conds []metav1.Condition, t string) bool {
	return findCondition(conds, t).Status == metav1.ConditionTrue
}

// SetupWithManager registers the indexes and watches of the controller.
func (r *CorsPolicyReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &kubecorsv1alpha1.CorsPolicy{}, IndexIngressTargetName, ingressTargetNames); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, &kubecorsv1alpha1.CorsPolicy{}, IndexHasTargetSelector, hasTargetSelector); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&kubecorsv1alpha1.CorsPolicy{}).
		Watches(&networkingv1.Ingress{}, handler.EnqueueRequestsFromMapFunc(r.ingressToCorsPolicies)).
		Named("corspolicy").
		Complete(r)
}

// ingressToCorsPolicies finds the policies that name an Ingress or may
// select it by label, through the field indexes.
func (r *CorsPolicyReconciler) ingressToCorsPolicies(ctx context.Context, obj client.Object) []reconcile.Request {
	var requests []reconcile.Request
	byName := &kubecorsv1alpha1.CorsPolicyList{}
	if err := r.List(ctx, byName, client.InNamespace(obj.GetNamespace()), client.MatchingFields{IndexIngressTargetName: obj.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "Listing policies by target name failed", "ingress", client.ObjectKeyFromObject(obj))
	}
	bySelector := &kubecorsv1alpha1.CorsPolicyList{}
	if err := r.List(ctx, bySelector, client.InNamespace(obj.GetNamespace()), client.MatchingFields{IndexHasTargetSelector: "true"}); err != nil {
		logf.FromContext(ctx).Error(err, "Listing policies with selectors failed", "ingress", client.ObjectKeyFromObject(obj))
	}
	for _, p := range byName.Items {
		requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&p)})
	}
	for _, p := range bySelector.Items {
		// An Ingress that stopped matching must also reconcile the policy,
		// but its old labels are gone here; enqueue every selecting policy
		// of the namespace, which the index keeps to a short list.
		requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&p)})
	}
	return requests
}
