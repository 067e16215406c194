/* Traffic through the native tunnel and localnet: a 10 MB file from nginx
 * byte for byte, a DNS answer from dnsmasq, 20 connections at once, the
 * same file with faults at every mix layer, a restarted gateway, and a
 * tunnel left idle longer than the exit's idle limit. The servers' TCP is
 * Linux's, as on the internet (localnet --kernel-internet, which needs root). */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "localnet_child.h"
#include "net/net.h"
#include "platform/platform.h"
#include "tunnel/tunnel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NGINX_IP {{192, 0, 2, 10}}
#define RESOLVER_IP {{8, 8, 8, 8}}
#define PATTERN_SIZE (10u * 1024 * 1024)
/* the faulty download where TUNNEL_TESTS_SHORT_DOWNLOADS is set (the
 * sanitizer run): enough for many losses, in a fraction of the time */
#define FAULTY_DOWNLOAD_SHORT_LEN (1024u * 1024)

typedef struct {
    net_tcp *s;
    char request[256];
    uint8_t *body;
    size_t len, cap;
    bool done;
    int error;
} http_get;

static void get_connected(void *ctx)
{
    http_get *g = ctx;
    net_tcp_write(g->s, (const uint8_t *)g->request, strlen(g->request));
}

static void get_data(void *ctx, const uint8_t *data, size_t len)
{
    http_get *g = ctx;
    if (g->len + len > g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 65536;
        while (cap < g->len + len) cap *= 2;
        uint8_t *grown = realloc(g->body, cap);
        if (!grown) return;
        g->body = grown;
        g->cap = cap;
    }
    memcpy(g->body + g->len, data, len);
    g->len += len;
    net_tcp_consumed(g->s, len);
}

static void get_closed(void *ctx, int error)
{
    http_get *g = ctx;
    g->done = true;
    g->error = error;
}

/* Connection: close: the server's FIN ends the response */
static void get_end(void *ctx)
{
    http_get *g = ctx;
    g->done = true;
}

static const net_tcp_events GET_EVENTS = {.on_connected = get_connected, .on_data = get_data,
                                          .on_closed = get_closed, .on_end = get_end};

/* GET path from nginx with Connection: close; the raw response lands in g. */
static void http_get_start(http_get *g, const char *path)
{
    memset(g, 0, sizeof *g);
    snprintf(g->request, sizeof g->request, "GET %s HTTP/1.1\r\nHost: nginx.mixnet.test\r\nConnection: close\r\n\r\n",
             path);
    g->s = net_tcp_connect((net_ipv4)NGINX_IP, 80, 30000, &GET_EVENTS, g, NULL);
    if (!g->s) g->done = true;
}

static const uint8_t *http_body(const http_get *g, size_t *len)
{
    for (size_t i = 0; i + 4 <= g->len; i++) {
        if (memcmp(g->body + i, "\r\n\r\n", 4) == 0) {
            *len = g->len - i - 4;
            return g->body + i + 4;
        }
    }
    *len = 0;
    return NULL;
}

static void http_get_free(http_get *g)
{
    if (g->s) net_tcp_close(g->s);
    free(g->body);
}

static void run_until_done(http_get *gets, size_t n, uint64_t timeout_ms)
{
    uint64_t start = platform_monotonic_ms(), end = start + timeout_ms, next_report = start + 10000;
    for (;;) {
        size_t done = 0, bytes = 0;
        for (size_t i = 0; i < n; i++) done += gets[i].done, bytes += gets[i].len;
        if (done == n || platform_monotonic_ms() > end) return;
        if (platform_monotonic_ms() > next_report) {
            fprintf(stderr, "  ... %zu bytes after %llu s\n", bytes,
                    (unsigned long long)(platform_monotonic_ms() - start) / 1000);
            next_report += 10000;
        }
        platform_run_once(50);
    }
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = malloc(PATTERN_SIZE);
    *len = buf ? fread(buf, 1, PATTERN_SIZE, f) : 0;
    fclose(f);
    return buf;
}

/* Downloads the first expected_len bytes of the 10 MB file; gives MB/s, or
 * 0 when they did not arrive intact. */
static double download_pattern(const uint8_t *expected, size_t expected_len)
{
    http_get g;
    uint64_t start = platform_monotonic_ms();
    http_get_start(&g, "/random-10MiB.bin");
    if (expected_len < PATTERN_SIZE)
        snprintf(g.request, sizeof g.request,
                 "GET /random-10MiB.bin HTTP/1.1\r\nHost: nginx.mixnet.test\r\nRange: bytes=0-%zu\r\n"
                 "Connection: close\r\n\r\n",
                 expected_len - 1);
    run_until_done(&g, 1, 600000);
    double seconds = (double)(platform_monotonic_ms() - start) / 1000.0;
    size_t len;
    const uint8_t *body = http_body(&g, &len);
    bool intact = body && len == expected_len && memcmp(body, expected, len) == 0;
    if (!intact) fprintf(stderr, "10 MB download: %zu bytes of %zu, error %d\n", len, expected_len, g.error);
    http_get_free(&g);
    return intact ? (double)expected_len / (1024.0 * 1024.0) / seconds : 0;
}

static void run_for(uint64_t ms)
{
    uint64_t end = platform_monotonic_ms() + ms;
    while (platform_monotonic_ms() < end) platform_run_once(50);
}

typedef struct {
    net_udp *u;
    uint8_t answer[512];
    size_t len;
} dns_probe;

static void on_dns_answer(void *ctx, net_ipv4 from, uint16_t from_port, const uint8_t *data, size_t len)
{
    dns_probe *p = ctx;
    (void)from;
    (void)from_port;
    p->len = len < sizeof p->answer ? len : sizeof p->answer;
    memcpy(p->answer, data, p->len);
}

/* An A query for nginx.mixnet.test; the answer's last 4 bytes are its address. */
static bool dns_lookup_nginx(void)
{
    static const uint8_t query[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'n', 'g', 'i', 'n', 'x',
                                    6,    'm',  'i',  'x',  'n', 'e', 't', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
    dns_probe p = {0};
    p.u = net_udp_open(on_dns_answer, &p, NULL);
    if (!p.u || net_udp_send_to(p.u, (net_ipv4)RESOLVER_IP, 53, query, sizeof query) != 0) return false;
    uint64_t end = platform_monotonic_ms() + 20000;
    while (p.len == 0 && platform_monotonic_ms() < end) platform_run_once(50);
    net_udp_close(p.u);
    return p.len > sizeof query && p.answer[0] == 0x12 && p.answer[1] == 0x34 && (p.answer[3] & 0x0f) == 0 &&
           memcmp(p.answer + p.len - 4, "\xc0\x00\x02\x0a", 4) == 0;
}

void test_tunnel_traffic(void)
{
    localnet_child ln;
    static const char *const kernel_internet[] = {"--kernel-internet", NULL};
    if (!CHECK(localnet_child_start(&ln, kernel_internet))) return;
    char storage[] = "/tmp/tunnel-storage-XXXXXX", path[512];
    CHECK(mkdtemp(storage) != NULL);
    platform_set_storage_dir(storage);
    snprintf(path, sizeof path, "%s/www/random-10MiB.bin", ln.run_dir);
    size_t expected_len = 0;
    uint8_t *expected = read_file(path, &expected_len);
    CHECK(expected && expected_len == PATTERN_SIZE);

    tunnel_config c;
    tunnel_config_for(&c, &ln, "traffic", false);
    snprintf(c.preferred_gateway, sizeof c.preferred_gateway, "%s", ln.entry_identity);
    /* the Poisson stream caps sending at about 50 packets a second, and
     * with it the reply SURBs the exit gets: about a minute more for the
     * file; make bench measures it */
    c.traffic.disable_poisson_traffic = true;
    observed w = {.state = TUNNEL_CONNECTING};
    tunnel *t = tunnel_create(&c, &(tunnel_callbacks){&w, observe_state});
    tunnel_start(t);
    run_until_settled(&w, 35000);
    if (!CHECK(w.state == TUNNEL_READY)) {
        fprintf(stderr, "tunnel: %s\n", w.reason);
        goto out;
    }

    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(dns_lookup_nginx());
    double rate = download_pattern(expected, expected_len);
    CHECK(rate > 0);
    printf("10 MB from nginx through the tunnel: %.2f MB/s\n", rate);

    /* 20 connections at once */
    http_get gets[20];
    for (int i = 0; i < 20; i++) http_get_start(&gets[i], "/small.txt");
    run_until_done(gets, 20, 120000);
    int intact = 0;
    for (int i = 0; i < 20; i++) {
        size_t len;
        const uint8_t *body = http_body(&gets[i], &len);
        intact += body && len == 30 && memcmp(body, "hello from the localnet nginx\n", 30) == 0;
        http_get_free(&gets[i]);
    }
    CHECK(intact == 20);

    /* 10% loss, duplication and reordering at every mix layer */
    char answer[256];
    /* 3.5% at each of the three layers: about 10% of packets lost end to end.
     * The exit sends IP data without retransmission (as nym-node does), so
     * TCP alone repairs every loss: the server's from our SACKs, ours from
     * its retransmissions */
    CHECK(localnet_child_command(&ln, "faults 0.035 0.035 0.1 0", answer, sizeof answer));
    size_t faulty_len = getenv("TUNNEL_TESTS_SHORT_DOWNLOADS") ? FAULTY_DOWNLOAD_SHORT_LEN : PATTERN_SIZE;
    rate = download_pattern(expected, faulty_len);
    CHECK(rate > 0);
    printf("%zu KiB with about 10%% of packets dropped, duplicated and reordered: %.1f KB/s\n", faulty_len / 1024,
           rate * 1024);
    CHECK(localnet_child_command(&ln, "faults 0 0 0 0", answer, sizeof answer));

    /* the gateway goes away and comes back: the tunnel reconnects by itself */
    CHECK(localnet_child_command(&ln, "stop entry", answer, sizeof answer));
    run_for(1500);
    CHECK(localnet_child_command(&ln, "start entry", answer, sizeof answer));
    http_get g;
    uint64_t end = platform_monotonic_ms() + 60000;
    bool fetched = false;
    while (!fetched && platform_monotonic_ms() < end) {
        http_get_start(&g, "/small.txt");
        run_until_done(&g, 1, 30000);
        size_t len;
        fetched = http_body(&g, &len) && len == 30;
        http_get_free(&g);
    }
    CHECK(fetched && w.state == TUNNEL_READY);

    /* idle past the exit's 60 s limit: keepalives keep the stream */
    run_for(90000);
    http_get_start(&g, "/small.txt");
    run_until_done(&g, 1, 30000);
    size_t len;
    CHECK(http_body(&g, &len) && len == 30);
    http_get_free(&g);

    tunnel_stats st;
    tunnel_get_stats(t, &st);
    printf("tunnel: %llu IP packets out, %llu in; %llu real, %llu cover packets sent; %llu retransmissions; "
           "%llu bundles given up on, %llu late\n",
           (unsigned long long)st.ip_packets_out, (unsigned long long)st.ip_packets_in,
           (unsigned long long)st.mixnet.real_packets_sent, (unsigned long long)st.mixnet.cover_packets_sent,
           (unsigned long long)st.mixnet.retransmissions, (unsigned long long)st.ip_gaps_skipped,
           (unsigned long long)st.ip_bundles_late);
out:
    tunnel_stop(t);
    tunnel_destroy(t);
    free(expected);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", storage);
    CHECK(system(cmd) == 0);
    localnet_child_stop(&ln);
}
