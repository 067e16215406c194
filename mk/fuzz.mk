# libFuzzer targets, one per wasm/fuzz/*.c, built by clang with
# AddressSanitizer and UndefinedBehaviorSanitizer against the same core and
# dependency sources as every other build (compiled by mk/core.mk into
# build/fuzz, with coverage instrumentation for the fuzzer).
# Called by the top Makefile: $(MAKE) -f mk/fuzz.mk fuzz-smoke | fuzz

# the runs below wait for any one of their jobs (wait -n)
SHELL := /bin/bash
Q := $(if $(V),,@)
FUZZ_CC := clang-14
FUZZ_OUT := build/fuzz
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OPT := -O1 -g -fno-omit-frame-pointer $(FUZZ_SANITIZE)
FUZZ_WARNINGS := -std=c11 -Wall -Wextra -Werror -Wshadow -Wvla -Wstrict-prototypes
# seconds per target
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_SECONDS ?= 600
# targets fuzzed at once
FUZZ_JOBS ?= $(shell nproc)

FUZZ_TARGETS := $(patsubst wasm/fuzz/%.c,%,$(wildcard wasm/fuzz/*.c))
FUZZ_BINS := $(addprefix $(FUZZ_OUT)/,$(FUZZ_TARGETS))
FUZZ_LIBS := $(FUZZ_OUT)/libcore.a $(FUZZ_OUT)/libdeps.a

# the libraries, by core.mk's own rules, with its compiler and flags overridden
fuzz-libs:
	@$(MAKE) --no-print-directory -f mk/core.mk VARIANT=fuzz OUT=$(FUZZ_OUT) CC=$(FUZZ_CC) \
	  OPT="$(FUZZ_OPT) -fsanitize=fuzzer-no-link" libs

$(FUZZ_OUT)/%: wasm/fuzz/%.c fuzz-libs
	@$(if $(V),:,echo "  LD  fuzz $@")
	$(Q)$(FUZZ_CC) $(FUZZ_OPT) -fsanitize=fuzzer $(FUZZ_WARNINGS) -Iwasm/src -o $@ $< $(FUZZ_LIBS)

# Runs every target for the given number of seconds on its own corpus
# (kept in build/fuzz/corpus between runs, started from the seeds in
# wasm/fuzz/seeds/<target> when there are some), FUZZ_JOBS at a time; a
# crash or sanitizer report fails the target and leaves its input in
# build/fuzz/crashes. Each target's lines are printed once all are done.
define fuzz_run
	@mkdir -p $(FUZZ_OUT)/crashes; running=0; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_OUT)/corpus/$$t; \
	  ( if $(FUZZ_OUT)/$$t -max_total_time=$(1) -print_final_stats=0 -artifact_prefix=$(FUZZ_OUT)/crashes/$$t- \
	         $(FUZZ_OUT)/corpus/$$t $$(ls -d wasm/fuzz/seeds/$$t 2>/dev/null) > $(FUZZ_OUT)/$$t.log 2>&1; then \
	      echo "$$t: $$(grep -o 'cov: [0-9]*' $(FUZZ_OUT)/$$t.log | tail -1), $$(ls $(FUZZ_OUT)/corpus/$$t | wc -l) inputs kept"; \
	    else \
	      echo "$$t: FAILED, see $(FUZZ_OUT)/$$t.log"; tail -30 $(FUZZ_OUT)/$$t.log; \
	    fi > $(FUZZ_OUT)/$$t.result ) & \
	  running=$$((running + 1)); \
	  if [ $$running -ge $(FUZZ_JOBS) ]; then wait -n; running=$$((running - 1)); fi; \
	done; \
	wait; passed=0; failed=0; \
	for t in $(FUZZ_TARGETS); do \
	  cat $(FUZZ_OUT)/$$t.result; \
	  if grep -q "^$$t: FAILED" $(FUZZ_OUT)/$$t.result; then failed=$$((failed + 1)); else passed=$$((passed + 1)); fi; \
	done; \
	echo "$$passed passed, $$failed failed"; [ $$failed = 0 ]
endef

fuzz-build: $(FUZZ_BINS)

fuzz-smoke: fuzz-build
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS))

fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_SECONDS))

.PHONY: fuzz-libs fuzz-build fuzz-smoke fuzz
