// Package clusterpolicy decides which ClusterCorsPolicies apply to a
// CorsPolicy and what they find, for the three places that ask: the
// admission webhook, the CorsPolicy controller and the ClusterCorsPolicy
// status.
package clusterpolicy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// Finding is one rule of one ClusterCorsPolicy that a CorsPolicy breaks.
type Finding struct {
	// ClusterPolicy is the ClusterCorsPolicy's name.
	ClusterPolicy string
	// Mode is the ClusterCorsPolicy's mode: Enforce findings block.
	Mode kubecorsv1alpha1.ClusterPolicyMode
	corsrules.Violation
}

// Enforced reports whether the finding blocks the policy.
func (f Finding) Enforced() bool { return f.Mode != kubecorsv1alpha1.ModeAudit }

// Detail is the finding in words, naming the ClusterCorsPolicy and the
// rule, without the field path.
func (f Finding) Detail() string {
	return fmt.Sprintf("ClusterCorsPolicy %q %s: %s", f.ClusterPolicy, f.Rule, f.Message)
}

// String is the finding with the CorsPolicy field it concerns.
func (f Finding) String() string { return f.Field + ": " + f.Detail() }

// Selects reports whether a ClusterCorsPolicy selects a namespace with the
// given labels. An unset or empty selector selects every namespace.
func Selects(ccp *kubecorsv1alpha1.ClusterCorsPolicy, namespaceLabels map[string]string) bool {
	if ccp.Spec.NamespaceSelector == nil {
		return true
	}
	selector, err := metav1.LabelSelectorAsSelector(ccp.Spec.NamespaceSelector)
	if err != nil {
		// Validation rejects such selectors; one that slipped through
		// selects nothing rather than everything.
		return false
	}
	return selector.Matches(labels.Set(namespaceLabels))
}

// Evaluate applies each ClusterCorsPolicy to a CorsPolicy spec, in the
// order given, and returns every finding.
func Evaluate(ccps []kubecorsv1alpha1.ClusterCorsPolicy, spec *kubecorsv1alpha1.CorsPolicySpec) []Finding {
	var findings []Finding
	for i := range ccps {
		mode := ccps[i].Spec.Mode
		if mode == "" {
			mode = kubecorsv1alpha1.ModeEnforce
		}
		for _, v := range corsrules.EvaluateClusterRules(&ccps[i].Spec.Rules, spec) {
			findings = append(findings, Finding{ClusterPolicy: ccps[i].Name, Mode: mode, Violation: v})
		}
	}
	return findings
}

// Selecting lists the ClusterCorsPolicies that select a namespace, sorted
// by name so that messages are stable.
func Selecting(ctx context.Context, c client.Reader, namespace string) ([]kubecorsv1alpha1.ClusterCorsPolicy, error) {
	all := &kubecorsv1alpha1.ClusterCorsPolicyList{}
	if err := c.List(ctx, all); err != nil {
		return nil, err
	}
	if len(all.Items) == 0 {
		return nil, nil
	}
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	nsLabels := ns.Labels
	if nsLabels == nil {
		// Every namespace carries its name as a label, even one being
		// created in the same request as the policy.
		nsLabels = map[string]string{corev1.LabelMetadataName: namespace}
	}
	selecting := slices.DeleteFunc(all.Items, func(ccp kubecorsv1alpha1.ClusterCorsPolicy) bool { return !Selects(&ccp, nsLabels) })
	slices.SortFunc(selecting, func(a, b kubecorsv1alpha1.ClusterCorsPolicy) int { return strings.Compare(a.Name, b.Name) })
	return selecting, nil
}
