# chromahouse — the README's two commands live here:
#   make run    install what is missing, build, start the server (embedded ClickHouse)
#   make test   install what is missing, build, run the whole test suite (ctest)
# Other targets: deps, deps-run, build, bench, bench-chroma, asan, thread-safety, compat, clean.

BUILD_DIR   ?= build
BUILD_TYPE  ?= RelWithDebInfo
JOBS        ?= $(shell nproc)
RUN_ARGS    ?= --host 127.0.0.1 --port 8000 --path ./chroma-data

# The Debian packages that building and running the server need (`make run`)…
RUN_PACKAGES := build-essential cmake ninja-build pkg-config git curl ca-certificates procps \
  libboost-dev libboost-system-dev libsimdjson-dev libcurl4-openssl-dev libspdlog-dev \
  libfmt-dev libcli11-dev libyaml-cpp-dev libre2-dev libjemalloc-dev libgtest-dev \
  libgmock-dev uuid-dev libxxhash-dev libpq-dev clickhouse-server clickhouse-client
# …and those only the tests, benchmarks and fuzzers need (`make test`, `make build`): clang for
# the fuzzers, ZooKeeper and docker-compose for the cluster and container tests, PostgreSQL's
# server for the catalog tests, hnswlib for the index benchmark's baseline, Chromium for the
# console's browser test, clang-format for the style check.
TEST_PACKAGES := libhnswlib-dev clang libclang-rt-14-dev llvm docker-compose zookeeper \
  postgresql-15 chromium clang-format
# Every Debian package of the project (the one list; tests/docker/validate.sh checks the
# Dockerfile against it).
APT_PACKAGES := $(RUN_PACKAGES) $(TEST_PACKAGES)
# Node.js and npm for the end-to-end tests with the official npm client (skipped when a
# node/npm is already on the PATH).
NODE_PACKAGES := nodejs npm

.PHONY: all deps deps-run install-packages build run test bench bench-chroma asan thread-safety clean npm-deps test-cluster compat

all: build

deps-run:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(RUN_PACKAGES)" WITH_NODE=

deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(APT_PACKAGES)" WITH_NODE=1

# Installs whichever of $(PACKAGES) (and Node.js when WITH_NODE) are missing.
install-packages:
	@missing=""; \
	for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$(WITH_NODE)" ] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then \
	  missing="$$missing $(NODE_PACKAGES)"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "all Debian packages present"; fi

# `npm install` from the committed lock file (`npm ci` refuses this lock: the chdb package lists
# platform packages for other systems that are never in a lock made on Linux).
npm-deps:
	@cd tests/e2e && if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm install --no-audit --no-fund --no-save --loglevel=error; else echo "npm packages present"; fi

$(BUILD_DIR)/build.ninja:
	cmake --preset release -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Only what the server needs: its packages and its binary (no tests or benchmarks).
run: deps-run $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target chromahouse
	./$(BUILD_DIR)/chromahouse run $(RUN_ARGS)

# The whole suite: unit, integration (real ClickHouse 18.16 and chDB) and end-to-end (npm
# client) tests on the optimised build, then the unit tests again under ASan + UBSan.
test: build npm-deps thread-safety asan fuzz-smoke
	cd $(BUILD_DIR) && ctest --output-on-failure -j 2 --timeout 600

# chromahouse on ZooKeeper + a two-replica ClickHouse 18.16 cluster, one node killed mid-stream
# (tests/cluster/README.md); also part of `make test` (ctest label cluster).
test-cluster: build npm-deps
	cd $(BUILD_DIR) && ctest --output-on-failure -L cluster

# Chroma's own npm client test suite (../shared/tools/chroma-js-suite, outside the project)
# against a fresh server; skipped with a message when that folder is absent.
compat: build
	bash tests/compat/chroma_suite.sh

# The server built once with clang and -Wthread-safety as errors (no optimisation, no tests:
# about a minute): a guarded member touched without its mutex, or a function called without
# the locks it requires, fails the build (src/common/thread_annotations.h).
thread-safety: deps
	@[ -f build-tsa/build.ninja ] || cmake --preset thread-safety
	cmake --build build-tsa -j $(JOBS) --target chromahouse

# Unit tests, and the load test against the server (LeakSanitizer on), under AddressSanitizer +
# UndefinedBehaviorSanitizer (separate build tree).
asan: deps npm-deps
	@[ -f build-asan/build.ninja ] || cmake --preset asan
	cmake --build build-asan -j $(JOBS) --target unit_tests chromahouse
	cd build-asan && ctest --output-on-failure -L 'unit|asan_e2e' -j 2

# Benchmarks with their same-run baselines (figures in the README): the index against
# hnswlib in-process, then ingest and query end to end through the npm client against raw
# ClickHouse inserts. Results also go to bench/results/*.json.
bench: build npm-deps
	mkdir -p bench/results
	./$(BUILD_DIR)/index_bench --n $${BENCH_N:-100000} --metric l2 --out bench/results/index_l2.json
	./$(BUILD_DIR)/filtered_bench --n $${BENCH_N:-100000} --out bench/results/filtered_l2.json
	./$(BUILD_DIR)/memory_bench --n $${BENCH_N:-100000} --cycles 5 --out bench/results/memory.json
	./$(BUILD_DIR)/codec_bench --n 10000 --out bench/results/codec.json
	./$(BUILD_DIR)/warmup_bench --n $${BENCH_N:-100000} --out bench/results/warmup.json
	./$(BUILD_DIR)/query_bench --n $${BENCH_N:-100000} --out bench/results/query.json
	./$(BUILD_DIR)/search_bench --n $${BENCH_N:-100000} --m $${BENCH_SEARCH_M:-1000000} --out bench/results/search.json
	node bench/e2e_bench.mjs --n $${BENCH_N:-100000} --clients 1
	node bench/e2e_bench.mjs --n $${BENCH_N:-100000} --clients 4
	node bench/e2e_bench.mjs --n 20000 --dim 1024 --batch 32 --queries 50 --clients 1
	node bench/catalog_bench.mjs
	node bench/growth_bench.mjs --n $${BENCH_GROWTH_N:-1000000}
	$(MAKE) --no-print-directory bench-chroma

# The same workload through the npm client against chromahouse and a real Chroma 1.5.9
# (../shared/tools/reference-chroma.sh, outside the project; skipped with a message when absent),
# one after the other, every figure with its ratio: bench/results/chroma_side_by_side.json.
bench-chroma: build npm-deps
	node bench/chroma_side_by_side.mjs --n $${BENCH_N:-100000}

clean:
	rm -rf $(BUILD_DIR) build-asan build-fuzz build-tsa

# Fuzzing (fuzz/README.md): the libFuzzer targets of the `fuzz` preset (clang, ASan + UBSan in
# build-fuzz), each run for FUZZ_SECONDS in one process from the committed corpus, which is
# only read (new inputs go to a temporary directory). Crash inputs go to build-fuzz/artifacts;
# any crash or broken invariant fails the target. `fuzz-smoke` is the 10-second run of `make test`.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := json_request where base64
# Targets that take the JSON dictionary.
FUZZ_JSON_TARGETS := json_request where

.PHONY: fuzz fuzz-smoke

fuzz: deps
	@[ -f build-fuzz/build.ninja ] || cmake --preset fuzz
	cmake --build build-fuzz --target fuzzers -j $(JOBS)
	@mkdir -p build-fuzz/artifacts; failed=""; \
	for t in $(FUZZ_TARGETS); do \
	  case " $(FUZZ_JSON_TARGETS) " in *" $$t "*) dict=-dict=fuzz/json.dict;; *) dict="";; esac; \
	  work=$$(mktemp -d "$${TMPDIR:-/tmp}/chromahouse-fuzz-$$t.XXXXXX"); \
	  echo "== $$t: $(FUZZ_SECONDS) s"; \
	  ./build-fuzz/$${t}_fuzzer -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	    $$dict -artifact_prefix=build-fuzz/artifacts/$$t- $$work fuzz/corpus/$$t \
	    || failed="$$failed $$t"; \
	  rm -rf "$$work"; \
	done; \
	if [ -n "$$failed" ]; then \
	  echo "fuzz: crash or broken invariant in:$$failed (inputs in build-fuzz/artifacts/, see fuzz/README.md)"; \
	  exit 1; \
	fi

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=10
