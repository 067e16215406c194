/* Shared between the files of the Sphinx layer only; not part of its interface. */
#ifndef MIX_SPHINX_INTERNAL_H
#define MIX_SPHINX_INTERNAL_H

#include "crypto/crypto.h"
#include "sphinx/sphinx.h"

/* offsets into a hop's expanded secret */
#define EXPANDED_STREAM_KEY 0
#define EXPANDED_MAC_KEY 16
#define EXPANDED_PAYLOAD_KEY 32 /* the full key, or its first 16 bytes as a seed */
#define EXPANDED_BLINDING_FACTOR 224
#define EXPANDED_REPLAY_TAG 256

typedef struct {
    uint8_t expanded[SPHINX_EXPANDED_SECRET_LEN];
} hop_secrets;

/* alpha_0 and every hop's expanded secret for a route (sender side), but
 * the parts a sender does not use (replay tags; at the last hop, all after
 * the payload key or seed of this version), which are left zero. */
int sphinx_derive_route_secrets(hop_secrets *hops, uint8_t alpha[SPHINX_ALPHA_LEN], const sphinx_hop *route,
                                size_t hop_count, uint16_t version, const uint8_t *initial_secret);
/* Writes gamma_0 ‖ beta_0 after the alpha already at the start of header. */
int sphinx_header_build(uint8_t header[SPHINX_HEADER_LEN], const hop_secrets *hops, const sphinx_hop *route,
                        size_t hop_count, const uint8_t destination[SPHINX_DESTINATION_LEN],
                        const uint64_t *delays_ns, uint16_t version);
void sphinx_payload_key_from_seed(uint8_t key[SPHINX_PAYLOAD_KEY_LEN], const uint8_t seed[SPHINX_PAYLOAD_SEED_LEN]);
void sphinx_payload_key_of_hop(uint8_t key[SPHINX_PAYLOAD_KEY_LEN], const hop_secrets *hop, uint16_t version);
/* Frames the message and adds one LIONESS layer per hop, last hop innermost. */
int sphinx_payload_encrypt(uint8_t *payload, size_t payload_len, const uint8_t *message, size_t message_len,
                           const uint8_t (*keys)[SPHINX_PAYLOAD_KEY_LEN], size_t hop_count);

#endif
