# Builds the C core, its dependencies and the C tests for one VARIANT:
#   native  gcc, optimised, for tests and tools
#   asan    gcc with AddressSanitizer and UndefinedBehaviorSanitizer
#   wasm    emcc -Oz, no threads, for the browser (and the tests under node)
# Called by the top Makefile: $(MAKE) -f mk/core.mk VARIANT=<v> <target>

VARIANT ?= native
# V=1 shows every command
Q := $(if $(V),,@)
OUT := build/$(VARIANT)

LWIP_SRC ?= third_party/lwip
BEARSSL_SRC ?= third_party/bearssl
SODIUM_SRC ?= third_party/libsodium
SODIUM := $(SODIUM_SRC)/src/libsodium

OUR_WARNINGS := -std=c11 -Wall -Wextra -Werror -Wshadow -Wvla -Wstrict-prototypes
INCLUDES := -Iwasm/src -I$(BEARSSL_SRC)/inc -I$(SODIUM)/include -I$(OUT)/gen/sodium \
            -I$(LWIP_SRC)/src/include -Iwasm/src/net/lwip-port

ifeq ($(VARIANT),wasm)
  CC := emcc
  AR := emar
  OPT := -Oz -flto
  PLATFORM := web
  SODIUM_DEFS := -DNATIVE_LITTLE_ENDIAN=1
else
  CC := gcc
  AR := ar
  PLATFORM := posix
  SODIUM_DEFS := -DNATIVE_LITTLE_ENDIAN=1 -DHAVE_TI_MODE=1
  ifeq ($(VARIANT),asan)
    OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
  else
    OPT := -O2 -g
  endif
endif

# --- dependencies: compiled without our warning flags, linked as static libraries

SODIUM_FILES := crypto_scalarmult/curve25519/scalarmult_curve25519.c \
  crypto_scalarmult/curve25519/ref10/x25519_ref10.c \
  crypto_core/ed25519/ref10/ed25519_ref10.c crypto_core/ed25519/core_ed25519.c \
  crypto_sign/ed25519/sign_ed25519.c crypto_sign/ed25519/ref10/keypair.c \
  crypto_sign/ed25519/ref10/sign.c crypto_sign/ed25519/ref10/open.c \
  crypto_hash/sha512/cp/hash_sha512_cp.c \
  crypto_generichash/blake2b/ref/blake2b-ref.c crypto_generichash/blake2b/ref/blake2b-compress-ref.c \
  crypto_generichash/blake2b/ref/generichash_blake2b.c \
  crypto_stream/chacha20/stream_chacha20.c crypto_stream/chacha20/ref/chacha20_ref.c \
  crypto_verify/sodium/verify.c sodium/utils.c sodium/runtime.c \
  randombytes/randombytes.c randombytes/sysrandom/randombytes_sysrandom.c \
  randombytes/internal/randombytes_internal_random.c
SODIUM_OBJS := $(patsubst %.c,$(OUT)/sodium/%.o,$(SODIUM_FILES))
SODIUM_VERSION_H := $(OUT)/gen/sodium/sodium/version.h

BEARSSL_FILES := $(wildcard $(BEARSSL_SRC)/src/*/*.c) $(BEARSSL_SRC)/src/settings.c
BEARSSL_OBJS := $(patsubst $(BEARSSL_SRC)/src/%.c,$(OUT)/bearssl/%.o,$(BEARSSL_FILES))
# the core seeds BearSSL itself and gives it the time
# no unaligned loads: they are undefined behaviour, which UBSan stops on
BEARSSL_DEFS := -DBR_LE_UNALIGNED=0 -DBR_BE_UNALIGNED=0 -DBR_USE_URANDOM=0 -DBR_USE_GETENTROPY=0 -DBR_USE_UNIX_TIME=0 -DBR_USE_WIN32_RAND=0 \
                -DBR_USE_WIN32_TIME=0 -DBR_RDRAND=0

LWIP_FILES := $(wildcard $(LWIP_SRC)/src/core/*.c) $(wildcard $(LWIP_SRC)/src/core/ipv4/*.c)
LWIP_OBJS := $(patsubst $(LWIP_SRC)/src/%.c,$(OUT)/lwip/%.o,$(LWIP_FILES))

ifeq ($(VARIANT),wasm)
# The per-packet crypto loops run several times slower at -Oz; compiled at
# -O2 outside link-time optimisation they keep their speed (about 10 KB).
SPEED_CRITICAL_OBJS := $(addprefix $(OUT)/sodium/,crypto_stream/chacha20/ref/chacha20_ref.o \
  crypto_stream/chacha20/stream_chacha20.o crypto_generichash/blake2b/ref/blake2b-compress-ref.o \
  crypto_generichash/blake2b/ref/blake2b-ref.o crypto_scalarmult/curve25519/ref10/x25519_ref10.o \
  crypto_core/ed25519/ref10/ed25519_ref10.o) \
  $(addprefix $(OUT)/bearssl/,hash/sha2small.o symcipher/aes_ct64.o symcipher/aes_ct64_enc.o \
  symcipher/aes_ct64_ctr.o symcipher/aes_ct64_cbcenc.o hash/ghash_ctmul64.o mac/hmac.o kdf/hkdf.o) \
  $(patsubst wasm/src/%.c,$(OUT)/core/%.o,$(wildcard wasm/src/crypto/*.c wasm/src/sphinx/*.c))
$(SPEED_CRITICAL_OBJS): OPT := -O2
endif

$(SODIUM_VERSION_H): $(SODIUM)/include/sodium/version.h.in
	@mkdir -p $(@D)
	sed -e 's/@VERSION@/1.0.18/' -e 's/@SODIUM_LIBRARY_VERSION_MAJOR@/10/' \
	    -e 's/@SODIUM_LIBRARY_VERSION_MINOR@/3/' -e 's/@SODIUM_LIBRARY_MINIMAL_DEF@//' $< > $@

$(OUT)/sodium/%.o: $(SODIUM)/%.c $(SODIUM_VERSION_H)
	@mkdir -p $(@D)
	@$(if $(V),:,echo "  CC  $(VARIANT) $<")
	$(Q)$(CC) $(OPT) -w $(SODIUM_DEFS) -I$(SODIUM)/include/sodium -I$(OUT)/gen/sodium/sodium -I$(SODIUM)/include -c $< -o $@

$(OUT)/bearssl/%.o: $(BEARSSL_SRC)/src/%.c
	@mkdir -p $(@D)
	@$(if $(V),:,echo "  CC  $(VARIANT) $<")
	$(Q)$(CC) $(OPT) -w $(BEARSSL_DEFS) -I$(BEARSSL_SRC)/inc -I$(BEARSSL_SRC)/src -c $< -o $@

$(OUT)/lwip/%.o: $(LWIP_SRC)/src/%.c $(wildcard wasm/src/net/lwip-port/*.h wasm/src/net/lwip-port/arch/*.h)
	@mkdir -p $(@D)
	@$(if $(V),:,echo "  CC  $(VARIANT) $<")
	$(Q)$(CC) $(OPT) -w -I$(LWIP_SRC)/src/include -Iwasm/src/net/lwip-port -c $< -o $@

$(OUT)/libdeps.a: $(SODIUM_OBJS) $(BEARSSL_OBJS) $(LWIP_OBJS)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

# --- our code

# lwIP (in libdeps) calls back into the core (net/lwip_port.c), so GNU ld
# must see the two archives as a group; wasm-ld resolves them in any order
CORE_LIBS = $(if $(filter wasm,$(VARIANT)),$(OUT)/libcore.a $(OUT)/libdeps.a,-Wl,--start-group $(OUT)/libcore.a $(OUT)/libdeps.a -Wl,--end-group)

CORE_LAYERS := crypto codec gateway sphinx ipr mixnet net tunnel tls dns http ws api
CORE_SRCS := $(foreach layer,$(CORE_LAYERS),$(wildcard wasm/src/$(layer)/*.c)) $(wildcard wasm/src/platform/$(PLATFORM)/*.c)
CORE_OBJS := $(patsubst wasm/src/%.c,$(OUT)/core/%.o,$(CORE_SRCS))
# the native platform's own tests (its event loop) do not exist in the browser build
NATIVE_ONLY_TESTS := wasm/tests/test_platform.c wasm/tests/test_platform_net.c wasm/tests/test_net_loop.c
# the platform's network tests start localnet's WebSocket echo server
$(OUT)/tests/test_platform_net.o: INCLUDES += -DWS_ECHO_SCRIPT='"$(CURDIR)/localnet/ws-echo.mjs"'
TEST_SRCS := $(if $(filter wasm,$(VARIANT)),$(filter-out $(NATIVE_ONLY_TESTS),$(wildcard wasm/tests/*.c)),$(wildcard wasm/tests/*.c))
TEST_OBJS := $(patsubst wasm/%.c,$(OUT)/%.o,$(TEST_SRCS))

# The Mozilla roots, from Debian's ca-certificates, compiled in as BearSSL
# trust anchors by a native build tool (for every variant)
MOZILLA_ROOTS_DIR ?= /usr/share/ca-certificates/mozilla
ROOTS_TOOL := build/native/bin/trust-anchors-to-c
CORE_OBJS += $(OUT)/gen/mozilla_roots.o
$(OUT)/gen/mozilla_roots.c: wasm/tools/trust_anchors_to_c.c wasm/src/crypto/trust_anchors.c $(wildcard $(MOZILLA_ROOTS_DIR)/*.crt)
	@mkdir -p $(@D)
	$(Q)$(MAKE) --no-print-directory -f mk/core.mk VARIANT=native $(ROOTS_TOOL)
	$(Q)cat $(MOZILLA_ROOTS_DIR)/*.crt | $(ROOTS_TOOL) > $@.tmp && mv $@.tmp $@
$(OUT)/gen/mozilla_roots.o: $(OUT)/gen/mozilla_roots.c
	$(Q)$(CC) $(OPT) $(OUR_WARNINGS) $(INCLUDES) -c $< -o $@
ifeq ($(VARIANT),native)
$(OUT)/tools/%.o: wasm/tools/%.c $(SODIUM_VERSION_H)
	@mkdir -p $(@D)
	$(Q)$(CC) $(OPT) $(OUR_WARNINGS) $(INCLUDES) -MMD -MP -c $< -o $@
$(ROOTS_TOOL): $(OUT)/tools/trust_anchors_to_c.o $(OUT)/core/crypto/trust_anchors.o $(OUT)/libdeps.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(OPT) -o $@ $^
endif

# uses libsodium's internal group arithmetic: its field element layout
# depends on SODIUM_DEFS; its headers include each other from this path and
# define static functions that the file does not use (system headers: no warnings)
$(OUT)/core/crypto/x25519_chain.o: INCLUDES += $(SODIUM_DEFS) -DCONFIGURED=1 -isystem $(SODIUM)/include/sodium

$(OUT)/core/%.o: wasm/src/%.c $(SODIUM_VERSION_H)
	@mkdir -p $(@D)
	@$(if $(V),:,echo "  CC  $(VARIANT) $<")
	$(Q)$(CC) $(OPT) $(OUR_WARNINGS) $(INCLUDES) -MMD -MP -c $< -o $@

$(OUT)/tests/%.o: wasm/tests/%.c $(SODIUM_VERSION_H)
	@mkdir -p $(@D)
	@$(if $(V),:,echo "  CC  $(VARIANT) $<")
	$(Q)$(CC) $(OPT) $(OUR_WARNINGS) $(INCLUDES) -Iwasm/tests -MMD -MP -c $< -o $@

$(OUT)/libcore.a: $(CORE_OBJS)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

-include $(CORE_OBJS:.o=.d) $(TEST_OBJS:.o=.d)

ifeq ($(VARIANT),wasm)
TEST_BIN := $(OUT)/ctests.cjs
WASM_EXPORTS := _blake3_hash,_malloc,_free,_mix_tunnel_setup,_mix_tunnel_disconnect,_mix_tunnel_state_json,_mix_tunnel_stats_json,_mix_last_error,_mix_dns_resolve,_mix_dns_cancel,_mix_ws_open,_mix_ws_send,_mix_ws_close,_mix_ws_buffered_amount,_mix_fetch_start,_mix_fetch_body_write,_mix_fetch_body_end,_mix_fetch_consumed,_mix_fetch_abort
# the C tests run under node, and the module the browser loads
$(TEST_BIN): $(TEST_OBJS) $(OUT)/libcore.a $(OUT)/libdeps.a mk/core.mk
	$(CC) $(OPT) -sENVIRONMENT=node -sSINGLE_FILE -sEXIT_RUNTIME=1 -sALLOW_MEMORY_GROWTH=1 -sTOTAL_STACK=1048576 \
	  -o $@ $(TEST_OBJS) $(OUT)/libcore.a $(OUT)/libdeps.a

$(OUT)/mixcore.mjs: $(OUT)/libcore.a $(OUT)/libdeps.a mk/core.mk
	$(CC) $(OPT) -sMODULARIZE -sEXPORT_ES6 -sEXPORT_NAME=createMixCore -sSINGLE_FILE \
	  -sENVIRONMENT=web,worker,node -sALLOW_MEMORY_GROWTH=1 -sFILESYSTEM=0 \
	  -sEXPORTED_FUNCTIONS=$(WASM_EXPORTS) -sEXPORTED_RUNTIME_METHODS=HEAPU8,UTF8ToString,stringToUTF8,lengthBytesUTF8 --no-entry \
	  -o $@ $(OUT)/libcore.a $(OUT)/libdeps.a

# the same module with a separate .wasm, to measure the size
$(OUT)/mixcore-split.mjs: $(OUT)/libcore.a $(OUT)/libdeps.a
	$(CC) $(OPT) -sMODULARIZE -sEXPORT_ES6 -sEXPORT_NAME=createMixCore \
	  -sENVIRONMENT=web,worker,node -sALLOW_MEMORY_GROWTH=1 -sFILESYSTEM=0 \
	  -sEXPORTED_FUNCTIONS=$(WASM_EXPORTS) -sEXPORTED_RUNTIME_METHODS=HEAPU8,UTF8ToString,stringToUTF8,lengthBytesUTF8 --no-entry \
	  -o $@ $(OUT)/libcore.a $(OUT)/libdeps.a

product: $(OUT)/mixcore.mjs $(OUT)/mixcore-split.mjs
run-tests: $(TEST_BIN)
	node $(TEST_BIN)
else
TEST_BIN := $(OUT)/ctests
$(TEST_BIN): $(TEST_OBJS) $(OUT)/libcore.a $(OUT)/libdeps.a mk/core.mk
	$(CC) $(OPT) -o $@ $(TEST_OBJS) $(CORE_LIBS)

run-tests: $(TEST_BIN)
	$(TEST_BIN)
endif

# micro-benchmarks of the core, one program per wasm/bench/*.c
BENCH_SRCS := $(wildcard wasm/bench/*.c)
ifeq ($(VARIANT),wasm)
BENCH_BINS := $(patsubst wasm/bench/%.c,$(OUT)/bench/%.cjs,$(BENCH_SRCS))
$(OUT)/bench/%.cjs: wasm/bench/%.c $(OUT)/libcore.a $(OUT)/libdeps.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(OPT) $(OUR_WARNINGS) $(INCLUDES) -sENVIRONMENT=node -sSINGLE_FILE -sEXIT_RUNTIME=1 \
	  -sALLOW_MEMORY_GROWTH=1 -o $@ $< $(OUT)/libcore.a $(OUT)/libdeps.a
run-bench-%: $(OUT)/bench/%.cjs
	@node $<
else
BENCH_BINS := $(patsubst wasm/bench/%.c,$(OUT)/bench/%,$(BENCH_SRCS))
$(OUT)/bench/%: wasm/bench/%.c $(OUT)/libcore.a $(OUT)/libdeps.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(OPT) $(OUR_WARNINGS) $(INCLUDES) -o $@ $< $(CORE_LIBS)
run-bench-%: $(OUT)/bench/%
	@$<
endif
benches: $(BENCH_BINS)

ifneq ($(VARIANT),wasm)
# localnet: native only, on the same core libraries
LOCALNET_LIB_SRCS := $(filter-out localnet/main.c localnet/services_test.c,$(wildcard localnet/*.c))
LOCALNET_LIB_OBJS := $(patsubst %.c,$(OUT)/%.o,$(LOCALNET_LIB_SRCS))
LOCALNET_TEST_OBJS := $(patsubst %.c,$(OUT)/%.o,$(wildcard localnet/tests/*.c)) $(OUT)/localnet/tests/check.o

$(OUT)/localnet/%.o: localnet/%.c $(SODIUM_VERSION_H)
	@mkdir -p $(@D)
	@$(if $(V),:,echo "  CC  $(VARIANT) $<")
	$(Q)$(CC) $(OPT) $(OUR_WARNINGS) $(INCLUDES) -Ilocalnet -Iwasm/tests \
	  -DSERVICES_WS_ECHO_SCRIPT='"$(CURDIR)/localnet/ws-echo.mjs"' -MMD -MP -c $< -o $@
$(OUT)/localnet/tests/check.o: wasm/tests/check.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(OPT) $(OUR_WARNINGS) $(INCLUDES) -Iwasm/tests -DTEST_GROUPS_FILE='"localnet/tests/groups.def"' -I. \
	  -MMD -MP -c $< -o $@
# lwIP (libdeps.a) calls back into the core (net/lwip_port.c): the archives link as a group
LINK_WITH_LIBS = $(CC) $(OPT) -o $@ $(filter-out %.a,$^) -Wl,--start-group $(filter %.a,$^) -Wl,--end-group
$(OUT)/localnet-tests: $(LOCALNET_TEST_OBJS) $(LOCALNET_LIB_OBJS) $(OUT)/libcore.a $(OUT)/libdeps.a
	$(Q)$(LINK_WITH_LIBS)
-include $(LOCALNET_LIB_OBJS:.o=.d) $(LOCALNET_TEST_OBJS:.o=.d) $(OUT)/localnet/main.d
$(OUT)/bin/localnet: $(OUT)/localnet/main.o $(LOCALNET_LIB_OBJS) $(OUT)/libcore.a $(OUT)/libdeps.a
	@mkdir -p $(@D)
	$(Q)$(LINK_WITH_LIBS)
# the native tunnel against a localnet each test starts
TUNNEL_TEST_OBJS := $(patsubst wasm/tests/tunnel/%.c,$(OUT)/tunnel-tests/%.o,$(wildcard wasm/tests/tunnel/*.c)) \
  $(OUT)/tunnel-tests/check.o
$(OUT)/tunnel-tests/%.o: wasm/tests/tunnel/%.c $(SODIUM_VERSION_H)
	@mkdir -p $(@D)
	@$(if $(V),:,echo "  CC  $(VARIANT) $<")
	$(Q)$(CC) $(OPT) $(OUR_WARNINGS) $(INCLUDES) -Iwasm/tests -Iwasm/tests/tunnel -MMD -MP -c $< -o $@
$(OUT)/tunnel-tests/check.o: wasm/tests/check.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(OPT) $(OUR_WARNINGS) $(INCLUDES) -Iwasm/tests -DTEST_GROUPS_FILE='"tunnel/groups.def"' -MMD -MP \
	  -c $< -o $@
$(OUT)/tunnel-tests-bin: $(TUNNEL_TEST_OBJS) $(OUT)/libcore.a $(OUT)/libdeps.a
	$(Q)$(LINK_WITH_LIBS)
-include $(TUNNEL_TEST_OBJS:.o=.d)
# the tunnel's download bench starts its own localnet, as the tunnel tests do
$(OUT)/bench/tunnel_download: wasm/bench/tunnel/tunnel_download.c $(OUT)/tunnel-tests/localnet_child.o \
  $(OUT)/libcore.a $(OUT)/libdeps.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(OPT) $(OUR_WARNINGS) $(INCLUDES) -Iwasm/tests/tunnel -o $@ $< $(OUT)/tunnel-tests/localnet_child.o \
	  $(CORE_LIBS)
.PHONY: run-tunnel-bench
run-tunnel-bench: $(OUT)/bench/tunnel_download $(OUT)/bin/localnet
	@$<
	@$< --only off --kernel-internet --faults 0.035 0.035 0.1 0

run-localnet-tests: $(OUT)/localnet-tests
	$(OUT)/localnet-tests
endif

libs: $(OUT)/libcore.a $(OUT)/libdeps.a
tests: $(TEST_BIN)

.PHONY: libs tests run-tests product

ifeq ($(VARIANT),wasm)
# what the dependencies cost: lwIP TCP/UDP, BearSSL's TLS client, our crypto
$(OUT)/deps-probe.wasm: wasm/size/deps_probe.c $(OUT)/libcore.a $(OUT)/libdeps.a
	$(CC) $(OPT) $(OUR_WARNINGS) $(INCLUDES) -sSTANDALONE_WASM=0 -sFILESYSTEM=0 -sALLOW_MEMORY_GROWTH=1 \
	  --no-entry -o $(OUT)/deps-probe.js $< $(OUT)/libcore.a $(OUT)/libdeps.a
size: $(OUT)/deps-probe.wasm $(OUT)/mixcore-split.mjs
	@printf 'wasm bytes, deps probe (lwIP TCP/UDP + BearSSL TLS client + crypto): %s raw, %s gzipped\n' \
	  $$(stat -c %s $(OUT)/deps-probe.wasm) $$(gzip -9c $(OUT)/deps-probe.wasm | wc -c)
	@printf 'wasm bytes, shipped module today: %s raw, %s gzipped\n' \
	  $$(stat -c %s $(OUT)/mixcore-split.wasm) $$(gzip -9c $(OUT)/mixcore-split.wasm | wc -c)
.PHONY: size
endif
