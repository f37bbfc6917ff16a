package cli

import (
	"fmt"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/resolve"
)

// maxTargetRefs is spec.targetRefs' MaxItems.
const maxTargetRefs = 16

// migrationInput is what migrate reads: Ingresses and, when given, the
// HTTPRoutes ingress2gateway generated from them.
type migrationInput struct {
	ingresses []networkingv1.Ingress
	routes    []unstructured.Unstructured
	// classes tell which Ingresses ingress-nginx served; an Ingress whose
	// class is unknown is taken to be ingress-nginx's when it carries its
	// annotations.
	classes []networkingv1.IngressClass
}

// migrationOptions are the choices a user makes.
type migrationOptions struct {
	// anyDepthWildcards keeps ingress-nginx's one-label "*." origins as a
	// CorsPolicy's any-depth wildcards, which is wider.
	anyDepthWildcards bool
}

// ruleOutcome is what migrate did with one HTTPRoute rule.
type ruleOutcome string

// The outcomes of a rule.
const (
	// ruleNoCORS: neither the rule nor its Ingress has CORS.
	ruleNoCORS ruleOutcome = "no-cors"
	// ruleCopyRemoved: the rule's CORS filter is ingress2gateway's copy of
	// its Ingress's annotations; it was removed and the CorsPolicy
	// targets the rule.
	ruleCopyRemoved ruleOutcome = "copy-removed"
	// ruleNoFilter: the Ingress has CORS but the rule has no filter; the
	// CorsPolicy targets the rule.
	ruleNoFilter ruleOutcome = "no-filter"
	// ruleChanged: the rule's filter differs from what ingress2gateway
	// writes for its Ingress, so someone changed it: kept, not targeted.
	ruleChanged ruleOutcome = "changed"
	// ruleForeign: the rule has a filter and its Ingress (if any) no CORS:
	// not ingress2gateway's, kept.
	ruleForeign ruleOutcome = "not-a-copy"
	// ruleUnnamed: ingress2gateway's copy in a rule that shares its route
	// with rules of other Ingresses and has no name, so a policy cannot
	// target it alone: kept.
	ruleUnnamed ruleOutcome = "unnamed"
	// ruleAmbiguous: several Ingresses with different CORS could have
	// generated the rule: kept.
	ruleAmbiguous ruleOutcome = "ambiguous"
)

// migratedRule is one rule of a given HTTPRoute.
type migratedRule struct {
	index int
	name  string
	// source is the Ingress the rule was generated from; nil when none of
	// the given Ingresses (or several) could have.
	source *migratedIngress
	// generatedFrom is the Ingress the rule was generated from, with or
	// without CORS; nginx is how ingress-nginx answered for it, nil when
	// none or several could have, or another controller served it.
	generatedFrom *networkingv1.Ingress
	nginx         dataplanes.Model
	// filter is the rule's CORS filter as written, nil when it has none;
	// filterIndex its position in the rule's filters.
	filter      map[string]any
	filterIndex int
	// copied is the filter ingress2gateway writes for the source's
	// annotations, nil when it writes none.
	copied  *gatewayv1.HTTPCORSFilter
	outcome ruleOutcome
}

// label names the rule for people.
func (r migratedRule) label() string {
	return gatewayapi.RouteRule{Index: r.index, Name: r.name}.Label()
}

// targeted reports whether the CorsPolicy of the rule's Ingress programs it.
func (r migratedRule) targeted() bool {
	return r.outcome == ruleCopyRemoved || r.outcome == ruleNoFilter
}

// migratedRoute is one given HTTPRoute and what became of its rules.
type migratedRoute struct {
	route *unstructured.Unstructured
	// cleaned is the route without ingress2gateway's copies; nil when
	// nothing was removed.
	cleaned *unstructured.Unstructured
	rules   []migratedRule
}

// object names the route for people.
func (r *migratedRoute) object() auditObject {
	return auditObject{APIVersion: gatewayapi.Group + "/" + gatewayapi.Version, Kind: gatewayapi.HTTPRouteKind,
		Namespace: r.route.GetNamespace(), Name: r.route.GetName()}
}

// migratedIngress is one Ingress with ingress-nginx CORS annotations and
// the CorsPolicy written for it.
type migratedIngress struct {
	ingress *networkingv1.Ingress
	// nginx is how ingress-nginx answered browsers for it.
	nginx dataplanes.Model
	// policy is nil when none is written (CORS off, or nothing left to
	// target); why is then in skipped.
	policy  *kubecorsv1alpha1.CorsPolicy
	changes []string
	skipped string
}

// targetsIngress reports whether the policy targets the Ingress itself (no
// route generated from it was given).
func (m *migratedIngress) targetsIngress() bool {
	return m.policy != nil && len(m.policy.Spec.TargetRefs) == 1 && m.policy.Spec.TargetRefs[0].Kind == kubecorsv1alpha1.KindIngress
}

// migration is everything migrate decided.
type migration struct {
	ingresses []*migratedIngress
	routes    []*migratedRoute
	// notes say which Ingresses were left alone, and why.
	notes []string
}

// hasNginxCORS reports whether an Ingress carries any ingress-nginx CORS
// annotation.
func hasNginxCORS(ing *networkingv1.Ingress) bool {
	return slices.ContainsFunc(ingressnginx.Annotations, func(k string) bool { _, ok := ing.Annotations[k]; return ok })
}

// planMigration decides, without any side effect, the CorsPolicies and
// cleaned routes that move the given Ingresses' CORS to kubecors.
func planMigration(in migrationInput, opts migrationOptions) *migration {
	m := &migration{}
	byIngress := map[*networkingv1.Ingress]*migratedIngress{}
	for i := range in.ingresses {
		ing := &in.ingresses[i]
		if !hasNginxCORS(ing) {
			continue
		}
		if d := resolve.DetectIngressOrGuess(ing, in.classes, nil); d.DataPlane != "" && d.DataPlane != ingressnginx.Name {
			m.notes = append(m.notes, fmt.Sprintf("Ingress %s: left alone: it is served by %s (%s), so its ingress-nginx annotations had no effect",
				objectRef(ing.Namespace, ing.Name), d.DataPlane, d.How))
			continue
		}
		mi := &migratedIngress{ingress: ing, nginx: ingressnginx.ParseIngressNginx(ing.Annotations)}
		m.ingresses = append(m.ingresses, mi)
		byIngress[ing] = mi
	}
	for i := range in.routes {
		m.routes = append(m.routes, attributeRules(&in.routes[i], in.ingresses, byIngress))
	}
	for _, mi := range m.ingresses {
		m.writePolicy(mi, opts)
	}
	for _, r := range m.routes {
		r.clean()
	}
	return m
}

// attributeRules finds, for each rule of a route, the Ingress it was
// generated from and whether its CORS filter is ingress2gateway's copy.
func attributeRules(route *unstructured.Unstructured, ingresses []networkingv1.Ingress, byIngress map[*networkingv1.Ingress]*migratedIngress) *migratedRoute {
	r := &migratedRoute{route: route}
	hostnames, _, _ := unstructured.NestedStringSlice(route.Object, "spec", "hostnames")
	raw, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	for _, rule := range gatewayapi.HTTPRouteRules(route) {
		mr := migratedRule{index: rule.Index, name: rule.Name, filter: rule.CORS, filterIndex: rule.CORSFilterIndex, outcome: ruleNoCORS}
		content, _ := raw[rule.Index].(map[string]any)
		shape := ruleShape(content)
		var sources []*networkingv1.Ingress
		for i := range ingresses {
			ing := &ingresses[i]
			if ing.Namespace == route.GetNamespace() && ing.Annotations[canaryAnnotation] != trueValue && shape.generatedFrom(ing, hostnames) {
				sources = append(sources, ing)
			}
		}
		ambiguous := false
		if len(sources) > 0 {
			mr.generatedFrom = sources[0]
			if mi := byIngress[sources[0]]; mi != nil {
				mr.nginx = mi.nginx
			} else if !hasNginxCORS(sources[0]) {
				mr.nginx = ingressnginx.ParseIngressNginx(sources[0].Annotations)
			}
		}
		// ingress2gateway's ingress-nginx provider copies CORS only from
		// the Ingresses ingress-nginx serves.
		if len(sources) > 0 && byIngress[sources[0]] != nil {
			mr.copied = ingress2gatewayFilter(sources[0].Annotations)
			mr.source = byIngress[sources[0]]
			for _, other := range sources[1:] {
				if !sameFilter(filterContent(ingress2gatewayFilter(other.Annotations)), mr.copied) ||
					slices.ContainsFunc(ingressnginx.Annotations, func(k string) bool { return other.Annotations[k] != sources[0].Annotations[k] }) {
					ambiguous = true
				}
			}
		}
		switch {
		case ambiguous:
			mr.source, mr.copied, mr.generatedFrom, mr.nginx = nil, nil, nil, nil
			if mr.filter != nil {
				mr.outcome = ruleAmbiguous
			}
		case mr.filter != nil && mr.copied != nil && sameFilter(mr.filter, mr.copied):
			mr.outcome = ruleCopyRemoved
		case mr.filter != nil && mr.copied != nil:
			mr.outcome = ruleChanged
		case mr.filter != nil:
			mr.outcome = ruleForeign
		case mr.copied != nil:
			mr.outcome = ruleNoFilter
		}
		r.rules = append(r.rules, mr)
	}
	return r
}

// writePolicy writes the CorsPolicy of one Ingress, targeting the rules
// generated from it (the whole route when every rule of it is), or the
// Ingress when no route generated from it was given.
func (m *migration) writePolicy(mi *migratedIngress, opts migrationOptions) {
	var refs []kubecorsv1alpha1.PolicyTargetReference
	fromRoutes := false
	for _, r := range m.routes {
		whole := len(r.rules) > 0
		var mine []int
		for i, rule := range r.rules {
			if rule.source != mi {
				whole = false
				continue
			}
			fromRoutes = true
			if rule.targeted() {
				mine = append(mine, i)
			} else {
				whole = false
			}
		}
		if len(mine) == 0 {
			continue
		}
		if whole {
			refs = append(refs, kubecorsv1alpha1.PolicyTargetReference{Group: gatewayapi.Group, Kind: gatewayapi.HTTPRouteKind, Name: r.route.GetName()})
			continue
		}
		for _, i := range mine {
			if r.rules[i].name == "" {
				r.rules[i].outcome = ruleUnnamed
				continue
			}
			refs = append(refs, kubecorsv1alpha1.PolicyTargetReference{Group: gatewayapi.Group, Kind: gatewayapi.HTTPRouteKind,
				Name: r.route.GetName(), SectionName: new(r.rules[i].name)})
		}
	}
	eff := mi.nginx.Effective()
	switch {
	case !eff.Enabled:
		reason := "no origin of " + ingressnginx.AllowOrigin + " passed its validation"
		if enabled, ok := eff.Setting(dataplanes.SettingEnabled); ok && enabled.Effective != trueValue {
			reason = ingressnginx.EnableCors + " is not true"
			if enabled.Present {
				reason = fmt.Sprintf("%s is %q", ingressnginx.EnableCors, enabled.Written)
			}
		}
		mi.skipped = "ingress-nginx sent no CORS header for it (" + reason + "), so no CorsPolicy is needed"
		return
	case fromRoutes && len(refs) == 0:
		mi.skipped = "no rule generated from it can be programmed by kubecors (see the routes below), so no CorsPolicy was written"
		return
	case len(refs) > maxTargetRefs:
		mi.skipped = fmt.Sprintf("its rules are in %d targets and a CorsPolicy has at most %d, so no CorsPolicy was written and the routes keep "+
			"ingress2gateway's filters: name fewer rules (a whole route is one target), or split the Ingress", len(refs), maxTargetRefs)
		return
	case !fromRoutes:
		refs = []kubecorsv1alpha1.PolicyTargetReference{{Group: "networking.k8s.io", Kind: kubecorsv1alpha1.KindIngress, Name: mi.ingress.Name}}
	}
	s := &policySuggester{eff: eff, narrowWildcards: !opts.anyDepthWildcards, wildcardOptIn: opts.anyDepthWildcards}
	for _, setting := range eff.Settings {
		if setting.Source == dataplanes.SourceFallback || setting.Source == dataplanes.SourceNarrowed {
			s.note(fmt.Sprintf("%s %q: %s", setting.Key, setting.Written, setting.Note))
		}
	}
	spec := s.spec(mi.nginx, refs)
	if fromRoutes {
		// Taking over is for annotations: on a route kubecors never
		// replaces a CORS filter it did not write (the rule is reported
		// Conflicted), which is why the cleaned routes come with the policy.
		spec.TakeOverExistingConfiguration = false
		s.changes = slices.DeleteFunc(s.changes, func(c string) bool { return c == takeOverNote })
		s.note("apply the cleaned HTTPRoutes with this policy: kubecors never replaces a CORS filter it did not write, it reports the rule Conflicted")
	}
	mi.policy = &kubecorsv1alpha1.CorsPolicy{
		TypeMeta:   metav1TypeMeta(),
		ObjectMeta: metav1ObjectMeta(mi.ingress.Namespace, mi.ingress.Name+"-cors"),
		Spec:       spec,
	}
	mi.changes = s.changes
}

// clean removes ingress2gateway's copies from a route: only the CORS
// filter of each rule whose copy migrate replaced, nothing else.
func (r *migratedRoute) clean() {
	var remove []migratedRule
	for _, rule := range r.rules {
		// A copy whose Ingress got no policy is removed only when nginx
		// sent no CORS header at all: the route then answers as nginx did.
		if rule.outcome == ruleCopyRemoved && (rule.source.policy != nil || !rule.source.nginx.Effective().Enabled) {
			remove = append(remove, rule)
		}
	}
	if len(remove) == 0 {
		return
	}
	cleaned := r.route.DeepCopy()
	rules, _, _ := unstructured.NestedSlice(cleaned.Object, "spec", "rules")
	for _, rule := range remove {
		content, _ := rules[rule.index].(map[string]any)
		filters, _, _ := unstructured.NestedSlice(content, "filters")
		filters = slices.Delete(filters, rule.filterIndex, rule.filterIndex+1)
		if len(filters) == 0 {
			// ingress2gateway writes no filters key on a rule without
			// filters (omitempty): leave none.
			delete(content, "filters")
		} else {
			content["filters"] = filters
		}
		rules[rule.index] = content
	}
	if err := unstructured.SetNestedSlice(cleaned.Object, rules, "spec", "rules"); err != nil {
		// The rules were read from this very object.
		return
	}
	// What the API server wrote is not the user's to apply back; the
	// resourceVersion stays, so that applying fails if the route changed
	// since it was read.
	if md, ok := cleaned.Object["metadata"].(map[string]any); ok {
		for _, key := range []string{"managedFields", "uid", "creationTimestamp", "generation"} {
			delete(md, key)
		}
	}
	delete(cleaned.Object, "status")
	r.cleaned = cleaned
}
