/* The native tunnel through a localnet it starts: time to ready and MB/s
 * of the 10 MB file from nginx, with the Poisson and loop cover streams
 * off and on (native only: localnet runs on loopback).
 *
 *   tunnel_download [--size BYTES] [--only off|on] [--faults D DUP R MS] [--data-surbs N] [--verbose]
 *                   [--reorder-wait MS] [--kernel-internet]
 *
 * --faults: localnet's drop, duplicate and reorder rates at each mix layer
 * and extra delay; the figures' names then end in _faults.
 * --kernel-internet: Linux's TCP/IP serves (localnet --kernel-internet, root).
 * --data-surbs: reply SURBs with each IP packet (the published client's 2
 * by default). --reorder-wait: how long the tunnel waits for a missing data
 * bundle (ipr_client_config.reorder_wait_ms; 0: not at all).
 * --verbose prints the counters of both ends every 2 s (stderr). */
#define _POSIX_C_SOURCE 200809L
#include "localnet_child.h"
#include "net/net.h"
#include "platform/platform.h"
#include "tunnel/tunnel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_SIZE (10u * 1024 * 1024)
#define READY_TIMEOUT_MS 60000
#define DOWNLOAD_TIMEOUT_MS 900000
#define REPORT_INTERVAL_MS 2000

typedef struct {
    net_tcp *s;
    char request[256];
    size_t received, header_end, wanted;
    bool done;
    int error;
    /* the last 4 bytes of the header seen so far */
    uint32_t tail;
    uint8_t *body;
    uint64_t first_data_ms; /* monotonic ms of the response's first bytes, 0 before */
} download;

static void on_connected(void *ctx)
{
    download *d = ctx;
    net_tcp_write(d->s, (const uint8_t *)d->request, strlen(d->request));
}

static void on_data(void *ctx, const uint8_t *data, size_t len)
{
    download *d = ctx;
    if (!d->first_data_ms) d->first_data_ms = platform_monotonic_ms();
    for (size_t i = 0; i < len; i++) {
        if (d->header_end) {
            size_t at = d->received + i - d->header_end;
            if (at < d->wanted) d->body[at] = data[i];
        } else {
            d->tail = d->tail << 8 | data[i];
            if (d->tail == 0x0d0a0d0a) d->header_end = d->received + i + 1;
        }
    }
    d->received += len;
    net_tcp_consumed(d->s, len);
}

static void on_closed(void *ctx, int error)
{
    download *d = ctx;
    d->done = true;
    d->error = error;
}

static void on_end(void *ctx)
{
    ((download *)ctx)->done = true;
}

static const net_tcp_events EVENTS = {.on_connected = on_connected, .on_data = on_data, .on_closed = on_closed,
                                      .on_end = on_end};

static void print_counters(const tunnel *t, localnet_child *ln, const download *d, uint64_t elapsed_ms)
{
    tunnel_stats st;
    net_counters nc;
    tunnel_get_stats(t, &st);
    net_counters_get(&nc);
    fprintf(stderr,
            "%6.1f s %9zu B | ip out %llu in %llu | real %llu cover %llu retx %llu acks %llu frags in %llu "
            "unacked %zu surbs out %zu | gaps skipped %llu late %llu | net refused %llu dropped %llu\n",
            (double)elapsed_ms / 1000, d->received, (unsigned long long)st.ip_packets_out,
            (unsigned long long)st.ip_packets_in, (unsigned long long)st.mixnet.real_packets_sent,
            (unsigned long long)st.mixnet.cover_packets_sent, (unsigned long long)st.mixnet.retransmissions,
            (unsigned long long)st.mixnet.acks_received, (unsigned long long)st.mixnet.fragments_received,
            st.mixnet.fragments_unacknowledged, st.mixnet.reply_surbs_outstanding, (unsigned long long)st.ip_gaps_skipped,
            (unsigned long long)st.ip_bundles_late, (unsigned long long)nc.output_refused,
            (unsigned long long)nc.input_dropped);
    char answer[4096];
    if (localnet_child_command(ln, "stats", answer, sizeof answer)) fprintf(stderr, "         %s\n", answer);
}

typedef struct {
    bool poisson;        /* the Poisson and loop cover streams on */
    const char *faults;  /* a localnet faults command, or NULL */
    size_t size;
    uint32_t data_surbs; /* 0: the default */
    int64_t reorder_wait_ms; /* -1: the default */
    bool verbose;
    bool kernel_internet; /* localnet's internet on Linux's TCP/IP (root) */
} scenario;

typedef struct {
    double ready_s;
    double first_byte_ms;
    double mb_per_s; /* 0: the bytes did not arrive intact */
} result;

static uint8_t *read_expected(const char *run_dir, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/www/random-10MiB.bin", run_dir);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = malloc(len);
    if (buf && fread(buf, 1, len, f) != len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* A localnet of its own, a tunnel, one download: a fresh start for each figure. */
static bool run(const scenario *sc, result *out)
{
    localnet_child ln;
    bool ok = false;
    memset(out, 0, sizeof *out);
    static const char *const kernel_internet[] = {"--kernel-internet", NULL};
    if (!localnet_child_start(&ln, sc->kernel_internet ? kernel_internet : NULL)) {
        fprintf(stderr, "tunnel_download: localnet did not start\n");
        return false;
    }
    char storage[] = "/tmp/tunnel-bench-XXXXXX", answer[256];
    if (!mkdtemp(storage)) goto stop_localnet;
    platform_set_storage_dir(storage);
    uint8_t *expected = read_expected(ln.run_dir, sc->size);
    download d = {.wanted = sc->size};
    d.body = malloc(sc->size);
    if (!expected || !d.body) goto free_buffers;
    if (sc->faults && !localnet_child_command(&ln, sc->faults, answer, sizeof answer)) goto free_buffers;

    tunnel_config c;
    tunnel_config_for(&c, &ln, "bench", false);
    snprintf(c.preferred_gateway, sizeof c.preferred_gateway, "%s", ln.entry_identity);
    c.traffic.disable_poisson_traffic = !sc->poisson;
    c.traffic.disable_cover_traffic = !sc->poisson;
    if (sc->data_surbs) c.ipr.data_surbs = sc->data_surbs;
    if (sc->reorder_wait_ms >= 0) c.ipr.reorder_wait_ms = (uint32_t)sc->reorder_wait_ms;
    observed w = {.state = TUNNEL_CONNECTING};
    tunnel *t = tunnel_create(&c, &(tunnel_callbacks){&w, observe_state});
    uint64_t start = platform_monotonic_ms();
    tunnel_start(t);
    run_until_settled(&w, READY_TIMEOUT_MS);
    out->ready_s = (double)(platform_monotonic_ms() - start) / 1000;
    if (w.state != TUNNEL_READY) {
        fprintf(stderr, "tunnel_download: the tunnel did not get ready: %s\n", w.reason);
        goto stop_tunnel;
    }

    snprintf(d.request, sizeof d.request,
             "GET /random-10MiB.bin HTTP/1.1\r\nHost: nginx.mixnet.test\r\nRange: bytes=0-%zu\r\n"
             "Connection: close\r\n\r\n",
             sc->size - 1);
    start = platform_monotonic_ms();
    d.s = net_tcp_connect((net_ipv4){{192, 0, 2, 10}}, 80, 30000, &EVENTS, &d, NULL);
    uint64_t next_report = start + REPORT_INTERVAL_MS;
    while (d.s && !d.done && platform_monotonic_ms() - start < DOWNLOAD_TIMEOUT_MS) {
        platform_run_once(50);
        if (sc->verbose && platform_monotonic_ms() >= next_report) {
            print_counters(t, &ln, &d, platform_monotonic_ms() - start);
            next_report += REPORT_INTERVAL_MS;
        }
    }
    double seconds = (double)(platform_monotonic_ms() - start) / 1000;
    if (d.first_data_ms) out->first_byte_ms = (double)(d.first_data_ms - start);
    if (sc->verbose) print_counters(t, &ln, &d, platform_monotonic_ms() - start);
    bool intact = d.header_end && d.received - d.header_end == sc->size && memcmp(d.body, expected, sc->size) == 0;
    if (intact)
        out->mb_per_s = (double)sc->size / (1024.0 * 1024.0) / seconds;
    else
        fprintf(stderr, "tunnel_download: %zu body bytes of %zu, error %d\n",
                d.header_end ? d.received - d.header_end : 0, sc->size, d.error);
    if (d.s) net_tcp_close(d.s);
    ok = intact;
stop_tunnel:
    tunnel_stop(t);
    tunnel_destroy(t);
free_buffers:
    free(expected);
    free(d.body);
    snprintf(answer, sizeof answer, "rm -rf '%s'", storage);
    if (system(answer) != 0) fprintf(stderr, "tunnel_download: could not remove %s\n", storage);
stop_localnet:
    localnet_child_stop(&ln);
    return ok;
}

int main(int argc, char **argv)
{
    scenario sc = {.size = FILE_SIZE, .reorder_wait_ms = -1};
    const char *only = NULL;
    char faults[128];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            sc.size = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--faults") == 0 && i + 4 < argc) {
            snprintf(faults, sizeof faults, "faults %s %s %s %s", argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4]);
            sc.faults = faults;
            i += 4;
        } else if (strcmp(argv[i], "--data-surbs") == 0 && i + 1 < argc) {
            sc.data_surbs = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--reorder-wait") == 0 && i + 1 < argc) {
            sc.reorder_wait_ms = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--verbose") == 0) {
            sc.verbose = true;
        } else if (strcmp(argv[i], "--kernel-internet") == 0) {
            sc.kernel_internet = true;
        } else {
            fprintf(stderr, "usage: tunnel_download [--size BYTES] [--only off|on] [--faults D DUP R MS] "
                            "[--data-surbs N] [--reorder-wait MS] [--verbose] [--kernel-internet]\n");
            return 2;
        }
    }
    if (sc.size == 0 || sc.size > FILE_SIZE) sc.size = FILE_SIZE;
    int status = 0;
    for (int poisson = 0; poisson <= 1; poisson++) {
        if (only && strcmp(only, poisson ? "on" : "off") != 0) continue;
        sc.poisson = poisson;
        result r;
        if (!run(&sc, &r)) status = 1;
        char mode[32];
        snprintf(mode, sizeof mode, "%s%s", poisson ? "cover" : "no_cover", sc.faults ? "_faults" : "");
        printf("tunnel through localnet (native), %s: ready in %.2f s, first byte after %.0f ms, %.1f MB in %s at "
               "%.3f MB/s\n",
               poisson ? "Poisson and loop cover on" : "Poisson and loop cover off", r.ready_s, r.first_byte_ms,
               (double)sc.size / (1024.0 * 1024.0), sc.faults ? "faults" : "no faults", r.mb_per_s);
        printf("{\"bench\": \"tunnel_ready_%s_native\", \"value\": %.3f, \"unit\": \"s\"}\n", mode, r.ready_s);
        printf("{\"bench\": \"tunnel_first_byte_%s_native\", \"value\": %.0f, \"unit\": \"ms\"}\n", mode,
               r.first_byte_ms);
        printf("{\"bench\": \"tunnel_download_%s_native\", \"value\": %.4f, \"unit\": \"MB/s\"}\n", mode, r.mb_per_s);
        fflush(stdout);
    }
    return status;
}
