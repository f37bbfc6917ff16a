package plan

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/resolve"
)

// precedenceNote says why a route's own policy wins over its Gateway's.
const precedenceNote = "a policy on the route itself takes precedence over one on its Gateway"

// decideGateway programs a Gateway target: one object of the data plane's
// own attached to the Gateway where its class has one (Envoy Gateway's
// SecurityPolicy), else each HTTPRoute of the namespace attached to it,
// one by one, as if the policy named it, except routes a policy names
// itself.
func decideGateway(s Snapshot, candidates resolve.Candidates, res Result, gw *gatewayv1.Gateway) Target {
	where := fmt.Sprintf("Gateway %q", gw.Name)
	if res.Ref.SectionName != nil {
		where = fmt.Sprintf("listener %q of Gateway %q", *res.Ref.SectionName, gw.Name)
		if !slices.ContainsFunc(gw.Spec.Listeners, func(l gatewayv1.Listener) bool { return string(l.Name) == *res.Ref.SectionName }) {
			res.Reason = kubecorsv1alpha1.ReasonTargetNotFound
			res.Message = fmt.Sprintf("Gateway %q has no listener named %q; it is programmed as soon as it has one", gw.Name, *res.Ref.SectionName)
			return Target{Result: res}
		}
	}
	ci := slices.IndexFunc(s.GatewayClasses, func(c gatewayv1.GatewayClass) bool { return c.Name == string(gw.Spec.GatewayClassName) })
	if ci < 0 {
		res.Reason = kubecorsv1alpha1.ReasonUnsupportedDataPlane
		res.Message = fmt.Sprintf("GatewayClass %q of Gateway %q does not exist", gw.Spec.GatewayClassName, gw.Name)
		return Target{Result: res}
	}
	res.Controller = string(s.GatewayClasses[ci].Spec.ControllerName)
	reach := candidates.GatewayReach(types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}, res.Ref.SectionName, s.AttachedRoutes)
	if dp, ok := registry.ForGateway(res.Controller); ok {
		return decideAttachedGateway(s, res, gw, dp, where, reach)
	}
	return decideGatewayRoutes(s, res, where, reach)
}

// decideAttachedGateway writes one object attached to the Gateway (or
// listener); the data plane itself applies it to every route, and gives a
// route's own configuration precedence, as Gateway API policy attachment
// says.
func decideAttachedGateway(s Snapshot, res Result, gw *gatewayv1.Gateway, dp dataplanes.DataPlane, where string, reach []resolve.RouteReach) Target {
	res.DataPlane = dp.Name
	cfg := dp.RenderAttached(renderPolicy(s.Policy), dataplanes.AttachTarget{
		Namespace: gw.Namespace, Kind: kubecorsv1alpha1.KindGateway, Name: gw.Name, SectionName: res.Ref.SectionName})
	if cfg.Refused != "" {
		res.Reason, res.Message = kubecorsv1alpha1.ReasonRefused, cfg.Refused
		return Target{Result: res}
	}
	var reached, overridden []string
	for _, r := range reach {
		switch {
		case r.OverriddenBy != "":
			overridden = append(overridden, fmt.Sprintf("HTTPRoute %q (overridden by CorsPolicy %q)", r.Route.Name, r.OverriddenBy))
		case r.NotAccepted != "":
			overridden = append(overridden, fmt.Sprintf("HTTPRoute %q (%s)", r.Route.Name, r.NotAccepted))
		default:
			reached = append(reached, fmt.Sprintf("HTTPRoute %q", r.Route.Name))
		}
	}
	res.Reason = kubecorsv1alpha1.ReasonProgrammed
	res.Message = fmt.Sprintf("%s as %s %s attached to %s, which applies it to every route attached there; routes of namespace %s reached: %s",
		programmedMessage(dp.Name, cfg.Narrowed), cfg.Object.GetKind(), cfg.Object.GetName(), where, gw.Namespace, listOrNone(reached))
	if len(overridden) > 0 {
		res.Message += "; not reached: " + strings.Join(overridden, ", ") + " (" + precedenceNote + ", and " + dp.Name + " gives a route's own CORS configuration precedence over its Gateway's)"
	}
	res.Narrowed = len(cfg.Narrowed) > 0
	return Target{Result: res, Attached: cfg.Object}
}

// decideGatewayRoutes programs each route the Gateway reaches as a route
// target of the policy would be: every rule gets the route's data plane's
// filter.
func decideGatewayRoutes(s Snapshot, res Result, where string, reach []resolve.RouteReach) Target {
	var writes []*RouteWrite
	var reached, skipped []string
	var narrowed []dataplanes.Narrowing
	planes := map[string]bool{}
	for _, r := range reach {
		route := r.Route
		name := fmt.Sprintf("HTTPRoute %q", route.Name)
		switch {
		case r.OverriddenBy != "":
			skipped = append(skipped, fmt.Sprintf("%s (overridden by CorsPolicy %q: %s)", name, r.OverriddenBy, precedenceNote))
			continue
		case r.NotAccepted != "":
			skipped = append(skipped, fmt.Sprintf("%s (%s)", name, r.NotAccepted))
			continue
		case len(r.OtherParents) > 0:
			skipped = append(skipped, fmt.Sprintf("%s (also attached to %s, which a filter in the route would reach too: target the route itself)",
				name, strings.Join(r.OtherParents, ", ")))
			continue
		}
		dp, problem, ok := resolve.RouteDataPlane(resolve.RouteParents(route, s.Gateways, s.GatewayClasses))
		if !ok || dp.RenderRoute == nil {
			skipped = append(skipped, fmt.Sprintf("%s (%s)", name, problem))
			continue
		}
		cfg := dp.RenderRoute(renderPolicy(s.Policy), route.Namespace)
		if cfg.Refused != "" {
			skipped = append(skipped, fmt.Sprintf("%s (refused: %s)", name, cfg.Refused))
			continue
		}
		rules := make([]int, len(route.Spec.Rules))
		for i := range rules {
			rules[i] = i
		}
		writes = append(writes, &RouteWrite{Route: route, Rules: rules, Filter: cfg.Filter, Middleware: cfg.Object})
		reached = append(reached, name)
		narrowed = append(narrowed, cfg.Narrowed...)
		planes[dp.Name] = true
		res.DataPlane = dp.Name
	}
	if len(planes) > 1 {
		res.DataPlane = ""
	}
	if len(writes) == 0 && len(skipped) > 0 {
		res.Reason = kubecorsv1alpha1.ReasonUnsupportedDataPlane
		res.Message = fmt.Sprintf("no HTTPRoute attached to %s could be programmed: %s", where, strings.Join(skipped, "; "))
		return Target{Result: res}
	}
	res.Reason = kubecorsv1alpha1.ReasonProgrammed
	res.Narrowed = len(narrowed) > 0
	dataPlane := res.DataPlane
	if dataPlane == "" {
		dataPlane = "the routes' data planes"
	}
	res.Message = fmt.Sprintf("%s in every rule of the HTTPRoutes of namespace %s attached to %s: %s", programmedMessage(dataPlane, dedupe(narrowed)),
		s.Policy.Namespace, where, listOrNone(reached))
	if len(reached) == 0 {
		res.Message = fmt.Sprintf("no HTTPRoute of namespace %s is attached to %s yet; routes that attach later are programmed", s.Policy.Namespace, where)
	}
	if len(skipped) > 0 {
		res.Message += "; not reached: " + strings.Join(skipped, "; ")
	}
	return Target{Result: res, Routes: writes}
}

// listOrNone joins names, or says there are none.
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none yet (routes that attach later are followed)"
	}
	return strings.Join(names, ", ")
}

// dedupe keeps the first of equal narrowings: every route of one data
// plane narrows the policy alike.
func dedupe(narrowed []dataplanes.Narrowing) []dataplanes.Narrowing {
	var out []dataplanes.Narrowing
	for _, n := range narrowed {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
