# DevSmith Logs. `make run` starts the platform; `make test` runs every test.
SHELL := /bin/bash
GOBIN := $(shell go env GOPATH)/bin
export PATH := $(PATH):$(GOBIN)

BUF_VERSION             := v1.75.0
PROTOC_GEN_GO_VERSION   := v1.36.12
PROTOC_GEN_GRPC_VERSION := v1.6.2
GATEWAY_VERSION         := v2.32.0
GRPCURL_VERSION         := v1.9.4

.PHONY: run build test test-go test-samples check-generated lint breaking tools generate bench

## run: build and start every service in one process on :3000 (embedded PostgreSQL in ./data)
run: build
	./bin/devsmith

## build: compile every binary into ./bin
build:
	go build -o bin/ ./cmd/...

## test: API checks, Go unit + end-to-end tests, sample logger tests
test: tools lint check-generated test-go test-samples

test-go:
	go vet ./...
	go test -count=1 -timeout 20m ./...

test-samples:
	@if [ -x samples/test.sh ]; then samples/test.sh; fi

## generate: regenerate gen/ from proto/ offline with the locally installed plugins
generate: tools
	rm -rf gen
	buf generate

## check-generated: fail when gen/ is stale
check-generated: tools
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	  buf generate -o $$tmp && \
	  diff -r $$tmp/gen gen >/dev/null || { echo "gen/ is stale: run 'make generate' and commit"; diff -r $$tmp/gen gen | head -20; exit 1; }
	@echo "gen/ is up to date"

## lint: buf STANDARD + COMMENTS lint, and wire/JSON compatibility with the previous commit
lint: tools
	buf lint
	@if git rev-parse -q --verify HEAD~1 >/dev/null && git cat-file -e HEAD~1:buf.yaml 2>/dev/null; then \
	  buf breaking --against '.git#ref=HEAD~1'; \
	else echo "buf breaking: no previous commit with protos"; fi

## tools: install the pinned code generators and grpcurl from the Go module proxy
tools:
	@test -x $(GOBIN)/buf || go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@test -x $(GOBIN)/protoc-gen-go || go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@test -x $(GOBIN)/protoc-gen-go-grpc || go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GRPC_VERSION)
	@test -x $(GOBIN)/protoc-gen-grpc-gateway || go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GATEWAY_VERSION)
	@test -x $(GOBIN)/protoc-gen-openapiv2 || go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GATEWAY_VERSION)
	@test -x $(GOBIN)/grpcurl || go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)
