/* Sphinx packets (sphinx-packet 0.6.0, versions 258 and 259): per-hop key
 * schedule, header with routing information and filler, LIONESS-layered
 * payload, and processing at a forward or final hop. */
#include "sphinx/sphinx_internal.h"

#include <string.h>

/* HKDF info for the per-hop expansion (97 bytes, no terminator). */
static const char EXPANSION_INFO[] =
    "Dwste mou enan moxlo arketa makru kai ena upomoxlio gia na ton topothetisw kai tha kinisw thn gh.";
static const char PAYLOAD_KEY_SALT[] = "sphinx-payload-key-V01-CS01-HKDF:SHA256-SALT";
static const char PAYLOAD_KEY_INFO[] = "sphinx-payload-key-V01-CS01-HKDF:SHA256-INFO";

#define FLAG_FORWARD_HOP 0x01
#define FLAG_FINAL_HOP 0x02
#define VERSION_FIELD_LEN 3
#define DELAY_LEN 8
/* one hop's slot in the routing information: flag, version, address, delay, MAC */
#define HOP_SLOT_LEN 60
#define STREAM_LEN (SPHINX_ROUTING_INFO_LEN + HOP_SLOT_LEN)
#define TRUNCATED_ROUTING_INFO_LEN (SPHINX_ROUTING_INFO_LEN - HOP_SLOT_LEN)
#define FINAL_META_LEN (1 + VERSION_FIELD_LEN + SPHINX_DESTINATION_LEN + SPHINX_IDENTIFIER_LEN)

static const uint8_t ZERO_IV[AES_BLOCK_LEN];

/* The first len bytes: HKDF gives the same prefix whatever the length. */
static void expand_shared_secret(uint8_t *expanded, size_t len, const uint8_t shared_secret[32])
{
    hkdf_sha256(expanded, len, NULL, 0, shared_secret, 32, (const uint8_t *)EXPANSION_INFO, sizeof EXPANSION_INFO - 1);
}

void sphinx_expand_shared_secret(uint8_t expanded[SPHINX_EXPANDED_SECRET_LEN], const uint8_t shared_secret[32])
{
    expand_shared_secret(expanded, SPHINX_EXPANDED_SECRET_LEN, shared_secret);
}

static bool is_legacy_version(uint16_t version)
{
    return version == 1 || version == 257;
}

/* Versions up to 258 carry the full key; every later value derives it from a seed. */
static bool uses_key_seeds(uint16_t version)
{
    return !(is_legacy_version(version) || version == SPHINX_VERSION_EXPLICIT_KEYS);
}

void sphinx_payload_key_from_seed(uint8_t key[SPHINX_PAYLOAD_KEY_LEN], const uint8_t seed[SPHINX_PAYLOAD_SEED_LEN])
{
    hkdf_sha256(key, SPHINX_PAYLOAD_KEY_LEN, (const uint8_t *)PAYLOAD_KEY_SALT, sizeof PAYLOAD_KEY_SALT - 1, seed,
                SPHINX_PAYLOAD_SEED_LEN, (const uint8_t *)PAYLOAD_KEY_INFO, sizeof PAYLOAD_KEY_INFO - 1);
}

void sphinx_payload_key_of_hop(uint8_t key[SPHINX_PAYLOAD_KEY_LEN], const hop_secrets *hop, uint16_t version)
{
    if (uses_key_seeds(version))
        sphinx_payload_key_from_seed(key, hop->expanded + EXPANDED_PAYLOAD_KEY);
    else
        memcpy(key, hop->expanded + EXPANDED_PAYLOAD_KEY, SPHINX_PAYLOAD_KEY_LEN);
}

/* How much of a hop's expanded secret its sender needs: not the replay tag,
 * which is the hop's own, and at the last hop, which blinds nothing further,
 * nothing after the payload key or its seed. */
static size_t sender_secret_len(bool last_hop, uint16_t version)
{
    if (!last_hop) return EXPANDED_REPLAY_TAG;
    return EXPANDED_PAYLOAD_KEY + (uses_key_seeds(version) ? SPHINX_PAYLOAD_SEED_LEN : SPHINX_PAYLOAD_KEY_LEN);
}

int sphinx_derive_route_secrets(hop_secrets *hops, uint8_t alpha[SPHINX_ALPHA_LEN], const sphinx_hop *route,
                                size_t hop_count, uint16_t version, const uint8_t *initial_secret)
{
    if (hop_count < 1 || hop_count > SPHINX_MAX_HOPS) return SPHINX_ERR_UNSUPPORTED;
    /* the initial secret, then each hop's blinding factor, applied in order */
    uint8_t factors[SPHINX_MAX_HOPS + 1][32];
    if (initial_secret)
        memcpy(factors[0], initial_secret, 32);
    else
        random_bytes(factors[0], 32);
    x25519_public_key(alpha, factors[0]);
    for (size_t i = 0; i < hop_count; i++) {
        uint8_t shared[32];
        /* the last hop is a gateway, the same for many packets; mix nodes
         * recur too where there are few of them */
        x25519_chain_recurring(shared, (const uint8_t(*)[32])factors, i + 1, route[i].public_key);
        size_t len = sender_secret_len(i == hop_count - 1, version);
        expand_shared_secret(hops[i].expanded, len, shared);
        memset(hops[i].expanded + len, 0, SPHINX_EXPANDED_SECRET_LEN - len);
        memcpy(factors[i + 1], hops[i].expanded + EXPANDED_BLINDING_FACTOR, 32);
        secure_zero(shared, sizeof shared);
    }
    secure_zero(factors, sizeof factors);
    return 0;
}

static void encode_version(uint8_t out[VERSION_FIELD_LEN], uint16_t version)
{
    out[0] = 0;
    out[1] = (uint8_t)(version >> 8);
    out[2] = (uint8_t)version;
}

static void xor_keystream(uint8_t *data, size_t len, const hop_secrets *hop)
{
    aes128_ctr64be_xor(data, len, hop->expanded + EXPANDED_STREAM_KEY, ZERO_IV);
}

static void header_mac(uint8_t mac[SPHINX_MAC_LEN], const hop_secrets *hop, const uint8_t *routing_info)
{
    uint8_t full[SHA256_LEN];
    hmac_sha256(full, hop->expanded + EXPANDED_MAC_KEY, 16, routing_info, SPHINX_ROUTING_INFO_LEN);
    memcpy(mac, full, SPHINX_MAC_LEN);
}

int sphinx_header_build(uint8_t header[SPHINX_HEADER_LEN], const hop_secrets *hops, const sphinx_hop *route,
                        size_t hop_count, const uint8_t destination[SPHINX_DESTINATION_LEN],
                        const uint64_t *delays_ns, uint16_t version)
{
    if (hop_count < 1 || hop_count > SPHINX_MAX_HOPS) return SPHINX_ERR_UNSUPPORTED;
    size_t filler_len = HOP_SLOT_LEN * (hop_count - 1);
    size_t final_len = SPHINX_ROUTING_INFO_LEN - filler_len;

    /* each hop's keystream, used for both the filler and its routing slot */
    uint8_t streams[SPHINX_MAX_HOPS][STREAM_LEN];
    for (size_t i = 0; i < hop_count; i++) {
        memset(streams[i], 0, STREAM_LEN);
        xor_keystream(streams[i], STREAM_LEN, &hops[i]);
    }

    /* filler: what the earlier hops' decryption shifts into the tail */
    uint8_t filler[SPHINX_ROUTING_INFO_LEN] = {0};
    for (size_t i = 1; i < hop_count; i++)
        for (size_t b = 0; b < HOP_SLOT_LEN * i; b++) filler[b] ^= streams[i - 1][STREAM_LEN - HOP_SLOT_LEN * i + b];

    uint8_t beta[SPHINX_ROUTING_INFO_LEN], gamma[SPHINX_MAC_LEN];
    const hop_secrets *last = &hops[hop_count - 1];
    beta[0] = FLAG_FINAL_HOP;
    encode_version(beta + 1, version);
    memcpy(beta + 4, destination, SPHINX_DESTINATION_LEN);
    memset(beta + 4 + SPHINX_DESTINATION_LEN, 0, SPHINX_IDENTIFIER_LEN);
    random_bytes(beta + FINAL_META_LEN, final_len - FINAL_META_LEN);
    for (size_t b = 0; b < final_len; b++) beta[b] ^= streams[hop_count - 1][b];
    memcpy(beta + final_len, filler, filler_len);
    header_mac(gamma, last, beta);

    for (size_t i = hop_count - 1; i-- > 0;) {
        uint8_t slot[SPHINX_ROUTING_INFO_LEN];
        slot[0] = FLAG_FORWARD_HOP;
        encode_version(slot + 1, version);
        memcpy(slot + 4, route[i + 1].address, SPHINX_NODE_ADDRESS_LEN);
        uint64_t delay = delays_ns ? delays_ns[i] : 0;
        for (int b = 0; b < DELAY_LEN; b++) slot[36 + b] = (uint8_t)(delay >> (56 - 8 * b));
        memcpy(slot + 44, gamma, SPHINX_MAC_LEN);
        memcpy(slot + HOP_SLOT_LEN, beta, TRUNCATED_ROUTING_INFO_LEN);
        for (size_t b = 0; b < SPHINX_ROUTING_INFO_LEN; b++) beta[b] = slot[b] ^ streams[i][b];
        header_mac(gamma, &hops[i], beta);
    }
    secure_zero(streams, sizeof streams);
    memcpy(header + SPHINX_ALPHA_LEN, gamma, SPHINX_MAC_LEN);
    memcpy(header + SPHINX_ALPHA_LEN + SPHINX_MAC_LEN, beta, SPHINX_ROUTING_INFO_LEN);
    return 0;
}

int sphinx_payload_encrypt(uint8_t *payload, size_t payload_len, const uint8_t *message, size_t message_len,
                           const uint8_t (*keys)[SPHINX_PAYLOAD_KEY_LEN], size_t hop_count)
{
    if (payload_len < LIONESS_MIN_BLOCK_LEN || message_len > payload_len - SPHINX_PAYLOAD_OVERHEAD)
        return SPHINX_ERR_LENGTH;
    memset(payload, 0, 16);
    memmove(payload + 16, message, message_len);
    payload[16 + message_len] = 0x01;
    memset(payload + 17 + message_len, 0, payload_len - SPHINX_PAYLOAD_OVERHEAD - message_len);
    /* the innermost layer belongs to the last hop */
    for (size_t i = hop_count; i-- > 0;) lioness_encrypt(payload, payload_len, keys[i]);
    return 0;
}

int sphinx_packet_build(uint8_t *packet, size_t packet_len, const uint8_t *message, size_t message_len,
                        const sphinx_hop *route, size_t hops, const uint8_t destination[SPHINX_DESTINATION_LEN],
                        const uint64_t *delays_ns, uint16_t version, const uint8_t *initial_secret)
{
    if (packet_len < SPHINX_HEADER_LEN + LIONESS_MIN_BLOCK_LEN) return SPHINX_ERR_LENGTH;
    if (is_legacy_version(version)) return SPHINX_ERR_UNSUPPORTED;
    hop_secrets secrets[SPHINX_MAX_HOPS];
    int err = sphinx_derive_route_secrets(secrets, packet, route, hops, version, initial_secret);
    if (err) return err;
    err = sphinx_header_build(packet, secrets, route, hops, destination, delays_ns, version);
    uint8_t keys[SPHINX_MAX_HOPS][SPHINX_PAYLOAD_KEY_LEN];
    for (size_t i = 0; i < hops; i++) sphinx_payload_key_of_hop(keys[i], &secrets[i], version);
    if (!err)
        err = sphinx_payload_encrypt(packet + SPHINX_HEADER_LEN, packet_len - SPHINX_HEADER_LEN, message, message_len,
                                     (const uint8_t(*)[SPHINX_PAYLOAD_KEY_LEN])keys, hops);
    secure_zero(secrets, sizeof secrets);
    secure_zero(keys, sizeof keys);
    return err;
}

/* The message is what lies between the 16 zero bytes and the last 0x01. */
static int payload_recover(const uint8_t *payload, size_t payload_len, size_t *message_len)
{
    static const uint8_t zeros[16];
    if (payload_len < SPHINX_PAYLOAD_OVERHEAD || !ct_equal(payload, zeros, 16)) return SPHINX_ERR_PAYLOAD;
    for (size_t i = payload_len; i-- > 16;) {
        if (payload[i] == 0x01) {
            *message_len = i - 16;
            return 0;
        }
    }
    return SPHINX_ERR_PAYLOAD;
}

int sphinx_packet_process(uint8_t *packet, size_t packet_len, const uint8_t node_secret[32],
                          sphinx_processed *result)
{
    if (packet_len < SPHINX_HEADER_LEN + LIONESS_MIN_BLOCK_LEN) return SPHINX_ERR_LENGTH;
    uint8_t *alpha = packet, *gamma = packet + SPHINX_ALPHA_LEN, *beta = gamma + SPHINX_MAC_LEN;
    uint8_t *payload = packet + SPHINX_HEADER_LEN;
    size_t payload_len = packet_len - SPHINX_HEADER_LEN;

    hop_secrets hop;
    uint8_t shared[32];
    x25519(shared, node_secret, alpha);
    sphinx_expand_shared_secret(hop.expanded, shared);
    secure_zero(shared, sizeof shared);

    int err = 0;
    uint8_t expected_mac[SPHINX_MAC_LEN];
    header_mac(expected_mac, &hop, beta);
    if (!ct_equal(expected_mac, gamma, SPHINX_MAC_LEN)) {
        err = SPHINX_ERR_MAC;
        goto done;
    }

    uint8_t routing[STREAM_LEN] = {0};
    memcpy(routing, beta, SPHINX_ROUTING_INFO_LEN);
    xor_keystream(routing, sizeof routing, &hop);
    result->version = (uint16_t)(routing[2] << 8 | routing[3]);
    if (is_legacy_version(result->version)) {
        err = SPHINX_ERR_UNSUPPORTED;
        goto done;
    }
    memcpy(result->replay_tag, hop.expanded + EXPANDED_REPLAY_TAG, SPHINX_REPLAY_TAG_LEN);

    uint8_t payload_key[SPHINX_PAYLOAD_KEY_LEN];
    sphinx_payload_key_of_hop(payload_key, &hop, result->version);
    lioness_decrypt(payload, payload_len, payload_key);
    secure_zero(payload_key, sizeof payload_key);

    if (routing[0] == FLAG_FORWARD_HOP) {
        result->kind = SPHINX_HOP_FORWARD;
        memcpy(result->next_address, routing + 4, SPHINX_NODE_ADDRESS_LEN);
        result->delay_ns = 0;
        for (int b = 0; b < DELAY_LEN; b++) result->delay_ns = result->delay_ns << 8 | routing[36 + b];
        x25519(alpha, hop.expanded + EXPANDED_BLINDING_FACTOR, alpha);
        memcpy(gamma, routing + 44, SPHINX_MAC_LEN);
        memcpy(beta, routing + HOP_SLOT_LEN, SPHINX_ROUTING_INFO_LEN);
    } else if (routing[0] == FLAG_FINAL_HOP) {
        result->kind = SPHINX_HOP_FINAL;
        memcpy(result->destination, routing + 4, SPHINX_DESTINATION_LEN);
        memcpy(result->identifier, routing + 4 + SPHINX_DESTINATION_LEN, SPHINX_IDENTIFIER_LEN);
        err = payload_recover(payload, payload_len, &result->message_len);
        result->message_offset = SPHINX_HEADER_LEN + 16;
    } else {
        err = SPHINX_ERR_ROUTING;
    }
    secure_zero(routing, sizeof routing);
done:
    secure_zero(&hop, sizeof hop);
    return err;
}
