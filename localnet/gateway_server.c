/* The client side of localnet's gateways (shared/spec/gateway.md §5-§11). */
#include "gateway_server.h"

#include "codec/codec.h"
#include "conn.h"
#include "crypto/crypto.h"
#include "gateway/gateway.h"
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_MESSAGE_LEN (1024 * 1024)
#define MAX_STORED_MESSAGES 4096
#define FRESH_TIMEOUT_MS 10000
#define HANDSHAKE_TIMEOUT_MS 5000
#define MAX_HEADERS 32

typedef enum { SESSION_UPGRADE, SESSION_FRESH, SESSION_HANDSHAKE, SESSION_AUTHENTICATED } session_state;

typedef struct stored_message {
    struct stored_message *next;
    size_t len;
    uint8_t bytes[];
} stored_message;

typedef struct session session;

typedef struct {
    uint8_t identity[32];
    uint8_t shared_key[GATEWAY_SHARED_KEY_LEN];
    uint64_t last_auth_ts;
    int64_t bandwidth;
    session *active;
    stored_message *inbox_head, *inbox_tail;
    size_t inbox_count;
} client_record;

struct session {
    gateway_server *g;
    conn *c;
    session_state state;
    uint8_t protocol_version;
    gateway_server_handshake hs;
    client_record *client;
    uint32_t timer;
    ws_message sequence;
    ws_opcode message_opcode;
    uint8_t *message;
    size_t message_len, message_cap;
    struct session *next;
};

struct gateway_server {
    uint8_t identity_secret[64];
    uint16_t port;
    forwarder *fw;
    listener *l;
    session *sessions;
    client_record *clients;
    size_t client_count, client_cap;
    gateway_server_stats stats;
};

/* ---- clients ---- */

static client_record *client_find(gateway_server *g, const uint8_t identity[32])
{
    for (size_t i = 0; i < g->client_count; i++)
        if (memcmp(g->clients[i].identity, identity, 32) == 0) return &g->clients[i];
    return NULL;
}

static client_record *client_add(gateway_server *g, const uint8_t identity[32])
{
    client_record *found = client_find(g, identity);
    if (found) return found;
    if (g->client_count == g->client_cap) {
        size_t cap = g->client_cap ? g->client_cap * 2 : 16;
        client_record *grown = realloc(g->clients, cap * sizeof *grown);
        if (!grown) return NULL;
        /* sessions point at records: move those pointers with the array */
        for (session *s = g->sessions; s; s = s->next)
            if (s->client) s->client = grown + (s->client - g->clients);
        g->clients = grown;
        g->client_cap = cap;
    }
    client_record *r = &g->clients[g->client_count++];
    memset(r, 0, sizeof *r);
    memcpy(r->identity, identity, 32);
    return r;
}

/* ---- WebSocket output ---- */

static void send_frame(session *s, ws_opcode opcode, const uint8_t *payload, size_t len)
{
    uint8_t header[WS_MAX_HEADER_LEN];
    size_t header_len = ws_frame_header_write(header, true, opcode, len, NULL);
    if (header_len == 0 || conn_send(s->c, header, header_len) != 0 || conn_send(s->c, payload, len) != 0)
        conn_close_after_flush(s->c);
}

static void send_message(session *s, const gateway_message *msg)
{
    char text[GATEWAY_MAX_TEXT_LEN];
    int len = gateway_message_write(msg, text, sizeof text);
    if (len > 0) send_frame(s, WS_OPCODE_TEXT, (const uint8_t *)text, (size_t)len);
}

static void send_error(session *s, const char *message)
{
    gateway_message msg = {.type = GATEWAY_MSG_ERROR};
    snprintf(msg.message, sizeof msg.message, "%s", message);
    send_message(s, &msg);
    s->g->stats.errors++;
}

static void close_session(session *s, uint16_t code)
{
    uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    send_frame(s, WS_OPCODE_CLOSE, payload, sizeof payload);
    conn_close_after_flush(s->c);
}

/* A failed registration or authentication: the error twice (request
 * handler and outer loop, as the real gateway does), then the close. */
static void fail_session(session *s, const char *message)
{
    send_error(s, message);
    send_error(s, message);
    close_session(s, 1000);
}

static void push(session *s, const uint8_t *message, size_t len)
{
    uint8_t *frame = malloc(len + GATEWAY_FRAME_OVERHEAD);
    if (!frame) return;
    int frame_len = gateway_frame_seal(frame, len + GATEWAY_FRAME_OVERHEAD, GATEWAY_FRAME_PUSHED_MESSAGE,
                                       s->client->shared_key, message, len);
    if (frame_len > 0) {
        send_frame(s, WS_OPCODE_BINARY, frame, (size_t)frame_len);
        s->g->stats.pushes++;
    }
    free(frame);
}

static void push_stored(session *s)
{
    client_record *r = s->client;
    while (r->inbox_head) {
        stored_message *m = r->inbox_head;
        r->inbox_head = m->next;
        push(s, m->bytes, m->len);
        free(m);
    }
    r->inbox_tail = NULL;
    r->inbox_count = 0;
}

/* ---- timeouts ---- */

static void on_session_timeout(void *ctx)
{
    session *s = ctx;
    s->timer = 0;
    fail_session(s, s->state == SESSION_HANDSHAKE ? "timed out waiting for a handshake message"
                                                  : "timed out waiting for the initial request");
}

static void set_timer(session *s, uint64_t ms)
{
    platform_timer_cancel(s->timer);
    s->timer = ms ? platform_timer_start(ms, on_session_timeout, s) : 0;
}

static void become_authenticated(session *s, client_record *r)
{
    /* a newer session replaces a live one (the real gateway first probes
     * the old one with a ping; a test network does not need that) */
    if (r->active && r->active != s) {
        r->active->client = NULL;
        close_session(r->active, 1000);
    }
    r->active = s;
    s->client = r;
    s->state = SESSION_AUTHENTICATED;
    set_timer(s, 0);
    push_stored(s);
}

/* ---- text requests ---- */

static void handle_registration_start(session *s, const gateway_message *msg)
{
    client_record *existing = client_find(s->g, msg->data);
    if (msg->data_len == GATEWAY_H1_LEN && existing && existing->active) {
        fail_session(s, "There is already an open connection to this client");
        return;
    }
    s->protocol_version = msg->protocol_version > GATEWAY_PROTOCOL_VERSION ? GATEWAY_PROTOCOL_VERSION
                                                                           : msg->protocol_version;
    gateway_message reply = {.type = GATEWAY_MSG_HANDSHAKE_PAYLOAD, .protocol_version = s->protocol_version,
                             .data_len = GATEWAY_H2_LEN};
    if (gateway_handshake_server_reply(&s->hs, s->g->identity_secret, msg->data, msg->data_len, reply.data, NULL,
                                       NULL) != 0) {
        gateway_message err = {.type = GATEWAY_MSG_HANDSHAKE_ERROR};
        strcpy(err.message, "sent request was malformed");
        send_message(s, &err);
        fail_session(s, "registration handshake failed");
        return;
    }
    send_message(s, &reply);
    s->state = SESSION_HANDSHAKE;
    set_timer(s, HANDSHAKE_TIMEOUT_MS);
}

static void handle_registration_finish(session *s, const gateway_message *msg)
{
    if (msg->type == GATEWAY_MSG_HANDSHAKE_ERROR) {
        close_session(s, 1000);
        return;
    }
    /* anything else during the handshake is ignored, as the real gateway does */
    if (msg->type != GATEWAY_MSG_HANDSHAKE_PAYLOAD) return;
    if (gateway_handshake_server_verify(&s->hs, msg->data, msg->data_len) != 0) {
        gateway_message err = {.type = GATEWAY_MSG_HANDSHAKE_ERROR};
        strcpy(err.message, "received invalid signature");
        send_message(s, &err);
        fail_session(s, "registration handshake failed");
        return;
    }
    gateway_message h4 = {.type = GATEWAY_MSG_HANDSHAKE_PAYLOAD, .protocol_version = s->protocol_version,
                          .data = {1}, .data_len = 1};
    send_message(s, &h4);
    client_record *r = client_add(s->g, s->hs.client_identity);
    if (!r) {
        fail_session(s, "out of memory");
        return;
    }
    memcpy(r->shared_key, s->hs.shared_key, GATEWAY_SHARED_KEY_LEN);
    s->g->stats.registrations++;
    become_authenticated(s, r);
    gateway_message done = {.type = GATEWAY_MSG_REGISTER, .protocol_version = s->protocol_version, .status = true};
    send_message(s, &done);
}

static void handle_authentication(session *s, const gateway_message *msg)
{
    client_record *r = client_find(s->g, msg->client_identity);
    int err = r ? gateway_auth_v2_verify(msg, r->shared_key, platform_unix_time_s()) : GATEWAY_ERR_CRYPTO;
    if (!r) {
        fail_session(s, "the client is not registered");
        return;
    }
    if (err == GATEWAY_ERR_VERSION) {
        fail_session(s, "Attempted to negotiate connection with client using incompatible protocol version");
        return;
    }
    if (err != 0) {
        fail_session(s, err == GATEWAY_ERR_TIMESTAMP ? "the request timestamp is outside the allowed skew"
                                                     : "failed to verify provided address ciphertext");
        return;
    }
    if (r->last_auth_ts && msg->timestamp <= r->last_auth_ts) {
        fail_session(s, "attempted to overwrite client session with a stale authentication");
        return;
    }
    r->last_auth_ts = msg->timestamp;
    s->protocol_version = msg->protocol_version;
    s->g->stats.authentications++;
    become_authenticated(s, r);
    gateway_message done = {.type = GATEWAY_MSG_AUTHENTICATE, .protocol_version = s->protocol_version,
                            .status = true, .bandwidth = r->bandwidth};
    send_message(s, &done);
}

static void handle_text(session *s, const char *text, size_t len)
{
    gateway_message msg;
    bool parsed = gateway_message_parse(&msg, text, len) == 0;
    if (parsed && msg.type == GATEWAY_MSG_SUPPORTED_PROTOCOL_REQUEST && s->state != SESSION_HANDSHAKE) {
        gateway_message reply = {.type = GATEWAY_MSG_SUPPORTED_PROTOCOL, .protocol_version = GATEWAY_PROTOCOL_VERSION};
        send_message(s, &reply);
        return;
    }
    switch (s->state) {
    case SESSION_FRESH:
        if (parsed && msg.type == GATEWAY_MSG_HANDSHAKE_PAYLOAD)
            handle_registration_start(s, &msg);
        else if (parsed && msg.type == GATEWAY_MSG_AUTHENTICATE_V2)
            handle_authentication(s, &msg);
        else
            fail_session(s, "Only 'Register' or 'Authenticate' requests are allowed");
        return;
    case SESSION_HANDSHAKE:
        if (parsed) handle_registration_finish(s, &msg);
        return;
    case SESSION_AUTHENTICATED:
        if (!parsed) {
            send_error(s, "Provided text request was malformed");
        } else if (msg.type == GATEWAY_MSG_CLAIM_FREE_BANDWIDTH) {
            s->client->bandwidth += GATEWAY_FREE_BANDWIDTH;
            gateway_message reply = {.type = GATEWAY_MSG_BANDWIDTH, .bandwidth = s->client->bandwidth};
            send_message(s, &reply);
        } else if (msg.type == GATEWAY_MSG_HANDSHAKE_PAYLOAD) {
            send_error(s, "The received request is not valid in the current context");
        } else {
            send_error(s, "received a text request of an unknown type");
        }
        return;
    case SESSION_UPGRADE:
        return;
    }
}

/* ---- binary requests: MixPackets to forward ---- */

static void handle_binary(session *s, uint8_t *frame, size_t len)
{
    if (s->state == SESSION_HANDSHAKE) return;
    if (s->state != SESSION_AUTHENTICATED) {
        fail_session(s, "possibly received a sphinx packet without prior authentication");
        return;
    }
    s->g->stats.frames_in++;
    uint8_t kind;
    int plain_len = gateway_frame_open(frame, len, &kind, s->client->shared_key, frame, len);
    nym_mix_packet mp;
    /* only version 2 MixPackets: every client of protocol 5 and later sends them */
    if (plain_len < 0 || kind != GATEWAY_FRAME_FORWARD_V2 || nym_mix_packet_decode(&mp, frame, (size_t)plain_len) != 0) {
        send_error(s, "Provided binary request was malformed");
        return;
    }
    int64_t required = (int64_t)mp.packet_len;
    if (s->client->bandwidth < required) {
        gateway_message reply = {.type = GATEWAY_MSG_OUT_OF_BANDWIDTH, .required = required,
                                 .bandwidth = s->client->bandwidth};
        send_message(s, &reply);
        return;
    }
    s->client->bandwidth -= required;
    /* dropped silently when the next hop is not a known node, as nym-node does */
    (void)forwarder_send(s->g->fw, &mp);
    gateway_message reply = {.type = GATEWAY_MSG_SEND, .bandwidth = s->client->bandwidth};
    send_message(s, &reply);
}

/* ---- WebSocket input ---- */

static bool handle_upgrade(session *s, const uint8_t *in, size_t len, size_t *used)
{
    http_header headers[MAX_HEADERS];
    http_head head;
    http_head_init(&head, headers, MAX_HEADERS);
    http_result r = http_request_head_parse(&head, (const char *)in, len);
    if (r == HTTP_INCOMPLETE) return false;
    const char *key;
    size_t key_len;
    char response[512];
    int response_len = -1;
    if (r == HTTP_OK && ws_handshake_request_check(&head, &key, &key_len) == WS_OK)
        response_len = ws_handshake_response_write(response, sizeof response, key, key_len, NULL);
    if (response_len < 0) {
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        conn_send(s->c, (const uint8_t *)bad, sizeof bad - 1);
        conn_close_after_flush(s->c);
        *used = len;
        return false;
    }
    conn_send(s->c, (const uint8_t *)response, (size_t)response_len);
    *used = head.head_len;
    s->state = SESSION_FRESH;
    set_timer(s, FRESH_TIMEOUT_MS);
    return true;
}

static bool append_to_message(session *s, const uint8_t *data, size_t len)
{
    if (s->message_len + len > MAX_MESSAGE_LEN) return false;
    if (s->message_len + len > s->message_cap) {
        size_t cap = s->message_cap ? s->message_cap : 4096;
        while (cap < s->message_len + len) cap *= 2;
        uint8_t *grown = realloc(s->message, cap);
        if (!grown) return false;
        s->message = grown;
        s->message_cap = cap;
    }
    memcpy(s->message + s->message_len, data, len);
    s->message_len += len;
    return true;
}

/* Handles one whole frame; gives false once the session is closing. */
static bool handle_frame(session *s, const ws_frame_header *f, uint8_t *payload)
{
    ws_mask(payload, (size_t)f->payload_len, f->mask_key, 0);
    switch (f->opcode) {
    case WS_OPCODE_PING:
        send_frame(s, WS_OPCODE_PONG, payload, (size_t)f->payload_len);
        return true;
    case WS_OPCODE_PONG:
        return true;
    case WS_OPCODE_CLOSE:
        close_session(s, 1000);
        return false;
    default:
        break;
    }
    if (f->opcode != WS_OPCODE_CONTINUATION) s->message_opcode = f->opcode;
    if (!append_to_message(s, payload, (size_t)f->payload_len)) {
        close_session(s, 1009);
        return false;
    }
    if (!f->fin) return true;
    size_t len = s->message_len;
    s->message_len = 0;
    if (s->message_opcode == WS_OPCODE_TEXT)
        handle_text(s, (const char *)s->message, len);
    else
        handle_binary(s, s->message, len);
    return true;
}

static void on_session_input(void *ctx, conn *c)
{
    session *s = ctx;
    size_t len, used = 0;
    uint8_t *in = (uint8_t *)conn_input(c, &len);
    if (s->state == SESSION_UPGRADE) {
        size_t head_len = 0;
        bool upgraded = handle_upgrade(s, in, len, &head_len);
        conn_consume(c, head_len);
        if (!upgraded) return;
        in = (uint8_t *)conn_input(c, &len);
    }
    while (used < len) {
        ws_frame_header f;
        ws_result r = ws_frame_header_parse(&f, in + used, len - used, WS_ROLE_SERVER, MAX_MESSAGE_LEN);
        if (r == WS_INCOMPLETE) break;
        if (r == WS_OK) r = ws_frame_sequence_check(&s->sequence, &f);
        if (r != WS_OK) {
            close_session(s, ws_close_code_for(r));
            used = len;
            break;
        }
        if (len - used - f.header_len < f.payload_len) break;
        bool open = handle_frame(s, &f, in + used + f.header_len);
        used += f.header_len + (size_t)f.payload_len;
        if (!open) {
            used = len;
            break;
        }
    }
    conn_consume(c, used);
}

static void session_free(session *s)
{
    gateway_server *g = s->g;
    for (session **p = &g->sessions; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    if (s->client && s->client->active == s) s->client->active = NULL;
    platform_timer_cancel(s->timer);
    conn_free(s->c);
    free(s->message);
    secure_zero(&s->hs, sizeof s->hs);
    free(s);
}

static void on_session_closed(void *ctx, conn *c)
{
    (void)c;
    session_free(ctx);
}

static const conn_events SESSION_EVENTS = {on_session_input, NULL, on_session_closed};

static void on_accept(void *ctx, int fd)
{
    gateway_server *g = ctx;
    session *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return;
    }
    s->g = g;
    s->c = conn_adopt(fd, &SESSION_EVENTS, s);
    if (!s->c) {
        close(fd);
        free(s);
        return;
    }
    s->next = g->sessions;
    g->sessions = s;
    g->stats.connections++;
}

/* ---- the server ---- */

gateway_server *gateway_server_start(uint16_t port, const uint8_t identity_secret[64], forwarder *fw)
{
    gateway_server *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    memcpy(g->identity_secret, identity_secret, 64);
    g->fw = fw;
    g->l = listener_open(port, on_accept, g);
    if (!g->l) {
        free(g);
        return NULL;
    }
    g->port = listener_port(g->l);
    return g;
}

uint16_t gateway_server_port(const gateway_server *g)
{
    return g->port;
}

void gateway_server_deliver(gateway_server *g, const uint8_t client_identity[32], const uint8_t *message, size_t len)
{
    client_record *r = client_find(g, client_identity);
    if (!r) return;
    if (r->active) {
        push(r->active, message, len);
        return;
    }
    if (r->inbox_count == MAX_STORED_MESSAGES) return;
    stored_message *m = malloc(sizeof *m + len);
    if (!m) return;
    m->next = NULL;
    m->len = len;
    memcpy(m->bytes, message, len);
    if (r->inbox_tail)
        r->inbox_tail->next = m;
    else
        r->inbox_head = m;
    r->inbox_tail = m;
    r->inbox_count++;
    g->stats.stored++;
}

const gateway_server_stats *gateway_server_get_stats(const gateway_server *g)
{
    return &g->stats;
}

void gateway_server_suspend(gateway_server *g)
{
    listener_close(g->l);
    g->l = NULL;
    while (g->sessions) session_free(g->sessions);
}

int gateway_server_resume(gateway_server *g)
{
    if (g->l) return 0;
    g->l = listener_open(g->port, on_accept, g);
    return g->l ? 0 : -1;
}

void gateway_server_stop(gateway_server *g)
{
    if (!g) return;
    gateway_server_suspend(g);
    for (size_t i = 0; i < g->client_count; i++) {
        while (g->clients[i].inbox_head) {
            stored_message *m = g->clients[i].inbox_head;
            g->clients[i].inbox_head = m->next;
            free(m);
        }
    }
    secure_zero(g->clients, g->client_count * sizeof *g->clients);
    free(g->clients);
    secure_zero(g->identity_secret, sizeof g->identity_secret);
    free(g);
}
