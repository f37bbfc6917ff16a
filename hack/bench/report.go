package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"image/color"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// report is everything one run measured; it is written as JSON and as
// Markdown.
type report struct {
	ID       string          `json:"id"`
	Started  time.Time       `json:"started"`
	Finished time.Time       `json:"finished"`
	Quick    bool            `json:"quick"`
	Machine  machine         `json:"machine"`
	Manager  managerSettings `json:"manager"`
	Cold     []coldResult    `json:"cold"`
	Steady   []steadyResult  `json:"steady"`
	Fanout   []fanoutResult  `json:"fanout"`
	Churn    *churnResult    `json:"churn,omitempty"`
	Targets  []targetCheck   `json:"targets"`
}

// machine describes where the run happened, load included: the machine
// is shared, and the load says how much of it the run had.
type machine struct {
	CPUs         int     `json:"cpus"`
	CPUModel     string  `json:"cpuModel"`
	MemoryMiB    int64   `json:"memoryMiB"`
	GoVersion    string  `json:"goVersion"`
	Kubernetes   string  `json:"kubernetes"`
	LoadAtStart  string  `json:"loadAverageAtStart"`
	LoadAtFinish string  `json:"loadAverageAtFinish"`
	Commit       string  `json:"commit"`
	WallMinutes  float64 `json:"wallMinutes"`
}

// managerSettings records the optional manager flags the run found.
type managerSettings struct {
	ExtraArgs []string `json:"extraArgs"`
	Pprof     bool     `json:"pprof"`
}

// targetCheck is one of issue #15's targets and whether this run met it.
type targetCheck struct {
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      string `json:"met"`
}

func newReport(cfg benchConfig) *report {
	now := time.Now().UTC()
	r := &report{ID: now.Format("20060102-150405"), Started: now, Quick: cfg.quick,
		Manager: managerSettings{ExtraArgs: cfg.managerArgs, Pprof: cfg.managerFlags["pprof-bind-address"]}}
	r.Machine = machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Kubernetes: filepath.Base(cfg.assets), LoadAtStart: loadAverage()}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				r.Machine.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if kib, err := kibField("/proc/meminfo", "MemTotal"); err == nil {
		r.Machine.MemoryMiB = kib / 1024
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		r.Machine.Commit = strings.TrimSpace(string(out))
	}
	return r
}

func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	return strings.Join(f[:min(3, len(f))], " ")
}

// finish records the end of the run and judges it.
func (r *report) finish() {
	r.Finished = time.Now().UTC()
	r.Machine.LoadAtFinish = loadAverage()
	r.Machine.WallMinutes = r.Finished.Sub(r.Started).Minutes()
	r.judge()
}

// judge derives the churn's floor and checks issue #15's targets, which
// are set at 10,000 Ingresses; a run without that size says so.
func (r *report) judge() {
	r.Targets = nil
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "missed"
	}
	atTarget := func(n int) string {
		if n == 10000 {
			return ""
		}
		return fmt.Sprintf(" (at %d, not the target's 10,000)", n)
	}
	var largest *coldResult
	for i := range r.Cold {
		if c := &r.Cold[i]; c.Kind == kubecorsv1alpha1.KindIngress && (largest == nil || c.Targets > largest.Targets) {
			largest = c
		}
	}
	if c := r.Churn; c != nil && largest != nil {
		// Churn runs in the largest size's session, beside its floors.
		for _, run := range largest.Floors.Runs {
			if run.Workers == 1 && run.Writes > 0 {
				c.FloorSeconds = run.Seconds / float64(run.Writes)
				c.Ratio = c.Lag.P99Seconds / c.FloorSeconds
			}
		}
	}
	if largest != nil {
		r.Targets = append(r.Targets, targetCheck{"cold convergence within 1.5x of the floor",
			fmt.Sprintf("%.2fx (%.1f s vs %.1f s)%s", largest.Ratio, largest.Seconds, largest.Floors.BestSeconds, atTarget(largest.Targets)),
			verdict(largest.Ratio <= 1.5)})
		// The target is set at N Ingresses: the peak while the cache holds
		// the N of cold convergence and steady state. The fan-outs and
		// churn add their own Ingresses to the same cache, so their peak
		// is shown beside it.
		rss := largest.Resources.PeakRSSMiB
		for _, s := range r.Steady {
			if s.Kind == largest.Kind && s.Targets == largest.Targets {
				rss = max(rss, s.Resources.PeakRSSMiB)
			}
		}
		r.Targets = append(r.Targets, targetCheck{"operator RSS under 200 MiB",
			fmt.Sprintf("%.0f MiB peak with %d Ingresses%s; %.0f MiB once the fan-outs and churn have added theirs", rss, largest.Targets,
				atTarget(largest.Targets), maxRSS(r, kubecorsv1alpha1.KindIngress)),
			verdict(rss < 200)})
	}
	for _, s := range r.Steady {
		if largest != nil && s.Kind == largest.Kind && s.Targets == largest.Targets {
			r.Targets = append(r.Targets, targetCheck{"zero writes in steady state",
				fmt.Sprintf("%d operator writes in %.0f s (%s), %d of them to Ingresses, HTTPRoutes or CorsPolicies%s",
					s.OperatorWrites, s.WindowSeconds, methodsString(s.Resources.APIServerWrites), s.ObjectWrites, atTarget(s.Targets)),
				verdict(s.OperatorWrites == 0)})
		}
	}
	for _, f := range r.Fanout {
		limit := map[int]float64{500: 2, 5000: 15}[f.Objects]
		if f.Kind != kubecorsv1alpha1.KindIngress || limit == 0 {
			continue
		}
		r.Targets = append(r.Targets, targetCheck{fmt.Sprintf("fan-out p99 under %.0f s for %d objects", limit, f.Objects),
			fmt.Sprintf("p99 %.2f s", f.Latency.P99Seconds), verdict(f.Latency.P99Seconds < limit)})
	}
}

func maxRSS(r *report, kind string) float64 {
	var m float64
	for _, c := range r.Cold {
		if c.Kind == kind {
			m = max(m, c.Resources.PeakRSSMiB)
		}
	}
	for _, s := range r.Steady {
		if s.Kind == kind {
			m = max(m, s.Resources.PeakRSSMiB)
		}
	}
	for _, f := range r.Fanout {
		if f.Kind == kind {
			m = max(m, f.Resources.PeakRSSMiB)
		}
	}
	if r.Churn != nil && kind == kubecorsv1alpha1.KindIngress {
		m = max(m, r.Churn.Resources.PeakRSSMiB)
	}
	return m
}

// readReport loads a report that an earlier run wrote as JSON, so that its
// Markdown and plots can be rendered again.
func readReport(path string) (*report, error) {
	raw, err := os.ReadFile(path) //nolint:gosec // G304: a path the developer names.
	if err != nil {
		return nil, err
	}
	r := &report{}
	return r, json.Unmarshal(raw, r)
}

// write saves the JSON, the Markdown and the plots, and with baseline
// also the committed copies; it returns the paths written.
func (r *report) write(cfg benchConfig) ([]string, error) {
	base := filepath.Join(cfg.resultsDir, r.ID)
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	paths := []string{base + ".json", base + ".md"}
	if err := os.WriteFile(base+".json", raw, 0o600); err != nil {
		return nil, err
	}
	convergence, fanout := base+"-convergence.png", base+"-fanout.png"
	if err := r.plotConvergence(convergence); err != nil {
		return nil, err
	}
	if err := r.plotFanout(fanout); err != nil {
		return nil, err
	}
	paths = append(paths, convergence, fanout)
	if err := os.WriteFile(base+".md", []byte(r.markdown(filepath.Base(convergence), filepath.Base(fanout))), 0o600); err != nil {
		return nil, err
	}
	if cfg.baseline {
		plots := filepath.Join("bench", "plots")
		if err := os.MkdirAll(plots, 0o750); err != nil {
			return nil, err
		}
		for src, dst := range map[string]string{convergence: "convergence.png", fanout: "fanout.png"} {
			b, err := os.ReadFile(src) //nolint:gosec // G304: the file just written.
			if err != nil {
				return nil, err
			}
			//nolint:gosec // G703: fixed file names under bench/plots.
			if err := os.WriteFile(filepath.Join(plots, dst), b, 0o600); err != nil {
				return nil, err
			}
		}
		md := r.markdown("plots/convergence.png", "plots/fanout.png")
		if err := os.WriteFile(filepath.Join("bench", "BASELINE.md"), []byte(md), 0o600); err != nil {
			return nil, err
		}
		paths = append(paths, "bench/BASELINE.md", "bench/plots/convergence.png", "bench/plots/fanout.png")
	}
	return paths, nil
}

// markdown renders the report; the plot paths are relative to the file.
func (r *report) markdown(convergencePNG, fanoutPNG string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	mode := "full"
	if r.Quick {
		mode = "quick (CI)"
	}
	p("# kubecors benchmark %s", r.ID)
	p("")
	p("Mode %s; %d CPUs (%s), %d MiB; %s; envtest %s; commit %s; wall time %.1f min; load average %s at start, %s at the end.",
		mode, r.Machine.CPUs, r.Machine.CPUModel, r.Machine.MemoryMiB, r.Machine.GoVersion, r.Machine.Kubernetes, r.Machine.Commit,
		r.Machine.WallMinutes, r.Machine.LoadAtStart, r.Machine.LoadAtFinish)
	if len(r.Manager.ExtraArgs) > 0 {
		p("Manager flags added: `%s`.", strings.Join(r.Manager.ExtraArgs, " "))
	}
	p("")
	p("## Targets (issue #15)")
	p("")
	p("| target | measured | |")
	p("|---|---|---|")
	for _, t := range r.Targets {
		p("| %s | %s | %s |", t.Target, t.Measured, t.Met)
	}
	p("")
	p("## Cold convergence")
	p("")
	p("From the operator's start until every target carries its policy and every policy reports all targets programmed. Floor: a bare client making the same writes (one server-side apply per Ingress, or read + guarded patch per HTTPRoute, and one status write per policy), unthrottled; the fastest worker count is the floor.")
	p("")
	p("| kind | targets | policies | operator s | floor s (best) | ratio | floor s at 1 / 4 / 16 / 64 workers | operator requests | CPU s | peak RSS MiB | peak heap MiB | reconciles (time in Reconcile, workers) |")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range r.Cold {
		runs := make([]string, 0, len(c.Floors.Runs))
		for _, fr := range c.Floors.Runs {
			runs = append(runs, fmt.Sprintf("%.1f", fr.Seconds))
		}
		p("| %s | %d | %d | %.1f | %.1f (%s) | **%.2f×** | %s | %s | %.1f | %.0f | %.0f | %s |", c.Kind, c.Targets, c.Policies, c.Seconds,
			c.Floors.BestSeconds, workersString(c.Floors.BestWorkers), c.Ratio, strings.Join(runs, " / "), methodsString(c.Resources.OperatorRequests),
			c.Resources.CPUSeconds, c.Resources.PeakRSSMiB, c.Resources.PeakHeapMiB, reconcilesString(c.Resources))
	}
	p("")
	p("Floor runs in detail (writes per second; requests by method):")
	p("")
	for _, c := range r.Cold {
		for _, fr := range c.Floors.Runs {
			p("- %s × %d, %s: %d writes in %.1f s = %.0f writes/s (%s)", c.Kind, c.Targets, workersString(fr.Workers), fr.Writes, fr.Seconds,
				fr.WritesPerSecond, methodsString(fr.Requests))
		}
	}
	p("")
	p("API server requests by verb during each cold convergence (all clients, the benchmark's watches included):")
	p("")
	for _, c := range r.Cold {
		p("- %s × %d: %s; writes: %s", c.Kind, c.Targets, methodsString(c.Resources.APIServerRequests), methodsString(c.Resources.APIServerWrites))
	}
	p("")
	p("![convergence time against N](%s)", convergencePNG)
	p("")
	p("## Steady state")
	p("")
	p("Right after convergence, nothing changes for the window; the floor is zero writes.")
	p("")
	p("| kind | targets | window s | operator writes | operator requests | API server writes (all clients) by verb and resource | of which to Ingresses, HTTPRoutes, CorsPolicies | reconciles/s | CPU s | peak RSS MiB | peak heap MiB |")
	p("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range r.Steady {
		p("| %s | %d | %.0f | **%d** | %s | %d: %s | **%d** | %.2f | %.1f | %.0f | %.0f |", s.Kind, s.Targets, s.WindowSeconds, s.OperatorWrites,
			methodsString(s.Resources.OperatorRequests), s.APIServerWrites, methodsString(s.Resources.APIServerWrites), s.ObjectWrites,
			s.ReconcilesPerSecond, s.Resources.CPUSeconds, s.Resources.PeakRSSMiB, s.Resources.PeakHeapMiB)
	}
	p("")
	p("## Fan-out")
	p("")
	p("One selector policy's origin changes; a watch timestamps each object when it carries the new origin. Floor: the objects' writes at the best floor throughput of the same run.")
	p("")
	p("| kind | objects | p50 s | p99 s | max s | floor s | max/floor | wall s | operator requests | CPU s | peak RSS MiB | peak heap MiB |")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, f := range r.Fanout {
		p("| %s | %d | %.2f | %.2f | %.2f | %.2f | **%.2f×** | %.1f | %s | %.1f | %.0f | %.0f |", f.Kind, f.Objects, f.Latency.P50Seconds, f.Latency.P99Seconds,
			f.Latency.MaxSeconds, f.FloorSeconds, f.Ratio, f.Resources.WallSeconds, methodsString(f.Resources.OperatorRequests), f.Resources.CPUSeconds,
			f.Resources.PeakRSSMiB, f.Resources.PeakHeapMiB)
	}
	p("")
	p("![fan-out latency distribution](%s)", fanoutPNG)
	p("")
	if c := r.Churn; c != nil {
		p("## Churn")
		p("")
		p("%d Ingresses under one selector policy, then %.0f operations/s for %.0f s (%s). Lag: from the change to the watch seeing the object programmed (configured, or cleaned up after leaving the selector); deletions have no lag to measure.",
			c.BaseTargets, c.RatePerSecond, c.Seconds, opsString(c.Operations))
		p("")
		p("| changes | p50 s | p99 s | max s | floor s (one write) | p99/floor | not converged after 60 s | wall s | operator requests | CPU s | peak RSS MiB | peak heap MiB |")
		p("|---|---|---|---|---|---|---|---|---|---|---|---|")
		p("| %d | %.2f | %.2f | %.2f | %.3f | **%.1f×** | %d | %.1f | %s | %.1f | %.0f | %.0f |", c.Lag.Count, c.Lag.P50Seconds, c.Lag.P99Seconds, c.Lag.MaxSeconds,
			c.FloorSeconds, c.Ratio, c.Unconverged, c.Resources.WallSeconds, methodsString(c.Resources.OperatorRequests), c.Resources.CPUSeconds,
			c.Resources.PeakRSSMiB, c.Resources.PeakHeapMiB)
		p("")
	}
	return b.String()
}

// workersString prints a worker count.
func workersString(n int) string {
	if n == 1 {
		return "1 worker"
	}
	return fmt.Sprintf("%d workers", n)
}

// reconcilesString prints the reconciles of a phase with the time spent in
// them and the worker count, when the run recorded them (older runs did
// not).
func reconcilesString(r resources) string {
	if r.Workers == 0 {
		return fmt.Sprintf("%d", r.Reconciles)
	}
	return fmt.Sprintf("%d (%.1f s, %s)", r.Reconciles, r.ReconcileSeconds, workersString(r.Workers))
}

// plural names a kind's objects.
func plural(kind string) string {
	if strings.HasSuffix(kind, "s") {
		return kind + "es"
	}
	return kind + "s"
}

func opsString(ops map[string]int) string {
	parts := make([]string, 0, len(ops))
	for _, k := range sortedKeys(ops) {
		parts = append(parts, fmt.Sprintf("%d %s", ops[k], k))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// plotConvergence draws cold convergence time against N for the operator
// and the floor (best, and each worker count) for Ingresses.
func (r *report) plotConvergence(path string) error {
	p := plot.New()
	p.Title.Text = "Cold convergence, Ingresses"
	p.X.Label.Text = "Ingresses"
	p.Y.Label.Text = "seconds"
	p.Legend.Top, p.Legend.Left = true, true
	cold := slices.DeleteFunc(slices.Clone(r.Cold), func(c coldResult) bool { return c.Kind != kubecorsv1alpha1.KindIngress })
	slices.SortFunc(cold, func(a, b coldResult) int { return cmp.Compare(a.Targets, b.Targets) })
	operator, best := make(plotter.XYs, 0, len(cold)), make(plotter.XYs, 0, len(cold))
	perWorkers := map[int]plotter.XYs{}
	for _, c := range cold {
		operator = append(operator, plotter.XY{X: float64(c.Targets), Y: c.Seconds})
		best = append(best, plotter.XY{X: float64(c.Targets), Y: c.Floors.BestSeconds})
		for _, fr := range c.Floors.Runs {
			perWorkers[fr.Workers] = append(perWorkers[fr.Workers], plotter.XY{X: float64(c.Targets), Y: fr.Seconds})
		}
	}
	if err := addLine(p, "operator", operator, color.RGBA{R: 200, A: 255}, 2, nil); err != nil {
		return err
	}
	if err := addLine(p, "floor (fastest)", best, color.RGBA{B: 200, A: 255}, 2, nil); err != nil {
		return err
	}
	grey := []color.Color{color.Gray{Y: 170}, color.Gray{Y: 130}, color.Gray{Y: 90}, color.Gray{Y: 50}}
	workers := sortedIntKeys(perWorkers)
	for i, w := range workers {
		if err := addLine(p, "floor, "+workersString(w), perWorkers[w], grey[i%len(grey)], 1, []vg.Length{vg.Points(4), vg.Points(3)}); err != nil {
			return err
		}
	}
	p.Add(plotter.NewGrid())
	p.Y.Min, p.X.Min = 0, 0
	p.X.Max, p.Y.Max = p.X.Max*1.05, p.Y.Max*1.1
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

func sortedIntKeys[V any](m map[int]V) []int { return slices.Sorted(maps.Keys(m)) }

func addLine(p *plot.Plot, name string, xys plotter.XYs, c color.Color, width float64, dashes []vg.Length) error {
	if len(xys) == 0 {
		return nil
	}
	line, points, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	line.Color, line.Width, line.Dashes = c, vg.Points(width), dashes
	points.Color, points.Shape = c, draw.CircleGlyph{}
	p.Add(line, points)
	p.Legend.Add(name, line, points)
	return nil
}

// plotFanout draws, for each fan-out, the fraction of objects carrying the
// change against the time since the change (an empirical CDF).
func (r *report) plotFanout(path string) error {
	p := plot.New()
	p.Title.Text = "Fan-out: objects carrying a policy change"
	p.X.Label.Text = "seconds since the change"
	p.Y.Label.Text = "fraction of objects"
	// Bottom right: the curves rise from the bottom left to the top
	// right, and reach that corner last.
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(10)
	palette := []color.Color{color.RGBA{R: 200, A: 255}, color.RGBA{B: 200, A: 255}, color.RGBA{G: 140, A: 255}, color.RGBA{R: 150, B: 150, A: 255}}
	for i, f := range r.Fanout {
		samples := slices.Clone(f.Samples)
		slices.Sort(samples)
		xys := make(plotter.XYs, 0, len(samples)+1)
		xys = append(xys, plotter.XY{X: 0, Y: 0})
		for j, s := range samples {
			xys = append(xys, plotter.XY{X: s, Y: float64(j+1) / float64(len(samples))})
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		line.Color, line.Width = palette[i%len(palette)], vg.Points(2)
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%d %s (p99 %.2f s)", f.Objects, plural(f.Kind), f.Latency.P99Seconds), line)
	}
	p.Y.Min, p.Y.Max, p.X.Min = 0, 1, 0
	p.Add(plotter.NewGrid())
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}
