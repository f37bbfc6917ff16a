package controllers

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/envoygateway"
)

func gatewayRef(name string) kubecorsv1alpha1.PolicyTargetReference {
	return kubecorsv1alpha1.PolicyTargetReference{Group: kubecorsv1alpha1.GroupGateway, Kind: kubecorsv1alpha1.KindGateway, Name: name}
}

// securityPolicies lists the SecurityPolicies of a namespace.
func securityPolicies(ns string) func(Gomega) []unstructured.Unstructured {
	return func(g Gomega) []unstructured.Unstructured {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(envoygateway.GVK.GroupVersion().WithKind(envoygateway.Kind + "List"))
		g.Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		return list.Items
	}
}

// rulesJSON is a route's rules as the API server stores them.
func rulesJSON(route *gatewayv1.HTTPRoute) string {
	raw, err := json.Marshal(route.Spec.Rules)
	Expect(err).NotTo(HaveOccurred())
	return string(raw)
}

// targetMessage is the status message of a policy's target name.
func targetMessage(p *kubecorsv1alpha1.CorsPolicy, name string) func(Gomega) string {
	return func(g Gomega) string { return targetCondition(p, name)(g).Message }
}

var _ = Describe("Policies on a Gateway", func() {
	BeforeEach(func() {
		gatewayClass("cors-capable", "example.com/gateway", "HTTPRoute", "HTTPRouteCORS")
		gatewayClass("envoy", envoygateway.GatewayController, "HTTPRoute")
	})

	It("reaches every route attached to the Gateway, follows routes attaching and detaching, yields to a route's own policy, and restores every route", func() {
		ns := newNamespace()
		gateway(ns, "gw", "cors-capable")
		gateway(ns, "other", "cors-capable")
		Expect(k8sClient.Create(ctx, httpRoute(ns, "first", "gw"))).To(Succeed())
		original := rulesJSON(getRoute(ns, "first")(Default))
		p := routePolicy(ns, "edge", gatewayRef("gw"))
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(getRoute(ns, "first")).Should(WithTransform(filterTypes, Equal([][]gatewayv1.HTTPRouteFilterType{corsOnly, corsOnly})))
		Eventually(targetMessage(p, "gw")).Should(ContainSubstring(`attached to Gateway "gw": HTTPRoute "first"`))

		By("attaching a second route later")
		Expect(k8sClient.Create(ctx, httpRoute(ns, "second", "gw"))).To(Succeed())
		Eventually(getRoute(ns, "second")).Should(WithTransform(filterTypes, Equal([][]gatewayv1.HTTPRouteFilterType{corsOnly, corsOnly})))
		Eventually(targetMessage(p, "gw")).Should(ContainSubstring(`HTTPRoute "first", HTTPRoute "second"`))

		By("giving the second route a policy of its own, which takes precedence")
		own := routePolicy(ns, "own", routeRef("second"))
		own.Spec.AllowOrigins = []kubecorsv1alpha1.Origin{"https://admin.example.com"}
		Expect(k8sClient.Create(ctx, own)).To(Succeed())
		Eventually(targetMessage(p, "gw")).Should(ContainSubstring(`HTTPRoute "second" (overridden by CorsPolicy "own"`))
		Eventually(func(g Gomega) []gatewayv1.CORSOrigin {
			return getRoute(ns, "second")(g).Spec.Rules[0].Filters[1].CORS.AllowOrigins
		}).Should(Equal([]gatewayv1.CORSOrigin{"https://admin.example.com"}))

		By("detaching the first route")
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			route := getRoute(ns, "first")(Default)
			route.Spec.ParentRefs = []gatewayv1.ParentReference{{Name: "other"}}
			return k8sClient.Update(ctx, route)
		})).To(Succeed())
		Eventually(getRoute(ns, "first")).Should(WithTransform(filterTypes, Equal([][]gatewayv1.HTTPRouteFilterType{userOnly, userOnly})))
		Eventually(targetMessage(p, "gw")).ShouldNot(ContainSubstring(`HTTPRoute "first"`))

		By("deleting the policies")
		deleteAndWait(own)
		Eventually(getRoute(ns, "second")).Should(WithTransform(func(r *gatewayv1.HTTPRoute) []gatewayv1.CORSOrigin {
			return r.Spec.Rules[0].Filters[1].CORS.AllowOrigins
		}, ContainElement(gatewayv1.CORSOrigin("https://app.example.com"))), "the Gateway's policy takes the route back")
		deleteAndWait(p)
		Expect(getRoute(ns, "second")(Default)).To(WithTransform(filterTypes, Equal([][]gatewayv1.HTTPRouteFilterType{userOnly, userOnly})))
		Expect(rulesJSON(getRoute(ns, "first")(Default))).To(Equal(original), "the detached route's rules are restored byte for byte")
	})

	It("programs Envoy Gateway with one SecurityPolicy on the Gateway, a route without HTTPRouteCORS with its own, narrows wildcards, and deletes only its own SecurityPolicies", func() {
		ns := newNamespace()
		gateway(ns, "eg", "envoy")
		Expect(k8sClient.Create(ctx, httpRoute(ns, "api", "eg"))).To(Succeed())
		untouched := getRoute(ns, "api")(Default)
		users := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": envoygateway.Group + "/" + envoygateway.Version, "kind": envoygateway.Kind,
			"metadata": map[string]any{"name": "users-own", "namespace": ns, "labels": map[string]any{dataplanes.LabelPolicy: "edge"}},
			"spec": map[string]any{
				"targetRefs": []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "eg"}},
				"cors":       map[string]any{"allowOrigins": []any{"https://users.example.com"}},
			},
		}}
		Expect(k8sClient.Create(ctx, users)).To(Succeed())

		p := routePolicy(ns, "edge", gatewayRef("eg"))
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(targetCondition(p, "eg")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed),
			HaveField("Message", ContainSubstring(`spec.allowOrigins[1] "https://*.example.com": Envoy Gateway turns "*" into the regular expression ".*"`)),
			HaveField("Message", ContainSubstring(`attached to Gateway "eg"`)),
			HaveField("Message", ContainSubstring(`reached: HTTPRoute "api"`)),
		))
		Eventually(securityPolicies(ns)).Should(HaveLen(2))
		sp := &unstructured.Unstructured{}
		sp.SetGroupVersionKind(envoygateway.GVK)
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kubecors-edge-gateway-eg"}, sp)).To(Succeed())
		Expect(sp.GetOwnerReferences()).To(ConsistOf(HaveField("Name", "edge")))
		origins, _, _ := unstructured.NestedStringSlice(sp.Object, "spec", "cors", "allowOrigins")
		Expect(origins).To(Equal([]string{"https://app.example.com", "http://localhost:3000"}))
		maxAge, _, _ := unstructured.NestedString(sp.Object, "spec", "cors", "maxAge")
		Expect(maxAge).To(Equal("600s"))
		Expect(specJSON(getRoute(ns, "api")(Default))).To(Equal(specJSON(untouched)), "nothing is written into the route")

		By("a policy on the route itself: its own SecurityPolicy, which Envoy Gateway prefers")
		own := routePolicy(ns, "own", routeRef("api"))
		Expect(k8sClient.Create(ctx, own)).To(Succeed())
		Eventually(targetCondition(own, "api")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed),
			HaveField("Message", ContainSubstring("SecurityPolicy kubecors-own-httproute-api attached to the route")),
		))
		Eventually(targetMessage(p, "eg")).Should(ContainSubstring(`HTTPRoute "api" (overridden by CorsPolicy "own")`))
		Eventually(securityPolicies(ns)).Should(HaveLen(3))

		By("deleting the route's policy deletes its SecurityPolicy; deleting the Gateway's deletes the other, and never the user's")
		deleteAndWait(own)
		Eventually(securityPolicies(ns)).Should(HaveLen(2))
		deleteAndWait(p)
		Eventually(securityPolicies(ns)).Should(ConsistOf(HaveField("Object", HaveKeyWithValue("metadata", HaveKeyWithValue("name", "users-own")))))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kubecors-edge-gateway-eg"}, sp))).To(BeTrue())
	})
})
