/* The native platform's byte streams, under its WebSocket and fetch: URL
 * parsing, a non-blocking TCP connection on the event loop, and TLS 1.2
 * through BearSSL. Internal to platform/posix. */
#ifndef MIX_PLATFORM_POSIX_NET_H
#define MIX_PLATFORM_POSIX_NET_H

#include <bearssl_ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_HOST_MAX 253    /* the longest DNS name */
#define NET_TARGET_MAX 4096 /* path and query */

typedef enum {
    NET_URL_WEBSOCKET, /* ws:// and wss:// */
    NET_URL_HTTP,      /* http:// and https:// */
} net_url_kind;

typedef struct {
    bool tls;
    uint16_t port;
    char host[NET_HOST_MAX + 1];
    char authority[NET_HOST_MAX + 7]; /* host, and :port when not the default: for Host */
    char target[NET_TARGET_MAX + 1];  /* path and query, "/" when empty */
} net_url;

/* scheme://host[:port][/path][?query]. The host is a DNS name or an IPv4
 * literal (no IPv6, no user info); a fragment is dropped for http and
 * refused for ws (RFC 6455 section 3). Fails on anything else, and on
 * characters a request line cannot carry. */
bool net_url_parse(net_url *url, const char *text, net_url_kind kind);

/* ---- TLS ---- */

typedef struct net_tls net_tls;

/* A client engine for server_name, ready to send its ClientHello:
 * TLS 1.2, ECDHE with AEAD suites only, SNI, chain and host name checked
 * against the current trust anchors at the current time. NULL with error
 * set when it cannot be made. */
net_tls *net_tls_new(const char *server_name, char *error, size_t error_cap);
br_ssl_engine_context *net_tls_engine(net_tls *tls);
void net_tls_free(net_tls *tls);
/* What a BearSSL error code means, for error texts. */
void net_tls_describe_error(char *out, size_t cap, int err);

/* ---- connections ---- */

typedef enum {
    NET_CONN_CONNECTED, /* TCP up, and the TLS handshake done */
    NET_CONN_INPUT,     /* bytes were added to the input */
    NET_CONN_CLOSED,    /* the peer ended the stream (see closed_cleanly) */
    NET_CONN_FAILED,    /* see error */
} net_conn_event;

/* Called from the event loop. Gives false when the owner released itself
 * (the connection with it) meanwhile, so the connection touches nothing
 * more. After CLOSED or FAILED the socket is closed. */
typedef bool (*net_conn_handler)(void *owner, net_conn_event event);

typedef enum {
    NET_CONN_IDLE,
    NET_CONN_CONNECTING,
    NET_CONN_HANDSHAKING,
    NET_CONN_OPEN,
    NET_CONN_ENDED,
} net_conn_state;

/* Large enough for any response head the owners accept, and for a whole
 * TLS record's plaintext. */
#define NET_CONN_INPUT_CAP 32768

typedef struct {
    int fd;
    net_conn_state state;
    net_tls *tls;
    net_conn_handler handler;
    void *owner;
    bool closed_cleanly; /* the stream ended with a TCP FIN, or TLS close_notify over TLS */
    uint8_t input[NET_CONN_INPUT_CAP];
    size_t input_start, input_end;
    uint8_t *output;
    size_t output_start, output_end, output_cap;
    char error[NET_HOST_MAX + 96]; /* room for a host name in a message */
} net_conn;

void net_conn_init(net_conn *conn, net_conn_handler handler, void *owner);
/* Resolves the host and starts connecting (and the TLS handshake when
 * url->tls); events follow from the loop. False, with conn->error set,
 * when it fails at once. */
bool net_conn_start(net_conn *conn, const net_url *url);

/* Received bytes not consumed yet. */
const uint8_t *net_conn_input(const net_conn *conn, size_t *len);
void net_conn_consume(net_conn *conn, size_t len);

/* Room for len more bytes of output, or NULL when out of memory; the
 * bytes written there go out after net_conn_commit. */
uint8_t *net_conn_output_space(net_conn *conn, size_t len);
void net_conn_commit(net_conn *conn, size_t len);
/* Output not yet handed to the socket or the TLS engine. */
size_t net_conn_pending(const net_conn *conn);

/* Sends what can go without waiting (ending TLS with close_notify),
 * closes the socket and frees the buffers. Safe in every state, twice too. */
void net_conn_release(net_conn *conn);

#endif
