#define _GNU_SOURCE
#include "platform/platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

void platform_random_bytes(uint8_t *out, size_t len)
{
    while (len > 0) {
        ssize_t got = getrandom(out, len, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            /* continuing without randomness would leak keys */
            perror("getrandom");
            abort();
        }
        out += got;
        len -= (size_t)got;
    }
}
