# The one entry point. `make demo` and `make test` install what is missing
# themselves (through `make deps`).

SHELL := /bin/bash
CORE := $(MAKE) --no-print-directory -f mk/core.mk
JOBS ?= $(shell nproc)
# Debian's emscripten needs this to find its optimizer's node modules
export NODE_PATH := /usr/share/nodejs
# dependency sources: fetched by `make deps` unless pointed elsewhere
LWIP_SRC ?= third_party/lwip
BEARSSL_SRC ?= third_party/bearssl
SODIUM_SRC ?= third_party/libsodium
export LWIP_SRC BEARSSL_SRC SODIUM_SRC

.PHONY: all deps build native asan wasm wasm-size packages test test-c test-net test-js test-e2e test-interop \
        fuzz fuzz-smoke demo bench localnet clean

all: build

deps:
	@scripts/deps.sh

build: native wasm

native: deps
	@$(CORE) VARIANT=native -j$(JOBS) libs tests

asan: deps
	@$(CORE) VARIANT=asan -j$(JOBS) libs tests

wasm: deps
	@$(CORE) VARIANT=wasm -j$(JOBS) libs tests product

# Each runner prints its own "N passed, N failed" line; the first failure
# does not stop the others, but makes the whole run fail.
test: deps
	@status=0; \
	for t in test-c test-net test-js test-e2e test-interop fuzz-smoke; do \
	  echo "== make $$t"; started=$$SECONDS; $(MAKE) --no-print-directory $$t || status=1; \
	  echo "== make $$t took $$((SECONDS - started)) s"; \
	done; \
	[ $$status = 0 ] && echo "make test: all runners passed" || echo "make test: FAILED"; exit $$status

test-c: native asan wasm
	@status=0; \
	echo "-- C tests, native"; $(CORE) VARIANT=native run-tests || status=1; \
	echo "-- C tests, native with ASan+UBSan"; $(CORE) VARIANT=asan run-tests || status=1; \
	echo "-- C tests, wasm under node"; $(CORE) VARIANT=wasm run-tests || status=1; \
	exit $$status

# localnet's parts and the native core against them, plain and under ASan+UBSan
test-net: deps
	@$(CORE) VARIANT=native -j$(JOBS) build/native/localnet-tests build/native/bin/localnet build/native/tunnel-tests-bin
	@$(CORE) VARIANT=asan -j$(JOBS) build/asan/localnet-tests build/asan/tunnel-tests-bin
	@status=0; \
	echo "-- localnet, native"; build/native/localnet-tests || status=1; \
	echo "-- localnet, native with ASan+UBSan"; build/asan/localnet-tests || status=1; \
	echo "-- localnet services"; $(MAKE) --no-print-directory -f localnet/services.mk test || status=1; \
	echo "-- the native tunnel against localnet"; build/native/tunnel-tests-bin || status=1; \
	echo "-- the native tunnel and protocols against localnet, with ASan+UBSan (long downloads shortened or left out)"; \
	TUNNEL_TESTS_SHORT_DOWNLOADS=1 build/asan/tunnel-tests-bin || status=1; \
	exit $$status

test-js: deps
	@npm run --silent test:js

test-e2e: wasm
	@$(CORE) VARIANT=native -j$(JOBS) build/native/bin/localnet
	@npm run --silent test:e2e

# the published @nymproject/mix-fetch 2.1.1 in Chromium against a localnet
# the test starts (tests/interop)
test-interop: deps
	@$(CORE) VARIANT=native -j$(JOBS) build/native/bin/localnet
	@npm run --silent test:interop

# every libFuzzer target in wasm/fuzz, briefly (fuzz-smoke) or at length (fuzz)
fuzz-smoke fuzz: deps
	@$(MAKE) --no-print-directory -f mk/fuzz.mk -j$(JOBS) fuzz-build
	@$(MAKE) --no-print-directory -f mk/fuzz.mk $@

# The core's micro-benchmarks, natively and as wasm under node; the native
# tunnel through a localnet it starts (tunnel_download: time to ready, MB/s
# of the 10 MB file with the cover streams off and on, and off with about
# 10% of packets lost at the mix layers, Linux's TCP serving); and side_by_side:
# our packages and the published ones in headless Chromium on one localnet
# (bench/side_by_side.ts; BENCH_ROUNDS, BENCH_DOWNLOAD_ROUNDS, BENCH_SIDES,
# BENCH_INTERNET). BENCH=<name>
# runs one.
CORE_BENCHES := $(patsubst wasm/bench/%.c,%,$(wildcard wasm/bench/*.c))
bench: native wasm
	@for b in $(if $(BENCH),$(filter $(BENCH),$(CORE_BENCHES)),$(CORE_BENCHES)); do \
	  $(CORE) VARIANT=native run-bench-$$b && $(CORE) VARIANT=wasm run-bench-$$b || exit 1; \
	done
	@if [ -z "$(BENCH)" ] || [ "$(BENCH)" = tunnel_download ]; then \
	  $(CORE) VARIANT=native -j$(JOBS) run-tunnel-bench; fi
	@if [ -z "$(BENCH)" ] || [ "$(BENCH)" = side_by_side ]; then \
	  $(CORE) VARIANT=native -j$(JOBS) build/native/bin/localnet && npm run --silent bench:side-by-side; fi

# a whole Nym network on loopback; prints one JSON line, runs until Ctrl-C
# or until its stdin closes (LOCALNET_ARGS: see localnet/main.c)
localnet: deps
	@$(CORE) VARIANT=native -j$(JOBS) build/native/bin/localnet
	@build/native/bin/localnet $(LOCALNET_ARGS)

# localnet and the playground on 127.0.0.1, the playground's tour in headless
# Chromium, then up until Ctrl-C (DEMO_ONESHOT=1: exits after the tour)
demo: wasm
	@$(CORE) VARIANT=native -j$(JOBS) build/native/bin/localnet
	@npm run --silent demo

# the npm packages' dist/ (mix-tunnel: the worker and the wasm inlined), with their sizes
packages: wasm
	@npx --no-install vite-node packages/build.ts

clean:
	rm -rf build packages/*/dist

# bytes of the wasm: what the dependencies cost, and what ships today
wasm-size: wasm
	@$(CORE) VARIANT=wasm size
