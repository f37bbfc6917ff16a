package clusterpolicy

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

func ccp(name string, mode kubecorsv1alpha1.ClusterPolicyMode, selector *metav1.LabelSelector, rules kubecorsv1alpha1.ClusterCorsRules) kubecorsv1alpha1.ClusterCorsPolicy {
	return kubecorsv1alpha1.ClusterCorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Mode: mode, NamespaceSelector: selector, Rules: rules},
	}
}

func TestSelects(t *testing.T) {
	team := map[string]string{"team": "a", corev1.LabelMetadataName: "shop"}
	for _, tc := range []struct {
		name     string
		selector *metav1.LabelSelector
		want     bool
	}{
		{"an unset selector selects every namespace", nil, true},
		{"an empty selector selects every namespace", &metav1.LabelSelector{}, true},
		{"matching labels select", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}, true},
		{"other labels do not select", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "b"}}, false},
		{"an invalid selector selects nothing rather than everything",
			&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Bogus"}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ccp("p", "", tc.selector, kubecorsv1alpha1.ClusterCorsRules{})
			if got := Selects(&p, team); got != tc.want {
				t.Errorf("Selects = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEvaluateModesAndOrder(t *testing.T) {
	spec := &kubecorsv1alpha1.CorsPolicySpec{AllowOrigins: []kubecorsv1alpha1.Origin{"https://app.example.com"}, AllowCredentials: new(true)}
	noCredentials := kubecorsv1alpha1.ClusterCorsRules{ForbidCredentials: true}
	findings := Evaluate([]kubecorsv1alpha1.ClusterCorsPolicy{
		ccp("b-default-mode", "", nil, noCredentials),
		ccp("a-audit", kubecorsv1alpha1.ModeAudit, nil, noCredentials),
		ccp("c-allows", kubecorsv1alpha1.ModeEnforce, nil, kubecorsv1alpha1.ClusterCorsRules{}),
	}, spec)
	if len(findings) != 2 {
		t.Fatalf("findings = %v, want one per policy forbidding credentials", findings)
	}
	if findings[0].ClusterPolicy != "b-default-mode" || !findings[0].Enforced() {
		t.Errorf("first finding %+v: want the policy without a mode, enforced (the API's default)", findings[0])
	}
	if findings[1].ClusterPolicy != "a-audit" || findings[1].Enforced() {
		t.Errorf("second finding %+v: want the audit-mode policy, not enforced", findings[1])
	}
	if got := findings[1].String(); got != `spec.allowCredentials: ClusterCorsPolicy "a-audit" `+findings[1].Rule+": "+findings[1].Message {
		t.Errorf("String() = %q", got)
	}
}

func TestSelecting(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := kubecorsv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	byTeam := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	byName := &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "new"}}
	policies := []kubecorsv1alpha1.ClusterCorsPolicy{
		ccp("z-everyone", "", nil, kubecorsv1alpha1.ClusterCorsRules{}),
		ccp("team-a", "", byTeam, kubecorsv1alpha1.ClusterCorsRules{}),
		ccp("new-only", "", byName, kubecorsv1alpha1.ClusterCorsRules{}),
	}
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"team": "a", corev1.LabelMetadataName: "shop"}}}).
		WithObjects(&policies[0], &policies[1], &policies[2]).Build()

	names := func(ns string) []string {
		got, err := Selecting(context.Background(), c, ns)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, 0, len(got))
		for _, p := range got {
			out = append(out, p.Name)
		}
		return out
	}
	if got := names("shop"); len(got) != 2 || got[0] != "team-a" || got[1] != "z-everyone" {
		t.Errorf("shop: %v, want [team-a z-everyone] sorted by name", got)
	}
	// A namespace created in the same request as the policy is not there
	// yet; it is judged by its name label, which every namespace carries.
	if got := names("new"); len(got) != 2 || got[0] != "new-only" || got[1] != "z-everyone" {
		t.Errorf("new: %v, want [new-only z-everyone]", got)
	}
}

func TestSelectingWithoutClusterPolicies(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := kubecorsv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	got, err := Selecting(context.Background(), fake.NewClientBuilder().WithScheme(scheme).Build(), "shop")
	if err != nil || got != nil {
		t.Errorf("Selecting = %v, %v; want nothing, and no namespace read", got, err)
	}
}
