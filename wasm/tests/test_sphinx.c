/* The Sphinx layer: packets of the published client processed hop by hop,
 * our own packets and SURBs through a 4-hop route, tampering, and framing. */
#include "check.h"
#include "crypto/crypto.h"
#include "sphinx/sphinx.h"
#include "sphinx_vectors.h"

#include <stdlib.h>
#include <string.h>

static void node_secret(uint8_t out[32], int node)
{
    hex_decode(out, 32, SPHINX_VECTOR_NODE_SECRETS[node]);
}

/* sphinx-packet's own expansion test (shared/spec/sphinx.md §3.11) */
static void check_expansion_kat(void)
{
    uint8_t s[32], e[SPHINX_EXPANDED_SECRET_LEN];
    hex_decode(s, 32, "499a6ab6e6c50f92a5f15d4a93bf90c0b7d8b0e9577f31907c8e01152b752747");
    sphinx_expand_shared_secret(e, s);
    CHECK_HEX(e, 16, "baea9871ca7cbfe4ad595b087ffbd6c8");
    CHECK_HEX(e + 16, 16, "1cde11e32eb4aa072234b18e96898ede");
    CHECK_HEX(e + 224, 32, "e340b8eb8c3ee8aceb2a3aa9f1fdf50288954a3006a59185be69dedaf8ac31bc");
    CHECK_HEX(e + 256, 32, "10e008d2c39ea43ac2a4837ec49a2a0151825117c62f8fc51b31abd37202ade5");
}

void test_sphinx_vectors(void)
{
    check_expansion_kat();
    for (size_t p = 0; p < 4; p++) {
        const sphinx_vector_packet *vec = &SPHINX_VECTOR_PACKETS[p];
        size_t len;
        uint8_t *packet = hex_alloc(vec->packet, &len);
        for (int h = 0; h < 4; h++) {
            const sphinx_vector_hop *hop = &vec->hops[h];
            uint8_t secret[32];
            node_secret(secret, hop->node);
            if (hop->shared_secret) {
                uint8_t shared[32], expanded[SPHINX_EXPANDED_SECRET_LEN];
                x25519(shared, secret, packet);
                CHECK_HEX(shared, 32, hop->shared_secret);
                sphinx_expand_shared_secret(expanded, shared);
                CHECK_HEX(expanded, sizeof expanded, hop->expanded_secret);
            }
            sphinx_processed out;
            int err = sphinx_packet_process(packet, len, secret, &out);
            if (!CHECK(err == 0)) break;
            CHECK(out.version == hop->version);
            if (hop->replay_tag) CHECK_HEX(out.replay_tag, 32, hop->replay_tag);
            if (h < 3) {
                CHECK(out.kind == SPHINX_HOP_FORWARD);
                CHECK(out.delay_ns == hop->delay_ns);
                if (hop->next_address) CHECK_HEX(out.next_address, 32, hop->next_address);
                if (hop->output_packet) CHECK_HEX(packet, len, hop->output_packet);
            } else {
                CHECK(out.kind == SPHINX_HOP_FINAL);
                CHECK_HEX(out.destination, 32, hop->destination);
                static const uint8_t zero_id[SPHINX_IDENTIFIER_LEN];
                CHECK(memcmp(out.identifier, zero_id, sizeof zero_id) == 0);
                CHECK_HEX(packet + out.message_offset, out.message_len, hop->recovered_plaintext);
            }
        }
        free(packet);
    }
}

/* A route over the vector nodes, with addresses 10.0.{1,2,3}.1 and 127.0.0.1. */
static void vector_route(sphinx_hop route[4])
{
    static const uint8_t ips[4][4] = {{10, 0, 1, 1}, {10, 0, 2, 1}, {10, 0, 3, 1}, {127, 0, 0, 1}};
    for (int i = 0; i < 4; i++) {
        nym_node_address addr = {.family = 4, .port = 1789};
        memcpy(addr.ip, ips[i], 4);
        nym_node_address_encode_padded(&addr, route[i].address, SPHINX_NODE_ADDRESS_LEN);
        hex_decode(route[i].public_key, 32, SPHINX_VECTOR_NODE_PUBLICS[i]);
    }
}

/* Runs a packet through the 4 vector nodes; returns the final result. */
static int process_route(uint8_t *packet, size_t len, const sphinx_hop route[4], const uint64_t delays[4],
                         sphinx_processed *out)
{
    for (int h = 0; h < 4; h++) {
        uint8_t secret[32];
        node_secret(secret, h);
        int err = sphinx_packet_process(packet, len, secret, out);
        if (err) return err;
        if (h < 3) {
            if (out->kind != SPHINX_HOP_FORWARD || out->delay_ns != delays[h] ||
                memcmp(out->next_address, route[h + 1].address, 32) != 0)
                return SPHINX_ERR_ROUTING;
        } else if (out->kind != SPHINX_HOP_FINAL) {
            return SPHINX_ERR_ROUTING;
        }
    }
    return 0;
}

void test_sphinx_roundtrip(void)
{
    sphinx_hop route[4];
    vector_route(route);
    uint64_t delays[4] = {1000, 2000000, 30000000000ULL, 4};
    uint8_t destination[32];
    random_bytes(destination, sizeof destination);
    static const uint16_t versions[2] = {SPHINX_VERSION_EXPLICIT_KEYS, SPHINX_VERSION_KEY_SEEDS};

    for (int v = 0; v < 2; v++) {
        /* a full Regular packet, an Ack packet, and an empty message */
        static const size_t lens[3][2] = {{NYM_REGULAR_PACKET_LEN, 2048}, {NYM_ACK_PACKET_LEN, 21},
                                          {NYM_ACK_PACKET_LEN, 0}};
        for (int c = 0; c < 3; c++) {
            size_t len = lens[c][0], msg_len = lens[c][1];
            uint8_t *packet = malloc(len), *msg = malloc(msg_len + 1);
            random_bytes(msg, msg_len);
            CHECK(sphinx_packet_build(packet, len, msg, msg_len, route, 4, destination, delays, versions[v], NULL) == 0);
            sphinx_processed out;
            CHECK(process_route(packet, len, route, delays, &out) == 0);
            CHECK(out.version == versions[v] && out.message_len == msg_len &&
                  memcmp(packet + out.message_offset, msg, msg_len) == 0 &&
                  memcmp(out.destination, destination, 32) == 0);
            free(packet);
            free(msg);
        }
        /* too long a message for the packet */
        uint8_t small[NYM_ACK_PACKET_LEN], msg[22] = {0};
        CHECK(sphinx_packet_build(small, sizeof small, msg, 22, route, 4, destination, delays, versions[v], NULL) ==
              SPHINX_ERR_LENGTH);

        /* a SURB: build, encode, decode, use, and the reply reaches the destination */
        sphinx_surb surb, decoded;
        CHECK(sphinx_surb_build(&surb, route, 4, destination, delays, versions[v], NULL) == 0);
        uint8_t encoded[SPHINX_HEADER_LEN + 32 + 4 * SPHINX_PAYLOAD_KEY_LEN];
        int enc_len = sphinx_surb_encode(&surb, encoded, sizeof encoded);
        CHECK(enc_len == (versions[v] == SPHINX_VERSION_KEY_SEEDS ? 444 : 1148));
        CHECK(sphinx_surb_decode(&decoded, encoded, (size_t)enc_len) == 0 && decoded.hops == 4 &&
              decoded.uses_seeds == (versions[v] == SPHINX_VERSION_KEY_SEEDS));
        uint8_t reply[NYM_REGULAR_PACKET_LEN], text[100];
        random_bytes(text, sizeof text);
        CHECK(sphinx_surb_use(&decoded, reply, sizeof reply, text, sizeof text) == 0);
        sphinx_processed out;
        CHECK(process_route(reply, sizeof reply, route, delays, &out) == 0 && out.message_len == sizeof text &&
              memcmp(reply + out.message_offset, text, sizeof text) == 0);
    }
    /* malformed SURB encodings */
    uint8_t junk[SPHINX_HEADER_LEN + 32 + 200] = {0};
    sphinx_surb surb;
    CHECK(sphinx_surb_decode(&surb, junk, SPHINX_HEADER_LEN + 32) == SPHINX_ERR_LENGTH);
    CHECK(sphinx_surb_decode(&surb, junk, SPHINX_HEADER_LEN + 32 + 17) == SPHINX_ERR_LENGTH);
    CHECK(sphinx_surb_decode(&surb, junk, SPHINX_HEADER_LEN + 32 + 200) == SPHINX_ERR_LENGTH);
    /* a route of 0 or 6 hops is refused */
    sphinx_hop route6[6];
    uint8_t packet[NYM_ACK_PACKET_LEN];
    CHECK(sphinx_packet_build(packet, sizeof packet, NULL, 0, route6, 0, destination, NULL, 259, NULL) ==
          SPHINX_ERR_UNSUPPORTED);
    CHECK(sphinx_packet_build(packet, sizeof packet, NULL, 0, route6, 6, destination, NULL, 259, NULL) ==
          SPHINX_ERR_UNSUPPORTED);
}

/* Flipping any byte of a packet makes the first hop reject it, or makes a
 * later hop or the final payload check fail, or changes only the payload
 * bytes the final recipient then sees as garbage; never a crash. */
void test_sphinx_tamper(void)
{
    sphinx_hop route[4];
    vector_route(route);
    uint64_t delays[4] = {1, 2, 3, 4};
    uint8_t destination[32] = {7}, message[21] = "tamper-evident packet";
    uint8_t original[NYM_ACK_PACKET_LEN], packet[NYM_ACK_PACKET_LEN];
    sphinx_packet_build(original, sizeof original, message, sizeof message, route, 4, destination, delays,
                        SPHINX_VERSION_KEY_SEEDS, NULL);
    unsigned header_rejected = 0, delivered_intact = 0;
    for (size_t i = 0; i < sizeof packet; i++) {
        memcpy(packet, original, sizeof packet);
        packet[i] ^= 0x20;
        sphinx_processed out;
        int err = process_route(packet, sizeof packet, route, delays, &out);
        if (i < SPHINX_HEADER_LEN && err == SPHINX_ERR_MAC) header_rejected++;
        if (err == 0 && out.message_len == sizeof message &&
            memcmp(packet + out.message_offset, message, sizeof message) == 0)
            delivered_intact++;
    }
    /* alpha changes break the MAC too, so every header byte is caught */
    CHECK(header_rejected == SPHINX_HEADER_LEN);
    CHECK(delivered_intact == 0);
    uint8_t secret[32];
    node_secret(secret, 0);
    sphinx_processed out;
    CHECK(sphinx_packet_process(packet, SPHINX_HEADER_LEN + 32, secret, &out) == SPHINX_ERR_LENGTH);
}

void test_sphinx_framing(void)
{
    /* a client frame's plaintext from the live capture (dataplane.json) */
    uint8_t plain[9 + NYM_REGULAR_PACKET_LEN] = {0x00, 0x01, 0x04, 0x06, 0xfd, 0x0a, 0x00, 0x01, 0x01};
    nym_mix_packet mp;
    CHECK(nym_mix_packet_decode(&mp, plain, sizeof plain) == 0);
    CHECK(mp.rotation == NYM_ROTATION_ODD && mp.next_hop.family == 4 && mp.next_hop.port == 1789 &&
          memcmp(mp.next_hop.ip, "\x0a\x00\x01\x01", 4) == 0 && mp.packet == plain + 9 &&
          mp.packet_len == NYM_REGULAR_PACKET_LEN);
    uint8_t again[sizeof plain];
    CHECK(nym_mix_packet_encode(&mp, again, sizeof again) == (int)sizeof plain && memcmp(again, plain, 9) == 0);
    CHECK(nym_mix_packet_decode(&mp, plain, sizeof plain - 1) == SPHINX_ERR_LENGTH);
    plain[2] = 0x05;
    CHECK(nym_mix_packet_decode(&mp, plain, sizeof plain) == SPHINX_ERR_ADDRESS);
    plain[2] = 0x04;
    plain[1] = 3;
    CHECK(nym_mix_packet_decode(&mp, plain, sizeof plain) == SPHINX_ERR_ROUTING);

    nym_node_address v6 = {.family = 6, .port = 443, .ip = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}}, parsed;
    uint8_t buf[32];
    CHECK(nym_node_address_encode_padded(&v6, buf, 32) == 32);
    CHECK_HEX(buf, 19, "0601bb20010db8000000000000000000000001");
    CHECK(nym_node_address_decode(&parsed, buf, 32) == 19 && parsed.family == 6 && parsed.port == 443 &&
          memcmp(parsed.ip, v6.ip, 16) == 0);
    CHECK(nym_node_address_decode(&parsed, buf, 18) == SPHINX_ERR_LENGTH);

    CHECK(nym_key_rotation_of_id(7) == NYM_ROTATION_ODD && nym_key_rotation_of_id(8) == NYM_ROTATION_EVEN &&
          nym_key_rotation_of_id(0) == NYM_ROTATION_UNKNOWN &&
          nym_key_rotation_of_id(UINT32_MAX) == NYM_ROTATION_UNKNOWN);
    CHECK(nym_packet_size_of_len(2413) == NYM_PACKET_REGULAR && nym_packet_size_of_len(386) == NYM_PACKET_ACK &&
          nym_packet_size_of_len(8557) == NYM_PACKET_EXTENDED8 && nym_packet_size_of_len(2412) == 0);

    /* node-to-node frames, both versions, split across reads */
    static uint8_t stream[2 * (4 + NYM_REGULAR_PACKET_LEN)];
    mp.rotation = NYM_ROTATION_EVEN;
    int h1 = nym_frame_header_encode(NYM_FRAME_VERSION_LEGACY, &mp, stream, sizeof stream);
    CHECK(h1 == 3);
    memcpy(stream + 3, plain + 9, NYM_REGULAR_PACKET_LEN);
    size_t second = 3 + NYM_REGULAR_PACKET_LEN;
    int h2 = nym_frame_header_encode(NYM_FRAME_VERSION_CURRENT, &mp, stream + second, sizeof stream - second);
    CHECK(h2 == 4);
    nym_mix_packet got;
    CHECK(nym_frame_decode(&got, stream, 2) == 0);
    CHECK(nym_frame_decode(&got, stream, second - 1) == 0);
    CHECK(nym_frame_decode(&got, stream, sizeof stream) == (int)second && got.rotation == NYM_ROTATION_UNKNOWN &&
          got.packet_len == NYM_REGULAR_PACKET_LEN);
    CHECK(nym_frame_decode(&got, stream + second, 4 + NYM_REGULAR_PACKET_LEN) == 4 + NYM_REGULAR_PACKET_LEN &&
          got.rotation == NYM_ROTATION_EVEN);
    stream[0] = 9;
    CHECK(nym_frame_decode(&got, stream, sizeof stream) == SPHINX_ERR_UNSUPPORTED);
    stream[0] = 7;
    stream[1] = 9;
    CHECK(nym_frame_decode(&got, stream, sizeof stream) == SPHINX_ERR_LENGTH);
}
