package render

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// targetName names the Ingress that test policies target when they do not
// say.
const targetName = "web"

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// goldenConfig is an IngressConfig as the golden files show it: lowercase
// keys, empty fields left out, maps sorted by the YAML encoder.
type goldenConfig struct {
	Annotations map[string]string `json:"annotations,omitempty"`
	Objects     []map[string]any  `json:"objects,omitempty"`
	Middlewares []string          `json:"middlewares,omitempty"`
	Narrowed    []goldenNarrowing `json:"narrowed,omitempty"`
	Refused     string            `json:"refused,omitempty"`
}

type goldenNarrowing struct {
	Field  string `json:"field"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

func toGolden(c IngressConfig) goldenConfig {
	g := goldenConfig{Annotations: c.Annotations, Middlewares: c.Middlewares, Refused: c.Refused}
	for _, o := range c.Objects {
		g.Objects = append(g.Objects, o.Object)
	}
	for _, n := range c.Narrowed {
		g.Narrowed = append(g.Narrowed, goldenNarrowing(n))
	}
	return g
}

// readPolicy reads a CorsPolicy document and checks that the rules accept
// it: renderers only ever see accepted policies.
func readPolicy(t *testing.T, path string) (Policy, IngressTarget) {
	t.Helper()
	data, err := os.ReadFile(path)
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
	target := IngressTarget{Namespace: namespace, Name: targetName}
	if len(cp.Spec.TargetRefs) > 0 {
		target.Name = cp.Spec.TargetRefs[0].Name
	}
	return Policy{Namespace: namespace, Name: cp.Name, Spec: cp.Spec}, target
}

// TestGolden renders every testdata/<renderer>/*.in.yaml policy with that
// renderer and compares the result with *.out.yaml. Run with -update to
// rewrite the golden files after an intended change, and review the diff.
func TestGolden(t *testing.T) {
	registry, err := NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range RendererNames() {
		renderer, _ := registry.ByName(name)
		inputs, err := filepath.Glob(filepath.Join("testdata", name, "*.in.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(inputs) == 0 {
			t.Errorf("renderer %s has no golden tests in testdata/%s", name, name)
		}
		for _, in := range inputs {
			t.Run(name+"/"+strings.TrimSuffix(filepath.Base(in), ".in.yaml"), func(t *testing.T) {
				policy, target := readPolicy(t, in)
				config := renderer.RenderIngress(policy, target)
				checkConfig(t, name, config)
				compareGolden(t, in, toGolden(config))
			})
		}
	}
}

// anchoredRegex is the shape of every regular expression kubecors writes:
// anchored at both ends.
var anchoredRegex = regexp.MustCompile(`^\^.*\$$`)

// checkConfig asserts what must hold for every rendered configuration,
// whatever the policy: data-plane input validation passes, a refusal writes
// nothing, and rendered regexes are anchored.
func checkConfig(t *testing.T, renderer string, c IngressConfig) {
	t.Helper()
	if c.Refused != "" {
		if len(c.Annotations) > 0 || len(c.Objects) > 0 || len(c.Middlewares) > 0 || len(c.Narrowed) > 0 {
			t.Errorf("refused (%s) but other fields are set: %v %v %v %v", c.Refused, c.Annotations, c.Objects, c.Middlewares, c.Narrowed)
		}
		return
	}
	for _, n := range c.Narrowed {
		if n.Field == "" || n.Value == "" || n.Reason == "" {
			t.Errorf("incomplete narrowing %+v", n)
		}
	}
	var problems []string
	switch renderer {
	case RendererIngressNginx:
		problems = nginxValueProblems(c.Annotations)
	case RendererHAProxyIngress:
		problems = haproxyValueProblems(c.Annotations)
	case RendererTraefik:
		problems = traefikProblems(c)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// traefikProblems checks the Middleware: the reference matches it, it is
// labelled, and every origin regex compiles and is anchored.
func traefikProblems(c IngressConfig) []string {
	var problems []string
	if len(c.Objects) != 1 || len(c.Middlewares) != 1 || len(c.Annotations) != 0 {
		return []string{"want exactly one Middleware, one reference and no annotation"}
	}
	m := c.Objects[0]
	if want := m.GetNamespace() + "-" + m.GetName() + "@kubernetescrd"; c.Middlewares[0] != want {
		problems = append(problems, "reference "+c.Middlewares[0]+" does not name "+want)
	}
	if m.GetLabels()[LabelManagedBy] != ManagedByKubecors || m.GetLabels()[LabelPolicy] == "" {
		problems = append(problems, "Middleware lacks the kubecors labels")
	}
	regexes, _, _ := unstructured.NestedStringSlice(m.Object, "spec", "headers", "accessControlAllowOriginListRegex")
	for _, re := range regexes {
		if _, err := regexp.Compile(re); err != nil || !anchoredRegex.MatchString(re) {
			problems = append(problems, "origin regex "+re+" does not compile or is not anchored")
		}
	}
	return problems
}

// compareGolden compares the YAML of a rendered configuration with the
// .out.yaml file next to the input in, or writes that file with -update.
func compareGolden(t *testing.T, in string, rendered any) {
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
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/render/ -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the rendered config (run with -update and review the diff):\n--- want\n%s\n--- got\n%s", out, want, got)
	}
}
