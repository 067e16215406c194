/* The ws layer: a WebSocket client (RFC 6455) through the tunnel, with the
 * semantics of the browser's WebSocket for MixWebSocket: connect (DNS,
 * TCP, TLS for wss, the opening handshake with subprotocols and Origin),
 * whole messages in and out, the closing handshake, and one close event
 * after everything, failures included.
 *
 * Framing: no extensions. Incoming fragmented messages are reassembled up
 * to a maximum size (larger: the connection fails with 1009); text is
 * checked as UTF-8 as it arrives (invalid: fails with 1007). Outgoing
 * messages go in fragments of a configurable size, each masked with a fresh
 * random key; pings are answered with pongs between fragments.
 *
 * Events follow the browser: on_open once, then messages; on failure
 * on_error (with what failed) then on_close with code 1006; on_close comes
 * exactly once and nothing follows it. Callbacks run only from the event
 * loop, never inside a ws call, and may call any ws function, releasing
 * the connection they are about included. */
#ifndef MIX_WS_H
#define MIX_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_DEFAULT_MAX_MESSAGE (64u * 1024 * 1024) /* as tungstenite, which the published package uses */
#define WS_DEFAULT_FRAGMENT_SIZE 16384u
#define WS_DEFAULT_CONNECT_TIMEOUT_MS 60000u /* DNS, TCP, TLS and the handshake over the mixnet */
#define WS_DEFAULT_CLOSE_TIMEOUT_MS 15000u   /* for the server's Close, then for its end of TCP */
#define WS_MAX_PROTOCOLS 16

/* The close code reported when no Close frame was received. */
#define WS_CLOSE_ABNORMAL 1006

/* The browser's readyState values. */
typedef enum {
    WS_CONNECTING = 0,
    WS_OPEN = 1,
    WS_CLOSING = 2,
    WS_CLOSED = 3,
} ws_ready_state;

/* Results of the calls below, distinct so the glue can throw the browser's
 * exceptions. */
typedef enum {
    WS_CALL_OK = 0,
    WS_CALL_INVALID_STATE = -1,  /* send while connecting: InvalidStateError */
    WS_CALL_CLOSED = -2,         /* send while closing or closed: the browser drops the data silently */
    WS_CALL_INVALID_UTF8 = -3,   /* text or a close reason that is not UTF-8 */
    WS_CALL_INVALID_CODE = -4,   /* close with a code other than 1000 or 3000-4999: InvalidAccessError */
    WS_CALL_TOO_LONG = -5,       /* a close reason over 123 bytes or a ping over 125: SyntaxError */
    WS_CALL_INVALID = -6,        /* bad options: an empty host, a path not starting with '/', a
                                  * protocol that is not a token or is repeated: SyntaxError */
    WS_CALL_NO_MEMORY = -7,
} ws_call_result;

typedef struct {
    bool tls;         /* wss */
    const char *host; /* a DNS name or an IPv4 literal, as the URL names it */
    uint16_t port;    /* the URL's, or 80 / 443 */
    const char *path; /* path and query, starting with '/' */
    const char *const *protocols; /* offered subprotocols, in order of preference */
    size_t protocol_count;
    const char *origin; /* the Origin header, or NULL for none */
    /* 0 for each gives its default above */
    size_t max_message_size;
    size_t fragment_size;
    uint32_t connect_timeout_ms;
    uint32_t close_timeout_ms;
} ws_options;

typedef struct {
    /* required */
    void (*on_open)(void *ctx, const char *protocol); /* the selected subprotocol, "" for none */
    /* A whole message, valid during the call only; text is valid UTF-8 (with
     * a NUL after it, not counted in len). */
    void (*on_message)(void *ctx, bool binary, const uint8_t *data, size_t len);
    /* The end: code and reason of the server's Close frame (1005 when it had
     * no code), or 1006 and "" when none came; was_clean when the closing
     * handshake completed. The handle must still be released. */
    void (*on_close)(void *ctx, uint16_t code, const char *reason, bool was_clean);
    /* optional (NULL) */
    void (*on_error)(void *ctx, const char *message); /* the connection failed; on_close follows */
    void (*on_pong)(void *ctx, const uint8_t *data, size_t len);
    /* The buffered amount went down (to this) when the transport made room
     * again; 0 means everything sent was handed to the network. */
    void (*on_buffered_amount)(void *ctx, size_t amount);
} ws_events;

typedef struct ws ws;

/* Starts connecting; on_open or on_error and on_close follow. Gives NULL
 * with *error (when not NULL) set to a ws_call_result for invalid options
 * or no memory. The options (strings included) and events are copied. */
ws *ws_connect(const ws_options *options, const ws_events *events, void *ctx, int *error);

/* Queues a message. Text must be UTF-8. The data is copied. */
int ws_send(ws *w, bool binary, const uint8_t *data, size_t len);
/* Queues a ping (up to 125 bytes); its pong comes to on_pong. */
int ws_ping(ws *w, const uint8_t *data, size_t len);
/* The browser's close(code, reason): code 0 for none (then reason must be
 * empty), else 1000 or 3000-4999; reason up to 123 bytes of UTF-8. While
 * connecting the connection fails; while open the closing handshake
 * starts after the queued messages; afterwards it does nothing. */
int ws_close(ws *w, uint16_t code, const uint8_t *reason, size_t reason_len);

ws_ready_state ws_state(const ws *w);
/* Bytes of messages queued by ws_send but not yet handed to the network. */
size_t ws_buffered_amount(const ws *w);
/* The subprotocol the server selected: "" until open or when none. */
const char *ws_protocol(const ws *w);

/* Releases the handle, at any time: an open connection ends at once (a
 * Close 1001 "going away" is attempted, without waiting for an answer).
 * No callback follows. Exactly once. */
void ws_release(ws *w);

/* ---- over another byte stream: for tests and the fuzz target ---- */

/* The byte stream under a connection, as tls.h's stream: write takes what
 * it can and gives the count (or a negative error); release ends it
 * (orderly, or with a reset when abort), after which none of the
 * ws_transport_* events may come. */
typedef struct {
    int (*write)(void *ctx, const uint8_t *data, size_t len);
    void (*release)(void *ctx, bool abort);
} ws_transport;

/* Like ws_connect, with the caller's transport in place of DNS, TCP and
 * TLS: the handshake starts at ws_transport_connected. */
ws *ws_connect_over(const ws_options *options, const ws_events *events, void *ctx, const ws_transport *transport,
                    void *transport_ctx, int *error);
/* The transport's events, with stream_events' meanings; data is copied
 * (consumed) at once. Each may run the ws callbacks, and may release w
 * (freed on return), so the caller must not touch w afterwards unless it
 * knows better. */
void ws_transport_connected(ws *w);
void ws_transport_data(ws *w, const uint8_t *data, size_t len);
void ws_transport_end(ws *w);
void ws_transport_closed(ws *w, int error);
void ws_transport_writable(ws *w);

#endif
