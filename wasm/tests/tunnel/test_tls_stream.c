/* The tls layer's streams through the native tunnel to localnet's servers:
 * in the clear and in TLS, by name and by IP literal, resumption, and the
 * four certificates a client must refuse, each with its error kind. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "localnet_child.h"
#include "platform/platform.h"
#include "tls/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NGINX_IP {{192, 0, 2, 10}}
#define HTTPS_PORT 443

typedef struct {
    stream *s;
    char request[256];
    char response[4096];
    size_t len;
    bool connected, resumed, ended, closed, done; /* done: ended or closed */
    int error;
    uint64_t started_ms, connected_ms;
} exchange;

static void on_connected(void *ctx)
{
    exchange *x = ctx;
    x->connected = true;
    x->connected_ms = platform_monotonic_ms();
    x->resumed = stream_resumed(x->s);
    stream_write(x->s, (const uint8_t *)x->request, strlen(x->request));
}

static void on_data(void *ctx, const uint8_t *data, size_t len)
{
    exchange *x = ctx;
    size_t room = sizeof x->response - 1 - x->len;
    memcpy(x->response + x->len, data, len < room ? len : room);
    x->len += len < room ? len : room;
    x->response[x->len] = '\0';
    stream_consumed(x->s, len);
}

static void on_end(void *ctx)
{
    exchange *x = ctx;
    x->ended = x->done = true;
}

static void on_closed(void *ctx, int error)
{
    exchange *x = ctx;
    x->closed = x->done = true;
    x->error = error;
}

static const stream_events EVENTS = {
    .on_connected = on_connected, .on_data = on_data, .on_closed = on_closed, .on_end = on_end};

/* GET /small.txt (Connection: close) from address:port, in TLS when
 * server_name is given; runs until the stream closes. */
static void fetch_small_within(exchange *x, net_ipv4 address, uint16_t port, const char *server_name,
                               uint32_t timeout_ms)
{
    memset(x, 0, sizeof *x);
    snprintf(x->request, sizeof x->request, "GET /small.txt HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
             server_name ? server_name : "nginx.mixnet.test");
    stream_options o = {.tls = server_name != NULL, .server_name = server_name, .connect_timeout_ms = timeout_ms};
    x->started_ms = platform_monotonic_ms();
    x->s = stream_connect(address, port, &o, &EVENTS, x, &x->error);
    if (!x->s) {
        x->closed = x->done = true;
        return;
    }
    run_until(&x->done, 60000);
    stream_close(x->s);
}

static void fetch_small(exchange *x, net_ipv4 address, uint16_t port, const char *server_name)
{
    fetch_small_within(x, address, port, server_name, 30000);
}

static bool got_small(const exchange *x)
{
    return strncmp(x->response, "HTTP/1.1 200", 12) == 0 && strstr(x->response, "\r\n\r\nhello from the localnet nginx\n");
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = malloc(65536);
    *len = text ? fread(text, 1, 65536, f) : 0;
    fclose(f);
    return text;
}

void test_tls_stream(void)
{
    tunnel_fixture f;
    if (!CHECK(tunnel_fixture_start(&f, "tls-stream"))) goto out;
    exchange x;

    /* in the clear: the bytes as they are, the server's FIN as on_end */
    fetch_small(&x, (net_ipv4)NGINX_IP, 80, NULL);
    CHECK(got_small(&x));
    CHECK(x.ended && x.error == 0);

    /* the compiled-in Mozilla roots alone do not trust the test CA */
    CHECK(tls_builtin_anchor_count() > 100);
    fetch_small(&x, (net_ipv4)NGINX_IP, HTTPS_PORT, "nginx.mixnet.test");
    CHECK(!x.connected && x.error == TLS_ERR_UNTRUSTED);

    size_t pem_len;
    char *pem = read_text(f.ln.test_ca_pem, &pem_len);
    CHECK(pem && tls_add_trust_anchors_pem(pem, pem_len) == 1);
    free(pem);

    /* a full handshake, then a resumed one; the peer ends with close_notify */
    fetch_small(&x, (net_ipv4)NGINX_IP, HTTPS_PORT, "nginx.mixnet.test");
    CHECK(got_small(&x));
    CHECK(x.ended && x.error == 0 && !x.resumed);
    uint64_t full_ms = x.connected_ms - x.started_ms;
    fetch_small(&x, (net_ipv4)NGINX_IP, HTTPS_PORT, "nginx.mixnet.test");
    CHECK(got_small(&x) && x.resumed);
    printf("TLS handshake through the tunnel: %llu ms in full, %llu ms resumed\n", (unsigned long long)full_ms,
           (unsigned long long)(x.connected_ms - x.started_ms));

    /* an IP literal is checked against the certificate's iPAddress names */
    fetch_small(&x, (net_ipv4)NGINX_IP, HTTPS_PORT, "192.0.2.10");
    CHECK(got_small(&x));

    /* the certificates to refuse, each for its own reason */
    static const struct {
        net_ipv4 address;
        const char *name;
        int error;
    } BAD[] = {
        {{{203, 0, 113, 10}}, "expired.mixnet.test", TLS_ERR_EXPIRED},
        {{{203, 0, 113, 11}}, "wrong-host.mixnet.test", TLS_ERR_NAME_MISMATCH},
        {{{203, 0, 113, 12}}, "self-signed.mixnet.test", TLS_ERR_UNTRUSTED},
        {{{203, 0, 113, 13}}, "unknown-ca.mixnet.test", TLS_ERR_UNTRUSTED},
        /* by address: the expired server's certificate lists its IP, the wrong-host one none */
        {{{203, 0, 113, 11}}, "203.0.113.11", TLS_ERR_NAME_MISMATCH},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        fetch_small(&x, BAD[i].address, HTTPS_PORT, BAD[i].name);
        if (!CHECK(!x.connected && x.error == BAD[i].error))
            fprintf(stderr, "%s: error %d (%s), expected %d\n", BAD[i].name, x.error, stream_error_text(x.error),
                    BAD[i].error);
    }
    /* nothing listening: the connect timeout bounds it */
    fetch_small_within(&x, (net_ipv4){{198, 51, 100, 99}}, HTTPS_PORT, "nobody.mixnet.test", 5000);
    CHECK(!x.connected && x.error == NET_ERR_TIMEOUT);
out:
    tls_reset();
    tunnel_fixture_stop(&f);
}
