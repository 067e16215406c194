/* The primitives we take from libsodium: curves, BLAKE2b, ChaCha20. */
#include "crypto/crypto.h"

#include <sodium/core.h>
#include <sodium/crypto_core_ed25519.h>
#include <sodium/crypto_generichash_blake2b.h>
#include <sodium/crypto_scalarmult_curve25519.h>
#include <sodium/crypto_sign_ed25519.h>
#include <sodium/crypto_stream_chacha20.h>
#include <stdlib.h>
#include <string.h>

/* libsodium calls this only when a caller breaks its contract (a message
 * longer than its maximum); our wrappers never do, so reaching it is a bug.
 * Defined here because libsodium's own core.c would pull in every algorithm. */
void sodium_misuse(void)
{
    abort();
}

void x25519(uint8_t shared[X25519_KEY_LEN], const uint8_t secret[X25519_KEY_LEN],
            const uint8_t peer_public[X25519_KEY_LEN])
{
    /* libsodium refuses points of small order without writing the output;
     * X25519 of such a point is all zeros, which Nym does not reject */
    uint8_t point[X25519_KEY_LEN], scalar[X25519_KEY_LEN];
    /* callers blind in place (shared == peer_public), which libsodium does not allow */
    memcpy(point, peer_public, sizeof point);
    memcpy(scalar, secret, sizeof scalar);
    if (crypto_scalarmult_curve25519(shared, scalar, point) != 0) memset(shared, 0, X25519_KEY_LEN);
    secure_zero(scalar, sizeof scalar);
}

void x25519_public_key(uint8_t public_key[X25519_KEY_LEN], const uint8_t secret[X25519_KEY_LEN])
{
    crypto_scalarmult_curve25519_base(public_key, secret);
}

/* 2^254 and 1/8 modulo the group order ℓ, little-endian */
static const uint8_t TWO_TO_254_MOD_L[32] = {0x39, 0x84, 0x1e, 0xe9, 0xb0, 0xd6, 0xc8, 0xf7, 0x7c, 0x29, 0x19,
                                             0x17, 0x64, 0x12, 0x63, 0xc1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                             0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f};
static const uint8_t INVERSE_OF_8_MOD_L[32] = {0x79, 0x2f, 0xdc, 0xe2, 0x29, 0xe5, 0x06, 0x61, 0xd0, 0xda, 0x1c,
                                               0x7d, 0xb3, 0x9d, 0xd3, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                               0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06};

static void clamp_scalar(uint8_t out[64], const uint8_t scalar[32])
{
    memset(out, 0, 64);
    memcpy(out, scalar, 32);
    out[0] &= 248;
    out[31] &= 127;
    out[31] |= 64;
}

/* Finds e in X25519's clamped form (2^254 + 8m, m < 2^251) with e ≡ k (mod ℓ). */
static bool clamped_form_of(uint8_t e[32], const uint8_t k[32])
{
    uint8_t m[32];
    crypto_core_ed25519_scalar_sub(m, k, TWO_TO_254_MOD_L);
    crypto_core_ed25519_scalar_mul(m, m, INVERSE_OF_8_MOD_L);
    if (m[31] >= 0x08) return false;
    for (int i = 31; i > 0; i--) e[i] = (uint8_t)(m[i] << 3 | m[i - 1] >> 5);
    e[0] = (uint8_t)(m[0] << 3);
    e[31] |= 0x40;
    return true;
}

void x25519_chain(uint8_t shared[X25519_KEY_LEN], const uint8_t (*scalars)[X25519_KEY_LEN], size_t count,
                  const uint8_t point[X25519_KEY_LEN])
{
    /* Every X25519 clamps its scalar to a multiple of 8, so the chain is the
     * product of the clamped scalars times the point's prime-order part: one
     * multiplication by that product modulo ℓ, or by its negation, which
     * gives the same u-coordinate, once it is put in clamped form. */
    uint8_t product[32], wide[64], e[32];
    clamp_scalar(wide, scalars[0]);
    crypto_core_ed25519_scalar_reduce(product, wide);
    for (size_t i = 1; i < count; i++) {
        uint8_t factor[32];
        clamp_scalar(wide, scalars[i]);
        crypto_core_ed25519_scalar_reduce(factor, wide);
        crypto_core_ed25519_scalar_mul(product, product, factor);
    }
    bool found = clamped_form_of(e, product);
    if (!found) {
        crypto_core_ed25519_scalar_negate(product, product);
        found = clamped_form_of(e, product);
    }
    if (found) {
        x25519(shared, e, point);
    } else {
        /* neither fits (a chance of about 2^-125): multiply step by step */
        x25519(shared, scalars[0], point);
        for (size_t i = 1; i < count; i++) x25519(shared, scalars[i], shared);
    }
    secure_zero(product, sizeof product);
    secure_zero(wide, sizeof wide);
    secure_zero(e, sizeof e);
}

void ed25519_keypair_from_seed(uint8_t public_key[ED25519_PUBLIC_KEY_LEN],
                               uint8_t secret_key[ED25519_SECRET_KEY_LEN],
                               const uint8_t seed[ED25519_SEED_LEN])
{
    crypto_sign_ed25519_seed_keypair(public_key, secret_key, seed);
}

void ed25519_sign(uint8_t signature[ED25519_SIGNATURE_LEN], const uint8_t *message, size_t message_len,
                  const uint8_t secret_key[ED25519_SECRET_KEY_LEN])
{
    crypto_sign_ed25519_detached(signature, NULL, message, message_len, secret_key);
}

bool ed25519_verify(const uint8_t signature[ED25519_SIGNATURE_LEN], const uint8_t *message,
                    size_t message_len, const uint8_t public_key[ED25519_PUBLIC_KEY_LEN])
{
    return crypto_sign_ed25519_verify_detached(signature, message, message_len, public_key) == 0;
}

void chacha20_xor(uint8_t *data, size_t len, const uint8_t key[CHACHA20_KEY_LEN],
                  const uint8_t nonce[CHACHA20_NONCE_LEN], uint64_t first_block)
{
    crypto_stream_chacha20_xor_ic(data, data, len, nonce, first_block, key);
}

int blake2b(uint8_t *out, size_t out_len, const uint8_t *key, size_t key_len, const uint8_t *data, size_t len)
{
    if (out_len < 1 || out_len > crypto_generichash_blake2b_BYTES_MAX || key_len > crypto_generichash_blake2b_KEYBYTES_MAX)
        return -1;
    return crypto_generichash_blake2b(out, out_len, data, len, key, key_len) == 0 ? 0 : -1;
}
