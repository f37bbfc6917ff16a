package resolve

import (
	"slices"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/haproxyingress"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

var classes = []networkingv1.IngressClass{
	{ObjectMeta: metav1.ObjectMeta{Name: "nginx", Annotations: map[string]string{DefaultIngressClassAnnotation: "true"}},
		Spec: networkingv1.IngressClassSpec{Controller: ingressnginx.Controller}},
	{ObjectMeta: metav1.ObjectMeta{Name: "traefik"}, Spec: networkingv1.IngressClassSpec{Controller: traefik.Controller}},
	{ObjectMeta: metav1.ObjectMeta{Name: "apisix"}, Spec: networkingv1.IngressClassSpec{Controller: "apisix.apache.org/apisix-ingress-controller"}},
}

func TestDetectIngress(t *testing.T) {
	class := func(name string) *string { return &name }
	apisixMapped := []kubecorsv1alpha1.DataPlaneMapping{{ControllerName: "apisix.apache.org/apisix-ingress-controller", DataPlane: haproxyingress.Name}}
	haproxyAnnotated := map[string]string{haproxyingress.CorsEnable: "true"}
	tests := []struct {
		name      string
		ing       networkingv1.Ingress
		mappings  []kubecorsv1alpha1.DataPlaneMapping
		want      string // what the controller renders for
		wantGuess string // what kubectl cors reads the configuration as
		wantHow   string
	}{
		{name: "the class it names", ing: networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: class("traefik")}},
			want: traefik.Name, wantGuess: traefik.Name, wantHow: `IngressClass "traefik" is served by traefik.io/ingress-controller`},
		{name: "the legacy class annotation", ing: networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{LegacyIngressClassAnnotation: "traefik"}}},
			want: traefik.Name, wantGuess: traefik.Name},
		{name: "the default class when it names none", ing: networkingv1.Ingress{}, want: ingressnginx.Name, wantGuess: ingressnginx.Name},
		{name: "a policy's mapping for an unknown controller", ing: networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: class("apisix")}},
			mappings: apisixMapped, want: haproxyingress.Name, wantGuess: haproxyingress.Name, wantHow: "mapped to haproxy-ingress by the policy's dataPlaneMappings"},
		{name: "an unknown controller is never guessed by the controller, only read as a guess by kubectl cors",
			ing:  networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Annotations: haproxyAnnotated}, Spec: networkingv1.IngressSpec{IngressClassName: class("apisix")}},
			want: "", wantGuess: haproxyingress.Name, wantHow: "which kubecors has no renderer for"},
		{name: "a missing class, nothing to guess from", ing: networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: class("gone")}},
			want: "", wantGuess: "", wantHow: `IngressClass "gone" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetectIngress(&tt.ing, classes, tt.mappings, RegistryLookup, []string{"x"})
			if got.DataPlane != tt.want || !strings.Contains(got.How, tt.wantHow) {
				t.Errorf("DetectIngress = %q (%s), want %q (%s)", got.DataPlane, got.How, tt.want, tt.wantHow)
			}
			if guess := DetectIngressOrGuess(&tt.ing, classes, tt.mappings); guess.DataPlane != tt.wantGuess {
				t.Errorf("DetectIngressOrGuess = %q (%s), want %q", guess.DataPlane, guess.How, tt.wantGuess)
			}
		})
	}
}

func TestIngressClassOfSeveralDefaults(t *testing.T) {
	two := append(slices.Clone(classes), networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-2", Annotations: map[string]string{DefaultIngressClassAnnotation: "true"}}})
	if class, problem := IngressClassOf(&networkingv1.Ingress{}, two); class != nil || !strings.Contains(problem, "several IngressClasses are marked default") {
		t.Errorf("IngressClassOf = %v, %q", class, problem)
	}
}

// at makes a policy created at the given day, targeting the Ingress "web"
// by name or, with selector, by the label app=web.
func at(name string, day int, selector bool, mutate ...func(*kubecorsv1alpha1.CorsPolicy)) kubecorsv1alpha1.CorsPolicy {
	p := kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", CreationTimestamp: metav1.NewTime(time.Date(2026, 1, day, 0, 0, 0, 0, time.UTC))},
		Spec:       kubecorsv1alpha1.CorsPolicySpec{AllowOrigins: []kubecorsv1alpha1.Origin{"https://app.example.com"}},
	}
	if selector {
		p.Spec.TargetSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	} else {
		p.Spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{{Group: kubecorsv1alpha1.GroupNetworking, Kind: kubecorsv1alpha1.KindIngress, Name: "web"}}
	}
	for _, m := range mutate {
		m(&p)
	}
	return p
}

func asDefault(p *kubecorsv1alpha1.CorsPolicy) {
	p.Labels = map[string]string{LabelDefaultOf: "baseline"}
}
func invalid(p *kubecorsv1alpha1.CorsPolicy) { p.Spec.AllowOrigins = []kubecorsv1alpha1.Origin{"null"} }
func deleting(p *kubecorsv1alpha1.CorsPolicy) {
	now := metav1.Now()
	p.DeletionTimestamp = &now
}

func withCredentials(p *kubecorsv1alpha1.CorsPolicy) { p.Spec.AllowCredentials = new(true) }

// noCredentials enforces; auditWildcards only audits, so the policies it
// finds (every one in TestGoverning allows "https://app.example.com",
// outside its allowed origins) still govern.
var (
	noCredentials = kubecorsv1alpha1.ClusterCorsPolicy{ObjectMeta: metav1.ObjectMeta{Name: "no-credentials"},
		Spec: kubecorsv1alpha1.ClusterCorsPolicySpec{Mode: kubecorsv1alpha1.ModeEnforce, Rules: kubecorsv1alpha1.ClusterCorsRules{ForbidCredentials: true}}}
	auditWildcards = kubecorsv1alpha1.ClusterCorsPolicy{ObjectMeta: metav1.ObjectMeta{Name: "audit-only"},
		Spec: kubecorsv1alpha1.ClusterCorsPolicySpec{Mode: kubecorsv1alpha1.ModeAudit, Rules: kubecorsv1alpha1.ClusterCorsRules{ForbidLoopback: true, AllowedOrigins: []kubecorsv1alpha1.Origin{"https://*.other.example"}}}}
)

func TestGoverning(t *testing.T) {
	web := Object{Kind: kubecorsv1alpha1.KindIngress, Name: "web", Labels: map[string]string{"app": "web"}}
	tests := []struct {
		name        string
		policies    []kubecorsv1alpha1.CorsPolicy
		want        string
		competitors []string
	}{
		{"the oldest wins", []kubecorsv1alpha1.CorsPolicy{at("new", 3, false), at("old", 1, true)}, "old", []string{"new", "old"}},
		{"same age: the name decides", []kubecorsv1alpha1.CorsPolicy{at("b", 1, false), at("a", 1, false)}, "a", []string{"a", "b"}},
		{"a namespace policy before an older default, which is no competitor",
			[]kubecorsv1alpha1.CorsPolicy{at("default", 1, true, asDefault), at("own", 5, false)}, "own", []string{"own"}},
		{"two defaults compete", []kubecorsv1alpha1.CorsPolicy{at("d2", 2, true, asDefault), at("d1", 1, true, asDefault)}, "d1", []string{"d1", "d2"}},
		{"an invalid policy never governs", []kubecorsv1alpha1.CorsPolicy{at("broken", 1, false, invalid), at("ok", 2, false)}, "ok", []string{"ok"}},
		{"a policy an Enforce-mode ClusterCorsPolicy blocks hands over", []kubecorsv1alpha1.CorsPolicy{at("blocked", 1, false, withCredentials), at("next", 2, false)}, "next", []string{"next"}},
		{"a policy being deleted hands over", []kubecorsv1alpha1.CorsPolicy{at("going", 1, false, deleting), at("next", 2, false)}, "next", []string{"next"}},
		{"a selector that does not match", []kubecorsv1alpha1.CorsPolicy{at("other", 1, true, func(p *kubecorsv1alpha1.CorsPolicy) {
			p.Spec.TargetSelector.MatchLabels["app"] = "api"
		})}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCandidates(tt.policies, []kubecorsv1alpha1.ClusterCorsPolicy{noCredentials, auditWildcards})
			got := ""
			if g := c.Governing(web); g != nil {
				got = g.Name
			}
			if got != tt.want {
				t.Errorf("Governing = %q, want %q", got, tt.want)
			}
			if competitors := c.Competitors(web); !slices.Equal(competitors, tt.competitors) {
				t.Errorf("Competitors = %v, want %v", competitors, tt.competitors)
			}
		})
	}
}

func TestArbitrate(t *testing.T) {
	web := Object{Kind: kubecorsv1alpha1.KindIngress, Name: "web", Labels: map[string]string{"app": "web"}}
	policies := []kubecorsv1alpha1.CorsPolicy{at("default", 1, true, asDefault), at("own", 5, false), at("late", 9, false)}
	c := NewCandidates(policies, nil)
	if a := c.Arbitrate(&policies[0], web); !a.Overridden || a.Conflicted {
		t.Errorf("default: %+v, want overridden", a)
	}
	if a := c.Arbitrate(&policies[1], web); a.Overridden || a.Conflicted {
		t.Errorf("own: %+v, want governing", a)
	}
	if a := c.Arbitrate(&policies[2], web); !a.Conflicted || !strings.Contains(a.Message, `CorsPolicy "own" is older`) {
		t.Errorf("late: %+v, want conflicted with own", a)
	}
}

func parent(name, controller string, cors bool) RouteParent {
	return RouteParent{Gateway: types.NamespacedName{Namespace: "infra", Name: name}, Class: name, Controller: controller, CORS: cors}
}

func TestRouteDataPlane(t *testing.T) {
	envoy := parent("envoy", "gateway.envoyproxy.io/gatewayclass-controller", true)
	traefikNoCORS := parent("traefik", traefik.GatewayController, false)
	traefikCORS := parent("traefik-cors", traefik.GatewayController, true)
	other := parent("other", "example.com/gateway", false)
	tests := []struct {
		name    string
		parents []RouteParent
		want    string
		problem string
	}{
		{"every class supports HTTPRouteCORS", []RouteParent{envoy, traefikCORS}, gatewayapi.Name, ""},
		{"every parent is Traefik's, one without the feature: the Middleware serves both", []RouteParent{traefikCORS, traefikNoCORS}, traefik.Name, ""},
		{"a CORS parent and a Traefik one without it disagree", []RouteParent{envoy, traefikNoCORS}, "", "Gateway infra/traefik"},
		{"a parent without any mechanism blocks the route", []RouteParent{envoy, other}, "", "Gateway infra/other"},
		{"no parents", nil, "", "no parentRefs"},
		{"a parent that cannot be followed", []RouteParent{{Problem: "parent Gateway infra/x does not exist"}}, "", "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dp, problem, ok := RouteDataPlane(tt.parents)
			if ok != (tt.want != "") || dp.Name != tt.want || !strings.Contains(problem, tt.problem) {
				t.Errorf("RouteDataPlane = %q, %q, %v; want %q, %q", dp.Name, problem, ok, tt.want, tt.problem)
			}
		})
	}
}
