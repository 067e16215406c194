/* The message layer's parts on their own: padding and set splitting,
 * fragment headers, reassembly, NymMessage encoding, end-to-end payloads,
 * acks, routes and delays. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mixnet/mixnet.h"

/* --- padding and splitting */

/* Nym's number_of_required_fragments(n, p), through our padding of a
 * message of n - 1 bytes: (fragments, bytes of padding beyond the marker). */
static void required_fragments(size_t n, size_t fragment_len, size_t *fragments, size_t *space_left)
{
    size_t padded = mixnet_padded_len(n - 1, fragment_len);
    *fragments = mixnet_fragment_count(padded, fragment_len);
    *space_left = padded - n;
}

static bool required_fragments_are(size_t n, size_t p, size_t fragments, size_t space_left)
{
    size_t f, s;
    required_fragments(n, p, &f, &s);
    return f == fragments && s == space_left;
}

void test_mixnet_padding(void)
{
    /* the cases of Nym's own test of number_of_required_fragments */
    static const size_t plaintext_lens[] = {17, MIXNET_FRAGMENT_LEN, 20, 42, 10000};
    for (size_t i = 0; i < sizeof plaintext_lens / sizeof plaintext_lens[0]; i++) {
        size_t p = plaintext_lens[i], unlinked = p - 7, linked = p - 10;
        size_t edge = 255 * unlinked - 3, middle = 255 * unlinked - 6;
        CHECK(required_fragments_are(unlinked - 5, p, 1, 5));
        CHECK(required_fragments_are(unlinked, p, 1, 0));
        CHECK(required_fragments_are(unlinked + 1, p, 2, unlinked - 1));
        CHECK(required_fragments_are(2 * unlinked, p, 2, 0));
        CHECK(required_fragments_are(unlinked * 42 - 5, p, 42, 5));
        CHECK(required_fragments_are(unlinked * 42, p, 42, 0));
        CHECK(required_fragments_are(edge + linked - 1, p, 256, 1));
        CHECK(required_fragments_are(edge + linked, p, 256, 0));
        CHECK(required_fragments_are(edge + linked + unlinked * 41 - 5, p, 255 + 42, 5));
        CHECK(required_fragments_are(edge + linked + unlinked * 41, p, 255 + 42, 0));
        CHECK(required_fragments_are(edge + 8 * middle + linked - 1, p, 9 * 255 + 1, 1));
        CHECK(required_fragments_are(edge + 8 * middle + linked, p, 9 * 255 + 1, 0));
        CHECK(required_fragments_are(edge + 8 * middle + linked + 41 * unlinked - 5, p, 9 * 255 + 42, 5));
        CHECK(required_fragments_are(edge + 8 * middle + linked + 41 * unlinked, p, 9 * 255 + 42, 0));
    }
    /* Regular packets: 1604 bytes per unlinked fragment, the marker takes one */
    CHECK(mixnet_padded_len(1, MIXNET_FRAGMENT_LEN) == 1604);
    CHECK(mixnet_padded_len(1603, MIXNET_FRAGMENT_LEN) == 1604);
    CHECK(mixnet_padded_len(1604, MIXNET_FRAGMENT_LEN) == 3208);
    CHECK(mixnet_set_count(255 * 1604, MIXNET_FRAGMENT_LEN) == 1);
    CHECK(mixnet_set_count(255 * 1604 + 1, MIXNET_FRAGMENT_LEN) == 2);
    CHECK(mixnet_padded_len(255 * 1604 - 1, MIXNET_FRAGMENT_LEN) == 255 * 1604);
    CHECK(mixnet_padded_len(255 * 1604, MIXNET_FRAGMENT_LEN) == 255 * 1604 - 3 + 1601);

    uint8_t buf[16] = {'a', 'b', 'c'}, *p = buf;
    size_t len;
    mixnet_pad(p, 3, sizeof buf);
    CHECK(buf[3] == 1 && buf[15] == 0);
    CHECK(mixnet_unpad(buf, sizeof buf, &len) == 0 && len == 3);
    buf[3] = 0;
    CHECK(mixnet_unpad(buf, sizeof buf, &len) == MIXNET_ERR_MALFORMED);
    CHECK(mixnet_unpad(buf, 0, &len) == MIXNET_ERR_MALFORMED);
    buf[0] = 1; /* the last 0x01 counts, whatever comes before */
    buf[2] = 1;
    CHECK(mixnet_unpad(buf, sizeof buf, &len) == 0 && len == 2);
}

/* A padded message of n bytes where byte i is a function of i. */
static uint8_t *patterned(size_t n)
{
    uint8_t *m = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) m[i] = (uint8_t)(i * 7 + i / 251);
    return m;
}

/* Splits a padded message and checks every fragment: header, link, size,
 * and that the chunks in order give the message back. */
static void split_check(size_t padded_len, size_t fragment_len)
{
    uint8_t *padded = patterned(padded_len);
    size_t sets = mixnet_set_count(padded_len, fragment_len);
    size_t count = mixnet_fragment_count(padded_len, fragment_len);
    uint32_t *ids = malloc(sets * sizeof *ids);
    for (size_t s = 0; s < sets; s++) ids[s] = 1000 + (uint32_t)s;
    uint8_t *joined = malloc(padded_len), *out = malloc(fragment_len);
    size_t used = 0;
    bool ok = true;
    for (size_t i = 0; i < count && ok; i++) {
        mixnet_fragment built, parsed;
        int n = mixnet_fragment_build(out, fragment_len, padded, padded_len, fragment_len, ids, i, &built);
        ok = n > 0 && mixnet_fragment_parse(&parsed, out, (size_t)n) == 0;
        ok = ok && parsed.set_id == built.set_id && parsed.total == built.total && parsed.position == built.position &&
             parsed.previous_set_id == built.previous_set_id && parsed.next_set_id == built.next_set_id &&
             parsed.chunk_len == built.chunk_len && memcmp(parsed.chunk, built.chunk, built.chunk_len) == 0;
        size_t set = i / 255;
        ok = ok && parsed.set_id == ids[set] && parsed.position == i % 255 + 1;
        ok = ok && parsed.previous_set_id == (set > 0 && parsed.position == 1 ? ids[set - 1] : 0);
        ok = ok && parsed.next_set_id == (set + 1 < sets && parsed.position == 255 ? ids[set + 1] : 0);
        ok = ok && parsed.total == (set + 1 < sets ? 255 : count - 255 * set);
        /* padding leaves no fragment short */
        ok = ok && (size_t)n == fragment_len;
        ok = ok && used + parsed.chunk_len <= padded_len;
        if (ok) memcpy(joined + used, parsed.chunk, parsed.chunk_len);
        used += parsed.chunk_len;
    }
    CHECK(ok && used == padded_len && memcmp(joined, padded, padded_len) == 0);
    CHECK(mixnet_fragment_build(out, fragment_len, padded, padded_len, fragment_len, ids, count, NULL) < 0);
    CHECK(mixnet_fragment_build(out, fragment_len - 1, padded, padded_len, fragment_len, ids, 0, NULL) < 0);
    free(ids);
    free(joined);
    free(out);
    free(padded);
}

void test_mixnet_fragments(void)
{
    /* small fragments make many sets cheap: 13-byte chunks, 3315 bytes a set */
    static const size_t message_lens[] = {0, 1, 12, 13, 255 * 13 - 1, 255 * 13, 2 * (255 * 13 - 3),
                                          2 * (255 * 13 - 3) + 1, 10 * 255 * 13 + 77};
    for (size_t i = 0; i < sizeof message_lens / sizeof message_lens[0]; i++)
        split_check(mixnet_padded_len(message_lens[i], 20), 20);
    split_check(mixnet_padded_len(1, MIXNET_FRAGMENT_LEN), MIXNET_FRAGMENT_LEN);
    split_check(mixnet_padded_len(409020, MIXNET_FRAGMENT_LEN), MIXNET_FRAGMENT_LEN);

    /* header rules */
    uint8_t h[12];
    mixnet_fragment f;
    memcpy(h, "\x80\x00\x30\x39\x03\x02\x00zz", 9);
    CHECK(mixnet_fragment_parse(&f, h, 9) == 0 && f.set_id == 12345 && f.total == 3 && f.position == 2);
    CHECK(f.chunk == h + 7 && f.chunk_len == 2);
    CHECK(mixnet_fragment_parse(&f, h, 7) == 0 && f.chunk_len == 0);
    CHECK(mixnet_fragment_parse(&f, h, 6) == MIXNET_ERR_LENGTH);
    h[0] = 0x00; /* the flag bit */
    CHECK(mixnet_fragment_parse(&f, h, 9) == MIXNET_ERR_MALFORMED);
    memcpy(h, "\x80\x00\x00\x00\x01\x01\x00", 7); /* set id 0 */
    CHECK(mixnet_fragment_parse(&f, h, 7) == MIXNET_ERR_MALFORMED);
    static const uint8_t bad_counts[][2] = {{0, 0}, {1, 0}, {2, 3}, {0, 1}};
    for (size_t i = 0; i < 4; i++) {
        memcpy(h, "\x80\x00\x00\x01", 4);
        h[4] = bad_counts[i][0];
        h[5] = bad_counts[i][1];
        h[6] = 0;
        CHECK(mixnet_fragment_parse(&f, h, 7) == MIXNET_ERR_MALFORMED);
    }
    /* links: back from position 1, forward from 255 of 255, nowhere else */
    memcpy(h, "\x80\x00\x00\x05\x04\x01\x80\x00\x00\x04", 10);
    CHECK(mixnet_fragment_parse(&f, h, 10) == 0 && f.previous_set_id == 4 && f.next_set_id == 0 && f.chunk_len == 0);
    CHECK(mixnet_fragment_parse(&f, h, 9) == MIXNET_ERR_LENGTH);
    memcpy(h, "\x80\x00\x00\x05\xff\xff\x80\x00\x00\x06", 10);
    CHECK(mixnet_fragment_parse(&f, h, 10) == 0 && f.next_set_id == 6 && f.previous_set_id == 0);
    memcpy(h, "\x80\x00\x00\x05\xff\xfe\x80\x00\x00\x06", 10);
    CHECK(mixnet_fragment_parse(&f, h, 10) == MIXNET_ERR_MALFORMED);
    memcpy(h, "\x80\x00\x00\x05\x04\x01\x00\x00\x00\x04", 10); /* second byte 0: unlinked */
    CHECK(mixnet_fragment_parse(&f, h, 10) == 0 && f.previous_set_id == 0 && f.chunk_len == 3);
    memcpy(h, "\x80\x00\x00\x05\x04\x01\x7f\x00\x00\x04", 10); /* link without its flag */
    CHECK(mixnet_fragment_parse(&f, h, 10) == MIXNET_ERR_MALFORMED);
    memcpy(h, "\x80\x00\x00\x05\x04\x01\x80\x00\x00\x05", 10); /* to itself */
    CHECK(mixnet_fragment_parse(&f, h, 10) == MIXNET_ERR_MALFORMED);
    memcpy(h, "\x80\x00\x00\x05\x04\x01\x80\x00\x00\x00", 10); /* to set 0 */
    CHECK(mixnet_fragment_parse(&f, h, 10) == MIXNET_ERR_MALFORMED);

    uint8_t id[MIXNET_FRAGMENT_ID_LEN];
    mixnet_fragment_id_encode(id, 0x12345678, 9);
    CHECK_HEX(id, sizeof id, "1234567809");
    uint32_t set_id_back;
    uint8_t position_back;
    mixnet_fragment_id_decode(id, &set_id_back, &position_back);
    CHECK(set_id_back == 0x12345678 && position_back == 9);
    bool ids_ok = true;
    for (int i = 0; i < 2000; i++) {
        uint32_t set_id = mixnet_set_id_random();
        ids_ok = ids_ok && set_id != 0 && set_id < 0x80000000u;
    }
    CHECK(ids_ok);
}

/* --- reassembly */

typedef struct {
    uint8_t *bytes;
    size_t len;
} raw_fragment;

static raw_fragment *fragments_of(const uint8_t *padded, size_t padded_len, size_t fragment_len, const uint32_t *ids,
                                  size_t *count)
{
    *count = mixnet_fragment_count(padded_len, fragment_len);
    raw_fragment *all = calloc(*count, sizeof *all);
    for (size_t i = 0; i < *count; i++) {
        all[i].bytes = malloc(fragment_len);
        all[i].len = (size_t)mixnet_fragment_build(all[i].bytes, fragment_len, padded, padded_len, fragment_len, ids,
                                                   i, NULL);
    }
    return all;
}

static void fragments_free(raw_fragment *all, size_t count)
{
    for (size_t i = 0; i < count; i++) free(all[i].bytes);
    free(all);
}

static int insert_raw(mixnet_reassembler *r, const raw_fragment *raw, uint64_t now, uint8_t **msg, size_t *len)
{
    mixnet_fragment f;
    if (mixnet_fragment_parse(&f, raw->bytes, raw->len) < 0) return MIXNET_ERR_MALFORMED;
    return mixnet_reassembler_insert(r, &f, now, msg, len);
}

/* a fixed pseudo-random order: the test must not depend on luck */
static size_t next_index(uint32_t *state, size_t n)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 8) % n;
}

void test_mixnet_reassembly(void)
{
    /* four linked sets, fragments shuffled, a third of them twice */
    size_t padded_len = mixnet_padded_len(3 * 255 * 13 + 500, 20);
    CHECK(mixnet_set_count(padded_len, 20) == 4);
    uint8_t *padded = patterned(padded_len);
    uint32_t ids[4] = {77, 78, 79, 80};
    size_t count;
    raw_fragment *frags = fragments_of(padded, padded_len, 20, ids, &count);
    size_t *order = malloc(2 * count * sizeof *order);
    for (size_t i = 0; i < count; i++) order[i] = i;
    uint32_t rng = 1;
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = next_index(&rng, i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    size_t total = count;
    for (size_t i = 0; i < count; i += 3) order[total++] = order[i];

    mixnet_reassembler *r = mixnet_reassembler_create(1 << 20);
    uint8_t *msg = NULL;
    size_t len = 0, completions = 0, duplicates = 0, inserted = 0;
    bool early = false;
    for (size_t k = 0; k < total; k++) {
        int status = insert_raw(r, &frags[order[k]], k, &msg, &len);
        inserted += status == MIXNET_FRAGMENT_STORED;
        duplicates += status == MIXNET_FRAGMENT_DUPLICATE;
        if (status == MIXNET_FRAGMENT_COMPLETED) {
            completions++;
            early = early || inserted != count - 1;
            CHECK(len == padded_len && memcmp(msg, padded, len) == 0);
            free(msg);
        }
    }
    CHECK(completions == 1 && !early && duplicates == total - count);
    CHECK(mixnet_reassembler_buffered_bytes(r) == 0);
    /* late copies of any of its sets are dropped */
    CHECK(insert_raw(r, &frags[0], 0, &msg, &len) == MIXNET_FRAGMENT_DUPLICATE);
    CHECK(insert_raw(r, &frags[count - 1], 0, &msg, &len) == MIXNET_FRAGMENT_DUPLICATE);

    /* a fragment claiming another total for a known set */
    uint8_t odd[20];
    uint32_t other_ids[4] = {500, 501, 502, 503};
    size_t other_count;
    raw_fragment *other = fragments_of(padded, padded_len, 20, other_ids, &other_count);
    CHECK(insert_raw(r, &other[other_count - 1], 1, &msg, &len) == MIXNET_FRAGMENT_STORED);
    memcpy(odd, other[other_count - 2].bytes, 20);
    odd[4] ^= 1; /* total */
    CHECK(insert_raw(r, &(raw_fragment){odd, 20}, 1, &msg, &len) == MIXNET_ERR_MALFORMED);
    /* idle sets go after the timeout, busy ones stay */
    CHECK(insert_raw(r, &other[0], 100, &msg, &len) == MIXNET_FRAGMENT_STORED);
    size_t before = mixnet_reassembler_buffered_bytes(r);
    mixnet_reassembler_purge_stale(r, 150, 100);
    size_t after = mixnet_reassembler_buffered_bytes(r);
    CHECK(after > 0 && after < before);
    mixnet_reassembler_purge_stale(r, 200, 100);
    CHECK(mixnet_reassembler_buffered_bytes(r) == 0);
    fragments_free(other, other_count);
    mixnet_reassembler_destroy(r);

    /* the bound evicts the sets that waited longest; bookkeeping counts, so
     * many sets of tiny fragments cannot slip under it */
    r = mixnet_reassembler_create(20000);
    uint8_t tiny = 0;
    for (uint32_t set = 1; set <= 100; set++) {
        mixnet_fragment f = {.set_id = set, .total = 255, .position = 2, .chunk = &tiny, .chunk_len = 1};
        mixnet_reassembler_insert(r, &f, set, &msg, &len);
    }
    CHECK(mixnet_reassembler_buffered_bytes(r) <= 20000 && mixnet_reassembler_buffered_bytes(r) > 10000);
    /* the newest set is still there, the oldest is gone */
    mixnet_fragment newest = {.set_id = 100, .total = 255, .position = 2, .chunk = &tiny, .chunk_len = 1};
    mixnet_fragment oldest = {.set_id = 1, .total = 255, .position = 2, .chunk = &tiny, .chunk_len = 1};
    CHECK(mixnet_reassembler_insert(r, &newest, 101, &msg, &len) == MIXNET_FRAGMENT_DUPLICATE);
    CHECK(mixnet_reassembler_insert(r, &oldest, 102, &msg, &len) == MIXNET_FRAGMENT_STORED);
    mixnet_reassembler_destroy(r);

    /* crafted links: two full sets naming each other both ways never complete */
    r = mixnet_reassembler_create(1 << 20);
    uint8_t chunk[1] = {0};
    size_t completed = 0;
    for (uint32_t s = 0; s < 2; s++) {
        for (uint32_t p = 1; p <= 255; p++) {
            mixnet_fragment f = {.set_id = 10 + s, .total = 255, .position = (uint8_t)p, .chunk = chunk, .chunk_len = 1};
            if (p == 1) f.previous_set_id = 11 - s;
            if (p == 255) f.next_set_id = 11 - s;
            completed += mixnet_reassembler_insert(r, &f, 0, &msg, &len) == MIXNET_FRAGMENT_COMPLETED;
        }
    }
    CHECK(completed == 0 && mixnet_reassembler_buffered_bytes(r) > 510);
    /* a set that links to one which does not link back waits forever too */
    mixnet_fragment lone = {.set_id = 20, .total = 1, .position = 1, .previous_set_id = 10, .chunk = chunk, .chunk_len = 1};
    CHECK(mixnet_reassembler_insert(r, &lone, 0, &msg, &len) == MIXNET_FRAGMENT_STORED);
    mixnet_reassembler_destroy(r);

    fragments_free(frags, count);
    free(order);
    free(padded);
}

/* --- NymMessages */

/* count 4-hop SURBs of the given version back to back, each behind a key */
static uint8_t *surbs_build(size_t count, uint16_t version, size_t *surb_len)
{
    sphinx_hop route[4];
    for (size_t i = 0; i < 4; i++) {
        memset(&route[i], 0, sizeof route[i]);
        memcpy(route[i].address, "\x04\x06\xfd\x0a\x00\x01", 6);
        route[i].address[6] = (uint8_t)(i + 1);
        uint8_t secret[32];
        random_bytes(secret, sizeof secret);
        x25519_public_key(route[i].public_key, secret);
    }
    uint8_t destination[32] = {9};
    static const uint64_t delays[4] = {1, 2, 3, 0};
    *surb_len = version == SPHINX_VERSION_KEY_SEEDS ? MIXNET_REPLY_SURB_LEN(4) : MIXNET_REPLY_SURB_V1_LEN;
    uint8_t *out = malloc(count * *surb_len + 1);
    for (size_t i = 0; i < count; i++) {
        mixnet_reply_surb s;
        random_bytes(s.key, sizeof s.key);
        sphinx_surb_build(&s.surb, route, 4, destination, delays, version, NULL);
        mixnet_reply_surb_encode(&s, out + i * *surb_len, *surb_len);
    }
    return out;
}

static bool round_trips(const mixnet_message *m, uint8_t *buf, size_t cap, mixnet_message *parsed)
{
    size_t len = mixnet_message_encoded_len(m);
    return mixnet_message_encode(m, buf, cap) == (int)len && mixnet_message_parse(parsed, buf, len) == 0 &&
           parsed->type == m->type && parsed->content == m->content;
}

void test_mixnet_messages(void)
{
    uint8_t buf[8192];
    mixnet_message parsed;
    mixnet_message plain = {.type = MIXNET_MESSAGE_PLAIN, .data = (const uint8_t *)"hello", .data_len = 5};
    CHECK(round_trips(&plain, buf, sizeof buf, &parsed) && parsed.data_len == 5 && memcmp(parsed.data, "hello", 5) == 0);
    CHECK(buf[0] == 0 && mixnet_message_encoded_len(&plain) == 6);
    plain.data_len = 0;
    CHECK(round_trips(&plain, buf, sizeof buf, &parsed) && parsed.data_len == 0);
    CHECK(mixnet_message_encode(&plain, buf, 0) == MIXNET_ERR_LENGTH);

    size_t surb_len;
    uint8_t *surbs = surbs_build(3, SPHINX_VERSION_KEY_SEEDS, &surb_len);
    mixnet_message repliable = {.type = MIXNET_MESSAGE_REPLIABLE,
                                .content = MIXNET_REPLIABLE_DATA_V2,
                                .surbs = {surbs, 3, surb_len, 4, NYM_ROTATION_EVEN},
                                .data = (const uint8_t *)"data",
                                .data_len = 4};
    memset(repliable.sender_tag, 0xab, 16);
    CHECK(round_trips(&repliable, buf, sizeof buf, &parsed));
    CHECK(mixnet_message_encoded_len(&repliable) == 1 + 16 + 1 + 4 + 3 * 460 + 4);
    CHECK(memcmp(buf + 18, "\x00\x03\x04\x02", 4) == 0);
    CHECK(parsed.surbs.count == 3 && parsed.surbs.hops == 4 && parsed.surbs.rotation == NYM_ROTATION_EVEN);
    CHECK(memcmp(parsed.surbs.surbs, surbs, 3 * 460) == 0 && parsed.data_len == 4 && memcmp(parsed.data, "data", 4) == 0);
    CHECK(parsed.sender_tag[0] == 0xab && parsed.sender_tag[15] == 0xab);

    /* broken lists: a rotation byte of 3, fewer bytes than the count says, a SURB with a bad first hop */
    size_t len = mixnet_message_encoded_len(&repliable);
    buf[21] = 3;
    CHECK(mixnet_message_parse(&parsed, buf, len) == MIXNET_ERR_MALFORMED);
    buf[21] = 2;
    CHECK(mixnet_message_parse(&parsed, buf, 1 + 16 + 1 + 4 + 3 * 460 - 1) == MIXNET_ERR_LENGTH);
    buf[22 + 460 + 16 + 348] = 0x05;
    CHECK(mixnet_message_parse(&parsed, buf, len) == MIXNET_ERR_MALFORMED);
    buf[17] = 6; /* no such content */
    CHECK(mixnet_message_parse(&parsed, buf, len) == MIXNET_ERR_MALFORMED);
    CHECK(mixnet_message_parse(&parsed, buf, 17) == MIXNET_ERR_LENGTH);
    buf[17] = 3;
    CHECK(mixnet_message_parse(&parsed, buf, 18) == MIXNET_ERR_LENGTH);

    /* SURB-only contents: no data; Nym tolerates trailing bytes */
    mixnet_message more = repliable;
    more.content = MIXNET_REPLIABLE_ADDITIONAL_SURBS_V2;
    CHECK(round_trips(&more, buf, sizeof buf, &parsed) && parsed.data == NULL && parsed.surbs.count == 3);
    len = mixnet_message_encoded_len(&more);
    CHECK(len == 1 + 16 + 1 + 4 + 3 * 460);
    CHECK(mixnet_message_parse(&parsed, buf, len + 5) == 0 && parsed.data_len == 0);
    more.surbs.count = 0;
    CHECK(round_trips(&more, buf, sizeof buf, &parsed) && parsed.surbs.count == 0);
    more.content = MIXNET_REPLIABLE_HEARTBEAT_V2;
    CHECK(round_trips(&more, buf, sizeof buf, &parsed));
    free(surbs);

    /* V1 lists: u32 count, 4-hop SURBs with full keys */
    surbs = surbs_build(2, SPHINX_VERSION_EXPLICIT_KEYS, &surb_len);
    mixnet_message v1 = {.type = MIXNET_MESSAGE_REPLIABLE,
                         .content = MIXNET_REPLIABLE_DATA_V1,
                         .surbs = {surbs, 2, surb_len, 4, NYM_ROTATION_UNKNOWN},
                         .data = (const uint8_t *)"x",
                         .data_len = 1};
    CHECK(surb_len == 1164 && round_trips(&v1, buf, sizeof buf, &parsed));
    CHECK(memcmp(buf + 18, "\x00\x00\x00\x02", 4) == 0 && parsed.surbs.count == 2 && parsed.surbs.surb_len == 1164);
    CHECK(parsed.data_len == 1 && parsed.data[0] == 'x');
    mixnet_reply_surb decoded;
    CHECK(mixnet_reply_surb_decode(&decoded, parsed.surbs.surbs, 1164) == 0 && !decoded.surb.uses_seeds);
    /* a count far beyond the bytes, as if to overflow a size */
    memcpy(buf + 18, "\xff\xff\xff\xff", 4);
    CHECK(mixnet_message_parse(&parsed, buf, mixnet_message_encoded_len(&v1)) == MIXNET_ERR_LENGTH);
    free(surbs);

    /* replies */
    mixnet_message reply = {.type = MIXNET_MESSAGE_REPLY, .content = MIXNET_REPLY_DATA,
                            .data = (const uint8_t *)"r", .data_len = 1};
    CHECK(round_trips(&reply, buf, sizeof buf, &parsed) && parsed.data_len == 1 && memcmp(buf, "\x02\x00r", 3) == 0);
    reply.data_len = 0; /* Nym refuses an empty reply when it arrives */
    CHECK(mixnet_message_encode(&reply, buf, sizeof buf) == MIXNET_ERR_LENGTH);
    CHECK(mixnet_message_parse(&parsed, (const uint8_t *)"\x02\x00", 2) == MIXNET_ERR_LENGTH);
    mixnet_message request = {.type = MIXNET_MESSAGE_REPLY, .content = MIXNET_REPLY_SURB_REQUEST,
                              .surb_request_amount = 0x01020304};
    memset(&request.surb_requester, 0x11, sizeof request.surb_requester);
    CHECK(round_trips(&request, buf, sizeof buf, &parsed) && mixnet_message_encoded_len(&request) == 102);
    CHECK(parsed.surb_request_amount == 0x01020304 && parsed.surb_requester.gateway[31] == 0x11);
    CHECK(memcmp(buf + 98, "\x01\x02\x03\x04", 4) == 0);
    CHECK(mixnet_message_parse(&parsed, buf, 101) == MIXNET_ERR_LENGTH);
    buf[1] = 2;
    CHECK(mixnet_message_parse(&parsed, buf, 102) == MIXNET_ERR_MALFORMED);
    CHECK(mixnet_message_parse(&parsed, (const uint8_t *)"\x03zz", 3) == MIXNET_ERR_MALFORMED);
    CHECK(mixnet_message_parse(&parsed, buf, 0) == MIXNET_ERR_LENGTH);
}

/* --- payloads, acks, routes, delays */

void test_mixnet_payloads(void)
{
    uint8_t secret[32], public_key[32], ack[MIXNET_SURB_ACK_LEN], fragment[MIXNET_FRAGMENT_LEN];
    uint8_t payload[MIXNET_PAYLOAD_LEN];
    random_bytes(secret, sizeof secret);
    x25519_public_key(public_key, secret);
    memset(ack, 0x5a, sizeof ack);
    for (size_t i = 0; i < sizeof fragment; i++) fragment[i] = (uint8_t)i;

    CHECK(mixnet_payload_build_regular(payload, sizeof payload, ack, public_key, fragment, sizeof fragment) == 0);
    CHECK(memcmp(payload, ack, sizeof ack) == 0);
    CHECK(memcmp(payload + MIXNET_PAYLOAD_OVERHEAD, fragment, 64) != 0);
    uint8_t *pushed = payload + MIXNET_SURB_ACK_LEN;
    CHECK(mixnet_pushed_open_regular(pushed, MIXNET_PUSHED_MESSAGE_LEN, secret) == 0);
    CHECK(memcmp(pushed + 32, fragment, sizeof fragment) == 0);
    CHECK(mixnet_payload_build_regular(payload, sizeof payload - 1, ack, public_key, fragment, sizeof fragment) ==
          MIXNET_ERR_LENGTH);

    /* a fresh ephemeral key each time */
    uint8_t first_key[32];
    mixnet_payload_build_regular(payload, sizeof payload, ack, public_key, fragment, sizeof fragment);
    memcpy(first_key, pushed, 32);
    mixnet_payload_build_regular(payload, sizeof payload, ack, public_key, fragment, sizeof fragment);
    CHECK(memcmp(first_key, pushed, 32) != 0);

    CHECK(mixnet_payload_build_cover(payload, sizeof payload, ack, public_key) == 0);
    CHECK(!mixnet_is_cover(pushed + 32, MIXNET_FRAGMENT_LEN));
    mixnet_pushed_open_regular(pushed, MIXNET_PUSHED_MESSAGE_LEN, secret);
    CHECK(mixnet_is_cover(pushed + 32, MIXNET_FRAGMENT_LEN));
    CHECK(memcmp(pushed + 32, "The cake is a lie!\x01\x00", 20) == 0 && pushed[32 + MIXNET_FRAGMENT_LEN - 1] == 0);
    CHECK(!mixnet_is_cover(pushed + 32, 17));

    uint8_t surb_key[16] = {7}, digest[32];
    CHECK(mixnet_payload_build_reply(payload, sizeof payload, ack, surb_key, fragment, sizeof fragment) == 0);
    mixnet_surb_key_digest(digest, surb_key);
    CHECK(memcmp(pushed, digest, 32) == 0);
    CHECK(mixnet_pushed_open_reply(pushed, MIXNET_PUSHED_MESSAGE_LEN, surb_key) == 0);
    CHECK(memcmp(pushed + 32, fragment, sizeof fragment) == 0);
    CHECK(mixnet_pushed_open_reply(pushed, 31, surb_key) == MIXNET_ERR_LENGTH);

    /* acks: a random IV each time, the id back with the key, nothing sensible without */
    uint8_t ack_key[16] = {1, 2, 3}, other_key[16] = {3, 2, 1}, a1[MIXNET_ACK_LEN], a2[MIXNET_ACK_LEN], id[5];
    mixnet_ack_encrypt(a1, ack_key, (const uint8_t *)"\x12\x34\x56\x78\x09");
    mixnet_ack_encrypt(a2, ack_key, (const uint8_t *)"\x12\x34\x56\x78\x09");
    CHECK(memcmp(a1, a2, sizeof a1) != 0);
    CHECK(mixnet_ack_decrypt(id, ack_key, a1, sizeof a1) == 0 && memcmp(id, "\x12\x34\x56\x78\x09", 5) == 0);
    uint8_t padded_ack[48] = {0};
    memcpy(padded_ack, a2, sizeof a2);
    CHECK(mixnet_ack_decrypt(id, ack_key, padded_ack, 48) == 0 && memcmp(id, "\x12\x34\x56\x78\x09", 5) == 0);
    CHECK(mixnet_ack_decrypt(id, ack_key, a1, 20) == MIXNET_ERR_LENGTH);
    CHECK(mixnet_ack_decrypt(id, ack_key, padded_ack, 49) == MIXNET_ERR_LENGTH);
    mixnet_ack_encrypt(a1, ack_key, (const uint8_t *)"\x92\x34\x56\x78\x09"); /* a negative set id */
    CHECK(mixnet_ack_decrypt(id, ack_key, a1, sizeof a1) == MIXNET_ERR_MALFORMED);
    mixnet_ack_encrypt(a1, ack_key, (const uint8_t *)"\x00\x00\x00\x00\x00");
    int wrong = mixnet_ack_decrypt(id, other_key, a1, sizeof a1);
    CHECK(wrong < 0 || memcmp(id, "\x00\x00\x00\x00\x00", 5) != 0);

    /* exponential delays: the mean holds (20000 samples, within 3 %), 0 stays 0 */
    uint64_t sum = 0, max = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t d = mixnet_exponential_ns(15000000);
        sum += d;
        max = d > max ? d : max;
    }
    CHECK(sum / 20000 > 14550000 && sum / 20000 < 15450000);
    CHECK(max > 15000000 * 5 && max < 15000000ull * 40);
    CHECK(mixnet_exponential_ns(0) == 0);

    /* routes: one mix per layer, then the gateway by identity */
    mixnet_node layer_nodes[3][2], gateways[2];
    memset(layer_nodes, 0, sizeof layer_nodes);
    memset(gateways, 0, sizeof gateways);
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < 2; i++) layer_nodes[l][i].hop.public_key[0] = (uint8_t)(10 * l + i);
    gateways[0].identity[0] = 1;
    gateways[0].hop.public_key[0] = 100;
    gateways[1].identity[0] = 2;
    gateways[1].hop.public_key[0] = 101;
    mixnet_topology t = {.layers = {layer_nodes[0], layer_nodes[1], layer_nodes[2]},
                         .layer_len = {2, 2, 2},
                         .gateways = gateways,
                         .gateway_count = 2};
    uint8_t gateway_id[32] = {2};
    sphinx_hop route[4];
    bool layered = true;
    unsigned seen[3] = {0};
    for (int k = 0; k < 200; k++) {
        layered = layered && mixnet_route_choose(route, &t, gateway_id) == 0;
        for (size_t l = 0; l < 3; l++) {
            layered = layered && route[l].public_key[0] / 10 == l;
            seen[l] |= 1u << (route[l].public_key[0] % 10);
        }
        layered = layered && route[3].public_key[0] == 101;
    }
    CHECK(layered && seen[0] == 3 && seen[1] == 3 && seen[2] == 3);
    gateway_id[0] = 3;
    CHECK(mixnet_route_choose(route, &t, gateway_id) == MIXNET_ERR_TOPOLOGY);
    gateway_id[0] = 1;
    t.layer_len[1] = 0;
    CHECK(mixnet_route_choose(route, &t, gateway_id) == MIXNET_ERR_TOPOLOGY);
}

/* A SURB-ack built for a fragment comes back through real nodes as the 21
 * bytes that decrypt to that fragment's id. */
void test_mixnet_surb_ack(void)
{
    uint8_t secrets[4][32], identity[32] = {42}, ack_key[16] = {5};
    sphinx_hop route[4];
    for (size_t i = 0; i < 4; i++) {
        random_bytes(secrets[i], 32);
        memset(&route[i], 0, sizeof route[i]);
        memcpy(route[i].address, "\x04\x06\xfd\x7f\x00\x00", 6);
        route[i].address[6] = (uint8_t)(i + 1);
        x25519_public_key(route[i].public_key, secrets[i]);
    }
    uint8_t field[MIXNET_SURB_ACK_LEN];
    uint64_t expected_delay = 0;
    CHECK(mixnet_surb_ack_build(field, &expected_delay, route, identity, ack_key, (const uint8_t *)"\x00\x00\x30\x39\x02",
                                15000000) == 0);
    CHECK(memcmp(field, route[0].address, 19) == 0);
    uint8_t *packet = field + 19;
    uint64_t delays = 0;
    mixnet_node_result r;
    for (size_t hop = 0; hop < 4; hop++) {
        if (!CHECK(mixnet_node_process(&r, packet, NYM_ACK_PACKET_LEN, secrets[hop], 0, NYM_ROTATION_ODD) == 0)) return;
        if (hop < 3) delays += r.delay_ns;
    }
    CHECK(delays == expected_delay);
    CHECK(r.kind == SPHINX_HOP_FINAL && !r.has_ack && r.client_message_len == MIXNET_ACK_LEN);
    CHECK(memcmp(r.destination, identity, 32) == 0);
    uint8_t id[5];
    CHECK(mixnet_ack_decrypt(id, ack_key, r.client_message, r.client_message_len) == 0);
    CHECK_HEX(id, 5, "0000303902");
}
