/* libFuzzer target: the WebSocket client (ws layer) fed a server's bytes
 * in pieces: either arbitrary bytes as the handshake response, or a valid
 * 101 followed by arbitrary frames. Besides memory safety it checks the
 * client's promises: on_close at most once and exactly once after the
 * transport ends, on_error only just before it, messages within the
 * maximum size, text messages valid UTF-8, and everything the client wrote
 * after its request a valid stream of masked client frames with nothing
 * after a Close.
 * Input: a flags byte, a piece-size byte, then the server's bytes. */
#include "codec/codec.h"
#include "ws/ws.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                  \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

#define MAX_INPUT 65536
#define SMALL_MAX_MESSAGE 1024

typedef struct {
    uint8_t *out;
    size_t len, cap;
    bool released;
} transport;

typedef struct {
    ws *w;
    int opens, closes, errors;
    size_t max_message;
    bool echo, close_after_message;
} app;

static int transport_write(void *ctx, const uint8_t *data, size_t len)
{
    transport *t = ctx;
    REQUIRE(!t->released);
    if (t->len + len > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + len) cap *= 2;
        uint8_t *grown = realloc(t->out, cap);
        REQUIRE(grown);
        t->out = grown;
        t->cap = cap;
    }
    memcpy(t->out + t->len, data, len);
    t->len += len;
    return (int)len;
}

static void transport_release(void *ctx, bool abort)
{
    transport *t = ctx;
    (void)abort;
    REQUIRE(!t->released);
    t->released = true;
}

static void on_open(void *ctx, const char *protocol)
{
    app *a = ctx;
    REQUIRE(a->opens == 0 && a->closes == 0);
    REQUIRE(strcmp(protocol, "") == 0 || strcmp(protocol, "chat") == 0 || strcmp(protocol, "echo") == 0);
    a->opens++;
}

static void on_message(void *ctx, bool binary, const uint8_t *data, size_t len)
{
    app *a = ctx;
    REQUIRE(a->opens == 1 && a->closes == 0 && len <= a->max_message);
    if (!binary) {
        ws_utf8 utf8;
        ws_utf8_init(&utf8);
        REQUIRE(ws_utf8_feed(&utf8, data, len) && ws_utf8_complete(&utf8) && data[len] == '\0');
    }
    if (a->echo) (void)ws_send(a->w, binary, data, len);
    if (a->close_after_message) (void)ws_close(a->w, 4000, (const uint8_t *)"enough", 6);
}

static void on_close(void *ctx, uint16_t code, const char *reason, bool was_clean)
{
    app *a = ctx;
    REQUIRE(a->closes == 0);
    REQUIRE(strlen(reason) <= WS_MAX_CLOSE_REASON);
    REQUIRE(!was_clean || code != WS_CLOSE_ABNORMAL);
    REQUIRE(ws_state(a->w) == WS_CLOSED);
    a->closes++;
}

static void on_error(void *ctx, const char *message)
{
    app *a = ctx;
    REQUIRE(a->closes == 0 && a->errors == 0 && message && message[0]);
    a->errors++;
}

static void on_pong(void *ctx, const uint8_t *data, size_t len)
{
    app *a = ctx;
    REQUIRE(a->opens == 1 && len <= WS_MAX_CONTROL_PAYLOAD);
    (void)data;
}

/* The client's bytes after its request: masked frames, sequence rules
 * kept, text whole UTF-8, nothing after a Close. */
static void check_client_frames(const uint8_t *data, size_t len)
{
    static uint8_t payload[MAX_INPUT];
    ws_message message = {0};
    ws_utf8 text;
    ws_utf8_init(&text);
    size_t pos = 0;
    bool closed = false;
    while (pos < len) {
        REQUIRE(!closed);
        ws_frame_header frame;
        REQUIRE(ws_frame_header_parse(&frame, data + pos, len - pos, WS_ROLE_SERVER, sizeof payload) == WS_OK);
        REQUIRE(len - pos - frame.header_len >= frame.payload_len);
        size_t n = (size_t)frame.payload_len;
        memcpy(payload, data + pos + frame.header_len, n);
        ws_mask(payload, n, frame.mask_key, 0);
        pos += frame.header_len + n;
        REQUIRE(ws_frame_sequence_check(&message, &frame) == WS_OK);
        if (frame.opcode == WS_OPCODE_CLOSE) {
            uint16_t code;
            const uint8_t *reason;
            size_t reason_len;
            REQUIRE(ws_close_parse(payload, n, &code, &reason, &reason_len) == WS_OK);
            closed = true;
        } else if (frame.opcode == WS_OPCODE_TEXT || frame.opcode == WS_OPCODE_CONTINUATION) {
            if (message.opcode == WS_OPCODE_TEXT) {
                REQUIRE(ws_utf8_feed(&text, payload, n));
                if (!message.open) {
                    REQUIRE(ws_utf8_complete(&text));
                    ws_utf8_init(&text);
                }
            }
        }
    }
}

/* The 101 for the client's request, as a server writes it. */
static int accept_request(const transport *t, char *response, size_t cap, const char *protocol, size_t *request_len)
{
    http_header fields[32];
    http_head head;
    http_head_init(&head, fields, 32);
    REQUIRE(http_request_head_parse(&head, (const char *)t->out, t->len) == HTTP_OK);
    const char *key;
    size_t key_len;
    REQUIRE(ws_handshake_request_check(&head, &key, &key_len) == WS_OK);
    *request_len = head.head_len;
    return ws_handshake_response_write(response, cap, key, key_len, protocol);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    if (size < 2 || size > MAX_INPUT) return 0;
    uint8_t flags = bytes[0];
    size_t piece = bytes[1] ? bytes[1] : SIZE_MAX;
    const uint8_t *data = bytes + 2;
    size_t len = size - 2;

    static const char *const protocols[] = {"chat", "echo"};
    ws_options options = {.host = "ws.mixnet.test", .port = 80, .path = "/", .protocols = protocols,
                          .protocol_count = flags & 2 ? 2 : 0,
                          .max_message_size = flags & 4 ? SMALL_MAX_MESSAGE : 0,
                          .fragment_size = flags & 8 ? 7 : 0};
    static const ws_events events = {on_open, on_message, on_close, on_error, on_pong, NULL};
    static const ws_transport fake = {transport_write, transport_release};
    transport t = {0};
    app a = {.max_message = options.max_message_size ? options.max_message_size : WS_DEFAULT_MAX_MESSAGE,
             .echo = flags & 16, .close_after_message = flags & 32};
    a.w = ws_connect_over(&options, &events, &a, &fake, &t, NULL);
    REQUIRE(a.w);
    ws_transport_connected(a.w);

    size_t request_len = t.len;
    if (flags & 1) {
        char response[512];
        int n = accept_request(&t, response, sizeof response, flags & 2 ? "echo" : NULL, &request_len);
        REQUIRE(n > 0);
        ws_transport_data(a.w, (const uint8_t *)response, (size_t)n);
        REQUIRE(a.opens == 1);
    }
    for (size_t at = 0; at < len && a.closes == 0;) {
        size_t n = len - at < piece ? len - at : piece;
        ws_transport_data(a.w, data + at, n);
        at += n;
    }
    if (a.closes == 0) ws_transport_end(a.w);
    REQUIRE(a.closes == 1 && t.released);
    if (a.opens) check_client_frames(t.out + request_len, t.len - request_len);
    ws_release(a.w);
    free(t.out);
    return 0;
}
