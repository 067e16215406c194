#include "crypto/crypto.h"
#include "platform/platform.h"

void random_bytes(uint8_t *out, size_t len)
{
    platform_random_bytes(out, len);
}

bool ct_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < len; i++) diff |= a[i] ^ b[i];
    return diff == 0;
}

void secure_zero(void *buf, size_t len)
{
    volatile uint8_t *p = buf;
    while (len--) *p++ = 0;
}
