// Package testenv finds the envtest control-plane binaries for test suites,
// so `go test` works from an editor as well as from `make test`.
package testenv

import (
	"os"
	"path/filepath"
	"runtime"
)

// K8sVersion is the Kubernetes version of the envtest binaries; keep it
// equal to ENVTEST_K8S_VERSION in the Makefile.
const K8sVersion = "1.37.2"

// BinaryAssetsDir returns $KUBEBUILDER_ASSETS when set, else the directory
// where hack/envtest.sh (and setup-envtest) keep the binaries when it
// holds them, else "" (envtest then reports what is missing).
func BinaryAssetsDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		data = filepath.Join(home, ".local", "share")
	}
	dir := filepath.Join(data, "kubebuilder-envtest", "k8s", K8sVersion+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	// The directory is the developer's own, from their environment; the
	// binary may be a symlink out of it, which os.Root would not follow.
	//nolint:gosec // G703: only checks that the developer's own envtest store holds kube-apiserver.
	if _, err := os.Stat(filepath.Join(dir, "kube-apiserver")); err != nil {
		return ""
	}
	return dir
}
