/* The net layer: a userspace TCP/IP stack (lwIP 2.1.3, raw API) on one
 * virtual interface whose IPv4 packets travel through the IP Packet Router
 * tunnel, and event-driven, non-blocking TCP and UDP sockets above it for
 * the protocol clients (HTTP, TLS, WebSocket, DNS).
 *
 * IPv4 only. The IPR also allocates an IPv6 address, but lwIP is built
 * without IPv6 (lwipopts.h) and the published client ignores it as well
 * (shared/spec/ipr.md §10.4): AAAA answers cannot be connected to.
 *
 * One stack per process: lwIP keeps its state in globals. Nothing blocks;
 * lwIP's timers run on platform timers, armed for lwIP's next deadline.
 *
 * Callbacks. The stack's owner (the tunnel) gives packets out through its
 * output callback, which runs inside lwIP: it must only queue the packet
 * and must not call this layer. Socket callbacks run only inside
 * net_input, net_configure, net_down, net_shutdown and the layer's own
 * timers, never inside a socket call (connect, write, consumed, shutdown,
 * close, abort, send); they may call any socket function, on any socket,
 * including closing the one they are about. The stack calls (net_init,
 * net_configure, net_down, net_shutdown, net_input, net_output_ready) are
 * refused with NET_ERR_BUSY from inside any callback. */
#ifndef MIX_NET_H
#define MIX_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The IPR's v9 connect reply carries no MTU; the exit's TUN defaults to
 * 1420, which the published client's MSS of 1380 confirms (ipr.md §10.4). */
#define NET_DEFAULT_MTU 1420
/* Every IPv4 host accepts 576-byte datagrams; less would be a broken exit. */
#define NET_MIN_MTU 576
/* lwIP is built for this at most (TCP_MSS in lwipopts.h is NET_MAX_MTU - 40). */
#define NET_MAX_MTU 1500
/* IPv4 and TCP headers without options: TCP's MSS is the MTU less this. */
#define NET_TCP_IP_HEADERS 40
/* IPv4 and UDP headers: the largest datagram payload is the MTU less this. */
#define NET_UDP_IP_HEADERS 28

typedef enum {
    NET_OK = 0,
    NET_ERR_INVALID = -1,         /* a bad argument, or a call out of order */
    NET_ERR_BUSY = -2,            /* a stack call from inside a callback */
    NET_ERR_NO_BUFFERS = -3,      /* out of lwIP memory or sockets, or the tunnel's queue is full */
    NET_ERR_NETWORK_DOWN = -4,    /* no tunnel: not configured, or net_down / net_shutdown */
    NET_ERR_NETWORK_CHANGED = -5, /* the tunnel reconnected with another address */
    NET_ERR_REFUSED = -6,         /* the peer answered the connection attempt with a reset */
    NET_ERR_RESET = -7,           /* the peer reset the connection */
    NET_ERR_TIMEOUT = -8,         /* connect timeout, or retransmissions went unanswered */
    NET_ERR_ABORTED = -9,         /* lwIP dropped the connection to make room for others */
    NET_ERR_NOT_CONNECTED = -10,  /* shutdown before the connection was established */
    NET_ERR_CLOSED = -11,         /* writing after shutdown */
    NET_ERR_TOO_LONG = -12,       /* a datagram larger than the MTU allows */
} net_error;

/* A short English description, for logs and error messages. */
const char *net_error_text(int error);

typedef struct {
    uint8_t octets[4]; /* a.b.c.d in order */
} net_ipv4;

/* ---- the stack ---- */

/* Takes one IPv4 packet out of the stack: 0 when queued, -1 when the
 * tunnel cannot take it now (TCP then keeps it until net_output_ready). */
typedef int (*net_output_fn)(void *ctx, const uint8_t *packet, size_t len);

/* Starts the stack with no address (NET_ERR_INVALID without output,
 * NET_ERR_BUSY when already running). */
int net_init(net_output_fn output, void *ctx);
/* Applies the address the IPR allocated, as a /32 with a default route
 * through the tunnel, and the MTU of the connect reply (0 for a v9 reply:
 * NET_DEFAULT_MTU; above NET_MAX_MTU: NET_MAX_MTU, which the exit still
 * carries unfragmented). TCP's MSS is the MTU less NET_TCP_IP_HEADERS.
 * The same address and MTU again change nothing; another one fails every
 * TCP connection with NET_ERR_NETWORK_CHANGED. UDP sockets carry on. */
int net_configure(net_ipv4 address, uint16_t mtu);
/* The tunnel is gone: TCP connections fail with NET_ERR_NETWORK_DOWN and
 * sending fails until net_configure. */
int net_down(void);
/* Stops the stack: as net_down, and UDP sockets stop receiving. Open
 * handles stay valid until closed. net_init may start it again. */
int net_shutdown(void);
/* Feeds one IPv4 packet from the tunnel into the stack. Fails when the
 * stack is not configured, the packet is not IPv4 or is shorter than its
 * header, or no buffer is free; lwIP drops the packets it finds bad
 * (checksums, not addressed to us) without an error. */
int net_input(const uint8_t *packet, size_t len);
/* The tunnel can take packets again: sends what TCP kept back. */
int net_output_ready(void);

typedef struct {
    uint64_t packets_out, bytes_out; /* taken by the tunnel */
    uint64_t packets_in, bytes_in;   /* fed in and handed to lwIP */
    uint64_t output_refused;         /* packets the tunnel could not take */
    uint64_t input_dropped;          /* packets net_input refused */
} net_counters;

void net_counters_get(net_counters *out);

/* ---- TCP ---- */

typedef struct net_tcp net_tcp;

typedef struct {
    /* required */
    void (*on_connected)(void *ctx);
    /* Received bytes, valid during the call only. They count against the
     * receive window until given back with net_tcp_consumed, so a slow
     * consumer stalls the sender instead of buffering without bound. */
    void (*on_data)(void *ctx, const uint8_t *data, size_t len);
    /* The connection is over; error is NET_OK when both sides finished
     * normally. The handle is dead but must still be released with
     * net_tcp_close. Nothing follows. */
    void (*on_closed)(void *ctx, int error);
    /* optional (NULL) */
    void (*on_end)(void *ctx);                /* the peer finished sending (FIN); writing may go on */
    void (*on_sent)(void *ctx, size_t acked); /* the peer acknowledged this many more bytes */
    void (*on_writable)(void *ctx);           /* room again after a write that took less than offered */
} net_tcp_events;

/* What connections opened from now on get (net_init resets it to zeros). */
typedef struct {
    uint32_t keepalive_ms; /* a keep-alive probe after this long without traffic, and again
                              as long as none is answered, 9 times; 0: none */
    uint32_t buffer_bytes; /* send buffer, and receive window once the first
                              full window (the stack's, 250 KiB) has been
                              consumed; 0 or more than the stack's: the stack's */
} net_tcp_options;
void net_tcp_set_options(const net_tcp_options *options);

/* Opens a connection; on_connected or on_closed follows. timeout_ms bounds
 * the handshake (0: lwIP's own SYN retries, about 20 s). Gives NULL with
 * *error set (when error is not NULL) if it cannot even start. The events
 * are copied. */
net_tcp *net_tcp_connect(net_ipv4 address, uint16_t port, uint32_t timeout_ms, const net_tcp_events *events,
                         void *ctx, int *error);
/* Queues up to len bytes (copied) and gives how many it took: fewer than
 * len when the send buffer is full, and then on_writable follows once
 * there is room. Before on_connected the bytes wait for the connection.
 * Gives a negative net_error when the connection is dead or shut down. */
int net_tcp_write(net_tcp *s, const uint8_t *data, size_t len);
/* The owner is done with len more received bytes: re-opens the window. */
int net_tcp_consumed(net_tcp *s, size_t len);
/* Sends FIN after the queued bytes; receiving goes on (half-close). When
 * the peer has finished too, on_closed(NET_OK) follows its last ACK. */
int net_tcp_shutdown_write(net_tcp *s);
/* Releases the handle: an orderly close (queued bytes, then FIN) that
 * lwIP finishes on its own. No callback follows. Call exactly once. */
void net_tcp_close(net_tcp *s);
/* Releases the handle with a reset, dropping queued bytes. No callback
 * follows. Instead of net_tcp_close, exactly once. */
void net_tcp_abort(net_tcp *s);

/* ---- UDP ---- */

typedef struct net_udp net_udp;

/* One datagram, valid during the call only. */
typedef void (*net_udp_datagram_fn)(void *ctx, net_ipv4 from, uint16_t from_port, const uint8_t *data,
                                    size_t len);

/* A socket on a random local port, for any peer. Works before
 * net_configure too (sending fails until then). NULL with *error set. */
net_udp *net_udp_open(net_udp_datagram_fn on_datagram, void *ctx, int *error);
/* Sends one datagram of at most the MTU less NET_UDP_IP_HEADERS bytes:
 * never fragmented. */
int net_udp_send_to(net_udp *u, net_ipv4 to, uint16_t port, const uint8_t *data, size_t len);
/* Releases the socket; no callback follows. */
void net_udp_close(net_udp *u);

#endif
