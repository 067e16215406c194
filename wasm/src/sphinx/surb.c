/* Single-use reply blocks: a header built now, used later by someone who
 * only holds the header, the first hop and the payload key material. */
#include "sphinx/sphinx_internal.h"

#include <string.h>

static size_t key_material_len(const sphinx_surb *surb)
{
    return (size_t)surb->hops * (surb->uses_seeds ? SPHINX_PAYLOAD_SEED_LEN : SPHINX_PAYLOAD_KEY_LEN);
}

int sphinx_surb_build(sphinx_surb *surb, const sphinx_hop *route, size_t hops,
                      const uint8_t destination[SPHINX_DESTINATION_LEN], const uint64_t *delays_ns, uint16_t version,
                      const uint8_t *initial_secret)
{
    if (version == 1 || version == 257) return SPHINX_ERR_UNSUPPORTED;
    hop_secrets secrets[SPHINX_MAX_HOPS];
    int err = sphinx_derive_route_secrets(secrets, surb->header, route, hops, version, initial_secret);
    if (!err) err = sphinx_header_build(surb->header, secrets, route, hops, destination, delays_ns, version);
    if (!err) {
        memcpy(surb->first_hop, route[0].address, SPHINX_NODE_ADDRESS_LEN);
        surb->hops = (uint8_t)hops;
        surb->uses_seeds = version != SPHINX_VERSION_EXPLICIT_KEYS;
        size_t stride = surb->uses_seeds ? SPHINX_PAYLOAD_SEED_LEN : SPHINX_PAYLOAD_KEY_LEN;
        for (size_t i = 0; i < hops; i++)
            memcpy(surb->key_material + i * stride, secrets[i].expanded + EXPANDED_PAYLOAD_KEY, stride);
    }
    secure_zero(secrets, sizeof secrets);
    return err;
}

size_t sphinx_surb_encoded_len(const sphinx_surb *surb)
{
    return SPHINX_HEADER_LEN + SPHINX_NODE_ADDRESS_LEN + key_material_len(surb);
}

int sphinx_surb_encode(const sphinx_surb *surb, uint8_t *out, size_t out_cap)
{
    size_t len = sphinx_surb_encoded_len(surb);
    if (out_cap < len) return SPHINX_ERR_LENGTH;
    memcpy(out, surb->header, SPHINX_HEADER_LEN);
    memcpy(out + SPHINX_HEADER_LEN, surb->first_hop, SPHINX_NODE_ADDRESS_LEN);
    memcpy(out + SPHINX_HEADER_LEN + SPHINX_NODE_ADDRESS_LEN, surb->key_material, key_material_len(surb));
    return (int)len;
}

int sphinx_surb_decode(sphinx_surb *surb, const uint8_t *in, size_t len)
{
    const size_t fixed = SPHINX_HEADER_LEN + SPHINX_NODE_ADDRESS_LEN;
    if (len < fixed + SPHINX_PAYLOAD_SEED_LEN) return SPHINX_ERR_LENGTH;
    size_t material = len - fixed;
    /* no count is encoded: fewer bytes than one full key means seeds */
    bool seeds = material < SPHINX_PAYLOAD_KEY_LEN;
    size_t stride = seeds ? SPHINX_PAYLOAD_SEED_LEN : SPHINX_PAYLOAD_KEY_LEN;
    if (material % stride != 0 || material / stride > SPHINX_MAX_HOPS) return SPHINX_ERR_LENGTH;
    memcpy(surb->header, in, SPHINX_HEADER_LEN);
    memcpy(surb->first_hop, in + SPHINX_HEADER_LEN, SPHINX_NODE_ADDRESS_LEN);
    memcpy(surb->key_material, in + fixed, material);
    surb->hops = (uint8_t)(material / stride);
    surb->uses_seeds = seeds;
    return 0;
}

int sphinx_surb_use(const sphinx_surb *surb, uint8_t *packet, size_t packet_len, const uint8_t *message,
                    size_t message_len)
{
    if (packet_len < SPHINX_HEADER_LEN + LIONESS_MIN_BLOCK_LEN) return SPHINX_ERR_LENGTH;
    if (surb->hops < 1 || surb->hops > SPHINX_MAX_HOPS) return SPHINX_ERR_LENGTH;
    uint8_t keys[SPHINX_MAX_HOPS][SPHINX_PAYLOAD_KEY_LEN];
    for (size_t i = 0; i < surb->hops; i++) {
        if (surb->uses_seeds)
            sphinx_payload_key_from_seed(keys[i], surb->key_material + i * SPHINX_PAYLOAD_SEED_LEN);
        else
            memcpy(keys[i], surb->key_material + i * SPHINX_PAYLOAD_KEY_LEN, SPHINX_PAYLOAD_KEY_LEN);
    }
    /* the message may live in the packet buffer's payload area, so write the payload first */
    int err = sphinx_payload_encrypt(packet + SPHINX_HEADER_LEN, packet_len - SPHINX_HEADER_LEN, message,
                                     message_len, (const uint8_t(*)[SPHINX_PAYLOAD_KEY_LEN])keys, surb->hops);
    if (!err) memcpy(packet, surb->header, SPHINX_HEADER_LEN);
    secure_zero(keys, sizeof keys);
    return err;
}
