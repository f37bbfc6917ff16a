//go:build install

package install

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

const (
	chartDir = repoRoot + "/charts/kubecors"
	// kustomizeNamespace is where config/default installs kubecors.
	kustomizeNamespace = "kubecors-system"
)

// valueSet is one values file of testdata/values, installed as its own
// release in its own namespace so that the releases do not collide.
type valueSet struct {
	file, release, namespace string
}

var valueSets = []valueSet{
	{"default.yaml", "kubecors", "kubecors-helm"},
	{"cert-manager.yaml", "cm", "cm-system"},
	{"custom.yaml", "custom", "custom-system"},
	{"no-webhook.yaml", "nowh", "nowh-system"},
}

// manifest is a rendered installation: every object, in file order.
type manifest []*unstructured.Unstructured

// tool returns the path of a tool binary that make test-install passes in
// the environment variable env.
func tool(t *testing.T, env string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		t.Fatalf("$%s is not set: run make test-install", env)
	}
	return path
}

// runTool runs a tool and returns its standard output, or its error with
// standard error in it.
func runTool(name string, args ...string) ([]byte, error) {
	//nolint:gosec // G204: helm or kustomize from make test-install, no shell.
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, errors.New(err.Error() + ": " + strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// decode splits a multi-document YAML stream into objects.
func decode(t *testing.T, raw []byte) manifest {
	t.Helper()
	var m manifest
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return m
			}
			t.Fatal(err)
		}
		if len(u.Object) > 0 {
			m = append(m, u)
		}
	}
}

// renderKustomize builds config/default, or the overlay of config/overlays
// named by overlay.
func renderKustomize(t *testing.T, overlay ...string) manifest {
	t.Helper()
	dir := filepath.Join(repoRoot, "config", "default")
	if len(overlay) > 0 {
		dir = filepath.Join(repoRoot, "config", "overlays", overlay[0])
	}
	out, err := runTool(tool(t, "KUSTOMIZE"), "build", dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return decode(t, out)
}

func renderHelm(t *testing.T, vs valueSet) manifest {
	t.Helper()
	out, err := runTool(tool(t, "HELM"), "template", vs.release, chartDir, "--namespace", vs.namespace,
		"--include-crds", "--values", filepath.Join("testdata", "values", vs.file))
	if err != nil {
		t.Fatalf("helm template with %s: %v", vs.file, err)
	}
	return decode(t, out)
}

// find returns the object of that kind whose name ends in suffix, or nil.
func (m manifest) find(kind, suffix string) *unstructured.Unstructured {
	for _, u := range m {
		if u.GetKind() == kind && strings.HasSuffix(u.GetName(), suffix) {
			return u
		}
	}
	return nil
}

func (m manifest) ofKind(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range m {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// as converts an unstructured object into a typed one.
func as[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	if u == nil {
		t.Fatalf("no %T rendered", *new(T))
	}
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// generatedRoles reads config/rbac/role.yaml, which controller-gen writes
// from the +kubebuilder:rbac markers: the ClusterRole and the Role.
func generatedRoles(t *testing.T) (cluster []rbacv1.PolicyRule, namespaced []rbacv1.PolicyRule) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, raw)
	return as[rbacv1.ClusterRole](t, m.find("ClusterRole", "manager-role")).Rules,
		as[rbacv1.Role](t, m.find("Role", "manager-role")).Rules
}

type rendering struct {
	name      string
	namespace string
	manifest  manifest
}

// renderings returns kustomize's output and the chart rendered with every
// value set.
func renderings(t *testing.T) []rendering {
	t.Helper()
	r := make([]rendering, 0, 2+len(valueSets))
	r = append(r,
		rendering{"kustomize config/default", kustomizeNamespace, renderKustomize(t)},
		rendering{"kustomize config/overlays/cert-manager", kustomizeNamespace, renderKustomize(t, "cert-manager")},
	)
	for _, vs := range valueSets {
		r = append(r, rendering{"helm " + vs.file, vs.namespace, renderHelm(t, vs)})
	}
	return r
}

// TestRBACIsTheGeneratedRole checks that every rendering grants the
// manager exactly the rules controller-gen generated from the markers, in
// the install namespace for the namespaced Role, and nothing with a
// wildcard or any Secret outside that namespace.
func TestRBACIsTheGeneratedRole(t *testing.T) {
	wantCluster, wantNamespaced := generatedRoles(t)
	raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "rbac", "leader_election_role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wantLeader := as[rbacv1.Role](t, decode(t, raw)[0]).Rules
	for _, r := range renderings(t) {
		t.Run(r.name, func(t *testing.T) {
			if diff := cmp.Diff(wantCluster, as[rbacv1.ClusterRole](t, r.manifest.find("ClusterRole", "-manager-role")).Rules); diff != "" {
				t.Errorf("ClusterRole rules differ from config/rbac/role.yaml (-generated +rendered):\n%s", diff)
			}
			role := as[rbacv1.Role](t, r.manifest.find("Role", "-manager-role"))
			if diff := cmp.Diff(wantNamespaced, role.Rules); diff != "" {
				t.Errorf("Role rules differ from config/rbac/role.yaml (-generated +rendered):\n%s", diff)
			}
			if role.Namespace != r.namespace {
				t.Errorf("the Secret Role is in namespace %q, want the install namespace %q", role.Namespace, r.namespace)
			}
			if u := r.manifest.find("Role", "-leader-election-role"); u != nil {
				if diff := cmp.Diff(wantLeader, as[rbacv1.Role](t, u).Rules); diff != "" {
					t.Errorf("leader election rules differ (-config/rbac +rendered):\n%s", diff)
				}
			}
			for _, u := range append(r.manifest.ofKind("ClusterRole"), r.manifest.ofKind("Role")...) {
				for _, rule := range as[rbacv1.ClusterRole](t, u).Rules {
					for _, field := range [][]string{rule.Verbs, rule.Resources, rule.APIGroups} {
						if slices.Contains(field, "*") {
							t.Errorf("%s %s grants a wildcard: %+v", u.GetKind(), u.GetName(), rule)
						}
					}
					if slices.Contains(rule.Resources, "secrets") && u.GetKind() == "ClusterRole" {
						t.Errorf("ClusterRole %s grants Secrets cluster-wide", u.GetName())
					}
				}
			}
			// Every binding names the ServiceAccount the Deployment runs as.
			sa := as[appsv1.Deployment](t, r.manifest.find("Deployment", "controller-manager")).Spec.Template.Spec.ServiceAccountName
			for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
				for _, u := range r.manifest.ofKind(kind) {
					b := as[rbacv1.RoleBinding](t, u)
					want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: r.namespace}}
					if diff := cmp.Diff(want, b.Subjects); diff != "" {
						t.Errorf("%s %s binds (-want +got):\n%s", kind, b.Name, diff)
					}
				}
			}
		})
	}
}

// TestWebhookPointsAtTheService checks each rendering's webhook
// configuration: the generated webhooks, called through the rendered
// Service, which selects the manager pods and reaches their webhook port;
// and the manager's flags name the objects it maintains.
func TestWebhookPointsAtTheService(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "webhook", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	generated := as[admissionregistrationv1.ValidatingWebhookConfiguration](t, decode(t, raw)[0])
	for _, r := range renderings(t) {
		t.Run(r.name, func(t *testing.T) {
			dep := as[appsv1.Deployment](t, r.manifest.find("Deployment", "controller-manager"))
			args := dep.Spec.Template.Spec.Containers[0].Args
			u := r.manifest.find("ValidatingWebhookConfiguration", "validating-webhook-configuration")
			if u == nil {
				if !slices.ContainsFunc(dep.Spec.Template.Spec.Containers[0].Env, func(e corev1.EnvVar) bool {
					return e.Name == "ENABLE_WEBHOOKS" && e.Value == "false"
				}) {
					t.Error("no webhook configuration rendered, but the manager still serves the webhook")
				}
				return
			}
			vwc := as[admissionregistrationv1.ValidatingWebhookConfiguration](t, u)
			if len(vwc.Webhooks) != len(generated.Webhooks) {
				t.Fatalf("%d webhooks, config/webhook/manifests.yaml has %d", len(vwc.Webhooks), len(generated.Webhooks))
			}
			for i, w := range vwc.Webhooks {
				ref := w.ClientConfig.Service
				svc := as[corev1.Service](t, r.manifest.find("Service", ref.Name))
				if svc.Name != ref.Name || svc.Namespace != ref.Namespace {
					t.Errorf("webhook %s calls Service %s/%s, which is not rendered", w.Name, ref.Namespace, ref.Name)
				}
				if ref.Port != nil && *ref.Port != svc.Spec.Ports[0].Port || ref.Port == nil && svc.Spec.Ports[0].Port != 443 {
					t.Errorf("webhook %s calls port %v, the Service serves %d", w.Name, ref.Port, svc.Spec.Ports[0].Port)
				}
				for k, v := range svc.Spec.Selector {
					if dep.Spec.Template.Labels[k] != v {
						t.Errorf("Service %s selects %s=%s, which the manager pods do not carry", svc.Name, k, v)
					}
				}
				target := svc.Spec.Ports[0].TargetPort
				if !slices.ContainsFunc(dep.Spec.Template.Spec.Containers[0].Ports, func(p corev1.ContainerPort) bool {
					return p.Name == "webhook-server" && (target.StrVal == p.Name || target.IntVal == p.ContainerPort)
				}) {
					t.Errorf("Service %s targets port %s, not the manager's webhook-server port", svc.Name, target.String())
				}
				// Apart from where it is served and how failures count, each
				// webhook is the generated one.
				want := generated.Webhooks[i].DeepCopy()
				want.ClientConfig.Service.Name, want.ClientConfig.Service.Namespace = ref.Name, ref.Namespace
				want.FailurePolicy, want.TimeoutSeconds = w.FailurePolicy, w.TimeoutSeconds
				if diff := cmp.Diff(*want, w); diff != "" {
					t.Errorf("webhook differs from config/webhook/manifests.yaml (-generated +rendered):\n%s", diff)
				}
				if !slices.Contains(args, "--webhook-service-name="+svc.Name) {
					t.Errorf("the manager's flags %q do not name the webhook Service %s", args, svc.Name)
				}
			}
			if !slices.Contains(args, "--webhook-config-name="+vwc.Name) {
				t.Errorf("the manager's flags %q do not name the webhook configuration %s", args, vwc.Name)
			}
			if cert := r.manifest.find("Certificate", "serving-cert"); cert != nil {
				wantAnnotation := cert.GetNamespace() + "/" + cert.GetName()
				if got := vwc.Annotations["cert-manager.io/inject-ca-from"]; got != wantAnnotation {
					t.Errorf("cert-manager.io/inject-ca-from is %q, want %q", got, wantAnnotation)
				}
				secret, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
				dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
				svc := vwc.Webhooks[0].ClientConfig.Service
				if !slices.Contains(dns, svc.Name+"."+svc.Namespace+".svc") {
					t.Errorf("the Certificate's dnsNames %q lack the name the API server dials", dns)
				}
				if !slices.ContainsFunc(dep.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool {
					return v.Secret != nil && v.Secret.SecretName == secret
				}) || !slices.Contains(args, "--manage-webhook-certs=false") {
					t.Errorf("with cert-manager the manager must mount Secret %s and not manage certificates: %q", secret, args)
				}
			} else if slices.Contains(args, "--manage-webhook-certs=false") {
				t.Errorf("nobody issues the webhook certificate: %q", args)
			}
		})
	}
}

// TestChartMatchesKustomize checks that the chart with its defaults, as
// release "kubecors" in kubecors-system, installs what config/default
// installs: the same objects under the same names, the same manager flags,
// security context, probes and resources.
func TestChartMatchesKustomize(t *testing.T) {
	kustomize := renderKustomize(t)
	helm := renderHelm(t, valueSet{"default.yaml", "kubecors", kustomizeNamespace})
	key := func(u *unstructured.Unstructured) string {
		return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
	}
	fromKustomize, fromHelm := make([]string, 0, len(kustomize)), make([]string, 0, len(helm))
	for _, u := range kustomize {
		// helm install --create-namespace makes the namespace.
		if u.GetKind() != "Namespace" {
			fromKustomize = append(fromKustomize, key(u))
		}
	}
	for _, u := range helm {
		fromHelm = append(fromHelm, key(u))
	}
	slices.Sort(fromKustomize)
	slices.Sort(fromHelm)
	if diff := cmp.Diff(fromKustomize, fromHelm); diff != "" {
		t.Errorf("objects differ (-kustomize +helm):\n%s", diff)
	}

	k := as[appsv1.Deployment](t, kustomize.find("Deployment", "controller-manager"))
	h := as[appsv1.Deployment](t, helm.find("Deployment", "controller-manager"))
	if *k.Spec.Replicas != *h.Spec.Replicas {
		t.Errorf("replicas: kustomize %d, helm %d", *k.Spec.Replicas, *h.Spec.Replicas)
	}
	kc, hc := k.Spec.Template.Spec.Containers[0], h.Spec.Template.Spec.Containers[0]
	for _, arg := range kc.Args {
		if !slices.Contains(hc.Args, arg) {
			t.Errorf("the chart's manager lacks the flag %s (helm: %q)", arg, hc.Args)
		}
	}
	for name, pair := range map[string][2]any{
		"pod security context":       {k.Spec.Template.Spec.SecurityContext, h.Spec.Template.Spec.SecurityContext},
		"container security context": {kc.SecurityContext, hc.SecurityContext},
		"liveness probe":             {kc.LivenessProbe, hc.LivenessProbe},
		"readiness probe":            {kc.ReadinessProbe, hc.ReadinessProbe},
		"resources":                  {kc.Resources, hc.Resources},
		"ports":                      {kc.Ports, hc.Ports},
		"command":                    {kc.Command, hc.Command},
		"env":                        {kc.Env, hc.Env},
		"pod selector":               {k.Spec.Selector, h.Spec.Selector},
		"PodDisruptionBudget":        {kustomize.find("PodDisruptionBudget", "").Object["spec"], helm.find("PodDisruptionBudget", "").Object["spec"]},
	} {
		if diff := cmp.Diff(pair[0], pair[1]); diff != "" {
			t.Errorf("%s differs (-kustomize +helm):\n%s", name, diff)
		}
	}
}

// TestValuesSchemaRejects checks that a wrong value fails `helm template`
// and `helm lint` with a message that names it.
func TestValuesSchemaRejects(t *testing.T) {
	helm := tool(t, "HELM")
	tests := []struct {
		name, set, want string
	}{
		{"unknown key", "replicas=2", "additional properties 'replicas' not allowed"},
		{"no replica", "replicaCount=0", "at '/replicaCount': minimum: got 0, want 1"},
		{"unknown renderer", "dataPlaneMappings.example\\.com/fork=nginx", "value must be one of 'ingress-nginx', 'traefik', 'haproxy-ingress'"},
		{"namespace that cannot exist", "watchNamespaces={Shop}", `'Shop' does not match pattern`},
		{"failure policy", "webhook.failurePolicy=Sometimes", "value must be one of 'Fail', 'Ignore'"},
		{"privilege escalation", "securityContext.allowPrivilegeEscalation=true", "at '/securityContext/allowPrivilegeEscalation': value must be false"},
		{"root", "podSecurityContext.runAsNonRoot=false", "at '/podSecurityContext/runAsNonRoot': value must be true"},
		{"log level", "logLevel=verbose", "value must be one of 'debug', 'info', 'error'"},
		{"issuer without a name", "webhook.certManager.issuerRef.kind=ClusterIssuer", "properties 'name' required, if 'kind' exists"},
		{"flag that is not one", "extraArgs={leader-elect}", "does not match pattern '^--'"},
		// The checks below are template logic, which helm lint does not fail on.
		{"two leaders", "replicaCount=2,leaderElection.enabled=false", "leaderElection.enabled must be true when replicaCount > 1"},
		{"existing ServiceAccount without a name", "serviceAccount.create=false", "serviceAccount.name is required when serviceAccount.create is false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds := [][]string{{"template", "kubecors", chartDir}}
			if !strings.HasPrefix(tt.want, "leaderElection") && !strings.HasPrefix(tt.want, "serviceAccount") {
				cmds = append(cmds, []string{"lint", chartDir})
			}
			for _, cmd := range cmds {
				out, err := runTool(helm, append(cmd, "--set", tt.set)...)
				if err == nil {
					t.Fatalf("helm %s --set %s succeeded:\n%s", cmd[0], tt.set, out)
				}
				// helm lint prints its findings on standard output.
				if msg := err.Error() + string(out); !strings.Contains(msg, tt.want) {
					t.Errorf("helm %s --set %s: %v\nwant a message containing %q", cmd[0], tt.set, err, tt.want)
				}
			}
		})
	}
}
