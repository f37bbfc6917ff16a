package main

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	values := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		name string
		p    float64
		want float64
	}{
		{"median of an even count is the lower middle value", 50, 5},
		{"p99 of ten values is the largest", 99, 10},
		{"p10 is the first value", 10, 1},
		{"a tiny percentile still picks an existing value", 0.001, 1},
		{"p100 is the maximum", 100, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(values, tc.p); got != tc.want {
				t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("percentile of no values = %v, want 0", got)
	}
}

func TestSummarizeSortsAndReportsTheTail(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	got := summarize(samples)
	want := latencySummary{Count: 100, P50Seconds: 0.050, P99Seconds: 0.099, MaxSeconds: 0.100}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if empty := summarize(nil); empty != (latencySummary{}) {
		t.Errorf("summarize(nil) = %+v, want zero", empty)
	}
}

func TestParseMetricsGroupsCountersByLabel(t *testing.T) {
	text := `# HELP apiserver_request_total Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",resource="ingresses",verb="APPLY"} 7
apiserver_request_total{code="201",component="apiserver",resource="ingresses",verb="CREATE"} 3
apiserver_request_total{code="200",component="apiserver",resource="ingresses",verb="APPLY",subresource="a,\"b\""} 2
rest_client_requests_total{code="200",host="127.0.0.1:1",method="PATCH"} 5
go_memstats_heap_inuse_bytes 1.2e+07
not a metric line
`
	samples := parseMetrics(text)
	byVerb := sumBy(samples, "apiserver_request_total", "verb", nil)
	if byVerb["APPLY"] != 9 || byVerb["CREATE"] != 3 {
		t.Errorf("apiserver requests by verb = %v, want APPLY 9 and CREATE 3", byVerb)
	}
	if heap := total(samples, "go_memstats_heap_inuse_bytes"); heap != 12e6 {
		t.Errorf("heap = %v, want 1.2e7", heap)
	}
	withSub := sumBy(samples, "apiserver_request_total", "subresource", func(l map[string]string) bool { return l["verb"] == "APPLY" })
	if withSub[`a,"b"`] != 2 {
		t.Errorf("escaped label value not read: %v", withSub)
	}
}

func TestCounterDeltaKeepsOnlyWhatMoved(t *testing.T) {
	before := map[string]float64{"GET": 10, "PATCH": 4}
	after := map[string]float64{"GET": 10, "PATCH": 9, "POST": 1}
	got := counterDelta(before, after)
	if len(got) != 2 || got["PATCH"] != 5 || got["POST"] != 1 {
		t.Errorf("counterDelta = %v, want PATCH 5 and POST 1 only", got)
	}
	if writes := sumCounts(got, isWriteMethod); writes != 6 {
		t.Errorf("writes = %d, want 6", writes)
	}
}

func TestObjectWritesLeaveOutEventsAndLeases(t *testing.T) {
	writes := map[string]int64{"PATCH events": 9, "PUT leases": 2, "APPLY ingresses": 3, "PATCH corspolicies/status": 1, "PATCH httproutes": 4}
	if got := sumCounts(writes, isObjectWrite); got != 8 {
		t.Errorf("object writes = %d, want 8 (ingresses, corspolicies/status, httproutes)", got)
	}
}
