/* lwIP on one virtual interface, and the socket API of net.h above its raw
 * API. Every public function brackets its work with net_enter/net_leave:
 * the outermost leave delivers the on_closed callbacks lwIP left pending,
 * frees released handles and re-arms lwIP's timer, so that handles stay
 * valid while any code of ours is on the stack. */
#include "net/net.h"
#include "platform/platform.h"

#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h" /* tcp_txnow, for the tunnel's back-pressure */
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(TCP_MSS == NET_MAX_MTU - NET_TCP_IP_HEADERS, "lwipopts.h: TCP_MSS must follow NET_MAX_MTU");
_Static_assert(PBUF_POOL_BUFSIZE >= NET_MAX_MTU, "an incoming packet must fit one pool buffer");

/* lwIP's poll period in its 500 ms ticks: on_writable after lwIP ran out
 * of memory while nothing was in flight (no ACK would bring it). */
#define NET_TCP_POLL_TICKS 2
#define NET_IPV4_MIN_HEADER 20
#define NET_IPV4_MAX_PACKET 0xFFFF

struct net_tcp {
    struct tcp_pcb *pcb; /* NULL once lwIP freed it or the handle let go of it */
    net_tcp_events events;
    void *ctx;
    uint32_t connect_timer;
    size_t unconsumed; /* delivered bytes not yet given back to the window */
    size_t withheld;   /* consumed bytes still to keep from the window, to hold it to the buffer size */
    int error;         /* why it ended */
    bool connected, write_shut;
    bool want_writable; /* a write took less than offered */
    bool close_pending; /* on_closed is due */
    bool released;      /* the owner let go: freed by the outermost net_leave */
    net_tcp *next;
};

struct net_udp {
    struct udp_pcb *pcb; /* NULL once closed or the stack stopped */
    net_udp_datagram_fn on_datagram;
    void *ctx;
    bool released;
    net_udp *next;
};

static struct {
    bool lwip_initialised; /* lwip_init runs once per process: it resets lwIP's pools */
    bool running, configured;
    net_output_fn output;
    void *output_ctx;
    struct netif netif;
    uint16_t mtu;
    uint32_t timer, notify_timer;
    uint64_t timer_due_ms;
    unsigned depth;   /* our entry points on the stack */
    bool event_entry; /* the outermost one may run socket callbacks */
    bool in_timers;   /* inside sys_check_timeouts: lwIP's aborts there are timeouts */
    /* the connection an lwIP callback is about, and whether the owner
     * aborted it meanwhile: lwIP must then hear ERR_ABRT */
    struct tcp_pcb *callback_pcb;
    bool callback_pcb_aborted;
    net_tcp *tcp_sockets;
    net_udp *udp_sockets;
    net_tcp_options tcp_options;
    net_counters counters;
    uint8_t packet[NET_MAX_MTU]; /* an outgoing packet lwIP built in pieces */
} net;

const char *net_error_text(int error)
{
    switch (error) {
    case NET_OK: return "no error";
    case NET_ERR_INVALID: return "invalid argument";
    case NET_ERR_BUSY: return "stack call from inside a callback";
    case NET_ERR_NO_BUFFERS: return "out of buffers or sockets";
    case NET_ERR_NETWORK_DOWN: return "network down: no tunnel";
    case NET_ERR_NETWORK_CHANGED: return "the tunnel reconnected with another address";
    case NET_ERR_REFUSED: return "connection refused";
    case NET_ERR_RESET: return "connection reset by peer";
    case NET_ERR_TIMEOUT: return "timed out";
    case NET_ERR_ABORTED: return "connection aborted: out of sockets";
    case NET_ERR_NOT_CONNECTED: return "not connected yet";
    case NET_ERR_CLOSED: return "connection closed for writing";
    case NET_ERR_TOO_LONG: return "datagram larger than the MTU allows";
    default: return "unknown error";
    }
}

static ip_addr_t net_address_to_lwip(net_ipv4 a)
{
    ip_addr_t ip;
    IP_ADDR4(&ip, a.octets[0], a.octets[1], a.octets[2], a.octets[3]);
    return ip;
}

static net_ipv4 net_address_from_lwip(const ip_addr_t *ip)
{
    const ip4_addr_t *v4 = ip_2_ip4(ip);
    return (net_ipv4){{ip4_addr1(v4), ip4_addr2(v4), ip4_addr3(v4), ip4_addr4(v4)}};
}

/* A unicast address a packet through the tunnel can have: not 0.0.0.0/8,
 * loopback, multicast, reserved or broadcast. */
static bool net_address_usable(net_ipv4 a)
{
    return a.octets[0] != 0 && a.octets[0] != 127 && a.octets[0] < 224;
}

/* ---- entering and leaving: pending callbacks, frees, lwIP's timer ---- */

static void net_enter(bool event)
{
    if (net.depth++ == 0) net.event_entry = event;
}

static void net_deliver_closes(void)
{
    net_tcp *s = net.tcp_sockets;
    while (s) {
        if (s->close_pending && !s->released) {
            s->close_pending = false;
            s->events.on_closed(s->ctx, s->error);
            s = net.tcp_sockets; /* the callback may have changed any socket */
        } else {
            s = s->next;
        }
    }
}

static bool net_closes_pending(void)
{
    for (net_tcp *s = net.tcp_sockets; s; s = s->next)
        if (s->close_pending && !s->released) return true;
    return false;
}

static void net_sweep(void)
{
    for (net_tcp **link = &net.tcp_sockets; *link;) {
        net_tcp *s = *link;
        if (s->released) {
            *link = s->next;
            free(s);
        } else {
            link = &s->next;
        }
    }
    for (net_udp **link = &net.udp_sockets; *link;) {
        net_udp *u = *link;
        if (u->released) {
            *link = u->next;
            free(u);
        } else {
            link = &u->next;
        }
    }
}

static void net_leave(void);

static void net_on_lwip_timer(void *ctx)
{
    (void)ctx;
    net.timer = 0;
    net_enter(true);
    net.in_timers = true;
    sys_check_timeouts();
    net.in_timers = false;
    net_leave();
}

static void net_on_notify_timer(void *ctx)
{
    (void)ctx;
    net.notify_timer = 0;
    net_enter(true);
    net_leave();
}

/* One platform timer, for lwIP's earliest deadline; a timer that fires
 * early (its deadline went away) only costs a wake-up. When the platform
 * cannot start one, lwIP's timers wait for the next packet or call. */
static void net_timer_rearm(void)
{
    if (!net.running) {
        platform_timer_cancel(net.timer);
        platform_timer_cancel(net.notify_timer);
        net.timer = net.notify_timer = 0;
        return;
    }
    u32_t sleep_ms = sys_timeouts_sleeptime();
    if (sleep_ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE) return;
    uint64_t due = platform_monotonic_ms() + sleep_ms;
    if (net.timer && net.timer_due_ms <= due) return;
    platform_timer_cancel(net.timer);
    net.timer = platform_timer_start(sleep_ms, net_on_lwip_timer, NULL);
    net.timer_due_ms = due;
}

static void net_leave(void)
{
    if (net.depth == 1) {
        /* socket calls never run callbacks: their pending closes wait for
         * a timer of their own */
        if (net.event_entry)
            net_deliver_closes();
        else if (!net.notify_timer && net_closes_pending())
            net.notify_timer = platform_timer_start(0, net_on_notify_timer, NULL);
        net_sweep();
        net_timer_rearm();
    }
    net.depth--;
}

/* ---- the interface ---- */

static err_t net_netif_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *next_hop)
{
    (void)netif;
    (void)next_hop;
    const uint8_t *packet = p->payload;
    if (p->len != p->tot_len) {
        if (p->tot_len > sizeof net.packet) {
            net.counters.output_refused++;
            return ERR_BUF;
        }
        pbuf_copy_partial(p, net.packet, p->tot_len, 0);
        packet = net.packet;
    }
    if (net.output(net.output_ctx, packet, p->tot_len) != 0) {
        net.counters.output_refused++;
        return ERR_IF;
    }
    net.counters.packets_out++;
    net.counters.bytes_out += p->tot_len;
    return ERR_OK;
}

static err_t net_netif_init(struct netif *netif)
{
    netif->name[0] = 'm';
    netif->name[1] = 'x';
    netif->output = net_netif_output;
    netif->mtu = net.mtu;
    return ERR_OK;
}

/* ---- TCP internals ---- */

static struct tcp_pcb *net_tcp_detach(net_tcp *s)
{
    struct tcp_pcb *pcb = s->pcb;
    s->pcb = NULL;
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_poll(pcb, NULL, NET_TCP_POLL_TICKS);
    return pcb;
}

static void net_pcb_abort(struct tcp_pcb *pcb)
{
    if (pcb == net.callback_pcb) net.callback_pcb_aborted = true;
    tcp_abort(pcb);
}

/* The connection is over: on_closed(error) is due. */
static void net_tcp_finish(net_tcp *s, int error)
{
    platform_timer_cancel(s->connect_timer);
    s->connect_timer = 0;
    s->error = error;
    s->close_pending = true;
}

static void net_tcp_drop(net_tcp *s, int error)
{
    net_pcb_abort(net_tcp_detach(s));
    net_tcp_finish(s, error);
}

/* tcp_recved takes 16 bits at a time. */
static void net_tcp_window_give_back(struct tcp_pcb *pcb, size_t len)
{
    while (len > 0) {
        u16_t part = (u16_t)(len < 0xFFFF ? len : 0xFFFF);
        tcp_recved(pcb, part);
        len -= part;
    }
}

/* Owner callbacks made from inside an lwIP callback about pcb run between
 * these two; the second gives what that lwIP callback must return. */
static void net_callback_begin(struct tcp_pcb *pcb)
{
    net.callback_pcb = pcb;
    net.callback_pcb_aborted = false;
}

static err_t net_callback_end(void)
{
    err_t result = net.callback_pcb_aborted ? ERR_ABRT : ERR_OK;
    net.callback_pcb = NULL;
    net.callback_pcb_aborted = false;
    return result;
}

/* Like lwIP's own sockets: writable again once half the buffer is free,
 * not at every acknowledgement. */
static void net_tcp_notify_writable(net_tcp *s, struct tcp_pcb *pcb)
{
    if (s->pcb != pcb || !s->want_writable || tcp_sndbuf(pcb) < TCP_SNDLOWAT ||
        tcp_sndqueuelen(pcb) >= TCP_SNDQUEUELOWAT)
        return;
    s->want_writable = false;
    if (s->events.on_writable) s->events.on_writable(s->ctx);
}

static err_t net_tcp_on_lwip_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)err; /* always ERR_OK in lwIP 2.1 */
    net_tcp *s = arg;
    platform_timer_cancel(s->connect_timer);
    s->connect_timer = 0;
    s->connected = true;
    /* lwIP opens every window in full (with window scaling, TCP_WND); a
     * smaller buffer keeps back the difference from what the owner consumes
     * first, after which the window is at most the buffer */
    uint32_t buffer = net.tcp_options.buffer_bytes;
    if (buffer && buffer < TCP_WND_MAX(pcb)) s->withheld = TCP_WND_MAX(pcb) - buffer;
    net_callback_begin(pcb);
    s->events.on_connected(s->ctx);
    return net_callback_end();
}

static err_t net_tcp_on_lwip_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)err; /* always ERR_OK in lwIP 2.1 */
    net_tcp *s = arg;
    net_callback_begin(pcb);
    if (!p) {
        if (s->events.on_end) s->events.on_end(s->ctx);
        /* both directions are done; lwIP sees TIME_WAIT through alone */
        if (s->pcb == pcb && s->write_shut) {
            net_tcp_detach(s);
            net_tcp_finish(s, NET_OK);
        }
    } else {
        s->unconsumed += p->tot_len;
        for (struct pbuf *q = p; q && s->pcb == pcb; q = q->next)
            if (q->len) s->events.on_data(s->ctx, q->payload, q->len);
        pbuf_free(p);
    }
    return net_callback_end();
}

static err_t net_tcp_on_lwip_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    net_tcp *s = arg;
    net_callback_begin(pcb);
    if (s->events.on_sent) s->events.on_sent(s->ctx, len);
    net_tcp_notify_writable(s, pcb);
    return net_callback_end();
}

static err_t net_tcp_on_lwip_poll(void *arg, struct tcp_pcb *pcb)
{
    net_tcp *s = arg;
    net_callback_begin(pcb);
    net_tcp_notify_writable(s, pcb);
    return net_callback_end();
}

/* lwIP has freed the pcb already. Only records: this can run inside a
 * socket call (lwIP reclaiming a closing connection for a new one). */
static void net_tcp_on_lwip_error(void *arg, err_t err)
{
    net_tcp *s = arg;
    s->pcb = NULL;
    if (err == ERR_RST)
        net_tcp_finish(s, s->connected ? NET_ERR_RESET : NET_ERR_REFUSED);
    else if (err == ERR_CLSD)
        net_tcp_finish(s, NET_OK);
    else /* ERR_ABRT: retransmissions given up in lwIP's timers, or reclaimed */
        net_tcp_finish(s, net.in_timers ? NET_ERR_TIMEOUT : NET_ERR_ABORTED);
}

static void net_tcp_on_connect_timeout(void *ctx)
{
    net_tcp *s = ctx;
    s->connect_timer = 0;
    net_enter(true);
    net_tcp_drop(s, NET_ERR_TIMEOUT);
    net_leave();
}

static void net_tcp_release(net_tcp *s)
{
    platform_timer_cancel(s->connect_timer);
    s->connect_timer = 0;
    s->close_pending = false;
    s->released = true;
}

/* Fails every live connection. With the interface down, the resets lwIP
 * sends find no route: the peers of an old address are unreachable. */
static void net_fail_connections(int error)
{
    netif_set_down(&net.netif);
    for (net_tcp *s = net.tcp_sockets; s; s = s->next)
        if (s->pcb) net_tcp_drop(s, error);
}

/* ---- the stack ---- */

int net_init(net_output_fn output, void *ctx)
{
    if (!output) return NET_ERR_INVALID;
    if (net.running || net.depth) return NET_ERR_BUSY;
    if (!net.lwip_initialised) {
        lwip_init();
        net.lwip_initialised = true;
    }
    net.output = output;
    net.output_ctx = ctx;
    net.mtu = NET_DEFAULT_MTU;
    net.tcp_options = (net_tcp_options){0};
    memset(&net.counters, 0, sizeof net.counters);
    if (!netif_add_noaddr(&net.netif, NULL, net_netif_init, ip4_input)) return NET_ERR_NO_BUFFERS;
    netif_set_default(&net.netif);
    netif_set_link_up(&net.netif);
    net.running = true;
    return NET_OK;
}

int net_configure(net_ipv4 address, uint16_t mtu)
{
    if (net.depth) return NET_ERR_BUSY;
    if (!net.running || !net_address_usable(address)) return NET_ERR_INVALID;
    if (mtu == 0) mtu = NET_DEFAULT_MTU;
    if (mtu < NET_MIN_MTU) return NET_ERR_INVALID;
    if (mtu > NET_MAX_MTU) mtu = NET_MAX_MTU;
    ip_addr_t ip = net_address_to_lwip(address);
    if (net.configured && mtu == net.mtu && ip4_addr_cmp(ip_2_ip4(&ip), netif_ip4_addr(&net.netif))) return NET_OK;

    net_enter(true);
    if (net.configured) net_fail_connections(NET_ERR_NETWORK_CHANGED);
    netif_set_down(&net.netif);
    /* a /32 with no gateway: every destination takes the default route */
    ip4_addr_t netmask, gateway;
    IP4_ADDR(&netmask, 255, 255, 255, 255);
    ip4_addr_set_zero(&gateway);
    /* also aborts what lwIP still closes on its own for the old address */
    netif_set_addr(&net.netif, ip_2_ip4(&ip), &netmask, &gateway);
    net.mtu = mtu;
    net.netif.mtu = mtu;
    netif_set_up(&net.netif);
    net.configured = true;
    net_leave();
    return NET_OK;
}

/* net_down's work, inside an entered call. */
static void net_take_down(int error)
{
    if (!net.configured) return;
    net_fail_connections(error);
    netif_set_addr(&net.netif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4);
    net.configured = false;
}

int net_down(void)
{
    if (net.depth) return NET_ERR_BUSY;
    net_enter(true);
    net_take_down(NET_ERR_NETWORK_DOWN);
    net_leave();
    return NET_OK;
}

int net_shutdown(void)
{
    if (net.depth) return NET_ERR_BUSY;
    if (!net.running) return NET_OK;
    net_enter(true);
    net_take_down(NET_ERR_NETWORK_DOWN);
    for (net_udp *u = net.udp_sockets; u; u = u->next) {
        if (u->pcb) udp_remove(u->pcb);
        u->pcb = NULL;
    }
    netif_remove(&net.netif);
    net.running = false;
    net_leave();
    return NET_OK;
}

int net_input(const uint8_t *packet, size_t len)
{
    int error = NET_OK;
    if (net.depth)
        error = NET_ERR_BUSY;
    else if (!net.configured)
        error = NET_ERR_NETWORK_DOWN;
    else if (!packet || len < NET_IPV4_MIN_HEADER || len > NET_IPV4_MAX_PACKET || packet[0] >> 4 != 4)
        error = NET_ERR_INVALID;
    struct pbuf *p = NULL;
    if (error == NET_OK && !(p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL))) error = NET_ERR_NO_BUFFERS;
    if (error != NET_OK) {
        net.counters.input_dropped++;
        return error;
    }
    pbuf_take(p, packet, (u16_t)len);
    net.counters.packets_in++;
    net.counters.bytes_in += len;
    net_enter(true);
    net.netif.input(p, &net.netif); /* frees p, also when it drops the packet */
    net_leave();
    return NET_OK;
}

int net_output_ready(void)
{
    if (net.depth) return NET_ERR_BUSY;
    if (!net.running) return NET_OK;
    net_enter(false);
    tcp_txnow();
    net_leave();
    return NET_OK;
}

void net_counters_get(net_counters *out)
{
    if (out) *out = net.counters;
}

/* ---- TCP ---- */

static int net_lwip_error(err_t err)
{
    switch (err) {
    case ERR_OK: return NET_OK;
    case ERR_RTE: return NET_ERR_NETWORK_DOWN;
    case ERR_MEM:
    case ERR_BUF:
    case ERR_IF:
    case ERR_USE: return NET_ERR_NO_BUFFERS; /* ERR_USE: no free local port */
    default: return NET_ERR_INVALID;
    }
}

void net_tcp_set_options(const net_tcp_options *options)
{
    net.tcp_options = *options;
}

/* A new connection's send buffer and keep-alive (its window is set once connected). */
static void net_tcp_apply_options(net_tcp *s)
{
    const net_tcp_options *o = &net.tcp_options;
    if (o->buffer_bytes) s->pcb->snd_buf = (tcpwnd_size_t)LWIP_MIN(o->buffer_bytes, TCP_SND_BUF);
    if (o->keepalive_ms) {
        ip_set_option(s->pcb, SOF_KEEPALIVE);
        s->pcb->keep_idle = s->pcb->keep_intvl = o->keepalive_ms;
    }
}

net_tcp *net_tcp_connect(net_ipv4 address, uint16_t port, uint32_t timeout_ms, const net_tcp_events *events,
                         void *ctx, int *error)
{
    int result = NET_OK;
    net_tcp *s = NULL;
    if (!events || !events->on_connected || !events->on_data || !events->on_closed || port == 0 ||
        !net_address_usable(address))
        result = NET_ERR_INVALID;
    else if (!net.configured)
        result = NET_ERR_NETWORK_DOWN;
    else if (!(s = calloc(1, sizeof *s)))
        result = NET_ERR_NO_BUFFERS;
    if (result != NET_OK) {
        if (error) *error = result;
        return NULL;
    }
    s->events = *events;
    s->ctx = ctx;
    net_enter(false);
    s->pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (!s->pcb) {
        result = NET_ERR_NO_BUFFERS;
    } else {
        net_tcp_apply_options(s);
        tcp_arg(s->pcb, s);
        tcp_recv(s->pcb, net_tcp_on_lwip_recv);
        tcp_sent(s->pcb, net_tcp_on_lwip_sent);
        tcp_err(s->pcb, net_tcp_on_lwip_error);
        tcp_poll(s->pcb, net_tcp_on_lwip_poll, NET_TCP_POLL_TICKS);
        /* the protocols above write whole messages; holding a small one back
         * for a mixnet round trip would cost far more than a packet */
        tcp_nagle_disable(s->pcb);
        ip_addr_t ip = net_address_to_lwip(address);
        result = net_lwip_error(tcp_connect(s->pcb, &ip, port, net_tcp_on_lwip_connected));
    }
    if (result == NET_OK && timeout_ms) {
        s->connect_timer = platform_timer_start(timeout_ms, net_tcp_on_connect_timeout, s);
        if (!s->connect_timer) result = NET_ERR_NO_BUFFERS;
    }
    if (result != NET_OK) {
        if (s->pcb) net_pcb_abort(net_tcp_detach(s));
        free(s);
        s = NULL;
    } else {
        s->next = net.tcp_sockets;
        net.tcp_sockets = s;
    }
    net_leave();
    if (error) *error = result;
    return s;
}

/* What a call on a handle whose connection is gone gives. */
static int net_tcp_gone_error(const net_tcp *s)
{
    return s->error != NET_OK ? s->error : NET_ERR_CLOSED;
}

int net_tcp_write(net_tcp *s, const uint8_t *data, size_t len)
{
    if (!s || s->released || (!data && len)) return NET_ERR_INVALID;
    if (!s->pcb) return net_tcp_gone_error(s);
    if (s->write_shut) return NET_ERR_CLOSED;
    net_enter(false);
    size_t taken = 0;
    while (taken < len) {
        size_t chunk = len - taken;
        if (chunk > tcp_sndbuf(s->pcb)) chunk = tcp_sndbuf(s->pcb);
        if (chunk > 0xFFFF) chunk = 0xFFFF; /* tcp_write's length is 16 bits; the buffer may be larger */
        if (chunk == 0) break;
        u8_t flags = TCP_WRITE_FLAG_COPY | (taken + chunk < len ? TCP_WRITE_FLAG_MORE : 0);
        /* fails as a whole when lwIP lacks segments or memory */
        if (tcp_write(s->pcb, data + taken, (u16_t)chunk, flags) != ERR_OK) break;
        taken += chunk;
    }
    if (taken < len) s->want_writable = true;
    if (taken > 0) tcp_output(s->pcb);
    net_leave();
    return (int)taken;
}

int net_tcp_consumed(net_tcp *s, size_t len)
{
    if (!s || s->released || len > s->unconsumed) return NET_ERR_INVALID;
    s->unconsumed -= len;
    size_t kept = len < s->withheld ? len : s->withheld;
    s->withheld -= kept;
    len -= kept;
    if (!s->pcb || len == 0) return NET_OK;
    net_enter(false);
    net_tcp_window_give_back(s->pcb, len);
    net_leave();
    return NET_OK;
}

int net_tcp_shutdown_write(net_tcp *s)
{
    if (!s || s->released) return NET_ERR_INVALID;
    if (s->write_shut) return NET_OK;
    if (!s->pcb) return net_tcp_gone_error(s);
    if (!s->connected) return NET_ERR_NOT_CONNECTED;
    net_enter(false);
    /* cannot fail once connected: lwIP retries a FIN it had no memory for */
    int result = net_lwip_error(tcp_shutdown(s->pcb, 0, 1));
    if (result == NET_OK) s->write_shut = true;
    net_leave();
    return result;
}

void net_tcp_close(net_tcp *s)
{
    if (!s) return;
    net_enter(false);
    net_tcp_release(s);
    if (s->pcb) {
        bool connected = s->connected;
        struct tcp_pcb *pcb = net_tcp_detach(s);
        if (!connected) {
            net_pcb_abort(pcb);
        } else {
            /* lwIP answers a close with unread bytes by a reset; the owner
             * closing has read all it wants */
            net_tcp_window_give_back(pcb, s->unconsumed);
            /* lwIP may reclaim it first when short of connections */
            tcp_setprio(pcb, TCP_PRIO_MIN);
            if (tcp_close(pcb) != ERR_OK) net_pcb_abort(pcb);
        }
    }
    net_leave();
}

void net_tcp_abort(net_tcp *s)
{
    if (!s) return;
    net_enter(false);
    net_tcp_release(s);
    if (s->pcb) net_pcb_abort(net_tcp_detach(s));
    net_leave();
}

/* ---- UDP ---- */

static void net_udp_on_lwip_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                                 u16_t port)
{
    (void)pcb;
    net_udp *u = arg;
    net_ipv4 from = net_address_from_lwip(addr);
    if (p->len == p->tot_len) {
        u->on_datagram(u->ctx, from, port, p->payload, p->len);
    } else {
        /* a datagram reassembled from fragments comes in pieces */
        uint8_t *whole = malloc(p->tot_len);
        if (whole) {
            pbuf_copy_partial(p, whole, p->tot_len, 0);
            u->on_datagram(u->ctx, from, port, whole, p->tot_len);
            free(whole);
        }
    }
    pbuf_free(p);
}

/* lwIP gives ports in sequence after a random first one; a random port
 * for each socket makes a forged answer (DNS) much harder to aim
 * (RFC 5452 §9.2): one of the 16384 dynamic ports (RFC 6335). */
#define NET_UDP_PORT_TRIES 16
static err_t net_udp_bind_random_port(struct udp_pcb *pcb)
{
    err_t err = ERR_USE;
    for (int i = 0; i < NET_UDP_PORT_TRIES && err == ERR_USE; i++)
        err = udp_bind(pcb, IP4_ADDR_ANY, (u16_t)(0xc000 | (lwip_port_random() & 0x3fff)));
    return err;
}

net_udp *net_udp_open(net_udp_datagram_fn on_datagram, void *ctx, int *error)
{
    int result = NET_OK;
    net_udp *u = NULL;
    if (!on_datagram)
        result = NET_ERR_INVALID;
    else if (!net.running)
        result = NET_ERR_NETWORK_DOWN;
    else if (!(u = calloc(1, sizeof *u)))
        result = NET_ERR_NO_BUFFERS;
    if (result == NET_OK) {
        net_enter(false);
        u->on_datagram = on_datagram;
        u->ctx = ctx;
        u->pcb = udp_new_ip_type(IPADDR_TYPE_V4);
        if (!u->pcb) {
            result = NET_ERR_NO_BUFFERS;
        } else {
            result = net_lwip_error(net_udp_bind_random_port(u->pcb));
            if (result != NET_OK) udp_remove(u->pcb);
        }
        if (result != NET_OK) {
            free(u);
            u = NULL;
        } else {
            udp_recv(u->pcb, net_udp_on_lwip_recv, u);
            u->next = net.udp_sockets;
            net.udp_sockets = u;
        }
        net_leave();
    }
    if (error) *error = result;
    return u;
}

int net_udp_send_to(net_udp *u, net_ipv4 to, uint16_t port, const uint8_t *data, size_t len)
{
    if (!u || u->released || (!data && len) || port == 0 || !net_address_usable(to)) return NET_ERR_INVALID;
    if (!u->pcb || !net.configured) return NET_ERR_NETWORK_DOWN;
    if (len > (size_t)(net.mtu - NET_UDP_IP_HEADERS)) return NET_ERR_TOO_LONG;
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
    if (!p) return NET_ERR_NO_BUFFERS;
    if (len) pbuf_take(p, data, (u16_t)len);
    ip_addr_t ip = net_address_to_lwip(to);
    net_enter(false);
    int result = net_lwip_error(udp_sendto(u->pcb, p, &ip, port));
    net_leave();
    pbuf_free(p);
    return result;
}

void net_udp_close(net_udp *u)
{
    if (!u) return;
    net_enter(false);
    if (u->pcb) udp_remove(u->pcb);
    u->pcb = NULL;
    u->released = true;
    net_leave();
}
