/* Mix nodes and gateway mix ports for localnet. */
#include "mixnet_nodes.h"

#include "conn.h"
#include "crypto/crypto.h"
#include "mixnet/mixnet.h"
#include "platform/platform.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PEERS 64
#define MAX_ALLOWED 64
#define MAX_INBOUND 64
/* nym-node queues at most this many packets per peer */
#define PEER_QUEUE_PACKETS 2000
#define RECONNECT_MIN_MS 200
#define RECONNECT_MAX_MS 5000
#define REPLAY_FILTER_SLOTS 65536

typedef struct {
    nym_node_address addr;
    conn *c;
    uint32_t reconnect_timer;
    uint32_t backoff_ms;
    forwarder *fw;
} peer;

struct forwarder {
    peer peers[MAX_PEERS];
    size_t peer_count;
    nym_node_address allowed[MAX_ALLOWED];
    size_t allowed_count;
};

static bool same_address(const nym_node_address *a, const nym_node_address *b)
{
    size_t ip_len = a->family == 4 ? 4 : 16;
    return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, ip_len) == 0;
}

forwarder *forwarder_create(void)
{
    return calloc(1, sizeof(forwarder));
}

void forwarder_destroy(forwarder *fw)
{
    if (!fw) return;
    for (size_t i = 0; i < fw->peer_count; i++) {
        platform_timer_cancel(fw->peers[i].reconnect_timer);
        conn_free(fw->peers[i].c);
    }
    free(fw);
}

int forwarder_allow(forwarder *fw, const nym_node_address *addr)
{
    if (fw->allowed_count == MAX_ALLOWED) return -1;
    fw->allowed[fw->allowed_count++] = *addr;
    return 0;
}

static void peer_connect(peer *p);

static void on_peer_closed(void *ctx, conn *c)
{
    peer *p = ctx;
    (void)c;
    /* what was queued is lost, as when nym-node loses a connection */
    conn_free(p->c);
    p->c = NULL;
    p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : RECONNECT_MIN_MS;
    if (p->backoff_ms > RECONNECT_MAX_MS) p->backoff_ms = RECONNECT_MAX_MS;
}

static void on_peer_connected(void *ctx, conn *c)
{
    peer *p = ctx;
    (void)c;
    p->backoff_ms = 0;
}

static void on_peer_input(void *ctx, conn *c)
{
    size_t len;
    (void)ctx;
    /* connections carry packets one way: ignore anything the peer sends */
    conn_input(c, &len);
    conn_consume(c, len);
}

static const conn_events PEER_EVENTS = {on_peer_input, on_peer_connected, on_peer_closed};

static void peer_connect(peer *p)
{
    p->c = conn_connect(p->addr.ip, p->addr.port, &PEER_EVENTS, p);
    if (p->c) conn_set_max_queued(p->c, PEER_QUEUE_PACKETS * (NYM_FRAME_MAX_HEADER_LEN + NYM_REGULAR_PACKET_LEN));
}

static void on_reconnect_due(void *ctx)
{
    peer *p = ctx;
    p->reconnect_timer = 0;
    peer_connect(p);
}

static peer *peer_for(forwarder *fw, const nym_node_address *addr)
{
    for (size_t i = 0; i < fw->peer_count; i++)
        if (same_address(&fw->peers[i].addr, addr)) return &fw->peers[i];
    if (fw->peer_count == MAX_PEERS) return NULL;
    peer *p = &fw->peers[fw->peer_count++];
    *p = (peer){.addr = *addr, .fw = fw};
    return p;
}

int forwarder_send(forwarder *fw, const nym_mix_packet *mp)
{
    bool allowed = false;
    for (size_t i = 0; i < fw->allowed_count && !allowed; i++) allowed = same_address(&fw->allowed[i], &mp->next_hop);
    if (!allowed || mp->next_hop.family != 4) return -1;
    peer *p = peer_for(fw, &mp->next_hop);
    if (!p) return -1;
    if (!p->c) {
        if (p->reconnect_timer) return -1; /* backing off: the packet is lost */
        if (p->backoff_ms) {
            p->reconnect_timer = platform_timer_start(p->backoff_ms, on_reconnect_due, p);
            return -1;
        }
        peer_connect(p);
        if (!p->c) return -1;
    }
    /* nym-node's default frame: version 7, without the rotation byte */
    uint8_t header[NYM_FRAME_MAX_HEADER_LEN];
    int header_len = nym_frame_header_encode(NYM_FRAME_VERSION_LEGACY, mp, header, sizeof header);
    if (header_len < 0) return -1;
    if (conn_send(p->c, header, (size_t)header_len) != 0) return -1;
    return conn_send(p->c, mp->packet, mp->packet_len);
}

/* ---- nodes ---- */

typedef struct held_packet {
    struct held_packet *prev, *next;
    mixnet_node_server *node;
    uint32_t timer;
    nym_mix_packet mp;
    uint8_t bytes[];
} held_packet;

struct mixnet_node_server {
    uint8_t sphinx_secret[32];
    forwarder *fw;
    mixnet_deliver_fn deliver;
    void *deliver_ctx;
    listener *l;
    conn *inbound[MAX_INBOUND];
    held_packet *held; /* packets waiting out their delay */
    mixnet_faults faults;
    mixnet_node_stats stats;
    /* replay tags seen, in a fixed table: old entries are overwritten, so
     * a replay long after the original may pass, as with nym-node's
     * per-rotation bloom filters being reset */
    uint8_t (*replay_tags)[8];
};

static double random_unit(void)
{
    uint32_t r;
    random_bytes((uint8_t *)&r, sizeof r);
    return r / 4294967296.0;
}

static bool replay_seen(mixnet_node_server *n, const uint8_t tag[SPHINX_REPLAY_TAG_LEN])
{
    uint32_t slot = ((uint32_t)tag[0] | (uint32_t)tag[1] << 8 | (uint32_t)tag[2] << 16) % REPLAY_FILTER_SLOTS;
    if (memcmp(n->replay_tags[slot], tag + 8, 8) == 0) return true;
    memcpy(n->replay_tags[slot], tag + 8, 8);
    return false;
}

static void release_held(held_packet *h)
{
    mixnet_node_server *n = h->node;
    if (h->prev)
        h->prev->next = h->next;
    else
        n->held = h->next;
    if (h->next) h->next->prev = h->prev;
    free(h);
}

static void on_hold_over(void *ctx)
{
    held_packet *h = ctx;
    h->timer = 0;
    if (forwarder_send(h->node->fw, &h->mp) == 0)
        h->node->stats.forwarded++;
    else
        h->node->stats.dropped++;
    release_held(h);
}

static void hold_and_forward(mixnet_node_server *n, const nym_mix_packet *mp, uint64_t delay_ms)
{
    held_packet *h = malloc(sizeof *h + mp->packet_len);
    if (!h) {
        n->stats.dropped++;
        return;
    }
    memcpy(h->bytes, mp->packet, mp->packet_len);
    h->mp = *mp;
    h->mp.packet = h->bytes;
    h->node = n;
    h->prev = NULL;
    h->next = n->held;
    if (n->held) n->held->prev = h;
    n->held = h;
    h->timer = platform_timer_start(delay_ms, on_hold_over, h);
    if (!h->timer) {
        n->stats.dropped++;
        release_held(h);
    }
}

static void handle_packet(mixnet_node_server *n, const nym_mix_packet *frame)
{
    n->stats.received++;
    if (n->faults.drop_rate > 0 && random_unit() < n->faults.drop_rate) {
        n->stats.dropped++;
        return;
    }
    uint8_t packet[33133];
    if (frame->packet_len > sizeof packet) return;
    memcpy(packet, frame->packet, frame->packet_len);
    mixnet_node_result r;
    if (mixnet_node_process(&r, packet, frame->packet_len, n->sphinx_secret, frame->packet_type, frame->rotation) != 0) {
        n->stats.rejected++;
        return;
    }
    if (replay_seen(n, r.replay_tag)) {
        n->stats.replayed++;
        return;
    }
    if (r.kind == SPHINX_HOP_FINAL) {
        if (!n->deliver) {
            n->stats.rejected++;
            return;
        }
        /* the ack leaves at once, whether the client is there or not */
        if (r.has_ack && forwarder_send(n->fw, &r.ack) != 0) n->stats.dropped++;
        n->deliver(n->deliver_ctx, r.destination, r.client_message, r.client_message_len);
        n->stats.delivered++;
        return;
    }
    uint64_t delay_ms = (r.delay_ns < MIXNET_MAX_FORWARD_DELAY_NS ? r.delay_ns : MIXNET_MAX_FORWARD_DELAY_NS) / 1000000;
    delay_ms += n->faults.extra_delay_ms;
    if (n->faults.reorder_rate > 0 && random_unit() < n->faults.reorder_rate)
        delay_ms += (uint64_t)(random_unit() * n->faults.reorder_max_ms);
    hold_and_forward(n, &r.forward, delay_ms);
    if (n->faults.duplicate_rate > 0 && random_unit() < n->faults.duplicate_rate) hold_and_forward(n, &r.forward, delay_ms + 1);
}

static void on_inbound_input(void *ctx, conn *c)
{
    mixnet_node_server *n = ctx;
    size_t len;
    const uint8_t *in = conn_input(c, &len);
    size_t used = 0;
    for (;;) {
        nym_mix_packet frame;
        int frame_len = nym_frame_decode(&frame, in + used, len - used);
        if (frame_len == 0) break;
        if (frame_len < 0) {
            /* nym-node drops the whole connection on a bad frame */
            n->stats.rejected++;
            conn_consume(c, len);
            conn_close_after_flush(c);
            return;
        }
        handle_packet(n, &frame);
        used += (size_t)frame_len;
    }
    conn_consume(c, used);
}

static void on_inbound_closed(void *ctx, conn *c)
{
    mixnet_node_server *n = ctx;
    for (size_t i = 0; i < MAX_INBOUND; i++)
        if (n->inbound[i] == c) n->inbound[i] = NULL;
    conn_free(c);
}

static const conn_events INBOUND_EVENTS = {on_inbound_input, NULL, on_inbound_closed};

static void on_accept(void *ctx, int fd)
{
    mixnet_node_server *n = ctx;
    for (size_t i = 0; i < MAX_INBOUND; i++) {
        if (!n->inbound[i]) {
            n->inbound[i] = conn_adopt(fd, &INBOUND_EVENTS, n);
            if (n->inbound[i]) return;
            break;
        }
    }
    close(fd);
}

mixnet_node_server *mixnet_node_start(uint16_t port, const uint8_t sphinx_secret[32], forwarder *fw,
                                      mixnet_deliver_fn deliver, void *deliver_ctx)
{
    mixnet_node_server *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->replay_tags = calloc(REPLAY_FILTER_SLOTS, sizeof *n->replay_tags);
    memcpy(n->sphinx_secret, sphinx_secret, 32);
    n->fw = fw;
    n->deliver = deliver;
    n->deliver_ctx = deliver_ctx;
    n->l = n->replay_tags ? listener_open(port, on_accept, n) : NULL;
    if (!n->l) {
        free(n->replay_tags);
        free(n);
        return NULL;
    }
    return n;
}

uint16_t mixnet_node_port(const mixnet_node_server *n)
{
    return listener_port(n->l);
}

void mixnet_node_set_faults(mixnet_node_server *n, const mixnet_faults *faults)
{
    n->faults = *faults;
}

const mixnet_node_stats *mixnet_node_get_stats(const mixnet_node_server *n)
{
    return &n->stats;
}

void mixnet_node_stop(mixnet_node_server *n)
{
    if (!n) return;
    listener_close(n->l);
    for (size_t i = 0; i < MAX_INBOUND; i++) conn_free(n->inbound[i]);
    while (n->held) {
        platform_timer_cancel(n->held->timer);
        release_held(n->held);
    }
    secure_zero(n->sphinx_secret, sizeof n->sphinx_secret);
    free(n->replay_tags);
    free(n);
}
