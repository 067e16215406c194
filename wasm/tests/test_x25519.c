/* X25519 against RFC 7748: §5.2 (single calls and the iterated test) and
 * the §6.1 Diffie-Hellman example. */
#include <string.h>

#include "check.h"
#include "crypto/crypto.h"

static const struct {
    const char *scalar, *u, *out;
} rfc7748_5_2[] = {
    {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
     "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
    /* the u-coordinate has its top bit set: X25519 must ignore that bit */
    {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
};

/* §5.2 iterated test, from k = u = 9: results after 1 and 1,000 rounds */
static const char *const iterated_1 = "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079";
static const char *const iterated_1000 = "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51";

/* §6.1 */
static const char *const alice_private = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char *const alice_public = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char *const bob_private = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
static const char *const bob_public = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
static const char *const shared_secret = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

void test_x25519(void)
{
    uint8_t k[32], u[32], out[32];

    for (size_t i = 0; i < sizeof rfc7748_5_2 / sizeof rfc7748_5_2[0]; i++) {
        hex_decode(k, sizeof k, rfc7748_5_2[i].scalar);
        hex_decode(u, sizeof u, rfc7748_5_2[i].u);
        x25519(out, k, u);
        CHECK_HEX(out, sizeof out, rfc7748_5_2[i].out);
    }

    /* each round: k becomes X25519(k, u) and u the old k */
    memset(k, 0, sizeof k);
    k[0] = 9;
    memcpy(u, k, sizeof u);
    for (int round = 1; round <= 1000; round++) {
        x25519(out, k, u);
        memcpy(u, k, sizeof u);
        memcpy(k, out, sizeof k);
        if (round == 1) CHECK_HEX(k, sizeof k, iterated_1);
    }
    CHECK_HEX(k, sizeof k, iterated_1000);

    uint8_t a[32], b[32], pub_a[32], pub_b[32];
    hex_decode(a, sizeof a, alice_private);
    hex_decode(b, sizeof b, bob_private);
    x25519_public_key(pub_a, a);
    CHECK_HEX(pub_a, sizeof pub_a, alice_public);
    x25519_public_key(pub_b, b);
    CHECK_HEX(pub_b, sizeof pub_b, bob_public);
    x25519(out, a, pub_b);
    CHECK_HEX(out, sizeof out, shared_secret);
    x25519(out, b, pub_a);
    CHECK_HEX(out, sizeof out, shared_secret);
}

/* x25519_chain equals X25519 applied step by step, for 1 to 6 scalars on
 * public keys, and gives zero for a point of small order. */
void test_x25519_chain(void)
{
    /* a point of order 8 on Curve25519 */
    static const char *const ORDER_8 = "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800";
    for (int round = 0; round < 40; round++) {
        uint8_t scalars[6][32], point[32], stepwise[32], chained[32];
        size_t count = (size_t)(round % 6) + 1;
        for (size_t i = 0; i < count; i++) random_bytes(scalars[i], 32);
        uint8_t secret[32];
        random_bytes(secret, 32);
        x25519_public_key(point, secret);
        x25519(stepwise, scalars[0], point);
        for (size_t i = 1; i < count; i++) x25519(stepwise, scalars[i], stepwise);
        x25519_chain(chained, (const uint8_t(*)[32])scalars, count, point);
        CHECK(memcmp(stepwise, chained, 32) == 0);
    }
    uint8_t small_order[32], scalar[1][32] = {{1}}, out[32];
    hex_decode(small_order, 32, ORDER_8);
    x25519_chain(out, (const uint8_t(*)[32])scalar, 1, small_order);
    static const uint8_t zero[32];
    CHECK(memcmp(out, zero, 32) == 0);
}

static void chain_stepwise(uint8_t out[32], const uint8_t (*scalars)[32], size_t count, const uint8_t point[32])
{
    x25519(out, scalars[0], point);
    for (size_t i = 1; i < count; i++) x25519(out, scalars[i], out);
}

/* x25519_chain_recurring equals X25519 step by step for points used again
 * and again (the table path from the fourth use), with more busy points
 * than it keeps tables for and more than it follows, and for hostile points:
 * small order, mixed order, non-canonical, on the twist (where it must give
 * x25519_chain's result). */
void test_x25519_chain_recurring(void)
{
    enum { POINTS = 40, USES = 6 };
    uint8_t points[POINTS][32];
    for (int i = 0; i < POINTS; i++) {
        uint8_t secret[32];
        random_bytes(secret, 32);
        x25519_public_key(points[i], secret);
    }
    /* first 6 points one after another, then 20 in turn (more than get
     * tables), then all 40 in turn (more than are followed) */
    static const int pass_points[] = {6, 20, POINTS};
    for (int pass = 0; pass < 3; pass++) {
        int points_used = pass_points[pass];
        for (int round = 0; round < points_used * USES; round++) {
            int which = pass == 0 ? round / USES : round % points_used;
            uint8_t scalars[5][32], stepwise[32], recurring[32];
            size_t count = (size_t)(round % 5) + 1;
            for (size_t i = 0; i < count; i++) random_bytes(scalars[i], 32);
            chain_stepwise(stepwise, (const uint8_t(*)[32])scalars, count, points[which]);
            x25519_chain_recurring(recurring, (const uint8_t(*)[32])scalars, count, points[which]);
            CHECK(memcmp(stepwise, recurring, 32) == 0);
        }
    }

    static const struct {
        const char *point, *same_as; /* same_as: a point with the same results, or NULL */
        bool on_twist;
    } hostile[] = {
        /* order 8, order 2 (u = 0) and order 4 (u = 1): all zeros */
        {"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", NULL, false},
        {"0000000000000000000000000000000000000000000000000000000000000000", NULL, false},
        {"0100000000000000000000000000000000000000000000000000000000000000", NULL, false},
        /* 1/u of RFC 7748's Alice: her point plus the point of order 2 */
        {"d8541ee0876ac628c959d36665b860b829361a7ef413775c03edc4598abb9873",
         "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", false},
        /* Alice's point with the top bit set, which X25519 ignores */
        {"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4eea",
         "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", false},
        /* p + 9, the base point not reduced */
        {"f6ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
         "0900000000000000000000000000000000000000000000000000000000000000", false},
        /* on the twist: u = 2, and u = -1, which has no Edwards point */
        {"0200000000000000000000000000000000000000000000000000000000000000", NULL, true},
        {"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", NULL, true},
    };
    static const uint8_t zero[32];
    for (size_t h = 0; h < sizeof hostile / sizeof hostile[0]; h++) {
        uint8_t point[32], same_as[32];
        hex_decode(point, 32, hostile[h].point);
        if (hostile[h].same_as) hex_decode(same_as, 32, hostile[h].same_as);
        for (int use = 0; use < 6; use++) {
            uint8_t scalars[3][32], expected[32], recurring[32];
            size_t count = (size_t)(use % 3) + 1;
            for (size_t i = 0; i < count; i++) random_bytes(scalars[i], 32);
            x25519_chain_recurring(recurring, (const uint8_t(*)[32])scalars, count, point);
            if (hostile[h].on_twist) {
                x25519_chain(expected, (const uint8_t(*)[32])scalars, count, point);
                CHECK(memcmp(expected, recurring, 32) == 0);
                continue;
            }
            chain_stepwise(expected, (const uint8_t(*)[32])scalars, count, point);
            CHECK(memcmp(expected, recurring, 32) == 0);
            if (hostile[h].same_as) {
                chain_stepwise(expected, (const uint8_t(*)[32])scalars, count, same_as);
                CHECK(memcmp(expected, recurring, 32) == 0);
                CHECK(memcmp(zero, recurring, 32) != 0);
            } else {
                CHECK(memcmp(zero, recurring, 32) == 0);
            }
        }
    }
}
