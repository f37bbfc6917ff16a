package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/testenv"
)

// repoRoot is the repository, from this package's directory.
const repoRoot = "../.."

// scheme knows every kind the suites create or read.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, kubecorsv1alpha1.AddToScheme, gatewayv1.Install, apiextensionsv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// managerBinary is the manager built from ./cmd once per suite run, as the
// image ships it.
var managerBinary string

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter)))
	dir, err := os.MkdirTemp("", "kubecors-faults-bin-")
	Expect(err).NotTo(HaveOccurred())
	managerBinary = filepath.Join(dir, "manager")
	//nolint:gosec // G204: go build of this repository into the suite's own directory, no shell.
	build := exec.Command("go", "build", "-o", managerBinary, filepath.Join(repoRoot, "cmd"))
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build ./cmd: %s", out)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
})

var _ = AfterSuite(func() {
	_ = os.RemoveAll(filepath.Dir(managerBinary))
})

// controlPlane is one envtest kube-apiserver and etcd whose data and
// certificates live in directories of the test's own, so that it can be
// stopped and started again on the same data, at the same address.
type controlPlane struct {
	env *envtest.Environment
	// cfg is an administrator's configuration without client-side rate
	// limiting.
	cfg       *rest.Config
	c         client.Client
	clientset *kubernetes.Clientset
	dir       string
	// auditLog is the API server's audit log, when one was asked for.
	auditLog string
}

// controlPlaneOptions says what a control plane needs beyond the CRDs.
type controlPlaneOptions struct {
	// auditUsers are the users whose requests the audit log records.
	auditUsers []string
	// gatewayAPI installs the Gateway API CRDs.
	gatewayAPI bool
	// ownerReferencesEnforced turns on the admission plugin that checks
	// the right to block an owner's deletion (OpenShift has it on).
	ownerReferencesEnforced bool
}

func startControlPlane(o controlPlaneOptions) *controlPlane {
	dir, err := os.MkdirTemp("", "kubecors-faults-")
	Expect(err).NotTo(HaveOccurred())
	crds := []string{filepath.Join(repoRoot, "config", "crd", "bases"), filepath.Join(repoRoot, "test", "crds", "traefik")}
	if o.gatewayAPI {
		crds = append(crds, filepath.Join(repoRoot, "test", "crds", "gateway-api", "standard"))
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     crds,
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: testenv.BinaryAssetsDir(),
		// kube-apiserver drains the manager's watches before it exits.
		ControlPlaneStopTimeout: 2 * time.Minute,
	}
	env.ControlPlane.Etcd = &envtest.Etcd{DataDir: filepath.Join(dir, "etcd")}
	env.ControlPlane.APIServer = &envtest.APIServer{CertDir: filepath.Join(dir, "apiserver")}
	for _, d := range []string{env.ControlPlane.Etcd.DataDir, env.ControlPlane.APIServer.CertDir} {
		Expect(os.MkdirAll(d, 0o700)).To(Succeed())
	}
	cp := &controlPlane{env: env, dir: dir}
	if len(o.auditUsers) > 0 {
		policy := filepath.Join(dir, "audit-policy.yaml")
		users, err := json.Marshal(o.auditUsers)
		Expect(err).NotTo(HaveOccurred())
		// Metadata is enough: who asked what, of which resource, and the
		// answer's code.
		Expect(os.WriteFile(policy, fmt.Appendf(nil, `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: %s
- level: None
`, users), 0o600)).To(Succeed())
		cp.auditLog = filepath.Join(dir, "audit.log")
		args := env.ControlPlane.APIServer.Configure()
		args.Set("audit-policy-file", policy)
		args.Set("audit-log-path", cp.auditLog)
		args.Set("audit-log-mode", "blocking")
	}
	if o.ownerReferencesEnforced {
		env.ControlPlane.APIServer.Configure().Append("enable-admission-plugins", "OwnerReferencesPermissionEnforcement")
	}
	cfg, err := env.Start()
	Expect(err).NotTo(HaveOccurred())
	cp.cfg = rest.CopyConfig(cfg)
	cp.cfg.QPS, cp.cfg.Burst = -1, 0
	cp.c, err = client.New(cp.cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	cp.clientset, err = kubernetes.NewForConfig(cp.cfg)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cp.stop)
	return cp
}

func (cp *controlPlane) stop() {
	_ = cp.env.Stop()
	_ = os.RemoveAll(cp.dir)
}

// adminKubeconfig writes a kubeconfig of the administrator for server
// (the API server itself, or a proxy in front of it).
func (cp *controlPlane) kubeconfig(name, server string, authInfo *clientcmdapi.AuthInfo) string {
	cfg := clientcmdapi.NewConfig()
	cluster := &clientcmdapi.Cluster{Server: server}
	if strings.HasPrefix(server, "https:") {
		cluster.CertificateAuthorityData = cp.cfg.CAData
	}
	cfg.Clusters["local"] = cluster
	cfg.AuthInfos["user"] = authInfo
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "user"}
	cfg.CurrentContext = "local"
	path := filepath.Join(cp.dir, name+".kubeconfig")
	Expect(clientcmd.WriteToFile(*cfg, path)).To(Succeed())
	return path
}

// managerProcess is one run of the manager binary.
type managerProcess struct {
	name      string
	cmd       *exec.Cmd
	log       string
	probePort int
	done      chan struct{}
}

// managerOptions are what a run of the manager differs in.
type managerOptions struct {
	name       string
	kubeconfig string
	// webhooks serves the admission webhook (with its self-managed
	// certificate) on webhookPort; otherwise ENABLE_WEBHOOKS=false.
	webhooks    bool
	webhookPort int
	leaderElect bool
	metricsPort int
	extraArgs   []string
}

// operatorNamespace is the manager's own namespace (leases, the webhook
// certificate's Secret).
const operatorNamespace = "kubecors-system"

func (cp *controlPlane) startManager(o managerOptions) *managerProcess {
	m := &managerProcess{name: o.name, probePort: freePort(), done: make(chan struct{})}
	args := []string{
		"--kubeconfig", o.kubeconfig,
		"--namespace", operatorNamespace,
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", m.probePort),
		fmt.Sprintf("--leader-elect=%t", o.leaderElect),
	}
	if o.metricsPort != 0 {
		args = append(args, fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", o.metricsPort))
	}
	env := os.Environ()
	if o.webhooks {
		args = append(args, "--webhook-host=127.0.0.1", fmt.Sprintf("--webhook-port=%d", o.webhookPort),
			"--webhook-cert-dir="+filepath.Join(cp.dir, o.name+"-certs"), "--webhook-extra-dns-name=localhost",
			"--webhook-config-name="+webhookConfigName)
	} else {
		env = append(env, "ENABLE_WEBHOOKS=false")
	}
	args = append(args, o.extraArgs...)
	m.log = filepath.Join(cp.dir, o.name+".log")
	f, err := os.OpenFile(m.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	Expect(err).NotTo(HaveOccurred())
	m.cmd = exec.Command(managerBinary, args...) //nolint:gosec // G204: the manager the suite built, with the suite's own arguments.
	m.cmd.Env = env
	m.cmd.Stdout, m.cmd.Stderr = f, f
	// The manager must not outlive the suite, even when it is killed.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	Expect(m.cmd.Start()).To(Succeed())
	go func() { _ = m.cmd.Wait(); _ = f.Close(); close(m.done) }()
	DeferCleanup(m.kill)
	return m
}

// kill ends the manager with SIGKILL: no deferred cleanup, no lease
// release, whatever it was writing stays half done.
func (m *managerProcess) kill() {
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
}

// stop ends the manager with SIGTERM, as a rolling update does.
func (m *managerProcess) stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		m.kill()
	}
}

func (m *managerProcess) running() bool {
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// waitReady waits until the manager's readiness probe answers 200.
func (m *managerProcess) waitReady() {
	readyURL := fmt.Sprintf("http://127.0.0.1:%d/readyz", m.probePort)
	Eventually(func() int {
		Expect(m.running()).To(BeTrue(), "the manager %s exited; its log:\n%s", m.name, m.logText())
		resp, err := http.Get(readyURL) //nolint:gosec,noctx // G107: a local test URL.
		if err != nil {
			return 0
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}).WithTimeout(90 * time.Second).Should(Equal(http.StatusOK))
}

func (m *managerProcess) logText() string {
	raw, _ := os.ReadFile(m.log)
	return string(raw)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// ensureNamespace creates a namespace unless it exists.
func (cp *controlPlane) ensureNamespace(ctx context.Context, name string) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	Expect(client.IgnoreAlreadyExists(cp.c.Create(ctx, ns))).To(Succeed())
}

// webhookConfigName is the ValidatingWebhookConfiguration the suites
// install and the manager injects its CA into.
const webhookConfigName = "kubecors-validating-webhook-configuration"
