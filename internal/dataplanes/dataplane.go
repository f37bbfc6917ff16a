package dataplanes

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubecors/kubecors/internal/corscheck"
)

// DataPlane is everything the rest of kubecors knows about one data plane,
// as its own folder states it: package registry lists one per data plane,
// and the operator, the admission webhook and kubectl cors take every name,
// controller name and annotation key from there, never from a copy.
type DataPlane struct {
	// Name is the data plane's name as status, flags and kubectl cors print
	// it, and as a policy's spec.dataPlaneMappings[].dataPlane names it.
	Name string
	// Description says in a few words how the data plane is told about
	// CORS, for flag help and the README.
	Description string
	// IngressControllers are the IngressClass spec.controller values of the
	// data plane's own Ingress controller; empty when it serves no Ingress.
	IngressControllers []string
	// GatewayControllers are GatewayClass spec.controllerName values this
	// data plane programs HTTPRoutes for without the standard CORS filter
	// (Traefik's Middleware through an ExtensionRef); empty for most.
	GatewayControllers []string
	// Ingress renders a policy for one Ingress; nil when the data plane
	// serves no Ingress. Policies may name it in dataPlaneMappings only
	// when it is set.
	Ingress IngressRenderer
	// RenderRoute renders a policy for the targeted rules of an HTTPRoute
	// in namespace: the filter each rule gets (the standard CORS filter, or
	// an ExtensionRef to the data plane's own object, which it returns
	// too); nil when the data plane programs no HTTPRoute.
	RenderRoute func(p Policy, namespace string) RouteConfig
	// RenderAttached renders a policy as an object of the data plane's own
	// that attaches itself to a Gateway or an HTTPRoute through its own
	// targetRefs (Envoy Gateway's SecurityPolicy): kubecors then writes
	// nothing into the target, and the controller owns the object and
	// deletes it when the target no longer wants it. The returned
	// RouteConfig has Object set and Filter unset. nil for most.
	RenderAttached func(p Policy, t AttachTarget) RouteConfig
	// AttachedKind is the kind of the objects RenderAttached returns, which
	// the controller lists to delete those no target wants any more.
	AttachedKind schema.GroupVersionKind
	// ReadIngress reads back an IngressConfig that Ingress rendered (its
	// annotations, or its objects and middleware references) the way the
	// data plane reads it; nil when Ingress is. It fails when the data plane
	// would not load the configuration at all.
	ReadIngress func(c IngressConfig) (Model, error)
	// Rendered renders a policy for a target as kubecors writes it and
	// reads the result back the way the data plane reads it: what a
	// browser meets once kubecors has programmed the target. A refused
	// policy gives NoCORS and the refusal. It is what kubectl cors explain
	// shows for a policy, and the never-broaden tests' oracle.
	Rendered func(p Policy, t IngressTarget) (m Model, narrowed []Narrowing, refused string, err error)
	// SharedList is the annotation list, shared with users, that the data
	// plane's Ingress configuration adds entries to; nil when it has none.
	SharedList *SharedList
	// AnnotationKeys are the Ingress annotation keys the data plane reads
	// its CORS configuration from: they tell a guess at the data plane of
	// an Ingress whose class says nothing, and which annotations have no
	// effect on another data plane.
	AnnotationKeys []string
	// ReadAnnotations reads an Ingress's annotations the way the data plane
	// does (its defaults and silent fall-backs included); nil when its
	// configuration lives in other objects (Traefik's Middlewares).
	ReadAnnotations func(annotations map[string]string) Model
	// ObjectsKind is the list kind of the objects an Ingress's
	// configuration lives in on this data plane (Traefik's MiddlewareList),
	// which kubectl cors reads from the cluster; empty when the
	// annotations say it all.
	ObjectsKind schema.GroupVersionKind
	// ReadIngressObjects reads an Ingress's configuration from its
	// annotations and the objects of ObjectsKind, the way the data plane
	// does; it returns notes on what it could not read and the fixer for
	// kubectl cors explain. nil when ReadAnnotations serves.
	ReadIngressObjects func(ingress string, annotations map[string]string, objects []unstructured.Unstructured) (Model, []string, Fixer, error)
	// NewAnnotationFixer returns the fixer for an Ingress configured by
	// these annotations, for kubectl cors explain; nil when ReadAnnotations
	// is.
	NewAnnotationFixer func(ingress string, effective Effective) Fixer
	// Check renders a policy for this data plane without a target and says
	// what it would refuse (the whole policy) and narrow (parts of it):
	// what admission warns about, or refuses when every data plane refuses.
	Check func(p Policy) (refused string, narrowed []Narrowing)
	// VaryUnknown is true when the data plane's reader cannot tell whether
	// Vary: Origin is sent (Gateway API leaves it to the implementation),
	// so that kubectl cors audit does not report its absence.
	VaryUnknown bool
	// SubdomainWildcardNote says what a hand-written "*." origin means on
	// this data plane when that differs from a CorsPolicy's "*.", for
	// kubectl cors audit --suggest; empty when it means the same.
	SubdomainWildcardNote string
	// Target, when set, is the data plane's own kind of target object (an
	// Istio VirtualService, a Contour HTTPProxy), which holds its CORS
	// configuration in its spec; nil for data planes that serve Ingresses
	// and HTTPRoutes only.
	Target *TargetKind
	// RBAC lists the API access the operator needs for this data plane, as
	// "verbs on group/resource", for the README's RBAC table; the
	// kubebuilder markers that grant it live in the data plane's folder.
	RBAC []string
}

// AttachTarget is the Gateway API object a data plane's own policy object
// attaches to (DataPlane.RenderAttached).
type AttachTarget struct {
	// Namespace, Kind ("Gateway" or "HTTPRoute") and Name identify it.
	Namespace, Kind, Name string
	// SectionName is a Gateway's listener or an HTTPRoute's rule; nil for
	// the whole object.
	SectionName *string
}

// RouteConfig is the desired configuration of the targeted rules of one
// HTTPRoute.
type RouteConfig struct {
	// Filter is the filter each targeted rule gets; unset when Refused.
	Filter gatewayv1.HTTPRouteFilter
	// Object, when set, is the object Filter refers to (a Traefik
	// Middleware), in the route's namespace; the controller makes the
	// policy its owner.
	Object *unstructured.Unstructured
	// Narrowed lists what the data plane could not express.
	Narrowed []Narrowing
	// Refused, when not empty, says why nothing can be written at all.
	Refused string
}

// Fixer writes a corscheck change as an edit of a target's hand-written
// configuration, for kubectl cors explain.
type Fixer interface {
	// Edit writes the change as an edit of the configuration, and false
	// when it has no such form.
	Edit(c corscheck.Change, d *corscheck.Diagnosis, req corscheck.Request) (string, bool)
	// CredentialsOff says how to turn credentials off explicitly.
	CredentialsOff() string
}

// RenderedIngress is DataPlane.Rendered for the data planes that serve
// Ingresses: render with Ingress, read back with ReadIngress.
func RenderedIngress(render IngressRenderer, read func(IngressConfig) (Model, error)) func(Policy, IngressTarget) (Model, []Narrowing, string, error) {
	return func(p Policy, t IngressTarget) (Model, []Narrowing, string, error) {
		c := render.RenderIngress(p, t)
		if c.Refused != "" {
			return NoCORS(render.Name(), "kubecors writes nothing: "+c.Refused), nil, c.Refused, nil
		}
		m, err := read(c)
		return m, c.Narrowed, "", err
	}
}
