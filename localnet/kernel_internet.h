/* The small internet behind localnet's exit on Linux's own TCP/IP, as
 * nym-node's IPR has it (a TUN device into the kernel): the servers' TCP is
 * then an internet host's (SACK, RACK, pacing) rather than lwIP's Reno,
 * which matters once the mixnet loses packets. A network namespace of its
 * own holds the TUN device (the clients' 10.0.0.0/16 lies behind it) and
 * the services' virtual addresses on its loopback; each connection the
 * kernel accepts there is relayed to the real server on the host's
 * 127.0.0.1, and UDP likewise. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN).
 * Other destinations get what a Linux host without them gives. */
#ifndef LOCALNET_KERNEL_INTERNET_H
#define LOCALNET_KERNEL_INTERNET_H

#include "exit_internet.h"
#include "services.h"

#include <stddef.h>
#include <stdint.h>

typedef struct kernel_internet kernel_internet;

/* As exit_internet_create. NULL (with the reason on stderr) when the
 * namespace, the TUN device or a listening socket cannot be made. */
kernel_internet *kernel_internet_create(const services *s, const uint8_t router_ip[4], uint8_t prefix_len,
                                        uint16_t mtu, exit_internet_output_fn output, void *ctx);
/* Closes every relay; the namespace goes with its last socket. */
void kernel_internet_destroy(kernel_internet *net);
/* An IPv4 packet from a client, written to the TUN device. */
void kernel_internet_input(kernel_internet *net, const uint8_t *packet, size_t len);
const exit_internet_stats *kernel_internet_get_stats(kernel_internet *net);

#endif
