// Package webhookcerts lets the operator issue and rotate the serving
// certificate of its own admission webhook, so that a cluster without
// cert-manager can install kubecors with nothing but its manifests.
//
// It wraps cert-controller's rotator (github.com/open-policy-agent/cert-controller/pkg/rotator)
// with the rotator's defaults:
//
//   - the self-signed CA is valid for 10 years and the serving certificate
//     for 1 year;
//   - every 12 hours, and whenever the Secret or the webhook configuration
//     changes, the rotator checks both and reissues whichever expires within
//     the next 90 days (so a certificate is replaced about 90 days before it
//     expires, never after);
//   - the CA is written to every webhook's clientConfig.caBundle of the
//     ValidatingWebhookConfiguration, again on every change of it, so a
//     re-applied manifest with an empty caBundle is repaired at once.
//
// The rotator keeps the key pair in a Secret in the operator's namespace and
// expects kubelet to project that Secret into CertDir. This package instead
// copies tls.crt and tls.key from the Secret into CertDir itself, so CertDir
// can be an emptyDir (no restart or kubelet sync delay on rotation) and the
// same code works in envtest and on a laptop, where there is no kubelet.
// controller-runtime's webhook server reloads the files when they change.
//
// Every replica runs the rotator, not only the leader: each replica serves
// the webhook and needs the files. Replicas that race to issue a certificate
// are serialised by the Secret's resourceVersion; the losers read the
// winner's certificate.
//
// The webhook server must not start before the files exist, because it
// reads them at start. The caller therefore registers its webhooks (the
// first call to mgr.GetWebhookServer() adds the server to the manager) only
// after the channel returned by Setup is closed, and gates /readyz on it.
package webhookcerts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// The Secret lives in the operator's namespace only. The rotator lists and
// watches Secrets there (its own cache) and updates the one it owns; Setup
// gets and creates it, because the rotator fails if it is missing. Nothing
// patches it, so patch is not granted (test/faults checks every grant is used).
// +kubebuilder:rbac:groups="",namespace=kubecors-system,resources=secrets,verbs=get;list;watch;create;update

// The rotator watches webhook configurations through an informer (list,
// watch) and writes the caBundle with a full Update; it never issues a plain
// get or a patch, so neither is granted.
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,verbs=list;watch;update

const (
	// caName is the common name of the self-signed CA. It only has to be
	// stable, because the rotator checks the CA against it.
	caName = "kubecors-ca"
	// caOrganization is the organization of the self-signed CA, shown to
	// whoever inspects the caBundle.
	caOrganization = "kubecors"
	// rotatorControllerName names the rotator's controller in logs and
	// metrics. controller-runtime requires it to be unique per process.
	rotatorControllerName = "webhook-cert-rotator"
	// fieldOwner is the field manager of the caBundle writes, so that
	// managedFields tell who injected the CA.
	fieldOwner = "kubecors-webhook-cert-rotator"
	// setupTimeout bounds the one API call Setup makes, so that an
	// unreachable API server fails start-up instead of hanging it.
	setupTimeout = 30 * time.Second
)

// Options says where the serving certificate lives and which webhook configuration receives its CA.
type Options struct {
	// Namespace is the operator's namespace, where the Secret lives. It is
	// the only namespace in which Secrets are read or written.
	Namespace string
	// SecretName is the name of the Secret that holds the CA and the
	// serving key pair, for example "kubecors-webhook-server-cert". Setup
	// creates it empty if it does not exist.
	SecretName string
	// ServiceName is the name of the webhook Service, for example
	// "kubecors-webhook-service". The certificate is issued for
	// <ServiceName>.<Namespace>.svc, the name the API server dials.
	ServiceName string
	// ValidatingWebhookName is the name of the ValidatingWebhookConfiguration
	// whose webhooks receive the CA, for example
	// "kubecors-validating-webhook-configuration".
	ValidatingWebhookName string
	// CertDir is the directory the webhook server reads tls.crt and tls.key
	// from. It must be writable; it is created if missing.
	CertDir string
	// ExtraDNSNames are further DNS names for the certificate, for example
	// "localhost" when the operator runs outside the cluster. IP addresses
	// are refused, because the rotator only issues DNS names.
	ExtraDNSNames []string
}

// Setup adds the rotator to mgr. The returned channel is closed once the certificate is in CertDir and the CA is injected, so the caller can gate readiness and webhook registration on it.
//
// Setup makes one API call itself: it creates the Secret, empty, when it
// does not exist yet, because the rotator refuses to start without it. The
// manager's scheme must know core/v1 Secrets. Setup may be called only once
// per process, because controller-runtime refuses two controllers of the
// same name.
func Setup(mgr manager.Manager, opts Options) (<-chan struct{}, error) {
	if mgr == nil {
		return nil, errors.New("webhookcerts: nil manager")
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("webhookcerts: invalid options: %w", err)
	}
	if !mgr.GetScheme().Recognizes(corev1.SchemeGroupVersion.WithKind("Secret")) {
		return nil, errors.New("webhookcerts: the manager's scheme does not know core/v1 Secret; add client-go's scheme to it")
	}

	secretKey := types.NamespacedName{Namespace: opts.Namespace, Name: opts.SecretName}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := ensureSecret(ctx, mgr.GetAPIReader(), mgr.GetClient(), secretKey); err != nil {
		return nil, fmt.Errorf("webhookcerts: %w", err)
	}

	ready := make(chan struct{})
	certRotator := &rotator.CertRotator{
		SecretKey:      secretKey,
		CertDir:        opts.CertDir,
		CAName:         caName,
		CAOrganization: caOrganization,
		DNSName:        opts.serviceDNSName(),
		ExtraDNSNames:  opts.ExtraDNSNames,
		IsReady:        ready,
		Webhooks: []rotator.WebhookInfo{{
			Name: opts.ValidatingWebhookName,
			Type: rotator.Validating,
		}},
		FieldOwner: fieldOwner,
		// Every replica serves the webhook, so every replica needs the
		// files; see the package documentation.
		RequireLeaderElection: false,
		ControllerName:        rotatorControllerName,
	}
	// AddRotator gives the rotator its own cache whose DefaultNamespaces is
	// only opts.Namespace, so its Secret informer lists and watches that
	// namespace alone; the manager's cache never sees a Secret.
	if err := rotator.AddRotator(mgr, certRotator); err != nil {
		return nil, fmt.Errorf("webhookcerts: adding the certificate rotator: %w", err)
	}

	secretCache, err := newSecretCache(mgr, secretKey)
	if err != nil {
		return nil, fmt.Errorf("webhookcerts: %w", err)
	}
	writer := &certFileWriter{secretKey: secretKey, certDir: opts.CertDir, cache: secretCache}
	if err := mgr.Add(writer); err != nil {
		return nil, fmt.Errorf("webhookcerts: adding the certificate file writer: %w", err)
	}
	return ready, nil
}

// validate reports every problem of the options at once, so that a
// misconfigured Deployment is fixed in one round.
func (o Options) validate() error {
	var errs []error
	check := func(field, value string, validate func(string) []string) {
		if value == "" {
			errs = append(errs, fmt.Errorf("%s must be set", field))
			return
		}
		for _, msg := range validate(value) {
			errs = append(errs, fmt.Errorf("%s %q: %s", field, value, msg))
		}
	}
	check("Namespace", o.Namespace, validation.IsDNS1123Label)
	check("SecretName", o.SecretName, validation.IsDNS1123Subdomain)
	// Service names are DNS-1035 labels: the name becomes the first label
	// of the DNS name in the certificate.
	check("ServiceName", o.ServiceName, validation.IsDNS1035Label)
	check("ValidatingWebhookName", o.ValidatingWebhookName, validation.IsDNS1123Subdomain)
	if o.CertDir == "" {
		errs = append(errs, errors.New("CertDir must be set"))
	} else if !filepath.IsAbs(o.CertDir) {
		// A relative directory would depend on the working directory the
		// operator happens to be started from.
		errs = append(errs, fmt.Errorf("CertDir %q must be an absolute path", o.CertDir))
	}
	for i, name := range o.ExtraDNSNames {
		field := fmt.Sprintf("ExtraDNSNames[%d]", i)
		if net.ParseIP(name) != nil {
			errs = append(errs, fmt.Errorf("%s %q: IP addresses are not supported, the certificate only carries DNS names", field, name))
			continue
		}
		check(field, name, validation.IsDNS1123Subdomain)
	}
	return errors.Join(errs...)
}

// serviceDNSName is the name the API server dials for a webhook that refers
// to a Service: <service>.<namespace>.svc.
func (o Options) serviceDNSName() string {
	return fmt.Sprintf("%s.%s.svc", o.ServiceName, o.Namespace)
}

// ensureSecret creates the Secret empty when it is missing, because the
// rotator's first refresh fails on a missing Secret and takes the manager
// down with it. Shipping the Secret in the manifests instead would let
// re-applying them (or a GitOps sync) wipe the issued certificate.
func ensureSecret(ctx context.Context, reader client.Reader, writer client.Writer, key types.NamespacedName) error {
	err := reader.Get(ctx, key, &corev1.Secret{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading Secret %s: %w", key, err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: key.Namespace,
			Name:      key.Name,
			Labels: map[string]string{
				"app.kubernetes.io/name":       "kubecors",
				"app.kubernetes.io/component":  "webhook-certs",
				"app.kubernetes.io/managed-by": "kubecors",
			},
		},
		// Opaque, not kubernetes.io/tls: the API server requires tls.crt
		// and tls.key in a TLS Secret at creation, and they do not exist yet.
		Type: corev1.SecretTypeOpaque,
	}
	// Another replica may create it first; that is as good.
	if err := writer.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Secret %s: %w", key, err)
	}
	return nil
}

// newSecretCache returns a cache that holds the one Secret, selected by
// namespace and name, so that copying the key pair to disk needs neither a
// cluster-wide nor a namespace-wide Secret watch of its own.
func newSecretCache(mgr manager.Manager, key types.NamespacedName) (cache.Cache, error) {
	secretCache, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:            mgr.GetScheme(),
		Mapper:            mgr.GetRESTMapper(),
		DefaultNamespaces: map[string]cache.Config{key.Namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Field: fields.OneTermEqualSelector("metadata.name", key.Name)},
		},
		// Reading anything else through this cache is a bug; fail instead
		// of quietly starting another informer.
		ReaderFailOnMissingInformer: true,
	})
	if err != nil {
		return nil, fmt.Errorf("creating the Secret cache: %w", err)
	}
	return secretCache, nil
}
