package main

import (
	"bufio"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// latencySummary is the distribution of a set of per-object latencies.
type latencySummary struct {
	Count      int     `json:"count"`
	P50Seconds float64 `json:"p50Seconds"`
	P99Seconds float64 `json:"p99Seconds"`
	MaxSeconds float64 `json:"maxSeconds"`
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted values by
// the nearest-rank method: the smallest value with at least p% of the
// values at or below it. Nearest rank never invents a latency no object
// had, which interpolation would.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// summarize sorts the samples (in seconds) and reports p50, p99 and max.
func summarize(samples []time.Duration) latencySummary {
	seconds := secondsOf(samples)
	slices.Sort(seconds)
	s := latencySummary{Count: len(seconds)}
	if len(seconds) == 0 {
		return s
	}
	s.P50Seconds = percentile(seconds, 50)
	s.P99Seconds = percentile(seconds, 99)
	s.MaxSeconds = seconds[len(seconds)-1]
	return s
}

func secondsOf(samples []time.Duration) []float64 {
	out := make([]float64, len(samples))
	for i, d := range samples {
		out[i] = d.Seconds()
	}
	return out
}

// sample is one line of the Prometheus text exposition format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseMetrics reads the samples of a Prometheus text exposition. It
// understands exactly what kube-apiserver and controller-runtime print
// (name, optional {k="v",...}, value, optional timestamp) and skips
// comments and any line it cannot read, so that one odd metric never
// loses the others.
func parseMetrics(text string) []sample {
	var out []sample
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := sample{labels: map[string]string{}}
		var rest string
		if i := strings.IndexAny(line, "{ "); i >= 0 && line[i] == '{' {
			s.name = line[:i]
			end := strings.LastIndex(line, "}")
			if end < i {
				continue
			}
			s.labels = parseLabels(line[i+1 : end])
			rest = strings.TrimSpace(line[end+1:])
		} else {
			name, value, ok := strings.Cut(line, " ")
			if !ok {
				continue
			}
			s.name, rest = name, strings.TrimSpace(value)
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// parseLabels reads k="v" pairs separated by commas; values may hold
// escaped quotes and commas.
func parseLabels(s string) map[string]string {
	labels := map[string]string{}
	for s != "" {
		eq := strings.Index(s, `="`)
		if eq < 0 {
			break
		}
		key := strings.TrimSpace(strings.TrimPrefix(s[:eq], ","))
		s = s[eq+2:]
		var value strings.Builder
		i := 0
		for ; i < len(s); i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				value.WriteByte(s[i])
				continue
			}
			if s[i] == '"' {
				break
			}
			value.WriteByte(s[i])
		}
		labels[key] = value.String()
		if i >= len(s) {
			break
		}
		s = s[i+1:]
	}
	return labels
}

// sumBy adds up the samples of a metric, grouped by the value of one label,
// keeping only the samples for which keep (if set) is true.
func sumBy(samples []sample, name, label string, keep func(map[string]string) bool) map[string]float64 {
	out := map[string]float64{}
	for _, s := range samples {
		if s.name != name || (keep != nil && !keep(s.labels)) {
			continue
		}
		out[s.labels[label]] += s.value
	}
	return out
}

// total adds up every sample of a metric.
func total(samples []sample, name string) float64 {
	var t float64
	for _, v := range sumBy(samples, name, "", nil) {
		t += v
	}
	return t
}

// counterDelta subtracts two readings of counters grouped by label,
// dropping the groups that did not move.
func counterDelta(before, after map[string]float64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range after {
		if d := int64(math.Round(v - before[k])); d != 0 {
			out[k] = d
		}
	}
	return out
}

// sumCounts adds the counts whose key keep accepts.
func sumCounts(counts map[string]int64, keep func(string) bool) int64 {
	var t int64
	for k, v := range counts {
		if keep(k) {
			t += v
		}
	}
	return t
}

// isWriteMethod reports whether an HTTP method (client side) or an API
// verb (server side) changes state.
func isWriteMethod(m string) bool {
	switch strings.ToUpper(m) {
	case "GET", "LIST", "WATCH", "HEAD", "OPTIONS", "":
		return false
	}
	return true
}
