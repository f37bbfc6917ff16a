package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/plan"
	"github.com/kubecors/kubecors/internal/resolve"
)

// Where a target answer comes from.
const (
	// sourceStatus: the governing policy's status lists the target.
	sourceStatus = "status"
	// sourceComputed: the status does not list it (a policy over more
	// targets than the status lists); the answer is what the controller's
	// own plan decides for it from the objects now in the cluster.
	sourceComputed = "computed"
)

// targetAnswer is status for one target.
type targetAnswer struct {
	Target string `json:"target"`
	// Policy is the governing CorsPolicy, as the controller decides it.
	Policy string `json:"policy,omitempty"`
	// Competing lists the other policies that target it.
	Competing  []string `json:"competing,omitempty"`
	Source     string   `json:"source,omitempty"`
	DataPlane  string   `json:"dataPlane,omitempty"`
	Controller string   `json:"controllerName,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	Message    string   `json:"message,omitempty"`
	// Via names the Gateway through which the policy governs an HTTPRoute
	// that no policy names itself.
	Via string `json:"via,omitempty"`
	// Written reports whether the target carries the governing policy's
	// marker annotation, that is, kubecors wrote its configuration there.
	Written bool `json:"written"`
}

// gateway API kinds read for a route's parents.
var (
	gatewayListGVK      = schema.GroupVersionKind{Group: gatewayapi.Group, Version: gatewayapi.Version, Kind: "GatewayList"}
	gatewayGVK          = schema.GroupVersionKind{Group: gatewayapi.Group, Version: gatewayapi.Version, Kind: kubecorsv1alpha1.KindGateway}
	gatewayClassListGVK = schema.GroupVersionKind{Group: gatewayapi.Group, Version: gatewayapi.Version, Kind: "GatewayClassList"}
)

// runTarget answers for one target, whether or not its policy's status
// lists it: from the status when it does, else from the controller's own
// plan (internal/plan) over the objects in the cluster. The operator's
// --data-plane-mapping flags are not visible from here; a policy's
// dataPlaneMappings are.
func (o *statusOptions) runTarget(ctx context.Context, session *clusterSession, arg string) error {
	kind, name, ok := strings.Cut(arg, "/")
	if !ok || name == "" {
		return usageError(fmt.Errorf("--target %q is not KIND/NAME: write ingress/NAME, httproute/NAME, gateway/NAME, virtualservice/NAME or httpproxy/NAME", arg))
	}
	ns := session.namespace
	snap := plan.Snapshot{}
	var obj client.Object
	switch strings.ToLower(kind) {
	case "ingress", "ingresses", "ing":
		ing := &networkingv1.Ingress{}
		if err := session.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ing); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cannot read Ingress %s: %w", objectRef(ns, name), err)}
		}
		classes := &networkingv1.IngressClassList{}
		if err := session.client.List(ctx, classes); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cannot list IngressClasses: %w", err)}
		}
		snap.Ingresses, snap.IngressClasses, obj = []networkingv1.Ingress{*ing}, classes.Items, ing
		kind = kubecorsv1alpha1.KindIngress
	case "httproute", "httproutes":
		route := &gatewayv1.HTTPRoute{}
		if err := session.getAs(ctx, httpRouteGVK, client.ObjectKey{Namespace: ns, Name: name}, route); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cannot read HTTPRoute %s: %w", objectRef(ns, name), err)}
		}
		gateways, err := listAs[gatewayv1.Gateway](ctx, session, gatewayListGVK, "")
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cannot list Gateways: %w", err)}
		}
		classes, err := listAs[gatewayv1.GatewayClass](ctx, session, gatewayClassListGVK, "")
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cannot list GatewayClasses: %w", err)}
		}
		snap.GatewayAPI, snap.HTTPRoutes, snap.Gateways, snap.GatewayClasses, obj = true, []gatewayv1.HTTPRoute{*route}, gateways, classes, route
		kind = kubecorsv1alpha1.KindHTTPRoute
	case "gateway", "gateways", "gtw":
		gw := &gatewayv1.Gateway{}
		if err := session.getAs(ctx, gatewayGVK, client.ObjectKey{Namespace: ns, Name: name}, gw); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cannot read Gateway %s: %w", objectRef(ns, name), err)}
		}
		routes, err := listAs[gatewayv1.HTTPRoute](ctx, session, httpRouteListGVK, ns)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cannot list HTTPRoutes: %w", err)}
		}
		gateways, err := listAs[gatewayv1.Gateway](ctx, session, gatewayListGVK, "")
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cannot list Gateways: %w", err)}
		}
		classes, err := listAs[gatewayv1.GatewayClass](ctx, session, gatewayClassListGVK, "")
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cannot list GatewayClasses: %w", err)}
		}
		snap.GatewayAPI, snap.AttachedRoutes, snap.Gateways, snap.GatewayClasses, obj = true, routes, gateways, classes, gw
		kind = kubecorsv1alpha1.KindGateway
	default:
		dp, ok := targetKindNamed(kind)
		if !ok {
			return usageError(fmt.Errorf("--target names a %s: write ingress/NAME, httproute/NAME, gateway/NAME, virtualservice/NAME or httpproxy/NAME", kind))
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(dp.Target.GVK)
		if err := session.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cannot read %s %s: %w", dp.Target.Kind(), objectRef(ns, name), err)}
		}
		kind = dp.Target.Kind()
		snap.Objects, snap.ServedKinds, obj = map[string][]unstructured.Unstructured{kind: {*u}}, map[string]bool{kind: true}, u
	}
	policies, err := session.policies(ctx, ns)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if snap.ClusterPolicies, err = session.clusterPolicies(ctx, ns); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	snap.Policies = policies
	answer := answerFor(snap, resolve.ObjectOf(kind, obj), obj.GetAnnotations())
	answer.Target = kind + " " + objectRef(ns, name)
	if err := printTargetAnswer(o.streams.Out, o.output, answer); err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("writing the report: %w", err)}
	}
	return nil
}

// answerFor decides what governs the one target in snap and what the
// controller did or will do for it.
func answerFor(snap plan.Snapshot, obj resolve.Object, annotations map[string]string) targetAnswer {
	candidates := resolve.NewCandidates(snap.Policies, snap.ClusterPolicies)
	var answer targetAnswer
	governing := candidates.Governing(obj)
	for _, name := range candidates.Competitors(obj) {
		if governing == nil || name != governing.Name {
			answer.Competing = append(answer.Competing, name)
		}
	}
	// A route no policy names may be governed through its Gateway: the
	// answer is then the Gateway target's, in the governing policy.
	if governing == nil && obj.Kind == kubecorsv1alpha1.KindHTTPRoute && len(snap.HTTPRoutes) == 1 {
		if p, via := candidates.GatewayGoverning(&snap.HTTPRoutes[0]); p != nil {
			governing, answer.Via = p, "Gateway "+via
			_, gateway, _ := strings.Cut(via, "/")
			obj = resolve.Object{Kind: kubecorsv1alpha1.KindGateway, Name: gateway}
			snap.AttachedRoutes = snap.HTTPRoutes
		}
	}
	if governing == nil {
		answer.Reason = "NotTargeted"
		answer.Message = "no accepted CorsPolicy of the namespace names or selects it"
		return answer
	}
	answer.Policy = objectRef(governing.Namespace, governing.Name)
	answer.Written = annotations[policyAnnotation] == governing.Name
	for _, ts := range governing.Status.Targets {
		if ts.TargetRef.Kind != obj.Kind || ts.TargetRef.Name != obj.Name {
			continue
		}
		answer.Source, answer.DataPlane, answer.Controller, answer.Message = sourceStatus, ts.DataPlane, ts.ControllerName, ts.Message
		if c := meta.FindStatusCondition(ts.Conditions, kubecorsv1alpha1.ConditionProgrammed); c != nil {
			answer.Reason = c.Reason
		}
		return answer
	}
	renderers, err := registry.NewRegistry(nil)
	if err != nil {
		answer.Message = err.Error()
		return answer
	}
	snap.Policy = governing
	for _, t := range plan.Compute(snap, renderers).Targets {
		if t.Result.Ref.Kind == obj.Kind && t.Result.Ref.Name == obj.Name {
			r := t.Result
			answer.Source, answer.DataPlane, answer.Controller, answer.Reason, answer.Message = sourceComputed, r.DataPlane, r.Controller, r.Reason, r.Message
			return answer
		}
	}
	answer.Source, answer.Message = sourceComputed, "the governing policy's plan does not list the target: "+corsrules.TargetKey(kubecorsv1alpha1.PolicyTargetReference{Kind: obj.Kind, Name: obj.Name})
	return answer
}

// printTargetAnswer prints one target's answer.
func printTargetAnswer(w io.Writer, format string, a targetAnswer) error {
	switch format {
	case outputJSON:
		return writeJSON(w, a)
	case outputYAML:
		return writeYAML(w, a)
	}
	p := &textPrinter{w: w}
	p.field("Target", a.Target)
	if a.Policy == "" {
		p.field("Policy", "none: "+a.Message)
		return p.err
	}
	p.field("Policy", "CorsPolicy "+a.Policy)
	if a.Via != "" {
		p.field("Through", a.Via+" (no policy names the route itself)")
	}
	if len(a.Competing) > 0 {
		p.field("Competing", strings.Join(a.Competing, ", ")+" (the governing policy wins: namespace policies before ClusterCorsPolicy defaults, then the oldest)")
	}
	from := "the policy's status"
	if a.Source == sourceComputed {
		from = "computed as the controller decides (the policy's status lists only part of its targets)"
	}
	p.field("Programmed", fmt.Sprintf("%s, %s", a.Reason, from))
	if a.DataPlane != "" {
		p.field("Data plane", a.DataPlane)
	}
	if a.Controller != "" {
		p.field("Controller", a.Controller)
	}
	written := "no: kubecors has not written this policy's configuration on the target"
	if a.Written {
		written = "yes (" + policyAnnotation + ")"
	}
	p.field("On the target", written)
	if a.Message != "" {
		p.field("Message", a.Message)
	}
	return p.err
}
