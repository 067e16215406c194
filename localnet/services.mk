# localnet's small internet (nginx, dnsmasq, ws-echo, httpbin) and its test,
# natively. From the repository root:
#   make -f localnet/services.mk test
CC := gcc
CFLAGS := -std=c11 -Wall -Wextra -Werror -Wshadow -Wvla -Wstrict-prototypes -O2 -g
OUT := build/localnet
# services.c starts the echo server by this absolute path
SERVICES_DEFS := -DSERVICES_WS_ECHO_SCRIPT='"$(abspath localnet/ws-echo.mjs)"'

.PHONY: test
test: $(OUT)/services_test node_modules/ws/package.json
	$(OUT)/services_test

$(OUT)/services.o: localnet/services.c localnet/services.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SERVICES_DEFS) -c $< -o $@

$(OUT)/services_test: localnet/services_test.c localnet/services.h $(OUT)/services.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) localnet/services_test.c $(OUT)/services.o -o $@

node_modules/ws/package.json:
	@echo "localnet: the npm package ws is missing: run 'make deps' (npm ci)" >&2; exit 1
