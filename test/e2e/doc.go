// Package e2e is kubecors's browser end-to-end suite: a local control plane
// (the envtest kube-apiserver and etcd), the operator, Traefik built from
// the Go module proxy, a real backend and headless Chromium making real
// fetch() calls through the three data-plane paths kubecors programs
// (ingress-nginx annotations served by Traefik's kubernetesIngressNGINX
// provider, a Traefik Middleware on an Ingress, and an ExtensionRef filter on
// an HTTPRoute through a Traefik Gateway).
//
// The tests carry the build tag e2e, so `go test ./...` skips them; run them
// with `make test-e2e`.
package e2e
