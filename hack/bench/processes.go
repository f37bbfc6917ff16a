package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// managerBinary is the operator binary `make bench` builds.
const managerBinary = "bin/manager"

// benchScheme knows every kind the benchmark creates or reads.
var benchScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, kubecorsv1alpha1.AddToScheme, gatewayv1.Install} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// controlPlane is one envtest kube-apiserver and etcd, fresh for each
// session so that objects of earlier sessions neither slow the API server
// nor fill the operator's cache.
type controlPlane struct {
	env *envtest.Environment
	// cfg is an admin configuration without client-side rate limiting.
	cfg            *rest.Config
	client         client.Client
	clientset      *kubernetes.Clientset
	kubeconfigPath string
}

func startControlPlane(assets, workDir string) (*controlPlane, error) {
	env := &envtest.Environment{
		CRDDirectoryPaths: []string{
			filepath.Join("config", "crd", "bases"),
			filepath.Join("test", "crds", "gateway-api", "standard"),
		},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	cp := &controlPlane{env: env}
	fail := func(err error) (*controlPlane, error) { _ = env.Stop(); return nil, err }
	admin, err := env.ControlPlane.AddUser(envtest.User{Name: "bench-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fail(err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return fail(err)
	}
	cp.kubeconfigPath = filepath.Join(workDir, "kubeconfig")
	if err := os.WriteFile(cp.kubeconfigPath, kubeconfig, 0o600); err != nil {
		return fail(err)
	}
	cp.cfg = rest.CopyConfig(cfg)
	cp.cfg.QPS, cp.cfg.Burst = -1, 0
	if cp.client, err = client.New(cp.cfg, client.Options{Scheme: benchScheme}); err != nil {
		return fail(err)
	}
	if cp.clientset, err = kubernetes.NewForConfig(cp.cfg); err != nil {
		return fail(err)
	}
	class := &networkingv1.IngressClass{}
	class.Name = ingressClassName
	class.Spec.Controller = "k8s.io/ingress-nginx"
	if err := cp.client.Create(context.Background(), class); err != nil {
		return fail(err)
	}
	return cp, nil
}

func (cp *controlPlane) stop() error { return cp.env.Stop() }

// requestsByVerb reads kube-apiserver's apiserver_request_total summed by
// verb, and the writes summed by "VERB resource[/subresource]": every
// client's requests, the benchmark's own included.
func (cp *controlPlane) requestsByVerb(ctx context.Context) (byVerb, writes map[string]float64, err error) {
	raw, err := cp.clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, nil, err
	}
	samples := parseMetrics(string(raw))
	writes = map[string]float64{}
	for _, s := range samples {
		if s.name != "apiserver_request_total" || !isWriteMethod(s.labels["verb"]) {
			continue
		}
		key := s.labels["verb"] + " " + s.labels["resource"]
		if sub := s.labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		writes[key] += s.value
	}
	return sumBy(samples, "apiserver_request_total", "verb", nil), writes, nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// managerFlags lists the flags the manager binary accepts, from its
// --help, so that the benchmark passes optional flags only to a manager
// that has them.
func managerFlags() (map[string]bool, error) {
	out, _ := exec.Command(managerBinary, "--help").CombinedOutput()
	flags := map[string]bool{}
	for line := range strings.SplitSeq(string(out), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(line, "-"), " ")
		flags[name] = true
	}
	if !flags["metrics-bind-address"] {
		return nil, fmt.Errorf("%s --help lists no --metrics-bind-address: is the binary built?", managerBinary)
	}
	return flags, nil
}

// operator is the manager binary running against a control plane, with
// its metrics endpoint over plain HTTP on loopback.
type operator struct {
	cmd        *exec.Cmd
	pid        int
	metricsURL string
	pprofURL   string
	started    time.Time

	mu       sync.Mutex
	peakHeap float64
	stopped  chan struct{}
}

// usage is one reading of the operator's resource use and of the
// requests its client sent.
type usage struct {
	cpuSeconds float64
	hwmKiB     int64
	requests   map[string]float64 // by HTTP method, from rest_client_requests_total
	reconciles float64
	// reconcileSeconds is the time spent in Reconcile, summed over every
	// controller.
	reconcileSeconds float64
	// workers is the corspolicy controller's MaxConcurrentReconciles.
	workers float64
}

func startOperator(ctx context.Context, cp *controlPlane, workDir string, flags map[string]bool, extra []string) (*operator, error) {
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	probePort, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--kubeconfig", cp.kubeconfigPath,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"--metrics-secure=false",
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probePort),
		"--leader-elect=false",
	}
	o := &operator{metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort), stopped: make(chan struct{})}
	// A profile endpoint only where the manager offers one (issue #15's
	// item 4 adds it), so that the benchmark runs before and after.
	if flags["pprof-bind-address"] {
		pprofPort, err := freePort()
		if err != nil {
			return nil, err
		}
		args = append(args, "--pprof-bind-address", fmt.Sprintf("127.0.0.1:%d", pprofPort))
		o.pprofURL = fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", pprofPort)
	}
	args = append(args, extra...)
	logFile, err := os.OpenFile(filepath.Join(workDir, "manager.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600) //nolint:gosec // G304: the benchmark's own temporary directory.
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(managerBinary, args...) //nolint:gosec // G204: the binary `make bench` just built, with the benchmark's own arguments.
	// No webhook: the benchmark writes only valid policies, and admission
	// latency is not what it measures.
	cmd.Env = append(os.Environ(), "ENABLE_WEBHOOKS=false")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The manager must not outlive the benchmark, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	o.started = time.Now()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	o.cmd, o.pid = cmd, cmd.Process.Pid
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(o.stopped) }()
	go o.sampleMemory(ctx)
	return o, nil
}

// stop ends the manager and waits for it.
func (o *operator) stop() {
	_ = o.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-o.stopped:
	case <-time.After(15 * time.Second):
		_ = o.cmd.Process.Kill()
		<-o.stopped
	}
}

// sampleMemory records, every half second, the Go heap in use (from the
// metrics endpoint), keeping the peak since the last takePeak. The
// resident set's peak needs no sampling: the kernel keeps it (VmHWM).
func (o *operator) sampleMemory(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.stopped:
			return
		case <-t.C:
		}
		if samples, err := o.scrape(ctx); err == nil {
			heap := total(samples, "go_memstats_heap_inuse_bytes")
			o.mu.Lock()
			o.peakHeap = max(o.peakHeap, heap)
			o.mu.Unlock()
		}
	}
}

// takePeak returns the peak heap in use (bytes) sampled since the previous
// call, and starts over.
func (o *operator) takePeak() float64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	heap := o.peakHeap
	o.peakHeap = 0
	return heap
}

func (o *operator) scrape(ctx context.Context) ([]sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.metricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return parseMetrics(string(raw)), nil
}

// read takes one usage reading. Before the metrics endpoint answers (just
// after start) the request counts are zero, which is what they are.
func (o *operator) read(ctx context.Context) usage {
	u := usage{requests: map[string]float64{}}
	u.cpuSeconds, _ = procCPUSeconds(o.pid)
	u.hwmKiB, _ = procStatusKiB(o.pid, "VmHWM")
	if samples, err := o.scrape(ctx); err == nil {
		u.requests = sumBy(samples, "rest_client_requests_total", "method", nil)
		u.reconciles = total(samples, "controller_runtime_reconcile_total")
		u.reconcileSeconds = total(samples, "controller_runtime_reconcile_time_seconds_sum")
		u.workers = sumBy(samples, "controller_runtime_max_concurrent_reconciles", "controller", nil)["corspolicy"]
	}
	return u
}

// waitMetrics waits until the metrics endpoint answers.
func (o *operator) waitMetrics(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := o.scrape(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-o.stopped:
			return errors.New("the manager exited (see manager.log in the work directory)")
		case <-time.After(200 * time.Millisecond):
		}
	}
	return errors.New("the manager's metrics endpoint did not answer within 60s")
}

// profileSeconds is how long the CPU profile of a cold convergence runs.
const profileSeconds = 20

// profileCPU fetches a CPU profile from the manager's pprof endpoint into
// path.
func (o *operator) profileCPU(ctx context.Context, path string) error {
	if o.pprofURL == "" {
		return errors.New("the manager has no --pprof-bind-address")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/profile?seconds=%d", o.pprofURL, profileSeconds), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof answered %s", resp.Status)
	}
	f, err := os.Create(path) //nolint:gosec // G304: the results directory.
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	_, err = io.Copy(f, resp.Body)
	return err
}

// procStatusKiB reads a "Name:   123 kB" field of /proc/<pid>/status.
func procStatusKiB(pid int, field string) (int64, error) {
	return kibField(fmt.Sprintf("/proc/%d/status", pid), field)
}

// kibField reads a "Name:   123 kB" field of a /proc file.
func kibField(path, field string) (int64, error) {
	raw, err := os.ReadFile(path) //nolint:gosec // G304: a /proc path the benchmark builds.
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if value, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(value)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in %s", field, path)
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// it is 100 on every Linux architecture Go supports.
const clockTicks = 100

// procCPUSeconds reads the user plus system CPU time of a process.
func procCPUSeconds(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after it are fixed.
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndex(s, ")")+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (utime + stime) / clockTicks, nil
}
