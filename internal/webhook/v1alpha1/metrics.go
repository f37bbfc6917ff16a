package v1alpha1

import (
	"regexp"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kubecors/kubecors/internal/clusterpolicy"
)

// rejections counts the policies the webhook refused, by the rule each
// broke: a field of the policy's own rules (indices dropped, so that the
// label stays bounded), or "ClusterCorsPolicy <rule>" for an Enforce-mode
// ClusterCorsPolicy. A request the handler cannot decode never reaches
// the rules; controller-runtime counts those in
// controller_runtime_webhook_requests_total{code="400"}.
var rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "kubecors_webhook_rejections_total",
	Help: "Policies the kubecors validating webhook refused, by kind (CorsPolicy, ClusterCorsPolicy) and the rule broken.",
}, []string{"kind", "rule"})

// RejectionsMetric is the name rejections are served under.
const RejectionsMetric = "kubecors_webhook_rejections_total"

// Collectors are the webhook's metrics, registered with controller-runtime's
// registry by the webhook setup.
func Collectors() []prometheus.Collector { return []prometheus.Collector{rejections} }

var registerOnce sync.Once

// registerMetrics registers the webhook's metrics once per process.
func registerMetrics() {
	registerOnce.Do(func() { metrics.Registry.MustRegister(Collectors()...) })
}

// fieldIndex is a list index or map key in a field path.
var fieldIndex = regexp.MustCompile(`\[[^\]]*\]`)

// recordRejection counts one refused policy under each distinct rule it
// broke.
func recordRejection(kind string, errs field.ErrorList, findings []clusterpolicy.Finding) {
	rules := map[string]bool{}
	for _, e := range errs {
		rules[fieldIndex.ReplaceAllString(e.Field, "")] = true
	}
	for _, f := range findings {
		if f.Enforced() {
			rules["ClusterCorsPolicy "+f.Rule] = true
		}
	}
	for rule := range rules {
		rejections.WithLabelValues(kind, rule).Inc()
	}
}
