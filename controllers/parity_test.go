package controllers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/cli"
)

// ruleIDConflict is kubectl cors audit's conflicting-policies rule.
const ruleIDConflict = "KCORS008"

// suiteKubeconfig writes, once, a kubeconfig of an administrator of the
// suite's API server, for kubectl cors.
var suiteKubeconfig = sync.OnceValue(func() string {
	user, err := testEnv.AddUser(envtest.User{Name: "kubectl-cors", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	data, err := user.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	kubeconfig := filepath.Join(suiteDir, "kubeconfig")
	Expect(os.WriteFile(kubeconfig, data, 0o600)).To(Succeed())
	return kubeconfig
})

// runCLI runs kubectl cors with args against the suite's API server and
// decodes its JSON output into out.
func runCLI(kubeconfig string, out any, args ...string) {
	streams, _, stdout, stderr := genericiooptions.NewTestIOStreams()
	cmd := cli.NewRootCommand(streams)
	cmd.SetArgs(append(args, "--kubeconfig", kubeconfig))
	err := cmd.Execute()
	Expect(cli.ExitCode(err)).To(BeZero(), "kubectl cors %v: %v\n%s", args, err, stderr)
	Expect(json.Unmarshal(stdout.Bytes(), out)).To(Succeed(), "kubectl cors %v printed %s", args, stdout)
}

// The controller and kubectl cors must never contradict each other: both
// ask internal/resolve which policy governs a target and through which
// data plane. This feeds the same objects to both paths and compares.
var _ = Describe("The controller and kubectl cors", func() {
	It("name the same governing policy and data plane for every target, and audit flags exactly the contested ones", func() {
		ns := newNamespace()
		ensureClass("in-house", "example.com/in-house")
		web := map[string]string{"app": "web"}
		for _, ing := range []*networkingv1.Ingress{
			ingress(ns, "shared", web), ingress(ns, "own", nil), ingress(ns, "lonely", web),
			classedIngress(ns, "mapped", "in-house", nil),
		} {
			Expect(k8sClient.Create(ctx, ing)).To(Succeed())
		}
		baseline := policy(ns, "kubecors-default-baseline", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetSelector = &metav1.LabelSelector{MatchLabels: web}
			s.AllowCredentials = nil
		})
		baseline.Labels = map[string]string{LabelDefaultOf: "baseline"}
		old := policy(ns, "old", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("shared"), ingressRef("mapped")}
			s.DataPlaneMappings = []kubecorsv1alpha1.DataPlaneMapping{{ControllerName: "example.com/in-house", DataPlane: "haproxy-ingress"}}
		})
		young := policy(ns, "young", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("shared"), ingressRef("own")}
		})
		for _, p := range []*kubecorsv1alpha1.CorsPolicy{baseline, old, young} {
			Expect(k8sClient.Create(ctx, p)).To(Succeed())
			time.Sleep(1100 * time.Millisecond) // creation times are in seconds: make the order unambiguous
		}

		// The controller's answers, from the policies' status.
		governs := map[string]string{} // Ingress -> policy that programmed it
		dataPlanes := map[string]string{}
		conflicted := map[string]bool{}
		Eventually(func(g Gomega) {
			clear(governs)
			clear(dataPlanes)
			clear(conflicted)
			for _, p := range []*kubecorsv1alpha1.CorsPolicy{baseline, old, young} {
				s := statusOf(p)(g)
				for _, ts := range s.Targets {
					switch reason := targetReasons(kubecorsv1alpha1.CorsPolicyStatus{Targets: []kubecorsv1alpha1.TargetStatus{ts}})["Ingress/"+ts.TargetRef.Name]; reason {
					case kubecorsv1alpha1.ReasonProgrammed:
						governs[ts.TargetRef.Name], dataPlanes[ts.TargetRef.Name] = p.Name, ts.DataPlane
					case kubecorsv1alpha1.ReasonConflicted:
						conflicted[ts.TargetRef.Name] = true
					}
				}
			}
			g.Expect(governs).To(Equal(map[string]string{
				"shared": "old", "mapped": "old", "own": "young", "lonely": "kubecors-default-baseline"}))
		}).Should(Succeed())
		Expect(dataPlanes).To(HaveKeyWithValue("mapped", "haproxy-ingress"))
		Expect(conflicted).To(Equal(map[string]bool{"shared": true}))
		// Each target carries the governing policy's marker.
		for name, p := range governs {
			Eventually(func(g Gomega) map[string]string {
				ing := &networkingv1.Ingress{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ing)).To(Succeed())
				return ing.Annotations
			}).Should(HaveKeyWithValue(AnnotationPolicy, p))
		}

		kubeconfig := suiteKubeconfig()

		// kubectl cors explain: the same policy and data plane per target.
		for name, p := range governs {
			var report struct {
				DataPlane string   `json:"dataPlane"`
				Policy    string   `json:"policy"`
				Notes     []string `json:"notes"`
			}
			runCLI(kubeconfig, &report, "explain", "ingress/"+name, "-n", ns, "--origin", "https://app.example.com", "-o", "json")
			Expect(report.Policy).To(Equal("CorsPolicy "+ns+"/"+p), "explain ingress/%s", name)
			Expect(report.DataPlane).To(Equal(dataPlanes[name]), "explain ingress/%s", name)
			for _, note := range report.Notes {
				Expect(note).NotTo(ContainSubstring("governs this Ingress"), "explain ingress/%s contradicts the controller", name)
			}
			var answer struct {
				Policy, Reason, DataPlane string
				Written                   bool
			}
			runCLI(kubeconfig, &answer, "status", "-n", ns, "--target", "ingress/"+name, "-o", "json")
			Expect(answer.Policy).To(Equal(ns+"/"+p), "status --target ingress/%s", name)
			Expect(answer.DataPlane).To(Equal(dataPlanes[name]), "status --target ingress/%s", name)
			Expect(answer.Reason).To(Equal(kubecorsv1alpha1.ReasonProgrammed), "status --target ingress/%s", name)
			Expect(answer.Written).To(BeTrue(), "status --target ingress/%s", name)
		}

		// kubectl cors audit: a conflict finding exactly where the
		// controller reports one; a default yielding to a namespace policy
		// is no conflict.
		var audit struct {
			Findings []struct {
				RuleID string `json:"ruleId"`
				Object struct {
					Kind string `json:"kind"`
					Name string `json:"name"`
				} `json:"object"`
				Message string `json:"message"`
			} `json:"findings"`
		}
		runCLI(kubeconfig, &audit, "audit", "-n", ns, "-o", "json")
		var contested []string
		for _, f := range audit.Findings {
			if f.RuleID == ruleIDConflict {
				contested = append(contested, f.Object.Name)
			}
		}
		slices.Sort(contested)
		contested = slices.Compact(contested)
		Expect(contested).To(Equal([]string{"shared"}))
	})
})
