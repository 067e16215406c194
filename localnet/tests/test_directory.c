/* localnet's directory over real loopback TCP: every endpoint the clients
 * call, parsed with our JSON reader and checked against the topology it
 * publishes, and the HTTP behaviour browsers and the Rust client rely on. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "codec/codec.h"
#include "directory.h"
#include "platform/platform.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IO_TIMEOUT_MS 3000
#define EPOCH 1234u
#define ROTATION 51u
#define ENTRY_HOSTNAME "gateway.localnet.test"

/* ---- a topology: three mixes (ids 1-3, layers 1-3), an entry gateway (4), an exit gateway (5) ---- */

enum { ENTRY_ID = 4, EXIT_ID = 5 };

static void make_topology(localnet_topology *t)
{
    memset(t, 0, sizeof *t);
    t->epoch_id = EPOCH;
    t->rotation_id = ROTATION;
    t->count = 5;
    for (size_t i = 0; i < t->count; i++) {
        localnet_node_info *n = &t->nodes[i];
        n->node_id = (uint32_t)i + 1;
        platform_random_bytes(n->identity_public, 32);
        platform_random_bytes(n->sphinx_public, 32);
        n->mix_port = (uint16_t)(41001 + i);
        snprintf(n->build_version, sizeof n->build_version, "1.38.0");
        if (i < 3) {
            n->role = LOCALNET_MIXNODE;
            n->layer = (uint8_t)(i + 1);
        }
    }
    localnet_node_info *entry = &t->nodes[ENTRY_ID - 1], *exit_gw = &t->nodes[EXIT_ID - 1];
    entry->role = LOCALNET_ENTRY_GATEWAY;
    entry->ws_port = 41104;
    entry->wss_port = 41204;
    snprintf(entry->hostname, sizeof entry->hostname, ENTRY_HOSTNAME);
    /* the exit: no wss, no hostname, an older build */
    exit_gw->role = LOCALNET_EXIT_GATEWAY;
    exit_gw->ws_port = 41105;
    snprintf(exit_gw->build_version, sizeof exit_gw->build_version, "1.37.0");
    uint8_t client_keys[2][32];
    platform_random_bytes(client_keys[0], 32);
    platform_random_bytes(client_keys[1], 32);
    char parts[3][BASE58_MAX_ENCODED_LEN(32) + 1];
    base58_encode(parts[0], sizeof parts[0], client_keys[0], 32);
    base58_encode(parts[1], sizeof parts[1], client_keys[1], 32);
    base58_encode(parts[2], sizeof parts[2], exit_gw->identity_public, 32);
    snprintf(exit_gw->ipr_address, sizeof exit_gw->ipr_address, "%s.%s@%s", parts[0], parts[1], parts[2]);
}

/* ---- a tiny HTTP client on a plain socket, driving the event loop while it waits ---- */

typedef struct {
    int fd;
    char in[1 << 18];
    size_t in_len;
    bool eof;
} client;

typedef struct {
    char raw[1 << 18];
    http_head head;
    http_header headers[32];
    const char *body;
    size_t body_len;
} response;

static client clients[2];
static response res;

static bool client_open(client *cl, uint16_t port)
{
    memset(cl, 0, sizeof *cl);
    cl->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return cl->fd >= 0 && connect(cl->fd, (struct sockaddr *)&addr, sizeof addr) == 0;
}

static void client_close(client *cl)
{
    if (cl->fd >= 0) close(cl->fd);
    cl->fd = -1;
}

static bool client_send(client *cl, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(cl->fd, data, len, MSG_NOSIGNAL);
        if (n <= 0) return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* Lets the server run, then takes what arrived. */
static void client_pump(client *cl)
{
    platform_run_once(5);
    while (cl->in_len < sizeof cl->in) {
        ssize_t n = recv(cl->fd, cl->in + cl->in_len, sizeof cl->in - cl->in_len, MSG_DONTWAIT);
        if (n > 0) {
            cl->in_len += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) cl->eof = true;
        return;
    }
}

/* Reads the next response to a request with method; the server always
 * frames bodies with Content-Length (or sends none). */
static bool client_read_response(client *cl, const char *method, response *r)
{
    uint64_t deadline = platform_monotonic_ms() + IO_TIMEOUT_MS;
    for (;;) {
        http_header scratch[32];
        http_head head;
        http_head_init(&head, scratch, 32);
        http_result parsed = http_response_head_parse(&head, cl->in, cl->in_len);
        if (parsed != HTTP_OK && parsed != HTTP_INCOMPLETE) return false;
        if (parsed == HTTP_OK) {
            http_body body;
            if (http_response_body_framing(&head, method, &body) != HTTP_OK || body.kind == HTTP_BODY_CHUNKED ||
                body.kind == HTTP_BODY_UNTIL_CLOSE)
                return false;
            size_t total = head.head_len + (body.kind == HTTP_BODY_LENGTH ? (size_t)body.length : 0);
            if (total > sizeof r->raw) return false;
            if (cl->in_len >= total) {
                memcpy(r->raw, cl->in, total);
                memmove(cl->in, cl->in + total, cl->in_len - total);
                cl->in_len -= total;
                http_head_init(&r->head, r->headers, 32);
                if (http_response_head_parse(&r->head, r->raw, total) != HTTP_OK) return false;
                r->body = r->raw + r->head.head_len;
                r->body_len = total - r->head.head_len;
                return true;
            }
        }
        if (cl->eof || platform_monotonic_ms() > deadline) return false;
        client_pump(cl);
    }
}

/* Whether the server closed the connection (with nothing more sent). */
static bool client_sees_close(client *cl)
{
    uint64_t deadline = platform_monotonic_ms() + IO_TIMEOUT_MS;
    while (!cl->eof && platform_monotonic_ms() <= deadline) client_pump(cl);
    return cl->eof && cl->in_len == 0;
}

/* A request as the published client sends it: it asks for bincode. */
static bool client_request(client *cl, uint16_t port, const char *method, const char *target, response *r)
{
    char host[32], req[1024];
    snprintf(host, sizeof host, "127.0.0.1:%u", (unsigned)port);
    http_header fields[] = {
        {"Accept", 6, "application/bincode", 19},
        {"Content-Type", 12, "application/bincode", 19},
    };
    int len = http_request_head_write(req, sizeof req, method, target, host, fields, 2);
    return len > 0 && client_send(cl, req, (size_t)len) && client_read_response(cl, method, r);
}

static bool header_is(const response *r, const char *name, const char *value)
{
    const http_header *h = http_header_find(&r->head, name);
    return h && h->value_len == strlen(value) && memcmp(h->value, value, h->value_len) == 0;
}

/* Every response carries CORS and JSON where it has a body. */
static bool json_response(const response *r, int status)
{
    return r->head.status == status && header_is(r, "access-control-allow-origin", "*") &&
           header_is(r, "content-type", "application/json");
}

/* ---- JSON access by dotted path ---- */

static json_value at(const json_value *v, const char *path)
{
    json_value cur = *v;
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        char key[64];
        if (n >= sizeof key || cur.type != JSON_OBJECT) return (json_value){0};
        memcpy(key, path, n);
        key[n] = '\0';
        json_value next;
        if (!json_object_get(&cur, key, &next)) return (json_value){0};
        cur = next;
        path += dot ? n + 1 : n;
    }
    return cur;
}

static json_type type_at(const json_value *v, const char *path)
{
    return at(v, path).type;
}

static uint64_t u64_at(const json_value *v, const char *path)
{
    json_value x = at(v, path);
    uint64_t n;
    return json_as_u64(&x, &n) ? n : UINT64_MAX;
}

static bool string_at(const json_value *v, const char *path, const char *expected)
{
    json_value x = at(v, path);
    return json_string_equals(&x, expected);
}

static bool bool_at(const json_value *v, const char *path, bool expected)
{
    json_value x = at(v, path);
    bool b;
    return json_as_bool(&x, &b) && b == expected;
}

/* A base58 string that decodes to exactly these 32 bytes. */
static bool key_at(const json_value *v, const char *path, const uint8_t expected[32])
{
    json_value x = at(v, path);
    char text[64];
    size_t len;
    uint8_t key[32];
    return json_as_string(&x, text, sizeof text, &len) && base58_decode_exact(key, 32, text, len) &&
           memcmp(key, expected, 32) == 0;
}

static bool has_members(const json_value *v, const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (type_at(v, names[i]) == JSON_INVALID) return false;
    return true;
}

static bool ids_are(const json_value *v, const char *path, const uint32_t *ids, size_t count)
{
    json_value array = at(v, path), item;
    size_t cursor = 0, n = 0;
    if (array.type != JSON_ARRAY) return false;
    while (json_next(&array, &cursor, &item)) {
        uint64_t id;
        if (n >= count || !json_as_u64(&item, &id) || id != ids[n]) return false;
        n++;
    }
    return n == count;
}

static const localnet_node_info *node_by_id(const localnet_topology *t, uint64_t id)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->nodes[i].node_id == id) return &t->nodes[i];
    return NULL;
}

static bool optional_port_at(const json_value *v, const char *path, uint16_t port)
{
    return port ? u64_at(v, path) == port : type_at(v, path) == JSON_NULL;
}

/* ---- the endpoints ---- */

/* One SkimmedNodeV1 against its topology entry. */
static void check_skimmed_node(const json_value *node, const localnet_node_info *n)
{
    bool mix = n->role == LOCALNET_MIXNODE, exit_gw = n->role == LOCALNET_EXIT_GATEWAY;
    CHECK(key_at(node, "ed25519_identity_pubkey", n->identity_public));
    CHECK(key_at(node, "x25519_sphinx_pubkey", n->sphinx_public));
    json_value ips = at(node, "ip_addresses"), first;
    size_t cursor = 0;
    CHECK(json_next(&ips, &cursor, &first) && json_string_equals(&first, "127.0.0.1"));
    CHECK(u64_at(node, "mix_port") == n->mix_port);
    if (mix)
        CHECK(u64_at(node, "role.Mixnode.layer") == n->layer);
    else
        CHECK(string_at(node, "role", exit_gw ? "ExitGateway" : "EntryGateway"));
    CHECK(bool_at(node, "supported_roles.mixnode", mix));
    CHECK(bool_at(node, "supported_roles.entry", !mix));
    CHECK(bool_at(node, "supported_roles.exit_nr", exit_gw));
    CHECK(bool_at(node, "supported_roles.exit_ipr", exit_gw));
    if (mix) {
        CHECK(type_at(node, "entry") == JSON_NULL);
    } else {
        CHECK(u64_at(node, "entry.ws_port") == n->ws_port);
        CHECK(optional_port_at(node, "entry.wss_port", n->wss_port));
        CHECK(n->hostname[0] ? string_at(node, "entry.hostname", n->hostname)
                             : type_at(node, "entry.hostname") == JSON_NULL);
    }
    json_value performance = at(node, "performance");
    uint32_t percent;
    CHECK(performance.type == JSON_STRING && json_as_percent(&performance, &percent) && percent == 100);
}

/* A PaginatedCachedNodesResponseV2<SkimmedNodeV1> holding exactly the
 * nodes whose ids are bits of expected_ids. Gives the metadata. */
static json_value check_skimmed_list(const json_value *root, const localnet_topology *t, uint32_t expected_ids)
{
    json_value metadata = at(root, "metadata");
    CHECK(u64_at(&metadata, "absolute_epoch_id") == t->epoch_id);
    CHECK(u64_at(&metadata, "rotation_id") == t->rotation_id);
    CHECK(type_at(&metadata, "refreshed_at") == JSON_STRING);
    CHECK(u64_at(&metadata, "status.fresh.total_elapsed_epochs") == t->epoch_id);
    CHECK(u64_at(&metadata, "status.fresh.epoch_length.secs") == 3600);
    CHECK(u64_at(&metadata, "status.fresh.epoch_length.nanos") == 0);
    CHECK(u64_at(&metadata, "status.fresh.epochs_in_interval") * u64_at(&metadata, "status.fresh.id") +
              u64_at(&metadata, "status.fresh.current_epoch_id") ==
          t->epoch_id);
    CHECK(type_at(&metadata, "status.fresh.current_epoch_start") == JSON_STRING);

    uint64_t expected_count = (uint64_t)__builtin_popcount(expected_ids);
    CHECK(u64_at(root, "nodes.pagination.total") == expected_count);
    CHECK(u64_at(root, "nodes.pagination.size") == expected_count);
    CHECK(u64_at(root, "nodes.pagination.page") == 0);
    json_value data = at(root, "nodes.data"), node;
    size_t cursor = 0;
    uint32_t seen = 0;
    CHECK(data.type == JSON_ARRAY);
    while (json_next(&data, &cursor, &node)) {
        uint64_t id = u64_at(&node, "node_id");
        const localnet_node_info *n = node_by_id(t, id);
        if (!CHECK(n != NULL && (expected_ids >> id & 1) && !(seen >> id & 1))) continue;
        seen |= 1u << id;
        check_skimmed_node(&node, n);
    }
    CHECK(seen == expected_ids);
    return metadata;
}

static void check_rewarded_set(const json_value *root, const localnet_topology *t)
{
    static const uint32_t entry[] = {ENTRY_ID}, exits[] = {EXIT_ID}, l1[] = {1}, l2[] = {2}, l3[] = {3};
    CHECK(u64_at(root, "epoch_id") == t->epoch_id);
    CHECK(ids_are(root, "entry_gateways", entry, 1));
    CHECK(ids_are(root, "exit_gateways", exits, 1));
    CHECK(ids_are(root, "layer1", l1, 1));
    CHECK(ids_are(root, "layer2", l2, 1));
    CHECK(ids_are(root, "layer3", l3, 1));
    CHECK(ids_are(root, "standby", NULL, 0));
}

/* The schedule must give the topology's rotation for its epoch, by the
 * client's formula (key_rotation.rs: (epoch - initial) / validity). */
static void check_key_rotation(const json_value *root, const localnet_topology *t)
{
    uint64_t validity = u64_at(root, "key_rotation_state.validity_epochs");
    uint64_t initial = u64_at(root, "key_rotation_state.initial_epoch_id");
    CHECK(validity >= 1 && validity != UINT64_MAX && initial <= t->epoch_id);
    if (validity >= 1 && validity != UINT64_MAX && initial <= t->epoch_id)
        CHECK((t->epoch_id - initial) / validity == t->rotation_id);
    CHECK(u64_at(root, "current_absolute_epoch_id") == t->epoch_id);
    CHECK(type_at(root, "current_epoch_start") == JSON_STRING);
    CHECK(u64_at(root, "epoch_duration.secs") == 3600);
    CHECK(u64_at(root, "epoch_duration.nanos") == 0);
    CHECK(u64_at(root, "progress.current_key_rotation_id") == t->rotation_id);
    uint64_t starting = u64_at(root, "progress.current_rotation_starting_epoch");
    CHECK(starting == initial + validity * t->rotation_id);
    CHECK(u64_at(root, "progress.current_rotation_ending_epoch") == starting + validity - 1);
}

static void check_described_node(const json_value *node, const localnet_node_info *n, uint32_t rotation)
{
    static const char *const required[] = {
        "node_id", "contract_node_type", "description.host_information.ip_address",
        "description.host_information.hostname", "description.host_information.keys.ed25519",
        "description.host_information.keys.x25519", "description.host_information.keys.current_x25519_sphinx_key",
        "description.build_information", "description.mixnet_websockets",
        /* Option or defaulted, but written out all the same */
        "description.last_polled", "description.declared_role", "description.auxiliary_details",
        "description.network_requester", "description.ip_packet_router", "description.authenticator",
        "description.wireguard", "description.lewes_protocol",
        "description.host_information.keys.pre_announced_x25519_sphinx_key",
        "description.host_information.keys.x25519_versioned_noise"};
    static const char *const build_fields[] = {"binary_name",   "build_timestamp", "build_version", "commit_sha",
                                               "commit_timestamp", "commit_branch", "rustc_version",
                                               "rustc_channel", "cargo_profile", "cargo_triple"};
    bool mix = n->role == LOCALNET_MIXNODE, exit_gw = n->role == LOCALNET_EXIT_GATEWAY;
    CHECK(has_members(node, required, sizeof required / sizeof required[0]));
    CHECK(string_at(node, "contract_node_type", "nym_node"));
    json_value d = at(node, "description");
    CHECK(key_at(&d, "host_information.keys.ed25519", n->identity_public));
    CHECK(key_at(&d, "host_information.keys.x25519", n->sphinx_public));
    CHECK(key_at(&d, "host_information.keys.current_x25519_sphinx_key.public_key", n->sphinx_public));
    CHECK(u64_at(&d, "host_information.keys.current_x25519_sphinx_key.rotation_id") == rotation);
    json_value ips = at(&d, "host_information.ip_address"), first;
    size_t cursor = 0;
    CHECK(json_next(&ips, &cursor, &first) && json_string_equals(&first, "127.0.0.1"));
    CHECK(bool_at(&d, "declared_role.mixnode", mix));
    CHECK(bool_at(&d, "declared_role.entry", !mix));
    CHECK(bool_at(&d, "declared_role.exit_ipr", exit_gw));
    CHECK(u64_at(&d, "auxiliary_details.announce_ports.mix_port") == n->mix_port);
    json_value build = at(&d, "build_information");
    for (size_t i = 0; i < sizeof build_fields / sizeof build_fields[0]; i++)
        CHECK(type_at(&build, build_fields[i]) == JSON_STRING);
    CHECK(string_at(&build, "build_version", n->build_version));
    /* an object on every node, mixes included */
    CHECK(type_at(&d, "mixnet_websockets") == JSON_OBJECT);
    CHECK(u64_at(&d, "mixnet_websockets.ws_port") == n->ws_port);
    CHECK(optional_port_at(&d, "mixnet_websockets.wss_port", n->wss_port));
    if (exit_gw)
        CHECK(string_at(&d, "ip_packet_router.address", n->ipr_address));
    else
        CHECK(type_at(&d, "ip_packet_router") == JSON_NULL);
}

static void check_described(const json_value *root, const localnet_topology *t)
{
    CHECK(u64_at(root, "pagination.total") == t->count);
    CHECK(u64_at(root, "pagination.size") == t->count);
    CHECK(u64_at(root, "pagination.page") == 0);
    json_value data = at(root, "data"), node;
    size_t cursor = 0, count = 0;
    while (json_next(&data, &cursor, &node)) {
        const localnet_node_info *n = node_by_id(t, u64_at(&node, "node_id"));
        if (!CHECK(n != NULL)) continue;
        check_described_node(&node, n, t->rotation_id);
        count++;
    }
    CHECK(count == t->count);
}

static bool get_json(client *cl, uint16_t port, const char *target, json_value *root)
{
    return CHECK(client_request(cl, port, "GET", target, &res)) && CHECK(json_response(&res, 200)) &&
           CHECK(json_parse(root, res.body, res.body_len));
}

void test_directory_endpoints(void)
{
    enum { MIXES = 1u << 1 | 1u << 2 | 1u << 3, GATEWAYS = 1u << ENTRY_ID | 1u << EXIT_ID, EXITS = 1u << EXIT_ID };
    static const struct {
        const char *target;
        uint32_t ids;
    } lists[] = {
        {"/api/v2/unstable/nym-nodes/skimmed/entry-gateways?page=0&output=bincode", GATEWAYS},
        {"/api/v2/unstable/nym-nodes/skimmed/entry-gateways?page=0", GATEWAYS},
        {"/api/v2/unstable/nym-nodes/skimmed/mixnodes/active?page=0", MIXES},
        {"/api/v2/unstable/nym-nodes/skimmed/mixnodes/all", MIXES},
        {"/api/v2/unstable/nym-nodes/skimmed/exit-gateways", EXITS},
        {"/api/v2/unstable/nym-nodes/skimmed?page=0", MIXES | GATEWAYS},
        {"/api/v2/unstable/nym-nodes/skimmed?page=0&output=bincode&no_legacy=true", MIXES | GATEWAYS},
        {"/api/v2/unstable/nym-nodes/skimmed?role=entry-gateway", GATEWAYS},
        {"/api/v2/unstable/nym-nodes/skimmed?page=0&role=exit", EXITS},
        {"/api/v2/unstable/nym-nodes/skimmed?role=active-mixnode", MIXES},
    };
    localnet_topology t;
    make_topology(&t);
    directory_server *d = directory_start(&t, 0);
    if (!CHECK(d != NULL)) return;
    uint16_t port = directory_port(d);
    client *cl = &clients[0];
    CHECK(client_open(cl, port));

    /* the same metadata, byte for byte, from every list */
    char first_metadata[2048] = "";
    json_value root, epoch_start_in_metadata = {0};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        if (!get_json(cl, port, lists[i].target, &root)) continue;
        json_value metadata = check_skimmed_list(&root, &t, lists[i].ids);
        if (i == 0 && CHECK(metadata.len < sizeof first_metadata)) {
            memcpy(first_metadata, metadata.start, metadata.len);
            first_metadata[metadata.len] = '\0';
        }
        CHECK(metadata.len == strlen(first_metadata) && memcmp(metadata.start, first_metadata, metadata.len) == 0);
    }
    json_value parsed_metadata;
    if (CHECK(json_parse(&parsed_metadata, first_metadata, strlen(first_metadata))))
        epoch_start_in_metadata = at(&parsed_metadata, "status.fresh.current_epoch_start");

    if (get_json(cl, port, "/api/v1/nym-nodes/rewarded-set", &root)) check_rewarded_set(&root, &t);
    if (get_json(cl, port, "/api/v1/epoch/key-rotation-info", &root)) {
        check_key_rotation(&root, &t);
        /* the key rotation schedule and the topology's interval agree on when the epoch began */
        json_value start = at(&root, "current_epoch_start");
        CHECK(start.len == epoch_start_in_metadata.len &&
              memcmp(start.start, epoch_start_in_metadata.start, start.len) == 0);
    }
    if (get_json(cl, port, "/api/v2/nym-nodes/described?page=0", &root)) check_described(&root, &t);

    /* the status line's member gives the base URL the clients append paths to */
    char status[256], expected_url[64];
    int status_len = directory_status_json(d, status + 1, sizeof status - 2);
    snprintf(expected_url, sizeof expected_url, "http://127.0.0.1:%u/api/", (unsigned)port);
    if (CHECK(status_len > 0)) {
        status[0] = '{';
        status[status_len + 1] = '}';
        CHECK(json_parse(&root, status, (size_t)status_len + 2) && string_at(&root, "directory_url", expected_url));
    }
    CHECK(directory_status_json(d, status, 10) == -1);

    client_close(cl);
    directory_stop(d);
}

/* Key rotation schedules for other epochs and rotations, and topologies
 * that cannot be published. */
void test_directory_topologies(void)
{
    static const struct {
        uint32_t epoch, rotation;
    } schedules[] = {{5, 3}, {7, 0}, {0, 0}, {1, 1}, {100000, 4000}, {47, 2}};
    localnet_topology t;
    json_value root;
    for (size_t i = 0; i < sizeof schedules / sizeof schedules[0]; i++) {
        make_topology(&t);
        t.epoch_id = schedules[i].epoch;
        t.rotation_id = schedules[i].rotation;
        directory_server *d = directory_start(&t, 0);
        if (!CHECK(d != NULL)) continue;
        uint16_t port = directory_port(d);
        if (CHECK(client_open(&clients[0], port))) {
            if (get_json(&clients[0], port, "/api/v1/epoch/key-rotation-info", &root)) check_key_rotation(&root, &t);
            if (get_json(&clients[0], port, "/api/v2/unstable/nym-nodes/skimmed/mixnodes/active", &root))
                CHECK(u64_at(&root, "metadata.rotation_id") == t.rotation_id);
        }
        client_close(&clients[0]);
        directory_stop(d);
    }

    make_topology(&t);
    t.rotation_id = t.epoch_id + 1;
    CHECK(directory_start(&t, 0) == NULL);
    make_topology(&t);
    t.nodes[0].layer = 0;
    CHECK(directory_start(&t, 0) == NULL);
    make_topology(&t);
    t.nodes[2].layer = 4;
    CHECK(directory_start(&t, 0) == NULL);
    make_topology(&t);
    t.count = LOCALNET_MAX_NODES + 1;
    CHECK(directory_start(&t, 0) == NULL);

    /* the most nodes a topology holds still fit */
    make_topology(&t);
    for (size_t i = t.count; i < LOCALNET_MAX_NODES; i++) {
        t.nodes[i] = t.nodes[i % 3];
        t.nodes[i].node_id = (uint32_t)i + 1;
    }
    t.count = LOCALNET_MAX_NODES;
    directory_server *d = directory_start(&t, 0);
    if (CHECK(d != NULL)) {
        uint16_t port = directory_port(d);
        if (CHECK(client_open(&clients[0], port)) &&
            get_json(&clients[0], port, "/api/v2/nym-nodes/described", &root))
            CHECK(u64_at(&root, "pagination.total") == LOCALNET_MAX_NODES);
        client_close(&clients[0]);
        directory_stop(d);
    }
}

/* ---- HTTP behaviour ---- */

static bool send_text(client *cl, const char *text)
{
    return client_send(cl, text, strlen(text));
}

void test_directory_http(void)
{
    localnet_topology t;
    make_topology(&t);
    directory_server *d = directory_start(&t, 0);
    if (!CHECK(d != NULL)) return;
    uint16_t port = directory_port(d);
    client *a = &clients[0], *b = &clients[1];
    static char rewarded[4096];
    size_t rewarded_len = 0;

    /* keep-alive: several requests on one connection, another connection alongside */
    CHECK(client_open(a, port) && client_open(b, port));
    for (int i = 0; i < 3; i++) {
        CHECK(client_request(a, port, "GET", "/api/v1/nym-nodes/rewarded-set", &res) && json_response(&res, 200));
        CHECK(http_header_find(&res.head, "connection") == NULL);
        CHECK(header_is(&res, "cache-control", "no-store"));
        if (i == 0 && CHECK(res.body_len < sizeof rewarded)) {
            memcpy(rewarded, res.body, res.body_len);
            rewarded_len = res.body_len;
        }
        CHECK(res.body_len == rewarded_len && memcmp(res.body, rewarded, rewarded_len) == 0);
        CHECK(client_request(b, port, "GET", "/api/v1/epoch/key-rotation-info", &res) && json_response(&res, 200));
    }
    CHECK(!a->eof && !b->eof);

    /* HEAD: GET's length, no body */
    CHECK(client_request(a, port, "HEAD", "/api/v1/nym-nodes/rewarded-set", &res) && res.head.status == 200);
    char length[24];
    snprintf(length, sizeof length, "%zu", rewarded_len);
    CHECK(header_is(&res, "content-length", length) && res.body_len == 0);

    /* unknown paths: a JSON 404, and the connection stays usable */
    static const char *const missing[] = {"/api/v3/nym-nodes/described", "/nothing", "/api", "/",
                                          "/api/v2/unstable/nym-nodes/skimmed/", "/v1/nym-nodes/rewarded-set",
                                          "/api/v1/nym-nodes/rewarded-set/extra"};
    json_value root;
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        CHECK(client_request(a, port, "GET", missing[i], &res) && json_response(&res, 404));
        CHECK(json_parse(&root, res.body, res.body_len) && u64_at(&root, "status") == 404);
    }
    /* an unknown role is a bad query, not a missing route */
    CHECK(client_request(a, port, "GET", "/api/v2/unstable/nym-nodes/skimmed?role=standby", &res) &&
          json_response(&res, 400));
    CHECK(client_request(a, port, "GET", "/api/v1/nym-nodes/rewarded-set", &res) && json_response(&res, 200));

    /* pipelined: three requests in one write, answered in order */
    CHECK(send_text(a, "GET /api/v2/nym-nodes/described HTTP/1.1\r\nHost: x\r\n\r\n"
                       "HEAD /api/v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /api/missing HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(client_read_response(a, "GET", &res) && json_response(&res, 200) &&
          json_parse(&root, res.body, res.body_len) && u64_at(&root, "pagination.total") == t.count);
    CHECK(client_read_response(a, "HEAD", &res) && res.head.status == 200 && res.body_len == 0);
    CHECK(client_read_response(a, "GET", &res) && json_response(&res, 404));

    /* a body is skipped, and the request after it answered */
    CHECK(send_text(a, "POST /api/v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                       "GET /api/v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(client_read_response(a, "POST", &res) && json_response(&res, 405) &&
          header_is(&res, "allow", "GET, HEAD, OPTIONS"));
    CHECK(client_read_response(a, "GET", &res) && json_response(&res, 200) && res.body_len == rewarded_len);

    /* a CORS preflight, as Chromium sends it for the client's bincode Content-Type */
    CHECK(send_text(a, "OPTIONS /api/v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:5173\r\n"
                       "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: content-type\r\n"
                       "Access-Control-Request-Private-Network: true\r\n\r\n"));
    CHECK(client_read_response(a, "OPTIONS", &res) && res.head.status == 204 && res.body_len == 0);
    CHECK(header_is(&res, "access-control-allow-origin", "*"));
    CHECK(header_is(&res, "access-control-allow-methods", "GET, HEAD, OPTIONS"));
    CHECK(header_is(&res, "access-control-allow-headers", "content-type"));
    CHECK(header_is(&res, "access-control-allow-private-network", "true"));

    /* a request split into single bytes gets the same answer */
    static const char split[] = "GET /api/v1/nym-nodes/rewarded-set?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Accept: application/json\r\n\r\n";
    for (size_t i = 0; i + 1 < sizeof split; i++) {
        CHECK(client_send(b, split + i, 1));
        platform_run_once(0);
    }
    CHECK(client_read_response(b, "GET", &res) && json_response(&res, 200) && res.body_len == rewarded_len &&
          memcmp(res.body, rewarded, rewarded_len) == 0);

    /* Connection: close is honoured */
    CHECK(send_text(b, "GET /api/v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    CHECK(client_read_response(b, "GET", &res) && json_response(&res, 200) &&
          header_is(&res, "connection", "close"));
    CHECK(client_sees_close(b));
    client_close(b);

    /* HTTP/1.0 closes unless asked to keep alive */
    CHECK(client_open(b, port) && send_text(b, "GET /api/v1/nym-nodes/rewarded-set HTTP/1.0\r\n"
                                               "Connection: keep-alive\r\n\r\n"));
    CHECK(client_read_response(b, "GET", &res) && json_response(&res, 200) &&
          header_is(&res, "connection", "keep-alive"));
    CHECK(send_text(b, "GET /api/v1/nym-nodes/rewarded-set HTTP/1.0\r\n\r\n"));
    CHECK(client_read_response(b, "GET", &res) && json_response(&res, 200) &&
          header_is(&res, "connection", "close"));
    CHECK(client_sees_close(b));
    client_close(b);

    /* malformed requests: an error, then the close */
    static const struct {
        const char *request;
        int status;
    } bad[] = {
        {"GARBAGE\r\n\r\n", 400},
        {"GET /api/v1/nym-nodes/rewarded-set HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        {"GET /api/v1/nym-nodes/rewarded-set HTTP/1.1\r\n\r\n", 400},          /* no Host */
        {"GET /api/v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        {"GET /api/v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
        {"POST /api/v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400},
        {"GET /api/v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400},
        {"GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(client_open(b, port) && send_text(b, bad[i].request));
        CHECK(client_read_response(b, "GET", &res) && json_response(&res, bad[i].status) &&
              header_is(&res, "connection", "close"));
        CHECK(client_sees_close(b));
        client_close(b);
    }
    /* a header line longer than the parser's limit */
    static char huge[HTTP_DEFAULT_MAX_LINE_LEN + 128];
    int n = snprintf(huge, sizeof huge, "GET /api/v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(huge + n, 'a', sizeof huge - (size_t)n - 1);
    huge[sizeof huge - 1] = '\0';
    CHECK(client_open(b, port) && send_text(b, huge));
    CHECK(client_read_response(b, "GET", &res) && json_response(&res, 431));
    CHECK(client_sees_close(b));
    client_close(b);

    /* the first connection lived through all of it */
    CHECK(client_request(a, port, "GET", "/api/v1/nym-nodes/rewarded-set", &res) && json_response(&res, 200));
    /* stopping with a connection still open releases it */
    directory_stop(d);
    CHECK(client_sees_close(a));
    client_close(a);
}
