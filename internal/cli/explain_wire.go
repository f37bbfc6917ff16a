package cli

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// wireView is the last check of a target on the wire, as the operator's
// verifier recorded it in the governing policy's status.
type wireView struct {
	ObservedAt metav1.Time `json:"observedAt"`
	URL        string      `json:"url,omitempty"`
	Address    string      `json:"address,omitempty"`
	// Verified is the Verified condition's status: True, False or Unknown.
	Verified  string `json:"verified"`
	Reason    string `json:"reason"`
	Diagnosis string `json:"diagnosis,omitempty"`
	Message   string `json:"message,omitempty"`
	// Stale is true when the check was made for an older generation of
	// the policy.
	Stale             bool `json:"stale,omitempty"`
	BroaderThanPolicy bool `json:"broaderThanPolicy,omitempty"`
}

// lastWireObservation finds the target's last verification in its
// policy's status, or nil when there is none (verification off, the
// target not listed, not verified yet).
func lastWireObservation(t *explainTarget) *wireView {
	if t.Policy == nil || t.Kind == corsPolicyKind {
		return nil
	}
	for _, ts := range t.Policy.Status.Targets {
		if ts.TargetRef.Kind != t.Kind || ts.TargetRef.Name != t.Name || ts.Verification == nil {
			continue
		}
		c := meta.FindStatusCondition(ts.Conditions, kubecorsv1alpha1.ConditionVerified)
		if c == nil {
			return nil
		}
		w := ts.Verification
		return &wireView{ObservedAt: w.ObservedAt, URL: w.URL, Address: w.Address, Verified: string(c.Status), Reason: c.Reason,
			Diagnosis: w.Diagnosis, Message: c.Message, Stale: c.ObservedGeneration < t.Policy.Generation, BroaderThanPolicy: w.BroaderThanPolicy}
	}
	return nil
}

// wireHint compares the simulation with the wire: when the wire said
// otherwise, the wire is what browsers get.
func wireHint(w *wireView, simulatedAllowed bool) string {
	if w == nil || w.Stale {
		return ""
	}
	switch {
	case w.Verified == string(metav1.ConditionFalse) && simulatedAllowed:
		return fmt.Sprintf("the simulation allows this request, but on the wire the data plane did not answer as the policy promises (%s): "+
			"browsers get what the wire says; check with kubectl cors probe %s", w.Diagnosis, w.URL)
	case w.BroaderThanPolicy:
		return "on the wire the data plane allows more than the policy (broader-than-policy): a security finding; see the Verified condition"
	}
	return ""
}

// printWire renders the last wire observation.
func printWire(p *textPrinter, w *wireView) {
	if w == nil {
		return
	}
	line := fmt.Sprintf("Verified=%s (%s) %s ago at %s via %s", w.Verified, w.Reason, duration.HumanDuration(statusNow().Sub(w.ObservedAt.Time)), w.URL, w.Address)
	if w.Stale {
		line += ", for an older generation of the policy"
	}
	p.field("On the wire", line)
	if w.Verified != string(metav1.ConditionTrue) && w.Message != "" {
		p.field("  Seen", w.Message)
	}
}
