// Package resolve answers, for the controller and every kubectl cors
// command alike, the two questions whose answers must never differ between
// them: which policy governs a target, and through which data plane. It is
// pure: callers fetch the objects (from the manager's cache, or from the
// cluster for the CLI) and pass them in, so both paths run the same code
// on the same facts.
package resolve

import (
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/clusterpolicy"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
)

// LabelDefaultOf marks a CorsPolicy that kubecors keeps for a
// ClusterCorsPolicy's defaultPolicy; its value is the ClusterCorsPolicy's
// name.
const LabelDefaultOf = "kubecors.io/default-of"

// IsDefault reports whether a policy is a ClusterCorsPolicy's default.
func IsDefault(p *kubecorsv1alpha1.CorsPolicy) bool {
	_, ok := p.Labels[LabelDefaultOf]
	return ok
}

// Object is what resolution needs to know of a target: its kind
// (kubecorsv1alpha1.KindIngress or KindHTTPRoute), name and labels. The
// namespace is the policies' own: a policy only targets objects of its
// namespace, and callers pass the policies of the target's namespace.
type Object struct {
	Kind, Name string
	Labels     map[string]string
}

// ObjectOf describes a target object of the given kind.
func ObjectOf(kind string, obj metav1.Object) Object {
	return Object{Kind: kind, Name: obj.GetName(), Labels: obj.GetLabels()}
}

// Targets reports whether a policy names the object in targetRefs or
// selects it with targetSelector.
func Targets(p *kubecorsv1alpha1.CorsPolicy, obj Object) bool {
	if slices.ContainsFunc(p.Spec.TargetRefs, func(ref kubecorsv1alpha1.PolicyTargetReference) bool {
		return ref.Kind == obj.Kind && ref.Name == obj.Name
	}) {
		return true
	}
	// A label selector selects Ingresses and HTTPRoutes; a Gateway is
	// only ever named.
	return obj.Kind != kubecorsv1alpha1.KindGateway && Selects(p, obj)
}

// Selects reports whether a policy's targetSelector matches the object.
func Selects(p *kubecorsv1alpha1.CorsPolicy, obj Object) bool {
	if p.Spec.TargetSelector == nil {
		return false
	}
	selector, err := metav1.LabelSelectorAsSelector(p.Spec.TargetSelector)
	return err == nil && selector.Matches(labels.Set(obj.Labels))
}

// Candidates are the policies that may govern targets of one namespace:
// those that are valid and not being deleted. Build them once per set of
// policies with NewCandidates; asking about many targets is then cheap.
type Candidates struct {
	eligible []*kubecorsv1alpha1.CorsPolicy
}

// NewCandidates keeps, of the policies of a namespace (or any superset of
// those that target an object), those that may govern a target: valid,
// allowed by every Enforce-mode ClusterCorsPolicy among clusterPolicies
// (those selecting the namespace), and not being deleted. A policy that is
// not programmed anywhere therefore never keeps a target from the next
// one in line.
func NewCandidates(policies []kubecorsv1alpha1.CorsPolicy, clusterPolicies []kubecorsv1alpha1.ClusterCorsPolicy) Candidates {
	var c Candidates
	for i := range policies {
		p := &policies[i]
		if !p.DeletionTimestamp.IsZero() {
			continue
		}
		if errs, _ := corsrules.ValidateCorsPolicy(p); len(errs) > 0 {
			continue
		}
		if slices.ContainsFunc(clusterpolicy.Evaluate(clusterPolicies, &p.Spec), clusterpolicy.Finding.Enforced) {
			continue
		}
		c.eligible = append(c.eligible, p)
	}
	return c
}

// Governing returns the policy that configures the object: among the
// candidates that target it, a namespace's own policies before the
// defaults of ClusterCorsPolicies, then the oldest (creation time, then
// name). The order never depends on which policy is looked at first, so
// two policies cannot take turns. It returns nil when no candidate
// targets the object.
func (c Candidates) Governing(obj Object) *kubecorsv1alpha1.CorsPolicy {
	var winner *kubecorsv1alpha1.CorsPolicy
	for _, p := range c.eligible {
		if Targets(p, obj) && (winner == nil || precedes(p, winner)) {
			winner = p
		}
	}
	return winner
}

// precedes orders competing policies: namespace policies before
// ClusterCorsPolicy defaults, then oldest first, then by name.
func precedes(a, b *kubecorsv1alpha1.CorsPolicy) bool {
	if da, db := IsDefault(a), IsDefault(b); da != db {
		return db
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// Arbitration is what one policy learns about one of its targets from its
// competitors.
type Arbitration struct {
	// Governing is the policy that configures the target; nil when none
	// qualifies (the policy itself is then invalid or being deleted).
	Governing *kubecorsv1alpha1.CorsPolicy
	// Overridden is true when the policy is a ClusterCorsPolicy default and
	// a namespace's own policy governs the target: the default then does
	// not list the target at all.
	Overridden bool
	// Conflicted is true when another policy governs the target.
	Conflicted bool
	// Message says which policy governs the target and why, when it is
	// another one.
	Message string
}

// Arbitrate decides whether policy may configure the object, given the
// candidates competing for it (policy itself may be among them).
func (c Candidates) Arbitrate(policy *kubecorsv1alpha1.CorsPolicy, obj Object) Arbitration {
	winner := c.Governing(obj)
	a := Arbitration{Governing: winner}
	if winner == nil || winner.Name == policy.Name {
		return a
	}
	if IsDefault(policy) && !IsDefault(winner) {
		a.Overridden = true
		a.Message = fmt.Sprintf("CorsPolicy %q of the namespace governs %s %q, which takes precedence over ClusterCorsPolicy defaults",
			winner.Name, obj.Kind, obj.Name)
		return a
	}
	a.Conflicted = true
	a.Message = fmt.Sprintf("CorsPolicy %q is older and already governs %s %q; the oldest policy wins (creation time, then name)",
		winner.Name, obj.Kind, obj.Name)
	return a
}

// The annotations that select an IngressClass.
const (
	// LegacyIngressClassAnnotation names the class on Ingresses older than
	// spec.ingressClassName; controllers still honour it.
	LegacyIngressClassAnnotation = "kubernetes.io/ingress.class"
	// DefaultIngressClassAnnotation marks the IngressClass that serves
	// Ingresses naming none.
	DefaultIngressClassAnnotation = "ingressclass.kubernetes.io/is-default-class"
)

// IngressClassName is the class an Ingress names, or "" when it names none.
func IngressClassName(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil && *ing.Spec.IngressClassName != "" {
		return *ing.Spec.IngressClassName
	}
	return ing.Annotations[LegacyIngressClassAnnotation]
}

// IngressClassOf returns the IngressClass that serves an Ingress among
// classes (every IngressClass of the cluster, or at least the one it
// names and those marked default), as the ingress controllers choose it,
// or a problem saying why there is none.
func IngressClassOf(ing *networkingv1.Ingress, classes []networkingv1.IngressClass) (*networkingv1.IngressClass, string) {
	if name := IngressClassName(ing); name != "" {
		i := slices.IndexFunc(classes, func(c networkingv1.IngressClass) bool { return c.Name == name })
		if i < 0 {
			return nil, fmt.Sprintf("IngressClass %q does not exist", name)
		}
		return &classes[i], ""
	}
	var defaults []*networkingv1.IngressClass
	for i := range classes {
		if classes[i].Annotations[DefaultIngressClassAnnotation] == "true" {
			defaults = append(defaults, &classes[i])
		}
	}
	switch len(defaults) {
	case 0:
		return nil, "the Ingress names no IngressClass and no IngressClass is marked default"
	case 1:
		return defaults[0], ""
	}
	return nil, "the Ingress names no IngressClass and several IngressClasses are marked default"
}

// DataPlaneLookup maps an IngressClass's spec.controller to the name of
// the data plane that serves it, as the operator's registry (built-in
// controller names plus --data-plane-mapping) knows it.
type DataPlaneLookup func(controller string) (dataPlane string, ok bool)

// IngressDataPlane is the data plane that serves an Ingress and how that
// was found.
type IngressDataPlane struct {
	// DataPlane is the data plane's name; empty when none serves it.
	DataPlane string
	// Class is the IngressClass's name, when one serves the Ingress.
	Class string
	// Controller is the IngressClass's spec.controller, when known.
	Controller string
	// How says in plain words how the data plane was found, or why none
	// was (then DataPlane is empty).
	How string
}

// DetectIngress follows an Ingress to its IngressClass and the class's
// controller, and names its data plane: the governing policy's own
// dataPlaneMappings first, then the operator's registry. It never guesses:
// an unknown controller is reported, not rendered for. knownNames lists
// the data planes for the message.
func DetectIngress(ing *networkingv1.Ingress, classes []networkingv1.IngressClass,
	mappings []kubecorsv1alpha1.DataPlaneMapping, lookup DataPlaneLookup, knownNames []string) IngressDataPlane {
	class, problem := IngressClassOf(ing, classes)
	if class == nil {
		return IngressDataPlane{How: problem}
	}
	d := IngressDataPlane{Class: class.Name, Controller: class.Spec.Controller}
	if i := slices.IndexFunc(mappings, func(m kubecorsv1alpha1.DataPlaneMapping) bool {
		return m.ControllerName == class.Spec.Controller
	}); i >= 0 {
		d.DataPlane = mappings[i].DataPlane
		d.How = fmt.Sprintf("IngressClass %q is served by %s, mapped to %s by the policy's dataPlaneMappings", class.Name, class.Spec.Controller, d.DataPlane)
		return d
	}
	if name, ok := lookup(class.Spec.Controller); ok {
		d.DataPlane = name
		d.How = fmt.Sprintf("IngressClass %q is served by %s", class.Name, class.Spec.Controller)
		return d
	}
	d.How = fmt.Sprintf("IngressClass %q is served by controller %q, which kubecors has no renderer for; "+
		"map it to one with spec.dataPlaneMappings or the --data-plane-mapping flag if it understands one of: %s annotations",
		class.Name, class.Spec.Controller, strings.Join(knownNames, ", "))
	return d
}

// RegistryLookup is the DataPlaneLookup of the built-in controller names,
// without the operator's --data-plane-mapping flags, which kubectl cors
// cannot see.
func RegistryLookup(controller string) (string, bool) {
	dp, ok := registry.ForIngressController(controller)
	return dp.Name, ok
}

// DetectIngressOrGuess is DetectIngress for kubectl cors, which also
// explains hand-written configuration: with the built-in controller names
// and the governing policy's mappings, and, when the class does not tell,
// the data plane whose CORS annotations the Ingress carries, said to be a
// guess. The controller never guesses.
func DetectIngressOrGuess(ing *networkingv1.Ingress, classes []networkingv1.IngressClass, mappings []kubecorsv1alpha1.DataPlaneMapping) IngressDataPlane {
	d := DetectIngress(ing, classes, mappings, RegistryLookup, registry.RendererNames())
	if d.DataPlane != "" {
		return d
	}
	if guessed := registry.AnnotatedDataPlanes(ing.Annotations); len(guessed) == 1 {
		d.DataPlane = guessed[0]
		d.How = fmt.Sprintf("%s; guessed %s from the Ingress's annotations", d.How, guessed[0])
	}
	return d
}

// Competitors lists, sorted by name, the candidates that target the object
// and compete for it: every one that targets it, except ClusterCorsPolicy
// defaults when a namespace policy governs it (a default yields by design,
// which is no conflict).
func (c Candidates) Competitors(obj Object) []string {
	winner := c.Governing(obj)
	var names []string
	for _, p := range c.eligible {
		if Targets(p, obj) && (winner == nil || IsDefault(winner) || !IsDefault(p)) {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	return names
}
