/* localnet's mix nodes over real loopback TCP: packets built by our Sphinx
 * layer cross three mixes and reach the gateway's delivery, with delays,
 * acks forwarded, bad frames refused, and faults injected. */
#include "check.h"
#include "crypto/crypto.h"
#include "mixnet/mixnet.h"
#include "mixnet_nodes.h"
#include "platform/platform.h"

#include <string.h>

#define HOPS 4

typedef struct {
    size_t delivered;
    uint8_t last[2048];
    size_t last_len;
    uint8_t destination[32];
} delivery_log;

static void on_deliver(void *ctx, const uint8_t destination[32], const uint8_t *msg, size_t len)
{
    delivery_log *log = ctx;
    log->delivered++;
    memcpy(log->destination, destination, 32);
    log->last_len = len < sizeof log->last ? len : sizeof log->last;
    memcpy(log->last, msg, log->last_len);
}

typedef struct {
    forwarder *fw;
    mixnet_node_server *nodes[HOPS];
    uint8_t secrets[HOPS][32];
    sphinx_hop route[HOPS];
    nym_node_address addrs[HOPS];
    delivery_log log;
} network;

static bool network_start(network *net)
{
    memset(net, 0, sizeof *net);
    net->fw = forwarder_create();
    for (int i = 0; i < HOPS; i++) {
        random_bytes(net->secrets[i], 32);
        x25519_public_key(net->route[i].public_key, net->secrets[i]);
        net->nodes[i] = mixnet_node_start(0, net->secrets[i], net->fw, i == HOPS - 1 ? on_deliver : NULL, &net->log);
        if (!net->nodes[i]) return false;
        net->addrs[i] = (nym_node_address){.family = 4, .port = mixnet_node_port(net->nodes[i]), .ip = {127, 0, 0, 1}};
        nym_node_address_encode_padded(&net->addrs[i], net->route[i].address, SPHINX_NODE_ADDRESS_LEN);
        forwarder_allow(net->fw, &net->addrs[i]);
    }
    return true;
}

static void network_stop(network *net)
{
    for (int i = 0; i < HOPS; i++) mixnet_node_stop(net->nodes[i]);
    forwarder_destroy(net->fw);
}

static void run_until(const size_t *counter, size_t target, uint64_t timeout_ms)
{
    uint64_t end = platform_monotonic_ms() + timeout_ms;
    while (*counter < target && platform_monotonic_ms() < end) platform_run_once(20);
}

/* A Regular packet whose payload is an ack field (to our own gateway,
 * carrying an Ack packet) and a message, like a client's. */
static void build_packet(network *net, uint8_t packet[NYM_REGULAR_PACKET_LEN], const uint8_t *message, size_t len,
                         const uint64_t delays[HOPS])
{
    uint8_t destination[32] = {42}, payload[2048] = {0};
    uint8_t ack_packet[NYM_ACK_PACKET_LEN], ack_message[21] = {1, 2, 3};
    sphinx_packet_build(ack_packet, sizeof ack_packet, ack_message, sizeof ack_message, net->route, HOPS, destination,
                        NULL, SPHINX_VERSION_KEY_SEEDS, NULL);
    nym_node_address_encode_padded(&net->addrs[0], payload, 19);
    memcpy(payload + 19, ack_packet, sizeof ack_packet);
    memcpy(payload + 405, message, len);
    sphinx_packet_build(packet, NYM_REGULAR_PACKET_LEN, payload, sizeof payload, net->route, HOPS, destination,
                        delays, SPHINX_VERSION_KEY_SEEDS, NULL);
}

static void send_packet(network *net, const uint8_t *message, size_t len, const uint64_t delays[HOPS])
{
    uint8_t packet[NYM_REGULAR_PACKET_LEN];
    build_packet(net, packet, message, len, delays);
    nym_mix_packet mp = {.next_hop = net->addrs[0], .packet_type = 0, .rotation = NYM_ROTATION_UNKNOWN,
                         .packet = packet, .packet_len = sizeof packet};
    forwarder_send(net->fw, &mp);
}

void test_mixnet_nodes(void)
{
    network net;
    if (!CHECK(network_start(&net))) return;
    static const uint64_t delays[HOPS] = {20000000, 30000000, 40000000, 0};
    uint8_t message[1643];
    random_bytes(message, sizeof message);
    uint64_t start = platform_monotonic_ms();
    send_packet(&net, message, sizeof message, delays);
    /* the message, then its ack (an Ack packet through the same route) */
    run_until(&net.log.delivered, 1, 3000);
    uint64_t took = platform_monotonic_ms() - start;
    CHECK(net.log.delivered == 1 && net.log.last_len == sizeof message && memcmp(net.log.last, message, sizeof message) == 0);
    CHECK(took >= 90);
    run_until(&net.log.delivered, 2, 3000);
    CHECK(net.log.delivered == 2 && net.log.last_len == 21 && net.log.last[0] == 1 && net.log.last[2] == 3);
    CHECK(mixnet_node_get_stats(net.nodes[0])->forwarded == 2 && mixnet_node_get_stats(net.nodes[3])->delivered == 2);

    /* a replayed packet is dropped at the first hop */
    uint8_t packet[NYM_REGULAR_PACKET_LEN], payload[100] = {9};
    static const uint64_t no_delay[HOPS] = {0};
    build_packet(&net, packet, payload, sizeof payload, no_delay);
    nym_mix_packet mp = {.next_hop = net.addrs[0], .packet = packet, .packet_len = sizeof packet};
    forwarder_send(net.fw, &mp);
    forwarder_send(net.fw, &mp);
    run_until(&net.log.delivered, 4, 3000);
    uint64_t settle = platform_monotonic_ms() + 100;
    while (platform_monotonic_ms() < settle) platform_run_once(20);
    /* the packet and its ack, once */
    CHECK(net.log.delivered == 4 && mixnet_node_get_stats(net.nodes[0])->replayed == 1);

    /* a node refuses a packet that is not for it, and does not route to unknown nodes */
    packet[100] ^= 1;
    forwarder_send(net.fw, &mp);
    nym_mix_packet stranger = mp;
    stranger.next_hop.port = 1;
    CHECK(forwarder_send(net.fw, &stranger) == -1);
    uint64_t end = platform_monotonic_ms() + 200;
    while (platform_monotonic_ms() < end) platform_run_once(20);
    CHECK(mixnet_node_get_stats(net.nodes[0])->rejected == 1);
    network_stop(&net);
}

void test_mixnet_nodes_faults(void)
{
    network net;
    if (!CHECK(network_start(&net))) return;
    mixnet_faults faults = {.drop_rate = 0.2, .duplicate_rate = 0.2, .reorder_rate = 0.5, .reorder_max_ms = 30};
    for (int i = 0; i < 3; i++) mixnet_node_set_faults(net.nodes[i], &faults);
    static const uint64_t no_delay[HOPS] = {0};
    enum { SENT = 100 };
    for (int i = 0; i < SENT; i++) {
        uint8_t message[4] = {(uint8_t)i};
        send_packet(&net, message, sizeof message, no_delay);
    }
    uint64_t end = platform_monotonic_ms() + 1500;
    while (platform_monotonic_ms() < end) platform_run_once(20);
    const mixnet_node_stats *first = mixnet_node_get_stats(net.nodes[0]);
    /* each of the 100 packets and the acks of those delivered cross all
     * three faulty mixes: some are lost, some duplicated */
    CHECK(first->received >= SENT);
    CHECK(first->dropped > 5 && first->dropped < first->received / 2);
    CHECK(net.log.delivered > 20 && net.log.delivered < 2 * SENT * 2);
    network_stop(&net);
}
