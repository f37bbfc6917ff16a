package controllers

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

// freezeMiddlewareList refuses, in namespace ns, every Ingress update that
// changes Traefik's router.middlewares and lets every other update through:
// the window between kubecors's two writes on a Traefik Ingress (its
// annotations, then the shared list), held open, as a manager killed
// between them leaves it.
func freezeMiddlewareList(ns string) func() {
	name := "freeze-list-" + ns
	current := fmt.Sprintf(`(%q in object.metadata.annotations ? object.metadata.annotations[%q] : "")`, traefik.MiddlewaresAnnotation, traefik.MiddlewaresAnnotation)
	previous := fmt.Sprintf(`(%q in oldObject.metadata.annotations ? oldObject.metadata.annotations[%q] : "")`, traefik.MiddlewaresAnnotation, traefik.MiddlewaresAnnotation)
	vap := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: new(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"networking.k8s.io"}, APIVersions: []string{"v1"}, Resources: []string{"ingresses"}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{Expression: current + " == " + previous, Message: "router.middlewares is frozen"}},
		},
	}
	Expect(k8sClient.Create(ctx, vap)).To(Succeed())
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
			},
		},
	}
	Expect(k8sClient.Create(ctx, binding)).To(Succeed())
	// The API server loads the binding a moment later: wait until a
	// dry-run change of the list is refused.
	Eventually(func() error {
		probe := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:"probe"}}}`, traefik.MiddlewaresAnnotation)
		return k8sClient.Patch(ctx, probe, client.RawPatch(types.MergePatchType, patch), client.DryRunAll)
	}).Should(MatchError(ContainSubstring("router.middlewares is frozen")))
	return func() {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, binding))).To(Succeed())
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, vap))).To(Succeed())
	}
}

// The fault suite (test/faults) found this: a manager killed after
// recording its new middleware reference but before replacing the old one
// in router.middlewares left the old reference there for good, since the
// record no longer named it.
var _ = Describe("A Traefik Ingress handed from one policy to another", func() {
	It("keeps the old middleware reference recorded until the list no longer holds it, so that nothing is left behind", func() {
		ns := newNamespace()
		ensureClass("traefik", traefik.Controller)
		user := map[string]string{traefik.MiddlewaresAnnotation: "kube-system-auth@kubernetescrd"}
		Expect(k8sClient.Create(ctx, classedIngress(ns, "web", "traefik", user))).To(Succeed())
		first := policy(ns, "first", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("web")}
		})
		Expect(k8sClient.Create(ctx, first)).To(Succeed())
		firstEntry := ns + "-" + traefik.MiddlewareName("first") + "@kubernetescrd"
		Eventually(annotationsOf(ns)).Should(HaveKeyWithValue(traefik.MiddlewaresAnnotation, "kube-system-auth@kubernetescrd,"+firstEntry))

		// The list is frozen: the hand-over can write its annotations but
		// not the list.
		lift := freezeMiddlewareList(ns)
		DeferCleanup(lift)
		updatePolicy(first, func(p *kubecorsv1alpha1.CorsPolicy) {
			p.Spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("gone")}
		})
		Expect(k8sClient.Create(ctx, policy(ns, "second", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("web")}
		}))).To(Succeed())
		Eventually(annotationsOf(ns)).Should(HaveKeyWithValue(AnnotationPolicy, "second"))
		Expect(annotationsOf(ns)(Default)).To(HaveKeyWithValue(traefik.MiddlewareList.RecordKey, ContainSubstring(firstEntry)),
			"the record still names the reference the list still holds")

		// The target leaves every policy, then the freeze is lifted: the
		// cleanup must remove both references, the user's stays.
		Expect(k8sClient.Delete(ctx, &kubecorsv1alpha1.CorsPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "second"}})).To(Succeed())
		lift()
		Eventually(annotationsOf(ns)).Should(HaveKeyWithValue(traefik.MiddlewaresAnnotation, "kube-system-auth@kubernetescrd"))
		Expect(annotationsOf(ns)(Default)).NotTo(HaveKey(traefik.MiddlewareList.RecordKey))
	})
})

// The fault suite found this too: a policy that no longer governs any
// Traefik target kept its Middleware for good (only its deletion, through
// the garbage collector, removed it).
var _ = Describe("A policy's Middleware", func() {
	middlewares := func(ns string) func(Gomega) []string {
		return func(g Gomega) []string {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(middlewareGVK.GroupVersion().WithKind("MiddlewareList"))
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
			names := make([]string, 0, len(list.Items))
			for _, mw := range list.Items {
				names = append(names, mw.GetName())
			}
			return names
		}
	}

	It("is deleted once no target needs it, and with the policy; Middlewares kubecors did not create stay", func() {
		ns := newNamespace()
		ensureClass("traefik", traefik.Controller)
		own := &unstructured.Unstructured{}
		own.SetGroupVersionKind(middlewareGVK)
		own.SetNamespace(ns)
		own.SetName("auth")
		own.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "kubecors"}) // a look-alike, not controlled by a policy
		own.Object["spec"] = map[string]any{"basicAuth": map[string]any{"secret": "users"}}
		Expect(k8sClient.Create(ctx, own)).To(Succeed())
		for _, name := range []string{"web", "api"} {
			Expect(k8sClient.Create(ctx, classedIngress(ns, name, "traefik", nil))).To(Succeed())
		}
		p := policy(ns, "shop", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("web")}
		})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(middlewares(ns)).Should(ConsistOf("auth", traefik.MiddlewareName("shop")))

		// Still needed by the target that stays.
		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) {
			p.Spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("web"), ingressRef("api")}
		})
		Eventually(annotationsOf(ns)).Should(HaveKey(traefik.MiddlewaresAnnotation))
		// No Traefik target left: the Middleware goes, after the reference.
		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) {
			p.Spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("gone")}
		})
		Eventually(middlewares(ns)).Should(ConsistOf("auth"))
		Expect(annotationsOf(ns)(Default)).NotTo(HaveKey(traefik.MiddlewaresAnnotation))

		// Back, then the policy deleted: no garbage collector runs here.
		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) {
			p.Spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("web")}
		})
		Eventually(middlewares(ns)).Should(ConsistOf("auth", traefik.MiddlewareName("shop")))
		deleteAndWait(p)
		Expect(middlewares(ns)(Default)).To(ConsistOf("auth"))
	})
})
