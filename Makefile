# granary — the two commands a newcomer needs are `make demo` and `make test`.
# Both install what they need (the pinned Temporal CLI and MinIO server go
# into bin/, built once from source with the local Go toolchain).

GO       ?= go
BIN      := $(CURDIR)/bin
STATE    := $(CURDIR)/.granary
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/granaryml/granary/internal/buildinfo.Version=$(VERSION)

TEMPORAL_CLI_VERSION := v1.5.1
MINIO_VERSION        := v0.0.0-20260212201848-7aac2a2c5b7c

# Tests and the CLI find the server binaries here first.
export GRANARY_BIN_DIR := $(BIN)

.PHONY: all tools build test test-short vet demo dev fuzz bench clean record-histories

all: build

## tools: install the pinned Temporal dev server and MinIO into bin/ (skips what is built)
tools: $(BIN)/.temporal-$(TEMPORAL_CLI_VERSION) $(BIN)/.minio-$(MINIO_VERSION)

# Stamp files make a version bump rebuild, and an unchanged pin a no-op.
$(BIN)/.temporal-$(TEMPORAL_CLI_VERSION):
	@mkdir -p $(BIN)
	@echo "installing Temporal CLI $(TEMPORAL_CLI_VERSION) into bin/ (first time only, ~3 min)"
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)
	@touch $@

$(BIN)/.minio-$(MINIO_VERSION):
	@mkdir -p $(BIN)
	@echo "installing MinIO server $(MINIO_VERSION) into bin/ (first time only, ~2 min)"
	GOBIN=$(BIN) $(GO) install github.com/minio/minio@$(MINIO_VERSION)
	@touch $@

## build: build bin/granary
build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/granary ./cmd/granary

vet:
	$(GO) vet ./...

## test: everything, including integration tests against real Temporal and MinIO
test: tools vet
	$(GO) test -count=1 -timeout 40m ./...

## test-short: unit tests only (skips the real-server integration tests)
test-short: vet
	$(GO) test -short -count=1 ./...

## demo: build, start the local stack, run the end-to-end example, stop
demo: tools build
	./scripts/demo.sh

## dev: run the whole stack in the foreground (Ctrl-C stops it)
dev: tools build
	$(BIN)/granary dev

## fuzz: run every fuzz target for FUZZTIME each (default 30s)
FUZZTIME ?= 30s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

## bench: the DuckDB comparisons in bench/ (long: SIZE/ROWS env vars shrink them)
bench: tools build
	./bench/import.sh
	./bench/extract.sh
	./bench/build.sh

clean:
	rm -rf $(BIN)/granary $(STATE)

## record-histories: re-record the workflow histories the replay test uses
record-histories: tools
	$(GO) run ./internal/tools/recordhistories --out workflows/testdata/histories
