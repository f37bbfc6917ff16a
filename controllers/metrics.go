package controllers

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// violations counts, per ClusterCorsPolicy, the CorsPolicies that break
// it.
var violations = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "kubecors_cluster_policy_violations",
	Help: "CorsPolicies that break a ClusterCorsPolicy, by ClusterCorsPolicy and mode.",
}, []string{"cluster_policy", "mode"})

// policyStates counts CorsPolicies by state when Prometheus scrapes, from
// the manager's cache, so that the number is never stale.
type policyStates struct {
	reader client.Reader
	desc   *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *policyStates) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *policyStates) Collect(ch chan<- prometheus.Metric) {
	policies := &kubecorsv1alpha1.CorsPolicyList{}
	if err := c.reader.List(context.Background(), policies); err != nil {
		return
	}
	counts := map[string]float64{}
	for _, p := range policies.Items {
		counts[policyState(&p)]++
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, state)
	}
}

// policyState is a policy's state for the metric: its Accepted reason when
// not accepted, else its Programmed reason ("Pending" before the first
// reconcile).
func policyState(p *kubecorsv1alpha1.CorsPolicy) string {
	if c := meta.FindStatusCondition(p.Status.Conditions, kubecorsv1alpha1.ConditionAccepted); c != nil && c.Reason != kubecorsv1alpha1.ReasonAccepted {
		return c.Reason
	}
	if c := meta.FindStatusCondition(p.Status.Conditions, kubecorsv1alpha1.ConditionProgrammed); c != nil {
		return c.Reason
	}
	return kubecorsv1alpha1.ReasonPending
}

// registered makes RegisterMetrics idempotent: a process that restarts its
// manager (the tests do) registers once.
var registered sync.Once

// RegisterMetrics registers kubecors's metrics with controller-runtime's
// registry, served on the manager's metrics endpoint. The first reader
// given is the one the collector keeps.
func RegisterMetrics(reader client.Reader) {
	registered.Do(func() { registerMetrics(reader) })
}

func registerMetrics(reader client.Reader) {
	metrics.Registry.MustRegister(violations, targetWriteErrors, targets, &policyStates{
		reader: reader,
		desc: prometheus.NewDesc("kubecors_corspolicies", "CorsPolicies by state (Programmed, PartiallyProgrammed, Invalid, "+
			"ClusterPolicyViolation, Conflicted, …).", []string{"state"}, nil),
	})
}
