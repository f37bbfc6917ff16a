package controllers

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// Policies on a Gateway: kubectl cors status --target must name, for each
// route and for the Gateway, the policy the controller programmed it
// with, the route's own policy winning over its Gateway's.
var _ = Describe("The controller and kubectl cors on policies on a Gateway", func() {
	It("name the same governing policy for a Gateway and its routes, the route's own policy winning", func() {
		gatewayClass("cors-capable", "example.com/gateway", "HTTPRoute", "HTTPRouteCORS")
		ns := newNamespace()
		gateway(ns, "gw", "cors-capable")
		for _, name := range []string{"via-gateway", "own-policy"} {
			Expect(k8sClient.Create(ctx, httpRoute(ns, name, "gw"))).To(Succeed())
		}
		edge := routePolicy(ns, "edge", gatewayRef("gw"))
		Expect(k8sClient.Create(ctx, edge)).To(Succeed())
		own := routePolicy(ns, "own", routeRef("own-policy"))
		Expect(k8sClient.Create(ctx, own)).To(Succeed())

		// The controller's answers.
		Eventually(targetCondition(edge, "gw")).Should(SatisfyAll(
			HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed),
			HaveField("Message", ContainSubstring(`HTTPRoute "via-gateway"`)),
			HaveField("Message", ContainSubstring(`HTTPRoute "own-policy" (overridden by CorsPolicy "own"`)),
		))
		Eventually(targetCondition(own, "own-policy")).Should(HaveField("Reason", kubecorsv1alpha1.ReasonProgrammed))
		Eventually(getRoute(ns, "via-gateway")).Should(WithTransform(filterTypes, Equal([][]gatewayv1.HTTPRouteFilterType{corsOnly, corsOnly})))
		Eventually(func(g Gomega) map[string]string { return getRoute(ns, "via-gateway")(g).Annotations }).Should(HaveKeyWithValue(AnnotationPolicy, "edge"))
		Eventually(func(g Gomega) map[string]string { return getRoute(ns, "own-policy")(g).Annotations }).Should(HaveKeyWithValue(AnnotationPolicy, "own"))

		kubeconfig := suiteKubeconfig()
		for _, c := range []struct{ target, policy, via string }{
			{"httproute/via-gateway", "edge", "Gateway " + ns + "/gw"},
			{"httproute/own-policy", "own", ""},
			{"gateway/gw", "edge", ""},
		} {
			var answer struct {
				Policy, Reason, DataPlane, Via string
				Written                        bool
			}
			runCLI(kubeconfig, &answer, "status", "-n", ns, "--target", c.target, "-o", "json")
			Expect(answer.Policy).To(Equal(ns+"/"+c.policy), "status --target %s", c.target)
			Expect(answer.Via).To(Equal(c.via), "status --target %s", c.target)
			Expect(answer.Reason).To(Equal(kubecorsv1alpha1.ReasonProgrammed), "status --target %s", c.target)
			Expect(answer.DataPlane).To(Equal("gateway-api"), "status --target %s", c.target)
			if c.target != "gateway/gw" {
				Expect(answer.Written).To(BeTrue(), "status --target %s", c.target)
			}
		}
	})
})
