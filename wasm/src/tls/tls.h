/* The tls layer: a byte stream to a server through the tunnel's TCP, in
 * the clear (http, ws) or inside TLS 1.2 (https, wss), so the HTTP and
 * WebSocket clients run the same code over either.
 *
 * TLS is BearSSL's client: TLS 1.2 only, ECDHE key exchange with AEAD
 * suites only (AES-GCM, ChaCha20-Poly1305), SNI for host names (not for IP
 * literals), ALPN "http/1.1", the chain checked against the Mozilla roots
 * compiled into the program plus the extra anchors given at setup, and the
 * host checked against the leaf's names (DNS names with the one-label
 * wildcard rule, IP addresses against iPAddress entries). Sessions are
 * resumed per origin (server name and port) for as long as the process
 * lives; nothing of them is stored.
 *
 * Callbacks follow net.h's rules: they run only from the event loop,
 * never inside a stream call, and may call any stream function, closing
 * the stream they are about included. */
#ifndef MIX_TLS_H
#define MIX_TLS_H

#include "net/net.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors of this layer; a stream's on_closed gives these or a net_error. */
typedef enum {
    TLS_ERR_UNTRUSTED = -100,     /* the chain leads to no trusted anchor: self-signed, unknown CA */
    TLS_ERR_EXPIRED = -101,       /* a certificate of the chain is expired or not yet valid */
    TLS_ERR_NAME_MISMATCH = -102, /* the certificate does not name the host */
    TLS_ERR_HANDSHAKE = -103,     /* no common version or suite, a bad message or alert in the handshake */
    TLS_ERR_PROTOCOL = -104,      /* a bad record or a fatal alert after the handshake */
    TLS_ERR_TRUNCATED = -105,     /* the peer closed TCP without close_notify */
    TLS_ERR_NO_MEMORY = -106,
} tls_error;

/* A short English description of a tls_error or a net_error. */
const char *stream_error_text(int error);

/* Adds trust anchors (the extraTrustAnchors setup option) to the compiled-in
 * roots, for every later handshake. Gives how many certificates were
 * added, or -1, adding none, when the PEM holds a malformed certificate. */
int tls_add_trust_anchors_pem(const char *pem, size_t len);
/* Drops the extra anchors and every session kept for resumption. */
void tls_reset(void);
/* How many roots are compiled in (for tests and the bench). */
size_t tls_builtin_anchor_count(void);

typedef struct {
    bool tls;                 /* false: the bytes go over TCP as they are */
    /* The host as the URL names it: a DNS name (for SNI, the name check
     * and the session cache) or an IPv4 literal. Required with tls. */
    const char *server_name;
    uint32_t connect_timeout_ms; /* TCP and TLS handshakes together; 0: none beyond TCP's own */
} stream_options;

typedef struct stream stream;

typedef struct {
    /* required */
    void (*on_connected)(void *ctx); /* the handshake is done: write away */
    /* Received bytes (decrypted), valid during the call only. Up to a
     * window of them may be outstanding: reading stops until the owner
     * gives them back with stream_consumed. */
    void (*on_data)(void *ctx, const uint8_t *data, size_t len);
    /* Over: error is 0 after an orderly close both ways, else a tls_error
     * or net_error. The handle must still be released with stream_close
     * or stream_abort. Nothing follows. */
    void (*on_closed)(void *ctx, int error);
    /* optional (NULL) */
    /* The peer finished sending: close_notify, or FIN in the clear. A FIN
     * without close_notify is on_closed(TLS_ERR_TRUNCATED) instead, which
     * ends a body delimited by the close as a browser would. */
    void (*on_end)(void *ctx);
    void (*on_writable)(void *ctx); /* room again after a write that took less than offered */
} stream_events;

/* Connects to address:port; on_connected or on_closed follows. Gives NULL
 * with *error set (when error is not NULL) if it cannot even start. The
 * options and events are copied. */
stream *stream_connect(net_ipv4 address, uint16_t port, const stream_options *options,
                       const stream_events *events, void *ctx, int *error);
/* Queues up to len bytes (copied) and gives how many it took, fewer when
 * the buffers are full (on_writable follows), or a negative error when
 * the stream is closed or shut down. Bytes written before on_connected
 * wait for the handshake. */
int stream_write(stream *s, const uint8_t *data, size_t len);
/* The owner is done with len more received bytes. */
int stream_consumed(stream *s, size_t len);
/* Ends our sending (close_notify, or FIN in the clear) after the queued
 * bytes; receiving goes on. */
int stream_shutdown_write(stream *s);
/* Whether the handshake resumed an earlier session (false in the clear). */
bool stream_resumed(const stream *s);
/* Releases the handle: an orderly close (queued bytes, close_notify, FIN)
 * that finishes on its own. No callback follows. Exactly once. */
void stream_close(stream *s);
/* Releases the handle with a TCP reset. No callback follows. Instead of
 * stream_close, exactly once. */
void stream_abort(stream *s);

/* Whether a DER certificate lists ip among its subjectAltName iPAddress
 * entries (checked for servers reached by an IPv4 literal). */
bool tls_certificate_names_ipv4(const uint8_t *der, size_t len, const uint8_t ip[4]);

#endif
