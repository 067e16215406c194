/* Inside the ws layer: the connection object, shared by the client
 * (client.c) and its connecting over DNS and a tls.h stream (connect.c). */
#ifndef MIX_WS_INTERNAL_H
#define MIX_WS_INTERNAL_H

#include "ws/ws.h"

#include "codec/codec.h"
#include "dns/dns.h"
#include "tls/tls.h"

#define WS_MAX_RESPONSE_HEADERS 64
#define WS_MAX_QUEUED_PINGS 8

/* A message (or our Close) waiting to go out, our own copy: fragments are
 * masked in place. */
typedef struct ws_outgoing {
    struct ws_outgoing *next;
    ws_opcode opcode;
    size_t len;
    size_t framed; /* bytes already put in frames */
    uint8_t data[];
} ws_outgoing;

/* The frame being handed to the transport: head (header, plus the payload
 * of a control frame), then payload. */
typedef struct {
    uint8_t head[WS_MAX_HEADER_LEN + WS_MAX_CONTROL_PAYLOAD];
    size_t head_len;
    const uint8_t *payload;
    size_t payload_len;
    size_t data_len; /* payload bytes that count in the buffered amount */
    size_t written;
    bool is_close;
    uint8_t *owned; /* the handshake request, freed after it */
} ws_frame_out;

struct ws {
    ws_events events;
    void *ctx;
    ws_ready_state state;
    /* options */
    bool tls;
    uint16_t port;
    char *host, *path, *origin;
    char *protocols; /* "a, b", or NULL */
    size_t max_message, fragment_size;
    uint32_t connect_timeout_ms, close_timeout_ms;
    /* below */
    dns_lookup *lookup;
    stream *stream;
    ws_transport transport;
    void *transport_ctx;
    bool transport_open;
    bool write_failed;
    uint32_t connect_timer, close_timer, failure_timer;
    const char *failure_message;
    char error_text[96];
    /* the opening handshake */
    char key[WS_KEY_LEN + 1];
    bool request_sent;
    char *response_head;
    size_t response_len;
    http_head response;
    http_header response_headers[WS_MAX_RESPONSE_HEADERS];
    char *selected_protocol;
    /* receiving */
    uint8_t header_bytes[WS_MAX_HEADER_LEN];
    size_t header_have;
    ws_frame_header frame_in;
    bool in_payload;
    uint64_t payload_received;
    ws_message sequence;
    ws_utf8 utf8;
    uint8_t *message;
    size_t message_len, message_cap;
    uint8_t control[WS_MAX_CONTROL_PAYLOAD];
    /* sending */
    ws_outgoing *queue, *queue_tail;
    ws_frame_out frame;
    size_t buffered;
    bool pong_pending;
    uint8_t pong[WS_MAX_CONTROL_PAYLOAD];
    size_t pong_len;
    struct {
        uint8_t data[WS_MAX_CONTROL_PAYLOAD];
        size_t len;
    } pings[WS_MAX_QUEUED_PINGS];
    size_t ping_count;
    /* closing */
    bool close_queued, close_sent, close_received;
    uint16_t received_code;
    char received_reason[WS_MAX_CLOSE_REASON + 1];
    /* lifetime */
    int depth;
    bool released;
};

/* client.c */
ws *ws_create(const ws_options *options, const ws_events *events, void *ctx, int *error);
void ws_attach_transport(ws *w, const ws_transport *transport, void *transport_ctx);
void ws_enter(ws *w);
void ws_leave(ws *w);
void ws_fail(ws *w, uint16_t close_code, const char *message);
void ws_fail_later(ws *w, const char *message);
void ws_flush(ws *w);

/* connect.c: stops a lookup in flight */
void ws_connect_cancel(ws *w);

#endif
