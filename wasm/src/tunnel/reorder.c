/* The exit's data bundles back in their order (tunnel.h, ipr_reorder). */
#include "tunnel/tunnel.h"

#include <stdlib.h>
#include <string.h>

/* The sequence after s: the IPR skips 0, its control sequence. */
static uint32_t sequence_after(uint32_t s)
{
    return s + 1 == 0 ? 1 : s + 1;
}

static ipr_reorder_slot *slot_of(ipr_reorder *r, uint32_t sequence)
{
    ipr_reorder_slot *slot = &r->slots[sequence % IPR_REORDER_SLOTS];
    return slot->used && slot->sequence == sequence ? slot : NULL;
}

static void slot_release(ipr_reorder *r, ipr_reorder_slot *slot)
{
    free(slot->bundle);
    memset(slot, 0, sizeof *slot);
    r->held--;
}

/* Records how the place of a sequence number was passed: its bundle handed on, or given up on. */
static void record_passed(ipr_reorder *r, uint32_t sequence, bool given_up)
{
    uint64_t *word = &r->given_up[sequence % IPR_REORDER_SLOTS / 64], bit = (uint64_t)1 << (sequence % 64);
    *word = given_up ? *word | bit : *word & ~bit;
}

/* Moves past the expected sequence number, recording how. */
static void pass_next(ipr_reorder *r, bool given_up)
{
    record_passed(r, r->next, given_up);
    r->next = sequence_after(r->next);
}

static bool was_given_up(const ipr_reorder *r, uint32_t sequence)
{
    return r->given_up[sequence % IPR_REORDER_SLOTS / 64] >> (sequence % 64) & 1;
}

/* Takes a bundle out of the table, then hands it on (which may push again). */
static void hand_on(ipr_reorder *r, ipr_reorder_slot *slot)
{
    uint8_t *bundle = slot->bundle;
    size_t len = slot->len;
    slot->bundle = NULL;
    slot_release(r, slot);
    r->deliver(r->ctx, bundle, len);
    free(bundle);
}

/* Hands on the held bundle with the expected sequence, and those after it. */
static void drain(ipr_reorder *r)
{
    ipr_reorder_slot *slot;
    while (r->held > 0 && (slot = slot_of(r, r->next)) != NULL) {
        pass_next(r, false);
        hand_on(r, slot);
    }
}

/* Gives up on what is missing before target; what is held there goes on in order. */
static void skip_to(ipr_reorder *r, uint32_t target)
{
    /* nothing is held beyond the table's reach */
    for (uint32_t steps = 0; r->next != target && steps < IPR_REORDER_SLOTS; steps++) {
        ipr_reorder_slot *slot = slot_of(r, r->next);
        pass_next(r, slot == NULL);
        if (slot)
            hand_on(r, slot);
        else
            r->gaps_skipped++;
    }
    /* a jump past the table's reach: every place it leaves behind was given up on */
    if (r->next != target) memset(r->given_up, 0xff, sizeof r->given_up);
    r->next = target;
}

void ipr_reorder_init(ipr_reorder *r, uint32_t wait_ms, ipr_reorder_deliver_fn deliver, void *ctx)
{
    memset(r, 0, sizeof *r);
    r->next = 1;
    r->base_wait_ms = r->wait_ms = wait_ms;
    r->deliver = deliver;
    r->ctx = ctx;
}

void ipr_reorder_reset(ipr_reorder *r)
{
    for (size_t i = 0; i < IPR_REORDER_SLOTS && r->held > 0; i++)
        if (r->slots[i].used) slot_release(r, &r->slots[i]);
    memset(r->given_up, 0, sizeof r->given_up);
    r->next = 1;
}

int ipr_reorder_push(ipr_reorder *r, uint32_t sequence, const uint8_t *bundle, size_t len, uint64_t now_ms)
{
    int32_t ahead = (int32_t)(sequence - r->next);
    if (r->base_wait_ms == 0) {
        r->deliver(r->ctx, bundle, len);
        return 0;
    }
    if (ahead < 0) {
        if (ahead >= -IPR_REORDER_SLOTS) {
            if (!was_given_up(r, sequence)) return 0; /* a copy of one handed on already */
            record_passed(r, sequence, false);
        }
        /* its gap was given up on too early */
        r->late++;
        if (r->wait_ms < IPR_REORDER_WAIT_MAX_MS)
            r->wait_ms = r->wait_ms * 2 < IPR_REORDER_WAIT_MAX_MS ? r->wait_ms * 2 : IPR_REORDER_WAIT_MAX_MS;
        r->calm_since_ms = now_ms;
        r->deliver(r->ctx, bundle, len);
        return 0;
    }
    if (r->wait_ms > r->base_wait_ms && now_ms >= r->calm_since_ms + IPR_REORDER_CALM_MS) {
        r->wait_ms = r->wait_ms / 2 > r->base_wait_ms ? r->wait_ms / 2 : r->base_wait_ms;
        r->calm_since_ms = now_ms;
    }
    if (ahead >= IPR_REORDER_SLOTS - 1) {
        /* too far ahead to wait for what lies between */
        skip_to(r, sequence);
        ahead = 0;
    }
    if (ahead == 0) {
        pass_next(r, false);
        r->deliver(r->ctx, bundle, len);
        drain(r);
        return 0;
    }
    ipr_reorder_slot *slot = &r->slots[sequence % IPR_REORDER_SLOTS];
    if (slot->used) return 0; /* a copy of one already held */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return -1;
    if (len) memcpy(copy, bundle, len);
    *slot = (ipr_reorder_slot){.used = true, .sequence = sequence, .arrived_ms = now_ms, .bundle = copy, .len = len};
    r->held++;
    return 0;
}

void ipr_reorder_expire(ipr_reorder *r, uint64_t now_ms)
{
    if (r->held == 0) return;
    /* the farthest bundle that waited long enough: every gap before it is a loss */
    uint32_t sequence = r->next, target = 0;
    bool found = false;
    for (size_t i = 0; i < IPR_REORDER_SLOTS; i++, sequence = sequence_after(sequence)) {
        const ipr_reorder_slot *slot = slot_of(r, sequence);
        if (slot && now_ms >= slot->arrived_ms + r->wait_ms) {
            target = sequence;
            found = true;
        }
    }
    if (!found) return;
    skip_to(r, target);
    drain(r);
}

uint64_t ipr_reorder_deadline_ms(const ipr_reorder *r)
{
    uint64_t deadline = UINT64_MAX;
    for (size_t i = 0; i < IPR_REORDER_SLOTS && r->held > 0; i++) {
        const ipr_reorder_slot *slot = &r->slots[i];
        if (slot->used && slot->arrived_ms + r->wait_ms < deadline) deadline = slot->arrived_ms + r->wait_ms;
    }
    return deadline;
}
