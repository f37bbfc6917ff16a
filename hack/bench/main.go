// Command bench is kubecors's benchmark (issue #15): it runs the real
// manager binary against envtest control planes and measures cold
// convergence, steady state, fan-out and churn for Ingresses, and cold
// convergence and fan-out for HTTPRoutes, each beside the physical limit
// measured in the same run: a bare client making the same writes,
// unthrottled, at 1, 4, 16 and 64 workers.
//
// Run it through `make bench`; results go to bench/results/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// benchConfig is what one benchmark run does.
type benchConfig struct {
	assets, workDir string
	sizes           []int
	namespaces      int
	floorWorkers    []int
	fanouts         []int
	routes          int
	routeFanout     int
	churnBase       int
	churnRate       float64
	churnDuration   time.Duration
	steadyWindow    time.Duration
	timeout         time.Duration
	quick           bool
	profile         bool
	managerArgs     []string
	managerFlags    map[string]bool
	resultsDir      string
	resultBase      string
	baseline        bool
	rerender        string
}

func main() {
	var (
		cfg         benchConfig
		sizes       = flag.String("sizes", "1000,5000,10000", "comma-separated Ingress counts for cold convergence and steady state")
		fanouts     = flag.String("fanouts", "500,5000", "comma-separated fan-out sizes (Ingresses under one policy), run after the largest size")
		workers     = flag.String("floor-workers", "1,4,16,64", "comma-separated worker counts of the floor's bare client")
		managerArgs = flag.String("manager-args", "", "extra flags for the manager, space-separated")
	)
	flag.BoolVar(&cfg.quick, "quick", false, "the CI mode: one fan-out of 500, 100 routes, 20 s steady state and churn")
	flag.IntVar(&cfg.namespaces, "namespaces", 50, "namespaces the targets are spread over")
	flag.IntVar(&cfg.routes, "routes", 2000, "HTTPRoutes (5 rules each) for the route scenario; 0 skips it")
	flag.IntVar(&cfg.routeFanout, "route-fanout", 500, "HTTPRoutes under the route fan-out policy")
	flag.IntVar(&cfg.churnBase, "churn-base", 500, "Ingresses under the churn policy before churn starts")
	flag.Float64Var(&cfg.churnRate, "churn-rate", 10, "churn operations per second")
	flag.DurationVar(&cfg.churnDuration, "churn-duration", 60*time.Second, "how long churn runs; 0 skips it")
	flag.DurationVar(&cfg.steadyWindow, "steady-window", 60*time.Second, "the steady-state window")
	flag.DurationVar(&cfg.timeout, "timeout", 20*time.Minute, "how long any convergence may take before the run fails")
	flag.BoolVar(&cfg.profile, "profile", true, "take a 20 s CPU profile of the operator's cold convergence when it serves pprof")
	flag.StringVar(&cfg.resultsDir, "results", filepath.Join("bench", "results"), "where the Markdown, JSON and plots go")
	flag.StringVar(&cfg.rerender, "render", "", "render the Markdown and plots of an earlier run's JSON again, without running anything")
	flag.BoolVar(&cfg.baseline, "baseline", false, "also write bench/BASELINE.md and the plots in bench/plots/ (the committed copies)")
	flag.Parse()
	var err error
	if cfg.sizes, err = parseInts(*sizes); err == nil {
		if cfg.fanouts, err = parseInts(*fanouts); err == nil {
			cfg.floorWorkers, err = parseInts(*workers)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	cfg.managerArgs = strings.Fields(*managerArgs)
	if cfg.quick {
		cfg.fanouts = []int{500}
		cfg.routes, cfg.routeFanout = min(cfg.routes, 100), min(cfg.routeFanout, 100)
		cfg.churnBase, cfg.churnDuration, cfg.steadyWindow = min(cfg.churnBase, 200), min(cfg.churnDuration, 20*time.Second), min(cfg.steadyWindow, 20*time.Second)
		cfg.namespaces = min(cfg.namespaces, 20)
	}
	// The benchmark's own controller-runtime cache logs nothing worth
	// reading beside the progress line.
	ctrllog.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(ctx context.Context, cfg benchConfig) (err error) {
	if cfg.rerender != "" {
		rep, err := readReport(cfg.rerender)
		if err != nil {
			return err
		}
		cfg.resultsDir = filepath.Dir(cfg.rerender)
		rep.judge()
		paths, err := rep.write(cfg)
		fmt.Println("bench: rendered", strings.Join(paths, ", "))
		return err
	}
	cfg.assets = os.Getenv("KUBEBUILDER_ASSETS")
	if cfg.assets == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set: run `make bench`")
	}
	if cfg.managerFlags, err = managerFlags(); err != nil {
		return err
	}
	if cfg.workDir, err = os.MkdirTemp("", "kubecors-bench-"); err != nil {
		return err
	}
	defer func() {
		if err == nil {
			_ = os.RemoveAll(cfg.workDir)
		} else {
			fmt.Fprintln(os.Stderr, "bench: the manager's log is kept in", cfg.workDir)
		}
	}()
	if err := os.MkdirAll(cfg.resultsDir, 0o750); err != nil {
		return err
	}
	rep := newReport(cfg)
	cfg.resultBase = filepath.Join(cfg.resultsDir, rep.ID)
	stopProgress := startProgress()
	defer stopProgress()

	for i, n := range cfg.sizes {
		if err := ingressSession(ctx, cfg, n, i == len(cfg.sizes)-1, rep); err != nil {
			return err
		}
	}
	if cfg.routes > 0 {
		if err := routeSession(ctx, cfg, rep); err != nil {
			return err
		}
	}
	rep.finish()
	stopProgress()
	paths, err := rep.write(cfg)
	if err != nil {
		return err
	}
	fmt.Printf("\nbench: done in %s; results: %s\n", time.Since(rep.Started).Round(time.Second), strings.Join(paths, ", "))
	return nil
}

// ingressSession runs, on a fresh control plane, the floors and the cold
// convergence and steady state for n Ingresses; the last size also runs
// the fan-outs and churn.
func ingressSession(ctx context.Context, cfg benchConfig, n int, last bool, rep *report) error {
	s, err := newSession(ctx, cfg, kubecorsv1alpha1.KindIngress)
	if err != nil {
		return err
	}
	defer s.close()
	f, err := measureFloors(ctx, s.cp, s.kind, n, cfg.namespaces, cfg.floorWorkers, s.registry)
	if err != nil {
		return err
	}
	cold, err := s.cold(ctx, n, f)
	if err != nil {
		return err
	}
	rep.Cold = append(rep.Cold, cold)
	steady, err := s.steady(ctx, n)
	if err != nil {
		return err
	}
	rep.Steady = append(rep.Steady, steady)
	if !last {
		return nil
	}
	for _, k := range cfg.fanouts {
		fo, err := s.fanout(ctx, k, f)
		if err != nil {
			return err
		}
		rep.Fanout = append(rep.Fanout, fo)
	}
	if cfg.churnDuration > 0 {
		ch, err := s.churn(ctx, cfg.churnBase, cfg.churnRate, cfg.churnDuration)
		if err != nil {
			return err
		}
		rep.Churn = &ch
	}
	return nil
}

// routeSession runs the HTTPRoute floors, cold convergence, steady state
// and fan-out on a fresh control plane.
func routeSession(ctx context.Context, cfg benchConfig, rep *report) error {
	s, err := newSession(ctx, cfg, kubecorsv1alpha1.KindHTTPRoute)
	if err != nil {
		return err
	}
	defer s.close()
	f, err := measureFloors(ctx, s.cp, s.kind, cfg.routes, cfg.namespaces, cfg.floorWorkers, s.registry)
	if err != nil {
		return err
	}
	cold, err := s.cold(ctx, cfg.routes, f)
	if err != nil {
		return err
	}
	rep.Cold = append(rep.Cold, cold)
	steady, err := s.steady(ctx, cfg.routes)
	if err != nil {
		return err
	}
	rep.Steady = append(rep.Steady, steady)
	if cfg.routeFanout > 0 {
		fo, err := s.fanout(ctx, cfg.routeFanout, f)
		if err != nil {
			return err
		}
		rep.Fanout = append(rep.Fanout, fo)
	}
	return nil
}

// progressLine is what the progress line shows now.
var progressLine atomic.Pointer[func() string]

func setProgress(s string) { setProgressFunc(func() string { return s }) }

func setProgressFunc(f func() string) { progressLine.Store(&f) }

var benchStart = time.Now()

// startProgress prints the progress line every five seconds until the
// returned function is called.
func startProgress() func() {
	done := make(chan struct{})
	var stopped atomic.Bool
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if f := progressLine.Load(); f != nil {
					fmt.Fprintf(os.Stderr, "bench [%s] %s\n", time.Since(benchStart).Round(time.Second), (*f)())
				}
			}
		}
	}()
	return func() {
		if stopped.CompareAndSwap(false, true) {
			close(done)
		}
	}
}

// logf prints a fixed message with key/value pairs.
func logf(msg string, kv ...any) {
	var b strings.Builder
	fmt.Fprintf(&b, "bench [%s] %s", time.Since(benchStart).Round(time.Second), msg)
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		if f, ok := v.(float64); ok {
			v = strconv.FormatFloat(f, 'f', 2, 64)
		}
		fmt.Fprintf(&b, " %v=%v", kv[i], v)
	}
	fmt.Fprintln(os.Stderr, b.String())
}
