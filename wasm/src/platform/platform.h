/* The platform layer: the only way the core reaches the outside world.
 * One implementation per target: posix/ (native) and web/ (Emscripten). */
#ifndef MIX_PLATFORM_H
#define MIX_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* Fills out with cryptographically secure random bytes; never fails
 * (a platform without a working source of randomness stops the program). */
void platform_random_bytes(uint8_t *out, size_t len);

#endif
