# kubecors — run `make help` for the targets.

# Kubernetes version of the envtest control plane (kube-apiserver + etcd).
ENVTEST_K8S_VERSION ?= 1.37.2
# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 20s

LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0

# Fuzz targets: package and function, run for FUZZTIME each by `make fuzz`.
FUZZ_TARGETS ?= \
	./internal/corsrules:FuzzParseOriginPattern ./internal/corsrules:FuzzMatchOrigin \
	./internal/corsrules:FuzzIPv6Origin ./internal/corsrules:FuzzOriginWithin \
	./internal/dataplane:FuzzParseIngressNginx ./internal/dataplane:FuzzParseHAProxyIngress \
	./internal/dataplane:FuzzParseGatewayCORS ./internal/dataplane:FuzzParseTraefik

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

.PHONY: generate
generate: controller-gen ## Generate the DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: verify-generated
verify-generated: generate manifests ## Fail when committed generated files are stale.
	@git diff --exit-code -- api config || { echo "generated files are stale: run 'make generate manifests' and commit the result" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- api config)" || { git status --porcelain -- api config >&2; echo "untracked generated files: commit them" >&2; exit 1; }

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint (config: .golangci.yml).
	$(GOLANGCI_LINT) run

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
