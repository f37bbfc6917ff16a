// Package policycheck validates kubecors policies offline and answers as the
// API server and the kubecors validating webhook would answer together to a
// `kubectl apply` of the same object.
//
// It runs the very code the API server runs for a custom resource (the
// structural-schema pruning, defaulting, OpenAPI, list-type and CEL
// validation of k8s.io/apiextensions-apiserver), against the CRDs embedded
// from config/crd/bases, in the API server's order; and it calls the
// webhook's rules (internal/corsrules) only for an object that passed all of
// that, because the API server never sends a rejected object to a
// validating webhook. A policy file can thus be checked in CI, before any
// cluster sees it, with the verdict the cluster would give.
package policycheck

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/config/crd"
)

// Result is the verdict on one object.
type Result struct {
	// Errors are the reasons the object would be rejected: those of
	// decoding, or else those of the CRD's validation (metadata, OpenAPI
	// schema, list types, CEL rules, each sorted by field), or else those
	// of the webhook. Empty when the object would be admitted.
	Errors field.ErrorList

	// Warnings are what `kubectl apply` would print as "Warning: ...", each
	// "path: message". They may come with Errors, because the webhook sends
	// its warnings even when it denies.
	Warnings []string

	// Skipped says what was not checked and why, for an object of a kind
	// kubecors does not serve; empty when the object was checked.
	Skipped string

	// Stored is the object as the API server would store it (unknown
	// fields pruned, defaults applied, the namespace filled in), so that
	// what is judged next, such as a CorsPolicy against the
	// ClusterCorsPolicies, sees what the cluster would. Set only when the
	// object is valid.
	Stored *unstructured.Unstructured
}

// Valid reports whether the object was checked and would be admitted.
// Warnings do not make an object invalid.
func (r Result) Valid() bool {
	return r.Skipped == "" && len(r.Errors) == 0
}

// Checker validates objects against the kubecors CRDs and webhook rules. The
// validators of each kind are built once, in New, because compiling a CRD's
// CEL rules takes far longer than checking an object.
type Checker struct {
	// kinds maps a group and kind to its served versions.
	kinds map[schema.GroupKind]*servedKind

	// scheme maps Go types to kinds, so that CheckTyped accepts objects
	// whose apiVersion and kind are unset, as Go-built objects often are.
	scheme *runtime.Scheme
}

// servedKind holds the checkers of the versions of one kind.
type servedKind struct {
	versions map[string]*versionChecker
	// apiVersions lists the versions in CRD order, for the message that
	// names them when an object asks for another.
	apiVersions []string
}

// New returns a Checker for every kind kubecors serves, validated against
// the CRDs embedded in package crd. It fails if a kind's CRD is missing or
// cannot be compiled, which is a build defect rather than a user error.
func New() (*Checker, error) {
	return newChecker(crd.Bases, servedKinds)
}

// Check returns the verdict of the API server and the kubecors webhook on
// creating obj. obj is not modified. A namespaced object without a
// namespace is checked as if applied to the current namespace, since
// kubectl fills it in; objects of other kinds are skipped.
func (c *Checker) Check(obj *unstructured.Unstructured) Result {
	gvk := obj.GroupVersionKind()
	kind, ok := c.kinds[gvk.GroupKind()]
	if !ok {
		return Result{Skipped: skipReason(obj)}
	}
	version, ok := kind.versions[gvk.Version]
	if !ok {
		// kubectl stops here with "no matches for kind": the object was
		// meant for kubecors, so this is an error, not a skip.
		return Result{Errors: field.ErrorList{
			field.NotSupported(field.NewPath("apiVersion"), obj.GetAPIVersion(), kind.apiVersions),
		}}
	}
	sent, err := asSent(obj)
	if err != nil {
		return Result{Errors: field.ErrorList{field.InternalError(nil, err)}}
	}
	return version.check(sent)
}

// asSent returns a copy of obj as the API server decodes it from the JSON
// kubectl sends. The round trip matters: objects decoded from YAML carry
// whole numbers as float64, which the API server never sees and which CEL
// rejects where the schema says integer.
func asSent(obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	data, err := obj.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("policycheck: encoding the object as JSON: %w", err)
	}
	content := map[string]any{}
	if err := utiljson.Unmarshal(data, &content); err != nil {
		return nil, fmt.Errorf("policycheck: decoding the object's JSON: %w", err)
	}
	return &unstructured.Unstructured{Object: content}, nil
}

// CheckTyped checks a typed object of an API kind kubecors serves, such as
// a *kubecorsv1alpha1.CorsPolicy built in a test, as if it had been written
// to a file and applied; its apiVersion and kind may be unset. The error is
// for an object of a Go type that is not a kubecors API type.
func (c *Checker) CheckTyped(obj runtime.Object) (Result, error) {
	gvks, _, err := c.scheme.ObjectKinds(obj)
	if err != nil {
		return Result{}, fmt.Errorf("policycheck: %w", err)
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return Result{}, fmt.Errorf("policycheck: converting %T to unstructured: %w", obj, err)
	}
	u := &unstructured.Unstructured{Object: content}
	u.SetGroupVersionKind(gvks[0])
	return c.Check(u), nil
}

// CheckCorsPolicy checks a typed CorsPolicy, as CheckTyped does. It is the
// entry point of the envtest agreement test, which compares this verdict
// with a real API server's on the same table of policies.
func (c *Checker) CheckCorsPolicy(p *kubecorsv1alpha1.CorsPolicy) (Result, error) {
	return c.CheckTyped(p)
}

// skipReason says what an object of a kind kubecors does not serve is, for
// the note that it was not checked.
func skipReason(obj *unstructured.Unstructured) string {
	apiVersion, kind := obj.GetAPIVersion(), obj.GetKind()
	switch {
	case apiVersion == "" && kind == "":
		return "not a Kubernetes object: it has no apiVersion and kind"
	case apiVersion == "v1" && kind == "List":
		// kubectl expands a List; policies inside one would otherwise pass
		// unseen, so say so rather than skip quietly.
		return "v1 List: the items of a List are not checked; write each object as its own YAML document"
	}
	what := strings.TrimSpace(apiVersion + " " + kind)
	if name := obj.GetName(); name != "" {
		what += fmt.Sprintf(" %q", name)
	}
	return what + ": not a kind kubecors checks"
}
