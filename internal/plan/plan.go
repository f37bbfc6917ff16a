// Package plan decides what reconciling one CorsPolicy writes and what its
// status says, without a client, a context or a clock: a pure function from
// a Snapshot of the objects the policy concerns to a Plan of desired writes
// and per-target results (the envoy-gateway translator's shape). The
// controller gathers the snapshot from its cache, executes the writes and
// folds what the API server answered back into the results; everything
// decided before that (targets, arbitration, data plane, rendering,
// narrowing, refusals) is here and tested as golden files in testdata/.
package plan

import (
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/clusterpolicy"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/resolve"
)

// Snapshot is everything a policy's reconcile decides from. Lists may hold
// more than the policy concerns: the plan picks what matters.
type Snapshot struct {
	// Policy is the policy being reconciled.
	Policy *kubecorsv1alpha1.CorsPolicy
	// ClusterPolicies are the ClusterCorsPolicies whose namespaceSelector
	// selects the policy's namespace.
	ClusterPolicies []kubecorsv1alpha1.ClusterCorsPolicy
	// Policies are the CorsPolicies of the namespace that compete for
	// targets (Policy itself may be among them).
	Policies []kubecorsv1alpha1.CorsPolicy
	// Ingresses are the namespace's Ingresses the policy names or selects.
	Ingresses []networkingv1.Ingress
	// IngressClasses are the cluster's IngressClasses.
	IngressClasses []networkingv1.IngressClass
	// GatewayAPI reports whether the Gateway API CRDs are served.
	GatewayAPI bool
	// HTTPRoutes are the namespace's HTTPRoutes the policy names or selects.
	HTTPRoutes []gatewayv1.HTTPRoute
	// AttachedRoutes are the namespace's HTTPRoutes attached to the
	// Gateways the policy names (by a parentRef).
	AttachedRoutes []gatewayv1.HTTPRoute
	// Gateways and GatewayClasses are those the routes' parents name and
	// the Gateways the policy names.
	Gateways       []gatewayv1.Gateway
	GatewayClasses []gatewayv1.GatewayClass
	// Objects are, by kind, the namespace's objects of the data planes' own
	// target kinds (registry.TargetKinds: Istio VirtualServices, Contour
	// HTTPProxies) that the policy names or selects.
	Objects map[string][]unstructured.Unstructured
	// ServedKinds reports, by kind, whether the cluster serves a target
	// kind's CRD.
	ServedKinds map[string]bool
}

// Renderers is what the plan needs of the data-plane registry.
type Renderers interface {
	// ForController returns the Ingress renderer for an IngressClass
	// controller name.
	ForController(controller string) (dataplanes.IngressRenderer, bool)
	// ByName returns the Ingress renderer of a data plane by name.
	ByName(name string) (dataplanes.IngressRenderer, bool)
}

// Plan is what reconciling a policy should do.
type Plan struct {
	// Verdict is the judgement on the policy's spec.
	Verdict Acceptance
	// Targets has one entry per target, in the order of their keys;
	// targets a namespace policy takes from a ClusterCorsPolicy default
	// are not listed.
	Targets []Target
}

// Target is the decision for one target: its result if every write
// succeeds, and the writes.
type Target struct {
	// Result is the target's outcome, assuming the writes succeed.
	Result Result
	// Ingress, when set, is the configuration to write on an Ingress.
	Ingress *IngressWrite
	// Route, when set, is the filter to place in an HTTPRoute's rules.
	Route *RouteWrite
	// Routes, for a Gateway target, are the writes on each HTTPRoute it
	// reaches one by one.
	Routes []*RouteWrite
	// Attached, when set, is an object of the data plane's own that
	// attaches itself to the target (an Envoy Gateway SecurityPolicy on a
	// Gateway), owned by the policy.
	Attached *unstructured.Unstructured
	// Object, when set, is the change to make on an object of a data
	// plane's own target kind.
	Object *ObjectWrite
}

// ObjectWrite is what kubecors writes on one object of a data plane's own
// target kind (an Istio VirtualService, a Contour HTTPProxy).
type ObjectWrite struct {
	// Object is the object as the snapshot holds it.
	Object *unstructured.Unstructured
	// Kind is the target kind, whose Apply makes the change.
	Kind dataplanes.TargetKind
	// Change is the rendered change.
	Change dataplanes.TargetChange
}

// IngressWrite is the configuration kubecors writes on one Ingress.
type IngressWrite struct {
	// Ingress is the object as the snapshot holds it.
	Ingress *networkingv1.Ingress
	// Config is the rendered configuration.
	Config dataplanes.IngressConfig
}

// RouteWrite is what kubecors writes on one HTTPRoute.
type RouteWrite struct {
	// Route is the object as the snapshot holds it.
	Route *gatewayv1.HTTPRoute
	// Rules are the indexes of the targeted rules.
	Rules []int
	// Filter is the filter each targeted rule gets.
	Filter gatewayv1.HTTPRouteFilter
	// Middleware, when set, is the object the filter refers to (a Traefik
	// Middleware), owned by the policy.
	Middleware *unstructured.Unstructured
	// Attached, when set, is an object of the data plane's own that
	// attaches itself to the route (an Envoy Gateway SecurityPolicy);
	// Filter is then unset and kubecors writes nothing into the route.
	Attached *unstructured.Unstructured
}

// Compute decides every target of the snapshot's policy.
func Compute(s Snapshot, renderers Renderers) Plan {
	p := Plan{Verdict: judgeSnapshot(s)}
	if p.Verdict.Blocking {
		return p
	}
	candidates := resolve.NewCandidates(s.Policies, s.ClusterPolicies)
	for _, t := range targets(s) {
		decided, listed := decide(s, renderers, candidates, t)
		if listed {
			p.Targets = append(p.Targets, decided)
		}
	}
	return p
}

// judgeSnapshot checks the policy against the rules and the
// ClusterCorsPolicies selecting its namespace.
func judgeSnapshot(s Snapshot) Acceptance {
	if invalid, _ := corsrules.ValidateCorsPolicy(s.Policy); len(invalid) > 0 {
		return Judge(invalid, nil)
	}
	return Judge(nil, clusterpolicy.Evaluate(s.ClusterPolicies, &s.Policy.Spec))
}

// candidate is a target reference and, when it exists, its object.
type candidate struct {
	ref     kubecorsv1alpha1.PolicyTargetReference
	ingress *networkingv1.Ingress
	route   *gatewayv1.HTTPRoute
	gateway *gatewayv1.Gateway
	// object is a target of a data plane's own kind.
	object *unstructured.Unstructured
}

func (c candidate) exists() bool {
	return c.ingress != nil || c.route != nil || c.gateway != nil || c.object != nil
}

// objectNamed is the object of a target kind with the given name, nil
// when there is none or the kind is not served.
func objectNamed(s Snapshot, kind, name string) *unstructured.Unstructured {
	objects := s.Objects[kind]
	if i := slices.IndexFunc(objects, func(o unstructured.Unstructured) bool { return o.GetName() == name }); s.ServedKinds[kind] && i >= 0 {
		return &objects[i]
	}
	return nil
}

// targets returns the targets named by targetRefs (existing or not) and
// the objects matched by targetSelector, each once, sorted by key.
func targets(s Snapshot) []candidate {
	policy := s.Policy
	var out []candidate
	seen := map[string]bool{}
	add := func(c candidate) {
		if key := corsrules.TargetKey(c.ref); !seen[key] {
			seen[key] = true
			out = append(out, c)
		}
	}
	for _, ref := range policy.Spec.TargetRefs {
		c := candidate{ref: ref}
		switch ref.Kind {
		case kubecorsv1alpha1.KindIngress:
			if i := slices.IndexFunc(s.Ingresses, func(ing networkingv1.Ingress) bool { return ing.Name == ref.Name }); i >= 0 {
				c.ingress = &s.Ingresses[i]
			}
		case kubecorsv1alpha1.KindHTTPRoute:
			if i := slices.IndexFunc(s.HTTPRoutes, func(r gatewayv1.HTTPRoute) bool { return r.Name == ref.Name }); s.GatewayAPI && i >= 0 {
				c.route = &s.HTTPRoutes[i]
			}
		case kubecorsv1alpha1.KindGateway:
			if i := slices.IndexFunc(s.Gateways, func(g gatewayv1.Gateway) bool {
				return g.Namespace == policy.Namespace && g.Name == ref.Name
			}); s.GatewayAPI && i >= 0 {
				c.gateway = &s.Gateways[i]
			}
		default:
			c.object = objectNamed(s, ref.Kind, ref.Name)
		}
		add(c)
	}
	if policy.Spec.TargetSelector != nil {
		for i := range s.Ingresses {
			ing := &s.Ingresses[i]
			if resolve.Selects(policy, resolve.ObjectOf(kubecorsv1alpha1.KindIngress, ing)) {
				add(candidate{ref: kubecorsv1alpha1.PolicyTargetReference{
					Group: kubecorsv1alpha1.GroupNetworking, Kind: kubecorsv1alpha1.KindIngress, Name: ing.Name}, ingress: ing})
			}
		}
		for i := range s.HTTPRoutes {
			route := &s.HTTPRoutes[i]
			if s.GatewayAPI && resolve.Selects(policy, resolve.ObjectOf(kubecorsv1alpha1.KindHTTPRoute, route)) {
				add(candidate{ref: kubecorsv1alpha1.PolicyTargetReference{
					Group: kubecorsv1alpha1.GroupGateway, Kind: kubecorsv1alpha1.KindHTTPRoute, Name: route.Name}, route: route})
			}
		}
		for _, dp := range registry.TargetKinds() {
			kind := dp.Target.Kind()
			for i := range s.Objects[kind] {
				obj := &s.Objects[kind][i]
				if s.ServedKinds[kind] && resolve.Selects(policy, resolve.ObjectOf(kind, obj)) {
					add(candidate{ref: kubecorsv1alpha1.PolicyTargetReference{Group: dp.Target.Group(), Kind: kind, Name: obj.GetName()}, object: obj})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b candidate) int {
		return strings.Compare(corsrules.TargetKey(a.ref), corsrules.TargetKey(b.ref))
	})
	return out
}

// decide programs one target on paper, or says why it cannot be. listed is
// false for a ClusterCorsPolicy default's target that a namespace policy
// governs: the default does not report it.
func decide(s Snapshot, renderers Renderers, candidates resolve.Candidates, c candidate) (Target, bool) {
	res := Result{Ref: c.ref}
	switch {
	case (c.ref.Kind == kubecorsv1alpha1.KindHTTPRoute || c.ref.Kind == kubecorsv1alpha1.KindGateway) && !s.GatewayAPI:
		res.Reason = kubecorsv1alpha1.ReasonUnsupportedDataPlane
		res.Message = fmt.Sprintf("the Gateway API CRDs (HTTPRoute, Gateway, GatewayClass) are not installed; kubecors programs this %s once they are", c.ref.Kind)
		return Target{Result: res}, true
	case isTargetKind(c.ref.Kind) && !s.ServedKinds[c.ref.Kind]:
		res.Reason = kubecorsv1alpha1.ReasonUnsupportedDataPlane
		res.Message = fmt.Sprintf("the %s CRD (%s) is not installed; kubecors programs this %s once it is installed and the operator restarted",
			c.ref.Kind, c.ref.Group, c.ref.Kind)
		return Target{Result: res}, true
	case !c.exists():
		res.Reason = kubecorsv1alpha1.ReasonTargetNotFound
		res.Message = fmt.Sprintf("%s %q does not exist; it is programmed as soon as it is created", c.ref.Kind, c.ref.Name)
		return Target{Result: res}, true
	}
	obj := resolve.Object{Kind: c.ref.Kind, Name: c.ref.Name}
	switch {
	case c.ingress != nil:
		obj.Labels = c.ingress.Labels
	case c.route != nil:
		obj.Labels = c.route.Labels
	case c.gateway != nil:
		obj.Labels = c.gateway.Labels
	case c.object != nil:
		obj.Labels = c.object.GetLabels()
	}
	arbitration := candidates.Arbitrate(s.Policy, obj)
	switch {
	case arbitration.Overridden:
		return Target{}, false
	case arbitration.Conflicted:
		res.Reason, res.Message = kubecorsv1alpha1.ReasonConflicted, arbitration.Message
		return Target{Result: res}, true
	}
	if c.gateway != nil {
		return decideGateway(s, candidates, res, c.gateway), true
	}
	if c.route != nil {
		return decideRoute(s, res, c.route), true
	}
	if c.object != nil {
		return decideObject(s, res, c.object), true
	}
	return decideIngress(s, renderers, res, c.ingress), true
}

// decideIngress renders an Ingress through its data plane's renderer.
func decideIngress(s Snapshot, renderers Renderers, res Result, ing *networkingv1.Ingress) Target {
	detection := resolve.DetectIngress(ing, s.IngressClasses, s.Policy.Spec.DataPlaneMappings, func(controller string) (string, bool) {
		r, ok := renderers.ForController(controller)
		if !ok {
			return "", false
		}
		return r.Name(), true
	}, registry.RendererNames())
	res.Controller = detection.Controller
	renderer, ok := renderers.ByName(detection.DataPlane)
	if !ok {
		res.Reason, res.Message = kubecorsv1alpha1.ReasonUnsupportedDataPlane, detection.How
		return Target{Result: res}
	}
	res.DataPlane = renderer.Name()
	cfg := renderer.RenderIngress(renderPolicy(s.Policy), dataplanes.IngressTarget{Namespace: ing.Namespace, Name: ing.Name})
	if cfg.Refused != "" {
		res.Reason, res.Message = kubecorsv1alpha1.ReasonRefused, cfg.Refused
		return Target{Result: res}
	}
	res.Reason, res.Message = kubecorsv1alpha1.ReasonProgrammed, programmedMessage(res.DataPlane, cfg.Narrowed)
	res.Narrowed = len(cfg.Narrowed) > 0
	return Target{Result: res, Ingress: &IngressWrite{Ingress: ing, Config: cfg}}
}

// decideRoute renders an HTTPRoute: the standard CORS filter, or an
// ExtensionRef to a Traefik Middleware, in each targeted rule.
func decideRoute(s Snapshot, res Result, route *gatewayv1.HTTPRoute) Target {
	rules, missing := TargetedRules(route, res.Ref.SectionName)
	if missing != "" {
		res.Reason, res.Message = kubecorsv1alpha1.ReasonTargetNotFound, missing
		return Target{Result: res}
	}
	parents := resolve.RouteParents(route, s.Gateways, s.GatewayClasses)
	var controllers []string
	for _, p := range parents {
		if p.Controller != "" && !slices.Contains(controllers, p.Controller) {
			controllers = append(controllers, p.Controller)
		}
	}
	res.Controller = strings.Join(controllers, ",")
	dp, problem, ok := resolve.RouteDataPlane(parents)
	if !ok {
		res.Reason, res.Message = kubecorsv1alpha1.ReasonUnsupportedDataPlane, problem
		return Target{Result: res}
	}
	res.DataPlane = dp.Name
	if dp.RenderRoute == nil {
		return decideAttachedRoute(s, res, route, dp, parents)
	}
	cfg := dp.RenderRoute(renderPolicy(s.Policy), route.Namespace)
	if cfg.Refused != "" {
		res.Reason, res.Message = kubecorsv1alpha1.ReasonRefused, cfg.Refused
		return Target{Result: res}
	}
	res.Reason = kubecorsv1alpha1.ReasonProgrammed
	res.Message = programmedMessage(res.DataPlane, cfg.Narrowed) + " in " + DescribeRules(route, rules) + " for " + describeParents(parents)
	res.Narrowed = len(cfg.Narrowed) > 0
	return Target{Result: res, Route: &RouteWrite{Route: route, Rules: rules, Filter: cfg.Filter, Middleware: cfg.Object}}
}

// decideAttachedRoute programs a route through an object of the data
// plane's own attached to it (an Envoy Gateway SecurityPolicy, for a class
// without HTTPRouteCORS), which kubecors owns; nothing is written into the
// route.
func decideAttachedRoute(s Snapshot, res Result, route *gatewayv1.HTTPRoute, dp dataplanes.DataPlane, parents []resolve.RouteParent) Target {
	cfg := dp.RenderAttached(renderPolicy(s.Policy), dataplanes.AttachTarget{
		Namespace: route.Namespace, Kind: kubecorsv1alpha1.KindHTTPRoute, Name: route.Name, SectionName: res.Ref.SectionName})
	if cfg.Refused != "" {
		res.Reason, res.Message = kubecorsv1alpha1.ReasonRefused, cfg.Refused
		return Target{Result: res}
	}
	res.Reason = kubecorsv1alpha1.ReasonProgrammed
	res.Message = fmt.Sprintf("%s as %s %s attached to the route, for %s", programmedMessage(res.DataPlane, cfg.Narrowed),
		cfg.Object.GetKind(), cfg.Object.GetName(), describeParents(parents))
	res.Narrowed = len(cfg.Narrowed) > 0
	return Target{Result: res, Route: &RouteWrite{Route: route, Attached: cfg.Object}}
}

// decideObject renders an object of a data plane's own target kind
// through the kind's hooks.
func decideObject(s Snapshot, res Result, obj *unstructured.Unstructured) Target {
	dp, _ := registry.ForTargetKind(res.Ref.Kind)
	res.DataPlane = dp.Name
	change := dp.Target.Render(renderPolicy(s.Policy), obj)
	if change.Refused != "" {
		res.Reason, res.Message = kubecorsv1alpha1.ReasonRefused, change.Refused
		return Target{Result: res}
	}
	res.Reason, res.Message = kubecorsv1alpha1.ReasonProgrammed, programmedMessage(res.DataPlane, change.Narrowed)
	res.Narrowed = len(change.Narrowed) > 0
	return Target{Result: res, Object: &ObjectWrite{Object: obj, Kind: *dp.Target, Change: change}}
}

// isTargetKind reports whether kind is a data plane's own target kind.
func isTargetKind(kind string) bool {
	_, ok := registry.ForTargetKind(kind)
	return ok
}

func renderPolicy(p *kubecorsv1alpha1.CorsPolicy) dataplanes.Policy {
	return dataplanes.Policy{Namespace: p.Namespace, Name: p.Name, Spec: p.Spec}
}

// programmedMessage says what was programmed and what was narrowed.
func programmedMessage(dataPlane string, narrowed []dataplanes.Narrowing) string {
	if len(narrowed) == 0 {
		return fmt.Sprintf("programmed for %s as written", dataPlane)
	}
	parts := make([]string, 0, len(narrowed))
	for _, n := range narrowed {
		parts = append(parts, fmt.Sprintf("%s %q: %s", n.Field, n.Value, n.Reason))
	}
	return fmt.Sprintf("programmed for %s, narrowed where it cannot express the policy: %s", dataPlane, strings.Join(parts, "; "))
}

// TargetedRules returns the indexes of the rules a reference targets: the
// rule named sectionName, or every rule; and a message when no rule has
// that name.
func TargetedRules(route *gatewayv1.HTTPRoute, sectionName *string) ([]int, string) {
	var rules []int
	for i, rule := range route.Spec.Rules {
		if sectionName == nil || (rule.Name != nil && string(*rule.Name) == *sectionName) {
			rules = append(rules, i)
		}
	}
	if sectionName != nil && len(rules) == 0 {
		return nil, fmt.Sprintf("HTTPRoute %q has no rule named %q; it is programmed as soon as it has one", route.Name, *sectionName)
	}
	return rules, ""
}

// DescribeRules names rules of a route for messages: by name, or by index.
func DescribeRules(route *gatewayv1.HTTPRoute, rules []int) string {
	names := make([]string, 0, len(rules))
	for _, i := range rules {
		if name := route.Spec.Rules[i].Name; name != nil {
			names = append(names, fmt.Sprintf("rule %q", *name))
		} else {
			names = append(names, fmt.Sprintf("rule %d", i))
		}
	}
	return strings.Join(names, ", ")
}

func describeParents(parents []resolve.RouteParent) string {
	names := make([]string, 0, len(parents))
	for _, p := range parents {
		names = append(names, p.String())
	}
	return strings.Join(names, ", ")
}
