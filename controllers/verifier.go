package controllers

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/plan"
	"github.com/kubecors/kubecors/internal/verify"
)

// Defaults of the verifier's flags.
const (
	// DefaultVerifyInterval is how often a target is verified again when
	// nothing changed.
	DefaultVerifyInterval = 10 * time.Minute
	// DefaultVerifyTimeout bounds each request.
	DefaultVerifyTimeout = 5 * time.Second
	// DefaultVerifyRate is the most requests per second to one data plane.
	DefaultVerifyRate = 5.0
	// DefaultVerifyTargetRate is the most requests per second for one
	// target.
	DefaultVerifyTargetRate = 1.0
)

// Backoff of a policy whose data plane did not answer: from
// firstVerifyRetry, doubling, up to the policy's interval.
const firstVerifyRetry = 5 * time.Second

// Verifier checks on the wire, from inside the cluster, what each
// programmed target's data plane answers browsers, and writes the
// Verified condition of each target. It runs only on the leader. It
// verifies a policy's targets when the reconciler reports a change and
// again every interval (jittered); a data plane that does not answer is
// retried with backoff. It writes through the same status patch, with
// optimistic locking, as the reconciler, and owns only the Verified
// condition, each target's verification and the verification counts,
// which the reconciler keeps (plan.Status).
type Verifier struct {
	// Client reads the cache and writes status.
	Client client.Client
	// APIReader reads a fresh policy before a status write.
	APIReader client.Reader
	// Recorder emits events on policies.
	Recorder recorder.EventRecorder
	// Reconciler provides the snapshot and renderers the plan needs to
	// know a policy's targets and their data planes.
	Reconciler *CorsPolicyReconciler
	// Sender sends the requests, rate-limited and with a timeout.
	Sender *verify.Sender
	// Interval is the default re-verification interval.
	Interval time.Duration
	// Addresses are the --verify-address values.
	Addresses map[string]string
	// Workers is how many policies are verified at once; zero means two.
	Workers int
	// BatchSize is how many targets of a policy one pass verifies before
	// writing status and yielding the worker; zero means
	// MaxListedTargets. A policy over thousands of targets is verified in
	// batches, listed targets first, so that it neither holds a worker for
	// hours nor shows nothing until its last target is done.
	BatchSize int

	queue workqueue.TypedRateLimitingInterface[types.NamespacedName]
	mu    sync.Mutex
	// rounds remembers, per policy, what its last round saw.
	rounds map[types.NamespacedName]round
}

// round is what a policy's verification saw so far.
type round struct {
	// fingerprint changes whenever the policy or one of its programmed
	// targets changes.
	fingerprint string
	// at is when the last full pass over the targets ended.
	at time.Time
	// next is where the pass in progress goes on; zero between passes.
	next int
	// results are the last verdicts, by target key.
	results map[string]verifiedTarget
	// failures counts the passes in a row in which a data plane did not
	// answer; they bring the next pass forward, with backoff.
	failures int
}

// maxBackoffDoublings keeps the backoff's shift far from overflowing.
const maxBackoffDoublings = 20

// due is when the next pass should start: an interval after the last, or
// sooner, backing off from firstVerifyRetry, when a data plane did not
// answer.
func (r round) due(interval time.Duration) time.Time {
	if r.failures > 0 {
		return r.at.Add(min(firstVerifyRetry<<min(r.failures-1, maxBackoffDoublings), interval))
	}
	return r.at.Add(interval)
}

// nextBatchDelay is how soon the next batch of a pass in progress runs;
// the rate limits pace the requests anyway.
const nextBatchDelay = time.Second

var _ manager.LeaderElectionRunnable = &Verifier{}

// NeedLeaderElection makes the verifier run only on the leader, so that
// one replica sends requests.
func (v *Verifier) NeedLeaderElection() bool { return true }

// SetupWithManager adds the verifier to the manager and lets the
// reconciler report changes to it.
func (v *Verifier) SetupWithManager(mgr ctrl.Manager) error {
	v.init()
	v.Reconciler.Verifier = v
	return mgr.Add(v)
}

func (v *Verifier) init() {
	if v.Interval <= 0 {
		v.Interval = DefaultVerifyInterval
	}
	v.rounds = map[types.NamespacedName]round{}
	v.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](firstVerifyRetry, v.Interval),
		workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "verifier"})
}

// Enqueue asks for a policy to be verified: its targets are sent requests
// when the policy or a target changed since its last round, or when the
// round is due.
func (v *Verifier) Enqueue(key types.NamespacedName) {
	if v != nil && v.queue != nil {
		v.queue.Add(key)
	}
}

// Start verifies until ctx ends.
func (v *Verifier) Start(ctx context.Context) error {
	defer v.queue.ShutDown()
	// Every policy gets a first round after a leader change: the previous
	// leader's rounds are not known here.
	policies := &kubecorsv1alpha1.CorsPolicyList{}
	if err := v.Client.List(ctx, policies); err == nil {
		for i := range policies.Items {
			v.queue.Add(client.ObjectKeyFromObject(&policies.Items[i]))
		}
	}
	var wg sync.WaitGroup
	for range max(v.Workers, 2) {
		wg.Go(func() {
			for v.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	v.queue.ShutDown()
	wg.Wait()
	return nil
}

// processNext verifies one policy and schedules its next round.
func (v *Verifier) processNext(ctx context.Context) bool {
	key, quit := v.queue.Get()
	if quit {
		return false
	}
	defer v.queue.Done(key)
	// A data plane that did not answer is retried with the round's own
	// backoff (round.due); the queue's backs off API errors.
	next, _, err := v.verifyPolicy(ctx, key)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		logf.FromContext(ctx).Error(err, "Verifying a policy failed", "policy", key)
		v.queue.AddRateLimited(key)
	case next > 0:
		v.queue.Forget(key)
		v.queue.AddAfter(key, next)
	default:
		v.queue.Forget(key)
	}
	return true
}

// jitter spreads rounds over up to 10% more than d, so that policies
// created together do not send together forever.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/10+1)) //nolint:gosec // G404: spreading timers needs no secure randomness.
}

// verifiedTarget is one programmed target and its verdict.
// noAddress is the diagnosis of a target whose data plane has no address
// kubecors knows of.
const noAddress = "no-address"

type verifiedTarget struct {
	ref    kubecorsv1alpha1.PolicyTargetReference
	target verify.Target
	result verify.Result
}

// verifyPolicy runs the next batch of a policy's pass when one is due,
// and returns when the policy should be looked at again, and whether a
// data plane did not answer in the pass that ended (the next pass then
// comes sooner, with backoff).
func (v *Verifier) verifyPolicy(ctx context.Context, key types.NamespacedName) (time.Duration, bool, error) {
	policy := &kubecorsv1alpha1.CorsPolicy{}
	if err := v.Client.Get(ctx, key, policy); err != nil {
		if apierrors.IsNotFound(err) {
			v.forget(key)
			return 0, false, nil
		}
		return 0, false, err
	}
	if !policy.DeletionTimestamp.IsZero() {
		return 0, false, nil
	}
	if spec := policy.Spec.Verification; spec != nil && spec.Mode == kubecorsv1alpha1.VerificationDisabled {
		v.forget(key)
		return 0, false, v.writeStatus(ctx, key, nil, false)
	}
	interval := v.Interval
	if spec := policy.Spec.Verification; spec != nil && spec.Interval != nil && spec.Interval.Duration > 0 {
		interval = spec.Interval.Duration
	}
	snapshot, err := v.Reconciler.snapshot(ctx, policy)
	if err != nil {
		return 0, false, err
	}
	decided := plan.Compute(snapshot, v.Reconciler.Renderers)
	var programmed []plan.Target
	for _, t := range decided.Targets {
		if t.Result.Programmed() {
			programmed = append(programmed, t)
		}
	}
	fingerprint := roundFingerprint(policy, programmed)
	v.mu.Lock()
	last, seen := v.rounds[key]
	v.mu.Unlock()
	switch {
	case !seen || last.fingerprint != fingerprint:
		// A change: a new pass at once, listed targets first; earlier
		// verdicts stand until their target's turn.
		last.next = 0
	case last.next > 0:
	default:
		if wait := time.Until(last.due(interval)); wait > 0 {
			return jitter(wait), false, nil
		}
	}
	programmed = listedFirst(programmed, policy.Status.Targets)
	if last.next >= len(programmed) {
		last.next = 0
	}
	batch := programmed[last.next:min(last.next+cmp.Or(v.BatchSize, kubecorsv1alpha1.MaxListedTargets), len(programmed))]
	promise := verify.PromiseOf(&policy.Spec)
	fresh := make(map[string]verifiedTarget, len(programmed))
	for _, t := range programmed {
		if r, ok := last.results[corsrules.TargetKey(t.Result.Ref)]; ok {
			fresh[corsrules.TargetKey(t.Result.Ref)] = r
		}
	}
	for _, t := range batch {
		vt := v.verifyTarget(ctx, policy, snapshot, promise, t)
		if ctx.Err() != nil {
			return 0, false, nil
		}
		fresh[corsrules.TargetKey(t.Result.Ref)] = vt
	}
	failures := last.failures
	last.fingerprint, last.results, last.next = fingerprint, fresh, last.next+len(batch)
	done := last.next >= len(programmed)
	if done {
		last.next, last.at = 0, time.Now()
	}
	results := make([]verifiedTarget, 0, len(fresh))
	unreachable := false
	for _, t := range programmed {
		if r, ok := fresh[corsrules.TargetKey(t.Result.Ref)]; ok {
			results = append(results, r)
			// No address is configuration, not an outage: retrying it every
			// few seconds would only rewrite the same status. It is looked
			// at again when the target or policy changes, or on the interval.
			unreachable = unreachable || r.result.Status == metav1.ConditionUnknown && r.result.Diagnosis != noAddress
		}
	}
	if done {
		last.failures = 0
		if unreachable {
			last.failures = min(failures+1, maxBackoffDoublings+1)
		}
	}
	v.mu.Lock()
	v.rounds[key] = last
	v.mu.Unlock()
	if err := v.writeStatus(ctx, key, results, true); err != nil {
		return 0, false, err
	}
	if !done {
		return nextBatchDelay, false, nil
	}
	return jitter(max(time.Until(last.due(interval)), nextBatchDelay)), unreachable, nil
}

// listedFirst puts the targets the policy's status lists first, so
// that their Verified conditions appear first; the order is otherwise
// kept.
func listedFirst(targets []plan.Target, listed []kubecorsv1alpha1.TargetStatus) []plan.Target {
	isListed := make(map[string]bool, len(listed))
	for _, t := range listed {
		isListed[corsrules.TargetKey(t.TargetRef)] = true
	}
	out := slices.Clone(targets)
	slices.SortStableFunc(out, func(a, b plan.Target) int {
		la, lb := isListed[corsrules.TargetKey(a.Result.Ref)], isListed[corsrules.TargetKey(b.Result.Ref)]
		switch {
		case la && !lb:
			return -1
		case lb && !la:
			return 1
		}
		return 0
	})
	return out
}

// verifyTarget finds the address of one target and verifies it.
func (v *Verifier) verifyTarget(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, s plan.Snapshot, promise verify.Promise, t plan.Target) verifiedTarget {
	ref := t.Result.Ref
	key := policy.Namespace + "/" + corsrules.TargetKey(ref)
	source := addressSource{flags: v.Addresses}
	var target verify.Target
	var problem string
	switch {
	case t.Ingress != nil:
		target, problem = source.ingressTarget(key, t.Ingress.Ingress, s.IngressClasses, t.Result.DataPlane)
	case t.Route != nil:
		target, problem = source.routeTarget(key, t.Route, s.Gateways, s.GatewayClasses, t.Result.DataPlane)
	default:
		problem = "kubecors wrote nothing on this target, so there is nothing to verify"
	}
	if problem != "" {
		return verifiedTarget{ref: ref, target: target, result: verify.Unknown(noAddress, problem, time.Now())}
	}
	return verifiedTarget{ref: ref, target: target, result: verify.Verify(ctx, v.Sender, promise, target)}
}

// roundFingerprint changes when the policy's spec or one of its
// programmed targets changes, which calls for a round at once.
func roundFingerprint(policy *kubecorsv1alpha1.CorsPolicy, targets []plan.Target) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", policy.Generation)
	for _, t := range targets {
		switch {
		case t.Ingress != nil:
			fmt.Fprintf(&b, ";%s@%s", t.Ingress.Ingress.Name, t.Ingress.Ingress.ResourceVersion)
		case t.Route != nil:
			fmt.Fprintf(&b, ";%s@%s", t.Route.Route.Name, t.Route.Route.ResourceVersion)
		}
	}
	return b.String()
}

// forget drops what the verifier remembers of a policy.
func (v *Verifier) forget(key types.NamespacedName) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.rounds, key)
}

// writeStatus writes a round's results into the policy's status, on a
// fresh copy and with optimistic locking, retrying when the reconciler
// wrote in between; enabled false removes every trace of verification.
func (v *Verifier) writeStatus(ctx context.Context, key types.NamespacedName, results []verifiedTarget, enabled bool) error {
	var before, after kubecorsv1alpha1.CorsPolicyStatus
	policy := &kubecorsv1alpha1.CorsPolicy{}
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if err := v.APIReader.Get(ctx, key, policy); err != nil {
			return err
		}
		original := policy.DeepCopy()
		applyVerification(policy, results, enabled)
		if equality.Semantic.DeepEqual(original.Status, policy.Status) {
			before, after = original.Status, policy.Status
			return nil
		}
		before, after = original.Status, policy.Status
		return v.Client.Status().Patch(ctx, policy, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{}))
	})
	if err != nil {
		return client.IgnoreNotFound(err)
	}
	v.verificationEvents(policy, before, after, results)
	return nil
}

// applyVerification sets the Verified condition and verification of each
// listed target, and the counts over every verified target.
func applyVerification(policy *kubecorsv1alpha1.CorsPolicy, results []verifiedTarget, enabled bool) {
	status := &policy.Status
	byKey := map[string]verifiedTarget{}
	for _, r := range results {
		byKey[corsrules.TargetKey(r.ref)] = r
	}
	for i := range status.Targets {
		entry := &status.Targets[i]
		r, ok := byKey[corsrules.TargetKey(entry.TargetRef)]
		if !enabled || !ok {
			meta.RemoveStatusCondition(&entry.Conditions, kubecorsv1alpha1.ConditionVerified)
			entry.Verification = nil
			continue
		}
		observed := metav1.NewTime(r.result.ObservedAt.Truncate(time.Second))
		meta.SetStatusCondition(&entry.Conditions, metav1.Condition{
			Type: kubecorsv1alpha1.ConditionVerified, Status: r.result.Status, Reason: r.result.Reason(),
			Message: truncateMessage(r.result.Message), ObservedGeneration: policy.Generation, LastTransitionTime: observed,
		})
		entry.Verification = &kubecorsv1alpha1.TargetVerification{
			ObservedAt: observed, URL: truncateTo(r.target.URL(), 2048), Address: truncateTo(r.target.Address, 512),
			Diagnosis: r.result.Diagnosis, BroaderThanPolicy: r.result.Broader,
		}
	}
	if status.TargetCounts == nil {
		status.TargetCounts = &kubecorsv1alpha1.TargetCounts{}
	}
	counts := status.TargetCounts
	counts.Verified, counts.VerificationFailed, counts.VerificationUnknown, counts.BroaderThanPolicy = 0, 0, 0, 0
	status.VerifiedTargets = ""
	if !enabled {
		if *counts == (kubecorsv1alpha1.TargetCounts{}) {
			status.TargetCounts = nil
		}
		return
	}
	for _, r := range results {
		switch r.result.Status {
		case metav1.ConditionTrue:
			counts.Verified++
		case metav1.ConditionFalse:
			counts.VerificationFailed++
		default:
			counts.VerificationUnknown++
		}
		if r.result.Broader {
			counts.BroaderThanPolicy++
		}
	}
	status.VerifiedTargets = fmt.Sprintf("%d/%d", counts.Verified, max(counts.Total, int32(len(results)))) //nolint:gosec // targets of one namespace
}

// truncateMessage keeps a condition message within its limit.
func truncateMessage(s string) string { return truncateTo(s, 4000) }

// verificationEvents records a Warning event for each target whose
// verdict became False or Unknown or changed its reason, one more for
// each target that became broader than the policy, and one Normal event
// when every target of the policy becomes verified.
func (v *Verifier) verificationEvents(policy *kubecorsv1alpha1.CorsPolicy, before, after kubecorsv1alpha1.CorsPolicyStatus, results []verifiedTarget) {
	prev := map[string]metav1.Condition{}
	prevBroader := map[string]bool{}
	for _, t := range before.Targets {
		if c := meta.FindStatusCondition(t.Conditions, kubecorsv1alpha1.ConditionVerified); c != nil {
			prev[corsrules.TargetKey(t.TargetRef)] = *c
		}
		prevBroader[corsrules.TargetKey(t.TargetRef)] = t.Verification != nil && t.Verification.BroaderThanPolicy
	}
	for _, r := range results {
		key := corsrules.TargetKey(r.ref)
		p, had := prev[key]
		if r.result.Status != metav1.ConditionTrue && (!had || p.Reason != r.result.Reason()) {
			v.Recorder.Eventf(policy, nil, corev1.EventTypeWarning, r.result.Reason(), "Verify", "%s %s: %s",
				r.ref.Kind, r.ref.Name, truncateMessage(r.result.Message))
		}
		if r.result.Broader && !prevBroader[key] && r.result.Diagnosis != verify.ClassBroaderThanPolicy {
			v.Recorder.Eventf(policy, nil, corev1.EventTypeWarning, kubecorsv1alpha1.ReasonBroaderThanPolicy, "Verify",
				"%s %s allows more than the policy: %s", r.ref.Kind, r.ref.Name, truncateMessage(r.result.Message))
		}
	}
	wasAll := before.TargetCounts != nil && before.VerifiedTargets != "" && before.TargetCounts.Verified == before.TargetCounts.Total
	if c := after.TargetCounts; c != nil && len(results) > 0 && c.Verified == c.Total && !wasAll {
		v.Recorder.Eventf(policy, nil, corev1.EventTypeNormal, kubecorsv1alpha1.ReasonVerified, "Verify",
			"all %d targets answer on the wire as the policy promises", c.Total)
	}
}
