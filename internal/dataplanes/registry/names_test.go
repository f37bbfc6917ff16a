package registry

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kubecors/kubecors/internal/corsrules"
)

// dataPlaneEnum is the kubebuilder Enum marker of DataPlaneMapping.DataPlane.
var dataPlaneEnum = regexp.MustCompile(`(?m)^\s*// \+kubebuilder:validation:Enum=(.*)\n\s*DataPlane string ` + "`" + `json:"dataPlane"` + "`")

// TestNameListsAreTheRegistrys checks the copies of the renderer names that
// cannot import the registry: the API package (its CRD enum, which must not
// import internal code) and corsrules (which the registry's data planes
// import). Each must list exactly the registry's Ingress renderers.
func TestNameListsAreTheRegistrys(t *testing.T) {
	want := RendererNames()
	if len(want) < 3 {
		t.Fatalf("the registry lists only %v", want)
	}
	source, err := os.ReadFile(filepath.Join("..", "..", "..", "api", "v1alpha1", "corspolicy_types.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := dataPlaneEnum.FindSubmatch(source)
	if m == nil {
		t.Fatal("no Enum marker on DataPlaneMapping.DataPlane in api/v1alpha1/corspolicy_types.go")
	}
	enum := strings.Split(string(m[1]), ";")
	slices.Sort(enum)
	if !slices.Equal(enum, want) {
		t.Errorf("DataPlaneMapping.DataPlane's Enum is %v, the registry's renderers are %v: "+
			"change the marker and run make manifests", enum, want)
	}
	rules := slices.Sorted(slices.Values(corsrules.DataPlanes))
	if !slices.Equal(rules, want) {
		t.Errorf("corsrules.DataPlanes is %v, the registry's renderers are %v", rules, want)
	}
}

// rbacTable is the README's table of the API access each data plane needs,
// as the registry's RBAC fields say it.
func rbacTable() string {
	var b strings.Builder
	b.WriteString("| data plane | API access the operator needs |\n|---|---|\n")
	for _, dp := range All() {
		b.WriteString("| `" + dp.Name + "` | " + strings.Join(dp.RBAC, "; ") + " |\n")
	}
	return b.String()
}

// TestREADMERBACTable keeps the README's RBAC table equal to the
// registry's: a data plane added without its row fails here, with the
// table to paste.
func TestREADMERBACTable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := rbacTable(); !strings.Contains(string(readme), want) {
		t.Errorf("README.md does not hold the RBAC table of the registry; paste this into its \"Adding a data plane\" section:\n%s", want)
	}
}
