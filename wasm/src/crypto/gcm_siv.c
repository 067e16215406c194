/* AES-256-GCM-SIV (RFC 8452) on BearSSL's AES and GHASH. POLYVAL is GHASH
 * in the other bit order (RFC 8452 Appendix A): byte-reverse every block,
 * multiply the key by x, and byte-reverse the result. */
#include "crypto/crypto.h"

#include <bearssl.h>
#include <string.h>

#define GHASH_BATCH_BLOCKS 32

typedef struct {
    uint8_t h[AES_BLOCK_LEN]; /* mulX(ByteReverse(auth key)) */
    uint8_t y[AES_BLOCK_LEN]; /* the running GHASH value, byte-reversed POLYVAL */
    uint8_t partial[AES_BLOCK_LEN];
    size_t partial_len;
} polyval_state;

static void reverse_block(uint8_t out[AES_BLOCK_LEN], const uint8_t in[AES_BLOCK_LEN])
{
    for (int i = 0; i < AES_BLOCK_LEN; i++) out[i] = in[AES_BLOCK_LEN - 1 - i];
}

static void polyval_init(polyval_state *st, const uint8_t auth_key[AES_BLOCK_LEN])
{
    uint8_t h[AES_BLOCK_LEN];
    reverse_block(h, auth_key);
    /* multiply by x in GHASH's reflected representation */
    uint8_t carry = h[AES_BLOCK_LEN - 1] & 1;
    for (int i = AES_BLOCK_LEN - 1; i > 0; i--) h[i] = (uint8_t)(h[i] >> 1 | h[i - 1] << 7);
    h[0] >>= 1;
    if (carry) h[0] ^= 0xe1;
    memcpy(st->h, h, sizeof h);
    memset(st->y, 0, sizeof st->y);
    st->partial_len = 0;
}

static void polyval_blocks(polyval_state *st, const uint8_t *data, size_t blocks)
{
    uint8_t reversed[GHASH_BATCH_BLOCKS * AES_BLOCK_LEN];
    while (blocks > 0) {
        size_t n = blocks < GHASH_BATCH_BLOCKS ? blocks : GHASH_BATCH_BLOCKS;
        for (size_t i = 0; i < n; i++) reverse_block(reversed + i * AES_BLOCK_LEN, data + i * AES_BLOCK_LEN);
        br_ghash_ctmul64(st->y, st->h, reversed, n * AES_BLOCK_LEN);
        data += n * AES_BLOCK_LEN;
        blocks -= n;
    }
}

/* Absorbs data as whole zero-padded blocks: call once per field. */
static void polyval_field(polyval_state *st, const uint8_t *data, size_t len)
{
    polyval_blocks(st, data, len / AES_BLOCK_LEN);
    size_t tail = len % AES_BLOCK_LEN;
    if (tail) {
        uint8_t last[AES_BLOCK_LEN] = {0};
        memcpy(last, data + len - tail, tail);
        polyval_blocks(st, last, 1);
    }
}

static void polyval_out(const polyval_state *st, uint8_t out[AES_BLOCK_LEN])
{
    reverse_block(out, st->y);
}

/* BearSSL's constant-time AES for 64-bit words ("ct64") encrypts four
 * blocks in one bitsliced pass. Its library exports the steps of that pass,
 * which only its private inner.h declares; its public modes fit neither
 * RFC 8452's key derivation nor its little-endian counter, and one block at
 * a time costs as much as four. */
unsigned br_aes_ct64_keysched(uint64_t *comp_skey, const void *key, size_t key_len);
void br_aes_ct64_skey_expand(uint64_t *skey, unsigned num_rounds, const uint64_t *comp_skey);
void br_aes_ct64_interleave_in(uint64_t *q0, uint64_t *q1, const uint32_t *w);
void br_aes_ct64_interleave_out(uint32_t *w, uint64_t q0, uint64_t q1);
void br_aes_ct64_ortho(uint64_t *q);
void br_aes_ct64_bitslice_encrypt(unsigned num_rounds, const uint64_t *skey, uint64_t *q);

#define AES_PASS_BLOCKS 4

typedef struct {
    unsigned rounds;
    uint64_t round_keys[120]; /* expanded for the bitsliced pass */
} aes_key;

static void aes_key_init(aes_key *k, const uint8_t *key, size_t key_len)
{
    uint64_t compressed[30];
    k->rounds = br_aes_ct64_keysched(compressed, key, key_len);
    br_aes_ct64_skey_expand(k->round_keys, k->rounds, compressed);
    secure_zero(compressed, sizeof compressed);
}

/* Encrypts 1 to AES_PASS_BLOCKS consecutive blocks in place. */
static void aes_encrypt_pass(const aes_key *k, uint8_t *blocks, size_t count)
{
    uint32_t w[AES_PASS_BLOCKS * 4] = {0};
    uint64_t q[8];
    for (size_t i = 0; i < count * 4; i++)
        w[i] = (uint32_t)blocks[4 * i] | (uint32_t)blocks[4 * i + 1] << 8 | (uint32_t)blocks[4 * i + 2] << 16 |
               (uint32_t)blocks[4 * i + 3] << 24;
    for (int i = 0; i < AES_PASS_BLOCKS; i++) br_aes_ct64_interleave_in(&q[i], &q[i + 4], w + 4 * i);
    br_aes_ct64_ortho(q);
    br_aes_ct64_bitslice_encrypt(k->rounds, k->round_keys, q);
    br_aes_ct64_ortho(q);
    for (int i = 0; i < AES_PASS_BLOCKS; i++) br_aes_ct64_interleave_out(w + 4 * i, q[i], q[i + 4]);
    for (size_t i = 0; i < count * 4; i++)
        for (int b = 0; b < 4; b++) blocks[4 * i + (size_t)b] = (uint8_t)(w[i] >> (8 * b));
    secure_zero(w, sizeof w);
    secure_zero(q, sizeof q);
}

static void store64_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Per-nonce keys (RFC 8452 §4): the first half of AES(K, LE32(i) ‖ N). */
static void derive_keys(uint8_t auth_key[16], aes_key *enc_key, const uint8_t key[GCM_SIV_KEY_LEN],
                        const uint8_t nonce[GCM_SIV_NONCE_LEN])
{
    aes_key kgk;
    aes_key_init(&kgk, key, GCM_SIV_KEY_LEN);
    uint8_t blocks[6 * AES_BLOCK_LEN] = {0}, derived[48];
    for (uint8_t i = 0; i < 6; i++) {
        blocks[i * AES_BLOCK_LEN] = i;
        memcpy(blocks + i * AES_BLOCK_LEN + 4, nonce, GCM_SIV_NONCE_LEN);
    }
    aes_encrypt_pass(&kgk, blocks, AES_PASS_BLOCKS);
    aes_encrypt_pass(&kgk, blocks + AES_PASS_BLOCKS * AES_BLOCK_LEN, 6 - AES_PASS_BLOCKS);
    for (int i = 0; i < 6; i++) memcpy(derived + 8 * i, blocks + i * AES_BLOCK_LEN, 8);
    memcpy(auth_key, derived, 16);
    aes_key_init(enc_key, derived + 16, 32);
    secure_zero(derived, sizeof derived);
    secure_zero(blocks, sizeof blocks);
    secure_zero(&kgk, sizeof kgk);
}

static void compute_tag(uint8_t tag[GCM_SIV_TAG_LEN], const uint8_t auth_key[16],
                        const aes_key *enc_key, const uint8_t nonce[GCM_SIV_NONCE_LEN],
                        const uint8_t *aad, size_t aad_len, const uint8_t *plaintext, size_t plaintext_len)
{
    polyval_state pv;
    polyval_init(&pv, auth_key);
    polyval_field(&pv, aad, aad_len);
    polyval_field(&pv, plaintext, plaintext_len);
    uint8_t lengths[AES_BLOCK_LEN];
    store64_le(lengths, (uint64_t)aad_len * 8);
    store64_le(lengths + 8, (uint64_t)plaintext_len * 8);
    polyval_blocks(&pv, lengths, 1);
    uint8_t s[AES_BLOCK_LEN];
    polyval_out(&pv, s);
    for (int i = 0; i < GCM_SIV_NONCE_LEN; i++) s[i] ^= nonce[i];
    s[15] &= 0x7f;
    aes_encrypt_pass(enc_key, s, 1);
    memcpy(tag, s, AES_BLOCK_LEN);
}

/* CTR mode keyed by the tag: a 32-bit little-endian counter in bytes 0..3. */
static void ctr_xor(const aes_key *enc_key, const uint8_t tag[GCM_SIV_TAG_LEN], uint8_t *out, const uint8_t *in,
                    size_t len)
{
    uint8_t keystream[AES_PASS_BLOCKS * AES_BLOCK_LEN];
    uint32_t counter = (uint32_t)tag[0] | (uint32_t)tag[1] << 8 | (uint32_t)tag[2] << 16 | (uint32_t)tag[3] << 24;
    for (size_t done = 0; done < len; done += sizeof keystream) {
        size_t n = len - done < sizeof keystream ? len - done : sizeof keystream;
        size_t blocks = (n + AES_BLOCK_LEN - 1) / AES_BLOCK_LEN;
        for (size_t b = 0; b < blocks; b++, counter++) {
            uint8_t *block = keystream + b * AES_BLOCK_LEN;
            memcpy(block, tag, AES_BLOCK_LEN);
            block[15] |= 0x80;
            for (int i = 0; i < 4; i++) block[i] = (uint8_t)(counter >> (8 * i));
        }
        aes_encrypt_pass(enc_key, keystream, blocks);
        for (size_t i = 0; i < n; i++) out[done + i] = in[done + i] ^ keystream[i];
    }
    secure_zero(keystream, sizeof keystream);
}

void gcm_siv_seal(uint8_t *out, const uint8_t key[GCM_SIV_KEY_LEN], const uint8_t nonce[GCM_SIV_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *plaintext, size_t plaintext_len)
{
    uint8_t auth_key[16], tag[GCM_SIV_TAG_LEN];
    aes_key enc_key;
    derive_keys(auth_key, &enc_key, key, nonce);
    compute_tag(tag, auth_key, &enc_key, nonce, aad, aad_len, plaintext, plaintext_len);
    ctr_xor(&enc_key, tag, out, plaintext, plaintext_len);
    memcpy(out + plaintext_len, tag, GCM_SIV_TAG_LEN);
    secure_zero(auth_key, sizeof auth_key);
    secure_zero(&enc_key, sizeof enc_key);
}

int gcm_siv_open(uint8_t *out, const uint8_t key[GCM_SIV_KEY_LEN], const uint8_t nonce[GCM_SIV_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, const uint8_t *sealed, size_t sealed_len)
{
    if (sealed_len < GCM_SIV_TAG_LEN) return -1;
    size_t plaintext_len = sealed_len - GCM_SIV_TAG_LEN;
    uint8_t auth_key[16], received_tag[GCM_SIV_TAG_LEN], expected_tag[GCM_SIV_TAG_LEN];
    aes_key enc_key;
    memcpy(received_tag, sealed + plaintext_len, GCM_SIV_TAG_LEN);
    derive_keys(auth_key, &enc_key, key, nonce);
    ctr_xor(&enc_key, received_tag, out, sealed, plaintext_len);
    compute_tag(expected_tag, auth_key, &enc_key, nonce, aad, aad_len, out, plaintext_len);
    bool ok = ct_equal(expected_tag, received_tag, GCM_SIV_TAG_LEN);
    if (!ok) secure_zero(out, plaintext_len);
    secure_zero(auth_key, sizeof auth_key);
    secure_zero(&enc_key, sizeof enc_key);
    return ok ? 0 : -1;
}
