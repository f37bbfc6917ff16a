package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/plan"
)

// AnnotationFilters lists, on an HTTPRoute, the digests of the filters
// kubecors inserted into its rules. spec.rules and rules[].filters are
// atomic lists without names for filters, so the digest is how kubecors
// finds its own filters again and tells them from the user's.
const AnnotationFilters = "kubecors.io/filters"

// filterDigest identifies a filter kubecors wrote by its content.
func filterDigest(f gatewayv1.HTTPRouteFilter) string {
	raw, _ := json.Marshal(f)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8])
}

// ownedFilter reports whether a filter of a route is one kubecors wrote.
func ownedFilter(route *gatewayv1.HTTPRoute, f gatewayv1.HTTPRouteFilter) bool {
	return slices.Contains(splitList(route.Annotations[AnnotationFilters]), filterDigest(f))
}

// setRouteFilters makes kubecors's filter the one in each rule of rules
// and removes it from every other rule, leaving every user filter, rule and
// their order intact. spec.rules is an atomic list, which server-side
// apply would take over whole, so the route is patched under a
// resourceVersion precondition and retried on conflict. A rule that
// already has a CORS filter the user wrote is a conflict: nothing is
// written. A nil filter removes kubecors's filters everywhere.
func (r *CorsPolicyReconciler) setRouteFilters(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy,
	route *gatewayv1.HTTPRoute, rules []int, filter *gatewayv1.HTTPRouteFilter) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		current := &gatewayv1.HTTPRoute{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(route), current); err != nil {
			return client.IgnoreNotFound(err)
		}
		next := current.DeepCopy()
		var conflicts []string
		for i := range next.Spec.Rules {
			filters := slices.DeleteFunc(next.Spec.Rules[i].Filters, func(f gatewayv1.HTTPRouteFilter) bool { return ownedFilter(current, f) })
			if filter != nil && slices.Contains(rules, i) {
				if slices.ContainsFunc(filters, func(f gatewayv1.HTTPRouteFilter) bool { return f.Type == gatewayv1.HTTPRouteFilterCORS }) {
					conflicts = append(conflicts, plan.DescribeRules(current, []int{i}))
				}
				filters = append(filters, *filter)
			}
			next.Spec.Rules[i].Filters = filters
		}
		if len(conflicts) > 0 {
			return &conflictError{message: fmt.Sprintf("%s of HTTPRoute %q already has a CORS filter that kubecors did not write; "+
				"kubecors leaves it alone: remove that filter to let the policy program the rule", strings.Join(conflicts, ", "), current.Name)}
		}
		setRouteMarkers(next, policy, filter)
		if equalJSON(current.Spec.Rules, next.Spec.Rules) && equalJSON(current.Annotations, next.Annotations) {
			return nil
		}
		return r.Patch(ctx, next, client.MergeFromWithOptions(current, client.MergeFromWithOptimisticLock{}), client.FieldOwner(FieldManager))
	})
}

// setRouteMarkers records on the route which policy wrote which filter, or
// removes the records when kubecors's filters are gone.
func setRouteMarkers(route *gatewayv1.HTTPRoute, policy *kubecorsv1alpha1.CorsPolicy, filter *gatewayv1.HTTPRouteFilter) {
	if filter == nil {
		delete(route.Annotations, AnnotationPolicy)
		delete(route.Annotations, AnnotationFilters)
		return
	}
	if route.Annotations == nil {
		route.Annotations = map[string]string{}
	}
	route.Annotations[AnnotationPolicy] = policy.Name
	route.Annotations[AnnotationFilters] = filterDigest(*filter)
}

// cleanupRoutes removes the policy's filters from every HTTPRoute that
// carries them but is not in keep.
func (r *CorsPolicyReconciler) cleanupRoutes(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, keep map[string]bool) error {
	if !r.gatewayAPIEnabled() {
		return nil
	}
	routes := &gatewayv1.HTTPRouteList{}
	if err := r.List(ctx, routes, client.InNamespace(policy.Namespace), client.MatchingFields{IndexPolicyMarker: policy.Name}); err != nil {
		return err
	}
	var failures []error
	for i := range routes.Items {
		route := &routes.Items[i]
		if keep[targetIndexKey(kubecorsv1alpha1.KindHTTPRoute, route.Name)] {
			continue
		}
		if err := r.setRouteFilters(ctx, policy, route, nil, nil); err != nil {
			failures = append(failures, r.cleanupFailed(ctx, policy, kubecorsv1alpha1.KindHTTPRoute, route.Name, err))
			continue
		}
		r.Recorder.Eventf(policy, route, "Normal", "CleanedUp", "Cleanup",
			"removed the CORS filters kubecors wrote on HTTPRoute %q", route.Name)
	}
	return errors.Join(failures...)
}
