/* The message layer against what the published client sent and accepted:
 * the IPR's address, the messages it received (decrypt, reassemble,
 * un-pad, parse), its reply through a SURB, and node-side processing of
 * captured packets. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mixnet/mixnet.h"
#include "mixnet_vectors.h"

static void hex32(uint8_t out[32], const char *hex)
{
    hex_decode(out, 32, hex);
}

void test_mixnet_address(void)
{
    mixnet_recipient r;
    const char *text = vector_ipr_address;
    CHECK(mixnet_recipient_parse(&r, text, strlen(text)) == 0);
    CHECK_HEX(r.identity, 32, vector_ipr_identity_hex);
    CHECK_HEX(r.encryption_key, 32, vector_ipr_encryption_public_hex);
    CHECK_HEX(r.gateway, 32, vector_ipr_gateway_hex);

    char formatted[MIXNET_RECIPIENT_TEXT_MAX];
    int n = mixnet_recipient_format(&r, formatted, sizeof formatted);
    CHECK(n == (int)strlen(text) && strcmp(formatted, text) == 0);
    CHECK(mixnet_recipient_format(&r, formatted, 20) < 0);

    uint8_t bytes[MIXNET_RECIPIENT_LEN];
    mixnet_recipient back;
    mixnet_recipient_encode(&r, bytes);
    CHECK(memcmp(bytes, r.identity, 32) == 0 && memcmp(bytes + 64, r.gateway, 32) == 0);
    mixnet_recipient_decode(&back, bytes);
    CHECK(memcmp(&back, &r, sizeof r) == 0);

    /* keys with leading zero bytes come out with leading '1's and back */
    mixnet_recipient zeros;
    memset(&zeros, 0, sizeof zeros);
    zeros.identity[31] = 1;
    memset(zeros.gateway, 0xff, 32);
    n = mixnet_recipient_format(&zeros, formatted, sizeof formatted);
    CHECK(n > 0 && strncmp(formatted, "1111111111111111111111111111111", 31) == 0);
    CHECK(mixnet_recipient_parse(&back, formatted, (size_t)n) == 0 && memcmp(&back, &zeros, sizeof zeros) == 0);

    /* exactly one '.', one '@', three 32-byte keys */
    static const char *const bad[] = {
        "", "@", ".@", "abc", "9sEbzhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC6FP@APyoQtsx7TV8FKdhiUy5bgPzMDPjzhMpguQsjDuiE2bS",
        "9sEbzhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC6FP.CbWt66kChGRyrqssZgeciyTKMadfBppXPGVZKHZzMU3q",
        "9sEbzhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC6FP.CbWt66kChGRyrqssZgeciyTKMadfBppXPGVZKHZzMU3q@@APyoQtsx7TV8FKdhiU",
        "9sEb.zhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC6FP.CbWt66kChGRyrqssZgeciyTKMadfBppXPGVZKHZzMU3q@APyoQtsx7TV8FKdhiUy5bg",
        /* 0, O, I and l are not base58 */
        "0sEbzhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC6FP.CbWt66kChGRyrqssZgeciyTKMadfBppXPGVZKHZzMU3q@APyoQtsx7TV8FKdhiUy5bgPzMDPjzhMpguQsjDuiE2bS",
        /* keys of 33 and 31 bytes */
        "9sEbzhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC6FPzz.CbWt66kChGRyrqssZgeciyTKMadfBppXPGVZKHZzMU3q@APyoQtsx7TV8FKdhiUy5bgPzMDPjzhMpguQsjDuiE2bS",
        "9sEbzhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC.CbWt66kChGRyrqssZgeciyTKMadfBppXPGVZKHZzMU3q@APyoQtsx7TV8FKdhiUy5bgPzMDPjzhMpguQsjDuiE2bS",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK(mixnet_recipient_parse(&back, bad[i], strlen(bad[i])) < 0);
    /* parsing stops at len: one character less is another gateway key */
    CHECK(mixnet_recipient_parse(&back, text, strlen(text) - 1) == 0 && memcmp(back.gateway, r.gateway, 32) != 0);
}

/* Decrypts pushed fragment i with the IPR's key and parses it; the fragment
 * stays valid while *buf lives. */
static bool pushed_fragment_open(size_t i, uint8_t **buf, mixnet_fragment *f)
{
    const vector_pushed_fragment *v = &vector_pushed_fragments[i];
    size_t len;
    *buf = hex_alloc(v->message_hex, &len);
    uint8_t secret[32], key[AES128_KEY_LEN];
    hex32(secret, vector_ipr_encryption_secret_hex);
    mixnet_e2e_key(key, secret, *buf);
    CHECK_HEX(key, sizeof key, v->e2e_key_hex);
    bool ok = CHECK(len == MIXNET_PUSHED_MESSAGE_LEN) && CHECK(mixnet_pushed_open_regular(*buf, len, secret) == 0) &&
              CHECK(!mixnet_is_cover(*buf + 32, len - 32)) &&
              CHECK(mixnet_fragment_parse(f, *buf + 32, len - 32) == 0);
    return ok && CHECK(f->set_id == v->set_id && f->total == v->total && f->position == v->position &&
                       f->previous_set_id == 0 && f->next_set_id == 0 &&
                       f->chunk_len == MIXNET_FRAGMENT_LEN - MIXNET_UNLINKED_HEADER_LEN);
}

/* Un-pads a reassembled message and checks it and its parse against vector r. */
static void reassembled_check(const uint8_t *padded, size_t padded_len, const vector_reassembled *r)
{
    size_t len;
    CHECK(padded_len == r->padded_len);
    if (!CHECK(mixnet_unpad(padded, padded_len, &len) == 0)) return;
    CHECK_HEX(padded, len, r->nym_message_hex);
    bool zeros = true;
    for (size_t i = len + 1; i < padded_len; i++) zeros = zeros && padded[i] == 0;
    CHECK(padded[len] == 0x01 && zeros);

    mixnet_message m;
    if (!CHECK(mixnet_message_parse(&m, padded, len) == 0)) return;
    CHECK(m.type == MIXNET_MESSAGE_REPLIABLE && m.content == MIXNET_REPLIABLE_DATA_V2);
    CHECK_HEX(m.sender_tag, sizeof m.sender_tag, r->sender_tag_hex);
    CHECK(m.surbs.count == r->surb_count && m.surbs.hops == 4 && m.surbs.rotation == r->surb_rotation);
    CHECK(m.surbs.surb_len == 460 && m.surbs.surb_len == MIXNET_REPLY_SURB_LEN(4));
    CHECK(m.surbs.surbs == padded + 1 + 16 + 1 + 4);
    CHECK_HEX(m.data, m.data_len, r->data_hex);
    /* every SURB: 4 seeds, a first hop at the layer-1 mix 10.0.1.1:1789 */
    for (size_t i = 0; i < m.surbs.count; i++) {
        mixnet_reply_surb s;
        nym_node_address first_hop;
        CHECK(mixnet_reply_surb_decode(&s, m.surbs.surbs + i * 460, 460) == 0);
        CHECK(s.surb.hops == 4 && s.surb.uses_seeds);
        CHECK(nym_node_address_decode(&first_hop, s.surb.first_hop, 32) == 7);
        CHECK(first_hop.family == 4 && first_hop.port == 1789 && memcmp(first_hop.ip, "\x0a\x00\x01\x01", 4) == 0);
    }
}

void test_mixnet_received_vectors(void)
{
    uint8_t *bufs[VECTOR_PUSHED_FRAGMENTS];
    mixnet_fragment frags[VECTOR_PUSHED_FRAGMENTS];
    bool opened = true;
    for (size_t i = 0; i < VECTOR_PUSHED_FRAGMENTS; i++) opened = pushed_fragment_open(i, &bufs[i], &frags[i]) && opened;
    if (opened) {
        mixnet_reassembler *r = mixnet_reassembler_create(1 << 20);
        uint8_t *msg = NULL;
        size_t msg_len = 0;
        /* the 3-fragment set out of order and with a duplicate, the 1-fragment set in between */
        CHECK(mixnet_reassembler_insert(r, &frags[2], 1, &msg, &msg_len) == MIXNET_FRAGMENT_STORED);
        CHECK(mixnet_reassembler_insert(r, &frags[0], 2, &msg, &msg_len) == MIXNET_FRAGMENT_STORED);
        CHECK(mixnet_reassembler_insert(r, &frags[2], 3, &msg, &msg_len) == MIXNET_FRAGMENT_DUPLICATE);
        CHECK(mixnet_reassembler_insert(r, &frags[3], 4, &msg, &msg_len) == MIXNET_FRAGMENT_COMPLETED);
        reassembled_check(msg, msg_len, &vector_reassembled_messages[1]);
        free(msg);
        CHECK(mixnet_reassembler_insert(r, &frags[1], 5, &msg, &msg_len) == MIXNET_FRAGMENT_COMPLETED);
        reassembled_check(msg, msg_len, &vector_reassembled_messages[0]);
        free(msg);
        /* a retransmitted copy of a completed set is dropped */
        CHECK(mixnet_reassembler_insert(r, &frags[0], 6, &msg, &msg_len) == MIXNET_FRAGMENT_DUPLICATE);
        CHECK(mixnet_reassembler_buffered_bytes(r) == 0);
        mixnet_reassembler_destroy(r);
    }
    for (size_t i = 0; i < VECTOR_PUSHED_FRAGMENTS; i++) free(bufs[i]);

    /* the third message, whose fragment was not captured: pad it as the client did */
    const vector_reassembled *third = &vector_reassembled_messages[2];
    size_t len;
    uint8_t *nym = hex_alloc(third->nym_message_hex, &len);
    size_t padded_len = mixnet_padded_len(len, MIXNET_FRAGMENT_LEN);
    uint8_t *padded = malloc(padded_len);
    memcpy(padded, nym, len);
    mixnet_pad(padded, len, padded_len);
    CHECK(mixnet_fragment_count(padded_len, MIXNET_FRAGMENT_LEN) == third->fragments);
    reassembled_check(padded, padded_len, third);
    free(padded);
    free(nym);
}

/* Builds the IPR's Connect reply: message, padding, fragment, NymPayload
 * and, through the SURB, the whole packet; then opens it as the client. */
static void ipr_reply_check(const vector_ipr_reply *v)
{
    size_t lp_len, surb_len;
    uint8_t *lp = hex_alloc(v->lp_frame_hex, &lp_len);
    uint8_t *surb_bytes = hex_alloc(v->reply_surb_hex, &surb_len);

    mixnet_message reply = {.type = MIXNET_MESSAGE_REPLY, .content = MIXNET_REPLY_DATA, .data = lp, .data_len = lp_len};
    size_t len = mixnet_message_encoded_len(&reply);
    CHECK(len == lp_len + 2);
    size_t padded_len = mixnet_padded_len(len, MIXNET_FRAGMENT_LEN);
    CHECK(padded_len == MIXNET_FRAGMENT_LEN - MIXNET_UNLINKED_HEADER_LEN);
    uint8_t padded[MIXNET_FRAGMENT_LEN];
    CHECK(mixnet_message_encode(&reply, padded, sizeof padded) == (int)len);
    CHECK(padded[0] == 2 && padded[1] == 0 && memcmp(padded + 2, lp, lp_len) == 0);
    mixnet_pad(padded, len, padded_len);

    uint8_t fragment[MIXNET_FRAGMENT_LEN];
    CHECK(mixnet_fragment_build(fragment, sizeof fragment, padded, padded_len, MIXNET_FRAGMENT_LEN, &v->set_id, 0,
                                NULL) == MIXNET_FRAGMENT_LEN);

    mixnet_reply_surb surb;
    CHECK(surb_len == 460 && mixnet_reply_surb_decode(&surb, surb_bytes, surb_len) == 0);
    uint8_t zero_ack[MIXNET_SURB_ACK_LEN] = {0};
    uint8_t payload[MIXNET_PAYLOAD_LEN];
    CHECK(mixnet_payload_build_reply(payload, sizeof payload, zero_ack, surb.key, fragment, sizeof fragment) == 0);
    CHECK(memcmp(payload, zero_ack, sizeof zero_ack) == 0);
    CHECK_HEX(payload + MIXNET_SURB_ACK_LEN, MIXNET_PUSHED_MESSAGE_LEN, v->payload_after_ack_hex);

    uint8_t packet[NYM_REGULAR_PACKET_LEN];
    CHECK(sphinx_surb_use(&surb.surb, packet, sizeof packet, payload, sizeof payload) == 0);
    CHECK_HEX(packet, sizeof packet, v->sphinx_packet_hex);
    CHECK_HEX(surb.surb.first_hop, 7, v->first_hop_hex);

    /* the original sender finds the key by the digest and gets the fragment back */
    mixnet_reply_keys *keys = mixnet_reply_keys_create();
    uint8_t other_key[MIXNET_SURB_KEY_LEN] = {1}, found[MIXNET_SURB_KEY_LEN];
    mixnet_reply_keys_insert(keys, other_key, 0);
    mixnet_reply_keys_insert(keys, surb.key, 0);
    uint8_t *pushed = payload + MIXNET_SURB_ACK_LEN;
    CHECK(mixnet_reply_keys_take(keys, pushed, found) && memcmp(found, surb.key, sizeof found) == 0);
    CHECK(!mixnet_reply_keys_take(keys, pushed, found) && mixnet_reply_keys_count(keys) == 1);
    CHECK(mixnet_pushed_open_reply(pushed, MIXNET_PUSHED_MESSAGE_LEN, found) == 0);
    CHECK(memcmp(pushed + 32, fragment, sizeof fragment) == 0);
    mixnet_reply_keys_destroy(keys);
    free(lp);
    free(surb_bytes);
}

void test_mixnet_ipr_reply(void)
{
    for (size_t i = 0; i < VECTOR_IPR_REPLIES; i++) ipr_reply_check(&vector_ipr_replies[i]);
}

/* Runs a captured packet through the four nodes; returns the final hop's
 * result, pointing into packet. */
static bool journey_run(const vector_journey *j, uint8_t *packet, size_t len, mixnet_node_result *final_hop)
{
    for (size_t hop = 0; hop < VECTOR_ROUTE_HOPS; hop++) {
        uint8_t secret[32];
        hex32(secret, vector_node_secrets_hex[hop]);
        mixnet_node_result r;
        if (!CHECK(mixnet_node_process(&r, packet, len, secret, NYM_PACKET_TYPE_SPHINX, NYM_ROTATION_ODD) == 0))
            return false;
        if (hop == VECTOR_ROUTE_HOPS - 1) {
            CHECK(r.kind == SPHINX_HOP_FINAL);
            CHECK_HEX(r.destination, 32, j->destination_hex);
            *final_hop = r;
            return true;
        }
        const vector_forward_hop *expected = &j->hops[hop];
        uint8_t next[NYM_NODE_ADDRESS_MAX_LEN];
        CHECK(r.kind == SPHINX_HOP_FORWARD && r.delay_ns == expected->delay_ns);
        CHECK(nym_node_address_encode(&r.forward.next_hop, next, sizeof next) == 7);
        CHECK_HEX(next, 7, expected->next_hop_hex);
        CHECK(r.forward.packet == packet && r.forward.packet_len == len);
        CHECK(r.forward.rotation == NYM_ROTATION_ODD && r.forward.packet_type == NYM_PACKET_TYPE_SPHINX);
        if (expected->replay_tag_hex) CHECK_HEX(r.replay_tag, 32, expected->replay_tag_hex);
    }
    return false;
}

/* A packet's journey ends at the gateway with its SURB-ack split off; the
 * ack then makes its own journey back to the sender. */
static void journey_with_ack_check(const vector_journey *packet_journey, const vector_journey *ack_journey,
                                   const char *expected_message_hex)
{
    size_t len, ack_len;
    uint8_t *packet = hex_alloc(packet_journey->packet_hex, &len);
    uint8_t *ack_expected = hex_alloc(ack_journey->packet_hex, &ack_len);
    mixnet_node_result r;
    if (journey_run(packet_journey, packet, len, &r)) {
        CHECK(r.has_ack && r.client_message_len == MIXNET_PUSHED_MESSAGE_LEN);
        if (expected_message_hex) CHECK_HEX(r.client_message, r.client_message_len, expected_message_hex);
        uint8_t first_hop[7];
        CHECK(nym_node_address_encode(&r.ack.next_hop, first_hop, sizeof first_hop) == 7);
        CHECK_HEX(first_hop, 7, vector_node_addresses_hex[0]);
        CHECK(r.ack.rotation == NYM_ROTATION_ODD && r.ack.packet_len == NYM_ACK_PACKET_LEN);
        CHECK(r.ack.packet_len == ack_len && memcmp(r.ack.packet, ack_expected, ack_len) == 0);

        uint8_t ack_packet[NYM_ACK_PACKET_LEN];
        memcpy(ack_packet, r.ack.packet, sizeof ack_packet);
        mixnet_node_result ack_result;
        if (journey_run(ack_journey, ack_packet, sizeof ack_packet, &ack_result)) {
            CHECK(!ack_result.has_ack && ack_result.client_message_len == MIXNET_ACK_LEN);
            if (packet_journey == &vector_packet_to_ipr)
                CHECK_HEX(ack_result.client_message, MIXNET_ACK_LEN, vector_ack_of_packet_to_ipr_plaintext_hex);
        }
    }
    free(packet);
    free(ack_expected);
}

void test_mixnet_node(void)
{
    journey_with_ack_check(&vector_packet_to_ipr, &vector_ack_of_packet_to_ipr, vector_pushed_fragments[0].message_hex);
    /* a v258 loop cover back to the browser client; its ack likewise */
    journey_with_ack_check(&vector_loop_cover, &vector_ack_of_loop_cover, NULL);

    /* damage anywhere in the header is caught at the first hop; in the
     * payload, at the last, when the plaintext does not unwrap */
    size_t len;
    uint8_t *clean = hex_alloc(vector_packet_to_ipr.packet_hex, &len);
    uint8_t *packet = malloc(len);
    uint8_t secrets[VECTOR_ROUTE_HOPS][32];
    for (size_t i = 0; i < VECTOR_ROUTE_HOPS; i++) hex32(secrets[i], vector_node_secrets_hex[i]);
    static const size_t offsets[] = {0, 31, 32, 47, 48, 200, 347, 348, 1000, 2412};
    for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        memcpy(packet, clean, len);
        packet[offsets[k]] ^= 0x40;
        mixnet_node_result r;
        int err = 0;
        for (size_t hop = 0; hop < VECTOR_ROUTE_HOPS && err == 0; hop++)
            err = mixnet_node_process(&r, packet, len, secrets[hop], NYM_PACKET_TYPE_SPHINX, NYM_ROTATION_ODD);
        CHECK(err < 0);
    }
    /* sizes that are no packet class */
    mixnet_node_result r;
    CHECK(mixnet_node_process(&r, clean, len - 1, secrets[0], 0, NYM_ROTATION_ODD) == MIXNET_ERR_LENGTH);
    CHECK(mixnet_node_process(&r, clean, 0, secrets[0], 0, NYM_ROTATION_ODD) == MIXNET_ERR_LENGTH);

    /* a packet whose SURB-ack field does not start with a node address is dropped whole */
    sphinx_hop route[VECTOR_ROUTE_HOPS];
    for (size_t i = 0; i < VECTOR_ROUTE_HOPS; i++) {
        memset(route[i].address, 0, sizeof route[i].address);
        hex_decode(route[i].address, sizeof route[i].address, vector_node_addresses_hex[i]);
        hex32(route[i].public_key, vector_node_publics_hex[i]);
    }
    uint8_t destination[32], payload[MIXNET_PAYLOAD_LEN] = {0};
    static const uint64_t delays[VECTOR_ROUTE_HOPS] = {1, 2, 3, 4};
    hex32(destination, vector_client_identity_hex);
    CHECK(sphinx_packet_build(packet, len, payload, sizeof payload, route, VECTOR_ROUTE_HOPS, destination, delays,
                              SPHINX_VERSION_KEY_SEEDS, NULL) == 0);
    int err = 0;
    for (size_t hop = 0; hop < VECTOR_ROUTE_HOPS - 1 && err == 0; hop++)
        err = mixnet_node_process(&r, packet, len, secrets[hop], 0, NYM_ROTATION_EVEN);
    CHECK(err == 0 && r.delay_ns == 3);
    CHECK(mixnet_node_process(&r, packet, len, secrets[3], 0, NYM_ROTATION_EVEN) == MIXNET_ERR_MALFORMED);
    free(packet);
    free(clean);
}
