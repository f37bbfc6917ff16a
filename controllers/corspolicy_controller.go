// Package controllers reconciles CorsPolicies: it resolves their targets,
// reports what it found in status and keeps both in step with the cluster.
package controllers

import (
	"context"
	"errors"
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
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/clusterpolicy"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
)

// finalizer keeps a policy until kubecors has removed what it wrote for it.
const finalizer = "kubecors.io/cleanup"

// reasonOverridden marks, internally, a target of a ClusterCorsPolicy's
// default that a namespace's own policy governs; it never reaches status.
const reasonOverridden = "Overridden"

// CorsPolicyReconciler reconciles CorsPolicy objects.
type CorsPolicyReconciler struct {
	client.Client
	// APIReader reads objects the manager does not cache (Traefik
	// Middlewares).
	APIReader client.Reader
	// Recorder emits events on policies.
	Recorder recorder.EventRecorder
	// Renderers maps data planes to their renderers.
	Renderers *registry.Registry

	gateway gatewayAPI
}

// +kubebuilder:rbac:groups=kubecors.io,resources=corspolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=kubecors.io,resources=corspolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=kubecors.io,resources=corspolicies/finalizers,verbs=update
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingressclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=traefik.io,resources=middlewares,verbs=get;create;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one policy's targets and status in line with its spec.
func (r *CorsPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	policy := &kubecorsv1alpha1.CorsPolicy{}
	if err := r.Get(ctx, req.NamespacedName, policy); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !policy.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, policy)
	}
	return ctrl.Result{}, r.reconcileNormal(ctx, policy)
}

func (r *CorsPolicyReconciler) reconcileNormal(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy) error {
	if !controllerutil.ContainsFinalizer(policy, finalizer) {
		before := policy.DeepCopy()
		controllerutil.AddFinalizer(policy, finalizer)
		if err := r.Patch(ctx, policy, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return err
		}
	}
	verdict, err := r.judgePolicy(ctx, policy)
	if err != nil {
		return err
	}
	var results []targetResult
	programmed := map[string]bool{}
	if !verdict.blocking {
		targets, err := r.resolveTargets(ctx, policy)
		if err != nil {
			return err
		}
		for _, t := range targets {
			res, err := r.reconcileTarget(ctx, policy, t)
			if err != nil {
				return err
			}
			if res.programmed() {
				programmed[targetIndexKey(t.ref.Kind, t.ref.Name)] = true
			}
			if res.reason != reasonOverridden {
				results = append(results, res)
			}
		}
	}
	if err := r.cleanupTargets(ctx, policy, programmed); err != nil {
		return err
	}
	return r.writeStatus(ctx, policy, desiredStatus(policy, verdict, results, metav1.Now()))
}

// judgePolicy checks a policy against the rules and the ClusterCorsPolicies
// selecting its namespace; a policy stored before a rule was tightened is
// judged again on every reconcile.
func (r *CorsPolicyReconciler) judgePolicy(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy) (acceptance, error) {
	invalid, _ := corsrules.ValidateCorsPolicy(policy)
	if len(invalid) > 0 {
		return judge(invalid, nil), nil
	}
	ccps, err := clusterpolicy.Selecting(ctx, r.Client, policy.Namespace)
	if err != nil {
		return acceptance{}, err
	}
	return judge(nil, clusterpolicy.Evaluate(ccps, &policy.Spec)), nil
}

// reconcileDelete removes what kubecors wrote for the policy, then lets
// the policy go. Owned objects (Traefik Middlewares) follow through their
// owner reference.
func (r *CorsPolicyReconciler) reconcileDelete(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy) error {
	if !controllerutil.ContainsFinalizer(policy, finalizer) {
		return nil
	}
	if err := r.cleanupTargets(ctx, policy, nil); err != nil {
		return err
	}
	before := policy.DeepCopy()
	controllerutil.RemoveFinalizer(policy, finalizer)
	return client.IgnoreNotFound(r.Patch(ctx, policy, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})))
}

// cleanupTargets removes the policy's configuration from every Ingress and
// HTTPRoute that carries it but is not in keep (by targetIndexKey).
func (r *CorsPolicyReconciler) cleanupTargets(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, keep map[string]bool) error {
	if err := r.cleanupIngresses(ctx, policy, keep); err != nil {
		return err
	}
	return r.cleanupRoutes(ctx, policy, keep)
}

// cleanupIngresses removes the policy's configuration from every Ingress
// that carries it but is not in keep.
func (r *CorsPolicyReconciler) cleanupIngresses(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, keep map[string]bool) error {
	ingresses := &networkingv1.IngressList{}
	if err := r.List(ctx, ingresses, client.InNamespace(policy.Namespace), client.MatchingFields{IndexPolicyMarker: policy.Name}); err != nil {
		return err
	}
	for i := range ingresses.Items {
		ing := &ingresses.Items[i]
		if keep[targetIndexKey(kubecorsv1alpha1.KindIngress, ing.Name)] {
			continue
		}
		changed, err := r.cleanupIngress(ctx, ing)
		if err != nil {
			return err
		}
		if changed {
			r.Recorder.Eventf(policy, ing, corev1.EventTypeNormal, "CleanedUp", "Cleanup",
				"removed the CORS configuration kubecors wrote on Ingress %q", ing.Name)
		}
	}
	return nil
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
		var obj client.Object
		switch {
		case ref.Kind == kubecorsv1alpha1.KindIngress:
			obj = &networkingv1.Ingress{}
		case r.gatewayAPIEnabled():
			obj = &gatewayv1.HTTPRoute{}
		}
		if obj != nil {
			err := r.Get(ctx, types.NamespacedName{Namespace: policy.Namespace, Name: ref.Name}, obj)
			switch {
			case err == nil:
				t.object = obj
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
		if r.gatewayAPIEnabled() {
			routes := &gatewayv1.HTTPRouteList{}
			if err := r.List(ctx, routes, client.InNamespace(policy.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
				return nil, err
			}
			for i := range routes.Items {
				route := &routes.Items[i]
				add(resolvedTarget{ref: kubecorsv1alpha1.PolicyTargetReference{
					Group: kubecorsv1alpha1.GroupGateway, Kind: kubecorsv1alpha1.KindHTTPRoute, Name: route.Name}, object: route})
			}
		}
	}
	slices.SortFunc(targets, func(a, b resolvedTarget) int {
		return strings.Compare(corsrules.TargetKey(a.ref), corsrules.TargetKey(b.ref))
	})
	return targets, nil
}

// reconcileTarget programs one target, or says why it cannot.
func (r *CorsPolicyReconciler) reconcileTarget(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, t resolvedTarget) (targetResult, error) {
	res := targetResult{ref: t.ref}
	switch {
	case t.ref.Kind == kubecorsv1alpha1.KindHTTPRoute && !r.gatewayAPIEnabled():
		res.reason = kubecorsv1alpha1.ReasonUnsupportedDataPlane
		res.message = "the Gateway API CRDs (HTTPRoute, Gateway, GatewayClass) are not installed; kubecors programs this HTTPRoute once they are"
		return res, nil
	case t.object == nil:
		res.reason = kubecorsv1alpha1.ReasonTargetNotFound
		res.message = fmt.Sprintf("%s %q does not exist; it is programmed as soon as it is created", t.ref.Kind, t.ref.Name)
		return res, nil
	}
	winner, err := governingPolicy(ctx, r.Client, t.ref.Kind, t.object)
	if err != nil {
		return res, err
	}
	if winner != nil && winner.Name != policy.Name && isDefault(policy) && !isDefault(winner) {
		// The namespace's own policy takes precedence over a default; the
		// default does not list the target at all.
		res.reason = reasonOverridden
		return res, nil
	}
	if winner != nil && winner.Name != policy.Name {
		res.reason = kubecorsv1alpha1.ReasonConflicted
		res.message = fmt.Sprintf("CorsPolicy %q is older and already governs %s %q; the oldest policy wins (creation time, then name)",
			winner.Name, t.ref.Kind, t.ref.Name)
		return res, nil
	}
	if route, ok := t.object.(*gatewayv1.HTTPRoute); ok {
		return r.reconcileRoute(ctx, policy, t.ref, route)
	}
	return r.reconcileIngress(ctx, policy, t.ref, t.object.(*networkingv1.Ingress))
}

// reconcileIngress programs an Ingress through its data plane's renderer.
func (r *CorsPolicyReconciler) reconcileIngress(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy,
	ref kubecorsv1alpha1.PolicyTargetReference, ing *networkingv1.Ingress) (targetResult, error) {
	res := targetResult{ref: ref}
	dp, err := r.ingressDataPlane(ctx, policy, ing)
	if err != nil {
		return res, err
	}
	res.controller = dp.controller
	if dp.renderer == nil {
		res.reason, res.message = kubecorsv1alpha1.ReasonUnsupportedDataPlane, dp.problem
		return res, nil
	}
	res.dataPlane = dp.renderer.Name()
	cfg := dp.renderer.RenderIngress(dataplanes.Policy{Namespace: policy.Namespace, Name: policy.Name, Spec: policy.Spec},
		dataplanes.IngressTarget{Namespace: ing.Namespace, Name: ing.Name})
	if cfg.Refused != "" {
		res.reason, res.message = kubecorsv1alpha1.ReasonRefused, cfg.Refused
		return res, nil
	}
	err = r.applyIngress(ctx, policy, ing, cfg)
	var conflict *conflictError
	switch {
	case errors.As(err, &conflict):
		res.reason, res.message = kubecorsv1alpha1.ReasonConflicted, conflict.message
		return res, nil
	case err != nil:
		return res, err
	}
	res.reason, res.message = kubecorsv1alpha1.ReasonProgrammed, programmedMessage(res.dataPlane, cfg.Narrowed)
	return res, nil
}

// programmedMessage says what was programmed and what was narrowed.
func programmedMessage(dataPlane string, narrowed []dataplanes.Narrowing) string {
	if len(narrowed) == 0 {
		return fmt.Sprintf("programmed for %s as written", dataPlane)
	}
	parts := make([]string, 0, len(narrowed))
	for _, n := range narrowed {
		parts = append(parts, fmt.Sprintf("%s %q: %s", n.Field, n.Value, n.Reason))
	}
	return fmt.Sprintf("programmed for %s, narrowed where it cannot express the policy: %s", dataPlane, strings.Join(parts, "; "))
}

// writeStatus updates the status subresource only when it changed, so a
// steady state makes no writes.
func (r *CorsPolicyReconciler) writeStatus(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, status kubecorsv1alpha1.CorsPolicyStatus) error {
	if equality.Semantic.DeepEqual(policy.Status, status) {
		return nil
	}
	before := policy.DeepCopy()
	prevAccepted := *findCondition(policy.Status.Conditions, kubecorsv1alpha1.ConditionAccepted)
	policy.Status = status
	if err := r.Status().Patch(ctx, policy, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	// One event each time the verdict against the policy changes.
	if cond := findCondition(status.Conditions, kubecorsv1alpha1.ConditionAccepted); cond.Status != metav1.ConditionTrue &&
		(cond.Reason != prevAccepted.Reason || cond.Message != prevAccepted.Message) {
		r.Recorder.Eventf(policy, nil, corev1.EventTypeWarning, cond.Reason, "Validate", "%s", cond.Message)
	}
	r.targetEvents(policy, before.Status.Targets, status.Targets)
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

// SetupWithManager registers the indexes and watches of the controller.
func (r *CorsPolicyReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	indexer := mgr.GetFieldIndexer()
	for _, ix := range []struct {
		obj     client.Object
		name    string
		extract client.IndexerFunc
	}{
		{&kubecorsv1alpha1.CorsPolicy{}, IndexTargetName, targetNames},
		{&kubecorsv1alpha1.CorsPolicy{}, IndexHasTargetSelector, hasTargetSelector},
		{&networkingv1.Ingress{}, IndexIngressClass, ingressClassIndex},
		{&networkingv1.Ingress{}, IndexPolicyMarker, policyMarkerIndex},
		{&networkingv1.IngressClass{}, IndexIngressClassDefault, ingressClassDefaultIndex},
	} {
		if err := indexer.IndexField(ctx, ix.obj, ix.name, ix.extract); err != nil {
			return err
		}
	}
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&kubecorsv1alpha1.CorsPolicy{}).
		Watches(&networkingv1.Ingress{}, handler.EnqueueRequestsFromMapFunc(r.ingressToCorsPolicies)).
		Watches(&networkingv1.IngressClass{}, handler.EnqueueRequestsFromMapFunc(r.ingressClassToCorsPolicies)).
		Watches(&kubecorsv1alpha1.CorsPolicy{}, handler.EnqueueRequestsFromMapFunc(r.corsPolicyToCompetingPolicies)).
		Watches(&kubecorsv1alpha1.ClusterCorsPolicy{}, handler.EnqueueRequestsFromMapFunc(r.clusterCorsPolicyToCorsPolicies)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.namespaceToCorsPolicies),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Named("corspolicy").
		Build(r)
	if err != nil {
		return err
	}
	return r.setupGatewayAPI(ctx, mgr, c)
}

// ingressToCorsPolicies finds the policies that target an Ingress and the
// policy whose configuration it carries.
func (r *CorsPolicyReconciler) ingressToCorsPolicies(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.targetToCorsPolicies(ctx, kubecorsv1alpha1.KindIngress, obj)
}

// targetToCorsPolicies finds the policies that target an object, through
// the field indexes, and the policy whose configuration it carries, which
// must clean up when the object stops being its target.
func (r *CorsPolicyReconciler) targetToCorsPolicies(ctx context.Context, kind string, obj client.Object) []reconcile.Request {
	policies, err := policiesTargeting(ctx, r.Client, kind, obj)
	if err != nil {
		logf.FromContext(ctx).Error(err, "Listing policies of a target failed", "kind", kind, "target", client.ObjectKeyFromObject(obj))
	}
	requests := requestsFor(policies)
	if name, ok := obj.GetAnnotations()[AnnotationPolicy]; ok {
		requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}})
	}
	return requests
}

// ingressClassToCorsPolicies finds the policies of the Ingresses of a
// class (and, for a default class, of the Ingresses naming none).
func (r *CorsPolicyReconciler) ingressClassToCorsPolicies(ctx context.Context, obj client.Object) []reconcile.Request {
	var requests []reconcile.Request
	for _, key := range []string{obj.GetName(), noClass} {
		ingresses := &networkingv1.IngressList{}
		if err := r.List(ctx, ingresses, client.MatchingFields{IndexIngressClass: key}); err != nil {
			logf.FromContext(ctx).Error(err, "Listing Ingresses of a class failed", "ingressClass", obj.GetName())
			continue
		}
		for i := range ingresses.Items {
			requests = append(requests, r.ingressToCorsPolicies(ctx, &ingresses.Items[i])...)
		}
	}
	return requests
}

// corsPolicyToCompetingPolicies finds the other policies targeting the
// Ingresses a policy resolved to, so that when it changes or goes away the
// next oldest takes over.
func (r *CorsPolicyReconciler) corsPolicyToCompetingPolicies(ctx context.Context, obj client.Object) []reconcile.Request {
	policy := obj.(*kubecorsv1alpha1.CorsPolicy)
	var requests []reconcile.Request
	for _, t := range policy.Status.Targets {
		var obj client.Object = &networkingv1.Ingress{}
		if t.TargetRef.Kind == kubecorsv1alpha1.KindHTTPRoute {
			if !r.gatewayAPIEnabled() {
				continue
			}
			obj = &gatewayv1.HTTPRoute{}
		}
		if err := r.Get(ctx, types.NamespacedName{Namespace: policy.Namespace, Name: t.TargetRef.Name}, obj); err != nil {
			continue
		}
		for _, req := range r.targetToCorsPolicies(ctx, t.TargetRef.Kind, obj) {
			if req.Name != policy.Name {
				requests = append(requests, req)
			}
		}
	}
	return requests
}

// targetEvents records an event for each target whose Programmed reason
// changed: Programmed (normal), Conflicted and the other failures
// (warnings).
func (r *CorsPolicyReconciler) targetEvents(policy *kubecorsv1alpha1.CorsPolicy, before, after []kubecorsv1alpha1.TargetStatus) {
	for _, t := range after {
		cond := findCondition(t.Conditions, kubecorsv1alpha1.ConditionProgrammed)
		prev := findCondition(previousTargetConditions(before, t.TargetRef), kubecorsv1alpha1.ConditionProgrammed)
		if cond.Reason == prev.Reason || cond.Reason == kubecorsv1alpha1.ReasonTargetNotFound {
			continue
		}
		eventType := corev1.EventTypeWarning
		if cond.Status == metav1.ConditionTrue {
			eventType = corev1.EventTypeNormal
		}
		r.Recorder.Eventf(policy, nil, eventType, cond.Reason, "Program", "%s %s: %s", t.TargetRef.Kind, t.TargetRef.Name, t.Message)
	}
}

// clusterCorsPolicyToCorsPolicies re-judges every CorsPolicy when a
// ClusterCorsPolicy changes: its selector may now cover any namespace, and
// the change is rare enough for a full list.
func (r *CorsPolicyReconciler) clusterCorsPolicyToCorsPolicies(ctx context.Context, _ client.Object) []reconcile.Request {
	return r.policiesIn(ctx)
}

// namespaceToCorsPolicies re-judges the CorsPolicies of a namespace whose
// labels changed, as it may have moved into or out of a
// ClusterCorsPolicy's selector.
func (r *CorsPolicyReconciler) namespaceToCorsPolicies(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.policiesIn(ctx, client.InNamespace(obj.GetName()))
}

func (r *CorsPolicyReconciler) policiesIn(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	policies := &kubecorsv1alpha1.CorsPolicyList{}
	if err := r.List(ctx, policies, opts...); err != nil {
		logf.FromContext(ctx).Error(err, "Listing policies failed")
		return nil
	}
	return requestsFor(policies.Items)
}

// requestsFor turns listed objects into reconcile requests.
func requestsFor[T any, PT interface {
	*T
	client.Object
}](items []T) []reconcile.Request {
	requests := make([]reconcile.Request, 0, len(items))
	for i := range items {
		requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(PT(&items[i]))})
	}
	return requests
}
