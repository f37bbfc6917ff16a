package controllers

import (
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

// gatewayClass creates a GatewayClass once and sets the features its
// implementation would report.
func gatewayClass(name, controller string, features ...gatewayv1.FeatureName) {
	class := &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: gatewayv1.GatewayController(controller)},
	}
	if err := k8sClient.Create(ctx, class); err != nil {
		Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "creating GatewayClass %s: %v", name, err)
		return
	}
	for _, f := range features {
		class.Status.SupportedFeatures = append(class.Status.SupportedFeatures, gatewayv1.SupportedFeature{Name: f})
	}
	Expect(k8sClient.Status().Update(ctx, class)).To(Succeed())
}

func gateway(ns, name, class string) {
	Expect(k8sClient.Create(ctx, &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: gatewayv1.ObjectName(class),
			Listeners:        []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}},
		},
	})).To(Succeed())
}

// userFilter is a filter the route's owner wrote; kubecors must keep it.
var userFilter = gatewayv1.HTTPRouteFilter{
	Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
	RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{
		Set: []gatewayv1.HTTPHeader{{Name: "X-Team", Value: "payments"}},
	},
}

// httpRoute builds a route with two named rules, each with the user's
// filter, attached to the given Gateways.
func httpRoute(ns, name string, gateways ...string) *gatewayv1.HTTPRoute {
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	for _, gw := range gateways {
		route.Spec.ParentRefs = append(route.Spec.ParentRefs, gatewayv1.ParentReference{Name: gatewayv1.ObjectName(gw)})
	}
	for _, rule := range []string{"api", "static"} {
		prefix := "/" + rule
		route.Spec.Rules = append(route.Spec.Rules, gatewayv1.HTTPRouteRule{
			Name: new(gatewayv1.SectionName(rule)),
			Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
				Type: new(gatewayv1.PathMatchPathPrefix), Value: new(prefix)}}},
			Filters: []gatewayv1.HTTPRouteFilter{userFilter},
		})
	}
	return route
}

func routeRef(name string, section ...string) kubecorsv1alpha1.PolicyTargetReference {
	ref := kubecorsv1alpha1.PolicyTargetReference{Group: kubecorsv1alpha1.GroupGateway, Kind: kubecorsv1alpha1.KindHTTPRoute, Name: name}
	if len(section) > 0 {
		ref.SectionName = &section[0]
	}
	return ref
}

func routePolicy(ns, name string, ref kubecorsv1alpha1.PolicyTargetReference) *kubecorsv1alpha1.CorsPolicy {
	p := richPolicy(ns, name)
	p.Spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ref}
	return p
}

func getRoute(ns, name string) func(Gomega) *gatewayv1.HTTPRoute {
	return func(g Gomega) *gatewayv1.HTTPRoute {
		route := &gatewayv1.HTTPRoute{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, route)).To(Succeed())
		return route
	}
}

// filterTypes lists the filter types of each rule of a route.
func filterTypes(route *gatewayv1.HTTPRoute) [][]gatewayv1.HTTPRouteFilterType {
	out := make([][]gatewayv1.HTTPRouteFilterType, 0, len(route.Spec.Rules))
	for _, rule := range route.Spec.Rules {
		types := make([]gatewayv1.HTTPRouteFilterType, 0, len(rule.Filters))
		for _, f := range rule.Filters {
			types = append(types, f.Type)
		}
		out = append(out, types)
	}
	return out
}

// specJSON is a route's spec as the API server stores it, for byte
// comparison.
func specJSON(route *gatewayv1.HTTPRoute) string {
	raw, err := json.Marshal(route.Spec)
	Expect(err).NotTo(HaveOccurred())
	return string(raw)
}

var (
	corsOnly      = []gatewayv1.HTTPRouteFilterType{gatewayv1.HTTPRouteFilterRequestHeaderModifier, gatewayv1.HTTPRouteFilterCORS}
	extensionOnly = []gatewayv1.HTTPRouteFilterType{gatewayv1.HTTPRouteFilterRequestHeaderModifier, gatewayv1.HTTPRouteFilterExtensionRef}
	userOnly      = []gatewayv1.HTTPRouteFilterType{gatewayv1.HTTPRouteFilterRequestHeaderModifier}
)

var _ = Describe("Programming HTTPRoutes", func() {
	BeforeEach(func() {
		gatewayClass("cors-capable", "example.com/gateway", "HTTPRoute", "HTTPRouteCORS")
		gatewayClass("traefik", traefik.GatewayController, "HTTPRoute")
		gatewayClass("plain", "example.com/plain-gateway", "HTTPRoute")
	})

	It("writes the standard CORS filter next to the user's filters and restores the route byte for byte", func() {
		ns := newNamespace()
		gateway(ns, "gw", "cors-capable")
		Expect(k8sClient.Create(ctx, httpRoute(ns, "api", "gw"))).To(Succeed())
		original := getRoute(ns, "api")(Default)

		p := routePolicy(ns, "route", routeRef("api"))
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(targetCondition(p, "api")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed),
			HaveField("Message", ContainSubstring(`Gateway `+ns+`/gw (GatewayClass "cors-capable"`)),
		))
		route := getRoute(ns, "api")(Default)
		Expect(filterTypes(route)).To(Equal([][]gatewayv1.HTTPRouteFilterType{corsOnly, corsOnly}))
		Expect(route.Spec.Rules[0].Filters[0]).To(Equal(userFilter), "the user's filter stays first and unchanged")
		cors := route.Spec.Rules[0].Filters[1].CORS
		Expect(cors.AllowCredentials).To(HaveValue(BeTrue()))
		Expect(cors.MaxAge).To(Equal(int32(600)))
		Expect(cors.AllowOrigins).To(ContainElement(gatewayv1.CORSOrigin("https://app.example.com")))
		Eventually(statusOf(p)).Should(HaveField("Targets", ConsistOf(HaveField("DataPlane", "gateway-api"))))

		By("updating the policy updates only kubecors's filter")
		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) { p.Spec.MaxAge = new(int32(60)) })
		Eventually(func(g Gomega) int32 { return getRoute(ns, "api")(g).Spec.Rules[1].Filters[1].CORS.MaxAge }).Should(Equal(int32(60)))
		Expect(getRoute(ns, "api")(Default).Spec.Rules[1].Filters[0]).To(Equal(userFilter))

		deleteAndWait(p)
		restored := getRoute(ns, "api")(Default)
		Expect(specJSON(restored)).To(Equal(specJSON(original)))
		Expect(restored.Annotations).To(Equal(original.Annotations))
	})

	It("programs only the rule named by sectionName", func() {
		ns := newNamespace()
		gateway(ns, "gw", "cors-capable")
		Expect(k8sClient.Create(ctx, httpRoute(ns, "api", "gw"))).To(Succeed())
		p := routePolicy(ns, "one-rule", routeRef("api", "static"))
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(getRoute(ns, "api")).Should(WithTransform(filterTypes, Equal([][]gatewayv1.HTTPRouteFilterType{userOnly, corsOnly})))
		Eventually(targetCondition(p, "api")).Should(HaveField("Message", ContainSubstring(`in rule "static" for`)))
	})

	It("uses a Traefik Middleware through an ExtensionRef when the Traefik class lacks HTTPRouteCORS, and follows a class change", func() {
		ns := newNamespace()
		gateway(ns, "gw", "traefik")
		Expect(k8sClient.Create(ctx, httpRoute(ns, "api", "gw"))).To(Succeed())
		p := routePolicy(ns, "via-traefik", routeRef("api"))
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(getRoute(ns, "api")).Should(WithTransform(filterTypes, Equal([][]gatewayv1.HTTPRouteFilterType{extensionOnly, extensionOnly})))
		ref := getRoute(ns, "api")(Default).Spec.Rules[0].Filters[1].ExtensionRef
		Expect(ref.Group).To(Equal(gatewayv1.Group("traefik.io")))
		mw := &unstructured.Unstructured{}
		mw.SetGroupVersionKind(middlewareGVK)
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: string(ref.Name)}, mw)).To(Succeed())
		Expect(mw.GetOwnerReferences()).To(ConsistOf(HaveField("Name", "via-traefik")))

		By("moving the Gateway to a CORS-capable class")
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			gw := &gatewayv1.Gateway{}
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gw"}, gw); err != nil {
				return err
			}
			gw.Spec.GatewayClassName = "cors-capable"
			return k8sClient.Update(ctx, gw)
		})).To(Succeed())
		Eventually(getRoute(ns, "api")).Should(WithTransform(filterTypes, Equal([][]gatewayv1.HTTPRouteFilterType{corsOnly, corsOnly})))
		Eventually(statusOf(p)).Should(HaveField("Targets", ConsistOf(HaveField("DataPlane", "gateway-api"))))
	})

	It("reports a class without CORS support, and names the parent that blocks a route with mixed parents", func() {
		ns := newNamespace()
		gateway(ns, "plain", "plain")
		gateway(ns, "capable", "cors-capable")
		Expect(k8sClient.Create(ctx, httpRoute(ns, "lonely", "plain"))).To(Succeed())
		Expect(k8sClient.Create(ctx, httpRoute(ns, "mixed", "capable", "plain"))).To(Succeed())
		p := routePolicy(ns, "blocked", routeRef("lonely"))
		p.Spec.TargetRefs = append(p.Spec.TargetRefs, routeRef("mixed"))
		Expect(k8sClient.Create(ctx, p)).To(Succeed())

		Eventually(targetCondition(p, "lonely")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonUnsupportedDataPlane),
			HaveField("Message", ContainSubstring(`GatewayClass "plain"`)),
			HaveField("Message", ContainSubstring("HTTPRouteCORS")),
		))
		Eventually(targetCondition(p, "mixed")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonUnsupportedDataPlane),
			HaveField("Message", ContainSubstring("Gateway "+ns+"/plain")),
			Not(HaveField("Message", ContainSubstring("Gateway "+ns+"/capable"))),
		))
		Expect(filterTypes(getRoute(ns, "mixed")(Default))).To(Equal([][]gatewayv1.HTTPRouteFilterType{userOnly, userOnly}))
	})

	It("does not overwrite a CORS filter the user wrote", func() {
		ns := newNamespace()
		gateway(ns, "gw", "cors-capable")
		route := httpRoute(ns, "api", "gw")
		route.Spec.Rules[0].Filters = append(route.Spec.Rules[0].Filters, gatewayv1.HTTPRouteFilter{
			Type: gatewayv1.HTTPRouteFilterCORS,
			CORS: &gatewayv1.HTTPCORSFilter{AllowOrigins: []gatewayv1.CORSOrigin{"https://legacy.example.com"}},
		})
		Expect(k8sClient.Create(ctx, route)).To(Succeed())
		before := specJSON(getRoute(ns, "api")(Default))
		p := routePolicy(ns, "polite", routeRef("api"))
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(targetCondition(p, "api")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonConflicted),
			HaveField("Message", ContainSubstring(`rule "api" of HTTPRoute "api" already has a CORS filter`)),
		))
		Expect(specJSON(getRoute(ns, "api")(Default))).To(Equal(before), "nothing was written, not even to the other rule")
	})

	It("converges with bounded writes when a GitOps tool re-applies the original route", func() {
		ns := newNamespace()
		gateway(ns, "gw", "cors-capable")
		original := httpRoute(ns, "api", "gw")
		Expect(k8sClient.Create(ctx, original.DeepCopy())).To(Succeed())
		p := routePolicy(ns, "gitops", routeRef("api"))
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(getRoute(ns, "api")).Should(WithTransform(filterTypes, Equal([][]gatewayv1.HTTPRouteFilterType{corsOnly, corsOnly})))
		Consistently(statusOf(p), time.Second).Should(HaveField("ProgrammedTargets", "1/1"))

		const syncs = 3
		managerWrites.Store(0)
		routeWrites.Store(0)
		for range syncs {
			// What Argo CD or Flux does on a sync without ignoreDifferences:
			// server-side apply the manifest from Git, forcing ownership.
			manifest := &unstructured.Unstructured{}
			manifest.SetAPIVersion(gatewayv1.GroupVersion.String())
			manifest.SetKind("HTTPRoute")
			manifest.SetNamespace(ns)
			manifest.SetName("api")
			spec, err := json.Marshal(original.Spec)
			Expect(err).NotTo(HaveOccurred())
			var specMap map[string]any
			Expect(json.Unmarshal(spec, &specMap)).To(Succeed())
			manifest.Object["spec"] = specMap
			Expect(k8sClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(manifest), client.FieldOwner("argocd-controller"), client.ForceOwnership)).To(Succeed())
			Eventually(getRoute(ns, "api")).Should(WithTransform(filterTypes, Equal([][]gatewayv1.HTTPRouteFilterType{corsOnly, corsOnly})))
		}
		Consistently(routeWrites.Load, 2*time.Second).Should(BeNumerically("==", syncs), "one route patch per sync, no fight")
		Expect(managerWrites.Load()).To(BeNumerically("<=", 2*syncs), "status and events stay bounded too")
	})
})
