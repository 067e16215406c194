/* The native platform's connections: URLs, name resolution, non-blocking
 * TCP on the event loop, and BearSSL's engine pumped between the socket
 * and the buffers without ever waiting. */
#define _GNU_SOURCE /* SOCK_NONBLOCK, SOCK_CLOEXEC */
#include "platform/platform.h"
#include "platform/posix/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- URLs ---- */

static bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* What a request line can carry: visible ASCII; anything else must come
 * percent-encoded. */
static bool is_target_char(char c)
{
    return c > 0x20 && c < 0x7f;
}

static bool parse_scheme(const char *text, size_t len, net_url_kind kind, bool *tls, uint16_t *default_port)
{
    const char *plain = kind == NET_URL_WEBSOCKET ? "ws" : "http";
    const char *secure = kind == NET_URL_WEBSOCKET ? "wss" : "https";
    if (len == strlen(plain) && strncasecmp(text, plain, len) == 0) {
        *tls = false;
        *default_port = 80;
        return true;
    }
    if (len == strlen(secure) && strncasecmp(text, secure, len) == 0) {
        *tls = true;
        *default_port = 443;
        return true;
    }
    return false;
}

static bool parse_port(const char *text, size_t len, uint16_t *port)
{
    if (len == 0 || len > 5) return false;
    unsigned value = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') return false;
        value = value * 10 + (unsigned)(text[i] - '0');
    }
    if (value == 0 || value > 65535) return false;
    *port = (uint16_t)value;
    return true;
}

bool net_url_parse(net_url *url, const char *text, net_url_kind kind)
{
    const char *scheme_end = strstr(text, "://");
    uint16_t default_port;
    if (!scheme_end || !parse_scheme(text, (size_t)(scheme_end - text), kind, &url->tls, &default_port))
        return false;

    const char *authority = scheme_end + 3;
    size_t authority_len = strcspn(authority, "/?#");
    const char *colon = memchr(authority, ':', authority_len);
    size_t host_len = colon ? (size_t)(colon - authority) : authority_len;
    if (host_len == 0 || host_len > NET_HOST_MAX) return false;
    for (size_t i = 0; i < host_len; i++)
        if (!is_host_char(authority[i])) return false; /* also refuses user info and IPv6 */
    url->port = default_port;
    if (colon && !parse_port(colon + 1, authority_len - host_len - 1, &url->port)) return false;
    memcpy(url->host, authority, host_len);
    url->host[host_len] = '\0';
    if (url->port == default_port)
        snprintf(url->authority, sizeof url->authority, "%s", url->host);
    else
        snprintf(url->authority, sizeof url->authority, "%s:%u", url->host, url->port);

    const char *path = authority + authority_len;
    size_t path_len = strcspn(path, "#");
    if (path[path_len] == '#' && kind == NET_URL_WEBSOCKET) return false;
    bool needs_slash = path_len == 0 || path[0] == '?';
    if (path_len + needs_slash > NET_TARGET_MAX) return false;
    for (size_t i = 0; i < path_len; i++)
        if (!is_target_char(path[i])) return false;
    snprintf(url->target, sizeof url->target, "%s%.*s", needs_slash ? "/" : "", (int)path_len, path);
    return true;
}

/* ---- connections ---- */

typedef enum {
    STEP_WAIT,  /* nothing moves until the socket is ready */
    STEP_MOVED, /* bytes moved; try again */
    STEP_INPUT,
    STEP_HANDSHAKE_DONE,
    STEP_CLOSED,
    STEP_FAILED,
} step_result;

static void conn_on_fd(void *ctx, int fd, bool readable, bool writable);

void net_conn_init(net_conn *conn, net_conn_handler handler, void *owner)
{
    conn->fd = -1;
    conn->state = NET_CONN_IDLE;
    conn->tls = NULL;
    conn->handler = handler;
    conn->owner = owner;
    conn->closed_cleanly = false;
    conn->input_start = conn->input_end = 0;
    conn->output = NULL;
    conn->output_start = conn->output_end = conn->output_cap = 0;
    conn->error[0] = '\0';
}

static bool set_errno_error(net_conn *conn, const char *what, int err)
{
    snprintf(conn->error, sizeof conn->error, "%s: %s", what, strerror(err));
    return false;
}

/* getaddrinfo blocks while it asks DNS. Native users (tests, tools,
 * localnet) name localhost or an address literal, which it answers at
 * once from /etc/hosts or the text itself; the browser build never
 * resolves names here. */
static bool resolve(net_conn *conn, const net_url *url, struct sockaddr_in *address)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *found;
    int r = getaddrinfo(url->host, NULL, &hints, &found);
    if (r != 0) {
        snprintf(conn->error, sizeof conn->error, "resolving %s: %s", url->host, gai_strerror(r));
        return false;
    }
    memcpy(address, found->ai_addr, sizeof *address);
    address->sin_port = htons(url->port);
    freeaddrinfo(found);
    return true;
}

bool net_conn_start(net_conn *conn, const net_url *url)
{
    struct in_addr literal;
    if (url->tls && inet_pton(AF_INET, url->host, &literal) == 1) {
        /* BearSSL matches certificates against DNS names only */
        snprintf(conn->error, sizeof conn->error, "TLS to an IP address is not supported: use a host name");
        return false;
    }
    struct sockaddr_in address;
    if (!resolve(conn, url, &address)) return false;
    if (url->tls && !(conn->tls = net_tls_new(url->host, conn->error, sizeof conn->error))) return false;
    conn->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (conn->fd < 0) return set_errno_error(conn, "socket", errno);
    /* WebSocket frames and requests are small and wanted now */
    int one = 1;
    (void)setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(conn->fd, (const struct sockaddr *)&address, sizeof address) != 0 && errno != EINPROGRESS) {
        set_errno_error(conn, "connect", errno);
        close(conn->fd);
        conn->fd = -1;
        return false;
    }
    if (platform_watch_fd(conn->fd, false, true, conn_on_fd, conn) != 0) {
        snprintf(conn->error, sizeof conn->error, "too many open descriptors");
        close(conn->fd);
        conn->fd = -1;
        return false;
    }
    conn->state = NET_CONN_CONNECTING;
    return true;
}

const uint8_t *net_conn_input(const net_conn *conn, size_t *len)
{
    *len = conn->input_end - conn->input_start;
    return conn->input + conn->input_start;
}

void net_conn_consume(net_conn *conn, size_t len)
{
    conn->input_start += len;
}

/* Free room at the end of the input, moving unconsumed bytes to the
 * front when the end is reached. */
static size_t input_space(net_conn *conn)
{
    if (conn->input_start == conn->input_end) {
        conn->input_start = conn->input_end = 0;
    } else if (conn->input_end == NET_CONN_INPUT_CAP && conn->input_start > 0) {
        memmove(conn->input, conn->input + conn->input_start, conn->input_end - conn->input_start);
        conn->input_end -= conn->input_start;
        conn->input_start = 0;
    }
    return NET_CONN_INPUT_CAP - conn->input_end;
}

size_t net_conn_pending(const net_conn *conn)
{
    return conn->output_end - conn->output_start;
}

static void output_sent(net_conn *conn, size_t len)
{
    conn->output_start += len;
    if (conn->output_start == conn->output_end) conn->output_start = conn->output_end = 0;
}

uint8_t *net_conn_output_space(net_conn *conn, size_t len)
{
    if (conn->output_cap - conn->output_end >= len) return conn->output + conn->output_end;
    size_t pending = net_conn_pending(conn);
    if (conn->output_start > 0) {
        memmove(conn->output, conn->output + conn->output_start, pending);
        conn->output_start = 0;
        conn->output_end = pending;
    }
    if (len > SIZE_MAX / 2 - pending) return NULL;
    if (conn->output_cap - pending < len) {
        size_t cap = conn->output_cap ? conn->output_cap : 4096;
        while (cap - pending < len) cap *= 2;
        uint8_t *grown = realloc(conn->output, cap);
        if (!grown) return NULL;
        conn->output = grown;
        conn->output_cap = cap;
    }
    return conn->output + conn->output_end;
}

/* What to wait for: TLS asks its engine, plain TCP its buffers. */
static void conn_watch(net_conn *conn, bool output_added)
{
    bool want_read, want_write;
    if (conn->tls) {
        unsigned state = br_ssl_engine_current_state(net_tls_engine(conn->tls));
        want_read = state & BR_SSL_RECVREC;
        want_write = state & BR_SSL_SENDREC;
    } else {
        want_read = conn->input_end - conn->input_start < NET_CONN_INPUT_CAP;
        want_write = net_conn_pending(conn) > 0;
    }
    /* replacing the watch of a watched descriptor cannot fail */
    (void)platform_watch_fd(conn->fd, want_read, want_write || output_added, conn_on_fd, conn);
}

void net_conn_commit(net_conn *conn, size_t len)
{
    conn->output_end += len;
    /* sent from the loop, so a platform call never runs a callback */
    if (conn->state == NET_CONN_OPEN) conn_watch(conn, true);
}

static void close_socket(net_conn *conn)
{
    if (conn->fd < 0) return;
    platform_unwatch_fd(conn->fd);
    close(conn->fd);
    conn->fd = -1;
}

static bool would_block(ssize_t n)
{
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

static step_result step_failed(net_conn *conn, const char *what)
{
    set_errno_error(conn, what, errno);
    return STEP_FAILED;
}

/* Reading comes first, so a peer's last words (a close frame, a response)
 * are taken before a failing send ends the connection. */
static step_result plain_step(net_conn *conn)
{
    size_t space = input_space(conn);
    if (space > 0) {
        ssize_t n = recv(conn->fd, conn->input + conn->input_end, space, 0);
        if (n > 0) {
            conn->input_end += (size_t)n;
            return STEP_INPUT;
        }
        if (n == 0) {
            conn->closed_cleanly = true;
            return STEP_CLOSED;
        }
        if (!would_block(n)) return step_failed(conn, "recv");
    }
    size_t pending = net_conn_pending(conn);
    if (pending > 0) {
        ssize_t n = send(conn->fd, conn->output + conn->output_start, pending, MSG_NOSIGNAL);
        if (n > 0) {
            output_sent(conn, (size_t)n);
            return STEP_MOVED;
        }
        if (!would_block(n)) return step_failed(conn, "send");
    }
    return STEP_WAIT;
}

/* One move of BearSSL's engine: plaintext out of it, plaintext into it,
 * records to the socket, records from the socket. */
static step_result tls_step(net_conn *conn)
{
    br_ssl_engine_context *engine = net_tls_engine(conn->tls);
    unsigned state = br_ssl_engine_current_state(engine);
    if (state & BR_SSL_CLOSED) {
        int err = br_ssl_engine_last_error(engine);
        if (err == BR_ERR_OK) {
            conn->closed_cleanly = true; /* close_notify */
            return STEP_CLOSED;
        }
        net_tls_describe_error(conn->error, sizeof conn->error, err);
        return STEP_FAILED;
    }
    if (conn->state == NET_CONN_HANDSHAKING && (state & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)))
        return STEP_HANDSHAKE_DONE;
    size_t len;
    if (state & BR_SSL_RECVAPP) {
        size_t space = input_space(conn);
        if (space > 0) {
            const unsigned char *plain = br_ssl_engine_recvapp_buf(engine, &len);
            if (len > space) len = space;
            memcpy(conn->input + conn->input_end, plain, len);
            conn->input_end += len;
            br_ssl_engine_recvapp_ack(engine, len);
            return STEP_INPUT;
        }
    }
    size_t pending = net_conn_pending(conn);
    if ((state & BR_SSL_SENDAPP) && pending > 0) {
        unsigned char *room = br_ssl_engine_sendapp_buf(engine, &len);
        if (len > pending) len = pending;
        memcpy(room, conn->output + conn->output_start, len);
        output_sent(conn, len);
        br_ssl_engine_sendapp_ack(engine, len);
        br_ssl_engine_flush(engine, 0); /* a record now, not when the buffer fills */
        return STEP_MOVED;
    }
    if (state & BR_SSL_SENDREC) {
        unsigned char *record = br_ssl_engine_sendrec_buf(engine, &len);
        ssize_t n = send(conn->fd, record, len, MSG_NOSIGNAL);
        if (n > 0) {
            br_ssl_engine_sendrec_ack(engine, (size_t)n);
            return STEP_MOVED;
        }
        if (!would_block(n)) return step_failed(conn, "send");
    }
    if (state & BR_SSL_RECVREC) {
        unsigned char *room = br_ssl_engine_recvrec_buf(engine, &len);
        ssize_t n = recv(conn->fd, room, len, 0);
        if (n > 0) {
            br_ssl_engine_recvrec_ack(engine, (size_t)n);
            return STEP_MOVED;
        }
        if (n == 0) return STEP_CLOSED; /* without close_notify: not clean */
        if (!would_block(n)) return step_failed(conn, "recv");
    }
    return STEP_WAIT;
}

/* Closes the socket and tells the owner how the stream ended. */
static void conn_end(net_conn *conn, net_conn_event how)
{
    close_socket(conn);
    conn->state = NET_CONN_ENDED;
    (void)conn->handler(conn->owner, how);
}

static void conn_pump(net_conn *conn)
{
    for (;;) {
        switch (conn->tls ? tls_step(conn) : plain_step(conn)) {
        case STEP_WAIT:
            conn_watch(conn, false);
            return;
        case STEP_MOVED:
            break;
        case STEP_INPUT:
            if (!conn->handler(conn->owner, NET_CONN_INPUT)) return;
            break;
        case STEP_HANDSHAKE_DONE:
            conn->state = NET_CONN_OPEN;
            if (!conn->handler(conn->owner, NET_CONN_CONNECTED)) return;
            break;
        case STEP_CLOSED:
            conn_end(conn, NET_CONN_CLOSED);
            return;
        case STEP_FAILED:
            conn_end(conn, NET_CONN_FAILED);
            return;
        }
    }
}

static void conn_on_fd(void *ctx, int fd, bool readable, bool writable)
{
    (void)fd, (void)readable, (void)writable; /* every step tries, and stops at EAGAIN */
    net_conn *conn = ctx;
    if (conn->state == NET_CONN_CONNECTING) {
        int err = 0;
        socklen_t err_len = sizeof err;
        if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) err = errno;
        if (err) {
            set_errno_error(conn, "connect", err);
            conn_end(conn, NET_CONN_FAILED);
            return;
        }
        conn->state = conn->tls ? NET_CONN_HANDSHAKING : NET_CONN_OPEN;
        if (!conn->tls && !conn->handler(conn->owner, NET_CONN_CONNECTED)) return;
    }
    conn_pump(conn);
}

/* Without waiting: the output left (a WebSocket's close frame), then
 * close_notify. What the socket cannot take now is dropped. */
static void send_final(net_conn *conn)
{
    if (!conn->tls) {
        while (net_conn_pending(conn) > 0) {
            ssize_t n = send(conn->fd, conn->output + conn->output_start, net_conn_pending(conn), MSG_NOSIGNAL);
            if (n <= 0) return;
            output_sent(conn, (size_t)n);
        }
        return;
    }
    br_ssl_engine_context *engine = net_tls_engine(conn->tls);
    bool close_started = false;
    for (;;) {
        unsigned state = br_ssl_engine_current_state(engine);
        size_t len, pending = net_conn_pending(conn);
        if ((state & BR_SSL_SENDAPP) && pending > 0) {
            unsigned char *room = br_ssl_engine_sendapp_buf(engine, &len);
            if (len > pending) len = pending;
            memcpy(room, conn->output + conn->output_start, len);
            output_sent(conn, len);
            br_ssl_engine_sendapp_ack(engine, len);
            br_ssl_engine_flush(engine, 0);
        } else if (!close_started && pending == 0) {
            br_ssl_engine_close(engine);
            close_started = true;
        } else if (state & BR_SSL_SENDREC) {
            unsigned char *record = br_ssl_engine_sendrec_buf(engine, &len);
            ssize_t n = send(conn->fd, record, len, MSG_NOSIGNAL);
            if (n <= 0) return;
            br_ssl_engine_sendrec_ack(engine, (size_t)n);
        } else {
            return;
        }
    }
}

/* Closing a socket with unread input makes the kernel send a reset, which
 * may destroy what was just sent: read what is there first (a bounded
 * amount, without waiting). */
#define DRAIN_MAX (256u << 10)

static void drain_input(int fd)
{
    uint8_t scratch[4096];
    for (size_t drained = 0; drained < DRAIN_MAX;) {
        ssize_t n = recv(fd, scratch, sizeof scratch, 0);
        if (n <= 0) return;
        drained += (size_t)n;
    }
}

void net_conn_release(net_conn *conn)
{
    if (conn->fd >= 0 && conn->state == NET_CONN_OPEN) {
        send_final(conn);
        drain_input(conn->fd);
    }
    close_socket(conn);
    net_tls_free(conn->tls);
    conn->tls = NULL;
    free(conn->output);
    conn->output = NULL;
    conn->output_start = conn->output_end = conn->output_cap = 0;
    conn->state = NET_CONN_ENDED;
}
