package policycheck

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// Cluster is what a set of manifests says about the cluster they are
// applied to: its ClusterCorsPolicies and the labels of its namespaces.
// Offline, these are all there is to judge a CorsPolicy against the
// cluster's rules, as the admission webhook does online.
type Cluster struct {
	policies []kubecorsv1alpha1.ClusterCorsPolicy
	// namespaces maps the namespaces given as documents to their labels.
	namespaces map[string]map[string]string
}

// AddClusterCorsPolicy adds a ClusterCorsPolicy, as the Stored object of a
// valid Result: the rules then apply to the CorsPolicies it selects.
func (c *Cluster) AddClusterCorsPolicy(stored *unstructured.Unstructured) error {
	policy := kubecorsv1alpha1.ClusterCorsPolicy{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(stored.UnstructuredContent(), &policy); err != nil {
		return fmt.Errorf("policycheck: decoding ClusterCorsPolicy %q: %w", stored.GetName(), err)
	}
	c.policies = append(c.policies, policy)
	return nil
}

// AddNamespace records the labels of a Namespace document; a later
// document of the same name replaces it, as a later apply would.
func (c *Cluster) AddNamespace(namespace *unstructured.Unstructured) {
	if c.namespaces == nil {
		c.namespaces = map[string]map[string]string{}
	}
	c.namespaces[namespace.GetName()] = namespace.GetLabels()
}

// HasClusterCorsPolicies reports whether any ClusterCorsPolicy was added,
// that is whether CorsPolicies have cluster rules to be judged against.
func (c *Cluster) HasClusterCorsPolicies() bool {
	return len(c.policies) > 0
}

// IsNamespace reports whether obj is a core Namespace, whose labels
// AddNamespace records.
func IsNamespace(obj *unstructured.Unstructured) bool {
	return obj.GroupVersionKind() == corev1.SchemeGroupVersion.WithKind("Namespace")
}

// IsCorsPolicy reports whether obj is a kubecors CorsPolicy, the kind
// Evaluate judges.
func IsCorsPolicy(obj *unstructured.Unstructured) bool {
	return obj.GroupVersionKind().GroupKind() == kubecorsv1alpha1.GroupVersion.WithKind("CorsPolicy").GroupKind()
}

// IsClusterCorsPolicy reports whether obj is a kubecors ClusterCorsPolicy,
// the kind AddClusterCorsPolicy takes.
func IsClusterCorsPolicy(obj *unstructured.Unstructured) bool {
	return obj.GroupVersionKind().GroupKind() == kubecorsv1alpha1.GroupVersion.WithKind("ClusterCorsPolicy").GroupKind()
}

// ClusterVerdict is what the ClusterCorsPolicies say about one CorsPolicy.
type ClusterVerdict struct {
	// Errors are the breaches of Enforce-mode rules, which the webhook
	// would deny; each Detail names the ClusterCorsPolicy and the rule.
	Errors field.ErrorList
	// Warnings are the breaches of Audit-mode rules, "path: message" as
	// admission warnings are.
	Warnings []string
	// Unevaluated lists the ClusterCorsPolicies whose selection of the
	// policy's namespace depends on labels the input does not give.
	Unevaluated []Unevaluated
}

// Unevaluated is a ClusterCorsPolicy that could not be evaluated for a
// namespace.
type Unevaluated struct {
	// ClusterCorsPolicy is its name.
	ClusterCorsPolicy string
	// Namespace is the namespace whose labels are unknown.
	Namespace string
	// Labels are the label keys its selector needs and the input lacks.
	Labels []string
}

// Evaluate judges a valid CorsPolicy, the Stored object of its Result,
// against every ClusterCorsPolicy that selects its namespace, in name
// order as the webhook does. A namespace given by a Namespace document has
// exactly that document's labels; any other has only the
// kubernetes.io/metadata.name label the API server sets, and a selector
// that asks about more cannot be decided: that ClusterCorsPolicy is
// reported as unevaluated rather than guessed.
func (c *Cluster) Evaluate(stored *unstructured.Unstructured) (ClusterVerdict, error) {
	policy := kubecorsv1alpha1.CorsPolicy{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(stored.UnstructuredContent(), &policy); err != nil {
		return ClusterVerdict{}, fmt.Errorf("policycheck: decoding CorsPolicy %q: %w", stored.GetName(), err)
	}
	namespace := policy.Namespace
	if namespace == "" {
		namespace = currentNamespace
	}
	nsLabels, complete := c.namespaces[namespace]
	nsLabels = maps.Clone(nsLabels)
	if nsLabels == nil {
		nsLabels = map[string]string{}
	}
	// The API server sets this label on every namespace, overriding any
	// value a manifest gives.
	nsLabels[corev1.LabelMetadataName] = namespace

	var verdict ClusterVerdict
	for _, ccp := range slices.SortedFunc(slices.Values(c.policies), func(a, b kubecorsv1alpha1.ClusterCorsPolicy) int {
		return cmp.Compare(a.Name, b.Name)
	}) {
		selected, missing := selects(ccp.Spec.NamespaceSelector, nsLabels, complete)
		if len(missing) > 0 {
			verdict.Unevaluated = append(verdict.Unevaluated, Unevaluated{ClusterCorsPolicy: ccp.Name, Namespace: namespace, Labels: missing})
			continue
		}
		if !selected {
			continue
		}
		for _, v := range corsrules.EvaluateClusterRules(&ccp.Spec.Rules, &policy.Spec) {
			detail := fmt.Sprintf("ClusterCorsPolicy %q %s: %s", ccp.Name, v.Rule, v.Message)
			if ccp.Spec.Mode == kubecorsv1alpha1.ModeAudit {
				verdict.Warnings = append(verdict.Warnings, v.Field+": "+detail)
				continue
			}
			// Field paths are already rendered; a field.Path would
			// render the same string again.
			verdict.Errors = append(verdict.Errors, &field.Error{
				Type: field.ErrorTypeInvalid, Field: v.Field, BadValue: field.OmitValueType{}, Detail: detail,
			})
		}
	}
	return verdict, nil
}

// selects decides whether selector selects a namespace with the given
// labels. When complete is false only some labels are known: the selector
// is decided if a requirement on a known label fails (it cannot select) or
// every requirement is on known labels; otherwise missing lists the
// unknown keys it needs. An unset selector selects every namespace.
func selects(selector *metav1.LabelSelector, nsLabels map[string]string, complete bool) (selected bool, missing []string) {
	if selector == nil {
		return true, nil
	}
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		// Validation rejects such a selector before it gets here.
		return false, nil
	}
	if complete {
		return s.Matches(labels.Set(nsLabels)), nil
	}
	requirements, _ := s.Requirements()
	for _, r := range requirements {
		if _, known := nsLabels[r.Key()]; !known {
			missing = append(missing, r.Key())
			continue
		}
		if !r.Matches(labels.Set(nsLabels)) {
			return false, nil
		}
	}
	if len(missing) > 0 {
		return false, slices.Compact(slices.Sorted(slices.Values(missing)))
	}
	return true, nil
}
