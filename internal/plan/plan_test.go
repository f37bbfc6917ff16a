package plan

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// snapshotOptions is an optional document of an input file that sets what
// the objects cannot say.
type snapshotOptions struct {
	// GatewayAPI is false when the Gateway API CRDs are not served.
	GatewayAPI *bool `json:"gatewayAPI,omitempty"`
	// UnservedKinds lists target kinds whose CRDs are not served.
	UnservedKinds []string `json:"unservedKinds,omitempty"`
}

// readSnapshot reads a multi-document input file: the first CorsPolicy is
// the policy being reconciled, and every CorsPolicy competes for targets;
// every ClusterCorsPolicy selects the namespace.
func readSnapshot(t *testing.T, path string) Snapshot {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := Snapshot{GatewayAPI: true, Objects: map[string][]unstructured.Unstructured{}, ServedKinds: map[string]bool{}}
	for _, dp := range registry.TargetKinds() {
		s.ServedKinds[dp.Target.Kind()] = true
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var raw map[string]any
		if err := decoder.Decode(&raw); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("%s: %v", path, err)
		}
		if raw == nil {
			continue
		}
		doc, _ := yaml.Marshal(raw)
		strict := func(into any) {
			if err := yaml.UnmarshalStrict(doc, into); err != nil {
				t.Fatalf("%s: %v\n%s", path, err, doc)
			}
		}
		switch raw["kind"] {
		case "SnapshotOptions":
			var o struct {
				Kind string `json:"kind"`
				snapshotOptions
			}
			strict(&o)
			if o.GatewayAPI != nil {
				s.GatewayAPI = *o.GatewayAPI
			}
			for _, kind := range o.UnservedKinds {
				s.ServedKinds[kind] = false
			}
		case "CorsPolicy":
			appendDoc(strict, &s.Policies)
		case "ClusterCorsPolicy":
			appendDoc(strict, &s.ClusterPolicies)
		case "Ingress":
			appendDoc(strict, &s.Ingresses)
		case "IngressClass":
			appendDoc(strict, &s.IngressClasses)
		case "HTTPRoute":
			appendDoc(strict, &s.HTTPRoutes)
		case "Gateway":
			appendDoc(strict, &s.Gateways)
		case "GatewayClass":
			appendDoc(strict, &s.GatewayClasses)
		default:
			kind, _ := raw["kind"].(string)
			if _, ok := registry.ForTargetKind(kind); !ok {
				t.Fatalf("%s: unexpected kind %v", path, raw["kind"])
			}
			s.Objects[kind] = append(s.Objects[kind], unstructured.Unstructured{Object: raw})
		}
	}
	if len(s.Policies) == 0 {
		t.Fatalf("%s: no CorsPolicy", path)
	}
	s.Policy = &s.Policies[0]
	// The controller passes the routes attached to the Gateways the policy
	// names; the plan picks them out of all routes here.
	s.AttachedRoutes = s.HTTPRoutes
	return s
}

// appendDoc decodes the current document into a new element of list.
func appendDoc[T any](strict func(any), list *[]T) {
	var o T
	strict(&o)
	*list = append(*list, o)
}

// goldenPlan is a plan as the golden files show it.
type goldenPlan struct {
	Verdict Acceptance                        `json:"verdict"`
	Targets []goldenTarget                    `json:"targets,omitempty"`
	Status  kubecorsv1alpha1.CorsPolicyStatus `json:"status"`
}

type goldenTarget struct {
	Result  Result         `json:"result"`
	Ingress *goldenIngress `json:"ingressWrite,omitempty"`
	Route   *goldenRoute   `json:"routeWrite,omitempty"`
	// Routes and Attached are a Gateway target's writes.
	Routes   []*goldenRoute `json:"routeWrites,omitempty"`
	Attached map[string]any `json:"attached,omitempty"`
	Object   *goldenObject  `json:"objectWrite,omitempty"`
}

type goldenObject struct {
	Kind string         `json:"kind"`
	Name string         `json:"name"`
	CORS map[string]any `json:"cors"`
}

type goldenIngress struct {
	Ingress     string            `json:"ingress"`
	Annotations map[string]string `json:"annotations"`
	ListEntries []string          `json:"listEntries,omitempty"`
	SharedList  string            `json:"sharedList,omitempty"`
	Objects     []map[string]any  `json:"objects,omitempty"`
}

type goldenRoute struct {
	Route      string                    `json:"route"`
	Rules      []int                     `json:"rules"`
	Filter     gatewayv1.HTTPRouteFilter `json:"filter"`
	Middleware map[string]any            `json:"middleware,omitempty"`
	Attached   map[string]any            `json:"attached,omitempty"`
}

func toGoldenRoute(w *RouteWrite) *goldenRoute {
	g := &goldenRoute{Route: w.Route.Name, Rules: w.Rules, Filter: w.Filter}
	if w.Middleware != nil {
		g.Middleware = w.Middleware.Object
	}
	if w.Attached != nil {
		g.Attached = w.Attached.Object
	}
	return g
}

// statusTime stands in for the clock in golden statuses.
var statusTime = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))

func toGoldenPlan(s Snapshot, p Plan) goldenPlan {
	g := goldenPlan{Verdict: p.Verdict}
	results := make([]Result, 0, len(p.Targets))
	for _, t := range p.Targets {
		gt := goldenTarget{Result: t.Result}
		if w := t.Ingress; w != nil {
			gt.Ingress = &goldenIngress{Ingress: w.Ingress.Name, Annotations: w.Config.Annotations, ListEntries: w.Config.ListEntries}
			if w.Config.SharedList != nil {
				gt.Ingress.SharedList = w.Config.SharedList.Key
			}
			for _, o := range w.Config.Objects {
				gt.Ingress.Objects = append(gt.Ingress.Objects, o.Object)
			}
		}
		if w := t.Route; w != nil {
			gt.Route = toGoldenRoute(w)
		}
		for _, w := range t.Routes {
			gt.Routes = append(gt.Routes, toGoldenRoute(w))
		}
		if t.Attached != nil {
			gt.Attached = t.Attached.Object
		}
		if w := t.Object; w != nil {
			gt.Object = &goldenObject{Kind: w.Kind.Kind(), Name: w.Object.GetName(), CORS: w.Change.CORS}
		}
		g.Targets = append(g.Targets, gt)
		results = append(results, t.Result)
	}
	g.Status = Status(s.Policy, p.Verdict, results, statusTime)
	return g
}

// TestPlanGolden computes the plan of each testdata/*.in.yaml snapshot and
// compares it with the .out.yaml beside it; go test -update rewrites them.
func TestPlanGolden(t *testing.T) {
	renderers, err := registry.NewRegistry(map[string]string{"example.com/nginx-fork": ingressnginx.Name})
	if err != nil {
		t.Fatal(err)
	}
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.in.yaml"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			s := readSnapshot(t, in)
			got, err := yaml.Marshal(toGoldenPlan(s, Compute(s, renderers)))
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
				t.Fatalf("%v (run go test ./internal/plan -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("plan of %s differs from %s (-want +got):\n%s", in, out, diff)
			}
		})
	}
}
