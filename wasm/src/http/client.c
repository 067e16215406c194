/* Fetches and the connection pool: a fetch goes through DNS (for names),
 * gets a pooled or new connection, sends its head and body, reads the
 * response with the reader, follows redirects, and hands the body over
 * with back-pressure. */
#include "http/http.h"
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Received bytes buffered before TCP's window is left to close: above the
 * largest head the reader takes, so a head never waits for a window that
 * only its own parsing would open. */
#define RECEIVE_HIGH_WATER (HTTP_DEFAULT_MAX_HEAD_LEN + 32u * 1024u)
/* A written body's bytes queued before the caller has to wait. */
#define WRITE_QUEUE_CAP (64u * 1024u)
/* "<16 hex digits>\r\n" before a chunk and "\r\n" after it */
#define CHUNK_FRAMING 20
#define LAST_CHUNK "0\r\n\r\n"
#define MAX_METHOD_LEN 64
#define MAX_HEAD_LEN (64u * 1024u)

typedef struct http_conn http_conn;

struct http_conn {
    http_conn *next;
    stream *s;
    bool https;
    char host[DNS_MAX_NAME_LEN + 1];
    uint16_t port;
    bool ended; /* the peer finished sending */
    bool dead;  /* on_closed came */
    http_fetch *fetch; /* the exchange on it; NULL when idle */
    char *in;          /* received, not yet dropped */
    size_t in_len, in_cap;
    size_t owed;       /* received bytes not yet given back to the stream */
    uint32_t idle_timer;
};

struct http_fetch {
    http_fetch *next_waiting; /* in the list of fetches without a connection */
    http_fetch_events events;
    void *ctx;
    char method[MAX_METHOD_LEN];
    http_url url;
    http_header *headers; /* copies; names and values in header_text */
    size_t header_count;
    char *header_text;
    bool close_requested; /* the caller sent Connection: close */
    /* the body */
    bool has_body;
    uint8_t *body; /* bytes, owned */
    size_t body_len;
    bool body_written;
    uint64_t written_length; /* announced, or HTTP_BODY_LENGTH_UNKNOWN */
    uint64_t written_total;
    bool written_ended, written_dropped, want_writable;
    uint8_t *queue;
    size_t queue_len;
    /* options */
    http_redirect_mode redirect;
    uint32_t max_redirects, redirects;
    bool refuse_https_downgrade;
    /* progress */
    int depth;     /* entry points of this layer running for it */
    bool closed;   /* http_fetch_close came during one */
    bool complete; /* on_complete ran */
    bool waiting;  /* in the waiting list: resolving or waiting for a connection slot */
    int pending_error;
    uint32_t start_timer, timeout_timer, pump_timer;
    dns_lookup *lookup;
    http_conn *conn;
    bool reused, retried;
    char *head;
    size_t head_len, head_sent, body_sent;
    bool request_sent;
    http_response_reader reader;
    bool response_started, discarding, delivering;
    size_t outstanding; /* delivered body bytes not yet consumed */
    http_url next_url;  /* a redirect being drained */
    bool next_drops_body;
    const char *next_method;
};

static http_conn *pool;
static http_fetch *waiting;
static uint32_t wake_timer;
static http_pool_config config = {6, 30000, 30000};
static http_pool_stats stats;

void http_pool_config_default(http_pool_config *c)
{
    c->max_connections_per_origin = 6;
    c->idle_timeout_ms = 30000;
    c->connect_timeout_ms = 30000;
}

void http_pool_configure(const http_pool_config *c)
{
    config = *c;
    if (config.max_connections_per_origin == 0) config.max_connections_per_origin = 1;
}

const char *http_fetch_error_text(int error)
{
    switch (error) {
    case 0: return "no error";
    case HTTP_FETCH_ERR_INVALID_URL: return "invalid URL";
    case HTTP_FETCH_ERR_UNSUPPORTED_URL: return "unsupported URL (scheme, credentials or IPv6 host)";
    case HTTP_FETCH_ERR_INVALID_REQUEST: return "invalid request (method, header or body)";
    case HTTP_FETCH_ERR_TOO_MANY_REDIRECTS: return "too many redirects";
    case HTTP_FETCH_ERR_REDIRECT: return "redirect with redirect mode \"error\"";
    case HTTP_FETCH_ERR_BAD_LOCATION: return "redirect to an invalid or refused location";
    case HTTP_FETCH_ERR_BODY_NOT_REPLAYABLE: return "redirect would resend a streamed body";
    case HTTP_FETCH_ERR_PROTOCOL: return "malformed HTTP response";
    case HTTP_FETCH_ERR_TRUNCATED: return "connection closed before the response ended";
    case HTTP_FETCH_ERR_TIMEOUT: return "request timed out";
    case HTTP_FETCH_ERR_BODY_LENGTH: return "request body length differs from the announced one";
    case HTTP_FETCH_ERR_NO_MEMORY: return "out of memory";
    default: break;
    }
    if (error <= -200 && error > -300) return dns_error_text(error);
    return stream_error_text(error);
}

static bool equals_ignore_case(const char *a, size_t a_len, const char *b)
{
    if (a_len != strlen(b)) return false;
    for (size_t i = 0; i < a_len; i++) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] + 32) : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? (char)(b[i] + 32) : b[i];
        if (x != y) return false;
    }
    return true;
}

/* ---- connections ---- */

static bool conn_is_origin(const http_conn *c, const http_url *url)
{
    return c->https == url->https && c->port == url->port && strcmp(c->host, url->host) == 0;
}

static void schedule_wake(void);

static void conn_free(http_conn *c, bool abort)
{
    for (http_conn **p = &pool; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    platform_timer_cancel(c->idle_timer);
    if (abort)
        stream_abort(c->s);
    else
        stream_close(c->s);
    free(c->in);
    free(c);
    schedule_wake(); /* a slot of its origin is free */
}

/* Drops n bytes from the front of the received ones, giving back what
 * was held against the window once below the high-water mark. */
static void conn_drop(http_conn *c, size_t n)
{
    if (n == 0) return;
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
    if (c->owed > 0 && c->in_len <= RECEIVE_HIGH_WATER && !c->dead) {
        stream_consumed(c->s, c->owed);
        c->owed = 0;
    }
}

static void conn_idle_expired(void *ctx)
{
    http_conn *c = ctx;
    c->idle_timer = 0;
    conn_free(c, false);
}

static void conn_make_idle(http_conn *c)
{
    c->fetch = NULL;
    c->idle_timer = platform_timer_start(config.idle_timeout_ms, conn_idle_expired, c);
    if (c->idle_timer == 0) {
        conn_free(c, false);
        return;
    }
    schedule_wake(); /* a waiting fetch of its origin can have it */
}

/* ---- fetch life ---- */

static void fetch_destroy(http_fetch *f);

static void fetch_enter(http_fetch *f)
{
    f->depth++;
}

static void fetch_leave(http_fetch *f)
{
    if (--f->depth == 0 && f->closed) fetch_destroy(f);
}

static void waiting_remove(http_fetch *f)
{
    if (!f->waiting) return;
    for (http_fetch **p = &waiting; *p; p = &(*p)->next_waiting)
        if (*p == f) {
            *p = f->next_waiting;
            break;
        }
    f->waiting = false;
}

static void waiting_add(http_fetch *f)
{
    http_fetch **p = &waiting;
    while (*p) p = &(*p)->next_waiting;
    f->next_waiting = NULL;
    *p = f;
    f->waiting = true;
}

/* Detaches the connection: back to the pool when it can carry another
 * request, else closed (aborted when abort). */
static void fetch_release_conn(http_fetch *f, bool reusable, bool abort)
{
    http_conn *c = f->conn;
    if (!c) return;
    f->conn = NULL;
    c->fetch = NULL;
    if (reusable && !abort && !c->ended && !c->dead && c->in_len == 0)
        conn_make_idle(c);
    else
        conn_free(c, abort);
}

/* The end: no more callbacks after on_complete. */
static void fetch_fail(http_fetch *f, int error)
{
    if (f->complete) return;
    f->complete = true;
    platform_timer_cancel(f->timeout_timer);
    f->timeout_timer = 0;
    if (f->lookup) dns_cancel(f->lookup);
    f->lookup = NULL;
    waiting_remove(f);
    fetch_release_conn(f, false, true);
    f->events.on_complete(f->ctx, error, NULL, 0);
}

static void dispatch(http_fetch *f);

/* The exchange on a connection failed. A request that went on a reused
 * connection and got nothing back met a connection the server had closed
 * meanwhile: it goes again on a new one when that is safe. */
static void exchange_failed(http_fetch *f, int error)
{
    bool replayable = !f->has_body || !f->body_written;
    if (f->reused && !f->response_started && !f->retried && http_method_idempotent(f->method) && replayable) {
        f->retried = true;
        stats.retries++;
        fetch_release_conn(f, false, true);
        dispatch(f);
        return;
    }
    fetch_fail(f, error);
}

/* ---- sending ---- */

/* The request's framing header, as the body is now. */
static int build_head(http_fetch *f)
{
    http_request_body_kind kind = HTTP_REQUEST_BODY_NONE;
    uint64_t length = 0;
    if (f->has_body && f->body_written) {
        kind = f->written_length == HTTP_BODY_LENGTH_UNKNOWN ? HTTP_REQUEST_BODY_CHUNKED : HTTP_REQUEST_BODY_LENGTH;
        length = f->written_length;
    } else if (f->has_body) {
        kind = HTTP_REQUEST_BODY_LENGTH;
        length = f->body_len;
    } else if (strcmp(f->method, "POST") == 0 || strcmp(f->method, "PUT") == 0) {
        kind = HTTP_REQUEST_BODY_LENGTH; /* Fetch: Content-Length: 0 for a bodiless POST or PUT */
    }
    free(f->head);
    f->head = malloc(MAX_HEAD_LEN);
    if (!f->head) return HTTP_FETCH_ERR_NO_MEMORY;
    int len = http_request_head_build(f->head, MAX_HEAD_LEN, f->method, &f->url, f->headers, f->header_count, kind,
                                      length);
    if (len < 0) return HTTP_FETCH_ERR_INVALID_REQUEST;
    char *fitted = realloc(f->head, (size_t)len); /* a fetch keeps its head while it lasts */
    if (fitted) f->head = fitted;
    f->head_len = (size_t)len;
    f->head_sent = 0;
    f->body_sent = 0;
    return 0;
}

/* Writes a part; false when the stream took less (on_writable follows)
 * or failed (on_closed follows). */
static bool write_part(http_fetch *f, const uint8_t *data, size_t len, size_t *sent)
{
    while (*sent < len) {
        int n = stream_write(f->conn->s, data + *sent, len - *sent);
        if (n <= 0) return false;
        *sent += (size_t)n;
    }
    return true;
}

/* Sends what is ready of the request. may_callback: called from the event
 * loop, so on_body_writable may run. */
static void send_pump(http_fetch *f, bool may_callback)
{
    if (!f->conn || f->request_sent || f->complete) return;
    if (!write_part(f, (const uint8_t *)f->head, f->head_len, &f->head_sent)) return;
    if (f->has_body && !f->body_written) {
        if (!write_part(f, f->body, f->body_len, &f->body_sent)) return;
        f->request_sent = true;
        return;
    }
    if (!f->has_body) {
        f->request_sent = true;
        return;
    }
    size_t sent = 0;
    write_part(f, f->queue, f->queue_len, &sent);
    memmove(f->queue, f->queue + sent, f->queue_len - sent);
    f->queue_len -= sent;
    if (f->queue_len == 0 && f->written_ended) f->request_sent = true;
    if (may_callback && f->want_writable && f->queue_len < WRITE_QUEUE_CAP / 2 && f->events.on_body_writable) {
        f->want_writable = false;
        f->events.on_body_writable(f->ctx);
    }
}

/* ---- receiving ---- */

static void finish_exchange(http_fetch *f, const http_header *trailers, size_t trailer_count, size_t drop);

/* A redirect's head: where to go next, or why not. Gives 0 to follow. */
static int plan_redirect(http_fetch *f, const http_header *location)
{
    if (f->redirect == HTTP_REDIRECT_ERROR) return HTTP_FETCH_ERR_REDIRECT;
    if (f->redirects >= f->max_redirects) return HTTP_FETCH_ERR_TOO_MANY_REDIRECTS;
    int err = http_url_resolve(&f->next_url, &f->url, location->value, location->value_len);
    if (err == HTTP_FETCH_ERR_NO_MEMORY) return err;
    if (err) return HTTP_FETCH_ERR_BAD_LOCATION;
    if (f->url.https && !f->next_url.https && f->refuse_https_downgrade) {
        http_url_free(&f->next_url);
        return HTTP_FETCH_ERR_BAD_LOCATION;
    }
    f->next_method = http_redirect_method(f->reader.head.status, f->method, &f->next_drops_body);
    if (f->has_body && !f->next_drops_body && f->body_written) {
        http_url_free(&f->next_url);
        return HTTP_FETCH_ERR_BODY_NOT_REPLAYABLE;
    }
    return 0;
}

/* The final head of this hop. Gives false when the fetch is over or closed. */
static bool handle_head(http_fetch *f)
{
    const http_head *head = &f->reader.head;
    const http_header *location = http_header_find(head, "Location");
    if (http_status_is_redirect(head->status) && location && f->redirect != HTTP_REDIRECT_MANUAL) {
        int err = plan_redirect(f, location);
        if (err) {
            fetch_fail(f, err);
            return false;
        }
        f->discarding = true;
        return true;
    }
    http_response res = {
        .status = head->status,
        .reason = head->reason,
        .reason_len = head->reason_len,
        .headers = head->headers,
        .header_count = head->header_count,
        .url = f->url.href,
        .redirected = f->redirects > 0,
        .null_body = http_status_null_body(head->status) || strcmp(f->method, "HEAD") == 0,
        .connection_reused = f->reused,
    };
    f->discarding = res.null_body; /* a 205's bytes, if any */
    f->events.on_response(f->ctx, &res);
    return !f->closed;
}

/* Reads what was received, as far as the consumer lets it. */
static void receive_pump(http_fetch *f)
{
    http_conn *c = f->conn;
    while (c && f->conn == c && !f->complete && !f->closed) {
        if (!f->discarding && f->outstanding >= HTTP_BODY_WINDOW) return;
        size_t used;
        const char *data;
        size_t data_len;
        bool last;
        http_step step = http_response_reader_step(&f->reader, c->in, c->in_len, &used, &data, &data_len, &last);
        if (step == HTTP_STEP_MORE) {
            conn_drop(c, used);
            if (!c->ended) return;
            step = http_response_reader_eof(&f->reader);
            if (step == HTTP_STEP_END) {
                finish_exchange(f, NULL, 0, 0);
            } else if (f->response_started || c->in_len > 0) {
                fetch_fail(f, HTTP_FETCH_ERR_TRUNCATED);
            } else {
                exchange_failed(f, HTTP_FETCH_ERR_TRUNCATED);
            }
            return;
        }
        switch (step) {
        case HTTP_STEP_HEAD:
            f->response_started = true;
            if (!handle_head(f)) return;
            conn_drop(c, used);
            break;
        case HTTP_STEP_BODY:
            if (!f->discarding) {
                f->outstanding += data_len;
                f->events.on_body(f->ctx, (const uint8_t *)data, data_len);
                if (f->closed) return;
            }
            if (last) {
                size_t count;
                const http_header *trailers = http_response_reader_trailers(&f->reader, &count);
                finish_exchange(f, trailers, count, used);
                return;
            }
            conn_drop(c, used);
            break;
        case HTTP_STEP_END: {
            size_t count;
            const http_header *trailers = http_response_reader_trailers(&f->reader, &count);
            finish_exchange(f, trailers, count, used);
            return;
        }
        default:
            f->response_started = true;
            fetch_fail(f, HTTP_FETCH_ERR_PROTOCOL);
            return;
        }
    }
}

/* Moves to the redirect's target: method, body and headers as the Fetch
 * standard says, then a connection for it. */
static void follow_redirect(http_fetch *f)
{
    bool cross_origin = !http_url_same_origin(&f->url, &f->next_url);
    http_url_free(&f->url);
    f->url = f->next_url;
    memset(&f->next_url, 0, sizeof f->next_url);
    if (f->next_method != f->method) snprintf(f->method, sizeof f->method, "%s", f->next_method);
    size_t kept = 0;
    for (size_t i = 0; i < f->header_count; i++)
        if (http_redirect_keeps_header(f->headers[i].name, f->headers[i].name_len, f->next_drops_body, cross_origin))
            f->headers[kept++] = f->headers[i];
    f->header_count = kept;
    if (f->next_drops_body && f->has_body) {
        f->has_body = false;
        free(f->body);
        f->body = NULL;
        f->body_len = 0;
        free(f->queue);
        f->queue = NULL;
        f->queue_len = 0;
        f->written_dropped = f->body_written;
    }
    f->redirects++;
    dispatch(f);
}

/* The response of this hop ended; drop: its last bytes, still holding
 * the trailers. */
static void finish_exchange(http_fetch *f, const http_header *trailers, size_t trailer_count, size_t drop)
{
    http_conn *c = f->conn;
    bool reusable = http_response_reader_keeps_alive(&f->reader) && f->request_sent && !f->close_requested;
    if (f->discarding && f->next_url.href) {
        conn_drop(c, drop);
        fetch_release_conn(f, reusable, false);
        follow_redirect(f);
        return;
    }
    f->complete = true;
    platform_timer_cancel(f->timeout_timer);
    f->timeout_timer = 0;
    f->events.on_complete(f->ctx, 0, trailers, trailer_count);
    /* the conn stays attached through the callback, even if it closed f */
    conn_drop(c, drop);
    fetch_release_conn(f, reusable, false);
}

/* ---- connection events ---- */

static void conn_connected(void *ctx)
{
    (void)ctx; /* the request was queued on the stream already */
}

static void conn_data(void *ctx, const uint8_t *data, size_t len)
{
    http_conn *c = ctx;
    if (!c->fetch) {
        conn_free(c, true); /* nothing is expected on an idle connection */
        return;
    }
    if (c->in_cap - c->in_len < len) {
        size_t cap = c->in_cap ? c->in_cap : 16384;
        while (cap - c->in_len < len) cap *= 2;
        char *grown = realloc(c->in, cap);
        if (!grown) {
            http_fetch *f = c->fetch;
            fetch_enter(f);
            fetch_fail(f, HTTP_FETCH_ERR_NO_MEMORY);
            fetch_leave(f);
            return;
        }
        c->in = grown;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, data, len);
    c->in_len += len;
    if (c->in_len <= RECEIVE_HIGH_WATER)
        stream_consumed(c->s, len);
    else
        c->owed += len;
    http_fetch *f = c->fetch;
    fetch_enter(f);
    receive_pump(f);
    fetch_leave(f);
}

static void conn_end(void *ctx)
{
    http_conn *c = ctx;
    c->ended = true;
    http_fetch *f = c->fetch;
    if (!f) {
        conn_free(c, false);
        return;
    }
    fetch_enter(f);
    receive_pump(f);
    fetch_leave(f);
}

static void conn_closed(void *ctx, int error)
{
    http_conn *c = ctx;
    c->dead = true;
    http_fetch *f = c->fetch;
    if (!f) {
        conn_free(c, false);
        return;
    }
    fetch_enter(f);
    /* a TLS peer that closes without close_notify ends a body delimited by
     * the close, as browsers take it; the reader still refuses a shorter
     * Content-Length or an unfinished chunked body */
    if (error == 0 || error == TLS_ERR_TRUNCATED) {
        /* what was received is still read, as the consumer takes it */
        c->ended = true;
        receive_pump(f);
    } else if (!f->complete && !f->closed) {
        exchange_failed(f, error);
    }
    fetch_leave(f);
}

static void conn_writable(void *ctx)
{
    http_conn *c = ctx;
    http_fetch *f = c->fetch;
    if (!f) return;
    fetch_enter(f);
    send_pump(f, true);
    fetch_leave(f);
}

static const stream_events CONN_EVENTS = {
    .on_connected = conn_connected,
    .on_data = conn_data,
    .on_closed = conn_closed,
    .on_end = conn_end,
    .on_writable = conn_writable,
};

/* ---- getting a connection ---- */

static void attach(http_fetch *f, http_conn *c, bool reused)
{
    c->fetch = f;
    f->conn = c;
    platform_timer_cancel(c->idle_timer);
    c->idle_timer = 0;
    f->reused = reused;
    if (reused) stats.requests_on_reused++;
    f->request_sent = false;
    f->response_started = false;
    f->discarding = false;
    http_response_reader_init(&f->reader, f->method);
    int err = build_head(f);
    if (err) {
        fetch_fail(f, err);
        return;
    }
    send_pump(f, true);
}

static void connect_to(http_fetch *f, net_ipv4 address)
{
    http_conn *c = calloc(1, sizeof *c);
    if (!c) {
        fetch_fail(f, HTTP_FETCH_ERR_NO_MEMORY);
        return;
    }
    c->https = f->url.https;
    c->port = f->url.port;
    memcpy(c->host, f->url.host, sizeof c->host);
    stream_options options = {
        .tls = f->url.https, .server_name = c->host, .connect_timeout_ms = config.connect_timeout_ms};
    int error = NET_ERR_NO_BUFFERS;
    c->s = stream_connect(address, f->url.port, &options, &CONN_EVENTS, c, &error);
    if (!c->s) {
        free(c);
        fetch_fail(f, error);
        return;
    }
    c->next = pool;
    pool = c;
    stats.connections_opened++;
    attach(f, c, false);
}

static void resolved(void *ctx, int error, const dns_address *addresses, size_t count)
{
    http_fetch *f = ctx;
    f->lookup = NULL;
    fetch_enter(f);
    waiting_remove(f);
    const dns_address *v4 = NULL;
    for (size_t i = 0; i < count && !v4; i++)
        if (addresses[i].family == 4) v4 = &addresses[i];
    if (error) {
        fetch_fail(f, error);
    } else if (!v4) {
        fetch_fail(f, DNS_ERR_NO_ADDRESS);
    } else {
        net_ipv4 address;
        memcpy(address.octets, v4->octets, 4);
        connect_to(f, address);
    }
    fetch_leave(f);
}

/* Connections of an origin, open or being made (lookups included). */
static size_t origin_load(const http_url *url)
{
    size_t n = 0;
    for (http_conn *c = pool; c; c = c->next) n += conn_is_origin(c, url);
    for (http_fetch *f = waiting; f; f = f->next_waiting) n += f->lookup && http_url_same_origin(&f->url, url);
    return n;
}

/* Finds this fetch a connection: an idle one of its origin, a new one if
 * the origin has a free slot, else a place in the waiting list. */
static void dispatch(http_fetch *f)
{
    for (http_conn *c = pool; c; c = c->next)
        if (!c->fetch && !c->dead && !c->ended && conn_is_origin(c, &f->url)) {
            attach(f, c, true);
            return;
        }
    if (origin_load(&f->url) >= config.max_connections_per_origin) {
        waiting_add(f);
        return;
    }
    if (f->url.host_is_ipv4) {
        connect_to(f, f->url.ipv4);
        return;
    }
    int error = DNS_ERR_NO_MEMORY;
    waiting_add(f); /* counted against its origin while resolving */
    f->lookup = dns_resolve(f->url.host, DNS_WANT_A, resolved, f, &error);
    if (!f->lookup) {
        waiting_remove(f);
        fetch_fail(f, error);
    }
}

/* Gives waiting fetches the slots and idle connections that freed up. */
static void wake(void *ctx)
{
    (void)ctx;
    wake_timer = 0;
    bool progress = true;
    while (progress) {
        progress = false;
        for (http_fetch *f = waiting; f; f = f->next_waiting) {
            if (f->lookup) continue;
            bool idle = false;
            for (http_conn *c = pool; c && !idle; c = c->next)
                idle = !c->fetch && !c->dead && !c->ended && conn_is_origin(c, &f->url);
            if (!idle && origin_load(&f->url) >= config.max_connections_per_origin) continue;
            waiting_remove(f);
            fetch_enter(f);
            dispatch(f);
            fetch_leave(f);
            progress = true; /* the list changed: scan again */
            break;
        }
    }
}

static void schedule_wake(void)
{
    if (!waiting || wake_timer) return;
    wake_timer = platform_timer_start(0, wake, NULL);
}

/* ---- the fetch interface ---- */

static void started(void *ctx)
{
    http_fetch *f = ctx;
    f->start_timer = 0;
    fetch_enter(f);
    dispatch(f);
    fetch_leave(f);
}

static void timed_out(void *ctx)
{
    http_fetch *f = ctx;
    f->timeout_timer = 0;
    fetch_enter(f);
    fetch_fail(f, HTTP_FETCH_ERR_TIMEOUT);
    fetch_leave(f);
}

static void pumped(void *ctx)
{
    http_fetch *f = ctx;
    f->pump_timer = 0;
    fetch_enter(f);
    if (f->pending_error)
        fetch_fail(f, f->pending_error);
    else if (f->conn)
        receive_pump(f);
    fetch_leave(f);
}

static void schedule_pump(http_fetch *f)
{
    if (!f->pump_timer && !f->complete) f->pump_timer = platform_timer_start(0, pumped, f);
}

static int copy_headers(http_fetch *f, const http_header *headers, size_t count)
{
    if (count > HTTP_MAX_REQUEST_HEADERS) return HTTP_FETCH_ERR_INVALID_REQUEST;
    size_t text_len = 0;
    for (size_t i = 0; i < count; i++) text_len += headers[i].name_len + headers[i].value_len;
    f->headers = calloc(count ? count : 1, sizeof *f->headers);
    f->header_text = malloc(text_len ? text_len : 1);
    if (!f->headers || !f->header_text) return HTTP_FETCH_ERR_NO_MEMORY;
    char *p = f->header_text;
    for (size_t i = 0; i < count; i++) {
        const http_header *h = &headers[i];
        memcpy(p, h->name, h->name_len);
        f->headers[i].name = p;
        f->headers[i].name_len = h->name_len;
        p += h->name_len;
        memcpy(p, h->value, h->value_len);
        f->headers[i].value = p;
        f->headers[i].value_len = h->value_len;
        p += h->value_len;
        if (equals_ignore_case(h->name, h->name_len, "Connection")) {
            size_t cursor = 0, item_len;
            const char *item;
            while (http_list_next(h->value, h->value_len, &cursor, &item, &item_len))
                f->close_requested |= equals_ignore_case(item, item_len, "close");
        }
    }
    f->header_count = count;
    return 0;
}

static void fetch_destroy(http_fetch *f)
{
    platform_timer_cancel(f->start_timer);
    platform_timer_cancel(f->timeout_timer);
    platform_timer_cancel(f->pump_timer);
    if (f->lookup) dns_cancel(f->lookup);
    waiting_remove(f);
    /* an exchange still under way cannot be finished: its connection goes */
    fetch_release_conn(f, false, true);
    http_url_free(&f->url);
    http_url_free(&f->next_url);
    free(f->headers);
    free(f->header_text);
    free(f->body);
    free(f->queue);
    free(f->head);
    free(f);
}

http_fetch *http_fetch_start(const http_fetch_options *o, const http_fetch_events *events, void *ctx, int *error)
{
    int err = HTTP_FETCH_ERR_NO_MEMORY;
    http_fetch *f = calloc(1, sizeof *f);
    if (!f) goto fail_alloc;
    f->events = *events;
    f->ctx = ctx;
    f->redirect = o->redirect;
    f->max_redirects = o->max_redirects ? o->max_redirects : HTTP_DEFAULT_MAX_REDIRECTS;
    f->refuse_https_downgrade = o->refuse_https_downgrade;
    err = http_method_normalize(f->method, sizeof f->method, o->method ? o->method : "GET");
    if (err) goto fail;
    err = http_url_parse(&f->url, o->url, strlen(o->url));
    if (err) goto fail;
    err = copy_headers(f, o->headers, o->header_count);
    if (err) goto fail;
    /* the head must be writable (names tokens, values without controls) */
    err = build_head(f);
    if (err) goto fail;
    f->body_written = o->body_written;
    f->has_body = o->body_written || o->body != NULL;
    if (f->has_body && (strcmp(f->method, "GET") == 0 || strcmp(f->method, "HEAD") == 0)) {
        err = HTTP_FETCH_ERR_INVALID_REQUEST;
        goto fail;
    }
    err = HTTP_FETCH_ERR_NO_MEMORY;
    if (o->body_written) {
        f->written_length = o->body_written_length;
        f->queue = malloc(WRITE_QUEUE_CAP);
        if (!f->queue) goto fail;
    } else if (o->body) {
        f->body = malloc(o->body_len ? o->body_len : 1);
        if (!f->body) goto fail;
        memcpy(f->body, o->body, o->body_len);
        f->body_len = o->body_len;
    }
    f->start_timer = platform_timer_start(0, started, f);
    if (!f->start_timer) goto fail;
    if (o->timeout_ms) {
        f->timeout_timer = platform_timer_start(o->timeout_ms, timed_out, f);
        if (!f->timeout_timer) goto fail;
    }
    return f;
fail:
    fetch_destroy(f);
fail_alloc:
    if (error) *error = err;
    return NULL;
}

int http_fetch_body_write(http_fetch *f, const uint8_t *data, size_t len)
{
    if (!f->body_written || f->written_ended || f->complete) return HTTP_FETCH_ERR_INVALID_REQUEST;
    if (f->written_dropped) return NET_ERR_CLOSED;
    bool chunked = f->written_length == HTTP_BODY_LENGTH_UNKNOWN;
    if (!chunked && len > f->written_length - f->written_total) return HTTP_FETCH_ERR_BODY_LENGTH;
    size_t room = WRITE_QUEUE_CAP - f->queue_len;
    /* a chunk's framing, and the last chunk, always fit after it */
    size_t reserve = chunked ? CHUNK_FRAMING + sizeof LAST_CHUNK : 0;
    size_t n = room > reserve ? room - reserve : 0;
    if (n > len) n = len;
    if (n > 0 && chunked) {
        int framing = snprintf((char *)f->queue + f->queue_len, CHUNK_FRAMING, "%zx\r\n", n);
        f->queue_len += (size_t)framing;
    }
    memcpy(f->queue + f->queue_len, data, n);
    f->queue_len += n;
    if (n > 0 && chunked) {
        memcpy(f->queue + f->queue_len, "\r\n", 2);
        f->queue_len += 2;
    }
    f->written_total += n;
    if (n < len) f->want_writable = true;
    send_pump(f, false);
    return (int)(n > INT32_MAX ? INT32_MAX : n);
}

int http_fetch_body_end(http_fetch *f)
{
    if (!f->body_written || f->written_ended || f->complete) return HTTP_FETCH_ERR_INVALID_REQUEST;
    f->written_ended = true;
    if (f->written_dropped) return 0;
    if (f->written_length == HTTP_BODY_LENGTH_UNKNOWN) {
        memcpy(f->queue + f->queue_len, LAST_CHUNK, sizeof LAST_CHUNK - 1);
        f->queue_len += sizeof LAST_CHUNK - 1;
    } else if (f->written_total != f->written_length) {
        f->pending_error = HTTP_FETCH_ERR_BODY_LENGTH;
        schedule_pump(f);
        return HTTP_FETCH_ERR_BODY_LENGTH;
    }
    send_pump(f, false);
    return 0;
}

int http_fetch_body_consumed(http_fetch *f, size_t len)
{
    if (len > f->outstanding) len = f->outstanding;
    bool was_full = f->outstanding >= HTTP_BODY_WINDOW;
    f->outstanding -= len;
    if (was_full && f->outstanding < HTTP_BODY_WINDOW) schedule_pump(f);
    return 0;
}

void http_fetch_close(http_fetch *f)
{
    if (f->depth > 0) {
        f->closed = true;
        return;
    }
    fetch_destroy(f);
}

void http_pool_close_idle(void)
{
    http_conn *c = pool;
    while (c) {
        http_conn *next = c->next;
        if (!c->fetch) conn_free(c, false);
        c = next;
    }
}

void http_pool_stats_get(http_pool_stats *out)
{
    *out = stats;
    out->open_connections = out->idle_connections = 0;
    for (http_conn *c = pool; c; c = c->next) {
        out->open_connections++;
        out->idle_connections += c->fetch == NULL;
    }
}
