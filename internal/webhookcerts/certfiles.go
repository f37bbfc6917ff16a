package webhookcerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

const (
	// certFileName and keyFileName are both the keys in the Secret and the
	// file names in CertDir; they are the defaults of the rotator and of
	// controller-runtime's webhook server alike.
	certFileName = corev1.TLSCertKey
	keyFileName  = corev1.TLSPrivateKeyKey
	// retryDelay spaces out attempts after a failed write, such as a full
	// disk, which no Secret event would otherwise retry.
	retryDelay = 5 * time.Second
)

var _ manager.LeaderElectionRunnable = &certFileWriter{}

// certFileWriter copies the serving key pair from the Secret into certDir
// whenever the Secret changes. The rotator only writes the Secret; it
// relies on kubelet projecting the Secret as a volume, which an emptyDir,
// envtest and a local run do not do.
type certFileWriter struct {
	secretKey types.NamespacedName
	certDir   string
	// cache holds only the one Secret; the writer starts and owns it.
	cache cache.Cache
}

// NeedLeaderElection is false because every replica serves the webhook and
// therefore needs the files.
func (w *certFileWriter) NeedLeaderElection() bool {
	return false
}

// Start starts the writer's cache and writes the files on every change of
// the Secret until ctx is done.
func (w *certFileWriter) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("webhook-cert-files").WithValues("secret", w.secretKey, "certDir", w.certDir)

	informer, err := w.cache.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return fmt.Errorf("getting the Secret informer: %w", err)
	}
	// A buffer of one coalesces bursts of events: the writer always reads
	// the latest Secret, so one pending signal is enough.
	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
	}); err != nil {
		return fmt.Errorf("watching the Secret: %w", err)
	}

	cacheDone := make(chan error, 1)
	go func() { cacheDone <- w.cache.Start(ctx) }()
	if !w.cache.WaitForCacheSync(ctx) {
		return nil // ctx is done: the manager is stopping.
	}

	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-cacheDone:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("the Secret cache stopped: %w", err)
		case <-changed:
		case <-retry:
		}
		retry = nil
		written, err := w.sync(ctx)
		if err != nil {
			log.Error(err, "Failed to write the webhook serving certificate, retrying", "retryAfter", retryDelay)
			retry = time.After(retryDelay)
			continue
		}
		if written {
			log.Info("Wrote the webhook serving certificate")
		}
	}
}

// sync writes the key pair of the Secret in the cache to certDir and says
// whether any file changed.
func (w *certFileWriter) sync(ctx context.Context) (bool, error) {
	secret := &corev1.Secret{}
	if err := w.cache.Get(ctx, w.secretKey, secret); err != nil {
		if apierrors.IsNotFound(err) {
			// Setup created it; if someone deleted it since, the rotator
			// fails and restarts the operator, which creates it again.
			return false, nil
		}
		return false, fmt.Errorf("reading Secret %s: %w", w.secretKey, err)
	}
	return writeKeyPair(w.certDir, secret)
}

// writeKeyPair writes the Secret's tls.key and tls.crt to dir, leaving
// files that already hold the same bytes alone so that the webhook server
// does not reload for nothing. It writes nothing until the rotator has put
// both into the Secret, and never writes the CA's key.
//
// The key goes first: the rotator takes the appearance of tls.crt as the
// sign that the files are in place. Each file is replaced by a rename, so
// the webhook server never reads a half-written file; between the two
// renames of a rotation it may read a mismatched pair, fails to load it,
// keeps serving the old pair and loads the new one after the second rename.
func writeKeyPair(dir string, secret *corev1.Secret) (bool, error) {
	cert, key := secret.Data[certFileName], secret.Data[keyFileName]
	if len(cert) == 0 || len(key) == 0 {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("creating %s: %w", dir, err)
	}
	// Every file operation goes through an os.Root, so that not even a
	// symlink planted in dir can make the writer touch a file outside it.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return false, fmt.Errorf("opening %s: %w", dir, err)
	}
	defer func() { _ = root.Close() }()

	wroteKey, err := replaceFile(root, keyFileName, key)
	if err != nil {
		return false, err
	}
	wroteCert, err := replaceFile(root, certFileName, cert)
	if err != nil {
		return wroteKey, err
	}
	return wroteKey || wroteCert, nil
}

// replaceFile makes name in root hold data, readable by the operator only,
// and says whether it had to write.
func replaceFile(root *os.Root, name string, data []byte) (bool, error) {
	path := filepath.Join(root.Name(), name)
	current, err := root.ReadFile(name)
	if err == nil && bytes.Equal(current, data) {
		return false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}

	// The temporary file is in the same directory, because a rename is
	// atomic only within one file system. A fixed name is enough: one
	// writer per process owns the directory. Removing a leftover first
	// makes sure the new file gets mode 0600, which WriteFile only sets on
	// creation.
	tmp := "." + name + ".tmp"
	if err := root.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("removing a leftover %s: %w", filepath.Join(root.Name(), tmp), err)
	}
	if err := root.WriteFile(tmp, data, 0o600); err != nil {
		return false, fmt.Errorf("writing %s: %w", filepath.Join(root.Name(), tmp), err)
	}
	if err := root.Rename(tmp, name); err != nil {
		_ = root.Remove(tmp)
		return false, fmt.Errorf("replacing %s: %w", path, err)
	}
	return true, nil
}
