/* The WebSocket client: its states, the opening handshake, frames in and
 * out, the closing handshake; over DNS and a tls.h stream (connect.c) or a
 * caller's transport. */
#include "ws/ws_internal.h"

#include "codec/codec.h"
#include "platform/platform.h"
#include "tls/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESPONSE_HEAD 16384
#define MESSAGE_KEEP_CAPACITY 65536 /* a larger reassembly buffer is freed after its message */

static char *copy_string(const char *s)
{
    size_t len = strlen(s) + 1;
    char *copy = malloc(len);
    if (copy) memcpy(copy, s, len);
    return copy;
}

static bool is_utf8(const uint8_t *data, size_t len)
{
    ws_utf8 utf8;
    ws_utf8_init(&utf8);
    return ws_utf8_feed(&utf8, data, len) && ws_utf8_complete(&utf8);
}

/* ---- lifetime: callbacks may release w, so every entry from the event
 * loop holds it until its outermost return ---- */

static void destroy(ws *w)
{
    while (w->queue) {
        ws_outgoing *next = w->queue->next;
        free(w->queue);
        w->queue = next;
    }
    free(w->frame.owned);
    free(w->host);
    free(w->path);
    free(w->origin);
    free(w->protocols);
    free(w->selected_protocol);
    free(w->response_head);
    free(w->message);
    free(w);
}

void ws_enter(ws *w)
{
    w->depth++;
}

void ws_leave(ws *w)
{
    if (--w->depth == 0 && w->released) destroy(w);
}

/* Whether events may still be delivered and the connection still runs. */
static bool alive(const ws *w)
{
    return !w->released && w->state != WS_CLOSED;
}

static void stop_timer(uint32_t *timer)
{
    if (*timer) platform_timer_cancel(*timer);
    *timer = 0;
}

/* Ends everything below us: the lookup, the transport, the timers. */
static void release_lower(ws *w, bool abort)
{
    ws_connect_cancel(w);
    if (w->transport_open) {
        w->transport_open = false;
        w->transport.release(w->transport_ctx, abort);
    }
    stop_timer(&w->connect_timer);
    stop_timer(&w->close_timer);
    stop_timer(&w->failure_timer);
}

/* on_close, once; the connection is over. */
static void finish(ws *w, uint16_t code, const char *reason, bool was_clean, bool abort)
{
    if (w->state == WS_CLOSED) return;
    release_lower(w, abort);
    w->state = WS_CLOSED;
    if (!w->released) w->events.on_close(w->ctx, code, reason, was_clean);
}

/* Writes a Close frame straight to the transport, best effort, when no
 * other frame is half written: for failures and release, which do not wait. */
static void send_close_now(ws *w, uint16_t code)
{
    if (!w->transport_open || w->close_sent || w->state == WS_CONNECTING) return;
    if (w->frame.written > 0 && w->frame.written < w->frame.head_len + w->frame.payload_len) return;
    uint8_t frame[WS_MAX_HEADER_LEN + 2], mask_key[WS_MASK_KEY_LEN];
    platform_random_bytes(mask_key, sizeof mask_key);
    size_t len = ws_frame_header_write(frame, true, WS_OPCODE_CLOSE, 2, mask_key);
    frame[len] = (uint8_t)(code >> 8);
    frame[len + 1] = (uint8_t)code;
    ws_mask(frame + len, 2, mask_key, 0);
    w->close_sent = true;
    (void)w->transport.write(w->transport_ctx, frame, len + 2);
}

/* "Fail the WebSocket connection": a Close with close_code when there is
 * one to send and the connection is established, then on_error and on_close
 * with 1006. */
void ws_fail(ws *w, uint16_t close_code, const char *message)
{
    if (w->state == WS_CLOSED) return;
    if (close_code) send_close_now(w, close_code);
    release_lower(w, close_code == 0);
    w->state = WS_CLOSED;
    if (!w->released && w->events.on_error) w->events.on_error(w->ctx, message);
    if (!w->released) w->events.on_close(w->ctx, WS_CLOSE_ABNORMAL, "", false);
}

static void on_failure_timer(void *ctx)
{
    ws *w = ctx;
    w->failure_timer = 0;
    ws_enter(w);
    ws_fail(w, 0, w->failure_message);
    ws_leave(w);
}

/* A failure found inside a ws call: the events come from the event loop. */
void ws_fail_later(ws *w, const char *message)
{
    if (w->state == WS_CLOSED || w->failure_timer) return;
    w->failure_message = message;
    stop_timer(&w->connect_timer);
    ws_connect_cancel(w);
    if (w->transport_open) {
        w->transport_open = false;
        w->transport.release(w->transport_ctx, true);
    }
    w->state = WS_CLOSING;
    w->failure_timer = platform_timer_start(0, on_failure_timer, w);
}

static void on_connect_timer(void *ctx)
{
    ws *w = ctx;
    w->connect_timer = 0;
    ws_enter(w);
    ws_fail(w, 0, "connection timed out");
    ws_leave(w);
}

/* The closing handshake took too long: clean if both Close frames passed
 * and only the server's end of TCP is missing. */
static void on_close_timer(void *ctx)
{
    ws *w = ctx;
    w->close_timer = 0;
    ws_enter(w);
    if (w->close_received && w->close_sent)
        finish(w, w->received_code, w->received_reason, true, false);
    else
        finish(w, WS_CLOSE_ABNORMAL, "", false, true);
    ws_leave(w);
}

static void start_close_timer(ws *w)
{
    stop_timer(&w->close_timer);
    w->close_timer = platform_timer_start(w->close_timeout_ms, on_close_timer, w);
}

/* ---- creation ---- */

static int take_options(ws *w, const ws_options *o)
{
    if (!o->host || !o->host[0] || !o->path || o->path[0] != '/' || o->protocol_count > WS_MAX_PROTOCOLS ||
        (o->protocol_count && !o->protocols))
        return WS_CALL_INVALID;
    size_t protocols_len = 0;
    for (size_t i = 0; i < o->protocol_count; i++) {
        const char *p = o->protocols[i];
        if (!p || !http_token_valid(p, strlen(p))) return WS_CALL_INVALID;
        for (size_t j = 0; j < i; j++)
            if (strcmp(o->protocols[j], p) == 0) return WS_CALL_INVALID;
        protocols_len += strlen(p) + 2;
    }
    w->tls = o->tls;
    w->port = o->port;
    w->max_message = o->max_message_size ? o->max_message_size : WS_DEFAULT_MAX_MESSAGE;
    w->fragment_size = o->fragment_size ? o->fragment_size : WS_DEFAULT_FRAGMENT_SIZE;
    w->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : WS_DEFAULT_CONNECT_TIMEOUT_MS;
    w->close_timeout_ms = o->close_timeout_ms ? o->close_timeout_ms : WS_DEFAULT_CLOSE_TIMEOUT_MS;
    w->host = copy_string(o->host);
    w->path = copy_string(o->path);
    w->origin = o->origin ? copy_string(o->origin) : NULL;
    if (!w->host || !w->path || (o->origin && !w->origin)) return WS_CALL_NO_MEMORY;
    if (o->protocol_count) {
        w->protocols = malloc(protocols_len);
        if (!w->protocols) return WS_CALL_NO_MEMORY;
        w->protocols[0] = '\0';
        for (size_t i = 0; i < o->protocol_count; i++) {
            if (i) strcat(w->protocols, ", ");
            strcat(w->protocols, o->protocols[i]);
        }
    }
    return WS_CALL_OK;
}

ws *ws_create(const ws_options *options, const ws_events *events, void *ctx, int *error)
{
    int result = WS_CALL_INVALID;
    ws *w = NULL;
    if (options && events && events->on_open && events->on_message && events->on_close) {
        w = calloc(1, sizeof *w);
        result = w ? take_options(w, options) : WS_CALL_NO_MEMORY;
    }
    if (result != WS_CALL_OK) {
        if (w) destroy(w);
        if (error) *error = result;
        return NULL;
    }
    w->events = *events;
    w->ctx = ctx;
    w->state = WS_CONNECTING;
    w->connect_timer = platform_timer_start(w->connect_timeout_ms, on_connect_timer, w);
    return w;
}

ws *ws_connect_over(const ws_options *options, const ws_events *events, void *ctx, const ws_transport *transport,
                    void *transport_ctx, int *error)
{
    if (!transport || !transport->write || !transport->release) {
        if (error) *error = WS_CALL_INVALID;
        return NULL;
    }
    ws *w = ws_create(options, events, ctx, error);
    if (!w) return NULL;
    ws_attach_transport(w, transport, transport_ctx);
    return w;
}

void ws_attach_transport(ws *w, const ws_transport *transport, void *transport_ctx)
{
    w->transport = *transport;
    w->transport_ctx = transport_ctx;
    w->transport_open = true;
}

/* ---- sending ---- */

static bool frame_pending(const ws *w)
{
    return w->frame.written < w->frame.head_len + w->frame.payload_len;
}

/* A control frame (ping, pong, close) into the frame slot, masked. */
static void frame_control(ws *w, ws_opcode opcode, const uint8_t *payload, size_t len)
{
    uint8_t mask_key[WS_MASK_KEY_LEN];
    platform_random_bytes(mask_key, sizeof mask_key);
    size_t header_len = ws_frame_header_write(w->frame.head, true, opcode, len, mask_key);
    memcpy(w->frame.head + header_len, payload, len);
    ws_mask(w->frame.head + header_len, len, mask_key, 0);
    w->frame.head_len = header_len + len;
    w->frame.payload = NULL;
    w->frame.payload_len = 0;
    w->frame.data_len = 0;
    w->frame.is_close = opcode == WS_OPCODE_CLOSE;
}

/* The next fragment of the message at the head of the queue, masked in
 * place: the queue holds our own copy. */
static void frame_fragment(ws *w, ws_outgoing *m)
{
    size_t left = m->len - m->framed, len = left < w->fragment_size ? left : w->fragment_size;
    ws_opcode opcode = m->framed == 0 ? m->opcode : WS_OPCODE_CONTINUATION;
    uint8_t mask_key[WS_MASK_KEY_LEN];
    platform_random_bytes(mask_key, sizeof mask_key);
    w->frame.head_len = ws_frame_header_write(w->frame.head, len == left, opcode, len, mask_key);
    ws_mask(m->data + m->framed, len, mask_key, 0);
    w->frame.payload = m->data + m->framed;
    w->frame.payload_len = len;
    w->frame.data_len = len;
    w->frame.is_close = false;
    m->framed += len;
}

/* Fills the frame slot with what goes next: the handshake request first,
 * then pongs and pings between fragments, messages in order, the Close
 * last, nothing after it. Gives false when there is nothing to send. */
static bool next_frame(ws *w)
{
    w->frame.written = 0;
    free(w->frame.owned);
    w->frame.owned = NULL;
    w->frame.head_len = w->frame.payload_len = w->frame.data_len = 0;
    if (w->state == WS_CONNECTING || w->close_sent) return false;
    if (w->pong_pending) {
        w->pong_pending = false;
        frame_control(w, WS_OPCODE_PONG, w->pong, w->pong_len);
        return true;
    }
    if (w->ping_count) {
        frame_control(w, WS_OPCODE_PING, w->pings[0].data, w->pings[0].len);
        memmove(&w->pings[0], &w->pings[1], --w->ping_count * sizeof w->pings[0]);
        return true;
    }
    ws_outgoing *m = w->queue;
    if (m && m->framed == m->len && m->len > 0) { /* fully framed and written */
        w->queue = m->next;
        if (!w->queue) w->queue_tail = NULL;
        free(m);
        m = w->queue;
    }
    if (!m) return false;
    if (m->opcode == WS_OPCODE_CLOSE) {
        frame_control(w, WS_OPCODE_CLOSE, m->data, m->len);
        w->queue = m->next;
        if (!w->queue) w->queue_tail = NULL;
        free(m);
        return true;
    }
    if (m->len == 0) { /* an empty message: one empty frame */
        uint8_t mask_key[WS_MASK_KEY_LEN];
        platform_random_bytes(mask_key, sizeof mask_key);
        w->frame.head_len = ws_frame_header_write(w->frame.head, true, m->opcode, 0, mask_key);
        w->frame.is_close = false;
        w->queue = m->next;
        if (!w->queue) w->queue_tail = NULL;
        free(m);
        return true;
    }
    frame_fragment(w, m);
    return true;
}

/* Our Close is on the wire: now the server's Close, or its end of TCP. */
static void close_frame_written(ws *w)
{
    w->close_sent = true;
    start_close_timer(w);
}

/* Hands frames to the transport until it is full or nothing is left. */
void ws_flush(ws *w)
{
    while (w->transport_open && !w->write_failed) {
        if (!frame_pending(w)) {
            if (w->frame.is_close && w->frame.head_len) {
                w->frame.is_close = false;
                close_frame_written(w);
            }
            if (!next_frame(w)) break;
        }
        const uint8_t *from;
        size_t len, written = w->frame.written;
        if (written < w->frame.head_len) {
            from = w->frame.head + written;
            len = w->frame.head_len - written;
        } else {
            from = w->frame.payload + (written - w->frame.head_len);
            len = w->frame.head_len + w->frame.payload_len - written;
        }
        int n = w->transport.write(w->transport_ctx, from, len);
        if (n < 0) {
            /* the transport reports its end itself */
            w->write_failed = true;
            break;
        }
        if (written >= w->frame.head_len && w->frame.data_len) w->buffered -= (size_t)n;
        w->frame.written += (size_t)n;
        if ((size_t)n < len) break;
    }
}

static int queue_message(ws *w, ws_opcode opcode, const uint8_t *data, size_t len)
{
    ws_outgoing *m = malloc(sizeof *m + len);
    if (!m) return WS_CALL_NO_MEMORY;
    m->next = NULL;
    m->opcode = opcode;
    m->len = len;
    m->framed = 0;
    if (len) memcpy(m->data, data, len);
    if (w->queue_tail)
        w->queue_tail->next = m;
    else
        w->queue = m;
    w->queue_tail = m;
    return WS_CALL_OK;
}

int ws_send(ws *w, bool binary, const uint8_t *data, size_t len)
{
    if (w->state == WS_CONNECTING) return WS_CALL_INVALID_STATE;
    if (w->state != WS_OPEN || w->close_queued) return WS_CALL_CLOSED;
    if (!binary && !is_utf8(data, len)) return WS_CALL_INVALID_UTF8;
    int result = queue_message(w, binary ? WS_OPCODE_BINARY : WS_OPCODE_TEXT, data, len);
    if (result != WS_CALL_OK) return result;
    w->buffered += len;
    ws_flush(w);
    return WS_CALL_OK;
}

int ws_ping(ws *w, const uint8_t *data, size_t len)
{
    if (len > WS_MAX_CONTROL_PAYLOAD) return WS_CALL_TOO_LONG;
    if (w->state == WS_CONNECTING) return WS_CALL_INVALID_STATE;
    if (w->state != WS_OPEN || w->close_queued) return WS_CALL_CLOSED;
    if (w->ping_count == WS_MAX_QUEUED_PINGS) return WS_CALL_NO_MEMORY;
    if (len) memcpy(w->pings[w->ping_count].data, data, len);
    w->pings[w->ping_count++].len = len;
    ws_flush(w);
    return WS_CALL_OK;
}

int ws_close(ws *w, uint16_t code, const uint8_t *reason, size_t reason_len)
{
    if (code != 0 && code != 1000 && (code < 3000 || code > 4999)) return WS_CALL_INVALID_CODE;
    if (reason_len > WS_MAX_CLOSE_REASON) return WS_CALL_TOO_LONG;
    if (!is_utf8(reason, reason_len)) return WS_CALL_INVALID_UTF8;
    if (code == 0 && reason_len) code = 1000; /* as the browser: a reason needs a code */
    if (w->state == WS_CONNECTING) {
        ws_fail_later(w, "closed before the connection was established");
        return WS_CALL_OK;
    }
    if (w->state != WS_OPEN || w->close_queued) return WS_CALL_OK;
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
    int len = code ? ws_close_build(payload, code, reason, reason_len) : 0;
    int result = queue_message(w, WS_OPCODE_CLOSE, payload, (size_t)len);
    if (result != WS_CALL_OK) return result;
    w->close_queued = true;
    w->state = WS_CLOSING;
    ws_flush(w);
    return WS_CALL_OK;
}

/* ---- the opening handshake ---- */

void ws_transport_connected(ws *w)
{
    ws_enter(w);
    if (alive(w) && w->state == WS_CONNECTING && !w->request_sent) {
        uint8_t nonce[WS_NONCE_LEN];
        platform_random_bytes(nonce, sizeof nonce);
        ws_handshake_key(w->key, nonce);
        bool default_port = w->port == (w->tls ? 443 : 80);
        size_t host_len = strlen(w->host) + 7;
        char *host = malloc(host_len);
        size_t cap = 512 + host_len + strlen(w->path) + (w->origin ? strlen(w->origin) : 0) +
                     (w->protocols ? strlen(w->protocols) : 0);
        char *request = malloc(cap);
        int len = -1;
        if (host && request) {
            if (default_port)
                memcpy(host, w->host, host_len - 6);
            else
                snprintf(host, host_len, "%s:%u", w->host, (unsigned)w->port);
            len = ws_handshake_request_write(request, cap, host, w->path, w->origin, w->protocols, w->key);
        }
        free(host);
        if (len < 0) {
            free(request);
            ws_fail(w, 0, request ? "the request cannot be written: a header value is invalid" : "out of memory");
        } else {
            w->request_sent = true;
            w->frame.owned = (uint8_t *)request;
            w->frame.payload = (uint8_t *)request;
            w->frame.payload_len = (size_t)len;
            w->frame.head_len = w->frame.data_len = w->frame.written = 0;
            ws_flush(w);
        }
    }
    ws_leave(w);
}

static const char *handshake_error_text(ws_result result)
{
    switch (result) {
    case WS_ERR_HANDSHAKE_UPGRADE: return "the server's handshake response lacks Upgrade: websocket or Connection: upgrade";
    case WS_ERR_HANDSHAKE_ACCEPT: return "the server's Sec-WebSocket-Accept is missing or wrong";
    case WS_ERR_HANDSHAKE_PROTOCOL: return "the server selected a subprotocol that was not offered";
    case WS_ERR_HANDSHAKE_EXTENSION: return "the server selected an extension that was not offered";
    default: return "the server's handshake response is invalid";
    }
}

static void receive_frames(ws *w, const uint8_t *data, size_t len);

/* Response bytes: the head, then maybe frames already. */
static void receive_handshake(ws *w, const uint8_t *data, size_t len)
{
    if (!w->response_head) {
        w->response_head = malloc(MAX_RESPONSE_HEAD);
        if (!w->response_head) {
            ws_fail(w, 0, "out of memory");
            return;
        }
        http_head_init(&w->response, w->response_headers, WS_MAX_RESPONSE_HEADERS);
        w->response.max_head_len = MAX_RESPONSE_HEAD;
    }
    size_t take = MAX_RESPONSE_HEAD - w->response_len;
    if (take > len) take = len;
    memcpy(w->response_head + w->response_len, data, take);
    w->response_len += take;
    http_result parsed = http_response_head_parse(&w->response, w->response_head, w->response_len);
    if (parsed == HTTP_INCOMPLETE) {
        if (w->response_len == MAX_RESPONSE_HEAD) ws_fail(w, 0, "the server's handshake response is too large");
        return;
    }
    if (parsed != HTTP_OK) {
        ws_fail(w, 0, "the server's handshake response is not valid HTTP");
        return;
    }
    if (w->response.status != 101) {
        snprintf(w->error_text, sizeof w->error_text, "the server answered %d instead of 101 Switching Protocols",
                 w->response.status);
        ws_fail(w, 0, w->error_text);
        return;
    }
    const char *protocol;
    size_t protocol_len;
    ws_result checked = ws_handshake_response_check(&w->response, w->key, w->protocols, &protocol, &protocol_len);
    if (checked != WS_OK) {
        ws_fail(w, 0, handshake_error_text(checked));
        return;
    }
    w->selected_protocol = malloc(protocol_len + 1);
    if (!w->selected_protocol) {
        ws_fail(w, 0, "out of memory");
        return;
    }
    if (protocol_len) memcpy(w->selected_protocol, protocol, protocol_len);
    w->selected_protocol[protocol_len] = '\0';
    /* frames may follow the head at once; keep them past the head buffer */
    size_t head_len = w->response.head_len, early = w->response_len - head_len;
    uint8_t *early_frames = (uint8_t *)w->response_head;
    memmove(early_frames, early_frames + head_len, early);
    w->response_head = NULL;
    stop_timer(&w->connect_timer);
    w->state = WS_OPEN;
    w->events.on_open(w->ctx, w->selected_protocol);
    if (alive(w)) ws_flush(w); /* messages sent in on_open */
    if (alive(w)) receive_frames(w, early_frames, early);
    free(early_frames);
    if (alive(w) && take < len) receive_frames(w, data + take, len - take);
}

/* ---- receiving frames ---- */

static void fail_frame(ws *w, ws_result result)
{
    static const char *const texts[] = {
        [WS_ERR_RESERVED_BITS] = "the server set reserved bits (no extension was negotiated)",
        [WS_ERR_UNKNOWN_OPCODE] = "the server sent a frame with an unknown opcode",
        [WS_ERR_CONTROL_FRAGMENTED] = "the server sent a fragmented control frame",
        [WS_ERR_CONTROL_TOO_LONG] = "the server sent a control frame over 125 bytes",
        [WS_ERR_MASKED_FRAME] = "the server sent a masked frame",
        [WS_ERR_LENGTH_TOP_BIT] = "the server sent a frame length with its top bit set",
        [WS_ERR_UNEXPECTED_CONTINUATION] = "the server sent a continuation frame outside a message",
        [WS_ERR_EXPECTED_CONTINUATION] = "the server started a message inside another",
        [WS_ERR_CLOSE_PAYLOAD] = "the server sent an invalid Close frame",
        [WS_ERR_TOO_BIG] = "the server sent a message over the maximum size",
        [WS_ERR_INVALID_UTF8] = "the server sent text that is not UTF-8",
    };
    const char *text = (size_t)result < sizeof texts / sizeof texts[0] && texts[result] ? texts[result]
                                                                                          : "the server broke the framing";
    uint16_t code = ws_close_code_for(result);
    ws_fail(w, code ? code : 1002, text);
}

static void receive_ping(ws *w)
{
    if (w->close_queued) return; /* nothing goes out after our Close */
    /* only the latest ping needs an answer (section 5.5.3) */
    memcpy(w->pong, w->control, w->frame_in.payload_len);
    w->pong_len = (size_t)w->frame_in.payload_len;
    w->pong_pending = true;
    ws_flush(w);
}

static void receive_close(ws *w)
{
    uint16_t code;
    const uint8_t *reason;
    size_t reason_len;
    ws_result parsed = ws_close_parse(w->control, (size_t)w->frame_in.payload_len, &code, &reason, &reason_len);
    if (parsed != WS_OK) {
        fail_frame(w, parsed);
        return;
    }
    w->close_received = true;
    w->received_code = code;
    memcpy(w->received_reason, reason, reason_len);
    w->received_reason[reason_len] = '\0';
    if (!w->close_queued) {
        /* echo the code at once, ahead of messages not yet begun */
        ws_outgoing *begun = w->queue && w->queue->framed > 0 ? w->queue : NULL;
        for (ws_outgoing *m = begun ? begun->next : w->queue, *next; m; m = next) {
            next = m->next;
            w->buffered -= m->len;
            free(m);
        }
        if (begun) { /* a message half sent ends unfinished */
            begun->next = NULL;
            w->buffered -= begun->len - begun->framed;
            begun->len = begun->framed;
        }
        w->queue = w->queue_tail = begun;
        w->pong_pending = false;
        w->ping_count = 0;
        uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};
        (void)queue_message(w, WS_OPCODE_CLOSE, payload, code == WS_CLOSE_NO_STATUS ? 0 : 2);
        w->close_queued = true;
    }
    w->state = WS_CLOSING;
    start_close_timer(w); /* for the server's end of TCP */
    ws_flush(w);
}

static bool message_room(ws *w, size_t more);

static void frame_complete(ws *w)
{
    const ws_frame_header *f = &w->frame_in;
    switch (f->opcode) {
    case WS_OPCODE_PING: receive_ping(w); return;
    case WS_OPCODE_PONG:
        if (w->events.on_pong && w->state == WS_OPEN) w->events.on_pong(w->ctx, w->control, (size_t)f->payload_len);
        return;
    case WS_OPCODE_CLOSE: receive_close(w); return;
    default: break;
    }
    if (!f->fin) return;
    bool binary = w->sequence.opcode == WS_OPCODE_BINARY;
    if (!binary && !ws_utf8_complete(&w->utf8)) {
        fail_frame(w, WS_ERR_INVALID_UTF8);
        return;
    }
    if (!message_room(w, 0)) {
        ws_fail(w, 1009, "out of memory for the message");
        return;
    }
    w->message[w->message_len] = '\0';
    /* as the browser: messages after our Close are not delivered */
    if (w->state == WS_OPEN) w->events.on_message(w->ctx, binary, w->message, w->message_len);
    if (w->message_cap > MESSAGE_KEEP_CAPACITY && !w->released) {
        free(w->message);
        w->message = NULL;
        w->message_cap = 0;
    }
    w->message_len = 0;
}

/* Room for more bytes of the message, growing by doubling up to what the
 * frame declared, never allocated ahead of bytes that arrived. */
static bool message_room(ws *w, size_t more)
{
    size_t need = w->message_len + more + 1;
    if (need <= w->message_cap) return true;
    size_t cap = w->message_cap ? w->message_cap : 4096;
    while (cap < need) cap *= 2;
    size_t limit = w->message_len + (size_t)(w->frame_in.payload_len - w->payload_received) + 1;
    if (cap > limit) cap = limit;
    uint8_t *grown = realloc(w->message, cap);
    if (!grown) return false;
    w->message = grown;
    w->message_cap = cap;
    return true;
}

/* A frame header is complete: check it against the rules and the message. */
static bool frame_begins(ws *w)
{
    ws_frame_header *f = &w->frame_in;
    ws_result result = ws_frame_sequence_check(&w->sequence, f);
    if (result != WS_OK) {
        fail_frame(w, result);
        return false;
    }
    if (f->opcode == WS_OPCODE_TEXT || f->opcode == WS_OPCODE_BINARY) {
        w->message_len = 0;
        ws_utf8_init(&w->utf8);
    }
    if (f->opcode <= WS_OPCODE_BINARY && f->payload_len > w->max_message - w->message_len) {
        fail_frame(w, WS_ERR_TOO_BIG);
        return false;
    }
    w->payload_received = 0;
    return true;
}

static void receive_frames(ws *w, const uint8_t *data, size_t len)
{
    while (alive(w) && !w->close_received) {
        ws_frame_header *f = &w->frame_in;
        if (!w->in_payload) {
            if (len == 0) return;
            size_t have = w->header_have, take = WS_MAX_HEADER_LEN - have;
            if (take > len) take = len;
            memcpy(w->header_bytes + have, data, take);
            ws_result result = ws_frame_header_parse(f, w->header_bytes, have + take, WS_ROLE_CLIENT, w->max_message);
            if (result == WS_INCOMPLETE) {
                w->header_have += take;
                data += take;
                len -= take;
                continue;
            }
            if (result != WS_OK) {
                fail_frame(w, result);
                return;
            }
            size_t used = f->header_len - have;
            data += used;
            len -= used;
            w->header_have = 0;
            if (!frame_begins(w)) return;
            w->in_payload = true;
        }
        size_t take = (size_t)(f->payload_len - w->payload_received);
        if (take > len) take = len;
        if (f->opcode >= WS_OPCODE_CLOSE) {
            memcpy(w->control + w->payload_received, data, take);
        } else if (take) {
            if (!message_room(w, take)) {
                ws_fail(w, 1009, "out of memory for the message");
                return;
            }
            memcpy(w->message + w->message_len, data, take);
            if (w->sequence.opcode == WS_OPCODE_TEXT && !ws_utf8_feed(&w->utf8, data, take)) {
                fail_frame(w, WS_ERR_INVALID_UTF8);
                return;
            }
            w->message_len += take;
        }
        w->payload_received += take;
        data += take;
        len -= take;
        if (w->payload_received < f->payload_len) return;
        w->in_payload = false;
        frame_complete(w);
    }
}

/* ---- the transport's events ---- */

void ws_transport_data(ws *w, const uint8_t *data, size_t len)
{
    ws_enter(w);
    if (alive(w)) {
        if (w->state == WS_CONNECTING)
            receive_handshake(w, data, len);
        else
            receive_frames(w, data, len);
    }
    ws_leave(w);
}

/* The server ended TCP: after the closing handshake that is how it
 * should end; before it, the connection was lost. */
static void transport_over(ws *w, int error)
{
    if (w->state == WS_CONNECTING) {
        ws_fail(w, 0, error ? stream_error_text(error) : "the server closed the connection during the handshake");
    } else if (w->close_received) {
        finish(w, w->received_code, w->received_reason, true, false);
    } else if (error) {
        ws_fail(w, 0, stream_error_text(error));
    } else {
        finish(w, WS_CLOSE_ABNORMAL, "", false, false);
    }
}

void ws_transport_end(ws *w)
{
    ws_enter(w);
    if (alive(w)) transport_over(w, 0);
    ws_leave(w);
}

void ws_transport_closed(ws *w, int error)
{
    ws_enter(w);
    if (alive(w)) transport_over(w, error);
    ws_leave(w);
}

void ws_transport_writable(ws *w)
{
    ws_enter(w);
    size_t buffered = w->buffered;
    if (alive(w)) ws_flush(w);
    if (alive(w) && w->buffered < buffered && w->events.on_buffered_amount)
        w->events.on_buffered_amount(w->ctx, w->buffered);
    ws_leave(w);
}

/* ---- the rest of the interface ---- */

ws_ready_state ws_state(const ws *w)
{
    return w->state;
}

size_t ws_buffered_amount(const ws *w)
{
    return w->buffered;
}

const char *ws_protocol(const ws *w)
{
    return w->selected_protocol ? w->selected_protocol : "";
}

void ws_release(ws *w)
{
    if (w->released) return;
    if (w->state == WS_OPEN || (w->state == WS_CLOSING && !w->close_sent && !w->failure_timer))
        send_close_now(w, 1001);
    release_lower(w, w->state == WS_CONNECTING);
    w->released = true;
    if (w->depth == 0) destroy(w);
}
