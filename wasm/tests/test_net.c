/* The net layer against a scripted peer (net_peer.c), with no event loop:
 * everything here happens inside the calls, so it runs as wasm too. The
 * tests that need lwIP's timers are in test_net_loop.c. */
#include "check.h"
#include "net/net.h"
#include "net_peer.h"

#include <string.h>

static const net_ipv4 other_address = {{10, 0, 9, 9}};

/* Takes the captured packets up to the first TCP one with data or a
 * SYN, FIN or RST flag, skipping plain ACKs. */
static bool next_data_segment(peer_packet *out)
{
    while (peer_next(out))
        if (out->payload_len > 0 || (out->flags & (PEER_TCP_FIN | PEER_TCP_RST | PEER_TCP_SYN))) return true;
    return false;
}

/* The window of the last ACK captured (all are dropped). */
static uint16_t last_window(void)
{
    peer_packet p;
    uint16_t window = 0;
    while (peer_next(&p)) window = p.window;
    return window;
}

void test_net_stack(void)
{
    uint8_t packet[128];
    CHECK(net_init(NULL, NULL) == NET_ERR_INVALID);
    CHECK(net_configure(peer_stack_address, 0) == NET_ERR_INVALID); /* not started */
    peer_start(0);
    CHECK(net_init(NULL, NULL) == NET_ERR_INVALID);

    /* addresses and MTUs the IPR could not mean */
    CHECK(net_configure((net_ipv4){{0, 0, 0, 0}}, 0) == NET_ERR_INVALID);
    CHECK(net_configure((net_ipv4){{127, 0, 0, 1}}, 0) == NET_ERR_INVALID);
    CHECK(net_configure((net_ipv4){{224, 0, 0, 1}}, 0) == NET_ERR_INVALID);
    CHECK(net_configure((net_ipv4){{255, 255, 255, 255}}, 0) == NET_ERR_INVALID);
    CHECK(net_configure(peer_stack_address, NET_MIN_MTU - 1) == NET_ERR_INVALID);

    /* packets that are not IPv4 */
    memset(packet, 0, sizeof packet);
    CHECK(net_input(NULL, 40) == NET_ERR_INVALID);
    packet[0] = 0x45;
    CHECK(net_input(packet, 19) == NET_ERR_INVALID);
    packet[0] = 0x60;
    CHECK(net_input(packet, 40) == NET_ERR_INVALID);
    static uint8_t huge[0x10001];
    huge[0] = 0x45;
    CHECK(net_input(huge, sizeof huge) == NET_ERR_INVALID);
    net_counters counters;
    net_counters_get(&counters);
    CHECK(counters.input_dropped == 4 && counters.packets_in == 0 && counters.packets_out == 0);

    /* a ping through the interface, answered from our address */
    size_t len = peer_build_ping(packet, sizeof packet, peer_address, peer_stack_address, 1);
    CHECK(net_input(packet, len) == NET_OK);
    peer_packet reply;
    CHECK(peer_next(&reply) && reply.protocol == PEER_PROTOCOL_ICMP && reply.payload == NULL);
    CHECK(memcmp(reply.src.octets, peer_stack_address.octets, 4) == 0);
    CHECK(memcmp(reply.dst.octets, peer_address.octets, 4) == 0);
    CHECK(reply.len == len && reply.bytes[20] == 0 /* echo reply */);
    net_counters_get(&counters);
    CHECK(counters.packets_in == 1 && counters.bytes_in == len);
    CHECK(counters.packets_out == 1 && counters.bytes_out == len);

    /* lwIP drops a bad header checksum, and what is not addressed to us */
    len = peer_build_ping(packet, sizeof packet, peer_address, peer_stack_address, 2);
    packet[10] ^= 1;
    CHECK(net_input(packet, len) == NET_OK);
    len = peer_build_ping(packet, sizeof packet, peer_address, other_address, 3);
    CHECK(net_input(packet, len) == NET_OK);
    CHECK(peer_pending() == 0);

    /* configuring the same again changes nothing */
    CHECK(net_configure(peer_stack_address, 0) == NET_OK);

    /* down: nothing goes in or out */
    CHECK(net_down() == NET_OK);
    len = peer_build_ping(packet, sizeof packet, peer_address, peer_stack_address, 4);
    CHECK(net_input(packet, len) == NET_ERR_NETWORK_DOWN);
    int error = NET_OK;
    CHECK(net_tcp_connect(peer_address, 80, 1000, &peer_recorder_events, NULL, &error) == NULL);
    CHECK(error == NET_ERR_NETWORK_DOWN);
    CHECK(strcmp(net_error_text(error), "network down: no tunnel") == 0);
    CHECK(strcmp(net_error_text(12345), "unknown error") == 0);
    CHECK(peer_pending() == 0);

    peer_stop();
    CHECK(net_shutdown() == NET_OK); /* twice is harmless */
    CHECK(net_input(packet, len) == NET_ERR_NETWORK_DOWN);
}

void test_net_tcp_handshake(void)
{
    static const struct {
        uint16_t mtu, mss;
    } cases[] = {{0, 1380}, {1420, 1380}, {1500, 1460}, {1280, 1240}, {9000, 1460}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        peer_start(cases[i].mtu);
        net_tcp *s = net_tcp_connect(peer_address, 443, 1000, &peer_recorder_events, NULL, NULL);
        peer_packet syn;
        CHECK(s && peer_next(&syn) && syn.checksums_ok);
        CHECK(syn.protocol == PEER_PROTOCOL_TCP && syn.flags == PEER_TCP_SYN && syn.dst_port == 443);
        CHECK(syn.mss == cases[i].mss); /* MTU - 40: the exit never fragments */
        CHECK(memcmp(syn.src.octets, peer_stack_address.octets, 4) == 0);
        CHECK(memcmp(syn.dst.octets, peer_address.octets, 4) == 0);
        net_tcp_abort(s);
        peer_packet rst;
        CHECK(peer_next(&rst) && (rst.flags & PEER_TCP_RST));
        peer_stop();
    }

    static peer_recorder r;
    peer_recorder_reset(&r);
    peer_start(0);
    /* arguments it cannot use */
    int error = NET_OK;
    CHECK(!net_tcp_connect(peer_address, 0, 1000, &peer_recorder_events, &r, &error) && error == NET_ERR_INVALID);
    CHECK(!net_tcp_connect((net_ipv4){{0, 0, 0, 0}}, 80, 1000, &peer_recorder_events, &r, &error) &&
          error == NET_ERR_INVALID);
    CHECK(!net_tcp_connect(peer_address, 80, 1000, NULL, &r, &error) && error == NET_ERR_INVALID);
    net_tcp_events partial = {.on_connected = peer_recorder_events.on_connected};
    CHECK(!net_tcp_connect(peer_address, 80, 1000, &partial, &r, &error) && error == NET_ERR_INVALID);

    /* success */
    peer_tcp c;
    net_tcp *s = peer_connect(&c, 80, 65535, &peer_recorder_events, &r);
    CHECK(s && r.connected == 1 && r.closed == 0);
    CHECK(net_tcp_shutdown_write(NULL) == NET_ERR_INVALID);
    net_tcp_close(s);
    peer_packet fin;
    CHECK(next_data_segment(&fin) && (fin.flags & PEER_TCP_FIN));

    /* refused: a reset answering the SYN */
    peer_recorder_reset(&r);
    s = net_tcp_connect(peer_address, 81, 1000, &peer_recorder_events, &r, &error);
    peer_packet syn;
    CHECK(s && error == NET_OK && peer_next(&syn));
    CHECK(net_tcp_shutdown_write(s) == NET_ERR_NOT_CONNECTED);
    c = (peer_tcp){.stack_port = syn.src_port, .peer_port = 81, .seq = 0, .ack = syn.seq + 1};
    /* a reset that does not acknowledge the SYN is not believed */
    c.ack++;
    CHECK(peer_tcp_send(&c, PEER_TCP_RST | PEER_TCP_ACK, NULL, 0, 0) == NET_OK);
    CHECK(r.closed == 0);
    c.ack--;
    CHECK(peer_tcp_send(&c, PEER_TCP_RST | PEER_TCP_ACK, NULL, 0, 0) == NET_OK);
    CHECK(r.connected == 0 && r.closed == 1 && r.closed_error == NET_ERR_REFUSED);
    CHECK(net_tcp_write(s, (const uint8_t *)"x", 1) == NET_ERR_REFUSED);
    CHECK(peer_pending() == 0);
    net_tcp_close(s);
    CHECK(peer_pending() == 0);
    peer_stop();
}

/* Acknowledges everything captured, one ACK per data segment, until the
 * stack has nothing more to send; appends the bytes to out. */
static size_t peer_receive_all(peer_tcp *c, uint8_t *out, size_t cap)
{
    size_t got = 0;
    peer_packet p;
    while (peer_next(&p)) {
        if (p.payload_len == 0) continue;
        if (!CHECK(p.seq == c->ack && got + p.payload_len <= cap)) break;
        memcpy(out + got, p.payload, p.payload_len);
        got += p.payload_len;
        c->ack += (uint32_t)p.payload_len;
        CHECK(peer_tcp_send(c, PEER_TCP_ACK, NULL, 0, 0) == NET_OK);
    }
    return got;
}

void test_net_tcp_data(void)
{
    static peer_recorder r;
    /* larger than the send buffer (256 KB) */
    static uint8_t big[400000], got[400000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7 + i / 251);
    peer_recorder_reset(&r);
    peer_start(0);
    peer_tcp c;
    net_tcp *s = peer_connect(&c, 80, 65535, &peer_recorder_events, &r);
    r.self = s;
    CHECK(s != NULL);

    /* peer to stack; the window shrinks by what the owner holds */
    CHECK(c.stack_window > 60000); /* about 64 KB */
    uint32_t data_start = c.seq;
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK | PEER_TCP_PSH, (const uint8_t *)"hello", 5, 0) == NET_OK);
    CHECK(r.data_len == 5 && memcmp(r.data, "hello", 5) == 0);
    CHECK(peer_pending() == 0); /* the ACK is delayed */
    /* a segment with a wrong checksum is dropped */
    uint8_t packet[64];
    size_t len = peer_build_tcp(packet, sizeof packet, peer_address, peer_stack_address, &c, PEER_TCP_ACK,
                                (const uint8_t *)"bad", 3, 0);
    packet[len - 1] ^= 1;
    CHECK(len > 0 && net_input(packet, len) == NET_OK);
    CHECK(r.data_len == 5 && peer_pending() == 0);
    size_t sent = 5;
    int acks = 0;
    for (int i = 0; i < 14; i++, sent += 1000) {
        CHECK(peer_tcp_send(&c, PEER_TCP_ACK, big + sent, 1000, 0) == NET_OK);
        peer_packet ack; /* every second segment is acknowledged at once */
        for (; peer_next(&ack); acks++) CHECK(ack.window == c.stack_window - (ack.ack - data_start));
    }
    CHECK(acks == 7 && r.data_len == sent && memcmp(r.data + 5, big + 5, sent - 5) == 0);
    /* the owner consumes: the window is re-opened at once */
    CHECK(net_tcp_consumed(s, sent + 1) == NET_ERR_INVALID);
    CHECK(net_tcp_consumed(s, sent) == NET_OK);
    CHECK(last_window() == c.stack_window);

    /* a slow owner: the window closes and the peer's excess is dropped */
    r.data_len = 0;
    size_t offered = 0;
    while (offered < c.stack_window) {
        size_t n = c.stack_window - offered < 1460 ? c.stack_window - offered : 1460;
        CHECK(peer_tcp_send(&c, PEER_TCP_ACK, big + offered, n, 0) == NET_OK);
        offered += n;
    }
    CHECK(r.data_len == c.stack_window);
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK, (const uint8_t *)"!", 1, 0) == NET_OK);
    c.seq--; /* dropped: the peer will send it again */
    CHECK(r.data_len == c.stack_window);
    CHECK(last_window() == 0);
    CHECK(net_tcp_consumed(s, c.stack_window) == NET_OK);
    CHECK(last_window() == c.stack_window);
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK, (const uint8_t *)"!", 1, 0) == NET_OK);
    CHECK(r.data_len == (size_t)c.stack_window + 1 && r.data[c.stack_window] == '!');
    CHECK(net_tcp_consumed(s, 1) == NET_OK);
    peer_discard_all();

    /* stack to peer */
    CHECK(net_tcp_write(s, NULL, 3) == NET_ERR_INVALID);
    CHECK(net_tcp_write(s, big, 0) == 0);
    CHECK(net_tcp_write(s, big, 10000) == 10000);
    CHECK(peer_receive_all(&c, got, sizeof got) == 10000 && memcmp(got, big, 10000) == 0);
    CHECK(r.sent == 10000 && r.writable == 0);

    /* the peer's window closes: writes fill the buffer, then stop */
    c.window = 0;
    CHECK(net_tcp_write(s, big, 1000) == 1000);
    peer_packet p;
    CHECK(next_data_segment(&p) && p.payload_len == 1000);
    c.ack += 1000;
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK, NULL, 0, 0) == NET_OK);
    int taken = net_tcp_write(s, big + 1000, sizeof big - 1000);
    CHECK(taken > 60000 && taken < (int)sizeof big - 1000);
    CHECK(net_tcp_write(s, big + 1000 + taken, 1) == 0);
    CHECK(!next_data_segment(&p));
    /* it opens again: everything flows, and on_writable says so once */
    c.window = 65535;
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK, NULL, 0, 0) == NET_OK);
    size_t received = peer_receive_all(&c, got, sizeof got);
    CHECK(received == (size_t)taken && memcmp(got, big + 1000, received) == 0);
    CHECK(r.writable == 1 && r.sent == 10000 + 1000 + received);
    CHECK(net_tcp_write(s, big + 1000 + taken, 5) == 5);
    CHECK(peer_receive_all(&c, got, sizeof got) == 5);

    /* a write from inside on_data goes out after the input */
    r.write_on_data = "pong";
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK | PEER_TCP_PSH, (const uint8_t *)"ping", 4, 0) == NET_OK);
    CHECK(next_data_segment(&p) && p.payload_len == 4 && memcmp(p.payload, "pong", 4) == 0);
    CHECK(p.ack == c.seq); /* and acknowledges the ping */

    net_tcp_abort(s);
    peer_stop();
}

void test_net_tcp_close(void)
{
    static peer_recorder r;
    peer_recorder_reset(&r);
    peer_start(0);
    peer_tcp c;
    peer_packet p;

    /* half-close from the stack: the peer's data still comes in */
    net_tcp *s = peer_connect(&c, 80, 65535, &peer_recorder_events, &r);
    CHECK(net_tcp_write(s, (const uint8_t *)"req", 3) == 3);
    CHECK(net_tcp_shutdown_write(s) == NET_OK && net_tcp_shutdown_write(s) == NET_OK);
    CHECK(net_tcp_write(s, (const uint8_t *)"x", 1) == NET_ERR_CLOSED);
    CHECK(next_data_segment(&p) && p.payload_len == 3);
    if (!(p.flags & PEER_TCP_FIN)) CHECK(next_data_segment(&p) && (p.flags & PEER_TCP_FIN));
    c.ack = p.seq + p.payload_len + 1;
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK | PEER_TCP_PSH, (const uint8_t *)"response", 8, 0) == NET_OK);
    CHECK(r.data_len == 8 && r.ended == 0 && r.closed == 0);
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK | PEER_TCP_FIN, NULL, 0, 0) == NET_OK);
    CHECK(r.ended == 1 && r.closed == 1 && r.closed_error == NET_OK);
    CHECK(peer_next(&p) && p.ack == c.seq); /* the FIN acknowledged */
    CHECK(net_tcp_write(s, (const uint8_t *)"x", 1) == NET_ERR_CLOSED);
    net_tcp_close(s);
    CHECK(peer_pending() == 0);

    /* the peer finishes first; the stack writes on, then closes its side */
    peer_recorder_reset(&r);
    s = peer_connect(&c, 80, 65535, &peer_recorder_events, &r);
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK | PEER_TCP_FIN, (const uint8_t *)"bye", 3, 0) == NET_OK);
    CHECK(r.data_len == 3 && r.ended == 1 && r.closed == 0);
    CHECK(net_tcp_write(s, (const uint8_t *)"late", 4) == 4);
    CHECK(net_tcp_shutdown_write(s) == NET_OK);
    peer_packet data, fin;
    CHECK(next_data_segment(&data) && data.payload_len == 4 && memcmp(data.payload, "late", 4) == 0);
    fin = data;
    if (!(fin.flags & PEER_TCP_FIN)) CHECK(next_data_segment(&fin) && (fin.flags & PEER_TCP_FIN));
    c.ack = data.seq + 4 + 1;
    CHECK(r.closed == 0);
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK, NULL, 0, 0) == NET_OK);
    CHECK(r.closed == 1 && r.closed_error == NET_OK && r.sent == 4);
    net_tcp_close(s);

    /* close: FIN even with unread bytes (the window is given back), then
     * silence, and a reset for the peer's data that nobody reads */
    peer_recorder_reset(&r);
    s = peer_connect(&c, 80, 65535, &peer_recorder_events, &r);
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK, (const uint8_t *)"unread", 6, 0) == NET_OK);
    net_tcp_close(s);
    CHECK(next_data_segment(&p) && (p.flags & PEER_TCP_FIN) && !(p.flags & PEER_TCP_RST));
    c.ack = p.seq + 1;
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK, (const uint8_t *)"more", 4, 0) == NET_OK);
    CHECK(next_data_segment(&p) && (p.flags & PEER_TCP_RST));
    CHECK(r.closed == 0 && r.data_len == 6);

    /* reset by the peer */
    peer_recorder_reset(&r);
    s = peer_connect(&c, 80, 65535, &peer_recorder_events, &r);
    CHECK(peer_tcp_send(&c, PEER_TCP_RST | PEER_TCP_ACK, NULL, 0, 0) == NET_OK);
    CHECK(r.closed == 1 && r.closed_error == NET_ERR_RESET);
    CHECK(net_tcp_write(s, (const uint8_t *)"x", 1) == NET_ERR_RESET);
    CHECK(net_tcp_shutdown_write(s) == NET_ERR_RESET);
    net_tcp_close(s);
    CHECK(peer_pending() == 0);

    /* abort: a reset, and no callback */
    peer_recorder_reset(&r);
    s = peer_connect(&c, 80, 65535, &peer_recorder_events, &r);
    net_tcp_abort(s);
    CHECK(peer_next(&p) && (p.flags & PEER_TCP_RST) && r.closed == 0);

    /* closing and aborting from inside on_data */
    peer_recorder_reset(&r);
    r.self = peer_connect(&c, 80, 65535, &peer_recorder_events, &r);
    r.close_on_data = true;
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK, (const uint8_t *)"a", 1, 0) == NET_OK);
    CHECK(next_data_segment(&p) && (p.flags & PEER_TCP_FIN) && p.ack == c.seq);
    CHECK(r.closed == 0 && r.data_len == 1);

    peer_recorder_reset(&r);
    r.self = peer_connect(&c, 80, 65535, &peer_recorder_events, &r);
    r.abort_on_data = true;
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK, (const uint8_t *)"b", 1, 0) == NET_OK);
    CHECK(next_data_segment(&p) && (p.flags & PEER_TCP_RST));
    CHECK(peer_pending() == 0 && r.closed == 0);
    peer_stop();
}

static struct {
    int count;
    net_ipv4 from;
    uint16_t from_port;
    uint8_t data[2048];
    size_t len;
} datagrams;

static void on_datagram(void *ctx, net_ipv4 from, uint16_t from_port, const uint8_t *data, size_t len)
{
    (void)ctx;
    datagrams.count++;
    datagrams.from = from;
    datagrams.from_port = from_port;
    if (CHECK(len <= sizeof datagrams.data)) memcpy(datagrams.data, data, len);
    datagrams.len = len;
}

void test_net_udp(void)
{
    uint8_t packet[2048], payload[1500];
    memset(payload, 'q', sizeof payload);
    memset(&datagrams, 0, sizeof datagrams);
    int error = NET_OK;
    CHECK(!net_udp_open(on_datagram, NULL, &error) && error == NET_ERR_NETWORK_DOWN); /* not started */
    peer_start(0);
    CHECK(!net_udp_open(NULL, NULL, &error) && error == NET_ERR_INVALID);
    net_udp *u = net_udp_open(on_datagram, NULL, &error);
    CHECK(u && error == NET_OK);

    CHECK(net_udp_send_to(u, peer_address, 53, (const uint8_t *)"query", 5) == NET_OK);
    peer_packet p;
    CHECK(peer_next(&p) && p.protocol == PEER_PROTOCOL_UDP && p.checksums_ok);
    CHECK(p.dst_port == 53 && p.src_port != 0 && p.payload_len == 5 && memcmp(p.payload, "query", 5) == 0);
    CHECK(memcmp(p.src.octets, peer_stack_address.octets, 4) == 0);
    uint16_t local_port = p.src_port;

    /* the largest datagram fits the MTU unfragmented, one more byte does not */
    CHECK(net_udp_send_to(u, peer_address, 53, payload, NET_DEFAULT_MTU - NET_UDP_IP_HEADERS) == NET_OK);
    CHECK(peer_next(&p) && p.len == NET_DEFAULT_MTU && p.checksums_ok);
    CHECK(net_udp_send_to(u, peer_address, 53, payload, NET_DEFAULT_MTU - NET_UDP_IP_HEADERS + 1) ==
          NET_ERR_TOO_LONG);
    CHECK(net_udp_send_to(u, peer_address, 0, payload, 1) == NET_ERR_INVALID);
    CHECK(net_udp_send_to(u, peer_address, 53, NULL, 1) == NET_ERR_INVALID);
    CHECK(net_udp_send_to(u, peer_address, 53, NULL, 0) == NET_OK);
    CHECK(peer_next(&p) && p.payload_len == 0 && p.checksums_ok);

    /* the answer */
    size_t len = peer_build_udp(packet, sizeof packet, peer_address, 53, peer_stack_address, local_port,
                                (const uint8_t *)"answer", 6);
    CHECK(net_input(packet, len) == NET_OK);
    CHECK(datagrams.count == 1 && datagrams.from_port == 53 && datagrams.len == 6);
    CHECK(memcmp(datagrams.from.octets, peer_address.octets, 4) == 0 && memcmp(datagrams.data, "answer", 6) == 0);
    /* a corrupted one is dropped */
    len = peer_build_udp(packet, sizeof packet, peer_address, 53, peer_stack_address, local_port,
                         (const uint8_t *)"answer", 6);
    packet[len - 1] ^= 0x20;
    CHECK(net_input(packet, len) == NET_OK);
    CHECK(datagrams.count == 1);
    /* to a port nobody listens on: ICMP port unreachable */
    len = peer_build_udp(packet, sizeof packet, peer_address, 53, peer_stack_address, (uint16_t)(local_port + 1),
                         (const uint8_t *)"stray", 5);
    CHECK(net_input(packet, len) == NET_OK);
    CHECK(peer_next(&p) && p.protocol == PEER_PROTOCOL_ICMP && p.bytes[20] == 3 && p.bytes[21] == 3);
    CHECK(datagrams.count == 1);

    net_udp_close(u);
    len = peer_build_udp(packet, sizeof packet, peer_address, 53, peer_stack_address, local_port,
                         (const uint8_t *)"late", 4);
    CHECK(net_input(packet, len) == NET_OK);
    CHECK(datagrams.count == 1);
    peer_discard_all();
    peer_stop();
}

void test_net_reconfigure(void)
{
    static peer_recorder established, connecting;
    peer_recorder_reset(&established);
    peer_recorder_reset(&connecting);
    memset(&datagrams, 0, sizeof datagrams);
    peer_start(0);
    peer_tcp c;
    net_tcp *a = peer_connect(&c, 80, 65535, &peer_recorder_events, &established);
    net_tcp *b = net_tcp_connect(peer_address, 81, 5000, &peer_recorder_events, &connecting, NULL);
    net_udp *u = net_udp_open(on_datagram, NULL, NULL);
    CHECK(a && b && u);
    peer_discard_all();

    /* the same address: nothing happens */
    CHECK(net_configure(peer_stack_address, NET_DEFAULT_MTU) == NET_OK);
    CHECK(established.closed == 0 && connecting.closed == 0);

    /* another address: connections fail, quietly (their peers are out of
     * reach), and UDP carries on from the new address */
    CHECK(net_configure(other_address, 1500) == NET_OK);
    CHECK(established.closed == 1 && established.closed_error == NET_ERR_NETWORK_CHANGED);
    CHECK(connecting.closed == 1 && connecting.closed_error == NET_ERR_NETWORK_CHANGED);
    CHECK(peer_pending() == 0);
    CHECK(net_tcp_write(a, (const uint8_t *)"x", 1) == NET_ERR_NETWORK_CHANGED);
    net_tcp_close(a);
    net_tcp_close(b);
    CHECK(peer_pending() == 0);

    CHECK(net_udp_send_to(u, peer_address, 53, (const uint8_t *)"q", 1) == NET_OK);
    peer_packet p;
    CHECK(peer_next(&p) && memcmp(p.src.octets, other_address.octets, 4) == 0);
    uint8_t packet[128];
    size_t len = peer_build_udp(packet, sizeof packet, peer_address, 53, other_address, p.src_port,
                                (const uint8_t *)"a", 1);
    CHECK(net_input(packet, len) == NET_OK && datagrams.count == 1);
    len = peer_build_udp(packet, sizeof packet, peer_address, 53, peer_stack_address, p.src_port,
                         (const uint8_t *)"a", 1);
    CHECK(net_input(packet, len) == NET_OK && datagrams.count == 1 && peer_pending() == 0);

    /* new connections use the new address and MTU */
    peer_recorder_reset(&established);
    net_tcp *d = net_tcp_connect(peer_address, 80, 5000, &peer_recorder_events, &established, NULL);
    CHECK(d && peer_next(&p) && memcmp(p.src.octets, other_address.octets, 4) == 0 && p.mss == 1460);

    /* down: they fail again, and nothing can be sent */
    CHECK(net_down() == NET_OK);
    CHECK(established.closed == 1 && established.closed_error == NET_ERR_NETWORK_DOWN);
    CHECK(net_udp_send_to(u, peer_address, 53, (const uint8_t *)"q", 1) == NET_ERR_NETWORK_DOWN);
    net_tcp_close(d);
    CHECK(peer_pending() == 0);

    /* and up again */
    CHECK(net_configure(peer_stack_address, 0) == NET_OK);
    CHECK(net_udp_send_to(u, peer_address, 53, (const uint8_t *)"q", 1) == NET_OK);
    CHECK(peer_next(&p) && memcmp(p.src.octets, peer_stack_address.octets, 4) == 0);

    /* shutdown stops UDP sockets too; the handle stays until closed */
    peer_stop();
    CHECK(net_udp_send_to(u, peer_address, 53, (const uint8_t *)"q", 1) == NET_ERR_NETWORK_DOWN);
    net_udp_close(u);
}

/* Refuses the stack calls from inside callbacks, and opens a connection
 * from inside on_closed. */
static struct {
    int busy_results, closed;
    net_tcp *reopened;
} reentry;

static int discard_output(void *ctx, const uint8_t *packet, size_t len)
{
    (void)ctx;
    (void)packet;
    (void)len;
    return 0;
}

static void reentry_connected(void *ctx)
{
    (void)ctx;
    uint8_t packet[40] = {0x45};
    if (net_input(packet, sizeof packet) == NET_ERR_BUSY) reentry.busy_results++;
    if (net_configure(peer_stack_address, 0) == NET_ERR_BUSY) reentry.busy_results++;
    if (net_down() == NET_ERR_BUSY) reentry.busy_results++;
    if (net_shutdown() == NET_ERR_BUSY) reentry.busy_results++;
    if (net_output_ready() == NET_ERR_BUSY) reentry.busy_results++;
    if (net_init(discard_output, NULL) == NET_ERR_BUSY) reentry.busy_results++;
}

static void reentry_data(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
}

static void reentry_closed(void *ctx, int error)
{
    (void)ctx;
    (void)error;
    reentry.closed++;
    if (!reentry.reopened) {
        static const net_tcp_events events = {
            .on_connected = reentry_connected, .on_data = reentry_data, .on_closed = reentry_closed};
        reentry.reopened = net_tcp_connect(peer_address, 8080, 5000, &events, NULL, NULL);
    }
}

void test_net_reentry(void)
{
    memset(&reentry, 0, sizeof reentry);
    peer_start(0);
    static const net_tcp_events events = {
        .on_connected = reentry_connected, .on_data = reentry_data, .on_closed = reentry_closed};
    peer_tcp c;
    net_tcp *s = peer_connect(&c, 80, 65535, &events, NULL);
    CHECK(s && reentry.busy_results == 6);
    CHECK(peer_tcp_send(&c, PEER_TCP_RST | PEER_TCP_ACK, NULL, 0, 0) == NET_OK);
    CHECK(reentry.closed == 1 && reentry.reopened != NULL);
    peer_packet syn;
    CHECK(peer_next(&syn) && syn.flags == PEER_TCP_SYN && syn.dst_port == 8080);
    net_tcp_close(s);
    net_tcp_close(reentry.reopened);
    peer_stop();
}

void test_net_output_refused(void)
{
    static peer_recorder r;
    peer_recorder_reset(&r);
    peer_start(0);
    peer_tcp c;
    net_tcp *s = peer_connect(&c, 80, 65535, &peer_recorder_events, &r);
    net_udp *u = net_udp_open(on_datagram, NULL, NULL);

    /* the tunnel's queue is full: TCP keeps the segment, UDP fails */
    peer_refuse_output(true);
    CHECK(net_tcp_write(s, (const uint8_t *)"kept", 4) == 4);
    CHECK(net_udp_send_to(u, peer_address, 53, (const uint8_t *)"q", 1) == NET_ERR_NO_BUFFERS);
    net_counters counters;
    net_counters_get(&counters);
    CHECK(counters.output_refused == 2 && peer_pending() == 0);
    peer_refuse_output(false);
    CHECK(net_output_ready() == NET_OK);
    peer_packet p;
    CHECK(next_data_segment(&p) && p.payload_len == 4 && memcmp(p.payload, "kept", 4) == 0);
    net_tcp_abort(s);
    net_udp_close(u);
    peer_stop();
}

void test_net_socket_limit(void)
{
    static peer_recorder r;
    static net_tcp *sockets[256];
    peer_recorder_reset(&r);
    peer_start(0);
    size_t count = 0;
    int error = NET_OK;
    while (count < sizeof sockets / sizeof sockets[0] &&
           (sockets[count] = net_tcp_connect(peer_address, 80, 5000, &peer_recorder_events, &r, &error)))
        count++;
    /* connections in use are never reclaimed for new ones */
    CHECK(count >= 16 && count < sizeof sockets / sizeof sockets[0] && error == NET_ERR_NO_BUFFERS);
    CHECK(r.closed == 0);
    net_tcp_abort(sockets[0]);
    sockets[0] = net_tcp_connect(peer_address, 80, 5000, &peer_recorder_events, &r, &error);
    CHECK(sockets[0] != NULL && error == NET_OK);
    for (size_t i = 0; i < count; i++) net_tcp_close(sockets[i]);
    peer_discard_all();
    peer_stop();
}
