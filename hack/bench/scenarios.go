package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
)

// resources is what one phase cost: wall time, requests, CPU and memory.
type resources struct {
	WallSeconds float64 `json:"wallSeconds"`
	// OperatorRequests counts the operator's own requests by HTTP method,
	// from its client-go metric rest_client_requests_total (watches are
	// GETs; server-side applies are PATCHes).
	OperatorRequests map[string]int64 `json:"operatorRequestsByMethod"`
	// APIServerRequests counts every client's requests by verb, from
	// kube-apiserver's apiserver_request_total (the benchmark's own
	// creates, updates and watches included).
	APIServerRequests map[string]int64 `json:"apiServerRequestsByVerb"`
	// APIServerWrites breaks the API server's writes down by verb and
	// resource, so that a write in a steady state can be named.
	APIServerWrites map[string]int64 `json:"apiServerWritesByResource"`
	CPUSeconds      float64          `json:"operatorCPUSeconds"`
	// PeakRSSMiB is the operator's VmHWM at the end of the phase: the peak
	// resident set since the process started.
	PeakRSSMiB float64 `json:"operatorPeakRSSMiB"`
	// PeakHeapMiB is the largest go_memstats_heap_inuse_bytes sampled
	// (every 0.5 s) during the phase.
	PeakHeapMiB float64 `json:"operatorPeakHeapInuseMiB"`
	Reconciles  int64   `json:"reconciles"`
	// ReconcileSeconds is the time spent in Reconcile during the phase;
	// over the wall time it says how busy the workers were.
	ReconcileSeconds float64 `json:"reconcileSeconds"`
	// Workers is the corspolicy controller's MaxConcurrentReconciles.
	Workers int `json:"corspolicyWorkers"`
}

// phase measures resources between begin and end.
type phase struct {
	cp        *controlPlane
	op        *operator
	started   time.Time
	before    usage
	apiBefore map[string]float64
	// writesBefore is the API server's writes by verb and resource.
	writesBefore map[string]float64
}

func beginPhase(ctx context.Context, cp *controlPlane, op *operator, zero bool) (*phase, error) {
	p := &phase{cp: cp, op: op, started: time.Now()}
	var err error
	if p.apiBefore, p.writesBefore, err = cp.requestsByVerb(ctx); err != nil {
		return nil, err
	}
	if zero {
		// Before the operator starts: every counter is zero.
		p.before = usage{requests: map[string]float64{}}
	} else {
		p.before = op.read(ctx)
	}
	op.takePeak()
	return p, nil
}

func (p *phase) end(ctx context.Context) resources {
	after := p.op.read(ctx)
	apiAfter, writesAfter, _ := p.cp.requestsByVerb(ctx)
	heap := p.op.takePeak()
	return resources{
		WallSeconds:       time.Since(p.started).Seconds(),
		OperatorRequests:  counterDelta(p.before.requests, after.requests),
		APIServerRequests: counterDelta(p.apiBefore, apiAfter),
		APIServerWrites:   counterDelta(p.writesBefore, writesAfter),
		CPUSeconds:        after.cpuSeconds - p.before.cpuSeconds,
		PeakRSSMiB:        float64(after.hwmKiB) / 1024,
		PeakHeapMiB:       heap / (1 << 20),
		Reconciles:        int64(after.reconciles - p.before.reconciles),
		ReconcileSeconds:  after.reconcileSeconds - p.before.reconcileSeconds,
		Workers:           int(after.workers),
	}
}

// floorRun is one bare-client run of the floor writes at a worker count.
type floorRun struct {
	Workers         int              `json:"workers"`
	Writes          int              `json:"writes"`
	Seconds         float64          `json:"seconds"`
	WritesPerSecond float64          `json:"writesPerSecond"`
	Requests        map[string]int64 `json:"requestsByMethod"`
}

// floors is the physical limit: the fastest of the floor runs.
type floors struct {
	Runs                []floorRun `json:"runs"`
	BestWorkers         int        `json:"bestWorkers"`
	BestSeconds         float64    `json:"bestSeconds"`
	BestWritesPerSecond float64    `json:"bestWritesPerSecond"`
}

// measureFloors times the writes the operator cannot avoid for n targets,
// made by a bare unthrottled client at each worker count on fresh,
// unconfigured objects.
func measureFloors(ctx context.Context, cp *controlPlane, kind string, n, namespaces int, workers []int, renderers *registry.Registry) (floors, error) {
	var f floors
	for _, w := range workers {
		l := newLayout(kind, fmt.Sprintf("floor-w%d", w), n, namespaces, false)
		setProgress(fmt.Sprintf("floor %s N=%d, %d workers: creating objects", kind, n, w))
		if err := l.create(ctx, cp.client); err != nil {
			return f, err
		}
		c, counts, err := countingClient(cp.cfg)
		if err != nil {
			return f, err
		}
		writes := floorWrites{layout: l, registry: renderers}
		setProgress(fmt.Sprintf("floor %s N=%d, %d workers: %d writes", kind, n, w, writes.count()))
		start := time.Now()
		if err := parallel(ctx, w, writes.count(), func(i int) error { return writes.write(ctx, c, i) }); err != nil {
			return f, fmt.Errorf("floor at %d workers: %w", w, err)
		}
		elapsed := time.Since(start).Seconds()
		run := floorRun{Workers: w, Writes: writes.count(), Seconds: elapsed, WritesPerSecond: float64(writes.count()) / elapsed, Requests: counts()}
		f.Runs = append(f.Runs, run)
		if f.BestSeconds == 0 || elapsed < f.BestSeconds {
			f.BestSeconds, f.BestWorkers, f.BestWritesPerSecond = elapsed, w, run.WritesPerSecond
		}
		logf("floor", "kind", kind, "targets", n, "workers", w, "seconds", elapsed, "writesPerSecond", run.WritesPerSecond)
		if err := l.deleteTargets(ctx, cp.client); err != nil {
			return f, err
		}
	}
	return f, nil
}

// coldResult is a cold convergence: the operator starts with every target
// and policy in place.
type coldResult struct {
	Kind       string  `json:"kind"`
	Targets    int     `json:"targets"`
	Policies   int     `json:"policies"`
	Namespaces int     `json:"namespaces"`
	Seconds    float64 `json:"seconds"`
	// Ratio is Seconds over the floor's best.
	Ratio     float64   `json:"ratioToFloor"`
	Floors    floors    `json:"floors"`
	Resources resources `json:"resources"`
}

// steadyResult is a window after convergence in which nothing changes.
type steadyResult struct {
	Kind            string  `json:"kind"`
	Targets         int     `json:"targets"`
	WindowSeconds   float64 `json:"windowSeconds"`
	OperatorWrites  int64   `json:"operatorWrites"`
	APIServerWrites int64   `json:"apiServerWrites"`
	// ObjectWrites counts the API server's writes to what the operator
	// configures and reports on (Ingresses, HTTPRoutes, CorsPolicies and
	// their status), as opposed to Events and the API server's own leases.
	ObjectWrites        int64     `json:"objectWrites"`
	ReconcilesPerSecond float64   `json:"reconcilesPerSecond"`
	Resources           resources `json:"resources"`
}

// fanoutResult is one policy change reaching every object it selects.
type fanoutResult struct {
	Kind    string         `json:"kind"`
	Objects int            `json:"objects"`
	Latency latencySummary `json:"latency"`
	// FloorSeconds is Objects writes at the floor's best throughput in the
	// same run; Ratio is the max latency over it.
	FloorSeconds float64   `json:"floorSeconds"`
	Ratio        float64   `json:"ratioToFloor"`
	Resources    resources `json:"resources"`
	Samples      []float64 `json:"latenciesSeconds"`
}

// churnResult is a fixed rate of creates, relabels and deletes.
type churnResult struct {
	BaseTargets   int            `json:"baseTargets"`
	Seconds       float64        `json:"seconds"`
	RatePerSecond float64        `json:"ratePerSecond"`
	Operations    map[string]int `json:"operations"`
	Lag           latencySummary `json:"lag"`
	Unconverged   int            `json:"unconverged"`
	// FloorSeconds is one write's latency for a lone bare client: the
	// single-worker floor run of the same session, its time divided by its
	// writes. No change can be programmed faster; Ratio is the p99 lag
	// over it. The report fills both in.
	FloorSeconds float64   `json:"floorSeconds"`
	Ratio        float64   `json:"ratioToFloor"`
	Resources    resources `json:"resources"`
}

// session is one control plane with the operator's trackers.
type session struct {
	cfg      benchConfig
	cp       *controlPlane
	op       *operator
	flags    map[string]bool
	targets  *tracker
	policies *tracker
	kind     string
	registry *registry.Registry
	// stopWatches ends the benchmark's own watches, which must close
	// before the API server can stop promptly.
	stopWatches context.CancelFunc
}

func newSession(parent context.Context, cfg benchConfig, kind string) (*session, error) {
	setProgress("starting a control plane")
	cp, err := startControlPlane(cfg.assets, cfg.workDir)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(parent)
	renderers, err := registry.NewRegistry(nil)
	if err != nil {
		cancel()
		_ = cp.stop()
		return nil, err
	}
	s := &session{cfg: cfg, cp: cp, kind: kind, flags: cfg.managerFlags, registry: renderers, policies: newTracker(policyState), stopWatches: cancel}
	var targetObj client.Object = &networkingv1.Ingress{}
	s.targets = newTracker(ingressState)
	if kind == kubecorsv1alpha1.KindHTTPRoute {
		targetObj, s.targets = &gatewayv1.HTTPRoute{}, newTracker(routeState)
		if err := createGatewayClass(ctx, cp.client); err != nil {
			cancel()
			_ = cp.stop()
			return nil, err
		}
	}
	if err := watchTracked(ctx, cp, map[client.Object]*tracker{targetObj: s.targets, &kubecorsv1alpha1.CorsPolicy{}: s.policies}); err != nil {
		cancel()
		_ = cp.stop()
		return nil, err
	}
	return s, nil
}

func (s *session) close() {
	setProgress("stopping the operator and the control plane")
	if s.op != nil {
		s.op.stop()
	}
	s.stopWatches()
	if err := s.cp.stop(); err != nil {
		logf("stopping the control plane failed", "error", err)
	}
}

// createGatewayClass makes the class of the route scenario's Gateways and
// reports, through the status subresource as an implementation would, that
// it supports the CORS filter.
func createGatewayClass(ctx context.Context, c client.Client) error {
	class := &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: gatewayClassName},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: "example.com/gateway"},
	}
	if err := c.Create(ctx, class); err != nil {
		return err
	}
	class.Status.SupportedFeatures = []gatewayv1.SupportedFeature{{Name: "HTTPRoute"}, {Name: "HTTPRouteCORS"}}
	return c.Status().Update(ctx, class)
}

// cold creates the layout, starts the operator and times it until every
// target carries its policy and every policy reports all programmed.
func (s *session) cold(ctx context.Context, n int, f floors) (coldResult, error) {
	l := newLayout(s.kind, "bench", n, s.cfg.namespaces, true)
	res := coldResult{Kind: s.kind, Targets: n, Policies: len(l.policies), Namespaces: len(l.namespaces), Floors: f}
	setProgress(fmt.Sprintf("cold %s N=%d: creating %d targets and %d policies", s.kind, n, n, len(l.policies)))
	if err := l.create(ctx, s.cp.client); err != nil {
		return res, err
	}
	expectLayout(l, s.targets, s.policies, firstOrigin, time.Now())
	// Every object the operator will see now exists; the phase starts
	// with the operator.
	op, err := startOperator(ctx, s.cp, s.cfg.workDir, s.flags, s.cfg.managerArgs)
	if err != nil {
		return res, err
	}
	s.op = op
	ph, err := beginPhase(ctx, s.cp, op, true)
	if err != nil {
		return res, err
	}
	ph.started = op.started
	if s.cfg.profile && op.pprofURL != "" {
		go func() {
			if err := op.waitMetrics(ctx); err == nil {
				path := s.cfg.resultBase + fmt.Sprintf("-cpu-%s-%d.pprof", s.kind, n)
				if err := op.profileCPU(ctx, path); err != nil {
					logf("profiling failed", "error", err)
				}
			}
		}()
	}
	setProgressFunc(func() string {
		tm, ta := s.targets.progress()
		pm, pa := s.policies.progress()
		return fmt.Sprintf("cold %s N=%d: %d/%d targets, %d/%d policies programmed", s.kind, n, tm, ta, pm, pa)
	})
	if err := waitMet(ctx, s.cfg.timeout, s.targets, s.policies); err != nil {
		return res, fmt.Errorf("cold convergence of %d %ss: %w", n, s.kind, err)
	}
	done := s.targets.lastMet()
	if p := s.policies.lastMet(); p.After(done) {
		done = p
	}
	res.Seconds = done.Sub(op.started).Seconds()
	res.Resources = ph.end(ctx)
	res.Resources.WallSeconds = res.Seconds
	if f.BestSeconds > 0 {
		res.Ratio = res.Seconds / f.BestSeconds
	}
	logf("cold convergence", "kind", s.kind, "targets", n, "seconds", res.Seconds, "floorSeconds", f.BestSeconds, "ratio", res.Ratio)
	return res, nil
}

// steady watches the converged operator for a window in which nothing
// changes and counts what it writes.
func (s *session) steady(ctx context.Context, n int) (steadyResult, error) {
	res := steadyResult{Kind: s.kind, Targets: n}
	ph, err := beginPhase(ctx, s.cp, s.op, false)
	if err != nil {
		return res, err
	}
	setProgress(fmt.Sprintf("steady state %s N=%d: watching for %s", s.kind, n, s.cfg.steadyWindow))
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(s.cfg.steadyWindow):
	}
	res.Resources = ph.end(ctx)
	res.WindowSeconds = res.Resources.WallSeconds
	res.OperatorWrites = sumCounts(res.Resources.OperatorRequests, isWriteMethod)
	res.APIServerWrites = sumCounts(res.Resources.APIServerRequests, isWriteMethod)
	res.ReconcilesPerSecond = float64(res.Resources.Reconciles) / res.WindowSeconds
	res.ObjectWrites = sumCounts(res.Resources.APIServerWrites, isObjectWrite)
	logf("steady state", "kind", s.kind, "targets", n, "operatorWrites", res.OperatorWrites, "apiServerWrites", res.APIServerWrites,
		"reconcilesPerSecond", res.ReconcilesPerSecond)
	return res, nil
}

// fanout programs k objects under one selector policy in a namespace of
// their own, then changes the policy's origin and timestamps each object
// as the watch sees it carry the new origin.
func (s *session) fanout(ctx context.Context, k int, f floors) (fanoutResult, error) {
	res := fanoutResult{Kind: s.kind, Objects: k}
	ns := fmt.Sprintf("fanout-%s-%d", map[string]string{kubecorsv1alpha1.KindIngress: "ing", kubecorsv1alpha1.KindHTTPRoute: "route"}[s.kind], k)
	l := layout{kind: s.kind, namespaces: []string{ns}, tracked: true,
		policies: []policyPlan{{namespace: ns, name: sharedPolicy, targets: k}}}
	for i := range k {
		l.targets = append(l.targets, target{namespace: ns, name: fmt.Sprintf("f-%05d", i), policy: sharedPolicy, shared: true})
	}
	s.targets.reset()
	s.policies.reset()
	expectLayout(l, s.targets, s.policies, firstOrigin, time.Now())
	setProgressFunc(func() string {
		m, a := s.targets.progress()
		return fmt.Sprintf("fan-out %s %d: preparing, %d/%d programmed", s.kind, k, m, a)
	})
	if err := l.create(ctx, s.cp.client); err != nil {
		return res, err
	}
	if err := waitMet(ctx, s.cfg.timeout, s.targets, s.policies); err != nil {
		return res, fmt.Errorf("preparing fan-out over %d: %w", k, err)
	}
	ph, err := beginPhase(ctx, s.cp, s.op, false)
	if err != nil {
		return res, err
	}
	s.targets.reset()
	at := time.Now()
	for _, t := range l.targets {
		s.targets.expect(objectKey(t.namespace, t.name), sharedPolicy+" "+secondOrigin, at)
	}
	setProgressFunc(func() string {
		m, a := s.targets.progress()
		return fmt.Sprintf("fan-out %s %d: %d/%d carry the change", s.kind, k, m, a)
	})
	if err := updatePolicyOrigin(ctx, s.cp.client, ns, sharedPolicy, secondOrigin); err != nil {
		return res, err
	}
	if err := waitMet(ctx, s.cfg.timeout, s.targets); err != nil {
		return res, fmt.Errorf("fan-out over %d: %w", k, err)
	}
	res.Resources = ph.end(ctx)
	latencies := s.targets.latencies()
	res.Latency = summarize(latencies)
	res.Samples = secondsOf(latencies)
	if f.BestWritesPerSecond > 0 {
		res.FloorSeconds = float64(k) / f.BestWritesPerSecond
		res.Ratio = res.Latency.MaxSeconds / res.FloorSeconds
	}
	logf("fan-out", "kind", s.kind, "objects", k, "p50", res.Latency.P50Seconds, "p99", res.Latency.P99Seconds, "max", res.Latency.MaxSeconds)
	return res, nil
}

// churn creates, relabels and deletes Ingresses under one selector policy
// at a fixed rate and measures, per change, the lag until the watch sees
// the object in its programmed state (configured, or cleaned up).
func (s *session) churn(ctx context.Context, base int, rate float64, duration time.Duration) (churnResult, error) {
	res := churnResult{BaseTargets: base, RatePerSecond: rate, Operations: map[string]int{}}
	const ns = "churn"
	l := layout{kind: s.kind, namespaces: []string{ns}, tracked: true, policies: []policyPlan{{namespace: ns, name: sharedPolicy, targets: base}}}
	for i := range base {
		l.targets = append(l.targets, target{namespace: ns, name: fmt.Sprintf("b-%05d", i), policy: sharedPolicy, shared: true})
	}
	s.targets.reset()
	s.policies.reset()
	expectLayout(l, s.targets, s.policies, firstOrigin, time.Now())
	setProgress("churn: preparing")
	if err := l.create(ctx, s.cp.client); err != nil {
		return res, err
	}
	if err := waitMet(ctx, s.cfg.timeout, s.targets, s.policies); err != nil {
		return res, fmt.Errorf("preparing churn: %w", err)
	}
	s.targets.reset()
	selected := make([]string, 0, base)
	for _, t := range l.targets {
		selected = append(selected, t.name)
	}
	var unselected []string
	programmed := sharedPolicy + " " + firstOrigin
	ph, err := beginPhase(ctx, s.cp, s.op, false)
	if err != nil {
		return res, err
	}
	relabel := func(name string, selected bool) error {
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:null}}}`, labelGroup)
		if selected {
			patch = fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, labelGroup, groupShared)
		}
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		return s.cp.client.Patch(ctx, ing, client.RawPatch(types.MergePatchType, []byte(patch)))
	}
	ticker := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer ticker.Stop()
	start := time.Now()
	created := 0
	for i := 0; time.Since(start) < duration; i++ {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-ticker.C:
		}
		// Each change is made before the next, so that two changes of one
		// object never race; a slow write lowers the rate, which the
		// result reports.
		now := time.Now()
		var err error
		switch op := i % 4; {
		case op == 0:
			name := fmt.Sprintf("c-%05d", created)
			created++
			s.targets.expect(objectKey(ns, name), programmed, now)
			selected = append(selected, name)
			res.Operations["create"]++
			err = s.cp.client.Create(ctx, newIngress(ns, name, map[string]string{labelGroup: groupShared, labelTracked: trackedValue}))
		case op == 1 && len(selected) > 0:
			name := selected[0]
			selected = selected[1:]
			unselected = append(unselected, name)
			s.targets.expect(objectKey(ns, name), "", now)
			res.Operations["relabel out of the selector"]++
			err = relabel(name, false)
		case op == 2 && len(unselected) > 0:
			name := unselected[0]
			unselected = unselected[1:]
			selected = append(selected, name)
			s.targets.expect(objectKey(ns, name), programmed, now)
			res.Operations["relabel into the selector"]++
			err = relabel(name, true)
		case op == 3 && len(selected) > 0:
			name := selected[0]
			selected = selected[1:]
			s.targets.forget(objectKey(ns, name))
			res.Operations["delete"]++
			err = s.cp.client.Delete(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
		}
		if err != nil {
			return res, fmt.Errorf("churn: %w", err)
		}
		if i%20 == 0 {
			m, a := s.targets.progress()
			setProgress(fmt.Sprintf("churn: %s of %s, %d/%d changes programmed", time.Since(start).Round(time.Second), duration, m, a))
		}
	}
	res.Seconds = time.Since(start).Seconds()
	var ops int
	for _, n := range res.Operations {
		ops += n
	}
	res.RatePerSecond = float64(ops) / res.Seconds
	// What is still in flight gets a minute to land; what does not is
	// reported, not hidden.
	_ = waitMet(ctx, time.Minute, s.targets)
	res.Resources = ph.end(ctx)
	met, all := s.targets.progress()
	res.Unconverged = all - met
	res.Lag = summarize(s.targets.latencies())
	logf("churn", "operations", res.Operations, "p99", res.Lag.P99Seconds, "unconverged", res.Unconverged)
	return res, nil
}

// isObjectWrite reports whether a "VERB resource[/subresource]" write
// touched an object the operator configures or reports on.
func isObjectWrite(key string) bool {
	_, resource, _ := strings.Cut(key, " ")
	resource, _, _ = strings.Cut(resource, "/")
	switch resource {
	case "ingresses", "httproutes", "corspolicies", "middlewares":
		return true
	}
	return false
}

func namespaceObject(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}
