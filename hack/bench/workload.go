package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/plan"
)

const (
	// ingressClassName is an ingress-nginx class, created with each
	// control plane.
	ingressClassName = "nginx"
	// labelGroup selects the Ingresses and routes of a namespace's shared
	// selector policy; the tenth that have their own targetRefs policy
	// lack it, so that no object has two competing policies and every
	// policy can report all its targets programmed.
	labelGroup  = "bench.kubecors.io/group"
	groupShared = "shared"
	// fieldManager is the operator's field manager, used by the floor's
	// bare client too, so that the API server does the same work.
	fieldManager = "kubecors"
	// annotationPolicy and annotationOrigin are what the benchmark reads
	// back from an Ingress: which policy configured it, with which origin.
	// annotationFilters is the digest the operator records on a route
	// beside its filters; the floor writes one of the same size.
	annotationPolicy  = "kubecors.io/policy"
	annotationOrigin  = "nginx.ingress.kubernetes.io/cors-allow-origin"
	annotationFilters = "kubecors.io/filters"
	// firstOrigin is every policy's origin when created; fan-out changes
	// it to secondOrigin.
	firstOrigin  = "https://app.example.com"
	secondOrigin = "https://app-v2.example.com"
	// sharedPolicy is the name of each namespace's selector policy.
	sharedPolicy = "shared"
	// gatewayName and gatewayClassName are the route scenario's parent,
	// a class that reports HTTPRouteCORS.
	gatewayName      = "gw"
	gatewayClassName = "bench-cors"
	// rulesPerRoute is how many rules each benchmark HTTPRoute has.
	rulesPerRoute = 5
)

// layout is a set of namespaces, targets and policies to create: each
// namespace has one selector policy over nine tenths of its targets, and
// each remaining target a targetRefs policy of its own.
type layout struct {
	kind       string // kubecorsv1alpha1.KindIngress or KindHTTPRoute
	namespaces []string
	targets    []target
	policies   []policyPlan
	tracked    bool
}

type target struct {
	namespace, name, policy string
	shared                  bool
}

type policyPlan struct {
	namespace, name string
	// refs names the targets of a targetRefs policy; empty for a selector
	// policy.
	refs    []string
	targets int
}

// newLayout spreads n targets over the given number of namespaces.
func newLayout(kind, prefix string, n, namespaces int, tracked bool) layout {
	namespaces = max(1, min(namespaces, n))
	l := layout{kind: kind, tracked: tracked}
	shared := map[string]int{}
	for i := range namespaces {
		l.namespaces = append(l.namespaces, fmt.Sprintf("%s-%02d", prefix, i))
	}
	for i := range n {
		ns := l.namespaces[i%namespaces]
		name := fmt.Sprintf("t-%05d", i)
		t := target{namespace: ns, name: name, policy: sharedPolicy, shared: i%10 != 9}
		if !t.shared {
			t.policy = "own-" + name
			l.policies = append(l.policies, policyPlan{namespace: ns, name: t.policy, refs: []string{name}, targets: 1})
		} else {
			shared[ns]++
		}
		l.targets = append(l.targets, t)
	}
	for _, ns := range l.namespaces {
		if shared[ns] > 0 {
			l.policies = append(l.policies, policyPlan{namespace: ns, name: sharedPolicy, targets: shared[ns]})
		}
	}
	return l
}

func (l layout) labels(t target) map[string]string {
	out := map[string]string{}
	if t.shared {
		out[labelGroup] = groupShared
	}
	if l.tracked {
		out[labelTracked] = trackedValue
	}
	return out
}

func newIngress(ns, name string, labels map[string]string) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: networkingv1.IngressSpec{
			IngressClassName: new(ingressClassName),
			DefaultBackend: &networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: "api", Port: networkingv1.ServiceBackendPort{Number: 80}},
			},
		},
	}
}

func newRoute(ns, name string, labels map[string]string) *gatewayv1.HTTPRoute {
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}}
	route.Spec.ParentRefs = []gatewayv1.ParentReference{{Name: gatewayName}}
	for r := range rulesPerRoute {
		prefix := fmt.Sprintf("/r%d", r)
		route.Spec.Rules = append(route.Spec.Rules, gatewayv1.HTTPRouteRule{
			Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
				Type: new(gatewayv1.PathMatchPathPrefix), Value: new(prefix)}}},
			BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "api", Port: new(gatewayv1.PortNumber(80))}}}},
		})
	}
	return route
}

// newPolicy builds a policy of the layout: the same CORS settings for all,
// with allowCredentials, methods, headers and a max age so that the
// ingress-nginx renderer writes its full set of seven annotations.
func newPolicy(l layout, p policyPlan, origin string) *kubecorsv1alpha1.CorsPolicy {
	policy := &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: p.namespace},
		Spec: kubecorsv1alpha1.CorsPolicySpec{
			AllowOrigins:     []kubecorsv1alpha1.Origin{kubecorsv1alpha1.Origin(origin)},
			AllowMethods:     []kubecorsv1alpha1.HTTPMethod{"GET", "PUT", "DELETE"},
			AllowHeaders:     []kubecorsv1alpha1.RequestHeaderName{"Content-Type", "Authorization", "X-Request-Id"},
			ExposeHeaders:    []kubecorsv1alpha1.ResponseHeaderName{"X-Request-Id"},
			AllowCredentials: new(true),
			MaxAge:           new(int32(600)),
		},
	}
	if l.tracked {
		policy.Labels = map[string]string{labelTracked: trackedValue}
	}
	group := kubecorsv1alpha1.GroupNetworking
	if l.kind == kubecorsv1alpha1.KindHTTPRoute {
		group = kubecorsv1alpha1.GroupGateway
	}
	for _, name := range p.refs {
		policy.Spec.TargetRefs = append(policy.Spec.TargetRefs, kubecorsv1alpha1.PolicyTargetReference{Group: group, Kind: l.kind, Name: name})
	}
	if len(p.refs) == 0 {
		policy.Spec.TargetSelector = &metav1.LabelSelector{MatchLabels: map[string]string{labelGroup: groupShared}}
	}
	return policy
}

// create makes the layout's namespaces, targets and policies with 64
// workers; for routes, also each namespace's Gateway.
func (l layout) create(ctx context.Context, c client.Client) error {
	if err := parallel(ctx, 64, len(l.namespaces), func(i int) error {
		ns := l.namespaces[i]
		if err := c.Create(ctx, namespaceObject(ns)); err != nil {
			return err
		}
		if l.kind == kubecorsv1alpha1.KindHTTPRoute {
			return c.Create(ctx, &gatewayv1.Gateway{
				ObjectMeta: metav1.ObjectMeta{Name: gatewayName, Namespace: ns},
				Spec: gatewayv1.GatewaySpec{
					GatewayClassName: gatewayClassName,
					Listeners:        []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}},
				},
			})
		}
		return nil
	}); err != nil {
		return err
	}
	if err := parallel(ctx, 64, len(l.targets), func(i int) error {
		t := l.targets[i]
		if l.kind == kubecorsv1alpha1.KindHTTPRoute {
			return c.Create(ctx, newRoute(t.namespace, t.name, l.labels(t)))
		}
		return c.Create(ctx, newIngress(t.namespace, t.name, l.labels(t)))
	}); err != nil {
		return err
	}
	return parallel(ctx, 64, len(l.policies), func(i int) error {
		return c.Create(ctx, newPolicy(l, l.policies[i], firstOrigin))
	})
}

// deleteTargets removes the layout's targets and policies, one collection
// delete per namespace (envtest runs no namespace controller, so deleting
// the namespace would not remove them).
func (l layout) deleteTargets(ctx context.Context, c client.Client) error {
	return parallel(ctx, 16, len(l.namespaces), func(i int) error {
		ns := client.InNamespace(l.namespaces[i])
		var obj client.Object = &networkingv1.Ingress{}
		if l.kind == kubecorsv1alpha1.KindHTTPRoute {
			obj = &gatewayv1.HTTPRoute{}
		}
		if err := c.DeleteAllOf(ctx, obj, ns); err != nil {
			return err
		}
		return c.DeleteAllOf(ctx, &kubecorsv1alpha1.CorsPolicy{}, ns)
	})
}

// parallel runs fn(0..n-1) on the given number of workers and returns the
// first error.
func parallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	var (
		next     atomic.Int64
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	for range min(workers, max(n, 1)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// ingressState is what the benchmark reads of an Ingress: the policy
// kubecors wrote there and its origin; empty when nothing is written.
func ingressState(obj client.Object) string {
	a := obj.GetAnnotations()
	if a[annotationPolicy] == "" {
		return ""
	}
	return a[annotationPolicy] + " " + a[annotationOrigin]
}

// routeState is the policy kubecors wrote on a route and the origin of
// the CORS filter in its rules, when every rule has one.
func routeState(obj client.Object) string {
	route, ok := obj.(*gatewayv1.HTTPRoute)
	if !ok || route.Annotations[annotationPolicy] == "" {
		return ""
	}
	origin := ""
	for _, rule := range route.Spec.Rules {
		found := ""
		for _, f := range rule.Filters {
			if f.Type == gatewayv1.HTTPRouteFilterCORS && f.CORS != nil && len(f.CORS.AllowOrigins) > 0 {
				found = string(f.CORS.AllowOrigins[0])
			}
		}
		if found == "" || (origin != "" && found != origin) {
			return route.Annotations[annotationPolicy] + " partial"
		}
		origin = found
	}
	return route.Annotations[annotationPolicy] + " " + origin
}

// policyState says whether a policy's status reports all its targets
// programmed for its current generation: "programmed/total", or
// "pending".
func policyState(obj client.Object) string {
	p, ok := obj.(*kubecorsv1alpha1.CorsPolicy)
	if !ok || p.Status.TargetCounts == nil {
		return "pending"
	}
	for _, c := range p.Status.Conditions {
		if c.Type == kubecorsv1alpha1.ConditionProgrammed && c.Status == metav1.ConditionTrue && c.ObservedGeneration == p.Generation {
			return programmedOf(int(p.Status.TargetCounts.Programmed), int(p.Status.TargetCounts.Total))
		}
	}
	return "pending"
}

// expectLayout sets, for every target and policy of the layout, the state
// the operator must bring it to.
func expectLayout(l layout, targets, policies *tracker, origin string, at time.Time) {
	for _, t := range l.targets {
		targets.expect(objectKey(t.namespace, t.name), t.policy+" "+origin, at)
	}
	for _, p := range l.policies {
		policies.expect(objectKey(p.namespace, p.name), programmedOf(p.targets, p.targets), at)
	}
}

// programmedOf is a policy's state when its status counts programmed of
// total targets.
func programmedOf(programmed, all int) string { return fmt.Sprintf("%d/%d", programmed, all) }

// countingTransport counts a client's requests by HTTP method.
type countingTransport struct {
	next   http.RoundTripper
	mu     *sync.Mutex
	counts map[string]int64
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.counts[req.Method]++
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

// countingClient is an unthrottled client whose requests are counted.
func countingClient(cfg *rest.Config) (client.Client, func() map[string]int64, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	var mu sync.Mutex
	counts := map[string]int64{}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return countingTransport{next: rt, mu: &mu, counts: counts}
	})
	c, err := client.New(cfg, client.Options{Scheme: benchScheme})
	read := func() map[string]int64 {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(counts)
	}
	return c, read, err
}

// floorWrites are the writes the operator cannot avoid for a layout: one
// server-side apply of the rendered annotations per Ingress (or one
// read-and-patch of the rules per HTTPRoute, as the operator does for
// these atomic lists), and one status write per policy with the status
// the operator would compute.
type floorWrites struct {
	layout   layout
	registry *registry.Registry
}

// write makes write number i: targets first, then policies' statuses.
func (f floorWrites) write(ctx context.Context, c client.Client, i int) error {
	l := f.layout
	if i < len(l.targets) {
		t := l.targets[i]
		policy := newPolicy(l, policyPlan{namespace: t.namespace, name: t.policy}, firstOrigin)
		if l.kind == kubecorsv1alpha1.KindHTTPRoute {
			return patchRouteFilters(ctx, c, policy, t)
		}
		renderer, _ := f.registry.ByName(ingressnginx.Name)
		cfg := renderer.RenderIngress(dataplanes.Policy{Namespace: t.namespace, Name: t.policy, Spec: policy.Spec},
			dataplanes.IngressTarget{Namespace: t.namespace, Name: t.name})
		desired := maps.Clone(cfg.Annotations)
		desired[annotationPolicy] = t.policy
		return c.Apply(ctx, networkingv1ac.Ingress(t.name, t.namespace).WithAnnotations(desired), client.FieldOwner(fieldManager))
	}
	p := l.policies[i-len(l.targets)]
	return f.writeStatus(ctx, c, p)
}

func (f floorWrites) count() int { return len(f.layout.targets) + len(f.layout.policies) }

// writeStatus writes the status the operator computes for a policy whose
// targets are all programmed, with plan.Status itself, as one merge patch
// of the status subresource.
func (f floorWrites) writeStatus(ctx context.Context, c client.Client, p policyPlan) error {
	policy := &kubecorsv1alpha1.CorsPolicy{}
	policy.Namespace, policy.Name = p.namespace, p.name
	policy.Generation = 1
	dataPlane, group := ingressnginx.Name, kubecorsv1alpha1.GroupNetworking
	if f.layout.kind == kubecorsv1alpha1.KindHTTPRoute {
		dataPlane, group = gatewayapi.Name, kubecorsv1alpha1.GroupGateway
	}
	results := make([]plan.Result, 0, p.targets)
	for _, t := range f.layout.targets {
		if t.namespace == p.namespace && t.policy == p.name {
			results = append(results, plan.Result{
				Ref:       kubecorsv1alpha1.PolicyTargetReference{Group: group, Kind: f.layout.kind, Name: t.name},
				DataPlane: dataPlane, Reason: kubecorsv1alpha1.ReasonProgrammed,
				Message: "programmed for " + dataPlane + " as written",
			})
		}
	}
	status := plan.Status(policy, plan.Acceptance{Reason: kubecorsv1alpha1.ReasonAccepted, Message: "the policy is valid"}, results, metav1.Now())
	raw, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	return c.Status().Patch(ctx, policy, client.RawPatch(types.MergePatchType, raw))
}

// patchRouteFilters adds the rendered CORS filter to every rule of a
// route and records the policy, the way the operator does: read the
// route, then a merge patch guarded by its resourceVersion.
func patchRouteFilters(ctx context.Context, c client.Client, policy *kubecorsv1alpha1.CorsPolicy, t target) error {
	filter, ok := gatewayapi.RenderHTTPRouteCORS(dataplanes.Policy{Namespace: t.namespace, Name: policy.Name, Spec: policy.Spec}).RouteFilter()
	if !ok {
		return fmt.Errorf("the benchmark policy renders no CORS filter")
	}
	raw, err := json.Marshal(filter)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(raw)
	for {
		current := &gatewayv1.HTTPRoute{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: t.namespace, Name: t.name}, current); err != nil {
			return err
		}
		next := current.DeepCopy()
		for i := range next.Spec.Rules {
			next.Spec.Rules[i].Filters = append(next.Spec.Rules[i].Filters, filter)
		}
		if next.Annotations == nil {
			next.Annotations = map[string]string{}
		}
		next.Annotations[annotationPolicy] = policy.Name
		next.Annotations[annotationFilters] = hex.EncodeToString(digest[:16])
		err := c.Patch(ctx, next, client.MergeFromWithOptions(current, client.MergeFromWithOptimisticLock{}), client.FieldOwner(fieldManager))
		if !apierrors.IsConflict(err) {
			return err
		}
	}
}

// updatePolicyOrigin changes a policy's origin, retrying on conflicts with
// the operator's status writes.
func updatePolicyOrigin(ctx context.Context, c client.Client, ns, name, origin string) error {
	for {
		p := &kubecorsv1alpha1.CorsPolicy{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
			return err
		}
		p.Spec.AllowOrigins = []kubecorsv1alpha1.Origin{kubecorsv1alpha1.Origin(origin)}
		err := c.Update(ctx, p)
		if !apierrors.IsConflict(err) {
			return err
		}
	}
}

// methodsString prints request counts by method in a fixed order.
func methodsString(counts map[string]int64) string {
	if len(counts) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(counts))
	for _, m := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%s %d", m, counts[m]))
	}
	return strings.Join(parts, ", ")
}
