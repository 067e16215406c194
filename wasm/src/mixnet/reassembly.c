/* Reassembly of fragments into padded messages: sets are filled in any
 * order, and a message is complete when its set and every set it links to
 * (backwards and forwards, each link confirmed from both sides) are full. */
#include "mixnet/mixnet.h"

#include <stdlib.h>
#include <string.h>

/* Completed set ids remembered to drop late retransmitted duplicates.
 * Nym keeps them forever; a ring of this size covers a 2 GB message. */
#define RECENT_SETS 4096

typedef struct reassembly_set {
    uint32_t set_id;
    uint8_t total;
    uint8_t received;
    uint32_t previous_set_id; /* known once fragment 1 is in */
    uint32_t next_set_id;     /* known once fragment 255 is in */
    uint64_t last_update_ns;
    size_t bytes;     /* of the chunks: the set's share of the message */
    size_t footprint; /* what the set holds in memory, bookkeeping included */
    uint8_t **chunks;
    size_t *chunk_lens;
    struct reassembly_set *next;
} reassembly_set;

struct mixnet_reassembler {
    reassembly_set *sets;
    size_t set_count;
    size_t buffered_bytes; /* the sets' footprints */
    size_t max_buffered_bytes;
    uint32_t recent[RECENT_SETS];
    size_t recent_next;
};

mixnet_reassembler *mixnet_reassembler_create(size_t max_buffered_bytes)
{
    mixnet_reassembler *r = calloc(1, sizeof *r);
    if (r) r->max_buffered_bytes = max_buffered_bytes;
    return r;
}

static void set_free(reassembly_set *s)
{
    for (size_t i = 0; i < s->total; i++) free(s->chunks[i]);
    free(s->chunks);
    free(s->chunk_lens);
    free(s);
}

void mixnet_reassembler_destroy(mixnet_reassembler *r)
{
    if (!r) return;
    while (r->sets) {
        reassembly_set *s = r->sets;
        r->sets = s->next;
        set_free(s);
    }
    free(r);
}

size_t mixnet_reassembler_buffered_bytes(const mixnet_reassembler *r)
{
    return r->buffered_bytes;
}

static reassembly_set *set_find(const mixnet_reassembler *r, uint32_t set_id)
{
    for (reassembly_set *s = r->sets; s; s = s->next)
        if (s->set_id == set_id) return s;
    return NULL;
}

static void set_remove(mixnet_reassembler *r, reassembly_set *target)
{
    for (reassembly_set **p = &r->sets; *p; p = &(*p)->next) {
        if (*p == target) {
            *p = target->next;
            r->set_count--;
            r->buffered_bytes -= target->footprint;
            set_free(target);
            return;
        }
    }
}

static bool recently_completed(const mixnet_reassembler *r, uint32_t set_id)
{
    for (size_t i = 0; i < RECENT_SETS; i++)
        if (r->recent[i] == set_id) return true;
    return false;
}

static reassembly_set *set_create(mixnet_reassembler *r, uint32_t set_id, uint8_t total)
{
    reassembly_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->chunks = calloc(total, sizeof *s->chunks);
    s->chunk_lens = calloc(total, sizeof *s->chunk_lens);
    if (!s->chunks || !s->chunk_lens) {
        free(s->chunks);
        free(s->chunk_lens);
        free(s);
        return NULL;
    }
    s->set_id = set_id;
    s->total = total;
    /* counted, so that many sets of tiny fragments cannot hide behind the bound */
    s->footprint = sizeof *s + total * (sizeof *s->chunks + sizeof *s->chunk_lens);
    r->buffered_bytes += s->footprint;
    s->next = r->sets;
    r->sets = s;
    r->set_count++;
    return s;
}

static bool set_complete(const reassembly_set *s)
{
    return s && s->received == s->total;
}

/* Evicts the sets that waited longest until the buffer fits its bound again. */
static void enforce_bound(mixnet_reassembler *r)
{
    while (r->buffered_bytes > r->max_buffered_bytes && r->sets) {
        reassembly_set *oldest = r->sets;
        for (reassembly_set *s = r->sets; s; s = s->next)
            if (s->last_update_ns < oldest->last_update_ns) oldest = s;
        set_remove(r, oldest);
    }
}

/* The first set of the message `s` belongs to, if the whole chain is in. */
static reassembly_set *chain_head(const mixnet_reassembler *r, reassembly_set *s)
{
    /* a step limit: crafted links may form a cycle */
    for (size_t steps = 0; s->previous_set_id; steps++) {
        reassembly_set *prev = set_find(r, s->previous_set_id);
        if (steps == r->set_count || !set_complete(prev) || prev->next_set_id != s->set_id) return NULL;
        s = prev;
    }
    return s;
}

/* Counts the sets from head to the end of the chain and their bytes, or 0
 * when a set is missing or incomplete. */
static size_t chain_length(const mixnet_reassembler *r, reassembly_set *head, size_t *bytes)
{
    size_t sets = 0;
    *bytes = 0;
    for (reassembly_set *s = head; s;) {
        if (sets == r->set_count) return 0;
        sets++;
        *bytes += s->bytes;
        if (!s->next_set_id) return sets;
        reassembly_set *next = set_find(r, s->next_set_id);
        if (!set_complete(next) || next->previous_set_id != s->set_id) return 0;
        s = next;
    }
    return 0;
}

static int chain_extract(mixnet_reassembler *r, reassembly_set *head, uint8_t **message, size_t *message_len)
{
    size_t bytes;
    size_t sets = chain_length(r, head, &bytes);
    if (sets == 0) return MIXNET_FRAGMENT_STORED;
    uint8_t *out = malloc(bytes ? bytes : 1);
    if (!out) return MIXNET_ERR_MEMORY;
    size_t used = 0;
    for (reassembly_set *s = head; s;) {
        for (size_t i = 0; i < s->total; i++) {
            memcpy(out + used, s->chunks[i], s->chunk_lens[i]);
            used += s->chunk_lens[i];
        }
        r->recent[r->recent_next] = s->set_id;
        r->recent_next = (r->recent_next + 1) % RECENT_SETS;
        reassembly_set *next = s->next_set_id ? set_find(r, s->next_set_id) : NULL;
        set_remove(r, s);
        s = next;
    }
    *message = out;
    *message_len = bytes;
    return MIXNET_FRAGMENT_COMPLETED;
}

int mixnet_reassembler_insert(mixnet_reassembler *r, const mixnet_fragment *f, uint64_t now_ns, uint8_t **message,
                              size_t *message_len)
{
    if (f->set_id == 0 || f->position == 0 || f->position > f->total) return MIXNET_ERR_MALFORMED;
    if (recently_completed(r, f->set_id)) return MIXNET_FRAGMENT_DUPLICATE;
    reassembly_set *s = set_find(r, f->set_id);
    if (!s) {
        s = set_create(r, f->set_id, f->total);
        if (!s) return MIXNET_ERR_MEMORY;
    } else if (s->total != f->total) {
        return MIXNET_ERR_MALFORMED;
    }
    size_t slot = (size_t)f->position - 1;
    if (s->chunks[slot]) return MIXNET_FRAGMENT_DUPLICATE;
    uint8_t *chunk = malloc(f->chunk_len ? f->chunk_len : 1);
    if (!chunk) return MIXNET_ERR_MEMORY;
    memcpy(chunk, f->chunk, f->chunk_len);
    s->chunks[slot] = chunk;
    s->chunk_lens[slot] = f->chunk_len;
    s->received++;
    s->bytes += f->chunk_len;
    s->footprint += f->chunk_len;
    r->buffered_bytes += f->chunk_len;
    s->last_update_ns = now_ns;
    if (f->position == 1) s->previous_set_id = f->previous_set_id;
    if (f->position == MIXNET_MAX_SET_FRAGMENTS) s->next_set_id = f->next_set_id;
    enforce_bound(r);
    /* the set may just have been evicted */
    s = set_find(r, f->set_id);
    if (!set_complete(s)) return MIXNET_FRAGMENT_STORED;
    reassembly_set *head = chain_head(r, s);
    return head ? chain_extract(r, head, message, message_len) : MIXNET_FRAGMENT_STORED;
}

void mixnet_reassembler_purge_stale(mixnet_reassembler *r, uint64_t now_ns, uint64_t max_idle_ns)
{
    reassembly_set *s = r->sets;
    while (s) {
        reassembly_set *next = s->next;
        if (now_ns >= s->last_update_ns && now_ns - s->last_update_ns >= max_idle_ns) set_remove(r, s);
        s = next;
    }
}
