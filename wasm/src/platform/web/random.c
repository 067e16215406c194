#include "platform/platform.h"

#include <emscripten.h>
#include <string.h>

/* crypto.getRandomValues fills at most 65536 bytes per call. */
EM_JS(void, web_random_fill, (uint8_t *out, size_t len), {
    for (let done = 0; done < len; done += 65536) {
        const n = Math.min(65536, len - done);
        crypto.getRandomValues(HEAPU8.subarray(out + done, out + done + n));
    }
});

/* Each call into JavaScript costs more than a Sphinx hop's worth of hashing,
 * and a packet asks for randomness several times, so small requests are
 * served from a pool filled a few KB at a time. Served bytes are wiped from
 * the pool at once, so no secret stays behind in it. */
enum { RANDOM_POOL_LEN = 4096 };
static uint8_t random_pool[RANDOM_POOL_LEN];
static size_t random_pool_left;

void platform_random_bytes(uint8_t *out, size_t len)
{
    if (len > RANDOM_POOL_LEN / 4) {
        web_random_fill(out, len);
        return;
    }
    if (len > random_pool_left) {
        web_random_fill(random_pool, RANDOM_POOL_LEN);
        random_pool_left = RANDOM_POOL_LEN;
    }
    uint8_t *taken = random_pool + random_pool_left - len;
    memcpy(out, taken, len);
    memset(taken, 0, len);
    random_pool_left -= len;
}
