/* LIONESS (Anderson and Biham) with ChaCha20 as the stream cipher and
 * keyed BLAKE2b-256 as the hash, laid out as the `lioness` crate 0.1.2
 * that Sphinx payloads use: block = L (32 bytes) ‖ R, key = k1 (32) ‖
 * k2 (64) ‖ k3 (32) ‖ k4 (64). */
#include "crypto/crypto.h"

#define L_LEN 32
#define K1 0
#define K2 32
#define K3 96
#define K4 128
#define HASH_KEY_LEN 64

static const uint8_t ZERO_NONCE[CHACHA20_NONCE_LEN];

/* R ^= ChaCha20(L ⊕ k) */
static void stream_round(uint8_t *block, size_t block_len, const uint8_t *k)
{
    uint8_t round_key[CHACHA20_KEY_LEN];
    for (int i = 0; i < L_LEN; i++) round_key[i] = block[i] ^ k[i];
    chacha20_xor(block + L_LEN, block_len - L_LEN, round_key, ZERO_NONCE, 0);
    secure_zero(round_key, sizeof round_key);
}

/* L ^= BLAKE2b_k(R) */
static void hash_round(uint8_t *block, size_t block_len, const uint8_t *k)
{
    uint8_t digest[L_LEN];
    (void)blake2b(digest, sizeof digest, k, HASH_KEY_LEN, block + L_LEN, block_len - L_LEN);
    for (int i = 0; i < L_LEN; i++) block[i] ^= digest[i];
}

int lioness_encrypt(uint8_t *block, size_t block_len, const uint8_t key[LIONESS_KEY_LEN])
{
    if (block_len < LIONESS_MIN_BLOCK_LEN) return -1;
    stream_round(block, block_len, key + K1);
    hash_round(block, block_len, key + K2);
    stream_round(block, block_len, key + K3);
    hash_round(block, block_len, key + K4);
    return 0;
}

int lioness_decrypt(uint8_t *block, size_t block_len, const uint8_t key[LIONESS_KEY_LEN])
{
    if (block_len < LIONESS_MIN_BLOCK_LEN) return -1;
    hash_round(block, block_len, key + K4);
    stream_round(block, block_len, key + K3);
    hash_round(block, block_len, key + K2);
    stream_round(block, block_len, key + K1);
    return 0;
}
