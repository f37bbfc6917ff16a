package v1alpha1

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/policycheck"
)

// limitCase is one list or string of the CorsPolicy API at its limit: spec
// builds a policy with n entries (or a value n bytes long).
type limitCase struct {
	field string
	limit int
	spec  func(n int) kubecorsv1alpha1.CorsPolicySpec
	// tooMany is the rejection at limit+1.
	tooMany func(limit int) string
}

func listLimit(limit int) string {
	return fmt.Sprintf("Too many: %d: must have at most %d items", limit+1, limit)
}

func lengthLimit(limit int) string {
	return fmt.Sprintf("Too long: may not be more than %d bytes", limit)
}

// selected is a spec that selects every target, with one origin.
func selected() kubecorsv1alpha1.CorsPolicySpec {
	return kubecorsv1alpha1.CorsPolicySpec{TargetSelector: &metav1.LabelSelector{}, AllowOrigins: []kubecorsv1alpha1.Origin{"https://app.example.com"}}
}

var limitCases = []limitCase{
	{"spec.targetRefs", 16, func(n int) kubecorsv1alpha1.CorsPolicySpec {
		s := selected()
		s.TargetSelector = nil
		for i := range n {
			s.TargetRefs = append(s.TargetRefs, kubecorsv1alpha1.PolicyTargetReference{Group: "networking.k8s.io", Kind: "Ingress",
				Name: fmt.Sprintf("web-%d", i)})
		}
		return s
	}, listLimit},
	{"spec.allowOrigins", 64, func(n int) kubecorsv1alpha1.CorsPolicySpec {
		s := selected()
		s.AllowOrigins = nil
		for i := range n {
			s.AllowOrigins = append(s.AllowOrigins, kubecorsv1alpha1.Origin(fmt.Sprintf("https://app-%d.example.com", i)))
		}
		return s
	}, listLimit},
	{"spec.allowMethods", 32, func(n int) kubecorsv1alpha1.CorsPolicySpec {
		s := selected()
		for i := range n {
			s.AllowMethods = append(s.AllowMethods, kubecorsv1alpha1.HTTPMethod("X"+strings.Repeat("A", i)))
		}
		return s
	}, listLimit},
	{"spec.allowHeaders", 64, func(n int) kubecorsv1alpha1.CorsPolicySpec {
		s := selected()
		for i := range n {
			s.AllowHeaders = append(s.AllowHeaders, kubecorsv1alpha1.RequestHeaderName(fmt.Sprintf("X-Header-%d", i)))
		}
		return s
	}, listLimit},
	{"spec.exposeHeaders", 64, func(n int) kubecorsv1alpha1.CorsPolicySpec {
		s := selected()
		for i := range n {
			s.ExposeHeaders = append(s.ExposeHeaders, kubecorsv1alpha1.ResponseHeaderName(fmt.Sprintf("X-Header-%d", i)))
		}
		return s
	}, listLimit},
	{"spec.allowHeaders[0]", 256, func(n int) kubecorsv1alpha1.CorsPolicySpec {
		s := selected()
		s.AllowHeaders = []kubecorsv1alpha1.RequestHeaderName{kubecorsv1alpha1.RequestHeaderName("X-" + strings.Repeat("a", n-2))}
		return s
	}, lengthLimit},
	{"spec.allowMethods[0]", 32, func(n int) kubecorsv1alpha1.CorsPolicySpec {
		s := selected()
		s.AllowMethods = []kubecorsv1alpha1.HTTPMethod{kubecorsv1alpha1.HTTPMethod(strings.Repeat("M", n))}
		return s
	}, lengthLimit},
}

// The API's limits, at the limit and one past it, against the real API
// server (schema, CEL cost and webhook): the limit is admitted, so CEL's
// cost budget covers it, and one more is refused with the API server's
// message, which the offline checker gives too.
var _ = Describe("CorsPolicy API limits", func() {
	checker, err := policycheck.New()
	if err != nil {
		panic(err)
	}
	for i, c := range limitCases {
		It(fmt.Sprintf("admits %s at its limit of %d and refuses %d", c.field, c.limit, c.limit+1), func() {
			at := &kubecorsv1alpha1.CorsPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("limit-%d", i), Namespace: "default"}, Spec: c.spec(c.limit)}
			Expect(k8sClient.Create(ctx, at)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, at) })

			past := &kubecorsv1alpha1.CorsPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("past-limit-%d", i), Namespace: "default"}, Spec: c.spec(c.limit + 1)}
			err := k8sClient.Create(ctx, past)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "expected an Invalid error, got %v", err)
			Expect(err.Error()).To(ContainSubstring(c.field + ": " + c.tooMany(c.limit)))

			offline, checkErr := checker.CheckCorsPolicy(past)
			Expect(checkErr).NotTo(HaveOccurred())
			Expect(offline.Errors.ToAggregate()).To(MatchError(ContainSubstring(c.field + ": " + c.tooMany(c.limit))))
		})
	}
})
