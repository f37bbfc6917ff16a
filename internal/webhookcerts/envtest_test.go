package webhookcerts_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/testenv"
	webhookv1alpha1 "github.com/kubecors/kubecors/internal/webhook/v1alpha1"
	"github.com/kubecors/kubecors/internal/webhookcerts"
)

const operatorNamespace = "kubecors-system"

// TestSelfManagedCertificates runs the rotator and the real webhook against
// a real API server, as the operator's own user holding exactly the
// generated RBAC, and checks the round trip: the certificate is generated
// and stored in the Secret, the CA is injected into the webhook
// configuration, the API server trusts the webhook (a bad policy is
// rejected by it), and a removed CA bundle comes back.
func TestSelfManagedCertificates(t *testing.T) {
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: testenv.BinaryAssetsDir(),
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	scheme := runtime.NewScheme()
	must(t, clientgoscheme.AddToScheme(scheme))
	must(t, kubecorsv1alpha1.AddToScheme(scheme))
	admin, err := client.New(cfg, client.Options{Scheme: scheme})
	must(t, err)

	port := freePort(t)
	must(t, admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}))
	vwc := webhookConfiguration(t, port)
	must(t, admin.Create(ctx, vwc))
	user := operatorUser(ctx, t, env, admin)

	certDir := filepath.Join(t.TempDir(), "serving-certs")
	mgr, err := ctrl.NewManager(user.Config(), ctrl.Options{
		Scheme:        scheme,
		Metrics:       metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir}),
	})
	must(t, err)
	ready, err := webhookcerts.Setup(mgr, webhookcerts.Options{
		Namespace: operatorNamespace, SecretName: "kubecors-webhook-server-cert", ServiceName: "kubecors-webhook-service",
		ValidatingWebhookName: vwc.Name, CertDir: certDir, ExtraDNSNames: []string{"localhost"},
	})
	must(t, err)
	go func() {
		<-ready
		if err := webhookv1alpha1.SetupCorsPolicyWebhookWithManager(mgr); err != nil {
			t.Errorf("registering the webhook: %v", err)
		}
	}()
	go func() {
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("the certificate was not ready within 60s")
	}

	secret := &corev1.Secret{}
	must(t, admin.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "kubecors-webhook-server-cert"}, secret))
	for _, key := range []string{"ca.crt", "ca.key", "tls.crt", "tls.key"} {
		if len(secret.Data[key]) == 0 {
			t.Fatalf("the Secret lacks %s", key)
		}
	}
	verifyServingCert(t, secret.Data["ca.crt"], secret.Data["tls.crt"])
	eventually(t, "the CA bundle is injected", func() error { return caBundleIs(ctx, admin, vwc.Name, secret.Data["ca.crt"]) })

	bad := &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "github-pages", Namespace: "default"},
		Spec: kubecorsv1alpha1.CorsPolicySpec{
			TargetRefs:   []kubecorsv1alpha1.PolicyTargetReference{{Group: "networking.k8s.io", Kind: "Ingress", Name: "web"}},
			AllowOrigins: []kubecorsv1alpha1.Origin{"https://*.github.io"},
		},
	}
	eventually(t, "the API server calls the webhook over TLS it trusts", func() error {
		err := admin.Create(ctx, bad.DeepCopy())
		if err == nil || !strings.Contains(err.Error(), `admission webhook "vcorspolicy-v1alpha1.kubecors.io" denied the request`) ||
			!strings.Contains(err.Error(), "public suffix") {
			return fmt.Errorf("want the webhook's rejection, got %v", err)
		}
		return nil
	})

	current := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	must(t, admin.Get(ctx, client.ObjectKey{Name: vwc.Name}, current))
	current.Webhooks[0].ClientConfig.CABundle = nil
	must(t, admin.Update(ctx, current))
	eventually(t, "a removed CA bundle is injected again", func() error { return caBundleIs(ctx, admin, vwc.Name, secret.Data["ca.crt"]) })
}

// webhookConfiguration is the generated configuration, pointed at the local
// webhook server by URL, with no CA bundle: the rotator must provide it.
func webhookConfiguration(t *testing.T, port int) *admissionregistrationv1.ValidatingWebhookConfiguration {
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "webhook", "manifests.yaml"))
	must(t, err)
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	must(t, yaml.UnmarshalStrict(raw, vwc))
	vwc.Name = "kubecors-validating-webhook-configuration"
	for i := range vwc.Webhooks {
		url := fmt.Sprintf("https://localhost:%d%s", port, *vwc.Webhooks[i].ClientConfig.Service.Path)
		vwc.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url}
	}
	return vwc
}

// operatorUser creates a user bound to exactly the roles controller-gen
// generated into config/rbac/role.yaml, so the test fails if the markers
// miss a permission the rotator needs.
func operatorUser(ctx context.Context, t *testing.T, env *envtest.Environment, admin client.Client) *envtest.AuthenticatedUser {
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	must(t, err)
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "kubecors-operator"}}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var doc struct {
			Kind     string              `json:"kind"`
			Metadata metav1.ObjectMeta   `json:"metadata"`
			Rules    []rbacv1.PolicyRule `json:"rules"`
		}
		if err := decoder.Decode(&doc); err != nil {
			break
		}
		switch doc.Kind {
		case "ClusterRole":
			must(t, admin.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: doc.Metadata.Name}, Rules: doc.Rules}))
			must(t, admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: doc.Metadata.Name}, Subjects: subject,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: doc.Metadata.Name}}))
		case "Role":
			if doc.Metadata.Namespace != operatorNamespace {
				t.Fatalf("a generated Role is in namespace %q, not the operator's", doc.Metadata.Namespace)
			}
			must(t, admin.Create(ctx, &rbacv1.Role{ObjectMeta: doc.Metadata, Rules: doc.Rules}))
			must(t, admin.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: doc.Metadata, Subjects: subject,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: doc.Metadata.Name}}))
		}
	}
	user, err := env.AddUser(envtest.User{Name: "kubecors-operator"}, nil)
	must(t, err)
	return user
}

func verifyServingCert(t *testing.T, caPEM, certPEM []byte) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.crt holds no certificate")
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("tls.crt holds no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	must(t, err)
	for _, name := range []string{"kubecors-webhook-service." + operatorNamespace + ".svc", "localhost"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: pool}); err != nil {
			t.Errorf("the serving certificate does not verify for %s: %v", name, err)
		}
	}
}

func caBundleIs(ctx context.Context, c client.Client, name string, want []byte) error {
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, vwc); err != nil {
		return err
	}
	for _, w := range vwc.Webhooks {
		if !bytes.Equal(w.ClientConfig.CABundle, want) {
			return errors.New("the CA bundle differs from the Secret's ca.crt")
		}
	}
	return nil
}

func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = check(); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
