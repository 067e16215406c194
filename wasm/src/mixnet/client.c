/* The client: messages in, packets out, as an event-driven state machine.
 *
 * Sending. A message is encoded, padded and split; its fragments wait in
 * their lane's queue. With the main Poisson stream on, each tick (gaps
 * Exp(20 ms)) sends the next fragment of a lane drawn at random or, when
 * all are empty, a loop cover packet; with it off, fragments go out at once. A separate loop cover
 * stream (gaps Exp(200 ms)) runs besides. Every fragment is wrapped when it
 * leaves (fresh route, ephemeral key, SURB-ack and delays), and its
 * retransmission timer starts then: expected round trip × 1.5 + 1.5 s.
 * When it fires, the fragment is wrapped again from scratch.
 *
 * Replies. Fragments of a reply each need one of the SURBs the original
 * sender gave us. Some SURBs are kept in reserve to ask for more; what the
 * others cannot carry waits until more arrive.
 *
 * Receiving. Acks cancel retransmissions; messages are decrypted (reply key
 * digest, else our X25519 key), cover is dropped, fragments reassembled and
 * whole messages delivered, stored (SURBs) or answered (SURB requests). */
#include "mixnet/mixnet.h"

#include <stdlib.h>
#include <string.h>

#define HOUSEKEEPING_INTERVAL_NS 5000000000ull
/* An answer to a SURB request goes out a chunk at a time, each built when
 * the lane runs low: building a hundred SURBs at once held the thread for
 * 50-120 ms in wasm (packets in, requests from the page and the Poisson
 * stream all waited). 24 SURBs fill 7 packets as full as 100 fill 29. */
#define ADDITIONAL_SURBS_PER_CHUNK 24
#define ADDITIONAL_SURBS_LANE_LOW 8
/* each request arrives through one of our SURBs and may ask for hundreds:
 * what is owed at once is bounded, as a replier could ask faster than the
 * Poisson stream sends */
#define SURBS_OWED_MAX 2000
/* what one message may hold, so that sizes and fragment indexes stay small */
#define MAX_MESSAGE_LEN (1u << 30)

typedef enum {
    FRAGMENT_WAITING_SURB, /* a reply fragment with no SURB to go with yet */
    FRAGMENT_QUEUED,
    FRAGMENT_IN_FLIGHT,
    FRAGMENT_ACKED,
    FRAGMENT_ABANDONED,
} fragment_state;

typedef struct {
    uint8_t state;
    uint32_t sends;
    uint64_t sent_ns; /* the last send */
} fragment_status;

typedef enum {
    DESTINATION_RECIPIENT,  /* to an address we know */
    DESTINATION_SENDER_TAG, /* back through reply SURBs */
} destination_kind;

/* Nym's transmission lanes: each tick draws one at random among those with
 * something queued, so a short message (an IP packet) does not wait behind
 * a long one (a hundred SURBs asked for by the exit). A few general
 * fragments (a TCP handshake, a page's request) go first, so a request does
 * not wait one extra Poisson gap per busy lane; after LANE_PATIENCE such
 * ticks in a row the others get one, so none starves. Which
 * fragment fills a slot cannot be seen on the wire. */
typedef enum {
    LANE_GENERAL,           /* the application's messages */
    LANE_ADDITIONAL_SURBS,  /* SURBs a replier asked us for */
    LANE_SURB_REQUEST,      /* our requests for more SURBs, as a replier */
    LANE_RETRANSMISSION,    /* fragments sent again */
    LANE_COUNT,
} transmission_lane;

typedef struct outgoing_message {
    uint64_t id;
    transmission_lane lane;
    destination_kind destination;
    mixnet_recipient recipient;
    uint8_t sender_tag[MIXNET_SENDER_TAG_LEN];
    bool internal;          /* our own SURB traffic: no message_sent for it */
    bool uses_reserve;      /* a SURB request may spend the SURBs kept in reserve */
    uint32_t max_retransmissions;
    uint8_t *padded;
    size_t padded_len;
    uint32_t *set_ids;
    size_t set_count;
    size_t fragment_count;
    size_t unresolved;
    bool failed;
    fragment_status *fragments;
    struct outgoing_message *next;
} outgoing_message;

typedef struct {
    uint64_t message_id;
    uint32_t index;
    uint8_t *surb; /* reply fragments: the SURB set aside for this send */
    size_t surb_len;
    nym_key_rotation surb_rotation;
} queued_fragment;

typedef struct {
    queued_fragment *items;
    size_t head, count, capacity;
} fragment_queue;

typedef struct {
    uint64_t deadline_ns;
    uint64_t message_id;
    uint32_t index;
    uint32_t sends; /* the send this timer belongs to; later sends make it stale */
} retransmission_timer;

typedef struct sender_tag_entry {
    mixnet_recipient recipient;
    uint8_t tag[MIXNET_SENDER_TAG_LEN];
    struct sender_tag_entry *next;
} sender_tag_entry;

/* What we owe one sender tag as a replier. */
typedef struct reply_target {
    uint8_t tag[MIXNET_SENDER_TAG_LEN];
    fragment_queue waiting;
    uint32_t pending_reception; /* SURBs asked for and not yet received */
    uint32_t rerequests;
    struct reply_target *next;
} reply_target;

/* SURBs a replier asked us for, still to be built and sent. */
typedef struct surb_debt {
    struct surb_debt *next;
    mixnet_recipient requester;
    uint32_t owed;
} surb_debt;

struct mixnet_client {
    mixnet_client_config config;
    mixnet_client_keys keys;
    mixnet_recipient address;
    mixnet_client_callbacks callbacks;

    mixnet_node *nodes;
    mixnet_topology topology;
    bool has_topology;

    mixnet_reassembler *reassembler;
    mixnet_reply_keys *reply_keys;
    mixnet_surb_store *surbs;
    sender_tag_entry *sender_tags;
    reply_target *reply_targets;
    surb_debt *surb_debts;  /* SURBs asked for and not yet built, oldest first */

    outgoing_message *messages;
    uint64_t last_message_id;
    fragment_queue lanes[LANE_COUNT];
    uint32_t general_first_streak; /* ticks the general lane went first while others waited */
    retransmission_timer *timers;
    size_t timer_count, timer_capacity;

    uint64_t next_poisson_ns;
    uint64_t next_cover_ns;
    uint64_t next_housekeeping_ns;

    mixnet_client_stats stats;

    /* scratch for one packet at a time */
    uint8_t fragment[MIXNET_FRAGMENT_LEN];
    uint8_t payload[MIXNET_PAYLOAD_LEN];
    uint8_t packet[NYM_REGULAR_PACKET_LEN];
    uint8_t surb_ack[MIXNET_SURB_ACK_LEN];
};

void mixnet_client_config_default(mixnet_client_config *c)
{
    *c = (mixnet_client_config){
        .average_packet_delay_ns = 15000000,
        .average_ack_delay_ns = 15000000,
        .message_sending_average_delay_ns = 20000000,
        .loop_cover_average_delay_ns = 200000000,
        .ack_wait_multiplier = 1.5,
        .ack_wait_addition_ns = 1500000000,
        .maximum_retransmissions = MIXNET_UNLIMITED,
        .incomplete_message_timeout_ns = 30ull * 60 * 1000000000,
        .max_reassembly_bytes = 64u << 20,
        .reply_surb_reserve = 10,
        .reply_surb_request_buffer = 0,
        .reply_surb_request_min = 10,
        .reply_surb_request_max = 50,
        .reply_surb_stock_max = 200,
        .reply_surb_rerequest_wait_ns = 10000000000ull,
        .reply_surb_drop_wait_ns = 5ull * 60 * 1000000000,
        .reply_surb_rerequests_max = 5,
        .surb_request_retransmissions = 10,
        .surb_request_honoured_max = 500,
        .reply_key_max_age_ns = 24ull * 3600 * 1000000000,
    };
}

/* --- small containers */

static int queue_push(fragment_queue *q, queued_fragment item)
{
    if (q->count == q->capacity) {
        size_t capacity = q->capacity ? q->capacity * 2 : 64;
        queued_fragment *items = malloc(capacity * sizeof *items);
        if (!items) return MIXNET_ERR_MEMORY;
        for (size_t i = 0; i < q->count; i++) items[i] = q->items[(q->head + i) % q->capacity];
        free(q->items);
        q->items = items;
        q->head = 0;
        q->capacity = capacity;
    }
    q->items[(q->head + q->count) % q->capacity] = item;
    q->count++;
    return 0;
}

static bool queue_pop(fragment_queue *q, queued_fragment *item)
{
    if (q->count == 0) return false;
    *item = q->items[q->head];
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    return true;
}

static void queue_free(fragment_queue *q)
{
    queued_fragment item;
    while (queue_pop(q, &item)) free(item.surb);
    free(q->items);
}

static int timer_push(mixnet_client *c, retransmission_timer t)
{
    if (c->timer_count == c->timer_capacity) {
        size_t capacity = c->timer_capacity ? c->timer_capacity * 2 : 64;
        retransmission_timer *timers = realloc(c->timers, capacity * sizeof *timers);
        if (!timers) return MIXNET_ERR_MEMORY;
        c->timers = timers;
        c->timer_capacity = capacity;
    }
    /* a binary min-heap on the deadline */
    size_t i = c->timer_count++;
    while (i > 0 && c->timers[(i - 1) / 2].deadline_ns > t.deadline_ns) {
        c->timers[i] = c->timers[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    c->timers[i] = t;
    return 0;
}

static retransmission_timer timer_pop(mixnet_client *c)
{
    retransmission_timer top = c->timers[0], last = c->timers[--c->timer_count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= c->timer_count) break;
        if (child + 1 < c->timer_count && c->timers[child + 1].deadline_ns < c->timers[child].deadline_ns) child++;
        if (c->timers[child].deadline_ns >= last.deadline_ns) break;
        c->timers[i] = c->timers[child];
        i = child;
    }
    if (c->timer_count) c->timers[i] = last;
    return top;
}

/* --- lifecycle */

mixnet_client *mixnet_client_create(const mixnet_client_config *config, const mixnet_client_keys *keys,
                                    const mixnet_client_callbacks *callbacks, uint64_t now_ns)
{
    if (!callbacks->send_packet || !callbacks->deliver) return NULL;
    mixnet_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->config = *config;
    c->keys = *keys;
    c->callbacks = *callbacks;
    memcpy(c->address.identity, keys->identity, MIXNET_KEY_LEN);
    x25519_public_key(c->address.encryption_key, keys->encryption_secret);
    memcpy(c->address.gateway, keys->gateway, MIXNET_KEY_LEN);
    c->reassembler = mixnet_reassembler_create(config->max_reassembly_bytes);
    c->reply_keys = mixnet_reply_keys_create();
    c->surbs = mixnet_surb_store_create();
    if (!c->reassembler || !c->reply_keys || !c->surbs) {
        mixnet_client_destroy(c);
        return NULL;
    }
    c->next_poisson_ns = now_ns + mixnet_exponential_ns(config->message_sending_average_delay_ns);
    c->next_cover_ns = now_ns + mixnet_exponential_ns(config->loop_cover_average_delay_ns);
    c->next_housekeeping_ns = now_ns + HOUSEKEEPING_INTERVAL_NS;
    return c;
}

static void message_free(outgoing_message *m)
{
    free(m->padded);
    free(m->set_ids);
    free(m->fragments);
    free(m);
}

void mixnet_client_destroy(mixnet_client *c)
{
    if (!c) return;
    while (c->messages) {
        outgoing_message *m = c->messages;
        c->messages = m->next;
        message_free(m);
    }
    while (c->sender_tags) {
        sender_tag_entry *e = c->sender_tags;
        c->sender_tags = e->next;
        free(e);
    }
    while (c->surb_debts) {
        surb_debt *d = c->surb_debts;
        c->surb_debts = d->next;
        free(d);
    }
    while (c->reply_targets) {
        reply_target *t = c->reply_targets;
        c->reply_targets = t->next;
        queue_free(&t->waiting);
        free(t);
    }
    for (int lane = 0; lane < LANE_COUNT; lane++) queue_free(&c->lanes[lane]);
    free(c->timers);
    free(c->nodes);
    mixnet_reassembler_destroy(c->reassembler);
    mixnet_reply_keys_destroy(c->reply_keys);
    mixnet_surb_store_destroy(c->surbs);
    secure_zero(c, sizeof *c);
    free(c);
}

void mixnet_client_address(const mixnet_client *c, mixnet_recipient *out)
{
    *out = c->address;
}

static bool nodes_valid(const mixnet_node *nodes, size_t count)
{
    nym_node_address address;
    for (size_t i = 0; i < count; i++)
        if (nym_node_address_decode(&address, nodes[i].hop.address, SPHINX_NODE_ADDRESS_LEN) < 0) return false;
    return true;
}

int mixnet_client_set_topology(mixnet_client *c, const mixnet_topology *t)
{
    size_t total = t->gateway_count;
    bool valid = nodes_valid(t->gateways, t->gateway_count);
    for (size_t l = 0; l < MIXNET_MIX_LAYERS; l++) {
        total += t->layer_len[l];
        valid = valid && nodes_valid(t->layers[l], t->layer_len[l]);
    }
    if (!valid) return MIXNET_ERR_MALFORMED;
    mixnet_node *nodes = malloc((total ? total : 1) * sizeof *nodes);
    if (!nodes) return MIXNET_ERR_MEMORY;
    size_t used = 0;
    mixnet_topology copy = *t;
    for (size_t l = 0; l < MIXNET_MIX_LAYERS; l++) {
        if (t->layer_len[l]) memcpy(nodes + used, t->layers[l], t->layer_len[l] * sizeof *nodes);
        copy.layers[l] = nodes + used;
        used += t->layer_len[l];
    }
    if (t->gateway_count) memcpy(nodes + used, t->gateways, t->gateway_count * sizeof *nodes);
    copy.gateways = nodes + used;
    free(c->nodes);
    c->nodes = nodes;
    c->topology = copy;
    c->has_topology = true;
    return 0;
}

/* Whether routes to that gateway can be built now. */
static bool topology_reaches(const mixnet_client *c, const uint8_t gateway[MIXNET_KEY_LEN])
{
    sphinx_hop route[MIXNET_ROUTE_HOPS];
    return c->has_topology && mixnet_route_choose(route, &c->topology, gateway) == 0;
}

/* --- outgoing messages */

static outgoing_message *message_find(const mixnet_client *c, uint64_t id)
{
    for (outgoing_message *m = c->messages; m; m = m->next)
        if (m->id == id) return m;
    return NULL;
}

static void message_unlink(mixnet_client *c, outgoing_message *target)
{
    for (outgoing_message **p = &c->messages; *p; p = &(*p)->next) {
        if (*p == target) {
            *p = target->next;
            return;
        }
    }
}

/* A fragment is done with, one way or the other; the message may be too. */
static void fragment_resolve(mixnet_client *c, outgoing_message *m, size_t index, bool acknowledged)
{
    m->fragments[index].state = acknowledged ? FRAGMENT_ACKED : FRAGMENT_ABANDONED;
    if (!acknowledged) m->failed = true;
    if (--m->unresolved > 0) return;
    uint64_t id = m->id;
    bool report = !m->internal && c->callbacks.message_sent;
    bool delivered = !m->failed;
    message_unlink(c, m);
    message_free(m);
    if (report) c->callbacks.message_sent(c->callbacks.ctx, id, delivered);
}

/* Pads and splits a NymMessage into a new outgoing message. */
static outgoing_message *message_create(mixnet_client *c, const mixnet_message *nym, destination_kind destination)
{
    outgoing_message *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    size_t encoded_len = mixnet_message_encoded_len(nym);
    m->padded_len = mixnet_padded_len(encoded_len, MIXNET_FRAGMENT_LEN);
    m->padded = malloc(m->padded_len);
    m->set_count = mixnet_set_count(m->padded_len, MIXNET_FRAGMENT_LEN);
    m->set_ids = malloc(m->set_count * sizeof *m->set_ids);
    m->fragment_count = mixnet_fragment_count(m->padded_len, MIXNET_FRAGMENT_LEN);
    m->fragments = calloc(m->fragment_count, sizeof *m->fragments);
    if (!m->padded || !m->set_ids || !m->fragments || mixnet_message_encode(nym, m->padded, m->padded_len) < 0) {
        message_free(m);
        return NULL;
    }
    mixnet_pad(m->padded, encoded_len, m->padded_len);
    for (size_t i = 0; i < m->set_count; i++) m->set_ids[i] = mixnet_set_id_random();
    m->id = ++c->last_message_id;
    m->destination = destination;
    m->unresolved = m->fragment_count;
    m->max_retransmissions = c->config.maximum_retransmissions;
    m->next = c->messages;
    c->messages = m;
    return m;
}

/* --- wrapping and sending packets */

static void packet_emit(mixnet_client *c, const uint8_t next_hop[SPHINX_NODE_ADDRESS_LEN], nym_key_rotation rotation)
{
    nym_mix_packet mp = {.packet_type = NYM_PACKET_TYPE_SPHINX,
                         .rotation = rotation,
                         .packet = c->packet,
                         .packet_len = sizeof c->packet};
    nym_node_address_decode(&mp.next_hop, next_hop, SPHINX_NODE_ADDRESS_LEN);
    c->callbacks.send_packet(c->callbacks.ctx, &mp);
}

/* The SURB-ack field for a fragment id, routed back to us. */
static int surb_ack_build(mixnet_client *c, const uint8_t fragment_id[MIXNET_FRAGMENT_ID_LEN], uint64_t *delay_ns)
{
    sphinx_hop route[MIXNET_ROUTE_HOPS];
    int err = mixnet_route_choose(route, &c->topology, c->keys.gateway);
    if (err < 0) return err;
    return mixnet_surb_ack_build(c->surb_ack, delay_ns, route, c->keys.identity, c->keys.ack_key, fragment_id,
                                 c->config.average_ack_delay_ns);
}

/* Wraps fragment `item` into a packet and sends it; returns the expected
 * round trip (forward mix delays and the ack's). */
static int fragment_wrap_and_send(mixnet_client *c, outgoing_message *m, const queued_fragment *item,
                                  uint64_t *round_trip_ns)
{
    if (!c->has_topology) return MIXNET_ERR_TOPOLOGY;
    mixnet_fragment f;
    int fragment_len = mixnet_fragment_build(c->fragment, sizeof c->fragment, m->padded, m->padded_len,
                                             MIXNET_FRAGMENT_LEN, m->set_ids, item->index, &f);
    if (fragment_len < 0) return fragment_len;
    uint8_t fragment_id[MIXNET_FRAGMENT_ID_LEN];
    mixnet_fragment_id_encode(fragment_id, f.set_id, f.position);
    uint64_t ack_delay_ns, forward_delay_ns;
    int err = surb_ack_build(c, fragment_id, &ack_delay_ns);
    if (err < 0) return err;
    if (m->destination == DESTINATION_SENDER_TAG) {
        mixnet_reply_surb surb;
        err = mixnet_reply_surb_decode(&surb, item->surb, item->surb_len);
        if (!err) err = mixnet_payload_build_reply(c->payload, sizeof c->payload, c->surb_ack, surb.key, c->fragment,
                                                   (size_t)fragment_len);
        if (!err && sphinx_surb_use(&surb.surb, c->packet, sizeof c->packet, c->payload, sizeof c->payload) < 0)
            err = MIXNET_ERR_SPHINX;
        secure_zero(surb.key, sizeof surb.key);
        if (err < 0) return err;
        /* the SURB's own delays are not known to us: Nym assumes the mean */
        forward_delay_ns = MIXNET_MIX_LAYERS * c->config.average_packet_delay_ns;
        packet_emit(c, surb.surb.first_hop, item->surb_rotation);
    } else {
        sphinx_hop route[MIXNET_ROUTE_HOPS];
        uint64_t delays[MIXNET_ROUTE_HOPS];
        err = mixnet_route_choose(route, &c->topology, m->recipient.gateway);
        if (err < 0) return err;
        mixnet_delays_sample(delays, c->config.average_packet_delay_ns, &forward_delay_ns);
        err = mixnet_payload_build_regular(c->payload, sizeof c->payload, c->surb_ack, m->recipient.encryption_key,
                                           c->fragment, (size_t)fragment_len);
        if (err < 0) return err;
        if (sphinx_packet_build(c->packet, sizeof c->packet, c->payload, sizeof c->payload, route, MIXNET_ROUTE_HOPS,
                                m->recipient.identity, delays, SPHINX_VERSION_KEY_SEEDS, NULL) < 0)
            return MIXNET_ERR_SPHINX;
        packet_emit(c, route[0].address, c->topology.rotation);
    }
    *round_trip_ns = forward_delay_ns + ack_delay_ns;
    return 0;
}

/* Sends a queued fragment, if it still needs sending (it may have been
 * acknowledged meanwhile), and arms its timer. */
static bool fragment_send(mixnet_client *c, queued_fragment *item, uint64_t now_ns)
{
    outgoing_message *m = message_find(c, item->message_id);
    bool due = m && m->fragments[item->index].state == FRAGMENT_QUEUED;
    if (due) {
        fragment_status *status = &m->fragments[item->index];
        uint64_t round_trip_ns = 0;
        /* a packet that cannot be built now (no topology yet) is tried again when its timer fires */
        if (fragment_wrap_and_send(c, m, item, &round_trip_ns) == 0) {
            c->stats.real_packets_sent++;
            if (status->sends > 0) c->stats.retransmissions++;
        }
        status->state = FRAGMENT_IN_FLIGHT;
        status->sends++;
        status->sent_ns = now_ns;
        uint64_t wait = (uint64_t)((double)round_trip_ns * c->config.ack_wait_multiplier) + c->config.ack_wait_addition_ns;
        timer_push(c, (retransmission_timer){now_ns + wait, m->id, item->index, status->sends});
    }
    free(item->surb);
    item->surb = NULL;
    return due;
}

static void cover_send(mixnet_client *c)
{
    static const uint8_t cover_fragment_id[MIXNET_FRAGMENT_ID_LEN];
    sphinx_hop route[MIXNET_ROUTE_HOPS];
    uint64_t delays[MIXNET_ROUTE_HOPS], ignored;
    if (!c->has_topology || mixnet_route_choose(route, &c->topology, c->keys.gateway) < 0) return;
    if (surb_ack_build(c, cover_fragment_id, &ignored) < 0) return;
    mixnet_delays_sample(delays, c->config.average_packet_delay_ns, &ignored);
    if (mixnet_payload_build_cover(c->payload, sizeof c->payload, c->surb_ack, c->address.encryption_key) < 0) return;
    if (sphinx_packet_build(c->packet, sizeof c->packet, c->payload, sizeof c->payload, route, MIXNET_ROUTE_HOPS,
                            c->keys.identity, delays, SPHINX_VERSION_KEY_SEEDS, NULL) < 0)
        return;
    packet_emit(c, route[0].address, c->topology.rotation);
    c->stats.cover_packets_sent++;
}

/* Nym's draw (transmission_buffer.rs): a lane with fewer than 100 queued
 * if there is one, else one of the 4 that sent most, or any; with at most 4
 * lanes both come down to any lane with something queued. */
#define LANE_SMALL 100
/* a general queue this short is interactive traffic, sent first */
#define LANE_URGENT_MAX 8
#define LANE_PATIENCE 3

/* Takes the next fragment: the general lane's while it is short, else one
 * of a lane drawn at random (not the general one when it went first
 * LANE_PATIENCE times in a row); false when all are empty. */
static bool lanes_pop(mixnet_client *c, queued_fragment *item)
{
    const fragment_queue *general = &c->lanes[LANE_GENERAL];
    bool others_wait = false;
    for (int lane = 0; lane < LANE_COUNT; lane++)
        if (lane != LANE_GENERAL && c->lanes[lane].count > 0) others_wait = true;
    bool urgent = general->count > 0 && general->count <= LANE_URGENT_MAX;
    if (urgent && (!others_wait || c->general_first_streak < LANE_PATIENCE)) {
        c->general_first_streak = others_wait ? c->general_first_streak + 1 : 0;
        return queue_pop(&c->lanes[LANE_GENERAL], item);
    }
    c->general_first_streak = 0;
    transmission_lane candidates[LANE_COUNT];
    size_t count = 0;
    for (int small_only = 1; small_only >= 0 && count == 0; small_only--)
        for (int lane = 0; lane < LANE_COUNT; lane++)
            if (c->lanes[lane].count > 0 && (!small_only || c->lanes[lane].count < LANE_SMALL) &&
                !(urgent && lane == LANE_GENERAL))
                candidates[count++] = (transmission_lane)lane;
    if (count == 0) return false;
    uint32_t r = 0;
    if (count > 1) random_bytes((uint8_t *)&r, sizeof r);
    return queue_pop(&c->lanes[candidates[r % count]], item);
}

/* Without the Poisson stream, whatever is queued leaves at once. */
static void send_queue_flush_if_immediate(mixnet_client *c, uint64_t now_ns)
{
    if (!c->config.disable_poisson_traffic) return;
    queued_fragment item;
    while (lanes_pop(c, &item)) fragment_send(c, &item, now_ns);
}

static int fragment_enqueue(mixnet_client *c, outgoing_message *m, size_t index, uint8_t *surb, size_t surb_len,
                            nym_key_rotation rotation)
{
    queued_fragment item = {m->id, (uint32_t)index, surb, surb_len, rotation};
    transmission_lane lane = m->fragments[index].sends > 0 ? LANE_RETRANSMISSION : m->lane;
    if (queue_push(&c->lanes[lane], item) < 0) {
        free(surb);
        return MIXNET_ERR_MEMORY;
    }
    m->fragments[index].state = FRAGMENT_QUEUED;
    return 0;
}

/* --- the replier's side of reply SURBs */

static reply_target *reply_target_get(mixnet_client *c, const uint8_t tag[MIXNET_SENDER_TAG_LEN])
{
    for (reply_target *t = c->reply_targets; t; t = t->next)
        if (memcmp(t->tag, tag, MIXNET_SENDER_TAG_LEN) == 0) return t;
    reply_target *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    memcpy(t->tag, tag, MIXNET_SENDER_TAG_LEN);
    t->next = c->reply_targets;
    c->reply_targets = t;
    return t;
}

/* Takes a SURB for tag into a queue entry of fragment index of m. */
static int reply_fragment_enqueue(mixnet_client *c, outgoing_message *m, size_t index)
{
    uint8_t *surb = malloc(MIXNET_REPLY_SURB_MAX_LEN);
    if (!surb) return MIXNET_ERR_MEMORY;
    nym_key_rotation rotation;
    int len = mixnet_surb_store_take(c->surbs, m->sender_tag, surb, MIXNET_REPLY_SURB_MAX_LEN, &rotation);
    if (len < 0) {
        free(surb);
        return len;
    }
    return fragment_enqueue(c, m, index, surb, (size_t)len, rotation);
}

static void surbs_request(mixnet_client *c, reply_target *t, uint64_t now_ns);

static bool surbs_wanted(const mixnet_client *c, const reply_target *t)
{
    size_t held = mixnet_surb_store_count(c->surbs, t->tag) + t->pending_reception;
    size_t needed = t->waiting.count + c->config.reply_surb_reserve + c->config.reply_surb_request_buffer;
    return held < c->config.reply_surb_stock_max && held < needed;
}

/* Gives waiting fragments the SURBs beyond the reserve, then asks for more if short. */
static void reply_target_flush(mixnet_client *c, reply_target *t, uint64_t now_ns)
{
    queued_fragment item;
    while (mixnet_surb_store_count(c->surbs, t->tag) > c->config.reply_surb_reserve && queue_pop(&t->waiting, &item)) {
        outgoing_message *m = message_find(c, item.message_id);
        if (m && m->fragments[item.index].state == FRAGMENT_WAITING_SURB && reply_fragment_enqueue(c, m, item.index) < 0)
            fragment_resolve(c, m, item.index, false);
    }
    send_queue_flush_if_immediate(c, now_ns);
    if (surbs_wanted(c, t)) surbs_request(c, t, now_ns);
}

static int reply_fragment_wait(mixnet_client *c, outgoing_message *m, size_t index)
{
    reply_target *t = reply_target_get(c, m->sender_tag);
    if (!t || queue_push(&t->waiting, (queued_fragment){m->id, (uint32_t)index, NULL, 0, 0}) < 0)
        return MIXNET_ERR_MEMORY;
    m->fragments[index].state = FRAGMENT_WAITING_SURB;
    return 0;
}

/* Asks the original sender for more SURBs, spending one of the reserve. */
static void surbs_request(mixnet_client *c, reply_target *t, uint64_t now_ns)
{
    uint32_t wanted = (uint32_t)t->waiting.count + c->config.reply_surb_request_buffer;
    if (wanted < c->config.reply_surb_request_min) wanted = c->config.reply_surb_request_min;
    if (wanted > c->config.reply_surb_request_max) wanted = c->config.reply_surb_request_max;
    if (mixnet_surb_store_count(c->surbs, t->tag) == 0) return;
    mixnet_message request = {.type = MIXNET_MESSAGE_REPLY,
                              .content = MIXNET_REPLY_SURB_REQUEST,
                              .surb_requester = c->address,
                              .surb_request_amount = wanted};
    outgoing_message *m = message_create(c, &request, DESTINATION_SENDER_TAG);
    if (!m) return;
    memcpy(m->sender_tag, t->tag, MIXNET_SENDER_TAG_LEN);
    m->internal = true;
    m->uses_reserve = true;
    m->lane = LANE_SURB_REQUEST;
    m->max_retransmissions = c->config.surb_request_retransmissions;
    /* a request is a single fragment */
    if (reply_fragment_enqueue(c, m, 0) < 0) {
        fragment_resolve(c, m, 0, false);
        return;
    }
    t->pending_reception += wanted;
    c->stats.surb_requests_sent++;
    send_queue_flush_if_immediate(c, now_ns);
}

/* Drops what waits for a sender that stopped giving us SURBs (only what
 * waits now: message_sent may queue a new reply at once). */
static void reply_target_give_up(mixnet_client *c, reply_target *t)
{
    queued_fragment item;
    for (size_t waiting = t->waiting.count; waiting > 0 && queue_pop(&t->waiting, &item); waiting--) {
        outgoing_message *m = message_find(c, item.message_id);
        if (m && m->fragments[item.index].state == FRAGMENT_WAITING_SURB) fragment_resolve(c, m, item.index, false);
    }
}

static void reply_targets_inspect(mixnet_client *c, uint64_t now_ns)
{
    for (reply_target *t = c->reply_targets; t; t = t->next) {
        if (t->waiting.count == 0) continue;
        uint64_t last = mixnet_surb_store_last_received_ns(c->surbs, t->tag);
        uint64_t idle = now_ns > last ? now_ns - last : 0;
        if (t->rerequests > c->config.reply_surb_rerequests_max || idle > c->config.reply_surb_drop_wait_ns) {
            reply_target_give_up(c, t);
        } else if (idle > c->config.reply_surb_rerequest_wait_ns) {
            /* whatever we asked for is not coming */
            t->rerequests++;
            t->pending_reception = 0;
            surbs_request(c, t, now_ns);
        }
    }
}

/* --- sending API */

static uint64_t message_queue_all(mixnet_client *c, outgoing_message *m, uint64_t now_ns)
{
    uint64_t id = m->id;
    /* a failure on the last fragment may free m */
    for (size_t i = 0, count = m->fragment_count; i < count; i++) {
        if (fragment_enqueue(c, m, i, NULL, 0, 0) < 0) fragment_resolve(c, m, i, false);
    }
    send_queue_flush_if_immediate(c, now_ns);
    return id;
}

static const uint8_t *sender_tag_for(mixnet_client *c, const mixnet_recipient *to, bool create)
{
    uint8_t wanted[MIXNET_RECIPIENT_LEN], known[MIXNET_RECIPIENT_LEN];
    mixnet_recipient_encode(to, wanted);
    for (sender_tag_entry *e = c->sender_tags; e; e = e->next) {
        mixnet_recipient_encode(&e->recipient, known);
        if (memcmp(known, wanted, sizeof known) == 0) return e->tag;
    }
    if (!create) return NULL;
    sender_tag_entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->recipient = *to;
    random_bytes(e->tag, sizeof e->tag);
    e->next = c->sender_tags;
    c->sender_tags = e;
    return e->tag;
}

/* count fresh reply SURBs back to us, back to back; their keys are remembered */
static uint8_t *reply_surbs_build(mixnet_client *c, size_t count, uint64_t now_ns)
{
    const size_t surb_len = MIXNET_REPLY_SURB_LEN(MIXNET_ROUTE_HOPS);
    uint8_t *out = malloc(count ? count * surb_len : 1);
    if (!out) return NULL;
    for (size_t i = 0; i < count; i++) {
        mixnet_reply_surb surb;
        sphinx_hop route[MIXNET_ROUTE_HOPS];
        uint64_t delays[MIXNET_ROUTE_HOPS], ignored;
        random_bytes(surb.key, sizeof surb.key);
        mixnet_delays_sample(delays, c->config.average_packet_delay_ns, &ignored);
        bool ok = mixnet_route_choose(route, &c->topology, c->keys.gateway) == 0 &&
                  sphinx_surb_build(&surb.surb, route, MIXNET_ROUTE_HOPS, c->keys.identity, delays,
                                    SPHINX_VERSION_KEY_SEEDS, NULL) == 0 &&
                  mixnet_reply_surb_encode(&surb, out + i * surb_len, surb_len) == (int)surb_len &&
                  mixnet_reply_keys_insert(c->reply_keys, surb.key, now_ns) == 0;
        secure_zero(&surb, sizeof surb);
        if (!ok) {
            free(out);
            return NULL;
        }
    }
    return out;
}

/* A Repliable message carrying `surb_count` new SURBs, with data for Data contents. */
static int repliable_send(mixnet_client *c, const mixnet_recipient *to, uint8_t content, const uint8_t *data,
                          size_t len, uint32_t surb_count, bool internal, uint64_t now_ns, uint64_t *message_id)
{
    if (!topology_reaches(c, to->gateway) || !topology_reaches(c, c->keys.gateway)) return MIXNET_ERR_TOPOLOGY;
    if (len > MAX_MESSAGE_LEN || surb_count > UINT16_MAX) return MIXNET_ERR_LENGTH;
    const uint8_t *tag = sender_tag_for(c, to, true);
    if (!tag) return MIXNET_ERR_MEMORY;
    uint8_t *surbs = reply_surbs_build(c, surb_count, now_ns);
    if (!surbs) return MIXNET_ERR_MEMORY;
    mixnet_message nym = {.type = MIXNET_MESSAGE_REPLIABLE,
                          .content = content,
                          /* an empty list says 0 hops and an unknown rotation, as Nym writes it */
                          .surbs = {surbs, surb_count, MIXNET_REPLY_SURB_LEN(MIXNET_ROUTE_HOPS),
                                    surb_count ? MIXNET_ROUTE_HOPS : 0,
                                    surb_count ? c->topology.rotation : NYM_ROTATION_UNKNOWN},
                          .data = data,
                          .data_len = len};
    memcpy(nym.sender_tag, tag, MIXNET_SENDER_TAG_LEN);
    outgoing_message *m = message_create(c, &nym, DESTINATION_RECIPIENT);
    free(surbs);
    if (!m) return MIXNET_ERR_MEMORY;
    m->recipient = *to;
    m->internal = internal;
    m->lane = content == MIXNET_REPLIABLE_ADDITIONAL_SURBS_V2 ? LANE_ADDITIONAL_SURBS : LANE_GENERAL;
    uint64_t id = message_queue_all(c, m, now_ns);
    if (message_id) *message_id = id;
    return 0;
}

int mixnet_client_send_plain(mixnet_client *c, const mixnet_recipient *to, const uint8_t *data, size_t len,
                             uint64_t now_ns, uint64_t *message_id)
{
    if (!topology_reaches(c, to->gateway) || !topology_reaches(c, c->keys.gateway)) return MIXNET_ERR_TOPOLOGY;
    if (len > MAX_MESSAGE_LEN) return MIXNET_ERR_LENGTH;
    mixnet_message nym = {.type = MIXNET_MESSAGE_PLAIN, .data = data, .data_len = len};
    outgoing_message *m = message_create(c, &nym, DESTINATION_RECIPIENT);
    if (!m) return MIXNET_ERR_MEMORY;
    m->recipient = *to;
    uint64_t id = message_queue_all(c, m, now_ns);
    if (message_id) *message_id = id;
    return 0;
}

uint32_t mixnet_repliable_surbs_fitting(size_t len)
{
    mixnet_message m = {.type = MIXNET_MESSAGE_REPLIABLE, .content = MIXNET_REPLIABLE_DATA_V2, .data_len = len,
                        .surbs = {.surb_len = MIXNET_REPLY_SURB_LEN(MIXNET_ROUTE_HOPS)}};
    uint32_t fitting = 0;
    for (;; fitting++) {
        m.surbs.count = fitting + 1;
        size_t padded = mixnet_padded_len(mixnet_message_encoded_len(&m), MIXNET_FRAGMENT_LEN);
        if (mixnet_fragment_count(padded, MIXNET_FRAGMENT_LEN) > 1) return fitting;
    }
}

int mixnet_client_send_repliable(mixnet_client *c, const mixnet_recipient *to, const uint8_t *data, size_t len,
                                 uint32_t reply_surbs, uint64_t now_ns, uint64_t *message_id)
{
    return repliable_send(c, to, MIXNET_REPLIABLE_DATA_V2, data, len, reply_surbs, false, now_ns, message_id);
}

int mixnet_client_send_reply(mixnet_client *c, const uint8_t sender_tag[MIXNET_SENDER_TAG_LEN], const uint8_t *data,
                             size_t len, uint64_t now_ns, uint64_t *message_id)
{
    if (!mixnet_surb_store_knows(c->surbs, sender_tag)) return MIXNET_ERR_NO_SURBS;
    if (!topology_reaches(c, c->keys.gateway)) return MIXNET_ERR_TOPOLOGY;
    if (len == 0 || len > MAX_MESSAGE_LEN) return MIXNET_ERR_LENGTH;
    reply_target *t = reply_target_get(c, sender_tag);
    if (!t) return MIXNET_ERR_MEMORY;
    mixnet_message nym = {.type = MIXNET_MESSAGE_REPLY, .content = MIXNET_REPLY_DATA, .data = data, .data_len = len};
    outgoing_message *m = message_create(c, &nym, DESTINATION_SENDER_TAG);
    if (!m) return MIXNET_ERR_MEMORY;
    memcpy(m->sender_tag, sender_tag, MIXNET_SENDER_TAG_LEN);
    uint64_t id = m->id;
    for (size_t i = 0, count = m->fragment_count; i < count; i++) {
        if (reply_fragment_wait(c, m, i) < 0) fragment_resolve(c, m, i, false);
    }
    reply_target_flush(c, t, now_ns);
    if (message_id) *message_id = id;
    return 0;
}

/* --- receiving */

/* Round trips are measured on fragments sent once only (an ack of a
 * resent one could be for either send), smoothed as TCP does (RFC 6298). */
static void round_trip_sample(mixnet_client *c, const fragment_status *status, uint64_t now_ns)
{
    if (status->sends != 1 || now_ns < status->sent_ns) return;
    uint64_t sample = now_ns - status->sent_ns;
    c->stats.round_trip_ns = c->stats.round_trip_ns ? (7 * c->stats.round_trip_ns + sample) / 8 : sample;
}

static void ack_handle(mixnet_client *c, const uint8_t *ack, size_t len, uint64_t now_ns)
{
    uint8_t id[MIXNET_FRAGMENT_ID_LEN];
    static const uint8_t cover_id[MIXNET_FRAGMENT_ID_LEN];
    if (mixnet_ack_decrypt(id, c->keys.ack_key, ack, len) < 0) {
        c->stats.invalid_received++;
        return;
    }
    if (memcmp(id, cover_id, sizeof id) == 0) {
        c->stats.cover_acks_received++;
        return;
    }
    uint32_t set_id;
    uint8_t position;
    mixnet_fragment_id_decode(id, &set_id, &position);
    for (outgoing_message *m = c->messages; m; m = m->next) {
        for (size_t s = 0; s < m->set_count; s++) {
            if (m->set_ids[s] != set_id) continue;
            size_t index = s * MIXNET_MAX_SET_FRAGMENTS + (size_t)position - 1;
            if (position == 0 || index >= m->fragment_count) break;
            uint8_t state = m->fragments[index].state;
            if (state == FRAGMENT_ACKED || state == FRAGMENT_ABANDONED) return;
            c->stats.acks_received++;
            round_trip_sample(c, &m->fragments[index], now_ns);
            fragment_resolve(c, m, index, true);
            return;
        }
    }
    /* a late copy for a message already done with: nothing to do */
}

/* An answer is owed and its lane has run low: the next chunk is due. */
static bool surb_chunk_due(const mixnet_client *c)
{
    return c->surb_debts && c->lanes[LANE_ADDITIONAL_SURBS].count < ADDITIONAL_SURBS_LANE_LOW;
}

/* Builds the next chunk of the oldest answer owed, when it is due. */
static void surb_debts_pay(mixnet_client *c, uint64_t now_ns)
{
    if (!surb_chunk_due(c)) return;
    surb_debt *d = c->surb_debts;
    uint32_t chunk = d->owed < ADDITIONAL_SURBS_PER_CHUNK ? d->owed : ADDITIONAL_SURBS_PER_CHUNK;
    int err = repliable_send(c, &d->requester, MIXNET_REPLIABLE_ADDITIONAL_SURBS_V2, NULL, 0, chunk, true, now_ns, NULL);
    /* one that cannot be built now (no topology, no memory) is given up: the replier asks again */
    d->owed = err < 0 ? 0 : d->owed - chunk;
    if (d->owed == 0) {
        c->surb_debts = d->next;
        free(d);
    }
}

/* Takes on a SURB request from someone we sent repliable messages to. */
static void surb_request_answer(mixnet_client *c, const mixnet_message *request, uint64_t now_ns)
{
    if (!sender_tag_for(c, &request->surb_requester, false)) {
        c->stats.invalid_received++;
        return;
    }
    uint32_t amount = request->surb_request_amount, owed = 0;
    if (amount > c->config.surb_request_honoured_max) amount = c->config.surb_request_honoured_max;
    surb_debt **tail = &c->surb_debts;
    for (; *tail; tail = &(*tail)->next) owed += (*tail)->owed;
    if (amount > SURBS_OWED_MAX - owed) amount = SURBS_OWED_MAX - owed;
    if (amount == 0) return;
    surb_debt *d = calloc(1, sizeof *d);
    if (!d) return;
    d->requester = request->surb_requester;
    d->owed = amount;
    *tail = d;
    c->stats.surb_requests_answered++;
    surb_debts_pay(c, now_ns);
}

static void repliable_handle(mixnet_client *c, const mixnet_message *msg, uint64_t now_ns)
{
    reply_target *t = NULL;
    if (msg->surbs.count > 0 && mixnet_surb_store_add(c->surbs, msg->sender_tag, &msg->surbs, now_ns) == 0)
        t = reply_target_get(c, msg->sender_tag);
    if (t) {
        bool requested = msg->content == MIXNET_REPLIABLE_ADDITIONAL_SURBS_V1 ||
                         msg->content == MIXNET_REPLIABLE_ADDITIONAL_SURBS_V2;
        if (requested) t->pending_reception -= msg->surbs.count < t->pending_reception ? (uint32_t)msg->surbs.count
                                                                                        : t->pending_reception;
        t->rerequests = 0;
        reply_target_flush(c, t, now_ns);
    }
    if (msg->content == MIXNET_REPLIABLE_DATA_V1 || msg->content == MIXNET_REPLIABLE_DATA_V2) {
        mixnet_received received = {MIXNET_MESSAGE_REPLIABLE, msg->sender_tag, msg->data, msg->data_len};
        c->stats.messages_delivered++;
        c->callbacks.deliver(c->callbacks.ctx, &received);
    }
}

static void message_handle(mixnet_client *c, const uint8_t *padded, size_t padded_len, uint64_t now_ns)
{
    size_t len;
    mixnet_message msg;
    if (mixnet_unpad(padded, padded_len, &len) < 0 || mixnet_message_parse(&msg, padded, len) < 0) {
        c->stats.invalid_received++;
        return;
    }
    if (msg.type == MIXNET_MESSAGE_REPLIABLE) {
        repliable_handle(c, &msg, now_ns);
    } else if (msg.type == MIXNET_MESSAGE_REPLY && msg.content == MIXNET_REPLY_SURB_REQUEST) {
        surb_request_answer(c, &msg, now_ns);
    } else {
        mixnet_received received = {msg.type, NULL, msg.data, msg.data_len};
        c->stats.messages_delivered++;
        c->callbacks.deliver(c->callbacks.ctx, &received);
    }
}

static void timers_trim(mixnet_client *c);

int mixnet_client_receive(mixnet_client *c, const uint8_t *pushed, size_t len, uint64_t now_ns)
{
    if (len <= MIXNET_ACK_MAX_LEN) {
        ack_handle(c, pushed, len, now_ns);
        timers_trim(c);
        return 0;
    }
    uint8_t *buf = malloc(len);
    if (!buf) return MIXNET_ERR_MEMORY;
    memcpy(buf, pushed, len);
    uint8_t surb_key[MIXNET_SURB_KEY_LEN];
    if (mixnet_reply_keys_take(c->reply_keys, buf, surb_key)) {
        mixnet_pushed_open_reply(buf, len, surb_key);
        secure_zero(surb_key, sizeof surb_key);
    } else {
        mixnet_pushed_open_regular(buf, len, c->keys.encryption_secret);
    }
    const uint8_t *plaintext = buf + MIXNET_KEY_LEN;
    size_t plaintext_len = len - MIXNET_KEY_LEN;
    mixnet_fragment f;
    int status = MIXNET_FRAGMENT_STORED;
    uint8_t *padded = NULL;
    size_t padded_len = 0;
    if (mixnet_is_cover(plaintext, plaintext_len)) {
        c->stats.cover_packets_received++;
    } else if (mixnet_fragment_parse(&f, plaintext, plaintext_len) < 0) {
        c->stats.invalid_received++;
        status = MIXNET_ERR_MALFORMED;
    } else {
        c->stats.fragments_received++;
        status = mixnet_reassembler_insert(c->reassembler, &f, now_ns, &padded, &padded_len);
        if (status < 0) c->stats.invalid_received++;
    }
    free(buf);
    if (status == MIXNET_FRAGMENT_COMPLETED) {
        message_handle(c, padded, padded_len, now_ns);
        free(padded);
    }
    return status < 0 ? status : 0;
}

/* --- time */

/* The message of a timer whose fragment is still in flight from that send, or NULL. */
static outgoing_message *timer_message(const mixnet_client *c, const retransmission_timer *t)
{
    outgoing_message *m = message_find(c, t->message_id);
    if (!m || m->fragments[t->index].state != FRAGMENT_IN_FLIGHT || m->fragments[t->index].sends != t->sends)
        return NULL;
    return m;
}

/* Timers are left in the heap when their fragment is acknowledged; those
 * at the top go, so the next deadline is one that matters. */
static void timers_trim(mixnet_client *c)
{
    while (c->timer_count > 0 && !timer_message(c, &c->timers[0])) timer_pop(c);
}

static void timer_fire(mixnet_client *c, const retransmission_timer *t, uint64_t now_ns)
{
    outgoing_message *m = timer_message(c, t);
    if (!m) return;
    fragment_status *status = &m->fragments[t->index];
    if (m->max_retransmissions != MIXNET_UNLIMITED && status->sends > m->max_retransmissions) {
        fragment_resolve(c, m, t->index, false);
        return;
    }
    if (m->destination == DESTINATION_RECIPIENT) {
        if (fragment_enqueue(c, m, t->index, NULL, 0, 0) < 0) fragment_resolve(c, m, t->index, false);
        return;
    }
    /* a reply goes again through a new SURB: above the reserve, or from it for SURB requests */
    size_t available = mixnet_surb_store_count(c->surbs, m->sender_tag);
    if (available > (m->uses_reserve ? 0 : c->config.reply_surb_reserve)) {
        if (reply_fragment_enqueue(c, m, t->index) < 0) fragment_resolve(c, m, t->index, false);
    } else if (m->uses_reserve || reply_fragment_wait(c, m, t->index) < 0) {
        fragment_resolve(c, m, t->index, false);
    } else {
        reply_target *target = reply_target_get(c, m->sender_tag);
        if (target && surbs_wanted(c, target)) surbs_request(c, target, now_ns);
    }
}

static bool housekeeping_needed(const mixnet_client *c)
{
    if (mixnet_reassembler_buffered_bytes(c->reassembler) > 0 || mixnet_reply_keys_count(c->reply_keys) > 0)
        return true;
    for (const reply_target *t = c->reply_targets; t; t = t->next)
        if (t->waiting.count > 0) return true;
    return false;
}

uint64_t mixnet_client_next_deadline_ns(const mixnet_client *c)
{
    if (surb_chunk_due(c)) return 0;
    uint64_t next = UINT64_MAX;
    if (c->timer_count > 0) next = c->timers[0].deadline_ns;
    if (!c->config.disable_poisson_traffic && c->next_poisson_ns < next) next = c->next_poisson_ns;
    if (!c->config.disable_cover_traffic && c->next_cover_ns < next) next = c->next_cover_ns;
    if (c->next_housekeeping_ns < next && housekeeping_needed(c)) next = c->next_housekeeping_ns;
    return next;
}

/* A stream's next tick counts from when this one was due, not from when
 * the loop got to it: timers fire late (whole milliseconds, a busy
 * thread), and counting from then would send fewer than the configured
 * rate. A stall longer than TICK_CATCH_UP_MAX_NS is not made up in a burst. */
#define TICK_CATCH_UP_MAX_NS 50000000ull

static uint64_t tick_after(uint64_t due_ns, uint64_t now_ns, uint64_t mean_ns)
{
    uint64_t from = now_ns - due_ns > TICK_CATCH_UP_MAX_NS ? now_ns : due_ns;
    return from + mixnet_exponential_ns(mean_ns);
}

void mixnet_client_process_deadlines(mixnet_client *c, uint64_t now_ns)
{
    while (c->timer_count > 0 && c->timers[0].deadline_ns <= now_ns) {
        retransmission_timer t = timer_pop(c);
        timer_fire(c, &t, now_ns);
    }
    send_queue_flush_if_immediate(c, now_ns);
    if (!c->config.disable_poisson_traffic && now_ns >= c->next_poisson_ns) {
        /* real traffic takes the place of cover, slot for slot */
        queued_fragment item;
        bool sent = false;
        while (!sent && lanes_pop(c, &item)) sent = fragment_send(c, &item, now_ns);
        if (!sent) cover_send(c);
        c->next_poisson_ns = tick_after(c->next_poisson_ns, now_ns, c->config.message_sending_average_delay_ns);
    }
    /* after the tick's packet, which should not wait for SURBs to be built */
    surb_debts_pay(c, now_ns);
    if (!c->config.disable_cover_traffic && now_ns >= c->next_cover_ns) {
        cover_send(c);
        c->next_cover_ns = tick_after(c->next_cover_ns, now_ns, c->config.loop_cover_average_delay_ns);
    }
    if (now_ns >= c->next_housekeeping_ns) {
        mixnet_reassembler_purge_stale(c->reassembler, now_ns, c->config.incomplete_message_timeout_ns);
        mixnet_reply_keys_purge(c->reply_keys, now_ns, c->config.reply_key_max_age_ns);
        reply_targets_inspect(c, now_ns);
        c->next_housekeeping_ns = now_ns + HOUSEKEEPING_INTERVAL_NS;
    }
    timers_trim(c);
}

void mixnet_client_stats_get(const mixnet_client *c, mixnet_client_stats *out)
{
    *out = c->stats;
    out->fragments_unacknowledged = 0;
    for (const outgoing_message *m = c->messages; m; m = m->next) out->fragments_unacknowledged += m->unresolved;
    out->reply_surbs_outstanding = mixnet_reply_keys_count(c->reply_keys);
    out->surbs_owed = 0;
    for (const surb_debt *d = c->surb_debts; d; d = d->next) out->surbs_owed += d->owed;
}
