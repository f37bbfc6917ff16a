package controllers

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// scaleTargets is how many Ingresses the scale test selects: 10,000 unless
// KUBECORS_SCALE_TARGETS says otherwise.
func scaleTargets() int {
	if n, err := strconv.Atoi(os.Getenv("KUBECORS_SCALE_TARGETS")); err == nil && n > 0 {
		return n
	}
	return 10000
}

var _ = Describe("A selector policy over thousands of targets", Label("scale"), func() {
	It("programs every target and writes a bounded status the API server accepts", func() {
		n := scaleTargets()
		ns := newNamespace()
		// An unthrottled client, so that creating the Ingresses is not what
		// the test measures.
		cfg := rest.CopyConfig(testEnv.Config)
		cfg.QPS, cfg.Burst = -1, 0
		fast, err := client.New(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		work := make(chan int)
		for range 16 {
			wg.Go(func() {
				for i := range work {
					errs <- fast.Create(ctx, ingress(ns, fmt.Sprintf("web-%05d", i), map[string]string{"tenant": "big"}))
				}
			})
		}
		for i := range n {
			work <- i
		}
		close(work)
		wg.Wait()
		close(errs)
		for err := range errs {
			Expect(err).NotTo(HaveOccurred())
		}
		GinkgoWriter.Printf("created %d Ingresses in %s\n", n, time.Since(start))

		start = time.Now()
		p := policy(ns, "tenant", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tenant": "big"}}
		})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		want := fmt.Sprintf("%d/%d", n, n)
		Eventually(statusOf(p), "15m", "2s").Should(HaveField("ProgrammedTargets", want))
		GinkgoWriter.Printf("programmed %d targets in %s\n", n, time.Since(start))

		s := statusOf(p)(Default)
		Expect(s.TargetCounts).NotTo(BeNil())
		Expect(*s.TargetCounts).To(Equal(kubecorsv1alpha1.TargetCounts{Total: int32(n), Programmed: int32(n)}))
		Expect(s.Targets).To(HaveLen(min(n, kubecorsv1alpha1.MaxListedTargets)))
		Expect(s.UnlistedTargets).To(BeEquivalentTo(n - len(s.Targets)))
		Expect(conditionReason(s, kubecorsv1alpha1.ConditionProgrammed)).To(Equal(kubecorsv1alpha1.ReasonProgrammed))

		// kubectl cors status answers for a target the status does not list.
		listed := map[string]bool{}
		for _, t := range s.Targets {
			listed[t.TargetRef.Name] = true
		}
		unlisted := fmt.Sprintf("web-%05d", n-1)
		Expect(listed).NotTo(HaveKey(unlisted))
		var answer struct {
			Policy, Source, Reason, DataPlane string
			Written                           bool
		}
		runCLI(suiteKubeconfig(), &answer, "status", "-n", ns, "--target", "ingress/"+unlisted, "-o", "json")
		Expect(answer.Policy).To(Equal(ns + "/tenant"))
		Expect(answer.Source).To(Equal("computed"))
		Expect(answer.Reason).To(Equal(kubecorsv1alpha1.ReasonProgrammed))
		Expect(answer.DataPlane).To(Equal("ingress-nginx"))
		Expect(answer.Written).To(BeTrue())

		// Every Ingress carries the configuration, the last one included.
		list := &networkingv1.IngressList{}
		Expect(fast.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		Expect(list.Items).To(HaveLen(n))
		for _, ing := range list.Items {
			Expect(ing.Annotations).To(HaveKeyWithValue(AnnotationPolicy, "tenant"), "Ingress %s", ing.Name)
		}
	})
})
