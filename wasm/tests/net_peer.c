#include "net_peer.h"

#include "check.h"

#include <string.h>

#define PEER_MAX_CAPTURED 256
#define IPV4_HEADER 20
#define TCP_HEADER 20
#define UDP_HEADER 8

const net_ipv4 peer_stack_address = {{10, 0, 3, 7}};
const net_ipv4 peer_address = {{192, 0, 2, 10}};

static struct {
    uint8_t packets[PEER_MAX_CAPTURED][NET_MAX_MTU];
    size_t lens[PEER_MAX_CAPTURED];
    size_t head, count;
    bool refuse;
    uint16_t ip_id;
} captured;

static int peer_capture(void *ctx, const uint8_t *packet, size_t len)
{
    (void)ctx;
    if (captured.refuse) return -1;
    /* a full queue or an oversized packet fails the test that caused it */
    if (!CHECK(captured.count < PEER_MAX_CAPTURED && len <= NET_MAX_MTU)) return -1;
    size_t slot = (captured.head + captured.count++) % PEER_MAX_CAPTURED;
    memcpy(captured.packets[slot], packet, len);
    captured.lens[slot] = len;
    return 0;
}

void peer_start(uint16_t mtu)
{
    memset(&captured, 0, sizeof captured);
    CHECK(net_init(peer_capture, NULL) == NET_OK);
    CHECK(net_configure(peer_stack_address, mtu) == NET_OK);
}

void peer_stop(void)
{
    CHECK(net_shutdown() == NET_OK);
}

size_t peer_pending(void)
{
    return captured.count;
}

void peer_discard_all(void)
{
    captured.head = captured.count = 0;
}

void peer_refuse_output(bool refuse)
{
    captured.refuse = refuse;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
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

/* RFC 1071: the ones' complement sum, carried on from sum. */
static uint32_t sum_words(uint32_t sum, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) sum += get16(data + i);
    if (len & 1) sum += (uint32_t)data[len - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

/* The transport checksum over the pseudo-header and segment. */
static uint16_t transport_checksum(const uint8_t *ip, uint8_t protocol, const uint8_t *segment, size_t len)
{
    uint32_t sum = sum_words(0, ip + 12, 8); /* source and destination */
    sum += protocol;
    sum += (uint32_t)len;
    return fold(sum_words(sum, segment, len));
}

bool peer_next(peer_packet *out)
{
    if (captured.count == 0) return false;
    memset(out, 0, sizeof *out);
    out->len = captured.lens[captured.head];
    memcpy(out->bytes, captured.packets[captured.head], out->len);
    captured.head = (captured.head + 1) % PEER_MAX_CAPTURED;
    captured.count--;

    const uint8_t *ip = out->bytes;
    if (out->len < IPV4_HEADER || ip[0] != 0x45 || get16(ip + 2) != out->len) return true;
    bool ok = fold(sum_words(0, ip, IPV4_HEADER)) == 0;
    memcpy(out->src.octets, ip + 12, 4);
    memcpy(out->dst.octets, ip + 16, 4);
    out->protocol = ip[9];
    const uint8_t *segment = ip + IPV4_HEADER;
    size_t segment_len = out->len - IPV4_HEADER;
    if (out->protocol == PEER_PROTOCOL_TCP && segment_len >= TCP_HEADER) {
        size_t header = (size_t)(segment[12] >> 4) * 4;
        if (header < TCP_HEADER || header > segment_len) return true;
        ok = ok && transport_checksum(ip, PEER_PROTOCOL_TCP, segment, segment_len) == 0;
        out->src_port = get16(segment);
        out->dst_port = get16(segment + 2);
        out->seq = get32(segment + 4);
        out->ack = get32(segment + 8);
        out->flags = segment[13];
        out->window = get16(segment + 14);
        for (size_t i = TCP_HEADER; i < header;) {
            uint8_t kind = segment[i];
            if (kind == 0) break;
            if (kind == 1) {
                i++;
                continue;
            }
            if (i + 1 >= header || segment[i + 1] < 2 || i + segment[i + 1] > header) break;
            if (kind == 2 && segment[i + 1] == 4) out->mss = get16(segment + i + 2);
            i += segment[i + 1];
        }
        out->payload = segment + header;
        out->payload_len = segment_len - header;
    } else if (out->protocol == PEER_PROTOCOL_UDP && segment_len >= UDP_HEADER) {
        if (get16(segment + 4) != segment_len) return true;
        ok = ok && transport_checksum(ip, PEER_PROTOCOL_UDP, segment, segment_len) == 0;
        out->src_port = get16(segment);
        out->dst_port = get16(segment + 2);
        out->payload = segment + UDP_HEADER;
        out->payload_len = segment_len - UDP_HEADER;
    } else if (out->protocol != PEER_PROTOCOL_ICMP) {
        return true;
    }
    out->checksums_ok = ok;
    return true;
}

static void put_ipv4_header(uint8_t *ip, size_t total, uint8_t protocol, net_ipv4 src, net_ipv4 dst)
{
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint16_t)total);
    put16(ip + 4, captured.ip_id++);
    put16(ip + 6, 0x4000); /* don't fragment */
    ip[8] = 64;
    ip[9] = protocol;
    put16(ip + 10, 0);
    memcpy(ip + 12, src.octets, 4);
    memcpy(ip + 16, dst.octets, 4);
    put16(ip + 10, fold(sum_words(0, ip, IPV4_HEADER)));
}

size_t peer_build_tcp(uint8_t *out, size_t cap, net_ipv4 src, net_ipv4 dst, const peer_tcp *c, uint8_t flags,
                      const uint8_t *payload, size_t len, uint16_t mss)
{
    size_t header = TCP_HEADER + (mss ? 4 : 0);
    size_t total = IPV4_HEADER + header + len;
    if (total > cap || total > 0xFFFF) return 0;
    uint8_t *segment = out + IPV4_HEADER;
    memset(segment, 0, header);
    put16(segment, c->peer_port);
    put16(segment + 2, c->stack_port);
    put32(segment + 4, c->seq);
    put32(segment + 8, (flags & PEER_TCP_ACK) ? c->ack : 0);
    segment[12] = (uint8_t)(header / 4 << 4);
    segment[13] = flags;
    put16(segment + 14, c->window);
    if (mss) {
        segment[20] = 2;
        segment[21] = 4;
        put16(segment + 22, mss);
    }
    if (len) memcpy(segment + header, payload, len);
    put_ipv4_header(out, total, PEER_PROTOCOL_TCP, src, dst);
    put16(segment + 16, transport_checksum(out, PEER_PROTOCOL_TCP, segment, header + len));
    return total;
}

size_t peer_build_udp(uint8_t *out, size_t cap, net_ipv4 src, uint16_t src_port, net_ipv4 dst, uint16_t dst_port,
                      const uint8_t *payload, size_t len)
{
    size_t total = IPV4_HEADER + UDP_HEADER + len;
    if (total > cap || total > 0xFFFF) return 0;
    uint8_t *segment = out + IPV4_HEADER;
    put16(segment, src_port);
    put16(segment + 2, dst_port);
    put16(segment + 4, (uint16_t)(UDP_HEADER + len));
    put16(segment + 6, 0);
    if (len) memcpy(segment + UDP_HEADER, payload, len);
    put_ipv4_header(out, total, PEER_PROTOCOL_UDP, src, dst);
    uint16_t sum = transport_checksum(out, PEER_PROTOCOL_UDP, segment, UDP_HEADER + len);
    put16(segment + 6, sum ? sum : 0xFFFF); /* 0 would mean no checksum */
    return total;
}

size_t peer_build_ping(uint8_t *out, size_t cap, net_ipv4 src, net_ipv4 dst, uint16_t sequence)
{
    static const uint8_t data[] = "ping";
    size_t total = IPV4_HEADER + 8 + sizeof data;
    if (total > cap) return 0;
    uint8_t *icmp = out + IPV4_HEADER;
    icmp[0] = 8; /* echo request */
    icmp[1] = 0;
    put16(icmp + 2, 0);
    put16(icmp + 4, 0x4d58);
    put16(icmp + 6, sequence);
    memcpy(icmp + 8, data, sizeof data);
    put16(icmp + 2, fold(sum_words(0, icmp, 8 + sizeof data)));
    put_ipv4_header(out, total, PEER_PROTOCOL_ICMP, src, dst);
    return total;
}

int peer_tcp_send(peer_tcp *c, uint8_t flags, const uint8_t *payload, size_t len, uint16_t mss)
{
    static uint8_t packet[0x10000];
    size_t total =
        peer_build_tcp(packet, sizeof packet, peer_address, peer_stack_address, c, flags, payload, len, mss);
    if (!CHECK(total > 0)) return NET_ERR_INVALID;
    c->seq += (uint32_t)len + ((flags & PEER_TCP_SYN) ? 1 : 0) + ((flags & PEER_TCP_FIN) ? 1 : 0);
    return net_input(packet, total);
}

net_tcp *peer_connect(peer_tcp *c, uint16_t port, uint16_t window, const net_tcp_events *events, void *ctx)
{
    int error = NET_ERR_INVALID;
    net_tcp *s = net_tcp_connect(peer_address, port, 5000, events, ctx, &error);
    peer_packet syn;
    if (!CHECK(s && error == NET_OK) || !CHECK(peer_next(&syn)) || !CHECK(syn.flags == PEER_TCP_SYN)) return NULL;
    *c = (peer_tcp){.stack_port = syn.src_port, .peer_port = port, .seq = 0x70000000u, .ack = syn.seq + 1,
                    .window = window};
    CHECK(peer_tcp_send(c, PEER_TCP_SYN | PEER_TCP_ACK, NULL, 0, NET_MAX_MTU - NET_TCP_IP_HEADERS) == NET_OK);
    peer_packet ack;
    if (!CHECK(peer_next(&ack)) || !CHECK(ack.flags == PEER_TCP_ACK && ack.ack == c->seq)) return NULL;
    c->stack_window = ack.window;
    return s;
}

static void recorder_connected(void *ctx)
{
    ((peer_recorder *)ctx)->connected++;
}

static void recorder_data(void *ctx, const uint8_t *data, size_t len)
{
    peer_recorder *r = ctx;
    if (CHECK(r->data_len + len <= sizeof r->data)) {
        memcpy(r->data + r->data_len, data, len);
        r->data_len += len;
    }
    if (r->consume_on_data) CHECK(net_tcp_consumed(r->self, len) == NET_OK);
    if (r->write_on_data) {
        size_t n = strlen(r->write_on_data);
        CHECK(net_tcp_write(r->self, (const uint8_t *)r->write_on_data, n) == (int)n);
        r->write_on_data = NULL;
    }
    if (r->close_on_data) {
        r->close_on_data = false;
        net_tcp_close(r->self);
    }
    if (r->abort_on_data) {
        r->abort_on_data = false;
        net_tcp_abort(r->self);
    }
}

static void recorder_end(void *ctx)
{
    ((peer_recorder *)ctx)->ended++;
}

static void recorder_sent(void *ctx, size_t acked)
{
    ((peer_recorder *)ctx)->sent += acked;
}

static void recorder_writable(void *ctx)
{
    ((peer_recorder *)ctx)->writable++;
}

static void recorder_closed(void *ctx, int error)
{
    peer_recorder *r = ctx;
    r->closed++;
    r->closed_error = error;
}

const net_tcp_events peer_recorder_events = {
    .on_connected = recorder_connected,
    .on_data = recorder_data,
    .on_closed = recorder_closed,
    .on_end = recorder_end,
    .on_sent = recorder_sent,
    .on_writable = recorder_writable,
};

void peer_recorder_reset(peer_recorder *r)
{
    memset(r, 0, sizeof *r);
}
