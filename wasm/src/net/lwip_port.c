/* What lwIP (NO_SYS=1) asks of its platform: a millisecond clock and
 * random numbers (initial ports and sequence numbers). */
#include "crypto/crypto.h"
#include "platform/platform.h"

#include "lwip/sys.h"

/* lwIP's timers compare u32 times with wrap-around in mind. */
u32_t sys_now(void)
{
    return (u32_t)platform_monotonic_ms();
}

uint32_t lwip_port_random(void)
{
    uint8_t bytes[4];
    random_bytes(bytes, sizeof bytes);
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}
