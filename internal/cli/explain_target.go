package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/envoygateway"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/kong"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
	"github.com/kubecors/kubecors/internal/resolve"
)

// explainTarget is what governs one target, and the simulation of its data
// plane.
type explainTarget struct {
	// Ref names the target for people, e.g. "Ingress shop/api".
	Ref string
	// Namespace and Name identify the target object.
	Namespace, Name string
	// Kind is "Ingress", "HTTPRoute" or "CorsPolicy" (a file).
	Kind string
	// Detection says how the data plane was found.
	Detection string
	// GovernedBy is one of the governedBy constants.
	GovernedBy string
	// Policy is the CorsPolicy that governs, when one does.
	Policy *kubecorsv1alpha1.CorsPolicy
	// PolicyRef names it, e.g. "CorsPolicy shop/api".
	PolicyRef string
	// Notes are facts the reader needs, such as annotations that have no
	// effect on the data plane that serves the target.
	Notes []string
	// model answers the browser's requests.
	model dataplanes.Model
	// rendered re-renders the policy for the target's data plane, to tell
	// narrowing from a stale configuration; nil when not possible.
	rendered func() (dataplanes.Model, []dataplanes.Narrowing, string)
	// fixer writes a change for hand-written configuration.
	fixer dataplanes.Fixer
}

// fileTarget reads a CorsPolicy from -f and simulates it on --data-plane.
func (o *explainOptions) fileTarget() (*explainTarget, error) {
	var data []byte
	var readErr error
	visitInputs([]string{o.filename}, o.streams.In, func(_ string, d []byte, err error) { data, readErr = d, err })
	if readErr != nil {
		return nil, fmt.Errorf("%s: %w", o.filename, readErr)
	}
	policy, err := decodeCorsPolicy(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.filename, err)
	}
	dp := o.dataPlane
	detection := "chosen with --data-plane"
	if dp == "" {
		dp, detection = ingressnginx.Name, "the default for -f; choose another with --data-plane"
	}
	return policyTarget(policy, dp, detection, fmt.Sprintf("CorsPolicy %s (file %s)", objectRef(policy.Namespace, policy.Name), o.filename))
}

// policyTarget simulates a CorsPolicy rendered for dp as kubecors would
// render it, or, for dataplanes.PolicyDataPlane, by its own semantics.
func policyTarget(policy *kubecorsv1alpha1.CorsPolicy, dp, detection, ref string) (*explainTarget, error) {
	t := &explainTarget{
		Ref: ref, Kind: corsPolicyKind, Namespace: policy.Namespace, Name: policy.Name, GovernedBy: governedByPolicy, Policy: policy,
		PolicyRef: "CorsPolicy " + objectRef(policy.Namespace, policy.Name), Detection: detection,
	}
	if errs, _ := corsrules.ValidateCorsPolicy(policy); len(errs) > 0 {
		t.Notes = append(t.Notes, "the policy is invalid and would not be accepted: "+errs.ToAggregate().Error())
	}
	if dp == dataplanes.PolicyDataPlane {
		t.model = dataplanes.ParsePolicy(policy.Spec)
		return t, nil
	}
	model, narrowed, refused, err := renderModel(policy, dp, objectRef(policy.Namespace, "target"))
	if err != nil {
		return nil, err
	}
	t.model = model
	t.rendered = func() (dataplanes.Model, []dataplanes.Narrowing, string) { return model, narrowed, refused }
	if refused != "" {
		t.Notes = append(t.Notes, "kubecors refuses to program this policy on "+dp+": "+refused)
	}
	for _, n := range narrowed {
		t.Notes = append(t.Notes, fmt.Sprintf("narrowed for %s: %s %q: %s", dp, n.Field, n.Value, n.Reason))
	}
	return t, nil
}

// decodeCorsPolicy reads the single CorsPolicy of a file.
func decodeCorsPolicy(data []byte) (*kubecorsv1alpha1.CorsPolicy, error) {
	var found []*kubecorsv1alpha1.CorsPolicy
	for _, raw := range splitDocuments(data) {
		doc := parseDocument(raw)
		if doc.err != nil {
			return nil, doc.err
		}
		content, ok := doc.content.(map[string]any)
		if !ok {
			continue
		}
		obj := &unstructured.Unstructured{Object: content}
		if obj.GetKind() != corsPolicyKind {
			continue
		}
		policy := &kubecorsv1alpha1.CorsPolicy{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(content, policy); err != nil {
			return nil, fmt.Errorf("not a valid CorsPolicy: %w", err)
		}
		found = append(found, policy)
	}
	switch len(found) {
	case 0:
		return nil, errors.New("no CorsPolicy in the file")
	case 1:
		if found[0].Namespace == "" {
			found[0].Namespace = metav1.NamespaceDefault
		}
		return found[0], nil
	}
	return nil, fmt.Errorf("%d CorsPolicies in the file: explain takes one", len(found))
}

// renderModel renders a policy for a data plane as kubecors would and
// reads the result back the way the data plane reads it.
func renderModel(policy *kubecorsv1alpha1.CorsPolicy, dp, ingressRef string) (dataplanes.Model, []dataplanes.Narrowing, string, error) {
	plane, ok := registry.Lookup(dp)
	if !ok || plane.Rendered == nil {
		return nil, nil, "", fmt.Errorf("kubecors has no renderer for %q; use one of %s, or %s", dp,
			strings.Join(registry.RendererNames(), ", "), dataplanes.PolicyDataPlane)
	}
	namespace, _, _ := strings.Cut(ingressRef, "/")
	return plane.Rendered(dataplanes.Policy{Namespace: policy.Namespace, Name: policy.Name, Spec: policy.Spec},
		dataplanes.IngressTarget{Namespace: namespace, Name: policy.Name})
}

// clusterTarget resolves ingress/NAME or httproute/NAME in the cluster.
func (o *explainOptions) clusterTarget(ctx context.Context, arg string) (*explainTarget, error) {
	kind, name, ok := strings.Cut(arg, "/")
	if !ok || name == "" {
		return nil, fmt.Errorf("target %q is not KIND/NAME: write ingress/NAME or httproute/NAME", arg)
	}
	session, err := newClusterSession(o.configFlags)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(kind) {
	case "ingress", "ingresses", "ing", "ingress.networking.k8s.io":
		return o.ingressTarget(ctx, session, name)
	case "httproute", "httproutes", "httproute.gateway.networking.k8s.io":
		return o.routeTarget(ctx, session, name)
	}
	if dp, ok := targetKindNamed(kind); ok {
		return o.targetKindTarget(ctx, session, dp, name)
	}
	return nil, fmt.Errorf("cannot explain a %s: name an ingress/NAME, an httproute/NAME, a virtualservice/NAME or an httpproxy/NAME", kind)
}

// ingressTarget finds what governs an Ingress and models its data plane.
func (o *explainOptions) ingressTarget(ctx context.Context, s *clusterSession, name string) (*explainTarget, error) {
	ing := &networkingv1.Ingress{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, ing); err != nil {
		return nil, fmt.Errorf("cannot read Ingress %s: %w", objectRef(s.namespace, name), err)
	}
	classes := &networkingv1.IngressClassList{}
	if err := s.client.List(ctx, classes); err != nil {
		return nil, fmt.Errorf("cannot list IngressClasses: %w", err)
	}
	policies, err := s.policies(ctx, ing.Namespace)
	if err != nil {
		return nil, err
	}
	candidates, err := s.candidates(ctx, ing.Namespace, policies)
	if err != nil {
		return nil, err
	}
	governing := candidates.Governing(resolve.ObjectOf(kubecorsv1alpha1.KindIngress, ing))
	var mappings []kubecorsv1alpha1.DataPlaneMapping
	if governing != nil {
		mappings = governing.Spec.DataPlaneMappings
	}
	detection := resolve.DetectIngressOrGuess(ing, classes.Items, mappings)
	if o.dataPlane != "" {
		detection.DataPlane, detection.How = o.dataPlane, "chosen with --data-plane; "+detection.How
	}
	t := &explainTarget{Ref: "Ingress " + objectRef(ing.Namespace, ing.Name), Kind: kubecorsv1alpha1.KindIngress, Namespace: ing.Namespace,
		Name: ing.Name, Detection: detection.How}
	var objects []unstructured.Unstructured
	if plane, ok := registry.Lookup(detection.DataPlane); ok {
		if objects, _, err = s.objectsOf(ctx, plane, ing.Namespace); err != nil {
			return nil, err
		}
	}
	model, notes, fixer, err := ingressModel(ing, detection.DataPlane, objects)
	if err != nil {
		return nil, err
	}
	t.model, t.fixer = model, fixer
	t.Notes = append(t.Notes, notes...)
	t.findPolicy(policies, candidates, ing.Annotations, ing.Labels)
	if t.Policy != nil && detection.DataPlane != "" && detection.DataPlane != gatewayapi.Name {
		policy, dp := t.Policy, detection.DataPlane
		t.rendered = func() (dataplanes.Model, []dataplanes.Narrowing, string) {
			m, narrowed, refused, err := renderModel(policy, dp, objectRef(ing.Namespace, ing.Name))
			if err != nil {
				return nil, nil, ""
			}
			return m, narrowed, refused
		}
	}
	return t, nil
}

// ingressModel models an Ingress on a data plane, with notes and the
// fixer for hand-written configuration.
func ingressModel(ing *networkingv1.Ingress, dp string, objects []unstructured.Unstructured) (dataplanes.Model, []string, dataplanes.Fixer, error) {
	ref := objectRef(ing.Namespace, ing.Name)
	var notes []string
	if foreign := registry.ForeignCORSAnnotations(ing.Annotations, dp); len(foreign) > 0 && dp != "" {
		notes = append(notes, fmt.Sprintf("%s has no effect: the Ingress is served by %s, which ignores these annotations",
			strings.Join(foreign, ", "), dp))
	}
	plane, ok := registry.Lookup(dp)
	switch {
	case ok && plane.ReadAnnotations != nil:
		model := plane.ReadAnnotations(ing.Annotations)
		return model, notes, plane.NewAnnotationFixer(ref, model.Effective()), nil
	case ok && plane.ReadIngressObjects != nil:
		model, objectNotes, fixer, err := plane.ReadIngressObjects(ref, ing.Annotations, objects)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("ingress %s: %w", ref, err)
		}
		return model, append(notes, objectNotes...), fixer, nil
	case dp == "":
		return dataplanes.NoCORS("unknown", "no data plane could be told for the Ingress"), notes, nil, nil
	}
	return nil, nil, nil, fmt.Errorf("data plane %q cannot serve an Ingress", dp)
}

// routeTarget finds what governs an HTTPRoute rule and models it.
func (o *explainOptions) routeTarget(ctx context.Context, s *clusterSession, name string) (*explainTarget, error) {
	route := &unstructured.Unstructured{}
	route.SetGroupVersionKind(httpRouteGVK)
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, route); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, errors.New("the cluster does not serve Gateway API HTTPRoutes (gateway.networking.k8s.io/v1)")
		}
		return nil, fmt.Errorf("cannot read HTTPRoute %s: %w", objectRef(s.namespace, name), err)
	}
	rules := gatewayapi.HTTPRouteRules(route)
	rule, notes, err := chooseRule(rules, o.rule)
	if err != nil {
		return nil, err
	}
	ref := objectRef(route.GetNamespace(), route.GetName())
	t := &explainTarget{Ref: fmt.Sprintf("HTTPRoute %s, %s", ref, rule.Label()), Kind: "HTTPRoute", Namespace: route.GetNamespace(),
		Name: route.GetName(), Notes: notes}
	switch {
	case rule.CORS != nil:
		t.Detection = "the rule's CORS filter (Gateway API HTTPRouteCORS)"
		t.model = gatewayapi.ParseGatewayCORS(rule.CORS, fmt.Sprintf("spec.rules[%d].filters[%d].cors", rule.Index, rule.CORSFilterIndex))
		t.fixer = gatewayapi.NewFixer(ref, rule)
	case len(rule.Middlewares) > 0:
		t.Detection = "the rule's ExtensionRef filters to Traefik Middlewares"
		middlewares, _, err := s.listUnstructured(ctx, middlewareListGVK, route.GetNamespace())
		if err != nil {
			return nil, fmt.Errorf("cannot list Traefik Middlewares: %w", err)
		}
		var chain []traefik.Middleware
		for _, mwName := range rule.Middlewares {
			entry := traefik.Middleware{Ref: objectRef(route.GetNamespace(), mwName)}
			for i := range middlewares {
				if middlewares[i].GetName() == mwName {
					entry.Object = &middlewares[i]
				}
			}
			chain = append(chain, entry)
		}
		if t.model, err = traefik.ParseTraefik(chain); err != nil {
			return nil, fmt.Errorf("HTTPRoute %s: %w", ref, err)
		}
		t.fixer = traefik.NewFixer(chain, "")
	case len(rule.KongPlugins) > 0:
		t.Detection = "the rule's ExtensionRef filters to KongPlugins"
		objects, _, err := s.listUnstructured(ctx, kongPluginListGVK, route.GetNamespace())
		if err != nil {
			return nil, fmt.Errorf("cannot list KongPlugins: %w", err)
		}
		plugins := kongChain(rule.KongPlugins, objects)
		if t.model, err = kong.ParseKong(plugins); err != nil {
			return nil, fmt.Errorf("HTTPRoute %s: %w", ref, err)
		}
		t.fixer = kong.NewFixer(plugins, "")
	default:
		sp, how, err := attachedSecurityPolicy(ctx, s, route, rule)
		if err != nil {
			return nil, err
		}
		if sp != nil {
			t.Detection = how + " (the rule has no CORS filter, which would take precedence on Envoy Gateway)"
			if t.model, err = envoygateway.ReadSecurityPolicy(sp); err != nil {
				return nil, err
			}
			t.fixer = envoygateway.NewFixer(objectRef(sp.GetNamespace(), sp.GetName()))
			break
		}
		t.Detection = "the rule has no CORS filter"
		t.model = gatewayapi.ParseGatewayCORS(nil, "")
		t.fixer = gatewayapi.NewFixer(ref, rule)
	}
	policies, err := s.policies(ctx, route.GetNamespace())
	if err != nil {
		return nil, err
	}
	candidates, err := s.candidates(ctx, route.GetNamespace(), policies)
	if err != nil {
		return nil, err
	}
	t.findPolicy(policies, candidates, route.GetAnnotations(), route.GetLabels())
	if t.Policy != nil && rule.CORS != nil {
		policy := t.Policy
		t.rendered = func() (dataplanes.Model, []dataplanes.Narrowing, string) {
			m, narrowed, refused, err := renderModel(policy, gatewayapi.Name, "")
			if err != nil {
				return nil, nil, ""
			}
			return m, narrowed, refused
		}
	}
	return t, nil
}

// Kinds of Kong and Envoy Gateway read as unstructured content.
var (
	kongPluginListGVK     = schema.GroupVersionKind{Group: kong.Group, Version: kong.Version, Kind: kong.Kind + "List"}
	securityPolicyListGVK = schema.GroupVersionKind{Group: envoygateway.Group, Version: envoygateway.Version, Kind: envoygateway.Kind + "List"}
)

// attachedSecurityPolicy finds the Envoy Gateway SecurityPolicy with
// spec.cors that applies to a rule of route, as Envoy Gateway picks it: one
// attached to the rule (sectionName) before one on the whole route, before
// one on a parent Gateway of the route's namespace; nil when none does or
// the cluster does not serve SecurityPolicies.
func attachedSecurityPolicy(ctx context.Context, s *clusterSession, route *unstructured.Unstructured, rule gatewayapi.RouteRule) (*unstructured.Unstructured, string, error) {
	policies, served, err := s.listUnstructured(ctx, securityPolicyListGVK, route.GetNamespace())
	if err != nil || !served {
		return nil, "", err
	}
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	gateways := map[string]bool{}
	for _, p := range parents {
		ref, _ := p.(map[string]any)
		if ns, _ := ref["namespace"].(string); ns == "" || ns == route.GetNamespace() {
			name, _ := ref["name"].(string)
			gateways[name] = true
		}
	}
	best, bestRank, how := -1, 4, ""
	for i := range policies {
		if _, found, _ := unstructured.NestedMap(policies[i].Object, "spec", "cors"); !found {
			continue
		}
		refs, _, _ := unstructured.NestedSlice(policies[i].Object, "spec", "targetRefs")
		for _, r := range refs {
			ref, _ := r.(map[string]any)
			kind, _ := ref["kind"].(string)
			name, _ := ref["name"].(string)
			section, hasSection := ref["sectionName"].(string)
			rank := 4
			switch {
			case kind == gatewayapi.HTTPRouteKind && name == route.GetName() && hasSection && section == rule.Name:
				rank = 1
			case kind == gatewayapi.HTTPRouteKind && name == route.GetName() && !hasSection:
				rank = 2
			case kind == kubecorsv1alpha1.KindGateway && gateways[name]:
				rank = 3
			}
			if rank < bestRank {
				best, bestRank = i, rank
				how = fmt.Sprintf("Envoy Gateway SecurityPolicy %s, attached to %s %s", objectRef(policies[i].GetNamespace(), policies[i].GetName()), kind, name)
			}
		}
	}
	if best < 0 {
		return nil, "", nil
	}
	return &policies[best], how, nil
}

// targetKindNamed finds the data plane whose own target kind a kubectl
// resource argument names: its kind, plural or kind.group, in any case.
func targetKindNamed(arg string) (dataplanes.DataPlane, bool) {
	arg = strings.ToLower(arg)
	for _, dp := range registry.TargetKinds() {
		kind := strings.ToLower(dp.Target.Kind())
		if arg == kind || arg == dp.Target.Resource || arg == kind+"."+dp.Target.Group() {
			return dp, true
		}
	}
	return dataplanes.DataPlane{}, false
}

// targetKindTarget finds what governs an object of a data plane's own
// target kind (an Istio VirtualService, a Contour HTTPProxy) and models
// one section of it (--rule picks an Istio http route by name or index).
func (o *explainOptions) targetKindTarget(ctx context.Context, s *clusterSession, dp dataplanes.DataPlane, name string) (*explainTarget, error) {
	kind := dp.Target
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(kind.GVK)
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, obj); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("the cluster does not serve %s (%s)", kind.Plural(), kind.GVK.GroupVersion())
		}
		return nil, fmt.Errorf("cannot read %s %s: %w", kind.Kind(), objectRef(s.namespace, name), err)
	}
	ref := objectRef(obj.GetNamespace(), obj.GetName())
	t := &explainTarget{Ref: kind.Kind() + " " + ref, Kind: kind.Kind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
	sections := kind.Read(obj)
	i := 0
	if o.rule != "" {
		i = slices.IndexFunc(sections, func(sec dataplanes.TargetSection) bool {
			return sec.Name == o.rule || strings.Contains(sec.Key, "["+o.rule+"]")
		})
		if i < 0 {
			return nil, fmt.Errorf("%s %s has no CORS configuration in %q: name an http route by its name or index", kind.Kind(), ref, o.rule)
		}
	}
	switch {
	case len(sections) == 0:
		t.Detection = fmt.Sprintf("the %s has no CORS configuration", kind.Kind())
		t.model = dataplanes.NoCORS(dp.Name, "the "+kind.Kind()+" has no CORS configuration")
	default:
		sec := sections[i]
		t.Ref += ", " + sec.Key
		t.Detection = fmt.Sprintf("%s, read the way %s reads it", sec.Key, dp.Name)
		t.model, t.fixer = sec.Model, kind.NewFixer(ref, sec.Key)
		for _, p := range sec.Problems {
			t.Notes = append(t.Notes, fmt.Sprintf("%s rejects this configuration, so no CORS header is sent: %s", dp.Name, p))
		}
		if len(sections) > 1 && o.rule == "" {
			t.Notes = append(t.Notes, fmt.Sprintf("the %s has %d CORS configurations; explaining %s (choose another with --rule)", kind.Kind(), len(sections), sec.Key))
		}
	}
	policies, err := s.policies(ctx, obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	candidates, err := s.candidates(ctx, obj.GetNamespace(), policies)
	if err != nil {
		return nil, err
	}
	t.findPolicy(policies, candidates, obj.GetAnnotations(), obj.GetLabels())
	if t.Policy != nil {
		policy := t.Policy
		t.rendered = func() (dataplanes.Model, []dataplanes.Narrowing, string) {
			m, narrowed, refused, err := renderModel(policy, dp.Name, "")
			if err != nil {
				return nil, nil, ""
			}
			return m, narrowed, refused
		}
	}
	return t, nil
}

// chooseRule picks the HTTPRoute rule to explain: --rule by name or index,
// else the only rule, else the first with a CORS filter.
func chooseRule(rules []gatewayapi.RouteRule, want string) (gatewayapi.RouteRule, []string, error) {
	if len(rules) == 0 {
		return gatewayapi.RouteRule{}, nil, errors.New("the HTTPRoute has no rules")
	}
	if want != "" {
		for _, r := range rules {
			if r.Name == want || strconv.Itoa(r.Index) == want {
				return r, nil, nil
			}
		}
		return gatewayapi.RouteRule{}, nil, fmt.Errorf("the HTTPRoute has no rule %q: name one by its name or index (0 to %d)", want, len(rules)-1)
	}
	if len(rules) == 1 {
		return rules[0], nil, nil
	}
	chosen := rules[0]
	if i := slices.IndexFunc(rules, func(r gatewayapi.RouteRule) bool {
		return r.CORS != nil || len(r.Middlewares) > 0 || len(r.KongPlugins) > 0
	}); i >= 0 {
		chosen = rules[i]
	}
	return chosen, []string{fmt.Sprintf("the route has %d rules; explaining %s (choose another with --rule)", len(rules), chosen.Label())}, nil
}

// findPolicy looks for the CorsPolicy that kubecors programmed on the
// target (the kubecors.io/policy annotation), says which policy governs it
// as the controller decides (internal/resolve), and notes policies that
// target it without governing it.
func (t *explainTarget) findPolicy(policies []kubecorsv1alpha1.CorsPolicy, candidates resolve.Candidates, annotations, objLabels map[string]string) {
	obj := resolve.Object{Kind: t.Kind, Name: t.Name, Labels: objLabels}
	governing := candidates.Governing(obj)
	name := annotations[policyAnnotation]
	for i := range policies {
		p := &policies[i]
		if p.Name == name {
			t.Policy, t.PolicyRef, t.GovernedBy = p, "CorsPolicy "+objectRef(p.Namespace, p.Name), governedByPolicy
			continue
		}
		if resolve.Targets(p, obj) && (governing == nil || p.Name != governing.Name) {
			t.Notes = append(t.Notes, fmt.Sprintf("CorsPolicy %s also targets this %s but does not govern it%s",
				objectRef(p.Namespace, p.Name), t.Kind, targetReason(p, t.Kind, t.Name)))
		}
	}
	if governing != nil && governing.Name != name {
		t.Notes = append(t.Notes, fmt.Sprintf("CorsPolicy %s governs this %s (a namespace's own policy before ClusterCorsPolicy defaults, then the oldest), "+
			"but its configuration is not on the %s yet%s", objectRef(governing.Namespace, governing.Name), t.Kind, t.Kind,
			targetReason(governing, t.Kind, t.Name)))
	}
	switch {
	case name != "" && t.Policy == nil:
		t.Notes = append(t.Notes, fmt.Sprintf("the %s names CorsPolicy %q in %s, which does not exist any more; its configuration is left over",
			t.Kind, name, policyAnnotation))
		t.GovernedBy = governedByHand
	case t.Policy != nil:
	case t.model.Effective().Enabled:
		t.GovernedBy = governedByHand
	default:
		t.GovernedBy = governedByNone
	}
}

// targetReason is the policy's status message for the target, if any.
func targetReason(p *kubecorsv1alpha1.CorsPolicy, kind, name string) string {
	if c := meta.FindStatusCondition(p.Status.Conditions, kubecorsv1alpha1.ConditionAccepted); c != nil && c.Status != metav1.ConditionTrue {
		return fmt.Sprintf(" (not accepted, %s: %s)", c.Reason, c.Message)
	}
	for _, ts := range p.Status.Targets {
		if ts.TargetRef.Kind != kind || ts.TargetRef.Name != name {
			continue
		}
		if c := meta.FindStatusCondition(ts.Conditions, kubecorsv1alpha1.ConditionProgrammed); c != nil {
			return fmt.Sprintf(" (%s: %s)", c.Reason, c.Message)
		}
	}
	return ""
}

// fix works out the change that removes the first failure, in the terms of
// what governs the target, and further hints.
func (t *explainTarget) fix(req corscheck.Request, v corscheck.Verdict) (string, []string) {
	if v.Failure == nil {
		return "", nil
	}
	d := v.Failure
	switch t.GovernedBy {
	case governedByPolicy:
		return t.policyFix(req, d)
	case governedByHand:
		fix := d.Fix
		if d.Change != nil && t.fixer != nil {
			if f, ok := t.fixer.Edit(*d.Change, d, req); ok {
				fix = f
			}
		}
		hints := []string{fmt.Sprintf("this CORS configuration is hand-written; to let kubecors manage it, "+
			"\"kubectl cors audit -n %s --suggest\" prints a CorsPolicy that reproduces it safely", t.Namespace)}
		if d.Class == corscheck.ClassWildcardWithCredentials && t.fixer != nil {
			hints = append(hints, `or, if the page does not need cookies or HTTP authentication, drop credentials: "include" from the request, `+
				`or set credentials off explicitly (`+t.fixer.CredentialsOff()+`)`)
		}
		return fix, hints
	}
	// Nothing configures CORS for the target: a policy is the way to add it.
	fix := fmt.Sprintf("create a CorsPolicy in namespace %s with targetRefs naming %s %s and spec.allowOrigins: [%q]",
		t.Namespace, t.Kind, t.Name, req.Origin)
	if d.Change != nil && d.Change.Field != corscheck.FieldAllowOrigins {
		fix += ", and " + d.Change.Render(corscheck.SpecField)
	}
	return fix, []string{"server-side alternative: " + d.ServerFix}
}

// policyFix writes the fix as a change of the governing CorsPolicy, after
// telling apart a policy that forbids the request from one that allows it
// but whose data plane (or stale configuration) does not.
func (t *explainTarget) policyFix(req corscheck.Request, d *corscheck.Diagnosis) (string, []string) {
	_, policyVerdict, err := corscheck.Run(dataplanes.ParsePolicy(t.Policy.Spec), req)
	if err == nil && policyVerdict.Allowed && t.model.Effective().DataPlane != dataplanes.PolicyDataPlane {
		return t.notExpressed(req)
	}
	failure := d
	if err == nil && policyVerdict.Failure != nil {
		failure = policyVerdict.Failure
	}
	if failure.Change == nil {
		return failure.Fix + " (" + t.PolicyRef + ")", nil
	}
	fix := failure.Change.Render(func(field string) string { return corscheck.SpecField(field) + " of " + t.PolicyRef })
	var hints []string
	changed := t.Policy.Spec.DeepCopy()
	applyChange(changed, *failure.Change)
	if errs, _ := corsrules.ValidateSpec(changed, specFieldPath); len(errs) > 0 {
		hints = append(hints, "kubecors would reject the policy after that change: "+errs.ToAggregate().Error())
	}
	return fix, hints
}

// notExpressed explains a block that the policy itself does not impose:
// either the data plane cannot express the policy (narrowed or refused), or
// the configuration on the target is not what kubecors renders now.
func (t *explainTarget) notExpressed(req corscheck.Request) (string, []string) {
	dp := t.model.Effective().DataPlane
	stale := fmt.Sprintf("%s allows this request, but the configuration on %s %s is not what kubecors renders for it now: "+
		"kubecors has not programmed it (see kubectl cors status -n %s)", t.PolicyRef, t.Kind, objectRef(t.Namespace, t.Name), t.Namespace)
	if t.rendered == nil {
		return stale, nil
	}
	model, narrowed, refused := t.rendered()
	switch {
	case refused != "":
		return fmt.Sprintf("%s allows this request, but kubecors cannot program it on %s: %s", t.PolicyRef, dp, refused), nil
	case model == nil:
		return stale, nil
	}
	if _, v, err := corscheck.Run(model, req); err == nil && v.Allowed && t.Kind != corsPolicyKind {
		return stale, nil
	}
	reasons := make([]string, 0, len(narrowed))
	for _, n := range narrowed {
		reasons = append(reasons, fmt.Sprintf("%s %q: %s", n.Field, n.Value, n.Reason))
	}
	if len(reasons) == 0 {
		return fmt.Sprintf("%s allows this request, but %s answers differently from the policy's own semantics", t.PolicyRef, dp), nil
	}
	var hints []string
	if dp != traefik.Name {
		hints = append(hints, "Traefik expresses every valid CorsPolicy exactly; on "+dp+", change the policy as the fix says")
	}
	return fmt.Sprintf("%s allows this request, but %s cannot express all of it: %s", t.PolicyRef, dp, strings.Join(reasons, "; ")), hints
}
