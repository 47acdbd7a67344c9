# DevSmith Logs. `make run` starts the platform; `make test` runs every test.
SHELL := /bin/bash
GOBIN := $(shell go env GOPATH)/bin
export PATH := $(PATH):$(GOBIN)

BUF_VERSION             := v1.75.0
PROTOC_GEN_GO_VERSION   := v1.36.12
PROTOC_GEN_GRPC_VERSION := v1.6.2
GATEWAY_VERSION         := v2.32.0
GRPCURL_VERSION         := v1.9.4

.PHONY: run build test test-go test-deploy test-samples sync-samples test-web test-browser check-generated check-web web deps lint tools generate bench fuzz fuzz-short

## run: build and start every service in one process on :3000 (embedded PostgreSQL in ./data)
run: build
	./bin/devsmith

## build: compile every binary into ./bin (rebuilding the dashboard first when its sources changed)
build: gateway/web/dist/index.html
	go build -o bin/ ./cmd/...

# The dashboard is committed built (a clean clone builds with `go build`
# alone); it is rebuilt when its sources or the sample loggers it serves are
# newer, when npm is there to do it.
WEB_SRC := $(shell find gateway/web/src -type f) gateway/web/build.mjs gateway/web/package.json gateway/web/package-lock.json \
	$(wildcard samples/javascript/logger.js samples/python/logger.py) $(filter-out %_test.go,$(wildcard samples/go/*.go)) \
	$(wildcard samples/java/devsmith/*.java samples/ruby/devsmith_logger.rb samples/php/DevSmithLogger.php samples/shell/devsmith-log.sh)
gateway/web/dist/index.html: $(WEB_SRC)
	@if command -v npm >/dev/null 2>&1; then gateway/web/build.sh; \
	else echo "npm not found: using the committed dashboard in gateway/web/dist (install Node.js 20+ to rebuild it)"; fi

## web: rebuild the dashboard into gateway/web/dist
web:
	gateway/web/build.sh

## test: API checks, Go unit + end-to-end tests (the fault suite among them), a short fuzzing run, sample logger tests, dashboard unit and browser tests
test: tools deps lint check-generated check-web test-go fuzz-short test-deploy test-samples test-web test-browser

## deps: npm packages the tests use (from each package-lock.json)
deps:
	@for d in samples/express gateway/web e2e/browser e2e/loki-js e2e/otlp-js; do \
	  if [ ! -d $$d/node_modules ] || [ $$d/package-lock.json -nt $$d/node_modules/.package-lock.json ]; then \
	    (cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; fi; \
	done

test-go:
	go vet ./...
	go test -count=1 -timeout 25m ./...

## test-deploy: the Kubernetes manifests (Kustomize, strict API types) and
## docker-compose.yml (the compose-spec loader), in their own module
test-deploy:
	cd deploy && GOWORK=off go vet ./... && GOWORK=off go test -count=1 ./...

test-samples:
	samples/test.sh

# --- fuzzing (docs/reliability.md) ------------------------------------------
# package:FuzzTarget. Every `go test` runs each target's seeds (f.Add and
# testdata/fuzz/FuzzX); these run the fuzzer itself.
FUZZ_TARGETS := \
	gateway:FuzzDecodeBatch gateway:FuzzDecodeBatchRoundTrip \
	gateway:FuzzCheckWire gateway:FuzzOTLPWireRoundTrip services/ingestion:FuzzMapOTLP \
	gateway:FuzzLokiProto gateway:FuzzLokiJSON \
	services/query:FuzzParseFilters services/query:FuzzPageTokens services/query:FuzzResumeToken \
	services/projects:FuzzPageToken internal/jsontext:FuzzRepairObject
FUZZ_EXTRA_TARGETS := internal/jsontext:FuzzScanner internal/jsontext:FuzzAppendString
FUZZTIME         ?= 60s
FUZZ_SHORT_TIME  ?= 2s
FUZZ_PARALLEL    ?= 2

## fuzz: every fuzz target for FUZZTIME (default 60s) each; a failing input is written to the package's testdata/fuzz/FuzzX (commit it with the fix)
fuzz:
	@$(MAKE) --no-print-directory fuzz-run FUZZ_EACH=$(FUZZTIME) FUZZ_LIST="$(FUZZ_TARGETS) $(FUZZ_EXTRA_TARGETS)"

## fuzz-short: the targets of FUZZ_TARGETS for FUZZ_SHORT_TIME (default 2s) each: part of `make test`
# (from an empty fuzz cache: its few seconds go to fuzzing, not to
# replaying what longer runs collected)
fuzz-short:
	@$(MAKE) --no-print-directory fuzz-run FUZZ_EACH=$(FUZZ_SHORT_TIME) FUZZ_LIST="$(FUZZ_TARGETS)" FUZZ_CACHE=fresh

# One instrumented test binary per package (go test -c -fuzz=.), then each
# target run from its package folder, sharing go test's fuzz cache.
.PHONY: fuzz-run
fuzz-run:
	@set -eo pipefail; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	cache=$$(go env GOCACHE)/fuzz/$$(go list -m); [ "$(FUZZ_CACHE)" != fresh ] || cache=$$tmp/cache; \
	for pkg in $$(for t in $(FUZZ_LIST); do echo $${t%%:*}; done | sort -u); do \
	  go test -c -fuzz=. -o $$tmp/$${pkg//\//_}.test ./$$pkg; \
	done; \
	for t in $(FUZZ_LIST); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  if ! (cd $$pkg && $$tmp/$${pkg//\//_}.test -test.run='^$$' -test.fuzz="^$$fn\$$" -test.fuzztime=$(FUZZ_EACH) \
	      -test.parallel=$(FUZZ_PARALLEL) -test.fuzzcachedir=$$cache/$$pkg) >$$tmp/out 2>&1; then \
	    cat $$tmp/out; echo "fuzzing $$pkg $$fn failed: the input is in $$pkg/testdata/fuzz/$$fn"; exit 1; \
	  fi; \
	  n=$$(grep -o 'execs: [0-9]*' $$tmp/out | tail -1 | cut -d' ' -f2 || true); \
	  echo "$$pkg $$fn: $${n:-0} executions in $(FUZZ_EACH) (after the seeds and cached corpus)"; \
	done

## sync-samples: copy the canonical sample loggers over the example apps' copies (samples/sync.sh)
sync-samples:
	samples/sync.sh

test-web:
	cd gateway/web && npm test

test-browser:
	e2e/browser/run.sh

## check-web: fail when gateway/web/dist does not match its sources
check-web:
	@gateway/web/build.sh >/dev/null
	@test -z "$$(git status --porcelain -- gateway/web/dist)" || { echo "gateway/web/dist is stale: run 'make web' and commit"; git status --short -- gateway/web/dist | head; exit 1; }
	@echo "gateway/web/dist is up to date"

## generate: regenerate gen/ (and samples/grpc-go/ingestpb) from proto/ offline with the locally installed plugins
generate: tools
	rm -rf gen samples/grpc-go/ingestpb
	buf generate
	buf generate --template buf.gen.grpc-go.yaml

## check-generated: fail when gen/ (or the gRPC sample's stubs) is stale
check-generated: tools
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	  buf generate -o $$tmp && \
	  diff -r $$tmp/gen gen >/dev/null || { echo "gen/ is stale: run 'make generate' and commit"; diff -r $$tmp/gen gen | head -20; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	  buf generate --template buf.gen.grpc-go.yaml -o $$tmp && \
	  diff -r $$tmp/samples/grpc-go/ingestpb samples/grpc-go/ingestpb >/dev/null || { echo "samples/grpc-go/ingestpb is stale: run 'make generate' and commit"; diff -r $$tmp/samples/grpc-go/ingestpb samples/grpc-go/ingestpb | head -20; exit 1; }
	@echo "gen/ and samples/grpc-go/ingestpb are up to date"

## lint: buf STANDARD + COMMENTS lint, and wire/JSON compatibility (buf.yaml) with
## the merge base of HEAD with main (what a branch changed in all) and with HEAD~1
lint: tools
	buf lint
	@base=$$(git merge-base HEAD main 2>/dev/null || git merge-base HEAD origin/main 2>/dev/null); \
	if [ -n "$$base" ] && [ "$$base" != "$$(git rev-parse HEAD)" ] && git cat-file -e $$base:buf.yaml 2>/dev/null; then \
	  echo "buf breaking against the merge base with main ($$base)"; \
	  buf breaking --against ".git#ref=$$base" || exit 1; \
	fi; \
	if git rev-parse -q --verify HEAD~1 >/dev/null && git cat-file -e HEAD~1:buf.yaml 2>/dev/null; then \
	  echo "buf breaking against HEAD~1"; \
	  buf breaking --against '.git#ref=HEAD~1'; \
	else echo "buf breaking: no previous commit with protos"; fi
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	# The all-in-one runs on laptops: keep macOS building.
	GOOS=darwin go vet ./...
	@# Services meet through gen/ and internal/logstore, never each other's packages (tests included).
	@bad=$$(for p in $$(go list ./services/...); do s=$$(echo $$p | cut -d/ -f5); \
	  go list -deps -test $$p | grep '/logs/services/' | grep -v "/logs/services/$$s\([/ .]\|$$\)" | sed "s|^|$$p imports |"; done); \
	if [ -n "$$bad" ]; then echo "a service imports another service's package:"; echo "$$bad" | sort -u; exit 1; fi; \
	echo "no service imports another service"

## tools: install the pinned code generators and grpcurl from the Go module proxy
tools:
	@test -x $(GOBIN)/buf || go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@test -x $(GOBIN)/protoc-gen-go || go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@test -x $(GOBIN)/protoc-gen-go-grpc || go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GRPC_VERSION)
	@test -x $(GOBIN)/protoc-gen-grpc-gateway || go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GATEWAY_VERSION)
	@test -x $(GOBIN)/protoc-gen-openapiv2 || go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GATEWAY_VERSION)
	@test -x $(GOBIN)/grpcurl || go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

# --- benchmarks (docs/performance.md); not part of `make test` ---------------
BENCH_DURATION ?= 30s
BENCH_ENTRIES  ?= 10000000
BENCH_FLAGS    ?=

.PHONY: bench-query bench-go bench-protocols

## bench: ingestion benchmark against a fresh all-in-one: peak (16 clients), raw COPY ceiling, latency at half the peak, 2x overload (about 3 minutes), then bench-protocols
bench: build
	./bin/devsmith-loadgen ingest --duration $(BENCH_DURATION) $(BENCH_FLAGS)
	@$(MAKE) --no-print-directory bench-protocols

## bench-protocols: the peak phase over the batch endpoint, OTLP/HTTP protobuf (POST /v1/logs) and the Loki push API (snappy protobuf), alternating, 3 runs each on fresh platforms (about 6 minutes)
bench-protocols: build
	@for i in 1 2 3; do for t in rest otlp loki; do \
	  echo "== run $$i, --transport $$t"; \
	  ./bin/devsmith-loadgen ingest --transport $$t --phases peak --duration 15s $(BENCH_FLAGS) | grep -E '^  (logs/s|latency|CPU|peak  )' || exit 1; \
	done; done

## bench-query: seed $(BENCH_ENTRIES) entries into ./data/bench (once; about 3 minutes for 10M), then time the dashboard's queries and the exports of its last day (--export=false skips them)
bench-query: build
	./bin/devsmith-loadgen query --data-dir ./data/bench --entries $(BENCH_ENTRIES) $(BENCH_FLAGS)

## bench-go: the hot path's Go benchmarks with -benchmem (decode, proto, normalize, COPY encoding, key lookup, commit)
bench-go:
	go test -run '^$$' -bench . -benchmem ./gateway/ ./services/ingestion/ ./services/projects/ ./internal/ratelimit/
