package controllers

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
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
