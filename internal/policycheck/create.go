package policycheck

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/api/operation"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/features"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
)

// currentNamespace stands in for the namespace kubectl takes from its
// context when a namespaced object has none. Any valid name gives the same
// verdict: nothing in the schema, the CEL rules or the webhook reads it.
const currentNamespace = "default"

// check emulates, on obj (which it owns), a create request for obj sent by
// `kubectl apply` with its default strict field validation, followed by
// the kubecors validating webhook. Each step is the API server's own, in
// its order; the comments name where the API server runs it.
func (v *versionChecker) check(obj *unstructured.Unstructured) Result {
	// Decoding (apiserver: schemaCoercingDecoder and unstructuredDefaulter
	// in pkg/apiserver/customresource_handler.go). With strict field
	// validation, unknown fields fail the request before any validation.
	if errs := v.decode(obj); len(errs) > 0 {
		return Result{Errors: errs}
	}
	structuraldefaulting.Default(obj.Object, v.structural)

	v.prepareForCreate(obj)

	// Validation (apiserver: rest.BeforeCreate calling the customresource
	// strategy's Validate). A rejected object never reaches admission
	// webhooks, and gets none of the create warnings.
	ctx := context.Background()
	if errs := v.validate(ctx, obj); len(errs) > 0 {
		return Result{Errors: errs}
	}
	warnings := finalizerWarnings(obj)

	// Validating admission (apiserver: createValidation after
	// BeforeCreate). The webhook's warnings reach kubectl even when it
	// denies the request.
	errs, webhookWarnings := v.webhook(obj)
	result := Result{Errors: errs, Warnings: append(warnings, webhookWarnings...)}
	if len(errs) == 0 {
		result.Stored = obj
	}
	return result
}

// decode applies to obj what the API server's strict decoder does after
// parsing the JSON: it reads metadata strictly, prunes every field the
// schema does not declare, drops nulls the schema does not allow, and
// coerces embedded objects' metadata. Each unknown field is an error named
// by its path, as in `strict decoding error: unknown field "spec.foo"`.
func (v *versionChecker) decode(obj *unstructured.Unstructured) field.ErrorList {
	apiVersion, kind := obj.GetAPIVersion(), obj.GetKind()
	objectMeta, foundMeta, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(obj.Object, schemaobjectmeta.ObjectMetaOptions{
		ReturnUnknownFieldPaths: true,
	})
	if err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("metadata"), field.OmitValueType{}, err.Error())}
	}
	unknown = append(unknown, structuralpruning.PruneWithOptions(obj.Object, v.structural, true, structuralschema.UnknownFieldPathOptions{
		TrackUnknownFieldPaths: true,
	})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj.Object, v.structural)
	coerceErr, embeddedUnknown := schemaobjectmeta.CoerceWithOptions(nil, obj.Object, v.structural, false, schemaobjectmeta.CoerceOptions{
		ReturnUnknownFieldPaths: true,
	})
	if coerceErr != nil {
		return field.ErrorList{coerceErr}
	}
	unknown = append(unknown, embeddedUnknown...)

	// Pruning removes apiVersion, kind and metadata from the map when the
	// schema does not list them; put back what was sent, with metadata
	// normalised through ObjectMeta as the API server does.
	obj.SetAPIVersion(apiVersion)
	obj.SetKind(kind)
	if foundMeta {
		if err := schemaobjectmeta.SetObjectMeta(obj.Object, objectMeta); err != nil {
			return field.ErrorList{field.Invalid(field.NewPath("metadata"), field.OmitValueType{}, err.Error())}
		}
	}

	var errs field.ErrorList
	for _, path := range unknown {
		// The path is already rendered ("spec.targetRefs[0].foo"); a
		// field.Path would re-render the same string.
		errs = append(errs, &field.Error{
			Type:     field.ErrorTypeInvalid,
			Field:    path,
			BadValue: field.OmitValueType{},
			Detail:   fmt.Sprintf("unknown field %q", path),
		})
	}
	return errs
}

// prepareForCreate does what the API server does to a decoded object
// before validating it: it sets the namespace from the request, generates
// a name from generateName, and, when status is a subresource, drops the
// status a create may not set (customresource strategy PrepareForCreate).
func (v *versionChecker) prepareForCreate(obj *unstructured.Unstructured) {
	switch {
	case !v.namespaced:
		obj.SetNamespace("")
	case obj.GetNamespace() == "":
		obj.SetNamespace(currentNamespace)
	}
	if obj.GetName() == "" && obj.GetGenerateName() != "" {
		obj.SetName(generatedName(obj.GetGenerateName()))
	}
	if v.statusSubresource {
		delete(obj.Object, "status")
	}
	obj.SetGeneration(1)
}

// validate runs the customresource strategy's Validate on create
// (k8s.io/apiextensions-apiserver/pkg/registry/customresource): metadata,
// OpenAPI schema, embedded resources, list types, then CEL rules. All
// errors add up into one rejection, except that CEL rules are skipped when
// the schema errors make their input unreliable.
func (v *versionChecker) validate(ctx context.Context, obj *unstructured.Unstructured) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, v.validateObjectMeta(ctx, obj)...)
	errs = append(errs, sortedByField(apiservervalidation.ValidateCustomResource(nil, obj.UnstructuredContent(), v.schemaValidator))...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, obj.Object, v.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, v.structural, obj.Object)...)
	if v.celValidator != nil {
		if blocked, notice := hasBlockingErr(errs); blocked {
			errs = append(errs, notice)
		} else {
			celErrs, _ := v.celValidator.Validate(ctx, nil, v.structural, obj.Object, nil, celconfig.RuntimeCELCostBudget)
			errs = append(errs, sortedByField(celErrs)...)
		}
	}
	// rest.BeforeCreate then checks metadata again against the looser
	// path-segment rules; every DNS subdomain passes those, so that step
	// cannot add an error here and is left out.
	return errs
}

// sortedByField sorts errs by field path, indices in numeric order, keeping
// the order of errors on the same field. The API server visits the
// properties of an object in map order, so its own order changes from one
// request to the next; any order is as faithful, and a fixed one keeps
// reports reproducible.
func sortedByField(errs field.ErrorList) field.ErrorList {
	slices.SortStableFunc(errs, func(a, b *field.Error) int {
		return comparePaths(a.Field, b.Field)
	})
	return errs
}

// comparePaths orders rendered field paths, comparing runs of digits (list
// indices) by value, so that "a[2]" comes before "a[10]".
func comparePaths(a, b string) int {
	for a != "" && b != "" {
		aDigits, bDigits := leadingDigits(a), leadingDigits(b)
		if aDigits > 0 && bDigits > 0 {
			an, _ := strconv.Atoi(a[:aDigits])
			bn, _ := strconv.Atoi(b[:bDigits])
			if c := cmp.Compare(an, bn); c != 0 {
				return c
			}
			a, b = a[aDigits:], b[bDigits:]
			continue
		}
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func leadingDigits(s string) int {
	n := 0
	// Nine digits always fit an int; longer runs compare in pieces.
	for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// validateObjectMeta validates metadata as the customresource validator
// does on create: a DNS-subdomain name, labels, annotations, finalizers,
// owner references, and a namespace exactly when the kind is namespaced.
func (v *versionChecker) validateObjectMeta(ctx context.Context, obj *unstructured.Unstructured) field.ErrorList {
	meta := &metav1.ObjectMeta{}
	if raw, ok := obj.Object["metadata"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, meta); err != nil {
			return field.ErrorList{field.Invalid(field.NewPath("metadata"), field.OmitValueType{}, err.Error())}
		}
	}
	return apimachineryvalidation.ValidateObjectMetaDeclaratively(ctx, operation.Create, meta, nil, v.namespaced,
		apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"),
		utilfeature.DefaultFeatureGate.Enabled(features.DeclarativeValidationBeta))
}

// hasBlockingErr mirrors the customresource strategy's function of the
// same name, which is not exported: errors of these types mean a value is
// missing, too large or of the wrong type, and the API server then runs no
// CEL rule, adding this one error instead. Keep it in step with
// k8s.io/apiextensions-apiserver/pkg/registry/customresource/strategy.go.
func hasBlockingErr(errs field.ErrorList) (bool, *field.Error) {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong,
			field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true, field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")
		}
	}
	return false, nil
}

// generatedName stands in for the name the API server generates from
// generateName: the same truncated prefix (names.SimpleNameGenerator keeps
// 58 characters), with a fixed instead of a random five-character suffix
// from the same alphabet, so that a verdict never depends on chance.
func generatedName(base string) string {
	const maxPrefix = 58
	if len(base) > maxPrefix {
		base = base[:maxPrefix]
	}
	return base + "xxxxx"
}

// standardFinalizers are the finalizers the API server does not warn about,
// though they are not domain-qualified.
var standardFinalizers = sets.New(metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents, "kubernetes")

// finalizerWarnings are the warnings the API server returns for a created
// custom resource's finalizers (customresource strategy WarningsOnCreate),
// reproduced because that function is not exported.
func finalizerWarnings(obj *unstructured.Unstructured) []string {
	path := field.NewPath("metadata", "finalizers")
	finalizers := sets.List(sets.New(obj.GetFinalizers()...))
	var warnings []string
	for _, finalizer := range finalizers {
		for _, msg := range utilvalidation.IsQualifiedName(finalizer) {
			warnings = append(warnings, fmt.Sprintf("%s: %q: %s", path, finalizer, msg))
		}
		if strings.Contains(finalizer, "/") || standardFinalizers.Has(finalizer) {
			continue
		}
		if strings.Contains(finalizer, ".") {
			warnings = append(warnings, fmt.Sprintf("%s: %q: prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers", path, finalizer))
		} else {
			warnings = append(warnings, fmt.Sprintf("%s: %q: prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers", path, finalizer))
		}
	}
	return warnings
}
