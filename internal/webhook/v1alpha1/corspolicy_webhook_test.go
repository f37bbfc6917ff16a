package v1alpha1

import (
	"fmt"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules/corsrulestest"
	"github.com/kubecors/kubecors/internal/policycheck"
)

// serverFields lists the field paths of the causes of an Invalid error.
func serverFields(err error) []string {
	var fields []string
	if status, ok := err.(apierrors.APIStatus); ok && status.Status().Details != nil {
		for _, c := range status.Status().Details.Causes {
			fields = append(fields, c.Field)
		}
	}
	slices.Sort(fields)
	return slices.Compact(fields)
}

func policyFor(i int, c corsrulestest.Case) *kubecorsv1alpha1.CorsPolicy {
	return &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("case-%03d", i), Namespace: "default"},
		Spec:       *c.Spec.DeepCopy(),
	}
}

var _ = Describe("CorsPolicy admission", func() {
	checker, err := policycheck.New()
	if err != nil {
		panic(err)
	}

	for i, c := range corsrulestest.Cases {
		It(c.Name, func() {
			policy := policyFor(i, c)
			offline, err := checker.CheckCorsPolicy(policy.DeepCopy())
			Expect(err).NotTo(HaveOccurred())
			warnings.take()

			err = k8sClient.Create(ctx, policy)
			seen := warnings.take()
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, policy) })

			By("the API server (CRD schema, CEL and webhook) gives the expected verdict")
			if c.Valid {
				Expect(err).NotTo(HaveOccurred())
			} else {
				Expect(apierrors.IsInvalid(err)).To(BeTrue(), "expected an Invalid error, got %v", err)
				Expect(err.Error()).To(ContainSubstring(c.Field + ": "))
				Expect(err.Error()).To(ContainSubstring(c.Message))
			}
			if c.Warning != "" {
				Expect(strings.Join(seen, "\n")).To(ContainSubstring(c.Warning))
			}

			By("the offline checker agrees with the API server")
			Expect(offline.Valid()).To(Equal(err == nil), "checker errors: %v; server: %v", offline.Errors, err)
			if err != nil {
				offlineFields := make([]string, 0, len(offline.Errors))
				for _, e := range offline.Errors {
					offlineFields = append(offlineFields, e.Field)
				}
				slices.Sort(offlineFields)
				Expect(slices.Compact(offlineFields)).To(Equal(serverFields(err)))
				for _, e := range offline.Errors {
					Expect(err.Error()).To(ContainSubstring(e.Detail))
				}
			}
			if err == nil {
				Expect(offline.Warnings).To(ConsistOf(seen))
			}
		})
	}

	It("lets a stored policy that no longer passes be released by its finalizer", func() {
		policy := &kubecorsv1alpha1.CorsPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "finalized", Namespace: "default"},
			Spec: kubecorsv1alpha1.CorsPolicySpec{
				TargetRefs:   []kubecorsv1alpha1.PolicyTargetReference{{Group: "networking.k8s.io", Kind: "Ingress", Name: "web"}},
				AllowOrigins: []kubecorsv1alpha1.Origin{"https://app.example.com"},
			},
		}
		Expect(k8sClient.Create(ctx, policy)).To(Succeed())
		policy.Labels = map[string]string{"team": "a"}
		Expect(k8sClient.Update(ctx, policy)).To(Succeed(), "a metadata-only update is always allowed")
		policy.Spec.AllowOrigins = []kubecorsv1alpha1.Origin{"https://*.github.io"}
		err := k8sClient.Update(ctx, policy)
		Expect(err).To(MatchError(ContainSubstring(`"https://*.github.io" matches every site under the public suffix "github.io"`)))
		Expect(k8sClient.Delete(ctx, policy)).To(Succeed())
	})

	It("returns warnings without rejecting", func() {
		warnings.take()
		policy := &kubecorsv1alpha1.CorsPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "warned", Namespace: "default"},
			Spec: kubecorsv1alpha1.CorsPolicySpec{
				TargetRefs:    []kubecorsv1alpha1.PolicyTargetReference{{Group: "networking.k8s.io", Kind: "Ingress", Name: "web"}},
				AllowOrigins:  []kubecorsv1alpha1.Origin{"https://app.example.com"},
				AllowMethods:  []kubecorsv1alpha1.HTTPMethod{"patch"},
				ExposeHeaders: []kubecorsv1alpha1.ResponseHeaderName{"Content-Type"},
				MaxAge:        ptr.To[int32](9000),
			},
		}
		Expect(k8sClient.Create(ctx, policy)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, policy) })
		Expect(warnings.take()).To(ConsistOf(
			ContainSubstring(`spec.allowMethods[0]: "patch" is not the standard method "PATCH"`),
			ContainSubstring(`spec.exposeHeaders[0]: "Content-Type" is a CORS-safelisted response header`),
			ContainSubstring("spec.maxAge: 9000 seconds is above Chromium's cap of 7200"),
		))
	})

	It("warns, naming the data plane and its reason, when a data plane would program nothing for the policy", func() {
		checker, err := policycheck.New()
		Expect(err).NotTo(HaveOccurred())
		for _, c := range []struct {
			name, kind string
			origin     kubecorsv1alpha1.Origin
			want       []string
		}{
			{"port-wildcard-ingress", "Ingress", "http://localhost:*", []string{
				`ingress-nginx would program nothing for this policy: ingress-nginx can express none of the allowed origins`,
			}},
			{"ipv6-route", "HTTPRoute", "http://[::1]:3000", []string{
				`envoy-gateway would program nothing for this policy: no origin of the policy can be written as an Envoy Gateway Origin`,
				`gateway-api would program nothing for this policy: no origin of the policy can be written as a Gateway API CORSOrigin`,
				`kong would program nothing for this policy: the policy allows no origin that Kong can be told about`,
			}},
		} {
			group := "networking.k8s.io"
			if c.kind == "HTTPRoute" {
				group = "gateway.networking.k8s.io"
			}
			policy := &kubecorsv1alpha1.CorsPolicy{
				ObjectMeta: metav1.ObjectMeta{Name: c.name, Namespace: "default"},
				Spec: kubecorsv1alpha1.CorsPolicySpec{
					TargetRefs:   []kubecorsv1alpha1.PolicyTargetReference{{Group: group, Kind: c.kind, Name: "web"}},
					AllowOrigins: []kubecorsv1alpha1.Origin{c.origin},
				},
			}
			offline, err := checker.CheckCorsPolicy(policy.DeepCopy())
			Expect(err).NotTo(HaveOccurred())
			warnings.take()
			Expect(k8sClient.Create(ctx, policy)).To(Succeed(), "Traefik and HAProxy Ingress program it, so it is admitted")
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, policy) })
			seen := warnings.take()
			matchers := make([]any, 0, len(c.want))
			for _, w := range c.want {
				matchers = append(matchers, ContainSubstring(w))
			}
			Expect(seen).To(ConsistOf(matchers...), c.name)
			Expect(offline.Warnings).To(ConsistOf(seen), "the offline checker warns as the webhook does")
		}
	})

	It("rejects a policy that breaks an Enforce ClusterCorsPolicy, naming it and the rule, and warns for Audit ones", func() {
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod", Labels: map[string]string{"env": "prod"}}})).To(Succeed())
		for _, ccp := range []*kubecorsv1alpha1.ClusterCorsPolicy{
			{ObjectMeta: metav1.ObjectMeta{Name: "corp-origins"}, Spec: kubecorsv1alpha1.ClusterCorsPolicySpec{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
				Mode:              kubecorsv1alpha1.ModeEnforce,
				Rules:             kubecorsv1alpha1.ClusterCorsRules{AllowedOrigins: []kubecorsv1alpha1.Origin{"https://*.corp.example.com"}},
			}},
			{ObjectMeta: metav1.ObjectMeta{Name: "no-cookies"}, Spec: kubecorsv1alpha1.ClusterCorsPolicySpec{
				Mode:  kubecorsv1alpha1.ModeAudit,
				Rules: kubecorsv1alpha1.ClusterCorsRules{ForbidCredentials: true},
			}},
		} {
			Expect(k8sClient.Create(ctx, ccp)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, ccp) })
		}
		policy := func(name string, origin kubecorsv1alpha1.Origin) *kubecorsv1alpha1.CorsPolicy {
			return &kubecorsv1alpha1.CorsPolicy{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod"},
				Spec: kubecorsv1alpha1.CorsPolicySpec{
					TargetRefs:       []kubecorsv1alpha1.PolicyTargetReference{{Group: "networking.k8s.io", Kind: "Ingress", Name: "web"}},
					AllowOrigins:     []kubecorsv1alpha1.Origin{origin},
					AllowCredentials: new(true),
				},
			}
		}
		Eventually(func() error { return k8sClient.Create(ctx, policy("outside", "https://app.example.com")) }).Should(MatchError(SatisfyAll(
			ContainSubstring(`spec.allowOrigins[0]: Forbidden: ClusterCorsPolicy "corp-origins" rules.allowedOrigins: "https://app.example.com"`),
			ContainSubstring("https://*.corp.example.com"),
		)))

		warnings.take()
		Expect(k8sClient.Create(ctx, policy("inside", "https://app.corp.example.com"))).To(Succeed())
		Expect(warnings.take()).To(ContainElement(SatisfyAll(
			ContainSubstring(`ClusterCorsPolicy "no-cookies" rules.forbidCredentials`),
			ContainSubstring("audit mode: admitted, reported"),
		)))
	})

	It("validates ClusterCorsPolicies with the same origin rules", func() {
		err := k8sClient.Create(ctx, &kubecorsv1alpha1.ClusterCorsPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "pages"},
			Spec: kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: kubecorsv1alpha1.ClusterCorsRules{
				AllowedOrigins: []kubecorsv1alpha1.Origin{"https://*.github.io"},
			}},
		})
		Expect(err).To(MatchError(ContainSubstring(`"https://*.github.io" matches every site under the public suffix "github.io"`)))
	})
})
