package controllers

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// broaderThanPolicy reports, when Prometheus scrapes, how many targets of
// each policy allow more on the wire than the policy says, read from the
// policies' status in the manager's cache: the number survives a leader
// change and is never stale. A series above zero is a security finding.
type broaderThanPolicy struct {
	reader client.Reader
	desc   *prometheus.Desc
}

// newBroaderThanPolicy is the collector of
// kubecors_targets_broader_than_policy.
func newBroaderThanPolicy(reader client.Reader) *broaderThanPolicy {
	return &broaderThanPolicy{reader: reader, desc: prometheus.NewDesc("kubecors_targets_broader_than_policy",
		"Targets whose data plane, verified on the wire, allows an origin, method, header or credentials that their CorsPolicy does not, "+
			"by policy. Above zero is a security finding.", []string{"namespace", "policy"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *broaderThanPolicy) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector: one series per verified policy.
func (c *broaderThanPolicy) Collect(ch chan<- prometheus.Metric) {
	policies := &kubecorsv1alpha1.CorsPolicyList{}
	if err := c.reader.List(context.Background(), policies); err != nil {
		return
	}
	for _, p := range policies.Items {
		if p.Status.VerifiedTargets == "" || p.Status.TargetCounts == nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(p.Status.TargetCounts.BroaderThanPolicy), p.Namespace, p.Name)
	}
}

// verifyMetricsRegistered makes RegisterVerifyMetrics idempotent.
var verifyMetricsRegistered sync.Once

// RegisterVerifyMetrics registers the verifier's metrics with
// controller-runtime's registry.
func RegisterVerifyMetrics(reader client.Reader) {
	verifyMetricsRegistered.Do(func() { metrics.Registry.MustRegister(newBroaderThanPolicy(reader)) })
}
