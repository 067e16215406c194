/* Encrypted binary frames between client and gateway (gateway.md §9). */
#include "crypto/crypto.h"
#include "gateway/gateway.h"

#include <string.h>

#define ENCRYPTED_FLAG 1

int gateway_frame_seal(uint8_t *out, size_t out_cap, uint8_t kind, const uint8_t key[GATEWAY_SHARED_KEY_LEN],
                       const uint8_t *plaintext, size_t len)
{
    if (out_cap < GATEWAY_FRAME_OVERHEAD || out_cap - GATEWAY_FRAME_OVERHEAD < len) return GATEWAY_ERR_SPACE;
    uint8_t nonce[GATEWAY_NONCE_LEN];
    random_bytes(nonce, sizeof nonce);
    /* the plaintext may live where the ciphertext goes, so move it first */
    memmove(out + 2 + GATEWAY_NONCE_LEN, plaintext, len);
    gcm_siv_seal(out + 2 + GATEWAY_NONCE_LEN, key, nonce, NULL, 0, out + 2 + GATEWAY_NONCE_LEN, len);
    out[0] = kind;
    out[1] = ENCRYPTED_FLAG;
    memcpy(out + 2, nonce, GATEWAY_NONCE_LEN);
    return (int)(len + GATEWAY_FRAME_OVERHEAD);
}

int gateway_frame_open(uint8_t *out, size_t out_cap, uint8_t *kind, const uint8_t key[GATEWAY_SHARED_KEY_LEN],
                       const uint8_t *frame, size_t len)
{
    /* unencrypted frames (flag 0) are never sent by real peers; refuse them */
    if (len < GATEWAY_FRAME_OVERHEAD || frame[1] != ENCRYPTED_FLAG) return GATEWAY_ERR_MALFORMED;
    size_t plaintext_len = len - GATEWAY_FRAME_OVERHEAD;
    if (out_cap < plaintext_len) return GATEWAY_ERR_SPACE;
    uint8_t nonce[GATEWAY_NONCE_LEN];
    memcpy(nonce, frame + 2, GATEWAY_NONCE_LEN);
    *kind = frame[0];
    if (gcm_siv_open(out, key, nonce, NULL, 0, frame + 2 + GATEWAY_NONCE_LEN, len - 2 - GATEWAY_NONCE_LEN) != 0)
        return GATEWAY_ERR_CRYPTO;
    return (int)plaintext_len;
}
