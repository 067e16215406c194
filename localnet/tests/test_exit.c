/* localnet's exit in one process: three mix nodes and the exit gateway's
 * mix port over loopback TCP, the IPR, the real services in a temporary
 * run directory, and a test client that is a mixnet client too. It speaks
 * LP and IPR the way shared/spec/ipr.md §10.2 says the published client
 * does (an Open frame with 10 reply SURBs, the Connect with 2, every data
 * frame with 2) and builds its IP packets by hand.
 *
 * The groups share one network and services (started by the first,
 * stopped by exit_idle, the last); exit_idle runs its own exit. */
#define _XOPEN_SOURCE 700
#include "check.h"
#include "crypto/crypto.h"
#include "exit.h"
#include "ipr/ipr.h"
#include "mixnet/mixnet.h"
#include "mixnet_nodes.h"
#include "platform/platform.h"
#include "services.h"
#include "topology.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NODES 4 /* three mixes, then the exit gateway */
#define GATEWAY 3
#define HOP_DELAY_NS 1000000 /* a quick network: 1 ms per hop on average */
#define WAIT_MS 5000
#define OPEN_SURBS 10
#define DATA_SURBS 2
#define QUEUE_LEN 4096
#define MAX_PACKET 1600

static uint64_t now_ns(void)
{
    return platform_monotonic_ms() * 1000000u;
}

/* ---- the test client ---- */

typedef struct {
    uint8_t *data;
    size_t len;
} blob;

typedef struct {
    blob items[QUEUE_LEN];
    size_t head, count;
} blob_queue;

typedef struct {
    mixnet_client *mix;
    mixnet_recipient address;
    uint64_t stream_id;
    uint32_t next_sequence;
    uint8_t ipv4[4];
    blob_queue controls; /* control responses, as they came */
    blob_queue packets;  /* IP packets out of data responses */
    size_t data_frames, first_data_sequence, control_frames_not_seq0, data_frames_seq0;
    size_t not_replies, undecodable, other_stream;
} test_client;

static bool queue_push(blob_queue *q, const uint8_t *data, size_t len)
{
    if (q->count == QUEUE_LEN) return false;
    blob *b = &q->items[(q->head + q->count) % QUEUE_LEN];
    b->data = malloc(len ? len : 1);
    if (!b->data) return false;
    memcpy(b->data, data, len);
    b->len = len;
    q->count++;
    return true;
}

/* Copies the oldest entry into out (cap bytes) and gives its length. */
static size_t queue_pop(blob_queue *q, uint8_t *out, size_t cap)
{
    if (q->count == 0) return 0;
    blob *b = &q->items[q->head];
    size_t len = b->len < cap ? b->len : cap;
    memcpy(out, b->data, len);
    free(b->data);
    q->head = (q->head + 1) % QUEUE_LEN;
    q->count--;
    return len;
}

static void queue_clear(blob_queue *q)
{
    uint8_t scratch[1];
    while (q->count) queue_pop(q, scratch, 0);
}

/* ---- the network ---- */

static struct {
    bool started;
    char run_dir[256];
    services services;
    bool services_running;
    forwarder *fw;
    mixnet_node_server *nodes[NODES];
    localnet_topology topology;
    mixnet_node mix_nodes[NODES];
    mixnet_topology mix_topology;
    exit_ipr *ipr;
    mixnet_recipient ipr_address;
    test_client *client; /* the one the gateway delivers to */
} net;

static void on_gateway_deliver(void *ctx, const uint8_t destination[32], const uint8_t *message, size_t len)
{
    (void)ctx;
    if (net.ipr && memcmp(destination, net.ipr_address.identity, 32) == 0)
        exit_ipr_deliver(net.ipr, message, len);
    else if (net.client && memcmp(destination, net.client->address.identity, 32) == 0)
        mixnet_client_receive(net.client->mix, message, len, now_ns());
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void network_stop(void)
{
    exit_ipr_destroy(net.ipr);
    net.ipr = NULL;
    for (int i = 0; i < NODES; i++) mixnet_node_stop(net.nodes[i]);
    forwarder_destroy(net.fw);
    if (net.services_running) services_stop(&net.services);
    if (net.run_dir[0]) nftw(net.run_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    memset(&net, 0, sizeof net);
}

static bool network_start(void)
{
    if (net.started) return true;
    const char *tmp = getenv("TMPDIR");
    snprintf(net.run_dir, sizeof net.run_dir, "%s/localnet-exit-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(net.run_dir)) {
        net.run_dir[0] = '\0';
        return false;
    }
    if (services_start(net.run_dir, NULL, &net.services) != 0) return false;
    net.services_running = true;
    net.fw = forwarder_create();
    net.topology.count = NODES;
    net.topology.rotation_id = 7;
    for (int i = 0; i < NODES; i++) {
        uint8_t secret[32];
        random_bytes(secret, sizeof secret);
        net.nodes[i] = mixnet_node_start(0, secret, net.fw, i == GATEWAY ? on_gateway_deliver : NULL, NULL);
        if (!net.nodes[i]) return false;
        nym_node_address address = {.family = 4, .port = mixnet_node_port(net.nodes[i]), .ip = {127, 0, 0, 1}};
        forwarder_allow(net.fw, &address);
        localnet_node_info *info = &net.topology.nodes[i];
        info->node_id = (uint32_t)i + 1;
        info->role = i == GATEWAY ? LOCALNET_EXIT_GATEWAY : LOCALNET_MIXNODE;
        info->layer = i == GATEWAY ? 0 : (uint8_t)(i + 1);
        random_bytes(info->identity_public, 32);
        x25519_public_key(info->sphinx_public, secret);
        info->mix_port = address.port;
        snprintf(info->build_version, sizeof info->build_version, "1.38.0");
        mixnet_node *node = &net.mix_nodes[i];
        memcpy(node->identity, info->identity_public, 32);
        memcpy(node->hop.public_key, info->sphinx_public, 32);
        nym_node_address_encode_padded(&address, node->hop.address, SPHINX_NODE_ADDRESS_LEN);
        secure_zero(secret, sizeof secret);
    }
    for (int l = 0; l < MIXNET_MIX_LAYERS; l++) {
        net.mix_topology.layers[l] = &net.mix_nodes[l];
        net.mix_topology.layer_len[l] = 1;
    }
    net.mix_topology.gateways = &net.mix_nodes[GATEWAY];
    net.mix_topology.gateway_count = 1;
    net.mix_topology.rotation = nym_key_rotation_of_id(net.topology.rotation_id);
    net.started = true;
    return true;
}

static bool exit_start(uint32_t idle_timeout_ms, uint32_t idle_sweep_ms, bool kernel_internet)
{
    mixnet_client_config mixnet;
    mixnet_client_config_default(&mixnet);
    mixnet.average_packet_delay_ns = mixnet.average_ack_delay_ns = HOP_DELAY_NS;
    exit_ipr_config config = {.topology = &net.topology,
                              .forwarder = net.fw,
                              .services = &net.services,
                              .mixnet = &mixnet,
                              .idle_timeout_ms = idle_timeout_ms,
                              .idle_sweep_interval_ms = idle_sweep_ms,
                              .kernel_internet = kernel_internet};
    net.ipr = exit_ipr_create(&config);
    if (net.ipr) exit_ipr_address(net.ipr, &net.ipr_address);
    return net.ipr != NULL;
}

/* The network and an exit with nym-node's limits, for the groups that share them. */
static bool ready(void)
{
    if (!network_start()) return false;
    return net.ipr || exit_start(0, 0, false);
}

static exit_ipr_stats ipr_stats(void)
{
    exit_ipr_stats s;
    exit_ipr_stats_get(net.ipr, &s);
    return s;
}

/* ---- the test client's message layer ---- */

static void client_send_packet(void *ctx, const nym_mix_packet *packet)
{
    (void)ctx;
    forwarder_send(net.fw, packet);
}

static void client_deliver(void *ctx, const mixnet_received *m)
{
    test_client *tc = ctx;
    lp_frame frame;
    ipr_response response;
    if (m->type != MIXNET_MESSAGE_REPLY) {
        tc->not_replies++;
        return;
    }
    if (lp_frame_decode(&frame, m->data, m->len) != LP_OK || frame.kind != LP_KIND_SPHINX_STREAM ||
        frame.msg_type != LP_STREAM_DATA ||
        ipr_response_decode(&response, frame.content, frame.content_len) != IPR_OK) {
        tc->undecodable++;
        return;
    }
    if (frame.stream_id != tc->stream_id) {
        tc->other_stream++;
        return;
    }
    if (response.kind != IPR_RESPONSE_DATA) {
        if (frame.sequence != 0) tc->control_frames_not_seq0++;
        queue_push(&tc->controls, frame.content, frame.content_len);
        return;
    }
    if (tc->data_frames++ == 0) tc->first_data_sequence = frame.sequence;
    if (frame.sequence == 0) tc->data_frames_seq0++;
    ipr_bundle_iter iter;
    const uint8_t *packet;
    size_t len;
    ipr_bundle_iter_init(&iter, response.ip_packets.data, response.ip_packets.len);
    while (ipr_bundle_next(&iter, &packet, &len) == IPR_BUNDLE_PACKET) queue_push(&tc->packets, packet, len);
}

static test_client *client_create(void)
{
    test_client *tc = calloc(1, sizeof *tc);
    if (!tc) return NULL;
    mixnet_client_config config;
    mixnet_client_config_default(&config);
    config.disable_poisson_traffic = true;
    config.disable_cover_traffic = true;
    config.average_packet_delay_ns = config.average_ack_delay_ns = HOP_DELAY_NS;
    mixnet_client_keys keys;
    uint8_t seed[32], secret[64];
    random_bytes(seed, sizeof seed);
    ed25519_keypair_from_seed(keys.identity, secret, seed);
    random_bytes(keys.encryption_secret, sizeof keys.encryption_secret);
    random_bytes(keys.ack_key, sizeof keys.ack_key);
    memcpy(keys.gateway, net.topology.nodes[GATEWAY].identity_public, 32);
    mixnet_client_callbacks callbacks = {.ctx = tc, .send_packet = client_send_packet, .deliver = client_deliver};
    tc->mix = mixnet_client_create(&config, &keys, &callbacks, now_ns());
    if (!tc->mix || mixnet_client_set_topology(tc->mix, &net.mix_topology) != 0) {
        mixnet_client_destroy(tc->mix);
        free(tc);
        return NULL;
    }
    mixnet_client_address(tc->mix, &tc->address);
    random_bytes((uint8_t *)&tc->stream_id, sizeof tc->stream_id);
    tc->next_sequence = 1;
    net.client = tc;
    return tc;
}

static void client_destroy(test_client *tc)
{
    if (!tc) return;
    if (net.client == tc) net.client = NULL;
    queue_clear(&tc->controls);
    queue_clear(&tc->packets);
    mixnet_client_destroy(tc->mix);
    free(tc);
}

static void pump_once(test_client *tc)
{
    platform_run_once(2);
    if (tc) mixnet_client_process_deadlines(tc->mix, now_ns());
}

static void pump(test_client *tc, uint64_t ms)
{
    uint64_t end = platform_monotonic_ms() + ms;
    while (platform_monotonic_ms() < end) pump_once(tc);
}

static bool wait_for(test_client *tc, const size_t *count, size_t target, uint64_t timeout_ms)
{
    uint64_t end = platform_monotonic_ms() + timeout_ms;
    while (*count < target && platform_monotonic_ms() < end) pump_once(tc);
    return *count >= target;
}

/* ---- LP and IPR, as the published client sends them ---- */

static bool client_send_frame(test_client *tc, lp_stream_msg_type type, uint32_t sequence, const uint8_t *content,
                              size_t len, uint32_t surbs)
{
    uint8_t frame[LP_HEADER_LEN + 2 * MAX_PACKET];
    lp_frame f = {.kind = LP_KIND_SPHINX_STREAM,
                  .stream_id = tc->stream_id,
                  .msg_type = type,
                  .sequence = sequence,
                  .content = content,
                  .content_len = len};
    size_t n = lp_frame_encode(frame, sizeof frame, &f);
    return n > 0 && mixnet_client_send_repliable(tc->mix, &net.ipr_address, frame, n, surbs, now_ns(), NULL) == 0;
}

static bool client_open(test_client *tc)
{
    return client_send_frame(tc, LP_STREAM_OPEN, 0, NULL, 0, OPEN_SURBS);
}

static bool client_send_request(test_client *tc, const ipr_request *request, uint32_t sequence)
{
    uint8_t content[2 * MAX_PACKET];
    size_t len;
    return ipr_request_encode(content, sizeof content, request, &len) == IPR_OK &&
           client_send_frame(tc, LP_STREAM_DATA, sequence, content, len, DATA_SURBS);
}

/* A control request in a Data frame with sequence 0; gives its id. */
static uint64_t client_control(test_client *tc, uint8_t version, ipr_request_kind kind)
{
    ipr_request request = {.version = version, .kind = kind};
    random_bytes((uint8_t *)&request.request_id, sizeof request.request_id);
    ipr_timestamp_from_unix(&request.timestamp, (int64_t)platform_unix_time_s(), 0);
    return client_send_request(tc, &request, 0) ? request.request_id : 0;
}

/* The next control response (decoded from storage), or false after WAIT_MS. */
static bool client_wait_control(test_client *tc, ipr_response *response, uint8_t storage[256])
{
    if (!wait_for(tc, &tc->controls.count, 1, WAIT_MS)) return false;
    size_t len = queue_pop(&tc->controls, storage, 256);
    return ipr_response_decode(response, storage, len) == IPR_OK;
}

static bool client_connect(test_client *tc, uint8_t version, ipr_response *response, uint8_t storage[256])
{
    uint64_t id = client_control(tc, version, IPR_REQUEST_CONNECT);
    if (!client_wait_control(tc, response, storage) || response->kind != IPR_RESPONSE_CONNECT ||
        response->request_id != id || !response->connect.success)
        return false;
    memcpy(tc->ipv4, response->connect.ipv4, 4);
    return true;
}

/* One IP packet per bundle, request and frame, sequence from 1. */
static bool client_send_ip(test_client *tc, const uint8_t *packet, size_t len)
{
    uint8_t bundle[IPR_BUNDLE_PREFIX_LEN + MAX_PACKET];
    size_t bundle_len = 0;
    if (!ipr_bundle_append(bundle, sizeof bundle, &bundle_len, packet, len)) return false;
    ipr_request request = {.version = 9, .kind = IPR_REQUEST_DATA, .ip_packets = {bundle, bundle_len}};
    uint32_t sequence = tc->next_sequence++;
    if (tc->next_sequence == 0) tc->next_sequence = 1;
    return client_send_request(tc, &request, sequence);
}

static size_t client_wait_packet(test_client *tc, uint8_t *out, size_t cap, uint64_t timeout_ms)
{
    if (!wait_for(tc, &tc->packets.count, 1, timeout_ms)) return 0;
    return queue_pop(&tc->packets, out, cap);
}

/* A client with an open stream and an address. */
static test_client *client_connected(void)
{
    test_client *tc = client_create();
    ipr_response response;
    uint8_t storage[256];
    if (tc && client_open(tc) && client_connect(tc, 10, &response, storage)) return tc;
    client_destroy(tc);
    return NULL;
}

/* ---- IPv4, UDP and TCP by hand ---- */

enum { PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17 };
enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10 };

static const uint8_t NGINX_IP[4] = {192, 0, 2, 10};
static const uint8_t RESOLVER1_IP[4] = {8, 8, 8, 8};
static const uint8_t RESOLVER2_IP[4] = {1, 1, 1, 1};
static const uint8_t NOBODY_IP[4] = {192, 0, 2, 99};
static const uint8_t ROUTER_IP[4] = {10, 0, 0, 1};

static uint32_t sum16(const uint8_t *data, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)data[i] << 8 | data[i + 1];
    if (len & 1) sum += (uint32_t)data[len - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* The TCP or UDP checksum with its pseudo-header: 0 for a valid segment. */
static uint16_t transport_checksum(const uint8_t *ip)
{
    size_t header_len = (size_t)(ip[0] & 0x0f) * 4, len = get16(ip + 2) - header_len;
    uint32_t sum = sum16(ip + 12, 8, 0) + ip[9] + (uint32_t)len;
    return fold(sum16(ip + header_len, len, sum));
}

/* An IPv4 packet around a transport segment, both checksums filled. */
static size_t ipv4_build(uint8_t *out, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
                         const uint8_t *segment, size_t len)
{
    static uint16_t id;
    memset(out, 0, 20);
    out[0] = 0x45;
    put16(out + 2, (uint16_t)(20 + len));
    put16(out + 4, ++id);
    out[6] = 0x40; /* don't fragment */
    out[8] = 64;
    out[9] = proto;
    memcpy(out + 12, src, 4);
    memcpy(out + 16, dst, 4);
    put16(out + 10, fold(sum16(out, 20, 0)));
    memcpy(out + 20, segment, len);
    size_t checksum_at = proto == PROTO_TCP ? 16 : 6;
    put16(out + 20 + checksum_at, transport_checksum(out));
    return 20 + len;
}

static size_t udp_build(uint8_t *out, const uint8_t src[4], uint16_t sport, const uint8_t dst[4], uint16_t dport,
                        const uint8_t *payload, size_t len)
{
    uint8_t segment[MAX_PACKET];
    put16(segment, sport);
    put16(segment + 2, dport);
    put16(segment + 4, (uint16_t)(8 + len));
    put16(segment + 6, 0);
    memcpy(segment + 8, payload, len);
    return ipv4_build(out, src, dst, PROTO_UDP, segment, 8 + len);
}

typedef struct {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    const uint8_t *payload;
    size_t len;
} tcp_fields;

static size_t tcp_build(uint8_t *out, const uint8_t src[4], const uint8_t dst[4], const tcp_fields *f)
{
    uint8_t segment[MAX_PACKET];
    /* a SYN says MSS 1460, as the published client's stack does */
    size_t header_len = f->flags & TCP_SYN ? 24 : 20;
    memset(segment, 0, header_len);
    put16(segment, f->sport);
    put16(segment + 2, f->dport);
    put32(segment + 4, f->seq);
    put32(segment + 8, f->ack);
    segment[12] = (uint8_t)(header_len / 4 << 4);
    segment[13] = f->flags;
    put16(segment + 14, 65535);
    if (f->flags & TCP_SYN) memcpy(segment + 20, "\x02\x04\x05\xb4", 4);
    if (f->len) memcpy(segment + header_len, f->payload, f->len);
    return ipv4_build(out, src, dst, PROTO_TCP, segment, header_len + f->len);
}

/* A received IPv4 packet, with both checksums checked. */
typedef struct {
    uint8_t src[4], dst[4], proto;
    const uint8_t *segment;
    size_t segment_len;
    bool checksums_ok;
} ip_view;

static bool ip_parse(const uint8_t *packet, size_t len, ip_view *v)
{
    if (len < 20 || packet[0] >> 4 != 4) return false;
    size_t header_len = (size_t)(packet[0] & 0x0f) * 4, total = get16(packet + 2);
    if (header_len < 20 || total < header_len || total > len) return false;
    memcpy(v->src, packet + 12, 4);
    memcpy(v->dst, packet + 16, 4);
    v->proto = packet[9];
    v->segment = packet + header_len;
    v->segment_len = total - header_len;
    v->checksums_ok = fold(sum16(packet, header_len, 0)) == 0;
    if (v->proto == PROTO_TCP || v->proto == PROTO_UDP)
        v->checksums_ok = v->checksums_ok && transport_checksum(packet) == 0;
    if (v->proto == PROTO_ICMP) v->checksums_ok = v->checksums_ok && fold(sum16(v->segment, v->segment_len, 0)) == 0;
    return true;
}

/* ---- a TCP connection driven by hand ---- */

#define STASH_LEN 256

typedef struct {
    test_client *tc;
    const uint8_t *server;
    uint16_t server_port, client_port;
    uint32_t snd_nxt, rcv_nxt;
    uint8_t *received;
    size_t received_len, received_cap;
    bool fin, reset;
    size_t segments;
    struct {
        uint32_t seq;
        uint8_t flags;
        uint8_t *payload;
        size_t len;
    } stash[STASH_LEN]; /* segments that came before their predecessors */
    size_t stash_count;
} tcp_conn;

static bool tcp_send(tcp_conn *c, uint8_t flags, const uint8_t *payload, size_t len)
{
    uint8_t packet[MAX_PACKET];
    tcp_fields f = {c->client_port, c->server_port, c->snd_nxt, c->rcv_nxt, flags, payload, len};
    size_t n = tcp_build(packet, c->tc->ipv4, c->server, &f);
    c->snd_nxt += (uint32_t)len + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0);
    return client_send_ip(c->tc, packet, n);
}

/* The next TCP segment of this connection. */
static bool tcp_next(tcp_conn *c, uint8_t *packet, ip_view *v, uint64_t timeout_ms)
{
    uint64_t end = platform_monotonic_ms() + timeout_ms;
    for (;;) {
        uint64_t now = platform_monotonic_ms();
        if (now >= end) return false;
        size_t len = client_wait_packet(c->tc, packet, MAX_PACKET, end - now);
        if (len && ip_parse(packet, len, v) && v->proto == PROTO_TCP && v->segment_len >= 20 &&
            memcmp(v->src, c->server, 4) == 0 && get16(v->segment) == c->server_port &&
            get16(v->segment + 2) == c->client_port)
            return true;
    }
}

static bool tcp_connect(tcp_conn *c, test_client *tc, const uint8_t server[4], uint16_t port)
{
    memset(c, 0, sizeof *c);
    c->tc = tc;
    c->server = server;
    c->server_port = port;
    uint8_t r[6];
    random_bytes(r, sizeof r);
    c->client_port = (uint16_t)(49152 + (r[0] << 8 | r[1]) % 16384);
    c->snd_nxt = get32(r + 2);
    uint32_t iss = c->snd_nxt;
    uint8_t packet[MAX_PACKET];
    ip_view v;
    if (!tcp_send(c, TCP_SYN, NULL, 0) || !tcp_next(c, packet, &v, WAIT_MS)) return false;
    const uint8_t *s = v.segment;
    CHECK(v.checksums_ok);
    CHECK(memcmp(v.dst, tc->ipv4, 4) == 0);
    if (!CHECK(s[13] == (TCP_SYN | TCP_ACK) && get32(s + 8) == iss + 1)) return false;
    /* lwIP's MSS option: what its TCP_MSS allows */
    CHECK((s[12] >> 4) * 4 >= 24 && s[20] == 2 && s[21] == 4 && get16(s + 22) <= 1460);
    c->rcv_nxt = get32(s + 4) + 1;
    return true;
}

static void tcp_take(tcp_conn *c, uint32_t seq, uint8_t flags, const uint8_t *payload, size_t len)
{
    if (seq != c->rcv_nxt) return;
    if (c->received_len + len > c->received_cap) {
        size_t cap = (c->received_len + len) * 2;
        uint8_t *grown = realloc(c->received, cap);
        if (!grown) return;
        c->received = grown;
        c->received_cap = cap;
    }
    if (len) memcpy(c->received + c->received_len, payload, len);
    c->received_len += len;
    c->rcv_nxt += (uint32_t)len;
    if (flags & TCP_FIN) {
        c->rcv_nxt++;
        c->fin = true;
    }
}

/* Reads until the server's FIN, acknowledging what arrived in order each
 * time the packets that came are used up (one ACK for each burst). */
static bool tcp_read_to_end(tcp_conn *c, uint64_t timeout_ms)
{
    uint64_t end = platform_monotonic_ms() + timeout_ms;
    uint8_t packet[MAX_PACKET];
    ip_view v;
    while (!c->fin && !c->reset && platform_monotonic_ms() < end) {
        if (!tcp_next(c, packet, &v, end - platform_monotonic_ms())) break;
        const uint8_t *s = v.segment;
        size_t header_len = (size_t)(s[12] >> 4) * 4;
        if (!v.checksums_ok || header_len > v.segment_len) return false;
        uint32_t seq = get32(s + 4);
        uint8_t flags = s[13];
        c->segments++;
        if (flags & TCP_RST) c->reset = true;
        int32_t ahead = (int32_t)(seq - c->rcv_nxt);
        if (ahead > 0 && c->stash_count < STASH_LEN) {
            uint8_t *copy = malloc(v.segment_len - header_len + 1);
            if (!copy) return false;
            memcpy(copy, s + header_len, v.segment_len - header_len);
            c->stash[c->stash_count].seq = seq;
            c->stash[c->stash_count].flags = flags;
            c->stash[c->stash_count].payload = copy;
            c->stash[c->stash_count++].len = v.segment_len - header_len;
        } else {
            tcp_take(c, seq, flags, s + header_len, v.segment_len - header_len);
        }
        /* what was waiting may follow now */
        for (size_t i = 0; i < c->stash_count;) {
            if ((int32_t)(c->stash[i].seq - c->rcv_nxt) <= 0) {
                tcp_take(c, c->stash[i].seq, c->stash[i].flags, c->stash[i].payload, c->stash[i].len);
                free(c->stash[i].payload);
                c->stash[i] = c->stash[--c->stash_count];
                i = 0;
            } else {
                i++;
            }
        }
        if (c->tc->packets.count == 0 && !tcp_send(c, TCP_ACK, NULL, 0)) return false;
    }
    return c->fin;
}

/* Our FIN after theirs, and their last ACK. */
static bool tcp_finish(tcp_conn *c)
{
    uint8_t packet[MAX_PACKET];
    ip_view v;
    bool acked = false;
    if (!tcp_send(c, TCP_FIN | TCP_ACK, NULL, 0)) return false;
    while (!acked && tcp_next(c, packet, &v, WAIT_MS))
        acked = (v.segment[13] & TCP_ACK) && get32(v.segment + 8) == c->snd_nxt;
    return acked;
}

static void tcp_free(tcp_conn *c)
{
    for (size_t i = 0; i < c->stash_count; i++) free(c->stash[i].payload);
    free(c->received);
}

/* An HTTP/1.1 GET over a connection made by hand; the whole response.
 * The server closes after it ("Connection: close"), or (half_close) we
 * send our FIN with the request and it closes on reading it. */
static bool http_get(test_client *tc, const char *path, const char *extra_header, bool half_close, tcp_conn *c)
{
    if (!tcp_connect(c, tc, NGINX_IP, 80)) return false;
    char request[512];
    int n = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: " SERVICES_NGINX_NAME "\r\n%s%s\r\n", path,
                     extra_header, half_close ? "" : "Connection: close\r\n");
    uint8_t flags = TCP_ACK | TCP_PSH | (half_close ? TCP_FIN : 0);
    return tcp_send(c, flags, (const uint8_t *)request, (size_t)n) && tcp_read_to_end(c, 60000);
}

static const uint8_t *http_body(const tcp_conn *c, size_t *len)
{
    for (size_t i = 0; i + 4 <= c->received_len; i++) {
        if (memcmp(c->received + i, "\r\n\r\n", 4) == 0) {
            *len = c->received_len - i - 4;
            return c->received + i + 4;
        }
    }
    *len = 0;
    return NULL;
}

/* ---- DNS by hand ---- */

static size_t dns_query(uint8_t *out, uint16_t id, const char *name)
{
    size_t n = 12;
    memset(out, 0, 12);
    put16(out, id);
    out[2] = 0x01; /* recursion desired */
    out[5] = 1;    /* one question */
    for (const char *label = name; *label;) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t)(dot - label) : strlen(label);
        out[n++] = (uint8_t)len;
        memcpy(out + n, label, len);
        n += len;
        label += len + (dot ? 1 : 0);
    }
    out[n++] = 0;
    put16(out + n, 1);     /* A */
    put16(out + n + 2, 1); /* IN */
    return n + 4;
}

/* Asks resolver for nginx's address; checks the answer dnsmasq gave. */
static void dns_lookup(test_client *tc, const uint8_t resolver[4])
{
    uint8_t query[256], packet[MAX_PACKET];
    uint16_t id = (uint16_t)(platform_monotonic_ms() & 0xffff), port = 40000 + resolver[0];
    size_t n = udp_build(packet, tc->ipv4, port, resolver, 53, query, dns_query(query, id, SERVICES_NGINX_NAME));
    if (!CHECK(client_send_ip(tc, packet, n))) return;
    size_t len = client_wait_packet(tc, packet, sizeof packet, WAIT_MS);
    ip_view v;
    if (!CHECK(len && ip_parse(packet, len, &v) && v.proto == PROTO_UDP && v.segment_len >= 8 + 12)) return;
    CHECK(v.checksums_ok);
    CHECK(memcmp(v.src, resolver, 4) == 0 && get16(v.segment) == 53);
    CHECK(memcmp(v.dst, tc->ipv4, 4) == 0 && get16(v.segment + 2) == port);
    const uint8_t *dns = v.segment + 8;
    size_t dns_len = v.segment_len - 8;
    CHECK(get16(dns) == id && (dns[2] & 0x80) && (dns[3] & 0x0f) == 0);
    /* one A record, the last thing in the answer */
    CHECK(get16(dns + 6) == 1 && memcmp(dns + dns_len - 4, NGINX_IP, 4) == 0);
}

/* The ICMP error that answers a UDP packet to dst:port. */
static void expect_unreachable(test_client *tc, const uint8_t dst[4], uint16_t port, const uint8_t from[4],
                               uint8_t code)
{
    uint8_t packet[MAX_PACKET], payload[4] = {1, 2, 3, 4};
    size_t n = udp_build(packet, tc->ipv4, 40404, dst, port, payload, sizeof payload);
    if (!CHECK(client_send_ip(tc, packet, n))) return;
    size_t len = client_wait_packet(tc, packet, sizeof packet, WAIT_MS);
    ip_view v;
    if (!CHECK(len && ip_parse(packet, len, &v) && v.proto == PROTO_ICMP && v.segment_len >= 8 + 28)) return;
    CHECK(v.checksums_ok);
    CHECK(memcmp(v.src, from, 4) == 0 && memcmp(v.dst, tc->ipv4, 4) == 0);
    /* destination unreachable, with our packet's header inside */
    CHECK(v.segment[0] == 3 && v.segment[1] == code);
    CHECK(memcmp(v.segment + 8 + 16, dst, 4) == 0 && get16(v.segment + 8 + 20 + 2) == port);
}

/* nginx's small file twice: closed by the server ("Connection: close"),
 * then with our FIN sent along with the request. */
static void small_file_gets(test_client *tc)
{
    for (int half_close = 0; half_close <= 1; half_close++) {
        tcp_conn c;
        if (CHECK(http_get(tc, "/small.txt", "", half_close, &c))) {
            size_t len;
            const uint8_t *body = http_body(&c, &len);
            CHECK(c.received_len > 12 && memcmp(c.received, "HTTP/1.1 200", 12) == 0);
            CHECK(body && len == strlen(SERVICES_SMALL_TXT) && memcmp(body, SERVICES_SMALL_TXT, len) == 0);
            /* the half-closed one is done once our FIN and theirs crossed */
            CHECK(half_close || tcp_finish(&c));
        }
        tcp_free(&c);
    }
}

/* A SYN to nginx's address on a port with no service: a reset. */
static void expect_reset(test_client *tc)
{
    uint8_t packet[MAX_PACKET];
    tcp_fields syn = {50000, 81, 1000, 0, TCP_SYN, NULL, 0};
    size_t n = tcp_build(packet, tc->ipv4, NGINX_IP, &syn);
    if (!CHECK(client_send_ip(tc, packet, n))) return;
    size_t len = client_wait_packet(tc, packet, sizeof packet, WAIT_MS);
    ip_view v;
    if (CHECK(len && ip_parse(packet, len, &v) && v.proto == PROTO_TCP && v.segment_len >= 20)) {
        CHECK(v.checksums_ok && get16(v.segment) == 81 && get16(v.segment + 2) == 50000);
        CHECK((v.segment[13] & (TCP_RST | TCP_ACK)) == (TCP_RST | TCP_ACK) && get32(v.segment + 8) == 1001);
    }
}

/* ---- the groups ---- */

/* Connect in v10 then v9 on the same stream (the published client's
 * fallback), Ping, Health, Disconnect, and requests the IPR refuses. */
void test_exit_ipr_protocol(void)
{
    if (!CHECK(ready())) return;
    test_client *tc = client_create();
    if (!CHECK(tc != NULL)) return;
    ipr_response response;
    uint8_t storage[256];
    CHECK(client_open(tc));
    if (!CHECK(client_connect(tc, 10, &response, storage))) {
        client_destroy(tc);
        return;
    }
    CHECK(response.version == 10 && response.connect.mtu == EXIT_MTU);
    CHECK(response.connect.ipv4[0] == 10 && response.connect.ipv4[1] == 0);
    uint16_t host = (uint16_t)(response.connect.ipv4[2] << 8 | response.connect.ipv4[3]);
    CHECK(host >= 2 && host <= 65534);
    CHECK(response.connect.ipv6[0] == 0xfc && response.connect.ipv6[14] == response.connect.ipv4[2] &&
          response.connect.ipv6[15] == response.connect.ipv4[3]);
    uint8_t first[4];
    memcpy(first, tc->ipv4, 4);
    CHECK(ipr_stats().clients == 1);

    /* v9 again on the same stream: new addresses, no MTU */
    CHECK(client_connect(tc, 9, &response, storage));
    CHECK(response.version == 9 && response.connect.mtu == 0);
    CHECK(memcmp(first, tc->ipv4, 4) != 0);
    exit_ipr_stats stats = ipr_stats();
    CHECK(stats.clients == 1 && stats.connects >= 2);

    uint64_t id = client_control(tc, 9, IPR_REQUEST_PING);
    CHECK(client_wait_control(tc, &response, storage) && response.kind == IPR_RESPONSE_PONG &&
          response.request_id == id && response.version == 9);
    id = client_control(tc, 10, IPR_REQUEST_HEALTH);
    CHECK(client_wait_control(tc, &response, storage) && response.kind == IPR_RESPONSE_HEALTH &&
          response.request_id == id && response.version == 10);
    CHECK(response.health.build_info[2].len == 6 && memcmp(response.health.build_info[2].data, "1.38.0", 6) == 0);
    CHECK(response.health.routable == IPR_ROUTABLE_UNKNOWN);

    id = client_control(tc, 9, IPR_REQUEST_DISCONNECT);
    CHECK(client_wait_control(tc, &response, storage) && response.kind == IPR_RESPONSE_DISCONNECT &&
          response.request_id == id && response.disconnect.success);
    CHECK(ipr_stats().clients == 0);
    id = client_control(tc, 9, IPR_REQUEST_DISCONNECT);
    CHECK(client_wait_control(tc, &response, storage) && response.kind == IPR_RESPONSE_DISCONNECT &&
          response.request_id == id && !response.disconnect.success &&
          response.disconnect.failure == IPR_DISCONNECT_CLIENT_NOT_CONNECTED);

    /* every answer came through a reply SURB, as a Data frame with sequence 0 on our stream */
    CHECK(tc->not_replies == 0 && tc->undecodable == 0 && tc->other_stream == 0 && tc->control_frames_not_seq0 == 0);

    /* refused without an answer: a v8 request in a stream frame, an IPR
     * request outside LP, a plain (untagged) message */
    uint64_t refused = ipr_stats().requests_refused;
    ipr_request v8 = {.version = 8, .kind = IPR_REQUEST_PING, .request_id = 1};
    ipr_timestamp_from_unix(&v8.timestamp, (int64_t)platform_unix_time_s(), 0);
    CHECK(client_send_request(tc, &v8, 0));
    uint8_t raw[64];
    size_t raw_len;
    ipr_request v9 = v8;
    v9.version = 9;
    CHECK(ipr_request_encode(raw, sizeof raw, &v9, &raw_len) == IPR_OK);
    CHECK(mixnet_client_send_repliable(tc->mix, &net.ipr_address, raw, raw_len, 1, now_ns(), NULL) == 0);
    CHECK(mixnet_client_send_plain(tc->mix, &net.ipr_address, raw, raw_len, now_ns(), NULL) == 0);
    const size_t want = (size_t)refused + 3;
    size_t seen = 0;
    uint64_t end = platform_monotonic_ms() + WAIT_MS;
    while ((seen = (size_t)ipr_stats().requests_refused) < want && platform_monotonic_ms() < end) pump_once(tc);
    CHECK(seen == want);
    pump(tc, 200);
    CHECK(tc->controls.count == 0);
    client_destroy(tc);
}

/* DNS through both resolvers, ICMP errors for what has no route, and
 * packets from an address the client was not given. */
void test_exit_udp(void)
{
    if (!CHECK(ready())) return;
    test_client *tc = client_connected();
    if (!CHECK(tc != NULL)) return;
    dns_lookup(tc, RESOLVER1_IP);
    dns_lookup(tc, RESOLVER2_IP);
    CHECK(ipr_stats().udp_flows >= 2);
    /* a port nobody listens on, on a host that exists: lwIP's port
     * unreachable (from the router: lwIP sends ICMP from the interface
     * towards the client) */
    expect_unreachable(tc, RESOLVER1_IP, 54, ROUTER_IP, 3);
    /* a host that does not exist: the router's host unreachable */
    expect_unreachable(tc, NOBODY_IP, 53, ROUTER_IP, 1);

    /* two packets in one request: both are routed, and the two answers
     * (made at once) come back bundled in one data frame */
    uint8_t bundle[2 * MAX_PACKET], one[MAX_PACKET], payload[1] = {0};
    size_t bundle_len = 0, frames = tc->data_frames;
    for (int i = 0; i < 2; i++) {
        size_t len = udp_build(one, tc->ipv4, (uint16_t)(41000 + i), NOBODY_IP, 9, payload, sizeof payload);
        ipr_bundle_append(bundle, sizeof bundle, &bundle_len, one, len);
    }
    ipr_request two = {.version = 9, .kind = IPR_REQUEST_DATA, .ip_packets = {bundle, bundle_len}};
    CHECK(client_send_request(tc, &two, tc->next_sequence++));
    CHECK(wait_for(tc, &tc->packets.count, 2, WAIT_MS) && tc->data_frames == frames + 1);
    queue_clear(&tc->packets);

    uint64_t refused = ipr_stats().packets_refused;
    uint8_t packet[MAX_PACKET], query[256], spoofed[4];
    memcpy(spoofed, tc->ipv4, 4);
    spoofed[3] ^= 1;
    size_t n = udp_build(packet, spoofed, 40001, RESOLVER1_IP, 53, query, dns_query(query, 7, SERVICES_NGINX_NAME));
    CHECK(client_send_ip(tc, packet, n));
    uint64_t end = platform_monotonic_ms() + WAIT_MS;
    while (ipr_stats().packets_refused == refused && platform_monotonic_ms() < end) pump_once(tc);
    CHECK(ipr_stats().packets_refused == refused + 1);
    pump(tc, 200);
    CHECK(tc->packets.count == 0);
    CHECK(tc->first_data_sequence == 1 && tc->data_frames_seq0 == 0 && tc->not_replies == 0);
    client_destroy(tc);
}

/* A SYN gets lwIP's SYN-ACK; a GET gets nginx's small file, also when
 * the client half-closes right after its request; a port with no service
 * gets a reset. */
void test_exit_tcp(void)
{
    if (!CHECK(ready())) return;
    test_client *tc = client_connected();
    if (!CHECK(tc != NULL)) return;
    small_file_gets(tc);
    CHECK(ipr_stats().tcp_relays >= 2);
    expect_reset(tc);
    client_destroy(tc);
}

/* Many data packets back for requests that carry 2 SURBs each: the IPR
 * runs short, asks for more, and everything still arrives; meanwhile the
 * relay leaves nginx unread while lwIP's send buffer is full. */
void test_exit_surbs(void)
{
    if (!CHECK(ready())) return;
    test_client *tc = client_connected();
    if (!CHECK(tc != NULL)) return;
    exit_ipr_stats before = ipr_stats();
    enum { RANGE = 300000 };
    tcp_conn c;
    if (CHECK(http_get(tc, "/lines.txt", "Range: bytes=0-299999\r\n", false, &c))) {
        size_t len;
        const uint8_t *body = http_body(&c, &len);
        CHECK(c.received_len > 12 && memcmp(c.received, "HTTP/1.1 206", 12) == 0);
        bool same = body && len == RANGE;
        char line[32];
        for (size_t i = 0; same && i < RANGE; i += 21) {
            snprintf(line, sizeof line, "lines.txt line %05zu\n", i / 21 + 1);
            same = memcmp(body + i, line, RANGE - i < 21 ? RANGE - i : 21) == 0;
        }
        CHECK(same);
    }
    exit_ipr_stats after = ipr_stats();
    mixnet_client_stats client;
    mixnet_client_stats_get(tc->mix, &client);
    CHECK(c.segments > RANGE / 1460);
    /* nginx sends faster than the mixnet carries: its socket was left unread */
    CHECK(after.tcp_pauses > before.tcp_pauses);
    /* the request may go out before or during this download: count it either way */
    CHECK(after.mixnet.surb_requests_sent > 0);
    CHECK(client.surb_requests_answered > 0);
    CHECK(after.bundles_sent - before.bundles_sent >= c.segments / 2);
    CHECK(tc->not_replies == 0 && tc->undecodable == 0 && tc->data_frames_seq0 == 0);
    tcp_free(&c);
    client_destroy(tc);
}

/* With a 2 s idle limit: a client that sends nothing is forgotten without
 * a word, its packets go nowhere, and it can connect again. The network
 * and services stop afterwards (the last group). */
/* Two clients ask for the 10 MiB file, read none of it and go quiet. Once
 * the IPR has let them go their connections are dropped, and a new client's
 * connection is answered: lwIP's memory, one pool, would otherwise stay
 * full of their send buffers for as long as lwIP resends to them. */
static void abandoned_downloads_forgotten(void)
{
    static const char request[] = "GET " SERVICES_PATTERN_PATH " HTTP/1.1\r\nHost: " SERVICES_NGINX_NAME "\r\n\r\n";
    uint64_t drops_before = ipr_stats().idle_drops;
    test_client *quiet[2] = {NULL, NULL};
    tcp_conn downloads[2];
    for (int i = 0; i < 2; i++) {
        quiet[i] = client_connected();
        memset(&downloads[i], 0, sizeof downloads[i]);
        if (CHECK(quiet[i] != NULL) && CHECK(tcp_connect(&downloads[i], quiet[i], NGINX_IP, 80)))
            CHECK(tcp_send(&downloads[i], TCP_ACK | TCP_PSH, (const uint8_t *)request, sizeof request - 1));
    }
    /* no packet from them from now on: past the idle timeout and a sweep */
    pump(NULL, 2600);
    CHECK(ipr_stats().idle_drops >= drops_before + 2);
    test_client *fresh = client_connected();
    if (CHECK(fresh != NULL)) small_file_gets(fresh);
    client_destroy(fresh);
    for (int i = 0; i < 2; i++) {
        tcp_free(&downloads[i]);
        client_destroy(quiet[i]);
    }
}

void test_exit_idle(void)
{
    if (!CHECK(network_start())) {
        network_stop();
        return;
    }
    /* a second exit in the same process: lwIP is handed over */
    exit_ipr_destroy(net.ipr);
    net.ipr = NULL;
    if (!CHECK(exit_start(2000, 200, false))) {
        network_stop();
        return;
    }
    test_client *tc = client_connected();
    if (CHECK(tc != NULL)) {
        dns_lookup(tc, RESOLVER1_IP);
        pump(tc, 1500);
        CHECK(ipr_stats().clients == 1); /* still within the limit */
        dns_lookup(tc, RESOLVER1_IP);
        pump(tc, 2600);
        exit_ipr_stats stats = ipr_stats();
        CHECK(stats.clients == 0 && stats.idle_drops == 1);
        CHECK(tc->controls.count == 0); /* nym-node tells nobody */
        uint8_t packet[MAX_PACKET], query[256];
        size_t n =
            udp_build(packet, tc->ipv4, 40002, RESOLVER1_IP, 53, query, dns_query(query, 9, SERVICES_NGINX_NAME));
        CHECK(client_send_ip(tc, packet, n));
        CHECK(client_wait_packet(tc, packet, sizeof packet, 1500) == 0);
        CHECK(ipr_stats().packets_refused == stats.packets_refused + 1);
        ipr_response response;
        uint8_t storage[256];
        CHECK(client_connect(tc, 10, &response, storage));
        dns_lookup(tc, RESOLVER1_IP);
    }
    client_destroy(tc);
    abandoned_downloads_forgotten();
    network_stop();
}

/* Behind the exit, Linux's TCP/IP in place of lwIP (kernel_internet.h):
 * nginx's small file, also after a half-close; DNS answers; a port with no
 * service gets the kernel's port unreachable (UDP) and reset (TCP). */
void test_exit_kernel_internet(void)
{
    if (!CHECK(network_start()) || !CHECK(exit_start(0, 0, true))) {
        network_stop();
        return;
    }
    test_client *tc = client_connected();
    if (CHECK(tc != NULL)) {
        small_file_gets(tc);
        dns_lookup(tc, RESOLVER1_IP);
        dns_lookup(tc, RESOLVER2_IP);
        exit_ipr_stats stats = ipr_stats();
        CHECK(stats.tcp_relays == 2 && stats.udp_flows == 2);
        expect_unreachable(tc, RESOLVER1_IP, 54, RESOLVER1_IP, 3);
        expect_reset(tc);
    }
    client_destroy(tc);
    network_stop();
}
