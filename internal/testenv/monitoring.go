package testenv

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/yaml"
)

// The example monitoring files, from the repository root.
var (
	DashboardFile = filepath.Join("config", "grafana", "kubecors-dashboard.json")
	AlertsFile    = filepath.Join("config", "prometheus", "kubecors-alerts.yaml")
)

// metricName finds the kubecors and controller-runtime metric names in a
// PromQL expression.
var metricName = regexp.MustCompile(`\b(?:kubecors|controller_runtime|workqueue)_[a-z_]+\b`)

// repoRoot is the repository's root directory, found from this file.
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot find the source of package testenv")
	}
	return filepath.Join(filepath.Dir(file), "..", ".."), nil
}

// MonitoringMetricNames lists, sorted and once each, the metric names that
// the Grafana dashboard's panels and the PrometheusRule examples query.
func MonitoringMetricNames() ([]string, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	var exprs []string
	data, err := os.ReadFile(filepath.Join(root, DashboardFile)) //nolint:gosec // G304: a file of this repository, at a fixed path.
	if err != nil {
		return nil, err
	}
	var dashboard struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dashboard); err != nil {
		return nil, err
	}
	for _, p := range dashboard.Panels {
		for _, t := range p.Targets {
			exprs = append(exprs, t.Expr)
		}
	}
	if data, err = os.ReadFile(filepath.Join(root, AlertsFile)); err != nil { //nolint:gosec // G304: a file of this repository, at a fixed path.
		return nil, err
	}
	var rule struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Expr string `json:"expr"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &rule); err != nil {
		return nil, err
	}
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	var names []string
	for _, e := range exprs {
		if e == "" {
			return nil, errors.New("a panel or rule without an expression")
		}
		names = append(names, metricName.FindAllString(e, -1)...)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// descName is the metric name in a prometheus.Desc's String form.
var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

// ServedMetricNames lists the metric names a registry serves (those with
// samples; a histogram's _bucket, _sum and _count too) and those the
// collectors describe, which serve nothing until something is counted.
func ServedMetricNames(gatherer prometheus.Gatherer, collectors ...prometheus.Collector) (map[string]bool, error) {
	served := map[string]bool{}
	families, err := gatherer.Gather()
	if err != nil {
		return nil, err
	}
	for _, f := range families {
		served[f.GetName()] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				served[f.GetName()+suffix] = true
			}
		}
	}
	for _, c := range collectors {
		ch := make(chan *prometheus.Desc, 16)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			if m := descName.FindStringSubmatch(d.String()); m != nil {
				served[m[1]] = true
			}
		}
	}
	return served, nil
}
