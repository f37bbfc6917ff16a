package controllers

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/testenv"
)

// The suite runs the controller in a real manager against a real
// kube-apiserver with the generated CRD and Traefik's Middleware CRD,
// without the webhook, so that it can also store policies that only the
// webhook would reject. Assertions read through a direct client, never
// the manager's cache.
var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	k8sClient client.Client
	scheme    *runtime.Scheme
	// managerWrites counts the mutating requests the manager sends.
	managerWrites atomic.Int64
	// routeWrites counts those that write HTTPRoutes.
	routeWrites atomic.Int64
	// stopManager stops the running manager and waits for it.
	stopManager func()
	// suiteDir holds the suite's files (a kubeconfig for kubectl cors).
	suiteDir string
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller suite")
}

// countWrites counts every request that is not a read.
type countWrites struct{ next http.RoundTripper }

func (c countWrites) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		managerWrites.Add(1)
		if strings.Contains(req.URL.Path, "/httproutes/") {
			routeWrites.Add(1)
		}
	}
	return c.next.RoundTrip(req)
}

// startManager runs the controller in a fresh manager and returns the
// function that stops it and waits until it has stopped.
func startManager() func() {
	cfg := rest.CopyConfig(testEnv.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countWrites{next: rt} })
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:     scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: ctrlconfig.Controller{SkipNameValidation: new(true)},
		Cache:      cache.Options{DefaultTransform: CacheTransform()},
	})
	Expect(err).NotTo(HaveOccurred())
	renderers, err := registry.NewRegistry(map[string]string{"example.com/nginx-fork": "ingress-nginx"})
	Expect(err).NotTo(HaveOccurred())
	mgrCtx, mgrCancel := context.WithCancel(ctx)
	Expect((&CorsPolicyReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("kubecors"),
		Renderers: renderers,
		// Several workers, as in production, so that the suite exercises
		// concurrent reconciles.
		MaxConcurrentReconciles: 4,
		MaxConcurrentWrites:     8,
	}).SetupWithManager(mgrCtx, mgr)).To(Succeed())
	Expect((&ClusterCorsPolicyReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("kubecors"),
	}).SetupWithManager(mgr)).To(Succeed())
	RegisterMetrics(mgr.GetClient())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
	return func() {
		mgrCancel()
		<-done
	}
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	// The machines running the suites are small and shared: give the
	// controller time to react rather than fail on a busy moment.
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx, cancel = context.WithCancel(context.TODO())
	var err error
	suiteDir, err = os.MkdirTemp("", "kubecors-controllers-")
	Expect(err).NotTo(HaveOccurred())

	scheme = runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(kubecorsv1alpha1.AddToScheme(scheme)).To(Succeed())
	Expect(gatewayv1.Install(scheme)).To(Succeed())

	testEnv = &envtest.Environment{
		CRDDirectoryPaths: []string{
			filepath.Join("..", "config", "crd", "bases"),
			filepath.Join("..", "test", "crds", "traefik"),
			filepath.Join("..", "test", "crds", "kong"),
			filepath.Join("..", "test", "crds", "envoy-gateway"),
			filepath.Join("..", "test", "crds", "gateway-api", "standard"),
			filepath.Join("..", "test", "crds", "istio"),
			filepath.Join("..", "test", "crds", "contour"),
		},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: testenv.BinaryAssetsDir(),
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	stopManager = startManager()
})

var _ = AfterSuite(func() {
	stopManager()
	cancel()
	Expect(testEnv.Stop()).To(Succeed())
	Expect(os.RemoveAll(suiteDir)).To(Succeed())
})
