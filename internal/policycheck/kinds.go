package policycheck

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
)

// servedKinds are the kinds the Checker validates, each with the webhook
// function the kubecors validating webhook runs for it. Serving another kind
// is adding its entry here, its type to api/ (for CheckTyped) and its CRD
// to config/crd/bases; nothing else changes.
var servedKinds = []servedKindVersion{
	{
		gvk:     kubecorsv1alpha1.GroupVersion.WithKind("CorsPolicy"),
		webhook: typedWebhook(registry.ValidateCorsPolicy),
	},
	{
		gvk:     kubecorsv1alpha1.GroupVersion.WithKind("ClusterCorsPolicy"),
		webhook: typedWebhook(corsrules.ValidateClusterCorsPolicy),
	},
}

// servedKindVersion is one version of a kind the Checker validates.
type servedKindVersion struct {
	gvk     schema.GroupVersionKind
	webhook webhook
}

// webhook is what the validating admission webhook of a kind decides about
// an object that passed the CRD's validation: the errors that deny it and
// the warnings returned with the answer.
type webhook func(obj *unstructured.Unstructured) (field.ErrorList, []string)

// typedWebhook adapts a webhook's validation function, written against the
// API type, to the unstructured objects the Checker works on. The object is
// decoded without strictness, as the webhook server decodes the admission
// request: by then the API server has already pruned unknown fields.
func typedWebhook[T any, W ~[]string](validate func(*T) (field.ErrorList, W)) webhook {
	return func(obj *unstructured.Unstructured) (field.ErrorList, []string) {
		typed := new(T)
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.UnstructuredContent(), typed); err != nil {
			return field.ErrorList{field.InternalError(nil, fmt.Errorf("decoding %s for the webhook: %w", obj.GroupVersionKind().Kind, err))}, nil
		}
		errs, warnings := validate(typed)
		return errs, []string(warnings)
	}
}

// newScheme registers the Go types of the kubecors API, for CheckTyped.
func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := kubecorsv1alpha1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("policycheck: registering %s: %w", kubecorsv1alpha1.GroupVersion, err)
	}
	return scheme, nil
}
