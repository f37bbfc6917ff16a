package cli

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// TestExplainUsesTheLastWireObservation: explain finds the target's last
// verification in its policy's status, prints it, and says when the wire
// contradicts the simulation.
func TestExplainUsesTheLastWireObservation(t *testing.T) {
	at := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	statusNow = func() time.Time { return at.Add(90 * time.Second) }
	t.Cleanup(func() { statusNow = time.Now })
	policy := &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api", Generation: 2},
		Status: kubecorsv1alpha1.CorsPolicyStatus{Targets: []kubecorsv1alpha1.TargetStatus{{
			TargetRef: kubecorsv1alpha1.PolicyTargetReference{Kind: kubecorsv1alpha1.KindIngress, Name: "web"},
			Conditions: []metav1.Condition{{Type: kubecorsv1alpha1.ConditionVerified, Status: metav1.ConditionFalse,
				Reason: kubecorsv1alpha1.ReasonDuplicateAllowOrigin, Message: "duplicate-allow-origin: seen: GET → 200 [two values]", ObservedGeneration: 2}},
			Verification: &kubecorsv1alpha1.TargetVerification{ObservedAt: metav1.NewTime(at), URL: "http://api.example.com/", Address: "10.0.0.1:80",
				Diagnosis: "duplicate-allow-origin"},
		}}},
	}
	target := &explainTarget{Kind: kubecorsv1alpha1.KindIngress, Name: "web", Policy: policy}
	w := lastWireObservation(target)
	if w == nil || w.Verified != "False" || w.Diagnosis != "duplicate-allow-origin" || w.Stale {
		t.Fatalf("wire view %+v", w)
	}
	if hint := wireHint(w, true); !strings.Contains(hint, "on the wire the data plane did not answer as the policy promises (duplicate-allow-origin)") {
		t.Errorf("hint %q", hint)
	}
	if hint := wireHint(w, false); hint != "" {
		t.Errorf("a blocked simulation needs no hint from the wire, got %q", hint)
	}
	var b strings.Builder
	p := &textPrinter{w: &b}
	printWire(p, w)
	for _, want := range []string{"Verified=False (DuplicateAllowOrigin) 90s ago at http://api.example.com/ via 10.0.0.1:80", "two values"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("explain does not print %q:\n%s", want, b.String())
		}
	}
	if lastWireObservation(&explainTarget{Kind: kubecorsv1alpha1.KindIngress, Name: "other", Policy: policy}) != nil {
		t.Error("another target got this target's observation")
	}
}
