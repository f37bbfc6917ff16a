package gatewayapi

import (
	"flag"
	"testing"

	"pgregory.net/rapid"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

// TestHostilePolicyRouteFilter is the HTTPRoute side of the hostile-input
// property: whatever a policy holds (admission bypassed), the filter the
// Gateway API renderer and Traefik's ExtensionRef path write passes the
// HTTPRoute CRD of both channels, or nothing is written.
func TestHostilePolicyRouteFilter(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue {
		// Each check validates against two CRDs with CEL: fewer than the
		// annotation property draws.
		if err := f.Value.Set("300"); err != nil {
			t.Fatal(err)
		}
	}
	crds := loadGatewayCRDs(t)
	var written int
	rapid.Check(t, func(rt *rapid.T) {
		policy := dataplanes.Policy{Namespace: "shop", Name: "storefront", Spec: dataplanestest.HostileSpec(rt)}
		for _, plane := range []dataplanes.DataPlane{DataPlane(), traefik.DataPlane()} {
			c := plane.RenderRoute(policy, "shop")
			if c.Refused != "" {
				if c.Filter.CORS != nil || c.Filter.ExtensionRef != nil || c.Object != nil {
					rt.Fatalf("%s refused (%s) yet writes a filter %+v", plane.Name, c.Refused, c.Filter)
				}
				continue
			}
			written++
			for _, crd := range crds {
				if errs := crd.validateRouteFilter(c.Filter); len(errs) > 0 {
					rt.Fatalf("%s: the %s-channel HTTPRoute CRD rejects the filter %+v: %v", plane.Name, crd.channel, c.Filter, errs)
				}
			}
		}
	})
	if written == 0 {
		t.Error("no filter was written: the property checked nothing")
	}
}
