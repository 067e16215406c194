/* A scripted peer for the net layer's tests. lwIP is one global stack,
 * so the far end of every connection is this: it captures the packets the
 * stack sends and feeds it hand-built IPv4/TCP/UDP packets, checksums
 * right, through net_input. */
#ifndef MIX_TEST_NET_PEER_H
#define MIX_TEST_NET_PEER_H

#include "net/net.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_TCP_FIN 0x01
#define PEER_TCP_SYN 0x02
#define PEER_TCP_RST 0x04
#define PEER_TCP_PSH 0x08
#define PEER_TCP_ACK 0x10

#define PEER_PROTOCOL_ICMP 1
#define PEER_PROTOCOL_TCP 6
#define PEER_PROTOCOL_UDP 17

/* A packet the stack sent, parsed. */
typedef struct {
    uint8_t bytes[NET_MAX_MTU];
    size_t len;
    bool checksums_ok; /* IPv4 header and TCP or UDP checksums */
    net_ipv4 src, dst;
    uint8_t protocol;
    uint16_t src_port, dst_port;
    uint32_t seq, ack; /* TCP */
    uint8_t flags;
    uint16_t window;
    uint16_t mss; /* the SYN's option; 0 when absent */
    const uint8_t *payload;
    size_t payload_len;
} peer_packet;

/* The stack as the tests use it: output captured, configured with
 * peer_stack_address and mtu (0: the v9 default). */
extern const net_ipv4 peer_stack_address;
extern const net_ipv4 peer_address;
void peer_start(uint16_t mtu);
void peer_stop(void);

/* Captured packets, oldest first. */
size_t peer_pending(void);
bool peer_next(peer_packet *out);
void peer_discard_all(void);
/* While true, the stack's output callback refuses packets (-1). */
void peer_refuse_output(bool refuse);

/* One TCP connection as the peer sees it. */
typedef struct {
    uint16_t stack_port, peer_port;
    uint32_t seq;    /* the peer's next sequence number */
    uint32_t ack;    /* the next byte the peer expects from the stack */
    uint16_t window;       /* what the peer advertises */
    uint16_t stack_window; /* what the stack advertised in the handshake */
} peer_tcp;

/* Builds a TCP segment from the peer with c's numbers (mss option when
 * nonzero) and feeds it to the stack; SYN, FIN and payload advance c->seq.
 * Gives net_input's result. */
int peer_tcp_send(peer_tcp *c, uint8_t flags, const uint8_t *payload, size_t len, uint16_t mss);
/* The same segment, or a UDP datagram, between any addresses, into out
 * (gives its length, 0 when it does not fit): for tests that change bytes
 * before net_input. */
size_t peer_build_tcp(uint8_t *out, size_t cap, net_ipv4 src, net_ipv4 dst, const peer_tcp *c, uint8_t flags,
                      const uint8_t *payload, size_t len, uint16_t mss);
size_t peer_build_udp(uint8_t *out, size_t cap, net_ipv4 src, uint16_t src_port, net_ipv4 dst, uint16_t dst_port,
                      const uint8_t *payload, size_t len);
/* An ICMP echo request (ping) with a few bytes of data. */
size_t peer_build_ping(uint8_t *out, size_t cap, net_ipv4 src, net_ipv4 dst, uint16_t sequence);

/* Opens a connection to peer_address:port and completes the handshake
 * with a SYN-ACK advertising window; gives NULL when any step fails. */
net_tcp *peer_connect(peer_tcp *c, uint16_t port, uint16_t window, const net_tcp_events *events, void *ctx);

/* What a test's socket callbacks saw, and what they should do. */
typedef struct {
    int connected, ended, writable, closed;
    int closed_error;
    size_t sent;
    uint8_t data[256 * 1024];
    size_t data_len;
    /* actions, each done once on the next on_data */
    net_tcp *self;
    bool consume_on_data, close_on_data, abort_on_data;
    const char *write_on_data;
} peer_recorder;

extern const net_tcp_events peer_recorder_events;
void peer_recorder_reset(peer_recorder *r);

#endif
