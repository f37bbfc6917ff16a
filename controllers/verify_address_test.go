package controllers

import (
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubecors/kubecors/internal/plan"
)

// TestIngressTargetAddress: the annotation on the Ingress, then on its
// class, then the flag, then the load balancer; the rule's host (a
// wildcard made concrete) and path.
func TestIngressTargetAddress(t *testing.T) {
	class := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
	ing := func(annotations map[string]string, lb string) *networkingv1.Ingress {
		i := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: annotations}, Spec: networkingv1.IngressSpec{
			IngressClassName: new("nginx"),
			Rules: []networkingv1.IngressRule{{Host: "*.shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/api(/|$)(.*)"}}}}}},
		}}
		if lb != "" {
			i.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: lb}}
		}
		return i
	}
	annotated := class.DeepCopy()
	annotated.Annotations = map[string]string{AnnotationVerifyAddress: "https://nginx.ingress.svc:443"}
	for _, tc := range []struct {
		name    string
		ing     *networkingv1.Ingress
		class   networkingv1.IngressClass
		flags   map[string]string
		want    string
		problem string
	}{
		{name: "the Ingress's annotation comes first", ing: ing(map[string]string{AnnotationVerifyAddress: "10.0.0.1:8080"}, "10.9.9.9"),
			class: *annotated, flags: map[string]string{"nginx": "10.0.0.3:80"}, want: "http://10.0.0.1:8080 kubecors-verify.shop.example.com/api"},
		{name: "then the IngressClass's", ing: ing(nil, "10.9.9.9"), class: *annotated, flags: map[string]string{"nginx": "10.0.0.3:80"},
			want: "https://nginx.ingress.svc:443 kubecors-verify.shop.example.com/api"},
		{name: "then the flag, by class, controller or data plane", ing: ing(nil, "10.9.9.9"), class: class,
			flags: map[string]string{"ingress-nginx": "10.0.0.3:80"}, want: "http://10.0.0.3:80 kubecors-verify.shop.example.com/api"},
		{name: "then the load balancer on port 80", ing: ing(nil, "10.9.9.9"), class: class, want: "http://10.9.9.9:80 kubecors-verify.shop.example.com/api"},
		{name: "nothing known is a problem naming the annotation", ing: ing(nil, ""), class: class, problem: "no address for Ingress web"},
		{name: "a bad annotation is a problem naming it", ing: ing(map[string]string{AnnotationVerifyAddress: "ftp://x:21"}, ""), class: class,
			problem: "the scheme must be http or https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, problem := addressSource{flags: tc.flags}.ingressTarget("k", tc.ing, []networkingv1.IngressClass{tc.class}, "ingress-nginx")
			if tc.problem != "" {
				if !strings.Contains(problem, tc.problem) {
					t.Fatalf("problem %q, want it to say %q", problem, tc.problem)
				}
				return
			}
			if got := target.Scheme + "://" + target.Address + " " + target.Host + target.Path; problem != "" || got != tc.want {
				t.Fatalf("got %q (problem %q), want %q", got, problem, tc.want)
			}
		})
	}
}

// TestRouteTargetAddress: a route reaches its Gateway's address on the
// HTTP listener's port, with its hostname and the targeted rule's path.
func TestRouteTargetAddress(t *testing.T) {
	gw := gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "gw"}, Spec: gatewayv1.GatewaySpec{GatewayClassName: "envoy",
		Listeners: []gatewayv1.Listener{{Name: "tls", Port: 443, Protocol: gatewayv1.HTTPSProtocolType}, {Name: "web", Port: 8080, Protocol: gatewayv1.HTTPProtocolType}}}}
	gw.Status.Addresses = []gatewayv1.GatewayStatusAddress{{Value: "192.0.2.7"}}
	classes := []gatewayv1.GatewayClass{{ObjectMeta: metav1.ObjectMeta{Name: "envoy"}, Spec: gatewayv1.GatewayClassSpec{ControllerName: "example.com/envoy"}}}
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api"}, Spec: gatewayv1.HTTPRouteSpec{
		CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
		Hostnames:       []gatewayv1.Hostname{"api.example.com"},
		Rules: []gatewayv1.HTTPRouteRule{
			{Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: new("/v1")}}}},
			{Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: new("/v2")}}}},
		},
	}}
	target, problem := addressSource{}.routeTarget("k", &plan.RouteWrite{Route: route, Rules: []int{1}}, []gatewayv1.Gateway{gw}, classes, "gateway-api")
	if got := target.URL() + " via " + target.Address; problem != "" || got != "http://api.example.com/v2 via 192.0.2.7:8080" {
		t.Fatalf("got %q (problem %q)", got, problem)
	}
	target, _ = addressSource{flags: map[string]string{"shop/gw": "10.1.1.1:80"}}.routeTarget("k", &plan.RouteWrite{Route: route, Rules: []int{0}},
		[]gatewayv1.Gateway{gw}, classes, "gateway-api")
	if target.Address != "10.1.1.1:80" || target.Path != "/v1" {
		t.Fatalf("the flag naming the Gateway: got %+v", target)
	}
	gw.Status.Addresses = nil
	if _, problem := (addressSource{}).routeTarget("k", &plan.RouteWrite{Route: route}, []gatewayv1.Gateway{gw}, classes, "gateway-api"); !strings.Contains(problem, "status.addresses") {
		t.Fatalf("problem %q, want it to name the Gateway's status.addresses", problem)
	}
}

// TestParseVerifyAddresses: bad flags are refused with the flag quoted.
func TestParseVerifyAddresses(t *testing.T) {
	if got, err := ParseVerifyAddresses([]string{"traefik=127.0.0.1:8080", "nginx=https://[::1]:443"}); err != nil || got["nginx"] != "https://[::1]:443" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"traefik", "=1.2.3.4:80", "traefik=1.2.3.4", "traefik=1.2.3.4:0", "traefik=gopher://x:70"} {
		if _, err := ParseVerifyAddresses([]string{bad}); err == nil || !strings.Contains(err.Error(), "--verify-address") {
			t.Errorf("%q: error %v, want a refusal naming --verify-address", bad, err)
		}
	}
}

// TestRoundBackoff: a pass in which a data plane did not answer brings the
// next one forward, doubling from 5 s up to the interval.
func TestRoundBackoff(t *testing.T) {
	at := time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)
	for failures, want := range []time.Duration{10 * time.Minute, 5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second} {
		if got := (round{at: at, failures: failures}).due(10 * time.Minute).Sub(at); got != want {
			t.Errorf("%d failures: due after %s, want %s", failures, got, want)
		}
	}
	if got := (round{at: at, failures: maxBackoffDoublings + 1}).due(10 * time.Minute).Sub(at); got != 10*time.Minute {
		t.Errorf("many failures: due after %s, want the interval", got)
	}
}
