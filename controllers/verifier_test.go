package controllers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"golang.org/x/time/rate"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/verify"
)

// Wire behaviours of the loopback data plane of the verifier's tests.
const (
	wireAsPromised int32 = iota
	wireDuplicateAllowOrigin
)

// loopbackDataPlane answers as a data plane carrying policy()'s default
// (https://app.example.com with credentials) would, or with a backend
// that adds its own Access-Control-Allow-Origin.
func loopbackDataPlane(mode *atomic.Int32) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin == "https://app.example.com" {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Vary", "Origin")
		}
		if mode.Load() == wireDuplicateAllowOrigin && r.Method == http.MethodGet {
			w.Header().Add("Access-Control-Allow-Origin", "https://app.example.com")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}

// verifiedCondition reads the Verified condition of the target "web".
func verifiedCondition(p *kubecorsv1alpha1.CorsPolicy) func(Gomega) *metav1.Condition {
	return func(g Gomega) *metav1.Condition {
		for _, t := range statusOf(p)(g).Targets {
			if t.TargetRef.Name == "web" {
				return meta.FindStatusCondition(t.Conditions, kubecorsv1alpha1.ConditionVerified)
			}
		}
		return nil
	}
}

// bumpingReader reads a policy, then, once, has another writer (standing
// for the reconciler) change its status before returning the now stale
// copy, so that the verifier's optimistic write meets a conflict.
type bumpingReader struct {
	client.Reader
	bumped atomic.Bool
}

func (b *bumpingReader) Get(c2 context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := b.Reader.Get(c2, key, obj, opts...); err != nil {
		return err
	}
	if b.bumped.CompareAndSwap(false, true) {
		fresh := &kubecorsv1alpha1.CorsPolicy{}
		Expect(k8sClient.Get(ctx, key, fresh)).To(Succeed())
		fresh.Status.UnlistedTargets = 7
		Expect(k8sClient.Status().Update(ctx, fresh)).To(Succeed())
	}
	return nil
}

var _ = Describe("Verifying targets on the wire", func() {
	It("sets Verified per target, keeps it through the reconciler's writes, and diagnoses, Unknowns and turns off", func() {
		var mode atomic.Int32
		server := loopbackDataPlane(&mode)
		defer server.Close()
		address := strings.TrimPrefix(server.URL, "http://")

		ns := newNamespace()
		ing := ingress(ns, "web", nil)
		ing.Annotations = map[string]string{AnnotationVerifyAddress: address}
		ing.Spec.Rules = []networkingv1.IngressRule{{Host: "api.example.com", IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/items", PathType: new(networkingv1.PathTypePrefix),
				Backend: *ing.Spec.DefaultBackend}}}}}}
		Expect(k8sClient.Create(ctx, ing)).To(Succeed())
		p := policy(ns, "wire", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("web")}
		})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(targetCondition(p, "web")).Should(HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed))

		renderers, err := registry.NewRegistry(nil)
		Expect(err).NotTo(HaveOccurred())
		recorder := events.NewFakeRecorder(32)
		reader := &bumpingReader{Reader: k8sClient}
		v := &Verifier{
			Client: k8sClient, APIReader: reader, Recorder: recorder,
			Reconciler: &CorsPolicyReconciler{Client: k8sClient, Renderers: renderers},
			Sender:     verify.NewSender(nil, verify.Limits{PerDataPlane: rate.Inf, PerTarget: rate.Inf}, 2*time.Second),
			Interval:   time.Hour,
		}
		v.init()
		key := client.ObjectKeyFromObject(p)

		By("a data plane answering as promised makes the target Verified=True, through a write that met a conflict")
		next, retry, err := v.verifyPolicy(ctx, key)
		Expect(err).NotTo(HaveOccurred())
		Expect(retry).To(BeFalse())
		Expect(next).To(BeNumerically(">=", time.Hour))
		Expect(reader.bumped.Load()).To(BeTrue(), "the conflicting write happened")
		s := statusOf(p)(Default)
		Expect(s.UnlistedTargets).To(Equal(int32(7)), "the other writer's change is kept")
		Expect(verifiedCondition(p)(Default)).To(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", kubecorsv1alpha1.ReasonVerified),
			HaveField("Message", ContainSubstring("Access-Control-Allow-Origin: https://app.example.com"))))
		Expect(s.Targets[0].Verification).To(And(Not(BeNil()), HaveField("Address", address), HaveField("URL", "http://api.example.com/items")))
		Expect(s.TargetCounts.Verified).To(Equal(int32(1)))
		Expect(s.VerifiedTargets).To(Equal("1/1"))
		Expect(recorder.Events).To(Receive(ContainSubstring("Normal Verified all 1 targets answer")))

		By("a round with nothing changed and not due sends nothing")
		next, _, err = v.verifyPolicy(ctx, key)
		Expect(err).NotTo(HaveOccurred())
		Expect(next).To(BeNumerically("<=", time.Hour+6*time.Minute+time.Second))

		By("the reconciler's own status writes keep the verifier's condition and counts")
		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) { p.Spec.MaxAge = new(int32(60)) })
		Eventually(func(g Gomega) int64 {
			return targetCondition(p, "web")(g).ObservedGeneration
		}).Should(Equal(p.Generation))
		Expect(verifiedCondition(p)(Default)).To(HaveField("Status", metav1.ConditionTrue))
		Expect(statusOf(p)(Default).VerifiedTargets).To(Equal("1/1"))

		By("a backend adding its own Access-Control-Allow-Origin: False, duplicate-allow-origin, with a Warning event")
		mode.Store(wireDuplicateAllowOrigin)
		_, _, err = v.verifyPolicy(ctx, key) // the policy changed: due at once
		Expect(err).NotTo(HaveOccurred())
		Expect(verifiedCondition(p)(Default)).To(And(HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", kubecorsv1alpha1.ReasonDuplicateAllowOrigin), HaveField("ObservedGeneration", p.Generation),
			HaveField("Message", ContainSubstring("Access-Control-Allow-Origin: https://app.example.com; Access-Control-Allow-Origin: https://app.example.com"))))
		s = statusOf(p)(Default)
		Expect(s.Targets[0].Verification.Diagnosis).To(Equal(verify.ClassDuplicateAllowOrigin))
		Expect(s.VerifiedTargets).To(Equal("0/1"))
		Expect(s.TargetCounts.VerificationFailed).To(Equal(int32(1)))
		Expect(recorder.Events).To(Receive(ContainSubstring("Warning DuplicateAllowOrigin Ingress web: duplicate-allow-origin")))

		By("a data plane that does not answer: Unknown, never False, and a retry with backoff")
		server.Close()
		v.forget(key)
		next, retry, err = v.verifyPolicy(ctx, key)
		Expect(err).NotTo(HaveOccurred())
		Expect(retry).To(BeTrue())
		Expect(next).To(BeNumerically("~", firstVerifyRetry, firstVerifyRetry/10+time.Second), "the first retry comes after the backoff's first step")
		Expect(verifiedCondition(p)(Default)).To(And(HaveField("Status", metav1.ConditionUnknown),
			HaveField("Reason", kubecorsv1alpha1.ReasonUnreachable), HaveField("Message", ContainSubstring("cannot reach "+address))))
		Expect(statusOf(p)(Default).TargetCounts.VerificationUnknown).To(Equal(int32(1)))

		By("spec.verification.mode Disabled removes every trace of verification")
		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) {
			p.Spec.Verification = &kubecorsv1alpha1.VerificationSpec{Mode: kubecorsv1alpha1.VerificationDisabled}
		})
		_, _, err = v.verifyPolicy(ctx, key)
		Expect(err).NotTo(HaveOccurred())
		Expect(verifiedCondition(p)(Default)).To(BeNil())
		s = statusOf(p)(Default)
		Expect(s.VerifiedTargets).To(BeEmpty())
		Expect(s.Targets[0].Verification).To(BeNil())
	})

	It("reports NoAddress as Unknown when no address of the data plane is known, a batch of targets at a time", func() {
		ns := newNamespace()
		for _, name := range []string{"web", "web-2", "web-3"} {
			Expect(k8sClient.Create(ctx, ingress(ns, name, nil))).To(Succeed())
		}
		p := policy(ns, "nowhere", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("web"), ingressRef("web-2"), ingressRef("web-3")}
		})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(func(g Gomega) string { return statusOf(p)(g).ProgrammedTargets }).Should(Equal("3/3"))
		renderers, err := registry.NewRegistry(nil)
		Expect(err).NotTo(HaveOccurred())
		v := &Verifier{Client: k8sClient, APIReader: k8sClient, Recorder: events.NewFakeRecorder(8),
			Reconciler: &CorsPolicyReconciler{Client: k8sClient, Renderers: renderers},
			Sender:     verify.NewSender(nil, verify.Limits{PerDataPlane: rate.Inf, PerTarget: rate.Inf}, time.Second), BatchSize: 2}
		v.init()
		By("the first batch: two targets, and the next batch soon")
		next, retry, err := v.verifyPolicy(ctx, client.ObjectKeyFromObject(p))
		Expect(err).NotTo(HaveOccurred())
		Expect(retry).To(BeFalse(), "a pass in progress goes on without backoff")
		Expect(next).To(Equal(nextBatchDelay))
		Expect(statusOf(p)(Default).TargetCounts.VerificationUnknown).To(Equal(int32(2)))
		Expect(statusOf(p)(Default).VerifiedTargets).To(Equal("0/3"))
		By("the second batch ends the pass: all three; no address is configuration, not an outage, so no retry before the interval")
		next, retry, err = v.verifyPolicy(ctx, client.ObjectKeyFromObject(p))
		Expect(err).NotTo(HaveOccurred())
		Expect(retry).To(BeFalse(), "a missing address is not retried every few seconds: that would only rewrite the same status")
		Expect(next).To(BeNumerically(">", firstVerifyRetry*2))
		Expect(statusOf(p)(Default).TargetCounts.VerificationUnknown).To(Equal(int32(3)))
		Expect(verifiedCondition(p)(Default)).To(And(HaveField("Status", metav1.ConditionUnknown),
			HaveField("Reason", kubecorsv1alpha1.ReasonNoAddress), HaveField("Message", ContainSubstring(AnnotationVerifyAddress))))
	})
})
