/* The exit's data bundles put back in order (tunnel.h, ipr_reorder):
 * held behind a gap, given up on after the wait, late ones passed on and
 * the wait made longer, copies dropped, sequence 0 skipped on wrap. */
#include "check.h"
#include "tunnel/tunnel.h"

#include <string.h>

typedef struct {
    uint32_t got[64]; /* the first byte of each bundle handed on */
    size_t count;
} sink;

static void collect(void *ctx, const uint8_t *bundle, size_t len)
{
    sink *s = ctx;
    if (len == 4 && s->count < 64)
        s->got[s->count++] = (uint32_t)bundle[0] << 24 | (uint32_t)bundle[1] << 16 | (uint32_t)bundle[2] << 8 | bundle[3];
}

/* A bundle whose 4 bytes are its own sequence number. */
static int push(ipr_reorder *r, uint32_t sequence, uint64_t now_ms)
{
    uint8_t b[4] = {(uint8_t)(sequence >> 24), (uint8_t)(sequence >> 16), (uint8_t)(sequence >> 8), (uint8_t)sequence};
    return ipr_reorder_push(r, sequence, b, sizeof b, now_ms);
}

static bool got(const sink *s, const uint32_t *expected, size_t n)
{
    return s->count == n && memcmp(s->got, expected, n * sizeof *expected) == 0;
}

void test_ipr_reorder(void)
{
    ipr_reorder r;
    sink s = {0};

    /* in order: at once */
    ipr_reorder_init(&r, 150, collect, &s);
    CHECK(push(&r, 1, 0) == 0 && push(&r, 2, 0) == 0);
    CHECK(got(&s, (const uint32_t[]){1, 2}, 2));
    CHECK(ipr_reorder_deadline_ms(&r) == UINT64_MAX);

    /* 4 and 5 wait for 3, then all go in order */
    CHECK(push(&r, 5, 10) == 0 && push(&r, 4, 20) == 0 && s.count == 2);
    CHECK(ipr_reorder_deadline_ms(&r) == 160);
    CHECK(push(&r, 3, 30) == 0);
    CHECK(got(&s, (const uint32_t[]){1, 2, 3, 4, 5}, 5));
    CHECK(ipr_reorder_deadline_ms(&r) == UINT64_MAX);

    /* a copy of a held bundle is dropped; 6 is given up on once 7 waited 150 ms */
    s.count = 0;
    CHECK(push(&r, 7, 100) == 0 && push(&r, 7, 110) == 0 && push(&r, 9, 200) == 0);
    ipr_reorder_expire(&r, 249);
    CHECK(s.count == 0);
    ipr_reorder_expire(&r, 250);
    CHECK(got(&s, (const uint32_t[]){7}, 1) && r.gaps_skipped == 1);
    CHECK(ipr_reorder_deadline_ms(&r) == 350);
    ipr_reorder_expire(&r, 350);
    CHECK(got(&s, (const uint32_t[]){7, 9}, 2) && r.gaps_skipped == 2 && r.next == 10);

    /* 6 comes after all: passed on, and the wait doubles */
    CHECK(push(&r, 6, 400) == 0);
    CHECK(got(&s, (const uint32_t[]){7, 9, 6}, 3) && r.late == 1 && r.wait_ms == 300);
    CHECK(push(&r, 11, 410) == 0 && ipr_reorder_deadline_ms(&r) == 710);
    /* calm for long enough: back to the configured wait */
    CHECK(push(&r, 10, 400 + IPR_REORDER_CALM_MS) == 0);
    CHECK(r.wait_ms == 150 && got(&s, (const uint32_t[]){7, 9, 6, 10, 11}, 5));

    /* copies of bundles handed on already (late or in order) are dropped, and leave the wait alone */
    s.count = 0;
    CHECK(push(&r, 6, 10500) == 0 && push(&r, 10, 10500) == 0 && push(&r, 2, 10500) == 0);
    CHECK(s.count == 0 && r.late == 1 && r.wait_ms == 150);

    /* far ahead: what is held goes first, then the rest follows on from there */
    s.count = 0;
    CHECK(push(&r, 14, 0) == 0 && push(&r, 13, 0) == 0 && push(&r, 1000, 0) == 0);
    CHECK(got(&s, (const uint32_t[]){13, 14, 1000}, 3) && r.next == 1001 && r.held == 0);
    /* the places a jump leaves behind were given up on: a bundle for one is late, its copy is not */
    CHECK(push(&r, 990, 0) == 0 && got(&s, (const uint32_t[]){13, 14, 1000, 990}, 4) && r.late == 2);
    CHECK(push(&r, 990, 0) == 0 && s.count == 4 && r.late == 2);

    /* a new stream starts again at 1, and drops what was held */
    CHECK(push(&r, 1003, 0) == 0 && r.held == 1);
    ipr_reorder_reset(&r);
    CHECK(r.held == 0 && r.next == 1);

    /* the wrap skips 0, the control sequence */
    s.count = 0;
    r.next = 0xFFFFFFFEu;
    CHECK(push(&r, 1, 0) == 0 && push(&r, 0xFFFFFFFFu, 0) == 0 && s.count == 0);
    CHECK(push(&r, 0xFFFFFFFEu, 0) == 0);
    CHECK(got(&s, (const uint32_t[]){0xFFFFFFFEu, 0xFFFFFFFFu, 1}, 3) && r.next == 2);

    /* no wait: everything as it comes */
    s.count = 0;
    ipr_reorder_init(&r, 0, collect, &s);
    CHECK(push(&r, 3, 0) == 0 && push(&r, 1, 0) == 0);
    CHECK(got(&s, (const uint32_t[]){3, 1}, 2) && r.held == 0);
}
