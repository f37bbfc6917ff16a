package controllers

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/kong"
)

var kongPluginGVK = schema.GroupVersionKind{Group: kong.Group, Version: kong.Version, Kind: kong.Kind}

// kongPlugins lists the KongPlugins of a namespace.
func kongPlugins(ns string) func(Gomega) []unstructured.Unstructured {
	return func(g Gomega) []unstructured.Unstructured {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(kongPluginGVK.GroupVersion().WithKind(kong.Kind + "List"))
		g.Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		return list.Items
	}
}

func pluginConfig(p unstructured.Unstructured, field string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(p.Object, "config", field)
	return v
}

var _ = Describe("Programming Kong", func() {
	BeforeEach(func() {
		ensureClass("kong", kong.Controller)
		gatewayClass("kong", kong.GatewayController, "HTTPRoute")
	})

	It("attaches an owned cors KongPlugin through konghq.com/plugins next to the user's plugins, follows policy changes, and restores the Ingress on deletion", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, classedIngress(ns, "web", "kong", map[string]string{kong.PluginsAnnotation: "rate-limit"}),
			client.FieldOwner("platform-team"))).To(Succeed())
		before := annotationsOf(ns)(Default)
		p := richPolicy(ns, "rich")
		p.Spec.AllowMethods = append(p.Spec.AllowMethods, "PURGE")
		Expect(k8sClient.Create(ctx, p)).To(Succeed())

		Eventually(targetCondition(p, "web")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed),
			HaveField("Message", ContainSubstring(`spec.allowMethods[3] "PURGE": Kong's cors plugin accepts only`)),
		), "a custom method is narrowed away, and status says so")
		Eventually(annotationsOf(ns)).Should(HaveKeyWithValue(kong.PluginsAnnotation, "rate-limit,kubecors-rich"), "the user's plugin stays first")
		plugins := kongPlugins(ns)(Default)
		Expect(plugins).To(HaveLen(1))
		plugin := plugins[0]
		Expect(plugin.GetName()).To(Equal("kubecors-rich"))
		Expect(plugin.GetOwnerReferences()).To(ConsistOf(HaveField("Name", "rich")))
		Expect(plugin.Object).To(HaveKeyWithValue("plugin", "cors"))
		Expect(pluginConfig(plugin, "origins")).To(ConsistOf("https://app.example.com", `^https://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+example\.com$`, "http://localhost:3000"))
		Expect(pluginConfig(plugin, "methods")).To(Equal([]any{"GET", "PUT", "DELETE"}))
		Expect(pluginConfig(plugin, "credentials")).To(BeTrue())
		Expect(pluginConfig(plugin, "max_age")).To(BeEquivalentTo(600))
		Expect(pluginConfig(plugin, "preflight_continue")).To(BeFalse())

		By("changing the policy, which rewrites the plugin's config")
		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) { p.Spec.MaxAge = new(int32(60)) })
		Eventually(func(g Gomega) any { return pluginConfig(kongPlugins(ns)(g)[0], "max_age") }).Should(BeEquivalentTo(60))

		deleteAndWait(p)
		Expect(annotationsOf(ns)(Default)).To(Equal(before))
	})

	It("attaches the KongPlugin to an HTTPRoute of Kong's GatewayClass through an ExtensionRef, and removes it on deletion", func() {
		ns := newNamespace()
		gateway(ns, "gw", "kong")
		Expect(k8sClient.Create(ctx, httpRoute(ns, "api", "gw"))).To(Succeed())
		original := getRoute(ns, "api")(Default)
		p := routePolicy(ns, "via-kong", routeRef("api"))
		Expect(k8sClient.Create(ctx, p)).To(Succeed())

		Eventually(getRoute(ns, "api")).Should(WithTransform(filterTypes, Equal([][]gatewayv1.HTTPRouteFilterType{extensionOnly, extensionOnly})))
		Eventually(statusOf(p)).Should(HaveField("Targets", ConsistOf(HaveField("DataPlane", kong.Name))))
		ref := getRoute(ns, "api")(Default).Spec.Rules[0].Filters[1].ExtensionRef
		Expect(ref.Group).To(Equal(gatewayv1.Group(kong.Group)))
		Expect(ref.Kind).To(Equal(gatewayv1.Kind(kong.Kind)))
		plugin := &unstructured.Unstructured{}
		plugin.SetGroupVersionKind(kongPluginGVK)
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: string(ref.Name)}, plugin)).To(Succeed())
		Expect(plugin.GetOwnerReferences()).To(ConsistOf(HaveField("Name", "via-kong")))

		deleteAndWait(p)
		Expect(specJSON(getRoute(ns, "api")(Default))).To(Equal(specJSON(original)))
	})
})
