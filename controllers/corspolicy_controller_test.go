package controllers

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

var namespaceCounter int

// ensureClass creates a cluster-wide IngressClass once.
func ensureClass(name, controller string) {
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
	if err := k8sClient.Create(ctx, class); err != nil {
		Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "creating IngressClass %s: %v", name, err)
	}
}

// newNamespace creates a namespace of its own for one test.
func newNamespace() string {
	namespaceCounter++
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ctrl-%d", namespaceCounter)}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// ingress builds an Ingress of the class "nginx" (see ensureClass).
func ingress(ns, name string, labels map[string]string) *networkingv1.Ingress {
	ensureClass("nginx", "k8s.io/ingress-nginx")
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: networkingv1.IngressSpec{IngressClassName: new("nginx"), DefaultBackend: &networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: "api", Port: networkingv1.ServiceBackendPort{Number: 80}},
		}},
	}
}

func policy(ns, name string, mutate func(*kubecorsv1alpha1.CorsPolicySpec)) *kubecorsv1alpha1.CorsPolicy {
	p := &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: kubecorsv1alpha1.CorsPolicySpec{
			AllowOrigins:     []kubecorsv1alpha1.Origin{"https://app.example.com"},
			AllowCredentials: new(true),
		},
	}
	mutate(&p.Spec)
	return p
}

func ingressRef(name string) kubecorsv1alpha1.PolicyTargetReference {
	return kubecorsv1alpha1.PolicyTargetReference{Group: "networking.k8s.io", Kind: "Ingress", Name: name}
}

// statusOf reads a policy's status straight from the API server.
func statusOf(p *kubecorsv1alpha1.CorsPolicy) func(Gomega) kubecorsv1alpha1.CorsPolicyStatus {
	return func(g Gomega) kubecorsv1alpha1.CorsPolicyStatus {
		got := &kubecorsv1alpha1.CorsPolicy{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		return got.Status
	}
}

func targetReasons(s kubecorsv1alpha1.CorsPolicyStatus) map[string]string {
	out := map[string]string{}
	for _, t := range s.Targets {
		if c := meta.FindStatusCondition(t.Conditions, kubecorsv1alpha1.ConditionProgrammed); c != nil {
			out[t.TargetRef.Kind+"/"+t.TargetRef.Name] = c.Reason
		}
	}
	return out
}

func conditionReason(s kubecorsv1alpha1.CorsPolicyStatus, t string) string {
	if c := meta.FindStatusCondition(s.Conditions, t); c != nil {
		return c.Reason
	}
	return ""
}

var _ = Describe("CorsPolicy controller", func() {
	It("reports a named target that does not exist, and picks it up when it is created", func() {
		ns := newNamespace()
		p := policy(ns, "named", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("web")}
		})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())

		Eventually(statusOf(p)).Should(SatisfyAll(
			WithTransform(targetReasons, Equal(map[string]string{"Ingress/web": kubecorsv1alpha1.ReasonTargetNotFound})),
			WithTransform(func(s kubecorsv1alpha1.CorsPolicyStatus) string {
				return conditionReason(s, kubecorsv1alpha1.ConditionAccepted)
			}, Equal(kubecorsv1alpha1.ReasonAccepted)),
			WithTransform(func(s kubecorsv1alpha1.CorsPolicyStatus) string {
				return conditionReason(s, kubecorsv1alpha1.ConditionProgrammed)
			}, Equal(kubecorsv1alpha1.ReasonTargetNotFound)),
			HaveField("ProgrammedTargets", "0/1"),
		))

		Expect(k8sClient.Create(ctx, ingress(ns, "web", nil))).To(Succeed())
		Eventually(statusOf(p)).Should(WithTransform(targetReasons, Equal(map[string]string{"Ingress/web": kubecorsv1alpha1.ReasonProgrammed})))
		s := statusOf(p)(Default)
		Expect(s.Targets[0].Message).To(Equal("programmed for ingress-nginx as written"))
		Expect(s.Targets[0].DataPlane).To(Equal("ingress-nginx"))
		Expect(s.Targets[0].ControllerName).To(Equal("k8s.io/ingress-nginx"))
		Expect(meta.FindStatusCondition(s.Conditions, kubecorsv1alpha1.ConditionProgrammed).ObservedGeneration).To(Equal(int64(1)))
	})

	It("follows label selectors as Ingresses are labelled and relabelled", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, ingress(ns, "a", map[string]string{"cors": "public"}))).To(Succeed())
		Expect(k8sClient.Create(ctx, ingress(ns, "b", nil))).To(Succeed())
		p := policy(ns, "selected", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"cors": "public"}}
		})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(statusOf(p)).Should(WithTransform(targetReasons, Equal(map[string]string{"Ingress/a": kubecorsv1alpha1.ReasonProgrammed})))

		updateIngress(ns, "b", func(b *networkingv1.Ingress) { b.Labels = map[string]string{"cors": "public"} })
		Eventually(statusOf(p)).Should(WithTransform(targetReasons, HaveLen(2)))

		updateIngress(ns, "a", func(a *networkingv1.Ingress) { a.Labels = nil })
		Eventually(statusOf(p)).Should(WithTransform(targetReasons, Equal(map[string]string{"Ingress/b": kubecorsv1alpha1.ReasonProgrammed})))
	})

	It("does not pick up Ingresses of other namespaces", func() {
		ns, other := newNamespace(), newNamespace()
		Expect(k8sClient.Create(ctx, ingress(other, "web", map[string]string{"cors": "public"}))).To(Succeed())
		p := policy(ns, "local", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"cors": "public"}}
		})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(statusOf(p)).Should(SatisfyAll(
			HaveField("ProgrammedTargets", "0/0"),
			WithTransform(func(s kubecorsv1alpha1.CorsPolicyStatus) string {
				return conditionReason(s, kubecorsv1alpha1.ConditionProgrammed)
			}, Equal(kubecorsv1alpha1.ReasonNoTargets)),
		))
	})

	It("marks a stored policy that breaks a webhook-only rule as not accepted, with an event", func() {
		ns := newNamespace()
		// Without the webhook the CRD's CEL rules alone let this through,
		// as when a policy was stored before the webhook was installed.
		p := policy(ns, "stale", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("web")}
			s.AllowOrigins = []kubecorsv1alpha1.Origin{"https://*.github.io"}
		})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(statusOf(p)).Should(SatisfyAll(
			WithTransform(func(s kubecorsv1alpha1.CorsPolicyStatus) string {
				return conditionReason(s, kubecorsv1alpha1.ConditionAccepted)
			}, Equal(kubecorsv1alpha1.ReasonInvalid)),
			WithTransform(func(s kubecorsv1alpha1.CorsPolicyStatus) string {
				return conditionReason(s, kubecorsv1alpha1.ConditionProgrammed)
			}, Equal(kubecorsv1alpha1.ReasonNotAccepted)),
			HaveField("Targets", BeEmpty()),
		))
		accepted := meta.FindStatusCondition(statusOf(p)(Default).Conditions, kubecorsv1alpha1.ConditionAccepted)
		Expect(accepted.Message).To(ContainSubstring(`"https://*.github.io" matches every site under the public suffix "github.io"`))

		Eventually(func(g Gomega) []string {
			events := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, events, client.InNamespace(ns))).To(Succeed())
			var notes []string
			for _, e := range events.Items {
				if e.Regarding.Name == "stale" && e.Reason == kubecorsv1alpha1.ReasonInvalid {
					notes = append(notes, e.Note)
				}
			}
			return notes
		}, 10*time.Second).Should(ContainElement(ContainSubstring("public suffix")))
	})
})
