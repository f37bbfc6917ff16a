//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

const (
	operatorNamespace = "kubecors-system"
	webhookConfigName = "kubecors-validating-webhook-configuration"
)

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// controlPlane is the envtest kube-apiserver and etcd with every CRD the
// suite needs, and an admin kubeconfig on disk for the processes the suite
// runs (the operator and Traefik).
type controlPlane struct {
	env        *envtest.Environment
	client     client.Client
	kubeconfig string
	assets     string
}

func startControlPlane(t *testing.T, root, work string) *controlPlane {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test-e2e`")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths: []string{
			filepath.Join(root, "config", "crd", "bases"),
			filepath.Join(root, "test", "crds", "gateway-api", "standard"),
			filepath.Join(root, "test", "crds", "traefik"),
			filepath.Join(root, "test", "e2e", "crds", "gateway-api"),
			filepath.Join(root, "test", "e2e", "crds", "traefik"),
		},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	admin, err := env.ControlPlane.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(work, "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	scheme := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{clientgoscheme.AddToScheme, kubecorsv1alpha1.AddToScheme, gatewayv1.Install} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("API server %s; kubeconfig %s", cfg.Host, path)
	return &controlPlane{env: env, client: c, kubeconfig: path, assets: assets}
}

// installWebhook creates the operator namespace and the generated
// ValidatingWebhookConfiguration pointed at the local webhook server by URL;
// the operator injects the CA, as in a cluster (as hack/demo does).
func installWebhook(ctx context.Context, t *testing.T, c client.Client, root string, port int) {
	t.Helper()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "config", "webhook", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := yaml.UnmarshalStrict(raw, vwc); err != nil {
		t.Fatalf("reading config/webhook/manifests.yaml: %v", err)
	}
	vwc.Name = webhookConfigName
	for i := range vwc.Webhooks {
		w := &vwc.Webhooks[i]
		url := fmt.Sprintf("https://localhost:%d%s", port, *w.ClientConfig.Service.Path)
		w.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url}
	}
	if err := c.Create(ctx, vwc); err != nil {
		t.Fatal(err)
	}
}

// process is a child process the suite started, with its log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
}

// startProcess starts a child that dies with the test binary (Pdeathsig)
// and is stopped with SIGTERM, then SIGKILL after 10s, at cleanup.
func startProcess(t *testing.T, work, name string, env []string, bin string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(work, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	_ = logFile.Close()
	p := &process{name: name, cmd: cmd, log: logPath}
	t.Logf("%s pid %d, log %s", name, cmd.Process.Pid, logPath)
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *process) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
		t.Logf("%s did not stop on SIGTERM within 15s: killed", p.name)
	}
	if t.Failed() {
		p.dumpLog(t, 60)
	}
}

// dumpLog prints the last lines of the process's log.
func (p *process) dumpLog(t *testing.T, lines int) {
	raw, err := os.ReadFile(p.log)
	if err != nil {
		return
	}
	all := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	t.Logf("last lines of %s:\n%s", p.log, strings.Join(all, "\n"))
}

// baseEnv is the test's environment without in-cluster settings, so that
// children use the kubeconfig they are given.
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KUBERNETES_SERVICE_") || strings.HasPrefix(kv, "KUBECONFIG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// buildManager builds the operator binary into the work directory.
func buildManager(t *testing.T, root, work string) string {
	t.Helper()
	bin := filepath.Join(work, "manager")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the manager: %v\n%s", err, out)
	}
	return bin
}

// startManager runs the operator with self-managed webhook certificates and
// waits until it is ready (certificate generated, webhook serving).
func startManager(ctx context.Context, t *testing.T, cp *controlPlane, bin, work string, webhookPort int, extraArgs ...string) *process {
	t.Helper()
	probePort := freePort(t)
	args := append([]string{
		"--kubeconfig", cp.kubeconfig,
		"--namespace", operatorNamespace,
		"--webhook-host", "127.0.0.1",
		fmt.Sprintf("--webhook-port=%d", webhookPort),
		"--webhook-cert-dir", filepath.Join(work, "certs"),
		"--webhook-extra-dns-name", "localhost",
		"--webhook-config-name", webhookConfigName,
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probePort),
		"--metrics-bind-address", "0",
	}, extraArgs...)
	p := startProcess(t, work, "manager", baseEnv(), bin, args...)
	if err := waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort), 90*time.Second); err != nil {
		p.dumpLog(t, 40)
		t.Fatalf("the operator did not become ready: %v", err)
	}
	return p
}

// startTraefik runs Traefik outside the cluster, reading the local API
// server through the admin kubeconfig, with the four Kubernetes providers
// and one HTTP entry point on loopback (and its ping on another).
func startTraefik(ctx context.Context, t *testing.T, cp *controlPlane, work string, webPort int) *process {
	t.Helper()
	bin := os.Getenv("TRAEFIK_BIN")
	if bin == "" {
		t.Fatal("TRAEFIK_BIN is not set: run `make test-e2e` (hack/e2e/traefik.sh builds it)")
	}
	pingPort := freePort(t)
	p := startProcess(t, work, "traefik", baseEnv("KUBECONFIG="+cp.kubeconfig), bin,
		"--global.checkNewVersion=false",
		"--global.sendAnonymousUsage=false",
		"--log.level=INFO",
		"--accesslog=true",
		fmt.Sprintf("--entryPoints.web.address=127.0.0.1:%d", webPort),
		fmt.Sprintf("--entryPoints.ping.address=127.0.0.1:%d", pingPort),
		"--ping=true",
		"--ping.entryPoint=ping",
		"--providers.kubernetesIngress=true",
		"--providers.kubernetesIngress.allowExternalNameServices=true",
		"--providers.kubernetesCRD=true",
		"--providers.kubernetesCRD.allowExternalNameServices=true",
		"--providers.kubernetesIngressNGINX=true",
		"--providers.kubernetesGateway=true",
	)
	if err := waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/ping", pingPort), 60*time.Second); err != nil {
		p.dumpLog(t, 40)
		t.Fatalf("Traefik did not answer its ping: %v", err)
	}
	return p
}

// waitHTTP polls a URL until it answers 200.
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready within %s: %w", url, timeout, last)
}

// run runs a command and fails the test with its output if it fails.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// testHost is a network namespace the suite creates: a veth pair from the
// host (hostIP) to the namespace (nsIP), in the documentation range
// 192.0.2.0/24, so that the Gateway path can reach a backend through an
// ordinary EndpointSlice (the API server refuses loopback endpoints and
// Traefik's Gateway provider refuses ExternalName Services).
type testHost struct {
	netns          string
	hostIP, nsIP   string
	hostIf, nsSide string
}

func createTestHost(t *testing.T) *testHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the Gateway path needs a network namespace, which needs root (ip netns add)")
	}
	// A /30 per run, chosen from the pid, so that two runs rarely collide.
	n := os.Getpid() % 60
	h := &testHost{
		netns:  fmt.Sprintf("kce2e-%d", os.Getpid()),
		hostIP: fmt.Sprintf("192.0.2.%d", 4*n+1),
		nsIP:   fmt.Sprintf("192.0.2.%d", 4*n+2),
		hostIf: fmt.Sprintf("kce2e%dh", os.Getpid()%100000),
		nsSide: fmt.Sprintf("kce2e%dn", os.Getpid()%100000),
	}
	run(t, "ip", "netns", "add", h.netns)
	t.Cleanup(func() {
		// Deleting the namespace deletes its end of the veth pair, and with
		// it the host end.
		if out, err := exec.Command("ip", "netns", "del", h.netns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", h.netns, err, out)
		}
		_ = exec.Command("ip", "link", "del", h.hostIf).Run()
	})
	run(t, "ip", "link", "add", h.hostIf, "type", "veth", "peer", "name", h.nsSide)
	run(t, "ip", "link", "set", h.nsSide, "netns", h.netns)
	run(t, "ip", "addr", "add", h.hostIP+"/30", "dev", h.hostIf)
	run(t, "ip", "link", "set", h.hostIf, "up")
	run(t, "ip", "-n", h.netns, "addr", "add", h.nsIP+"/30", "dev", h.nsSide)
	run(t, "ip", "-n", h.netns, "link", "set", h.nsSide, "up")
	run(t, "ip", "-n", h.netns, "link", "set", "lo", "up")
	return h
}

// listen opens a TCP listener inside the namespace: a socket keeps the
// network namespace it was created in, so one OS thread switches into the
// namespace, creates it and switches back; the suite then serves it like
// any other listener, without a second process.
func (h *testHost) listen(port int) (net.Listener, error) {
	type result struct {
		l   net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer func() { _ = self.Close() }()
		target, err := os.Open(filepath.Join("/var/run/netns", h.netns))
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer func() { _ = target.Close() }()
		if err := setns(target); err != nil {
			ch <- result{err: fmt.Errorf("setns into %s: %w", h.netns, err)}
			return
		}
		l, lerr := net.Listen("tcp", net.JoinHostPort(h.nsIP, fmt.Sprint(port)))
		if err := setns(self); err != nil {
			// The thread stays locked and ends with this goroutine, so the
			// runtime never reuses a thread in the wrong namespace.
			if l != nil {
				_ = l.Close()
			}
			ch <- result{err: fmt.Errorf("setns back: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{l: l, err: lerr}
	}()
	r := <-ch
	return r.l, r.err
}

func setns(f *os.File) error {
	if _, _, errno := syscall.Syscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0); errno != 0 {
		return errno
	}
	return nil
}

// backend is the real HTTP application behind every path. It knows nothing
// about CORS: it answers every method, OPTIONS included, with 200 and two
// response headers, X-Request-Id (which policies expose) and X-Secret (which
// they never do).
func backend(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Request-Id", "req-"+name)
		w.Header().Set("X-Secret", "s3cret")
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = fmt.Fprintf(w, "backend %s: %s %s\n", name, r.Method, r.URL.Path)
	})
}

// serve serves a handler on a listener until cleanup.
func serve(t *testing.T, l net.Listener, h http.Handler) {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
}

// plainGet sends a request with an Origin header straight to Traefik, as
// the browser would address it, and returns the status, the body and the
// Access-Control-Allow-Origin header.
func plainGet(ctx context.Context, traefikAddr, host, origin string) (int, string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+traefikAddr+"/", nil)
	if err != nil {
		return 0, "", "", err
	}
	req.Host = host
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(bytes.TrimSpace(body)), resp.Header.Get("Access-Control-Allow-Origin"), nil
}

var errTimeout = errors.New("timed out")
