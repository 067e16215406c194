/* ct_equal and random_bytes: no vectors exist, so these check behaviour. */
#include <string.h>

#include "check.h"
#include "crypto/crypto.h"

void test_ct_equal(void)
{
    uint8_t a[33], b[33];
    for (size_t i = 0; i < sizeof a; i++) a[i] = b[i] = (uint8_t)(7 * i + 1);

    CHECK(ct_equal(a, b, sizeof a));
    /* a difference anywhere must count, including at both ends */
    b[0] ^= 0x01;
    CHECK(!ct_equal(a, b, sizeof a));
    b[0] ^= 0x01;
    b[16] ^= 0x80;
    CHECK(!ct_equal(a, b, sizeof a));
    b[16] ^= 0x80;
    b[32] ^= 0x10;
    CHECK(!ct_equal(a, b, sizeof a));
    /* nothing to compare is equal, whatever the buffers hold */
    CHECK(ct_equal(a, b, 0));
}

static bool all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++) acc |= p[i];
    return acc == 0;
}

void test_random(void)
{
    uint8_t a[32] = {0}, b[32] = {0};
    random_bytes(a, sizeof a);
    random_bytes(b, sizeof b);
    /* each fails with probability 2^-256 for a working generator */
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK(!all_zero(a, sizeof a));
    CHECK(!all_zero(b, sizeof b));

    /* a 0-length request returns and writes nothing */
    uint8_t sentinel[4] = {0xa5, 0xa5, 0xa5, 0xa5};
    random_bytes(sentinel, 0);
    CHECK(sentinel[0] == 0xa5 && sentinel[1] == 0xa5 && sentinel[2] == 0xa5 && sentinel[3] == 0xa5);
}
