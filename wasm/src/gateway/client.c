/* The client's session with its entry gateway (gateway.md §4-§11), driven
 * by the platform's WebSocket and timers. */
#include "crypto/crypto.h"
#include "gateway/gateway.h"
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    STEP_OPENING,
    STEP_PROTOCOL,      /* waiting for supportedProtocol */
    STEP_REGISTERING,   /* H1 sent, waiting for H2 */
    STEP_REGISTERED,    /* H3 sent, waiting for H4 and register */
    STEP_AUTHENTICATING,
    STEP_CLAIMING,
    STEP_READY,
    STEP_WAITING,       /* to reconnect */
    STEP_FAILED,
} session_step;

struct gateway_client {
    gateway_client_config config;
    gateway_client_callbacks callbacks;
    platform_websocket *ws;
    session_step step;
    uint8_t protocol_version;
    gateway_client_handshake hs;
    int64_t bandwidth;
    bool claim_in_flight;
    uint32_t timer;
    uint32_t failures; /* connections in a row that did not reach READY */
    uint8_t *frame;    /* scratch for encrypting one frame */
    size_t frame_cap;
};

static void report(gateway_client *gc, gateway_client_state state, const char *reason)
{
    if (gc->callbacks.state_changed) gc->callbacks.state_changed(gc->callbacks.ctx, state, reason);
}

static void send_message(gateway_client *gc, const gateway_message *msg)
{
    char text[GATEWAY_MAX_TEXT_LEN];
    int len = gateway_message_write(msg, text, sizeof text);
    if (len > 0) platform_websocket_send(gc->ws, false, (const uint8_t *)text, (size_t)len);
}

static void connection_lost(gateway_client *gc, const char *reason);

static void on_response_timeout(void *ctx)
{
    gateway_client *gc = ctx;
    gc->timer = 0;
    connection_lost(gc, "the gateway did not answer in time");
}

static void await_response(gateway_client *gc, session_step step)
{
    gc->step = step;
    platform_timer_cancel(gc->timer);
    gc->timer = platform_timer_start(gc->config.response_timeout_ms, on_response_timeout, gc);
}

static void fail(gateway_client *gc, const char *reason)
{
    platform_timer_cancel(gc->timer);
    gc->timer = 0;
    if (gc->ws) {
        platform_websocket_close(gc->ws);
        gc->ws = NULL;
    }
    gc->step = STEP_FAILED;
    secure_zero(&gc->hs, sizeof gc->hs);
    report(gc, GATEWAY_CLIENT_FAILED, reason);
}

static void open_socket(gateway_client *gc);

static void on_reconnect_due(void *ctx)
{
    gateway_client *gc = ctx;
    gc->timer = 0;
    open_socket(gc);
}

/* The socket dropped or misbehaved: try again after a pause, or give up.
 * A failure to register is final, since retrying cannot change it. */
static void connection_lost(gateway_client *gc, const char *reason)
{
    if (gc->step == STEP_FAILED) return;
    if (gc->ws) {
        platform_websocket_close(gc->ws);
        gc->ws = NULL;
    }
    platform_timer_cancel(gc->timer);
    gc->timer = 0;
    gc->claim_in_flight = false;
    if (++gc->failures > gc->config.reconnect_attempts) {
        char text[300];
        snprintf(text, sizeof text, "gave up after %u attempts: %s", gc->failures, reason);
        fail(gc, text);
        return;
    }
    uint64_t delay = gc->config.reconnect_delay_ms;
    for (uint32_t i = 1; i < gc->failures && delay < gc->config.reconnect_delay_max_ms; i++) delay *= 2;
    if (delay > gc->config.reconnect_delay_max_ms) delay = gc->config.reconnect_delay_max_ms;
    gc->step = STEP_WAITING;
    gc->timer = platform_timer_start(delay, on_reconnect_due, gc);
    report(gc, GATEWAY_CLIENT_RECONNECTING, reason);
}

static void become_ready(gateway_client *gc)
{
    platform_timer_cancel(gc->timer);
    gc->timer = 0;
    gc->step = STEP_READY;
    gc->failures = 0;
    report(gc, GATEWAY_CLIENT_READY, NULL);
}

static void claim_bandwidth(gateway_client *gc)
{
    gateway_message claim = {.type = GATEWAY_MSG_CLAIM_FREE_BANDWIDTH};
    gc->claim_in_flight = true;
    send_message(gc, &claim);
}

/* After registration or authentication: claim bandwidth first if low. */
static void session_established(gateway_client *gc)
{
    if (gc->bandwidth < GATEWAY_BANDWIDTH_CLAIM_THRESHOLD) {
        claim_bandwidth(gc);
        await_response(gc, STEP_CLAIMING);
    } else {
        become_ready(gc);
    }
}

static void authenticate(gateway_client *gc)
{
    gateway_message auth;
    gateway_auth_v2_build(&auth, gc->protocol_version, gc->config.identity_public, gc->config.identity_secret,
                          gc->config.shared_key, platform_unix_time_s());
    send_message(gc, &auth);
    await_response(gc, STEP_AUTHENTICATING);
}

static void begin_registration(gateway_client *gc)
{
    gateway_message h1 = {.type = GATEWAY_MSG_HANDSHAKE_PAYLOAD, .protocol_version = gc->protocol_version,
                          .data_len = GATEWAY_H1_LEN};
    gateway_handshake_client_begin(&gc->hs, gc->config.identity_public, gc->config.identity_secret, h1.data);
    send_message(gc, &h1);
    await_response(gc, STEP_REGISTERING);
}

static void handshake_failed(gateway_client *gc, const char *message, const char *reason)
{
    gateway_message err = {.type = GATEWAY_MSG_HANDSHAKE_ERROR};
    snprintf(err.message, sizeof err.message, "%s", message);
    send_message(gc, &err);
    fail(gc, reason);
}

static void on_handshake_payload(gateway_client *gc, const gateway_message *msg)
{
    if (msg->protocol_version > GATEWAY_PROTOCOL_VERSION) {
        handshake_failed(gc, "unsupported protocol version", "the gateway speaks a newer protocol");
        return;
    }
    if (gc->step == STEP_REGISTERING) {
        if (msg->protocol_version && msg->protocol_version < gc->protocol_version)
            gc->protocol_version = msg->protocol_version;
        gateway_message h3 = {.type = GATEWAY_MSG_HANDSHAKE_PAYLOAD, .protocol_version = gc->protocol_version,
                              .data_len = GATEWAY_H3_LEN};
        if (gateway_handshake_client_finish(&gc->hs, gc->config.gateway_identity, msg->data, msg->data_len,
                                            gc->config.shared_key, h3.data) != 0) {
            handshake_failed(gc, "received invalid signature", "the gateway is not the one the directory names");
            return;
        }
        send_message(gc, &h3);
        await_response(gc, STEP_REGISTERED);
    } else if (gc->step == STEP_REGISTERED) {
        if (msg->data_len != 1 || msg->data[0] != 1) {
            handshake_failed(gc, "sent request was malformed", "the gateway refused the registration");
            return;
        }
        gc->config.has_shared_key = true;
        if (gc->callbacks.registered) gc->callbacks.registered(gc->callbacks.ctx, gc->config.shared_key);
    }
}

static void on_text(gateway_client *gc, const char *text, size_t len)
{
    gateway_message msg;
    if (gateway_message_parse(&msg, text, len) != 0) {
        connection_lost(gc, "the gateway sent a malformed message");
        return;
    }
    switch (msg.type) {
    case GATEWAY_MSG_SUPPORTED_PROTOCOL:
        if (gc->step != STEP_PROTOCOL) return;
        if (msg.protocol_version < GATEWAY_MIN_PROTOCOL_VERSION) {
            fail(gc, "the gateway's protocol is too old");
            return;
        }
        gc->protocol_version =
            msg.protocol_version > GATEWAY_PROTOCOL_VERSION ? GATEWAY_PROTOCOL_VERSION : msg.protocol_version;
        if (gc->config.has_shared_key)
            authenticate(gc);
        else
            begin_registration(gc);
        return;
    case GATEWAY_MSG_HANDSHAKE_PAYLOAD:
        on_handshake_payload(gc, &msg);
        return;
    case GATEWAY_MSG_HANDSHAKE_ERROR:
        fail(gc, "the gateway refused the registration handshake");
        return;
    case GATEWAY_MSG_REGISTER:
    case GATEWAY_MSG_AUTHENTICATE:
        if (!msg.status) {
            fail(gc, "the gateway refused the client");
            return;
        }
        if (msg.type == GATEWAY_MSG_REGISTER && gc->step != STEP_REGISTERED) return;
        if (msg.type == GATEWAY_MSG_AUTHENTICATE && gc->step != STEP_AUTHENTICATING) return;
        gc->bandwidth = msg.type == GATEWAY_MSG_AUTHENTICATE ? msg.bandwidth : 0;
        session_established(gc);
        return;
    case GATEWAY_MSG_BANDWIDTH:
        gc->claim_in_flight = false;
        gc->bandwidth = msg.bandwidth;
        if (gc->step == STEP_CLAIMING) become_ready(gc);
        return;
    case GATEWAY_MSG_SEND:
        gc->bandwidth = msg.bandwidth;
        if (gc->bandwidth < GATEWAY_BANDWIDTH_CLAIM_THRESHOLD && !gc->claim_in_flight) claim_bandwidth(gc);
        return;
    case GATEWAY_MSG_OUT_OF_BANDWIDTH:
        gc->bandwidth = msg.bandwidth;
        if (!gc->claim_in_flight) claim_bandwidth(gc);
        return;
    case GATEWAY_MSG_ERROR: {
        char reason[300];
        snprintf(reason, sizeof reason, "gateway error: %s", msg.message);
        if (gc->step == STEP_AUTHENTICATING) {
            /* the gateway no longer knows our key (it was reset): register anew */
            gc->config.has_shared_key = false;
            connection_lost(gc, reason);
        } else if (gc->step == STEP_READY || gc->step == STEP_CLAIMING) {
            /* the real client's reader gives up on an error: reconnect */
            connection_lost(gc, reason);
        } else {
            fail(gc, reason);
        }
        return;
    }
    default:
        return;
    }
}

static void on_binary(gateway_client *gc, const uint8_t *data, size_t len)
{
    /* pushes may arrive before the register or authenticate answer */
    if (!gc->config.has_shared_key || len > gc->frame_cap) return;
    uint8_t kind;
    int n = gateway_frame_open(gc->frame, gc->frame_cap, &kind, gc->config.shared_key, data, len);
    if (n < 0 || kind != GATEWAY_FRAME_PUSHED_MESSAGE) return;
    if (gc->callbacks.pushed) gc->callbacks.pushed(gc->callbacks.ctx, gc->frame, (size_t)n);
}

static void ws_on_open(void *ctx)
{
    gateway_client *gc = ctx;
    gateway_message request = {.type = GATEWAY_MSG_SUPPORTED_PROTOCOL_REQUEST};
    send_message(gc, &request);
    await_response(gc, STEP_PROTOCOL);
}

static void ws_on_message(void *ctx, bool binary, const uint8_t *data, size_t len)
{
    gateway_client *gc = ctx;
    if (binary)
        on_binary(gc, data, len);
    else
        on_text(gc, (const char *)data, len);
}

static void ws_on_close(void *ctx, uint16_t code, const char *reason)
{
    gateway_client *gc = ctx;
    char text[300];
    snprintf(text, sizeof text, "the gateway connection closed (%u%s%s)", code, reason && *reason ? ": " : "",
             reason ? reason : "");
    connection_lost(gc, text);
}

static const platform_websocket_events WS_EVENTS = {ws_on_open, ws_on_message, ws_on_close};

static void open_socket(gateway_client *gc)
{
    gc->step = STEP_OPENING;
    report(gc, GATEWAY_CLIENT_CONNECTING, NULL);
    gc->ws = platform_websocket_open(gc->config.url, &WS_EVENTS, gc);
    if (!gc->ws) {
        fail(gc, "the gateway URL is not usable");
        return;
    }
    /* covers a connection that neither opens nor fails */
    await_response(gc, STEP_OPENING);
}

gateway_client *gateway_client_create(const gateway_client_config *config, const gateway_client_callbacks *callbacks)
{
    gateway_client *gc = calloc(1, sizeof *gc);
    if (!gc) return NULL;
    gc->config = *config;
    gc->callbacks = *callbacks;
    /* the largest push is an extended packet's message; frames beyond are dropped */
    gc->frame_cap = 64 * 1024;
    gc->frame = malloc(gc->frame_cap);
    if (!gc->frame) {
        free(gc);
        return NULL;
    }
    return gc;
}

void gateway_client_start(gateway_client *gc)
{
    open_socket(gc);
}

int gateway_client_send(gateway_client *gc, const uint8_t *mix_packet, size_t len)
{
    if (gc->step != STEP_READY) return -1;
    size_t need = len + GATEWAY_FRAME_OVERHEAD;
    if (need > gc->frame_cap) return -1;
    int n = gateway_frame_seal(gc->frame, gc->frame_cap, GATEWAY_FRAME_FORWARD_V2, gc->config.shared_key, mix_packet,
                               len);
    if (n < 0) return -1;
    return platform_websocket_send(gc->ws, true, gc->frame, (size_t)n);
}

size_t gateway_client_buffered(const gateway_client *gc)
{
    return gc->ws ? platform_websocket_buffered(gc->ws) : 0;
}

int64_t gateway_client_bandwidth(const gateway_client *gc)
{
    return gc->bandwidth;
}

void gateway_client_destroy(gateway_client *gc)
{
    if (!gc) return;
    platform_timer_cancel(gc->timer);
    if (gc->ws) platform_websocket_close(gc->ws);
    secure_zero(&gc->config, sizeof gc->config);
    secure_zero(&gc->hs, sizeof gc->hs);
    free(gc->frame);
    free(gc);
}
