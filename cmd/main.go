// Command manager runs the kubecors operator: the CorsPolicy controller and
// the validating admission webhook.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/controllers"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/verify"
	"github.com/kubecors/kubecors/internal/version"
	webhookv1alpha1 "github.com/kubecors/kubecors/internal/webhook/v1alpha1"
	"github.com/kubecors/kubecors/internal/webhookcerts"
	// +kubebuilder:scaffold:imports
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(kubecorsv1alpha1.AddToScheme(scheme))
	utilruntime.Must(gatewayv1.Install(scheme))
	// +kubebuilder:scaffold:scheme
}

// options are the manager's command-line flags.
type options struct {
	metricsAddr          string
	probeAddr            string
	secureMetrics        bool
	enableHTTP2          bool
	enableLeaderElection bool
	webhookHost          string
	webhookPort          int
	manageWebhookCerts   bool
	webhookCertDir       string
	webhookSecretName    string
	webhookServiceName   string
	webhookConfigName    string
	webhookExtraDNSNames stringList
	namespace            string
	dataPlaneMappings    stringList
	// Throughput: see BENCHMARKS.md for how the defaults were chosen.
	maxConcurrentReconciles int
	maxConcurrentWrites     int
	kubeAPIQPS              float64
	kubeAPIBurst            int
	pprofAddr               string
	showVersion             bool
	watchNamespaces         stringList
	// Verification on the wire: see README "Verified on the wire".
	verify           bool
	verifyInterval   time.Duration
	verifyTimeout    time.Duration
	verifyRate       float64
	verifyTargetRate float64
	verifyAddresses  stringList
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func parseFlags() options {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	flag.BoolVar(&o.enableLeaderElection, "leader-elect", false,
		"Enable leader election for controller manager, so that only one replica is active at a time.")
	flag.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"Serve the metrics endpoint over HTTPS with authentication and authorization. Use --metrics-secure=false for HTTP.")
	flag.BoolVar(&o.enableHTTP2, "enable-http2", false,
		"Enable HTTP/2 for the metrics and webhook servers "+
			"(off by default: HTTP/2 Stream Cancellation and Rapid Reset CVEs).")
	flag.StringVar(&o.webhookHost, "webhook-host", "",
		"The address the webhook server binds to (all interfaces when empty).")
	flag.IntVar(&o.webhookPort, "webhook-port", webhook.DefaultPort, "The port the webhook server listens on.")
	flag.BoolVar(&o.manageWebhookCerts, "manage-webhook-certs", true,
		"Generate, rotate and inject the webhook serving certificate. Set to false when cert-manager provides it.")
	flag.StringVar(&o.webhookCertDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs",
		"The directory holding the webhook serving certificate (tls.crt, tls.key).")
	flag.StringVar(&o.webhookSecretName, "webhook-secret-name", "kubecors-webhook-server-cert",
		"The Secret, in the operator's namespace, that stores the self-managed webhook certificate.")
	flag.StringVar(&o.webhookServiceName, "webhook-service-name", "kubecors-webhook-service",
		"The Service that fronts the webhook server; its DNS names go into the certificate.")
	flag.StringVar(&o.webhookConfigName, "webhook-config-name", "kubecors-validating-webhook-configuration",
		"The ValidatingWebhookConfiguration that receives the CA bundle.")
	flag.Var(&o.webhookExtraDNSNames, "webhook-extra-dns-name",
		"An extra DNS name for the self-managed certificate (repeatable), e.g. localhost for a local run.")
	flag.StringVar(&o.namespace, "namespace", os.Getenv("POD_NAMESPACE"),
		"The operator's own namespace (default: $POD_NAMESPACE), where the webhook certificate Secret lives.")
	flag.Var(&o.dataPlaneMappings, "data-plane-mapping",
		"CONTROLLER=RENDERER: render Ingresses whose IngressClass names controller CONTROLLER with renderer RENDERER "+
			"("+strings.Join(registry.RendererNames(), ", ")+"); repeatable. "+
			"A policy's spec.dataPlaneMappings takes precedence.")
	flag.IntVar(&o.maxConcurrentReconciles, "max-concurrent-reconciles", 4,
		"How many CorsPolicies are reconciled at once.")
	flag.IntVar(&o.maxConcurrentWrites, "max-concurrent-writes", 16,
		"How many targets of one CorsPolicy are written at once (a selector policy over thousands of Ingresses).")
	flag.Float64Var(&o.kubeAPIQPS, "kube-api-qps", 0,
		"Client-side limit on requests per second to the API server; "+
			"0 leaves it to the API server's priority and fairness (controller-runtime's default).")
	flag.IntVar(&o.kubeAPIBurst, "kube-api-burst", 0,
		"Client-side burst above --kube-api-qps; 0 is client-go's default when a QPS is set.")
	flag.StringVar(&o.pprofAddr, "pprof-bind-address", "",
		`The address the Go profiler (/debug/pprof) binds to, e.g. "localhost:6060"; empty turns it off.`)
	flag.Var(&o.watchNamespaces, "watch-namespace",
		"Reconcile CorsPolicies and their targets in this namespace only (repeatable; default: every namespace).")
	flag.BoolVar(&o.verify, "verify", true,
		"Verify each programmed target on the wire: send, from the operator's pod through the target's data plane, "+
			"the OPTIONS and GET requests a browser sends (no body, never credentials) and set its Verified condition.")
	flag.DurationVar(&o.verifyInterval, "verify-interval", controllers.DefaultVerifyInterval,
		"How often each target is verified again when nothing changed (jittered by up to 10%); "+
			"a policy's spec.verification.interval overrides it.")
	flag.DurationVar(&o.verifyTimeout, "verify-timeout", controllers.DefaultVerifyTimeout,
		"Time limit of each verification request.")
	flag.Float64Var(&o.verifyRate, "verify-rate", controllers.DefaultVerifyRate,
		"Most verification requests per second to one data plane address.")
	flag.Float64Var(&o.verifyTargetRate, "verify-target-rate", controllers.DefaultVerifyTargetRate,
		"Most verification requests per second for one target.")
	flag.Var(&o.verifyAddresses, "verify-address",
		"KEY=[http[s]://]HOST:PORT: where to send the verification requests of targets served by KEY, "+
			"an IngressClass or GatewayClass name, a controller name, a data plane (ingress-nginx, traefik, …) "+
			"or a Gateway as NAMESPACE/NAME; repeatable. "+
			"The kubecors.io/verify-address annotation on a target, IngressClass or Gateway takes precedence.")
	flag.BoolVar(&o.showVersion, "version", false, "Print the version and exit.")
	zapOpts := zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	return o
}

func main() {
	o := parseFlags()
	if o.showVersion {
		fmt.Println("kubecors", version.Get())
		return
	}
	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		setupLog.Error(err, "Manager failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	var tlsOpts []func(*tls.Config)
	if !o.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: o.metricsAddr, SecureServing: o.secureMetrics, TLSOpts: tlsOpts}
	if o.secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	webhooksEnabled := os.Getenv("ENABLE_WEBHOOKS") != "false"
	cacheOpts := cache.Options{DefaultTransform: controllers.CacheTransform()}
	if len(o.watchNamespaces) > 0 {
		// Namespaced objects are cached from these namespaces only;
		// cluster-scoped ones (IngressClasses, ClusterCorsPolicies) still
		// come from the whole cluster.
		cacheOpts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range o.watchNamespaces {
			cacheOpts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	cfg := ctrl.GetConfigOrDie()
	if o.kubeAPIQPS > 0 {
		cfg.QPS, cfg.Burst = float32(o.kubeAPIQPS), o.kubeAPIBurst
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  cacheOpts,
		PprofBindAddress:       o.pprofAddr,
		Metrics:                metricsOpts,
		HealthProbeBindAddress: o.probeAddr,
		LeaderElection:         o.enableLeaderElection,
		LeaderElectionID:       "kubecors.kubecors.io",
		// In a pod this is the pod's namespace either way; outside a
		// cluster (--kubeconfig) controller-runtime cannot find it alone.
		LeaderElectionNamespace: o.namespace,
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: o.webhookHost, Port: o.webhookPort, CertDir: o.webhookCertDir, TLSOpts: tlsOpts,
		}),
	})
	if err != nil {
		return err
	}

	var certsReady <-chan struct{}
	switch {
	case !webhooksEnabled:
		setupLog.Info("Webhooks disabled by ENABLE_WEBHOOKS=false")
	case o.manageWebhookCerts:
		if o.namespace == "" {
			return errors.New("--namespace (or $POD_NAMESPACE) is required to manage webhook certificates")
		}
		certsReady, err = webhookcerts.Setup(mgr, webhookcerts.Options{
			Namespace: o.namespace, SecretName: o.webhookSecretName, ServiceName: o.webhookServiceName,
			ValidatingWebhookName: o.webhookConfigName, CertDir: o.webhookCertDir, ExtraDNSNames: o.webhookExtraDNSNames,
		})
		if err != nil {
			return err
		}
	default:
		ready := make(chan struct{})
		close(ready)
		certsReady = ready
	}

	mappings := map[string]string{}
	for _, m := range o.dataPlaneMappings {
		controller, renderer, ok := strings.Cut(m, "=")
		if !ok || controller == "" || renderer == "" {
			return fmt.Errorf("--data-plane-mapping %q: write CONTROLLER=RENDERER", m)
		}
		mappings[controller] = renderer
	}
	renderers, err := registry.NewRegistry(mappings)
	if err != nil {
		return fmt.Errorf("--data-plane-mapping: %w", err)
	}
	reconciler := &controllers.CorsPolicyReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("kubecors"),
		Renderers: renderers,
		// The flag's help says what this is; the reconciler's zero means one.
		MaxConcurrentReconciles: o.maxConcurrentReconciles,
		MaxConcurrentWrites:     o.maxConcurrentWrites,
		ClearVerification:       !o.verify,
	}
	if err := reconciler.SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	if err := setupVerifier(mgr, reconciler, o); err != nil {
		return err
	}

	if err := (&controllers.ClusterCorsPolicyReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("kubecors"),
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	controllers.RegisterMetrics(mgr.GetClient())
	// `kubebuilder create api|webhook` inserts the setup of new controllers
	// and webhooks here.
	// +kubebuilder:scaffold:builder

	webhookErr := make(chan error, 1)
	if webhooksEnabled {
		// The webhook server can only start once its certificate exists, so
		// the webhooks are registered, and the server started, after that.
		go func() {
			select {
			case <-certsReady:
				webhookErr <- webhookv1alpha1.SetupCorsPolicyWebhookWithManager(mgr)
			case <-ctx.Done():
			}
		}()
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", readyCheck(mgr, webhooksEnabled, certsReady)); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case err := <-webhookErr:
			if err != nil {
				setupLog.Error(err, "Registering webhooks failed")
				cancel()
			}
		case <-ctx.Done():
		}
	}()
	setupLog.Info("Starting manager", "version", version.Get().Version)
	return mgr.Start(ctx)
}

// readyCheck reports ready once the webhook server, if enabled, is serving.
func readyCheck(mgr ctrl.Manager, webhooksEnabled bool, certsReady <-chan struct{}) healthz.Checker {
	return func(req *http.Request) error {
		if !webhooksEnabled {
			return nil
		}
		select {
		case <-certsReady:
			return mgr.GetWebhookServer().StartedChecker()(req)
		default:
			return errors.New("webhook certificate not ready")
		}
	}
}

// setupVerifier adds the wire verifier when --verify is on.
func setupVerifier(mgr ctrl.Manager, reconciler *controllers.CorsPolicyReconciler, o options) error {
	if !o.verify {
		return nil
	}
	if o.verifyInterval < 10*time.Second || o.verifyTimeout <= 0 || o.verifyRate <= 0 || o.verifyTargetRate <= 0 {
		return fmt.Errorf("--verify-interval must be at least 10s and --verify-timeout, --verify-rate and "+
			"--verify-target-rate positive; got %s, %s, %v, %v",
			o.verifyInterval, o.verifyTimeout, o.verifyRate, o.verifyTargetRate)
	}
	addresses, err := controllers.ParseVerifyAddresses(o.verifyAddresses)
	if err != nil {
		return err
	}
	controllers.RegisterVerifyMetrics(mgr.GetClient())
	return (&controllers.Verifier{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Recorder:   mgr.GetEventRecorder("kubecors"),
		Reconciler: reconciler,
		Sender: verify.NewSender(nil,
			verify.Limits{PerDataPlane: rate.Limit(o.verifyRate), PerTarget: rate.Limit(o.verifyTargetRate)}, o.verifyTimeout),
		Interval:  o.verifyInterval,
		Addresses: addresses,
	}).SetupWithManager(mgr)
}
