package controllers

import (
	"maps"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

const (
	nginxPrefix   = "nginx.ingress.kubernetes.io/"
	haproxyPrefix = "haproxy-ingress.github.io/"
)

var middlewareGVK = schema.GroupVersionKind{Group: "traefik.io", Version: "v1alpha1", Kind: "Middleware"}

// richPolicy targets the Ingress "web" and has several origins (one wildcard), credentials, custom
// headers and a max age: what every renderer must carry through.
func richPolicy(ns, name string) *kubecorsv1alpha1.CorsPolicy {
	return policy(ns, name, func(s *kubecorsv1alpha1.CorsPolicySpec) {
		s.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("web")}
		s.AllowOrigins = []kubecorsv1alpha1.Origin{"https://app.example.com", "https://*.example.com", "http://localhost:3000"}
		s.AllowMethods = []kubecorsv1alpha1.HTTPMethod{"GET", "PUT", "DELETE"}
		s.AllowHeaders = []kubecorsv1alpha1.RequestHeaderName{"Authorization", "X-Request-Id"}
		s.ExposeHeaders = []kubecorsv1alpha1.ResponseHeaderName{"X-Request-Id"}
		s.AllowCredentials = new(true)
		s.MaxAge = new(int32(600))
	})
}

// classedIngress builds an Ingress of a class, with the user's own
// annotations.
func classedIngress(ns, name, class string, annotations map[string]string) *networkingv1.Ingress {
	ing := ingress(ns, name, nil)
	ing.Spec.IngressClassName = new(class)
	ing.Annotations = annotations
	return ing
}

// annotationsOf reads the annotations of the Ingress "web" of a namespace.
func annotationsOf(ns string) func(Gomega) map[string]string {
	return func(g Gomega) map[string]string {
		ing := &networkingv1.Ingress{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, ing)).To(Succeed())
		return ing.Annotations
	}
}

func targetCondition(p *kubecorsv1alpha1.CorsPolicy, name string) func(Gomega) metav1.Condition {
	return func(g Gomega) metav1.Condition {
		s := statusOf(p)(g)
		for _, t := range s.Targets {
			if t.TargetRef.Name == name {
				if c := meta.FindStatusCondition(t.Conditions, kubecorsv1alpha1.ConditionProgrammed); c != nil {
					return *c
				}
			}
		}
		return metav1.Condition{}
	}
}

// updatePolicy changes a policy, retrying when the controller wrote it in
// between.
func updatePolicy(p *kubecorsv1alpha1.CorsPolicy, mutate func(*kubecorsv1alpha1.CorsPolicy)) {
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			return err
		}
		mutate(p)
		return k8sClient.Update(ctx, p)
	})).To(Succeed())
}

// updateIngress changes an Ingress, retrying when the controller wrote it
// in between.
func updateIngress(ns, name string, mutate func(*networkingv1.Ingress)) {
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ing := &networkingv1.Ingress{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ing); err != nil {
			return err
		}
		mutate(ing)
		return k8sClient.Update(ctx, ing)
	})).To(Succeed())
}

// deleteAndWait deletes a policy and waits until its finalizer let it go.
func deleteAndWait(p *kubecorsv1alpha1.CorsPolicy) {
	Expect(k8sClient.Delete(ctx, p)).To(Succeed())
	Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), &kubecorsv1alpha1.CorsPolicy{}))
	}).Should(BeTrue())
}

var _ = Describe("Programming Ingresses", func() {
	BeforeEach(func() {
		ensureClass("nginx", "k8s.io/ingress-nginx")
		ensureClass("traefik", "traefik.io/ingress-controller")
		ensureClass("haproxy", "haproxy-ingress.github.io/controller")
		ensureClass("mystery", "example.com/mystery")
		ensureClass("nginx-fork", "example.com/nginx-fork")
	})

	DescribeTable("renders each data plane, which the API server accepts, and restores the Ingress exactly on deletion",
		func(class, dataPlane string, userAnnotations map[string]string, check func(ns string, got map[string]string)) {
			ns := newNamespace()
			Expect(k8sClient.Create(ctx, classedIngress(ns, "web", class, maps.Clone(userAnnotations)), client.FieldOwner("platform-team"))).To(Succeed())
			before := annotationsOf(ns)(Default)
			p := richPolicy(ns, "rich")
			Expect(k8sClient.Create(ctx, p)).To(Succeed())

			Eventually(targetCondition(p, "web")).Should(HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed))
			Eventually(statusOf(p)).Should(HaveField("Targets", ConsistOf(HaveField("DataPlane", dataPlane))))
			got := annotationsOf(ns)(Default)
			for k, v := range userAnnotations {
				Expect(got).To(HaveKeyWithValue(k, ContainSubstring(v)), "the user's annotation %s is kept", k)
			}
			Expect(got).To(HaveKeyWithValue(AnnotationPolicy, "rich"))
			check(ns, got)

			deleteAndWait(p)
			Expect(annotationsOf(ns)(Default)).To(Equal(before))
		},
		Entry("ingress-nginx", "nginx", "ingress-nginx", map[string]string{"team": "payments"},
			func(_ string, got map[string]string) {
				for _, key := range []string{"enable-cors", "cors-allow-origin", "cors-allow-methods", "cors-allow-headers",
					"cors-expose-headers", "cors-allow-credentials", "cors-max-age"} {
					Expect(got).To(HaveKey(nginxPrefix + key))
				}
				Expect(got).To(HaveKeyWithValue(nginxPrefix+"enable-cors", "true"))
				Expect(got).To(HaveKeyWithValue(nginxPrefix+"cors-allow-credentials", "true"))
				Expect(got).To(HaveKeyWithValue(nginxPrefix+"cors-max-age", "600"))
				Expect(got[nginxPrefix+"cors-allow-origin"]).To(ContainSubstring("https://app.example.com"))
				Expect(got[nginxPrefix+"cors-allow-headers"]).To(ContainSubstring("X-Request-Id"))
			}),
		Entry("Traefik", "traefik", "traefik", map[string]string{"traefik.ingress.kubernetes.io/router.middlewares": "kube-system-auth@kubernetescrd"},
			func(ns string, got map[string]string) {
				entries := splitList(got[traefik.MiddlewaresAnnotation])
				Expect(entries).To(HaveLen(2))
				Expect(entries[0]).To(Equal("kube-system-auth@kubernetescrd"), "the user's middleware stays first")
				mws := &unstructured.UnstructuredList{}
				mws.SetGroupVersionKind(middlewareGVK.GroupVersion().WithKind("MiddlewareList"))
				Expect(k8sClient.List(ctx, mws, client.InNamespace(ns))).To(Succeed())
				Expect(mws.Items).To(HaveLen(1))
				mw := mws.Items[0]
				Expect(entries[1]).To(Equal(ns + "-" + mw.GetName() + "@kubernetescrd"))
				Expect(mw.GetOwnerReferences()).To(ConsistOf(HaveField("Name", "rich")))
				creds, _, _ := unstructured.NestedBool(mw.Object, "spec", "headers", "accessControlAllowCredentials")
				Expect(creds).To(BeTrue())
				maxAge, _, _ := unstructured.NestedInt64(mw.Object, "spec", "headers", "accessControlMaxAge")
				Expect(maxAge).To(Equal(int64(600)))
				vary, _, _ := unstructured.NestedBool(mw.Object, "spec", "headers", "addVaryHeader")
				Expect(vary).To(BeTrue())
			}),
		Entry("HAProxy Ingress", "haproxy", "haproxy-ingress", nil,
			func(_ string, got map[string]string) {
				Expect(got).To(HaveKeyWithValue(haproxyPrefix+"cors-enable", "true"))
				Expect(got).To(HaveKeyWithValue(haproxyPrefix+"cors-allow-credentials", "true"))
				Expect(got).To(HaveKeyWithValue(haproxyPrefix+"cors-max-age", "600"))
				Expect(got[haproxyPrefix+"cors-allow-origin"]).To(ContainSubstring("https://app.example.com"))
			}),
	)

	It("reports an unknown controller instead of guessing, and honours mappings", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, classedIngress(ns, "web", "mystery", nil))).To(Succeed())
		Expect(k8sClient.Create(ctx, classedIngress(ns, "fork", "nginx-fork", nil))).To(Succeed())
		p := richPolicy(ns, "mapped")
		p.Spec.TargetRefs = append(p.Spec.TargetRefs, ingressRef("fork"))
		Expect(k8sClient.Create(ctx, p)).To(Succeed())

		Eventually(targetCondition(p, "web")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonUnsupportedDataPlane),
			HaveField("Message", ContainSubstring(`controller "example.com/mystery"`)),
		))
		Expect(annotationsOf(ns)(Default)).NotTo(HaveKey(AnnotationPolicy))
		Eventually(targetCondition(p, "fork")).Should(HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed), "the operator's mapping")

		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) {
			p.Spec.DataPlaneMappings = []kubecorsv1alpha1.DataPlaneMapping{{ControllerName: "example.com/mystery", DataPlane: "haproxy-ingress"}}
		})
		Eventually(targetCondition(p, "web")).Should(HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed))
		Expect(annotationsOf(ns)(Default)).To(HaveKeyWithValue(haproxyPrefix+"cors-enable", "true"))
	})

	It("moves the configuration when the Ingress changes class", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, classedIngress(ns, "web", "nginx", nil))).To(Succeed())
		p := richPolicy(ns, "mover")
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(annotationsOf(ns)).Should(HaveKey(nginxPrefix + "cors-allow-origin"))

		updateIngress(ns, "web", func(ing *networkingv1.Ingress) { ing.Spec.IngressClassName = new("haproxy") })
		Eventually(annotationsOf(ns)).Should(SatisfyAll(
			HaveKeyWithValue(haproxyPrefix+"cors-enable", "true"),
			Not(HaveKey(nginxPrefix+"cors-allow-origin")),
			Not(HaveKey(nginxPrefix+"enable-cors")),
		))
		Eventually(statusOf(p)).Should(HaveField("Targets", ConsistOf(HaveField("DataPlane", "haproxy-ingress"))))
	})

	It("follows policy updates", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, classedIngress(ns, "web", "nginx", nil))).To(Succeed())
		p := richPolicy(ns, "updated")
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(annotationsOf(ns)).Should(HaveKeyWithValue(nginxPrefix+"cors-allow-credentials", "true"))

		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) {
			p.Spec.AllowOrigins = []kubecorsv1alpha1.Origin{"https://new.example.com"}
			p.Spec.AllowCredentials = new(false)
		})
		Eventually(annotationsOf(ns)).Should(SatisfyAll(
			HaveKeyWithValue(nginxPrefix+"cors-allow-origin", "https://new.example.com"),
			HaveKeyWithValue(nginxPrefix+"cors-allow-credentials", "false"),
		))
	})

	It("does not overwrite a CORS annotation another writer set, unless told to take over", func() {
		ns := newNamespace()
		user := map[string]string{nginxPrefix + "cors-allow-origin": "https://legacy.example.com"}
		Expect(k8sClient.Create(ctx, classedIngress(ns, "web", "nginx", user), client.FieldOwner("platform-team"))).To(Succeed())
		p := richPolicy(ns, "polite")
		Expect(k8sClient.Create(ctx, p)).To(Succeed())

		Eventually(targetCondition(p, "web")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonConflicted),
			HaveField("Message", ContainSubstring(nginxPrefix+"cors-allow-origin")),
			HaveField("Message", ContainSubstring("platform-team")),
		))
		Expect(annotationsOf(ns)(Default)).To(Equal(user), "nothing at all was written")

		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) { p.Spec.TakeOverExistingConfiguration = true })
		Eventually(targetCondition(p, "web")).Should(HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed))
		Expect(annotationsOf(ns)(Default)[nginxPrefix+"cors-allow-origin"]).To(ContainSubstring("https://app.example.com"))
	})

	It("lets the oldest of two competing policies win, without flapping, and hands over when it goes", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, classedIngress(ns, "web", "nginx", nil))).To(Succeed())
		first := richPolicy(ns, "first")
		Expect(k8sClient.Create(ctx, first)).To(Succeed())
		Eventually(targetCondition(first, "web")).Should(HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed))
		second := richPolicy(ns, "second")
		second.Spec.AllowOrigins = []kubecorsv1alpha1.Origin{"https://second.example.com"}
		Expect(k8sClient.Create(ctx, second)).To(Succeed())

		Eventually(targetCondition(second, "web")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonConflicted),
			HaveField("Message", ContainSubstring(`CorsPolicy "first"`)),
		))
		Consistently(annotationsOf(ns), 2*time.Second).Should(HaveKeyWithValue(AnnotationPolicy, "first"))

		deleteAndWait(first)
		Eventually(targetCondition(second, "web")).Should(HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed))
		Expect(annotationsOf(ns)(Default)).To(SatisfyAll(
			HaveKeyWithValue(AnnotationPolicy, "second"),
			HaveKeyWithValue(nginxPrefix+"cors-allow-origin", "https://second.example.com"),
		))
	})

	It("removes its configuration when an Ingress stops being targeted", func() {
		ns := newNamespace()
		ing := classedIngress(ns, "web", "nginx", map[string]string{"team": "a"})
		ing.Labels = map[string]string{"cors": "on"}
		Expect(k8sClient.Create(ctx, ing)).To(Succeed())
		p := policy(ns, "by-label", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"cors": "on"}}
		})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(annotationsOf(ns)).Should(HaveKey(nginxPrefix + "cors-allow-origin"))

		updateIngress(ns, "web", func(ing *networkingv1.Ingress) { ing.Labels = nil })
		Eventually(annotationsOf(ns)).Should(Equal(map[string]string{"team": "a"}))
		Eventually(statusOf(p)).Should(HaveField("ProgrammedTargets", "0/0"))
	})

	It("finishes the cleanup of a policy deleted while the operator was down", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, classedIngress(ns, "web", "nginx", map[string]string{"team": "a"}))).To(Succeed())
		p := richPolicy(ns, "orphan")
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(annotationsOf(ns)).Should(HaveKey(nginxPrefix + "cors-allow-origin"))

		stopManager()
		Expect(k8sClient.Delete(ctx, p)).To(Succeed())
		Consistently(func() error { return k8sClient.Get(ctx, client.ObjectKeyFromObject(p), p) }, time.Second).Should(Succeed(), "the finalizer holds the policy")
		Expect(annotationsOf(ns)(Default)).To(HaveKey(nginxPrefix + "cors-allow-origin"))

		stopManager = startManager()
		Eventually(func() bool { return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), p)) }).Should(BeTrue())
		Expect(annotationsOf(ns)(Default)).To(Equal(map[string]string{"team": "a"}))
	})

	It("makes no writes in a steady state", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, classedIngress(ns, "web", "nginx", nil))).To(Succeed())
		Expect(k8sClient.Create(ctx, classedIngress(ns, "proxy", "traefik", nil))).To(Succeed())
		p := richPolicy(ns, "steady")
		p.Spec.TargetRefs = append(p.Spec.TargetRefs, ingressRef("proxy"))
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(statusOf(p)).Should(HaveField("ProgrammedTargets", "2/2"))
		// Let events and the last status write drain.
		Consistently(statusOf(p), 2*time.Second).Should(HaveField("ProgrammedTargets", "2/2"))

		managerWrites.Store(0)
		// Unrelated changes make the controller reconcile everything again.
		for _, name := range []string{"web", "proxy"} {
			updateIngress(ns, name, func(ing *networkingv1.Ingress) { ing.Labels = map[string]string{"touched": "yes"} })
		}
		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) { p.Annotations = map[string]string{"touched": "yes"} })
		Consistently(managerWrites.Load, 3*time.Second).Should(BeZero())
	})
})
