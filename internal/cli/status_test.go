package cli

import (
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// testStatus lists the fixture's policies (see TestCluster): programmed,
// conflicted, and rejected by a cluster-wide policy.
func testStatus(t *testing.T, kubeconfig string) {
	kc := []string{"--kubeconfig", kubeconfig}
	tests := []struct {
		golden   string
		args     []string
		wantExit int
	}{
		{"all", []string{"status"}, ExitOK},
		{"one-yaml", []string{"status", "-n", "demo", "api-dup", "-o", "yaml"}, ExitOK},
		{"empty-namespace", []string{"status", "-n", "quiet"}, ExitOK},
		{"bad-output", []string{"status", "-o", "wide"}, ExitUsage},
		{"target-virtualservice", []string{"status", "-n", "demo", "--target", "virtualservice/mesh"}, ExitOK},
		{"target-httpproxy-computed", []string{"status", "-n", "demo", "--target", "httpproxy/edge"}, ExitOK},
		{"target-unknown-kind", []string{"status", "-n", "demo", "--target", "service/mesh"}, ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, code := runCLI(t, append(tt.args, kc...))
			if code != tt.wantExit {
				t.Errorf("exit status %d, want %d\n%s", code, tt.wantExit, got)
			}
			checkGolden(t, filepath.Join("testdata", "status", tt.golden+".golden"), got)
		})
	}
}

// TestStatusView checks how conditions are summarised, stale ones included.
func TestStatusView(t *testing.T) {
	p := &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api", Generation: 3},
		Status: kubecorsv1alpha1.CorsPolicyStatus{
			Conditions: []metav1.Condition{
				{Type: kubecorsv1alpha1.ConditionAccepted, Status: metav1.ConditionTrue, Reason: kubecorsv1alpha1.ReasonAccepted, ObservedGeneration: 2},
				{Type: kubecorsv1alpha1.ConditionProgrammed, Status: metav1.ConditionFalse, Reason: kubecorsv1alpha1.ReasonPartiallyProgrammed, ObservedGeneration: 3},
			},
			Targets: []kubecorsv1alpha1.TargetStatus{
				{TargetRef: kubecorsv1alpha1.PolicyTargetReference{Kind: "Ingress", Name: "a"}, DataPlane: "traefik"},
				{TargetRef: kubecorsv1alpha1.PolicyTargetReference{Kind: "Ingress", Name: "b"}, DataPlane: "ingress-nginx"},
				{TargetRef: kubecorsv1alpha1.PolicyTargetReference{Kind: "Ingress", Name: "c"}, DataPlane: "traefik"},
			},
		},
	}
	v := statusView(p)
	if got := shortCondition(v.Accepted); got != "True stale" {
		t.Errorf("accepted %q, want %q", got, "True stale")
	}
	if got := shortCondition(v.Programmed); got != "False (PartiallyProgrammed)" {
		t.Errorf("programmed %q", got)
	}
	if !v.Unobserved || len(v.DataPlanes) != 2 || v.DataPlanes[0] != "ingress-nginx" {
		t.Errorf("view %+v", v)
	}
}
