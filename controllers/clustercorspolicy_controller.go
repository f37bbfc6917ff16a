package controllers

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/clusterpolicy"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// maxViolators bounds the violators a ClusterCorsPolicy's status lists.
const maxViolators = 50

// ClusterCorsPolicyReconciler keeps each ClusterCorsPolicy's status: how
// many namespaces and CorsPolicies it covers and which of them violate it.
// Enforcement itself happens at admission and in the CorsPolicy
// controller; this one only reports.
type ClusterCorsPolicyReconciler struct {
	client.Client
	// Recorder emits events on ClusterCorsPolicies.
	Recorder recorder.EventRecorder
}

// +kubebuilder:rbac:groups=kubecors.io,resources=clustercorspolicies,verbs=list;watch
// +kubebuilder:rbac:groups=kubecors.io,resources=clustercorspolicies/status,verbs=patch

// Reconcile recounts one ClusterCorsPolicy.
func (r *ClusterCorsPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ccp := &kubecorsv1alpha1.ClusterCorsPolicy{}
	if err := r.Get(ctx, req.NamespacedName, ccp); err != nil {
		if apierrors.IsNotFound(err) {
			// Gone: its defaults go too (owner references do the same
			// where a garbage collector runs).
			return ctrl.Result{}, r.reconcileDefaults(ctx, req.Name, nil, nil)
		}
		return ctrl.Result{}, err
	}
	status, selected, err := r.survey(ctx, ccp)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.reconcileDefaults(ctx, ccp.Name, ccp, selected); err != nil {
		return ctrl.Result{}, err
	}
	violations.WithLabelValues(ccp.Name, string(modeOf(ccp))).Set(float64(status.Violations))
	if equality.Semantic.DeepEqual(ccp.Status, status) {
		return ctrl.Result{}, nil
	}
	before := ccp.DeepCopy()
	ccp.Status = status
	if err := r.Status().Patch(ctx, ccp, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return ctrl.Result{}, err
	}
	if status.Violations > before.Status.Violations {
		r.Recorder.Eventf(ccp, nil, corev1.EventTypeWarning, kubecorsv1alpha1.ReasonClusterPolicyViolation, "Audit",
			"%d CorsPolicies violate this ClusterCorsPolicy; see status.violators", status.Violations)
	}
	logf.FromContext(ctx).V(1).Info("Status updated", "namespaces", status.Namespaces, "violations", status.Violations)
	return ctrl.Result{}, nil
}

func modeOf(ccp *kubecorsv1alpha1.ClusterCorsPolicy) kubecorsv1alpha1.ClusterPolicyMode {
	if ccp.Spec.Mode == "" {
		return kubecorsv1alpha1.ModeEnforce
	}
	return ccp.Spec.Mode
}

// survey computes a ClusterCorsPolicy's status from the namespaces it
// selects and their CorsPolicies.
func (r *ClusterCorsPolicyReconciler) survey(ctx context.Context, ccp *kubecorsv1alpha1.ClusterCorsPolicy) (
	kubecorsv1alpha1.ClusterCorsPolicyStatus, []string, error) {
	status := kubecorsv1alpha1.ClusterCorsPolicyStatus{ObservedGeneration: ccp.Generation, Conditions: slices.Clone(ccp.Status.Conditions)}
	namespaces := &corev1.NamespaceList{}
	if err := r.List(ctx, namespaces); err != nil {
		return status, nil, err
	}
	var violators []kubecorsv1alpha1.ClusterPolicyViolator
	var selected []string
	for _, ns := range namespaces.Items {
		if !clusterpolicy.Selects(ccp, ns.Labels) || !ns.DeletionTimestamp.IsZero() {
			continue
		}
		status.Namespaces++
		selected = append(selected, ns.Name)
		policies := &kubecorsv1alpha1.CorsPolicyList{}
		if err := r.List(ctx, policies, client.InNamespace(ns.Name)); err != nil {
			return status, nil, err
		}
		for i := range policies.Items {
			p := &policies.Items[i]
			status.CorsPolicies++
			if invalid, _ := corsrules.ValidateCorsPolicy(p); len(invalid) > 0 {
				continue // reported on the policy itself; the rules of this object are moot
			}
			findings := clusterpolicy.Evaluate([]kubecorsv1alpha1.ClusterCorsPolicy{*ccp}, &p.Spec)
			if len(findings) == 0 {
				continue
			}
			status.Violations++
			f := findings[0]
			violators = append(violators, kubecorsv1alpha1.ClusterPolicyViolator{
				Namespace: p.Namespace, Name: p.Name, Rule: f.Rule, Message: truncateTo(f.Field+": "+f.Message, 1024)})
		}
	}
	slices.SortFunc(violators, func(a, b kubecorsv1alpha1.ClusterPolicyViolator) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	if len(violators) > maxViolators {
		violators = violators[:maxViolators]
	}
	status.Violators = violators
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue,
		Reason: "Surveyed", Message: "counts are current", ObservedGeneration: ccp.Generation, LastTransitionTime: metav1.Now()})
	return status, selected, nil
}

// defaultName is the name of the CorsPolicy kept for a ClusterCorsPolicy's
// defaultPolicy in each selected namespace.
func defaultName(ccp string) string { return "kubecors-default-" + ccp }

// reconcileDefaults keeps one CorsPolicy per selected namespace for a
// ClusterCorsPolicy's defaultPolicy, and deletes those of namespaces no
// longer selected (all of them when ccp is nil or has no defaultPolicy).
// Deleting goes through the policy's finalizer, which removes what was
// programmed.
func (r *ClusterCorsPolicyReconciler) reconcileDefaults(ctx context.Context, name string, ccp *kubecorsv1alpha1.ClusterCorsPolicy, selected []string) error {
	existing := &kubecorsv1alpha1.CorsPolicyList{}
	if err := r.List(ctx, existing, client.MatchingLabels{LabelDefaultOf: name}); err != nil {
		return err
	}
	keep := map[string]bool{}
	if ccp != nil && ccp.Spec.DefaultPolicy != nil {
		for _, ns := range selected {
			keep[ns] = true
			if err := r.ensureDefault(ctx, ccp, ns); err != nil {
				return err
			}
		}
	}
	for i := range existing.Items {
		p := &existing.Items[i]
		if !keep[p.Namespace] && p.DeletionTimestamp.IsZero() {
			if err := client.IgnoreNotFound(r.Delete(ctx, p)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureDefault creates or updates the default CorsPolicy of one namespace.
func (r *ClusterCorsPolicyReconciler) ensureDefault(ctx context.Context, ccp *kubecorsv1alpha1.ClusterCorsPolicy, ns string) error {
	desired := ccp.Spec.DefaultPolicy.DeepCopy()
	current := &kubecorsv1alpha1.CorsPolicy{}
	err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: defaultName(ccp.Name)}, current)
	switch {
	case apierrors.IsNotFound(err):
		p := &kubecorsv1alpha1.CorsPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: defaultName(ccp.Name), Namespace: ns, Labels: map[string]string{LabelDefaultOf: ccp.Name}},
			Spec:       *desired,
		}
		if err := controllerutil.SetOwnerReference(ccp, p, r.Scheme()); err != nil {
			return err
		}
		return client.IgnoreAlreadyExists(r.Create(ctx, p))
	case err != nil:
		return err
	case equality.Semantic.DeepEqual(&current.Spec, desired) && current.Labels[LabelDefaultOf] == ccp.Name:
		return nil
	}
	before := current.DeepCopy()
	current.Spec = *desired
	if current.Labels == nil {
		current.Labels = map[string]string{}
	}
	current.Labels[LabelDefaultOf] = ccp.Name
	return r.Patch(ctx, current, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
}

func truncateTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-len(" …")] + " …"
}

// SetupWithManager watches ClusterCorsPolicies, and the CorsPolicies and
// Namespaces whose changes move the counts.
func (r *ClusterCorsPolicyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&kubecorsv1alpha1.ClusterCorsPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&kubecorsv1alpha1.CorsPolicy{}, handler.EnqueueRequestsFromMapFunc(r.allClusterCorsPolicies),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.allClusterCorsPolicies),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Named("clustercorspolicy").
		Complete(r)
}

// allClusterCorsPolicies enqueues every ClusterCorsPolicy: there are few,
// and any of them may select the changed object's namespace.
func (r *ClusterCorsPolicyReconciler) allClusterCorsPolicies(ctx context.Context, _ client.Object) []reconcile.Request {
	ccps := &kubecorsv1alpha1.ClusterCorsPolicyList{}
	if err := r.List(ctx, ccps); err != nil {
		logf.FromContext(ctx).Error(err, "Listing ClusterCorsPolicies failed")
		return nil
	}
	return requestsFor(ccps.Items)
}
