/* HMAC (RFC 2104) with plain BLAKE3-256 as the hash and a 64-byte block,
 * and HKDF (RFC 5869) over it: the gateway handshake's key derivation. */
#include "crypto/crypto.h"

#include <string.h>

#define HMAC_BLOCK_LEN 64

typedef struct {
    blake3_hasher inner;
    blake3_hasher outer;
} hmac_blake3_state;

static void hmac_blake3_begin(hmac_blake3_state *st, const uint8_t *key, size_t key_len)
{
    uint8_t block[HMAC_BLOCK_LEN] = {0};
    if (key_len > HMAC_BLOCK_LEN)
        blake3_hash(block, key, key_len);
    else
        memcpy(block, key, key_len);
    uint8_t pad[HMAC_BLOCK_LEN];
    for (int i = 0; i < HMAC_BLOCK_LEN; i++) pad[i] = block[i] ^ 0x36;
    blake3_init(&st->inner);
    blake3_update(&st->inner, pad, sizeof pad);
    for (int i = 0; i < HMAC_BLOCK_LEN; i++) pad[i] = block[i] ^ 0x5c;
    blake3_init(&st->outer);
    blake3_update(&st->outer, pad, sizeof pad);
    secure_zero(block, sizeof block);
    secure_zero(pad, sizeof pad);
}

static void hmac_blake3_end(hmac_blake3_state *st, uint8_t mac[BLAKE3_LEN])
{
    uint8_t inner_hash[BLAKE3_LEN];
    blake3_finalize_seek(&st->inner, 0, inner_hash, sizeof inner_hash);
    blake3_update(&st->outer, inner_hash, sizeof inner_hash);
    blake3_finalize_seek(&st->outer, 0, mac, BLAKE3_LEN);
    secure_zero(st, sizeof *st);
}

void hmac_blake3(uint8_t mac[BLAKE3_LEN], const uint8_t *key, size_t key_len, const uint8_t *message,
                 size_t message_len)
{
    hmac_blake3_state st;
    hmac_blake3_begin(&st, key, key_len);
    blake3_update(&st.inner, message, message_len);
    hmac_blake3_end(&st, mac);
}

int hkdf_blake3(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                size_t ikm_len, const uint8_t *info, size_t info_len)
{
    if (out_len > 255 * BLAKE3_LEN) return -1;
    uint8_t prk[BLAKE3_LEN], t[BLAKE3_LEN];
    /* an absent salt is a hash-length string of zeros (RFC 5869 §2.2) */
    static const uint8_t zero_salt[BLAKE3_LEN];
    if (salt_len == 0) {
        salt = zero_salt;
        salt_len = sizeof zero_salt;
    }
    hmac_blake3(prk, salt, salt_len, ikm, ikm_len);
    size_t t_len = 0;
    for (uint8_t counter = 1; out_len > 0; counter++) {
        hmac_blake3_state st;
        hmac_blake3_begin(&st, prk, sizeof prk);
        blake3_update(&st.inner, t, t_len);
        blake3_update(&st.inner, info, info_len);
        blake3_update(&st.inner, &counter, 1);
        hmac_blake3_end(&st, t);
        t_len = sizeof t;
        size_t take = out_len < t_len ? out_len : t_len;
        memcpy(out, t, take);
        out += take;
        out_len -= take;
    }
    secure_zero(prk, sizeof prk);
    secure_zero(t, sizeof t);
    return 0;
}
