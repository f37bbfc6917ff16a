# The manager image for pipelines that build with Docker or BuildKit; `make
# image` builds the same image without a daemon (hack/image). Multi-arch:
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse --short HEAD) -t REPO:TAG .
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=v0.0.0-dev
ARG COMMIT=unknown
ARG DATE=unknown
WORKDIR /workspace
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
COPY config/crd/ config/crd/
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
    -ldflags "-s -w -X github.com/kubecors/kubecors/internal/version.Version=${VERSION} -X github.com/kubecors/kubecors/internal/version.Commit=${COMMIT} -X github.com/kubecors/kubecors/internal/version.Date=${DATE}" \
    -o /out/manager ./cmd

# A static binary needs no more than distroless's static image (CA
# certificates, /etc/passwd with user 65532, tzdata).
FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
