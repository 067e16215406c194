/* UDP between the clients behind localnet's exit and the real servers on
 * 127.0.0.1, for both small internets (exit_internet.h, kernel_internet.h):
 * one connected socket per service, client address and client port, so each
 * answer goes back to the client that asked. Flows idle for a minute are
 * forgotten, and the least recently used one when the table is full. */
#ifndef LOCALNET_UDP_FLOWS_H
#define LOCALNET_UDP_FLOWS_H

#include <stddef.h>
#include <stdint.h>

/* A server's answer on a flow: service is what udp_flows_send was given. */
typedef void (*udp_flow_answer_fn)(void *ctx, void *service, const uint8_t client_ip[4], uint16_t client_port,
                                   const uint8_t *data, size_t len);

typedef struct udp_flows udp_flows;

udp_flows *udp_flows_create(udp_flow_answer_fn on_answer, void *ctx);
void udp_flows_destroy(udp_flows *flows);
/* Sends a client's datagram to 127.0.0.1:real_port on the flow for
 * (service, client), opened if need be. A full socket buffer loses it, as
 * UDP may. */
void udp_flows_send(udp_flows *flows, void *service, uint16_t real_port, const uint8_t client_ip[4],
                    uint16_t client_port, const uint8_t *data, size_t len);
/* Flows opened so far. */
uint64_t udp_flows_opened(const udp_flows *flows);

#endif
