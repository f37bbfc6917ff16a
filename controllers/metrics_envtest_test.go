package controllers

import (
	"regexp"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/testenv"
)

// metricValue sums the samples of a metric served by the manager's
// registry whose labels include want.
func metricValue(name string, want map[string]string) float64 {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	total := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, want) {
				total += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == k && l.GetValue() == v }) {
			return false
		}
	}
	return true
}

// webhookMetric matches the metrics the webhook serves: this suite runs
// no webhook, the webhook suite checks them.
var webhookMetric = regexp.MustCompile(`^(kubecors_webhook_|controller_runtime_webhook_)`)

var _ = Describe("Metrics", func() {
	It("count targets by data plane and state, narrowings and refused writes, and forget a deleted policy", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, ingress(ns, "a-web", map[string]string{"app": "shop"}))).To(Succeed())
		Expect(k8sClient.Create(ctx, ingress(ns, "b-frozen", map[string]string{"app": "shop", "freeze": "on"}))).To(Succeed())
		lift := freezeIngresses(ns)
		defer lift()
		Eventually(func(g Gomega) {
			ing := &networkingv1.Ingress{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "b-frozen"}, ing)).To(Succeed())
			ing.Annotations = map[string]string{"probe": "1"}
			g.Expect(k8sClient.Update(ctx, ing)).NotTo(Succeed())
		}).Should(Succeed())

		programmed := map[string]string{"data_plane": "ingress-nginx", "state": kubecorsv1alpha1.ReasonProgrammed}
		refused := map[string]string{"data_plane": "ingress-nginx", "state": kubecorsv1alpha1.ReasonWriteRefused}
		narrowed := map[string]string{"data_plane": "ingress-nginx"}
		refusedWrites := map[string]string{"kind": "Ingress", "reason": kubecorsv1alpha1.ReasonWriteRefused}
		before := map[string]float64{
			"programmed": metricValue("kubecors_targets", programmed), "refused": metricValue("kubecors_targets", refused),
			"narrowed": metricValue("kubecors_targets_narrowed", narrowed), "writes": metricValue("kubecors_target_write_errors_total", refusedWrites),
		}

		// ingress-nginx cannot express an IPv6 literal: a narrowing.
		p := policy(ns, "shop", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}}
			s.AllowOrigins = append(s.AllowOrigins, "http://[::1]:3000")
		})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(statusOf(p)).Should(WithTransform(targetReasons, Equal(map[string]string{
			"Ingress/a-web": kubecorsv1alpha1.ReasonProgrammed, "Ingress/b-frozen": kubecorsv1alpha1.ReasonWriteRefused})))
		Eventually(func(g Gomega) {
			g.Expect(metricValue("kubecors_targets", programmed)).To(BeNumerically(">=", before["programmed"]+1))
			g.Expect(metricValue("kubecors_targets", refused)).To(BeNumerically(">=", before["refused"]+1))
			g.Expect(metricValue("kubecors_targets_narrowed", narrowed)).To(BeNumerically(">=", before["narrowed"]+1))
			g.Expect(metricValue("kubecors_target_write_errors_total", refusedWrites)).To(BeNumerically(">=", before["writes"]+1))
		}).Should(Succeed())

		lift()
		Eventually(statusOf(p), "60s").Should(WithTransform(targetReasons, HaveKeyWithValue("Ingress/b-frozen", kubecorsv1alpha1.ReasonProgrammed)))
		Eventually(func(g Gomega) {
			g.Expect(metricValue("kubecors_targets", refused)).To(BeNumerically("<=", before["refused"]))
			g.Expect(metricValue("kubecors_targets", programmed)).To(BeNumerically(">=", before["programmed"]+2))
		}).Should(Succeed())
		withPolicy := metricValue("kubecors_targets", programmed)

		Expect(k8sClient.Delete(ctx, p)).To(Succeed())
		Eventually(func() float64 { return metricValue("kubecors_targets", programmed) }).Should(BeNumerically("<=", withPolicy-2),
			"a deleted policy's targets are no longer counted")
	})

	It("serves every metric the Grafana dashboard and the PrometheusRule examples query", func() {
		// A reconcile, so that controller-runtime's histograms have samples.
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, ingress(ns, "web", nil))).To(Succeed())
		p := policy(ns, "web", func(s *kubecorsv1alpha1.CorsPolicySpec) {
			s.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ingressRef("web")}
		})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(statusOf(p)).Should(HaveField("ProgrammedTargets", "1/1"))

		named, err := testenv.MonitoringMetricNames()
		Expect(err).NotTo(HaveOccurred())
		Expect(named).To(ContainElements("kubecors_targets", "kubecors_targets_narrowed", "kubecors_target_write_errors_total",
			"kubecors_corspolicies", "kubecors_cluster_policy_violations", "controller_runtime_reconcile_time_seconds_bucket"))
		for _, c := range []prometheus.Collector{violations, targetWriteErrors, targets} {
			// A collector RegisterMetrics registered cannot be registered again.
			Expect(metrics.Registry.Register(c)).To(BeAssignableToTypeOf(prometheus.AlreadyRegisteredError{}), "%T is not registered", c)
		}
		served, err := testenv.ServedMetricNames(metrics.Registry, violations, targetWriteErrors, targets, newBroaderThanPolicy(nil))
		Expect(err).NotTo(HaveOccurred())
		var missing []string
		for _, name := range named {
			if !served[name] && !webhookMetric.MatchString(name) {
				missing = append(missing, name)
			}
		}
		Expect(missing).To(BeEmpty(), "queried but not served")
	})
})
