package plan

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// TestStatusBoundsTargetList feeds more targets than the status may list
// and checks that the counts cover all of them, the list keeps the
// targets that need attention first, and the rest is counted as unlisted.
func TestStatusBoundsTargetList(t *testing.T) {
	var results []Result
	add := func(n int, prefix, reason string, narrowed bool) {
		for i := range n {
			results = append(results, Result{
				Ref:    kubecorsv1alpha1.PolicyTargetReference{Group: kubecorsv1alpha1.GroupNetworking, Kind: kubecorsv1alpha1.KindIngress, Name: fmt.Sprintf("%s-%04d", prefix, i)},
				Reason: reason, Narrowed: narrowed, Message: reason,
			})
		}
	}
	// Named so that alphabetical order would put the programmed ones first.
	add(9000, "a-programmed", kubecorsv1alpha1.ReasonProgrammed, false)
	add(900, "b-narrowed", kubecorsv1alpha1.ReasonProgrammed, true)
	add(50, "c-missing", kubecorsv1alpha1.ReasonTargetNotFound, false)
	add(10, "d-conflicted", kubecorsv1alpha1.ReasonConflicted, false)
	add(3, "e-refused", kubecorsv1alpha1.ReasonWriteRefused, false)
	add(2, "f-failed", kubecorsv1alpha1.ReasonWriteFailed, false)

	policy := &kubecorsv1alpha1.CorsPolicy{}
	s := Status(policy, Acceptance{Reason: kubecorsv1alpha1.ReasonAccepted}, results, statusTime)

	want := kubecorsv1alpha1.TargetCounts{Total: 9965, Programmed: 9900, Narrowed: 900, Conflicted: 10, Failed: 5, NotProgrammed: 50}
	if *s.TargetCounts != want {
		t.Errorf("counts = %+v, want %+v", *s.TargetCounts, want)
	}
	if s.ProgrammedTargets != "9900/9965" {
		t.Errorf("programmedTargets = %q", s.ProgrammedTargets)
	}
	if len(s.Targets) != kubecorsv1alpha1.MaxListedTargets || s.UnlistedTargets != int32(9965-kubecorsv1alpha1.MaxListedTargets) {
		t.Fatalf("listed %d, unlisted %d", len(s.Targets), s.UnlistedTargets)
	}
	// Failed (refused and failed, by name), then conflicted, then the
	// targets not found; the list is full before any programmed target.
	wantOrder := []string{"e-refused-0000", "e-refused-0001", "e-refused-0002", "f-failed-0000", "f-failed-0001", "d-conflicted-0000"}
	for i, name := range wantOrder {
		if got := s.Targets[i].TargetRef.Name; got != name {
			t.Errorf("targets[%d] = %s, want %s", i, got, name)
		}
	}
	if got := s.Targets[15].TargetRef.Name; got != "c-missing-0000" {
		t.Errorf("targets[15] = %s, want the first target not found after the 5 failed and 10 conflicted", got)
	}
	for _, ts := range s.Targets {
		if ts.Conditions[0].Reason == kubecorsv1alpha1.ReasonProgrammed {
			t.Fatalf("a programmed target %s is listed while targets needing attention were left out", ts.TargetRef.Name)
		}
	}
}

// TestStatusListsNarrowedBeforeProgrammed checks the order of programmed
// targets when the list has room for some of them.
func TestStatusListsNarrowedBeforeProgrammed(t *testing.T) {
	results := []Result{
		{Ref: kubecorsv1alpha1.PolicyTargetReference{Kind: kubecorsv1alpha1.KindIngress, Name: "a"}, Reason: kubecorsv1alpha1.ReasonProgrammed},
		{Ref: kubecorsv1alpha1.PolicyTargetReference{Kind: kubecorsv1alpha1.KindIngress, Name: "b"}, Reason: kubecorsv1alpha1.ReasonProgrammed, Narrowed: true},
	}
	s := Status(&kubecorsv1alpha1.CorsPolicy{}, Acceptance{Reason: kubecorsv1alpha1.ReasonAccepted}, results, statusTime)
	if s.Targets[0].TargetRef.Name != "b" || s.Targets[1].TargetRef.Name != "a" || s.UnlistedTargets != 0 {
		t.Errorf("order = %s, %s (unlisted %d), want the narrowed b first", s.Targets[0].TargetRef.Name, s.Targets[1].TargetRef.Name, s.UnlistedTargets)
	}
}

// TestStatusKeepsVerification: the reconciler's status keeps what the
// verifier wrote (the Verified condition, the verification, the counts)
// for programmed targets, and drops it for a target no longer programmed.
func TestStatusKeepsVerification(t *testing.T) {
	ref := func(name string) kubecorsv1alpha1.PolicyTargetReference {
		return kubecorsv1alpha1.PolicyTargetReference{Group: kubecorsv1alpha1.GroupNetworking, Kind: kubecorsv1alpha1.KindIngress, Name: name}
	}
	verified := metav1.Condition{Type: kubecorsv1alpha1.ConditionVerified, Status: metav1.ConditionTrue, Reason: kubecorsv1alpha1.ReasonVerified,
		Message: "seen", LastTransitionTime: statusTime}
	wire := &kubecorsv1alpha1.TargetVerification{ObservedAt: statusTime, Address: "10.0.0.1:80"}
	policy := &kubecorsv1alpha1.CorsPolicy{Status: kubecorsv1alpha1.CorsPolicyStatus{
		Targets: []kubecorsv1alpha1.TargetStatus{
			{TargetRef: ref("kept"), Conditions: []metav1.Condition{verified}, Verification: wire},
			{TargetRef: ref("gone"), Conditions: []metav1.Condition{verified}, Verification: wire},
		},
		TargetCounts:    &kubecorsv1alpha1.TargetCounts{Total: 2, Programmed: 2, Verified: 2},
		VerifiedTargets: "2/2",
	}}
	results := []Result{
		{Ref: ref("kept"), Reason: kubecorsv1alpha1.ReasonProgrammed},
		{Ref: ref("gone"), Reason: kubecorsv1alpha1.ReasonConflicted},
	}
	s := Status(policy, Acceptance{Reason: kubecorsv1alpha1.ReasonAccepted}, results, statusTime)
	byName := map[string]kubecorsv1alpha1.TargetStatus{}
	for _, ts := range s.Targets {
		byName[ts.TargetRef.Name] = ts
	}
	if c := meta.FindStatusCondition(byName["kept"].Conditions, kubecorsv1alpha1.ConditionVerified); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("the programmed target lost its Verified condition: %+v", byName["kept"].Conditions)
	}
	if byName["kept"].Verification == nil || byName["kept"].Verification.Address != "10.0.0.1:80" {
		t.Errorf("the programmed target lost its verification: %+v", byName["kept"].Verification)
	}
	if c := meta.FindStatusCondition(byName["gone"].Conditions, kubecorsv1alpha1.ConditionVerified); c != nil || byName["gone"].Verification != nil {
		t.Errorf("a target no longer programmed kept its verification: %+v %+v", c, byName["gone"].Verification)
	}
	if s.TargetCounts.Verified != 1 || s.VerifiedTargets != "1/2" {
		t.Errorf("verified = %d, %q; want the count capped at the 1 programmed target, 1/2", s.TargetCounts.Verified, s.VerifiedTargets)
	}
}
