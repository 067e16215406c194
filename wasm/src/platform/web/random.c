#include "platform/platform.h"

#include <emscripten.h>

/* crypto.getRandomValues fills at most 65536 bytes per call. */
EM_JS(void, web_random_fill, (uint8_t *out, size_t len), {
    for (let done = 0; done < len; done += 65536) {
        const n = Math.min(65536, len - done);
        crypto.getRandomValues(HEAPU8.subarray(out + done, out + done + n));
    }
});

void platform_random_bytes(uint8_t *out, size_t len)
{
    web_random_fill(out, len);
}
