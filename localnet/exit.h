/* localnet's exit: the IP Packet Router that a nym-node exit gateway runs
 * (shared/spec/ipr.md), and the small internet it routes into.
 *
 * The IPR is a Nym client of its own (keys made here) whose gateway is the
 * exit gateway: its packets leave through the forwarder to a layer-1 mix,
 * and what the exit gateway's final hop delivers to the IPR's identity
 * comes in through exit_ipr_deliver. It speaks IPR v9 and v10 in LP stream
 * frames, as the published browser client does: Connect (an address from
 * 10.0.0.0/16 and fc00::/112, and the MTU for v10), Data both ways with
 * downstream bundling, Disconnect, Ping and Health, answers through the
 * client's reply SURBs (asking for more when short), and it forgets clients
 * that sent no data for the idle limit, silently, as nym-node does.
 *
 * Behind it, a userspace TCP/IP stack (lwIP) owns the services' virtual
 * addresses (services.h) and relays TCP and UDP to the real servers on
 * 127.0.0.1; other destinations get an ICMP unreachable or a TCP reset.
 * lwIP is one global instance per process, so one exit may exist at a time
 * (a later one may follow once the first is destroyed). As nym-node, it
 * can route into Linux's own stack instead (kernel_internet.h). */
#ifndef LOCALNET_EXIT_H
#define LOCALNET_EXIT_H

#include "mixnet/mixnet.h"
#include "mixnet_nodes.h"
#include "services.h"
#include "topology.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXIT_IDLE_TIMEOUT_MS 60000 /* nym-node's CLIENT_MIXNET_INACTIVITY_TIMEOUT */
#define EXIT_IDLE_SWEEP_MS 10000   /* nym-node's DISCONNECT_TIMER_INTERVAL */
#define EXIT_MTU 1500              /* told to v10 clients; what the published client was seen to accept */

typedef struct {
    /* The network: mix layers 1-3 and the node with role
     * LOCALNET_EXIT_GATEWAY, which is the IPR's gateway (its build_version
     * goes into Health answers). */
    const localnet_topology *topology;
    forwarder *forwarder;     /* the exit gateway's: where the IPR's packets leave */
    const services *services; /* the virtual addresses and the real ports behind them; NULL: none */
    /* The IPR's message layer; NULL gives mixnet_client_config_default.
     * Either way it then takes what nym-node sets for the IPR it hosts: no
     * Poisson stream (loop cover stays as configured), 50 SURBs asked for
     * beyond the queue, and no retransmission. */
    const mixnet_client_config *mixnet;
    uint32_t idle_timeout_ms;        /* 0: EXIT_IDLE_TIMEOUT_MS */
    uint32_t idle_sweep_interval_ms; /* 0: EXIT_IDLE_SWEEP_MS */
    uint16_t mtu;                    /* 0: EXIT_MTU */
    /* Linux's TCP/IP behind a TUN device (kernel_internet.h, needs root)
     * in place of lwIP's */
    bool kernel_internet;
} exit_ipr_config;

typedef struct {
    size_t clients; /* connected now */
    uint64_t connects, disconnects, idle_drops;
    uint64_t connect_answers_lost; /* by exit_ipr_lose_connect_answers */
    uint64_t requests_refused; /* not LP, no sender tag, undecodable, wrong version */
    uint64_t packets_in;       /* from clients, into the small internet */
    uint64_t packets_refused;  /* from an address the sender was not given, or not IPv4 */
    uint64_t packets_out;      /* from the small internet to a connected client */
    uint64_t packets_unrouted; /* from the small internet to no connected client */
    uint64_t bundles_sent;
    uint64_t tcp_relays, udp_flows; /* opened to the real servers so far */
    uint64_t tcp_pauses;            /* times a real server waited for the client's TCP window */
    mixnet_client_stats mixnet;     /* the IPR's message layer: SURB requests sent and so on */
} exit_ipr_stats;

typedef struct exit_ipr exit_ipr;

/* Starts the IPR and its small internet. NULL when the topology has no
 * exit gateway, lwIP is taken by another exit, or memory runs out. */
exit_ipr *exit_ipr_create(const exit_ipr_config *config);
/* Stops everything, closing the relayed connections. */
void exit_ipr_destroy(exit_ipr *ipr);

/* The IPR's Nym address: its identity is the destination the exit gateway
 * hands to exit_ipr_deliver; the text form is what the directory publishes
 * (localnet_node_info.ipr_address). */
void exit_ipr_address(const exit_ipr *ipr, mixnet_recipient *out);
int exit_ipr_address_text(const exit_ipr *ipr, char *out, size_t out_cap);

/* What the exit gateway's final hop delivered to the IPR's identity: a
 * 1643-byte message or a 21-byte ack. */
void exit_ipr_deliver(exit_ipr *ipr, const uint8_t *message, size_t len);

/* A fault for tests: the next count Connect requests are served (the
 * client gets its addresses) but their answers are dropped, as if lost in
 * the mixnet. */
void exit_ipr_lose_connect_answers(exit_ipr *ipr, unsigned count);

void exit_ipr_stats_get(const exit_ipr *ipr, exit_ipr_stats *out);

#endif
