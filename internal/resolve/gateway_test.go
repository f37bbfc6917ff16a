package resolve

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// attachedRoute is a route of namespace shop with the given parentRefs
// ("gateway" or "gateway/listener"; "ns:gateway" for another namespace).
func attachedRoute(name string, parents ...string) gatewayv1.HTTPRoute {
	r := gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}}
	for _, p := range parents {
		ref := gatewayv1.ParentReference{}
		if ns, rest, ok := strings.Cut(p, ":"); ok {
			ref.Namespace, p = new(gatewayv1.Namespace(ns)), rest
		}
		gw, listener, ok := strings.Cut(p, "/")
		ref.Name = gatewayv1.ObjectName(gw)
		if ok {
			ref.SectionName = new(gatewayv1.SectionName(listener))
		}
		r.Spec.ParentRefs = append(r.Spec.ParentRefs, ref)
	}
	return r
}

func onGateway(name string, listener *string) func(*kubecorsv1alpha1.CorsPolicy) {
	return func(p *kubecorsv1alpha1.CorsPolicy) {
		p.Spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{{Group: kubecorsv1alpha1.GroupGateway, Kind: kubecorsv1alpha1.KindGateway, Name: name, SectionName: listener}}
	}
}

func onRoute(name string) func(*kubecorsv1alpha1.CorsPolicy) {
	return func(p *kubecorsv1alpha1.CorsPolicy) {
		p.Spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{{Group: kubecorsv1alpha1.GroupGateway, Kind: kubecorsv1alpha1.KindHTTPRoute, Name: name}}
	}
}

func TestGatewayReach(t *testing.T) {
	refused := attachedRoute("h-refused", "edge")
	refused.Status.Parents = []gatewayv1.RouteParentStatus{{ParentRef: refused.Spec.ParentRefs[0],
		Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionFalse, Reason: "NotAllowedByListeners", Message: "no"}}}}
	routes := []gatewayv1.HTTPRoute{
		attachedRoute("b-whole", "edge"),
		attachedRoute("a-listener", "edge/https"),
		attachedRoute("c-other-listener", "edge/http"),
		attachedRoute("d-two-gateways", "edge", "internal"),
		attachedRoute("e-own-policy", "edge"),
		attachedRoute("f-elsewhere", "internal"),
		attachedRoute("g-other-namespace", "infra:edge"),
		refused,
	}
	c := NewCandidates([]kubecorsv1alpha1.CorsPolicy{at("edge", 1, false, onGateway("edge", nil)), at("own", 2, false, onRoute("e-own-policy"))}, nil)
	gw := types.NamespacedName{Namespace: "shop", Name: "edge"}

	type reached struct {
		name, overriddenBy string
		notAccepted, other bool
	}
	summary := func(reach []RouteReach) []reached {
		out := make([]reached, 0, len(reach))
		for _, r := range reach {
			out = append(out, reached{r.Route.Name, r.OverriddenBy, r.NotAccepted != "", len(r.OtherParents) > 0})
		}
		return out
	}
	whole := summary(c.GatewayReach(gw, nil, routes))
	want := []reached{
		{name: "a-listener"}, {name: "b-whole"}, {name: "c-other-listener"},
		{name: "d-two-gateways", other: true}, {name: "e-own-policy", overriddenBy: "own"}, {name: "h-refused", notAccepted: true},
	}
	if !slices.Equal(whole, want) {
		t.Errorf("the whole Gateway reaches %+v, want %+v (routes of other Gateways and namespaces never)", whole, want)
	}
	https := "https"
	listener := summary(c.GatewayReach(gw, &https, routes))
	want = []reached{
		{name: "a-listener"}, {name: "b-whole", other: true}, {name: "d-two-gateways", other: true},
		{name: "e-own-policy", overriddenBy: "own", other: true}, {name: "h-refused", notAccepted: true, other: true},
	}
	if !slices.Equal(listener, want) {
		t.Errorf("listener https reaches %+v, want %+v (a route on every listener would carry the filter to the others too)", listener, want)
	}
}

func TestGatewayGoverning(t *testing.T) {
	https := "https"
	c := NewCandidates([]kubecorsv1alpha1.CorsPolicy{
		at("edge", 1, false, onGateway("edge", nil)),
		at("secure", 2, false, onGateway("secure", &https)),
		at("own", 3, false, onRoute("own-route")),
	}, nil)
	selectAll := NewCandidates([]kubecorsv1alpha1.CorsPolicy{
		at("selector", 0, true, func(p *kubecorsv1alpha1.CorsPolicy) { p.Spec.TargetSelector = &metav1.LabelSelector{} }),
	}, nil)
	if p := selectAll.Governing(Object{Kind: kubecorsv1alpha1.KindGateway, Name: "edge"}); p != nil {
		t.Errorf("a label selector selected a Gateway: %s", p.Name)
	}
	cases := []struct {
		name       string
		route      gatewayv1.HTTPRoute
		policy     string
		via        string
		ownGoverns bool
	}{
		{"through its Gateway", attachedRoute("r", "edge"), "edge", "shop/edge", false},
		{"through the listener it attaches to", attachedRoute("r", "secure/https"), "secure", "shop/secure", false},
		{"not through a listener it does not attach to", attachedRoute("r", "secure/http"), "", "", false},
		{"its own policy first", attachedRoute("own-route", "edge"), "", "", true},
		{"a Gateway of another namespace never", attachedRoute("r", "infra:edge"), "", "", false},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			p, via := c.GatewayGoverning(&tt.route)
			got := ""
			if p != nil {
				got = p.Name
			}
			if got != tt.policy || via != tt.via {
				t.Errorf("GatewayGoverning = %q via %q, want %q via %q", got, via, tt.policy, tt.via)
			}
			if own := c.Governing(ObjectOf(kubecorsv1alpha1.KindHTTPRoute, &tt.route)); (own != nil && own.Name == "own") != tt.ownGoverns {
				t.Errorf("Governing = %v", own)
			}
		})
	}
}
