// Package controllers reconciles CorsPolicies: it resolves their targets,
// reports what it found in status and keeps both in step with the cluster.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/plan"
)

// finalizer keeps a policy until kubecors has removed what it wrote for it.
const finalizer = "kubecors.io/cleanup"

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
	// MaxConcurrentReconciles is how many policies are reconciled at once;
	// zero means one.
	MaxConcurrentReconciles int
	// MaxConcurrentWrites is how many targets of one policy are written at
	// once; zero means one.
	MaxConcurrentWrites int
	// Verifier, when set, is told after each reconcile, so that a changed
	// policy or target is verified on the wire at once.
	Verifier *Verifier
	// ClearVerification removes what an earlier run's verifier wrote in
	// status, for an operator started with --verify=false, whose status
	// would otherwise keep stale Verified conditions forever.
	ClearVerification bool

	gateway gatewayAPI
	// targetKinds are the data planes' own target kinds whose CRDs were
	// served at setup.
	targetKinds servedTargetKinds
	// ownedChecked holds, per policy (by UID) whose unneeded owned objects
	// are known to be deleted, the data planes whose targets kept
	// configuration in the last reconcile (map[string]bool); see
	// unneededObjectKinds.
	ownedChecked sync.Map
}

// +kubebuilder:rbac:groups=kubecors.io,resources=corspolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=kubecors.io,resources=corspolicies/status,verbs=patch
// +kubebuilder:rbac:groups=kubecors.io,resources=corspolicies/finalizers,verbs=update
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=list;watch;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingressclasses,verbs=list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one policy's targets and status in line with its spec.
// Each target is programmed on its own: a write the API server refuses
// for one target becomes that target's condition and the others proceed.
// The status is patched once, at the end, whatever failed, and only when
// it changed; failed targets are retried with the controller's backoff.
func (r *CorsPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	// Every line logged while reconciling names the policy under one key,
	// whichever function logs it.
	ctx = logf.IntoContext(ctx, logf.FromContext(ctx).WithValues("policy", req.String()))
	policy := &kubecorsv1alpha1.CorsPolicy{}
	if err := r.Get(ctx, req.NamespacedName, policy); err != nil {
		if apierrors.IsNotFound(err) {
			targets.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !policy.DeletionTimestamp.IsZero() {
		targets.forget(req.NamespacedName)
		return ctrl.Result{}, r.reconcileDelete(ctx, policy)
	}
	if err := r.ensureFinalizer(ctx, policy); err != nil {
		return ctrl.Result{}, err
	}
	original := policy.DeepCopy()
	defer func() {
		err := r.patchStatus(ctx, original, policy)
		if apierrors.IsConflict(err) {
			// The cache had not yet seen the last status write: try again
			// from a fresher copy, without logging an error.
			res, err = ctrl.Result{RequeueAfter: statusConflictDelay}, nil
		}
		retErr = errors.Join(retErr, err)
		r.Verifier.Enqueue(req.NamespacedName)
	}()
	return ctrl.Result{}, r.reconcileNormal(ctx, policy)
}

// statusConflictDelay is how long a policy whose status patch met a newer
// resourceVersion waits for the cache to catch up.
const statusConflictDelay = 200 * time.Millisecond

// ensureFinalizer adds the cleanup finalizer before anything is written.
func (r *CorsPolicyReconciler) ensureFinalizer(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy) error {
	if controllerutil.ContainsFinalizer(policy, finalizer) {
		return nil
	}
	before := policy.DeepCopy()
	controllerutil.AddFinalizer(policy, finalizer)
	return r.Patch(ctx, policy, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
}

// reconcileNormal programs every target and sets policy.Status in memory;
// Reconcile patches it. What to write is decided by plan.Compute from a
// snapshot of the cache; this function only writes. The error it returns,
// when targets failed, asks for a retry: their failures are already in
// the status.
func (r *CorsPolicyReconciler) reconcileNormal(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy) error {
	snapshot, err := r.snapshot(ctx, policy)
	if err != nil {
		return err
	}
	decided := plan.Compute(snapshot, r.Renderers)
	previous := policy.Status
	results := r.executeAll(ctx, policy, decided.Targets)
	// keep holds the targets whose configuration stays: programmed ones,
	// and failed ones, whose earlier configuration (if any) is left as it
	// was until the retry succeeds.
	keep := map[string]bool{}
	attached := map[string]bool{}
	var failures []error
	for i, res := range results {
		if res.Programmed() || res.Failed() {
			keep[targetIndexKey(res.Ref.Kind, res.Ref.Name)] = true
			keepPlanned(decided.Targets[i], keep, attached)
		}
		if res.Failed() {
			failures = append(failures, fmt.Errorf("%s %s: %s", res.Ref.Kind, res.Ref.Name, res.Message))
		}
	}
	failures = append(failures, r.cleanupTargets(ctx, policy, keep), r.cleanupAttached(ctx, policy, attached))
	// Owned objects go only once every target is clean: a target that
	// still refers to one must not lose it.
	last, checked := r.ownedChecked.Load(policy.UID)
	lastRun, _ := last.(map[string]bool)
	kinds := unneededObjectKinds(previous, lastRun, results, !checked)
	switch {
	case errors.Join(failures...) != nil:
		if len(kinds) > 0 {
			r.ownedChecked.Delete(policy.UID) // the next reconcile must not rely on the status it writes now
		}
	default:
		if err := r.deleteOwnedObjects(ctx, policy, kinds); err != nil {
			r.ownedChecked.Delete(policy.UID)
			failures = append(failures, err)
		} else {
			r.ownedChecked.Store(policy.UID, dataPlanesKept(results))
		}
	}
	policy.Status = plan.Status(policy, decided.Verdict, results, metav1.Now())
	if r.ClearVerification {
		applyVerification(policy, nil, false)
	}
	targets.set(client.ObjectKeyFromObject(policy), results)
	return errors.Join(failures...)
}

// executeAll executes the plan's targets with up to MaxConcurrentWrites
// writes in flight, so that a policy over thousands of targets is limited
// by what the API server absorbs rather than by one request at a time.
// Results keep the plan's order.
func (r *CorsPolicyReconciler) executeAll(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, targets []plan.Target) []plan.Result {
	results := make([]plan.Result, len(targets))
	owned := &ownedWrites{}
	workers := min(max(r.MaxConcurrentWrites, 1), len(targets))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				results[i] = r.execute(ctx, policy, targets[i], owned)
			}
		})
	}
	for i := range targets {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// execute makes the writes the plan decided for one target and returns
// the target's result: the plan's, or the conflict or failure the API
// server answered. It never fails, so that one target cannot hold the
// others hostage.
func (r *CorsPolicyReconciler) execute(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, t plan.Target, owned *ownedWrites) plan.Result {
	res := t.Result
	var err error
	switch {
	case t.Ingress != nil:
		err = r.applyIngress(ctx, policy, t.Ingress.Ingress, t.Ingress.Config, owned)
	case t.Route != nil:
		err = r.applyRouteWrite(ctx, policy, t.Route, owned)
	case t.Attached != nil:
		err = owned.apply(ctx, r, policy, t.Attached)
	case len(t.Routes) > 0:
		return r.applyGatewayRoutes(ctx, policy, res, t.Routes, owned)
	case t.Object != nil:
		err = r.applyTargetObject(ctx, policy, t.Object)
	}
	var conflict *conflictError
	switch {
	case errors.As(err, &conflict):
		res.Reason, res.Message, res.Narrowed = kubecorsv1alpha1.ReasonConflicted, conflict.message, false
	case err != nil:
		res = res.FailedWith(err)
	}
	if err != nil {
		writeErrorSeen(ctx, res, res.Ref.Kind, err)
	}
	return res
}

// writeErrorSeen counts and logs a write to a target (or to the object
// written for it, of kind) that did not take. The line is Info, not
// Error: a refused or failed write is retried with backoff, a conflict
// waits for the other writer, and the target's condition says what
// happened.
func writeErrorSeen(ctx context.Context, res plan.Result, kind string, err error) {
	recordWriteError(kind, res.Reason, err)
	logf.FromContext(ctx).Info("Writing a target did not take",
		"target", res.Ref.Kind+"/"+res.Ref.Name, "dataPlane", res.DataPlane, "kind", kind, "reason", res.Reason, "error", err.Error())
}

// reconcileDelete removes what kubecors wrote for the policy, then lets
// the policy go. Owned objects (Traefik Middlewares) are deleted too, once
// no target refers to them (their owner reference would have the garbage
// collector do it, where one runs). A target whose cleanup fails does not stop the others;
// the finalizer stays until every target is clean, so nothing kubecors
// wrote is left behind.
func (r *CorsPolicyReconciler) reconcileDelete(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy) error {
	if !controllerutil.ContainsFinalizer(policy, finalizer) {
		return nil
	}
	if err := errors.Join(r.cleanupTargets(ctx, policy, nil), r.cleanupAttached(ctx, policy, nil)); err != nil {
		return err
	}
	if err := r.deleteOwnedObjects(ctx, policy, slices.Collect(maps.Values(ownedObjectKinds()))); err != nil {
		return err
	}
	r.ownedChecked.Delete(policy.UID)
	before := policy.DeepCopy()
	controllerutil.RemoveFinalizer(policy, finalizer)
	return client.IgnoreNotFound(r.Patch(ctx, policy, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})))
}

// cleanupTargets removes the policy's configuration from every Ingress,
// HTTPRoute and object of a target kind that carries it but is not in keep (by targetIndexKey). Each
// object is cleaned up on its own; the error joins the failures.
func (r *CorsPolicyReconciler) cleanupTargets(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, keep map[string]bool) error {
	return errors.Join(r.cleanupIngresses(ctx, policy, keep), r.cleanupRoutes(ctx, policy, keep), r.cleanupTargetObjects(ctx, policy, keep))
}

// cleanupIngresses removes the policy's configuration from every Ingress
// that carries it but is not in keep.
func (r *CorsPolicyReconciler) cleanupIngresses(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, keep map[string]bool) error {
	ingresses := &networkingv1.IngressList{}
	if err := r.List(ctx, ingresses, client.InNamespace(policy.Namespace), client.MatchingFields{IndexPolicyMarker: policy.Name}); err != nil {
		return err
	}
	var failures []error
	for i := range ingresses.Items {
		ing := &ingresses.Items[i]
		if keep[targetIndexKey(kubecorsv1alpha1.KindIngress, ing.Name)] {
			continue
		}
		changed, err := r.cleanupIngress(ctx, ing)
		if err != nil {
			failures = append(failures, r.cleanupFailed(ctx, policy, kubecorsv1alpha1.KindIngress, ing.Name, err))
			continue
		}
		if changed {
			r.Recorder.Eventf(policy, ing, corev1.EventTypeNormal, "CleanedUp", "Cleanup",
				"removed the CORS configuration kubecors wrote on Ingress %q", ing.Name)
		}
	}
	return errors.Join(failures...)
}

// cleanupFailed records a failed cleanup of one object as a warning event
// and returns the error that makes the policy retry.
func (r *CorsPolicyReconciler) cleanupFailed(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, kind, name string, err error) error {
	reason, message := plan.WriteFailure(err)
	recordWriteError(kind, reason, err)
	logf.FromContext(ctx).Info("Removing the configuration of a target failed; retrying with backoff",
		"target", kind+"/"+name, "reason", reason, "error", err.Error())
	r.Recorder.Eventf(policy, nil, corev1.EventTypeWarning, reason, "Cleanup",
		"removing the CORS configuration kubecors wrote on %s %q failed; retrying with backoff: %s", kind, name, message)
	return fmt.Errorf("cleaning up %s %s: %w", kind, name, err)
}

// patchStatus writes the status that reconciling computed, once and only
// when it differs from what was read, so a steady state makes no writes.
func (r *CorsPolicyReconciler) patchStatus(ctx context.Context, original, policy *kubecorsv1alpha1.CorsPolicy) error {
	if equality.Semantic.DeepEqual(original.Status, policy.Status) {
		return nil
	}
	status := policy.Status
	if err := r.Status().Patch(ctx, policy, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})); err != nil {
		return client.IgnoreNotFound(err)
	}
	// One event each time the verdict against the policy changes.
	prevAccepted := *findCondition(original.Status.Conditions, kubecorsv1alpha1.ConditionAccepted)
	if cond := findCondition(status.Conditions, kubecorsv1alpha1.ConditionAccepted); cond.Status != metav1.ConditionTrue &&
		(cond.Reason != prevAccepted.Reason || cond.Message != prevAccepted.Message) {
		r.Recorder.Eventf(policy, nil, corev1.EventTypeWarning, cond.Reason, "Validate", "%s", cond.Message)
	}
	r.targetEvents(policy, original.Status, status)
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
		// A policy's own status writes do not reconcile it again.
		For(&kubecorsv1alpha1.CorsPolicy{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Watches(&networkingv1.Ingress{}, handler.EnqueueRequestsFromMapFunc(r.ingressToCorsPolicies),
			builder.WithPredicates(metadataOrGenerationChanged())).
		Watches(&networkingv1.IngressClass{}, handler.EnqueueRequestsFromMapFunc(r.ingressClassToCorsPolicies)).
		Watches(&kubecorsv1alpha1.CorsPolicy{}, handler.EnqueueRequestsFromMapFunc(r.corsPolicyToCompetingPolicies)).
		Watches(&kubecorsv1alpha1.ClusterCorsPolicy{}, handler.EnqueueRequestsFromMapFunc(r.clusterCorsPolicyToCorsPolicies)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.namespaceToCorsPolicies),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Named("corspolicy").
		WithOptions(controller.Options{RateLimiter: retryRateLimiter(), MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Build(r)
	if err != nil {
		return err
	}
	if err := r.setupTargetKinds(ctx, mgr, c); err != nil {
		return err
	}
	return r.setupGatewayAPI(ctx, mgr, c)
}

// Retries of a policy whose targets failed start fast and back off to
// maxRetryDelay: a refusal lifted is not an event kubecors can watch, so
// the delay bounds how long a target stays unprogrammed after the refusal
// goes away, and the backoff keeps a permanent refusal from hot-looping.
const (
	firstRetryDelay = 250 * time.Millisecond
	maxRetryDelay   = 2 * time.Minute
)

// retryRateLimiter is controller-runtime's default limiter with a shorter
// maximum delay (its default is 1000 s).
func retryRateLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](firstRetryDelay, maxRetryDelay),
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
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
	if route, ok := obj.(*gatewayv1.HTTPRoute); ok {
		requests = append(requests, r.parentGatewayPolicies(ctx, route)...)
	}
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
		if o, ok := r.targetKindObject(t.TargetRef.Kind); ok {
			obj = o
		} else if t.TargetRef.Kind == kubecorsv1alpha1.KindHTTPRoute || t.TargetRef.Kind == kubecorsv1alpha1.KindGateway {
			if !r.gatewayAPIEnabled() {
				continue
			}
			obj = &gatewayv1.HTTPRoute{}
			if t.TargetRef.Kind == kubecorsv1alpha1.KindGateway {
				obj = &gatewayv1.Gateway{}
			}
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

// targetEvents records a Warning event for each target that stopped being
// programmed or changed why it is not (Conflicted, WriteRefused, Refused,
// …), and one Normal event when the policy as a whole becomes programmed.
// A selector over thousands of targets thus makes one event, not one per
// target: events that repeat quickly turn into series updates, which kept
// writing after convergence.
func (r *CorsPolicyReconciler) targetEvents(policy *kubecorsv1alpha1.CorsPolicy, before, after kubecorsv1alpha1.CorsPolicyStatus) {
	for _, t := range after.Targets {
		cond := findCondition(t.Conditions, kubecorsv1alpha1.ConditionProgrammed)
		prev := findCondition(plan.PreviousTargetConditions(before.Targets, t.TargetRef), kubecorsv1alpha1.ConditionProgrammed)
		if cond.Reason == prev.Reason || cond.Status == metav1.ConditionTrue || cond.Reason == kubecorsv1alpha1.ReasonTargetNotFound {
			continue
		}
		r.Recorder.Eventf(policy, nil, corev1.EventTypeWarning, cond.Reason, "Program", "%s %s: %s", t.TargetRef.Kind, t.TargetRef.Name, t.Message)
	}
	cond := findCondition(after.Conditions, kubecorsv1alpha1.ConditionProgrammed)
	if prev := findCondition(before.Conditions, kubecorsv1alpha1.ConditionProgrammed); cond.Status == metav1.ConditionTrue && prev.Status != metav1.ConditionTrue {
		r.Recorder.Eventf(policy, nil, corev1.EventTypeNormal, cond.Reason, "Program", "%s", cond.Message)
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
