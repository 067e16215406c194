/* The small internet behind the exit: lwIP (raw API) terminates what
 * clients send to the virtual service addresses, and relays it to the real
 * servers on loopback, with flow control at both ends of each relay. */
#define _POSIX_C_SOURCE 200809L
/* the byte-order macros of lwIP would clash with the C library's */
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS
#include "exit_internet.h"

#include "conn.h"
#include "udp_flows.h"
#include "platform/platform.h"

#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_POLL_INTERVAL 2 /* lwIP's units of 500 ms: retries after lwIP ran out of memory */
#define MAX_DATAGRAM 65535

/* A virtual service: lwIP listens (TCP) or is bound (UDP) on its address. */
typedef struct {
    exit_internet *net;
    const service_route *route;
    struct tcp_pcb *tcp;
    struct udp_pcb *udp;
} exit_service;

/* One TCP connection from a client, relayed to the real server. The real
 * side's input is fed to lwIP only as its send buffer has room (reading
 * pauses meanwhile); what the client sends is given back to its window
 * only once written to the real socket. */
typedef struct exit_tcp_relay {
    exit_internet *net;
    struct tcp_pcb *pcb; /* NULL once lwIP's side is closed or gone */
    conn *real;          /* NULL once freed */
    size_t window_owed;  /* bytes received from the client and not yet re-opened in its window */
    bool real_connected, real_closed, close_pending, real_paused;
    struct exit_tcp_relay *next;
} exit_tcp_relay;

struct exit_internet {
    exit_internet_output_fn output;
    void *ctx;
    uint16_t mtu;
    struct netif router;
    bool router_added;
    struct netif hosts[SERVICES_ROUTE_COUNT];
    size_t host_count;
    exit_service services[SERVICES_ROUTE_COUNT];
    size_t service_count;
    exit_tcp_relay *relays;
    udp_flows *udp;
    uint32_t timer;
    uint64_t timer_due_ms;
    exit_internet_stats stats;
    uint8_t packet[0xFFFF];         /* a packet out of lwIP, made flat */
    uint8_t datagram[MAX_DATAGRAM]; /* a UDP payload on its way */
};

/* lwIP keeps its state in globals: one owner at a time. */
static exit_internet *lwip_owner;
static bool lwip_initialised;

/* --- lwIP's timers, on the platform's loop */

static void timers_schedule(exit_internet *net);

static void on_timer(void *ctx)
{
    exit_internet *net = ctx;
    net->timer = 0;
    sys_check_timeouts();
    timers_schedule(net);
}

/* Called after anything that may have started an lwIP timer. */
static void timers_schedule(exit_internet *net)
{
    u32_t sleep_ms = sys_timeouts_sleeptime();
    if (sleep_ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE) return;
    uint64_t due = platform_monotonic_ms() + sleep_ms;
    if (net->timer && net->timer_due_ms <= due) return;
    platform_timer_cancel(net->timer);
    net->timer = platform_timer_start(sleep_ms, on_timer, net);
    net->timer_due_ms = due;
}

/* --- interfaces */

static err_t netif_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *next_hop)
{
    (void)next_hop;
    exit_internet *net = netif->state;
    if (!net->output) return ERR_OK;
    u16_t len = pbuf_copy_partial(p, net->packet, p->tot_len, 0);
    net->output(net->ctx, net->packet, len);
    return ERR_OK;
}

static err_t netif_setup(struct netif *netif)
{
    exit_internet *net = netif->state;
    netif->output = netif_output;
    netif->mtu = net->mtu;
    netif->name[0] = 'e';
    netif->name[1] = 'x';
    return ERR_OK;
}

static bool netif_start(exit_internet *net, struct netif *netif, const ip4_addr_t *ip, const ip4_addr_t *mask)
{
    if (!netif_add(netif, ip, mask, IP4_ADDR_ANY4, net, netif_setup, ip4_input)) return false;
    netif_set_up(netif);
    netif_set_link_up(netif);
    return true;
}

/* The interface that owns a virtual address, added on first use. */
static bool host_add(exit_internet *net, const ip4_addr_t *ip)
{
    for (size_t i = 0; i < net->host_count; i++)
        if (ip4_addr_cmp(netif_ip4_addr(&net->hosts[i]), ip)) return true;
    ip4_addr_t host_mask;
    IP4_ADDR(&host_mask, 255, 255, 255, 255);
    if (!netif_start(net, &net->hosts[net->host_count], ip, &host_mask)) return false;
    net->host_count++;
    return true;
}

/* The interface that owns an address, or NULL. */
static struct netif *address_owner(exit_internet *net, const ip4_addr_t *ip)
{
    if (ip4_addr_cmp(netif_ip4_addr(&net->router), ip)) return &net->router;
    for (size_t i = 0; i < net->host_count; i++)
        if (ip4_addr_cmp(netif_ip4_addr(&net->hosts[i]), ip)) return &net->hosts[i];
    return NULL;
}

/* --- TCP relays */

static void relay_free(exit_tcp_relay *r)
{
    for (exit_tcp_relay **p = &r->net->relays; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    free(r);
}

static void pcb_detach(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_poll(pcb, NULL, 0);
}

/* Resets the client's connection and drops the real one. */
static void relay_abort(exit_tcp_relay *r)
{
    if (r->pcb) {
        pcb_detach(r->pcb);
        tcp_abort(r->pcb);
    }
    conn_free(r->real);
    relay_free(r);
}

/* Sends the client a FIN after what lwIP still holds; lwIP finishes the
 * close on its own. */
static void relay_close_client(exit_tcp_relay *r)
{
    if (tcp_close(r->pcb) != ERR_OK) {
        r->close_pending = true; /* out of memory: the poll callback tries again */
        return;
    }
    pcb_detach(r->pcb);
    r->pcb = NULL;
    if (!r->real) relay_free(r);
}

/* tcp_recved takes 16 bits at a time; a scaled window owes more. */
static void window_give_back(struct tcp_pcb *pcb, size_t len)
{
    while (len > 0) {
        u16_t part = (u16_t)(len < 0xFFFF ? len : 0xFFFF);
        tcp_recved(pcb, part);
        len -= part;
    }
}

/* Re-opens the client's window by what the real socket has taken. */
static void relay_reopen_window(exit_tcp_relay *r)
{
    size_t queued = conn_queued(r->real);
    if (r->window_owed > queued) {
        window_give_back(r->pcb, r->window_owed - queued);
        r->window_owed = queued;
    }
}

/* Moves what the real server sent into lwIP's send buffer, as far as it
 * has room. May free the relay. */
static void relay_push_to_client(exit_tcp_relay *r)
{
    if (!r->pcb || !r->real) return;
    size_t avail;
    const uint8_t *data = conn_input(r->real, &avail);
    size_t n = avail < tcp_sndbuf(r->pcb) ? avail : tcp_sndbuf(r->pcb);
    if (n > 0xFFFF) n = 0xFFFF; /* tcp_write's length is 16 bits; the buffer may be larger */
    if (tcp_sndqueuelen(r->pcb) >= TCP_SND_QUEUELEN) n = 0;
    /* lwIP may lack segments or memory for all of it: try less */
    while (n > 0 && tcp_write(r->pcb, data, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK) n = n > TCP_MSS ? n / 2 : 0;
    if (n > 0) {
        conn_consume(r->real, n);
        avail -= n;
        tcp_output(r->pcb);
    }
    if (!r->real_closed) {
        if (r->real_paused != (avail > 0)) {
            r->real_paused = avail > 0;
            conn_pause_input(r->real, r->real_paused);
            if (r->real_paused) r->net->stats.tcp_pauses++;
        }
    } else if (avail == 0) {
        conn_free(r->real);
        r->real = NULL;
        /* what the client sent last will never be read: lwIP would answer
         * a close with a window not fully re-opened by a reset */
        window_give_back(r->pcb, r->window_owed);
        r->window_owed = 0;
        relay_close_client(r);
    }
}

static err_t on_client_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)pcb;
    exit_tcp_relay *r = arg;
    if (!p) {
        /* the client's FIN: pass the half-close on */
        if (r->real && !r->real_closed) conn_shutdown_after_flush(r->real);
        return ERR_OK;
    }
    if (err != ERR_OK || !r->real || r->real_closed) {
        /* nowhere to put it: a host whose socket is gone resets */
        pbuf_free(p);
        relay_abort(r);
        return ERR_ABRT;
    }
    for (struct pbuf *q = p; q; q = q->next) {
        if (conn_send(r->real, q->payload, q->len) != 0) {
            pbuf_free(p);
            relay_abort(r);
            return ERR_ABRT;
        }
    }
    r->window_owed += p->tot_len;
    pbuf_free(p);
    relay_reopen_window(r);
    return ERR_OK;
}

static err_t on_client_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)pcb;
    (void)len;
    relay_push_to_client(arg);
    return ERR_OK;
}

static err_t on_client_poll(void *arg, struct tcp_pcb *pcb)
{
    (void)pcb;
    exit_tcp_relay *r = arg;
    if (r->close_pending) {
        r->close_pending = false;
        relay_close_client(r);
    } else {
        relay_push_to_client(r);
    }
    return ERR_OK;
}

/* lwIP has freed the pcb: reset by the client, or given up on it. */
static void on_client_error(void *arg, err_t err)
{
    (void)err;
    exit_tcp_relay *r = arg;
    r->pcb = NULL;
    conn_free(r->real);
    relay_free(r);
}

static void on_real_connected(void *ctx, conn *c)
{
    (void)c;
    exit_tcp_relay *r = ctx;
    r->real_connected = true;
}

static void on_real_input(void *ctx, conn *c)
{
    (void)c;
    exit_tcp_relay *r = ctx;
    exit_internet *net = r->net;
    relay_push_to_client(r);
    timers_schedule(net);
}

static void on_real_drained(void *ctx, conn *c)
{
    (void)c;
    exit_tcp_relay *r = ctx;
    if (!r->pcb) return;
    relay_reopen_window(r);
    timers_schedule(r->net);
}

static void on_real_closed(void *ctx, conn *c)
{
    (void)c;
    exit_tcp_relay *r = ctx;
    exit_internet *net = r->net;
    r->real_closed = true;
    if (!r->real_connected) {
        /* nothing listens behind the virtual address: refuse, as that host would */
        relay_abort(r);
    } else if (!r->pcb) {
        conn_free(r->real);
        relay_free(r);
    } else {
        relay_push_to_client(r);
    }
    timers_schedule(net);
}

static const conn_events RELAY_EVENTS = {on_real_input, on_real_connected, on_real_closed};

/* Called once the client completed the handshake (lwIP answered the SYN itself). */
static err_t on_client_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    exit_service *service = arg;
    if (err != ERR_OK || !pcb) return ERR_VAL;
    exit_tcp_relay *r = calloc(1, sizeof *r);
    static const uint8_t loopback[4] = {127, 0, 0, 1};
    if (r) r->real = conn_connect(loopback, service->route->real_port, &RELAY_EVENTS, r);
    if (!r || !r->real) {
        free(r);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    conn_set_drained_callback(r->real, on_real_drained);
    r->net = service->net;
    r->pcb = pcb;
    r->next = r->net->relays;
    r->net->relays = r;
    r->net->stats.tcp_relays++;
    /* the relay stands in for the server's TCP, and servers answer at once:
     * nginx sets TCP_NODELAY on keep-alive connections; Nagle here would
     * hold a response's second write back for our client's delayed ACK */
    tcp_nagle_disable(pcb);
    tcp_arg(pcb, r);
    tcp_recv(pcb, on_client_recv);
    tcp_sent(pcb, on_client_sent);
    tcp_err(pcb, on_client_error);
    tcp_poll(pcb, on_client_poll, TCP_POLL_INTERVAL);
    return ERR_OK;
}

/* --- UDP */

/* Answers from the real server go back from the virtual address, out where
 * clients are (plain udp_sendto wants the source to be the outgoing
 * interface's address). */
static void on_udp_answer(void *ctx, void *service_ptr, const uint8_t client_ip[4], uint16_t client_port,
                          const uint8_t *data, size_t len)
{
    exit_internet *net = ctx;
    exit_service *service = service_ptr;
    if (len > 0xffff) return;
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
    if (!p) return;
    pbuf_take(p, data, (u16_t)len);
    ip_addr_t to;
    IP_ADDR4(&to, client_ip[0], client_ip[1], client_ip[2], client_ip[3]);
    udp_sendto_if_src(service->udp, p, &to, client_port, &net->router, &service->udp->local_ip);
    pbuf_free(p);
    timers_schedule(net);
}

static void on_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
    (void)pcb;
    exit_service *service = arg;
    exit_internet *net = service->net;
    u16_t len = pbuf_copy_partial(p, net->datagram, p->tot_len, 0);
    uint32_t client = ip4_addr_get_u32(ip_2_ip4(addr)); /* in network order */
    uint8_t client_ip[4];
    memcpy(client_ip, &client, 4);
    udp_flows_send(net->udp, service, service->route->real_port, client_ip, port, net->datagram, len);
    pbuf_free(p);
}

/* --- the whole */

static bool service_start(exit_internet *net, const service_route *route)
{
    ip4_addr_t ip;
    if (!ip4addr_aton(route->virtual_ip, &ip) || !host_add(net, &ip)) return false;
    exit_service *service = &net->services[net->service_count];
    *service = (exit_service){.net = net, .route = route};
    if (route->proto == SERVICE_PROTO_TCP) {
        struct tcp_pcb *pcb = tcp_new();
        if (!pcb) return false;
        struct tcp_pcb *listening = NULL;
        if (tcp_bind(pcb, &ip, route->virtual_port) == ERR_OK) listening = tcp_listen(pcb);
        if (!listening) {
            tcp_close(pcb);
            return false;
        }
        tcp_arg(listening, service);
        tcp_accept(listening, on_client_accept);
        service->tcp = listening;
    } else {
        struct udp_pcb *pcb = udp_new();
        if (!pcb) return false;
        if (udp_bind(pcb, &ip, route->virtual_port) != ERR_OK) {
            udp_remove(pcb);
            return false;
        }
        udp_recv(pcb, on_udp_recv, service);
        service->udp = pcb;
    }
    net->service_count++;
    return true;
}

exit_internet *exit_internet_create(const services *s, const uint8_t router_ip[4], uint8_t prefix_len, uint16_t mtu,
                                    exit_internet_output_fn output, void *ctx)
{
    if (lwip_owner || prefix_len == 0 || prefix_len > 32) return NULL;
    exit_internet *net = calloc(1, sizeof *net);
    if (!net) return NULL;
    if (!lwip_initialised) {
        lwip_init();
        lwip_initialised = true;
    }
    lwip_owner = net;
    net->output = output;
    net->ctx = ctx;
    net->mtu = mtu;
    ip4_addr_t ip, mask;
    IP4_ADDR(&ip, router_ip[0], router_ip[1], router_ip[2], router_ip[3]);
    ip4_addr_set_u32(&mask, lwip_htonl(0xffffffffu << (32 - prefix_len)));
    net->udp = udp_flows_create(on_udp_answer, net);
    bool ok = net->udp && (net->router_added = netif_start(net, &net->router, &ip, &mask));
    /* replies to clients leave through the router */
    if (ok) netif_set_default(&net->router);
    for (size_t i = 0; ok && s && i < SERVICES_ROUTE_COUNT; i++) ok = service_start(net, &s->routes[i]);
    if (!ok) {
        exit_internet_destroy(net);
        return NULL;
    }
    timers_schedule(net);
    return net;
}

void exit_internet_forget_client(exit_internet *net, const uint8_t ipv4[4])
{
    ip4_addr_t client;
    IP4_ADDR(&client, ipv4[0], ipv4[1], ipv4[2], ipv4[3]);
    /* aborting a relay's connection ends the relay too (on_client_error);
     * those no relay holds any more, still closing, just go */
    for (struct tcp_pcb *pcb = tcp_active_pcbs, *next; pcb; pcb = next) {
        next = pcb->next;
        if (ip4_addr_cmp(ip_2_ip4(&pcb->remote_ip), &client)) tcp_abort(pcb);
    }
    timers_schedule(net);
}

void exit_internet_destroy(exit_internet *net)
{
    if (!net) return;
    net->output = NULL; /* what lwIP sends from here on goes nowhere */
    platform_timer_cancel(net->timer);
    while (net->relays) relay_abort(net->relays);
    udp_flows_destroy(net->udp);
    for (size_t i = 0; i < net->service_count; i++) {
        if (net->services[i].tcp) tcp_close(net->services[i].tcp);
        if (net->services[i].udp) udp_remove(net->services[i].udp);
    }
    /* connections in TIME_WAIT would hold their ports for two minutes and
     * keep a later instance from listening there */
    while (tcp_tw_pcbs) tcp_abort(tcp_tw_pcbs);
    /* removing an address aborts lwIP's connections still closing on it */
    for (size_t i = 0; i < net->host_count; i++) netif_remove(&net->hosts[i]);
    if (net->router_added) netif_remove(&net->router);
    lwip_owner = NULL;
    free(net);
}

/* Whether a packet to an address nobody has deserves the router's "host
 * unreachable" (lwIP alone would drop it silently): TCP or UDP, a first
 * fragment, a sound header, not multicast or broadcast. */
static bool unreachable_reported(const exit_internet *net, const uint8_t *packet, size_t len,
                                 const ip4_addr_t *destination)
{
    size_t header_len = (size_t)(packet[0] & 0x0f) * 4;
    if ((packet[0] >> 4) != 4 || header_len < IP_HLEN || len < header_len + 8) return false;
    if (packet[9] != IP_PROTO_TCP && packet[9] != IP_PROTO_UDP) return false;
    if (((packet[6] & 0x1f) | packet[7]) != 0) return false;
    if (inet_chksum(packet, (u16_t)header_len) != 0) return false;
    return !ip4_addr_ismulticast(destination) && !ip4_addr_isbroadcast(destination, &net->router);
}

void exit_internet_input(exit_internet *net, const uint8_t *packet, size_t len)
{
    if (len < IP_HLEN || len > 0xffff) return;
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
    if (!p) return;
    pbuf_take(p, packet, (u16_t)len);
    ip4_addr_t destination;
    IP4_ADDR(&destination, packet[16], packet[17], packet[18], packet[19]);
    struct netif *owner = address_owner(net, &destination);
    if (!owner && unreachable_reported(net, packet, len, &destination)) {
        icmp_dest_unreach(p, ICMP_DUR_HOST);
        pbuf_free(p);
    } else {
        /* in through the destination's own interface: lwIP answers a UDP
         * port nobody is bound to only on the interface with the address */
        struct netif *in = owner ? owner : &net->router;
        if (in->input(p, in) != ERR_OK) pbuf_free(p);
    }
    timers_schedule(net);
}

const exit_internet_stats *exit_internet_get_stats(exit_internet *net)
{
    net->stats.udp_flows = udp_flows_opened(net->udp);
    return &net->stats;
}
