package plan

import (
	"fmt"
	"math"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/clusterpolicy"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// Result is the outcome for one target, as its status entry reports it.
type Result struct {
	// Ref is the target.
	Ref kubecorsv1alpha1.PolicyTargetReference `json:"targetRef"`
	// DataPlane is the renderer chosen for the target, if any.
	DataPlane string `json:"dataPlane,omitempty"`
	// Controller is the controller that serves the target, if known.
	Controller string `json:"controllerName,omitempty"`
	// Reason is the reason of the target's Programmed condition.
	Reason string `json:"reason"`
	// Message says what was programmed, narrowed, refused or failed.
	Message string `json:"message,omitempty"`
	// Narrowed is true for a programmed target whose data plane could not
	// express the whole policy.
	Narrowed bool `json:"narrowed,omitempty"`
}

// Programmed reports whether the target's data plane is configured.
func (t Result) Programmed() bool { return t.Reason == kubecorsv1alpha1.ReasonProgrammed }

// Failed reports whether reading or writing the target failed, so that it
// is retried.
func (t Result) Failed() bool {
	return t.Reason == kubecorsv1alpha1.ReasonWriteRefused || t.Reason == kubecorsv1alpha1.ReasonWriteFailed
}

// FailedWith turns an error from the API server into the target's result.
func (t Result) FailedWith(err error) Result {
	t.Reason, t.Message = WriteFailure(err)
	t.Narrowed = false
	return t
}

// WriteFailure classifies an error from the API server: a refusal (the
// request reached the API server, which said no: admission control, RBAC,
// validation) or another failure (timeouts, conflicts, the server
// unavailable). The message quotes the API server verbatim.
func WriteFailure(err error) (reason, message string) {
	switch {
	case apierrors.IsForbidden(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err),
		apierrors.IsRequestEntityTooLargeError(err), apierrors.IsMethodNotSupported(err):
		return kubecorsv1alpha1.ReasonWriteRefused, "the API server refused the write; kubecors retries with backoff: " + err.Error()
	default:
		return kubecorsv1alpha1.ReasonWriteFailed, "the write failed; kubecors retries with backoff: " + err.Error()
	}
}

// Acceptance is the verdict on a policy's spec: its own rules and the
// ClusterCorsPolicies that select its namespace.
type Acceptance struct {
	// Reason is Accepted, Invalid or ClusterPolicyViolation.
	Reason string `json:"reason"`
	// Message explains the verdict.
	Message string `json:"message"`
	// Blocking is true when the policy must not be programmed: it is
	// invalid or breaks an Enforce-mode ClusterCorsPolicy. Audit-mode
	// findings make a policy not accepted without blocking it.
	Blocking bool `json:"blocking,omitempty"`
}

// Judge combines the rule violations and the ClusterCorsPolicy findings.
func Judge(invalid field.ErrorList, findings []clusterpolicy.Finding) Acceptance {
	switch {
	case len(invalid) > 0:
		return Acceptance{Reason: kubecorsv1alpha1.ReasonInvalid, Message: invalid.ToAggregate().Error(), Blocking: true}
	case len(findings) > 0:
		parts := make([]string, 0, len(findings))
		blocking := false
		for _, f := range findings {
			mode := "enforced: not programmed"
			if !f.Enforced() {
				mode = "audit: still programmed"
			}
			parts = append(parts, fmt.Sprintf("%s (%s)", f.String(), mode))
			blocking = blocking || f.Enforced()
		}
		return Acceptance{Reason: kubecorsv1alpha1.ReasonClusterPolicyViolation, Message: strings.Join(parts, "; "), Blocking: blocking}
	}
	return Acceptance{Reason: kubecorsv1alpha1.ReasonAccepted, Message: "the policy passed every rule"}
}

// Status computes a policy's status from the verdict on its spec
// and per-target results. Conditions keep their LastTransitionTime when
// their status does not change, so an unchanged policy yields an equal
// status.
func Status(policy *kubecorsv1alpha1.CorsPolicy, verdict Acceptance, targets []Result, now metav1.Time) kubecorsv1alpha1.CorsPolicyStatus {
	status := *policy.Status.DeepCopy()
	gen := policy.Generation

	accepted := metav1.Condition{Type: kubecorsv1alpha1.ConditionAccepted, Status: metav1.ConditionTrue,
		Reason: verdict.Reason, Message: truncate(verdict.Message), ObservedGeneration: gen, LastTransitionTime: now}
	if verdict.Reason != kubecorsv1alpha1.ReasonAccepted {
		accepted.Status = metav1.ConditionFalse
	}
	meta.SetStatusCondition(&status.Conditions, accepted)

	counts := countTargets(targets)
	listed := listedTargets(targets)
	status.Targets = nil
	for _, t := range listed {
		cond := metav1.Condition{Type: kubecorsv1alpha1.ConditionProgrammed, Status: metav1.ConditionFalse,
			Reason: t.Reason, Message: truncate(t.Message), ObservedGeneration: gen, LastTransitionTime: now}
		if t.Programmed() {
			cond.Status = metav1.ConditionTrue
		}
		entry := kubecorsv1alpha1.TargetStatus{TargetRef: t.Ref, DataPlane: t.DataPlane, ControllerName: t.Controller, Message: truncate(t.Message)}
		entry.Conditions = PreviousTargetConditions(policy.Status.Targets, t.Ref)
		meta.SetStatusCondition(&entry.Conditions, cond)
		// The verifier owns the Verified condition and the verification;
		// they stay while the target is programmed, and go when it is not,
		// since nothing on the wire is kubecors's then.
		if t.Programmed() {
			entry.Verification = previousVerification(policy.Status.Targets, t.Ref)
		} else {
			meta.RemoveStatusCondition(&entry.Conditions, kubecorsv1alpha1.ConditionVerified)
		}
		status.Targets = append(status.Targets, entry)
	}
	keepVerificationCounts(&counts, policy.Status.TargetCounts)
	status.TargetCounts = nil
	if len(targets) > 0 {
		status.TargetCounts = &counts
	}
	status.UnlistedTargets = counts.Total - int32(len(listed)) //nolint:gosec // at most MaxListedTargets
	status.ProgrammedTargets = fmt.Sprintf("%d/%d", counts.Programmed, counts.Total)
	if status.VerifiedTargets != "" {
		status.VerifiedTargets = fmt.Sprintf("%d/%d", counts.Verified, counts.Total)
	}
	meta.SetStatusCondition(&status.Conditions, summary(verdict.Blocking, targets, int(counts.Programmed), gen, now))
	return status
}

// countTargets counts targets by state; each counts in exactly one of
// programmed, conflicted, failed and notProgrammed.
func countTargets(targets []Result) kubecorsv1alpha1.TargetCounts {
	// A policy's targets are objects of one namespace, far below 2^31.
	c := kubecorsv1alpha1.TargetCounts{Total: int32(min(len(targets), math.MaxInt32))}
	for _, t := range targets {
		switch {
		case t.Programmed():
			c.Programmed++
			if t.Narrowed {
				c.Narrowed++
			}
		case t.Reason == kubecorsv1alpha1.ReasonConflicted:
			c.Conflicted++
		case t.Failed():
			c.Failed++
		default:
			c.NotProgrammed++
		}
	}
	return c
}

// attention orders targets for the bounded status list: failed writes
// first, then conflicts, then the rest that is not programmed, then
// narrowed programmed targets, then the others.
func attention(t Result) int {
	switch {
	case t.Failed():
		return 0
	case t.Reason == kubecorsv1alpha1.ReasonConflicted:
		return 1
	case !t.Programmed():
		return 2
	case t.Narrowed:
		return 3
	}
	return 4
}

// listedTargets picks the targets the status lists: at most
// MaxListedTargets, those that need attention first, each group in the
// stable order of the targets' keys.
func listedTargets(targets []Result) []Result {
	listed := slices.Clone(targets)
	slices.SortStableFunc(listed, func(a, b Result) int {
		if d := attention(a) - attention(b); d != 0 {
			return d
		}
		return strings.Compare(corsrules.TargetKey(a.Ref), corsrules.TargetKey(b.Ref))
	})
	return listed[:min(len(listed), kubecorsv1alpha1.MaxListedTargets)]
}

// summary is the policy-level Programmed condition.
func summary(blocked bool, targets []Result, programmed int, gen int64, now metav1.Time) metav1.Condition {
	cond := metav1.Condition{Type: kubecorsv1alpha1.ConditionProgrammed, Status: metav1.ConditionFalse, ObservedGeneration: gen, LastTransitionTime: now}
	switch {
	case blocked:
		cond.Reason, cond.Message = kubecorsv1alpha1.ReasonNotAccepted, "the policy is not accepted, so nothing is programmed (see the Accepted condition)"
	case len(targets) == 0:
		cond.Reason, cond.Message = kubecorsv1alpha1.ReasonNoTargets, "no Ingress or HTTPRoute matches targetRefs or targetSelector"
	case programmed == len(targets):
		cond.Status, cond.Reason = metav1.ConditionTrue, kubecorsv1alpha1.ReasonProgrammed
		cond.Message = fmt.Sprintf("all %d targets are programmed", programmed)
	case programmed > 0:
		cond.Reason = kubecorsv1alpha1.ReasonPartiallyProgrammed
		cond.Message = fmt.Sprintf("%d of %d targets are programmed; see status.targets", programmed, len(targets))
	default:
		cond.Reason = commonReason(targets)
		cond.Message = fmt.Sprintf("none of %d targets is programmed; see status.targets", len(targets))
	}
	return cond
}

// commonReason is the reason all targets share, or Pending when they differ.
func commonReason(targets []Result) string {
	reason := targets[0].Reason
	for _, t := range targets[1:] {
		if t.Reason != reason {
			return kubecorsv1alpha1.ReasonPending
		}
	}
	return reason
}

// PreviousTargetConditions returns a copy of the conditions a target had
// in an earlier status, so that unchanged conditions keep their times.
func PreviousTargetConditions(prev []kubecorsv1alpha1.TargetStatus, ref kubecorsv1alpha1.PolicyTargetReference) []metav1.Condition {
	for _, t := range prev {
		if corsrules.TargetKey(t.TargetRef) == corsrules.TargetKey(ref) {
			return append([]metav1.Condition(nil), t.Conditions...)
		}
	}
	return nil
}

// previousVerification returns a copy of the wire verification a target
// had in an earlier status.
func previousVerification(prev []kubecorsv1alpha1.TargetStatus, ref kubecorsv1alpha1.PolicyTargetReference) *kubecorsv1alpha1.TargetVerification {
	for _, t := range prev {
		if corsrules.TargetKey(t.TargetRef) == corsrules.TargetKey(ref) {
			return t.Verification.DeepCopy()
		}
	}
	return nil
}

// keepVerificationCounts carries the verifier's counts over from the
// previous status (the verifier recounts after each round), each at most
// the number of programmed targets, which is all it verifies.
func keepVerificationCounts(counts, prev *kubecorsv1alpha1.TargetCounts) {
	if prev == nil {
		return
	}
	counts.Verified = min(prev.Verified, counts.Programmed)
	counts.VerificationFailed = min(prev.VerificationFailed, counts.Programmed)
	counts.VerificationUnknown = min(prev.VerificationUnknown, counts.Programmed)
	counts.BroaderThanPolicy = min(prev.BroaderThanPolicy, counts.Programmed)
}

// maxMessage keeps condition messages within metav1.Condition's limit.
const maxMessage = 4000

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return s[:maxMessage-len(" …")] + " …"
}
