package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestStatusShowsVerification: the VERIFIED column appears with
// verification, and each verified target says when, where and what.
func TestStatusShowsVerification(t *testing.T) {
	at := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	statusNow = func() time.Time { return at.Add(3 * time.Minute) }
	t.Cleanup(func() { statusNow = time.Now })
	p := &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api", Generation: 1},
		Status: kubecorsv1alpha1.CorsPolicyStatus{
			ProgrammedTargets: "1/1", VerifiedTargets: "0/1",
			Targets: []kubecorsv1alpha1.TargetStatus{{
				TargetRef: kubecorsv1alpha1.PolicyTargetReference{Kind: "Ingress", Name: "web"}, DataPlane: "traefik",
				Conditions: []metav1.Condition{
					{Type: kubecorsv1alpha1.ConditionProgrammed, Status: metav1.ConditionTrue, Reason: kubecorsv1alpha1.ReasonProgrammed, ObservedGeneration: 1},
					{Type: kubecorsv1alpha1.ConditionVerified, Status: metav1.ConditionFalse, Reason: kubecorsv1alpha1.ReasonDuplicateAllowOrigin,
						Message: "duplicate-allow-origin: seen twice", ObservedGeneration: 1},
				},
				Verification: &kubecorsv1alpha1.TargetVerification{ObservedAt: metav1.NewTime(at), URL: "http://api.example.com/", Address: "10.0.0.1:80",
					Diagnosis: "duplicate-allow-origin"},
			}},
		},
	}
	var b strings.Builder
	if err := printStatus(&b, outputTable, []policyStatusView{statusView(p)}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"VERIFIED", "0/1",
		"Verified=False (DuplicateAllowOrigin)",
		"verified on the wire 3m ago at http://api.example.com/ via 10.0.0.1:80: duplicate-allow-origin: seen twice"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status does not show %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	p.Status.VerifiedTargets = ""
	p.Status.Targets[0].Verification = nil
	if err := printStatus(&b, outputTable, []policyStatusView{statusView(p)}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "VERIFIED") || strings.Contains(b.String(), "on the wire") {
		t.Errorf("status shows verification though there is none:\n%s", b.String())
	}
}
