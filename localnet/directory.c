/* localnet's directory server. The JSON shapes are nym-api's, as the Rust
 * client deserializes them (nymtech/nym, nym-api/nym-api-requests/src):
 * every field the structs do not mark Option or #[serde(default)] is
 * written, with serde's names and types. */
#define _POSIX_C_SOURCE 200809L
#include "directory.h"

#include "codec/codec.h"
#include "conn.h"
#include "platform/platform.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Every node listens on loopback. */
#define NODE_IP "127.0.0.1"
/* Mainnet's schedule: intervals of 720 one-hour epochs, Sphinx keys
 * rotating every 24 epochs. */
#define EPOCHS_IN_INTERVAL 720u
#define EPOCH_SECONDS 3600u
#define ROTATION_VALIDITY_EPOCHS 24u
/* Every node at 100%, written as cosmwasm's Decimal writes one. */
#define NODE_PERFORMANCE "1"
/* The build details nothing reads but serde requires. */
#define BUILD_BINARY_NAME "nym-node"
#define BUILD_UNKNOWN "localnet"
#define BUILD_COMMIT_SHA "0000000000000000000000000000000000000000"

#define MAX_CONNECTIONS 256
/* browsers send about 20 header fields */
#define MAX_REQUEST_HEADERS 64
#define FIRST_BODY_CAP 4096u
#define MAX_BODY_CAP (1u << 20)

/* The distinct answers: every route serves one of these. */
typedef enum {
    BODY_MIXNODES,
    BODY_ENTRY_GATEWAYS,
    BODY_EXIT_GATEWAYS,
    BODY_ALL_NODES,
    BODY_REWARDED_SET,
    BODY_KEY_ROTATION,
    BODY_DESCRIBED,
    BODY_COUNT,
} body_kind;

typedef struct directory_connection {
    directory_server *server;
    conn *c;
    http_head head;
    http_header headers[MAX_REQUEST_HEADERS];
    uint64_t body_to_skip; /* of the request just answered */
    bool closing;          /* answered for the last time; later input is ignored */
    struct directory_connection *next;
} directory_connection;

struct directory_server {
    localnet_topology topology;
    uint32_t validity_epochs, initial_epoch_id; /* the key rotation schedule that gives rotation_id */
    char refreshed_at[48]; /* nym-api's own time format */
    char epoch_start[32];  /* RFC 3339 */
    listener *listener;
    char *bodies[BODY_COUNT];
    size_t body_lens[BODY_COUNT];
    directory_connection *connections;
    size_t connection_count;
};

/* ---- the answers ---- */

static void format_utc(char *out, size_t cap, const char *format, uint64_t unix_s)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, cap, format, &tm) == 0) out[0] = '\0';
}

static void write_key(json_writer *w, const char *key, const uint8_t bytes[32])
{
    char text[BASE58_MAX_ENCODED_LEN(32) + 1] = "";
    base58_encode(text, sizeof text, bytes, 32);
    json_key(w, key);
    json_write_cstring(w, text);
}

static void write_u64(json_writer *w, const char *key, uint64_t v)
{
    json_key(w, key);
    json_write_u64(w, v);
}

static void write_string(json_writer *w, const char *key, const char *s)
{
    json_key(w, key);
    json_write_cstring(w, s);
}

/* An Option<String> that localnet leaves empty when absent. */
static void write_optional_string(json_writer *w, const char *key, const char *s)
{
    json_key(w, key);
    if (s[0])
        json_write_cstring(w, s);
    else
        json_write_null(w);
}

/* An Option<u16> where 0 means none. */
static void write_optional_port(json_writer *w, const char *key, uint16_t port)
{
    json_key(w, key);
    if (port)
        json_write_u64(w, port);
    else
        json_write_null(w);
}

/* std::time::Duration */
static void write_duration(json_writer *w, const char *key, uint64_t secs)
{
    json_key(w, key);
    json_object_begin(w);
    write_u64(w, "secs", secs);
    write_u64(w, "nanos", 0);
    json_object_end(w);
}

/* DeclaredRolesV1 (models/described/type_translation.rs). Gateways declare
 * entry, so both are in /entry-gateways, where clients find the exit
 * gateway as an egress; the exit also declares exit_nr, without which
 * nym-api does not count it exit-capable (can_operate_exit_gateway needs
 * both), though localnet runs no network requester. */
static void write_declared_roles(json_writer *w, const char *key, const localnet_node_info *n)
{
    json_key(w, key);
    json_object_begin(w);
    json_key(w, "mixnode");
    json_write_bool(w, n->role == LOCALNET_MIXNODE);
    json_key(w, "entry");
    json_write_bool(w, n->role != LOCALNET_MIXNODE);
    json_key(w, "exit_nr");
    json_write_bool(w, n->role == LOCALNET_EXIT_GATEWAY);
    json_key(w, "exit_ipr");
    json_write_bool(w, n->role == LOCALNET_EXIT_GATEWAY);
    json_object_end(w);
}

static void write_ip_addresses(json_writer *w, const char *key)
{
    json_key(w, key);
    json_array_begin(w);
    json_write_cstring(w, NODE_IP);
    json_array_end(w);
}

/* Interval (mixnet-contract/src/interval.rs): the epoch start in RFC 3339,
 * the epoch length a Duration. */
static void write_interval(json_writer *w, const directory_server *d)
{
    uint32_t epoch = d->topology.epoch_id;
    json_object_begin(w);
    write_u64(w, "id", epoch / EPOCHS_IN_INTERVAL);
    write_u64(w, "epochs_in_interval", EPOCHS_IN_INTERVAL);
    write_string(w, "current_epoch_start", d->epoch_start);
    write_u64(w, "current_epoch_id", epoch % EPOCHS_IN_INTERVAL);
    write_duration(w, "epoch_length", EPOCH_SECONDS);
    write_u64(w, "total_elapsed_epochs", epoch);
    json_object_end(w);
}

/* NodesResponseMetadata (nym_nodes.rs); status is TopologyRequestStatus,
 * kebab-case, here Fresh(Interval) as the role routes send it. */
static void write_metadata(json_writer *w, const directory_server *d)
{
    json_key(w, "metadata");
    json_object_begin(w);
    json_key(w, "status");
    json_object_begin(w);
    json_key(w, "fresh");
    write_interval(w, d);
    json_object_end(w);
    write_u64(w, "absolute_epoch_id", d->topology.epoch_id);
    write_u64(w, "rotation_id", d->topology.rotation_id);
    write_string(w, "refreshed_at", d->refreshed_at);
    json_object_end(w);
}

/* NodeRole (nym_nodes.rs): serde's externally tagged enum. */
static void write_node_role(json_writer *w, const localnet_node_info *n)
{
    json_key(w, "role");
    if (n->role == LOCALNET_MIXNODE) {
        json_object_begin(w);
        json_key(w, "Mixnode");
        json_object_begin(w);
        write_u64(w, "layer", n->layer);
        json_object_end(w);
        json_object_end(w);
    } else {
        json_write_cstring(w, n->role == LOCALNET_ENTRY_GATEWAY ? "EntryGateway" : "ExitGateway");
    }
}

/* SkimmedNodeV1 (nym_nodes.rs). nym-api gives `entry` to every node that
 * declares entry; a gateway without any client listener gets none here,
 * so that no client picks it as its gateway. */
static void write_skimmed_node(json_writer *w, const localnet_node_info *n)
{
    json_object_begin(w);
    write_u64(w, "node_id", n->node_id);
    write_key(w, "ed25519_identity_pubkey", n->identity_public);
    write_ip_addresses(w, "ip_addresses");
    write_u64(w, "mix_port", n->mix_port);
    write_key(w, "x25519_sphinx_pubkey", n->sphinx_public);
    write_node_role(w, n);
    write_declared_roles(w, "supported_roles", n);
    json_key(w, "entry");
    if (n->role != LOCALNET_MIXNODE && (n->ws_port || n->wss_port)) {
        json_object_begin(w);
        write_optional_string(w, "hostname", n->hostname);
        write_u64(w, "ws_port", n->ws_port);
        write_optional_port(w, "wss_port", n->wss_port);
        json_object_end(w);
    } else {
        json_write_null(w);
    }
    write_string(w, "performance", NODE_PERFORMANCE);
    json_object_end(w);
}

/* BinaryBuildInformationOwned (common/bin-common/src/build_information):
 * ten strings, all required but cargo_triple. */
static void write_build_information(json_writer *w, const directory_server *d, const localnet_node_info *n)
{
    json_key(w, "build_information");
    json_object_begin(w);
    write_string(w, "binary_name", BUILD_BINARY_NAME);
    write_string(w, "build_timestamp", d->epoch_start);
    write_string(w, "build_version", n->build_version);
    write_string(w, "commit_sha", BUILD_COMMIT_SHA);
    write_string(w, "commit_timestamp", d->epoch_start);
    write_string(w, "commit_branch", BUILD_UNKNOWN);
    write_string(w, "rustc_version", BUILD_UNKNOWN);
    write_string(w, "rustc_channel", BUILD_UNKNOWN);
    write_string(w, "cargo_profile", "release");
    write_string(w, "cargo_triple", BUILD_UNKNOWN);
    json_object_end(w);
}

/* HostInformationV1 with HostKeysV1 (type_translation.rs): the deprecated
 * `x25519` is still required, and carries the Sphinx key as nym-api's
 * translation from the node's own HostKeys does. */
static void write_host_information(json_writer *w, const directory_server *d, const localnet_node_info *n)
{
    json_key(w, "host_information");
    json_object_begin(w);
    write_ip_addresses(w, "ip_address");
    write_optional_string(w, "hostname", n->hostname);
    json_key(w, "keys");
    json_object_begin(w);
    write_key(w, "ed25519", n->identity_public);
    write_key(w, "x25519", n->sphinx_public);
    json_key(w, "current_x25519_sphinx_key");
    json_object_begin(w);
    write_u64(w, "rotation_id", d->topology.rotation_id);
    write_key(w, "public_key", n->sphinx_public);
    json_object_end(w);
    json_key(w, "pre_announced_x25519_sphinx_key");
    json_write_null(w);
    json_key(w, "x25519_versioned_noise");
    json_write_null(w);
    json_object_end(w);
    json_object_end(w);
}

/* NymNodeDescriptionV2 with NymNodeDataV2 (models/described/v2.rs).
 * mixnet_websockets (WebSocketsV1) is required on every node: the
 * published client's IPR version lookup fails on a single null. */
static void write_described_node(json_writer *w, const directory_server *d, const localnet_node_info *n)
{
    json_object_begin(w);
    write_u64(w, "node_id", n->node_id);
    write_string(w, "contract_node_type", "nym_node"); /* DescribedNodeTypeV1, snake_case */
    json_key(w, "description");
    json_object_begin(w);
    write_string(w, "last_polled", d->refreshed_at);
    write_host_information(w, d, n);
    write_declared_roles(w, "declared_role", n);
    json_key(w, "auxiliary_details");
    json_object_begin(w);
    json_key(w, "location");
    json_write_null(w);
    json_key(w, "announce_ports");
    json_object_begin(w);
    json_key(w, "verloc_port");
    json_write_null(w);
    write_u64(w, "mix_port", n->mix_port);
    json_object_end(w);
    json_key(w, "accepted_operator_terms_and_conditions");
    json_write_bool(w, true);
    json_object_end(w);
    write_build_information(w, d, n);
    json_key(w, "network_requester");
    json_write_null(w);
    json_key(w, "ip_packet_router");
    if (n->ipr_address[0]) {
        json_object_begin(w);
        write_string(w, "address", n->ipr_address);
        json_object_end(w);
    } else {
        json_write_null(w);
    }
    json_key(w, "authenticator");
    json_write_null(w);
    json_key(w, "wireguard");
    json_write_null(w);
    json_key(w, "mixnet_websockets");
    json_object_begin(w);
    write_u64(w, "ws_port", n->ws_port);
    write_optional_port(w, "wss_port", n->wss_port);
    json_object_end(w);
    json_key(w, "lewes_protocol");
    json_write_null(w);
    json_object_end(w);
    json_object_end(w);
}

/* Which nodes a list holds: nym-api selects the role lists by declared
 * role (nym-api/src/node_describe_cache/cache.rs); the others hold all. */
static bool node_in_list(const localnet_node_info *n, body_kind kind)
{
    switch (kind) {
    case BODY_MIXNODES:
        return n->role == LOCALNET_MIXNODE;
    case BODY_ENTRY_GATEWAYS:
        return n->role != LOCALNET_MIXNODE;
    case BODY_EXIT_GATEWAYS:
        return n->role == LOCALNET_EXIT_GATEWAY;
    default:
        return true;
    }
}

/* PaginatedResponse (pagination.rs): the whole list as page 0. */
static void write_page(json_writer *w, const directory_server *d, body_kind kind)
{
    const localnet_topology *t = &d->topology;
    size_t total = 0;
    for (size_t i = 0; i < t->count; i++) total += node_in_list(&t->nodes[i], kind);
    json_key(w, "pagination");
    json_object_begin(w);
    write_u64(w, "total", total);
    write_u64(w, "page", 0);
    write_u64(w, "size", total);
    json_object_end(w);
    json_key(w, "data");
    json_array_begin(w);
    for (size_t i = 0; i < t->count; i++) {
        if (!node_in_list(&t->nodes[i], kind)) continue;
        if (kind == BODY_DESCRIBED)
            write_described_node(w, d, &t->nodes[i]);
        else
            write_skimmed_node(w, &t->nodes[i]);
    }
    json_array_end(w);
}

static void write_node_ids(json_writer *w, const char *key, const localnet_topology *t, localnet_role role,
                           uint8_t layer)
{
    json_key(w, key);
    json_array_begin(w);
    for (size_t i = 0; i < t->count; i++)
        if (t->nodes[i].role == role && (role != LOCALNET_MIXNODE || t->nodes[i].layer == layer))
            json_write_u64(w, t->nodes[i].node_id);
    json_array_end(w);
}

/* RewardedSetResponse (models/mixnet.rs). */
static void write_rewarded_set(json_writer *w, const directory_server *d)
{
    const localnet_topology *t = &d->topology;
    write_u64(w, "epoch_id", t->epoch_id);
    write_node_ids(w, "entry_gateways", t, LOCALNET_ENTRY_GATEWAY, 0);
    write_node_ids(w, "exit_gateways", t, LOCALNET_EXIT_GATEWAY, 0);
    write_node_ids(w, "layer1", t, LOCALNET_MIXNODE, 1);
    write_node_ids(w, "layer2", t, LOCALNET_MIXNODE, 2);
    write_node_ids(w, "layer3", t, LOCALNET_MIXNODE, 3);
    json_key(w, "standby");
    json_array_begin(w);
    json_array_end(w);
}

/* KeyRotationInfoResponse (models/mixnet.rs): KeyRotationDetails flattened,
 * then the progress the clients could compute themselves. */
static void write_key_rotation(json_writer *w, const directory_server *d)
{
    const localnet_topology *t = &d->topology;
    json_key(w, "key_rotation_state");
    json_object_begin(w);
    write_u64(w, "validity_epochs", d->validity_epochs);
    write_u64(w, "initial_epoch_id", d->initial_epoch_id);
    json_object_end(w);
    write_u64(w, "current_absolute_epoch_id", t->epoch_id);
    write_string(w, "current_epoch_start", d->epoch_start);
    write_duration(w, "epoch_duration", EPOCH_SECONDS);
    json_key(w, "progress");
    json_object_begin(w);
    write_u64(w, "current_key_rotation_id", t->rotation_id);
    write_u64(w, "current_rotation_starting_epoch", t->epoch_id);
    write_u64(w, "current_rotation_ending_epoch", (uint64_t)t->epoch_id + d->validity_epochs - 1);
    json_object_end(w);
}

static void write_body(json_writer *w, const directory_server *d, body_kind kind)
{
    json_object_begin(w);
    switch (kind) {
    case BODY_REWARDED_SET:
        write_rewarded_set(w, d);
        break;
    case BODY_KEY_ROTATION:
        write_key_rotation(w, d);
        break;
    case BODY_DESCRIBED:
        write_page(w, d, kind);
        break;
    default:
        /* PaginatedCachedNodesResponseV2<SkimmedNodeV1> (nym_nodes.rs) */
        write_metadata(w, d);
        json_key(w, "nodes");
        json_object_begin(w);
        write_page(w, d, kind);
        json_object_end(w);
        break;
    }
    json_object_end(w);
}

static bool build_body(directory_server *d, body_kind kind)
{
    for (size_t cap = FIRST_BODY_CAP; cap <= MAX_BODY_CAP; cap *= 2) {
        char *buf = malloc(cap);
        if (!buf) return false;
        json_writer w;
        json_writer_init(&w, buf, cap);
        write_body(&w, d, kind);
        int len = json_writer_finish(&w);
        if (len >= 0) {
            d->bodies[kind] = buf;
            d->body_lens[kind] = (size_t)len;
            return true;
        }
        free(buf);
    }
    return false;
}

/* ---- requests ---- */

static bool span_equals(const char *s, size_t len, const char *text)
{
    return strlen(text) == len && memcmp(s, text, len) == 0;
}

static const struct {
    const char *path; /* after DIRECTORY_PATH_PREFIX */
    body_kind body;
} ROUTES[] = {
    {"/v2/unstable/nym-nodes/skimmed", BODY_ALL_NODES},
    {"/v2/unstable/nym-nodes/skimmed/entry-gateways", BODY_ENTRY_GATEWAYS},
    {"/v2/unstable/nym-nodes/skimmed/exit-gateways", BODY_EXIT_GATEWAYS},
    {"/v2/unstable/nym-nodes/skimmed/mixnodes/active", BODY_MIXNODES},
    {"/v2/unstable/nym-nodes/skimmed/mixnodes/all", BODY_MIXNODES},
    {"/v1/nym-nodes/rewarded-set", BODY_REWARDED_SET},
    {"/v1/epoch/key-rotation-info", BODY_KEY_ROTATION},
    {"/v2/nym-nodes/described", BODY_DESCRIBED},
};

/* NodeRoleQueryParam (nym_nodes.rs): kebab-case names and serde aliases.
 * nym-api sends role=active-mixnode to its mixnodes/all handler. */
static const struct {
    const char *value;
    body_kind body;
} ROLES[] = {
    {"active-mixnode", BODY_MIXNODES}, {"entry-gateway", BODY_ENTRY_GATEWAYS}, {"entry", BODY_ENTRY_GATEWAYS},
    {"gateway", BODY_ENTRY_GATEWAYS},  {"exit-gateway", BODY_EXIT_GATEWAYS},   {"exit", BODY_EXIT_GATEWAYS},
};

typedef enum { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_BAD_QUERY } route_result;

/* The first role=... of the query narrows the all-nodes list. */
static route_result apply_role(const char *query, size_t len, body_kind *body)
{
    size_t start = 0;
    while (start < len) {
        const char *amp = memchr(query + start, '&', len - start);
        size_t end = amp ? (size_t)(amp - query) : len;
        const char *param = query + start;
        size_t param_len = end - start;
        start = end + 1;
        if (param_len < 5 || memcmp(param, "role=", 5) != 0) continue;
        for (size_t i = 0; i < sizeof ROLES / sizeof ROLES[0]; i++) {
            if (span_equals(param + 5, param_len - 5, ROLES[i].value)) {
                *body = ROLES[i].body;
                return ROUTE_FOUND;
            }
        }
        return ROUTE_BAD_QUERY;
    }
    return ROUTE_FOUND;
}

static route_result find_route(const char *target, size_t len, body_kind *body)
{
    const char *question = memchr(target, '?', len);
    size_t path_len = question ? (size_t)(question - target) : len;
    size_t prefix_len = strlen(DIRECTORY_PATH_PREFIX);
    if (path_len < prefix_len || memcmp(target, DIRECTORY_PATH_PREFIX, prefix_len) != 0) return ROUTE_NOT_FOUND;
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        if (!span_equals(target + prefix_len, path_len - prefix_len, ROUTES[i].path)) continue;
        *body = ROUTES[i].body;
        if (*body != BODY_ALL_NODES || !question) return ROUTE_FOUND;
        return apply_role(question + 1, len - path_len - 1, body);
    }
    return ROUTE_NOT_FOUND;
}

static http_header field(const char *name, const char *value)
{
    return (http_header){name, strlen(name), value, strlen(value)};
}

#define ALLOWED_METHODS "GET, HEAD, OPTIONS"
/* with room for an echoed Access-Control-Request-Headers line */
#define RESPONSE_HEAD_CAP (HTTP_DEFAULT_MAX_LINE_LEN + 1024)
enum { MAX_RESPONSE_FIELDS = 12 };

typedef struct {
    bool head_only;
    bool keep_alive;
    bool http10; /* keep-alive must then be announced */
} request_info;

/* Sends one response: extra fields, then the ones every answer carries. A
 * body is JSON; HEAD gets its length without it. */
static void send_response(directory_connection *dc, const request_info *req, int status, const char *reason,
                          const char *body, size_t body_len, const http_header *extra, size_t extra_count)
{
    http_header fields[MAX_RESPONSE_FIELDS];
    size_t count = 0;
    char length[24];
    for (size_t i = 0; i < extra_count; i++) fields[count++] = extra[i];
    fields[count++] = field("Access-Control-Allow-Origin", "*");
    /* localnet restarts with new keys on new ports: never reuse an answer */
    fields[count++] = field("Cache-Control", "no-store");
    if (body) {
        snprintf(length, sizeof length, "%zu", body_len);
        fields[count++] = field("Content-Type", "application/json");
        fields[count++] = field("Content-Length", length);
    }
    if (!req->keep_alive)
        fields[count++] = field("Connection", "close");
    else if (req->http10)
        fields[count++] = field("Connection", "keep-alive");

    char head[RESPONSE_HEAD_CAP];
    int head_len = http_response_head_write(head, sizeof head, status, reason, fields, count);
    bool sent = head_len > 0 && conn_send(dc->c, (const uint8_t *)head, (size_t)head_len) == 0 &&
                (!body || req->head_only || conn_send(dc->c, (const uint8_t *)body, body_len) == 0);
    if (!sent || !req->keep_alive) {
        dc->closing = true;
        conn_close_after_flush(dc->c);
    }
}

static void send_error(directory_connection *dc, const request_info *req, int status, const char *reason,
                       const http_header *extra, size_t extra_count)
{
    char body[160];
    json_writer w;
    json_writer_init(&w, body, sizeof body);
    json_object_begin(&w);
    write_u64(&w, "status", (uint64_t)status);
    write_string(&w, "error", reason);
    json_object_end(&w);
    int len = json_writer_finish(&w);
    send_response(dc, req, status, reason, body, len > 0 ? (size_t)len : 0, extra, extra_count);
}

/* A CORS preflight: the published client's GETs carry Content-Type:
 * application/bincode, which browsers only send after asking. */
static void send_preflight(directory_connection *dc, const request_info *req)
{
    http_header extra[4];
    size_t count = 0;
    extra[count++] = field("Access-Control-Allow-Methods", ALLOWED_METHODS);
    extra[count++] = field("Access-Control-Max-Age", "600");
    const http_header *asked = http_header_find(&dc->head, "access-control-request-headers");
    if (asked) extra[count++] = (http_header){"Access-Control-Allow-Headers", 28, asked->value, asked->value_len};
    /* Chromium asks before a public page may reach a loopback server */
    if (http_header_has_token(&dc->head, "access-control-request-private-network", "true"))
        extra[count++] = field("Access-Control-Allow-Private-Network", "true");
    send_response(dc, req, 204, "No Content", NULL, 0, extra, count);
}

static size_t count_fields(const http_head *head, const char *name)
{
    size_t index = 0, n = 0;
    while (http_header_next(head, name, &index)) n++;
    return n;
}

/* Answers the request in dc->head, whose bytes are still in the input. */
static void handle_request(directory_connection *dc)
{
    const http_head *head = &dc->head;
    request_info req = {
        .head_only = span_equals(head->method, head->method_len, "HEAD"),
        .http10 = head->version_minor == 0,
    };
    req.keep_alive = req.http10 ? http_header_has_token(head, "connection", "keep-alive")
                                : !http_header_has_token(head, "connection", "close");

    http_body body;
    bool framing_ok = http_request_body_framing(head, &body) == HTTP_OK && body.kind != HTTP_BODY_CHUNKED;
    /* RFC 9112 section 3.2: an HTTP/1.1 request has exactly one Host */
    if (!framing_ok || (!req.http10 && count_fields(head, "host") != 1)) {
        req.keep_alive = false; /* a chunked body is not read, so the next request cannot be found */
        send_error(dc, &req, 400, "Bad Request", NULL, 0);
        return;
    }
    dc->body_to_skip = body.kind == HTTP_BODY_LENGTH ? body.length : 0;

    if (span_equals(head->method, head->method_len, "OPTIONS")) {
        send_preflight(dc, &req);
        return;
    }
    if (!req.head_only && !span_equals(head->method, head->method_len, "GET")) {
        http_header allow = field("Allow", ALLOWED_METHODS);
        send_error(dc, &req, 405, "Method Not Allowed", &allow, 1);
        return;
    }
    body_kind kind;
    switch (find_route(head->target, head->target_len, &kind)) {
    case ROUTE_FOUND: {
        const directory_server *d = dc->server;
        send_response(dc, &req, 200, "OK", d->bodies[kind], d->body_lens[kind], NULL, 0);
        break;
    }
    case ROUTE_BAD_QUERY:
        send_error(dc, &req, 400, "Bad Request", NULL, 0);
        break;
    case ROUTE_NOT_FOUND:
        send_error(dc, &req, 404, "Not Found", NULL, 0);
        break;
    }
}

static void reject_malformed(directory_connection *dc, http_result result)
{
    request_info req = {.keep_alive = false};
    switch (result) {
    case HTTP_ERR_VERSION:
        send_error(dc, &req, 505, "HTTP Version Not Supported", NULL, 0);
        break;
    case HTTP_ERR_LINE_TOO_LONG:
    case HTTP_ERR_HEAD_TOO_LARGE:
    case HTTP_ERR_TOO_MANY_HEADERS:
        send_error(dc, &req, 431, "Request Header Fields Too Large", NULL, 0);
        break;
    default:
        send_error(dc, &req, 400, "Bad Request", NULL, 0);
        break;
    }
}

/* Answers every complete request in the input, in order; an unfinished
 * head stays at the start of the input for the next call, as the parser
 * expects. */
static void on_input(void *ctx, conn *c)
{
    directory_connection *dc = ctx;
    size_t len;
    const char *in = (const char *)conn_input(c, &len);
    size_t used = 0;
    while (!dc->closing && used < len) {
        if (dc->body_to_skip) {
            size_t n = len - used < dc->body_to_skip ? len - used : (size_t)dc->body_to_skip;
            used += n;
            dc->body_to_skip -= n;
            continue;
        }
        http_result r = http_request_head_parse(&dc->head, in + used, len - used);
        if (r == HTTP_INCOMPLETE) break;
        if (r != HTTP_OK) {
            reject_malformed(dc, r);
            break;
        }
        handle_request(dc);
        used += dc->head.head_len;
        http_head_init(&dc->head, dc->headers, MAX_REQUEST_HEADERS);
    }
    conn_consume(c, dc->closing ? len : used);
}

static void on_closed(void *ctx, conn *c)
{
    directory_connection *dc = ctx;
    directory_server *d = dc->server;
    for (directory_connection **p = &d->connections; *p; p = &(*p)->next) {
        if (*p == dc) {
            *p = dc->next;
            break;
        }
    }
    d->connection_count--;
    conn_free(c);
    free(dc);
}

static const conn_events CONNECTION_EVENTS = {on_input, NULL, on_closed};

static void on_accept(void *ctx, int fd)
{
    directory_server *d = ctx;
    directory_connection *dc = d->connection_count < MAX_CONNECTIONS ? calloc(1, sizeof *dc) : NULL;
    if (dc) dc->c = conn_adopt(fd, &CONNECTION_EVENTS, dc);
    if (!dc || !dc->c) {
        free(dc);
        close(fd);
        return;
    }
    dc->server = d;
    http_head_init(&dc->head, dc->headers, MAX_REQUEST_HEADERS);
    dc->next = d->connections;
    d->connections = dc;
    d->connection_count++;
}

/* ---- the server ---- */

static bool topology_publishable(const localnet_topology *t)
{
    if (t->count > LOCALNET_MAX_NODES || t->rotation_id > t->epoch_id) return false;
    for (size_t i = 0; i < t->count; i++)
        if (t->nodes[i].role == LOCALNET_MIXNODE && (t->nodes[i].layer < 1 || t->nodes[i].layer > 3)) return false;
    return true;
}

directory_server *directory_start(const localnet_topology *topology, uint16_t port)
{
    if (!topology_publishable(topology)) return NULL;
    directory_server *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->topology = *topology;

    /* A schedule whose current rotation is rotation_id and starts at this
     * epoch: rotation r covers epochs initial + r*validity onwards, so
     * validity must fit rotation_id times below epoch_id. */
    uint32_t epoch = topology->epoch_id, rotation = topology->rotation_id;
    d->validity_epochs = ROTATION_VALIDITY_EPOCHS;
    if (rotation && epoch / rotation < ROTATION_VALIDITY_EPOCHS) d->validity_epochs = epoch / rotation;
    d->initial_epoch_id = epoch - rotation * d->validity_epochs;

    /* The epoch starts now, and every answer was refreshed at that moment:
     * a client that checks refreshed_at against the epoch schedule never
     * finds the epoch stuck. */
    uint64_t now = platform_unix_time_s();
    format_utc(d->refreshed_at, sizeof d->refreshed_at, "%Y-%m-%d %H:%M:%S.0 +00:00:00", now);
    format_utc(d->epoch_start, sizeof d->epoch_start, "%Y-%m-%dT%H:%M:%SZ", now);

    for (int kind = 0; kind < BODY_COUNT; kind++) {
        if (!build_body(d, (body_kind)kind)) {
            directory_stop(d);
            return NULL;
        }
    }
    d->listener = listener_open(port, on_accept, d);
    if (!d->listener) {
        directory_stop(d);
        return NULL;
    }
    return d;
}

uint16_t directory_port(const directory_server *d)
{
    return listener_port(d->listener);
}

int directory_status_json(const directory_server *d, char *buf, size_t cap)
{
    /* nothing in it needs escaping */
    int n = snprintf(buf, cap, "\"directory_url\":\"http://" NODE_IP ":%u" DIRECTORY_PATH_PREFIX "/\"",
                     (unsigned)directory_port(d));
    return n >= 0 && (size_t)n < cap ? n : -1;
}

void directory_stop(directory_server *d)
{
    if (!d) return;
    while (d->connections) {
        directory_connection *dc = d->connections;
        d->connections = dc->next;
        conn_free(dc->c);
        free(dc);
    }
    listener_close(d->listener);
    for (int kind = 0; kind < BODY_COUNT; kind++) free(d->bodies[kind]);
    free(d);
}
