/* Streams over the tunnel's TCP: passed through in the clear, or through a
 * BearSSL client engine. The engine is pumped from the event loop only
 * (TCP callbacks and a zero-delay timer), so the owner's callbacks never
 * run inside a stream call. */
#include "crypto/crypto.h"
#include "platform/platform.h"
#include "tls/tls.h"
#include "tls/tls_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* decrypted bytes handed to the owner and not yet consumed */
#define RECEIVE_WINDOW (64u * 1024)
/* plaintext accepted from the owner and not yet taken by the engine */
#define SEND_BUFFER (64u * 1024)
/* the leaf certificate kept for the IP address check */
#define LEAF_MAX (32u * 1024)
#define SERVER_NAME_MAX 256
/* days from 0000-01-01 (proleptic Gregorian) to 1970-01-01, as BearSSL counts */
#define UNIX_EPOCH_DAYS 719528u

typedef struct {
    uint8_t *data;
    size_t start, len, cap;
} byte_queue;

static bool queue_append(byte_queue *q, const uint8_t *data, size_t len)
{
    if (q->start > 0 && q->start + q->len + len > q->cap) {
        memmove(q->data, q->data + q->start, q->len);
        q->start = 0;
    }
    if (q->len + len > q->cap) {
        size_t cap = q->cap ? q->cap : 4096;
        while (cap < q->len + len) cap *= 2;
        uint8_t *grown = realloc(q->data, cap);
        if (!grown) return false;
        q->data = grown;
        q->cap = cap;
    }
    memcpy(q->data + q->start + q->len, data, len);
    q->len += len;
    return true;
}

static void queue_drop(byte_queue *q, size_t len)
{
    q->start += len;
    q->len -= len;
    if (q->len == 0) q->start = 0;
}

static void queue_free(byte_queue *q)
{
    if (q->data) secure_zero(q->data, q->cap);
    free(q->data);
    *q = (byte_queue){0};
}

/* BearSSL's X.509 engine, with the check of iPAddress names added for
 * servers reached by an IPv4 literal, and a note of whether a chain came
 * (a resumed handshake has none). */
typedef struct {
    const br_x509_class *vtable; /* first: BearSSL passes &vtable as the context */
    br_x509_minimal_context minimal;
    bool check_ip;
    uint8_t ip[4];
    unsigned cert_index;
    bool chain_seen;
    uint8_t *leaf;
    size_t leaf_len, leaf_cap;
} checked_x509;

typedef enum { PHASE_CONNECTING, PHASE_OPEN, PHASE_FINISHED } stream_phase;

struct stream {
    net_tcp *tcp; /* NULL once released or aborted */
    stream_events events;
    void *ctx;
    bool tls;
    stream_phase phase;
    bool released;         /* the owner let go; freed when no handler is running */
    unsigned depth;        /* handlers of this stream running */
    bool want_writable;    /* a write took less than offered */
    bool write_shut;       /* the owner ended sending */
    bool close_sent;       /* close_notify queued in the engine */
    bool tcp_ended;        /* FIN came */
    bool resumed;
    uint32_t timeout_timer, pump_timer;
    char origin[SERVER_NAME_MAX + 8];
    /* TLS only */
    br_ssl_client_context client;
    checked_x509 x509;
    tls_anchor_set *anchors;
    unsigned char *io;     /* the engine's record buffers */
    byte_queue in;         /* TCP bytes the engine has not taken yet */
    byte_queue out;        /* plaintext the engine has not taken yet */
    size_t unconsumed;
};

/* ---- the X.509 wrapper ---- */

static checked_x509 *checked_of(const br_x509_class **ctx)
{
    return (checked_x509 *)(void *)ctx;
}

static void x509_start_chain(const br_x509_class **ctx, const char *server_name)
{
    checked_x509 *c = checked_of(ctx);
    c->chain_seen = true;
    c->cert_index = 0;
    c->leaf_len = 0;
    c->minimal.vtable->start_chain(&c->minimal.vtable, server_name);
}

static void x509_start_cert(const br_x509_class **ctx, uint32_t length)
{
    checked_x509 *c = checked_of(ctx);
    if (c->check_ip && c->cert_index == 0 && length <= LEAF_MAX) {
        uint8_t *leaf = realloc(c->leaf, length ? length : 1);
        if (leaf) {
            c->leaf = leaf;
            c->leaf_cap = length;
        }
    }
    c->minimal.vtable->start_cert(&c->minimal.vtable, length);
}

static void x509_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
    checked_x509 *c = checked_of(ctx);
    if (c->check_ip && c->cert_index == 0 && c->leaf && len <= c->leaf_cap - c->leaf_len) {
        memcpy(c->leaf + c->leaf_len, buf, len);
        c->leaf_len += len;
    }
    c->minimal.vtable->append(&c->minimal.vtable, buf, len);
}

static void x509_end_cert(const br_x509_class **ctx)
{
    checked_x509 *c = checked_of(ctx);
    c->cert_index++;
    c->minimal.vtable->end_cert(&c->minimal.vtable);
}

static unsigned x509_end_chain(const br_x509_class **ctx)
{
    checked_x509 *c = checked_of(ctx);
    unsigned err = c->minimal.vtable->end_chain(&c->minimal.vtable);
    if (err == 0 && c->check_ip &&
        (c->leaf_len != c->leaf_cap || !tls_certificate_names_ipv4(c->leaf, c->leaf_len, c->ip)))
        err = BR_ERR_X509_BAD_SERVER_NAME;
    return err;
}

static const br_x509_pkey *x509_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
    const checked_x509 *c = (const checked_x509 *)(const void *)ctx;
    return c->minimal.vtable->get_pkey(&c->minimal.vtable, usages);
}

static const br_x509_class CHECKED_X509_VTABLE = {
    sizeof(checked_x509), x509_start_chain, x509_start_cert, x509_append,
    x509_end_cert,        x509_end_chain,   x509_get_pkey,
};

/* ---- errors ---- */

const char *stream_error_text(int error)
{
    switch (error) {
    case TLS_ERR_UNTRUSTED: return "certificate not trusted";
    case TLS_ERR_EXPIRED: return "certificate expired or not yet valid";
    case TLS_ERR_NAME_MISMATCH: return "certificate does not match the host name";
    case TLS_ERR_HANDSHAKE: return "TLS handshake failed";
    case TLS_ERR_PROTOCOL: return "TLS protocol error";
    case TLS_ERR_TRUNCATED: return "connection closed without TLS close_notify";
    case TLS_ERR_NO_MEMORY: return "out of memory";
    default: return net_error_text(error);
    }
}

static int engine_error_kind(const stream *s, int err)
{
    if (err == BR_ERR_X509_EXPIRED) return TLS_ERR_EXPIRED;
    if (err == BR_ERR_X509_BAD_SERVER_NAME) return TLS_ERR_NAME_MISMATCH;
    if (err >= BR_ERR_X509_OK && err <= BR_ERR_X509_NOT_TRUSTED) return TLS_ERR_UNTRUSTED;
    return s->phase == PHASE_OPEN ? TLS_ERR_PROTOCOL : TLS_ERR_HANDSHAKE;
}

/* ---- lifecycle ---- */

static void enter(stream *s)
{
    s->depth++;
}

static void release_resources(stream *s)
{
    platform_timer_cancel(s->timeout_timer);
    platform_timer_cancel(s->pump_timer);
    s->timeout_timer = s->pump_timer = 0;
    if (s->tls) {
        tls_anchor_set_release(s->anchors);
        s->anchors = NULL;
        if (s->io) secure_zero(s->io, BR_SSL_BUFSIZE_BIDI);
        free(s->io);
        s->io = NULL;
        free(s->x509.leaf);
        s->x509.leaf = NULL;
        queue_free(&s->in);
        queue_free(&s->out);
        secure_zero(&s->client, sizeof s->client);
    }
}

/* Ends a handler: a stream its owner released meanwhile is freed here. */
static void leave(stream *s)
{
    if (--s->depth == 0 && s->released) {
        release_resources(s);
        free(s);
    }
}

/* The one on_closed. */
static void finish(stream *s, int error)
{
    if (s->phase == PHASE_FINISHED || s->released) return;
    if (error && s->tls && s->phase == PHASE_CONNECTING) tls_session_forget(s->origin);
    s->phase = PHASE_FINISHED;
    platform_timer_cancel(s->timeout_timer);
    s->timeout_timer = 0;
    s->events.on_closed(s->ctx, error);
}

static void pump(stream *s);

static void pump_timer_fired(void *ctx)
{
    stream *s = ctx;
    s->pump_timer = 0;
    enter(s);
    pump(s);
    leave(s);
}

/* Work for the engine, done from the event loop. */
static void schedule_pump(stream *s)
{
    if (!s->pump_timer && s->phase != PHASE_FINISHED) s->pump_timer = platform_timer_start(0, pump_timer_fired, s);
}

static void timeout_fired(void *ctx)
{
    stream *s = ctx;
    s->timeout_timer = 0;
    if (s->phase != PHASE_CONNECTING) return;
    enter(s);
    if (s->tcp) net_tcp_abort(s->tcp);
    s->tcp = NULL;
    finish(s, NET_ERR_TIMEOUT);
    leave(s);
}

static void became_open(stream *s)
{
    s->phase = PHASE_OPEN;
    platform_timer_cancel(s->timeout_timer);
    s->timeout_timer = 0;
    s->events.on_connected(s->ctx);
}

/* ---- the engine ---- */

/* Moves records and plaintext between the engine, TCP and the queues
 * without calling the owner. Gives false when TCP failed. */
static bool move_bytes(stream *s, bool *progress)
{
    br_ssl_engine_context *eng = &s->client.eng;
    unsigned state = br_ssl_engine_current_state(eng);
    size_t len;
    if ((state & BR_SSL_SENDREC) && s->tcp) {
        unsigned char *buf = br_ssl_engine_sendrec_buf(eng, &len);
        int n = net_tcp_write(s->tcp, buf, len);
        if (n < 0) return false;
        if (n > 0) {
            br_ssl_engine_sendrec_ack(eng, (size_t)n);
            *progress = true;
        }
    }
    if ((state & BR_SSL_SENDAPP) && s->out.len > 0) {
        unsigned char *buf = br_ssl_engine_sendapp_buf(eng, &len);
        size_t n = len < s->out.len ? len : s->out.len;
        memcpy(buf, s->out.data + s->out.start, n);
        br_ssl_engine_sendapp_ack(eng, n);
        queue_drop(&s->out, n);
        if (s->out.len == 0) br_ssl_engine_flush(eng, 0);
        *progress = true;
    }
    if ((state & BR_SSL_SENDAPP) && s->out.len == 0 && s->write_shut && !s->close_sent) {
        br_ssl_engine_close(eng);
        s->close_sent = true;
        *progress = true;
    }
    if ((state & BR_SSL_RECVREC) && s->in.len > 0) {
        unsigned char *buf = br_ssl_engine_recvrec_buf(eng, &len);
        size_t n = len < s->in.len ? len : s->in.len;
        memcpy(buf, s->in.data + s->in.start, n);
        br_ssl_engine_recvrec_ack(eng, n);
        queue_drop(&s->in, n);
        if (s->tcp) net_tcp_consumed(s->tcp, n);
        *progress = true;
    }
    return true;
}

static void engine_closed(stream *s)
{
    int err = br_ssl_engine_last_error(&s->client.eng);
    if (err != BR_ERR_OK) {
        finish(s, engine_error_kind(s, err));
        return;
    }
    /* close_notify both ways */
    if (s->events.on_end) s->events.on_end(s->ctx);
    finish(s, 0);
}

static void pump(stream *s)
{
    if (!s->tls || s->released || s->phase == PHASE_FINISHED) return;
    br_ssl_engine_context *eng = &s->client.eng;
    for (;;) {
        bool progress = false;
        if (!move_bytes(s, &progress)) {
            finish(s, NET_ERR_RESET);
            return;
        }
        unsigned state = br_ssl_engine_current_state(eng);
        if (state & BR_SSL_CLOSED) {
            engine_closed(s);
            return;
        }
        if (s->phase == PHASE_CONNECTING && (state & BR_SSL_SENDAPP)) {
            s->resumed = !s->x509.chain_seen;
            br_ssl_session_parameters params;
            br_ssl_engine_get_session_parameters(eng, &params);
            tls_session_store(s->origin, &params);
            secure_zero(&params, sizeof params);
            became_open(s);
            if (s->released || s->phase == PHASE_FINISHED) return;
            progress = true;
        }
        if ((state & BR_SSL_RECVAPP) && s->unconsumed < RECEIVE_WINDOW) {
            size_t len;
            unsigned char *buf = br_ssl_engine_recvapp_buf(eng, &len);
            s->unconsumed += len;
            s->events.on_data(s->ctx, buf, len);
            if (s->released || s->phase == PHASE_FINISHED) return;
            br_ssl_engine_recvapp_ack(eng, len);
            progress = true;
        }
        if (s->want_writable && s->out.len < SEND_BUFFER / 2 && s->phase == PHASE_OPEN) {
            s->want_writable = false;
            if (s->events.on_writable) s->events.on_writable(s->ctx);
            if (s->released || s->phase == PHASE_FINISHED) return;
            progress = true;
        }
        if (!progress) break;
    }
    if (s->tcp_ended && s->in.len == 0) finish(s, s->phase == PHASE_OPEN ? TLS_ERR_TRUNCATED : TLS_ERR_HANDSHAKE);
}

/* ---- TCP events ---- */

static void tcp_connected(void *ctx)
{
    stream *s = ctx;
    enter(s);
    if (s->tls)
        pump(s);
    else
        became_open(s);
    leave(s);
}

static void tcp_data(void *ctx, const uint8_t *data, size_t len)
{
    stream *s = ctx;
    enter(s);
    if (!s->tls) {
        s->events.on_data(s->ctx, data, len);
    } else if (!queue_append(&s->in, data, len)) {
        finish(s, TLS_ERR_NO_MEMORY);
    } else {
        pump(s);
    }
    leave(s);
}

static void tcp_end(void *ctx)
{
    stream *s = ctx;
    enter(s);
    if (!s->tls) {
        if (s->events.on_end) s->events.on_end(s->ctx);
    } else {
        s->tcp_ended = true;
        pump(s);
    }
    leave(s);
}

static void tcp_closed(void *ctx, int error)
{
    stream *s = ctx;
    enter(s);
    if (s->tls && !error) {
        s->tcp_ended = true;
        pump(s);
    }
    finish(s, error ? error : s->tls ? TLS_ERR_TRUNCATED : 0);
    leave(s);
}

static void tcp_writable(void *ctx)
{
    stream *s = ctx;
    enter(s);
    if (s->tls) {
        pump(s);
    } else if (s->events.on_writable) {
        s->events.on_writable(s->ctx);
    }
    leave(s);
}

static const net_tcp_events TCP_EVENTS = {
    .on_connected = tcp_connected,
    .on_data = tcp_data,
    .on_closed = tcp_closed,
    .on_end = tcp_end,
    .on_writable = tcp_writable,
};

/* ---- setup ---- */

static bool parse_ipv4(const char *text, uint8_t out[4])
{
    unsigned parts[4];
    char tail;
    if (sscanf(text, "%3u.%3u.%3u.%3u%c", &parts[0], &parts[1], &parts[2], &parts[3], &tail) != 4) return false;
    for (int i = 0; i < 4; i++) {
        if (parts[i] > 255) return false;
        out[i] = (uint8_t)parts[i];
    }
    return true;
}

static int engine_setup(stream *s, const char *server_name)
{
    static const uint16_t SUITES[] = {
        BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    };
    static const br_hash_class *const HASHES[] = {&br_sha1_vtable, &br_sha224_vtable, &br_sha256_vtable,
                                                  &br_sha384_vtable, &br_sha512_vtable};
    static const char *ALPN[] = {"http/1.1"};

    s->anchors = tls_anchor_set_acquire();
    s->io = malloc(BR_SSL_BUFSIZE_BIDI);
    if (!s->anchors || !s->io) return TLS_ERR_NO_MEMORY;
    size_t anchor_count;
    const br_x509_trust_anchor *anchors = tls_anchor_set_anchors(s->anchors, &anchor_count);

    br_ssl_client_context *client = &s->client;
    br_ssl_engine_context *eng = &client->eng;
    br_ssl_client_zero(client);
    br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_suites(eng, SUITES, sizeof SUITES / sizeof SUITES[0]);
    br_x509_minimal_init(&s->x509.minimal, &br_sha256_vtable, anchors, anchor_count);
    br_ssl_client_set_default_rsapub(client);
    br_ssl_engine_set_default_rsavrfy(eng);
    br_ssl_engine_set_default_ecdsa(eng);
    br_x509_minimal_set_rsa(&s->x509.minimal, br_ssl_engine_get_rsavrfy(eng));
    br_x509_minimal_set_ecdsa(&s->x509.minimal, br_ssl_engine_get_ec(eng), br_ssl_engine_get_ecdsa(eng));
    for (size_t i = 0; i < sizeof HASHES / sizeof HASHES[0]; i++) {
        int id = (int)((HASHES[i]->desc >> BR_HASHDESC_ID_OFF) & BR_HASHDESC_ID_MASK);
        br_ssl_engine_set_hash(eng, id, HASHES[i]);
        br_x509_minimal_set_hash(&s->x509.minimal, id, HASHES[i]);
    }
    uint64_t now = platform_unix_time_s();
    br_x509_minimal_set_time(&s->x509.minimal, (uint32_t)(now / 86400 + UNIX_EPOCH_DAYS), (uint32_t)(now % 86400));
    s->x509.vtable = &CHECKED_X509_VTABLE;
    br_ssl_engine_set_x509(eng, &s->x509.vtable);
    br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
    br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
    br_ssl_engine_set_default_aes_gcm(eng);
    br_ssl_engine_set_default_chapol(eng);
    br_ssl_engine_set_protocol_names(eng, ALPN, 1);
    br_ssl_engine_set_buffer(eng, s->io, BR_SSL_BUFSIZE_BIDI, 1);

    uint8_t seed[32];
    platform_random_bytes(seed, sizeof seed);
    br_ssl_engine_inject_entropy(eng, seed, sizeof seed);
    secure_zero(seed, sizeof seed);

    s->x509.check_ip = parse_ipv4(server_name, s->x509.ip);
    br_ssl_session_parameters params;
    bool resume = tls_session_find(s->origin, &params);
    if (resume) br_ssl_engine_set_session_parameters(eng, &params);
    secure_zero(&params, sizeof params);
    /* no SNI and no DNS name check for an IP literal: the wrapper checks it */
    if (!br_ssl_client_reset(client, s->x509.check_ip ? NULL : server_name, resume)) return TLS_ERR_HANDSHAKE;
    return 0;
}

stream *stream_connect(net_ipv4 address, uint16_t port, const stream_options *options,
                       const stream_events *events, void *ctx, int *error)
{
    int failure = NET_ERR_INVALID;
    stream *s = NULL;
    if (!options || !events || !events->on_connected || !events->on_data || !events->on_closed) goto fail;
    if (options->tls && (!options->server_name || !*options->server_name ||
                         strlen(options->server_name) >= SERVER_NAME_MAX))
        goto fail;
    failure = TLS_ERR_NO_MEMORY;
    s = calloc(1, sizeof *s);
    if (!s) goto fail;
    s->events = *events;
    s->ctx = ctx;
    s->tls = options->tls;
    if (s->tls) {
        snprintf(s->origin, sizeof s->origin, "%s:%u", options->server_name, (unsigned)port);
        failure = engine_setup(s, options->server_name);
        if (failure) goto fail;
    }
    if (options->connect_timeout_ms) {
        s->timeout_timer = platform_timer_start(options->connect_timeout_ms, timeout_fired, s);
        if (!s->timeout_timer) {
            failure = TLS_ERR_NO_MEMORY;
            goto fail;
        }
    }
    s->tcp = net_tcp_connect(address, port, options->connect_timeout_ms, &TCP_EVENTS, s, &failure);
    if (!s->tcp) goto fail;
    return s;
fail:
    if (s) {
        release_resources(s);
        free(s);
    }
    if (error) *error = failure;
    return NULL;
}

int stream_write(stream *s, const uint8_t *data, size_t len)
{
    if (s->released || s->phase == PHASE_FINISHED || !s->tcp) return NET_ERR_CLOSED;
    if (s->write_shut) return NET_ERR_CLOSED;
    if (!s->tls) return net_tcp_write(s->tcp, data, len);
    size_t room = s->out.len < SEND_BUFFER ? SEND_BUFFER - s->out.len : 0;
    size_t n = len < room ? len : room;
    if (n < len) s->want_writable = true;
    if (n > 0 && !queue_append(&s->out, data, n)) return TLS_ERR_NO_MEMORY;
    if (n > 0) schedule_pump(s);
    return (int)n;
}

int stream_consumed(stream *s, size_t len)
{
    if (s->released || !s->tcp) return NET_ERR_CLOSED;
    if (!s->tls) return net_tcp_consumed(s->tcp, len);
    bool was_full = s->unconsumed >= RECEIVE_WINDOW;
    s->unconsumed -= len < s->unconsumed ? len : s->unconsumed;
    if (was_full && s->unconsumed < RECEIVE_WINDOW) schedule_pump(s);
    return 0;
}

int stream_shutdown_write(stream *s)
{
    if (s->released || s->phase == PHASE_FINISHED || !s->tcp) return NET_ERR_CLOSED;
    if (!s->tls) return net_tcp_shutdown_write(s->tcp);
    s->write_shut = true;
    schedule_pump(s);
    return 0;
}

bool stream_resumed(const stream *s)
{
    return s->resumed;
}

static void release(stream *s, bool orderly)
{
    if (s->tcp) {
        if (orderly && s->tls && s->phase == PHASE_OPEN) {
            /* what the owner wrote, then close_notify, handed to TCP before its FIN */
            s->write_shut = true;
            bool progress = true;
            while (progress) {
                progress = false;
                if (!move_bytes(s, &progress)) break;
            }
        }
        if (orderly)
            net_tcp_close(s->tcp);
        else
            net_tcp_abort(s->tcp);
        s->tcp = NULL;
    }
    s->released = true;
    if (s->depth == 0) {
        release_resources(s);
        free(s);
    }
}

void stream_close(stream *s)
{
    release(s, true);
}

void stream_abort(stream *s)
{
    release(s, false);
}
