//go:build install

package install

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/testenv"
)

const (
	fieldOwner = "kubecors-install-test"
	// appNamespace holds the sample Ingress and CorsPolicy.
	appNamespace = "shop"
	sampleName   = "api"
	// ownAnnotation is the sample Ingress's own annotation, which must
	// survive kubecors's writes and their removal.
	ownAnnotation  = "example.com/owner"
	corsAnnotation = "nginx.ingress.kubernetes.io/cors-allow-origin"
	// traefikName names the second target, an Ingress of a Traefik class,
	// and its policy.
	traefikName        = "web"
	traefikMiddlewares = "traefik.ingress.kubernetes.io/router.middlewares"
)

// cluster is the local control plane and what the test needs to talk to it.
type cluster struct {
	cfg     *rest.Config
	c       client.Client
	cs      *kubernetes.Clientset
	kubeAdm string // an admin kubeconfig, for helm
	manager string // the manager binary, built from ./cmd
	workDir string
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	env := &envtest.Environment{BinaryAssetsDirectory: testenv.BinaryAssetsDir()}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, kubecorsv1alpha1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k := &cluster{cfg: cfg, c: c, cs: cs, workDir: t.TempDir()}

	admin, err := env.ControlPlane.AddUser(envtest.User{Name: "install-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	k.kubeAdm = filepath.Join(k.workDir, "admin.kubeconfig")
	if err := os.WriteFile(k.kubeAdm, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}

	// The real manager binary, as the image ships it.
	k.manager = filepath.Join(k.workDir, "manager")
	//nolint:gosec // G204: go build of this repository into the test's own directory, no shell.
	build := exec.Command("go", "build", "-o", k.manager, filepath.Join(repoRoot, "cmd"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd: %v\n%s", err, out)
	}
	return k
}

// apply applies objects with server-side apply, as `kubectl apply
// --server-side` does, optionally as a dry run that the API server
// validates (schemas, admission) without persisting anything.
func (k *cluster) apply(ctx context.Context, m manifest, dryRun bool) error {
	for _, u := range m {
		opts := []client.ApplyOption{client.ForceOwnership, client.FieldOwner(fieldOwner)}
		if dryRun {
			opts = append(opts, client.DryRunAll)
		}
		if err := k.c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), opts...); err != nil {
			return fmt.Errorf("%s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
	return nil
}

// applyChecked applies m as a server-side dry run and then for real, and
// checks that every object exists afterwards. Namespaces go first for real:
// a dry run cannot create objects in a namespace that does not exist.
func (k *cluster) applyChecked(t *testing.T, ctx context.Context, m manifest) {
	t.Helper()
	var namespaces, others manifest
	for _, u := range m {
		if u.GetKind() == "Namespace" {
			namespaces = append(namespaces, u)
		} else {
			others = append(others, u)
		}
	}
	if err := k.apply(ctx, namespaces, false); err != nil {
		t.Fatal(err)
	}
	if err := k.apply(ctx, others, true); err != nil {
		t.Fatalf("server-side dry run: %v", err)
	}
	if err := k.apply(ctx, others, false); err != nil {
		t.Fatalf("apply: %v", err)
	}
	for _, u := range m {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(u.GroupVersionKind())
		if err := k.c.Get(ctx, client.ObjectKeyFromObject(u), got); err != nil {
			t.Errorf("%s %s after apply: %v", u.GetKind(), u.GetName(), err)
		}
		if u.GetKind() == "CustomResourceDefinition" {
			k.waitEstablished(t, ctx, u.GetName())
		}
	}
}

// remove deletes the objects of m but namespaces, CRDs last, and waits
// until they are gone.
func (k *cluster) remove(t *testing.T, ctx context.Context, m manifest) {
	t.Helper()
	ordered := slices.Clone(m)
	slices.Reverse(ordered)
	slices.SortStableFunc(ordered, func(a, b *unstructured.Unstructured) int {
		rank := func(u *unstructured.Unstructured) int {
			if u.GetKind() == "CustomResourceDefinition" {
				return 1
			}
			return 0
		}
		return rank(a) - rank(b)
	})
	for _, u := range ordered {
		// envtest runs no namespace controller: a deleted namespace would
		// stay Terminating and refuse the next install into it.
		if u.GetKind() == "Namespace" {
			continue
		}
		if err := k.c.Delete(ctx, u.DeepCopy()); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
	for _, u := range ordered {
		if u.GetKind() == "Namespace" {
			continue
		}
		eventually(t, 30*time.Second, fmt.Sprintf("%s %s is deleted", u.GetKind(), u.GetName()), func() bool {
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(u.GroupVersionKind())
			return apierrors.IsNotFound(k.c.Get(ctx, client.ObjectKeyFromObject(u), got))
		})
	}
}

func (k *cluster) waitEstablished(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	eventually(t, 30*time.Second, "CRD "+name+" is established", func() bool {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := k.c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return false
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true
			}
		}
		return false
	})
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stubCRDs installs schema-less stand-ins for the CRDs of cert-manager
// (Issuer, Certificate) and the Prometheus Operator (ServiceMonitor), which
// the chart can render: the API server then accepts the objects, but does not
// check their fields against the real projects' schemas.
func (k *cluster) stubCRDs(t *testing.T, ctx context.Context) {
	t.Helper()
	stub := func(group, kind, plural string) *apiextensionsv1.CustomResourceDefinition {
		preserve := true
		return &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: group, Scope: apiextensionsv1.NamespaceScoped,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, Plural: plural, ListKind: kind + "List", Singular: strings.ToLower(kind)},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: &preserve,
					}},
				}},
			},
		}
	}
	for _, crd := range []*apiextensionsv1.CustomResourceDefinition{
		stub("cert-manager.io", "Issuer", "issuers"),
		stub("cert-manager.io", "Certificate", "certificates"),
		stub("monitoring.coreos.com", "ServiceMonitor", "servicemonitors"),
	} {
		if err := k.c.Create(ctx, crd); err != nil {
			t.Fatal(err)
		}
		k.waitEstablished(t, ctx, crd.Name)
	}
}

// TestInstall installs kubecors on a local control plane (kube-apiserver and
// etcd; no kubelet, so no pod ever runs): every value set of the chart and
// the kustomize output are applied as a server-side dry run and for real;
// then, for kustomize and for `helm install`, the real manager binary runs
// outside the cluster with the installed ServiceAccount's token, programs a
// sample policy, and the documented uninstall order restores the Ingress.
func TestInstall(t *testing.T) {
	ctx := t.Context()
	k := startCluster(t)
	k.stubCRDs(t, ctx)
	// Traefik's Middleware CRD, as a cluster running Traefik has it.
	raw, err := os.ReadFile(filepath.Join(repoRoot, "test", "crds", "traefik", "traefik.io_middlewares.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.apply(ctx, decode(t, raw), false); err != nil {
		t.Fatal(err)
	}
	k.waitEstablished(t, ctx, "middlewares.traefik.io")

	// Each value set is accepted by the API server, then removed again: its
	// webhook configuration points at a Service without pods, and with
	// failurePolicy Fail it would block every later CorsPolicy write.
	for _, vs := range valueSets[1:] {
		t.Run("helm template "+vs.file, func(t *testing.T) {
			m := renderHelm(t, vs)
			ns := &unstructured.Unstructured{}
			ns.SetAPIVersion("v1")
			ns.SetKind("Namespace")
			ns.SetName(vs.namespace)
			k.applyChecked(t, ctx, append(manifest{ns}, m...))
			k.remove(t, ctx, m)
		})
	}

	t.Run("kustomize config/overlays/cert-manager", func(t *testing.T) {
		m := renderKustomize(t, "cert-manager")
		k.applyChecked(t, ctx, m)
		k.remove(t, ctx, m)
	})

	t.Run("kustomize", func(t *testing.T) {
		m := renderKustomize(t)
		// `kubectl delete -f dist/install.yaml`, also when the test fails,
		// so that the helm install below finds the names free: the CRDs go
		// too.
		defer k.remove(t, ctx, m)
		k.applyChecked(t, ctx, m)
		k.runAndUninstall(t, ctx, m, kustomizeNamespace)
	})

	t.Run("helm install", func(t *testing.T) {
		vs := valueSets[0]
		helm := tool(t, "HELM")
		base := []string{"install", vs.release, chartDir, "--namespace", vs.namespace, "--create-namespace", "--kubeconfig", k.kubeAdm}
		if out, err := runTool(helm, append(base, "--dry-run=server")...); err != nil {
			t.Fatalf("helm install --dry-run=server: %v\n%s", err, out)
		}
		if out, err := runTool(helm, base...); err != nil {
			t.Fatalf("helm install: %v\n%s", err, out)
		}
		out, err := runTool(helm, "get", "manifest", vs.release, "--namespace", vs.namespace, "--kubeconfig", k.kubeAdm)
		if err != nil {
			t.Fatal(err)
		}
		m := decode(t, out)
		k.runAndUninstall(t, ctx, m, vs.namespace)
		if out, err := runTool(helm, "uninstall", vs.release, "--namespace", vs.namespace, "--kubeconfig", k.kubeAdm, "--wait"); err != nil {
			t.Fatalf("helm uninstall: %v\n%s", err, out)
		}
		for _, u := range m {
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(u.GroupVersionKind())
			if err := k.c.Get(ctx, client.ObjectKeyFromObject(u), got); !apierrors.IsNotFound(err) {
				t.Errorf("%s %s is still there after helm uninstall: %v", u.GetKind(), u.GetName(), err)
			}
		}
		// Helm never deletes what it installed from crds/: the README says so.
		for _, name := range []string{"corspolicies.kubecors.io", "clustercorspolicies.kubecors.io"} {
			if err := k.c.Get(ctx, client.ObjectKey{Name: name}, &apiextensionsv1.CustomResourceDefinition{}); err != nil {
				t.Errorf("CRD %s after helm uninstall: %v", name, err)
			}
		}
	})
}

// runAndUninstall runs the manager as the installed Deployment would, with
// the installed ServiceAccount's token, checks that it programs the sample
// policy and that the installed RBAC is what it needs, then deletes the
// policy first, as the README's uninstall order says, and checks that the
// Ingress is restored.
func (k *cluster) runAndUninstall(t *testing.T, ctx context.Context, m manifest, namespace string) {
	t.Helper()
	dep := as[appsv1.Deployment](t, m.find("Deployment", "controller-manager"))
	sa := dep.Spec.Template.Spec.ServiceAccountName
	k.checkAccess(t, ctx, namespace, sa)

	webhookPort, probePort, metricsPort := freePort(t), freePort(t), freePort(t)
	vwc := m.find("ValidatingWebhookConfiguration", "validating-webhook-configuration")
	if vwc != nil {
		// The API server cannot reach a pod (there is none), so the webhook
		// is called at the local manager instead of through the Service,
		// as hack/demo does. The CA bundle stays for the manager to inject.
		k.pointWebhookAtLocalhost(t, ctx, vwc.GetName(), webhookPort)
	}
	token := k.token(t, ctx, namespace, sa)
	kubeconfig := k.writeKubeconfig(t, token)
	log, stop := k.startManager(t, ctx, dep, kubeconfig, namespace, webhookPort, probePort, metricsPort)
	defer stop()
	waitReady(t, probePort)

	k.checkMetricsAuth(t, ctx, namespace, m, token, metricsPort)
	original := k.createSample(t, ctx)
	if vwc != nil {
		k.checkWebhookRejects(t, ctx)
	}

	// Uninstall, step 1: delete every CorsPolicy and wait; the manager's
	// finalizer restores the targets.
	if err := k.c.DeleteAllOf(ctx, &kubecorsv1alpha1.CorsPolicy{}, client.InNamespace(appNamespace)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the CorsPolicies are deleted (finalizers done)", func() bool {
		list := &kubecorsv1alpha1.CorsPolicyList{}
		return k.c.List(ctx, list) == nil && len(list.Items) == 0
	})
	// The Middleware kubecors created is owned by its policy; the garbage
	// collector of kube-controller-manager, which envtest does not run,
	// deletes it in a cluster.
	for name, annotations := range original {
		ing := &networkingv1.Ingress{}
		if err := k.c.Get(ctx, client.ObjectKey{Namespace: appNamespace, Name: name}, ing); err != nil {
			t.Fatal(err)
		}
		if diff := diffMaps(annotations, ing.Annotations); diff != "" {
			t.Errorf("the annotations of Ingress %s were not restored: %s", name, diff)
		}
		// Step 2 is the caller's: delete the installation.
		defer func() { _ = k.c.Delete(ctx, ing) }()
	}
	stop()
	if raw, err := os.ReadFile(log); err != nil {
		t.Error(err)
	} else if strings.Contains(string(raw), "forbidden") {
		t.Errorf("the manager was refused something the installed RBAC should allow; its log:\n%s", raw)
	} else if testing.Verbose() {
		t.Logf("manager log: %d lines, no request forbidden", strings.Count(string(raw), "\n"))
	}
}

// checkAccess asks the API server what the installed ServiceAccount may
// do: what the manager needs, and nothing beyond it that matters.
func (k *cluster) checkAccess(t *testing.T, ctx context.Context, namespace, sa string) {
	t.Helper()
	user := "system:serviceaccount:" + namespace + ":" + sa
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	tests := []struct {
		attr authorizationv1.ResourceAttributes
		want bool
	}{
		{authorizationv1.ResourceAttributes{Verb: "patch", Group: "networking.k8s.io", Resource: "ingresses", Namespace: appNamespace}, true},
		{authorizationv1.ResourceAttributes{Verb: "watch", Group: "kubecors.io", Resource: "corspolicies"}, true},
		{authorizationv1.ResourceAttributes{Verb: "update", Group: "kubecors.io", Resource: "corspolicies", Subresource: "finalizers", Namespace: appNamespace}, true},
		{authorizationv1.ResourceAttributes{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"}, true},
		{authorizationv1.ResourceAttributes{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: namespace}, true},
		{authorizationv1.ResourceAttributes{Verb: "update", Resource: "secrets", Namespace: namespace}, true},
		// Secrets of other namespaces, of the whole cluster.
		{authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: appNamespace}, false},
		{authorizationv1.ResourceAttributes{Verb: "list", Resource: "secrets"}, false},
		// User objects are patched (owned fields only), never replaced or deleted.
		{authorizationv1.ResourceAttributes{Verb: "update", Group: "networking.k8s.io", Resource: "ingresses", Namespace: appNamespace}, false},
		{authorizationv1.ResourceAttributes{Verb: "delete", Group: "networking.k8s.io", Resource: "ingresses", Namespace: appNamespace}, false},
		{authorizationv1.ResourceAttributes{Verb: "delete", Group: "gateway.networking.k8s.io", Resource: "httproutes", Namespace: appNamespace}, false},
		{authorizationv1.ResourceAttributes{Verb: "create", Resource: "pods", Namespace: namespace}, false},
		{authorizationv1.ResourceAttributes{Verb: "delete", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"}, false},
		{authorizationv1.ResourceAttributes{Verb: "update", Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, false},
		{authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}, false},
		{authorizationv1.ResourceAttributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: namespace}, false},
	}
	for _, tt := range tests {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: groups, ResourceAttributes: &tt.attr,
		}}
		got, err := k.cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Allowed != tt.want {
			t.Errorf("%s may %s %s/%s in %q: %v, want %v", sa, tt.attr.Verb, tt.attr.Resource, tt.attr.Subresource, tt.attr.Namespace, got.Status.Allowed, tt.want)
		}
	}
}

func (k *cluster) pointWebhookAtLocalhost(t *testing.T, ctx context.Context, name string, port int) {
	t.Helper()
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := k.c.Get(ctx, client.ObjectKey{Name: name}, vwc); err != nil {
		t.Fatal(err)
	}
	for i := range vwc.Webhooks {
		w := &vwc.Webhooks[i]
		url := fmt.Sprintf("https://localhost:%d%s", port, *w.ClientConfig.Service.Path)
		w.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url}
	}
	if err := k.c.Update(ctx, vwc); err != nil {
		t.Fatal(err)
	}
}

// token asks the TokenRequest API for a token of the ServiceAccount, the
// kind kubelet projects into a pod. It is never logged.
func (k *cluster) token(t *testing.T, ctx context.Context, namespace, sa string) string {
	t.Helper()
	expiry := int64(3600)
	tr, err := k.cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", namespace, sa, err)
	}
	return tr.Status.Token
}

// writeKubeconfig writes what a pod's in-cluster config amounts to: the API
// server, its CA and the ServiceAccount token, nothing else.
func (k *cluster) writeKubeconfig(t *testing.T, token string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: k.cfg.Host, CertificateAuthorityData: k.cfg.CAData}
	cfg.AuthInfos["manager"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["manager"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "manager"}
	cfg.CurrentContext = "manager"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// startManager runs the manager with the Deployment's own arguments, except
// the addresses, which move to free local ports, and returns its log file
// and a function that stops it.
func (k *cluster) startManager(t *testing.T, ctx context.Context, dep *appsv1.Deployment, kubeconfig, namespace string, webhookPort, probePort, metricsPort int) (string, func()) {
	t.Helper()
	c := dep.Spec.Template.Spec.Containers[0]
	args := make([]string, 0, len(c.Args)+8)
	args = append(args, "--kubeconfig", kubeconfig)
	for _, a := range c.Args {
		flag, _, _ := strings.Cut(a, "=")
		switch flag {
		case "--health-probe-bind-address", "--metrics-bind-address", "--webhook-port":
			continue
		}
		args = append(args, a)
	}
	args = append(args,
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probePort),
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metricsPort),
		"--webhook-host=127.0.0.1", fmt.Sprintf("--webhook-port=%d", webhookPort),
		"--webhook-cert-dir="+filepath.Join(t.TempDir(), "certs"),
		"--webhook-extra-dns-name=localhost",
	)
	//nolint:gosec // G204: the manager the test built, with the rendered Deployment's flags, no shell.
	cmd := exec.CommandContext(ctx, k.manager, args...)
	cmd.Env = append(os.Environ(), "POD_NAMESPACE="+namespace)
	log := filepath.Join(t.TempDir(), "manager.log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		_ = f.Close()
		if t.Failed() {
			raw, _ := os.ReadFile(log)
			t.Logf("manager log:\n%s", raw)
		}
	}
	t.Cleanup(stop)
	return log, stop
}

func waitReady(t *testing.T, port int) {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", port)
	eventually(t, 60*time.Second, "the manager is ready (webhook certificate issued and served)", func() bool {
		resp, err := http.Get(url) //nolint:gosec,noctx // G107: a local test URL.
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// checkMetricsAuth checks the secure metrics endpoint with the installed
// metrics RBAC: the manager authenticates callers with TokenReviews and
// authorizes them with SubjectAccessReviews (its ClusterRole), and only a
// caller bound to the metrics-reader ClusterRole gets the metrics.
func (k *cluster) checkMetricsAuth(t *testing.T, ctx context.Context, namespace string, m manifest, managerToken string, port int) {
	t.Helper()
	reader := m.find("ClusterRole", "-metrics-reader")
	if reader == nil {
		return
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "prometheus"}}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: namespace + "-prometheus-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.GetName()},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: namespace, Name: sa.Name}},
	}
	for _, obj := range []client.Object{sa, binding} {
		if err := k.c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = k.c.Delete(ctx, obj) }()
	}
	scraper := k.token(t, ctx, namespace, sa.Name)
	// The endpoint's certificate is self-signed by the manager.
	httpClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // G402: a local self-signed test endpoint.
	get := func(token string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/metrics", port), nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return 0
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	eventually(t, 30*time.Second, "a metrics-reader gets the metrics", func() bool { return get(scraper) == http.StatusOK })
	if code := get(managerToken); code != http.StatusForbidden {
		t.Errorf("a caller without metrics-reader got HTTP %d, want 403", code)
	}
	if code := get(""); code != http.StatusUnauthorized {
		t.Errorf("an anonymous caller got HTTP %d, want 401", code)
	}
}

// createSample creates, in namespace shop, the IngressClass, Ingress and
// CorsPolicy of config/samples (ingress-nginx), and a second target of
// another data plane: an Ingress of a Traefik class with a middleware of its
// own, under a copy of the policy. Both Ingresses carry annotations of their
// own. It waits until both policies are programmed and returns each
// Ingress's annotations as they were before kubecors wrote any.
func (k *cluster) createSample(t *testing.T, ctx context.Context) map[string]map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "samples", "networking_v1_ingress.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appNamespace}}
	if err := k.c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	original := map[string]map[string]string{
		sampleName:  {ownAnnotation: "team-shop"},
		traefikName: {ownAnnotation: "team-web", traefikMiddlewares: "shop-auth@kubernetescrd"},
	}
	for _, u := range decode(t, raw) {
		if u.GetKind() == "Ingress" {
			u.SetNamespace(appNamespace)
			u.SetAnnotations(original[sampleName])
		}
		if err := k.apply(ctx, manifest{u}, false); err != nil {
			t.Fatal(err)
		}
		// The Traefik class and Ingress are the ingress-nginx ones renamed.
		switch u.GetKind() {
		case "IngressClass":
			u.SetName("traefik")
			if err := unstructured.SetNestedField(u.Object, "traefik.io/ingress-controller", "spec", "controller"); err != nil {
				t.Fatal(err)
			}
		case "Ingress":
			u.SetName(traefikName)
			u.SetAnnotations(original[traefikName])
			if err := unstructured.SetNestedField(u.Object, "traefik", "spec", "ingressClassName"); err != nil {
				t.Fatal(err)
			}
		}
		if err := k.apply(ctx, manifest{u}, false); err != nil {
			t.Fatal(err)
		}
	}
	raw, err = os.ReadFile(filepath.Join(repoRoot, "config", "samples", "kubecors_v1alpha1_corspolicy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	policy := &kubecorsv1alpha1.CorsPolicy{}
	if err := yaml.UnmarshalStrict(raw, policy); err != nil {
		t.Fatal(err)
	}
	policy.Namespace = appNamespace
	web := policy.DeepCopy()
	web.Name, web.Spec.TargetRefs[0].Name = traefikName, traefikName
	for _, p := range []*kubecorsv1alpha1.CorsPolicy{policy, web} {
		if err := k.c.Create(ctx, p); err != nil {
			t.Fatalf("creating CorsPolicy %s: %v", p.Name, err)
		}
	}
	programmed := func(name, annotation, want string) func() bool {
		return func() bool {
			p := &kubecorsv1alpha1.CorsPolicy{}
			ing := &networkingv1.Ingress{}
			return k.c.Get(ctx, client.ObjectKey{Namespace: appNamespace, Name: name}, p) == nil &&
				meta.IsStatusConditionTrue(p.Status.Conditions, kubecorsv1alpha1.ConditionProgrammed) &&
				k.c.Get(ctx, client.ObjectKey{Namespace: appNamespace, Name: name}, ing) == nil &&
				strings.Contains(ing.Annotations[annotation], want)
		}
	}
	eventually(t, 30*time.Second, "the sample CorsPolicy is Programmed and its Ingress carries the ingress-nginx CORS annotations",
		programmed(sampleName, corsAnnotation, "https://app.example.com"))
	eventually(t, 30*time.Second, "the Traefik CorsPolicy is Programmed and its Ingress lists kubecors's Middleware after its own",
		programmed(traefikName, traefikMiddlewares, "shop-auth@kubernetescrd,"+appNamespace+"-kubecors-"))
	return original
}

// checkWebhookRejects creates a policy that only the webhook rejects (CEL
// cannot know the public-suffix list): it proves the manager serves the
// webhook with the certificate it issued and the CA it injected.
func (k *cluster) checkWebhookRejects(t *testing.T, ctx context.Context) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "samples", "invalid", "kubecors_v1alpha1_corspolicy_public_suffix.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	policy := &kubecorsv1alpha1.CorsPolicy{}
	if err := yaml.UnmarshalStrict(raw, policy); err != nil {
		t.Fatal(err)
	}
	policy.Namespace = appNamespace
	err = k.c.Create(ctx, policy)
	if err == nil || !strings.Contains(err.Error(), `admission webhook "vcorspolicy-v1alpha1.kubecors.io" denied the request`) {
		t.Errorf("creating %s: %v, want the webhook's rejection", policy.Name, err)
	}
}

func diffMaps(want, got map[string]string) string {
	var d []string
	for k, v := range want {
		if got[k] != v {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", k, got[k], v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("%s: %q left behind", k, v))
		}
	}
	slices.Sort(d)
	return strings.Join(d, "; ")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
