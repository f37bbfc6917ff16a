package controllers

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/plan"
)

// noDataPlane is the data_plane label of a target no data plane could be
// chosen for.
const noDataPlane = "none"

// targetWriteErrors counts the writes to targets that did not take: the
// API server refused them (admission, RBAC, validation), they failed
// (timeouts, the server unavailable), or another writer holds the fields.
// Each is retried with backoff; a rate that stays up means a target that
// does not converge.
var targetWriteErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "kubecors_target_write_errors_total",
	Help: "Writes to targets and their objects that did not take, by kind (Ingress, HTTPRoute, Middleware), " +
		"reason (WriteRefused, WriteFailed, Conflicted) and cause (the API server's status reason: Forbidden, Invalid, Conflict, Timeout, …).",
}, []string{"kind", "reason", "cause"})

// recordWriteError counts one write that did not take.
func recordWriteError(kind, reason string, err error) {
	cause := "Unknown"
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if r := apierrors.ReasonForError(err); r != "" {
			cause = string(r)
		}
	} else if reason == kubecorsv1alpha1.ReasonConflicted {
		cause = "FieldManagerConflict"
	}
	targetWriteErrors.WithLabelValues(kind, reason, cause).Inc()
}

// targetKey is the labels a target is counted under.
type targetKey struct {
	dataPlane, state string
}

// targetStates holds, per policy, how many of its targets are in each
// state on each data plane, as the last reconcile found them: every
// target, not only the ones the bounded status lists.
type targetStates struct {
	mu       sync.Mutex
	byPolicy map[types.NamespacedName]map[targetKey]int
	// narrowed counts, per policy and data plane, the programmed targets
	// whose data plane could not express the whole policy.
	narrowed map[types.NamespacedName]map[string]int
	targets  *prometheus.Desc
	narrow   *prometheus.Desc
}

// targets is the process's record of target states.
var targets = &targetStates{
	byPolicy: map[types.NamespacedName]map[targetKey]int{},
	narrowed: map[types.NamespacedName]map[string]int{},
	targets: prometheus.NewDesc("kubecors_targets", "Targets (Ingresses, HTTPRoutes) of CorsPolicies by data plane and state "+
		"(Programmed, WriteRefused, WriteFailed, Conflicted, Refused, TargetNotFound, UnsupportedDataPlane, …), as the last reconcile of each policy found them.",
		[]string{"data_plane", "state"}, nil),
	narrow: prometheus.NewDesc("kubecors_targets_narrowed", "Programmed targets whose data plane could not express the whole policy "+
		"(what was left out is in the policy's status), by data plane.", []string{"data_plane"}, nil),
}

// set records the results of one reconcile of a policy.
func (s *targetStates) set(policy types.NamespacedName, results []plan.Result) {
	counts := map[targetKey]int{}
	narrowed := map[string]int{}
	for _, r := range results {
		dataPlane := r.DataPlane
		if dataPlane == "" {
			dataPlane = noDataPlane
		}
		counts[targetKey{dataPlane, r.Reason}]++
		if r.Programmed() && r.Narrowed {
			narrowed[dataPlane]++
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byPolicy[policy], s.narrowed[policy] = counts, narrowed
}

// forget drops a policy that is gone or no longer programs anything.
func (s *targetStates) forget(policy types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byPolicy, policy)
	delete(s.narrowed, policy)
}

// Describe implements prometheus.Collector.
func (s *targetStates) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.targets
	ch <- s.narrow
}

// Collect implements prometheus.Collector.
func (s *targetStates) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	totals := map[targetKey]int{}
	narrowed := map[string]int{}
	for _, counts := range s.byPolicy {
		for k, n := range counts {
			totals[k] += n
		}
	}
	for _, counts := range s.narrowed {
		for dataPlane, n := range counts {
			narrowed[dataPlane] += n
		}
	}
	s.mu.Unlock()
	for k, n := range totals {
		ch <- prometheus.MustNewConstMetric(s.targets, prometheus.GaugeValue, float64(n), k.dataPlane, k.state)
	}
	for dataPlane, n := range narrowed {
		ch <- prometheus.MustNewConstMetric(s.narrow, prometheus.GaugeValue, float64(n), dataPlane)
	}
}
