/* Sphinx packets built and processed per second on one core: Regular
 * packets (2413 bytes), 4 hops, version 259, as the client sends them.
 * Prints one JSON line per figure (shared/DESIGN.md "Tests and benchmarks"). */
#define _POSIX_C_SOURCE 200809L
#include "crypto/crypto.h"
#include "sphinx/sphinx.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef __EMSCRIPTEN__
#define TARGET "wasm"
#else
#define TARGET "native"
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    enum { HOPS = 4, MIN_SECONDS = 2 };
    uint8_t secrets[HOPS][32];
    sphinx_hop route[HOPS];
    for (int i = 0; i < HOPS; i++) {
        random_bytes(secrets[i], 32);
        x25519_public_key(route[i].public_key, secrets[i]);
        nym_node_address addr = {.family = 4, .port = 1789, .ip = {10, 0, (uint8_t)i, 1}};
        nym_node_address_encode_padded(&addr, route[i].address, SPHINX_NODE_ADDRESS_LEN);
    }
    static uint8_t packet[NYM_REGULAR_PACKET_LEN], built[NYM_REGULAR_PACKET_LEN], message[2048];
    uint8_t destination[32] = {1};
    uint64_t delays[HOPS] = {0};
    random_bytes(message, sizeof message);

    unsigned built_count = 0;
    double start = now_s(), elapsed;
    do {
        sphinx_packet_build(built, sizeof built, message, sizeof message, route, HOPS, destination, delays,
                            SPHINX_VERSION_KEY_SEEDS, NULL);
        built_count++;
    } while ((elapsed = now_s() - start) < MIN_SECONDS);
    double built_rate = built_count / elapsed;

    unsigned processed_count = 0;
    start = now_s();
    do {
        sphinx_processed out;
        memcpy(packet, built, sizeof packet);
        if (sphinx_packet_process(packet, sizeof packet, secrets[0], &out) != 0) {
            fprintf(stderr, "sphinx_bench: processing failed\n");
            return 1;
        }
        processed_count++;
    } while ((elapsed = now_s() - start) < MIN_SECONDS);
    double processed_rate = processed_count / elapsed;

    printf("sphinx packets built (%s, one core)      %10.0f /s\n", TARGET, built_rate);
    printf("sphinx packets processed (%s, one core)  %10.0f /s\n", TARGET, processed_rate);
    printf("{\"bench\": \"sphinx_built_per_s_%s\", \"value\": %.0f, \"unit\": \"packets/s\"}\n", TARGET, built_rate);
    printf("{\"bench\": \"sphinx_processed_per_s_%s\", \"value\": %.0f, \"unit\": \"packets/s\"}\n", TARGET,
           processed_rate);
    return 0;
}
