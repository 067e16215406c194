/* The worker's entry points: options from JSON into the tunnel's
 * configuration, the tunnel's state and figures out as JSON. */
#include "api/api.h"
#include "codec/codec.h"
#include "tls/tls.h"
#include "tunnel/tunnel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define API_EXPORT EMSCRIPTEN_KEEPALIVE
EM_JS(void, web_emit_event, (const char *json), {
    if (Module.onMixEvent) Module.onMixEvent(UTF8ToString(json));
});
#else
#define API_EXPORT
#endif

#define ERROR_MAX 256
#define JSON_ANSWER_MAX 2048

static struct {
    tunnel *t;
    char error[ERROR_MAX];
    char answer[JSON_ANSWER_MAX];
    mix_event_handler handler;
} api;

static const char *const STATE_NAMES[] = {
    [TUNNEL_CONNECTING] = "connecting", [TUNNEL_READY] = "ready",     [TUNNEL_SHUTTING_DOWN] = "shutting_down",
    [TUNNEL_SHUTDOWN] = "shutdown",     [TUNNEL_FAILED] = "failed",
};

API_EXPORT const char *mix_last_error(void)
{
    return api.error;
}

void mix_set_event_handler(mix_event_handler handler)
{
    api.handler = handler;
}

static void emit(const char *json)
{
    if (api.handler) api.handler(json);
#ifdef __EMSCRIPTEN__
    else web_emit_event(json);
#endif
}

static void write_state(json_writer *w, tunnel_state state, const char *reason)
{
    json_key(w, "state");
    json_write_cstring(w, STATE_NAMES[state]);
    json_key(w, "reason");
    if (reason && *reason)
        json_write_cstring(w, reason);
    else
        json_write_null(w);
}

static void on_state_changed(void *ctx, tunnel_state state, const char *reason)
{
    (void)ctx;
    char buf[512];
    json_writer w;
    json_writer_init(&w, buf, sizeof buf);
    json_object_begin(&w);
    json_key(&w, "event");
    json_write_cstring(&w, "state");
    write_state(&w, state, reason);
    json_object_end(&w);
    if (json_writer_finish(&w)) emit(buf);
}

static int fail_setup(const char *fmt, const char *key)
{
    snprintf(api.error, sizeof api.error, fmt, key);
    return -1;
}

/* One option into the configuration; false when the key is unknown or its
 * value of the wrong type or out of range. */
static bool apply_option(tunnel_config *c, const json_value *key, const json_value *value, json_value *extra_pem)
{
    uint64_t n;
    size_t len;
    if (json_string_equals(key, "nymApiUrl")) return json_as_string(value, c->nym_api_url, sizeof c->nym_api_url, &len);
    if (json_string_equals(key, "clientId"))
        return json_as_string(value, c->client_id, sizeof c->client_id, &len) && len > 0;
    if (json_string_equals(key, "forceTls")) return json_as_bool(value, &c->force_tls);
    if (json_string_equals(key, "preferredIpr"))
        return json_as_string(value, c->preferred_ipr, sizeof c->preferred_ipr, &len);
    if (json_string_equals(key, "preferredGateway"))
        return json_as_string(value, c->preferred_gateway, sizeof c->preferred_gateway, &len);
    if (json_string_equals(key, "disablePoissonTraffic")) return json_as_bool(value, &c->traffic.disable_poisson_traffic);
    if (json_string_equals(key, "disableCoverTraffic")) return json_as_bool(value, &c->traffic.disable_cover_traffic);
    if (json_string_equals(key, "openReplySurbs"))
        return json_as_u64(value, &n) && n >= 1 && n <= 1000 && (c->ipr.open_surbs = (uint32_t)n, true);
    if (json_string_equals(key, "dataReplySurbs"))
        return json_as_u64(value, &n) && n >= 1 && n <= 1000 && (c->ipr.data_surbs = (uint32_t)n, true);
    if (json_string_equals(key, "connectTimeoutMs"))
        return json_as_u64(value, &n) && n >= 1 && n <= UINT32_MAX && (c->connect_timeout_ms = (uint32_t)n, true);
    if (json_string_equals(key, "extraTrustAnchors")) {
        *extra_pem = *value;
        return value->type == JSON_STRING;
    }
    return false;
}

API_EXPORT int mix_tunnel_setup(const char *options_json)
{
    if (api.t) return fail_setup("%s", "tunnel already set up: disconnect it first");
    tunnel_config c;
    tunnel_config_default(&c);
    json_value root, key, value;
    if (!options_json || !json_parse(&root, options_json, strlen(options_json)) || root.type != JSON_OBJECT)
        return fail_setup("%s", "options must be a JSON object");
    json_value extra_pem = {.type = JSON_INVALID};
    size_t cursor = 0;
    while (json_next_member(&root, &cursor, &key, &value)) {
        char name[64];
        size_t len;
        if (!json_as_string(&key, name, sizeof name, &len)) return fail_setup("%s", "an option name is too long");
        if (!apply_option(&c, &key, &value, &extra_pem))
            return fail_setup("option %s is unknown or has an invalid value", name);
    }
    tls_reset();
    if (extra_pem.type == JSON_STRING) {
        /* the decoded text is never longer than its JSON form */
        char *pem = malloc(extra_pem.len + 1);
        size_t pem_len = 0;
        bool ok = pem && json_as_string(&extra_pem, pem, extra_pem.len + 1, &pem_len);
        ok = ok && tls_add_trust_anchors_pem(pem, pem_len) > 0;
        free(pem);
        if (!ok) return fail_setup("%s", "extraTrustAnchors holds no valid PEM certificate");
    }
    api.t = tunnel_create(&c, &(tunnel_callbacks){NULL, on_state_changed});
    if (!api.t) return fail_setup("%s", "out of memory");
    api.error[0] = '\0';
    tunnel_start(api.t);
    return 0;
}

API_EXPORT void mix_tunnel_disconnect(void)
{
    if (!api.t) return;
    tunnel_stop(api.t);
    tunnel_destroy(api.t);
    api.t = NULL;
    tls_reset();
}

API_EXPORT const char *mix_tunnel_state_json(void)
{
    json_writer w;
    json_writer_init(&w, api.answer, sizeof api.answer);
    json_object_begin(&w);
    if (api.t)
        write_state(&w, tunnel_get_state(api.t), tunnel_failure_reason(api.t));
    else
        write_state(&w, TUNNEL_SHUTDOWN, NULL);
    json_object_end(&w);
    return json_writer_finish(&w) ? api.answer : "{}";
}

API_EXPORT const char *mix_tunnel_stats_json(void)
{
    if (!api.t) return mix_tunnel_state_json();
    tunnel_stats s;
    tunnel_get_stats(api.t, &s);
    char ipv4[16];
    snprintf(ipv4, sizeof ipv4, "%u.%u.%u.%u", s.ipv4[0], s.ipv4[1], s.ipv4[2], s.ipv4[3]);
    json_writer w;
    json_writer_init(&w, api.answer, sizeof api.answer);
    json_object_begin(&w);
    write_state(&w, s.state, tunnel_failure_reason(api.t));
    json_key(&w, "gateway");
    json_write_cstring(&w, s.gateway);
    json_key(&w, "ipv4");
    json_write_cstring(&w, s.ipv4[0] ? ipv4 : "");
    json_key(&w, "mtu");
    json_write_u64(&w, s.mtu);
    static const char *const COUNTER_NAMES[] = {
        "ipPacketsOut",    "ipBytesOut",       "ipPacketsIn",     "ipBytesIn",           "gatewayReconnects",
        "realPacketsSent", "coverPacketsSent", "retransmissions", "fragmentsReceived", "messagesDelivered",
    };
    const uint64_t counters[] = {
        s.ip_packets_out,           s.ip_bytes_out,
        s.ip_packets_in,            s.ip_bytes_in,
        s.gateway_reconnects,       s.mixnet.real_packets_sent,
        s.mixnet.cover_packets_sent, s.mixnet.retransmissions,
        s.mixnet.fragments_received, s.mixnet.messages_delivered,
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        json_key(&w, COUNTER_NAMES[i]);
        json_write_u64(&w, counters[i]);
    }
    json_object_end(&w);
    return json_writer_finish(&w) ? api.answer : "{}";
}
