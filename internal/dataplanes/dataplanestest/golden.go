// Package dataplanestest holds the golden-file helpers every data plane's
// tests share: each folder's testdata/golden/*.in.yaml policy is rendered
// and compared with *.out.yaml beside it.
package dataplanestest

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// TargetName names the Ingress that test policies target when they do not
// say.
const TargetName = "web"

// GoldenDir is where a data plane's golden files live, relative to its
// package.
var GoldenDir = filepath.Join("testdata", "golden")

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden from the current output")

// GoldenConfig is an IngressConfig as the golden files show it: lowercase
// keys, empty fields left out, maps sorted by the YAML encoder.
type GoldenConfig struct {
	Annotations map[string]string `json:"annotations,omitempty"`
	Objects     []map[string]any  `json:"objects,omitempty"`
	ListEntries []string          `json:"listEntries,omitempty"`
	SharedList  string            `json:"sharedList,omitempty"`
	Narrowed    []GoldenNarrowing `json:"narrowed,omitempty"`
	Refused     string            `json:"refused,omitempty"`
}

// GoldenNarrowing is a Narrowing as the golden files show it.
type GoldenNarrowing struct {
	Field  string `json:"field"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// ToGolden converts a rendered configuration for its golden file.
func ToGolden(c dataplanes.IngressConfig) GoldenConfig {
	g := GoldenConfig{Annotations: c.Annotations, ListEntries: c.ListEntries, Refused: c.Refused}
	if c.SharedList != nil {
		g.SharedList = c.SharedList.Key
	}
	for _, o := range c.Objects {
		g.Objects = append(g.Objects, o.Object)
	}
	for _, n := range c.Narrowed {
		g.Narrowed = append(g.Narrowed, GoldenNarrowing(n))
	}
	return g
}

// Inputs lists the package's golden inputs, failing the test when there
// are none: a data plane without golden tests is a gap.
func Inputs(t *testing.T) []string {
	t.Helper()
	inputs, err := filepath.Glob(filepath.Join(GoldenDir, "*.in.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatalf("no golden tests in %s", GoldenDir)
	}
	return inputs
}

// CaseName is a golden input's test name: its file name without suffix.
func CaseName(in string) string {
	return strings.TrimSuffix(filepath.Base(in), ".in.yaml")
}

// ReadPolicy reads a CorsPolicy document and checks that the rules accept
// it: renderers only ever see accepted policies.
func ReadPolicy(t *testing.T, path string) (dataplanes.Policy, dataplanes.IngressTarget) {
	t.Helper()
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	var cp kubecorsv1alpha1.CorsPolicy
	if err := yaml.UnmarshalStrict(data, &cp); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if errs, _ := corsrules.ValidateCorsPolicy(&cp); len(errs) > 0 {
		t.Fatalf("%s is not an accepted policy: %v", path, errs)
	}
	namespace := cp.Namespace
	if namespace == "" {
		namespace = "default"
	}
	target := dataplanes.IngressTarget{Namespace: namespace, Name: TargetName}
	if len(cp.Spec.TargetRefs) > 0 {
		target.Name = cp.Spec.TargetRefs[0].Name
	}
	return dataplanes.Policy{Namespace: namespace, Name: cp.Name, Spec: cp.Spec}, target
}

// AnchoredRegex is the shape of every regular expression kubecors writes:
// anchored at both ends.
var AnchoredRegex = regexp.MustCompile(`^\^.*\$$`)

// CheckConfig asserts what must hold for every rendered configuration,
// whatever the policy and data plane: a refusal writes nothing, every
// narrowing is complete, and the data plane's own problems (its input
// validation, computed by the caller) are none.
func CheckConfig(t *testing.T, c dataplanes.IngressConfig, problems func(dataplanes.IngressConfig) []string) {
	t.Helper()
	if c.Refused != "" {
		if len(c.Annotations) > 0 || len(c.Objects) > 0 || len(c.ListEntries) > 0 || len(c.Narrowed) > 0 {
			t.Errorf("refused (%s) but other fields are set: %v %v %v %v", c.Refused, c.Annotations, c.Objects, c.ListEntries, c.Narrowed)
		}
		return
	}
	for _, n := range c.Narrowed {
		if n.Field == "" || n.Value == "" || n.Reason == "" {
			t.Errorf("incomplete narrowing %+v", n)
		}
	}
	for _, p := range problems(c) {
		t.Error(p)
	}
}

// CompareGolden compares the YAML of a rendered configuration with the
// .out.yaml file next to the input in, or writes that file with -update.
func CompareGolden(t *testing.T, in string, rendered any) {
	t.Helper()
	got, err := yaml.Marshal(rendered)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSuffix(in, ".in.yaml") + ".out.yaml"
	if *update {
		if err := os.WriteFile(out, got, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(filepath.Clean(out))
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the rendered config (run with -update and review the diff):\n--- want\n%s\n--- got\n%s", out, want, got)
	}
}

// RunGolden renders every golden input of the package with an Ingress
// renderer, checks the configuration with CheckConfig and the data plane's
// problems, and compares it with its golden file.
func RunGolden(t *testing.T, renderer dataplanes.IngressRenderer, problems func(dataplanes.IngressConfig) []string) {
	t.Helper()
	for _, in := range Inputs(t) {
		t.Run(CaseName(in), func(t *testing.T) {
			policy, target := ReadPolicy(t, in)
			config := renderer.RenderIngress(policy, target)
			CheckConfig(t, config, problems)
			CompareGolden(t, in, ToGolden(config))
		})
	}
}

// GoldenTargetChange is a TargetChange as the golden files show it.
type GoldenTargetChange struct {
	CORS     map[string]any    `json:"cors,omitempty"`
	Narrowed []GoldenNarrowing `json:"narrowed,omitempty"`
	Refused  string            `json:"refused,omitempty"`
}

// RunTargetGolden renders every golden input of the package for the
// target kind's sample object, checks that a refusal writes nothing and
// every narrowing is complete, that the data plane reads the rendered
// configuration back without a problem, and compares the result with its
// golden file.
func RunTargetGolden(t *testing.T, kind dataplanes.TargetKind) {
	t.Helper()
	for _, in := range Inputs(t) {
		t.Run(CaseName(in), func(t *testing.T) {
			policy, target := ReadPolicy(t, in)
			obj := kind.Sample()
			obj.SetNamespace(target.Namespace)
			obj.SetName(target.Name)
			change := kind.Render(policy, obj)
			CheckConfig(t, dataplanes.IngressConfig{Narrowed: change.Narrowed, Refused: change.Refused}, func(dataplanes.IngressConfig) []string { return nil })
			if change.Refused == "" {
				if change.CORS == nil {
					t.Fatal("neither a configuration nor a refusal")
				}
				if err := kind.Apply(obj, change, false); err != nil {
					t.Fatal(err)
				}
				for _, s := range kind.Read(obj) {
					for _, p := range s.Problems {
						t.Errorf("the data plane would not take the rendered configuration: %s", p)
					}
				}
			}
			g := GoldenTargetChange{CORS: change.CORS, Refused: change.Refused}
			for _, n := range change.Narrowed {
				g.Narrowed = append(g.Narrowed, GoldenNarrowing(n))
			}
			CompareGolden(t, in, g)
		})
	}
}
