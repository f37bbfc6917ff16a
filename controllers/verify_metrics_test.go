package controllers

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// TestBroaderThanPolicyMetric: one series per verified policy, from its
// status; policies never verified have none.
func TestBroaderThanPolicyMetric(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := kubecorsv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	verified := func(name string, broader int32) *kubecorsv1alpha1.CorsPolicy {
		p := policyWith(name)
		p.Status.VerifiedTargets = "1/3"
		p.Status.TargetCounts = &kubecorsv1alpha1.TargetCounts{Total: 3, Programmed: 3, Verified: 1, VerificationFailed: 2, BroaderThanPolicy: broader}
		return p
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(verified("wide", 2), verified("fine", 0), policyWith("never")).Build()
	want := `
# HELP kubecors_targets_broader_than_policy Targets whose data plane, verified on the wire, allows an origin, method, header or credentials that their CorsPolicy does not, by policy. Above zero is a security finding.
# TYPE kubecors_targets_broader_than_policy gauge
kubecors_targets_broader_than_policy{namespace="default",policy="fine"} 0
kubecors_targets_broader_than_policy{namespace="default",policy="wide"} 2
`
	if err := testutil.CollectAndCompare(newBroaderThanPolicy(c), strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

// TestApplyVerificationDisabledClearsEverything: turning verification off
// (spec.verification.mode Disabled, or --verify=false through the
// reconciler) leaves no Verified condition, verification or count behind,
// and keeps every other condition.
func TestApplyVerificationDisabledClearsEverything(t *testing.T) {
	p := policyWith("p")
	p.Status.VerifiedTargets = "1/1"
	p.Status.TargetCounts = &kubecorsv1alpha1.TargetCounts{Total: 1, Programmed: 1, Verified: 1, BroaderThanPolicy: 1}
	p.Status.Targets = []kubecorsv1alpha1.TargetStatus{{
		Conditions: []metav1.Condition{
			{Type: kubecorsv1alpha1.ConditionProgrammed, Status: metav1.ConditionTrue, Reason: kubecorsv1alpha1.ReasonProgrammed},
			{Type: kubecorsv1alpha1.ConditionVerified, Status: metav1.ConditionTrue, Reason: kubecorsv1alpha1.ReasonVerified},
		},
		Verification: &kubecorsv1alpha1.TargetVerification{Address: "10.0.0.1:80"},
	}}
	applyVerification(p, nil, false)
	s := p.Status
	if s.VerifiedTargets != "" || s.Targets[0].Verification != nil || len(s.Targets[0].Conditions) != 1 ||
		s.Targets[0].Conditions[0].Type != kubecorsv1alpha1.ConditionProgrammed {
		t.Fatalf("verification left behind: %+v", s)
	}
	if want := (kubecorsv1alpha1.TargetCounts{Total: 1, Programmed: 1}); *s.TargetCounts != want {
		t.Fatalf("counts %+v, want %+v", *s.TargetCounts, want)
	}
}
