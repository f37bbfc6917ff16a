package v1alpha1

import (
	"fmt"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

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
})
