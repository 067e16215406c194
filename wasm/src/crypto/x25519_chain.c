/* Chains of X25519 (a Sphinx sender's blinded shared secrets) as one
 * scalar multiplication, and for a point that recurs (the gateway that ends
 * every route; every node of a small network) a table of its multiples that
 * makes that multiplication about 2.6 times faster than the ladder (28 µs
 * instead of 74 in wasm).
 *
 * The table path works on the twisted Edwards curve birationally equivalent
 * to Curve25519, with libsodium's group arithmetic (ed25519_ref10.h). A
 * table is 32 rows of 8 multiples, row i holding j·256^i·P for j = 1..8 in
 * affine form (y + x, y - x, 2dxy), which adds with one multiplication
 * fewer than the projective one: 32 · 8 · 120 = 30,720 bytes (in wasm and
 * natively); at most TABLES_MAX tables are kept, so at most 480 KB. */
#include "crypto/crypto.h"

#include <private/ed25519_ref10.h> /* libsodium's, see mk/core.mk */
#include <stdlib.h>
#include <string.h>

/* With ℓ = 2^252 + δ the group order: -2^251 mod ℓ, and ℓ + δ, little-endian */
static const uint8_t MINUS_TWO_TO_251_MOD_L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                                   0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08};
static const uint8_t L_PLUS_DELTA[32] = {0xda, 0xa7, 0xeb, 0xb9, 0x34, 0xc6, 0x24, 0xb0, 0xac, 0x39, 0xef,
                                         0x45, 0xbd, 0xf3, 0xbd, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                         0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

static void clamp_scalar(uint8_t out[32], const uint8_t scalar[32])
{
    memcpy(out, scalar, 32);
    out[0] &= 248;
    out[31] &= 127;
    out[31] |= 64;
}

/* Every X25519 clamps its scalar to a multiple of 8, so the chain is the
 * product c of the clamped scalars times the point's prime-order part: one
 * X25519 with a scalar e ≡ c or e ≡ -c (the same u-coordinate) modulo ℓ, in
 * X25519's clamped form e = 2^254 + 8m, m < 2^251. False when neither fits
 * (a chance of about 2^-125). Constant time but for that case. */
static bool chain_scalar(uint8_t e[32], const uint8_t (*scalars)[X25519_KEY_LEN], size_t count)
{
    /* m = c/8 - 2^251: c/8 is the first clamped scalar divided by 8
     * (exactly, and below ℓ) times the others; the last product and the
     * subtraction are one multiply-add */
    uint8_t clamped[32], product[32], m[32], negated_m[32];
    clamp_scalar(clamped, scalars[0]);
    for (int i = 0; i < 31; i++) product[i] = (uint8_t)(clamped[i] >> 3 | clamped[i + 1] << 5);
    product[31] = (uint8_t)(clamped[31] >> 3);
    if (count == 1) {
        memcpy(m, product, 32);
        m[31] &= 0x07; /* c/8 has bit 251 set */
    } else {
        for (size_t i = 1; i + 1 < count; i++) {
            clamp_scalar(clamped, scalars[i]);
            sc25519_mul(product, product, clamped);
        }
        clamp_scalar(clamped, scalars[count - 1]);
        sc25519_muladd(m, product, clamped, MINUS_TWO_TO_251_MOD_L);
    }
    /* for -c: -c/8 - 2^251 ≡ -m - 2^252 ≡ δ - m ≡ ℓ + δ - m, which does not
     * go below zero (m < ℓ) */
    unsigned borrow = 0;
    for (int i = 0; i < 32; i++) {
        unsigned difference = (unsigned)L_PLUS_DELTA[i] - m[i] - borrow;
        negated_m[i] = (uint8_t)difference;
        borrow = (difference >> 8) & 1;
    }
    unsigned m_fits = (unsigned)(m[31] - 8) >> 31 & 1; /* m < 2^251 */
    unsigned negated_fits = (unsigned)(negated_m[31] - 8) >> 31 & 1;
    uint8_t take_negated = (uint8_t)(0u - (negated_fits & (m_fits ^ 1)));
    for (int i = 0; i < 32; i++) m[i] ^= (uint8_t)((m[i] ^ negated_m[i]) & take_negated);
    for (int i = 31; i > 0; i--) e[i] = (uint8_t)(m[i] << 3 | m[i - 1] >> 5);
    e[0] = (uint8_t)(m[0] << 3);
    e[31] |= 0x40;
    secure_zero(clamped, sizeof clamped);
    secure_zero(product, sizeof product);
    secure_zero(m, sizeof m);
    secure_zero(negated_m, sizeof negated_m);
    return (m_fits | negated_fits) != 0;
}

static void x25519_stepwise(uint8_t shared[X25519_KEY_LEN], const uint8_t (*scalars)[X25519_KEY_LEN], size_t count,
                            const uint8_t point[X25519_KEY_LEN])
{
    x25519(shared, scalars[0], point);
    for (size_t i = 1; i < count; i++) x25519(shared, scalars[i], shared);
}

void x25519_chain(uint8_t shared[X25519_KEY_LEN], const uint8_t (*scalars)[X25519_KEY_LEN], size_t count,
                  const uint8_t point[X25519_KEY_LEN])
{
    uint8_t e[32];
    if (chain_scalar(e, scalars, count))
        x25519(shared, e, point);
    else
        x25519_stepwise(shared, scalars, count, point);
    secure_zero(e, sizeof e);
}

#define TABLE_ROWS 32
#define ROW_LEN 8
/* Points followed, the most recently used ones. */
#define TRACKED_POINTS 32
/* A table costs about two ladders to build: a point gets one at its
 * TABLE_AFTER_USES-th use while followed. On a network of hundreds of mix
 * nodes a node is rarely used that often before newer ones push it out, so
 * only the gateway gets a table there; on a small one every node does. */
#define TABLE_AFTER_USES 4
/* A table is not taken from a point still followed for another: with more
 * busy points than tables, taking turns would rebuild a table at every use. */
#define TABLES_MAX 16

/* a multiple, also seen as 64-bit words to select it with few operations */
typedef union {
    ge25519_precomp point;
    uint64_t words[sizeof(ge25519_precomp) / sizeof(uint64_t)];
} table_entry;
_Static_assert(sizeof(ge25519_precomp) % sizeof(uint64_t) == 0, "a multiple is whole words");

typedef struct {
    table_entry multiples[TABLE_ROWS][ROW_LEN]; /* [i][j]: (j + 1)·256^i·P */
} point_table;

typedef struct {
    uint8_t point[X25519_KEY_LEN];
    point_table *table; /* NULL before its TABLE_AFTER_USES-th use, or while TABLES_MAX others have one */
    bool has_no_table;  /* not an Edwards point, or memory was short */
    uint32_t uses;      /* since it is followed, up to TABLE_AFTER_USES */
    uint64_t last_use;  /* 0: the slot is free */
} recurring_point;

static recurring_point recurring[TRACKED_POINTS];
static size_t table_count;
static uint64_t use_clock;

/* The Edwards point with the Montgomery u-coordinate u, y = (u - 1)/(u + 1),
 * with either sign of x: u(k·(-P)) = u(k·P). False for u = -1 and for a
 * point on the twist, which have none. */
static bool edwards_point_of(ge25519_p3 *p, const uint8_t u_bytes[X25519_KEY_LEN])
{
    fe25519 u, one, numerator, denominator, y;
    uint8_t y_bytes[32];
    fe25519_frombytes(u, u_bytes); /* ignores the top bit, as X25519 does */
    fe25519_1(one);
    fe25519_sub(numerator, u, one);
    fe25519_add(denominator, u, one);
    if (fe25519_iszero(denominator)) return false;
    fe25519_invert(denominator, denominator);
    fe25519_mul(y, numerator, denominator);
    fe25519_tobytes(y_bytes, y);
    return ge25519_frombytes(p, y_bytes) == 0;
}

static void set_identity(ge25519_p3 *p)
{
    fe25519_0(p->X);
    fe25519_1(p->Y);
    fe25519_1(p->Z);
    fe25519_0(p->T);
}

static void add_cached(ge25519_p3 *p, const ge25519_cached *q)
{
    ge25519_p1p1 sum;
    ge25519_add(&sum, p, q);
    ge25519_p1p1_to_p3(p, &sum);
}

/* The addition formulas are complete, so they double as well. */
static void double_point(ge25519_p3 *p)
{
    ge25519_cached self;
    ge25519_p3_to_cached(&self, p);
    add_cached(p, &self);
}

/* p + q for q in affine form: as ge25519_add with q's Z = 1 */
static void add_affine(ge25519_p3 *p, const ge25519_precomp *q)
{
    ge25519_p1p1 r;
    fe25519 a, b, c, d;
    fe25519_add(a, p->Y, p->X);
    fe25519_mul(a, a, q->yplusx);
    fe25519_sub(b, p->Y, p->X);
    fe25519_mul(b, b, q->yminusx);
    fe25519_mul(c, q->xy2d, p->T);
    fe25519_add(d, p->Z, p->Z);
    fe25519_sub(r.X, a, b);
    fe25519_add(r.Y, a, b);
    fe25519_add(r.Z, d, c);
    fe25519_sub(r.T, d, c);
    ge25519_p1p1_to_p3(p, &r);
}

#define TABLE_ENTRIES (TABLE_ROWS * ROW_LEN)

/* Each multiple in projective form, then all of them divided by their Z
 * with one inversion (Montgomery's trick). False when memory is short. */
static bool table_build(point_table *table, const ge25519_p3 *point)
{
    ge25519_p3 *multiples = malloc(TABLE_ENTRIES * sizeof *multiples);
    fe25519 *z_products = malloc(TABLE_ENTRIES * sizeof *z_products);
    if (!multiples || !z_products) {
        free(multiples);
        free(z_products);
        return false;
    }
    ge25519_p3 row_base = *point;
    for (int i = 0; i < TABLE_ROWS; i++) {
        ge25519_cached base;
        ge25519_p3_to_cached(&base, &row_base);
        ge25519_p3 *row = multiples + i * ROW_LEN;
        row[0] = row_base;
        for (int j = 1; j < ROW_LEN; j++) {
            row[j] = row[j - 1];
            add_cached(&row[j], &base);
        }
        /* the next row starts at 256·row_base = 32·(8·row_base) */
        row_base = row[ROW_LEN - 1];
        for (int d = 0; d < 5; d++) double_point(&row_base);
    }

    /* z_products[k] = Z_0 ⋯ Z_k; walking back, the inverse of the whole
     * product gives each Z's inverse */
    fe25519_copy(z_products[0], multiples[0].Z);
    for (int k = 1; k < TABLE_ENTRIES; k++) fe25519_mul(z_products[k], z_products[k - 1], multiples[k].Z);
    fe25519 inverse, z_inverse;
    fe25519_invert(inverse, z_products[TABLE_ENTRIES - 1]);
    for (int k = TABLE_ENTRIES - 1; k >= 0; k--) {
        ge25519_p3 *m = &multiples[k];
        if (k > 0) {
            fe25519_mul(z_inverse, inverse, z_products[k - 1]);
            fe25519_mul(inverse, inverse, m->Z);
        } else {
            fe25519_copy(z_inverse, inverse);
        }
        /* (x, y, 1, xy): its cached form is (y + x, y - x, 1, 2dxy) */
        fe25519_mul(m->X, m->X, z_inverse);
        fe25519_mul(m->Y, m->Y, z_inverse);
        fe25519_1(m->Z);
        fe25519_mul(m->T, m->X, m->Y);
        ge25519_cached cached;
        ge25519_p3_to_cached(&cached, m);
        ge25519_precomp *entry = &table->multiples[k / ROW_LEN][k % ROW_LEN].point;
        fe25519_copy(entry->yplusx, cached.YplusX);
        fe25519_copy(entry->yminusx, cached.YminusX);
        fe25519_copy(entry->xy2d, cached.T2d);
    }
    free(multiples);
    free(z_products);
    return true;
}

/* 1 when a == b, else 0, for small values, without a branch */
static unsigned equals(unsigned a, unsigned b)
{
    return (unsigned)(((uint32_t)(a ^ b) - 1) >> 31);
}

/* digit·256^row·P for a digit in -8..8. The digit is secret: every entry of
 * the row is read, and the choice made with masks. */
static void select_multiple(table_entry *out, const table_entry row[ROW_LEN], const table_entry *identity, int digit)
{
    unsigned negative = (unsigned)digit >> (sizeof(unsigned) * 8 - 1);
    unsigned magnitude = (unsigned)digit;
    magnitude = (magnitude ^ (0u - negative)) + negative;
    uint64_t picks[ROW_LEN + 1]; /* exactly one is all ones: the identity's or an entry's */
    picks[0] = 0 - (uint64_t)equals(magnitude, 0);
    for (unsigned j = 0; j < ROW_LEN; j++) picks[j + 1] = 0 - (uint64_t)equals(magnitude, j + 1);
    for (size_t w = 0; w < sizeof out->words / sizeof out->words[0]; w++) {
        uint64_t word = identity->words[w] & picks[0];
        for (unsigned j = 0; j < ROW_LEN; j++) word |= row[j].words[w] & picks[j + 1];
        out->words[w] = word;
    }
    /* -(x, y) = (-x, y): y+x and y-x swap places, and 2dxy changes sign */
    fe25519 negated_xy2d;
    fe25519_cswap(out->point.yplusx, out->point.yminusx, negative);
    fe25519_neg(negated_xy2d, out->point.xy2d);
    fe25519_cmov(out->point.xy2d, negated_xy2d, negative);
}

/* X25519's result for a scalar e that is a multiple of 8 (so the point's
 * small-order part, if any, vanishes as in the ladder): u(e·P), all zeros
 * for the identity. */
static void table_multiply(uint8_t shared[X25519_KEY_LEN], const point_table *table, const uint8_t e[32])
{
    /* e = Σ digits[i]·16^i with digits in -8..8 */
    int8_t digits[64];
    for (int i = 0; i < 32; i++) {
        digits[2 * i] = (int8_t)(e[i] & 15);
        digits[2 * i + 1] = (int8_t)(e[i] >> 4);
    }
    int carry = 0;
    for (int i = 0; i < 63; i++) {
        int digit = digits[i] + carry;
        carry = (digit + 8) >> 4;
        digits[i] = (int8_t)(digit - carry * 16);
    }
    digits[63] = (int8_t)(digits[63] + carry); /* e < 2^255: at most 8 */

    /* the odd digits' sum, times 16, plus the even digits' */
    ge25519_p3 sum;
    table_entry identity = {0}, multiple;
    set_identity(&sum);
    fe25519_1(identity.point.yplusx); /* (x, y) = (0, 1) */
    fe25519_1(identity.point.yminusx);
    for (int i = 1; i < 64; i += 2) {
        select_multiple(&multiple, table->multiples[i / 2], &identity, digits[i]);
        add_affine(&sum, &multiple.point);
    }
    for (int d = 0; d < 4; d++) double_point(&sum);
    for (int i = 0; i < 64; i += 2) {
        select_multiple(&multiple, table->multiples[i / 2], &identity, digits[i]);
        add_affine(&sum, &multiple.point);
    }

    /* u = (1 + y)/(1 - y) = (Z + Y)/(Z - Y); the identity has Z = Y and
     * inverting zero gives zero */
    fe25519 numerator, denominator, u;
    fe25519_add(numerator, sum.Z, sum.Y);
    fe25519_sub(denominator, sum.Z, sum.Y);
    fe25519_invert(denominator, denominator);
    fe25519_mul(u, numerator, denominator);
    fe25519_tobytes(shared, u);
    secure_zero(digits, sizeof digits);
    secure_zero(&sum, sizeof sum);
    secure_zero(&multiple, sizeof multiple);
    secure_zero(u, sizeof u);
}

/* The point's table once it has earned one; NULL before, or when the
 * point has none. */
static const point_table *table_for(const uint8_t point[X25519_KEY_LEN])
{
    recurring_point *slot = NULL, *oldest = &recurring[0];
    for (int i = 0; i < TRACKED_POINTS; i++) {
        if (recurring[i].last_use && memcmp(recurring[i].point, point, X25519_KEY_LEN) == 0) slot = &recurring[i];
        if (recurring[i].last_use < oldest->last_use) oldest = &recurring[i];
    }
    use_clock++;
    if (!slot) {
        if (oldest->table) table_count--;
        free(oldest->table);
        *oldest = (recurring_point){.last_use = use_clock, .uses = 1};
        memcpy(oldest->point, point, X25519_KEY_LEN);
        return NULL;
    }
    slot->last_use = use_clock;
    if (slot->uses < TABLE_AFTER_USES) slot->uses++;
    if (!slot->table && !slot->has_no_table && slot->uses >= TABLE_AFTER_USES && table_count < TABLES_MAX) {
        ge25519_p3 p;
        if (edwards_point_of(&p, point)) slot->table = malloc(sizeof *slot->table);
        if (slot->table && table_build(slot->table, &p)) {
            table_count++;
        } else {
            free(slot->table);
            slot->table = NULL;
            slot->has_no_table = true;
        }
    }
    return slot->table;
}

void x25519_chain_recurring(uint8_t shared[X25519_KEY_LEN], const uint8_t (*scalars)[X25519_KEY_LEN],
                            size_t count, const uint8_t point[X25519_KEY_LEN])
{
    const point_table *table = table_for(point);
    if (!table) {
        x25519_chain(shared, scalars, count, point);
        return;
    }
    uint8_t e[32];
    if (chain_scalar(e, scalars, count))
        table_multiply(shared, table, e);
    else
        x25519_stepwise(shared, scalars, count, point);
    secure_zero(e, sizeof e);
}
