package webhookcerts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// validOptions are the options the default manifests produce.
func validOptions() Options {
	return Options{
		Namespace:             "kubecors-system",
		SecretName:            "kubecors-webhook-server-cert",
		ServiceName:           "kubecors-webhook-service",
		ValidatingWebhookName: "kubecors-validating-webhook-configuration",
		CertDir:               "/tmp/k8s-webhook-server/serving-certs",
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Options)
		wantErr []string // substrings, one per expected problem
	}{
		{name: "the default manifests' options are valid", mutate: func(*Options) {}},
		{name: "localhost is a valid extra name for local runs", mutate: func(o *Options) { o.ExtraDNSNames = []string{"localhost", "host.docker.internal"} }},
		{name: "a missing namespace is refused, the Secret would have no home", mutate: func(o *Options) { o.Namespace = "" }, wantErr: []string{"Namespace must be set"}},
		{name: "a namespace that is no DNS label is refused", mutate: func(o *Options) { o.Namespace = "Kubecors_System" }, wantErr: []string{`Namespace "Kubecors_System"`}},
		{name: "a missing Secret name is refused", mutate: func(o *Options) { o.SecretName = "" }, wantErr: []string{"SecretName must be set"}},
		{name: "a missing Service name is refused, the certificate would name no host", mutate: func(o *Options) { o.ServiceName = "" }, wantErr: []string{"ServiceName must be set"}},
		{name: "a Service name starting with a digit is refused, Services are DNS-1035 labels", mutate: func(o *Options) { o.ServiceName = "1webhook" }, wantErr: []string{`ServiceName "1webhook"`}},
		{name: "a missing webhook configuration name is refused, the CA would go nowhere", mutate: func(o *Options) { o.ValidatingWebhookName = "" }, wantErr: []string{"ValidatingWebhookName must be set"}},
		{name: "a missing cert dir is refused", mutate: func(o *Options) { o.CertDir = "" }, wantErr: []string{"CertDir must be set"}},
		{name: "a relative cert dir is refused, it would depend on the working directory", mutate: func(o *Options) { o.CertDir = "certs" }, wantErr: []string{"must be an absolute path"}},
		{name: "an IP address as extra name is refused, the certificate only carries DNS names", mutate: func(o *Options) { o.ExtraDNSNames = []string{"127.0.0.1"} }, wantErr: []string{"ExtraDNSNames[0]", "IP addresses are not supported"}},
		{name: "an empty extra name is refused", mutate: func(o *Options) { o.ExtraDNSNames = []string{"localhost", ""} }, wantErr: []string{"ExtraDNSNames[1] must be set"}},
		{
			name:    "every problem is reported at once, so one fix round suffices",
			mutate:  func(o *Options) { *o = Options{} },
			wantErr: []string{"Namespace must be set", "SecretName must be set", "ServiceName must be set", "ValidatingWebhookName must be set", "CertDir must be set"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := validOptions()
			tt.mutate(&opts)
			err := opts.validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate() = nil, want errors containing %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("validate() = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestServiceDNSNameIsWhatTheAPIServerDials(t *testing.T) {
	if got, want := validOptions().serviceDNSName(), "kubecors-webhook-service.kubecors-system.svc"; got != want {
		t.Errorf("serviceDNSName() = %q, want %q", got, want)
	}
}

// newOfflineManager returns a manager whose API server does not exist, to
// show that Setup refuses bad input before it makes any API call.
func newOfflineManager(t *testing.T, scheme *runtime.Scheme) manager.Manager {
	t.Helper()
	mgr, err := manager.New(&rest.Config{Host: "https://127.0.0.1:1"}, manager.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatalf("manager.New: %v", err)
	}
	return mgr
}

func TestSetupRefusesBadInputWithoutCallingTheAPIServer(t *testing.T) {
	t.Run("a nil manager is refused", func(t *testing.T) {
		if _, err := Setup(nil, validOptions()); err == nil {
			t.Fatal("Setup(nil, ...) = nil error, want an error")
		}
	})
	t.Run("invalid options are refused", func(t *testing.T) {
		opts := validOptions()
		opts.SecretName = ""
		_, err := Setup(newOfflineManager(t, clientgoscheme.Scheme), opts)
		if err == nil || !strings.Contains(err.Error(), "SecretName must be set") {
			t.Fatalf("Setup() = %v, want the SecretName problem", err)
		}
	})
	t.Run("a scheme without Secrets is refused, the rotator could not read its Secret", func(t *testing.T) {
		_, err := Setup(newOfflineManager(t, runtime.NewScheme()), validOptions())
		if err == nil || !strings.Contains(err.Error(), "does not know core/v1 Secret") {
			t.Fatalf("Setup() = %v, want the scheme problem", err)
		}
	})
}

var testSecretKey = types.NamespacedName{Namespace: "kubecors-system", Name: "kubecors-webhook-server-cert"}

func TestEnsureSecret(t *testing.T) {
	ctx := context.Background()

	t.Run("a missing Secret is created empty and Opaque, a TLS Secret needs its keys up front", func(t *testing.T) {
		c := fake.NewClientBuilder().Build()
		if err := ensureSecret(ctx, c, c, testSecretKey); err != nil {
			t.Fatalf("ensureSecret() = %v", err)
		}
		got := &corev1.Secret{}
		if err := c.Get(ctx, testSecretKey, got); err != nil {
			t.Fatalf("getting the Secret: %v", err)
		}
		if got.Type != corev1.SecretTypeOpaque || len(got.Data) != 0 {
			t.Errorf("Secret = type %q with %d keys, want an empty Opaque Secret", got.Type, len(got.Data))
		}
	})

	t.Run("an existing Secret is left alone, its certificate stays valid", func(t *testing.T) {
		existing := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: testSecretKey.Namespace, Name: testSecretKey.Name},
			Data:       map[string][]byte{"ca.crt": []byte("ca")},
		}
		c := fake.NewClientBuilder().WithObjects(existing).Build()
		if err := ensureSecret(ctx, c, c, testSecretKey); err != nil {
			t.Fatalf("ensureSecret() = %v", err)
		}
		got := &corev1.Secret{}
		if err := c.Get(ctx, testSecretKey, got); err != nil {
			t.Fatalf("getting the Secret: %v", err)
		}
		if string(got.Data["ca.crt"]) != "ca" {
			t.Errorf("Secret data = %v, want it unchanged", got.Data)
		}
	})

	t.Run("losing the creation race to another replica is no error", func(t *testing.T) {
		c := fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
			Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
				return apierrors.NewAlreadyExists(schema.GroupResource{Resource: "secrets"}, testSecretKey.Name)
			},
		}).Build()
		if err := ensureSecret(ctx, c, c, testSecretKey); err != nil {
			t.Fatalf("ensureSecret() = %v, want nil", err)
		}
	})

	t.Run("a failed read is reported, not papered over by a create", func(t *testing.T) {
		c := fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
			Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
				return apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, testSecretKey.Name, errors.New("no RBAC"))
			},
		}).Build()
		if err := ensureSecret(ctx, c, c, testSecretKey); !apierrors.IsForbidden(err) {
			t.Fatalf("ensureSecret() = %v, want the Forbidden error", err)
		}
	})
}

func secretWith(data map[string]string) *corev1.Secret {
	s := &corev1.Secret{Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return string(b)
}

// Stand-ins for PEM data: writeKeyPair copies bytes and never parses them.
const (
	testCert = "cert"
	testKey  = "key"
)

func TestWriteKeyPair(t *testing.T) {
	t.Run("nothing is written before the rotator filled the Secret, the rotator would take a lone file as ready", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "certs")
		written, err := writeKeyPair(dir, secretWith(map[string]string{certFileName: testCert}))
		if err != nil || written {
			t.Fatalf("writeKeyPair() = %v, %v; want false, nil", written, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Stat(%s) = %v, want it not to exist", dir, err)
		}
	})

	t.Run("the key pair is written to a new directory, readable by the operator only", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "serving-certs")
		written, err := writeKeyPair(dir, secretWith(map[string]string{
			certFileName: testCert, keyFileName: testKey, "ca.crt": "ca", "ca.key": "ca-key",
		}))
		if err != nil || !written {
			t.Fatalf("writeKeyPair() = %v, %v; want true, nil", written, err)
		}
		if got := readFile(t, filepath.Join(dir, certFileName)); got != testCert {
			t.Errorf("tls.crt = %q, want %q", got, testCert)
		}
		if got := readFile(t, filepath.Join(dir, keyFileName)); got != testKey {
			t.Errorf("tls.key = %q, want %q", got, testKey)
		}
		for _, name := range []string{certFileName, keyFileName} {
			info, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s has mode %o, want 600", name, perm)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 {
			names := make([]string, 0, len(entries))
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("cert dir holds %v, want only tls.crt and tls.key (no CA key, no temporary files)", names)
		}
	})

	t.Run("unchanged files are not rewritten, the webhook server would reload for nothing", func(t *testing.T) {
		dir := t.TempDir()
		secret := secretWith(map[string]string{certFileName: testCert, keyFileName: testKey})
		if _, err := writeKeyPair(dir, secret); err != nil {
			t.Fatal(err)
		}
		written, err := writeKeyPair(dir, secret)
		if err != nil || written {
			t.Fatalf("second writeKeyPair() = %v, %v; want false, nil", written, err)
		}
	})

	t.Run("a rotated key pair replaces the old one", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := writeKeyPair(dir, secretWith(map[string]string{certFileName: "old-cert", keyFileName: "old-key"})); err != nil {
			t.Fatal(err)
		}
		written, err := writeKeyPair(dir, secretWith(map[string]string{certFileName: "new-cert", keyFileName: "new-key"}))
		if err != nil || !written {
			t.Fatalf("writeKeyPair() = %v, %v; want true, nil", written, err)
		}
		if got := readFile(t, filepath.Join(dir, certFileName)); got != "new-cert" {
			t.Errorf("tls.crt = %q, want %q", got, "new-cert")
		}
		if got := readFile(t, filepath.Join(dir, keyFileName)); got != "new-key" {
			t.Errorf("tls.key = %q, want %q", got, "new-key")
		}
	})

	t.Run("a temporary file left by a crash is replaced, not reused with its loose mode", func(t *testing.T) {
		dir := t.TempDir()
		leftover := filepath.Join(dir, ".tls.key.tmp")
		//nolint:gosec // G306: the test plants a file with a loose mode on purpose.
		if err := os.WriteFile(leftover, []byte("half-written"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := writeKeyPair(dir, secretWith(map[string]string{certFileName: testCert, keyFileName: testKey})); err != nil {
			t.Fatalf("writeKeyPair() = %v", err)
		}
		info, err := os.Stat(filepath.Join(dir, keyFileName))
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("tls.key has mode %o, want 600", perm)
		}
		if got := readFile(t, filepath.Join(dir, keyFileName)); got != testKey {
			t.Errorf("tls.key = %q, want %q", got, testKey)
		}
		if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Stat(%s) = %v, want the leftover gone", leftover, err)
		}
	})
}
