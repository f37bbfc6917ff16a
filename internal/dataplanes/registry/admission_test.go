package registry

import (
	"strings"
	"testing"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/envoygateway"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/kong"
)

func programmableSpec(kind string, origins ...kubecorsv1alpha1.Origin) *kubecorsv1alpha1.CorsPolicySpec {
	return &kubecorsv1alpha1.CorsPolicySpec{
		TargetRefs:   []kubecorsv1alpha1.PolicyTargetReference{{Kind: kind, Name: "web"}},
		AllowOrigins: origins,
	}
}

// TestValidateProgrammable checks each decision of admission about what
// the data planes would do, with today's data planes.
func TestValidateProgrammable(t *testing.T) {
	cases := []struct {
		name string
		spec *kubecorsv1alpha1.CorsPolicySpec
		// wantWarnings are the data planes the warnings name, in order.
		wantWarnings []string
	}{
		{"every data plane programs an exact origin: no warning",
			programmableSpec(kubecorsv1alpha1.KindIngress, "https://app.example.com"), nil},
		{"a port wildcard alone: ingress-nginx would program nothing, Traefik and HAProxy Ingress would",
			programmableSpec(kubecorsv1alpha1.KindIngress, "http://localhost:*"), []string{ingressnginx.Name}},
		{"a port wildcard alone on an HTTPRoute: only the HTTPRoute data planes are asked",
			programmableSpec(kubecorsv1alpha1.KindHTTPRoute, "http://localhost:*"), []string{envoygateway.Name, gatewayapi.Name}},
		{"a label selector may select either kind, so every data plane is asked",
			&kubecorsv1alpha1.CorsPolicySpec{AllowOrigins: []kubecorsv1alpha1.Origin{"http://[::1]:3000"}},
			[]string{envoygateway.Name, gatewayapi.Name, ingressnginx.Name, kong.Name}},
		{"what a data plane merely narrows is no warning",
			programmableSpec(kubecorsv1alpha1.KindIngress, "https://app.example.com", "http://localhost:*"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs, warnings := ValidateProgrammable(c.spec)
			if len(errs) > 0 {
				t.Fatalf("refused: %v", errs)
			}
			if len(warnings) != len(c.wantWarnings) {
				t.Fatalf("warnings %q, want one for each of %v", warnings, c.wantWarnings)
			}
			for i, dp := range c.wantWarnings {
				if !strings.HasPrefix(warnings[i], dp+" would program nothing for this policy: ") {
					t.Errorf("warning %q does not name %s", warnings[i], dp)
				}
			}
		})
	}
}

// TestValidateProgrammableRefusesWhatNoDataPlaneCanProgram checks the
// refusal, which no data plane of today's registry triggers (Traefik and
// HAProxy Ingress program every valid policy), with the registry's
// ingress-nginx and Gateway API entries alone.
func TestValidateProgrammableRefusesWhatNoDataPlaneCanProgram(t *testing.T) {
	planes := []dataplanes.DataPlane{gatewayapi.DataPlane(), ingressnginx.DataPlane()}
	errs, warnings := validateProgrammable(planes, &kubecorsv1alpha1.CorsPolicySpec{AllowOrigins: []kubecorsv1alpha1.Origin{"http://localhost:*"}})
	if len(errs) != 1 || len(warnings) > 0 {
		t.Fatalf("errors %v, warnings %v: want one error and no warning", errs, warnings)
	}
	msg := errs[0].Error()
	for _, want := range []string{"spec.allowOrigins", "no data plane can program this policy", gatewayapi.Name + " would program nothing", ingressnginx.Name + " would program nothing"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error %q does not say %q", msg, want)
		}
	}
	if errs, _ := validateProgrammable(planes, programmableSpec(kubecorsv1alpha1.KindIngress, "https://app.example.com")); len(errs) > 0 {
		t.Errorf("refused a policy both data planes program: %v", errs)
	}
}
