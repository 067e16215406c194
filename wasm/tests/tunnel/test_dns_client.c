/* The dns layer through the native tunnel to localnet's dnsmasq (8.8.8.8
 * and 1.1.1.1 behind the exit): A and AAAA records of the test zone, a
 * missing name, a primary nothing answers, lookups at once, the cache and
 * literals without a packet. One localnet and tunnel for the whole group. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "dns/dns.h"
#include "localnet_child.h"
#include "net/net.h"
#include "platform/platform.h"
#include "tunnel/tunnel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* localnet/services.h */
#define NGINX_NAME "nginx.mixnet.test"
static const uint8_t nginx_ipv4[4] = {192, 0, 2, 10};
static const uint8_t nginx_ipv6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};
/* in the documentation range of no host behind the exit: the exit's
 * router answers ICMP host unreachable, which UDP sockets do not see */
static const net_ipv4 unreachable_server = {{198, 51, 100, 77}};
static const net_ipv4 resolver1 = {{8, 8, 8, 8}}, resolver2 = {{1, 1, 1, 1}};

typedef struct {
    int calls;
    int error;
    dns_address addresses[DNS_MAX_ADDRESSES];
    size_t count;
    uint64_t at_ms;
} lookup_result;

static void on_result(void *ctx, int error, const dns_address *addresses, size_t count)
{
    lookup_result *r = ctx;
    r->calls++;
    r->error = error;
    r->count = count;
    r->at_ms = platform_monotonic_ms();
    if (count) memcpy(r->addresses, addresses, count * sizeof *addresses);
}

static void run_until_all_called(lookup_result *results, size_t n, uint64_t max_ms)
{
    uint64_t end = platform_monotonic_ms() + max_ms;
    for (;;) {
        size_t called = 0;
        for (size_t i = 0; i < n; i++) called += results[i].calls > 0;
        if (called == n || platform_monotonic_ms() > end) return;
        platform_run_once(20);
    }
}

/* Resolves and waits; gives the time it took. */
static uint64_t resolve(const char *name, unsigned want, lookup_result *r)
{
    memset(r, 0, sizeof *r);
    uint64_t start = platform_monotonic_ms();
    int error = 0;
    if (!CHECK(dns_resolve(name, want, on_result, r, &error) != NULL)) {
        fprintf(stderr, "  %s: %s\n", name, dns_error_text(error));
        return 0;
    }
    run_until_all_called(r, 1, 30000);
    if (r->error) fprintf(stderr, "  %s: %s\n", name, dns_error_text(r->error));
    return platform_monotonic_ms() - start;
}

static bool has_address(const lookup_result *r, int family, const uint8_t *octets)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->addresses[i].family == family && memcmp(r->addresses[i].octets, octets, family == 4 ? 4 : 16) == 0)
            return true;
    return false;
}

static bool ipv4_equals(const dns_address *a, uint8_t w, uint8_t x, uint8_t y, uint8_t z)
{
    const uint8_t expected[4] = {w, x, y, z};
    return a->family == 4 && memcmp(a->octets, expected, 4) == 0;
}

static void configure(net_ipv4 primary, net_ipv4 fallback, uint32_t attempt_timeout_ms, uint32_t attempts)
{
    dns_config c;
    dns_config_default(&c);
    c.servers[0] = primary;
    c.servers[1] = fallback;
    c.server_count = 2;
    c.attempt_timeout_ms = attempt_timeout_ms;
    c.attempts = attempts;
    CHECK(dns_configure(&c) == NET_OK);
}

void test_dns_client(void)
{
    localnet_child ln;
    if (!CHECK(localnet_child_start(&ln, NULL))) return;
    char storage[] = "/tmp/tunnel-storage-XXXXXX";
    CHECK(mkdtemp(storage) != NULL);
    platform_set_storage_dir(storage);
    tunnel_config tc;
    tunnel_config_for(&tc, &ln, "dns", false);
    snprintf(tc.preferred_gateway, sizeof tc.preferred_gateway, "%s", ln.entry_identity);
    /* the Poisson stream paces sending; these tests are about DNS */
    tc.traffic.disable_poisson_traffic = true;
    observed w = {.state = TUNNEL_CONNECTING};
    tunnel *t = tunnel_create(&tc, &(tunnel_callbacks){&w, observe_state});
    tunnel_start(t);
    run_until_settled(&w, 35000);
    if (!CHECK(w.state == TUNNEL_READY)) {
        fprintf(stderr, "tunnel: %s\n", w.reason);
        goto out;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* the published servers, 8.8.8.8 then 1.1.1.1: localnet's dnsmasq */
    configure(resolver1, resolver2, 5000, 2);
    dns_cache_clear();
    lookup_result r, both, missing;

    /* A, then AAAA, then both at once */
    uint64_t took = resolve(NGINX_NAME, DNS_WANT_A, &r);
    CHECK(r.calls == 1 && r.error == 0 && r.count == 1 && has_address(&r, 4, nginx_ipv4));
    CHECK(r.addresses[0].ttl > 0 && r.addresses[0].ttl <= 60); /* dnsmasq's --local-ttl */
    printf("A of %s through the tunnel: %llu ms\n", NGINX_NAME, (unsigned long long)took);
    resolve(NGINX_NAME, DNS_WANT_AAAA, &r);
    CHECK(r.calls == 1 && r.error == 0 && r.count == 1 && has_address(&r, 6, nginx_ipv6));
    dns_cache_clear();
    took = resolve(NGINX_NAME, DNS_WANT_A | DNS_WANT_AAAA, &both);
    CHECK(both.calls == 1 && both.error == 0 && both.count == 2);
    CHECK(both.addresses[0].family == 4 && has_address(&both, 4, nginx_ipv4) && has_address(&both, 6, nginx_ipv6));
    printf("A and AAAA at once: %llu ms\n", (unsigned long long)took);
    /* a name with an A only: both give the A */
    resolve("ws.mixnet.test", DNS_WANT_A | DNS_WANT_AAAA, &r);
    CHECK(r.calls == 1 && r.error == 0 && r.count == 1 && ipv4_equals(&r.addresses[0], 192, 0, 2, 12));
    resolve("ws.mixnet.test", DNS_WANT_AAAA, &r);
    CHECK(r.calls == 1 && r.error == DNS_ERR_NO_ADDRESS && r.count == 0);

    /* a name nobody has */
    resolve("missing.mixnet.test", DNS_WANT_A, &missing);
    CHECK(missing.calls == 1 && missing.error == DNS_ERR_NXDOMAIN && missing.count == 0);
    resolve("no-such-host.example", DNS_WANT_A | DNS_WANT_AAAA, &missing);
    CHECK(missing.calls == 1 && missing.error == DNS_ERR_NXDOMAIN);

    /* answered from the cache: no packet leaves */
    net_counters before, after;
    net_counters_get(&before);
    took = resolve(NGINX_NAME, DNS_WANT_A | DNS_WANT_AAAA, &r);
    net_counters_get(&after);
    CHECK(r.calls == 1 && r.error == 0 && r.count == 2 && after.packets_out == before.packets_out);
    printf("the same from the cache: %llu ms, %llu packets\n", (unsigned long long)took,
           (unsigned long long)(after.packets_out - before.packets_out));
    /* an address literal: no query either */
    resolve("192.0.2.11", DNS_WANT_A, &r);
    CHECK(r.calls == 1 && r.error == 0 && r.count == 1 && ipv4_equals(&r.addresses[0], 192, 0, 2, 11));
    resolve("[2001:db8::10]", DNS_WANT_A | DNS_WANT_AAAA, &r);
    CHECK(r.calls == 1 && r.error == 0 && r.count == 1 && has_address(&r, 6, nginx_ipv6));
    net_counters_get(&after);
    CHECK(after.packets_out == before.packets_out);

    /* several lookups in flight at once, from the tunnel's single stream */
    static const struct {
        const char *name;
        uint8_t address[4];
    } hosts[] = {{"httpbin.mixnet.test", {192, 0, 2, 11}},        {"ws.mixnet.test", {192, 0, 2, 12}},
                 {"expired.mixnet.test", {203, 0, 113, 10}},      {"wrong-host.mixnet.test", {203, 0, 113, 11}},
                 {"self-signed.mixnet.test", {203, 0, 113, 12}}, {"unknown-ca.mixnet.test", {203, 0, 113, 13}}};
    enum { HOSTS = sizeof hosts / sizeof hosts[0] };
    lookup_result many[HOSTS];
    memset(many, 0, sizeof many);
    dns_cache_clear();
    uint64_t start = platform_monotonic_ms();
    for (size_t i = 0; i < HOSTS; i++) CHECK(dns_resolve(hosts[i].name, DNS_WANT_A, on_result, &many[i], NULL));
    run_until_all_called(many, HOSTS, 30000);
    uint64_t slowest = 0;
    int right = 0;
    for (size_t i = 0; i < HOSTS; i++) {
        right += many[i].calls == 1 && many[i].error == 0 && many[i].count == 1 &&
                 has_address(&many[i], 4, hosts[i].address);
        if (many[i].at_ms - start > slowest) slowest = many[i].at_ms - start;
    }
    CHECK(right == HOSTS);
    printf("%d lookups at once: all answered in %llu ms\n", HOSTS, (unsigned long long)slowest);

    /* a primary that nothing answers: the fallback does, after the
     * primary's attempts */
    configure(unreachable_server, resolver2, 1500, 1);
    dns_cache_clear();
    took = resolve("httpbin.mixnet.test", DNS_WANT_A, &r);
    CHECK(r.calls == 1 && r.error == 0 && r.count == 1 && ipv4_equals(&r.addresses[0], 192, 0, 2, 11));
    CHECK(took >= 1500);
    printf("with the primary unreachable, the fallback answered after %llu ms\n", (unsigned long long)took);
    /* neither answers: a timeout */
    configure(unreachable_server, (net_ipv4){{198, 51, 100, 78}}, 1000, 1);
    took = resolve("ws.mixnet.test", DNS_WANT_A, &r);
    CHECK(r.calls == 1 && r.error == DNS_ERR_TIMEOUT && took >= 2000);

    tunnel_stats st;
    tunnel_get_stats(t, &st);
    printf("tunnel: %llu IP packets out, %llu in\n", (unsigned long long)st.ip_packets_out,
           (unsigned long long)st.ip_packets_in);
out:
    tunnel_stop(t);
    tunnel_destroy(t);
    /* later groups start from the defaults */
    configure(resolver1, resolver2, 3000, 2);
    dns_cache_clear();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", storage);
    CHECK(system(cmd) == 0);
    localnet_child_stop(&ln);
}
