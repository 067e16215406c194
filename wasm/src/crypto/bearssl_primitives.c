/* The primitives we take from BearSSL: SHA-1, SHA-256, HMAC, HKDF, AES-128-CTR. */
#include "crypto/crypto.h"

#include <bearssl.h>
#include <string.h>

static uint32_t load32_be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store32_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void sha1(uint8_t digest[SHA1_LEN], const uint8_t *data, size_t len)
{
    br_sha1_context ctx;
    br_sha1_init(&ctx);
    br_sha1_update(&ctx, data, len);
    br_sha1_out(&ctx, digest);
}

void sha256(uint8_t digest[SHA256_LEN], const uint8_t *data, size_t len)
{
    br_sha256_context ctx;
    br_sha256_init(&ctx);
    br_sha256_update(&ctx, data, len);
    br_sha256_out(&ctx, digest);
}

void hmac_sha256(uint8_t mac[SHA256_LEN], const uint8_t *key, size_t key_len, const uint8_t *message,
                 size_t message_len)
{
    br_hmac_key_context key_ctx;
    br_hmac_context ctx;
    br_hmac_key_init(&key_ctx, &br_sha256_vtable, key, key_len);
    br_hmac_init(&ctx, &key_ctx, 0);
    br_hmac_update(&ctx, message, message_len);
    br_hmac_out(&ctx, mac);
}

int hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                size_t ikm_len, const uint8_t *info, size_t info_len)
{
    if (out_len > 255 * SHA256_LEN) return -1;
    br_hkdf_context ctx;
    /* BearSSL treats a NULL salt as "no salt" (all zeros), which RFC 5869
     * also prescribes for an empty salt */
    br_hkdf_init(&ctx, &br_sha256_vtable, salt_len ? salt : BR_HKDF_NO_SALT, salt_len);
    br_hkdf_inject(&ctx, ikm, ikm_len);
    br_hkdf_flip(&ctx);
    br_hkdf_produce(&ctx, info, info_len, out, out_len);
    return 0;
}

void aes128_ctr64be_xor(uint8_t *data, size_t len, const uint8_t key[AES128_KEY_LEN],
                        const uint8_t iv[AES_BLOCK_LEN])
{
    br_aes_ct64_ctr_keys ctx;
    br_aes_ct64_ctr_init(&ctx, key, AES128_KEY_LEN);
    /* BearSSL counts in the last 4 bytes; carry into bytes 8..11 ourselves,
     * never into the first 8, which a 64-bit counter leaves alone */
    uint8_t prefix[12];
    memcpy(prefix, iv, sizeof prefix);
    uint32_t counter = load32_be(iv + 12);
    while (len > 0) {
        uint64_t blocks_before_wrap = (uint64_t)UINT32_MAX - counter + 1;
        size_t chunk = len;
        if ((uint64_t)(len + AES_BLOCK_LEN - 1) / AES_BLOCK_LEN > blocks_before_wrap)
            chunk = (size_t)(blocks_before_wrap * AES_BLOCK_LEN);
        counter = br_aes_ct64_ctr_run(&ctx, prefix, counter, data, chunk);
        data += chunk;
        len -= chunk;
        if (len > 0) store32_be(prefix + 8, load32_be(prefix + 8) + 1);
    }
}
