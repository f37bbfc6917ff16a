# kubecors — run `make help` for the targets.

# Kubernetes version of the envtest control plane (kube-apiserver + etcd).
ENVTEST_K8S_VERSION ?= 1.37.2
# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 20s

LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint
KUSTOMIZE ?= $(LOCALBIN)/kustomize
HELM ?= $(LOCALBIN)/helm
GREMLINS ?= $(LOCALBIN)/gremlins
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
# v5.8.3 needs Go 1.27.
KUSTOMIZE_VERSION ?= v5.8.2
HELM_VERSION ?= v4.3.2
GREMLINS_VERSION ?= v0.6.0

# What release builds stamp into the binaries (internal/version). DATE is
# the commit's time, not the clock's, so that rebuilding a commit gives the
# same bytes.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)
LDFLAGS ?= -s -w \
	-X github.com/kubecors/kubecors/internal/version.Version=$(VERSION) \
	-X github.com/kubecors/kubecors/internal/version.Commit=$(COMMIT) \
	-X github.com/kubecors/kubecors/internal/version.Date=$(DATE)
# Static, reproducible release binaries.
GO_RELEASE_BUILD = CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)"

# The manager image: name, tag, platforms and base (see `make image`).
IMAGE_REPO ?= ghcr.io/kubecors/kubecors
IMAGE_TAG ?= $(VERSION)
IMG ?= $(IMAGE_REPO):$(IMAGE_TAG)
IMAGE_PLATFORMS ?= linux/amd64 linux/arm64
BASE_IMAGE ?= gcr.io/distroless/static:nonroot
# What to do when BASE_IMAGE cannot be pulled: "scratch" builds from an
# empty base (a static binary needs nothing else), "fail" stops.
BASE_IMAGE_FALLBACK ?= scratch
# The kubectl-cors release archives (`make release`).
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64

# Fuzz targets: package and function, run for FUZZTIME each by `make fuzz`.
FUZZ_TARGETS ?= \
	./internal/corsrules:FuzzParseOriginPattern ./internal/corsrules:FuzzMatchOrigin \
	./internal/corsrules:FuzzIPv6Origin ./internal/corsrules:FuzzOriginWithin \
	./internal/dataplanes/ingressnginx:FuzzParseIngressNginx ./internal/dataplanes/haproxyingress:FuzzParseHAProxyIngress \
	./internal/dataplanes/gatewayapi:FuzzParseGatewayCORS ./internal/dataplanes/traefik:FuzzParseTraefik \
	./internal/dataplanes/kong:FuzzParseKong \
	./internal/dataplanes/istio:FuzzParseCorsPolicy ./internal/dataplanes/contour:FuzzParseCorsPolicy \
	./internal/policycheck:FuzzCheck ./internal/cli:FuzzCheckInput

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs, RBAC and the webhook configuration from the markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." output:crd:artifacts:config=config/crd/bases
	@# The Helm chart installs the same CRDs from its crds/ directory.
	rm -f charts/kubecors/crds/*.yaml && cp config/crd/bases/*.yaml charts/kubecors/crds/

.PHONY: generate
generate: controller-gen ## Generate the DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: verify-generated
verify-generated: generate manifests ## Fail when committed generated files are stale.
	@git diff --exit-code -- api config charts/kubecors/crds || { echo "generated files are stale: run 'make generate manifests' and commit the result" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- api config charts/kubecors/crds)" || { git status --porcelain -- api config charts/kubecors/crds >&2; echo "untracked generated files: commit them" >&2; exit 1; }

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint (config: .golangci.yml), on hack/image's own module too.
	$(GOLANGCI_LINT) run
	cd hack/image && $(GOLANGCI_LINT) run --config ../../.golangci.yml ./...

.PHONY: test
test: manifests generate fmt vet envtest ## Run every test, envtest suites included, against a real kube-apiserver and etcd.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" go test ./... -coverprofile cover.out

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME.
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzzing $$fn in $$pkg for $(FUZZTIME)"; \
		go test "$$pkg" -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) || exit 1; \
	done

.PHONY: mutate
mutate: gremlins ## Mutation-test the security-relevant packages one at a time (MUTATE_PACKAGES: a subset, e.g. "corsrules cli-audit"); results in mutate/RESULTS.md. CPU heavy, not run in CI.
	GREMLINS=$(GREMLINS) hack/mutate.sh $(MUTATE_PACKAGES)

# The fault suite (test/faults, `make test-faults`): FAULTS_SHORT=1 is the CI
# mode (fewer targets and rounds); FAULTS_SEED replays a run (the suite
# prints its seed).
FAULTS_SHORT ?=
FAULTS_SEED ?=

.PHONY: test-faults
test-faults: envtest ## Fault suite: the real manager under SIGKILL, API server restarts, injected errors, refusals, GitOps, leader election, webhook down; prints a summary table.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" FAULTS_SHORT="$(FAULTS_SHORT)" FAULTS_SEED="$(FAULTS_SEED)" \
		go test -tags faults ./test/faults/ -v -count=1 -timeout 60m -ginkgo.label-filter=faults

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager and the kubectl-cors plugin into bin/.
	go build -o $(LOCALBIN)/manager ./cmd
	go build -o $(LOCALBIN)/kubectl-cors ./cmd/kubectl-cors

.PHONY: demo
demo: envtest ## Run the operator on a local control plane with the samples (Ctrl-C stops everything).
	go build -o $(LOCALBIN)/manager ./cmd
	go build -o $(LOCALBIN)/kubectl-cors ./cmd/kubectl-cors
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" go run ./hack/demo $(DEMO_ARGS)

##@ Install and release

.PHONY: image
image: ## Build the manager image (IMG, IMAGE_PLATFORMS, BASE_IMAGE) into the OCI layout dist/image, without a Docker daemon.
	@for p in $(IMAGE_PLATFORMS); do \
		echo "go build manager for $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} $(GO_RELEASE_BUILD) -o dist/image-bin/$${p%/*}_$${p#*/}/manager ./cmd || exit 1; \
	done
	cd hack/image && go run . build --ref $(IMG) --base "$(BASE_IMAGE)" --base-fallback $(BASE_IMAGE_FALLBACK) \
		--version $(VERSION) --revision $(COMMIT) $(if $(filter unknown,$(DATE)),,--created $(DATE)) \
		--out ../../dist/image --sbom ../../dist/image.spdx.json \
		$(foreach p,$(IMAGE_PLATFORMS),--binary $(p)=../../dist/image-bin/$(subst /,_,$(p))/manager)

.PHONY: test-image
test-image: ## Test the image builder (fallback to scratch included) and read dist/image back: platforms, user, entrypoint, layers, static binaries.
	cd hack/image && IMAGE_LAYOUT=../../dist/image IMAGE_PLATFORMS="$(IMAGE_PLATFORMS)" go test ./... -count=1 -v -run . | grep -E '^(---|ok|FAIL|\s+image_test)'

.PHONY: release
release: ## Cross-compile kubectl-cors for RELEASE_PLATFORMS, write the archives and checksums.txt to dist/ and the krew manifest to plugins/cors.yaml (VERSION=vX.Y.Z).
	@for p in $(RELEASE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
		echo "go build kubectl-cors for $$p"; \
		GOOS=$$os GOARCH=$$arch $(GO_RELEASE_BUILD) -o dist/release-bin/$${os}_$${arch}/kubectl-cors$$ext ./cmd/kubectl-cors || exit 1; \
	done
	go run ./hack/release --version $(VERSION) --platforms "$(RELEASE_PLATFORMS)" --modified $(DATE) \
		--bin-dir dist/release-bin --out dist --krew plugins/cors.yaml
	@ls -l dist/kubectl-cors_* dist/release-bin/*/kubectl-cors* | awk '{print $$5, $$9}'

.PHONY: build-installer
build-installer: manifests kustomize ## Write dist/install.yaml, config/default in one file for `kubectl apply -f` (image: IMG).
	mkdir -p dist
	rm -rf dist/.kustomize && mkdir -p dist/.kustomize && cp -r config dist/.kustomize/
	cd dist/.kustomize/config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build dist/.kustomize/config/default > dist/install.yaml
	rm -rf dist/.kustomize
	@echo "wrote dist/install.yaml (image $(IMG))"

.PHONY: helm-lint
helm-lint: helm ## Lint the Helm chart (charts/kubecors) strictly, with every value set test/install renders.
	$(HELM) lint --strict charts/kubecors
	@for f in test/install/testdata/values/*.yaml; do $(HELM) lint --strict charts/kubecors -f "$$f" >/dev/null || exit 1; echo "lint ok with $$f"; done

.PHONY: test-install
test-install: envtest kustomize helm ## Apply the Helm chart and the kustomize output to a local control plane, run the manager with the installed RBAC, uninstall.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" KUSTOMIZE="$(KUSTOMIZE)" HELM="$(HELM)" \
		go test -tags install ./test/install/ -v -count=1 -timeout 15m
##@ Benchmark

# Ingress counts of `make bench`; BENCH_QUICK=1 is the CI mode (about 3 minutes).
BENCH_SIZES ?= 1000,5000,10000
BENCH_QUICK ?=
# Extra flags for hack/bench, e.g. BENCH_ARGS="--baseline" to update bench/BASELINE.md and bench/plots/.
BENCH_ARGS ?=

.PHONY: bench
bench: envtest ## Benchmark the operator against a local control plane beside the API server's own write floor; results in bench/results/.
	go build -o $(LOCALBIN)/manager ./cmd
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" go run ./hack/bench --sizes=$(BENCH_SIZES) $(if $(BENCH_QUICK),--quick) $(BENCH_ARGS)

##@ Dependencies

$(LOCALBIN):
	mkdir -p $(LOCALBIN)

.PHONY: envtest
envtest: ## Download, or else build from the Go module proxy, kube-apiserver, etcd and kubectl for envtest.
	@hack/envtest.sh >/dev/null

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/.
$(CONTROLLER_GEN): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Install kustomize into bin/.
$(KUSTOMIZE): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

.PHONY: helm
helm: $(HELM) ## Install helm into bin/.
$(HELM): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Install golangci-lint into bin/.
$(GOLANGCI_LINT): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

##@ End to end

.PHONY: test-e2e
test-e2e: envtest ## Browser end-to-end tests: local control plane, operator, Traefik (built once from the Go module proxy), a backend and headless Chromium.
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	assets="$$(hack/envtest.sh)"; traefik="$$(hack/e2e/traefik.sh)"; \
	KUBEBUILDER_ASSETS="$$assets" TRAEFIK_BIN="$$traefik" CHROMIUM_BIN="$$(command -v chromium)" \
		go test -tags e2e ./test/e2e/ -v -count=1 -timeout 30m

.PHONY: gremlins
gremlins: $(GREMLINS) ## Install gremlins (mutation testing) into bin/.
$(GREMLINS): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/go-gremlins/gremlins/cmd/gremlins@$(GREMLINS_VERSION)
