//go:build faults

package faults

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	. "github.com/onsi/gomega"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/controllers"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/plan"
)

// verdict is what checking a namespace against its final policies found.
// A target (an Ingress, or a Middleware kubecors owns) counts once in each
// column that applies:
//
//   - lost: something that must be there is missing: a key the governing
//     policy renders, kubecors's own record of it, a Middleware the policy
//     renders, or an annotation or middleware reference of the user's own;
//   - stale: a key kubecors owns is there with another value than the
//     final policy renders (an older policy's origins, another policy's
//     name), or a Middleware's spec differs from the rendered one;
//   - orphaned: a key kubecors owns is there although no final policy
//     renders it (the target was deleted from a policy, relabelled out of
//     a selector, or its policy was deleted), or a Middleware of an
//     existing policy that no target of the final state needs.
//
// A Middleware whose policy is gone carries an owner reference to it and
// is the garbage collector's, which envtest does not run: it is counted
// apart (awaitingGC), and checked to carry that owner reference.
type verdict struct {
	targets, programmed, lost, stale, orphaned, awaitingGC int
	// examples describes the first few differences.
	examples []string
}

func (v verdict) clean() bool { return v.lost == 0 && v.stale == 0 && v.orphaned == 0 }

func (v verdict) String() string {
	return fmt.Sprintf("%d targets (%d programmed): %d lost, %d stale, %d orphaned, %d Middlewares awaiting GC; %s",
		v.targets, v.programmed, v.lost, v.stale, v.orphaned, v.awaitingGC, strings.Join(v.examples, "; "))
}

func (v *verdict) note(format string, args ...any) {
	if len(v.examples) < 5 {
		v.examples = append(v.examples, fmt.Sprintf(format, args...))
	}
}

// check compares every Ingress of namespace, and every Middleware, with
// what plan.Compute renders for the namespace's policies as they now are:
// the controller's own decision function, given the whole namespace.
func (cp *controlPlane) check(ctx context.Context, namespace string, user func(name string) userState) verdict {
	policies := &kubecorsv1alpha1.CorsPolicyList{}
	ingresses := &networkingv1.IngressList{}
	classes := &networkingv1.IngressClassList{}
	for _, l := range []client.ObjectList{policies, ingresses, classes} {
		Expect(cp.c.List(ctx, l, client.InNamespace(namespace))).To(Succeed())
	}
	renderers, err := registry.NewRegistry(nil)
	Expect(err).NotTo(HaveOccurred())

	// Every Ingress's expected kubecors configuration, and every expected
	// Middleware, from the final policies.
	type expectation struct {
		policy string
		config dataplanes.IngressConfig
	}
	expected := map[string]expectation{}
	middlewares := map[string]*unstructured.Unstructured{}
	policyUIDs := map[string]bool{}
	for i := range policies.Items {
		p := &policies.Items[i]
		policyUIDs[string(p.UID)] = true
		if p.DeletionTimestamp != nil {
			continue
		}
		computed := plan.Compute(plan.Snapshot{
			Policy: p, Policies: policies.Items, Ingresses: ingresses.Items, IngressClasses: classes.Items,
		}, renderers)
		for _, t := range computed.Targets {
			if t.Ingress == nil {
				continue
			}
			expected[t.Ingress.Ingress.Name] = expectation{policy: p.Name, config: t.Ingress.Config}
			for _, obj := range t.Ingress.Config.Objects {
				middlewares[obj.GetName()] = obj
			}
		}
	}

	v := verdict{targets: len(ingresses.Items)}
	for _, ing := range ingresses.Items {
		want := user(ing.Name)
		wantAnnotations := maps.Clone(want.annotations)
		var list *dataplanes.SharedList
		var wantEntries []string
		if e, ok := expected[ing.Name]; ok {
			v.programmed++
			maps.Copy(wantAnnotations, e.config.Annotations)
			wantAnnotations[controllers.AnnotationPolicy] = e.policy
			if e.config.SharedList != nil && len(e.config.ListEntries) > 0 {
				list = e.config.SharedList
				wantAnnotations[list.RecordKey] = strings.Join(e.config.ListEntries, ",")
				wantEntries = append(userEntries(want, list.Key), e.config.ListEntries...)
			}
		}
		lost, stale, orphaned := false, false, false
		for _, shared := range registry.SharedLists() {
			got := splitList(ing.Annotations[shared.Key])
			wantList := userEntries(want, shared.Key)
			if list != nil && *list == shared {
				wantList = wantEntries
			}
			for _, e := range wantList {
				if !slices.Contains(got, e) {
					lost = true
					v.note("Ingress %s lacks %q in %s", ing.Name, e, shared.Key)
				}
			}
			for _, e := range got {
				if !slices.Contains(wantList, e) {
					orphaned = true
					v.note("Ingress %s keeps %q in %s", ing.Name, e, shared.Key)
				}
			}
			delete(wantAnnotations, shared.Key)
		}
		for key, value := range wantAnnotations {
			got, ok := ing.Annotations[key]
			switch {
			case !ok:
				lost = true
				v.note("Ingress %s lacks %s", ing.Name, key)
			case got != value:
				stale = true
				v.note("Ingress %s has %s=%q, want %q", ing.Name, key, got, value)
			}
		}
		for key, value := range ing.Annotations {
			if _, ok := wantAnnotations[key]; ok || slices.ContainsFunc(registry.SharedLists(), func(l dataplanes.SharedList) bool { return l.Key == key }) {
				continue
			}
			orphaned = true
			v.note("Ingress %s keeps %s=%q", ing.Name, key, value)
		}
		v.lost += btoi(lost)
		v.stale += btoi(stale)
		v.orphaned += btoi(orphaned)
	}

	cp.checkMiddlewares(ctx, namespace, middlewares, policyUIDs, &v)
	sort.Strings(v.examples)
	return v
}

// checkMiddlewares compares the namespace's Middlewares with those the
// final policies render (expected, by name).
func (cp *controlPlane) checkMiddlewares(ctx context.Context, namespace string, middlewares map[string]*unstructured.Unstructured, policyUIDs map[string]bool, v *verdict) {
	actual := &unstructured.UnstructuredList{}
	actual.SetGroupVersionKind(middlewareGVK.GroupVersion().WithKind(middlewareGVK.Kind + "List"))
	Expect(cp.c.List(ctx, actual, client.InNamespace(namespace))).To(Succeed())
	found := map[string]bool{}
	for _, mw := range actual.Items {
		found[mw.GetName()] = true
		if want, ok := middlewares[mw.GetName()]; ok {
			if !equality.Semantic.DeepEqual(want.Object["spec"], mw.Object["spec"]) {
				v.stale++
				v.note("Middleware %s has a stale spec", mw.GetName())
			}
			continue
		}
		owners := mw.GetOwnerReferences()
		if len(owners) == 0 {
			continue // not kubecors's
		}
		if slices.ContainsFunc(owners, func(o metav1.OwnerReference) bool { return policyUIDs[string(o.UID)] }) {
			v.orphaned++
			v.note("Middleware %s is needed by no target", mw.GetName())
			continue
		}
		v.awaitingGC++
	}
	for name := range middlewares {
		if !found[name] {
			v.lost++
			v.note("Middleware %s is missing", name)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func splitList(s string) []string {
	var out []string
	for e := range strings.SplitSeq(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// userEntries are the entries the test itself put in the shared list key.
func userEntries(u userState, key string) []string {
	if key != u.listKey {
		return nil
	}
	return slices.Clone(u.listEntries)
}
