/* localnet's IP Packet Router: the service side of shared/spec/ipr.md
 * §7, §10 and §11 on our message layer, in front of exit_internet.c. */
#include "exit.h"

#include "exit_internet.h"
#include "kernel_internet.h"

#include "crypto/crypto.h"
#include "ipr/ipr.h"
#include "platform/platform.h"

#include <stdlib.h>
#include <string.h>

/* Clients get 10.0.n>>8.n&255 and fc00::n for one n in 2..65534 (the .1
 * addresses are the IPR's own), as nym-node's generate_new_ip does. */
static const uint8_t ROUTER_IPV4[4] = {10, 0, 0, 1};
#define CLIENT_PREFIX_LEN 16
#define HOST_MIN 2
#define HOST_MAX 65534
#define ALLOCATION_TRIES 100
/* IP data goes back as v9 whatever the Connect was: v10 changed only the
 * Connect answer, and the published client took v9 data after a v10 Connect. */
#define DATA_RESPONSE_VERSION 9
/* A stream frame must carry v9 or later (nym's SPHINX_STREAM_VERSION_THRESHOLD). */
#define LP_VERSION_MIN 9
/* SURBs the IPR asks for beyond its queue and reserve: a stream of data
 * rather than requests and answers (DEFAULT_IPR_MINIMUM_REPLY_SURB_THRESHOLD_BUFFER). */
#define NYM_NODE_IPR_SURB_BUFFER 50
/* Control answers go as sequence 0; data counts from 1 and skips 0 on wrap. */
#define CONTROL_SEQUENCE 0
/* the largest answer: a frame around a one-packet bundle (16: the response's own fields, with room) */
#define FRAME_MAX (LP_HEADER_LEN + 16 + IPR_BUNDLE_PREFIX_LEN + IPR_BUNDLE_MAX_PACKET_LEN)

typedef struct exit_client {
    exit_ipr *ipr;
    uint8_t tag[MIXNET_SENDER_TAG_LEN]; /* who it is: nym-node knows clients by sender tag */
    uint64_t stream_id;                 /* of the frame that carried its Connect */
    uint16_t host;                      /* its n */
    uint32_t next_sequence;
    uint64_t last_activity_ms; /* its last IP packet to us (or its Connect) */
    uint32_t buffer_timeout_ms;
    uint64_t flush_phase_ms; /* nym-node's flush interval ticks from here: its start or the last bundle sent */
    uint8_t bundle[IPR_BUNDLE_TARGET_LEN];
    size_t bundle_len;
    uint32_t flush_timer;
    struct exit_client *next;
} exit_client;

struct exit_ipr {
    uint32_t idle_timeout_ms, idle_sweep_interval_ms;
    uint16_t mtu;
    char build_version[32];
    forwarder *fw;
    mixnet_node nodes[LOCALNET_MAX_NODES];
    mixnet_topology topology;
    mixnet_client *client;
    mixnet_recipient address;
    exit_internet *internet; /* one of these two */
    kernel_internet *kernel_internet;
    exit_client *clients;
    size_t client_count;
    uint32_t mixnet_timer, sweep_timer;
    uint64_t mixnet_timer_due_ns;
    exit_ipr_stats stats;
    unsigned connect_answers_to_lose;
    uint8_t frame[FRAME_MAX];                                          /* one answer on its way */
    uint8_t single[IPR_BUNDLE_PREFIX_LEN + IPR_BUNDLE_MAX_PACKET_LEN]; /* a packet bundled alone */
};

static uint64_t now_ns(void)
{
    return platform_monotonic_ms() * 1000000u;
}

/* --- the message layer's clock */

static void mixnet_schedule(exit_ipr *ipr);

static void on_mixnet_timer(void *ctx)
{
    exit_ipr *ipr = ctx;
    ipr->mixnet_timer = 0;
    mixnet_client_process_deadlines(ipr->client, now_ns());
    mixnet_schedule(ipr);
}

/* Called after anything that may have given the message layer work. */
static void mixnet_schedule(exit_ipr *ipr)
{
    uint64_t next = mixnet_client_next_deadline_ns(ipr->client);
    if (next == UINT64_MAX || (ipr->mixnet_timer && ipr->mixnet_timer_due_ns <= next)) return;
    uint64_t now = now_ns();
    platform_timer_cancel(ipr->mixnet_timer);
    ipr->mixnet_timer = platform_timer_start(next > now ? (next - now + 999999) / 1000000 : 0, on_mixnet_timer, ipr);
    ipr->mixnet_timer_due_ns = next;
}

/* --- answers */

/* An answer in an LP Data frame through the client's reply SURBs. */
static void frame_send(exit_ipr *ipr, const uint8_t tag[MIXNET_SENDER_TAG_LEN], uint64_t stream_id, uint32_t sequence,
                       const ipr_response *response)
{
    size_t content_len;
    if (ipr_response_encode(ipr->frame + LP_HEADER_LEN, sizeof ipr->frame - LP_HEADER_LEN, response, &content_len) !=
        IPR_OK)
        return;
    lp_frame frame = {.kind = LP_KIND_SPHINX_STREAM,
                      .stream_id = stream_id,
                      .msg_type = LP_STREAM_DATA,
                      .sequence = sequence,
                      .content = ipr->frame + LP_HEADER_LEN,
                      .content_len = content_len};
    size_t len = lp_frame_encode(ipr->frame, sizeof ipr->frame, &frame);
    if (len == 0) return;
    mixnet_client_send_reply(ipr->client, tag, ipr->frame, len, now_ns(), NULL);
    mixnet_schedule(ipr);
}

static void bundle_send(exit_ipr *ipr, exit_client *c, const uint8_t *bundle, size_t len)
{
    ipr_response response = {.version = DATA_RESPONSE_VERSION, .kind = IPR_RESPONSE_DATA};
    response.ip_packets = (ipr_bytes){bundle, len};
    uint32_t sequence = c->next_sequence++;
    if (c->next_sequence == CONTROL_SEQUENCE) c->next_sequence++;
    c->flush_phase_ms = platform_monotonic_ms();
    frame_send(ipr, c->tag, c->stream_id, sequence, &response);
    ipr->stats.bundles_sent++;
}

static void client_flush(exit_client *c)
{
    if (c->bundle_len == 0) return;
    platform_timer_cancel(c->flush_timer);
    c->flush_timer = 0;
    bundle_send(c->ipr, c, c->bundle, c->bundle_len);
    c->bundle_len = 0;
}

static void on_flush_timer(void *ctx)
{
    exit_client *c = ctx;
    c->flush_timer = 0;
    client_flush(c);
}

/* ms to the flush interval's next tick. nym-node's interval runs whether
 * or not anything waits, so a packet into an empty bundle waits half a
 * period on average, not a whole one. */
static uint32_t next_flush_tick_ms(const exit_client *c)
{
    uint64_t since_phase = platform_monotonic_ms() - c->flush_phase_ms;
    return c->buffer_timeout_ms - (uint32_t)(since_phase % c->buffer_timeout_ms);
}

/* Fills the client's bundle, sending it when the next packet would pass
 * the target size, and at the latest on the flush interval's next tick. */
static void client_bundle(exit_client *c, const uint8_t *packet, size_t len)
{
    if (IPR_BUNDLE_PREFIX_LEN + len > sizeof c->bundle) {
        /* fills a bundle by itself: nothing to wait for (nym-node holds it
         * one more buffer timeout) */
        client_flush(c);
        size_t bundle_len = 0;
        if (ipr_bundle_append(c->ipr->single, sizeof c->ipr->single, &bundle_len, packet, len))
            bundle_send(c->ipr, c, c->ipr->single, bundle_len);
        return;
    }
    if (c->bundle_len + IPR_BUNDLE_PREFIX_LEN + len > sizeof c->bundle) client_flush(c);
    ipr_bundle_append(c->bundle, sizeof c->bundle, &c->bundle_len, packet, len);
    if (!c->flush_timer) c->flush_timer = platform_timer_start(next_flush_tick_ms(c), on_flush_timer, c);
}

/* --- clients */

static void host_ipv4(uint16_t host, uint8_t out[4])
{
    out[0] = 10;
    out[1] = 0;
    out[2] = (uint8_t)(host >> 8);
    out[3] = (uint8_t)host;
}

static void host_ipv6(uint16_t host, uint8_t out[16])
{
    memset(out, 0, 16);
    out[0] = 0xfc;
    out[14] = (uint8_t)(host >> 8);
    out[15] = (uint8_t)host;
}

static exit_client *client_by_tag(const exit_ipr *ipr, const uint8_t tag[MIXNET_SENDER_TAG_LEN])
{
    for (exit_client *c = ipr->clients; c; c = c->next)
        if (memcmp(c->tag, tag, MIXNET_SENDER_TAG_LEN) == 0) return c;
    return NULL;
}

static exit_client *client_by_host(const exit_ipr *ipr, uint16_t host)
{
    for (exit_client *c = ipr->clients; c; c = c->next)
        if (c->host == host) return c;
    return NULL;
}

/* A random free n, or 0 after as many tries as nym-node makes. */
static uint16_t host_allocate(const exit_ipr *ipr)
{
    for (int i = 0; i < ALLOCATION_TRIES; i++) {
        uint8_t r[2];
        random_bytes(r, sizeof r);
        uint16_t host = (uint16_t)(r[0] << 8 | r[1]);
        if (host >= HOST_MIN && host <= HOST_MAX && !client_by_host(ipr, host)) return host;
    }
    return 0;
}

/* Forgets a client: its address is free, what waited for it is dropped. */
static void client_remove(exit_ipr *ipr, exit_client *c)
{
    for (exit_client **p = &ipr->clients; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    platform_timer_cancel(c->flush_timer);
    if (ipr->internet) {
        uint8_t ipv4[4];
        host_ipv4(c->host, ipv4);
        exit_internet_forget_client(ipr->internet, ipv4);
    }
    free(c);
    ipr->client_count--;
}

static exit_client *client_add(exit_ipr *ipr, const uint8_t tag[MIXNET_SENDER_TAG_LEN], uint64_t stream_id,
                               uint16_t host, const ipr_request *connect)
{
    exit_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->ipr = ipr;
    memcpy(c->tag, tag, MIXNET_SENDER_TAG_LEN);
    c->stream_id = stream_id;
    c->host = host;
    c->next_sequence = CONTROL_SEQUENCE + 1;
    c->last_activity_ms = platform_monotonic_ms();
    c->flush_phase_ms = c->last_activity_ms;
    /* a zero period would make a busy timer (nym-node would panic) */
    uint64_t timeout = connect->has_buffer_timeout ? connect->buffer_timeout_ms : IPR_BUNDLE_TIMEOUT_MS;
    c->buffer_timeout_ms = timeout < 1 ? 1 : timeout > UINT32_MAX ? UINT32_MAX : (uint32_t)timeout;
    c->next = ipr->clients;
    ipr->clients = c;
    ipr->client_count++;
    return c;
}

static void on_sweep_timer(void *ctx)
{
    exit_ipr *ipr = ctx;
    uint64_t now = platform_monotonic_ms();
    for (exit_client *c = ipr->clients, *next; c; c = next) {
        next = c->next;
        /* silently, as nym-node does (its UnrequestedDisconnect is a TODO) */
        if (now - c->last_activity_ms > ipr->idle_timeout_ms) {
            client_remove(ipr, c);
            ipr->stats.idle_drops++;
        }
    }
    ipr->sweep_timer = platform_timer_start(ipr->idle_sweep_interval_ms, on_sweep_timer, ipr);
}

/* --- requests */

/* Whether an IP packet comes from the address the client was given. */
static bool packet_from_client(const exit_client *c, const uint8_t *packet, size_t len)
{
    if (len >= 20 && packet[0] >> 4 == 4) {
        uint8_t ipv4[4];
        host_ipv4(c->host, ipv4);
        return memcmp(packet + 12, ipv4, 4) == 0;
    }
    if (len >= 40 && packet[0] >> 4 == 6) {
        uint8_t ipv6[16];
        host_ipv6(c->host, ipv6);
        return memcmp(packet + 8, ipv6, 16) == 0;
    }
    return false;
}

/* Every packet must come from the sender's own address (nym-node trusts
 * any connected client's address; no client has a reason to differ). */
static void data_request(exit_ipr *ipr, const uint8_t tag[MIXNET_SENDER_TAG_LEN], const ipr_request *request)
{
    exit_client *c = client_by_tag(ipr, tag);
    ipr_bundle_iter iter;
    const uint8_t *packet;
    size_t len;
    ipr_bundle_iter_init(&iter, request->ip_packets.data, request->ip_packets.len);
    while (ipr_bundle_next(&iter, &packet, &len) == IPR_BUNDLE_PACKET) {
        if (!c || !packet_from_client(c, packet, len)) {
            ipr->stats.packets_refused++;
            continue;
        }
        c->last_activity_ms = platform_monotonic_ms();
        if (packet[0] >> 4 != 4) {
            /* the small internet has no IPv6 */
            ipr->stats.packets_refused++;
            continue;
        }
        ipr->stats.packets_in++;
        if (ipr->kernel_internet)
            kernel_internet_input(ipr->kernel_internet, packet, len);
        else
            exit_internet_input(ipr->internet, packet, len);
    }
}

static void connect_request(exit_ipr *ipr, const uint8_t tag[MIXNET_SENDER_TAG_LEN], uint64_t stream_id,
                            const ipr_request *request)
{
    /* a client connecting again over a stream gets fresh addresses, as with nym-node */
    exit_client *old = client_by_tag(ipr, tag);
    if (old) client_remove(ipr, old);
    ipr_response response = {
        .version = request->version, .kind = IPR_RESPONSE_CONNECT, .request_id = request->request_id};
    uint16_t host = host_allocate(ipr);
    exit_client *c = host ? client_add(ipr, tag, stream_id, host, request) : NULL;
    if (c) {
        response.connect.success = true;
        host_ipv4(host, response.connect.ipv4);
        host_ipv6(host, response.connect.ipv6);
        response.connect.mtu = ipr->mtu;
        ipr->stats.connects++;
    } else {
        response.connect.failure = IPR_CONNECT_NO_AVAILABLE_IP;
    }
    if (ipr->connect_answers_to_lose > 0) {
        ipr->connect_answers_to_lose--;
        ipr->stats.connect_answers_lost++;
        return;
    }
    frame_send(ipr, tag, stream_id, CONTROL_SEQUENCE, &response);
}

static void disconnect_request(exit_ipr *ipr, const uint8_t tag[MIXNET_SENDER_TAG_LEN], uint64_t stream_id,
                               const ipr_request *request)
{
    exit_client *c = client_by_tag(ipr, tag);
    ipr_response response = {
        .version = request->version, .kind = IPR_RESPONSE_DISCONNECT, .request_id = request->request_id};
    if (c) {
        client_remove(ipr, c);
        response.disconnect.success = true;
        ipr->stats.disconnects++;
    } else {
        response.disconnect.failure = IPR_DISCONNECT_CLIENT_NOT_CONNECTED;
    }
    frame_send(ipr, tag, stream_id, CONTROL_SEQUENCE, &response);
}

static ipr_bytes text(const char *s)
{
    return (ipr_bytes){(const uint8_t *)s, strlen(s)};
}

static void health_request(exit_ipr *ipr, const uint8_t tag[MIXNET_SENDER_TAG_LEN], uint64_t stream_id,
                           const ipr_request *request)
{
    ipr_response response = {
        .version = request->version, .kind = IPR_RESPONSE_HEALTH, .request_id = request->request_id};
    /* nym-node's build information, in wire order; what localnet lacks is empty */
    const char *build_info[IPR_BUILD_INFO_FIELDS] = {"nym-node", "", ipr->build_version, "", "", "localnet",
                                                     "",         "", "release",          ""};
    for (size_t i = 0; i < IPR_BUILD_INFO_FIELDS; i++) response.health.build_info[i] = text(build_info[i]);
    response.health.routable = IPR_ROUTABLE_UNKNOWN;
    frame_send(ipr, tag, stream_id, CONTROL_SEQUENCE, &response);
}

/* A whole message from the mixnet: an LP stream frame carrying a request. */
static void on_message(void *ctx, const mixnet_received *m)
{
    exit_ipr *ipr = ctx;
    lp_frame frame;
    ipr_request request;
    /* v9 and later need a sender tag, and come in stream frames; the
     * raw-message path of older clients is not served here */
    if (m->type != MIXNET_MESSAGE_REPLIABLE || !m->sender_tag || lp_frame_decode(&frame, m->data, m->len) != LP_OK ||
        frame.kind != LP_KIND_SPHINX_STREAM) {
        ipr->stats.requests_refused++;
        return;
    }
    /* an empty frame opens the stream: nothing to keep, nothing to say
     * (the message layer has stored its SURBs); the frame type is not
     * otherwise looked at, as in nym-node */
    if (frame.content_len == 0) return;
    if (ipr_request_decode(&request, frame.content, frame.content_len) != IPR_OK || request.version < LP_VERSION_MIN) {
        ipr->stats.requests_refused++;
        return;
    }
    switch (request.kind) {
    case IPR_REQUEST_DATA:
        data_request(ipr, m->sender_tag, &request);
        break;
    case IPR_REQUEST_CONNECT:
        connect_request(ipr, m->sender_tag, frame.stream_id, &request);
        break;
    case IPR_REQUEST_DISCONNECT:
        disconnect_request(ipr, m->sender_tag, frame.stream_id, &request);
        break;
    case IPR_REQUEST_PING: {
        ipr_response pong = {.version = request.version, .kind = IPR_RESPONSE_PONG, .request_id = request.request_id};
        frame_send(ipr, m->sender_tag, frame.stream_id, CONTROL_SEQUENCE, &pong);
        break;
    }
    case IPR_REQUEST_HEALTH:
        health_request(ipr, m->sender_tag, frame.stream_id, &request);
        break;
    }
}

/* What the small internet sends towards 10.0.0.0/16. */
static void on_internet_output(void *ctx, const uint8_t *packet, size_t len)
{
    exit_ipr *ipr = ctx;
    exit_client *c = NULL;
    if (len >= 20 && packet[0] >> 4 == 4 && packet[16] == ROUTER_IPV4[0] && packet[17] == ROUTER_IPV4[1])
        c = client_by_host(ipr, (uint16_t)(packet[18] << 8 | packet[19]));
    if (!c) {
        ipr->stats.packets_unrouted++;
        return;
    }
    ipr->stats.packets_out++;
    client_bundle(c, packet, len);
}

static void on_packet(void *ctx, const nym_mix_packet *packet)
{
    exit_ipr *ipr = ctx;
    /* a packet the forwarder cannot take is lost, as on a real link */
    forwarder_send(ipr->fw, packet);
}

/* --- the whole */

/* The directory's view as the message layer wants it: the mix layers in
 * order, and every gateway. */
static const localnet_node_info *topology_convert(exit_ipr *ipr, const localnet_topology *t)
{
    const localnet_node_info *exit_gateway = NULL;
    size_t used = 0;
    for (size_t pass = 0; pass <= MIXNET_MIX_LAYERS; pass++) {
        size_t first = used;
        for (size_t i = 0; i < t->count && i < LOCALNET_MAX_NODES; i++) {
            const localnet_node_info *info = &t->nodes[i];
            bool gateway = info->role != LOCALNET_MIXNODE;
            if (pass < MIXNET_MIX_LAYERS ? gateway || info->layer != pass + 1 : !gateway) continue;
            mixnet_node *node = &ipr->nodes[used++];
            nym_node_address address = {.family = 4, .port = info->mix_port, .ip = {127, 0, 0, 1}};
            memcpy(node->identity, info->identity_public, MIXNET_KEY_LEN);
            memcpy(node->hop.public_key, info->sphinx_public, sizeof node->hop.public_key);
            nym_node_address_encode_padded(&address, node->hop.address, SPHINX_NODE_ADDRESS_LEN);
            if (info->role == LOCALNET_EXIT_GATEWAY) exit_gateway = info;
        }
        if (pass < MIXNET_MIX_LAYERS) {
            ipr->topology.layers[pass] = ipr->nodes + first;
            ipr->topology.layer_len[pass] = used - first;
        } else {
            ipr->topology.gateways = ipr->nodes + first;
            ipr->topology.gateway_count = used - first;
        }
    }
    ipr->topology.rotation = nym_key_rotation_of_id(t->rotation_id);
    return exit_gateway;
}

exit_ipr *exit_ipr_create(const exit_ipr_config *config)
{
    exit_ipr *ipr = calloc(1, sizeof *ipr);
    if (!ipr) return NULL;
    ipr->fw = config->forwarder;
    ipr->idle_timeout_ms = config->idle_timeout_ms ? config->idle_timeout_ms : EXIT_IDLE_TIMEOUT_MS;
    ipr->idle_sweep_interval_ms = config->idle_sweep_interval_ms ? config->idle_sweep_interval_ms : EXIT_IDLE_SWEEP_MS;
    ipr->mtu = config->mtu ? config->mtu : EXIT_MTU;
    const localnet_node_info *gateway = topology_convert(ipr, config->topology);
    if (!gateway) {
        free(ipr);
        return NULL;
    }
    memcpy(ipr->build_version, gateway->build_version, sizeof ipr->build_version);
    ipr->build_version[sizeof ipr->build_version - 1] = '\0';

    mixnet_client_config mixnet;
    if (config->mixnet)
        mixnet = *config->mixnet;
    else
        mixnet_client_config_default(&mixnet);
    /* what nym-node sets for the IPR it hosts (config/service_providers.rs) */
    mixnet.disable_poisson_traffic = true;
    mixnet.reply_surb_request_buffer = NYM_NODE_IPR_SURB_BUFFER;
    /* nym-node sends IP data with no retransmission; the message layer has
     * one limit for all of a client's messages, so control answers go
     * unretransmitted too */
    mixnet.maximum_retransmissions = 0;
    mixnet_client_keys keys;
    uint8_t seed[32], identity_secret[64];
    random_bytes(seed, sizeof seed);
    ed25519_keypair_from_seed(keys.identity, identity_secret, seed);
    random_bytes(keys.encryption_secret, sizeof keys.encryption_secret);
    random_bytes(keys.ack_key, sizeof keys.ack_key);
    memcpy(keys.gateway, gateway->identity_public, MIXNET_KEY_LEN);
    secure_zero(seed, sizeof seed);
    secure_zero(identity_secret, sizeof identity_secret);
    mixnet_client_callbacks callbacks = {.ctx = ipr, .send_packet = on_packet, .deliver = on_message};
    ipr->client = mixnet_client_create(&mixnet, &keys, &callbacks, now_ns());
    secure_zero(&keys, sizeof keys);
    if (!ipr->client || mixnet_client_set_topology(ipr->client, &ipr->topology) != 0) {
        exit_ipr_destroy(ipr);
        return NULL;
    }
    mixnet_client_address(ipr->client, &ipr->address);
    if (config->kernel_internet)
        ipr->kernel_internet = kernel_internet_create(config->services, ROUTER_IPV4, CLIENT_PREFIX_LEN, ipr->mtu,
                                                      on_internet_output, ipr);
    else
        ipr->internet =
            exit_internet_create(config->services, ROUTER_IPV4, CLIENT_PREFIX_LEN, ipr->mtu, on_internet_output, ipr);
    if (!ipr->internet && !ipr->kernel_internet) {
        exit_ipr_destroy(ipr);
        return NULL;
    }
    ipr->sweep_timer = platform_timer_start(ipr->idle_sweep_interval_ms, on_sweep_timer, ipr);
    mixnet_schedule(ipr);
    return ipr;
}

void exit_ipr_destroy(exit_ipr *ipr)
{
    if (!ipr) return;
    while (ipr->clients) client_remove(ipr, ipr->clients);
    exit_internet_destroy(ipr->internet);
    kernel_internet_destroy(ipr->kernel_internet);
    platform_timer_cancel(ipr->sweep_timer);
    platform_timer_cancel(ipr->mixnet_timer);
    mixnet_client_destroy(ipr->client);
    free(ipr);
}

void exit_ipr_address(const exit_ipr *ipr, mixnet_recipient *out)
{
    *out = ipr->address;
}

int exit_ipr_address_text(const exit_ipr *ipr, char *out, size_t out_cap)
{
    return mixnet_recipient_format(&ipr->address, out, out_cap);
}

void exit_ipr_deliver(exit_ipr *ipr, const uint8_t *message, size_t len)
{
    mixnet_client_receive(ipr->client, message, len, now_ns());
    mixnet_schedule(ipr);
}

void exit_ipr_lose_connect_answers(exit_ipr *ipr, unsigned count)
{
    ipr->connect_answers_to_lose = count;
}

void exit_ipr_stats_get(const exit_ipr *ipr, exit_ipr_stats *out)
{
    *out = ipr->stats;
    out->clients = ipr->client_count;
    const exit_internet_stats *internet = ipr->kernel_internet ? kernel_internet_get_stats(ipr->kernel_internet)
                                                               : exit_internet_get_stats(ipr->internet);
    out->tcp_relays = internet->tcp_relays;
    out->udp_flows = internet->udp_flows;
    out->tcp_pauses = internet->tcp_pauses;
    mixnet_client_stats_get(ipr->client, &out->mixnet);
}
