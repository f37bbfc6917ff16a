package v1alpha1

import (
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/testenv"
)

var _ = Describe("Webhook metrics", func() {
	It("count a refused policy under the rule it broke, and serve what the dashboard and alerts query", func() {
		Expect(metrics.Registry.Register(rejections)).To(BeAssignableToTypeOf(prometheus.AlreadyRegisteredError{}),
			"the webhook setup registers its metrics")
		counter := rejections.WithLabelValues("CorsPolicy", "spec.allowOrigins")
		before := testutil.ToFloat64(counter)
		p := &kubecorsv1alpha1.CorsPolicy{ObjectMeta: metav1.ObjectMeta{Name: "metrics-refused", Namespace: "default"},
			Spec: kubecorsv1alpha1.CorsPolicySpec{TargetSelector: &metav1.LabelSelector{},
				AllowOrigins: []kubecorsv1alpha1.Origin{"https://*.com"}}}
		err := k8sClient.Create(ctx, p)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "expected a refusal, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.allowOrigins[0]"))
		Expect(testutil.ToFloat64(counter)).To(Equal(before+1), "one refusal, counted once under its rule without the index")

		named, err := testenv.MonitoringMetricNames()
		Expect(err).NotTo(HaveOccurred())
		served, err := testenv.ServedMetricNames(metrics.Registry, Collectors()...)
		Expect(err).NotTo(HaveOccurred())
		webhookMetric := regexp.MustCompile(`^(kubecors_webhook_|controller_runtime_webhook_)`)
		var checked, missing []string
		for _, name := range named {
			if !webhookMetric.MatchString(name) {
				continue
			}
			checked = append(checked, name)
			if !served[name] {
				missing = append(missing, name)
			}
		}
		Expect(checked).To(ContainElements("kubecors_webhook_rejections_total", "controller_runtime_webhook_requests_total"))
		Expect(missing).To(BeEmpty(), "queried but not served")
	})
})
