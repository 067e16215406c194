/* Both ends of reply SURBs. The original sender keeps each SURB's key,
 * found again by its BLAKE3 digest when a reply arrives and then
 * forgotten. The replier keeps the SURBs it was given, per sender tag, and
 * uses the oldest first. */
#include "mixnet/mixnet.h"

#include <stdlib.h>
#include <string.h>

/* --- reply keys: a hash table on the digest, which is already uniform */

typedef struct reply_key_entry {
    uint8_t digest[BLAKE3_LEN];
    uint8_t key[MIXNET_SURB_KEY_LEN];
    uint64_t created_ns;
    struct reply_key_entry *next;
} reply_key_entry;

struct mixnet_reply_keys {
    reply_key_entry **buckets;
    size_t bucket_count;
    size_t count;
};

#define INITIAL_BUCKETS 64

static size_t digest_bucket(const uint8_t digest[BLAKE3_LEN], size_t bucket_count)
{
    uint64_t h = 0;
    for (size_t i = 0; i < 8; i++) h = h << 8 | digest[i];
    return (size_t)(h % bucket_count);
}

mixnet_reply_keys *mixnet_reply_keys_create(void)
{
    mixnet_reply_keys *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    k->buckets = calloc(INITIAL_BUCKETS, sizeof *k->buckets);
    if (!k->buckets) {
        free(k);
        return NULL;
    }
    k->bucket_count = INITIAL_BUCKETS;
    return k;
}

static void entry_free(reply_key_entry *e)
{
    secure_zero(e, sizeof *e);
    free(e);
}

void mixnet_reply_keys_destroy(mixnet_reply_keys *k)
{
    if (!k) return;
    for (size_t b = 0; b < k->bucket_count; b++) {
        while (k->buckets[b]) {
            reply_key_entry *e = k->buckets[b];
            k->buckets[b] = e->next;
            entry_free(e);
        }
    }
    free(k->buckets);
    free(k);
}

/* Doubles the table; a failed allocation just leaves longer chains. */
static void reply_keys_grow(mixnet_reply_keys *k)
{
    size_t new_count = k->bucket_count * 2;
    reply_key_entry **buckets = calloc(new_count, sizeof *buckets);
    if (!buckets) return;
    for (size_t b = 0; b < k->bucket_count; b++) {
        while (k->buckets[b]) {
            reply_key_entry *e = k->buckets[b];
            k->buckets[b] = e->next;
            size_t nb = digest_bucket(e->digest, new_count);
            e->next = buckets[nb];
            buckets[nb] = e;
        }
    }
    free(k->buckets);
    k->buckets = buckets;
    k->bucket_count = new_count;
}

int mixnet_reply_keys_insert(mixnet_reply_keys *k, const uint8_t key[MIXNET_SURB_KEY_LEN], uint64_t now_ns)
{
    reply_key_entry *e = malloc(sizeof *e);
    if (!e) return MIXNET_ERR_MEMORY;
    mixnet_surb_key_digest(e->digest, key);
    memcpy(e->key, key, MIXNET_SURB_KEY_LEN);
    e->created_ns = now_ns;
    if (k->count >= 2 * k->bucket_count) reply_keys_grow(k);
    size_t b = digest_bucket(e->digest, k->bucket_count);
    e->next = k->buckets[b];
    k->buckets[b] = e;
    k->count++;
    return 0;
}

bool mixnet_reply_keys_take(mixnet_reply_keys *k, const uint8_t digest[BLAKE3_LEN], uint8_t key[MIXNET_SURB_KEY_LEN])
{
    for (reply_key_entry **p = &k->buckets[digest_bucket(digest, k->bucket_count)]; *p; p = &(*p)->next) {
        if (memcmp((*p)->digest, digest, BLAKE3_LEN) == 0) {
            reply_key_entry *e = *p;
            *p = e->next;
            memcpy(key, e->key, MIXNET_SURB_KEY_LEN);
            entry_free(e);
            k->count--;
            return true;
        }
    }
    return false;
}

void mixnet_reply_keys_purge(mixnet_reply_keys *k, uint64_t now_ns, uint64_t max_age_ns)
{
    for (size_t b = 0; b < k->bucket_count; b++) {
        reply_key_entry **p = &k->buckets[b];
        while (*p) {
            reply_key_entry *e = *p;
            if (now_ns >= e->created_ns && now_ns - e->created_ns >= max_age_ns) {
                *p = e->next;
                entry_free(e);
                k->count--;
            } else {
                p = &e->next;
            }
        }
    }
}

size_t mixnet_reply_keys_count(const mixnet_reply_keys *k)
{
    return k->count;
}

/* --- received SURBs: a FIFO per sender tag */

typedef struct {
    uint8_t *bytes;
    size_t len;
    nym_key_rotation rotation;
} stored_surb;

typedef struct tag_surbs {
    uint8_t tag[MIXNET_SENDER_TAG_LEN];
    stored_surb *ring;
    size_t head, count, capacity;
    uint64_t last_received_ns;
    struct tag_surbs *next;
} tag_surbs;

struct mixnet_surb_store {
    tag_surbs *tags;
};

mixnet_surb_store *mixnet_surb_store_create(void)
{
    return calloc(1, sizeof(mixnet_surb_store));
}

void mixnet_surb_store_destroy(mixnet_surb_store *s)
{
    if (!s) return;
    while (s->tags) {
        tag_surbs *t = s->tags;
        s->tags = t->next;
        for (size_t i = 0; i < t->count; i++) free(t->ring[(t->head + i) % t->capacity].bytes);
        free(t->ring);
        free(t);
    }
    free(s);
}

static tag_surbs *tag_find(const mixnet_surb_store *s, const uint8_t tag[MIXNET_SENDER_TAG_LEN])
{
    for (tag_surbs *t = s->tags; t; t = t->next)
        if (memcmp(t->tag, tag, MIXNET_SENDER_TAG_LEN) == 0) return t;
    return NULL;
}

/* Makes room for `more` entries, keeping the order. */
static int ring_reserve(tag_surbs *t, size_t more)
{
    if (t->count + more <= t->capacity) return 0;
    size_t capacity = t->capacity ? t->capacity : 16;
    while (capacity < t->count + more) capacity *= 2;
    stored_surb *ring = malloc(capacity * sizeof *ring);
    if (!ring) return MIXNET_ERR_MEMORY;
    for (size_t i = 0; i < t->count; i++) ring[i] = t->ring[(t->head + i) % t->capacity];
    free(t->ring);
    t->ring = ring;
    t->head = 0;
    t->capacity = capacity;
    return 0;
}

int mixnet_surb_store_add(mixnet_surb_store *s, const uint8_t tag[MIXNET_SENDER_TAG_LEN], const mixnet_surb_list *list,
                          uint64_t now_ns)
{
    tag_surbs *t = tag_find(s, tag);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t) return MIXNET_ERR_MEMORY;
        memcpy(t->tag, tag, MIXNET_SENDER_TAG_LEN);
        t->next = s->tags;
        s->tags = t;
    }
    t->last_received_ns = now_ns;
    if (ring_reserve(t, list->count) < 0) return MIXNET_ERR_MEMORY;
    for (size_t i = 0; i < list->count; i++) {
        uint8_t *bytes = malloc(list->surb_len);
        if (!bytes) return MIXNET_ERR_MEMORY;
        memcpy(bytes, list->surbs + i * list->surb_len, list->surb_len);
        t->ring[(t->head + t->count) % t->capacity] = (stored_surb){bytes, list->surb_len, list->rotation};
        t->count++;
    }
    return 0;
}

size_t mixnet_surb_store_count(const mixnet_surb_store *s, const uint8_t tag[MIXNET_SENDER_TAG_LEN])
{
    const tag_surbs *t = tag_find(s, tag);
    return t ? t->count : 0;
}

bool mixnet_surb_store_knows(const mixnet_surb_store *s, const uint8_t tag[MIXNET_SENDER_TAG_LEN])
{
    return tag_find(s, tag) != NULL;
}

uint64_t mixnet_surb_store_last_received_ns(const mixnet_surb_store *s, const uint8_t tag[MIXNET_SENDER_TAG_LEN])
{
    const tag_surbs *t = tag_find(s, tag);
    return t ? t->last_received_ns : 0;
}

int mixnet_surb_store_take(mixnet_surb_store *s, const uint8_t tag[MIXNET_SENDER_TAG_LEN], uint8_t *out,
                           size_t out_cap, nym_key_rotation *rotation)
{
    tag_surbs *t = tag_find(s, tag);
    if (!t || t->count == 0) return MIXNET_ERR_NO_SURBS;
    stored_surb *oldest = &t->ring[t->head];
    if (out_cap < oldest->len) return MIXNET_ERR_LENGTH;
    memcpy(out, oldest->bytes, oldest->len);
    int len = (int)oldest->len;
    *rotation = oldest->rotation;
    free(oldest->bytes);
    t->head = (t->head + 1) % t->capacity;
    t->count--;
    return len;
}
