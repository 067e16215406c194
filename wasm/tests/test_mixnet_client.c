/* Clients talking over a whole Nym network simulated in this process:
 * three mix layers of two nodes, two gateways, two clients. Time is a
 * number the simulation advances from event to event (packet arrivals and
 * the clients' own deadlines), so seconds of mixnet traffic take only the
 * CPU time of their cryptography. Links can drop, duplicate and delay
 * (hence reorder) packets. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mixnet/mixnet.h"

#define MS 1000000ull
#define SECOND 1000000000ull
#define LINK_LATENCY_NS (1 * MS)
#define NODES_PER_LAYER 2
#define GATEWAYS 2
#define CLIENTS 2

typedef enum { EVENT_AT_NODE, EVENT_TO_CLIENT } event_kind;

typedef struct {
    uint64_t time;
    uint64_t seq; /* arrival order breaks ties */
    event_kind kind;
    nym_node_address address; /* at a node */
    size_t client;             /* to a client */
    nym_key_rotation rotation;
    uint8_t *data;
    size_t len;
} sim_event;

typedef struct {
    mixnet_message_type type;
    bool has_tag;
    uint8_t tag[MIXNET_SENDER_TAG_LEN];
    uint8_t *data;
    size_t len;
} sim_received;

struct sim;

typedef struct {
    struct sim *net;
    mixnet_client *client;
    mixnet_client_keys keys;
    sim_received *inbox;
    size_t inbox_count;
    size_t acknowledged, failed; /* message_sent reports */
    uint64_t last_failed_id;
} sim_client;

typedef struct {
    uint8_t secret[32];
    mixnet_node node;
    nym_node_address address;
} sim_node;

typedef struct sim {
    uint64_t now;
    sim_node mixes[MIXNET_MIX_LAYERS][NODES_PER_LAYER];
    sim_node gateways[GATEWAYS];
    mixnet_node layer_nodes[MIXNET_MIX_LAYERS][NODES_PER_LAYER];
    mixnet_node gateway_nodes[GATEWAYS];
    mixnet_topology topology;
    sim_client clients[CLIENTS];
    sim_event *events;
    size_t event_count, event_capacity;
    uint64_t seq;
    /* faults, in per mille per link */
    unsigned drop, duplicate, reorder;
    bool drop_acks;       /* every Ack-class packet is lost */
    bool drop_all;        /* a network that loses everything */
    uint32_t rng;
    /* what happened */
    size_t node_errors, acks_dropped;
    /* tampering: flip packet byte tamper_offset of the first packet a client sends */
    bool tamper_pending;
    size_t tamper_offset;
} sim;

static uint32_t sim_random(sim *s)
{
    /* xorshift: the fault pattern of a run is fixed, so results do not depend on luck */
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 17;
    s->rng ^= s->rng << 5;
    return s->rng;
}

static bool per_mille(sim *s, unsigned rate)
{
    return rate && sim_random(s) % 1000 < rate;
}

static void event_push(sim *s, sim_event e)
{
    if (s->event_count == s->event_capacity) {
        s->event_capacity = s->event_capacity ? 2 * s->event_capacity : 256;
        s->events = realloc(s->events, s->event_capacity * sizeof *s->events);
    }
    e.seq = s->seq++;
    size_t i = s->event_count++;
    while (i > 0) {
        sim_event *parent = &s->events[(i - 1) / 2];
        if (parent->time < e.time || (parent->time == e.time && parent->seq < e.seq)) break;
        s->events[i] = *parent;
        i = (i - 1) / 2;
    }
    s->events[i] = e;
}

static bool event_before(const sim_event *a, const sim_event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static sim_event event_pop(sim *s)
{
    sim_event top = s->events[0], last = s->events[--s->event_count];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->event_count) break;
        if (c + 1 < s->event_count && event_before(&s->events[c + 1], &s->events[c])) c++;
        if (!event_before(&s->events[c], &last)) break;
        s->events[i] = s->events[c];
        i = c;
    }
    if (s->event_count) s->events[i] = last;
    return top;
}

/* Puts bytes on a link: lost, late or twice as the faults say. The
 * faults hit packets on their way to nodes; a gateway's WebSocket to its
 * client is reliable and ordered (the gateway releases the SURB-ack when it
 * takes the packet, so a loss after it would lose the message for good). */
static void link_send(sim *s, sim_event e, const uint8_t *data, size_t len, uint64_t delay_ns)
{
    bool faulty = e.kind == EVENT_AT_NODE;
    if (faulty && (s->drop_all || per_mille(s, s->drop))) return;
    if (faulty && s->drop_acks && len == NYM_ACK_PACKET_LEN) {
        s->acks_dropped++;
        return;
    }
    size_t copies = faulty && per_mille(s, s->duplicate) ? 2 : 1;
    for (size_t i = 0; i < copies; i++) {
        sim_event copy = e;
        copy.time = s->now + delay_ns + LINK_LATENCY_NS;
        if (faulty && per_mille(s, s->reorder)) copy.time += sim_random(s) % (20 * MS);
        copy.data = malloc(len);
        memcpy(copy.data, data, len);
        copy.len = len;
        event_push(s, copy);
    }
}

static void packet_to_node(sim *s, const nym_mix_packet *mp, uint64_t delay_ns)
{
    sim_event e = {.kind = EVENT_AT_NODE, .address = mp->next_hop, .rotation = mp->rotation};
    link_send(s, e, mp->packet, mp->packet_len, delay_ns);
}

/* --- client callbacks */

static void on_send_packet(void *ctx, const nym_mix_packet *mp)
{
    sim_client *c = ctx;
    sim *s = c->net;
    if (s->tamper_pending) {
        s->tamper_pending = false;
        uint8_t *copy = malloc(mp->packet_len);
        memcpy(copy, mp->packet, mp->packet_len);
        copy[s->tamper_offset % mp->packet_len] ^= 0x01;
        nym_mix_packet tampered = *mp;
        tampered.packet = copy;
        packet_to_node(s, &tampered, 0);
        free(copy);
        return;
    }
    /* the entry gateway passes the packet on unprocessed */
    packet_to_node(s, mp, LINK_LATENCY_NS);
}

static void on_deliver(void *ctx, const mixnet_received *m)
{
    sim_client *c = ctx;
    c->inbox = realloc(c->inbox, (c->inbox_count + 1) * sizeof *c->inbox);
    sim_received *r = &c->inbox[c->inbox_count++];
    r->type = m->type;
    r->has_tag = m->sender_tag != NULL;
    if (r->has_tag) memcpy(r->tag, m->sender_tag, MIXNET_SENDER_TAG_LEN);
    r->data = malloc(m->len ? m->len : 1);
    if (m->len) memcpy(r->data, m->data, m->len);
    r->len = m->len;
}

static void on_message_sent(void *ctx, uint64_t id, bool acknowledged)
{
    sim_client *c = ctx;
    if (acknowledged) {
        c->acknowledged++;
    } else {
        c->failed++;
        c->last_failed_id = id;
    }
}

/* --- the network */

static void node_make(sim_node *n, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    memset(n, 0, sizeof *n);
    random_bytes(n->secret, sizeof n->secret);
    random_bytes(n->node.identity, sizeof n->node.identity);
    x25519_public_key(n->node.hop.public_key, n->secret);
    n->address = (nym_node_address){.family = 4, .port = 1789, .ip = {a, b, c, d}};
    nym_node_address_encode_padded(&n->address, n->node.hop.address, SPHINX_NODE_ADDRESS_LEN);
}

static void sim_client_start(sim *s, size_t i, const mixnet_client_config *config)
{
    sim_client *c = &s->clients[i];
    c->net = s;
    random_bytes(c->keys.identity, sizeof c->keys.identity);
    random_bytes(c->keys.encryption_secret, sizeof c->keys.encryption_secret);
    random_bytes(c->keys.ack_key, sizeof c->keys.ack_key);
    memcpy(c->keys.gateway, s->gateways[i % GATEWAYS].node.identity, MIXNET_KEY_LEN);
    mixnet_client_callbacks callbacks = {c, on_send_packet, on_deliver, on_message_sent};
    c->client = mixnet_client_create(config, &c->keys, &callbacks, s->now);
    mixnet_client_set_topology(c->client, &s->topology);
}

static sim *sim_create(const mixnet_client_config *config)
{
    sim *s = calloc(1, sizeof *s);
    s->now = 1000 * SECOND;
    s->rng = 0x12345678;
    for (uint8_t l = 0; l < MIXNET_MIX_LAYERS; l++) {
        for (uint8_t i = 0; i < NODES_PER_LAYER; i++) {
            node_make(&s->mixes[l][i], 10, 0, (uint8_t)(l + 1), (uint8_t)(i + 1));
            s->layer_nodes[l][i] = s->mixes[l][i].node;
        }
        s->topology.layers[l] = s->layer_nodes[l];
        s->topology.layer_len[l] = NODES_PER_LAYER;
    }
    for (uint8_t g = 0; g < GATEWAYS; g++) {
        node_make(&s->gateways[g], 127, 0, 0, (uint8_t)(g + 1));
        s->gateway_nodes[g] = s->gateways[g].node;
    }
    s->topology.gateways = s->gateway_nodes;
    s->topology.gateway_count = GATEWAYS;
    s->topology.rotation = NYM_ROTATION_ODD;
    for (size_t i = 0; i < CLIENTS; i++) sim_client_start(s, i, config);
    return s;
}

static void sim_destroy(sim *s)
{
    for (size_t i = 0; i < s->event_count; i++) free(s->events[i].data);
    free(s->events);
    for (size_t i = 0; i < CLIENTS; i++) {
        sim_client *c = &s->clients[i];
        mixnet_client_destroy(c->client);
        for (size_t k = 0; k < c->inbox_count; k++) free(c->inbox[k].data);
        free(c->inbox);
    }
    free(s);
}

static sim_node *node_at(sim *s, const nym_node_address *a)
{
    for (size_t l = 0; l < MIXNET_MIX_LAYERS; l++)
        for (size_t i = 0; i < NODES_PER_LAYER; i++)
            if (memcmp(&s->mixes[l][i].address, a, sizeof *a) == 0) return &s->mixes[l][i];
    for (size_t g = 0; g < GATEWAYS; g++)
        if (memcmp(&s->gateways[g].address, a, sizeof *a) == 0) return &s->gateways[g];
    return NULL;
}

static void node_receive(sim *s, sim_event *e)
{
    sim_node *n = node_at(s, &e->address);
    mixnet_node_result r;
    if (!n || mixnet_node_process(&r, e->data, e->len, n->secret, NYM_PACKET_TYPE_SPHINX, e->rotation) < 0) {
        s->node_errors++;
        return;
    }
    if (r.kind == SPHINX_HOP_FORWARD) {
        packet_to_node(s, &r.forward, r.delay_ns);
        return;
    }
    if (r.has_ack) packet_to_node(s, &r.ack, 0);
    for (size_t i = 0; i < CLIENTS; i++) {
        if (s->clients[i].client && memcmp(s->clients[i].keys.identity, r.destination, 32) == 0) {
            sim_event push = {.kind = EVENT_TO_CLIENT, .client = i};
            link_send(s, push, r.client_message, r.client_message_len, 0);
        }
    }
}

/* Runs events and client deadlines in time order until done(s) holds or
 * the clock passes `until`. */
static bool sim_run(sim *s, bool (*done)(sim *), uint64_t until)
{
    while (!done(s)) {
        uint64_t next_client = UINT64_MAX;
        for (size_t i = 0; i < CLIENTS; i++) {
            if (!s->clients[i].client) continue;
            uint64_t d = mixnet_client_next_deadline_ns(s->clients[i].client);
            next_client = d < next_client ? d : next_client;
        }
        uint64_t next_event = s->event_count ? s->events[0].time : UINT64_MAX;
        uint64_t next = next_event < next_client ? next_event : next_client;
        if (next > until) {
            s->now = until;
            return false;
        }
        if (next > s->now) s->now = next;
        if (next_event <= next_client) {
            sim_event e = event_pop(s);
            if (e.kind == EVENT_AT_NODE) {
                node_receive(s, &e);
            } else if (s->clients[e.client].client) {
                mixnet_client_receive(s->clients[e.client].client, e.data, e.len, s->now);
            }
            free(e.data);
        } else {
            for (size_t i = 0; i < CLIENTS; i++)
                if (s->clients[i].client && mixnet_client_next_deadline_ns(s->clients[i].client) <= s->now)
                    mixnet_client_process_deadlines(s->clients[i].client, s->now);
        }
    }
    return true;
}

static uint8_t *pattern(size_t len, uint8_t seed)
{
    uint8_t *p = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(i * 131 + (i >> 9) + seed);
    return p;
}

static mixnet_recipient address_of(const sim *s, size_t i)
{
    mixnet_recipient r;
    mixnet_client_address(s->clients[i].client, &r);
    return r;
}

static bool received_equals(const sim_received *r, const uint8_t *data, size_t len)
{
    return r->len == len && (len == 0 || memcmp(r->data, data, len) == 0);
}

/* what the runs wait for */
static size_t want_inbox[CLIENTS], want_acknowledged[CLIENTS];

static bool inboxes_and_acks_reached(sim *s)
{
    for (size_t i = 0; i < CLIENTS; i++)
        if (s->clients[i].inbox_count < want_inbox[i] || s->clients[i].acknowledged < want_acknowledged[i])
            return false;
    return true;
}

static bool run_until_counts(sim *s, size_t inbox_a, size_t inbox_b, size_t acked_a, size_t acked_b, uint64_t limit)
{
    want_inbox[0] = inbox_a;
    want_inbox[1] = inbox_b;
    want_acknowledged[0] = acked_a;
    want_acknowledged[1] = acked_b;
    return sim_run(s, inboxes_and_acks_reached, s->now + limit);
}

static bool never(sim *s)
{
    (void)s;
    return false;
}

/* --- tests */

/* Packets go out as soon as there is something to send, and no cover. */
static mixnet_client_config immediate_config(void)
{
    mixnet_client_config config;
    mixnet_client_config_default(&config);
    config.disable_cover_traffic = true;
    config.disable_poisson_traffic = true;
    return config;
}

/* A sends a repliable message to B through the mixnet; B answers through
 * A's reply SURBs with the same bytes. Both arrive whole and once, and
 * both sides see their message acknowledged. */
static void round_trip(size_t len, uint32_t surbs, bool poisson)
{
    mixnet_client_config config;
    mixnet_client_config_default(&config);
    config.disable_poisson_traffic = !poisson;
    config.disable_cover_traffic = !poisson;
    sim *s = sim_create(&config);
    uint8_t *data = pattern(len, (uint8_t)len);
    mixnet_recipient b = address_of(s, 1);
    uint64_t id = 0;
    CHECK(mixnet_client_send_repliable(s->clients[0].client, &b, data, len, surbs, s->now, &id) == 0 && id != 0);
    bool arrived = run_until_counts(s, 0, 1, 1, 0, 600 * SECOND);
    CHECK(arrived && s->clients[1].inbox_count == 1);
    if (arrived) {
        sim_received *r = &s->clients[1].inbox[0];
        CHECK(r->type == MIXNET_MESSAGE_REPLIABLE && r->has_tag && received_equals(r, data, len));
        CHECK(mixnet_client_send_reply(s->clients[1].client, r->tag, data, len, s->now, &id) == 0);
        bool back = run_until_counts(s, 1, 1, 1, 1, 900 * SECOND);
        CHECK(back && s->clients[0].inbox_count == 1);
        if (back) {
            sim_received *reply = &s->clients[0].inbox[0];
            CHECK(reply->type == MIXNET_MESSAGE_REPLY && !reply->has_tag && received_equals(reply, data, len));
        }
        /* nothing more arrives later, and nothing stays unacknowledged */
        sim_run(s, never, s->now + 2 * SECOND);
        mixnet_client_stats stats_a, stats_b;
        mixnet_client_stats_get(s->clients[0].client, &stats_a);
        mixnet_client_stats_get(s->clients[1].client, &stats_b);
        CHECK(s->clients[0].inbox_count == 1 && s->clients[1].inbox_count == 1);
        CHECK(stats_a.fragments_unacknowledged == 0 && stats_b.fragments_unacknowledged == 0);
        CHECK(stats_a.invalid_received == 0 && stats_b.invalid_received == 0 && s->node_errors == 0);
        CHECK(s->clients[0].failed == 0 && s->clients[1].failed == 0);
    }
    free(data);
    sim_destroy(s);
}

void test_mixnet_round_trip(void)
{
    round_trip(1, 20, true);
    round_trip(1604, 20, true);
    round_trip(1605, 20, true);
    round_trip(100 * 1024, 20, true);
    /* 1308 fragments each way: 6 linked sets; B asks A for SURBs again and again */
    round_trip(2 * 1024 * 1024, 20, false);

    /* plain messages, both ways, and the one-fragment boundary of a plain message */
    mixnet_client_config config;
    mixnet_client_config_default(&config);
    config.disable_cover_traffic = true;
    sim *s = sim_create(&config);
    mixnet_recipient a = address_of(s, 0), b = address_of(s, 1);
    uint8_t *one = pattern(1602, 1), *two = pattern(1603, 2);
    CHECK(mixnet_client_send_plain(s->clients[0].client, &b, one, 1602, s->now, NULL) == 0);
    CHECK(mixnet_client_send_plain(s->clients[0].client, &b, two, 1603, s->now, NULL) == 0);
    CHECK(mixnet_client_send_plain(s->clients[1].client, &a, NULL, 0, s->now, NULL) == 0);
    CHECK(run_until_counts(s, 1, 2, 2, 1, 60 * SECOND));
    CHECK(s->clients[1].inbox_count == 2 && s->clients[0].inbox_count == 1);
    if (s->clients[1].inbox_count == 2) {
        /* the order of arrival is the mixnet's */
        sim_received *r0 = &s->clients[1].inbox[0], *r1 = &s->clients[1].inbox[1];
        bool first_is_one = r0->len == 1602;
        CHECK(received_equals(first_is_one ? r0 : r1, one, 1602) && received_equals(first_is_one ? r1 : r0, two, 1603));
        CHECK(r0->type == MIXNET_MESSAGE_PLAIN && !r0->has_tag);
    }
    if (s->clients[0].inbox_count == 1) CHECK(s->clients[0].inbox[0].len == 0);
    mixnet_client_stats stats;
    mixnet_client_stats_get(s->clients[0].client, &stats);
    CHECK(stats.real_packets_sent == 3 && stats.retransmissions == 0);
    free(one);
    free(two);
    sim_destroy(s);
}

/* 10 % of packets lost, 10 % duplicated, 10 % delayed out of order, on
 * every link: retransmission gets every message through, exactly once. */
void test_mixnet_lossy(void)
{
    mixnet_client_config config = immediate_config();
    sim *s = sim_create(&config);
    s->drop = 100;
    s->duplicate = 100;
    s->reorder = 100;
    mixnet_recipient b = address_of(s, 1);
    static const size_t sizes[] = {1, 1605, 20000, 300};
    uint8_t *data[4];
    for (size_t i = 0; i < 4; i++) {
        data[i] = pattern(sizes[i], (uint8_t)(40 + i));
        CHECK(mixnet_client_send_repliable(s->clients[0].client, &b, data[i], sizes[i], 30, s->now, NULL) == 0);
    }
    CHECK(run_until_counts(s, 0, 4, 4, 0, 600 * SECOND));
    CHECK(s->clients[1].inbox_count == 4);
    /* B answers each through the SURBs, on the same lossy network */
    for (size_t k = 0; k < s->clients[1].inbox_count && k < 4; k++) {
        sim_received *r = &s->clients[1].inbox[k];
        size_t which = 4;
        for (size_t i = 0; i < 4; i++)
            if (received_equals(r, data[i], sizes[i])) which = i;
        CHECK(which < 4 && r->has_tag);
        if (which < 4) CHECK(mixnet_client_send_reply(s->clients[1].client, r->tag, r->data, r->len, s->now, NULL) == 0);
    }
    CHECK(run_until_counts(s, 4, 4, 4, 4, 900 * SECOND));
    sim_run(s, never, s->now + 30 * SECOND);
    CHECK(s->clients[0].inbox_count == 4 && s->clients[1].inbox_count == 4);
    bool all_back = true;
    for (size_t i = 0; i < 4; i++) {
        size_t copies = 0;
        for (size_t k = 0; k < s->clients[0].inbox_count; k++)
            copies += received_equals(&s->clients[0].inbox[k], data[i], sizes[i]);
        all_back = all_back && copies == 1;
    }
    CHECK(all_back);
    mixnet_client_stats a, bs;
    mixnet_client_stats_get(s->clients[0].client, &a);
    mixnet_client_stats_get(s->clients[1].client, &bs);
    CHECK(a.retransmissions > 0 && bs.retransmissions > 0);
    CHECK(a.fragments_unacknowledged == 0 && bs.fragments_unacknowledged == 0);
    CHECK(s->clients[0].failed == 0 && s->clients[1].failed == 0);
    for (size_t i = 0; i < 4; i++) free(data[i]);
    sim_destroy(s);
}

static bool b_has_one(sim *s)
{
    return s->clients[1].inbox_count >= 1;
}

/* An ack ends retransmission; without acks the fragment goes again after
 * round trip × 1.5 + 1.5 s, and the copies are dropped by the receiver. */
void test_mixnet_acks(void)
{
    mixnet_client_config config = immediate_config();
    sim *s = sim_create(&config);
    mixnet_recipient b = address_of(s, 1);
    uint8_t *data = pattern(3000, 9);
    uint64_t sent_at = s->now;
    CHECK(mixnet_client_send_plain(s->clients[0].client, &b, data, 3000, s->now, NULL) == 0);
    mixnet_client_stats st;
    mixnet_client_stats_get(s->clients[0].client, &st);
    CHECK(st.real_packets_sent == 2 && st.fragments_unacknowledged == 2);
    /* a timer per fragment, due in 1.5 s plus 1.5 × the expected delays */
    uint64_t deadline = mixnet_client_next_deadline_ns(s->clients[0].client);
    CHECK(deadline > sent_at + 1500 * MS && deadline < sent_at + 3 * SECOND);
    CHECK(run_until_counts(s, 0, 1, 1, 0, 10 * SECOND));
    mixnet_client_stats_get(s->clients[0].client, &st);
    CHECK(st.acks_received == 2 && st.fragments_unacknowledged == 0);
    CHECK(mixnet_client_next_deadline_ns(s->clients[0].client) == UINT64_MAX);
    sim_run(s, never, s->now + 20 * SECOND);
    mixnet_client_stats_get(s->clients[0].client, &st);
    CHECK(st.retransmissions == 0 && st.real_packets_sent == 2);

    /* now every ack is lost: the fragments go again and again, B keeps one copy */
    s->drop_acks = true;
    sent_at = s->now;
    CHECK(mixnet_client_send_plain(s->clients[0].client, &b, data, 3000, s->now, NULL) == 0);
    sim_run(s, never, s->now + 10 * SECOND);
    mixnet_client_stats_get(s->clients[0].client, &st);
    CHECK(st.retransmissions >= 8 && st.retransmissions <= 14 && s->acks_dropped >= st.retransmissions);
    CHECK(st.fragments_unacknowledged == 2 && s->clients[1].inbox_count == 2);
    mixnet_client_stats b_stats;
    mixnet_client_stats_get(s->clients[1].client, &b_stats);
    CHECK(b_stats.fragments_received >= 8 && b_stats.messages_delivered == 2);
    /* acks flow again: the next retransmission's ack ends it */
    s->drop_acks = false;
    CHECK(run_until_counts(s, 0, 2, 2, 0, 10 * SECOND));
    uint64_t retransmissions = st.retransmissions;
    sim_run(s, never, s->now + 10 * SECOND);
    mixnet_client_stats_get(s->clients[0].client, &st);
    CHECK(st.fragments_unacknowledged == 0 && st.retransmissions <= retransmissions + 2);
    CHECK(s->clients[1].inbox_count == 2 && received_equals(&s->clients[1].inbox[1], data, 3000));

    /* a limit on retransmissions: the message is reported lost */
    sim_destroy(s);
    config.maximum_retransmissions = 2;
    s = sim_create(&config);
    s->drop_all = true;
    b = address_of(s, 1);
    uint64_t id = 0;
    CHECK(mixnet_client_send_plain(s->clients[0].client, &b, data, 10, s->now, &id) == 0);
    sim_run(s, never, s->now + 60 * SECOND);
    mixnet_client_stats_get(s->clients[0].client, &st);
    CHECK(st.real_packets_sent == 3 && st.retransmissions == 2 && st.fragments_unacknowledged == 0);
    CHECK(s->clients[0].failed == 1 && s->clients[0].last_failed_id == id && s->clients[0].acknowledged == 0);
    free(data);
    sim_destroy(s);
}

static bool covers_back(sim *s)
{
    mixnet_client_stats st;
    mixnet_client_stats_get(s->clients[0].client, &st);
    return st.cover_packets_received >= 50 && st.cover_acks_received >= 50;
}

/* The two streams: loop cover alone, the main Poisson stream where real
 * packets take cover's place, both off. */
void test_mixnet_cover_traffic(void)
{
    mixnet_client_config config;
    mixnet_client_config_default(&config);
    config.disable_poisson_traffic = true;
    sim *s = sim_create(&config);
    mixnet_client_destroy(s->clients[1].client);
    s->clients[1].client = NULL;
    /* loop cover comes back to us, and its ack too; both are told apart from data */
    sim_run(s, never, s->now + 20 * SECOND);
    CHECK(covers_back(s));
    mixnet_client_stats st;
    mixnet_client_stats_get(s->clients[0].client, &st);
    CHECK(st.messages_delivered == 0 && st.invalid_received == 0 && st.fragments_received == 0);
    CHECK(st.real_packets_sent == 0 && st.acks_received == 0 && s->clients[0].inbox_count == 0);
    /* about 5 a second: 100 expected, 60..140 is four standard deviations */
    CHECK(st.cover_packets_sent >= 60 && st.cover_packets_sent <= 140);
    sim_destroy(s);

    /* the main stream alone: about 50 packets a second, counted without a network */
    config.disable_poisson_traffic = false;
    config.disable_cover_traffic = true;
    s = sim_create(&config);
    s->drop_all = true;
    mixnet_client *c = s->clients[0].client;
    mixnet_client_destroy(s->clients[1].client);
    s->clients[1].client = NULL;
    sim_run(s, never, s->now + 4 * SECOND);
    mixnet_client_stats_get(c, &st);
    CHECK(st.cover_packets_sent >= 140 && st.cover_packets_sent <= 260 && st.real_packets_sent == 0);
    /* a queued message takes the next slots, one packet a tick, no cover in between */
    mixnet_recipient self = address_of(s, 0);
    uint8_t *data = pattern(20 * 1604, 3);
    CHECK(mixnet_client_send_plain(c, &self, data, 20 * 1604 - 2, s->now, NULL) == 0);
    uint64_t covers = st.cover_packets_sent;
    mixnet_client_stats_get(c, &st);
    CHECK(st.real_packets_sent == 0 && st.fragments_unacknowledged == 20);
    bool one_per_tick = true;
    for (size_t tick = 1; tick <= 20; tick++) {
        uint64_t next = mixnet_client_next_deadline_ns(c);
        one_per_tick = one_per_tick && next > s->now && next < s->now + SECOND;
        s->now = next;
        mixnet_client_process_deadlines(c, s->now);
        mixnet_client_stats_get(c, &st);
        one_per_tick = one_per_tick && st.real_packets_sent == tick && st.cover_packets_sent == covers;
    }
    CHECK(one_per_tick);
    s->now = mixnet_client_next_deadline_ns(c);
    mixnet_client_process_deadlines(c, s->now);
    mixnet_client_stats_get(c, &st);
    CHECK(st.real_packets_sent == 20 && st.cover_packets_sent == covers + 1);
    free(data);

    /* a loop that gets to each tick 5 ms late still sends at the stream's
     * rate: 2,000 expected in 40 s (1,600 if each gap counted from the late
     * tick); 4 standard deviations below is 1,820 */
    uint64_t before = st.cover_packets_sent + st.real_packets_sent, end = s->now + 40 * SECOND;
    while (s->now < end) {
        s->now = mixnet_client_next_deadline_ns(c) + 5 * MS;
        mixnet_client_process_deadlines(c, s->now);
    }
    mixnet_client_stats_get(c, &st);
    uint64_t ticks = st.cover_packets_sent + st.real_packets_sent - before;
    CHECK(ticks >= 1820 && ticks <= 2180);
    sim_destroy(s);

    /* both off: an idle client never asks to be woken */
    config.disable_poisson_traffic = true;
    config.disable_cover_traffic = true;
    s = sim_create(&config);
    CHECK(mixnet_client_next_deadline_ns(s->clients[0].client) == UINT64_MAX);
    mixnet_client_process_deadlines(s->clients[0].client, s->now + 100 * SECOND);
    mixnet_client_stats_get(s->clients[0].client, &st);
    CHECK(st.cover_packets_sent == 0 && s->event_count == 0);
    sim_destroy(s);
}

/* Reply SURBs run short: B keeps 10 in reserve, asks A for more with one of
 * them, and sends the rest of its reply when they come. */
void test_mixnet_surb_requests(void)
{
    mixnet_client_config config = immediate_config();
    sim *s = sim_create(&config);
    mixnet_recipient b = address_of(s, 1);
    CHECK(mixnet_client_send_repliable(s->clients[0].client, &b, (const uint8_t *)"hi", 2, 12, s->now, NULL) == 0);
    CHECK(sim_run(s, b_has_one, s->now + 10 * SECOND));
    uint8_t unknown_tag[16] = {0};
    CHECK(mixnet_client_send_reply(s->clients[1].client, unknown_tag, (const uint8_t *)"x", 1, s->now, NULL) ==
          MIXNET_ERR_NO_SURBS);
    if (s->clients[1].inbox_count == 1) {
        const uint8_t *tag = s->clients[1].inbox[0].tag;
        CHECK(mixnet_client_send_reply(s->clients[1].client, tag, NULL, 0, s->now, NULL) == MIXNET_ERR_LENGTH);
        uint8_t *data = pattern(5 * 1604 - 10, 5);
        CHECK(mixnet_client_send_reply(s->clients[1].client, tag, data, 5 * 1604 - 10, s->now, NULL) == 0);
        mixnet_client_stats st;
        mixnet_client_stats_get(s->clients[1].client, &st);
        /* two fragments go at once (12 - 10), one SURB goes on the request, three wait */
        CHECK(st.real_packets_sent == 3 && st.surb_requests_sent == 1 && st.fragments_unacknowledged == 6);
        CHECK(run_until_counts(s, 1, 1, 0, 1, 30 * SECOND));
        if (s->clients[0].inbox_count == 1) CHECK(received_equals(&s->clients[0].inbox[0], data, 5 * 1604 - 10));
        mixnet_client_stats a_stats;
        mixnet_client_stats_get(s->clients[0].client, &a_stats);
        CHECK(a_stats.surb_requests_answered == 1);
        free(data);
    }
    sim_run(s, never, s->now + 5 * SECOND);
    CHECK(s->clients[0].failed == 0 && s->clients[1].failed == 0);
    sim_destroy(s);

    /* the original sender goes away: B's waiting reply is given up after its re-requests */
    s = sim_create(&config);
    b = address_of(s, 1);
    CHECK(mixnet_client_send_repliable(s->clients[0].client, &b, (const uint8_t *)"hi", 2, 11, s->now, NULL) == 0);
    CHECK(sim_run(s, b_has_one, s->now + 10 * SECOND));
    mixnet_client_destroy(s->clients[0].client);
    s->clients[0].client = NULL;
    if (s->clients[1].inbox_count == 1) {
        uint8_t *data = pattern(3 * 1604, 6);
        uint64_t id = 0;
        CHECK(mixnet_client_send_reply(s->clients[1].client, s->clients[1].inbox[0].tag, data, 3 * 1604, s->now, &id) ==
              0);
        sim_run(s, never, s->now + 6 * 60 * SECOND);
        CHECK(s->clients[1].failed == 1 && s->clients[1].last_failed_id == id);
        mixnet_client_stats st;
        mixnet_client_stats_get(s->clients[1].client, &st);
        CHECK(st.surb_requests_sent >= 2 && st.fragments_unacknowledged == 0);
        free(data);
    }
    sim_destroy(s);
}

static bool a_answered_a_surb_request(sim *s)
{
    mixnet_client_stats st;
    mixnet_client_stats_get(s->clients[0].client, &st);
    return st.surb_requests_answered > 0;
}

static bool b_has_two(sim *s)
{
    return s->clients[1].inbox_count >= 2;
}

static bool b_has_seven(sim *s)
{
    return s->clients[1].inbox_count >= 7;
}

static uint64_t fragments_received_by(sim *s, size_t client)
{
    mixnet_client_stats st;
    mixnet_client_stats_get(s->clients[client].client, &st);
    return st.fragments_received;
}

/* Lanes: with the Poisson stream on, a one-packet message queued behind the
 * many packets of 50 SURBs asked for goes first, as the exit's first SURB
 * request must not hold up a page's first TCP packet; a longer run of them
 * lets the SURBs through every LANE_PATIENCE + 1 ticks. Without mix delays
 * the links keep the order of sending, so B's count of fragments received
 * tells where a ping went. */
void test_mixnet_lanes(void)
{
    mixnet_client_config config;
    mixnet_client_config_default(&config);
    config.disable_cover_traffic = true;
    config.reply_surb_request_buffer = 50; /* B asks for 50 at once, as the exit does */
    config.average_packet_delay_ns = 0;
    /* slow ticks: a fragment is rarely still on the links when the next leaves */
    config.message_sending_average_delay_ns = 200 * MS;
    sim *s = sim_create(&config);
    mixnet_recipient b = address_of(s, 1);
    CHECK(mixnet_client_send_repliable(s->clients[0].client, &b, (const uint8_t *)"hi", 2, 11, s->now, NULL) == 0);
    mixnet_client_stats a_stats;
    mixnet_client_stats_get(s->clients[0].client, &a_stats);
    CHECK(a_stats.reply_surbs_outstanding == 11);
    CHECK(sim_run(s, b_has_one, s->now + 20 * SECOND));
    if (s->clients[1].inbox_count == 1)
        CHECK(mixnet_client_send_reply(s->clients[1].client, s->clients[1].inbox[0].tag, (const uint8_t *)"r", 1,
                                       s->now, NULL) == 0);
    CHECK(sim_run(s, a_answered_a_surb_request, s->now + 20 * SECOND));
    mixnet_client_stats before;
    mixnet_client_stats_get(s->clients[0].client, &before);
    /* the answer's first chunk waits as 7 fragments: 11 SURBs given, one back with B's request
     * and one with its reply (which may still travel), and the chunk's 24 */
    CHECK(before.fragments_unacknowledged >= 7);
    CHECK(before.reply_surbs_outstanding >= 9 + 24 && before.reply_surbs_outstanding <= 10 + 24);

    uint64_t received_before = fragments_received_by(s, 1);
    CHECK(mixnet_client_send_plain(s->clients[0].client, &b, (const uint8_t *)"ping", 4, s->now, NULL) == 0);
    CHECK(sim_run(s, b_has_two, s->now + 20 * SECOND));
    /* the ping itself, and at most a fragment or two sent just before it */
    CHECK(fragments_received_by(s, 1) - received_before <= 3);

    /* 5 pings at once: 3, a SURB fragment, then 2 */
    received_before = fragments_received_by(s, 1);
    for (int i = 0; i < 5; i++)
        CHECK(mixnet_client_send_plain(s->clients[0].client, &b, (const uint8_t *)"ping", 4, s->now, NULL) == 0);
    CHECK(sim_run(s, b_has_seven, s->now + 20 * SECOND));
    uint64_t got = fragments_received_by(s, 1) - received_before;
    CHECK(got >= 6 && got <= 8);
    for (size_t i = 1; i < s->clients[1].inbox_count; i++)
        CHECK(received_equals(&s->clients[1].inbox[i], (const uint8_t *)"ping", 4));

    /* the rest of each answer follows chunk by chunk: of the 11 first given, one came back with
     * B's reply and one with each request (B asks again while it holds fewer than 60) */
    sim_run(s, never, s->now + 10 * SECOND);
    mixnet_client_stats after;
    mixnet_client_stats_get(s->clients[0].client, &after);
    CHECK(after.surb_requests_answered >= 1);
    CHECK(after.reply_surbs_outstanding == 11 - 1 - after.surb_requests_answered + 50 * after.surb_requests_answered);
    sim_destroy(s);
}

static bool a_owes_much(sim *s)
{
    mixnet_client_stats st;
    mixnet_client_stats_get(s->clients[0].client, &st);
    return st.surbs_owed >= 1900;
}

/* A replier that asks for 500 SURBs each time some arrive: what A owes at
 * once stays within SURBS_OWED_MAX (2,000), however often it asks. */
void test_mixnet_surbs_owed_bounded(void)
{
    mixnet_client_config config;
    mixnet_client_config_default(&config);
    config.disable_cover_traffic = true;
    config.message_sending_average_delay_ns = 200 * MS; /* A pays slowly */
    config.reply_surb_request_min = config.reply_surb_request_max = 500;
    config.reply_surb_request_buffer = 100000;
    config.reply_surb_stock_max = 100000;
    sim *s = sim_create(&config);
    mixnet_recipient b = address_of(s, 1);
    CHECK(mixnet_client_send_repliable(s->clients[0].client, &b, (const uint8_t *)"hi", 2, 11, s->now, NULL) == 0);
    CHECK(sim_run(s, b_has_one, s->now + 20 * SECOND));
    if (s->clients[1].inbox_count == 1)
        CHECK(mixnet_client_send_reply(s->clients[1].client, s->clients[1].inbox[0].tag, (const uint8_t *)"r", 1,
                                       s->now, NULL) == 0);
    CHECK(sim_run(s, a_owes_much, s->now + 60 * SECOND));
    uint64_t end = s->now + 20 * SECOND;
    bool bounded = true;
    while (s->now < end && sim_run(s, never, s->now + SECOND) == false) {
        mixnet_client_stats st;
        mixnet_client_stats_get(s->clients[0].client, &st);
        bounded = bounded && st.surbs_owed <= 2000;
    }
    CHECK(bounded);
    sim_destroy(s);
}

/* SURBs in a packet's padding: as many as leave the message one packet. */
void test_mixnet_surbs_fitting(void)
{
    /* a TCP ACK in an LP frame: 3 SURBs of 460 bytes fit beside it (shared/spec/sphinx.md 13.4) */
    CHECK(mixnet_repliable_surbs_fitting(80) == 3);
    CHECK(mixnet_repliable_surbs_fitting(1500) == 0);
    mixnet_client_config config = immediate_config();
    sim *s = sim_create(&config);
    mixnet_recipient b = address_of(s, 1);
    static const size_t lens[] = {0, 80, 600, 1000, 1500};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint32_t fitting = mixnet_repliable_surbs_fitting(lens[i]);
        static uint8_t data[1500];
        mixnet_client_stats before, after;
        for (uint32_t extra = 0; extra <= 1; extra++) {
            mixnet_client_stats_get(s->clients[0].client, &before);
            CHECK(mixnet_client_send_repliable(s->clients[0].client, &b, data, lens[i], fitting + extra, s->now, NULL) ==
                  0);
            mixnet_client_stats_get(s->clients[0].client, &after);
            CHECK(after.real_packets_sent - before.real_packets_sent == (extra ? 2u : 1u) || (fitting == 0 && !extra));
        }
    }
    sim_destroy(s);
}

static bool b_got_anything(sim *s)
{
    mixnet_client_stats st;
    mixnet_client_stats_get(s->clients[1].client, &st);
    return st.fragments_received > 0 || st.invalid_received > 0;
}

/* A flipped bit anywhere in a packet on the wire: the network or the
 * receiver rejects it; nothing wrong is ever delivered. Garbage pushed to
 * a client is counted and dropped. */
void test_mixnet_tamper(void)
{
    mixnet_client_config config = immediate_config();
    config.maximum_retransmissions = 0;
    sim *s = sim_create(&config);
    mixnet_recipient b = address_of(s, 1);
    uint8_t data[100];
    memset(data, 0x42, sizeof data);
    size_t rejected_by_nodes = 0, delivered_wrong = 0, tried = 0;
    for (size_t offset = 0; offset < NYM_REGULAR_PACKET_LEN; offset += offset < SPHINX_HEADER_LEN ? 3 : 29) {
        s->tamper_pending = true;
        s->tamper_offset = offset;
        size_t errors = s->node_errors;
        mixnet_client_send_plain(s->clients[0].client, &b, data, sizeof data, s->now, NULL);
        sim_run(s, b_got_anything, s->now + 5 * SECOND);
        rejected_by_nodes += s->node_errors > errors;
        tried++;
        for (size_t k = 0; k < s->clients[1].inbox_count; k++)
            delivered_wrong += !received_equals(&s->clients[1].inbox[k], data, sizeof data);
    }
    CHECK(tried > 150 && rejected_by_nodes == tried && delivered_wrong == 0);
    CHECK(s->clients[1].inbox_count == 0);

    /* garbage of every length a gateway could push, and bit flips of a real message */
    mixnet_client *c = s->clients[1].client;
    uint8_t junk[2100];
    for (size_t len = 0; len < sizeof junk; len += len < 64 ? 1 : 97) {
        random_bytes(junk, len);
        mixnet_client_receive(c, junk, len, s->now);
    }
    mixnet_client_stats st;
    mixnet_client_stats_get(c, &st);
    CHECK(st.messages_delivered == 0 && st.invalid_received > 50);
    /* random messages of the pushed size decrypt to nonsense that reassembly keeps
     * as stray fragments at worst (a whole message would need 1 of 2^17 luck) */
    uint8_t noise[MIXNET_PUSHED_MESSAGE_LEN];
    for (size_t i = 0; i < 50; i++) {
        random_bytes(noise, sizeof noise);
        mixnet_client_receive(c, noise, sizeof noise, s->now);
    }
    mixnet_client_stats_get(c, &st);
    CHECK(st.messages_delivered == 0 && s->clients[1].inbox_count == 0);
    sim_destroy(s);
}
