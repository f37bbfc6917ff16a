//go:build faults

package faults

import (
	"context"
	"fmt"
	"math/rand/v2"

	. "github.com/onsi/gomega"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// workload is a namespace of targets, spread over the data planes, and
// policies selecting them by a group label.
type workload struct {
	cp        *controlPlane
	namespace string
	targets   int
	groups    int
	rng       *rand.Rand
}

func (w *workload) user(name string) userState { return userOf(name) }

func (w *workload) ingress(i, group int) *networkingv1.Ingress {
	return targetIngress(w.namespace, i, group)
}

// originPool is what policies pick their origins from.
var originPool = []string{
	"https://app.example.com", "https://admin.example.com", "https://*.preview.example.com",
	"https://shop.example.org", "http://localhost:3000", "https://partner.example.net",
}

func policyName(g int) string { return fmt.Sprintf("p%d", g) }

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
// every selector).
func (w *workload) change(ctx context.Context) {
	for g := range w.groups {
		if w.rng.IntN(2) == 0 {
			continue
		}
		origins := w.origins()
		// The manager writes the policy too (its finalizer).
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			p := &kubecorsv1alpha1.CorsPolicy{}
			if err := w.cp.c.Get(ctx, client.ObjectKey{Namespace: w.namespace, Name: policyName(g)}, p); err != nil {
				return err
			}
			p.Spec.AllowOrigins = origins
			return w.cp.c.Update(ctx, p)
		})).To(Succeed())
	}
	for range max(1, w.targets/20) {
		w.relabel(ctx, w.rng.IntN(w.targets), w.rng.IntN(w.groups+1))
	}
}

// relabel moves target i to group g; g == groups takes it out of every
// selector.
func (w *workload) relabel(ctx context.Context, i, g int) {
	ing := &networkingv1.Ingress{}
	Expect(w.cp.c.Get(ctx, client.ObjectKey{Namespace: w.namespace, Name: targetName(i)}, ing)).To(Succeed())
	patch := client.MergeFrom(ing.DeepCopy())
	ing.Labels[groupLabel] = groupName(g)
	Expect(w.cp.c.Patch(ctx, ing, patch)).To(Succeed())
}

// check compares the namespace with its final policies.
func (w *workload) check(ctx context.Context) verdict {
	return w.cp.check(ctx, w.namespace, w.user)
}
