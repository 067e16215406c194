/* The native platform's HTTP GET (for the directory): HTTP/1.1 with
 * Connection: close over a platform connection, on the codec's head
 * parser, body framing and chunked decoder. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "codec/codec.h"
#include "platform/platform.h"
#include "platform/posix/net.h"

#include <stdlib.h>
#include <string.h>

#define FETCH_RESPONSE_HEADERS 64
#define FETCH_TRAILERS 16
/* the request: the target, the host, Accept and the field names */
#define FETCH_REQUEST_OVERHEAD (NET_TARGET_MAX + NET_HOST_MAX + 128)

typedef enum {
    FETCH_STARTING, /* the connection starts from the loop */
    FETCH_CONNECTING,
    FETCH_HEAD,
    FETCH_BODY,
} fetch_phase;

typedef struct fetch_request {
    struct fetch_request *next;
    uint32_t id;
    fetch_phase phase;
    net_conn conn;
    net_url url;
    bool url_usable;
    char *accept;
    platform_fetch_callback callback;
    void *ctx;
    size_t max_body;
    uint32_t start_timer, timeout_timer;
    http_head head;
    http_header headers[FETCH_RESPONSE_HEADERS];
    int status;
    http_body framing;
    http_chunked chunked;
    http_header trailers[FETCH_TRAILERS];
    uint8_t *body;
    size_t body_len, body_cap;
} fetch_request;

static fetch_request *fetches; /* the requests in flight */
static uint32_t last_fetch_id;

static void fetch_free(fetch_request *req)
{
    if (req->start_timer) platform_timer_cancel(req->start_timer);
    if (req->timeout_timer) platform_timer_cancel(req->timeout_timer);
    net_conn_release(&req->conn);
    free(req->accept);
    free(req->body);
    free(req);
}

static fetch_request *fetch_unlink(uint32_t id)
{
    for (fetch_request **link = &fetches; *link; link = &(*link)->next) {
        fetch_request *req = *link;
        if (req->id == id) {
            *link = req->next;
            return req;
        }
    }
    return NULL;
}

/* Calls back once and frees the request. Unlinked first, so a cancel from
 * inside the callback finds nothing. Gives false, for the connection's
 * handler: the request is gone. */
static bool fetch_finish(fetch_request *req, const char *error)
{
    (void)fetch_unlink(req->id);
    if (error)
        req->callback(req->ctx, 0, NULL, 0, error);
    else
        req->callback(req->ctx, req->status, req->body ? req->body : (const uint8_t *)"", req->body_len, NULL);
    fetch_free(req);
    return false;
}

static bool fetch_reserve(fetch_request *req, size_t needed)
{
    if (needed <= req->body_cap) return true;
    size_t cap = req->body_cap ? req->body_cap : 16384;
    while (cap < needed && cap <= SIZE_MAX / 2) cap *= 2;
    if (cap < needed) cap = needed;
    uint8_t *grown = realloc(req->body, cap);
    if (!grown) return false;
    req->body = grown;
    req->body_cap = cap;
    return true;
}

static bool fetch_send_request(fetch_request *req)
{
    const char *accept = req->accept ? req->accept : "*/*";
    http_header fields[2] = {
        {"Accept", 6, accept, strlen(accept)},
        {"Connection", 10, "close", 5},
    };
    size_t cap = FETCH_REQUEST_OVERHEAD + fields[0].value_len;
    char *out = (char *)net_conn_output_space(&req->conn, cap);
    int len = out ? http_request_head_write(out, cap, "GET", req->url.target, req->url.authority, fields, 2) : -1;
    if (len < 0) return fetch_finish(req, "the request could not be written (Accept not valid in a header?)");
    net_conn_commit(&req->conn, (size_t)len);
    http_head_init(&req->head, req->headers, FETCH_RESPONSE_HEADERS);
    req->head.max_head_len = NET_CONN_INPUT_CAP;
    req->phase = FETCH_HEAD;
    return true;
}

static bool fetch_begin_body(fetch_request *req)
{
    req->status = req->head.status;
    if (http_response_body_framing(&req->head, "GET", &req->framing) != HTTP_OK)
        return fetch_finish(req, "malformed response: body length");
    net_conn_consume(&req->conn, req->head.head_len);
    req->phase = FETCH_BODY;
    switch (req->framing.kind) {
    case HTTP_BODY_NONE:
        return fetch_finish(req, NULL);
    case HTTP_BODY_LENGTH:
        if (req->framing.length > req->max_body) return fetch_finish(req, "body larger than max_body");
        if (req->framing.length == 0) return fetch_finish(req, NULL);
        return fetch_reserve(req, (size_t)req->framing.length) || fetch_finish(req, "out of memory");
    case HTTP_BODY_CHUNKED:
        /* no chunk may be larger than the whole body may be */
        http_chunked_init(&req->chunked, req->max_body, req->trailers, FETCH_TRAILERS);
        /* the trailers wait whole in the input: they must fit it */
        req->chunked.trailers.max_head_len = NET_CONN_INPUT_CAP;
        return true;
    case HTTP_BODY_UNTIL_CLOSE:
        return true;
    }
    return true;
}

static bool fetch_read_chunked(fetch_request *req, const uint8_t *in, size_t len)
{
    /* the decoded body is never longer than its input; one byte over
     * max_body is room enough to notice a body that is too large */
    size_t room = req->max_body - req->body_len;
    size_t out_cap = len <= room ? len : room + 1;
    if (!fetch_reserve(req, req->body_len + out_cap)) return fetch_finish(req, "out of memory");
    size_t consumed, written;
    http_result r = http_chunked_decode(&req->chunked, (const char *)in, len, &consumed,
                                        (char *)req->body + req->body_len, out_cap, &written);
    req->body_len += written;
    net_conn_consume(&req->conn, consumed);
    if (req->body_len > req->max_body || r == HTTP_ERR_CHUNK_TOO_LARGE)
        return fetch_finish(req, "body larger than max_body");
    if (r == HTTP_OK) return fetch_finish(req, NULL);
    if (r != HTTP_INCOMPLETE) return fetch_finish(req, "malformed response: chunked body");
    return true;
}

/* Takes what it can of the input; gives false when the request finished. */
static bool fetch_read_body(fetch_request *req, const uint8_t *in, size_t len)
{
    switch (req->framing.kind) {
    case HTTP_BODY_LENGTH: {
        size_t left = (size_t)req->framing.length - req->body_len;
        size_t n = len < left ? len : left;
        memcpy(req->body + req->body_len, in, n);
        req->body_len += n;
        net_conn_consume(&req->conn, len); /* bytes past the body are not ours */
        return req->body_len < req->framing.length || fetch_finish(req, NULL);
    }
    case HTTP_BODY_UNTIL_CLOSE:
        if (len > req->max_body - req->body_len) return fetch_finish(req, "body larger than max_body");
        if (!fetch_reserve(req, req->body_len + len)) return fetch_finish(req, "out of memory");
        memcpy(req->body + req->body_len, in, len);
        req->body_len += len;
        net_conn_consume(&req->conn, len);
        return true;
    case HTTP_BODY_CHUNKED:
        return fetch_read_chunked(req, in, len);
    case HTTP_BODY_NONE:
        break;
    }
    return true;
}

static bool fetch_read(fetch_request *req)
{
    for (;;) {
        size_t len;
        const uint8_t *in = net_conn_input(&req->conn, &len);
        if (req->phase == FETCH_HEAD) {
            http_result r = http_response_head_parse(&req->head, (const char *)in, len);
            if (r == HTTP_INCOMPLETE) return true;
            if (r != HTTP_OK) return fetch_finish(req, "malformed response head");
            if (req->head.status >= 200) {
                if (!fetch_begin_body(req)) return false;
                continue;
            }
            /* an interim response (1xx): the real one follows */
            net_conn_consume(&req->conn, req->head.head_len);
            http_head_init(&req->head, req->headers, FETCH_RESPONSE_HEADERS);
            req->head.max_head_len = NET_CONN_INPUT_CAP;
            continue;
        }
        if (len == 0) return true;
        if (!fetch_read_body(req, in, len)) return false;
        size_t left;
        (void)net_conn_input(&req->conn, &left);
        if (left == len) return true; /* the decoder waits for more */
    }
}

static bool fetch_on_conn(void *owner, net_conn_event event)
{
    fetch_request *req = owner;
    switch (event) {
    case NET_CONN_CONNECTED:
        return fetch_send_request(req);
    case NET_CONN_INPUT:
        return fetch_read(req);
    case NET_CONN_CLOSED:
        if (req->phase != FETCH_BODY || req->framing.kind != HTTP_BODY_UNTIL_CLOSE)
            return fetch_finish(req, "connection closed before the response ended");
        /* over TLS only close_notify proves that the body is whole */
        return fetch_finish(req, req->conn.closed_cleanly ? NULL : "TLS stream cut without close_notify");
    case NET_CONN_FAILED:
        return fetch_finish(req, req->conn.error);
    }
    return true;
}

static void fetch_start(void *ctx)
{
    fetch_request *req = ctx;
    req->start_timer = 0;
    if (!req->url_usable) {
        (void)fetch_finish(req, "unusable URL");
        return;
    }
    req->phase = FETCH_CONNECTING;
    if (!net_conn_start(&req->conn, &req->url)) (void)fetch_finish(req, req->conn.error);
}

static void fetch_timed_out(void *ctx)
{
    fetch_request *req = ctx;
    req->timeout_timer = 0;
    (void)fetch_finish(req, "timeout");
}

uint32_t platform_fetch(const char *url, const char *accept, uint32_t timeout_ms, size_t max_body,
                        platform_fetch_callback callback, void *ctx)
{
    fetch_request *req = calloc(1, sizeof *req);
    if (!req) return 0;
    net_conn_init(&req->conn, fetch_on_conn, req);
    req->url_usable = net_url_parse(&req->url, url, NET_URL_HTTP);
    req->callback = callback;
    req->ctx = ctx;
    req->max_body = max_body;
    /* every failure, an unusable URL too, is reported from the loop */
    req->start_timer = platform_timer_start(0, fetch_start, req);
    if (timeout_ms) req->timeout_timer = platform_timer_start(timeout_ms, fetch_timed_out, req);
    if ((accept && !(req->accept = strdup(accept))) || !req->start_timer || (timeout_ms && !req->timeout_timer)) {
        fetch_free(req);
        return 0;
    }
    if (++last_fetch_id == 0) last_fetch_id = 1;
    req->id = last_fetch_id;
    req->next = fetches;
    fetches = req;
    return req->id;
}

void platform_fetch_cancel(uint32_t id)
{
    fetch_request *req = fetch_unlink(id);
    if (req) fetch_free(req);
}
