/* The IPR client: an LP stream to the exit's IP Packet Router carried in
 * repliable messages, the Connect (v10 with a fall-back to v9, repeated
 * while unanswered), bundles of IP packets both ways in order, and a
 * keepalive IP packet (ipr.md §7, §10). */
#include "crypto/crypto.h"
#include "ipr/ipr.h"
#include "platform/platform.h"
#include "tunnel/tunnel.h"

#include <stdlib.h>
#include <string.h>

#define DATA_VERSION 9
#define FRAME_CAP (LP_HEADER_LEN + 64 + IPR_BUNDLE_TARGET_LEN + IPR_BUNDLE_PREFIX_LEN + IPR_BUNDLE_MAX_PACKET_LEN)

typedef enum { STREAM_IDLE, STREAM_CONNECTING, STREAM_CONNECTED } stream_state;

struct ipr_client {
    ipr_client_config config;
    ipr_client_callbacks callbacks;
    mixnet_client *mx;
    stream_state state;
    uint64_t stream_id;
    uint32_t next_sequence;
    uint64_t connect_request_id;
    uint8_t ipv4[4]; /* ours, from the Connect answer */
    uint16_t keepalive_sequence;
    uint8_t connect_version;
    uint32_t repeat_interval_ms; /* until the next repeat of the Connect */
    uint32_t connect_timer, repeat_timer, fallback_timer, flush_timer, keepalive_timer, reorder_timer;
    ipr_reorder reorder;
    uint64_t reorder_timer_deadline_ms; /* when reorder_timer fires */
    uint8_t bundle[IPR_BUNDLE_TARGET_LEN + IPR_BUNDLE_PREFIX_LEN + IPR_BUNDLE_MAX_PACKET_LEN];
    size_t bundle_len;
    uint8_t frame[FRAME_CAP];
};

void ipr_client_config_default(ipr_client_config *c)
{
    memset(c, 0, sizeof *c);
    c->connect_version = IPR_VERSION_MTU;
    c->open_surbs = 10;
    c->data_surbs = 2;
    c->connect_timeout_ms = 60000;
    c->v9_fallback_ms = 15000;
    c->connect_repeat_ms = 5000;
    c->keepalive_ms = 20000;
    c->reorder_wait_ms = 200;
}

static uint64_t now_ns(void)
{
    return platform_monotonic_ms() * 1000000ull;
}

static uint64_t random_u64(void)
{
    uint64_t v;
    random_bytes((uint8_t *)&v, sizeof v);
    return v;
}

static void cancel_timer(uint32_t *timer)
{
    platform_timer_cancel(*timer);
    *timer = 0;
}

static void on_keepalive_due(void *ctx);

static void restart_keepalive(ipr_client *ic)
{
    cancel_timer(&ic->keepalive_timer);
    if (ic->state == STREAM_CONNECTED)
        ic->keepalive_timer = platform_timer_start(ic->config.keepalive_ms, on_keepalive_due, ic);
}

/* Sends one LP stream frame in a repliable message with reply SURBs. */
static int send_frame(ipr_client *ic, lp_stream_msg_type type, uint32_t sequence, const uint8_t *content,
                      size_t content_len, uint32_t surbs)
{
    lp_frame frame = {.kind = LP_KIND_SPHINX_STREAM, .stream_id = ic->stream_id, .msg_type = type,
                      .sequence = sequence, .content = content, .content_len = content_len};
    size_t len = lp_frame_encode(ic->frame, sizeof ic->frame, &frame);
    if (len == 0) return -1;
    /* the packet's padding would carry zeros: SURBs there cost no bandwidth,
     * and the exit spends one on each packet it sends us */
    uint32_t fitting = mixnet_repliable_surbs_fitting(len);
    if (fitting > surbs) surbs = fitting;
    int err = mixnet_client_send_repliable(ic->mx, &ic->config.ipr, ic->frame, len, surbs, now_ns(), NULL);
    if (err == 0) restart_keepalive(ic);
    return err;
}

static bool request_timestamp(ipr_timestamp *t)
{
    return ipr_timestamp_from_unix(t, (int64_t)platform_unix_time_s(), 0);
}

static int send_request(ipr_client *ic, const ipr_request *request, uint32_t sequence, uint32_t surbs)
{
    uint8_t encoded[IPR_BUNDLE_TARGET_LEN + IPR_BUNDLE_PREFIX_LEN + IPR_BUNDLE_MAX_PACKET_LEN + 64];
    size_t len;
    if (ipr_request_encode(encoded, sizeof encoded, request, &len) != IPR_OK) return -1;
    return send_frame(ic, LP_STREAM_DATA, sequence, encoded, len, surbs);
}

static void on_connect_repeat_due(void *ctx);

/* A Connect with a request id of its own: the exit gives fresh addresses
 * for each, so only the answer to the latest is taken. */
static int send_connect(ipr_client *ic, uint8_t version)
{
    ipr_request request = {.version = version, .kind = IPR_REQUEST_CONNECT, .request_id = random_u64()};
    if (!request_timestamp(&request.timestamp)) return -1;
    ic->connect_request_id = request.request_id;
    ic->connect_version = version;
    /* the Connect always travels as the stream's sequence 0, repeats included */
    if (send_request(ic, &request, 0, ic->config.data_surbs) != 0) return -1;
    cancel_timer(&ic->repeat_timer);
    if (ic->repeat_interval_ms)
        ic->repeat_timer = platform_timer_start(ic->repeat_interval_ms, on_connect_repeat_due, ic);
    return 0;
}

static void reset_stream(ipr_client *ic)
{
    cancel_timer(&ic->connect_timer);
    cancel_timer(&ic->repeat_timer);
    cancel_timer(&ic->fallback_timer);
    cancel_timer(&ic->flush_timer);
    cancel_timer(&ic->keepalive_timer);
    cancel_timer(&ic->reorder_timer);
    ipr_reorder_reset(&ic->reorder);
    ic->bundle_len = 0;
    ic->state = STREAM_IDLE;
}

static void stream_lost(ipr_client *ic, const char *reason)
{
    reset_stream(ic);
    if (ic->callbacks.disconnected) ic->callbacks.disconnected(ic->callbacks.ctx, reason);
}

static void on_connect_timeout(void *ctx)
{
    ipr_client *ic = ctx;
    ic->connect_timer = 0;
    stream_lost(ic, "the exit did not answer the connect request in time");
}

/* The message layer resends a Connect until the exit's gateway has it, but
 * nothing resends the exit's answer: lost, only a new Connect brings one.
 * Each repeat waits twice as long, so that on a network slower than the
 * first interval an answer still gets back before the next repeat. */
static void on_connect_repeat_due(void *ctx)
{
    ipr_client *ic = ctx;
    ic->repeat_timer = 0;
    ic->repeat_interval_ms = ic->repeat_interval_ms > UINT32_MAX / 2 ? UINT32_MAX : ic->repeat_interval_ms * 2;
    if (ic->state == STREAM_CONNECTING && send_connect(ic, ic->connect_version) != 0)
        stream_lost(ic, "could not send the connect request");
}

static void on_fallback_due(void *ctx)
{
    ipr_client *ic = ctx;
    ic->fallback_timer = 0;
    /* exits that do not speak v10 ignore its Connect: ask again in v9 */
    if (ic->state == STREAM_CONNECTING && send_connect(ic, DATA_VERSION) != 0)
        stream_lost(ic, "could not send the connect request");
}

static uint16_t internet_checksum(const uint8_t *data, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)data[i] << 8 | data[i + 1];
    if (len & 1) sum += (uint32_t)data[len - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static int flush_bundle(ipr_client *ic);

/* The exit forgets a client whose last IP packet is 60 s old; its Ping
 * requests do not count (ipr.md §10.3). So the keepalive is an IP packet:
 * an ICMP echo to the exit's own address, 10.0.0.1. */
static void on_keepalive_due(void *ctx)
{
    ipr_client *ic = ctx;
    ic->keepalive_timer = 0;
    uint8_t packet[28] = {0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 1, 0, 0};
    memcpy(packet + 12, ic->ipv4, 4);
    memcpy(packet + 16, (const uint8_t[4]){10, 0, 0, 1}, 4);
    uint16_t sum = internet_checksum(packet, 20);
    packet[10] = (uint8_t)(sum >> 8);
    packet[11] = (uint8_t)sum;
    uint8_t *icmp = packet + 20;
    icmp[0] = 8; /* echo request */
    icmp[6] = (uint8_t)(ic->keepalive_sequence >> 8);
    icmp[7] = (uint8_t)ic->keepalive_sequence++;
    sum = internet_checksum(icmp, 8);
    icmp[2] = (uint8_t)(sum >> 8);
    icmp[3] = (uint8_t)sum;
    if (ipr_client_send_packet(ic, packet, sizeof packet) != 0 || flush_bundle(ic) != 0) restart_keepalive(ic);
}

static void deliver_bundle(void *ctx, const uint8_t *bundle, size_t len)
{
    ipr_client *ic = ctx;
    ipr_bundle_iter iter;
    ipr_bundle_iter_init(&iter, bundle, len);
    const uint8_t *packet;
    size_t packet_len;
    while (ipr_bundle_next(&iter, &packet, &packet_len) == IPR_BUNDLE_PACKET)
        if (ic->callbacks.ip_packet) ic->callbacks.ip_packet(ic->callbacks.ctx, packet, packet_len);
}

static void on_reorder_due(void *ctx);

static void schedule_reorder(ipr_client *ic)
{
    uint64_t deadline = ipr_reorder_deadline_ms(&ic->reorder);
    /* a bundle that joins others waiting mostly leaves the deadline as it was */
    if (ic->reorder_timer && deadline == ic->reorder_timer_deadline_ms) return;
    cancel_timer(&ic->reorder_timer);
    ic->reorder_timer_deadline_ms = deadline;
    if (deadline == UINT64_MAX) return;
    uint64_t now = platform_monotonic_ms();
    ic->reorder_timer = platform_timer_start(deadline > now ? deadline - now : 0, on_reorder_due, ic);
}

static void on_reorder_due(void *ctx)
{
    ipr_client *ic = ctx;
    ic->reorder_timer = 0;
    ipr_reorder_expire(&ic->reorder, platform_monotonic_ms());
    schedule_reorder(ic);
}

ipr_client *ipr_client_create(const ipr_client_config *config, const ipr_client_callbacks *callbacks,
                              mixnet_client *mx)
{
    ipr_client *ic = calloc(1, sizeof *ic);
    if (!ic) return NULL;
    ic->config = *config;
    ic->callbacks = *callbacks;
    ic->mx = mx;
    ipr_reorder_init(&ic->reorder, config->reorder_wait_ms, deliver_bundle, ic);
    return ic;
}

int ipr_client_connect(ipr_client *ic)
{
    reset_stream(ic);
    ic->stream_id = random_u64();
    ic->next_sequence = 1;
    ic->repeat_interval_ms = ic->config.connect_repeat_ms;
    ic->state = STREAM_CONNECTING;
    if (send_frame(ic, LP_STREAM_OPEN, 0, NULL, 0, ic->config.open_surbs) != 0 ||
        send_connect(ic, ic->config.connect_version) != 0) {
        ic->state = STREAM_IDLE;
        return -1;
    }
    ic->connect_timer = platform_timer_start(ic->config.connect_timeout_ms, on_connect_timeout, ic);
    if (ic->connect_version >= IPR_VERSION_MTU)
        ic->fallback_timer = platform_timer_start(ic->config.v9_fallback_ms, on_fallback_due, ic);
    return 0;
}

bool ipr_client_is_connected(const ipr_client *ic)
{
    return ic->state == STREAM_CONNECTED;
}

/* A lost bundle is like a lost IP packet: TCP above resends. */
static int flush_bundle(ipr_client *ic)
{
    cancel_timer(&ic->flush_timer);
    if (ic->bundle_len == 0) return 0;
    ipr_request request = {.version = DATA_VERSION, .kind = IPR_REQUEST_DATA,
                           .ip_packets = {ic->bundle, ic->bundle_len}};
    ic->bundle_len = 0;
    return send_request(ic, &request, ic->next_sequence++, ic->config.data_surbs);
}

static void on_flush_due(void *ctx)
{
    ipr_client *ic = ctx;
    ic->flush_timer = 0;
    (void)flush_bundle(ic);
}

void ipr_client_reorder_stats(const ipr_client *ic, uint64_t *gaps_skipped, uint64_t *late)
{
    *gaps_skipped = ic->reorder.gaps_skipped;
    *late = ic->reorder.late;
}

int ipr_client_send_packet(ipr_client *ic, const uint8_t *packet, size_t len)
{
    if (ic->state != STREAM_CONNECTED || len == 0 || len > IPR_BUNDLE_MAX_PACKET_LEN) return -1;
    if (ic->bundle_len > 0 && ic->bundle_len + IPR_BUNDLE_PREFIX_LEN + len > IPR_BUNDLE_TARGET_LEN)
        (void)flush_bundle(ic);
    if (!ipr_bundle_append(ic->bundle, sizeof ic->bundle, &ic->bundle_len, packet, len)) return -1;
    if (ic->bundle_len >= IPR_BUNDLE_TARGET_LEN)
        (void)flush_bundle(ic);
    else if (!ic->flush_timer)
        /* what the stack emits in one turn of the loop travels together */
        ic->flush_timer = platform_timer_start(0, on_flush_due, ic);
    return 0;
}

static void handle_connect_response(ipr_client *ic, const ipr_response *r)
{
    if (ic->state != STREAM_CONNECTING || r->request_id != ic->connect_request_id) return;
    cancel_timer(&ic->connect_timer);
    cancel_timer(&ic->repeat_timer);
    cancel_timer(&ic->fallback_timer);
    if (!r->connect.success) {
        stream_lost(ic, r->connect.failure == IPR_CONNECT_NO_AVAILABLE_IP ? "the exit has no free address"
                                                                         : "the exit refused the connection");
        return;
    }
    ic->state = STREAM_CONNECTED;
    memcpy(ic->ipv4, r->connect.ipv4, 4);
    restart_keepalive(ic);
    uint16_t mtu = r->version >= IPR_VERSION_MTU ? r->connect.mtu : 0;
    if (ic->callbacks.connected) ic->callbacks.connected(ic->callbacks.ctx, r->connect.ipv4, r->connect.ipv6, mtu);
}

void ipr_client_receive(ipr_client *ic, const mixnet_received *message)
{
    lp_frame frame;
    ipr_response response;
    if (message->type != MIXNET_MESSAGE_REPLY || ic->state == STREAM_IDLE ||
        lp_frame_decode(&frame, message->data, message->len) != LP_OK || frame.kind != LP_KIND_SPHINX_STREAM ||
        frame.stream_id != ic->stream_id ||
        ipr_response_decode(&response, frame.content, frame.content_len) != IPR_OK)
        return;
    switch (response.kind) {
    case IPR_RESPONSE_CONNECT:
        handle_connect_response(ic, &response);
        return;
    case IPR_RESPONSE_DATA:
        if (ic->state != STREAM_CONNECTED) return;
        if (frame.sequence == 0) {
            deliver_bundle(ic, response.ip_packets.data, response.ip_packets.len);
            return;
        }
        /* out of memory: the bundle is lost, as on a congested link */
        (void)ipr_reorder_push(&ic->reorder, frame.sequence, response.ip_packets.data, response.ip_packets.len,
                               platform_monotonic_ms());
        schedule_reorder(ic);
        return;
    case IPR_RESPONSE_DISCONNECT:
    case IPR_RESPONSE_UNREQUESTED_DISCONNECT:
        if (ic->state == STREAM_CONNECTED) stream_lost(ic, "the exit closed the connection");
        return;
    default:
        return;
    }
}

void ipr_client_destroy(ipr_client *ic)
{
    if (!ic) return;
    reset_stream(ic);
    free(ic);
}
