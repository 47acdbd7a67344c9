# DevSmith Logs. `make run` starts the platform; `make test` runs every test.
SHELL := /bin/bash
GOBIN := $(shell go env GOPATH)/bin
export PATH := $(PATH):$(GOBIN)

BUF_VERSION            := v1.75.0
PROTOC_GEN_GO_VERSION  := v1.36.12
PROTOC_GEN_GRPC_VERSION:= v1.6.2
GATEWAY_VERSION        := v2.32.0
GRPCURL_VERSION        := v1.9.4

.PHONY: run build test tools generate lint

run: build
	./bin/devsmith

build:
	go build -o bin/ ./cmd/...

test:
	go vet ./...
	go test -count=1 -timeout 15m ./...

# Tools come from the Go module proxy at pinned versions; nothing else is fetched.
tools:
	@test -x $(GOBIN)/buf || go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@test -x $(GOBIN)/protoc-gen-go || go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@test -x $(GOBIN)/protoc-gen-go-grpc || go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GRPC_VERSION)
	@test -x $(GOBIN)/protoc-gen-grpc-gateway || go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GATEWAY_VERSION)
	@test -x $(GOBIN)/protoc-gen-openapiv2 || go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GATEWAY_VERSION)
	@test -x $(GOBIN)/grpcurl || go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)
