/* libFuzzer target: Sphinx packet processing at mix nodes and a gateway's
 * final hop, the bytes nodes read from the network.
 *
 * Random bytes almost never pass a header MAC, so most inputs build a
 * valid packet from the fuzzer's choices (route length, delays, version,
 * the whole plaintext, including its SURB-ack field and thereby the ack's
 * first-hop address) and then damage it where the fuzzer says; the rest
 * are processed raw. Either way the packet goes through every node. */
#include <stdint.h>
#include <string.h>

#include "mixnet/mixnet.h"

#define NODES 4

typedef struct {
    const uint8_t *data;
    size_t len;
} input;

static uint8_t take_byte(input *in)
{
    if (in->len == 0) return 0;
    in->len--;
    return *in->data++;
}

static void take_bytes(input *in, uint8_t *out, size_t n)
{
    size_t have = n < in->len ? n : in->len;
    memcpy(out, in->data, have);
    memset(out + have, 0, n - have);
    in->data += have;
    in->len -= have;
}

static uint8_t node_secrets[NODES][32];
static sphinx_hop route[NODES];

static void network_setup(void)
{
    for (size_t i = 0; i < NODES; i++) {
        memset(node_secrets[i], (int)(i + 1) * 17, 32);
        x25519_public_key(route[i].public_key, node_secrets[i]);
        nym_node_address a = {.family = 4, .port = 1789, .ip = {10, 0, (uint8_t)i, 1}};
        nym_node_address_encode_padded(&a, route[i].address, SPHINX_NODE_ADDRESS_LEN);
    }
}

/* Runs a packet from the first node onwards, as far as it gets. */
static void packet_run(uint8_t *packet, size_t len, size_t first_node)
{
    for (size_t hop = first_node; hop < NODES; hop++) {
        mixnet_node_result r;
        if (mixnet_node_process(&r, packet, len, node_secrets[hop], NYM_PACKET_TYPE_SPHINX, NYM_ROTATION_EVEN) < 0)
            return;
        if (r.kind == SPHINX_HOP_FINAL) {
            /* what a gateway does next: release the ack, push the message */
            if (r.has_ack) {
                uint8_t ack[NYM_ACK_PACKET_LEN];
                memcpy(ack, r.ack.packet, sizeof ack);
                mixnet_node_result ack_result;
                mixnet_node_process(&ack_result, ack, sizeof ack, node_secrets[0], 0, r.ack.rotation);
            }
            uint8_t fragment_id[MIXNET_FRAGMENT_ID_LEN], key[16] = {0};
            mixnet_ack_decrypt(fragment_id, key, r.client_message, r.client_message_len);
            return;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        network_setup();
        ready = 1;
    }
    input in = {data, size};
    uint8_t mode = take_byte(&in);
    static uint8_t packet[NYM_REGULAR_PACKET_LEN];
    size_t len = mode & 1 ? NYM_ACK_PACKET_LEN : NYM_REGULAR_PACKET_LEN;
    if (mode & 2) {
        /* raw bytes as a packet, at any node */
        take_bytes(&in, packet, len);
        packet_run(packet, len, take_byte(&in) % NODES);
        return 0;
    }
    size_t hops = 1 + take_byte(&in) % NODES;
    uint16_t version = take_byte(&in) & 1 ? SPHINX_VERSION_EXPLICIT_KEYS : SPHINX_VERSION_KEY_SEEDS;
    uint8_t initial_secret[32], destination[32];
    uint64_t delays[NODES];
    take_bytes(&in, initial_secret, sizeof initial_secret);
    take_bytes(&in, destination, sizeof destination);
    for (size_t i = 0; i < NODES; i++) {
        uint8_t d[8];
        take_bytes(&in, d, sizeof d);
        delays[i] = 0;
        for (size_t k = 0; k < 8; k++) delays[i] = delays[i] << 8 | d[k];
    }
    static uint8_t message[NYM_REGULAR_PACKET_LEN];
    size_t message_len = len - SPHINX_PACKET_OVERHEAD;
    take_bytes(&in, message, message_len);
    /* the route's last hops, so that every packet ends at the gateway */
    if (sphinx_packet_build(packet, len, message, message_len, route + NODES - hops, hops, destination, delays, version,
                            initial_secret) < 0)
        return 0;
    /* then up to 8 damaged bytes, where and how the fuzzer says */
    size_t flips = take_byte(&in) % 9;
    for (size_t i = 0; i < flips && in.len >= 3; i++) {
        size_t at = (size_t)take_byte(&in) << 8;
        at = (at | take_byte(&in)) % len;
        packet[at] ^= take_byte(&in);
    }
    packet_run(packet, len, NODES - hops);
    return 0;
}
