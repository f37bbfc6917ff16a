package dataplanes

import (
	"strings"

	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubecors/kubecors/internal/corscheck"
)

// TargetKind is a kind of target object that belongs to one data plane and
// holds its CORS configuration in its own spec (an Istio VirtualService, a
// Contour HTTPProxy), as opposed to an Ingress or HTTPRoute, which many
// data planes serve. The data plane's folder says everything about it: its
// GroupVersionKind, how a policy is rendered for one object, how kubecors's
// change is applied to and removed from the object, and how the data plane
// reads the object's CORS configuration. The controller, internal/plan,
// internal/resolve and kubectl cors handle every target kind through these
// hooks, on unstructured objects, so that a new kind adds no special case
// there.
type TargetKind struct {
	// GVK is the group, version and kind kubecors reads and writes.
	GVK schema.GroupVersionKind
	// Resource is the kind's plural resource name, as discovery serves it
	// and RBAC names it.
	Resource string
	// Render renders a policy for one object, pure: the configuration
	// kubecors would write, what it narrowed, or why it refuses the object
	// (for example, a Contour HTTPProxy that is not a root).
	Render func(p Policy, obj *unstructured.Unstructured) TargetChange
	// Apply writes a rendered change into obj, in place, keeping every
	// field kubecors does not own and recording what it replaced, so that
	// Remove can restore it. takeOver allows replacing configuration the
	// user wrote; without it, such configuration is a *TargetConflict and
	// obj is left unchanged.
	Apply func(obj *unstructured.Unstructured, change TargetChange, takeOver bool) error
	// Remove undoes every change Apply made to obj, in place: the user's
	// original configuration comes back as it was, and configuration the
	// user edited since kubecors wrote it is left as the user wrote it. It
	// fails when kubecors's record on the object cannot be read.
	Remove func(obj *unstructured.Unstructured) error
	// Read reads the CORS configuration of an object the way the data plane
	// does, one section per place that holds some (an Istio http route, a
	// Contour virtual host); hand-written configuration and kubecors's read
	// the same way.
	Read func(obj *unstructured.Unstructured) []TargetSection
	// Sample returns an object of the kind that Render accepts (a root
	// HTTPProxy, a VirtualService with one http route), for rendering a
	// policy without a target: kubectl cors explain -f and the never-broaden
	// property.
	Sample func() *unstructured.Unstructured
	// NewFixer returns the fixer of one section (key) of a hand-written
	// configuration on the object ("namespace/name"), for kubectl cors
	// explain.
	NewFixer func(object, key string) Fixer
	// RecordAnnotations are the annotations Apply writes on the object to
	// find its change again, for kubectl cors and GitOps exclusions.
	RecordAnnotations []string
}

// Kind is the target kind's Kind, as a policy's targetRefs name it.
func (k TargetKind) Kind() string { return k.GVK.Kind }

// Plural is the kind's plural for people ("VirtualServices",
// "HTTPProxies").
func (k TargetKind) Plural() string {
	if base, ok := strings.CutSuffix(k.GVK.Kind, "y"); ok {
		return base + "ies"
	}
	return k.GVK.Kind + "s"
}

// Group is the target kind's API group, as a policy's targetRefs name it.
func (k TargetKind) Group() string { return k.GVK.Group }

// TargetChange is the rendered configuration of one target object of a
// TargetKind.
type TargetChange struct {
	// CORS is the configuration kubecors writes, in the object's own
	// schema (an Istio corsPolicy, a Contour corsPolicy); nil when Refused.
	CORS map[string]any
	// Narrowed lists what the data plane could not express.
	Narrowed []Narrowing
	// Refused, when not empty, says why nothing can be written on the
	// object at all.
	Refused string
}

// TargetSection is the CORS configuration of one part of a target object,
// as the data plane reads it.
type TargetSection struct {
	// Key is the field path of the section's configuration, e.g.
	// "spec.http[0].corsPolicy".
	Key string
	// Name names the section for people: a route's name, or its index.
	Name string
	// Model answers a browser's requests the way the data plane does.
	Model Model
	// Problems are what the data plane rejects in the configuration, or
	// other facts a reader needs (an unsupported field, a fall-back).
	Problems []string
}

// TargetConflict is Apply's error when the object holds CORS configuration
// that kubecors did not write and the policy does not take it over.
type TargetConflict struct {
	// Message says where the configuration is and what to do.
	Message string
}

// Error returns the message.
func (c *TargetConflict) Error() string { return c.Message }

// TargetRendered is DataPlane.Rendered for a target kind: the change
// rendered for an object of the kind, applied to it and read back the way
// the data plane reads it, for kubectl cors explain and the never-broaden
// property, on the kind's sample object
// (kind.Sample).
func TargetRendered(dataPlane string, kind TargetKind) func(Policy, IngressTarget) (Model, []Narrowing, string, error) {
	return func(p Policy, t IngressTarget) (Model, []Narrowing, string, error) {
		obj := kind.Sample()
		obj.SetNamespace(t.Namespace)
		obj.SetName(t.Name)
		change := kind.Render(p, obj)
		if change.Refused != "" {
			return NoCORS(dataPlane, "kubecors writes nothing: "+change.Refused), nil, change.Refused, nil
		}
		if err := kind.Apply(obj, change, false); err != nil {
			return nil, nil, "", err
		}
		sections := kind.Read(obj)
		if len(sections) == 0 {
			return nil, nil, "", fmt.Errorf("%s reads no CORS configuration from the %s kubecors rendered", dataPlane, kind.Kind())
		}
		if len(sections[0].Problems) > 0 {
			return nil, nil, "", fmt.Errorf("%s would not take the rendered %s as written: %v", dataPlane, kind.Kind(), sections[0].Problems)
		}
		return sections[0].Model, change.Narrowed, "", nil
	}
}

// TargetFixer writes kubectl cors explain's fixes as edits of one section
// of a target object's hand-written CORS configuration.
type TargetFixer struct {
	// Object names the object, e.g. "VirtualService shop/api".
	Object string
	// Key is the section's field path, e.g. "spec.http[0].corsPolicy".
	Key string
	// Fields maps corscheck's field names to the data plane's, where they
	// differ (Contour's "allowOrigin").
	Fields map[string]string
	// OriginValue writes an origin as the list takes it (Istio's
	// {exact: ...}); nil writes it as is.
	OriginValue func(origin string) string
}

// Edit names the field of the section to change.
func (f TargetFixer) Edit(c corscheck.Change, _ *corscheck.Diagnosis, _ corscheck.Request) (string, bool) {
	if c.Field == corscheck.FieldAllowOrigins && f.OriginValue != nil {
		values := make([]string, len(c.Values))
		for i, v := range c.Values {
			values[i] = f.OriginValue(v)
		}
		return fmt.Sprintf("add %s to %s.%s of %s", strings.Join(values, ", "), f.Key, f.field(c.Field), f.Object), true
	}
	return c.Render(func(field string) string { return fmt.Sprintf("%s.%s of %s", f.Key, f.field(field), f.Object) }), true
}

func (f TargetFixer) field(name string) string {
	if mapped, ok := f.Fields[name]; ok {
		return mapped
	}
	return name
}

// CredentialsOff names the field that turns credentials off.
func (f TargetFixer) CredentialsOff() string {
	return fmt.Sprintf("%s.%s: false on %s", f.Key, f.field(corscheck.FieldAllowCredentials), f.Object)
}

// AnyList converts strings to the []any that unstructured content holds.
func AnyList(values []string) []any {
	list := make([]any, len(values))
	for i, v := range values {
		list[i] = v
	}
	return list
}
