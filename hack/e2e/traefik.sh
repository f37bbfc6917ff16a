#!/usr/bin/env bash
# Prints the path of a Traefik binary for the browser end-to-end tests,
# building it once from the Go module proxy with the wrapper module in
# hack/traefik/ (about 5-8 minutes cold on 2 cores) and caching it under
# ${KUBECORS_E2E_CACHE:-$HOME/.cache/kubecors-e2e}/traefik-VERSION.
# Everything but the final path goes to stderr, so callers can write
#   TRAEFIK_BIN="$(hack/e2e/traefik.sh)".
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/traefik"
VERSION="$(cd "$HACK" && go list -m -f '{{.Version}}' github.com/traefik/traefik/v3)"
CACHE="${KUBECORS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubecors-e2e}"
BIN="$CACHE/traefik-$VERSION"

log() { echo "traefik: $*" >&2; }

if [[ -x "$BIN" ]] && "$BIN" version 2>/dev/null | grep -F "${VERSION#v}" >/dev/null; then
  echo "$BIN"
  exit 0
fi

log "building Traefik $VERSION from the Go module proxy into $BIN (first run only)"
mkdir -p "$CACHE"
tmp="$(mktemp "$CACHE/.traefik.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
start=$SECONDS
(
  cd "$HACK"
  CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=${VERSION#v}" \
    -o "$tmp" github.com/traefik/traefik/v3/cmd/traefik
) >&2
mv -f "$tmp" "$BIN"
log "built in $((SECONDS - start))s"
"$BIN" version 2>/dev/null | grep -F "${VERSION#v}" >/dev/null || { log "built binary does not report $VERSION"; exit 1; }
echo "$BIN"
