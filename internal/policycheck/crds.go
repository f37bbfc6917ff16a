package policycheck

import (
	"fmt"
	"io/fs"
	"path"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// newChecker builds a Checker for kinds from the CRDs found in crds.
func newChecker(crds fs.FS, kinds []servedKindVersion) (*Checker, error) {
	definitions, err := readCRDs(crds)
	if err != nil {
		return nil, err
	}
	scheme, err := newScheme()
	if err != nil {
		return nil, err
	}
	c := &Checker{kinds: map[schema.GroupKind]*servedKind{}, scheme: scheme}
	for _, k := range kinds {
		definition, ok := definitions[k.gvk.GroupKind()]
		if !ok {
			return nil, fmt.Errorf("policycheck: no CustomResourceDefinition for %s", k.gvk.GroupKind())
		}
		version, err := newVersionChecker(definition, k)
		if err != nil {
			return nil, err
		}
		served := c.kinds[k.gvk.GroupKind()]
		if served == nil {
			served = &servedKind{versions: map[string]*versionChecker{}}
			c.kinds[k.gvk.GroupKind()] = served
		}
		served.versions[k.gvk.Version] = version
		served.apiVersions = append(served.apiVersions, k.gvk.GroupVersion().String())
	}
	return c, nil
}

// readCRDs reads every CustomResourceDefinition in the YAML files of crds,
// defaulted as the API server stores them.
func readCRDs(crds fs.FS) (map[schema.GroupKind]*apiextensionsv1.CustomResourceDefinition, error) {
	definitions := map[schema.GroupKind]*apiextensionsv1.CustomResourceDefinition{}
	err := fs.WalkDir(crds, ".", func(name string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() || path.Ext(name) != ".yaml" {
			return err
		}
		data, err := fs.ReadFile(crds, name)
		if err != nil {
			return err
		}
		definition := &apiextensionsv1.CustomResourceDefinition{}
		// Strict, so that a CRD written for a newer apiextensions API than
		// this code knows fails here instead of losing rules silently.
		if err := yaml.UnmarshalStrict(data, definition); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(definition)
		gk := schema.GroupKind{Group: definition.Spec.Group, Kind: definition.Spec.Names.Kind}
		definitions[gk] = definition
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("policycheck: reading CRDs: %w", err)
	}
	return definitions, nil
}

// versionChecker validates objects of one version of one kind. It holds
// what the API server builds per CRD version when it starts serving it
// (k8s.io/apiextensions-apiserver/pkg/apiserver, getOrCreateServingInfoFor).
type versionChecker struct {
	gvk        schema.GroupVersionKind
	namespaced bool

	// statusSubresource is set when status has its own endpoint, so that
	// a create ignores the status it is sent.
	statusSubresource bool

	// structural drives pruning, defaulting, list-type and embedded
	// metadata validation.
	structural *structuralschema.Structural

	// schemaValidator is the OpenAPI validator of the version's schema.
	schemaValidator apiservervalidation.SchemaValidator

	// celValidator holds the compiled x-kubernetes-validations; nil when
	// the schema has none.
	celValidator *cel.Validator

	webhook webhook
}

// newVersionChecker compiles the validators of one served version of a CRD.
func newVersionChecker(definition *apiextensionsv1.CustomResourceDefinition, k servedKindVersion) (*versionChecker, error) {
	var version *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range definition.Spec.Versions {
		if definition.Spec.Versions[i].Name == k.gvk.Version {
			version = &definition.Spec.Versions[i]
		}
	}
	if version == nil || !version.Served {
		return nil, fmt.Errorf("policycheck: CRD %s does not serve version %s", definition.Name, k.gvk.Version)
	}
	if version.Schema == nil || version.Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("policycheck: CRD %s has no schema for version %s", definition.Name, k.gvk.Version)
	}

	internal := &apiextensionsinternal.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(version.Schema, internal, nil); err != nil {
		return nil, fmt.Errorf("policycheck: converting the schema of %s: %w", k.gvk, err)
	}
	structural, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("policycheck: the schema of %s is not structural: %w", k.gvk, err)
	}
	// The API server defaults from a copy whose defaults are pruned of
	// unknown fields; do the same so defaulting cannot differ.
	structural = structural.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(structural); err != nil {
		return nil, fmt.Errorf("policycheck: pruning the defaults of %s: %w", k.gvk, err)
	}
	schemaValidator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("policycheck: compiling the schema of %s: %w", k.gvk, err)
	}
	return &versionChecker{
		gvk:               k.gvk,
		namespaced:        definition.Spec.Scope == apiextensionsv1.NamespaceScoped,
		statusSubresource: version.Subresources != nil && version.Subresources.Status != nil,
		structural:        structural,
		schemaValidator:   schemaValidator,
		celValidator:      cel.NewValidator(structural, true, celconfig.PerCallLimit),
		webhook:           k.webhook,
	}, nil
}
