package controllers

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// clusterPolicy creates a ClusterCorsPolicy selecting the namespaces
// labelled scope=<scope>, so that tests do not see each other's rules, and
// removes it when the test ends.
func clusterPolicy(name, scope string, mode kubecorsv1alpha1.ClusterPolicyMode, rules kubecorsv1alpha1.ClusterCorsRules) *kubecorsv1alpha1.ClusterCorsPolicy {
	ccp := &kubecorsv1alpha1.ClusterCorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: kubecorsv1alpha1.ClusterCorsPolicySpec{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"scope": scope}},
			Mode:              mode,
			Rules:             rules,
		},
	}
	Expect(k8sClient.Create(ctx, ccp)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, ccp))).To(Succeed()) })
	return ccp
}

func labelNamespace(ns string, labels map[string]string) {
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj := &corev1.Namespace{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: ns}, obj); err != nil {
			return err
		}
		obj.Labels = labels
		return k8sClient.Update(ctx, obj)
	})).To(Succeed())
}

func acceptedCondition(p *kubecorsv1alpha1.CorsPolicy) func(Gomega) metav1.Condition {
	return func(g Gomega) metav1.Condition {
		if c := meta.FindStatusCondition(statusOf(p)(g).Conditions, kubecorsv1alpha1.ConditionAccepted); c != nil {
			return *c
		}
		return metav1.Condition{}
	}
}

func clusterStatus(ccp *kubecorsv1alpha1.ClusterCorsPolicy) func(Gomega) kubecorsv1alpha1.ClusterCorsPolicyStatus {
	return func(g Gomega) kubecorsv1alpha1.ClusterCorsPolicyStatus {
		got := &kubecorsv1alpha1.ClusterCorsPolicy{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ccp), got)).To(Succeed())
		return got.Status
	}
}

var _ = Describe("ClusterCorsPolicies", func() {
	BeforeEach(func() { ensureClass("nginx", "k8s.io/ingress-nginx") })

	It("stops programming existing violators when a rule is tightened, and programs them again when it is loosened", func() {
		ns := newNamespace()
		labelNamespace(ns, map[string]string{"scope": ns})
		Expect(k8sClient.Create(ctx, classedIngress(ns, "web", "nginx", map[string]string{"team": "a"}))).To(Succeed())
		p := richPolicy(ns, "old") // https://app.example.com, https://*.example.com, http://localhost:3000, credentials
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(annotationsOf(ns)).Should(HaveKey(nginxPrefix + "cors-allow-origin"))

		ccp := clusterPolicy("corp-only-"+ns, ns, kubecorsv1alpha1.ModeEnforce, kubecorsv1alpha1.ClusterCorsRules{
			AllowedOrigins: []kubecorsv1alpha1.Origin{"https://*.corp.example.com"},
		})
		Eventually(acceptedCondition(p)).Should(SatisfyAll(
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", kubecorsv1alpha1.ReasonClusterPolicyViolation),
			HaveField("Message", ContainSubstring(`ClusterCorsPolicy "corp-only-`+ns+`" rules.allowedOrigins`)),
		))
		Eventually(annotationsOf(ns)).Should(Equal(map[string]string{"team": "a"}), "what kubecors wrote is removed")
		Eventually(clusterStatus(ccp)).Should(SatisfyAll(
			HaveField("Namespaces", int32(1)), HaveField("CorsPolicies", int32(1)), HaveField("Violations", int32(1)),
			HaveField("Violators", ConsistOf(SatisfyAll(HaveField("Name", "old"), HaveField("Rule", "rules.allowedOrigins")))),
		))

		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ccp), ccp); err != nil {
				return err
			}
			ccp.Spec.Rules.AllowedOrigins = []kubecorsv1alpha1.Origin{"https://*.example.com", "https://app.example.com", "http://localhost:*"}
			return k8sClient.Update(ctx, ccp)
		})).To(Succeed())
		Eventually(acceptedCondition(p)).Should(HaveField("Reason", kubecorsv1alpha1.ReasonAccepted))
		Eventually(annotationsOf(ns)).Should(HaveKey(nginxPrefix + "cors-allow-origin"))
		Eventually(clusterStatus(ccp)).Should(HaveField("Violations", int32(0)))
	})

	It("only reports in Audit mode, and applies every ClusterCorsPolicy that selects a namespace", func() {
		ns := newNamespace()
		labelNamespace(ns, map[string]string{"scope": ns})
		Expect(k8sClient.Create(ctx, classedIngress(ns, "web", "nginx", nil))).To(Succeed())
		clusterPolicy("no-credentials-"+ns, ns, kubecorsv1alpha1.ModeAudit, kubecorsv1alpha1.ClusterCorsRules{ForbidCredentials: true})
		clusterPolicy("short-cache-"+ns, ns, kubecorsv1alpha1.ModeAudit, kubecorsv1alpha1.ClusterCorsRules{MaxMaxAge: new(int32(60))})
		p := richPolicy(ns, "audited") // credentials, maxAge 600
		Expect(k8sClient.Create(ctx, p)).To(Succeed())

		Eventually(acceptedCondition(p)).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonClusterPolicyViolation),
			HaveField("Message", ContainSubstring(`ClusterCorsPolicy "no-credentials-`+ns+`" rules.forbidCredentials`)),
			HaveField("Message", ContainSubstring(`ClusterCorsPolicy "short-cache-`+ns+`" rules.maxMaxAge`)),
			HaveField("Message", ContainSubstring("audit: still programmed")),
		))
		Eventually(targetCondition(p, "web")).Should(HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed))
		Expect(annotationsOf(ns)(Default)).To(HaveKey(nginxPrefix + "cors-allow-credentials"))
	})

	It("re-judges policies when their namespace is relabelled into or out of scope", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, classedIngress(ns, "web", "nginx", nil))).To(Succeed())
		clusterPolicy("https-only-"+ns, ns, kubecorsv1alpha1.ModeEnforce, kubecorsv1alpha1.ClusterCorsRules{
			RequireHTTPS: true, ForbidLoopback: true,
		})
		p := richPolicy(ns, "moving") // has http://localhost:3000
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(targetCondition(p, "web")).Should(HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed))

		labelNamespace(ns, map[string]string{"scope": ns})
		Eventually(acceptedCondition(p)).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonClusterPolicyViolation),
			HaveField("Message", ContainSubstring("rules.forbidLoopback")),
		))
		Eventually(annotationsOf(ns)).ShouldNot(HaveKey(nginxPrefix + "cors-allow-origin"))

		labelNamespace(ns, nil)
		Eventually(acceptedCondition(p)).Should(HaveField("Reason", kubecorsv1alpha1.ReasonAccepted))
		Eventually(annotationsOf(ns)).Should(HaveKey(nginxPrefix + "cors-allow-origin"))
	})

	It("applies a defaultPolicy to Ingresses no policy of their namespace targets, with the namespace's own policy first", func() {
		ns := newNamespace()
		labelNamespace(ns, map[string]string{"scope": ns})
		lone := classedIngress(ns, "lone", "nginx", nil)
		lone.Labels = map[string]string{"cors": "default"}
		Expect(k8sClient.Create(ctx, lone)).To(Succeed())
		web := classedIngress(ns, "web", "nginx", nil)
		web.Labels = map[string]string{"cors": "default"}
		Expect(k8sClient.Create(ctx, web)).To(Succeed())
		own := richPolicy(ns, "own") // targets "web"
		Expect(k8sClient.Create(ctx, own)).To(Succeed())
		Eventually(annotationsOf(ns)).Should(HaveKeyWithValue(AnnotationPolicy, "own"))

		ccp := &kubecorsv1alpha1.ClusterCorsPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "defaults-" + ns},
			Spec: kubecorsv1alpha1.ClusterCorsPolicySpec{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"scope": ns}},
				DefaultPolicy: &kubecorsv1alpha1.CorsPolicySpec{
					TargetSelector:   &metav1.LabelSelector{MatchLabels: map[string]string{"cors": "default"}},
					AllowOrigins:     []kubecorsv1alpha1.Origin{"https://default.example.com"},
					AllowCredentials: new(false),
					MaxAge:           new(int32(60)),
				},
			},
		}
		Expect(k8sClient.Create(ctx, ccp)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, ccp))).To(Succeed()) })

		loneAnnotations := func(g Gomega) map[string]string {
			ing := &networkingv1.Ingress{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "lone"}, ing)).To(Succeed())
			return ing.Annotations
		}
		Eventually(loneAnnotations).Should(SatisfyAll(
			HaveKeyWithValue(AnnotationPolicy, defaultName(ccp.Name)),
			HaveKeyWithValue(nginxPrefix+"cors-allow-origin", "https://default.example.com"),
		))
		def := &kubecorsv1alpha1.CorsPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: defaultName(ccp.Name)}}
		Eventually(statusOf(def)).Should(SatisfyAll(
			HaveField("ProgrammedTargets", "1/1"),
			HaveField("Targets", ConsistOf(HaveField("TargetRef.Name", "lone"))),
		), "the Ingress the namespace's own policy governs is not the default's")
		Consistently(annotationsOf(ns), "1s").Should(HaveKeyWithValue(AnnotationPolicy, "own"))

		By("moving the namespace out of the selection")
		labelNamespace(ns, nil)
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(def), &kubecorsv1alpha1.CorsPolicy{}))
		}).Should(BeTrue())
		Eventually(loneAnnotations).ShouldNot(HaveKey(AnnotationPolicy))
	})
})
