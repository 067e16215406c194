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

/* Opens a WebSocket: options as JSON {"tls":false,"host":"ws.example",
 * "port":80,"path":"/chat?x=1","protocols":["a","b"],"origin":null}.
 * Events: {"event":"ws","id":id,"type":"open","protocol":"a"}, then
 * messages through the data handler (kind "ws-text" or "ws-binary"),
 * {"type":"buffered","amount":n} as queued bytes leave, and at the end
 * {"type":"error","message":...} (on failure only) and always
 * {"type":"close","code":1000,"reason":"","wasClean":true}, after which
 * the id is free. Gives 0, or a negative ws_call_result (invalid options:
 * the browser's SyntaxError), or -1 with mix_last_error. */
int mix_ws_open(unsigned id, const char *options_json);
/* Gives the ws_call_result of ws_send, or -2 (closed) for an unknown id. */
int mix_ws_send(unsigned id, bool binary, const unsigned char *data, size_t len);
/* code -1 for none; reason UTF-8. Gives the ws_call_result of ws_close. */
int mix_ws_close(unsigned id, int code, const char *reason);
/* Bytes queued by mix_ws_send and not yet handed to the network. */
size_t mix_ws_buffered_amount(unsigned id);

/* Starts a fetch. request is JSON {"url":..., "method":"GET",
 * "headers":[["name","value"],...], "redirect":"follow|manual|error",
 * "timeoutMs":0, "bodyStreamed":false}; a body of bytes comes as body and
 * body_len (body NULL: none), a streamed one through mix_fetch_body_write
 * and mix_fetch_body_end. Events {"event":"fetch","id":id,"type":...}:
 * "response" (status, statusText, headers as pairs in order, url,
 * redirected), body bytes through the data handler (kind "fetch-body"),
 * then "end" or "error" (name "TypeError" or "TimeoutError", message),
 * after which the id is free; "writable" when a streamed body has room
 * again. Gives 0, or -1 with mix_last_error (no tunnel, bad JSON). */
int mix_fetch_start(unsigned id, const char *request_json, const unsigned char *body, size_t body_len);
/* Gives how many bytes of a streamed body it took (fewer: wait for
 * "writable"), or a negative error when the fetch is over. */
int mix_fetch_body_write(unsigned id, const unsigned char *data, size_t len);
int mix_fetch_body_end(unsigned id);
/* The page took len more body bytes: more may come. */
void mix_fetch_consumed(unsigned id, size_t len);
/* Stops the fetch; no event follows. */
void mix_fetch_abort(unsigned id);

/* Where events go: one JSON object per event, such as
 * {"event":"state","state":"ready","reason":null}. The web build sends
 * them to Module.onMixEvent without this. */
typedef void (*mix_event_handler)(const char *json);
void mix_set_event_handler(mix_event_handler handler);
/* Where bytes go (WebSocket messages, response bodies): kind says what
 * they are, id whose. The web build sends them to Module.onMixData. */
typedef void (*mix_data_handler)(const char *kind, unsigned id, const unsigned char *data, size_t len);
void mix_set_data_handler(mix_data_handler handler);

#endif
