/* What a Sphinx packet of the message layer carries: end-to-end encrypted
 * fragments behind a SURB-ack, acknowledgements, and the random choices
 * (routes, delays) that go into building packets. */
#include "mixnet/mixnet.h"

#include <string.h>

static const uint8_t COVER_TEXT[] = "The cake is a lie!";
#define COVER_TEXT_LEN (sizeof COVER_TEXT - 1)

static const uint8_t ZERO_IV[AES_BLOCK_LEN];

void mixnet_e2e_key(uint8_t key[AES128_KEY_LEN], const uint8_t own_secret[MIXNET_KEY_LEN],
                    const uint8_t peer_public[MIXNET_KEY_LEN])
{
    uint8_t shared[X25519_KEY_LEN];
    x25519(shared, own_secret, peer_public);
    hkdf_blake3(key, AES128_KEY_LEN, NULL, 0, shared, sizeof shared, NULL, 0);
    secure_zero(shared, sizeof shared);
}

void mixnet_surb_key_digest(uint8_t digest[BLAKE3_LEN], const uint8_t key[MIXNET_SURB_KEY_LEN])
{
    blake3_hash(digest, key, MIXNET_SURB_KEY_LEN);
}

/* SURB-ack ‖ key field ‖ the body, encrypted under aes_key */
static int payload_assemble(uint8_t *payload, size_t payload_len, const uint8_t surb_ack[MIXNET_SURB_ACK_LEN],
                            const uint8_t key_field[MIXNET_KEY_LEN], const uint8_t aes_key[AES128_KEY_LEN],
                            const uint8_t *body, size_t body_len)
{
    if (payload_len != body_len + MIXNET_PAYLOAD_OVERHEAD) return MIXNET_ERR_LENGTH;
    memmove(payload + MIXNET_PAYLOAD_OVERHEAD, body, body_len);
    memcpy(payload, surb_ack, MIXNET_SURB_ACK_LEN);
    memcpy(payload + MIXNET_SURB_ACK_LEN, key_field, MIXNET_KEY_LEN);
    aes128_ctr64be_xor(payload + MIXNET_PAYLOAD_OVERHEAD, body_len, aes_key, ZERO_IV);
    return 0;
}

static int payload_to_key(uint8_t *payload, size_t payload_len, const uint8_t surb_ack[MIXNET_SURB_ACK_LEN],
                          const uint8_t recipient_key[MIXNET_KEY_LEN], const uint8_t *body, size_t body_len)
{
    uint8_t ephemeral_secret[X25519_KEY_LEN], ephemeral_public[X25519_KEY_LEN], key[AES128_KEY_LEN];
    random_bytes(ephemeral_secret, sizeof ephemeral_secret);
    x25519_public_key(ephemeral_public, ephemeral_secret);
    mixnet_e2e_key(key, ephemeral_secret, recipient_key);
    int err = payload_assemble(payload, payload_len, surb_ack, ephemeral_public, key, body, body_len);
    secure_zero(ephemeral_secret, sizeof ephemeral_secret);
    secure_zero(key, sizeof key);
    return err;
}

int mixnet_payload_build_regular(uint8_t *payload, size_t payload_len, const uint8_t surb_ack[MIXNET_SURB_ACK_LEN],
                                 const uint8_t recipient_key[MIXNET_KEY_LEN], const uint8_t *fragment,
                                 size_t fragment_len)
{
    return payload_to_key(payload, payload_len, surb_ack, recipient_key, fragment, fragment_len);
}

int mixnet_payload_build_reply(uint8_t *payload, size_t payload_len, const uint8_t surb_ack[MIXNET_SURB_ACK_LEN],
                               const uint8_t surb_key[MIXNET_SURB_KEY_LEN], const uint8_t *fragment,
                               size_t fragment_len)
{
    uint8_t digest[BLAKE3_LEN];
    mixnet_surb_key_digest(digest, surb_key);
    return payload_assemble(payload, payload_len, surb_ack, digest, surb_key, fragment, fragment_len);
}

int mixnet_payload_build_cover(uint8_t *payload, size_t payload_len, const uint8_t surb_ack[MIXNET_SURB_ACK_LEN],
                               const uint8_t own_key[MIXNET_KEY_LEN])
{
    if (payload_len < MIXNET_PAYLOAD_OVERHEAD + COVER_TEXT_LEN + 1) return MIXNET_ERR_LENGTH;
    size_t body_len = payload_len - MIXNET_PAYLOAD_OVERHEAD;
    /* built in place where the ciphertext goes: text ‖ 0x01 ‖ zeros */
    uint8_t *body = payload + MIXNET_PAYLOAD_OVERHEAD;
    memcpy(body, COVER_TEXT, COVER_TEXT_LEN);
    body[COVER_TEXT_LEN] = 0x01;
    memset(body + COVER_TEXT_LEN + 1, 0, body_len - COVER_TEXT_LEN - 1);
    return payload_to_key(payload, payload_len, surb_ack, own_key, body, body_len);
}

int mixnet_pushed_open_regular(uint8_t *message, size_t len, const uint8_t own_secret[MIXNET_KEY_LEN])
{
    if (len < MIXNET_KEY_LEN) return MIXNET_ERR_LENGTH;
    uint8_t key[AES128_KEY_LEN];
    mixnet_e2e_key(key, own_secret, message);
    aes128_ctr64be_xor(message + MIXNET_KEY_LEN, len - MIXNET_KEY_LEN, key, ZERO_IV);
    secure_zero(key, sizeof key);
    return 0;
}

int mixnet_pushed_open_reply(uint8_t *message, size_t len, const uint8_t surb_key[MIXNET_SURB_KEY_LEN])
{
    if (len < MIXNET_KEY_LEN) return MIXNET_ERR_LENGTH;
    aes128_ctr64be_xor(message + MIXNET_KEY_LEN, len - MIXNET_KEY_LEN, surb_key, ZERO_IV);
    return 0;
}

bool mixnet_is_cover(const uint8_t *plaintext, size_t len)
{
    return len >= COVER_TEXT_LEN && memcmp(plaintext, COVER_TEXT, COVER_TEXT_LEN) == 0;
}

void mixnet_ack_encrypt(uint8_t out[MIXNET_ACK_LEN], const uint8_t ack_key[MIXNET_ACK_KEY_LEN],
                        const uint8_t fragment_id[MIXNET_FRAGMENT_ID_LEN])
{
    random_bytes(out, AES_BLOCK_LEN);
    memcpy(out + AES_BLOCK_LEN, fragment_id, MIXNET_FRAGMENT_ID_LEN);
    aes128_ctr64be_xor(out + AES_BLOCK_LEN, MIXNET_FRAGMENT_ID_LEN, ack_key, out);
}

int mixnet_ack_decrypt(uint8_t fragment_id[MIXNET_FRAGMENT_ID_LEN], const uint8_t ack_key[MIXNET_ACK_KEY_LEN],
                       const uint8_t *in, size_t len)
{
    /* Nym reads an ack from the first 21 bytes of anything up to 48 long */
    if (len < MIXNET_ACK_LEN || len > MIXNET_ACK_MAX_LEN) return MIXNET_ERR_LENGTH;
    memcpy(fragment_id, in + AES_BLOCK_LEN, MIXNET_FRAGMENT_ID_LEN);
    aes128_ctr64be_xor(fragment_id, MIXNET_FRAGMENT_ID_LEN, ack_key, in);
    /* the set id is a non-negative i32 */
    return fragment_id[0] & 0x80 ? MIXNET_ERR_MALFORMED : 0;
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static size_t random_below(size_t n)
{
    const uint32_t limit = UINT32_MAX - UINT32_MAX % (uint32_t)n;
    uint32_t x;
    do random_bytes((uint8_t *)&x, sizeof x);
    while (x >= limit);
    return x % (uint32_t)n;
}

int mixnet_route_choose(sphinx_hop route[MIXNET_ROUTE_HOPS], const mixnet_topology *t,
                        const uint8_t gateway_identity[MIXNET_KEY_LEN])
{
    const mixnet_node *gateway = NULL;
    for (size_t i = 0; i < t->gateway_count && !gateway; i++)
        if (memcmp(t->gateways[i].identity, gateway_identity, MIXNET_KEY_LEN) == 0) gateway = &t->gateways[i];
    if (!gateway) return MIXNET_ERR_TOPOLOGY;
    for (size_t layer = 0; layer < MIXNET_MIX_LAYERS; layer++) {
        if (t->layer_len[layer] == 0 || t->layer_len[layer] > UINT32_MAX) return MIXNET_ERR_TOPOLOGY;
        route[layer] = t->layers[layer][random_below(t->layer_len[layer])].hop;
    }
    route[MIXNET_MIX_LAYERS] = gateway->hop;
    return 0;
}

/* ln(r) for 1 <= r <= 2^53, without libm: r = 2^k m with m in [1, 2), and
 * ln m = 2 atanh((m - 1) / (m + 1)), whose series converges fast there. */
static double natural_log(uint64_t r)
{
    int k = 63;
    while (!(r >> k)) k--;
    double m = (double)r / (double)(UINT64_C(1) << k);
    double z = (m - 1) / (m + 1), z2 = z * z, term = z, sum = 0;
    for (int i = 1; i < 40; i += 2) {
        sum += term / i;
        term *= z2;
    }
    return k * 0.6931471805599453 + 2 * sum;
}

uint64_t mixnet_exponential_ns(uint64_t mean_ns)
{
    if (mean_ns == 0) return 0;
    uint64_t x;
    random_bytes((uint8_t *)&x, sizeof x);
    /* u = r / 2^53 in (0, 1]; -ln u = 53 ln 2 - ln r */
    uint64_t r = (x >> 11) + 1;
    double sample = (double)mean_ns * (53 * 0.6931471805599453 - natural_log(r));
    return (uint64_t)(sample + 0.5);
}

void mixnet_delays_sample(uint64_t delays[MIXNET_ROUTE_HOPS], uint64_t mean_ns, uint64_t *mix_total_ns)
{
    *mix_total_ns = 0;
    for (size_t i = 0; i < MIXNET_ROUTE_HOPS; i++) {
        delays[i] = mixnet_exponential_ns(mean_ns);
        if (i < MIXNET_MIX_LAYERS) *mix_total_ns += delays[i];
    }
}

int mixnet_surb_ack_build(uint8_t out[MIXNET_SURB_ACK_LEN], uint64_t *expected_delay_ns,
                          const sphinx_hop route[MIXNET_ROUTE_HOPS], const uint8_t own_identity[MIXNET_KEY_LEN],
                          const uint8_t ack_key[MIXNET_ACK_KEY_LEN], const uint8_t fragment_id[MIXNET_FRAGMENT_ID_LEN],
                          uint64_t average_delay_ns)
{
    uint8_t ack[MIXNET_ACK_LEN];
    mixnet_ack_encrypt(ack, ack_key, fragment_id);
    uint64_t delays[MIXNET_ROUTE_HOPS];
    mixnet_delays_sample(delays, average_delay_ns, expected_delay_ns);
    /* the routing address is zero-padded to 32; its first 19 bytes are the 19-byte form */
    memcpy(out, route[0].address, NYM_NODE_ADDRESS_MAX_LEN);
    int err = sphinx_packet_build(out + NYM_NODE_ADDRESS_MAX_LEN, NYM_ACK_PACKET_LEN, ack, sizeof ack, route,
                                  MIXNET_ROUTE_HOPS, own_identity, delays, SPHINX_VERSION_KEY_SEEDS, NULL);
    return err < 0 ? MIXNET_ERR_SPHINX : 0;
}
