package controllers

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/contour"
	"github.com/kubecors/kubecors/internal/dataplanes/istio"
)

// createObject creates an object from YAML in namespace ns.
func createObject(ns, doc string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal([]byte(doc), &obj.Object)).To(Succeed())
	obj.SetNamespace(ns)
	Expect(k8sClient.Create(ctx, obj)).To(Succeed())
	return obj
}

// getObject reads an object of obj's kind afresh.
func getObject(obj *unstructured.Unstructured) func(Gomega) *unstructured.Unstructured {
	return func(g Gomega) *unstructured.Unstructured {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(obj.GroupVersionKind())
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
		return got
	}
}

// objectSpecJSON is an object's spec as the API server stores it.
func objectSpecJSON(obj *unstructured.Unstructured) string {
	raw, err := json.Marshal(obj.Object["spec"])
	Expect(err).NotTo(HaveOccurred())
	return string(raw)
}

// httpRoutes are a VirtualService's http routes.
func httpRoutes(obj *unstructured.Unstructured) []any {
	routes, _, _ := unstructured.NestedSlice(obj.Object, "spec", "http")
	return routes
}

func targetKindPolicy(ns, name string, refs ...kubecorsv1alpha1.PolicyTargetReference) *kubecorsv1alpha1.CorsPolicy {
	p := richPolicy(ns, name)
	p.Spec.TargetRefs = refs
	return p
}

const userVirtualService = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: shop
  annotations: {team: payments}
spec:
  hosts: [shop.example.com]
  http:
  - name: api
    match: [{uri: {prefix: /api}}]
    corsPolicy:
      allowOrigins: [{prefix: "https://app.example.com"}]
      allowMethods: [GET]
      allowCredentials: true
      maxAge: 24h
    route: [{destination: {host: api}}]
  - match: [{uri: {prefix: /}}]
    route: [{destination: {host: web}}]
`

var _ = Describe("Programming Istio VirtualServices", func() {
	It("refuses to overwrite a user's corsPolicy, takes it over on request, follows route edits and restores the routes byte for byte", func() {
		ns := newNamespace()
		vs := createObject(ns, userVirtualService)
		original := getObject(vs)(Default)

		p := targetKindPolicy(ns, "mesh", kubecorsv1alpha1.PolicyTargetReference{Group: kubecorsv1alpha1.GroupIstio, Kind: kubecorsv1alpha1.KindVirtualService, Name: "shop"})
		p.Spec.AllowMethods = append(p.Spec.AllowMethods, "PROPFIND")
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(targetCondition(p, "shop")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonConflicted),
			HaveField("Message", ContainSubstring("spec.http[0].corsPolicy of VirtualService \"shop\" already holds CORS configuration that kubecors did not write")),
		))
		Consistently(func(g Gomega) string { return objectSpecJSON(getObject(vs)(g)) }, "1s").Should(Equal(objectSpecJSON(original)))

		By("taking the user's corsPolicy over")
		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) { p.Spec.TakeOverExistingConfiguration = true })
		Eventually(targetCondition(p, "shop")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed),
			HaveField("Message", ContainSubstring(`spec.allowMethods[3] "PROPFIND": istiod's validation accepts only`)),
		))
		got := getObject(vs)(Default)
		for _, r := range httpRoutes(got) {
			cors := r.(map[string]any)["corsPolicy"].(map[string]any)
			Expect(cors).To(HaveKeyWithValue("unmatchedPreflights", "IGNORE"))
			Expect(cors["allowOrigins"]).To(ContainElement(HaveKeyWithValue("regex", `^https://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+example\.com$`)))
			Expect(cors["allowOrigins"]).NotTo(ContainElement(HaveKey("prefix")))
		}
		Expect(got.GetAnnotations()).To(SatisfyAll(HaveKeyWithValue("team", "payments"), HaveKeyWithValue(AnnotationPolicy, "mesh"), HaveKey(istio.RecordAnnotation)))
		Eventually(statusOf(p)).Should(HaveField("Targets", ConsistOf(HaveField("DataPlane", istio.Name))))

		By("the user adding a route in between: it is programmed too, and kept on removal")
		newRoute := map[string]any{"name": "admin", "match": []any{map[string]any{"uri": map[string]any{"prefix": "/admin"}}},
			"route": []any{map[string]any{"destination": map[string]any{"host": "admin"}}}}
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur := getObject(vs)(Default)
			Expect(unstructured.SetNestedSlice(cur.Object, append(httpRoutes(cur), newRoute), "spec", "http")).To(Succeed())
			return k8sClient.Update(ctx, cur)
		})).To(Succeed())
		Eventually(func(g Gomega) map[string]any { return httpRoutes(getObject(vs)(g))[2].(map[string]any) }).Should(HaveKey("corsPolicy"))

		deleteAndWait(p)
		restored := getObject(vs)(Default)
		want := original.DeepCopy()
		Expect(unstructured.SetNestedSlice(want.Object, append(httpRoutes(want), newRoute), "spec", "http")).To(Succeed())
		Expect(objectSpecJSON(restored)).To(Equal(objectSpecJSON(want)), "the user's routes, their original corsPolicy and the added route, byte for byte")
		Expect(restored.GetAnnotations()).To(Equal(original.GetAnnotations()))
	})

	It("refuses a VirtualService without http routes", func() {
		ns := newNamespace()
		createObject(ns, `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db}
spec:
  hosts: [db.example.com]
  tcp: [{route: [{destination: {host: db}}]}]
`)
		p := targetKindPolicy(ns, "tcp", kubecorsv1alpha1.PolicyTargetReference{Group: kubecorsv1alpha1.GroupIstio, Kind: kubecorsv1alpha1.KindVirtualService, Name: "db"})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(targetCondition(p, "db")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonRefused),
			HaveField("Message", ContainSubstring(`VirtualService "db" has no http routes`)),
		))
	})
})

var _ = Describe("Programming Contour HTTPProxies", func() {
	It("programs a root proxy's virtual host, refuses an included proxy, narrows nothing and restores the root byte for byte", func() {
		ns := newNamespace()
		root := createObject(ns, `
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: root}
spec:
  virtualhost: {fqdn: shop.example.com}
  includes: [{name: child}]
`)
		createObject(ns, `
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: child}
spec:
  routes: [{services: [{name: web, port: 80}]}]
`)
		original := getObject(root)(Default)
		p := targetKindPolicy(ns, "contour",
			kubecorsv1alpha1.PolicyTargetReference{Group: kubecorsv1alpha1.GroupContour, Kind: kubecorsv1alpha1.KindHTTPProxy, Name: "root"},
			kubecorsv1alpha1.PolicyTargetReference{Group: kubecorsv1alpha1.GroupContour, Kind: kubecorsv1alpha1.KindHTTPProxy, Name: "child"})
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Eventually(targetCondition(p, "root")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed), HaveField("Message", Equal("programmed for "+contour.Name+" as written"))))
		Eventually(targetCondition(p, "child")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonRefused), HaveField("Message", ContainSubstring(`HTTPProxy "child" is not a root proxy`))))
		cors, _, _ := unstructured.NestedMap(getObject(root)(Default).Object, "spec", "virtualhost", "corsPolicy")
		Expect(cors).To(SatisfyAll(
			HaveKeyWithValue("allowCredentials", true), HaveKeyWithValue("allowPrivateNetwork", false), HaveKeyWithValue("maxAge", "600s"),
			HaveKeyWithValue("allowOrigin", ContainElement(`^https://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+example\.com$`)),
		))

		By("narrowing the policy rewrites kubecors's corsPolicy only")
		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) {
			p.Spec.AllowOrigins = []kubecorsv1alpha1.Origin{"https://app.example.com"}
		})
		Eventually(func(g Gomega) any {
			v, _, _ := unstructured.NestedSlice(getObject(root)(g).Object, "spec", "virtualhost", "corsPolicy", "allowOrigin")
			return v
		}).Should(Equal([]any{"https://app.example.com"}))

		By("dropping the root from the policy cleans it up")
		updatePolicy(p, func(p *kubecorsv1alpha1.CorsPolicy) { p.Spec.TargetRefs = p.Spec.TargetRefs[1:] })
		Eventually(func(g Gomega) string { return objectSpecJSON(getObject(root)(g)) }).Should(Equal(objectSpecJSON(original)))
		Expect(getObject(root)(Default).GetAnnotations()).To(Equal(original.GetAnnotations()))
		deleteAndWait(p)
	})
})
