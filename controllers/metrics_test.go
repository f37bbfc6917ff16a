package controllers

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

func policyWith(name string, conds ...metav1.Condition) *kubecorsv1alpha1.CorsPolicy {
	return &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Status:     kubecorsv1alpha1.CorsPolicyStatus{Conditions: conds},
	}
}

func TestPolicyStatesCountsPoliciesByState(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := kubecorsv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	accepted := metav1.Condition{Type: kubecorsv1alpha1.ConditionAccepted, Status: metav1.ConditionTrue, Reason: kubecorsv1alpha1.ReasonAccepted}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		policyWith("a", accepted, metav1.Condition{Type: kubecorsv1alpha1.ConditionProgrammed, Status: metav1.ConditionTrue, Reason: kubecorsv1alpha1.ReasonProgrammed}),
		policyWith("b", accepted, metav1.Condition{Type: kubecorsv1alpha1.ConditionProgrammed, Status: metav1.ConditionTrue, Reason: kubecorsv1alpha1.ReasonProgrammed}),
		policyWith("c", metav1.Condition{Type: kubecorsv1alpha1.ConditionAccepted, Status: metav1.ConditionFalse, Reason: kubecorsv1alpha1.ReasonClusterPolicyViolation}),
		policyWith("d"),
	).Build()
	collector := &policyStates{reader: c, desc: prometheus.NewDesc("kubecors_corspolicies", "test", []string{"state"}, nil)}
	want := `
# HELP kubecors_corspolicies test
# TYPE kubecors_corspolicies gauge
kubecors_corspolicies{state="ClusterPolicyViolation"} 1
kubecors_corspolicies{state="Pending"} 1
kubecors_corspolicies{state="Programmed"} 2
`
	if err := testutil.CollectAndCompare(collector, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
