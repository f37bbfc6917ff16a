// Command demo runs kubecors on a local control plane: it starts the
// envtest kube-apiserver and etcd, installs the CRDs and the validating
// webhook, runs the real manager binary (bin/manager) with self-managed
// webhook certificates, applies config/samples, shows what the API server
// and the operator made of them, and on Ctrl-C stops everything it started.
//
// Run it through `make demo`, which builds the manager and finds the
// control-plane binaries. `--once` exits after showing the state instead of
// waiting for Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
)

const (
	operatorNamespace = "kubecors-system"
	webhookConfigName = "kubecors-validating-webhook-configuration"
	// sampleNamespace and sampleName are where config/samples puts the
	// sample CorsPolicy and the Ingress it targets, which share the name.
	sampleNamespace = "default"
	sampleName      = "api"
	// The binaries that `make demo` builds.
	managerBinary     = "bin/manager"
	kubectlCorsBinary = "bin/kubectl-cors"
)

func main() {
	once := flag.Bool("once", false, "exit after showing the state instead of waiting for Ctrl-C")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *once); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("\n\033[1m==> %s\033[0m\n", fmt.Sprintf(format, args...))
}

func run(ctx context.Context, once bool) (err error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set: run `make demo`")
	}
	workDir, err := os.MkdirTemp("", "kubecors-demo-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(workDir) }()

	step("Starting a local control plane (kube-apiserver and etcd from %s)", assets)
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() {
		step("Stopping the control plane")
		if stopErr := env.Stop(); stopErr != nil && err == nil {
			err = stopErr
		}
	}()
	admin, err := env.ControlPlane.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return err
	}
	kubeconfigPath := filepath.Join(workDir, "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return err
	}
	fmt.Printf("API server %s; kubeconfig %s\n", cfg.Host, kubeconfigPath)

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := kubecorsv1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}

	webhookPort, probePort := freePort(), freePort()
	if webhookPort == 0 || probePort == 0 {
		return errors.New("no free local port")
	}
	step("Installing the validating webhook (URL https://localhost:%d, CA injected by the operator)", webhookPort)
	if err := installWebhook(ctx, c, webhookPort); err != nil {
		return err
	}

	step("Starting the operator (bin/manager) with self-managed webhook certificates")
	manager, err := startManager(ctx, kubeconfigPath, workDir, webhookPort, probePort)
	if err != nil {
		return err
	}
	defer stopManager(manager)
	if err := waitReady(ctx, probePort); err != nil {
		return err
	}
	fmt.Println("operator ready: certificate generated, stored in Secret kubecors-system/kubecors-webhook-server-cert and injected")

	kubectl := func(args ...string) (string, error) {
		//nolint:gosec // G204: the kubectl of the developer's own KUBEBUILDER_ASSETS, run without a shell on the demo's fixed arguments.
		cmd := exec.CommandContext(ctx, filepath.Join(assets, "kubectl"), append([]string{"--kubeconfig", kubeconfigPath}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	show := func(args ...string) error {
		fmt.Printf("$ kubectl %s\n", strings.Join(args, " "))
		out, err := kubectl(args...)
		fmt.Print(out)
		return err
	}

	step("Applying the valid samples (config/samples)")
	if err := show("apply", "-k", filepath.Join("config", "samples")); err != nil {
		return err
	}
	step("Applying the invalid samples (config/samples/invalid): the API server rejects them")
	invalid, _ := filepath.Glob(filepath.Join("config", "samples", "invalid", "*.yaml"))
	for _, f := range invalid {
		if err := show("apply", "-f", f); err == nil {
			return fmt.Errorf("%s was accepted, but it must be rejected", f)
		}
	}

	step("The operator's view")
	if err := waitForStatus(ctx, c); err != nil {
		return err
	}
	_ = show("get", "corspolicies", "-A")
	_ = show("get", "corspolicy", sampleName, "-n", sampleNamespace, "-o", "jsonpath={range .status.conditions[*]}{.type}={.status} ({.reason}): {.message}{\"\\n\"}{end}{range .status.targets[*]}target {.targetRef.kind}/{.targetRef.name}: {.message}{\"\\n\"}{end}")

	step("What kubecors wrote on the Ingress (ingress-nginx annotations)")
	annotations := []string{"get", "ingress", sampleName, "-n", sampleNamespace, "-o", "go-template={{range $k, $v := .metadata.annotations}}{{$k}}: {{$v}}{{\"\\n\"}}{{end}}"}
	if err := waitForAnnotation(ctx, c, true); err != nil {
		return err
	}
	_ = show(annotations...)

	step("Deleting the policy: kubecors removes exactly what it wrote")
	if err := show("delete", "corspolicy", sampleName, "-n", sampleNamespace, "--wait=true"); err != nil {
		return err
	}
	if err := waitForAnnotation(ctx, c, false); err != nil {
		return err
	}
	_ = show(annotations...)
	fmt.Println("(no annotations left: the sample Ingress had none of its own)")
	if err := show("apply", "-f", filepath.Join("config", "samples", "kubecors_v1alpha1_corspolicy.yaml")); err != nil {
		return err
	}

	step("The same check offline, as a GitOps pipeline runs it: kubectl-cors check -f config/samples")
	check := exec.CommandContext(ctx, kubectlCorsBinary, "check", "-f", "config/samples")
	check.Stdout, check.Stderr = os.Stdout, os.Stdout
	fmt.Println("$ kubectl cors check -f config/samples")
	if err := check.Run(); err == nil {
		return errors.New("kubectl-cors check accepted the invalid samples")
	}

	if once {
		return nil
	}
	step("Running. KUBECONFIG=%s kubectl get cors -A  — press Ctrl-C to stop", kubeconfigPath)
	<-ctx.Done()
	return nil
}

// freePort asks the kernel for a free loopback port.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// installWebhook creates the operator namespace and the generated
// ValidatingWebhookConfiguration, pointed at the local webhook server by
// URL instead of the in-cluster Service. The CA bundle is left empty: the
// operator injects it, exactly as in a cluster.
func installWebhook(ctx context.Context, c client.Client, port int) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join("config", "webhook", "manifests.yaml"))
	if err != nil {
		return err
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := yaml.UnmarshalStrict(raw, vwc); err != nil {
		return fmt.Errorf("reading config/webhook/manifests.yaml: %w", err)
	}
	vwc.Name = webhookConfigName
	for i := range vwc.Webhooks {
		w := &vwc.Webhooks[i]
		url := fmt.Sprintf("https://localhost:%d%s", port, *w.ClientConfig.Service.Path)
		w.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url}
	}
	return c.Create(ctx, vwc)
}

func startManager(ctx context.Context, kubeconfig, workDir string, webhookPort, probePort int) (*exec.Cmd, error) {
	//nolint:gosec // G204: no shell runs; the arguments are the demo's own temporary directory and free ports.
	cmd := exec.CommandContext(ctx, managerBinary,
		"--kubeconfig", kubeconfig,
		"--namespace", operatorNamespace,
		"--webhook-host", "127.0.0.1",
		fmt.Sprintf("--webhook-port=%d", webhookPort),
		"--webhook-cert-dir", filepath.Join(workDir, "certs"),
		"--webhook-extra-dns-name", "localhost",
		"--webhook-config-name", webhookConfigName,
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probePort),
		"--metrics-bind-address", "0",
	)
	work, err := os.OpenRoot(workDir)
	if err != nil {
		return nil, err
	}
	// The log file has a descriptor of its own and outlives the root.
	defer func() { _ = work.Close() }()
	logFile, err := work.Create("manager.log")
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The manager must not outlive the demo, even when the demo is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	fmt.Printf("manager pid %d, log %s\n", cmd.Process.Pid, logFile.Name())
	return cmd, nil
}

func stopManager(cmd *exec.Cmd) {
	step("Stopping the operator")
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}

// waitReady polls the manager's readiness endpoint, which turns ready once
// the webhook certificate is in place and the webhook server is serving.
func waitReady(ctx context.Context, probePort int) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return errors.New("the operator did not become ready within 60s (see manager.log)")
}

// waitForStatus waits until the operator has reported on the sample policy.
func waitForStatus(ctx context.Context, c client.Client) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		p := &kubecorsv1alpha1.CorsPolicy{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: sampleNamespace, Name: sampleName}, p); err == nil && len(p.Status.Conditions) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return errors.New("the operator wrote no status on the sample policy within 30s")
}

// waitForAnnotation waits until the sample Ingress carries (or no longer
// carries) the CORS configuration kubecors writes.
func waitForAnnotation(ctx context.Context, c client.Client, present bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ing := &networkingv1.Ingress{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: sampleNamespace, Name: sampleName}, ing); err == nil {
			if _, ok := ing.Annotations[ingressnginx.AllowOrigin]; ok == present {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("the sample Ingress did not reach the expected state within 30s (annotations present: %v)", present)
}
