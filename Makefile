# Two commands do everything on a fresh machine (Rust, Node, Python, gcc):
#   make dev   install what is missing, apply local migrations, serve on 127.0.0.1:8787
#   make test  install what is missing, run every test tier
# Tools go where every clone shares them (cargo's bin folder) or inside the checkout
# (node_modules, .venv); each step checks the installed version first and is quiet when done.

SHELL := /bin/bash
.SHELLFLAGS := -e -o pipefail -c
.DEFAULT_GOAL := help

CARGO_BIN       := $(shell dirname "$$(command -v cargo)")
WORKER_BUILD_V  := 0.8.7
WASM_BINDGEN_V  := $(shell awk '/^name = "wasm-bindgen"$$/ {getline; gsub(/"/, "", $$3); print $$3; exit}' Cargo.lock)
CARGO_FUZZ_V    := 0.13.2
FUZZ_TARGETS    := body credentials phc jwt headers attestation
FUZZ_SECONDS    ?= 120
# How the fuzz targets are compiled: optimized for `make fuzz`'s long runs; the smoke in `make
# test` builds them unoptimized (about 95 s instead of 280 s from a clean clone, at a twentieth of
# the executions per second), since it only shows that every target builds and survives its seeds.
FUZZ_PROFILE    ?= --release
SMOKE_SECONDS   ?= 6
FUZZ_JOBS       ?= 2
SCHEMATHESIS_FUZZ_EXAMPLES ?= 300
PYTHON          ?= python3
VENV            := .venv
WRANGLER        := node_modules/.bin/wrangler
export WRANGLER_SEND_METRICS := false
export CI_DISABLE_TELEMETRY := 1
# worker-build downloads esbuild/wasm-bindgen unless pointed at local binaries.
export ESBUILD_BIN      := $(CURDIR)/node_modules/.bin/esbuild
export WASM_BINDGEN_BIN := $(CARGO_BIN)/wasm-bindgen
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER := $(CARGO_BIN)/wasm-bindgen-test-runner

.PHONY: help tools chromium dev test consumer floor ts-check test-ts fuzz-parsers fuzz test-fuzz test-native test-wasm test-e2e lint worker bench bench-forgot dev-vars deploy deploy-vars worker-test deploy-check openapi import

help:
	@echo "make dev    - install what is missing, migrate the local D1, serve on http://127.0.0.1:8787"
	@echo "make test   - install what is missing, then lint + native + wasm + end-to-end tests"
	@echo "make import SRC=<file> [TARGET=remote] - move users in (FastAPI / fastapi-users SQLite, JSON Lines)"
	@echo "make bench  - wasm size, PBKDF2 in the Worker vs native, /auth/me and login latency,"
	@echo "             throughput and cold start as ratios to a floor Worker (BENCH_ONLY=floor: only that;"
	@echo "             BENCH_ONLY=slices: the hashing floor's tail pair at each slice size;"
	@echo "             BENCH_ONLY=assets: static files in the bundle vs Workers Static Assets;"
	@echo "             BENCH_ONLY=size: the wasm with each group of v3 endpoints left out)"

# ---- tools (idempotent) ----------------------------------------------------------------------
tools: .tools/rust .tools/npm .tools/venv .tools/ts-consumer

# The cargo-installed tools are built unoptimized (--debug): 147 s instead of 366 s for worker-build
# and wasm-bindgen on this machine, and the Worker they build is byte for byte the same.
.tools/rust: Cargo.lock rust-toolchain.toml
	@rustup toolchain install >/dev/null 2>&1 || rustup toolchain install
	@[ "$$($(CARGO_BIN)/worker-build --version 2>/dev/null)" = "$(WORKER_BUILD_V)" ] || \
	  cargo install --quiet --debug worker-build --version $(WORKER_BUILD_V) --locked --force
	@[ "$$($(CARGO_BIN)/wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $(WASM_BINDGEN_V)" ] || \
	  cargo install --quiet --debug wasm-bindgen-cli --version $(WASM_BINDGEN_V) --force
	@mkdir -p .tools && touch $@

.tools/npm: package.json package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p .tools && touch $@

# The TypeScript consumer example keeps its own pinned dependencies (jose, and tsc for `make lint`).
.tools/ts-consumer: examples/ts-consumer/package.json examples/ts-consumer/package-lock.json
	@npm ci --prefix examples/ts-consumer --no-audit --no-fund --loglevel=error
	@mkdir -p .tools && touch $@

.tools/fuzz:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@[ "$$(cargo fuzz --version 2>/dev/null)" = "cargo-fuzz $(CARGO_FUZZ_V)" ] || \
	  cargo install --quiet --debug cargo-fuzz --version $(CARGO_FUZZ_V) --locked --force
	@mkdir -p .tools && touch $@

# The browser tier drives Debian's chromium with Playwright for Python (Playwright's own browser
# download is not reachable from here). Installed system-wide once when missing (about a minute);
# the package index is refreshed only when the install cannot find the package.
chromium:
	@[ -x /usr/bin/chromium ] || apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

.tools/venv: tests/e2e/requirements.txt
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
	@mkdir -p .tools && touch $@

# ---- build -----------------------------------------------------------------------------------
# wasm-opt is binaryen's, from npm (a Node program, works offline). The wasm carries
# exception-handling tags, so the features it uses are listed; --all-features would let wasm-opt
# emit others that workerd refuses. Inlining a function into its only caller (-ocimfs, on by
# default) makes the wasm smaller but compress worse: on the same build (opt-level "z", see
# Cargo.toml; 785 KiB raw, 271 KiB gzipped before wasm-opt) plain -Oz gave 714 KiB raw / 278 KiB
# gzipped, -Oz without it 725 / 266. Also measured there: -O1 763 / 269, -O2 733 / 280, -Os
# 718 / 278; --converge or a second -Oz pass saved under 1 KiB gzipped for a minute more of build.
# The producers and target_features sections name the compilers and the features used; nothing
# reads them at run time (232 bytes gzipped). --reorder-functions made it 6 KiB larger gzipped.
WASM_OPT := node_modules/.bin/wasm-opt -Oz --one-caller-inline-max-function-size 0 --strip-producers --strip-target-features --enable-exception-handling --enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-multivalue
# The entry module (js/entry.mjs) serves the static files itself: Swagger UI's script and styles
# for /docs, from the pinned npm package (no CDN), and the pages the emailed links open.
# scripts/static-files.mjs also writes them as Workers Static Assets (build/assets/,
# build/assets-worker/), only for `BENCH_ONLY=assets make bench`; docs/static-files.md says why
# the bundle serves them.
worker: .tools/rust .tools/npm
	@worker-build --release >/dev/null 2>build.log || { cat build.log; exit 1; }
	@$(WASM_OPT) build/index_bg.wasm -o build/index_bg.wasm
	@cp js/entry.mjs build/entry.mjs
	@node scripts/static-files.mjs build

# The same Worker with the test-only hooks compiled in (panic route, fault switches), for e2e.
worker-test: .tools/rust .tools/npm
	@worker-build --release --out-dir build-test --features test-hooks >/dev/null 2>build-test.log || { cat build-test.log; exit 1; }
	@$(WASM_OPT) build-test/index_bg.wasm -o build-test/index_bg.wasm
	@cp js/entry.mjs build-test/entry.mjs
	@node scripts/static-files.mjs build-test

# The bench's floor Worker (tests/bench/floor: answers 200, one JSON log line per request),
# built exactly as `make worker` builds ours: worker-build --release, the workspace's release
# profile, the same wasm-opt step. Twice: build/ as it is, build-hash/ with `GET /hash` (the
# logins' hashing, with nothing else around it).
floor: .tools/rust .tools/npm
	@cd tests/bench/floor && worker-build --release >/dev/null 2>../../../build-floor.log || { cat ../../../build-floor.log; exit 1; }
	@$(WASM_OPT) tests/bench/floor/build/index_bg.wasm -o tests/bench/floor/build/index_bg.wasm
	@cd tests/bench/floor && worker-build --release -d build-hash --features hash >/dev/null 2>../../../build-floor.log || { cat ../../../build-floor.log; exit 1; }
	@$(WASM_OPT) tests/bench/floor/build-hash/index_bg.wasm -o tests/bench/floor/build-hash/index_bg.wasm

# The example consumer Worker (examples/consumer), which calls the auth Worker over a service binding.
consumer: .tools/rust .tools/npm
	@cd examples/consumer && worker-build --release >/dev/null 2>../../build-consumer.log || { cat ../../build-consumer.log; exit 1; }

# The git-ignored .dev.vars: a signing key, MFA_ENCRYPTION_KEY, and PUBLIC_URL=http://127.0.0.1:8787
# (the origin `make dev` serves on, where the emailed links point), each added when missing.
dev-vars: .tools/npm
	@node scripts/gen-dev-key.mjs .dev.vars

# ---- run -------------------------------------------------------------------------------------
dev: .tools/rust .tools/npm dev-vars worker
	@$(WRANGLER) d1 migrations apply DB --local
	$(WRANGLER) dev --ip 127.0.0.1 --port 8787 --show-interactive-dev-session=false

# Users from the FastAPI service, fastapi-users or JSON Lines into the local D1 that `make dev`
# serves (TARGET=remote: the deployed one). WRANGLER_ARGS go to `wrangler d1 execute` as they are
# (e.g. `--persist-to DIR -c other.toml`). See README, "Migrating from FastAPI / fastapi-users".
import: .tools/npm
	@[ -n "$(SRC)" ] || { echo "usage: make import SRC=<file> [TARGET=remote] [WRANGLER_ARGS=...]"; exit 2; }
	@[ "$(TARGET)" = remote ] || $(WRANGLER) d1 migrations apply DB --local $(WRANGLER_ARGS) >/dev/null
	@cargo build --quiet --bin import
	@target/debug/import "$(SRC)" $(if $(filter remote,$(TARGET)),--remote) -- $(WRANGLER_ARGS)

# The emailed links' origin comes only from configuration, never from a request's Host: a
# deployment needs PUBLIC_URL (this Worker's own https origin) or APP_URL (a frontend's) in
# wrangler.toml's [vars]. Without either the Worker would send no reset or verification link.
deploy: deploy-vars worker
	$(WRANGLER) d1 migrations apply DB --remote
	$(WRANGLER) deploy

deploy-vars:
	@awk '/^[ \t]*\[/ { vars = ($$0 ~ /^[ \t]*\[vars\][ \t]*$$/) } \
	  vars && /^[ \t]*(APP_URL|PUBLIC_URL)[ \t]*=[ \t]*"https:\/\/[^" ]+"/ { found = 1 } \
	  END { exit !found }' wrangler.toml || { \
	  echo 'make deploy: set PUBLIC_URL (this Worker'"'"'s public origin, e.g. "https://auth.example.com")' >&2; \
	  echo 'or APP_URL (your frontend'"'"'s) under [vars] in wrangler.toml: the emailed links start with it.' >&2; \
	  exit 1; }

# ---- tests -----------------------------------------------------------------------------------
test: tools lint test-native test-ts test-wasm test-fuzz test-e2e deploy-check

lint: .tools/rust .tools/venv ts-check
	cargo fmt --all --check
	$(VENV)/bin/python -m pyflakes tests/e2e tests/bench
	cargo clippy --quiet --workspace --all-targets -- -D warnings
	cargo clippy --quiet --workspace --lib --target wasm32-unknown-unknown -- -D warnings
	cargo clippy --quiet -p edge-auth-bench-floor --features hash --lib --target wasm32-unknown-unknown -- -D warnings

# Type-checks the TypeScript consumer (wrangler's esbuild bundles it without checking types).
ts-check: .tools/ts-consumer
	cd examples/ts-consumer && node_modules/.bin/tsc --noEmit -p .

test-native: .tools/npm
	cargo test --quiet --workspace

# Unit tests of the TypeScript consumer's pure decisions, with Node's test runner (esbuild, pinned
# in the root package.json, strips the types; jose stays an import so the tests share its classes).
test-ts: .tools/ts-consumer .tools/npm
	@cd examples/ts-consumer && ../../node_modules/.bin/esbuild src/policy.ts --format=esm \
	  --outfile=.build/policy.mjs --log-level=warning
	cd examples/ts-consumer && node --test test/

test-wasm: .tools/rust .tools/npm
	cargo test --target wasm32-unknown-unknown --test wasm

# E2E_WORKERS pytest processes (pytest-xdist), each with its own `wrangler dev` sessions, share
# the test files; a file stays on one process (its module fixtures and its order are kept).
E2E_WORKERS ?= 2
test-e2e: tools chromium worker worker-test consumer dev-vars
	$(VENV)/bin/python -m pytest -q -n $(E2E_WORKERS) --dist loadfile --durations=12 tests/e2e

# The OpenAPI document the Worker serves, generated natively from the API types in
# src/api_doc/ (tests/openapi.rs fails when it is stale).
openapi:
	UPDATE_OPENAPI=1 cargo test --quiet --test openapi the_served_document_is_the_generated_one

# The bundle `wrangler deploy` would upload, built offline (--dry-run), and its compressed size
# checked against the Workers limit (3 MiB gzip on the Free plan, 10 MiB on Paid).
BUNDLE_LIMIT_KIB ?= 3072
deploy-check: worker
	@rm -rf .e2e/dry-run && $(WRANGLER) deploy --dry-run --outdir .e2e/dry-run > .e2e/dry-run.log 2>&1 || { cat .e2e/dry-run.log; exit 1; }
	@size=$$(grep -oE 'gzip: [0-9.]+ KiB' .e2e/dry-run.log | grep -oE '[0-9.]+'); \
	  echo "deploy --dry-run: $$(grep -oE 'Total Upload: .*' .e2e/dry-run.log) (limit $(BUNDLE_LIMIT_KIB) KiB gzip)"; \
	  awk -v s="$$size" -v l=$(BUNDLE_LIMIT_KIB) 'BEGIN { exit !(s > 0 && s <= l) }'

# Coverage-guided fuzzing of the request parsers (cargo fuzz, libFuzzer, nightly). `make fuzz`
# runs each target for FUZZ_SECONDS, then schemathesis with SCHEMATHESIS_FUZZ_EXAMPLES examples per
# operation; `make test` runs a SMOKE_SECONDS smoke of each target (and schemathesis with 25).
fuzz: .tools/fuzz .tools/npm
	@$(MAKE) -s fuzz-parsers
	@$(MAKE) -s worker .tools/venv
	SCHEMATHESIS_MAX_EXAMPLES=$(SCHEMATHESIS_FUZZ_EXAMPLES) $(VENV)/bin/python -m pytest -q -s tests/e2e/test_schemathesis.py

# The targets are compiled in one cargo run (the crate and its dependencies once, the six binaries
# side by side), then run FUZZ_JOBS at a time, each for its full FUZZ_SECONDS (libFuzzer uses one
# core); each target's lines are printed together when it is done.
fuzz-parsers: .tools/fuzz .tools/npm
	@mkdir -p fuzz/target && cargo +nightly fuzz build $(FUZZ_PROFILE) >fuzz/target/build.log 2>&1 || \
	  { cat fuzz/target/build.log; exit 1; }
	@$(MAKE) -s -j$(FUZZ_JOBS) --output-sync=target $(addprefix fuzz-run-,$(FUZZ_TARGETS))

fuzz-run-%:
	@mkdir -p fuzz/corpus/$*; echo "fuzz target $* ($(FUZZ_SECONDS) s):"; \
	  cargo +nightly fuzz run $(FUZZ_PROFILE) $* fuzz/corpus/$* fuzz/seeds/$* -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 2>&1 \
	  | grep -E "^(Done|stat::number_of_executed_units|==|SUMMARY)|panicked|ERROR"

test-fuzz: .tools/fuzz .tools/npm
	@$(MAKE) -s fuzz-parsers FUZZ_SECONDS=$(SMOKE_SECONDS) FUZZ_PROFILE=--dev

# BENCH_ONLY=floor: only the floor table and the cold starts; BENCH_ONLY=slices: only the hashing
# floor's tail pair at each slice size (BENCH_SLICES); BENCH_ONLY=shedding: only the logins' p50
# and share shed at 2 to 64 clients; BENCH_ONLY=migration: only the unknown email / wrong
# password pairs of migrated accounts under the default configuration; BENCH_ONLY=assets: only the
# static files in the bundle vs as Workers Static Assets (docs/static-files.md), which needs
# neither the floor Worker nor the test-hooks build; BENCH_ONLY=size: only the wasm's size with each
# group of v3 endpoints left out, built in a copy of the checkout (tests/bench/size_control.py),
# which needs no build here;
# none of the others needs the test-hooks build.
bench: tools $(if $(filter size,$(BENCH_ONLY)),,worker) $(if $(filter assets passkeys size,$(BENCH_ONLY)),,floor) $(if $(filter floor slices shedding migration assets passkeys size,$(BENCH_ONLY)),,worker-test)
	$(VENV)/bin/python tests/bench/bench.py

# Only the forgot timing of `make bench` (known vs unknown address), on the production build.
bench-forgot: tools worker
	$(VENV)/bin/python tests/bench/bench.py forgot
