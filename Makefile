# unitcost - make help lists the targets.
SHELL := /bin/bash
GO ?= go
# Packages with goroutines of their own run under the race detector in `make test`.
RACE_PKGS := ./pipeline/process/... ./pipeline/stack/... ./pipeline/otlp/... ./pipeline/kafka/... ./cmd/...

.PHONY: help build demo demo-serve test test-all sql-modern web-vendor clients test-unit bench bench-e2e bench-e2e-run vet fmt services-up services-down clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

build: ## build the unitcost binary into ./unitcost
	$(GO) build -ldflags "-X github.com/unitcost/unitcost/pipeline/admin.buildCommit=$$(git rev-parse HEAD 2>/dev/null)" -o unitcost ./cmd/unitcost

demo: ## README command 1: a realistic workload end to end on embedded Kafka + local ClickHouse, then the unit economics
	deploy/local/with-services.sh "clickhouse" -- $(GO) run ./cmd/unitcost demo

demo-serve: ## the demo, then its dashboard kept up on http://127.0.0.1:8080/ui/ until Ctrl-C
	deploy/local/with-services.sh "clickhouse" -- $(GO) run ./cmd/unitcost demo --serve

test: ## README command 2 (what CI runs): vet, unit tests, integration tests on real ClickHouse (one server and a two-server cluster with ZooKeeper), real Kafka and kfake, the dashboard in headless Chromium, race detector
	deploy/local/with-services.sh "clickhouse kafka cluster chromium" -- $(MAKE) --no-print-directory test-all

test-all: vet sql-modern clients web-vendor
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -count=1 -race -timeout 20m $(RACE_PKGS)

clients: ## install the instrumentation suite's clients (openai + three Python instrumentations, the OTel JS SDK) under .unitcost/
	deploy/local/venv.sh

sql-modern: ## check the schema and every shipped query on current ClickHouse (chdb-core, in-process)
	deploy/local/venv.sh
	@mkdir -p .unitcost
	$(GO) run ./cmd/unitcost migrate --print --clickhouse.database unitcost_check > .unitcost/migrations.json
	.unitcost/venv/bin/python sql/check_modern.py .unitcost/migrations.json

web-vendor: ## check that the dashboard's committed uPlot files equal the npm package pinned by pipeline/web/npm/package-lock.json
	deploy/local/webvendor.sh check

test-unit: ## tests that need no service (integration tests skip unless CI=true)
	$(GO) test -count=1 ./...

bench: ## benchmarks of the hot paths (decode+normalise, stitch, price); see BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchmem ./pipeline/...

BENCH_DIR ?= .unitcost/bench
BENCH_E2E_FLAGS ?=
bench-e2e: ## end to end on the real services: process vs a raw Kafka->ClickHouse copy (interleaved, totals checked against the truth), core, memory, freshness; BENCH_E2E_FLAGS=-sizes=40000 etc.
	deploy/local/with-services.sh "clickhouse kafka" -- $(MAKE) --no-print-directory bench-e2e-run

bench-e2e-run:
	@mkdir -p $(BENCH_DIR)
	$(GO) build -o $(BENCH_DIR)/unitcost ./cmd/unitcost
	$(GO) build -o $(BENCH_DIR)/unitcost-bench ./cmd/unitcost-bench
	deploy/local/otelcol.sh
	$(BENCH_DIR)/unitcost-bench -unitcost $(BENCH_DIR)/unitcost -otelcol .unitcost/otelcol/otelcol-unitcost -dir $(BENCH_DIR) $(BENCH_E2E_FLAGS)

vet: ## go vet and a gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

services-up: ## start local ClickHouse, Kafka and the two-server ClickHouse cluster with ZooKeeper (data and logs under .unitcost/)
	deploy/local/clickhouse.sh start
	deploy/local/kafka.sh start
	deploy/local/cluster.sh start

services-down: ## stop them
	-deploy/local/cluster.sh stop
	-deploy/local/kafka.sh stop
	-deploy/local/clickhouse.sh stop

clean: ## remove the binary (keeps downloaded jars and service data in .unitcost/)
	rm -f unitcost
