package controllers

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// freezeMessage is what the change-freeze admission policy answers.
const freezeMessage = "change freeze: Ingress writes are refused until the release is out"

// freezeIngresses installs a real admission refusal: a
// ValidatingAdmissionPolicy, bound to the Ingresses of one namespace that
// carry the label freeze=on, that denies every update to them. It returns
// the function that lifts the refusal by deleting the binding, which is not
// an event kubecors watches.
func freezeIngresses(ns string) func() {
	name := "freeze-" + ns
	vap := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: new(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
						Rule: admissionregistrationv1.Rule{
							APIGroups: []string{"networking.k8s.io"}, APIVersions: []string{"v1"}, Resources: []string{"ingresses"},
						},
					},
				}},
			},
			Validations: []admissionregistrationv1.Validation{{Expression: "false", Message: freezeMessage}},
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
				ObjectSelector:    &metav1.LabelSelector{MatchLabels: map[string]string{"freeze": "on"}},
			},
		},
	}
	Expect(k8sClient.Create(ctx, binding)).To(Succeed())
	return func() {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, binding))).To(Succeed())
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, vap))).To(Succeed())
	}
}

var _ = Describe("A target refused by someone else's admission control", func() {
	DescribeTable("programs every other target, reports the refusal and recovers when it is lifted",
		func(names []string, frozen string) {
			ns := newNamespace()
			for _, name := range names {
				labels := map[string]string{"app": "shop"}
				if name == frozen {
					labels["freeze"] = "on"
				}
				Expect(k8sClient.Create(ctx, ingress(ns, name, labels))).To(Succeed())
			}
			lift := freezeIngresses(ns)
			defer lift()
			// The API server applies the policy once its informer has seen
			// it: wait until a plain write to the frozen Ingress is refused.
			Eventually(func(g Gomega) {
				ing := &networkingv1.Ingress{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: frozen}, ing)).To(Succeed())
				ing.Annotations = map[string]string{"probe": "1"}
				err := k8sClient.Update(ctx, ing)
				g.Expect(apierrors.IsInvalid(err) || apierrors.IsForbidden(err)).To(BeTrue(), "update was not refused: %v", err)
			}).Should(Succeed())

			p := policy(ns, "shop", func(s *kubecorsv1alpha1.CorsPolicySpec) {
				s.TargetSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}}
			})
			Expect(k8sClient.Create(ctx, p)).To(Succeed())

			want := map[string]string{}
			for _, name := range names {
				want["Ingress/"+name] = kubecorsv1alpha1.ReasonProgrammed
			}
			want["Ingress/"+frozen] = kubecorsv1alpha1.ReasonWriteRefused
			Eventually(statusOf(p)).Should(WithTransform(targetReasons, Equal(want)))
			Expect(targetCondition(p, frozen)(Default)).To(HaveField("Message", And(
				ContainSubstring("the API server refused the write"), ContainSubstring(freezeMessage))))
			s := statusOf(p)(Default)
			Expect(s.ProgrammedTargets).To(Equal(fmt.Sprintf("%d/%d", len(names)-1, len(names))))
			Expect(s.TargetCounts).To(PointTo(MatchFields(IgnoreExtras, Fields{
				"Total": BeEquivalentTo(len(names)), "Programmed": BeEquivalentTo(len(names) - 1), "Failed": BeEquivalentTo(1),
			})))
			Expect(s.Targets[0].TargetRef.Name).To(Equal(frozen), "the refused target is listed first")
			Expect(conditionReason(s, kubecorsv1alpha1.ConditionProgrammed)).To(Equal(kubecorsv1alpha1.ReasonPartiallyProgrammed))
			for _, name := range names {
				if name == frozen {
					continue
				}
				ing := &networkingv1.Ingress{}
				Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ing)).To(Succeed())
				Expect(ing.Annotations).To(HaveKeyWithValue(nginxPrefix+"cors-allow-origin", "https://app.example.com"))
			}

			// Lifting the refusal is no event kubecors sees: the retry with
			// backoff programs the target without anyone touching the policy.
			generation := statusOf(p)(Default).Conditions[0].ObservedGeneration
			lift()
			Eventually(statusOf(p), "60s").Should(WithTransform(targetReasons, HaveKeyWithValue("Ingress/"+frozen, kubecorsv1alpha1.ReasonProgrammed)))
			ing := &networkingv1.Ingress{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: frozen}, ing)).To(Succeed())
			Expect(ing.Annotations).To(HaveKeyWithValue(nginxPrefix+"cors-allow-origin", "https://app.example.com"))
			got := &kubecorsv1alpha1.CorsPolicy{}
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
			Expect(got.Generation).To(Equal(generation), "the policy was not touched")
			Expect(got.Status.TargetCounts.Failed).To(BeZero())
		},
		Entry("refused target first", []string{"a-frozen", "b-web", "c-web"}, "a-frozen"),
		Entry("refused target in the middle", []string{"a-web", "b-frozen", "c-web"}, "b-frozen"),
		Entry("refused target last", []string{"a-web", "b-web", "c-frozen"}, "c-frozen"),
	)

	It("cleans up every other target when the policy is deleted, and finishes once the refusal is lifted", func() {
		ns := newNamespace()
		for _, name := range []string{"a-frozen", "b-web"} {
			Expect(k8sClient.Create(ctx, ingress(ns, name, map[string]string{"app": "shop"}))).To(Succeed())
		}
		p := policy(ns, "shop", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}}
		})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(statusOf(p)).Should(HaveField("ProgrammedTargets", "2/2"))

		// Freeze a-frozen only now, after it was programmed.
		Eventually(func() error {
			ing := &networkingv1.Ingress{}
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a-frozen"}, ing); err != nil {
				return err
			}
			ing.Labels["freeze"] = "on"
			return k8sClient.Update(ctx, ing)
		}).Should(Succeed())
		lift := freezeIngresses(ns)
		defer lift()
		Eventually(func(g Gomega) {
			ing := &networkingv1.Ingress{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a-frozen"}, ing)).To(Succeed())
			ing.Labels["probe"] = "1"
			err := k8sClient.Update(ctx, ing)
			g.Expect(apierrors.IsInvalid(err) || apierrors.IsForbidden(err)).To(BeTrue(), "update was not refused: %v", err)
		}).Should(Succeed())

		Expect(k8sClient.Delete(ctx, p)).To(Succeed())
		annotations := func(name string) func(Gomega) map[string]string {
			return func(g Gomega) map[string]string {
				ing := &networkingv1.Ingress{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ing)).To(Succeed())
				return ing.Annotations
			}
		}
		Eventually(annotations("b-web")).ShouldNot(HaveKey(nginxPrefix + "cors-allow-origin"))
		Consistently(annotations("a-frozen"), "2s").Should(HaveKey(nginxPrefix+"cors-allow-origin"), "a refused cleanup leaves the target as it was")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), &kubecorsv1alpha1.CorsPolicy{})).To(Succeed(), "the finalizer holds the policy until every target is clean")

		lift()
		Eventually(annotations("a-frozen"), "60s").ShouldNot(HaveKey(nginxPrefix + "cors-allow-origin"))
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), &kubecorsv1alpha1.CorsPolicy{}))
		}).Should(BeTrue())
	})
})
