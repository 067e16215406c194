/* localnet's directory: the nym-api endpoints the browser clients call,
 * answered in JSON over HTTP/1.1 on 127.0.0.1 from a localnet_topology.
 *
 * Served under DIRECTORY_PATH_PREFIX (a client's nym-api URL is
 * "http://127.0.0.1:<port>/api/"):
 *   GET /v2/unstable/nym-nodes/skimmed[?role=...]      every node, or one role's
 *   GET /v2/unstable/nym-nodes/skimmed/entry-gateways  both gateways (entry-capable)
 *   GET /v2/unstable/nym-nodes/skimmed/exit-gateways   the exit gateway
 *   GET /v2/unstable/nym-nodes/skimmed/mixnodes/active the mix nodes
 *   GET /v2/unstable/nym-nodes/skimmed/mixnodes/all    the mix nodes
 *   GET /v1/nym-nodes/rewarded-set
 *   GET /v1/epoch/key-rotation-info
 *   GET /v2/nym-nodes/described
 * Always JSON, whatever `output` or Accept ask for (the clients decode by
 * the response's Content-Type); queries other than `role` are ignored and
 * every list is one page, as nym-api does. HEAD, keep-alive, pipelining,
 * CORS (preflights included) for pages on other origins; anything else
 * gets a JSON error. */
#ifndef LOCALNET_DIRECTORY_H
#define LOCALNET_DIRECTORY_H

#include "topology.h"

#include <stddef.h>
#include <stdint.h>

#define DIRECTORY_PATH_PREFIX "/api"

typedef struct directory_server directory_server;

/* Listens on 127.0.0.1:port (0 picks a free one) and serves a copy of
 * topology from the platform event loop. Every answer is built here, once,
 * so all calls agree on the epoch, rotation and refresh time. Gives NULL
 * when the port cannot be had or the topology cannot be published: more
 * than LOCALNET_MAX_NODES nodes, a mix node outside layers 1-3, or a
 * rotation_id above epoch_id (no key rotation schedule reaches it). */
directory_server *directory_start(const localnet_topology *topology, uint16_t port);
uint16_t directory_port(const directory_server *d);

/* Writes the directory's member of localnet's JSON status line, without
 * the surrounding braces:
 *   "directory_url":"http://127.0.0.1:<port>/api/"
 * Gives its length, or -1 if it does not fit in cap bytes (with the NUL). */
int directory_status_json(const directory_server *d, char *buf, size_t cap);

/* Closes the listener and every connection. */
void directory_stop(directory_server *d);

#endif
