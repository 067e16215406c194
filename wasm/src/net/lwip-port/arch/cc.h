/* lwIP's compiler and platform glue for gcc, clang and emcc. */
#ifndef MIX_LWIP_ARCH_CC_H
#define MIX_LWIP_ARCH_CC_H

#include <stdint.h>

#define LWIP_PLATFORM_DIAG(x) do { } while (0)
#define LWIP_PLATFORM_ASSERT(x) do { } while (0)
#define LWIP_RAND() ((u32_t)lwip_port_random())

uint32_t lwip_port_random(void);

#endif
