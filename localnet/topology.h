/* What localnet's directory publishes: its nodes, their keys, ports and
 * roles, shared by the directory server and the nodes themselves. */
#ifndef LOCALNET_TOPOLOGY_H
#define LOCALNET_TOPOLOGY_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    LOCALNET_MIXNODE,
    LOCALNET_ENTRY_GATEWAY,
    LOCALNET_EXIT_GATEWAY, /* hosts the IP Packet Router */
} localnet_role;

typedef struct {
    uint32_t node_id;
    localnet_role role;
    uint8_t layer;              /* 1..3 for mix nodes */
    uint8_t identity_public[32]; /* Ed25519 */
    uint8_t sphinx_public[32];   /* X25519, for the current key rotation */
    uint16_t mix_port;           /* on 127.0.0.1 */
    uint16_t ws_port, wss_port;  /* gateways; 0 when there is none */
    char hostname[64];           /* gateways: what wss URLs name (the test CA's certificate covers it) */
    char ipr_address[256];       /* exit gateway: the IPR's Nym address, "id.enc@gateway" in base58 */
    char build_version[32];      /* e.g. "1.38.0": decides IPR v10 (>= 1.37.0) or v9 */
} localnet_node_info;

#define LOCALNET_MAX_NODES 16

typedef struct {
    localnet_node_info nodes[LOCALNET_MAX_NODES];
    size_t count;
    uint32_t epoch_id;    /* absolute epoch id */
    uint32_t rotation_id; /* current Sphinx key rotation: its parity is the rotation byte */
} localnet_topology;

#endif
