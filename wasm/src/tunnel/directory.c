/* The directory client's parsing and choices: nym-api answers (JSON) into
 * nodes, the rewarded set, the routing topology and the gateway to use. */
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "tunnel/tunnel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void directory_init(directory *d)
{
    memset(d, 0, sizeof *d);
}

void directory_free(directory *d)
{
    free(d->nodes);
    for (int i = 0; i < MIXNET_MIX_LAYERS; i++) free(d->layer_ids[i]);
    free(d->mixnet_nodes);
    memset(d, 0, sizeof *d);
}

static bool get_u32(const json_value *obj, const char *key, uint32_t *out)
{
    json_value v;
    uint64_t n;
    if (!json_object_get(obj, key, &v) || !json_as_u64(&v, &n) || n > UINT32_MAX) return false;
    *out = (uint32_t)n;
    return true;
}

static bool get_key(const json_value *obj, const char *key, uint8_t out[32])
{
    json_value v;
    char text[64];
    size_t len;
    return json_object_get(obj, key, &v) && json_as_string(&v, text, sizeof text, &len) &&
           base58_decode_exact(out, 32, text, len);
}

static bool parse_ipv4(const char *s, uint8_t out[4])
{
    for (int i = 0; i < 4; i++) {
        unsigned value = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) value = value * 10 + (unsigned)(*s++ - '0'), digits++;
        if (digits == 0 || value > 255 || *s != (i < 3 ? '.' : '\0')) return false;
        out[i] = (uint8_t)value;
        if (i < 3) s++;
    }
    return true;
}

/* role: {"Mixnode":{"layer":N}} for a mix, a string for the other roles */
static uint8_t parse_layer(const json_value *node)
{
    json_value role, mixnode;
    uint32_t layer;
    if (!json_object_get(node, "role", &role) || !json_object_get(&role, "Mixnode", &mixnode) ||
        !get_u32(&mixnode, "layer", &layer) || layer < 1 || layer > MIXNET_MIX_LAYERS)
        return 0;
    return (uint8_t)layer;
}

static void parse_entry(const json_value *node, directory_node *n)
{
    json_value entry, v;
    if (!json_object_get(node, "entry", &entry) || entry.type != JSON_OBJECT) return;
    n->entry = true;
    uint32_t port;
    if (get_u32(&entry, "ws_port", &port) && port <= UINT16_MAX) n->ws_port = (uint16_t)port;
    if (get_u32(&entry, "wss_port", &port) && port <= UINT16_MAX) n->wss_port = (uint16_t)port;
    if (json_object_get(&entry, "hostname", &v) && v.type == JSON_STRING &&
        !json_as_string(&v, n->hostname, sizeof n->hostname, NULL))
        n->hostname[0] = '\0';
}

/* Gives false for a node the client could not use, which is skipped. */
static bool parse_node(const json_value *node, directory_node *n)
{
    memset(n, 0, sizeof *n);
    json_value ips, first, perf;
    char ip[64];
    uint32_t port;
    size_t cursor = 0;
    if (!get_u32(node, "node_id", &n->node_id) || !get_key(node, "ed25519_identity_pubkey", n->identity) ||
        !get_key(node, "x25519_sphinx_pubkey", n->sphinx_key) || !json_object_get(node, "ip_addresses", &ips) ||
        !json_next(&ips, &cursor, &first) || !json_as_string(&first, ip, sizeof ip, NULL) ||
        !get_u32(node, "mix_port", &port) || port > UINT16_MAX)
        return false;
    /* the first address is the mix host; IPv6-only nodes are not used */
    n->mix_address.family = 4;
    n->mix_address.port = (uint16_t)port;
    if (!parse_ipv4(ip, n->mix_address.ip)) return false;
    n->performance = json_object_get(node, "performance", &perf) && json_as_percent(&perf, &n->performance)
                         ? n->performance
                         : 0;
    n->layer = parse_layer(node);
    parse_entry(node, n);
    return true;
}

static int add_node(directory *d, const directory_node *n)
{
    for (size_t i = 0; i < d->count; i++) {
        if (d->nodes[i].node_id == n->node_id) {
            /* an entry list repeats mixes' ids without their layer: keep the layer */
            uint8_t layer = d->nodes[i].layer;
            d->nodes[i] = *n;
            if (!n->layer) d->nodes[i].layer = layer;
            return 0;
        }
    }
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 32;
        directory_node *grown = realloc(d->nodes, cap * sizeof *grown);
        if (!grown) return -1;
        d->nodes = grown;
        d->cap = cap;
    }
    d->nodes[d->count++] = *n;
    return 0;
}

int directory_add_skimmed(directory *d, const char *json, size_t len)
{
    json_value root, metadata, nodes, data, item;
    uint32_t rotation, epoch;
    if (!json_parse(&root, json, len) || !json_object_get(&root, "metadata", &metadata) ||
        !get_u32(&metadata, "rotation_id", &rotation) || !get_u32(&metadata, "absolute_epoch_id", &epoch) ||
        !json_object_get(&root, "nodes", &nodes) || !json_object_get(&nodes, "data", &data) || data.type != JSON_ARRAY)
        return -1;
    /* answers from different moments cannot be mixed, as the client checks */
    if (d->count > 0 && (rotation != d->rotation_id || epoch != d->absolute_epoch_id)) return -1;
    d->rotation_id = rotation;
    d->absolute_epoch_id = epoch;
    size_t cursor = 0;
    while (json_next(&data, &cursor, &item)) {
        directory_node n;
        if (parse_node(&item, &n) && add_node(d, &n) != 0) return -1;
    }
    return 0;
}

int directory_set_rewarded_set(directory *d, const char *json, size_t len)
{
    static const char *const LAYER_KEYS[MIXNET_MIX_LAYERS] = {"layer1", "layer2", "layer3"};
    json_value root;
    if (!json_parse(&root, json, len)) return -1;
    for (int i = 0; i < MIXNET_MIX_LAYERS; i++) {
        json_value list, item;
        if (!json_object_get(&root, LAYER_KEYS[i], &list) || list.type != JSON_ARRAY) return -1;
        size_t cursor = 0, n = 0;
        while (json_next(&list, &cursor, &item)) n++;
        uint32_t *ids = malloc((n ? n : 1) * sizeof *ids);
        if (!ids) return -1;
        cursor = 0;
        n = 0;
        uint64_t id;
        while (json_next(&list, &cursor, &item))
            if (json_as_u64(&item, &id) && id <= UINT32_MAX) ids[n++] = (uint32_t)id;
        free(d->layer_ids[i]);
        d->layer_ids[i] = ids;
        d->layer_len[i] = n;
    }
    return 0;
}

static const directory_node *find_by_id(const directory *d, uint32_t id)
{
    for (size_t i = 0; i < d->count; i++)
        if (d->nodes[i].node_id == id) return &d->nodes[i];
    return NULL;
}

static void to_mixnet_node(mixnet_node *out, const directory_node *n)
{
    memcpy(out->identity, n->identity, 32);
    memcpy(out->hop.public_key, n->sphinx_key, 32);
    nym_node_address_encode_padded(&n->mix_address, out->hop.address, SPHINX_NODE_ADDRESS_LEN);
}

int directory_build_topology(directory *d)
{
    size_t total = d->count;
    for (int i = 0; i < MIXNET_MIX_LAYERS; i++) total += d->layer_len[i];
    mixnet_node *nodes = calloc(total ? total : 1, sizeof *nodes);
    if (!nodes) return -1;
    size_t next = 0;
    mixnet_topology t = {.rotation = nym_key_rotation_of_id(d->rotation_id)};
    for (int layer = 0; layer < MIXNET_MIX_LAYERS; layer++) {
        t.layers[layer] = nodes + next;
        for (size_t i = 0; i < d->layer_len[layer]; i++) {
            const directory_node *n = find_by_id(d, d->layer_ids[layer][i]);
            if (n && n->performance >= DIRECTORY_MIN_PERFORMANCE) to_mixnet_node(&nodes[next++], n);
        }
        t.layer_len[layer] = (size_t)(nodes + next - t.layers[layer]);
        if (t.layer_len[layer] == 0) {
            free(nodes);
            return -1;
        }
    }
    /* any node may be the egress gateway of a recipient, whatever its role */
    t.gateways = nodes + next;
    for (size_t i = 0; i < d->count; i++)
        if (d->nodes[i].performance >= DIRECTORY_MIN_PERFORMANCE) to_mixnet_node(&nodes[next++], &d->nodes[i]);
    t.gateway_count = (size_t)(nodes + next - t.gateways);
    free(d->mixnet_nodes);
    d->mixnet_nodes = nodes;
    d->topology = t;
    return 0;
}

static bool gateway_fit(const directory_node *n, bool tls)
{
    if (!n->entry || n->performance < DIRECTORY_MIN_PERFORMANCE) return false;
    /* a wss URL needs both; the published client checks only the port and then fails */
    return tls ? n->hostname[0] && n->wss_port : n->ws_port != 0;
}

const directory_node *directory_choose_gateway(const directory *d, bool tls)
{
    size_t fit = 0;
    for (size_t i = 0; i < d->count; i++) fit += gateway_fit(&d->nodes[i], tls);
    if (fit == 0) return NULL;
    uint32_t r;
    random_bytes((uint8_t *)&r, sizeof r);
    size_t pick = r % fit;
    for (size_t i = 0; i < d->count; i++)
        if (gateway_fit(&d->nodes[i], tls) && pick-- == 0) return &d->nodes[i];
    return NULL;
}

const directory_node *directory_find_by_identity(const directory *d, const uint8_t identity[32])
{
    for (size_t i = 0; i < d->count; i++)
        if (memcmp(d->nodes[i].identity, identity, 32) == 0) return &d->nodes[i];
    return NULL;
}

int directory_gateway_url(const directory_node *n, bool tls, char *out, size_t cap)
{
    int len;
    if (tls) {
        if (!n->hostname[0] || !n->wss_port) return -1;
        len = snprintf(out, cap, "wss://%s:%u/", n->hostname, n->wss_port);
    } else if (n->hostname[0]) {
        len = snprintf(out, cap, "ws://%s:%u/", n->hostname, n->ws_port);
    } else {
        const uint8_t *ip = n->mix_address.ip;
        len = snprintf(out, cap, "ws://%u.%u.%u.%u:%u/", ip[0], ip[1], ip[2], ip[3], n->ws_port);
    }
    return len > 0 && (size_t)len < cap ? len : -1;
}

/* "1.38.0-rc.1" counts as its release, as the client does */
static bool parse_build_version(const json_value *description, uint32_t version[3])
{
    json_value build, v;
    char text[32];
    unsigned major, minor, patch;
    if (!json_object_get(description, "build_information", &build) || !json_object_get(&build, "build_version", &v) ||
        !json_as_string(&v, text, sizeof text, NULL) || sscanf(text, "%u.%u.%u", &major, &minor, &patch) != 3)
        return false;
    version[0] = major;
    version[1] = minor;
    version[2] = patch;
    return true;
}

static bool version_at_least(const uint32_t version[3], const uint32_t least[3])
{
    for (int i = 0; i < 3; i++)
        if (version[i] != least[i]) return version[i] > least[i];
    return true;
}

int directory_choose_ipr(const directory *d, const char *json, size_t len, directory_ipr_choice *choice)
{
    static const uint32_t MIN_RELEASE[3] = DIRECTORY_IPR_MIN_RELEASE;
    json_value root, data, item, pagination, total;
    uint64_t page_total;
    if (!json_parse(&root, json, len) || !json_object_get(&root, "data", &data) || data.type != JSON_ARRAY) return -1;
    if (json_object_get(&root, "pagination", &pagination) && json_object_get(&pagination, "total", &total) &&
        json_as_u64(&total, &page_total))
        choice->total = page_total;
    size_t cursor = 0;
    while (json_next(&data, &cursor, &item)) {
        choice->seen++;
        json_value description, router, address;
        char text[MIXNET_RECIPIENT_TEXT_MAX];
        size_t text_len;
        uint32_t version[3];
        mixnet_recipient ipr;
        if (!json_object_get(&item, "description", &description) ||
            !json_object_get(&description, "ip_packet_router", &router) || router.type != JSON_OBJECT ||
            !json_object_get(&router, "address", &address) || !json_as_string(&address, text, sizeof text, &text_len) ||
            mixnet_recipient_parse(&ipr, text, text_len) != 0 || !parse_build_version(&description, version) ||
            !version_at_least(version, MIN_RELEASE))
            continue;
        const directory_node *gateway = directory_find_by_identity(d, ipr.gateway);
        if (!gateway || gateway->performance < DIRECTORY_MIN_PERFORMANCE) continue;
        /* one pass, any number of pages: keep each with probability weight / weight so far */
        choice->weight_total += gateway->performance;
        uint64_t r;
        random_bytes((uint8_t *)&r, sizeof r);
        if (r % choice->weight_total < gateway->performance) {
            choice->ipr = ipr;
            memcpy(choice->version, version, sizeof choice->version);
            choice->found = true;
        }
    }
    return 0;
}

int directory_build_version(const char *json, size_t len, const uint8_t identity[32], uint32_t version[3])
{
    json_value root, data, item;
    if (!json_parse(&root, json, len) || !json_object_get(&root, "data", &data)) return -1;
    size_t cursor = 0;
    while (json_next(&data, &cursor, &item)) {
        json_value description, host, keys;
        uint8_t key[32];
        if (!json_object_get(&item, "description", &description) ||
            !json_object_get(&description, "host_information", &host) || !json_object_get(&host, "keys", &keys) ||
            !get_key(&keys, "ed25519", key) || memcmp(key, identity, 32) != 0)
            continue;
        return parse_build_version(&description, version) ? 0 : -1;
    }
    return -1;
}
