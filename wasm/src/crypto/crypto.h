/* The crypto layer: every primitive the core uses, behind one interface.
 * Curve and hash work comes from libsodium and BearSSL; BLAKE3,
 * AES-256-GCM-SIV and LIONESS are ours. Functions that can fail return
 * 0 on success and -1 on failure. */
#ifndef MIX_CRYPTO_H
#define MIX_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define X25519_KEY_LEN 32
#define ED25519_PUBLIC_KEY_LEN 32
#define ED25519_SEED_LEN 32
#define ED25519_SECRET_KEY_LEN 64 /* seed ‖ public key */
#define ED25519_SIGNATURE_LEN 64
#define SHA1_LEN 20
#define SHA256_LEN 32
#define BLAKE3_LEN 32
#define BLAKE3_KEY_LEN 32
#define AES128_KEY_LEN 16
#define AES_BLOCK_LEN 16
#define CHACHA20_KEY_LEN 32
#define CHACHA20_NONCE_LEN 8
#define GCM_SIV_KEY_LEN 32
#define GCM_SIV_NONCE_LEN 12
#define GCM_SIV_TAG_LEN 16
#define LIONESS_KEY_LEN 192
#define LIONESS_MIN_BLOCK_LEN 33

/* X25519 (RFC 7748). The output is not checked for the all-zero value and
 * may alias either input. */
void x25519(uint8_t shared[X25519_KEY_LEN], const uint8_t secret[X25519_KEY_LEN],
            const uint8_t peer_public[X25519_KEY_LEN]);
void x25519_public_key(uint8_t public_key[X25519_KEY_LEN], const uint8_t secret[X25519_KEY_LEN]);
/* X25519(scalars[count-1], … X25519(scalars[0], point)) with a single
 * scalar multiplication, for points on the curve (every real public key;
 * a point on the twist gives another result). count >= 1. */
void x25519_chain(uint8_t shared[X25519_KEY_LEN], const uint8_t (*scalars)[X25519_KEY_LEN], size_t count,
                  const uint8_t point[X25519_KEY_LEN]);
/* The same result, faster for a point that recurs call after call (the
 * gateway that ends every route, the nodes of a small network): from the
 * point's fourth call among the 32 most recently used points, a table of
 * its multiples (40 KB, for at most 16 points) makes the multiplication
 * about 2.6 times faster. Points that rarely come back cost a comparison
 * with the followed ones and no table. */
void x25519_chain_recurring(uint8_t shared[X25519_KEY_LEN], const uint8_t (*scalars)[X25519_KEY_LEN],
                            size_t count, const uint8_t point[X25519_KEY_LEN]);

/* Ed25519 (RFC 8032, pure). */
void ed25519_keypair_from_seed(uint8_t public_key[ED25519_PUBLIC_KEY_LEN],
                               uint8_t secret_key[ED25519_SECRET_KEY_LEN],
                               const uint8_t seed[ED25519_SEED_LEN]);
void ed25519_sign(uint8_t signature[ED25519_SIGNATURE_LEN], const uint8_t *message, size_t message_len,
                  const uint8_t secret_key[ED25519_SECRET_KEY_LEN]);
bool ed25519_verify(const uint8_t signature[ED25519_SIGNATURE_LEN], const uint8_t *message,
                    size_t message_len, const uint8_t public_key[ED25519_PUBLIC_KEY_LEN]);

/* SHA-1, only for the WebSocket handshake's accept key (RFC 6455). */
void sha1(uint8_t digest[SHA1_LEN], const uint8_t *data, size_t len);

/* SHA-256 and the HMAC / HKDF (RFC 2104, RFC 5869) built on it. */
void sha256(uint8_t digest[SHA256_LEN], const uint8_t *data, size_t len);
void hmac_sha256(uint8_t mac[SHA256_LEN], const uint8_t *key, size_t key_len, const uint8_t *message,
                 size_t message_len);
/* Fails when out_len > 255 * 32. */
int hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                size_t ikm_len, const uint8_t *info, size_t info_len);

/* AES-128 in counter mode with a 64-bit big-endian counter in the last
 * 8 bytes of the IV (Rust's Ctr64BE, as Sphinx and the message layer use it).
 * Encrypts or decrypts in place. */
void aes128_ctr64be_xor(uint8_t *data, size_t len, const uint8_t key[AES128_KEY_LEN],
                        const uint8_t iv[AES_BLOCK_LEN]);

/* Original ChaCha20 (8-byte nonce, 64-bit block counter), in place. */
void chacha20_xor(uint8_t *data, size_t len, const uint8_t key[CHACHA20_KEY_LEN],
                  const uint8_t nonce[CHACHA20_NONCE_LEN], uint64_t first_block);

/* BLAKE2b (RFC 7693) with the output length in the parameter block.
 * out_len 1..64, key_len 0..64. Fails on other lengths. */
int blake2b(uint8_t *out, size_t out_len, const uint8_t *key, size_t key_len, const uint8_t *data,
            size_t len);

/* BLAKE3: incremental hasher for the three modes, with output of any length. */
typedef struct {
    uint32_t key[8];
    uint32_t flags;
    uint32_t chunk_cv[8];
    uint64_t chunk_counter;
    uint8_t block[64];
    uint8_t block_len;
    uint8_t blocks_compressed;
    uint8_t stack_len;
    uint32_t cv_stack[54][8];
} blake3_hasher;

void blake3_init(blake3_hasher *hasher);
void blake3_init_keyed(blake3_hasher *hasher, const uint8_t key[BLAKE3_KEY_LEN]);
void blake3_init_derive_key(blake3_hasher *hasher, const char *context);
void blake3_update(blake3_hasher *hasher, const uint8_t *data, size_t len);
/* Reads output bytes [seek, seek + out_len) of the extendable output. */
void blake3_finalize_seek(const blake3_hasher *hasher, uint64_t seek, uint8_t *out, size_t out_len);
void blake3_hash(uint8_t digest[BLAKE3_LEN], const uint8_t *data, size_t len);

/* HMAC with BLAKE3 as H (64-byte block, 32-byte output) and HKDF over it,
 * as the gateway handshake derives its shared key. */
void hmac_blake3(uint8_t mac[BLAKE3_LEN], const uint8_t *key, size_t key_len, const uint8_t *message,
                 size_t message_len);
/* Fails when out_len > 255 * 32. */
int hkdf_blake3(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                size_t ikm_len, const uint8_t *info, size_t info_len);

/* AES-256-GCM-SIV (RFC 8452). seal writes plaintext_len + 16 bytes
 * (ciphertext ‖ tag); open reads ciphertext ‖ tag and writes
 * sealed_len - 16 bytes, or fails when the tag does not match or the input
 * is shorter than a tag. Output may alias the input. */
void gcm_siv_seal(uint8_t *out, const uint8_t key[GCM_SIV_KEY_LEN], const uint8_t nonce[GCM_SIV_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *plaintext, size_t plaintext_len);
int gcm_siv_open(uint8_t *out, const uint8_t key[GCM_SIV_KEY_LEN], const uint8_t nonce[GCM_SIV_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, const uint8_t *sealed, size_t sealed_len);

/* LIONESS wide-block cipher over ChaCha20 and BLAKE2b-256, as Sphinx
 * payloads use it. Fails when block_len < LIONESS_MIN_BLOCK_LEN. In place. */
int lioness_encrypt(uint8_t *block, size_t block_len, const uint8_t key[LIONESS_KEY_LEN]);
int lioness_decrypt(uint8_t *block, size_t block_len, const uint8_t key[LIONESS_KEY_LEN]);

/* Cryptographically secure random bytes from the platform. */
void random_bytes(uint8_t *out, size_t len);

/* Constant-time equality of two buffers of the same length. */
bool ct_equal(const uint8_t *a, const uint8_t *b, size_t len);

/* Overwrites secrets so the compiler cannot drop the stores. */
void secure_zero(void *buf, size_t len);

#endif
