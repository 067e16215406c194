/* localnet's gateways, the side clients talk to: the WebSocket listener
 * with registration, authentication v2, the free bandwidth claim and the
 * encrypted data plane (shared/spec/gateway.md), relaying clients' packets
 * into the mixnet and pushing final-hop messages to them (or keeping them
 * until they come back). */
#ifndef LOCALNET_GATEWAY_SERVER_H
#define LOCALNET_GATEWAY_SERVER_H

#include "mixnet_nodes.h"

#include <stddef.h>
#include <stdint.h>

typedef struct gateway_server gateway_server;

typedef struct {
    uint64_t connections, registrations, authentications, frames_in, pushes, stored, errors;
} gateway_server_stats;

/* Listens for ws:// on 127.0.0.1:port (0 picks one). identity_secret is
 * the Ed25519 secret key (seed ‖ public key) clients check H2 against. */
gateway_server *gateway_server_start(uint16_t port, const uint8_t identity_secret[64], forwarder *fw);
uint16_t gateway_server_port(const gateway_server *g);
/* A final-hop message for the client with this identity: pushed now if it
 * is connected, else stored for its next session. */
void gateway_server_deliver(gateway_server *g, const uint8_t client_identity[32], const uint8_t *message, size_t len);
const gateway_server_stats *gateway_server_get_stats(const gateway_server *g);
/* Closes the listener and every session; registered clients are kept. */
void gateway_server_suspend(gateway_server *g);
int gateway_server_resume(gateway_server *g);
void gateway_server_stop(gateway_server *g);

#endif
