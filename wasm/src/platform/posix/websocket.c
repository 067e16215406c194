/* The native WebSocket client (RFC 6455), on the codec's framing and
 * handshake, over a platform connection (TCP, or TLS for wss). */
#include "codec/codec.h"
#include "platform/platform.h"
#include "platform/posix/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Larger messages fail the connection; the peer gets 1009. */
#define WS_MAX_MESSAGE (16u << 20)
/* A reassembly buffer larger than this is freed after its message. */
#define WS_KEPT_BUFFER (1u << 20)
#define WS_RESPONSE_HEADERS 32
/* the upgrade request: the target, the host and about 150 bytes of fields */
#define WS_REQUEST_MAX (NET_TARGET_MAX + NET_HOST_MAX + 512)

typedef enum {
    WS_STARTING,   /* the connection starts from the loop */
    WS_CONNECTING, /* TCP and TLS */
    WS_HANDSHAKE,  /* the upgrade request is sent */
    WS_OPEN,
    WS_CLOSED, /* on_close was called */
} ws_state;

struct platform_websocket {
    net_conn conn;
    net_url url;
    platform_websocket_events events;
    void *ctx;
    ws_state state;
    uint32_t start_timer;
    bool close_sent;
    /* the application may release the socket inside a callback: it is
     * freed when the callback returns */
    bool in_callback, release_requested;
    char key[WS_KEY_LEN + 1];
    http_head response;
    http_header response_headers[WS_RESPONSE_HEADERS];
    /* the message being received */
    ws_message message;
    ws_utf8 utf8;
    uint64_t frame_left; /* payload bytes of the current data frame still to come */
    bool frame_fin;
    uint8_t *data;
    size_t data_len, data_cap;
};

static int ws_queue_frame(platform_websocket *ws, ws_opcode opcode, const uint8_t *payload, size_t len)
{
    uint8_t mask_key[WS_MASK_KEY_LEN], header[WS_MAX_HEADER_LEN];
    platform_random_bytes(mask_key, sizeof mask_key);
    size_t header_len = ws_frame_header_write(header, true, opcode, len, mask_key);
    if (header_len == 0 || len > SIZE_MAX - header_len) return -1;
    uint8_t *out = net_conn_output_space(&ws->conn, header_len + len);
    if (!out) return -1;
    memcpy(out, header, header_len);
    if (len > 0) memcpy(out + header_len, payload, len);
    ws_mask(out + header_len, len, mask_key, 0);
    net_conn_commit(&ws->conn, header_len + len);
    return 0;
}

/* Best effort: a close frame that cannot be queued leaves the peer to see
 * the connection drop. WS_CLOSE_NO_STATUS sends an empty close frame. */
static void ws_queue_close(platform_websocket *ws, uint16_t code)
{
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
    int len = code == WS_CLOSE_NO_STATUS ? 0 : ws_close_build(payload, code, NULL, 0);
    ws->close_sent = true;
    if (len >= 0) (void)ws_queue_frame(ws, WS_OPCODE_CLOSE, payload, (size_t)len);
}

static void ws_destroy(platform_websocket *ws)
{
    if (ws->start_timer) platform_timer_cancel(ws->start_timer);
    if (ws->state == WS_OPEN && !ws->close_sent) ws_queue_close(ws, 1000);
    net_conn_release(&ws->conn);
    free(ws->data);
    free(ws);
}

/* After a callback into the application: false when it released the
 * socket meanwhile, which is then freed. */
static bool ws_callback_returned(platform_websocket *ws)
{
    ws->in_callback = false;
    if (!ws->release_requested) return true;
    ws_destroy(ws);
    return false;
}

static bool ws_report_close(platform_websocket *ws, uint16_t code, const char *reason)
{
    ws->state = WS_CLOSED;
    ws->in_callback = true;
    ws->events.on_close(ws->ctx, code, reason);
    return ws_callback_returned(ws);
}

/* Fails the connection (RFC 6455 section 7.1.7): an open one tells the
 * peer close_code (0: nothing); the application gets 1006, as a browser
 * gives it, and the reason. */
static bool ws_fail(platform_websocket *ws, uint16_t close_code, const char *reason)
{
    if (ws->state == WS_OPEN && !ws->close_sent && close_code) ws_queue_close(ws, close_code);
    return ws_report_close(ws, 1006, reason);
}

static bool ws_fail_frame(platform_websocket *ws, ws_result result)
{
    uint16_t code = ws_close_code_for(result);
    return ws_fail(ws, code, code == 1009 ? "message too big" : code == 1007 ? "invalid UTF-8 text" : "protocol error");
}

static void ws_start(void *ctx)
{
    platform_websocket *ws = ctx;
    ws->start_timer = 0;
    ws->state = WS_CONNECTING;
    if (!net_conn_start(&ws->conn, &ws->url)) (void)ws_report_close(ws, 1006, ws->conn.error);
}

static bool ws_send_handshake(platform_websocket *ws)
{
    uint8_t nonce[WS_NONCE_LEN];
    platform_random_bytes(nonce, sizeof nonce);
    ws_handshake_key(ws->key, nonce);
    char *out = (char *)net_conn_output_space(&ws->conn, WS_REQUEST_MAX);
    int len = out ? ws_handshake_request_write(out, WS_REQUEST_MAX, ws->url.authority, ws->url.target, NULL, NULL,
                                               ws->key)
                  : -1;
    if (len < 0) return ws_fail(ws, 0, "handshake: the request could not be written");
    net_conn_commit(&ws->conn, (size_t)len);
    http_head_init(&ws->response, ws->response_headers, WS_RESPONSE_HEADERS);
    ws->response.max_head_len = NET_CONN_INPUT_CAP;
    ws->state = WS_HANDSHAKE;
    return true;
}

static bool ws_read_handshake(platform_websocket *ws)
{
    size_t len;
    const char *in = (const char *)net_conn_input(&ws->conn, &len);
    http_result parsed = http_response_head_parse(&ws->response, in, len);
    if (parsed == HTTP_INCOMPLETE) return true;
    if (parsed != HTTP_OK) return ws_fail(ws, 0, "handshake: malformed response");
    const char *protocol;
    size_t protocol_len;
    if (ws_handshake_response_check(&ws->response, ws->key, NULL, &protocol, &protocol_len) != WS_OK) {
        char reason[64];
        snprintf(reason, sizeof reason, "handshake: refused (HTTP status %d)", ws->response.status);
        return ws_fail(ws, 0, ws->response.status == 101 ? "handshake: invalid upgrade response" : reason);
    }
    net_conn_consume(&ws->conn, ws->response.head_len);
    ws->state = WS_OPEN;
    ws->in_callback = true;
    ws->events.on_open(ws->ctx);
    return ws_callback_returned(ws);
}

static bool ws_reserve(platform_websocket *ws, size_t needed)
{
    if (needed <= ws->data_cap) return true;
    size_t cap = ws->data_cap ? ws->data_cap : 4096;
    while (cap < needed) cap *= 2;
    if (cap > WS_MAX_MESSAGE) cap = WS_MAX_MESSAGE; /* needed never is */
    uint8_t *grown = realloc(ws->data, cap);
    if (!grown) return false;
    ws->data = grown;
    ws->data_cap = cap;
    return true;
}

static bool ws_deliver_message(platform_websocket *ws)
{
    bool binary = ws->message.opcode == WS_OPCODE_BINARY;
    if (!binary && !ws_utf8_complete(&ws->utf8)) return ws_fail(ws, 1007, "invalid UTF-8 text");
    ws->in_callback = true;
    ws->events.on_message(ws->ctx, binary, ws->data ? ws->data : (const uint8_t *)"", ws->data_len);
    if (!ws_callback_returned(ws)) return false;
    ws->data_len = 0;
    if (ws->data_cap > WS_KEPT_BUFFER) {
        free(ws->data);
        ws->data = NULL;
        ws->data_cap = 0;
    }
    return true;
}

static bool ws_read_payload(platform_websocket *ws, const uint8_t *in, size_t len)
{
    size_t n = len < ws->frame_left ? len : (size_t)ws->frame_left;
    uint8_t *dest = ws->data + ws->data_len;
    memcpy(dest, in, n);
    net_conn_consume(&ws->conn, n);
    ws->data_len += n;
    ws->frame_left -= n;
    /* text is checked as it comes, so invalid text fails at once */
    if (ws->message.opcode == WS_OPCODE_TEXT && !ws_utf8_feed(&ws->utf8, dest, n))
        return ws_fail(ws, 1007, "invalid UTF-8 text");
    return ws->frame_left > 0 || !ws->frame_fin || ws_deliver_message(ws);
}

static bool ws_read_control(platform_websocket *ws, ws_opcode opcode, const uint8_t *payload, size_t len)
{
    if (opcode == WS_OPCODE_PING) {
        if (!ws->close_sent && ws_queue_frame(ws, WS_OPCODE_PONG, payload, len) != 0)
            return ws_fail(ws, 0, "out of memory");
        return true;
    }
    if (opcode != WS_OPCODE_CLOSE) return true; /* a pong: nothing to do */
    uint16_t code;
    const uint8_t *reason;
    size_t reason_len;
    ws_result parsed = ws_close_parse(payload, len, &code, &reason, &reason_len);
    if (parsed != WS_OK) return ws_fail_frame(ws, parsed);
    /* the closing handshake: echo the code; the server then closes TCP */
    if (!ws->close_sent) ws_queue_close(ws, code);
    char text[WS_MAX_CLOSE_REASON + 1];
    memcpy(text, reason, reason_len);
    text[reason_len] = '\0';
    return ws_report_close(ws, code, text);
}

/* The header of the next frame; a control frame is taken whole. */
static bool ws_read_frame(platform_websocket *ws, const uint8_t *in, size_t len, bool *wait)
{
    ws_frame_header frame;
    ws_result parsed = ws_frame_header_parse(&frame, in, len, WS_ROLE_CLIENT, WS_MAX_MESSAGE);
    *wait = parsed == WS_INCOMPLETE;
    if (*wait) return true;
    if (parsed != WS_OK) return ws_fail_frame(ws, parsed);
    if (frame.opcode >= WS_OPCODE_CLOSE) {
        *wait = len - frame.header_len < frame.payload_len;
        if (*wait) return true;
        uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
        memcpy(payload, in + frame.header_len, (size_t)frame.payload_len);
        net_conn_consume(&ws->conn, frame.header_len + (size_t)frame.payload_len);
        return ws_read_control(ws, frame.opcode, payload, (size_t)frame.payload_len);
    }
    parsed = ws_frame_sequence_check(&ws->message, &frame);
    if (parsed != WS_OK) return ws_fail_frame(ws, parsed);
    if (frame.opcode != WS_OPCODE_CONTINUATION) {
        ws->data_len = 0;
        ws_utf8_init(&ws->utf8);
    }
    if (frame.payload_len > WS_MAX_MESSAGE - ws->data_len) return ws_fail(ws, 1009, "message too big");
    if (!ws_reserve(ws, ws->data_len + (size_t)frame.payload_len)) return ws_fail(ws, 1011, "out of memory");
    net_conn_consume(&ws->conn, frame.header_len);
    ws->frame_left = frame.payload_len;
    ws->frame_fin = frame.fin;
    return frame.payload_len > 0 || !frame.fin || ws_deliver_message(ws);
}

static bool ws_read(platform_websocket *ws)
{
    if (ws->state == WS_HANDSHAKE && !ws_read_handshake(ws)) return false;
    while (ws->state == WS_OPEN) {
        size_t len;
        const uint8_t *in = net_conn_input(&ws->conn, &len);
        bool wait = len == 0;
        if (wait) return true;
        if (!(ws->frame_left > 0 ? ws_read_payload(ws, in, len) : ws_read_frame(ws, in, len, &wait))) return false;
        if (wait) return true;
    }
    if (ws->state == WS_CLOSED) {
        /* after a close frame, whatever the peer sends is ignored */
        size_t len;
        (void)net_conn_input(&ws->conn, &len);
        net_conn_consume(&ws->conn, len);
    }
    return true;
}

static bool ws_on_conn(void *owner, net_conn_event event)
{
    platform_websocket *ws = owner;
    switch (event) {
    case NET_CONN_CONNECTED:
        return ws_send_handshake(ws);
    case NET_CONN_INPUT:
        return ws_read(ws);
    case NET_CONN_CLOSED:
        return ws->state == WS_CLOSED || ws_report_close(ws, 1006, "connection closed without a close frame");
    case NET_CONN_FAILED:
        return ws->state == WS_CLOSED || ws_report_close(ws, 1006, ws->conn.error);
    }
    return true;
}

platform_websocket *platform_websocket_open(const char *url, const platform_websocket_events *events, void *ctx)
{
    platform_websocket *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    ws->events = *events;
    ws->ctx = ctx;
    net_conn_init(&ws->conn, ws_on_conn, ws);
    /* connecting may fail at once: it starts from the loop, which reports it */
    if (!net_url_parse(&ws->url, url, NET_URL_WEBSOCKET) || !(ws->start_timer = platform_timer_start(0, ws_start, ws))) {
        free(ws);
        return NULL;
    }
    return ws;
}

int platform_websocket_send(platform_websocket *ws, bool binary, const uint8_t *data, size_t len)
{
    if (ws->state != WS_OPEN || ws->close_sent) return -1;
    return ws_queue_frame(ws, binary ? WS_OPCODE_BINARY : WS_OPCODE_TEXT, data, len);
}

size_t platform_websocket_buffered(const platform_websocket *ws)
{
    return net_conn_pending(&ws->conn);
}

void platform_websocket_close(platform_websocket *ws)
{
    if (!ws) return;
    if (ws->in_callback)
        ws->release_requested = true;
    else
        ws_destroy(ws);
}
