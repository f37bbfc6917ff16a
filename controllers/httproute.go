package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

const (
	// AnnotationFilters lists, on an HTTPRoute, the digests of the filters
	// kubecors inserted into its rules. spec.rules and rules[].filters are
	// atomic lists without names for filters, so the digest is how
	// kubecors finds its own filters again and tells them from the user's.
	AnnotationFilters = "kubecors.io/filters"

	// featureHTTPRouteCORS is the GatewayClass supported feature of
	// implementations that honour the standard CORS filter.
	featureHTTPRouteCORS = "HTTPRouteCORS"
)

// routeMechanism is how a route's CORS is expressed for its parents.
type routeMechanism int

const (
	// mechanismNone means no mechanism works for every parent.
	mechanismNone routeMechanism = iota
	// mechanismCORSFilter is the standard Gateway API CORS filter.
	mechanismCORSFilter
	// mechanismTraefikMiddleware is an ExtensionRef filter to a Traefik
	// Middleware.
	mechanismTraefikMiddleware
)

// routeParent is one parent Gateway of a route and what its class supports.
type routeParent struct {
	gateway    types.NamespacedName
	class      string
	controller string
	cors       bool
	problem    string
}

func (p routeParent) String() string {
	return fmt.Sprintf("Gateway %s (GatewayClass %q, controller %q)", p.gateway, p.class, p.controller)
}

// routeParents follows each parentRef of a route to its Gateway and
// GatewayClass.
func (r *CorsPolicyReconciler) routeParents(ctx context.Context, route *gatewayv1.HTTPRoute) ([]routeParent, error) {
	parents := make([]routeParent, 0, len(route.Spec.ParentRefs))
	for _, ref := range route.Spec.ParentRefs {
		p := routeParent{gateway: types.NamespacedName{Namespace: route.Namespace, Name: string(ref.Name)}}
		if ref.Namespace != nil {
			p.gateway.Namespace = string(*ref.Namespace)
		}
		if (ref.Group != nil && *ref.Group != gatewayv1.GroupName) || (ref.Kind != nil && *ref.Kind != "Gateway") {
			p.problem = fmt.Sprintf("parent %s %s is not a Gateway; kubecors only follows Gateway parents", parentKind(ref), p.gateway)
			parents = append(parents, p)
			continue
		}
		gw := &gatewayv1.Gateway{}
		if err := r.Get(ctx, p.gateway, gw); err != nil {
			if !apierrors.IsNotFound(err) {
				return nil, err
			}
			p.problem = fmt.Sprintf("parent Gateway %s does not exist", p.gateway)
			parents = append(parents, p)
			continue
		}
		p.class = string(gw.Spec.GatewayClassName)
		class := &gatewayv1.GatewayClass{}
		if err := r.Get(ctx, types.NamespacedName{Name: p.class}, class); err != nil {
			if !apierrors.IsNotFound(err) {
				return nil, err
			}
			p.problem = fmt.Sprintf("GatewayClass %q of parent Gateway %s does not exist", p.class, p.gateway)
			parents = append(parents, p)
			continue
		}
		p.controller = string(class.Spec.ControllerName)
		p.cors = slices.ContainsFunc(class.Status.SupportedFeatures, func(f gatewayv1.SupportedFeature) bool {
			return string(f.Name) == featureHTTPRouteCORS
		})
		parents = append(parents, p)
	}
	return parents, nil
}

// chooseMechanism picks the one mechanism every parent honours: the
// standard CORS filter when all classes support HTTPRouteCORS, else a
// Traefik Middleware when all parents are Traefik's. Filters apply to a
// rule for every parent at once, so a route whose parents disagree is not
// programmed, and the message names the parents that block it.
func chooseMechanism(parents []routeParent) (routeMechanism, string) {
	if len(parents) == 0 {
		return mechanismNone, "the HTTPRoute has no parentRefs, so no Gateway serves it"
	}
	var problems, noCORS, notTraefik []string
	for _, p := range parents {
		switch {
		case p.problem != "":
			problems = append(problems, p.problem)
		case !p.cors && p.controller != traefik.GatewayController:
			noCORS = append(noCORS, p.String())
			notTraefik = append(notTraefik, p.String())
		case !p.cors:
			noCORS = append(noCORS, p.String())
		case p.controller != traefik.GatewayController:
			notTraefik = append(notTraefik, p.String())
		}
	}
	switch {
	case len(problems) > 0:
		return mechanismNone, strings.Join(problems, "; ")
	case len(noCORS) == 0:
		return mechanismCORSFilter, ""
	case len(notTraefik) == 0:
		return mechanismTraefikMiddleware, ""
	}
	return mechanismNone, fmt.Sprintf("not programmed on any parent, because the route's filters apply to all of them and "+
		"%s does not support the HTTPRouteCORS feature (and is not Traefik, whose Middleware kubecors could use instead)",
		strings.Join(blocking(noCORS, notTraefik), " and "))
}

// blocking lists the parents that support neither mechanism, or else
// those without the standard filter.
func blocking(noCORS, notTraefik []string) []string {
	var both []string
	for _, p := range noCORS {
		if slices.Contains(notTraefik, p) {
			both = append(both, p)
		}
	}
	if len(both) > 0 {
		return both
	}
	return noCORS
}

// reconcileRoute programs an HTTPRoute: the standard CORS filter, or an
// ExtensionRef to a Traefik Middleware, in each targeted rule.
func (r *CorsPolicyReconciler) reconcileRoute(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy,
	ref kubecorsv1alpha1.PolicyTargetReference, route *gatewayv1.HTTPRoute) (targetResult, error) {
	res := targetResult{ref: ref}
	rules, missing := targetedRules(route, ref.SectionName)
	if missing != "" {
		res.reason, res.message = kubecorsv1alpha1.ReasonTargetNotFound, missing
		return res, nil
	}
	parents, err := r.routeParents(ctx, route)
	if err != nil {
		return res, err
	}
	controllers := make([]string, 0, len(parents))
	for _, p := range parents {
		if p.controller != "" && !slices.Contains(controllers, p.controller) {
			controllers = append(controllers, p.controller)
		}
	}
	res.controller = strings.Join(controllers, ",")
	mechanism, problem := chooseMechanism(parents)
	p := dataplanes.Policy{Namespace: policy.Namespace, Name: policy.Name, Spec: policy.Spec}
	var filter gatewayv1.HTTPRouteFilter
	var narrowed []dataplanes.Narrowing
	switch mechanism {
	case mechanismNone:
		res.reason, res.message = kubecorsv1alpha1.ReasonUnsupportedDataPlane, problem
		return res, nil
	case mechanismCORSFilter:
		res.dataPlane = gatewayapi.Name
		cfg := gatewayapi.RenderHTTPRouteCORS(p)
		f, ok := cfg.RouteFilter()
		if !ok {
			res.reason, res.message = kubecorsv1alpha1.ReasonRefused, cfg.Refused
			return res, nil
		}
		filter, narrowed = f, cfg.Narrowed
	case mechanismTraefikMiddleware:
		res.dataPlane = traefik.Name
		cfg := traefik.RenderHTTPRouteMiddleware(p, route.Namespace)
		if err := r.applyOwnedObject(ctx, policy, cfg.Middleware); err != nil {
			return res, err
		}
		filter, narrowed = cfg.RouteFilter(), cfg.Narrowed
	}
	err = r.setRouteFilters(ctx, policy, route, rules, &filter)
	var conflict *conflictError
	switch {
	case errors.As(err, &conflict):
		res.reason, res.message = kubecorsv1alpha1.ReasonConflicted, conflict.message
		return res, nil
	case err != nil:
		return res, err
	}
	res.reason = kubecorsv1alpha1.ReasonProgrammed
	res.message = programmedMessage(res.dataPlane, narrowed) + " in " + describeRules(route, rules) + " for " + describeParents(parents)
	return res, nil
}

// targetedRules returns the indexes of the rules a reference targets: the
// rule named sectionName, or every rule.
func targetedRules(route *gatewayv1.HTTPRoute, sectionName *string) ([]int, string) {
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

func describeRules(route *gatewayv1.HTTPRoute, rules []int) string {
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

func describeParents(parents []routeParent) string {
	names := make([]string, 0, len(parents))
	for _, p := range parents {
		names = append(names, p.String())
	}
	return strings.Join(names, ", ")
}

// filterDigest identifies a filter kubecors wrote by its content.
func filterDigest(f gatewayv1.HTTPRouteFilter) string {
	raw, _ := json.Marshal(f)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8])
}

// ownedFilter reports whether a filter of a route is one kubecors wrote.
func ownedFilter(route *gatewayv1.HTTPRoute, f gatewayv1.HTTPRouteFilter) bool {
	return slices.Contains(splitList(route.Annotations[AnnotationFilters]), filterDigest(f))
}

// setRouteFilters makes kubecors's filter the one in each rule of rules
// and removes it from every other rule, leaving every user filter, rule and
// their order intact. spec.rules is an atomic list, which server-side
// apply would take over whole, so the route is patched under a
// resourceVersion precondition and retried on conflict. A rule that
// already has a CORS filter the user wrote is a conflict: nothing is
// written. A nil filter removes kubecors's filters everywhere.
func (r *CorsPolicyReconciler) setRouteFilters(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy,
	route *gatewayv1.HTTPRoute, rules []int, filter *gatewayv1.HTTPRouteFilter) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		current := &gatewayv1.HTTPRoute{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(route), current); err != nil {
			return client.IgnoreNotFound(err)
		}
		next := current.DeepCopy()
		var conflicts []string
		for i := range next.Spec.Rules {
			filters := slices.DeleteFunc(next.Spec.Rules[i].Filters, func(f gatewayv1.HTTPRouteFilter) bool { return ownedFilter(current, f) })
			if filter != nil && slices.Contains(rules, i) {
				if slices.ContainsFunc(filters, func(f gatewayv1.HTTPRouteFilter) bool { return f.Type == gatewayv1.HTTPRouteFilterCORS }) {
					conflicts = append(conflicts, describeRules(current, []int{i}))
				}
				filters = append(filters, *filter)
			}
			next.Spec.Rules[i].Filters = filters
		}
		if len(conflicts) > 0 {
			return &conflictError{message: fmt.Sprintf("%s of HTTPRoute %q already has a CORS filter that kubecors did not write; "+
				"kubecors leaves it alone: remove that filter to let the policy program the rule", strings.Join(conflicts, ", "), current.Name)}
		}
		setRouteMarkers(next, policy, filter)
		if equalJSON(current.Spec.Rules, next.Spec.Rules) && equalJSON(current.Annotations, next.Annotations) {
			return nil
		}
		return r.Patch(ctx, next, client.MergeFromWithOptions(current, client.MergeFromWithOptimisticLock{}), client.FieldOwner(FieldManager))
	})
}

// setRouteMarkers records on the route which policy wrote which filter, or
// removes the records when kubecors's filters are gone.
func setRouteMarkers(route *gatewayv1.HTTPRoute, policy *kubecorsv1alpha1.CorsPolicy, filter *gatewayv1.HTTPRouteFilter) {
	if filter == nil {
		delete(route.Annotations, AnnotationPolicy)
		delete(route.Annotations, AnnotationFilters)
		return
	}
	if route.Annotations == nil {
		route.Annotations = map[string]string{}
	}
	route.Annotations[AnnotationPolicy] = policy.Name
	route.Annotations[AnnotationFilters] = filterDigest(*filter)
}

// cleanupRoutes removes the policy's filters from every HTTPRoute that
// carries them but is not in keep.
func (r *CorsPolicyReconciler) cleanupRoutes(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, keep map[string]bool) error {
	if !r.gatewayAPIEnabled() {
		return nil
	}
	routes := &gatewayv1.HTTPRouteList{}
	if err := r.List(ctx, routes, client.InNamespace(policy.Namespace), client.MatchingFields{IndexPolicyMarker: policy.Name}); err != nil {
		return err
	}
	for i := range routes.Items {
		route := &routes.Items[i]
		if keep[targetIndexKey(kubecorsv1alpha1.KindHTTPRoute, route.Name)] {
			continue
		}
		if err := r.setRouteFilters(ctx, policy, route, nil, nil); err != nil {
			return err
		}
		r.Recorder.Eventf(policy, route, "Normal", "CleanedUp", "Cleanup",
			"removed the CORS filters kubecors wrote on HTTPRoute %q", route.Name)
	}
	return nil
}

// parentKind is the kind a parentRef names, Gateway when it names none.
func parentKind(ref gatewayv1.ParentReference) string {
	if ref.Kind == nil {
		return "Gateway"
	}
	return string(*ref.Kind)
}
