// Package install tests how kubecors is installed: the kubebuilder PROJECT
// file against the tree (always, with go test ./...), and, behind the
// "install" build tag (make test-install), the Helm chart and the kustomize
// output applied to a local control plane, the manager running with only
// the installed RBAC, and the documented uninstall order.
package install
