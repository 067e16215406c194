/* Padding and fragmentation. A padded message is cut into sets of at most
 * 255 fragments. Within a set every chunk is full-sized (fragment_len - 7),
 * except that a set linked to a previous one starts with a linked fragment
 * and a set linked to a next one ends with one (fragment_len - 10 each),
 * so a first set holds 255 U - 3 bytes and a middle set 255 U - 6. */
#include "mixnet/mixnet.h"

#include <string.h>

#define SET_ID_TOP_BIT 0x80000000u
#define LINK_OVERHEAD (MIXNET_LINKED_HEADER_LEN - MIXNET_UNLINKED_HEADER_LEN)

/* chunk sizes and set capacities for one fragment length */
typedef struct {
    size_t unlinked;    /* U */
    size_t linked;      /* U - 3 */
    size_t single_set;  /* 255 U: a message alone in one set */
    size_t edge_set;    /* 255 U - 3: a first set, or the most a last set holds */
    size_t middle_set;  /* 255 U - 6 */
} set_geometry;

static set_geometry geometry_of(size_t fragment_len)
{
    set_geometry g;
    g.unlinked = fragment_len - MIXNET_UNLINKED_HEADER_LEN;
    g.linked = fragment_len - MIXNET_LINKED_HEADER_LEN;
    g.single_set = MIXNET_MAX_SET_FRAGMENTS * g.unlinked;
    g.edge_set = g.single_set - LINK_OVERHEAD;
    g.middle_set = g.single_set - 2 * LINK_OVERHEAD;
    return g;
}

static size_t div_ceil(size_t a, size_t b)
{
    return a / b + (a % b != 0);
}

size_t mixnet_set_count(size_t padded_len, size_t fragment_len)
{
    set_geometry g = geometry_of(fragment_len);
    if (padded_len <= g.single_set) return 1;
    if (padded_len <= 2 * g.edge_set) return 2;
    return 2 + div_ceil(padded_len - 2 * g.edge_set, g.middle_set);
}

/* Where set `set` starts in the message, for a message of set_count > 1 sets. */
static size_t linked_set_offset(const set_geometry *g, size_t set)
{
    return set == 0 ? 0 : g->edge_set + (set - 1) * g->middle_set;
}

/* Fragments in the last set of a message split into several sets. */
static size_t last_set_fragments(const set_geometry *g, size_t last_set_len)
{
    return last_set_len <= g->linked ? 1 : 1 + div_ceil(last_set_len - g->linked, g->unlinked);
}

size_t mixnet_fragment_count(size_t padded_len, size_t fragment_len)
{
    set_geometry g = geometry_of(fragment_len);
    size_t sets = mixnet_set_count(padded_len, fragment_len);
    if (sets == 1) return padded_len == 0 ? 1 : div_ceil(padded_len, g.unlinked);
    size_t last_len = padded_len - linked_set_offset(&g, sets - 1);
    return (sets - 1) * MIXNET_MAX_SET_FRAGMENTS + last_set_fragments(&g, last_len);
}

size_t mixnet_padded_len(size_t message_len, size_t fragment_len)
{
    /* at least the 0x01 marker, then enough zeros to fill the last fragment */
    size_t needed = message_len + 1;
    set_geometry g = geometry_of(fragment_len);
    size_t sets = mixnet_set_count(needed, fragment_len);
    if (sets == 1) return div_ceil(needed, g.unlinked) * g.unlinked;
    size_t last_offset = linked_set_offset(&g, sets - 1);
    size_t last_fragments = last_set_fragments(&g, needed - last_offset);
    return last_offset + g.linked + (last_fragments - 1) * g.unlinked;
}

void mixnet_pad(uint8_t *buf, size_t message_len, size_t padded_len)
{
    buf[message_len] = 0x01;
    memset(buf + message_len + 1, 0, padded_len - message_len - 1);
}

int mixnet_unpad(const uint8_t *padded, size_t len, size_t *message_len)
{
    for (size_t i = len; i > 0; i--) {
        if (padded[i - 1] == 0x01) {
            *message_len = i - 1;
            return 0;
        }
    }
    return MIXNET_ERR_MALFORMED;
}

uint32_t mixnet_set_id_random(void)
{
    uint32_t id;
    do {
        random_bytes((uint8_t *)&id, sizeof id);
        id &= ~SET_ID_TOP_BIT;
    } while (id == 0);
    return id;
}

static void write_u32_be(uint8_t *out, uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

static uint32_t read_u32_be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void mixnet_fragment_id_encode(uint8_t out[MIXNET_FRAGMENT_ID_LEN], uint32_t set_id, uint8_t position)
{
    write_u32_be(out, set_id);
    out[4] = position;
}

void mixnet_fragment_id_decode(const uint8_t id[MIXNET_FRAGMENT_ID_LEN], uint32_t *set_id, uint8_t *position)
{
    *set_id = read_u32_be(id);
    *position = id[4];
}

/* Where fragment `index` lies: its set, header fields and chunk. */
static void fragment_locate(mixnet_fragment *f, size_t *offset, const set_geometry *g, size_t padded_len,
                            const uint32_t *set_ids, size_t sets, size_t index)
{
    size_t set = index / MIXNET_MAX_SET_FRAGMENTS;
    size_t position = index % MIXNET_MAX_SET_FRAGMENTS + 1;
    memset(f, 0, sizeof *f);
    f->set_id = set_ids[set];
    f->position = (uint8_t)position;
    if (sets == 1) {
        f->total = (uint8_t)div_ceil(padded_len, g->unlinked);
        *offset = (position - 1) * g->unlinked;
        f->chunk_len = g->unlinked;
    } else {
        size_t start = linked_set_offset(g, set);
        bool last = set == sets - 1;
        f->total = last ? (uint8_t)last_set_fragments(g, padded_len - start) : MIXNET_MAX_SET_FRAGMENTS;
        if (set > 0 && position == 1) f->previous_set_id = set_ids[set - 1];
        if (!last && position == MIXNET_MAX_SET_FRAGMENTS) f->next_set_id = set_ids[set + 1];
        size_t first_len = set > 0 ? g->linked : g->unlinked;
        *offset = start + (position == 1 ? 0 : first_len + (position - 2) * g->unlinked);
        f->chunk_len = f->previous_set_id || f->next_set_id ? g->linked : g->unlinked;
    }
    if (f->chunk_len > padded_len - *offset) f->chunk_len = padded_len - *offset;
}

int mixnet_fragment_build(uint8_t *out, size_t out_cap, const uint8_t *padded, size_t padded_len, size_t fragment_len,
                          const uint32_t *set_ids, size_t index, mixnet_fragment *info)
{
    if (fragment_len <= MIXNET_LINKED_HEADER_LEN || padded_len == 0) return MIXNET_ERR_LENGTH;
    if (index >= mixnet_fragment_count(padded_len, fragment_len)) return MIXNET_ERR_LENGTH;
    set_geometry g = geometry_of(fragment_len);
    mixnet_fragment f;
    size_t offset;
    fragment_locate(&f, &offset, &g, padded_len, set_ids, mixnet_set_count(padded_len, fragment_len), index);
    uint32_t link = f.previous_set_id ? f.previous_set_id : f.next_set_id;
    size_t header_len = link ? MIXNET_LINKED_HEADER_LEN : MIXNET_UNLINKED_HEADER_LEN;
    if (out_cap < header_len + f.chunk_len) return MIXNET_ERR_LENGTH;
    write_u32_be(out, f.set_id | SET_ID_TOP_BIT);
    out[4] = f.total;
    out[5] = f.position;
    if (link)
        write_u32_be(out + 6, link | SET_ID_TOP_BIT);
    else
        out[6] = 0;
    memcpy(out + header_len, padded + offset, f.chunk_len);
    f.chunk = out + header_len;
    if (info) *info = f;
    return (int)(header_len + f.chunk_len);
}

int mixnet_fragment_parse(mixnet_fragment *f, const uint8_t *in, size_t len)
{
    if (len < MIXNET_UNLINKED_HEADER_LEN) return MIXNET_ERR_LENGTH;
    uint32_t flagged_id = read_u32_be(in);
    if (!(flagged_id & SET_ID_TOP_BIT)) return MIXNET_ERR_MALFORMED;
    memset(f, 0, sizeof *f);
    f->set_id = flagged_id & ~SET_ID_TOP_BIT;
    f->total = in[4];
    f->position = in[5];
    if (f->set_id == 0 || f->total == 0 || f->position == 0 || f->position > f->total) return MIXNET_ERR_MALFORMED;
    size_t header_len = MIXNET_UNLINKED_HEADER_LEN;
    if (in[6] != 0) {
        if (len < MIXNET_LINKED_HEADER_LEN) return MIXNET_ERR_LENGTH;
        uint32_t flagged_link = read_u32_be(in + 6);
        uint32_t link = flagged_link & ~SET_ID_TOP_BIT;
        if (!(flagged_link & SET_ID_TOP_BIT) || link == 0 || link == f->set_id) return MIXNET_ERR_MALFORMED;
        /* position 1 links back; only the 255th of 255 links forward */
        if (f->position == 1)
            f->previous_set_id = link;
        else if (f->position == MIXNET_MAX_SET_FRAGMENTS && f->total == MIXNET_MAX_SET_FRAGMENTS)
            f->next_set_id = link;
        else
            return MIXNET_ERR_MALFORMED;
        header_len = MIXNET_LINKED_HEADER_LEN;
    }
    f->chunk = in + header_len;
    f->chunk_len = len - header_len;
    return 0;
}
