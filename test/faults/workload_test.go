package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	. "github.com/onsi/gomega"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/haproxyingress"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

const (
	// ownerAnnotation is every target's own annotation, which kubecors
	// must keep whatever happens.
	ownerAnnotation = "example.com/owner"
	// groupLabel puts a target in the selector of one policy.
	groupLabel = "example.com/group"
	// userMiddleware is a Traefik target's own middleware reference.
	userMiddleware = "shop-auth@kubernetescrd"
)

// classes are the IngressClasses of the workload, one per data plane that
// serves Ingresses.
var classes = map[string]string{"nginx": ingressnginx.Controller, "haproxy": haproxyingress.Controller, "traefik": traefik.Controller}

// workload is a namespace of targets, spread over the data planes, and
// policies selecting them by a group label.
type workload struct {
	cp        *controlPlane
	namespace string
	targets   int
	groups    int
	rng       *rand.Rand
}

// originPool is what policies pick their origins from.
var originPool = []string{
	"https://app.example.com", "https://admin.example.com", "https://*.preview.example.com",
	"https://shop.example.org", "http://localhost:3000", "https://partner.example.net",
}

func targetName(i int) string { return fmt.Sprintf("t%04d", i) }

func policyName(g int) string { return fmt.Sprintf("p%d", g) }

func groupName(g int) string { return fmt.Sprintf("g%d", g) }

// className spreads targets over the data planes: one in ten on Traefik
// (so that Middlewares and the shared middleware list are covered), one in
// ten on HAProxy Ingress, the rest on ingress-nginx.
func className(i int) string {
	switch i % 10 {
	case 0:
		return "traefik"
	case 1:
		return "haproxy"
	}
	return "nginx"
}

// user is what the test itself put on a target.
func (w *workload) user(name string) userState {
	s := userState{annotations: map[string]string{ownerAnnotation: "team-" + name}}
	var i int
	if _, err := fmt.Sscanf(name, "t%d", &i); err == nil && className(i) == "traefik" {
		s.listEntries = []string{userMiddleware}
	}
	return s
}

// create makes the namespace, the classes, the targets (target i in group
// i mod groups) and one policy per group.
func (w *workload) create(ctx context.Context) {
	w.cp.ensureNamespace(ctx, w.namespace)
	for name, controller := range classes {
		class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
		Expect(client.IgnoreAlreadyExists(w.cp.c.Create(ctx, class))).To(Succeed())
	}
	for i := range w.targets {
		Expect(w.cp.c.Create(ctx, w.ingress(i, i%w.groups))).To(Succeed())
	}
	for g := range w.groups {
		Expect(w.cp.c.Create(ctx, w.policy(g))).To(Succeed())
	}
}

func (w *workload) ingress(i, group int) *networkingv1.Ingress {
	name := targetName(i)
	u := w.user(name)
	annotations := map[string]string{ownerAnnotation: u.annotations[ownerAnnotation]}
	if len(u.listEntries) > 0 {
		annotations[traefik.MiddlewaresAnnotation] = strings.Join(u.listEntries, ",")
	}
	class := className(i)
	pathType := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: name, Annotations: annotations, Labels: map[string]string{groupLabel: groupName(group)}},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			Rules: []networkingv1.IngressRule{{Host: name + ".example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &pathType, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}},
				}}},
			}}}},
		},
	}
}

func (w *workload) policy(g int) *kubecorsv1alpha1.CorsPolicy {
	return &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: policyName(g)},
		Spec: kubecorsv1alpha1.CorsPolicySpec{
			TargetSelector: &metav1.LabelSelector{MatchLabels: map[string]string{groupLabel: groupName(g)}},
			AllowOrigins:   w.origins(),
			AllowMethods:   []kubecorsv1alpha1.HTTPMethod{"GET", "POST"},
		},
	}
}

// origins picks one to three origins of the pool.
func (w *workload) origins() []kubecorsv1alpha1.Origin {
	perm := w.rng.Perm(len(originPool))
	n := 1 + w.rng.IntN(3)
	out := make([]kubecorsv1alpha1.Origin, 0, n)
	for _, i := range perm[:n] {
		out = append(out, kubecorsv1alpha1.Origin(originPool[i]))
	}
	return out
}

// change makes one round of policy changes: a new origin list for some
// policies, and a few targets relabelled into another group (or out of
// every selector). It returns how many objects it changed.
func (w *workload) change(ctx context.Context) int {
	changed := 0
	for g := range w.groups {
		if w.rng.IntN(2) == 0 {
			continue
		}
		p := &kubecorsv1alpha1.CorsPolicy{}
		Expect(w.cp.c.Get(ctx, client.ObjectKey{Namespace: w.namespace, Name: policyName(g)}, p)).To(Succeed())
		p.Spec.AllowOrigins = w.origins()
		Expect(w.cp.c.Update(ctx, p)).To(Succeed())
		changed++
	}
	for range max(1, w.targets/20) {
		changed += w.relabel(ctx, w.rng.IntN(w.targets), w.rng.IntN(w.groups+1))
	}
	return changed
}

// relabel moves target i to group g; g == groups takes it out of every
// selector.
func (w *workload) relabel(ctx context.Context, i, g int) int {
	ing := &networkingv1.Ingress{}
	Expect(w.cp.c.Get(ctx, client.ObjectKey{Namespace: w.namespace, Name: targetName(i)}, ing)).To(Succeed())
	patch := client.MergeFrom(ing.DeepCopy())
	ing.Labels[groupLabel] = groupName(g)
	Expect(w.cp.c.Patch(ctx, ing, patch)).To(Succeed())
	return 1
}

// check compares the namespace with its final policies.
func (w *workload) check(ctx context.Context) verdict {
	return w.cp.check(ctx, w.namespace, w.user)
}
