/* localnet's mix nodes and the mix side of its gateways: packets arrive
 * over TCP in Nym frames, are processed as nym-node does, held for their
 * delay and passed on over TCP to the next node. */
#ifndef LOCALNET_MIXNET_NODES_H
#define LOCALNET_MIXNET_NODES_H

#include "sphinx/sphinx.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Outgoing connections, one per next-hop address, shared by every node. */
typedef struct forwarder forwarder;

forwarder *forwarder_create(void);
void forwarder_destroy(forwarder *fw);
/* Only packets to these addresses are sent on, as nym-node's routing filter does. */
int forwarder_allow(forwarder *fw, const nym_node_address *addr);
/* Frames and queues a packet for its next hop; fails when it is dropped. */
int forwarder_send(forwarder *fw, const nym_mix_packet *mp);

typedef struct {
    double drop_rate;      /* share of packets lost */
    double duplicate_rate; /* share of packets sent twice */
    double reorder_rate;   /* share of packets held for an extra random time */
    uint32_t reorder_max_ms;
    uint32_t extra_delay_ms; /* added to every packet's own delay */
} mixnet_faults;

typedef struct {
    uint64_t received, forwarded, delivered, dropped, rejected, replayed;
} mixnet_node_stats;

typedef struct mixnet_node_server mixnet_node_server;

/* Where a gateway's final hops go: the message for the client whose
 * identity is destination. */
typedef void (*mixnet_deliver_fn)(void *ctx, const uint8_t destination[SPHINX_DESTINATION_LEN],
                                  const uint8_t *message, size_t len);

/* Listens on 127.0.0.1:port (0 picks one). A gateway (deliver set) handles
 * final hops; a mix drops them. */
mixnet_node_server *mixnet_node_start(uint16_t port, const uint8_t sphinx_secret[32], forwarder *fw,
                                      mixnet_deliver_fn deliver, void *deliver_ctx);
uint16_t mixnet_node_port(const mixnet_node_server *n);
void mixnet_node_set_faults(mixnet_node_server *n, const mixnet_faults *faults);
const mixnet_node_stats *mixnet_node_get_stats(const mixnet_node_server *n);
/* Stops listening, closes its connections and drops what it holds. */
void mixnet_node_stop(mixnet_node_server *n);

#endif
