package controllers

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
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

// desiredStatus computes a policy's status from its validation errors and
// per-target results. Conditions keep their LastTransitionTime when their
// status does not change, so an unchanged policy yields an equal status.
func desiredStatus(policy *kubecorsv1alpha1.CorsPolicy, invalid field.ErrorList, targets []targetResult, now metav1.Time) kubecorsv1alpha1.CorsPolicyStatus {
	status := *policy.Status.DeepCopy()
	gen := policy.Generation

	accepted := metav1.Condition{Type: kubecorsv1alpha1.ConditionAccepted, Status: metav1.ConditionTrue,
		Reason: kubecorsv1alpha1.ReasonAccepted, Message: "the policy passed every rule", ObservedGeneration: gen, LastTransitionTime: now}
	if len(invalid) > 0 {
		accepted.Status, accepted.Reason = metav1.ConditionFalse, kubecorsv1alpha1.ReasonInvalid
		accepted.Message = truncate(invalid.ToAggregate().Error())
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
	meta.SetStatusCondition(&status.Conditions, summary(len(invalid) > 0, targets, programmed, gen, now))
	return status
}

// summary is the policy-level Programmed condition.
func summary(invalid bool, targets []targetResult, programmed int, gen int64, now metav1.Time) metav1.Condition {
	cond := metav1.Condition{Type: kubecorsv1alpha1.ConditionProgrammed, Status: metav1.ConditionFalse, ObservedGeneration: gen, LastTransitionTime: now}
	switch {
	case invalid:
		cond.Reason, cond.Message = kubecorsv1alpha1.ReasonNotAccepted, "the policy is not accepted, so nothing is programmed"
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
