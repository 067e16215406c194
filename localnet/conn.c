/* Non-blocking TCP with input and output buffers, driven by platform_run_once. */
#define _POSIX_C_SOURCE 200809L
#include "conn.h"

#include "platform/platform.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define DEFAULT_MAX_QUEUED (8u * 1024 * 1024)

struct conn {
    int fd;
    bool connecting, open, close_after_flush, close_reported;
    bool shutdown_after_flush, shut_down, input_paused;
    conn_drained_fn on_drained;
    uint32_t failure_timer; /* reports a connect that failed at once */
    uint8_t *in, *out;
    size_t in_len, in_cap, out_len, out_cap, max_queued;
    conn_events events;
    void *ctx;
};

struct listener {
    int fd;
    uint16_t port;
    listener_accept_fn on_accept;
    void *ctx;
};

static bool set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL, 0);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

static void update_watch(conn *c);

/* Reports the end once, from the loop; the owner frees the connection. */
static void report_closed(conn *c)
{
    c->open = false;
    c->connecting = false;
    if (c->fd >= 0) {
        platform_unwatch_fd(c->fd);
        close(c->fd);
        c->fd = -1;
    }
    if (!c->close_reported) {
        c->close_reported = true;
        if (c->events.on_closed) c->events.on_closed(c->ctx, c);
    }
}

static bool grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return true;
    size_t cap2 = *cap ? *cap : 4096;
    while (cap2 < need) cap2 *= 2;
    uint8_t *b = realloc(*buf, cap2);
    if (!b) return false;
    *buf = b;
    *cap = cap2;
    return true;
}

/* Gives false when the connection ended (and may already be freed). */
static bool flush_output(conn *c)
{
    size_t sent = 0;
    while (sent < c->out_len) {
        ssize_t n = send(c->fd, c->out + sent, c->out_len - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            break;
        } else {
            report_closed(c);
            return false;
        }
    }
    memmove(c->out, c->out + sent, c->out_len - sent);
    c->out_len -= sent;
    if (c->out_len == 0 && c->close_after_flush) {
        report_closed(c);
        return false;
    }
    if (c->out_len == 0 && c->shutdown_after_flush && !c->shut_down) {
        shutdown(c->fd, SHUT_WR);
        c->shut_down = true;
    }
    update_watch(c);
    if (sent > 0 && c->out_len == 0 && c->on_drained) c->on_drained(c->ctx, c);
    return true;
}

static void read_input(conn *c)
{
    for (;;) {
        if (!grow(&c->in, &c->in_cap, c->in_len + READ_CHUNK)) {
            report_closed(c);
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, READ_CHUNK, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        /* the peer closed or the read failed; hand over what arrived first */
        if (c->in_len && c->events.on_input) c->events.on_input(c->ctx, c);
        report_closed(c);
        return;
    }
    if (c->in_len && c->events.on_input) c->events.on_input(c->ctx, c);
}

static void on_ready(void *ctx, int fd, bool readable, bool writable)
{
    (void)fd;
    conn *c = ctx;
    if (c->connecting && (writable || readable)) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            report_closed(c);
            return;
        }
        c->connecting = false;
        c->open = true;
        update_watch(c);
        /* on_connected may queue data; it goes out when the socket is writable */
        if (c->events.on_connected) c->events.on_connected(c->ctx, c);
        return;
    }
    if (writable && c->open && !flush_output(c)) return;
    if (readable && c->open) read_input(c);
}

static void update_watch(conn *c)
{
    if (c->fd < 0) return;
    bool want_write = c->connecting || c->out_len > 0 || c->close_after_flush ||
                      (c->shutdown_after_flush && !c->shut_down);
    platform_watch_fd(c->fd, !c->connecting && !c->input_paused, want_write, on_ready, c);
}

static conn *conn_new(int fd, const conn_events *events, void *ctx)
{
    conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->fd = fd;
    c->events = *events;
    c->ctx = ctx;
    c->max_queued = DEFAULT_MAX_QUEUED;
    return c;
}

static void report_failed_connect(void *ctx)
{
    conn *c = ctx;
    c->failure_timer = 0;
    report_closed(c);
}

conn *conn_connect(const uint8_t ip[4], uint16_t port, const conn_events *events, void *ctx)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return NULL;
    if (!set_nonblocking(fd)) {
        close(fd);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    memcpy(&addr.sin_addr, ip, 4);
    conn *c = conn_new(fd, events, ctx);
    if (!c) {
        close(fd);
        return NULL;
    }
    c->connecting = true;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS) {
        /* reported from the loop, like a failure found later */
        c->failure_timer = platform_timer_start(0, report_failed_connect, c);
        return c;
    }
    update_watch(c);
    return c;
}

conn *conn_adopt(int fd, const conn_events *events, void *ctx)
{
    if (!set_nonblocking(fd)) return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn *c = conn_new(fd, events, ctx);
    if (!c) return NULL;
    c->open = true;
    update_watch(c);
    return c;
}

void conn_free(conn *c)
{
    if (!c) return;
    platform_timer_cancel(c->failure_timer);
    if (c->fd >= 0) {
        platform_unwatch_fd(c->fd);
        close(c->fd);
    }
    free(c->in);
    free(c->out);
    free(c);
}

int conn_send(conn *c, const uint8_t *data, size_t len)
{
    if (c->fd < 0 || c->close_after_flush || c->shutdown_after_flush) return -1;
    if (c->out_len + len > c->max_queued || !grow(&c->out, &c->out_cap, c->out_len + len)) return -1;
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    update_watch(c);
    return 0;
}

size_t conn_queued(const conn *c)
{
    return c->out_len;
}

void conn_set_max_queued(conn *c, size_t max_queued)
{
    c->max_queued = max_queued;
}

bool conn_is_open(const conn *c)
{
    return c->open;
}

const uint8_t *conn_input(const conn *c, size_t *len)
{
    *len = c->in_len;
    return c->in;
}

void conn_consume(conn *c, size_t len)
{
    if (len > c->in_len) len = c->in_len;
    memmove(c->in, c->in + len, c->in_len - len);
    c->in_len -= len;
}

void conn_close_after_flush(conn *c)
{
    /* the loop closes it once the queue is empty, never from inside this call */
    c->close_after_flush = true;
    update_watch(c);
}

void conn_shutdown_after_flush(conn *c)
{
    c->shutdown_after_flush = true;
    update_watch(c);
}

void conn_set_drained_callback(conn *c, conn_drained_fn on_drained)
{
    c->on_drained = on_drained;
}

void conn_pause_input(conn *c, bool paused)
{
    c->input_paused = paused;
    update_watch(c);
}

static void on_listener_ready(void *ctx, int fd, bool readable, bool writable)
{
    (void)writable;
    listener *l = ctx;
    if (!readable) return;
    for (;;) {
        int client = accept(fd, NULL, NULL);
        if (client < 0) return;
        /* the servers localnet starts must not inherit its sockets: a listener
         * kept open in a child would accept connections nobody answers */
        fcntl(client, F_SETFD, FD_CLOEXEC);
        l->on_accept(l->ctx, client);
    }
}

listener *listener_open(uint16_t port, listener_accept_fn on_accept, void *ctx)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return NULL;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    listener *l = calloc(1, sizeof *l);
    if (!l || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 128) != 0 ||
        !set_nonblocking(fd) || getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        free(l);
        close(fd);
        return NULL;
    }
    *l = (listener){fd, ntohs(addr.sin_port), on_accept, ctx};
    platform_watch_fd(fd, true, false, on_listener_ready, l);
    return l;
}

uint16_t listener_port(const listener *l)
{
    return l->port;
}

void listener_close(listener *l)
{
    if (!l) return;
    platform_unwatch_fd(l->fd);
    close(l->fd);
    free(l);
}
