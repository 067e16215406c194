/* The small internet on Linux's TCP/IP: a namespace with a TUN device,
 * listening sockets on the virtual addresses, relays to the real servers. */
#define _GNU_SOURCE
#include "kernel_internet.h"

#include "platform/platform.h"
#include "udp_flows.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define TUN_NAME "exit0"
/* per direction of a relay: about what lwIP's internet holds (its send buffer) */
#define RELAY_BUFFER (256u * 1024)
/* The servers' congestion control (where the kernel has it; else its
 * default): BBR, as large sites run, paces by the measured rate and does not
 * halve its window at every loss, which the mixnet's random losses would
 * otherwise cost (about 20 KB/s with CUBIC, 80 with BBR, at 10% loss here) */
#define SERVER_CONGESTION_CONTROL "bbr"

typedef struct {
    kernel_internet *net;
    const service_route *route;
    int fd; /* listening (TCP) or bound (UDP), inside the namespace */
} kernel_service;

/* One direction of a relay: bytes read from one socket, not yet written to the other. */
typedef struct {
    uint8_t *data;
    size_t start, len;
    bool ended; /* the source sent its FIN */
    bool shut;  /* and it was passed on */
} relay_pipe;

/* A connection the kernel accepted from a client, joined to the real server. */
typedef struct kernel_relay {
    kernel_internet *net;
    int client_fd, real_fd;
    bool real_connecting;
    relay_pipe up, down; /* client to server, server to client */
    struct kernel_relay *next;
} kernel_relay;

struct kernel_internet {
    exit_internet_output_fn output;
    void *ctx;
    int tun_fd;
    kernel_service services[SERVICES_ROUTE_COUNT];
    size_t service_count;
    kernel_relay *relays;
    udp_flows *udp;
    exit_internet_stats stats;
    uint8_t packet[0xFFFF];
};

static bool would_block(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* --- the namespace */

static bool interface_address(int ctl, const char *name, in_addr_t address, in_addr_t mask)
{
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    struct sockaddr_in *in = (struct sockaddr_in *)&ifr.ifr_addr;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = address;
    if (ioctl(ctl, SIOCSIFADDR, &ifr) != 0) return false;
    in->sin_addr.s_addr = mask;
    return ioctl(ctl, SIOCSIFNETMASK, &ifr) == 0;
}

static bool interface_up(int ctl, const char *name, int mtu)
{
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (mtu) {
        ifr.ifr_mtu = mtu;
        if (ioctl(ctl, SIOCSIFMTU, &ifr) != 0) return false;
    }
    if (ioctl(ctl, SIOCGIFFLAGS, &ifr) != 0) return false;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(ctl, SIOCSIFFLAGS, &ifr) == 0;
}

static int tun_open(int ctl, const uint8_t router_ip[4], uint8_t prefix_len, uint16_t mtu)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, TUN_NAME);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    in_addr_t router;
    memcpy(&router, router_ip, 4);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0 || !interface_up(ctl, TUN_NAME, mtu) ||
        !interface_address(ctl, TUN_NAME, router, htonl(0xffffffffu << (32 - prefix_len)))) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Each distinct virtual address goes on the namespace's loopback. */
static bool addresses_add(int ctl, const services *s)
{
    size_t aliases = 0;
    for (size_t i = 0; i < SERVICES_ROUTE_COUNT; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++) seen |= strcmp(s->routes[j].virtual_ip, s->routes[i].virtual_ip) == 0;
        if (seen) continue;
        struct in_addr address;
        char name[IFNAMSIZ];
        snprintf(name, sizeof name, "lo:%zu", aliases++);
        if (inet_pton(AF_INET, s->routes[i].virtual_ip, &address) != 1 ||
            !interface_address(ctl, name, address.s_addr, htonl(0xffffffffu)))
            return false;
    }
    return true;
}

static int service_socket(const service_route *route)
{
    bool tcp = route->proto == SERVICE_PROTO_TCP;
    int fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    static bool default_reported;
    if (tcp &&
        setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, SERVER_CONGESTION_CONTROL, strlen(SERVER_CONGESTION_CONTROL)) != 0 &&
        !default_reported) {
        /* downloads under loss will be several times slower */
        fprintf(stderr, "localnet: kernel internet: no %s here (%s); the servers keep the kernel's default\n",
                SERVER_CONGESTION_CONTROL, strerror(errno));
        default_reported = true;
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(route->virtual_port)};
    if (inet_pton(AF_INET, route->virtual_ip, &address.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || (tcp && listen(fd, 128) != 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Makes the namespace's devices and sockets, from inside it. */
static const char *namespace_fill(kernel_internet *net, const services *s, const uint8_t router_ip[4],
                                  uint8_t prefix_len, uint16_t mtu)
{
    int ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (ctl < 0) return "control socket";
    const char *failed = NULL;
    if (!interface_up(ctl, "lo", 0))
        failed = "loopback up";
    else if (s && !addresses_add(ctl, s))
        failed = "virtual addresses on loopback";
    else if ((net->tun_fd = tun_open(ctl, router_ip, prefix_len, mtu)) < 0)
        failed = "TUN device";
    for (size_t i = 0; !failed && s && i < SERVICES_ROUTE_COUNT; i++) {
        kernel_service *service = &net->services[net->service_count];
        *service = (kernel_service){.net = net, .route = &s->routes[i], .fd = service_socket(&s->routes[i])};
        if (service->fd < 0)
            failed = "a service's socket";
        else
            net->service_count++;
    }
    close(ctl);
    return failed;
}

/* --- TCP relays */

static void relay_watch(kernel_relay *r);

static void relay_free(kernel_relay *r)
{
    for (kernel_relay **p = &r->net->relays; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    platform_unwatch_fd(r->client_fd);
    close(r->client_fd);
    if (r->real_fd >= 0) {
        platform_unwatch_fd(r->real_fd);
        close(r->real_fd);
    }
    free(r->up.data);
    free(r->down.data);
    free(r);
}

/* Ends the client's connection with a reset, as a host refusing it would. */
static void relay_reset(kernel_relay *r)
{
    struct linger abort_on_close = {.l_onoff = 1, .l_linger = 0};
    setsockopt(r->client_fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    relay_free(r);
}

/* Moves what it can from one socket to the other; false when either failed. */
static bool pipe_move(relay_pipe *p, int from, int to, uint64_t *pauses)
{
    for (bool progress = true; progress;) {
        progress = false;
        if (p->len) {
            ssize_t n = send(to, p->data + p->start, p->len, MSG_NOSIGNAL);
            if (n > 0) {
                p->start = (p->len -= (size_t)n) ? p->start + (size_t)n : 0;
                progress = true;
            } else if (!would_block()) {
                return false;
            }
        }
        if (!p->ended && p->len < RELAY_BUFFER) {
            if (p->start + p->len == RELAY_BUFFER) {
                memmove(p->data, p->data + p->start, p->len);
                p->start = 0;
            }
            size_t end = p->start + p->len;
            ssize_t n = recv(from, p->data + end, RELAY_BUFFER - end, 0);
            if (n > 0) {
                p->len += (size_t)n;
                if (pauses && p->len == RELAY_BUFFER) (*pauses)++;
                progress = true;
            } else if (n == 0) {
                p->ended = true;
            } else if (!would_block()) {
                return false;
            }
        }
    }
    if (p->ended && p->len == 0 && !p->shut) {
        shutdown(to, SHUT_WR);
        p->shut = true;
    }
    return true;
}

static void on_relay_ready(void *ctx, int fd, bool readable, bool writable)
{
    (void)fd;
    (void)readable;
    kernel_relay *r = ctx;
    if (r->real_connecting) {
        if (!writable) return;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(r->real_fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            /* nothing listens behind the virtual address */
            relay_reset(r);
            return;
        }
        r->real_connecting = false;
    }
    if (!pipe_move(&r->up, r->client_fd, r->real_fd, NULL) ||
        !pipe_move(&r->down, r->real_fd, r->client_fd, &r->net->stats.tcp_pauses)) {
        relay_reset(r);
        return;
    }
    if (r->up.shut && r->down.shut)
        relay_free(r);
    else
        relay_watch(r);
}

static void relay_watch(kernel_relay *r)
{
    if (r->real_connecting) {
        /* the client's side waits unwatched: its errors would wake the loop for nothing */
        platform_watch_fd(r->real_fd, false, true, on_relay_ready, r);
        return;
    }
    bool read_client = !r->up.ended && r->up.len < RELAY_BUFFER;
    bool read_real = !r->down.ended && r->down.len < RELAY_BUFFER;
    platform_watch_fd(r->client_fd, read_client, r->down.len > 0, on_relay_ready, r);
    platform_watch_fd(r->real_fd, read_real, r->up.len > 0, on_relay_ready, r);
}

static void relay_start(kernel_service *service, int client_fd)
{
    kernel_relay *r = calloc(1, sizeof *r);
    if (!r) {
        close(client_fd);
        return;
    }
    *r = (kernel_relay){.net = service->net, .client_fd = client_fd, .real_fd = -1, .next = service->net->relays};
    service->net->relays = r;
    r->up.data = malloc(RELAY_BUFFER);
    r->down.data = malloc(RELAY_BUFFER);
    r->real_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in real = {
        .sin_family = AF_INET, .sin_port = htons(service->route->real_port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (!r->up.data || !r->down.data || r->real_fd < 0 ||
        (connect(r->real_fd, (struct sockaddr *)&real, sizeof real) != 0 && errno != EINPROGRESS)) {
        relay_reset(r);
        return;
    }
    /* servers answer at once (nginx sets TCP_NODELAY on keep-alive connections) */
    int one = 1;
    setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(r->real_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    r->real_connecting = true;
    service->net->stats.tcp_relays++;
    relay_watch(r);
}

static void on_accept_ready(void *ctx, int fd, bool readable, bool writable)
{
    (void)writable;
    kernel_service *service = ctx;
    if (!readable) return;
    for (;;) {
        int client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) return;
        relay_start(service, client);
    }
}

/* --- UDP */

/* Answers from the real server go back from the virtual address. */
static void on_udp_answer(void *ctx, void *service_ptr, const uint8_t client_ip[4], uint16_t client_port,
                          const uint8_t *data, size_t len)
{
    (void)ctx;
    kernel_service *service = service_ptr;
    struct sockaddr_in client = {.sin_family = AF_INET, .sin_port = htons(client_port)};
    memcpy(&client.sin_addr, client_ip, 4);
    sendto(service->fd, data, len, 0, (struct sockaddr *)&client, sizeof client);
}

static void on_datagram_ready(void *ctx, int fd, bool readable, bool writable)
{
    (void)writable;
    kernel_service *service = ctx;
    kernel_internet *net = service->net;
    if (!readable) return;
    for (;;) {
        struct sockaddr_in client;
        socklen_t len = sizeof client;
        ssize_t n = recvfrom(fd, net->packet, sizeof net->packet, 0, (struct sockaddr *)&client, &len);
        if (n < 0) return;
        udp_flows_send(net->udp, service, service->route->real_port, (const uint8_t *)&client.sin_addr,
                       ntohs(client.sin_port), net->packet, (size_t)n);
        }
}

/* --- the whole */

static void on_tun_readable(void *ctx, int fd, bool readable, bool writable)
{
    (void)writable;
    kernel_internet *net = ctx;
    if (!readable) return;
    for (;;) {
        ssize_t n = read(fd, net->packet, sizeof net->packet);
        if (n <= 0) return;
        net->output(net->ctx, net->packet, (size_t)n);
    }
}

kernel_internet *kernel_internet_create(const services *s, const uint8_t router_ip[4], uint8_t prefix_len,
                                        uint16_t mtu, exit_internet_output_fn output, void *ctx)
{
    if (prefix_len == 0 || prefix_len > 32) return NULL;
    kernel_internet *net = calloc(1, sizeof *net);
    if (!net) return NULL;
    net->output = output;
    net->ctx = ctx;
    net->tun_fd = -1;
    net->udp = udp_flows_create(on_udp_answer, net);
    if (!net->udp) {
        free(net);
        return NULL;
    }
    int host_namespace = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (host_namespace < 0 || unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "localnet: a network namespace for the kernel internet needs root: %s\n", strerror(errno));
        if (host_namespace >= 0) close(host_namespace);
        udp_flows_destroy(net->udp);
        free(net);
        return NULL;
    }
    const char *failed = namespace_fill(net, s, router_ip, prefix_len, mtu);
    int saved = errno;
    /* the sockets stay in the namespace; everything made from here on is the host's */
    if (setns(host_namespace, CLONE_NEWNET) != 0 && !failed) {
        failed = "back to the host's namespace";
        saved = errno;
    }
    close(host_namespace);
    if (!failed && platform_watch_fd(net->tun_fd, true, false, on_tun_readable, net) != 0) failed = "watching the TUN";
    for (size_t i = 0; !failed && i < net->service_count; i++) {
        kernel_service *service = &net->services[i];
        bool tcp = service->route->proto == SERVICE_PROTO_TCP;
        if (platform_watch_fd(service->fd, true, false, tcp ? on_accept_ready : on_datagram_ready, service) != 0)
            failed = "watching a service";
    }
    if (failed) {
        fprintf(stderr, "localnet: kernel internet: %s failed: %s\n", failed, strerror(saved));
        kernel_internet_destroy(net);
        return NULL;
    }
    return net;
}

void kernel_internet_destroy(kernel_internet *net)
{
    if (!net) return;
    while (net->relays) relay_free(net->relays);
    udp_flows_destroy(net->udp);
    for (size_t i = 0; i < net->service_count; i++) {
        platform_unwatch_fd(net->services[i].fd);
        close(net->services[i].fd);
    }
    if (net->tun_fd >= 0) {
        platform_unwatch_fd(net->tun_fd);
        close(net->tun_fd);
    }
    free(net);
}

void kernel_internet_input(kernel_internet *net, const uint8_t *packet, size_t len)
{
    /* a full TUN queue drops the packet, as a router's would */
    ssize_t written = write(net->tun_fd, packet, len);
    (void)written;
}

const exit_internet_stats *kernel_internet_get_stats(kernel_internet *net)
{
    net->stats.udp_flows = udp_flows_opened(net->udp);
    return &net->stats;
}
