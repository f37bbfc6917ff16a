package install

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

// project is the part of kubebuilder's PROJECT file (version 3) that
// kubebuilder's commands read.
type project struct {
	Domain      string            `json:"domain"`
	Layout      []string          `json:"layout"`
	ProjectName string            `json:"projectName"`
	Repo        string            `json:"repo"`
	Resources   []projectResource `json:"resources"`
	Version     string            `json:"version"`
}

type projectResource struct {
	API *struct {
		CRDVersion string `json:"crdVersion"`
		Namespaced bool   `json:"namespaced"`
	} `json:"api"`
	Controller bool   `json:"controller"`
	Domain     string `json:"domain"`
	Group      string `json:"group"`
	Kind       string `json:"kind"`
	Path       string `json:"path"`
	Version    string `json:"version"`
	Webhooks   *struct {
		Defaulting     bool   `json:"defaulting"`
		Validation     bool   `json:"validation"`
		Conversion     bool   `json:"conversion"`
		WebhookVersion string `json:"webhookVersion"`
	} `json:"webhooks"`
}

// tree is what the repository really holds, which PROJECT must describe.
type tree struct {
	module      string
	crds        []apiextensionsv1.CustomResourceDefinition
	validated   map[string]bool // plural resources with a validating webhook
	reconcilers map[string]bool // kinds with a <Kind>Reconciler in controllers/
}

// checkProject returns every way p disagrees with t.
func checkProject(p project, t tree) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, sprintf(format, args...)) }
	if p.Version != "3" {
		add("version %q, want \"3\"", p.Version)
	}
	if !slices.Contains(p.Layout, "go.kubebuilder.io/v4") {
		add("layout %v lacks go.kubebuilder.io/v4", p.Layout)
	}
	if p.Repo != t.module {
		add("repo %q, but go.mod says module %q", p.Repo, t.module)
	}
	if p.ProjectName != "kubecors" {
		add("projectName %q, want \"kubecors\"", p.ProjectName)
	}
	seen := map[string]bool{}
	for _, r := range p.Resources {
		seen[r.Kind] = true
		crd := findCRD(t.crds, r.Kind)
		if crd == nil {
			add("resource %s has no CRD in config/crd/bases", r.Kind)
			continue
		}
		if group := r.Group + "." + r.Domain; group != crd.Spec.Group {
			add("resource %s: group %q + domain %q make %q, but the CRD's group is %q",
				r.Kind, r.Group, r.Domain, group, crd.Spec.Group)
		}
		if r.Domain != p.Domain {
			add("resource %s: domain %q, but the project's is %q", r.Kind, r.Domain, p.Domain)
		}
		served := func(v apiextensionsv1.CustomResourceDefinitionVersion) bool { return v.Name == r.Version && v.Served }
		if !slices.ContainsFunc(crd.Spec.Versions, served) {
			add("resource %s: version %s is not served by its CRD", r.Kind, r.Version)
		}
		if want := t.module + "/api/" + r.Version; r.Path != want {
			add("resource %s: path %q, want %q", r.Kind, r.Path, want)
		}
		if r.API == nil || r.API.CRDVersion != "v1" {
			add("resource %s: api.crdVersion must be v1", r.Kind)
		} else if namespaced := crd.Spec.Scope == apiextensionsv1.NamespaceScoped; r.API.Namespaced != namespaced {
			add("resource %s: api.namespaced %v, but the CRD is %s-scoped", r.Kind, r.API.Namespaced, crd.Spec.Scope)
		}
		if r.Controller != t.reconcilers[r.Kind] {
			add("resource %s: controller %v, but controllers/ %s %sReconciler",
				r.Kind, r.Controller, has(t.reconcilers[r.Kind]), r.Kind)
		}
		validation := r.Webhooks != nil && r.Webhooks.Validation
		if validation != t.validated[crd.Spec.Names.Plural] {
			add("resource %s: webhooks.validation %v, but config/webhook/manifests.yaml %s a validating webhook for %s",
				r.Kind, validation, has(t.validated[crd.Spec.Names.Plural]), crd.Spec.Names.Plural)
		}
		if r.Webhooks != nil && (r.Webhooks.Defaulting || r.Webhooks.Conversion) {
			add("resource %s: kubecors has no defaulting or conversion webhooks", r.Kind)
		}
		if r.Webhooks != nil && r.Webhooks.WebhookVersion != "v1" {
			add("resource %s: webhooks.webhookVersion must be v1", r.Kind)
		}
	}
	for _, crd := range t.crds {
		if !seen[crd.Spec.Names.Kind] {
			add("CRD %s has no resource in PROJECT", crd.Name)
		}
	}
	return problems
}

func has(b bool) string {
	if b {
		return "has"
	}
	return "has no"
}

func findCRD(crds []apiextensionsv1.CustomResourceDefinition, kind string) *apiextensionsv1.CustomResourceDefinition {
	for i := range crds {
		if crds[i].Spec.Names.Kind == kind {
			return &crds[i]
		}
	}
	return nil
}

// readTree reads the module path, the generated CRDs and webhook
// configuration, and the reconciler types of controllers/.
func readTree(t *testing.T) tree {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	tr := tree{module: modulePath(gomod), validated: map[string]bool{}, reconcilers: map[string]bool{}}

	files, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	for _, f := range files {
		var crd apiextensionsv1.CustomResourceDefinition
		readYAML(t, f, &crd)
		tr.crds = append(tr.crds, crd)
	}

	// manifests.yaml is controller-gen's rendering of the webhook markers.
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	readYAML(t, filepath.Join(repoRoot, "config", "webhook", "manifests.yaml"), &vwc)
	for _, w := range vwc.Webhooks {
		for _, rule := range w.Rules {
			for _, res := range rule.Resources {
				tr.validated[res] = true
			}
		}
	}

	sources, err := filepath.Glob(filepath.Join(repoRoot, "controllers", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range sources {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if kind, ok := strings.CutSuffix(ts.Name.Name, "Reconciler"); ok {
					tr.reconcilers[kind] = true
				}
			}
			return true
		})
	}
	return tr
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// controller-gen starts its files with a document separator.
	raw = []byte(strings.TrimPrefix(string(raw), "---\n"))
	if err := yaml.Unmarshal(raw, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestProjectFile checks that PROJECT describes the tree: one resource per
// CRD, with its group, version, scope, controller and webhooks.
func TestProjectFile(t *testing.T) {
	var p project
	raw, err := os.ReadFile(filepath.Join(repoRoot, "PROJECT"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, &p); err != nil {
		t.Fatalf("PROJECT: %v", err)
	}
	tr := readTree(t)
	if len(p.Resources) != len(tr.crds) {
		t.Errorf("PROJECT lists %d resources, config/crd/bases holds %d CRDs", len(p.Resources), len(tr.crds))
	}
	for _, problem := range checkProject(p, tr) {
		t.Errorf("PROJECT: %s", problem)
	}
}

// TestCheckProjectFindsDrift makes sure the check above can fail: each
// edit of a correct PROJECT is reported with its own message.
func TestCheckProjectFindsDrift(t *testing.T) {
	var good project
	raw, err := os.ReadFile(filepath.Join(repoRoot, "PROJECT"))
	if err != nil {
		t.Fatal(err)
	}
	tr := readTree(t)
	tests := []struct {
		name string
		edit func(p *project)
		want string
	}{
		{"group that is not the CRD's",
			func(p *project) { p.Resources[0].Group = "cors" },
			`make "cors.io", but the CRD's group is "kubecors.io"`},
		{"cluster-scoped kind declared namespaced",
			func(p *project) { p.Resources[1].API.Namespaced = true },
			"api.namespaced true, but the CRD is Cluster-scoped"},
		{"webhook that does not exist",
			func(p *project) { p.Resources[0].Webhooks.Defaulting = true },
			"no defaulting or conversion webhooks"},
		{"missing validation webhook",
			func(p *project) { p.Resources[1].Webhooks = nil },
			"webhooks.validation false, but config/webhook/manifests.yaml has a validating webhook for clustercorspolicies"},
		{"kind without a CRD",
			func(p *project) { p.Resources[0].Kind = "CorsGadget" },
			"resource CorsGadget has no CRD"},
		{"forgotten resource",
			func(p *project) { p.Resources = p.Resources[:1] },
			"has no resource in PROJECT"},
		{"wrong repo",
			func(p *project) { p.Repo = "github.com/example/kubecors" },
			`but go.mod says module "github.com/kubecors/kubecors"`},
		{"wrong api path",
			func(p *project) { p.Resources[0].Path = "github.com/kubecors/kubecors/apis/v1alpha1" },
			`want "github.com/kubecors/kubecors/api/v1alpha1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good = project{}
			if err := yaml.Unmarshal(raw, &good); err != nil {
				t.Fatal(err)
			}
			tt.edit(&good)
			problems := checkProject(good, tr)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one containing %q", problems, tt.want)
			}
		})
	}
	tr.reconcilers["CorsPolicy"] = false
	good = project{}
	_ = yaml.Unmarshal(raw, &good)
	if problems := checkProject(good, tr); !slices.ContainsFunc(problems, func(p string) bool {
		return strings.Contains(p, "controller true, but controllers/ has no CorsPolicyReconciler")
	}) {
		t.Errorf("a controller PROJECT claims but the tree lacks went unnoticed: %q", problems)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// modulePath returns the module path of a go.mod file.
func modulePath(gomod []byte) string {
	for line := range strings.Lines(string(gomod)) {
		if path, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(path), `"`)
		}
	}
	return ""
}
