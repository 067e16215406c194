/* A table of connected UDP sockets, watched on the platform's loop. */
#define _POSIX_C_SOURCE 200809L
#include "udp_flows.h"

#include "platform/platform.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FLOW_IDLE_MS 60000
#define FLOW_MAX 256
#define MAX_DATAGRAM 65535

typedef struct udp_flow {
    udp_flows *table;
    void *service;
    uint8_t client_ip[4];
    uint16_t client_port;
    int fd;
    uint64_t last_used_ms;
    struct udp_flow *next;
} udp_flow;

struct udp_flows {
    udp_flow_answer_fn on_answer;
    void *ctx;
    udp_flow *list;
    size_t count;
    uint64_t opened;
    uint8_t datagram[MAX_DATAGRAM];
};

static void flow_free(udp_flow *f)
{
    udp_flows *t = f->table;
    for (udp_flow **p = &t->list; *p; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            break;
        }
    }
    platform_unwatch_fd(f->fd);
    close(f->fd);
    t->count--;
    free(f);
}

static void on_flow_readable(void *ctx, int fd, bool readable, bool writable)
{
    (void)writable;
    udp_flow *f = ctx;
    udp_flows *t = f->table;
    if (!readable) return;
    for (;;) {
        ssize_t n = recv(fd, t->datagram, sizeof t->datagram, 0);
        if (n < 0) break; /* nothing more, or the server is gone (ICMP refused): the client times out */
        f->last_used_ms = platform_monotonic_ms();
        t->on_answer(t->ctx, f->service, f->client_ip, f->client_port, t->datagram, (size_t)n);
    }
}

static void flows_trim(udp_flows *t, uint64_t now)
{
    udp_flow *oldest = NULL;
    for (udp_flow *f = t->list, *next; f; f = next) {
        next = f->next;
        if (now - f->last_used_ms > FLOW_IDLE_MS)
            flow_free(f);
        else if (!oldest || f->last_used_ms < oldest->last_used_ms)
            oldest = f;
    }
    if (t->count >= FLOW_MAX && oldest) flow_free(oldest);
}

static udp_flow *flow_get(udp_flows *t, void *service, uint16_t real_port, const uint8_t client_ip[4],
                          uint16_t client_port)
{
    for (udp_flow *f = t->list; f; f = f->next)
        if (f->service == service && f->client_port == client_port && memcmp(f->client_ip, client_ip, 4) == 0)
            return f;
    flows_trim(t, platform_monotonic_ms());
    udp_flow *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in real = {
        .sin_family = AF_INET, .sin_port = htons(real_port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (f->fd < 0 || connect(f->fd, (struct sockaddr *)&real, sizeof real) != 0 ||
        platform_watch_fd(f->fd, true, false, on_flow_readable, f) != 0) {
        if (f->fd >= 0) close(f->fd);
        free(f);
        return NULL;
    }
    f->table = t;
    f->service = service;
    memcpy(f->client_ip, client_ip, 4);
    f->client_port = client_port;
    f->next = t->list;
    t->list = f;
    t->count++;
    t->opened++;
    return f;
}

udp_flows *udp_flows_create(udp_flow_answer_fn on_answer, void *ctx)
{
    udp_flows *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->on_answer = on_answer;
    t->ctx = ctx;
    return t;
}

void udp_flows_destroy(udp_flows *t)
{
    if (!t) return;
    while (t->list) flow_free(t->list);
    free(t);
}

void udp_flows_send(udp_flows *t, void *service, uint16_t real_port, const uint8_t client_ip[4],
                    uint16_t client_port, const uint8_t *data, size_t len)
{
    udp_flow *f = flow_get(t, service, real_port, client_ip, client_port);
    if (f && send(f->fd, data, len, 0) >= 0) f->last_used_ms = platform_monotonic_ms();
}

uint64_t udp_flows_opened(const udp_flows *t)
{
    return t->opened;
}
