/* The worker's entry points: options from JSON into the tunnel's
 * configuration, the tunnel's state and figures out as JSON. */
#include "api/api.h"
#include "codec/codec.h"
#include "dns/dns.h"
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

/* a lookup the page waits for */
typedef struct dns_request {
    unsigned id;
    dns_lookup *lookup;
    struct dns_request *next;
} dns_request;

static struct {
    tunnel *t;
    dns_request *lookups;
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
/* "a.b.c.d:port" */
static bool parse_socket_address(const json_value *value, net_ipv4 *address, uint16_t *port)
{
    char text[32];
    size_t len;
    unsigned a, b, c, d, p;
    char tail;
    if (!json_as_string(value, text, sizeof text, &len) ||
        sscanf(text, "%3u.%3u.%3u.%3u:%5u%c", &a, &b, &c, &d, &p, &tail) != 5 || a > 255 || b > 255 || c > 255 ||
        d > 255 || p == 0 || p > 65535)
        return false;
    *address = (net_ipv4){{(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d}};
    *port = (uint16_t)p;
    return true;
}

typedef struct {
    json_value extra_pem;
    dns_config dns;
    uint16_t fallback_port;
} setup_extras;

static bool apply_option(tunnel_config *c, const json_value *key, const json_value *value, setup_extras *x)
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
        x->extra_pem = *value;
        return value->type == JSON_STRING;
    }
    if (json_string_equals(key, "primaryDns")) return parse_socket_address(value, &x->dns.servers[0], &x->dns.port);
    if (json_string_equals(key, "fallbackDns"))
        return parse_socket_address(value, &x->dns.servers[1], &x->fallback_port);
    if (json_string_equals(key, "dnsTimeoutMs"))
        return json_as_u64(value, &n) && n >= 1 && n <= UINT32_MAX && (x->dns.attempt_timeout_ms = (uint32_t)n, true);
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
    setup_extras x = {.extra_pem = {.type = JSON_INVALID}};
    dns_config_default(&x.dns);
    x.fallback_port = x.dns.port;
    size_t cursor = 0;
    while (json_next_member(&root, &cursor, &key, &value)) {
        char name[64];
        size_t len;
        if (!json_as_string(&key, name, sizeof name, &len)) return fail_setup("%s", "an option name is too long");
        if (!apply_option(&c, &key, &value, &x))
            return fail_setup("option %s is unknown or has an invalid value", name);
    }
    /* the published options give each server a port; our resolver asks both on one */
    if (x.fallback_port != x.dns.port) return fail_setup("%s", "primaryDns and fallbackDns must use the same port");
    if (dns_configure(&x.dns) != 0) return fail_setup("%s", "invalid DNS settings");
    dns_cache_clear();
    tls_reset();
    json_value extra_pem = x.extra_pem;
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

static void dns_requests_cancel_all(void);

API_EXPORT void mix_tunnel_disconnect(void)
{
    if (!api.t) return;
    dns_requests_cancel_all();
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

/* ---- DNS ---- */

static const char *dns_error_kind(int error)
{
    switch (error) {
    case DNS_ERR_NXDOMAIN: return "nxdomain";
    case DNS_ERR_NO_ADDRESS: return "no_address";
    case DNS_ERR_SERVFAIL: return "servfail";
    case DNS_ERR_TIMEOUT: return "timeout";
    case DNS_ERR_NETWORK: return "network";
    case DNS_ERR_INVALID_NAME:
    case NET_ERR_INVALID: return "invalid_name";
    default: return "no_memory";
    }
}

/* RFC 5952 text: lower-case hex, the longest run of two or more zero groups as "::" */
static void format_ipv6(char out[40], const uint8_t octets[16])
{
    uint16_t groups[8];
    for (int i = 0; i < 8; i++) groups[i] = (uint16_t)(octets[2 * i] << 8 | octets[2 * i + 1]);
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && groups[j] == 0) j++;
        if (j - i > best_len) best = i, best_len = j - i;
        i = j > i ? j : i + 1;
    }
    size_t n = 0;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            n += (size_t)snprintf(out + n, 40 - n, "::");
            i += best_len - 1;
            continue;
        }
        n += (size_t)snprintf(out + n, 40 - n, "%s%x", n && out[n - 1] != ':' ? ":" : "", groups[i]);
    }
}

static dns_request *dns_request_take(unsigned id)
{
    for (dns_request **p = &api.lookups; *p; p = &(*p)->next) {
        if ((*p)->id == id) {
            dns_request *r = *p;
            *p = r->next;
            return r;
        }
    }
    return NULL;
}

static void dns_answered(void *ctx, int error, const dns_address *addresses, size_t count)
{
    dns_request *r = dns_request_take((unsigned)(uintptr_t)ctx);
    if (!r) return;
    char buf[4096];
    json_writer w;
    json_writer_init(&w, buf, sizeof buf);
    json_object_begin(&w);
    json_key(&w, "event");
    json_write_cstring(&w, "dns");
    json_key(&w, "id");
    json_write_u64(&w, r->id);
    json_key(&w, "error");
    if (error) {
        json_write_cstring(&w, dns_error_text(error));
        json_key(&w, "errorKind");
        json_write_cstring(&w, dns_error_kind(error));
    } else {
        json_write_null(&w);
    }
    json_key(&w, "addresses");
    json_array_begin(&w);
    for (size_t i = 0; i < count; i++) {
        char text[40];
        if (addresses[i].family == 4)
            snprintf(text, sizeof text, "%u.%u.%u.%u", addresses[i].octets[0], addresses[i].octets[1],
                     addresses[i].octets[2], addresses[i].octets[3]);
        else
            format_ipv6(text, addresses[i].octets);
        json_object_begin(&w);
        json_key(&w, "address");
        json_write_cstring(&w, text);
        json_key(&w, "family");
        json_write_u64(&w, addresses[i].family);
        json_key(&w, "ttl");
        json_write_u64(&w, addresses[i].ttl);
        json_object_end(&w);
    }
    json_array_end(&w);
    json_object_end(&w);
    free(r);
    if (json_writer_finish(&w) >= 0) emit(buf);
}

API_EXPORT int mix_dns_resolve(unsigned id, const char *name, unsigned want)
{
    if (!api.t) {
        snprintf(api.error, sizeof api.error, "tunnel not connected");
        return -1;
    }
    dns_request *r = calloc(1, sizeof *r);
    if (!r) return -1;
    r->id = id;
    r->next = api.lookups;
    api.lookups = r;
    int error = 0;
    r->lookup = dns_resolve(name, want, dns_answered, (void *)(uintptr_t)id, &error);
    /* a lookup that cannot start is answered at once, before this returns */
    if (!r->lookup) dns_answered((void *)(uintptr_t)id, error ? error : DNS_ERR_NO_MEMORY, NULL, 0);
    return 0;
}

API_EXPORT void mix_dns_cancel(unsigned id)
{
    dns_request *r = dns_request_take(id);
    if (!r) return;
    dns_cancel(r->lookup);
    free(r);
}

static void dns_requests_cancel_all(void)
{
    while (api.lookups) mix_dns_cancel(api.lookups->id);
}
