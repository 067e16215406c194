/* BLAKE3, portable, written from the BLAKE3 specification: 1 KiB chunks
 * of 64-byte blocks, a binary tree of chaining values, and an output of any
 * length read from the root node. */
#include "crypto/crypto.h"

#include <string.h>

#define CHUNK_LEN 1024
#define BLOCK_LEN 64

enum {
    CHUNK_START = 1 << 0,
    CHUNK_END = 1 << 1,
    PARENT = 1 << 2,
    ROOT = 1 << 3,
    KEYED_HASH = 1 << 4,
    DERIVE_KEY_CONTEXT = 1 << 5,
    DERIVE_KEY_MATERIAL = 1 << 6,
};

static const uint32_t IV[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                               0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

/* message word order of round r+1 in terms of round r */
static const uint8_t MSG_PERMUTATION[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

static uint32_t rotr32(uint32_t x, unsigned n)
{
    return x >> n | x << (32 - n);
}

static uint32_t load32_le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store32_le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void mix(uint32_t s[16], int a, int b, int c, int d, uint32_t mx, uint32_t my)
{
    s[a] = s[a] + s[b] + mx;
    s[d] = rotr32(s[d] ^ s[a], 16);
    s[c] = s[c] + s[d];
    s[b] = rotr32(s[b] ^ s[c], 12);
    s[a] = s[a] + s[b] + my;
    s[d] = rotr32(s[d] ^ s[a], 8);
    s[c] = s[c] + s[d];
    s[b] = rotr32(s[b] ^ s[c], 7);
}

/* The compression function; out receives all 16 words (the first 8 are the
 * chaining value, all 16 are root output). */
static void compress(uint32_t out[16], const uint32_t cv[8], const uint8_t block[BLOCK_LEN], uint64_t counter,
                     uint32_t block_len, uint32_t flags)
{
    uint32_t m[16], s[16];
    for (int i = 0; i < 16; i++) m[i] = load32_le(block + 4 * i);
    memcpy(s, cv, 8 * sizeof(uint32_t));
    memcpy(s + 8, IV, 4 * sizeof(uint32_t));
    s[12] = (uint32_t)counter;
    s[13] = (uint32_t)(counter >> 32);
    s[14] = block_len;
    s[15] = flags;
    for (int round = 0; round < 7; round++) {
        mix(s, 0, 4, 8, 12, m[0], m[1]);
        mix(s, 1, 5, 9, 13, m[2], m[3]);
        mix(s, 2, 6, 10, 14, m[4], m[5]);
        mix(s, 3, 7, 11, 15, m[6], m[7]);
        mix(s, 0, 5, 10, 15, m[8], m[9]);
        mix(s, 1, 6, 11, 12, m[10], m[11]);
        mix(s, 2, 7, 8, 13, m[12], m[13]);
        mix(s, 3, 4, 9, 14, m[14], m[15]);
        uint32_t permuted[16];
        for (int i = 0; i < 16; i++) permuted[i] = m[MSG_PERMUTATION[i]];
        memcpy(m, permuted, sizeof m);
    }
    for (int i = 0; i < 8; i++) {
        out[i] = s[i] ^ s[i + 8];
        out[i + 8] = s[i + 8] ^ cv[i];
    }
}

/* A node not yet compressed: the last block of a chunk, or a parent. */
typedef struct {
    uint32_t cv[8];
    uint8_t block[BLOCK_LEN];
    uint64_t counter;
    uint32_t block_len;
    uint32_t flags;
} pending_node;

static void node_chaining_value(const pending_node *node, uint32_t cv[8])
{
    uint32_t out[16];
    compress(out, node->cv, node->block, node->counter, node->block_len, node->flags);
    memcpy(cv, out, 8 * sizeof(uint32_t));
}

static void parent_node(pending_node *node, const uint32_t left[8], const uint32_t right[8],
                        const uint32_t key[8], uint32_t flags)
{
    memcpy(node->cv, key, 8 * sizeof(uint32_t));
    for (int i = 0; i < 8; i++) {
        store32_le(node->block + 4 * i, left[i]);
        store32_le(node->block + 32 + 4 * i, right[i]);
    }
    node->counter = 0;
    node->block_len = BLOCK_LEN;
    node->flags = flags | PARENT;
}

static void chunk_reset(blake3_hasher *h, uint64_t chunk_counter)
{
    memcpy(h->chunk_cv, h->key, sizeof h->key);
    h->chunk_counter = chunk_counter;
    h->block_len = 0;
    h->blocks_compressed = 0;
}

static uint32_t chunk_start_flag(const blake3_hasher *h)
{
    return h->blocks_compressed == 0 ? CHUNK_START : 0;
}

static void chunk_pending_node(const blake3_hasher *h, pending_node *node)
{
    memcpy(node->cv, h->chunk_cv, sizeof h->chunk_cv);
    memset(node->block, 0, BLOCK_LEN);
    memcpy(node->block, h->block, h->block_len);
    node->counter = h->chunk_counter;
    node->block_len = h->block_len;
    node->flags = h->flags | chunk_start_flag(h) | CHUNK_END;
}

static void hasher_init(blake3_hasher *h, const uint32_t key[8], uint32_t flags)
{
    memcpy(h->key, key, sizeof h->key);
    h->flags = flags;
    h->stack_len = 0;
    chunk_reset(h, 0);
}

void blake3_init(blake3_hasher *hasher)
{
    hasher_init(hasher, IV, 0);
}

void blake3_init_keyed(blake3_hasher *hasher, const uint8_t key[BLAKE3_KEY_LEN])
{
    uint32_t key_words[8];
    for (int i = 0; i < 8; i++) key_words[i] = load32_le(key + 4 * i);
    hasher_init(hasher, key_words, KEYED_HASH);
}

void blake3_init_derive_key(blake3_hasher *hasher, const char *context)
{
    blake3_hasher context_hasher;
    hasher_init(&context_hasher, IV, DERIVE_KEY_CONTEXT);
    blake3_update(&context_hasher, (const uint8_t *)context, strlen(context));
    uint8_t context_key[BLAKE3_KEY_LEN];
    blake3_finalize_seek(&context_hasher, 0, context_key, sizeof context_key);
    uint32_t key_words[8];
    for (int i = 0; i < 8; i++) key_words[i] = load32_le(context_key + 4 * i);
    hasher_init(hasher, key_words, DERIVE_KEY_MATERIAL);
}

/* Merges completed subtrees: a chunk count with k trailing zero bits means
 * k subtrees on the stack are now complete. */
static void push_chunk_cv(blake3_hasher *h, uint32_t cv[8], uint64_t total_chunks)
{
    while ((total_chunks & 1) == 0) {
        pending_node parent;
        parent_node(&parent, h->cv_stack[--h->stack_len], cv, h->key, h->flags);
        node_chaining_value(&parent, cv);
        total_chunks >>= 1;
    }
    memcpy(h->cv_stack[h->stack_len++], cv, 8 * sizeof(uint32_t));
}

void blake3_update(blake3_hasher *h, const uint8_t *data, size_t len)
{
    while (len > 0) {
        if (h->blocks_compressed * BLOCK_LEN + h->block_len == CHUNK_LEN) {
            /* the chunk is full and more input follows, so it is not the root */
            pending_node node;
            uint32_t cv[8];
            chunk_pending_node(h, &node);
            node_chaining_value(&node, cv);
            push_chunk_cv(h, cv, h->chunk_counter + 1);
            chunk_reset(h, h->chunk_counter + 1);
        }
        if (h->block_len == BLOCK_LEN) {
            uint32_t out[16];
            compress(out, h->chunk_cv, h->block, h->chunk_counter, BLOCK_LEN, h->flags | chunk_start_flag(h));
            memcpy(h->chunk_cv, out, sizeof h->chunk_cv);
            h->blocks_compressed++;
            h->block_len = 0;
        }
        size_t take = BLOCK_LEN - h->block_len;
        if (take > len) take = len;
        memcpy(h->block + h->block_len, data, take);
        h->block_len = (uint8_t)(h->block_len + take);
        data += take;
        len -= take;
    }
}

void blake3_finalize_seek(const blake3_hasher *h, uint64_t seek, uint8_t *out, size_t out_len)
{
    pending_node root;
    chunk_pending_node(h, &root);
    for (int i = h->stack_len - 1; i >= 0; i--) {
        uint32_t right[8];
        node_chaining_value(&root, right);
        parent_node(&root, h->cv_stack[i], right, h->key, h->flags);
    }
    uint64_t block_counter = seek / BLOCK_LEN;
    size_t offset = (size_t)(seek % BLOCK_LEN);
    while (out_len > 0) {
        uint32_t words[16];
        uint8_t bytes[BLOCK_LEN];
        compress(words, root.cv, root.block, block_counter++, root.block_len, root.flags | ROOT);
        for (int i = 0; i < 16; i++) store32_le(bytes + 4 * i, words[i]);
        size_t take = BLOCK_LEN - offset;
        if (take > out_len) take = out_len;
        memcpy(out, bytes + offset, take);
        out += take;
        out_len -= take;
        offset = 0;
    }
}

void blake3_hash(uint8_t digest[BLAKE3_LEN], const uint8_t *data, size_t len)
{
    blake3_hasher h;
    blake3_init(&h);
    blake3_update(&h, data, len);
    blake3_finalize_seek(&h, 0, digest, BLAKE3_LEN);
}
