// Package gatewaylate tests the operator in a cluster that has no Gateway
// API CRDs when it starts and gets them (the experimental channel) later.
package gatewaylate

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/controllers"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/testenv"
)

func TestGatewayAPIInstalledLater(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Gateway API installed after the operator started")
}

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	k8sClient client.Client
)

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(30 * time.Second)
	ctx, cancel = context.WithCancel(context.TODO())
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(kubecorsv1alpha1.AddToScheme(scheme)).To(Succeed())
	Expect(gatewayv1.Install(scheme)).To(Succeed())

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: testenv.BinaryAssetsDir(),
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	renderers, err := registry.NewRegistry(nil)
	Expect(err).NotTo(HaveOccurred())
	Expect((&controllers.CorsPolicyReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("kubecors"), Renderers: renderers,
	}).SetupWithManager(ctx, mgr)).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	cancel()
	Expect(testEnv.Stop()).To(Succeed())
})

func targetReason(p *kubecorsv1alpha1.CorsPolicy, name string) func(Gomega) string {
	return func(g Gomega) string {
		got := &kubecorsv1alpha1.CorsPolicy{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		for _, t := range got.Status.Targets {
			if t.TargetRef.Name == name {
				if c := meta.FindStatusCondition(t.Conditions, kubecorsv1alpha1.ConditionProgrammed); c != nil {
					return c.Reason + ": " + c.Message
				}
			}
		}
		return ""
	}
}

var _ = It("keeps the Ingress side working without the Gateway API and starts programming HTTPRoutes once its CRDs are installed", func() {
	Expect(k8sClient.Create(ctx, &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: ingressnginx.Controller},
	})).To(Succeed())
	Expect(k8sClient.Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: networkingv1.IngressSpec{IngressClassName: new("nginx"), DefaultBackend: &networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}},
	})).To(Succeed())
	p := &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "both", Namespace: "default"},
		Spec: kubecorsv1alpha1.CorsPolicySpec{
			TargetRefs: []kubecorsv1alpha1.PolicyTargetReference{
				{Group: kubecorsv1alpha1.GroupNetworking, Kind: kubecorsv1alpha1.KindIngress, Name: "web"},
				{Group: kubecorsv1alpha1.GroupGateway, Kind: kubecorsv1alpha1.KindHTTPRoute, Name: "api"},
				{Group: kubecorsv1alpha1.GroupIstio, Kind: kubecorsv1alpha1.KindVirtualService, Name: "mesh"},
			},
			AllowOrigins: []kubecorsv1alpha1.Origin{"https://app.example.com"},
		},
	}
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
	Eventually(targetReason(p, "web")).Should(HavePrefix(kubecorsv1alpha1.ReasonProgrammed))
	Eventually(targetReason(p, "api")).Should(ContainSubstring("Gateway API CRDs (HTTPRoute, Gateway, GatewayClass) are not installed"))
	// The manager started without Istio's CRDs too: the target is reported.
	Eventually(targetReason(p, "mesh")).Should(Equal(kubecorsv1alpha1.ReasonUnsupportedDataPlane +
		": the VirtualService CRD (networking.istio.io) is not installed; kubecors programs this VirtualService once it is installed and the operator restarted"))

	By("installing the experimental channel of the Gateway API CRDs")
	_, err := envtest.InstallCRDs(testEnv.Config, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join("..", "..", "test", "crds", "gateway-api", "experimental")}, ErrorIfPathMissing: true,
	})
	Expect(err).NotTo(HaveOccurred())
	class := &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "capable"},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: "example.com/gateway"}}
	Expect(k8sClient.Create(ctx, class)).To(Succeed())
	class.Status.SupportedFeatures = []gatewayv1.SupportedFeature{{Name: "HTTPRouteCORS"}}
	Expect(k8sClient.Status().Update(ctx, class)).To(Succeed())
	Expect(k8sClient.Create(ctx, &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "default"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "capable",
			Listeners: []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}}},
	})).To(Succeed())
	Expect(k8sClient.Create(ctx, &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "default"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Rules:           []gatewayv1.HTTPRouteRule{{}},
		},
	})).To(Succeed())

	Eventually(targetReason(p, "api")).Should(HavePrefix(kubecorsv1alpha1.ReasonProgrammed))
	route := &gatewayv1.HTTPRoute{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "default", Name: "api"}, route)).To(Succeed())
	Expect(route.Spec.Rules[0].Filters).To(ConsistOf(HaveField("Type", gatewayv1.HTTPRouteFilterCORS)))
	Expect(targetReason(p, "web")(Default)).To(HavePrefix(kubecorsv1alpha1.ReasonProgrammed), "the Ingress side kept working")
})
