/* The http layer: an HTTP/1.1 client with the browser's fetch semantics,
 * for mixFetch, over the tls layer's streams (http and https) and the dns
 * layer's lookups.
 *
 * What it does, as the Fetch standard and browsers do:
 *  - any method; the six standard ones are upper-cased whatever their case
 *    (CONNECT, TRACE and TRACK are refused); a body with GET or HEAD is
 *    refused;
 *  - request bodies as bytes (copied, so redirects and retries can send
 *    them again) or written by the caller as they come, with back-pressure:
 *    with a known length they go out with Content-Length, else chunked. A
 *    written body cannot be sent twice: a redirect that must resend it
 *    (307, 308, 301/302 for methods other than POST) fails, as in browsers;
 *  - the headers of the published mix-fetch's shim (User-Agent, Accept,
 *    Accept-Language, Accept-Encoding: identity) unless the caller set them;
 *    Host and Connection: keep-alive first unless the caller set them.
 *    Content-Length and Transfer-Encoding are always this layer's own (a
 *    caller's are dropped, since a wrong one would desynchronise the
 *    connection);
 *  - responses framed by Content-Length, chunked (trailers kept) or the end
 *    of the connection; 1xx answers skipped; no body for HEAD, 204 and 304
 *    (205's, if any, is read and dropped); every header as received, in
 *    order, repeats included (Set-Cookie);
 *  - redirects followed, returned (manual) or failing (error), at most
 *    max_redirects; 301/302 turn POST into GET, 303 turns every method but
 *    GET and HEAD into GET, dropping the body and its Content-* headers;
 *    307/308 keep both. Location is resolved against the current URL (RFC
 *    3986 section 5). A hop to another origin drops Authorization, Cookie,
 *    Proxy-Authorization and a caller's Host. https to http is allowed, as
 *    in browsers, unless refuse_https_downgrade;
 *  - the final URL and whether a redirect happened, for res.url and
 *    res.redirected;
 *  - the body handed over as it arrives, with back-pressure down to TCP's
 *    window; a timeout for the whole exchange, and abort at any time.
 *
 * Connections are pooled per origin (scheme, host, port): up to
 * max_connections_per_origin at once, the extra requests waiting their
 * turn; an idle one is reused and closed after idle_timeout_ms. A request
 * that fails on a reused connection before any byte of its answer came
 * (the server closed it meanwhile) is sent again once on a new connection
 * when that is safe: idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE,
 * TRACE) with no body or a bytes body.
 *
 * One client per process, like the layers below it. Callbacks run only
 * from the event loop, never inside a call of this layer, and may call any
 * function of it, closing the fetch they are about included. */
#ifndef MIX_HTTP_H
#define MIX_HTTP_H

#include "codec/codec.h"
#include "dns/dns.h"
#include "net/net.h"
#include "tls/tls.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors of this layer; a fetch's on_complete gives these, or a dns_error,
 * tls_error or net_error from below. */
typedef enum {
    HTTP_FETCH_ERR_INVALID_URL = -300,        /* not an absolute http(s) URL this parser accepts */
    HTTP_FETCH_ERR_UNSUPPORTED_URL = -301,    /* another scheme, credentials in the URL, an IPv6 literal */
    HTTP_FETCH_ERR_INVALID_REQUEST = -302,    /* a bad or forbidden method or header, a body with GET or HEAD */
    HTTP_FETCH_ERR_TOO_MANY_REDIRECTS = -303,
    HTTP_FETCH_ERR_REDIRECT = -304,           /* redirect mode "error" met a redirect */
    HTTP_FETCH_ERR_BAD_LOCATION = -305,       /* a Location that is invalid, not http(s), or a refused downgrade */
    HTTP_FETCH_ERR_BODY_NOT_REPLAYABLE = -306, /* a redirect would resend a written body */
    HTTP_FETCH_ERR_PROTOCOL = -307,           /* a malformed or oversized response */
    HTTP_FETCH_ERR_TRUNCATED = -308,          /* the connection ended before the response did */
    HTTP_FETCH_ERR_TIMEOUT = -309,
    HTTP_FETCH_ERR_BODY_LENGTH = -310,        /* a written body longer or shorter than announced */
    HTTP_FETCH_ERR_NO_MEMORY = -311,
} http_fetch_error;

/* A short English description of any error a fetch can give. */
const char *http_fetch_error_text(int error);

/* ---- URLs ---- */

/* An absolute http or https URL, normalised: scheme and host lower-case,
 * the default port left out, an empty path made "/", dot segments
 * removed, the fragment dropped. */
typedef struct {
    char *href;        /* heap: scheme://host[:port]/path[?query] */
    const char *target; /* into href: the path and query, the request target */
    bool https;
    char host[DNS_MAX_NAME_LEN + 1];
    bool host_is_ipv4; /* a dotted-decimal literal, in ipv4 */
    net_ipv4 ipv4;
    uint16_t port;     /* given or the scheme's default */
} http_url;

/* Parses an absolute URL (the browser glue passes ones WHATWG URL already
 * normalised, so this accepts only that form): http or https (any case),
 * "//", a host of letters, digits, '-', '_' and '.', or a dotted-decimal
 * IPv4 literal, an optional port 1-65535, then path and query of visible
 * ASCII. Gives 0, or HTTP_FETCH_ERR_INVALID_URL or _UNSUPPORTED_URL. */
int http_url_parse(http_url *url, const char *text, size_t len);
/* Resolves a reference (a Location value) against base (RFC 3986 section
 * 5.2): absolute, "//host...", "/path", "path", "?query" or "" (the
 * fragment dropped). Spaces and non-ASCII bytes get percent-encoded, as
 * browsers do; other control characters are refused. */
int http_url_resolve(http_url *url, const http_url *base, const char *ref, size_t len);
void http_url_free(http_url *url);
/* Same scheme, host and port. */
bool http_url_same_origin(const http_url *a, const http_url *b);

/* ---- requests, as the client builds them (exposed for tests) ---- */

/* Checks a method and writes it normalised into out (NUL-terminated):
 * DELETE, GET, HEAD, OPTIONS, POST and PUT upper-cased, others as given.
 * Gives HTTP_FETCH_ERR_INVALID_REQUEST for a non-token or a forbidden one
 * (CONNECT, TRACE, TRACK), or when it does not fit. */
int http_method_normalize(char *out, size_t cap, const char *method);
/* GET, HEAD, OPTIONS, PUT, DELETE, TRACE: safe to send again. */
bool http_method_idempotent(const char *method);

#define HTTP_MAX_REQUEST_HEADERS 256 /* from the caller */

/* How a request body is framed. */
typedef enum {
    HTTP_REQUEST_BODY_NONE,
    HTTP_REQUEST_BODY_LENGTH,  /* Content-Length: length */
    HTTP_REQUEST_BODY_CHUNKED, /* Transfer-Encoding: chunked */
} http_request_body_kind;

/* Writes the request head for method (normalised) and url: the request
 * line; Host (the caller's if given); Connection: keep-alive unless the
 * caller gave one; the shim's User-Agent, Accept, Accept-Language and
 * Accept-Encoding unless the caller gave them; the caller's headers in
 * order, less Host, Content-Length and Transfer-Encoding; then the body's
 * framing header. Gives the length, or -1 when a name or value is invalid,
 * there are more than HTTP_MAX_REQUEST_HEADERS, or it does not fit. */
int http_request_head_build(char *out, size_t cap, const char *method, const http_url *url,
                            const http_header *headers, size_t count, http_request_body_kind body,
                            uint64_t body_length);

/* Whether a status is a redirect (301, 302, 303, 307, 308). */
bool http_status_is_redirect(int status);
/* The method of the request after a redirect with status (Fetch standard,
 * HTTP-redirect fetch step 12), and whether the body is dropped with it. */
const char *http_redirect_method(int status, const char *method, bool *drop_body);
/* Whether a request header goes on a redirect: not the Content-* headers
 * of a dropped body, not credentials or Host to another origin. */
bool http_redirect_keeps_header(const char *name, size_t name_len, bool body_dropped, bool cross_origin);
/* 101, 103, 204, 205, 304: the Response has a null body. */
bool http_status_null_body(int status);

/* ---- responses, as the client reads them (exposed for the fuzz target) ---- */

#define HTTP_MAX_RESPONSE_HEADERS 256
#define HTTP_MAX_TRAILERS 64

typedef enum {
    HTTP_STEP_MORE,  /* every byte given is used: give more, or http_response_reader_eof */
    HTTP_STEP_HEAD,  /* a final head (1xx ones are skipped) in reader->head */
    HTTP_STEP_BODY,  /* body bytes in data; last: the body ends with them */
    HTTP_STEP_END,   /* the body ended (with no more bytes) */
    HTTP_STEP_ERROR, /* malformed: reader->failure says how */
} http_step;

typedef struct {
    char method[32];
    int state;
    http_head head;
    http_header headers[HTTP_MAX_RESPONSE_HEADERS];
    http_body framing;
    uint64_t length_left;
    http_chunked chunked;
    http_header trailer_headers[HTTP_MAX_TRAILERS];
    http_result failure;
    bool keep_alive;
} http_response_reader;

/* Prepares to read the response to a request with method. */
void http_response_reader_init(http_response_reader *r, const char *method);
/* Reads from buf, the received bytes not consumed yet (the same bytes again
 * and more after HTTP_STEP_MORE: a head is parsed incrementally). Sets
 * *consumed, the bytes done with. A head, body bytes (decoded in place, so
 * buf is written to) and trailers point into buf[0, *consumed), valid
 * until those bytes are dropped. */
http_step http_response_reader_step(http_response_reader *r, char *buf, size_t len, size_t *consumed,
                                     const char **data, size_t *data_len, bool *last);
/* The connection ended: HTTP_STEP_END for a body that ends so (or a body
 * that had already ended), else HTTP_STEP_ERROR. */
http_step http_response_reader_eof(http_response_reader *r);
/* The trailer fields after a chunked body, valid as the body's bytes. */
const http_header *http_response_reader_trailers(const http_response_reader *r, size_t *count);
/* Whether the connection can carry another request after this response:
 * HTTP/1.1 without Connection: close, or HTTP/1.0 with keep-alive, and a
 * body not delimited by the end of the connection. */
bool http_response_reader_keeps_alive(const http_response_reader *r);

/* ---- fetching ---- */

typedef enum {
    HTTP_REDIRECT_FOLLOW,
    HTTP_REDIRECT_MANUAL, /* the 3xx response is the answer */
    HTTP_REDIRECT_ERROR,  /* a redirect fails the fetch */
} http_redirect_mode;

#define HTTP_DEFAULT_MAX_REDIRECTS 20 /* the Fetch standard's */
#define HTTP_BODY_LENGTH_UNKNOWN UINT64_MAX

typedef struct {
    const char *method;  /* NULL: GET */
    const char *url;     /* absolute, NUL-terminated */
    const http_header *headers; /* copied */
    size_t header_count;
    /* the body: bytes (copied), or written by the caller */
    const uint8_t *body;
    size_t body_len;
    bool body_written;          /* http_fetch_body_write and _end give it */
    uint64_t body_written_length; /* announced, or HTTP_BODY_LENGTH_UNKNOWN: chunked */
    http_redirect_mode redirect;
    uint32_t max_redirects;     /* 0: HTTP_DEFAULT_MAX_REDIRECTS */
    uint32_t timeout_ms;        /* start to the end of the body; 0: none */
    bool refuse_https_downgrade;
} http_fetch_options;

typedef struct {
    int status;
    const char *reason;
    size_t reason_len;
    const http_header *headers; /* as received, in order, repeats kept */
    size_t header_count;
    const char *url;            /* the final URL, after redirects */
    bool redirected;
    bool null_body;             /* HEAD or a null body status: no on_body follows */
    bool connection_reused;     /* the request went on a pooled connection */
} http_response;

typedef struct http_fetch http_fetch;

typedef struct {
    /* required */
    /* The final response head, valid during the call only. */
    void (*on_response)(void *ctx, const http_response *response);
    /* Body bytes, valid during the call only. More follow only while fewer
     * than HTTP_BODY_WINDOW delivered bytes wait for http_fetch_body_consumed. */
    void (*on_body)(void *ctx, const uint8_t *data, size_t len);
    /* Over: error 0 after the whole body (with the trailers of a chunked
     * one, valid during the call), else why it failed, before or after
     * on_response. Nothing follows. */
    void (*on_complete)(void *ctx, int error, const http_header *trailers, size_t trailer_count);
    /* optional (NULL) */
    /* Room again for a written body after http_fetch_body_write took less
     * than offered. */
    void (*on_body_writable)(void *ctx);
} http_fetch_events;

#define HTTP_BODY_WINDOW (256u * 1024u)

/* Starts a fetch; the options and events are copied. Gives NULL with
 * *error set (when error is not NULL) for an invalid URL or request, or
 * no memory; every later failure comes as on_complete. */
http_fetch *http_fetch_start(const http_fetch_options *options, const http_fetch_events *events, void *ctx,
                             int *error);
/* Queues body bytes of a written body (copied); gives how many it took,
 * fewer when its buffer is full (on_body_writable follows), or a negative
 * error when the fetch is over, the body was dropped by a redirect, or it
 * goes beyond the announced length. */
int http_fetch_body_write(http_fetch *f, const uint8_t *data, size_t len);
/* The written body is complete. */
int http_fetch_body_end(http_fetch *f);
/* The caller is done with len more body bytes. */
int http_fetch_body_consumed(http_fetch *f, size_t len);
/* Releases the fetch, aborting it (and its connection) if not complete.
 * No callback follows. Exactly once. */
void http_fetch_close(http_fetch *f);

/* ---- the connection pool ---- */

typedef struct {
    size_t max_connections_per_origin; /* 6, as browsers */
    uint32_t idle_timeout_ms;           /* an idle connection is closed after this */
    uint32_t connect_timeout_ms;        /* TCP and TLS handshakes */
} http_pool_config;

void http_pool_config_default(http_pool_config *c);
void http_pool_configure(const http_pool_config *c);
/* Closes every idle connection (for a reconnected tunnel and tests). */
void http_pool_close_idle(void);

typedef struct {
    uint64_t connections_opened;
    uint64_t requests_on_reused; /* requests that went on a pooled connection */
    uint64_t retries;            /* requests sent again after a stale connection */
    size_t open_connections;
    size_t idle_connections;
} http_pool_stats;

void http_pool_stats_get(http_pool_stats *out);

#endif
