package registry

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// ValidateCorsPolicy is what the validating webhook decides about a
// CorsPolicy before it reads any ClusterCorsPolicy, and what
// internal/policycheck runs offline: the rules of corsrules, then, for a
// policy that passes them, ValidateProgrammable.
func ValidateCorsPolicy(p *kubecorsv1alpha1.CorsPolicy) (field.ErrorList, []string) {
	errs, warnings := corsrules.ValidateCorsPolicy(p)
	if len(errs) > 0 {
		return errs, warnings
	}
	errs, programmable := ValidateProgrammable(&p.Spec)
	return errs, append(warnings, programmable...)
}

// ValidateProgrammable says what admission adds to the rules of corsrules
// for a policy the rules accept, from what every data plane's renderer
// would do with it. Admission and rendering then agree: a policy is
// refused when no data plane that could serve its targets (by kind) would
// program anything for it, and it is admitted with one warning per data
// plane that would program nothing, naming it and its reason. What a data
// plane would merely narrow is not warned about: which data plane serves a
// target is not known at admission, every target's status says what was
// narrowed, and kubectl cors explain --data-plane shows it beforehand.
func ValidateProgrammable(spec *kubecorsv1alpha1.CorsPolicySpec) (field.ErrorList, []string) {
	return validateProgrammable(All(), spec)
}

// validateProgrammable is ValidateProgrammable over a given list of data
// planes, so that the refusal can be tested although every data plane
// kubecors knows today programs some policy for each kind of target.
func validateProgrammable(planes []dataplanes.DataPlane, spec *kubecorsv1alpha1.CorsPolicySpec) (field.ErrorList, []string) {
	ingress, route := targetKinds(spec)
	var refusals []string
	programmable := false
	for _, dp := range planes {
		serves := ingress && dp.Ingress != nil || route && (dp.RenderRoute != nil || dp.RenderAttached != nil) || dp.Target != nil && targetsKind(spec, dp.Target.Kind())
		if dp.Check == nil || !serves {
			continue
		}
		refused, _ := dp.Check(dataplanes.Policy{Spec: *spec})
		if refused == "" {
			programmable = true
			continue
		}
		refusals = append(refusals, fmt.Sprintf("%s would program nothing for this policy: %s", dp.Name, refused))
	}
	if !programmable && len(refusals) > 0 {
		return field.ErrorList{field.Invalid(field.NewPath("spec", "allowOrigins"), originsOf(spec),
			"no data plane can program this policy: "+strings.Join(refusals, "; "))}, nil
	}
	return nil, refusals
}

// targetKinds reports which kinds of target the policy may select: the
// kinds its targetRefs name, or both when a label selector may select
// either.
func targetKinds(spec *kubecorsv1alpha1.CorsPolicySpec) (ingress, route bool) {
	if spec.TargetSelector != nil || len(spec.TargetRefs) == 0 {
		return true, true
	}
	for _, ref := range spec.TargetRefs {
		switch ref.Kind {
		case kubecorsv1alpha1.KindIngress:
			ingress = true
		case kubecorsv1alpha1.KindHTTPRoute, kubecorsv1alpha1.KindGateway:
			route = true
		}
	}
	return ingress, route
}

// targetsKind reports whether the policy may select targets of kind: by
// name in targetRefs, or by label.
func targetsKind(spec *kubecorsv1alpha1.CorsPolicySpec, kind string) bool {
	return spec.TargetSelector != nil || slices.ContainsFunc(spec.TargetRefs, func(ref kubecorsv1alpha1.PolicyTargetReference) bool { return ref.Kind == kind })
}

// originsOf writes spec.allowOrigins for a field error.
func originsOf(spec *kubecorsv1alpha1.CorsPolicySpec) string {
	origins := make([]string, len(spec.AllowOrigins))
	for i, o := range spec.AllowOrigins {
		origins[i] = string(o)
	}
	return strings.Join(origins, ", ")
}
