package controllers

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/clusterpolicy"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// targetResult is what reconciling one target produced.
type targetResult struct {
	ref        kubecorsv1alpha1.PolicyTargetReference
	dataPlane  string
	controller string
	reason     string
	message    string
}

func (t targetResult) programmed() bool { return t.reason == kubecorsv1alpha1.ReasonProgrammed }

// acceptance is the verdict on a policy's spec: its own rules and the
// ClusterCorsPolicies that select its namespace.
type acceptance struct {
	// reason is Accepted, Invalid or ClusterPolicyViolation.
	reason  string
	message string
	// blocking is true when the policy must not be programmed: it is
	// invalid or breaks an Enforce-mode ClusterCorsPolicy. Audit-mode
	// findings make a policy not accepted without blocking it.
	blocking bool
}

// judge combines the rule violations and the ClusterCorsPolicy findings.
func judge(invalid field.ErrorList, findings []clusterpolicy.Finding) acceptance {
	switch {
	case len(invalid) > 0:
		return acceptance{reason: kubecorsv1alpha1.ReasonInvalid, message: invalid.ToAggregate().Error(), blocking: true}
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
		return acceptance{reason: kubecorsv1alpha1.ReasonClusterPolicyViolation, message: strings.Join(parts, "; "), blocking: blocking}
	}
	return acceptance{reason: kubecorsv1alpha1.ReasonAccepted, message: "the policy passed every rule"}
}

// desiredStatus computes a policy's status from the verdict on its spec
// and per-target results. Conditions keep their LastTransitionTime when
// their status does not change, so an unchanged policy yields an equal
// status.
func desiredStatus(policy *kubecorsv1alpha1.CorsPolicy, verdict acceptance, targets []targetResult, now metav1.Time) kubecorsv1alpha1.CorsPolicyStatus {
	status := *policy.Status.DeepCopy()
	gen := policy.Generation

	accepted := metav1.Condition{Type: kubecorsv1alpha1.ConditionAccepted, Status: metav1.ConditionTrue,
		Reason: verdict.reason, Message: truncate(verdict.message), ObservedGeneration: gen, LastTransitionTime: now}
	if verdict.reason != kubecorsv1alpha1.ReasonAccepted {
		accepted.Status = metav1.ConditionFalse
	}
	meta.SetStatusCondition(&status.Conditions, accepted)

	status.Targets = nil
	programmed := 0
	for _, t := range targets {
		cond := metav1.Condition{Type: kubecorsv1alpha1.ConditionProgrammed, Status: metav1.ConditionFalse,
			Reason: t.reason, Message: truncate(t.message), ObservedGeneration: gen, LastTransitionTime: now}
		if t.programmed() {
			cond.Status = metav1.ConditionTrue
			programmed++
		}
		entry := kubecorsv1alpha1.TargetStatus{TargetRef: t.ref, DataPlane: t.dataPlane, ControllerName: t.controller, Message: truncate(t.message)}
		entry.Conditions = previousTargetConditions(policy.Status.Targets, t.ref)
		meta.SetStatusCondition(&entry.Conditions, cond)
		status.Targets = append(status.Targets, entry)
	}
	status.ProgrammedTargets = fmt.Sprintf("%d/%d", programmed, len(targets))
	meta.SetStatusCondition(&status.Conditions, summary(verdict.blocking, targets, programmed, gen, now))
	return status
}

// summary is the policy-level Programmed condition.
func summary(blocked bool, targets []targetResult, programmed int, gen int64, now metav1.Time) metav1.Condition {
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
func commonReason(targets []targetResult) string {
	reason := targets[0].reason
	for _, t := range targets[1:] {
		if t.reason != reason {
			return kubecorsv1alpha1.ReasonPending
		}
	}
	return reason
}

func previousTargetConditions(prev []kubecorsv1alpha1.TargetStatus, ref kubecorsv1alpha1.PolicyTargetReference) []metav1.Condition {
	for _, t := range prev {
		if corsrules.TargetKey(t.TargetRef) == corsrules.TargetKey(ref) {
			return append([]metav1.Condition(nil), t.Conditions...)
		}
	}
	return nil
}

// maxMessage keeps condition messages within metav1.Condition's limit.
const maxMessage = 4000

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return s[:maxMessage-len(" …")] + " …"
}
