/* The small internet behind localnet's exit (exit.h): lwIP with one
 * interface per virtual service address and one for the router the IPR's
 * clients sit behind; TCP and UDP to a virtual service are terminated by
 * lwIP and relayed to the real server on 127.0.0.1. Used by exit.c only. */
#ifndef LOCALNET_EXIT_INTERNET_H
#define LOCALNET_EXIT_INTERNET_H

#include "services.h"

#include <stddef.h>
#include <stdint.h>

/* An IP packet lwIP sends towards a client. */
typedef void (*exit_internet_output_fn)(void *ctx, const uint8_t *packet, size_t len);

typedef struct {
    uint64_t tcp_relays, udp_flows;
    uint64_t tcp_pauses; /* times a real server was not read while lwIP's send buffer was full */
} exit_internet_stats;

typedef struct exit_internet exit_internet;

/* router_ip/prefix_len: the network clients get addresses from; lwIP's
 * ICMP errors come from router_ip. s may be NULL: an internet with nobody
 * in it. NULL when lwIP is in use by another instance or a service
 * address does not parse. */
exit_internet *exit_internet_create(const services *s, const uint8_t router_ip[4], uint8_t prefix_len, uint16_t mtu,
                                    exit_internet_output_fn output, void *ctx);
/* Aborts every relayed connection; lwIP is free for another instance. */
void exit_internet_destroy(exit_internet *net);
/* Aborts every TCP connection with a client address the IPR has let go.
 * lwIP would otherwise go on resending to it for many minutes and hold its
 * send buffers meanwhile; its memory is one fixed pool, which two
 * abandoned downloads fill, and then no connection gets an answer. */
void exit_internet_forget_client(exit_internet *net, const uint8_t ipv4[4]);
/* An IPv4 packet from a client. */
void exit_internet_input(exit_internet *net, const uint8_t *packet, size_t len);
const exit_internet_stats *exit_internet_get_stats(exit_internet *net);

#endif
