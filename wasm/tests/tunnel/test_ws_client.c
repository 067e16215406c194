/* The ws layer through the native tunnel to localnet's echo server (the
 * npm `ws` package): by name over DNS, the subprotocol chosen, text and a
 * 1 MB binary message echoed with fragments both ways, ping and pong, both
 * closing handshakes with their codes and reasons, wss with localnet's test
 * CA, and the failures a page sees as error then close 1006. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "dns/dns.h"
#include "localnet_child.h"
#include "platform/platform.h"
#include "tls/tls.h"
#include "ws/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_HOST "ws.mixnet.test"
#define BIG_MESSAGE (1024u * 1024)

typedef struct {
    ws *w;
    bool opened, closed;
    int opens, messages, closes, errors, pongs;
    char protocol[32];
    bool binary;
    uint8_t *message;
    size_t message_len;
    uint16_t code;
    char reason[128];
    bool was_clean;
    char error[256];
} client;

static void on_open(void *ctx, const char *protocol)
{
    client *c = ctx;
    c->opened = true;
    c->opens++;
    snprintf(c->protocol, sizeof c->protocol, "%s", protocol);
}

static void on_message(void *ctx, bool binary, const uint8_t *data, size_t len)
{
    client *c = ctx;
    c->messages++;
    c->binary = binary;
    free(c->message);
    c->message = malloc(len ? len : 1);
    memcpy(c->message, data, len);
    c->message_len = len;
}

static void on_close(void *ctx, uint16_t code, const char *reason, bool was_clean)
{
    client *c = ctx;
    c->closed = true;
    c->closes++;
    c->code = code;
    snprintf(c->reason, sizeof c->reason, "%s", reason);
    c->was_clean = was_clean;
}

static void on_error(void *ctx, const char *message)
{
    client *c = ctx;
    c->errors++;
    snprintf(c->error, sizeof c->error, "%s", message);
}

static void on_pong(void *ctx, const uint8_t *data, size_t len)
{
    client *c = ctx;
    (void)data;
    (void)len;
    c->pongs++;
}

static const ws_events EVENTS = {on_open, on_message, on_close, on_error, on_pong, NULL};

/* Connects and waits for open or close. */
static bool open_client(client *c, const ws_options *o)
{
    memset(c, 0, sizeof *c);
    c->w = ws_connect(o, &EVENTS, c, NULL);
    if (!c->w) return false;
    for (uint64_t end = platform_monotonic_ms() + 60000; !c->opened && !c->closed && platform_monotonic_ms() < end;)
        platform_run_once(50);
    if (c->closed) fprintf(stderr, "ws %s:%u: %s (close %u)\n", o->host, o->port, c->error, c->code);
    return c->opened && !c->closed;
}

static bool next_message(client *c, uint64_t timeout_ms)
{
    int before = c->messages;
    for (uint64_t end = platform_monotonic_ms() + timeout_ms;
         c->messages == before && !c->closed && platform_monotonic_ms() < end;)
        platform_run_once(50);
    return c->messages > before;
}

static void free_client(client *c)
{
    if (c->w) ws_release(c->w);
    free(c->message);
    c->w = NULL;
    c->message = NULL;
}

static bool send_text(client *c, const char *text)
{
    return ws_send(c->w, false, (const uint8_t *)text, strlen(text)) == WS_CALL_OK;
}

static bool echoed_text(client *c, const char *text)
{
    return send_text(c, text) && next_message(c, 30000) && !c->binary && c->message_len == strlen(text) &&
           memcmp(c->message, text, c->message_len) == 0;
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

/* Text, 1 MB of binary in fragments both ways, a ping, and our closing
 * handshake, over ws or wss. */
static void echo_session(bool tls)
{
    static const char *const protocols[] = {"chat", "echo"};
    ws_options o = {.tls = tls, .host = WS_HOST, .port = tls ? 443 : 80, .path = "/?session=1",
                    .protocols = protocols, .protocol_count = 2, .origin = "https://app.example"};
    client c;
    uint64_t started = platform_monotonic_ms();
    if (!CHECK(open_client(&c, &o))) goto out;
    printf("%s open through the tunnel: %llu ms\n", tls ? "wss" : "ws",
           (unsigned long long)(platform_monotonic_ms() - started));
    CHECK(strcmp(c.protocol, "echo") == 0 && strcmp(ws_protocol(c.w), "echo") == 0);

    CHECK(echoed_text(&c, "hello through the mixnet, \xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80"));

    /* the server fragments its echoes; a character is split across them */
    CHECK(send_text(&c, "!fragment 5000"));
    char *text = malloc(30001);
    for (size_t i = 0; i < 30000; i += 3) memcpy(text + i, "\xe2\x82\xac", 3);
    text[30000] = '\0';
    CHECK(echoed_text(&c, text));
    free(text);

    uint8_t *big = malloc(BIG_MESSAGE);
    platform_random_bytes(big, BIG_MESSAGE);
    started = platform_monotonic_ms();
    CHECK(ws_send(c.w, true, big, BIG_MESSAGE) == WS_CALL_OK);
    CHECK(ws_buffered_amount(c.w) > 0);
    while (ws_buffered_amount(c.w) > 0 && !c.closed && platform_monotonic_ms() - started < 300000)
        platform_run_once(20);
    uint64_t handed_over = platform_monotonic_ms() - started;
    bool echoed = next_message(&c, 300000) && c.binary && c.message_len == BIG_MESSAGE &&
                  memcmp(c.message, big, BIG_MESSAGE) == 0;
    CHECK(echoed);
    if (echoed)
        printf("1 MB binary echoed over %s (16 KiB fragments out, 5000-byte fragments back): all handed to TCP "
               "after %llu ms, echoed after %llu ms\n",
               tls ? "wss" : "ws", (unsigned long long)handed_over,
               (unsigned long long)(platform_monotonic_ms() - started));
    CHECK(ws_buffered_amount(c.w) == 0);
    free(big);

    CHECK(ws_ping(c.w, (const uint8_t *)"are you there", 13) == WS_CALL_OK);
    for (uint64_t end = platform_monotonic_ms() + 30000; c.pongs == 0 && platform_monotonic_ms() < end;)
        platform_run_once(50);
    CHECK(c.pongs == 1);

    /* our close: the server echoes code and reason, then ends TCP */
    CHECK(ws_close(c.w, 4001, (const uint8_t *)"done here", 9) == WS_CALL_OK);
    CHECK(ws_state(c.w) == WS_CLOSING);
    run_until(&c.closed, 30000);
    CHECK(c.closes == 1 && c.code == 4001 && strcmp(c.reason, "done here") == 0 && c.was_clean && c.errors == 0);
    CHECK(c.messages == 3);
out:
    free_client(&c);
}

void test_ws_tunnel(void)
{
    tunnel_fixture f;
    if (!CHECK(tunnel_fixture_start(&f, "ws-client"))) goto out;
    setvbuf(stdout, NULL, _IOLBF, 0);
    dns_config dc;
    dns_config_default(&dc); /* 8.8.8.8 and 1.1.1.1: localnet's dnsmasq */
    CHECK(dns_configure(&dc) == NET_OK);

    echo_session(false);

    /* the server closes first: we echo its code and it ends TCP */
    client c;
    ws_options o = {.host = "192.0.2.12", .port = 80, .path = "/"};
    if (CHECK(open_client(&c, &o))) {
        CHECK(strcmp(c.protocol, "") == 0);
        CHECK(send_text(&c, "!close 4002 server says bye"));
        run_until(&c.closed, 30000);
        CHECK(c.closes == 1 && c.code == 4002 && strcmp(c.reason, "server says bye") == 0 && c.was_clean &&
              c.errors == 0);
    }
    free_client(&c);

    /* not a WebSocket server: nginx answers its usual page */
    o = (ws_options){.host = "nginx.mixnet.test", .port = 80, .path = "/small.txt"};
    CHECK(!open_client(&c, &o));
    CHECK(c.errors == 1 && strstr(c.error, "instead of 101") && c.closes == 1 && c.code == WS_CLOSE_ABNORMAL &&
          !c.was_clean);
    free_client(&c);

    /* a name that does not exist */
    o = (ws_options){.host = "nobody.mixnet.test", .port = 80, .path = "/"};
    CHECK(!open_client(&c, &o));
    CHECK(c.errors == 1 && c.closes == 1 && c.code == WS_CLOSE_ABNORMAL);
    free_client(&c);

    /* wss: refused until the test CA is trusted */
    o = (ws_options){.tls = true, .host = WS_HOST, .port = 443, .path = "/"};
    CHECK(!open_client(&c, &o));
    CHECK(c.errors == 1 && strlen(c.error) > 0 && c.closes == 1 && c.code == WS_CLOSE_ABNORMAL);
    free_client(&c);
    size_t pem_len;
    char *pem = read_text(f.ln.test_ca_pem, &pem_len);
    CHECK(pem && tls_add_trust_anchors_pem(pem, pem_len) == 1);
    free(pem);
    echo_session(true);
out:
    tls_reset();
    tunnel_fixture_stop(&f);
}
