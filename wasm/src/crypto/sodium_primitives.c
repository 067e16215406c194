/* The primitives we take from libsodium: curves, BLAKE2b, ChaCha20
 * (chains of X25519 are in x25519_chain.c). */
#include "crypto/crypto.h"

#include <sodium/core.h>
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
