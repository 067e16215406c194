/* The WebSocket client over a scripted transport: the test plays the
 * server with the codec's server side (handshake check and 101 response,
 * frames read as a server reads them, unmasked frames written back). */
#include "check.h"
#include "codec/codec.h"
#include "platform/platform.h"
#include "ws/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the transport: what the client wrote, and how much it may write ---- */

typedef struct {
    uint8_t *out;
    size_t out_len, out_cap;
    size_t read; /* what the server has read of out */
    size_t room; /* bytes write may still take */
    bool released, aborted;
    int write_error; /* when nonzero, writes fail with it */
} fake_transport;

static int fake_write(void *ctx, const uint8_t *data, size_t len)
{
    fake_transport *t = ctx;
    CHECK(!t->released);
    if (t->write_error) return t->write_error;
    if (len > t->room) len = t->room;
    if (t->out_len + len > t->out_cap) {
        size_t cap = t->out_cap ? t->out_cap : 4096;
        while (cap < t->out_len + len) cap *= 2;
        t->out = realloc(t->out, cap);
        t->out_cap = cap;
    }
    memcpy(t->out + t->out_len, data, len);
    t->out_len += len;
    t->room -= len;
    return (int)len;
}

static void fake_release(void *ctx, bool abort)
{
    fake_transport *t = ctx;
    CHECK(!t->released);
    t->released = true;
    t->aborted = abort;
}

static const ws_transport FAKE = {fake_write, fake_release};

/* ---- what the application saw ---- */

typedef struct {
    int opens, messages, closes, errors, pongs, buffered_events;
    char protocol[64];
    bool binary;
    uint8_t *message;
    size_t message_len;
    uint16_t code;
    char reason[128];
    bool was_clean;
    char error[256];
    size_t buffered;
    /* actions */
    ws *self;
    bool release_on_message, close_on_open, send_on_open;
    int state_in_close;
} recorder;

static void rec_open(void *ctx, const char *protocol)
{
    recorder *r = ctx;
    r->opens++;
    snprintf(r->protocol, sizeof r->protocol, "%s", protocol);
    if (r->send_on_open) CHECK(ws_send(r->self, false, (const uint8_t *)"first", 5) == WS_CALL_OK);
    if (r->close_on_open) CHECK(ws_close(r->self, 1000, NULL, 0) == WS_CALL_OK);
}

static void rec_message(void *ctx, bool binary, const uint8_t *data, size_t len)
{
    recorder *r = ctx;
    r->messages++;
    r->binary = binary;
    free(r->message);
    r->message = malloc(len + 1);
    memcpy(r->message, data, len);
    r->message_len = len;
    if (!binary) CHECK(data[len] == '\0');
    if (r->release_on_message) {
        ws_release(r->self);
        r->self = NULL;
    }
}

static void rec_close(void *ctx, uint16_t code, const char *reason, bool was_clean)
{
    recorder *r = ctx;
    r->closes++;
    r->code = code;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    r->was_clean = was_clean;
    r->state_in_close = ws_state(r->self);
}

static void rec_error(void *ctx, const char *message)
{
    recorder *r = ctx;
    r->errors++;
    CHECK(r->closes == 0); /* error comes before close */
    snprintf(r->error, sizeof r->error, "%s", message);
}

static void rec_pong(void *ctx, const uint8_t *data, size_t len)
{
    recorder *r = ctx;
    (void)data;
    (void)len;
    r->pongs++;
}

static void rec_buffered(void *ctx, size_t amount)
{
    recorder *r = ctx;
    r->buffered_events++;
    r->buffered = amount;
}

static const ws_events EVENTS = {rec_open, rec_message, rec_close, rec_error, rec_pong, rec_buffered};

/* ---- the server's side ---- */

typedef struct {
    fake_transport t;
    recorder r;
    ws *w;
} session;

static void session_start(session *s, const ws_options *o)
{
    memset(s, 0, sizeof *s);
    s->t.room = SIZE_MAX;
    int error = 0;
    s->w = ws_connect_over(o, &EVENTS, &s->r, &FAKE, &s->t, &error);
    s->r.self = s->w;
    CHECK(s->w != NULL && error == 0);
}

static void session_end(session *s)
{
    if (s->r.self) ws_release(s->r.self);
    free(s->t.out);
    free(s->r.message);
}

static ws_options options_for(const char *const *protocols, size_t count)
{
    ws_options o = {.host = "ws.mixnet.test", .port = 80, .path = "/echo?x=1", .protocols = protocols,
                    .protocol_count = count};
    return o;
}

/* Reads the client's request and answers it: 101 with protocol (or NULL),
 * then extra bytes in the same segment. Gives false when the request was
 * not a valid upgrade. */
static bool server_accept(session *s, const char *protocol, const uint8_t *extra, size_t extra_len)
{
    http_header headers[32];
    http_head head;
    http_head_init(&head, headers, 32);
    if (http_request_head_parse(&head, (const char *)s->t.out, s->t.out_len) != HTTP_OK) return false;
    const char *key;
    size_t key_len;
    if (ws_handshake_request_check(&head, &key, &key_len) != WS_OK) return false;
    s->t.read = head.head_len;
    char response[1024];
    int len = ws_handshake_response_write(response, sizeof response, key, key_len, protocol);
    if (len < 0) return false;
    if (extra_len) memcpy(response + len, extra, extra_len);
    ws_transport_data(s->w, (const uint8_t *)response, (size_t)len + extra_len);
    return true;
}

typedef struct {
    bool fin;
    ws_opcode opcode;
    uint8_t mask_key[WS_MASK_KEY_LEN];
    uint8_t payload[70000];
    size_t len;
} server_frame;

/* The next frame the client wrote, unmasked; false when none is complete. */
static bool server_read(session *s, server_frame *f)
{
    ws_frame_header h;
    const uint8_t *at = s->t.out + s->t.read;
    size_t avail = s->t.out_len - s->t.read;
    if (ws_frame_header_parse(&h, at, avail, WS_ROLE_SERVER, sizeof f->payload) != WS_OK) return false;
    if (avail < h.header_len + h.payload_len) return false;
    f->fin = h.fin;
    f->opcode = h.opcode;
    memcpy(f->mask_key, h.mask_key, WS_MASK_KEY_LEN);
    f->len = (size_t)h.payload_len;
    memcpy(f->payload, at + h.header_len, f->len);
    ws_mask(f->payload, f->len, h.mask_key, 0);
    s->t.read += h.header_len + f->len;
    return true;
}

/* A server frame (unmasked, or masked to break the rules) into out. */
static size_t server_frame_bytes(uint8_t *out, bool fin, ws_opcode opcode, const void *payload, size_t len)
{
    size_t header = ws_frame_header_write(out, fin, opcode, len, NULL);
    memcpy(out + header, payload, len);
    return header + len;
}

static void server_send(session *s, bool fin, ws_opcode opcode, const void *payload, size_t len)
{
    uint8_t *frame = malloc(WS_MAX_HEADER_LEN + len);
    size_t n = server_frame_bytes(frame, fin, opcode, payload, len);
    ws_transport_data(s->w, frame, n);
    free(frame);
}

static void server_close(session *s, uint16_t code, const char *reason)
{
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
    int len = ws_close_build(payload, code, (const uint8_t *)reason, strlen(reason));
    server_send(s, true, WS_OPCODE_CLOSE, payload, (size_t)len);
}

/* The Close the client wrote: its code (0 when empty) and reason. */
static bool read_close(session *s, uint16_t *code, char *reason, size_t reason_cap)
{
    server_frame *f = malloc(sizeof *f);
    bool ok = server_read(s, f) && f->opcode == WS_OPCODE_CLOSE;
    *code = 0;
    reason[0] = '\0';
    if (ok && f->len >= 2) {
        *code = (uint16_t)(f->payload[0] << 8 | f->payload[1]);
        size_t n = f->len - 2 < reason_cap - 1 ? f->len - 2 : reason_cap - 1;
        memcpy(reason, f->payload + 2, n);
        reason[n] = '\0';
    }
    free(f);
    return ok;
}

static bool request_has(const session *s, const char *line)
{
    size_t len = strlen(line);
    for (size_t i = 0; i + len <= s->t.out_len; i++)
        if (memcmp(s->t.out + i, line, len) == 0) return true;
    return false;
}

/* ---- tests ---- */

static void test_handshake_and_protocol(void)
{
    static const char *const protocols[] = {"chat", "echo"};
    ws_options o = options_for(protocols, 2);
    o.origin = "https://app.example";
    o.port = 8080;
    session s;
    session_start(&s, &o);
    CHECK(ws_state(s.w) == WS_CONNECTING);
    CHECK(s.t.out_len == 0);
    CHECK(ws_send(s.w, false, (const uint8_t *)"x", 1) == WS_CALL_INVALID_STATE);
    ws_transport_connected(s.w);
    CHECK(request_has(&s, "GET /echo?x=1 HTTP/1.1\r\n"));
    CHECK(request_has(&s, "Host: ws.mixnet.test:8080\r\n"));
    CHECK(request_has(&s, "Origin: https://app.example\r\n"));
    CHECK(request_has(&s, "Sec-WebSocket-Protocol: chat, echo\r\n"));
    CHECK(server_accept(&s, "echo", NULL, 0));
    CHECK(s.r.opens == 1 && strcmp(s.r.protocol, "echo") == 0);
    CHECK(ws_state(s.w) == WS_OPEN && strcmp(ws_protocol(s.w), "echo") == 0);
    session_end(&s);

    /* default port: no port in Host; no protocol offered, none selected */
    o = options_for(NULL, 0);
    session_start(&s, &o);
    ws_transport_connected(s.w);
    CHECK(request_has(&s, "Host: ws.mixnet.test\r\n"));
    CHECK(!request_has(&s, "Sec-WebSocket-Protocol"));
    CHECK(!request_has(&s, "Origin"));
    CHECK(server_accept(&s, NULL, NULL, 0));
    CHECK(s.r.opens == 1 && strcmp(s.r.protocol, "") == 0);
    session_end(&s);

    /* a protocol we did not offer fails the connection */
    o = options_for(protocols, 1);
    session_start(&s, &o);
    ws_transport_connected(s.w);
    CHECK(server_accept(&s, "echo", NULL, 0));
    CHECK(s.r.opens == 0 && s.r.errors == 1 && s.r.closes == 1 && s.r.code == WS_CLOSE_ABNORMAL && !s.r.was_clean);
    CHECK(strstr(s.r.error, "subprotocol") != NULL);
    CHECK(s.t.released && s.t.aborted);
    session_end(&s);

    /* invalid options */
    static const char *const repeated[] = {"a", "a"}, *const not_token[] = {"a b"};
    int error = 0;
    o = options_for(repeated, 2);
    CHECK(ws_connect_over(&o, &EVENTS, NULL, &FAKE, NULL, &error) == NULL && error == WS_CALL_INVALID);
    o = options_for(not_token, 1);
    CHECK(ws_connect_over(&o, &EVENTS, NULL, &FAKE, NULL, &error) == NULL && error == WS_CALL_INVALID);
    o = options_for(NULL, 0);
    o.path = "echo";
    CHECK(ws_connect_over(&o, &EVENTS, NULL, &FAKE, NULL, &error) == NULL && error == WS_CALL_INVALID);
}

static void test_handshake_refused(void)
{
    ws_options o = options_for(NULL, 0);
    session s;
    session_start(&s, &o);
    ws_transport_connected(s.w);
    static const char not_found[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    /* byte by byte: the head parser resumes */
    for (size_t i = 0; i < sizeof not_found - 1 && s.r.closes == 0; i++)
        ws_transport_data(s.w, (const uint8_t *)not_found + i, 1);
    CHECK(s.r.errors == 1 && strstr(s.r.error, "404") != NULL);
    CHECK(s.r.closes == 1 && s.r.code == WS_CLOSE_ABNORMAL && !s.r.was_clean);
    CHECK(ws_state(s.w) == WS_CLOSED);
    session_end(&s);

    /* a wrong Sec-WebSocket-Accept */
    session_start(&s, &o);
    ws_transport_connected(s.w);
    static const char bad_accept[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    ws_transport_data(s.w, (const uint8_t *)bad_accept, sizeof bad_accept - 1);
    CHECK(s.r.errors == 1 && strstr(s.r.error, "Accept") != NULL && s.r.closes == 1);
    session_end(&s);

    /* the server ends TCP during the handshake */
    session_start(&s, &o);
    ws_transport_connected(s.w);
    ws_transport_end(s.w);
    CHECK(s.r.errors == 1 && s.r.closes == 1 && s.r.code == WS_CLOSE_ABNORMAL);
    session_end(&s);
}

static void test_messages_both_ways(void)
{
    ws_options o = options_for(NULL, 0);
    o.fragment_size = 1000;
    session s;
    session_start(&s, &o);
    s.r.send_on_open = true;
    ws_transport_connected(s.w);
    /* a message in the same segment as the 101 */
    uint8_t early[64];
    size_t early_len = server_frame_bytes(early, true, WS_OPCODE_TEXT, "early", 5);
    CHECK(server_accept(&s, NULL, early, early_len));
    CHECK(s.r.opens == 1 && s.r.messages == 1 && !s.r.binary && s.r.message_len == 5 &&
          memcmp(s.r.message, "early", 5) == 0);

    server_frame *f = malloc(sizeof *f), *g = malloc(sizeof *g);
    /* sent in on_open */
    CHECK(server_read(&s, f) && f->fin && f->opcode == WS_OPCODE_TEXT && f->len == 5 &&
          memcmp(f->payload, "first", 5) == 0);

    /* text: one masked frame */
    CHECK(ws_send(s.w, false, (const uint8_t *)"hello", 5) == WS_CALL_OK);
    CHECK(server_read(&s, g) && g->fin && g->opcode == WS_OPCODE_TEXT && g->len == 5);
    CHECK(memcmp(f->mask_key, g->mask_key, WS_MASK_KEY_LEN) != 0); /* a fresh key per frame */
    CHECK(memcmp(s.t.out + s.t.read - 5, "hello", 5) != 0);          /* masked on the wire */

    /* binary in fragments of 1000 */
    uint8_t big[2500];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
    CHECK(ws_send(s.w, true, big, sizeof big) == WS_CALL_OK);
    CHECK(ws_buffered_amount(s.w) == 0);
    CHECK(server_read(&s, f) && !f->fin && f->opcode == WS_OPCODE_BINARY && f->len == 1000 &&
          memcmp(f->payload, big, 1000) == 0);
    CHECK(server_read(&s, f) && !f->fin && f->opcode == WS_OPCODE_CONTINUATION && f->len == 1000 &&
          memcmp(f->payload, big + 1000, 1000) == 0);
    CHECK(server_read(&s, f) && f->fin && f->opcode == WS_OPCODE_CONTINUATION && f->len == 500 &&
          memcmp(f->payload, big + 2000, 500) == 0);
    CHECK(!server_read(&s, f));
    /* the caller's buffer was not masked in place */
    CHECK(big[1] == 7);

    /* an empty message */
    CHECK(ws_send(s.w, true, NULL, 0) == WS_CALL_OK);
    CHECK(server_read(&s, f) && f->fin && f->opcode == WS_OPCODE_BINARY && f->len == 0);

    /* invalid text is refused */
    CHECK(ws_send(s.w, false, (const uint8_t *)"\xc3\x28", 2) == WS_CALL_INVALID_UTF8);
    CHECK(!server_read(&s, f));

    /* a fragmented message in, a ping between its fragments, a character split across them */
    server_send(&s, false, WS_OPCODE_TEXT, "caf\xc3", 4);
    server_send(&s, true, WS_OPCODE_PING, "p1", 2);
    CHECK(server_read(&s, f) && f->opcode == WS_OPCODE_PONG && f->len == 2 && memcmp(f->payload, "p1", 2) == 0);
    server_send(&s, true, WS_OPCODE_CONTINUATION, "\xa9!", 2);
    CHECK(s.r.messages == 2 && !s.r.binary && s.r.message_len == 6 && memcmp(s.r.message, "caf\xc3\xa9!", 6) == 0);

    /* a binary message fed one byte at a time */
    uint8_t frame[WS_MAX_HEADER_LEN + 300];
    size_t n = server_frame_bytes(frame, true, WS_OPCODE_BINARY, big, 300);
    for (size_t i = 0; i < n; i++) ws_transport_data(s.w, frame + i, 1);
    CHECK(s.r.messages == 3 && s.r.binary && s.r.message_len == 300 && memcmp(s.r.message, big, 300) == 0);

    /* ping and pong */
    CHECK(ws_ping(s.w, (const uint8_t *)"hi", 2) == WS_CALL_OK);
    CHECK(server_read(&s, f) && f->opcode == WS_OPCODE_PING && f->len == 2);
    server_send(&s, true, WS_OPCODE_PONG, "hi", 2);
    CHECK(s.r.pongs == 1);
    uint8_t long_ping[126] = {0};
    CHECK(ws_ping(s.w, long_ping, sizeof long_ping) == WS_CALL_TOO_LONG);

    CHECK(s.r.errors == 0 && s.r.closes == 0);
    free(f);
    free(g);
    session_end(&s);
}

static void test_back_pressure(void)
{
    ws_options o = options_for(NULL, 0);
    o.fragment_size = 4096;
    session s;
    session_start(&s, &o);
    ws_transport_connected(s.w);
    CHECK(server_accept(&s, NULL, NULL, 0));
    s.t.room = 1000;
    uint8_t *data = malloc(50000);
    for (size_t i = 0; i < 50000; i++) data[i] = (uint8_t)(i ^ (i >> 8));
    CHECK(ws_send(s.w, true, data, 50000) == WS_CALL_OK);
    CHECK(ws_buffered_amount(s.w) == 50000 - (1000 - 8)); /* the header took 8 bytes */
    /* a ping from the server waits for the fragment on the wire, then goes first */
    server_send(&s, true, WS_OPCODE_PING, "", 0);
    size_t rounds = 0;
    while (ws_buffered_amount(s.w) > 0 && rounds++ < 1000) {
        s.t.room = 3000;
        ws_transport_writable(s.w);
    }
    CHECK(ws_buffered_amount(s.w) == 0 && s.r.buffered == 0 && s.r.buffered_events > 10);
    uint8_t *got = malloc(50000);
    size_t got_len = 0, frames = 0, pongs = 0;
    server_frame *f = malloc(sizeof *f);
    while (server_read(&s, f)) {
        if (f->opcode == WS_OPCODE_PONG) {
            pongs++;
            CHECK(frames == 1); /* right after the fragment that was half written */
            continue;
        }
        frames++;
        memcpy(got + got_len, f->payload, f->len);
        got_len += f->len;
    }
    CHECK(pongs == 1 && frames == 13 && got_len == 50000 && memcmp(got, data, 50000) == 0);
    free(f);
    free(got);
    free(data);
    session_end(&s);
}

/* The server breaks a rule: the client sends the matching Close, fails
 * (error, then close 1006) and ends TCP. */
static void expect_failure(const uint8_t *frames, size_t len, uint16_t expected_code, size_t max_message)
{
    ws_options o = options_for(NULL, 0);
    o.max_message_size = max_message;
    session s;
    session_start(&s, &o);
    ws_transport_connected(s.w);
    CHECK(server_accept(&s, NULL, NULL, 0));
    ws_transport_data(s.w, frames, len);
    uint16_t code;
    char reason[128];
    CHECK(read_close(&s, &code, reason, sizeof reason) && code == expected_code);
    CHECK(s.r.errors == 1 && s.r.closes == 1 && s.r.code == WS_CLOSE_ABNORMAL && !s.r.was_clean);
    CHECK(s.r.messages == 0 && s.t.released && !s.t.aborted && ws_state(s.w) == WS_CLOSED);
    CHECK(ws_send(s.w, false, (const uint8_t *)"x", 1) == WS_CALL_CLOSED);
    session_end(&s);
}

static void test_server_breaks_rules(void)
{
    uint8_t frames[512];
    size_t n;
    n = server_frame_bytes(frames, true, WS_OPCODE_TEXT, "\xed\xa0\x80", 3); /* a surrogate */
    expect_failure(frames, n, 1007, 0);
    n = server_frame_bytes(frames, false, WS_OPCODE_TEXT, "ok\xe2\x82", 4);
    n += server_frame_bytes(frames + n, true, WS_OPCODE_CONTINUATION, "", 0); /* ends mid-character */
    expect_failure(frames, n, 1007, 0);
    static const uint8_t sixty[60];
    n = server_frame_bytes(frames, false, WS_OPCODE_BINARY, sixty, 60);
    n += server_frame_bytes(frames + n, true, WS_OPCODE_CONTINUATION, sixty, 60);
    expect_failure(frames, n, 1009, 100);
    uint8_t key[4] = {1, 2, 3, 4};
    n = ws_frame_header_write(frames, true, WS_OPCODE_BINARY, 1, key);
    frames[n++] = 'x';
    expect_failure(frames, n, 1002, 0); /* masked */
    n = server_frame_bytes(frames, true, WS_OPCODE_CONTINUATION, "x", 1);
    expect_failure(frames, n, 1002, 0);
    n = server_frame_bytes(frames, false, WS_OPCODE_TEXT, "a", 1);
    n += server_frame_bytes(frames + n, true, WS_OPCODE_BINARY, "b", 1);
    expect_failure(frames, n, 1002, 0);
    n = server_frame_bytes(frames, true, WS_OPCODE_CLOSE, "\x03\xed", 2); /* 1005 is not for the wire */
    expect_failure(frames, n, 1002, 0);
    frames[0] = 0x83; /* opcode 3 is reserved */
    frames[1] = 0;
    expect_failure(frames, 2, 1002, 0);
}

static void test_close_handshake(void)
{
    ws_options o = options_for(NULL, 0);
    session s;
    uint16_t code;
    char reason[128];

    /* ours first: queued messages go before the Close; nothing after it */
    session_start(&s, &o);
    ws_transport_connected(s.w);
    CHECK(server_accept(&s, NULL, NULL, 0));
    CHECK(ws_close(s.w, 1005, NULL, 0) == WS_CALL_INVALID_CODE);
    CHECK(ws_close(s.w, 2000, NULL, 0) == WS_CALL_INVALID_CODE);
    uint8_t long_reason[124];
    memset(long_reason, 'a', sizeof long_reason);
    CHECK(ws_close(s.w, 1000, long_reason, sizeof long_reason) == WS_CALL_TOO_LONG);
    CHECK(ws_close(s.w, 1000, (const uint8_t *)"\xff", 1) == WS_CALL_INVALID_UTF8);
    s.t.room = 0;
    CHECK(ws_send(s.w, false, (const uint8_t *)"last", 4) == WS_CALL_OK);
    CHECK(ws_close(s.w, 4000, (const uint8_t *)"bye", 3) == WS_CALL_OK);
    CHECK(ws_state(s.w) == WS_CLOSING);
    CHECK(ws_send(s.w, false, (const uint8_t *)"x", 1) == WS_CALL_CLOSED);
    CHECK(ws_close(s.w, 1000, NULL, 0) == WS_CALL_OK); /* does nothing */
    s.t.room = SIZE_MAX;
    ws_transport_writable(s.w);
    server_frame *f = malloc(sizeof *f);
    CHECK(server_read(&s, f) && f->opcode == WS_OPCODE_TEXT && f->len == 4);
    CHECK(read_close(&s, &code, reason, sizeof reason) && code == 4000 && strcmp(reason, "bye") == 0);
    CHECK(!server_read(&s, f));
    /* messages after our Close are not delivered */
    server_send(&s, true, WS_OPCODE_TEXT, "late", 4);
    CHECK(s.r.messages == 0);
    server_close(&s, 4000, "bye");
    CHECK(s.r.closes == 0); /* the server's end of TCP comes next */
    ws_transport_end(s.w);
    CHECK(s.r.closes == 1 && s.r.code == 4000 && strcmp(s.r.reason, "bye") == 0 && s.r.was_clean);
    CHECK(s.r.errors == 0 && s.t.released && !s.t.aborted && s.r.state_in_close == WS_CLOSED);
    session_end(&s);

    /* the server's first: echoed with its code, half-sent message cut off,
     * later ones dropped */
    o.fragment_size = 100;
    session_start(&s, &o);
    ws_transport_connected(s.w);
    CHECK(server_accept(&s, NULL, NULL, 0));
    uint8_t data[1000] = {0};
    s.t.room = 150;
    CHECK(ws_send(s.w, true, data, sizeof data) == WS_CALL_OK);
    CHECK(ws_send(s.w, true, data, sizeof data) == WS_CALL_OK);
    server_close(&s, 1001, "going away");
    CHECK(ws_state(s.w) == WS_CLOSING);
    s.t.room = SIZE_MAX;
    ws_transport_writable(s.w);
    CHECK(server_read(&s, f) && f->opcode == WS_OPCODE_BINARY && !f->fin);
    CHECK(server_read(&s, f) && f->opcode == WS_OPCODE_CONTINUATION && !f->fin);
    CHECK(read_close(&s, &code, reason, sizeof reason) && code == 1001 && reason[0] == '\0');
    CHECK(!server_read(&s, f));
    CHECK(ws_buffered_amount(s.w) == 0);
    ws_transport_closed(s.w, -105); /* TLS without close_notify after the Close: still clean */
    CHECK(s.r.closes == 1 && s.r.code == 1001 && strcmp(s.r.reason, "going away") == 0 && s.r.was_clean);
    CHECK(s.r.errors == 0);
    session_end(&s);

    /* a Close without a code: 1005 to the application, an empty Close back */
    o = options_for(NULL, 0);
    session_start(&s, &o);
    ws_transport_connected(s.w);
    CHECK(server_accept(&s, NULL, NULL, 0));
    server_send(&s, true, WS_OPCODE_CLOSE, "", 0);
    CHECK(read_close(&s, &code, reason, sizeof reason) && code == 0);
    ws_transport_end(s.w);
    CHECK(s.r.closes == 1 && s.r.code == 1005 && s.r.was_clean);
    session_end(&s);

    /* TCP ends without a Close: 1006, not clean, no error */
    session_start(&s, &o);
    ws_transport_connected(s.w);
    CHECK(server_accept(&s, NULL, NULL, 0));
    ws_transport_end(s.w);
    CHECK(s.r.closes == 1 && s.r.code == WS_CLOSE_ABNORMAL && !s.r.was_clean && s.r.errors == 0);
    session_end(&s);

    /* a reset: an error, then 1006 */
    session_start(&s, &o);
    ws_transport_connected(s.w);
    CHECK(server_accept(&s, NULL, NULL, 0));
    ws_transport_closed(s.w, -7);
    CHECK(s.r.errors == 1 && s.r.closes == 1 && s.r.code == WS_CLOSE_ABNORMAL && !s.r.was_clean);
    session_end(&s);
    free(f);
}

static void test_release_in_callbacks(void)
{
    ws_options o = options_for(NULL, 0);
    session s;
    session_start(&s, &o);
    s.r.release_on_message = true;
    ws_transport_connected(s.w);
    CHECK(server_accept(&s, NULL, NULL, 0));
    /* two messages in one segment: the first releases, the second is not delivered */
    uint8_t frames[64];
    size_t n = server_frame_bytes(frames, true, WS_OPCODE_TEXT, "one", 3);
    n += server_frame_bytes(frames + n, true, WS_OPCODE_TEXT, "two", 3);
    ws_transport_data(s.w, frames, n);
    CHECK(s.r.messages == 1 && s.r.closes == 0 && s.t.released);
    uint16_t code;
    char reason[16];
    CHECK(read_close(&s, &code, reason, sizeof reason) && code == 1001);
    session_end(&s);

    /* close in on_open */
    session_start(&s, &o);
    s.r.close_on_open = true;
    ws_transport_connected(s.w);
    CHECK(server_accept(&s, NULL, NULL, 0));
    CHECK(ws_state(s.w) == WS_CLOSING);
    CHECK(read_close(&s, &code, reason, sizeof reason) && code == 1000);
    session_end(&s);
}

void test_ws_client(void)
{
    test_handshake_and_protocol();
    test_handshake_refused();
    test_messages_both_ways();
    test_back_pressure();
    test_server_breaks_rules();
    test_close_handshake();
    test_release_in_callbacks();
}

#ifndef __EMSCRIPTEN__
static void run_until_closed(session *s, uint64_t timeout_ms)
{
    uint64_t end = platform_monotonic_ms() + timeout_ms;
    while (s->r.closes == 0 && platform_monotonic_ms() < end) platform_run_once(10);
}

void test_ws_client_timers(void)
{
    /* no handshake in time */
    ws_options o = options_for(NULL, 0);
    o.connect_timeout_ms = 30;
    session s;
    session_start(&s, &o);
    ws_transport_connected(s.w);
    run_until_closed(&s, 2000);
    CHECK(s.r.errors == 1 && strstr(s.r.error, "timed out") && s.r.closes == 1 && s.r.code == WS_CLOSE_ABNORMAL);
    CHECK(s.t.released && s.t.aborted);
    session_end(&s);

    /* close while connecting: the events come later, from the loop */
    o = options_for(NULL, 0);
    session_start(&s, &o);
    CHECK(ws_close(s.w, 1000, NULL, 0) == WS_CALL_OK);
    CHECK(s.r.closes == 0 && ws_state(s.w) == WS_CLOSING && s.t.released);
    run_until_closed(&s, 2000);
    CHECK(s.r.errors == 1 && s.r.closes == 1 && s.r.code == WS_CLOSE_ABNORMAL && !s.r.was_clean);
    session_end(&s);

    /* the server never answers our Close */
    o.close_timeout_ms = 30;
    session_start(&s, &o);
    ws_transport_connected(s.w);
    CHECK(server_accept(&s, NULL, NULL, 0));
    CHECK(ws_close(s.w, 1000, (const uint8_t *)"done", 4) == WS_CALL_OK);
    run_until_closed(&s, 2000);
    CHECK(s.r.closes == 1 && s.r.code == WS_CLOSE_ABNORMAL && !s.r.was_clean && s.r.errors == 0);
    CHECK(s.t.released && s.t.aborted);
    session_end(&s);

    /* both Close frames passed, the server keeps TCP open: clean */
    session_start(&s, &o);
    ws_transport_connected(s.w);
    CHECK(server_accept(&s, NULL, NULL, 0));
    CHECK(ws_close(s.w, 1000, NULL, 0) == WS_CALL_OK);
    server_close(&s, 1000, "");
    run_until_closed(&s, 2000);
    CHECK(s.r.closes == 1 && s.r.code == 1000 && s.r.was_clean && s.t.released && !s.t.aborted);
    session_end(&s);
}
#endif
