package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/haproxyingress"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/kong"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
	"github.com/kubecors/kubecors/internal/resolve"
	"github.com/kubecors/kubecors/internal/testenv"
)

// TestCluster runs audit, explain and status against a real kube-apiserver
// (envtest) holding a fixture of hand-written CORS configurations of every
// kind, kubecors-written ones, and policies with their status. One control
// plane serves every subtest, because starting one takes seconds.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("envtest starts a kube-apiserver and etcd")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths: []string{
			filepath.Join("..", "..", "config", "crd", "bases"),
			filepath.Join("..", "..", "test", "crds", "traefik"),
			filepath.Join("..", "..", "test", "crds", "kong"),
			filepath.Join("..", "..", "test", "crds", "envoy-gateway"),
			filepath.Join("..", "..", "test", "crds", "gateway-api", "standard"),
			filepath.Join("..", "..", "test", "crds", "istio"),
			filepath.Join("..", "..", "test", "crds", "contour"),
		},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: testenv.BinaryAssetsDir(),
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := kubecorsv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	createFixture(t, c)

	user, err := env.AddUser(envtest.User{Name: "kubectl-cors-test", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfigData, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, kubeconfigData, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("audit", func(t *testing.T) { testAudit(t, kubeconfig) })
	t.Run("explain", func(t *testing.T) { testExplainCluster(t, kubeconfig) })
	t.Run("status", func(t *testing.T) { testStatus(t, kubeconfig) })
	t.Run("migrate", func(t *testing.T) { testMigrateCluster(t, c, kubeconfig) })
}

// createFixture writes the objects every cluster test reads.
func createFixture(t *testing.T, c client.Client) {
	t.Helper()
	ctx := context.Background()
	create := func(obj client.Object) {
		t.Helper()
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
	for _, ns := range []string{"demo", "quiet"} {
		create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	for name, controller := range map[string]string{"nginx": "k8s.io/ingress-nginx", "traefik": "traefik.io/ingress-controller",
		"haproxy": "haproxy-ingress.github.io/controller", "kong": kong.Controller} {
		class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
		if name == "nginx" {
			class.Annotations = map[string]string{resolve.DefaultIngressClassAnnotation: "true"}
		}
		create(class)
	}
	ingress := func(namespace, name, class string, annotations map[string]string) *networkingv1.Ingress {
		ing := &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Annotations: annotations},
			Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}}}},
		}
		if class != "" {
			ing.Spec.IngressClassName = &class
		}
		return ing
	}
	// The acceptance case: enable-cors alone, on the default class.
	create(ingress("demo", "open", "", map[string]string{ingressnginx.EnableCors: "true"}))
	// A trailing slash fails ingress-nginx's validation: "*" instead.
	create(ingress("demo", "fallback", "nginx", map[string]string{ingressnginx.EnableCors: "true",
		ingressnginx.AllowOrigin: "https://app.example.com/", ingressnginx.AllowCredentials: "true", ingressnginx.MaxAge: "3600"}))
	create(ingress("demo", "listed", "nginx", map[string]string{ingressnginx.EnableCors: "true",
		ingressnginx.AllowOrigin: "https://app.example.com, http://intranet.example.com", ingressnginx.AllowMethods: "GET, PUT",
		ingressnginx.AllowHeaders: "Content-Type, X-Request-Id", ingressnginx.AllowCredentials: "true", ingressnginx.MaxAge: "600"}))
	create(ingress("demo", "nullish", "nginx", map[string]string{ingressnginx.EnableCors: "true",
		ingressnginx.AllowOrigin: "null, https://*.github.io", ingressnginx.MaxAge: "7200"}))
	create(ingress("demo", "haproxy-app", "haproxy", map[string]string{haproxyingress.CorsEnable: "true",
		haproxyingress.AllowOrigin: "https://app.example.com", haproxyingress.AllowOriginRegex: `example\.org`,
		haproxyingress.AllowCredentials: "true", ingressnginx.EnableCors: "true"}))
	create(ingress("demo", "traefik-app", "traefik", map[string]string{
		traefik.MiddlewaresAnnotation: "demo-reflect@kubernetescrd"}))
	create(ingress("quiet", "plain", "nginx", map[string]string{ingressnginx.EnableCors: "true",
		ingressnginx.AllowOrigin: "https://app.example.com", ingressnginx.AllowCredentials: "false", ingressnginx.MaxAge: "600"}))

	reflect := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
		"metadata": map[string]any{"namespace": "demo", "name": "reflect"},
		"spec": map[string]any{"headers": map[string]any{
			"accessControlAllowOriginListRegex": []any{".*"}, "accessControlAllowCredentials": true,
			"accessControlAllowMethods": []any{"GET", "POST"}, "accessControlMaxAge": int64(100),
		}},
	}}
	create(reflect)
	// Kong's trap: a cors plugin without origins allows every origin, and
	// with credentials echoes it.
	create(ingress("demo", "kong-app", "kong", map[string]string{kong.PluginsAnnotation: "open-cors"}))
	create(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin",
		"metadata": map[string]any{"namespace": "demo", "name": "open-cors"},
		"plugin":   "cors", "config": map[string]any{"credentials": true, "methods": []any{"GET"}},
	}})
	route := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"namespace": "demo", "name": "gw"},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"name": "edge"}},
			"rules": []any{map[string]any{
				"name": "api",
				"filters": []any{map[string]any{"type": "CORS", "cors": map[string]any{
					"allowOrigins": []any{"*"}, "allowCredentials": true, "allowMethods": []any{"GET", "PUT"},
				}}},
				"backendRefs": []any{map[string]any{"name": "api", "port": int64(80)}},
			}},
		},
	}}
	create(route)
	// What ingress2gateway writes for "https://*.example.com": one label on
	// ingress-nginx, any depth here.
	create(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"namespace": "demo", "name": "migrated"},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"name": "edge"}},
			"rules": []any{map[string]any{
				"filters": []any{map[string]any{"type": "CORS", "cors": map[string]any{
					"allowOrigins": []any{"https://*.example.com"}, "allowCredentials": true, "allowMethods": []any{"GET"}, "maxAge": int64(600),
				}}},
				"backendRefs": []any{map[string]any{"name": "api", "port": int64(80)}},
			}},
		},
	}})
	// A route of Kong's Gateway through an ExtensionRef to a KongPlugin,
	// and a route without CORS filter under an Envoy Gateway
	// SecurityPolicy on its Gateway (whose "*." matches any depth).
	create(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"namespace": "demo", "name": "kong-route"},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"name": "kong"}},
			"rules": []any{map[string]any{"filters": []any{map[string]any{"type": "ExtensionRef",
				"extensionRef": map[string]any{"group": "configuration.konghq.com", "kind": "KongPlugin", "name": "open-cors"}}}}},
		},
	}})
	create(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"namespace": "demo", "name": "envoy-route"},
		"spec":     map[string]any{"parentRefs": []any{map[string]any{"name": "envoy"}}, "rules": []any{map[string]any{}}},
	}})
	create(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "SecurityPolicy",
		"metadata": map[string]any{"namespace": "demo", "name": "edge-cors"},
		"spec": map[string]any{
			"targetRefs": []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "envoy"}},
			"cors":       map[string]any{"allowOrigins": []any{"https://*.example.com"}, "allowMethods": []any{"GET"}, "maxAge": "10m"},
		},
	}})
	// Istio's trap: a prefix origin, with credentials, matches
	// https://app.example.com.evil.net.
	create(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
		"metadata": map[string]any{"namespace": "demo", "name": "mesh"},
		"spec": map[string]any{
			"hosts": []any{"mesh.example.com"},
			"http": []any{map[string]any{
				"name": "api",
				"corsPolicy": map[string]any{
					"allowOrigins":     []any{map[string]any{"prefix": "https://app.example.com"}},
					"allowMethods":     []any{"GET", "PUT"},
					"allowCredentials": true,
				},
				"route": []any{map[string]any{"destination": map[string]any{"host": "api"}}},
			}},
		},
	}})
	// Contour's documented example: "*" with credentials, which Envoy
	// answers by echoing any origin.
	create(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "projectcontour.io/v1", "kind": "HTTPProxy",
		"metadata": map[string]any{"namespace": "demo", "name": "edge"},
		"spec": map[string]any{"virtualhost": map[string]any{
			"fqdn": "edge.example.com",
			"corsPolicy": map[string]any{
				"allowOrigin": []any{"*"}, "allowMethods": []any{"GET", "POST"}, "allowCredentials": true, "maxAge": "10m",
			},
		}},
	}})

	// An Envoy Gateway SecurityPolicy on a route that echoes any origin
	// with credentials: audit reads SecurityPolicies themselves, since
	// each applies to every route of its target without CORS of its own.
	create(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "SecurityPolicy",
		"metadata": map[string]any{"namespace": "demo", "name": "route-open"},
		"spec": map[string]any{
			"targetRefs": []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "envoy-route"}},
			"cors":       map[string]any{"allowOrigins": []any{"*"}, "allowMethods": []any{"GET"}, "allowCredentials": true},
		},
	}})

	// The Ingress kubecors programmed from CorsPolicy demo/api, with what
	// the renderer writes, and a second policy that loses to it.
	apiSpec := kubecorsv1alpha1.CorsPolicySpec{
		TargetRefs:       []kubecorsv1alpha1.PolicyTargetReference{{Group: "networking.k8s.io", Kind: "Ingress", Name: "managed"}},
		AllowOrigins:     origins("https://app.example.com"),
		AllowMethods:     []kubecorsv1alpha1.HTTPMethod{"GET", "PUT"},
		AllowHeaders:     []kubecorsv1alpha1.RequestHeaderName{"Content-Type"},
		ExposeHeaders:    []kubecorsv1alpha1.ResponseHeaderName{"X-Total-Count"},
		AllowCredentials: yes(),
	}
	renderers, err := registry.NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	renderer, _ := renderers.ByName(ingressnginx.Name)
	rendered := renderer.RenderIngress(dataplanes.Policy{Namespace: "demo", Name: "api", Spec: apiSpec}, dataplanes.IngressTarget{Namespace: "demo", Name: "managed"})
	rendered.Annotations[policyAnnotation] = "api"
	create(ingress("demo", "managed", "nginx", rendered.Annotations))

	now := metav1.NewTime(time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC))
	policy := func(name string, spec kubecorsv1alpha1.CorsPolicySpec, status kubecorsv1alpha1.CorsPolicyStatus) {
		t.Helper()
		p := &kubecorsv1alpha1.CorsPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: name}, Spec: spec}
		create(p)
		for i := range status.Conditions {
			status.Conditions[i].ObservedGeneration, status.Conditions[i].LastTransitionTime = p.Generation, now
		}
		for i := range status.Targets {
			for j := range status.Targets[i].Conditions {
				status.Targets[i].Conditions[j].ObservedGeneration, status.Targets[i].Conditions[j].LastTransitionTime = p.Generation, now
			}
		}
		p.Status = status
		if err := c.Status().Update(ctx, p); err != nil {
			t.Fatalf("status of %s: %v", name, err)
		}
	}
	condition := func(typ string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message}
	}
	managedRef := apiSpec.TargetRefs[0]
	policy("api", apiSpec, kubecorsv1alpha1.CorsPolicyStatus{
		Conditions: []metav1.Condition{
			condition(kubecorsv1alpha1.ConditionAccepted, metav1.ConditionTrue, kubecorsv1alpha1.ReasonAccepted, "the policy passed every rule"),
			condition(kubecorsv1alpha1.ConditionProgrammed, metav1.ConditionTrue, kubecorsv1alpha1.ReasonProgrammed, "all 1 targets are programmed"),
		},
		Targets: []kubecorsv1alpha1.TargetStatus{{TargetRef: managedRef, DataPlane: ingressnginx.Name, ControllerName: "k8s.io/ingress-nginx",
			Message: "programmed for ingress-nginx as written",
			Conditions: []metav1.Condition{condition(kubecorsv1alpha1.ConditionProgrammed, metav1.ConditionTrue, kubecorsv1alpha1.ReasonProgrammed,
				"programmed for ingress-nginx as written")}}},
		ProgrammedTargets: "1/1",
	})
	dupSpec := *apiSpec.DeepCopy()
	dupSpec.AllowOrigins = origins("https://admin.example.com")
	conflict := `CorsPolicy "api" is older and already governs Ingress "managed"; the oldest policy wins (creation time, then name)`
	policy("api-dup", dupSpec, kubecorsv1alpha1.CorsPolicyStatus{
		Conditions: []metav1.Condition{
			condition(kubecorsv1alpha1.ConditionAccepted, metav1.ConditionTrue, kubecorsv1alpha1.ReasonAccepted, "the policy passed every rule"),
			condition(kubecorsv1alpha1.ConditionProgrammed, metav1.ConditionFalse, kubecorsv1alpha1.ReasonConflicted, "none of 1 targets is programmed; see status.targets"),
		},
		Targets: []kubecorsv1alpha1.TargetStatus{{TargetRef: managedRef, DataPlane: "", ControllerName: "k8s.io/ingress-nginx", Message: conflict,
			Conditions: []metav1.Condition{condition(kubecorsv1alpha1.ConditionProgrammed, metav1.ConditionFalse, kubecorsv1alpha1.ReasonConflicted, conflict)}}},
		ProgrammedTargets: "0/1",
	})
	// A policy for the Contour proxy that the controller has not reconciled
	// yet: status --target computes the answer with the planner.
	policy("edge", kubecorsv1alpha1.CorsPolicySpec{
		TargetRefs:   []kubecorsv1alpha1.PolicyTargetReference{{Group: kubecorsv1alpha1.GroupContour, Kind: kubecorsv1alpha1.KindHTTPProxy, Name: "edge"}},
		AllowOrigins: origins("https://app.example.com"),
	}, kubecorsv1alpha1.CorsPolicyStatus{})
	// The ClusterCorsPolicy behind wide's status: kubectl cors weighs
	// policies with it, as the controller does, so wide governs nothing.
	create(&kubecorsv1alpha1.ClusterCorsPolicy{ObjectMeta: metav1.ObjectMeta{Name: "baseline"},
		Spec: kubecorsv1alpha1.ClusterCorsPolicySpec{Mode: kubecorsv1alpha1.ModeEnforce, Rules: kubecorsv1alpha1.ClusterCorsRules{ForbidOptIns: true}}})
	wideSpec := kubecorsv1alpha1.CorsPolicySpec{
		TargetRefs:                            []kubecorsv1alpha1.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute", Name: "gw"}},
		AllowOrigins:                          origins("https://*.github.io"),
		DangerouslyAllowPublicSuffixWildcards: true,
	}
	policy("wide", wideSpec, kubecorsv1alpha1.CorsPolicyStatus{
		Conditions: []metav1.Condition{
			condition(kubecorsv1alpha1.ConditionAccepted, metav1.ConditionFalse, kubecorsv1alpha1.ReasonClusterPolicyViolation,
				"ClusterCorsPolicy baseline forbids spec.dangerouslyAllowPublicSuffixWildcards in namespace demo"),
			condition(kubecorsv1alpha1.ConditionProgrammed, metav1.ConditionFalse, kubecorsv1alpha1.ReasonNotAccepted, "the policy is not accepted, so nothing is programmed"),
		},
		ProgrammedTargets: "0/0",
	})
}

// testAudit checks audit's findings, output formats, exit codes and
// suggestions against the fixture.
func testAudit(t *testing.T, kubeconfig string) {
	kc := []string{"--kubeconfig", kubeconfig}
	tests := []struct {
		golden   string
		args     []string
		wantExit int
	}{
		{"all", []string{"audit"}, ExitOK},
		{"fail-on-high", []string{"audit", "--fail-on", "high"}, ExitInvalid},
		{"quiet-namespace-fail-on-medium", []string{"audit", "-n", "quiet", "--fail-on", "medium"}, ExitOK},
		{"suggest", []string{"audit", "-n", "demo", "--suggest"}, ExitOK},
		{"bad-fail-on", []string{"audit", "--fail-on", "critical"}, ExitUsage},
		{"sarif-suggest", []string{"audit", "-o", "sarif", "--suggest"}, ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, code := runCLI(t, append(tt.args, kc...))
			if code != tt.wantExit {
				t.Errorf("exit status %d, want %d", code, tt.wantExit)
			}
			checkGolden(t, filepath.Join("testdata", "audit", tt.golden+".golden"), got)
		})
	}

	t.Run("findings", func(t *testing.T) {
		findings := auditJSON(t, kc)
		has := func(object, rule, severity string) bool {
			return slices.ContainsFunc(findings, func(f auditFinding) bool {
				return f.Object.String() == object && f.Rule == rule && f.Severity == severity
			})
		}
		want := []struct{ object, rule, severity string }{
			// The acceptance case: enable-cors alone is any origin with
			// credentials, through ingress-nginx's defaults.
			{"Ingress demo/open", ruleWildcardCredentials.Name, severityHigh},
			{"Ingress demo/open", ruleMaxAge.Name, severityLow},
			{"Ingress demo/fallback", ruleSilentFallback.Name, severityHigh},
			{"Ingress demo/fallback", ruleWildcardCredentials.Name, severityHigh},
			{"Ingress demo/listed", ruleInsecureOrigin.Name, severityMedium},
			{"Ingress demo/listed", ruleMissingVary.Name, severityLow},
			{"Ingress demo/nullish", ruleNullOrigin.Name, severityHigh},
			{"Ingress demo/nullish", rulePublicSuffix.Name, severityHigh},
			{"Ingress demo/haproxy-app", ruleUnanchoredRegex.Name, severityHigh},
			{"Ingress demo/haproxy-app", ruleIneffective.Name, severityInfo},
			{"Ingress demo/traefik-app", ruleReflectedOrigin.Name, severityHigh},
			{"Ingress demo/kong-app", ruleReflectedOrigin.Name, severityHigh},
			{"HTTPRoute demo/kong-route", ruleReflectedOrigin.Name, severityHigh},
			{"SecurityPolicy demo/route-open", ruleReflectedOrigin.Name, severityHigh},
			{"HTTPRoute demo/gw", ruleReflectedOrigin.Name, severityHigh},
			{"HTTPRoute demo/gw", ruleRouteWildcardCredentials.Name, severityHigh},
			{"HTTPRoute demo/migrated", ruleAnyDepthWildcard.Name, severityMedium},
			{"VirtualService demo/mesh", ruleUnanchoredRegex.Name, severityHigh},
			{"HTTPProxy demo/edge", ruleReflectedOrigin.Name, severityHigh},
			{"Ingress demo/managed", ruleConflict.Name, severityMedium},
		}
		for _, w := range want {
			if !has(w.object, w.rule, w.severity) {
				t.Errorf("no %s %s finding on %s", w.severity, w.rule, w.object)
			}
		}
		for _, f := range findings {
			if f.Object.Namespace == "quiet" && severityRank[f.Severity] >= severityRank[severityMedium] {
				t.Errorf("unexpected finding on a careful configuration: %+v", f)
			}
			if f.Object.Name == "open" && f.Rule == ruleWildcardCredentials.Name && !strings.Contains(f.Message, "defaults them to true") {
				t.Errorf("the acceptance finding must say credentials come from the default: %q", f.Message)
			}
		}
	})

	t.Run("sarif", func(t *testing.T) {
		out := runStdout(t, append([]string{"audit", "-o", "sarif"}, kc...))
		checkSARIF(t, out)
	})

	t.Run("suggestions-validate", func(t *testing.T) {
		out := runStdout(t, append([]string{"audit", "-o", "json", "--suggest"}, kc...))
		var report struct {
			Suggestions []auditSuggestion `json:"suggestions"`
		}
		if err := json.Unmarshal([]byte(out), &report); err != nil {
			t.Fatal(err)
		}
		if len(report.Suggestions) == 0 {
			t.Fatal("no suggestion")
		}
		for _, s := range report.Suggestions {
			if errs, _ := corsrules.ValidateCorsPolicy(s.Policy); len(errs) > 0 {
				t.Errorf("suggestion for %s is invalid: %v", s.Object, errs.ToAggregate())
			}
			if s.Object.Name == "open" {
				if !slices.Equal(stringList(s.Policy.Spec.AllowOrigins), []string{"*"}) || *s.Policy.Spec.AllowCredentials {
					t.Errorf(`the acceptance case must become "*" without credentials, got %v / %v`, s.Policy.Spec.AllowOrigins, *s.Policy.Spec.AllowCredentials)
				}
			}
			if s.Object.Name == "managed" {
				t.Error("no suggestion for a target kubecors already manages")
			}
		}
	})
}

// auditJSON runs audit -o json and decodes the findings.
func auditJSON(t *testing.T, kc []string) []auditFinding {
	t.Helper()
	out := runStdout(t, append([]string{"audit", "-o", "json"}, kc...))
	var report struct {
		Findings []auditFinding `json:"findings"`
	}
	decoder := json.NewDecoder(strings.NewReader(out))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&report); err != nil {
		t.Fatalf("audit -o json is not one report: %v\n%s", err, out)
	}
	return report.Findings
}

// runStdout runs a command and returns its standard output alone.
func runStdout(t *testing.T, args []string) string {
	t.Helper()
	got, _ := run(t, args, nil)
	_, rest, _ := strings.Cut(got, "--- stdout\n")
	stdout, _, _ := strings.Cut(rest, "--- stderr\n")
	return stdout
}

// checkSARIF checks the structure SARIF 2.1.0 consumers rely on: version and
// schema, a driver with uniquely identified rules, and results that point at
// those rules by ID and index, with a valid level, a message and a logical
// location naming the object.
func checkSARIF(t *testing.T, out string) {
	t.Helper()
	var log map[string]any
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if log["version"] != "2.1.0" || !strings.Contains(log["$schema"].(string), "sarif-2.1.0") {
		t.Fatalf("version %v, schema %v", log["version"], log["$schema"])
	}
	runs, _ := log["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	run := runs[0].(map[string]any)
	driver := run["tool"].(map[string]any)["driver"].(map[string]any)
	if driver["name"] != "kubectl-cors" {
		t.Errorf("driver name %v", driver["name"])
	}
	rules := driver["rules"].([]any)
	ids := make([]string, 0, len(rules))
	for _, r := range rules {
		rule := r.(map[string]any)
		id, _ := rule["id"].(string)
		if id == "" || slices.Contains(ids, id) {
			t.Errorf("rule id %q missing or repeated", id)
		}
		ids = append(ids, id)
		if rule["shortDescription"].(map[string]any)["text"] == "" {
			t.Errorf("rule %s has no short description", id)
		}
	}
	results := run["results"].([]any)
	if len(results) == 0 {
		t.Fatal("no results")
	}
	for _, r := range results {
		result := r.(map[string]any)
		id := result["ruleId"].(string)
		index := int(result["ruleIndex"].(float64))
		if index < 0 || index >= len(ids) || ids[index] != id {
			t.Errorf("result ruleIndex %d does not point at rule %s", index, id)
		}
		if !slices.Contains([]string{"error", "warning", "note", "none"}, result["level"].(string)) {
			t.Errorf("level %v", result["level"])
		}
		if result["message"].(map[string]any)["text"] == "" {
			t.Error("result without message")
		}
		locations := result["locations"].([]any)
		logical := locations[0].(map[string]any)["logicalLocations"].([]any)[0].(map[string]any)
		if fqn, _ := logical["fullyQualifiedName"].(string); !strings.Contains(fqn, "/") || logical["kind"] != "resource" {
			t.Errorf("logical location %v", logical)
		}
	}
}

// TestAuditModel checks the rules on configurations that need no cluster.
func TestAuditModel(t *testing.T) {
	obj := auditObject{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Namespace: "shop", Name: "api"}
	rules := func(m dataplanes.Model) []string {
		findings := auditModel(auditTarget{object: obj, model: m})
		out := make([]string, 0, len(findings))
		for _, f := range findings {
			out = append(out, f.Severity+" "+f.Rule)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name  string
		model dataplanes.Model
		want  []string
	}{
		{"enable-cors alone", ingressnginx.ParseIngressNginx(map[string]string{ingressnginx.EnableCors: "true"}),
			[]string{"high wildcard-with-credentials", "low max-age-over-browser-cap"}},
		{"CORS off", ingressnginx.ParseIngressNginx(map[string]string{ingressnginx.AllowOrigin: "*"}), nil},
		{"careful ingress-nginx still lacks Vary", ingressnginx.ParseIngressNginx(map[string]string{ingressnginx.EnableCors: "true",
			ingressnginx.AllowOrigin: appOrigin, ingressnginx.AllowCredentials: "false", ingressnginx.MaxAge: "60"}),
			[]string{"low missing-vary-origin"}},
		{"public data", ingressnginx.ParseIngressNginx(map[string]string{ingressnginx.EnableCors: "true",
			ingressnginx.AllowCredentials: "false", ingressnginx.MaxAge: "60"}), []string{"info any-origin"}},
		{"Gateway API star with credentials echoes everyone", gatewayapi.ParseGatewayCORS(map[string]any{"allowOrigins": []any{"*"}, "allowCredentials": true}, "cors"),
			[]string{"high reflected-any-origin"}},
		{"a kubecors policy's own semantics are clean", dataplanes.ParsePolicy(kubecorsv1alpha1.CorsPolicySpec{AllowOrigins: origins(appOrigin), AllowCredentials: yes()}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rules(tt.model); !slices.Equal(got, tt.want) {
				t.Errorf("findings %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSARIFShape checks the SARIF writer without a cluster.
func TestSARIFShape(t *testing.T) {
	findings := auditModel(auditTarget{object: auditObject{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Namespace: "shop", Name: "api"},
		model: ingressnginx.ParseIngressNginx(map[string]string{ingressnginx.EnableCors: "true"})})
	var b strings.Builder
	if err := writeJSON(&b, sarifReport(findings)); err != nil {
		t.Fatal(err)
	}
	checkSARIF(t, b.String())
}
