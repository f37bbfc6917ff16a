package dataplanes

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// Policy is the input every renderer receives: an accepted policy's
// identity and spec.
type Policy struct {
	// Namespace and Name identify the CorsPolicy.
	Namespace, Name string
	// Spec is the policy's spec, already validated and defaulted.
	Spec kubecorsv1alpha1.CorsPolicySpec
}

// IngressTarget is what a renderer may know of the Ingress it renders for.
type IngressTarget struct {
	// Namespace and Name identify the Ingress.
	Namespace, Name string
}

// Narrowing records a part of the policy that the data plane cannot
// express and that was therefore left out (never widened).
type Narrowing struct {
	// Field is the policy field path, e.g. "spec.allowOrigins[2]".
	Field string
	// Value is the value left out or narrowed, e.g. "https://*.example.com".
	Value string
	// Reason says in plain words what the data plane cannot express and
	// what was rendered instead.
	Reason string
}

// SharedList is a comma-separated Ingress annotation that a data plane
// reads and that users write too (Traefik's router.middlewares): kubecors
// adds its entries and keeps the user's and their order, and records what
// it added under RecordKey, so that exactly those entries can be taken out
// again, whatever data plane serves the Ingress by then.
type SharedList struct {
	// Key is the annotation the data plane reads.
	Key string
	// RecordKey is kubecors's own annotation listing the entries it added.
	RecordKey string
}

// IngressConfig is the desired configuration of one Ingress.
type IngressConfig struct {
	// Annotations are the Ingress annotations kubecors owns for this data
	// plane, with their values. Every key listed is written; keys a
	// previous render wrote and this one does not list are removed.
	Annotations map[string]string
	// Objects are extra objects kubecors creates and owns for the target
	// (a Traefik Middleware), in the target's namespace.
	Objects []*unstructured.Unstructured
	// ListEntries are entries that must appear in the data plane's
	// SharedList on the Ingress (Traefik's middleware references,
	// "<namespace>-<name>@kubernetescrd"), merged with the entries the user
	// already has there; SharedList names the list.
	ListEntries []string
	// SharedList is the annotation list ListEntries go into; nil when
	// there are none.
	SharedList *SharedList
	// Narrowed lists what the data plane could not express.
	Narrowed []Narrowing
	// Refused, when not empty, says why the policy cannot be programmed
	// on this data plane at all (for example, every origin had to be left
	// out, and an empty origin list would fall back to the data plane's
	// permissive default). The other fields are then empty and nothing is
	// written.
	Refused string
}

// IngressRenderer renders policies for the Ingresses of one data plane.
type IngressRenderer interface {
	// Name is the data plane's name as reported in status
	// ("ingress-nginx", "traefik", "haproxy-ingress").
	Name() string
	// RenderIngress computes the desired configuration of one Ingress.
	RenderIngress(p Policy, t IngressTarget) IngressConfig
}
