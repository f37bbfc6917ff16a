package resolve

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// RouteReach is what a policy on a Gateway does with one HTTPRoute of its
// namespace attached to that Gateway.
type RouteReach struct {
	// Route is the attached route.
	Route *gatewayv1.HTTPRoute
	// OverriddenBy names the policy that targets the route itself: it
	// takes precedence over the Gateway's (Gateway API policy attachment:
	// the more specific policy wins). Empty when the Gateway's policy
	// governs the route.
	OverriddenBy string
	// NotAccepted says why the route is not served by the Gateway (its
	// status reports the parent as not Accepted); empty otherwise.
	NotAccepted string
	// OtherParents names the route's parents other than the targeted
	// Gateway (or listener): a filter written into the route reaches them
	// too.
	OtherParents []string
}

// attaches reports whether a parentRef of a route in namespace names the
// Gateway gw, and the listener when listener is not nil. A parentRef
// without sectionName attaches to every listener.
func attaches(ref gatewayv1.ParentReference, namespace string, gw types.NamespacedName, listener *string) bool {
	if (ref.Group != nil && *ref.Group != gatewayv1.GroupName) || (ref.Kind != nil && *ref.Kind != kubecorsv1alpha1.KindGateway) {
		return false
	}
	ns := namespace
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	if ns != gw.Namespace || string(ref.Name) != gw.Name {
		return false
	}
	return listener == nil || ref.SectionName == nil || string(*ref.SectionName) == *listener
}

// GatewayReach lists, sorted by name, the routes among routes (those of
// the Gateway's namespace, or any superset) that attach to the Gateway gw,
// or to its listener when listener is not nil, and what a policy on the
// Gateway does with each: governs it, or yields to a policy on the route
// itself. A route whose status says the Gateway did not accept it is
// listed with the reason; a route without status is taken as attached.
func (c Candidates) GatewayReach(gw types.NamespacedName, listener *string, routes []gatewayv1.HTTPRoute) []RouteReach {
	var reach []RouteReach
	for i := range routes {
		route := &routes[i]
		if route.Namespace != gw.Namespace || !slices.ContainsFunc(route.Spec.ParentRefs, func(ref gatewayv1.ParentReference) bool {
			return attaches(ref, route.Namespace, gw, listener)
		}) {
			continue
		}
		r := RouteReach{Route: route, NotAccepted: notAccepted(route, gw, listener)}
		if p := c.Governing(ObjectOf(kubecorsv1alpha1.KindHTTPRoute, route)); p != nil {
			r.OverriddenBy = p.Name
		}
		for _, ref := range route.Spec.ParentRefs {
			if !attaches(ref, route.Namespace, gw, listener) || (listener != nil && ref.SectionName == nil) {
				r.OtherParents = append(r.OtherParents, describeParentRef(ref, route.Namespace))
			}
		}
		reach = append(reach, r)
	}
	slices.SortFunc(reach, func(a, b RouteReach) int { return strings.Compare(a.Route.Name, b.Route.Name) })
	return reach
}

// notAccepted reads the route's status for the Gateway's parent entry and
// says why it is not accepted, or "".
func notAccepted(route *gatewayv1.HTTPRoute, gw types.NamespacedName, listener *string) string {
	for _, parent := range route.Status.Parents {
		if !attaches(parent.ParentRef, route.Namespace, gw, listener) {
			continue
		}
		if cond := meta.FindStatusCondition(parent.Conditions, string(gatewayv1.RouteConditionAccepted)); cond != nil && cond.Status == "False" {
			return fmt.Sprintf("Gateway %s does not accept it (%s: %s)", gw, cond.Reason, cond.Message)
		}
	}
	return ""
}

// describeParentRef names a parentRef for messages.
func describeParentRef(ref gatewayv1.ParentReference, namespace string) string {
	ns := namespace
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	s := fmt.Sprintf("%s %s/%s", parentKind(ref), ns, ref.Name)
	if ref.SectionName != nil {
		s += fmt.Sprintf(" (listener %q)", *ref.SectionName)
	} else if parentKind(ref) == kubecorsv1alpha1.KindGateway {
		s += " (every listener)"
	}
	return s
}

// GatewayGoverning returns the policy that governs a route through one of
// its parent Gateways in the route's namespace, when no policy targets the
// route itself: among the candidates targeting such a Gateway (with a
// listener the route attaches to, or the whole Gateway), the one the
// usual order picks; and the Gateway it targets. It returns nil when none
// does.
func (c Candidates) GatewayGoverning(route *gatewayv1.HTTPRoute) (*kubecorsv1alpha1.CorsPolicy, string) {
	if c.Governing(ObjectOf(kubecorsv1alpha1.KindHTTPRoute, route)) != nil {
		return nil, ""
	}
	var winner *kubecorsv1alpha1.CorsPolicy
	var via string
	for _, ref := range route.Spec.ParentRefs {
		gw := types.NamespacedName{Namespace: route.Namespace, Name: string(ref.Name)}
		if ref.Namespace != nil && string(*ref.Namespace) != route.Namespace {
			continue
		}
		p := c.Governing(Object{Kind: kubecorsv1alpha1.KindGateway, Name: gw.Name})
		if p == nil || !slices.ContainsFunc(p.Spec.TargetRefs, func(t kubecorsv1alpha1.PolicyTargetReference) bool {
			return t.Kind == kubecorsv1alpha1.KindGateway && t.Name == gw.Name && attaches(ref, route.Namespace, gw, t.SectionName)
		}) {
			continue
		}
		if winner == nil || precedes(p, winner) {
			winner, via = p, gw.String()
		}
	}
	return winner, via
}
