# meshgen: build, tools, lint and tests. `make test` is what CI (.ci/run) runs; it first installs or
# builds every tool the integration tests need (see hack/tools/install.sh), so it works on a fresh
# machine.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO       ?= go
BIN      := $(CURDIR)/bin
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 20s
# Flags for go test in `make test`. The race detector is on for the whole suite: the servers are
# separate processes, so it costs compile time and CPU-bound tests, not server waits (see
# hack/tools/README.md for the measured CI budget). TESTFLAGS= turns it off.
TESTFLAGS ?= -race -timeout=20m

.PHONY: build demo tools lint test test-unit fuzz bench

## build: bin/meshgen, stamped with `git describe --always --dirty`
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/meshgen ./cmd/meshgen

## demo: learn from the bundled sample mesh (served by a real, local Prometheus), print the policies, check them
demo: build
	@command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || hack/tools/install.sh apt
	MESHGEN=$(BIN)/meshgen hack/demo.sh

## tools: etcd and prometheus (apt) when missing; kube-apiserver, istioctl, staticcheck into bin/
tools:
	hack/tools/install.sh

## lint: gofmt, go vet, go mod tidy -diff, staticcheck
lint:
	hack/tools/install.sh staticcheck
	hack/lint.sh

## test: lint, then the whole suite with real servers (integration tests included)
test: tools lint
	$(GO) test -count=1 $(TESTFLAGS) ./...

## test-unit: the suite without servers (integration tests skip in -short mode)
test-unit:
	$(GO) test -short -count=1 ./...

## fuzz: every fuzz target for FUZZTIME each
fuzz:
	hack/fuzz.sh $(FUZZTIME)

## bench: the mesh-scale benchmark suite (hack/bench/run.sh; about 25 minutes for both sizes); BENCH_SIZE=small for a quick run
BENCH_SIZE ?= small large
bench:
	@command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || hack/tools/install.sh apt
	BENCH_COMMAND="make bench BENCH_SIZE='$(BENCH_SIZE)'" hack/bench/run.sh $(BENCH_SIZE)
