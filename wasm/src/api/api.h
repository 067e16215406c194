/* The api layer: what the worker's JavaScript calls, the top of the core.
 * Options and answers travel as JSON text, so the boundary stays a few
 * functions of strings; events (state changes) go to one handler.
 *
 * The worker calls these from the browser's event loop only. Strings
 * returned stay valid until the next call of the same function. */
#ifndef MIX_API_H
#define MIX_API_H

#include <stdbool.h>
#include <stddef.h>

/* Starts the tunnel with the options of setupMixTunnel, as a JSON object
 * (every key optional; names as the published SetupMixTunnelOpts, plus
 * nymApiUrl and extraTrustAnchors). Gives 0, or -1 with mix_last_error()
 * saying why: an unknown or ill-typed option, or a tunnel already set up
 * and not disconnected. The outcome comes as state events. */
int mix_tunnel_setup(const char *options_json);
/* Stops the tunnel; a new setup may follow. Nothing when there is none. */
void mix_tunnel_disconnect(void);
/* {"state":"connecting|ready|shutting_down|shutdown|failed","reason":...};
 * "shutdown" before any setup. */
const char *mix_tunnel_state_json(void);
/* {"state":..., "gateway":..., "ipr":..., "ipv4":..., "mtu":..., packets and
 * bytes each way, real and cover packets, retransmissions, "rttMs"} */
const char *mix_tunnel_stats_json(void);
const char *mix_last_error(void);

/* Looks name up (want: 1 A, 2 AAAA, 3 both) through the tunnel; the
 * answer comes as the event {"event":"dns","id":id,"error":null,
 * "addresses":[{"address":"192.0.2.1","family":4,"ttl":60},...]}, or
 * with "error":"<text>" and "errorKind":"nxdomain|no_address|servfail|
 * timeout|network|invalid_name|no_memory" and no addresses. id is the
 * caller's (for matching and cancelling). A lookup that cannot start
 * (an invalid name) is answered before this returns. Gives 0, or -1 (no
 * tunnel, or out of memory). */
int mix_dns_resolve(unsigned id, const char *name, unsigned want);
/* No event will come for this lookup. */
void mix_dns_cancel(unsigned id);

/* Where events go: one JSON object per event, such as
 * {"event":"state","state":"ready","reason":null}. The web build sends
 * them to Module.onMixEvent without this. */
typedef void (*mix_event_handler)(const char *json);
void mix_set_event_handler(mix_event_handler handler);

#endif
