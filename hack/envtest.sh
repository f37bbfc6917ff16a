#!/usr/bin/env bash
# Prints the directory holding the envtest binaries (kube-apiserver, etcd,
# kubectl) for ENVTEST_K8S_VERSION, making them first if needed:
#   1. reuse them if they are already where setup-envtest keeps them;
#   2. else try setup-envtest's normal download;
#   3. else build them from the Go module proxy with the wrapper modules in
#      hack/envtest/ (kube-apiserver ~8-10 min and etcd ~1 min cold on 2 cores).
# Everything but the final path goes to stderr, so callers can write
#   KUBEBUILDER_ASSETS="$(hack/envtest.sh)".
set -euo pipefail

K8S_VERSION="${ENVTEST_K8S_VERSION:-1.37.2}"
ETCD_VERSION=3.6.16 # pinned in hack/envtest/etcd/go.mod
SETUP_ENVTEST_VERSION="${SETUP_ENVTEST_VERSION:-v0.25.1}"
ROOT="${ENVTEST_BIN_ROOT:-${XDG_DATA_HOME:-$HOME/.local/share}/kubebuilder-envtest}"
DIR="$ROOT/k8s/${K8S_VERSION}-$(go env GOOS)-$(go env GOARCH)"
HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/envtest"

log() { echo "envtest: $*" >&2; }

complete() {
  [[ -x "$DIR/kube-apiserver" && -x "$DIR/etcd" && -x "$DIR/kubectl" ]] &&
    "$DIR/kube-apiserver" --version 2>/dev/null | grep -x "Kubernetes v${K8S_VERSION}" >/dev/null
}

if complete; then
  echo "$DIR"
  exit 0
fi

log "no cached binaries for Kubernetes ${K8S_VERSION} in $DIR; trying setup-envtest's download"
if timeout 180 go run "sigs.k8s.io/controller-runtime/tools/setup-envtest@${SETUP_ENVTEST_VERSION}" \
    use "${K8S_VERSION}" --bin-dir "$ROOT" -p path >/dev/null 2>&1 && complete; then
  log "downloaded"
  echo "$DIR"
  exit 0
fi

log "download failed; building from the Go module proxy (first run only: about 10 minutes on 2 cores)"
mkdir -p "$DIR"
tmp="$(mktemp -d "$DIR/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v${K8S_VERSION}"
ldflags+=" -X k8s.io/component-base/version.gitMajor=${K8S_VERSION%%.*}"
minor="${K8S_VERSION#*.}"
ldflags+=" -X k8s.io/component-base/version.gitMinor=${minor%%.*}"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
(
  cd "$HACK/kube-apiserver"
  start=$SECONDS
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl
  log "built kube-apiserver and kubectl in $((SECONDS - start))s"
) >&2
(
  cd "$HACK/etcd"
  start=$SECONDS
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3
  log "built etcd ${ETCD_VERSION} in $((SECONDS - start))s"
) >&2
mv -f "$tmp/kube-apiserver" "$tmp/kubectl" "$tmp/etcd" "$DIR/"
complete || { log "built binaries do not report Kubernetes v${K8S_VERSION}"; exit 1; }
echo "$DIR"
