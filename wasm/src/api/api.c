/* The worker's entry points: options from JSON into the tunnel's
 * configuration, the tunnel's state and figures out as JSON. */
#include "api/api.h"
#include "codec/codec.h"
#include "dns/dns.h"
#include "http/http.h"
#include "tls/tls.h"
#include "tunnel/tunnel.h"
#include "ws/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define API_EXPORT EMSCRIPTEN_KEEPALIVE
EM_JS(void, web_emit_event, (const char *json), {
    if (Module.onMixEvent) Module.onMixEvent(UTF8ToString(json));
});
EM_JS(void, web_emit_data, (const char *kind, unsigned id, const unsigned char *data, size_t len), {
    if (Module.onMixData) Module.onMixData(UTF8ToString(kind), id, HEAPU8.slice(data, data + len));
});
#else
#define API_EXPORT
#endif

#define ERROR_MAX 256
#define JSON_ANSWER_MAX 4096

/* Something the page waits on (a DNS lookup, a WebSocket, a fetch), by
 * the id the page gave it. */
typedef struct page_request {
    unsigned id;
    void *object; /* the dns_lookup, ws or http_fetch */
    struct page_request *next;
} page_request;

static struct {
    tunnel *t;
    page_request *lookups, *sockets, *fetches;
    uint32_t max_redirects;
    mix_data_handler data_handler;
    char error[ERROR_MAX];
    char answer[JSON_ANSWER_MAX];
    mix_event_handler handler;
} api;

static page_request *request_add(page_request **list, unsigned id)
{
    page_request *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->id = id;
    r->next = *list;
    *list = r;
    return r;
}

static page_request *request_find(page_request *list, unsigned id)
{
    for (; list; list = list->next)
        if (list->id == id) return list;
    return NULL;
}

/* Takes r out of list and frees it; gives its object. */
static void *request_remove(page_request **list, page_request *r)
{
    for (page_request **p = list; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    void *object = r->object;
    free(r);
    return object;
}

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

void mix_set_data_handler(mix_data_handler handler)
{
    api.data_handler = handler;
}

static void emit_data(const char *kind, unsigned id, const unsigned char *data, size_t len)
{
    if (api.data_handler) api.data_handler(kind, id, data, len);
#ifdef __EMSCRIPTEN__
    else web_emit_data(kind, id, data, len);
#endif
}

static void emit(const char *json)
{
    if (api.handler) api.handler(json);
#ifdef __EMSCRIPTEN__
    else web_emit_event(json);
#endif
}

/* {"event":event,"id":id,"type":type, then the caller's fields; event_emit closes it */
static void event_begin(json_writer *w, char *buf, size_t cap, const char *event, unsigned id, const char *type)
{
    json_writer_init(w, buf, cap);
    json_object_begin(w);
    json_key(w, "event");
    json_write_cstring(w, event);
    json_key(w, "id");
    json_write_u64(w, id);
    json_key(w, "type");
    json_write_cstring(w, type);
}

static void event_emit(json_writer *w, const char *buf)
{
    json_object_end(w);
    if (json_writer_finish(w) >= 0) emit(buf);
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
    if (json_writer_finish(&w) >= 0) emit(buf);
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
    uint32_t max_redirects;
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
    if (json_string_equals(key, "tcpKeepaliveMs"))
        return json_as_u64(value, &n) && n <= UINT32_MAX && (c->tcp.keepalive_ms = (uint32_t)n, true);
    if (json_string_equals(key, "tcpBufferSize"))
        return json_as_u64(value, &n) && n >= 1 && n <= UINT32_MAX && (c->tcp.buffer_bytes = (uint32_t)n, true);
    if (json_string_equals(key, "extraTrustAnchors")) {
        x->extra_pem = *value;
        return value->type == JSON_STRING;
    }
    if (json_string_equals(key, "primaryDns")) return parse_socket_address(value, &x->dns.servers[0], &x->dns.port);
    if (json_string_equals(key, "fallbackDns"))
        return parse_socket_address(value, &x->dns.servers[1], &x->fallback_port);
    if (json_string_equals(key, "maxRedirects"))
        return json_as_u64(value, &n) && n <= 255 && (x->max_redirects = (uint32_t)n, true);
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
    /* the published default */
    setup_extras x = {.extra_pem = {.type = JSON_INVALID}, .max_redirects = 5};
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
    api.max_redirects = x.max_redirects;
    http_pool_config pool;
    http_pool_config_default(&pool);
    http_pool_configure(&pool);
    api.t = tunnel_create(&c, &(tunnel_callbacks){NULL, on_state_changed});
    if (!api.t) return fail_setup("%s", "out of memory");
    api.error[0] = '\0';
    tunnel_start(api.t);
    return 0;
}

static void dns_requests_cancel_all(void);
static void ws_handles_release_all(void);
static void fetch_handles_close_all(void);

API_EXPORT void mix_tunnel_disconnect(void)
{
    if (!api.t) return;
    dns_requests_cancel_all();
    ws_handles_release_all();
    fetch_handles_close_all();
    http_pool_close_idle();
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
    return json_writer_finish(&w) >= 0 ? api.answer : "{}";
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
    json_key(&w, "ipr");
    json_write_cstring(&w, s.ipr);
    json_key(&w, "ipv4");
    json_write_cstring(&w, s.ipv4[0] ? ipv4 : "");
    json_key(&w, "rttMs");
    json_write_u64(&w, s.mixnet.round_trip_ns / 1000000);
    json_key(&w, "mtu");
    json_write_u64(&w, s.mtu);
    static const char *const COUNTER_NAMES[] = {
        "ipPacketsOut",    "ipBytesOut",       "ipPacketsIn",     "ipBytesIn",           "gatewayReconnects",
        "realPacketsSent", "coverPacketsSent", "retransmissions", "fragmentsReceived", "messagesDelivered",
        "ipGapsSkipped",   "ipBundlesLate",
    };
    const uint64_t counters[] = {
        s.ip_packets_out,           s.ip_bytes_out,
        s.ip_packets_in,            s.ip_bytes_in,
        s.gateway_reconnects,       s.mixnet.real_packets_sent,
        s.mixnet.cover_packets_sent, s.mixnet.retransmissions,
        s.mixnet.fragments_received, s.mixnet.messages_delivered,
        s.ip_gaps_skipped,          s.ip_bundles_late,
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        json_key(&w, COUNTER_NAMES[i]);
        json_write_u64(&w, counters[i]);
    }
    json_object_end(&w);
    return json_writer_finish(&w) >= 0 ? api.answer : "{}";
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

static void dns_answered(void *ctx, int error, const dns_address *addresses, size_t count)
{
    unsigned id = (unsigned)(uintptr_t)ctx;
    page_request *r = request_find(api.lookups, id);
    if (!r) return;
    request_remove(&api.lookups, r);
    char buf[4096];
    json_writer w;
    json_writer_init(&w, buf, sizeof buf);
    json_object_begin(&w);
    json_key(&w, "event");
    json_write_cstring(&w, "dns");
    json_key(&w, "id");
    json_write_u64(&w, id);
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
    if (json_writer_finish(&w) >= 0) emit(buf);
}

API_EXPORT int mix_dns_resolve(unsigned id, const char *name, unsigned want)
{
    if (!api.t) {
        snprintf(api.error, sizeof api.error, "tunnel not connected");
        return -1;
    }
    page_request *r = request_add(&api.lookups, id);
    if (!r) return -1;
    int error = 0;
    r->object = dns_resolve(name, want, dns_answered, (void *)(uintptr_t)id, &error);
    /* a lookup that cannot start is answered at once, before this returns */
    if (!r->object) dns_answered((void *)(uintptr_t)id, error ? error : DNS_ERR_NO_MEMORY, NULL, 0);
    return 0;
}

API_EXPORT void mix_dns_cancel(unsigned id)
{
    page_request *r = request_find(api.lookups, id);
    if (r) dns_cancel(request_remove(&api.lookups, r));
}

static void dns_requests_cancel_all(void)
{
    while (api.lookups) mix_dns_cancel(api.lookups->id);
}

/* ---- WebSockets ---- */

static void ws_handle_release(page_request *h)
{
    ws_release(request_remove(&api.sockets, h));
}

static void ws_handles_release_all(void)
{
    while (api.sockets) ws_handle_release(api.sockets);
}


static void socket_opened(void *ctx, const char *protocol)
{
    page_request *h = ctx;
    char buf[512];
    json_writer w;
    event_begin(&w, buf, sizeof buf, "ws", h->id, "open");
    json_key(&w, "protocol");
    json_write_cstring(&w, protocol);
    event_emit(&w, buf);
}

static void socket_message(void *ctx, bool binary, const uint8_t *data, size_t len)
{
    page_request *h = ctx;
    emit_data(binary ? "ws-binary" : "ws-text", h->id, data, len);
}

static void socket_failed(void *ctx, const char *message)
{
    page_request *h = ctx;
    char buf[512];
    json_writer w;
    event_begin(&w, buf, sizeof buf, "ws", h->id, "error");
    json_key(&w, "message");
    json_write_cstring(&w, message);
    event_emit(&w, buf);
}

static void socket_buffered(void *ctx, size_t amount)
{
    page_request *h = ctx;
    char buf[128];
    json_writer w;
    event_begin(&w, buf, sizeof buf, "ws", h->id, "buffered");
    json_key(&w, "amount");
    json_write_u64(&w, amount);
    event_emit(&w, buf);
}

static void socket_closed(void *ctx, uint16_t code, const char *reason, bool was_clean)
{
    page_request *h = ctx;
    char buf[512];
    json_writer w;
    event_begin(&w, buf, sizeof buf, "ws", h->id, "close");
    json_key(&w, "code");
    json_write_u64(&w, code);
    json_key(&w, "reason");
    json_write_cstring(&w, reason);
    json_key(&w, "wasClean");
    json_write_bool(&w, was_clean);
    event_emit(&w, buf);
    ws_handle_release(h);
}

static const ws_events WS_EVENTS = {
    .on_open = socket_opened,
    .on_message = socket_message,
    .on_close = socket_closed,
    .on_error = socket_failed,
    .on_buffered_amount = socket_buffered,
};

#define WS_MAX_URL_PART 2048

API_EXPORT int mix_ws_open(unsigned id, const char *options_json)
{
    if (!api.t) {
        snprintf(api.error, sizeof api.error, "tunnel not connected");
        return -1;
    }
    json_value root, v, item;
    ws_options o = {0};
    char host[DNS_MAX_NAME_LEN + 1], path[WS_MAX_URL_PART], origin[WS_MAX_URL_PART];
    char protocol_text[WS_MAX_PROTOCOLS][64];
    const char *protocols[WS_MAX_PROTOCOLS];
    uint64_t port;
    size_t len, cursor = 0;
    if (!options_json || !json_parse(&root, options_json, strlen(options_json)) || root.type != JSON_OBJECT ||
        !json_object_get(&root, "tls", &v) || !json_as_bool(&v, &o.tls) || !json_object_get(&root, "host", &v) ||
        !json_as_string(&v, host, sizeof host, &len) || !json_object_get(&root, "port", &v) ||
        !json_as_u64(&v, &port) || port == 0 || port > 65535 || !json_object_get(&root, "path", &v) ||
        !json_as_string(&v, path, sizeof path, &len))
        return WS_CALL_INVALID;
    o.host = host;
    o.port = (uint16_t)port;
    o.path = path;
    if (json_object_get(&root, "protocols", &v)) {
        if (v.type != JSON_ARRAY) return WS_CALL_INVALID;
        while (json_next(&v, &cursor, &item)) {
            if (o.protocol_count == WS_MAX_PROTOCOLS ||
                !json_as_string(&item, protocol_text[o.protocol_count], sizeof protocol_text[0], &len))
                return WS_CALL_INVALID;
            protocols[o.protocol_count] = protocol_text[o.protocol_count];
            o.protocol_count++;
        }
        o.protocols = protocols;
    }
    if (json_object_get(&root, "origin", &v) && v.type != JSON_NULL) {
        if (!json_as_string(&v, origin, sizeof origin, &len)) return WS_CALL_INVALID;
        o.origin = origin;
    }
    page_request *h = request_add(&api.sockets, id);
    if (!h) return WS_CALL_NO_MEMORY;
    int error = WS_CALL_NO_MEMORY;
    h->object = ws_connect(&o, &WS_EVENTS, h, &error);
    if (!h->object) {
        request_remove(&api.sockets, h);
        return error;
    }
    return 0;
}

API_EXPORT int mix_ws_send(unsigned id, bool binary, const unsigned char *data, size_t len)
{
    page_request *h = request_find(api.sockets, id);
    return h ? ws_send(h->object, binary, data, len) : WS_CALL_CLOSED;
}

API_EXPORT int mix_ws_close(unsigned id, int code, const char *reason)
{
    page_request *h = request_find(api.sockets, id);
    if (!h) return WS_CALL_OK;
    return ws_close(h->object, code < 0 ? 0 : (uint16_t)code, (const uint8_t *)reason, reason ? strlen(reason) : 0);
}

API_EXPORT size_t mix_ws_buffered_amount(unsigned id)
{
    page_request *h = request_find(api.sockets, id);
    return h ? ws_buffered_amount(h->object) : 0;
}

/* ---- fetches ---- */

static void fetch_handle_close(page_request *h)
{
    http_fetch *f = request_remove(&api.fetches, h);
    if (f) http_fetch_close(f);
}

static void fetch_handles_close_all(void)
{
    while (api.fetches) fetch_handle_close(api.fetches);
}


static void fetch_responded(void *ctx, const http_response *r)
{
    page_request *h = ctx;
    size_t cap = 1024 + strlen(r->url) * 2 + r->reason_len * 6;
    for (size_t i = 0; i < r->header_count; i++) cap += (r->headers[i].name_len + r->headers[i].value_len) * 6 + 8;
    char *buf = malloc(cap);
    if (!buf) return;
    json_writer w;
    event_begin(&w, buf, cap, "fetch", h->id, "response");
    json_key(&w, "status");
    json_write_u64(&w, (uint64_t)r->status);
    json_key(&w, "statusText");
    json_write_string(&w, r->reason, r->reason_len);
    json_key(&w, "headers");
    json_array_begin(&w);
    for (size_t i = 0; i < r->header_count; i++) {
        json_array_begin(&w);
        json_write_string(&w, r->headers[i].name, r->headers[i].name_len);
        json_write_string(&w, r->headers[i].value, r->headers[i].value_len);
        json_array_end(&w);
    }
    json_array_end(&w);
    json_key(&w, "url");
    json_write_cstring(&w, r->url);
    json_key(&w, "redirected");
    json_write_bool(&w, r->redirected);
    event_emit(&w, buf);
    free(buf);
}

static void fetch_body(void *ctx, const uint8_t *data, size_t len)
{
    page_request *h = ctx;
    emit_data("fetch-body", h->id, data, len);
}

static void fetch_completed(void *ctx, int error, const http_header *trailers, size_t trailer_count)
{
    page_request *h = ctx;
    (void)trailers;
    (void)trailer_count;
    char buf[512];
    json_writer w;
    event_begin(&w, buf, sizeof buf, "fetch", h->id, error ? "error" : "end");
    if (error) {
        json_key(&w, "name");
        json_write_cstring(&w, error == HTTP_FETCH_ERR_TIMEOUT ? "TimeoutError" : "TypeError");
        json_key(&w, "message");
        json_write_cstring(&w, http_fetch_error_text(error));
    }
    /* the fetch is over: its handle goes before the page hears, so the id is free */
    fetch_handle_close(h);
    event_emit(&w, buf);
}

static void fetch_writable(void *ctx)
{
    page_request *h = ctx;
    char buf[128];
    json_writer w;
    event_begin(&w, buf, sizeof buf, "fetch", h->id, "writable");
    event_emit(&w, buf);
}

static const http_fetch_events FETCH_EVENTS = {
    .on_response = fetch_responded,
    .on_body = fetch_body,
    .on_complete = fetch_completed,
    .on_body_writable = fetch_writable,
};

#define FETCH_MAX_URL 8192
#define FETCH_MAX_METHOD 32

static bool parse_redirect_mode(const json_value *v, http_redirect_mode *mode)
{
    if (json_string_equals(v, "follow")) *mode = HTTP_REDIRECT_FOLLOW;
    else if (json_string_equals(v, "manual")) *mode = HTTP_REDIRECT_MANUAL;
    else if (json_string_equals(v, "error")) *mode = HTTP_REDIRECT_ERROR;
    else return false;
    return true;
}

API_EXPORT int mix_fetch_start(unsigned id, const char *request_json, const unsigned char *body, size_t body_len)
{
    if (!api.t) {
        snprintf(api.error, sizeof api.error, "tunnel not connected");
        return -1;
    }
    json_value root, v, pair, name, value;
    char url[FETCH_MAX_URL], method[FETCH_MAX_METHOD] = "GET";
    http_fetch_options o = {.method = method, .url = url, .max_redirects = api.max_redirects};
    uint64_t timeout = 0;
    size_t len, cursor = 0;
    bool ok = request_json && json_parse(&root, request_json, strlen(request_json)) && root.type == JSON_OBJECT &&
              json_object_get(&root, "url", &v) && json_as_string(&v, url, sizeof url, &len) &&
              (!json_object_get(&root, "method", &v) || json_as_string(&v, method, sizeof method, &len)) &&
              (!json_object_get(&root, "redirect", &v) || parse_redirect_mode(&v, &o.redirect)) &&
              (!json_object_get(&root, "timeoutMs", &v) || (json_as_u64(&v, &timeout) && timeout <= UINT32_MAX)) &&
              (!json_object_get(&root, "bodyStreamed", &v) || json_as_bool(&v, &o.body_written));
    /* redirects: 0 means "none" to the page but the layer's default to http.h */
    if (ok && o.redirect == HTTP_REDIRECT_FOLLOW && api.max_redirects == 0) o.redirect = HTTP_REDIRECT_ERROR;
    o.timeout_ms = (uint32_t)timeout;
    /* the headers' text is decoded into one block, each name and value NUL-ended */
    size_t header_count = 0, text_cap = strlen(request_json) + 1, text_len = 0;
    http_header *headers = NULL;
    char *text = NULL;
    if (ok && json_object_get(&root, "headers", &v)) {
        ok = v.type == JSON_ARRAY;
        while (ok && json_next(&v, &cursor, &pair)) header_count++;
        headers = calloc(header_count ? header_count : 1, sizeof *headers);
        text = malloc(text_cap);
        ok = ok && headers && text;
        cursor = 0;
        for (size_t i = 0; ok && json_next(&v, &cursor, &pair); i++) {
            size_t inner = 0;
            ok = pair.type == JSON_ARRAY && json_next(&pair, &inner, &name) && json_next(&pair, &inner, &value);
            size_t name_len = 0, value_len = 0;
            ok = ok && json_as_string(&name, text + text_len, text_cap - text_len, &name_len);
            if (ok) headers[i].name = text + text_len, headers[i].name_len = name_len, text_len += name_len + 1;
            ok = ok && json_as_string(&value, text + text_len, text_cap - text_len, &value_len);
            if (ok) headers[i].value = text + text_len, headers[i].value_len = value_len, text_len += value_len + 1;
        }
    }
    o.headers = headers;
    o.header_count = header_count;
    if (!o.body_written && body) {
        o.body = body;
        o.body_len = body_len;
    }
    o.body_written_length = HTTP_BODY_LENGTH_UNKNOWN;
    page_request *h = ok ? request_add(&api.fetches, id) : NULL;
    if (h) {
        int error = HTTP_FETCH_ERR_NO_MEMORY;
        h->object = http_fetch_start(&o, &FETCH_EVENTS, h, &error);
        /* a request that cannot start fails like any other, before this returns */
        if (!h->object) fetch_completed(h, error, NULL, 0);
    }
    free(headers);
    free(text);
    if (!ok) {
        snprintf(api.error, sizeof api.error, "mix_fetch_start: the request is malformed");
        return -1;
    }
    return h ? 0 : -1;
}

API_EXPORT int mix_fetch_body_write(unsigned id, const unsigned char *data, size_t len)
{
    page_request *h = request_find(api.fetches, id);
    return h ? http_fetch_body_write(h->object, data, len) : NET_ERR_CLOSED;
}

API_EXPORT int mix_fetch_body_end(unsigned id)
{
    page_request *h = request_find(api.fetches, id);
    return h ? http_fetch_body_end(h->object) : NET_ERR_CLOSED;
}

API_EXPORT void mix_fetch_consumed(unsigned id, size_t len)
{
    page_request *h = request_find(api.fetches, id);
    if (h) http_fetch_body_consumed(h->object, len);
}

API_EXPORT void mix_fetch_abort(unsigned id)
{
    page_request *h = request_find(api.fetches, id);
    if (h) fetch_handle_close(h);
}
