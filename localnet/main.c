/* localnet: a whole Nym network on loopback. Starts the small internet
 * (services.h), three mix layers, an entry and an exit gateway, and the
 * directory, then prints one JSON line with what a client needs and runs
 * until stdin closes or a signal arrives. --kernel-internet (root) puts the
 * small internet on Linux's TCP/IP in a namespace of its own rather than on
 * lwIP (kernel_internet.h). Commands on stdin (one a line):
 *   stop <node> | start <node>   node: mix1 mix2 mix3 entry exit
 *   faults <drop> <duplicate> <reorder> <extra delay ms>   at the mix layers
 *   lose-connect-answers <n>     the IPR's next n answers to Connect are dropped
 *   stats                        one JSON line of counters */
#define _POSIX_C_SOURCE 200809L
#include "directory.h"
#include "exit.h"
#include "gateway_server.h"
#include "mixnet_nodes.h"
#include "services.h"
#include "topology.h"

#include "codec/codec.h"
#include "crypto/crypto.h"
#include "platform/platform.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIX_COUNT 3
#define GATEWAY_COUNT 2
#define NODE_COUNT (MIX_COUNT + GATEWAY_COUNT)
#define ENTRY 3 /* node indexes */
#define EXIT 4

typedef struct {
    const char *name;
    uint8_t identity_secret[64];
    uint8_t sphinx_secret[32];
    uint16_t mix_port;
    mixnet_node_server *mix;
    gateway_server *gateway; /* gateways only */
} node;

static struct {
    node nodes[NODE_COUNT];
    forwarder *fw;
    localnet_topology topology;
    directory_server *directory;
    services services;
    bool services_running;
    exit_ipr *ipr;
    uint8_t ipr_identity[32];
    mixnet_faults faults;
    volatile sig_atomic_t stop;
    char command[512];
    size_t command_len;
} net;

static void on_signal(int sig)
{
    (void)sig;
    net.stop = 1;
}

static void deliver_to_gateway_client(void *ctx, const uint8_t destination[32], const uint8_t *message, size_t len)
{
    node *n = ctx;
    /* the IPR is the exit gateway's own client, hosted in the same process */
    if (n == &net.nodes[EXIT] && net.ipr && memcmp(destination, net.ipr_identity, 32) == 0)
        exit_ipr_deliver(net.ipr, message, len);
    else
        gateway_server_deliver(n->gateway, destination, message, len);
}

static int start_node(node *n, bool is_gateway)
{
    n->mix = mixnet_node_start(n->mix_port, n->sphinx_secret, net.fw, is_gateway ? deliver_to_gateway_client : NULL, n);
    if (!n->mix) return -1;
    n->mix_port = mixnet_node_port(n->mix);
    /* the fault knobs act at the mix layers only */
    if (n - net.nodes < MIX_COUNT) mixnet_node_set_faults(n->mix, &net.faults);
    return 0;
}

static node *node_named(const char *name)
{
    for (int i = 0; i < NODE_COUNT; i++)
        if (strcmp(net.nodes[i].name, name) == 0) return &net.nodes[i];
    return NULL;
}

static void node_stop(node *n)
{
    mixnet_node_stop(n->mix);
    n->mix = NULL;
    if (n->gateway) gateway_server_suspend(n->gateway);
}

static int node_restart(node *n)
{
    if (n->mix) return 0;
    bool is_gateway = n->gateway != NULL;
    if (start_node(n, is_gateway) != 0) return -1;
    return is_gateway ? gateway_server_resume(n->gateway) : 0;
}

static void print_stats(void)
{
    printf("{\"stats\":[");
    for (int i = 0; i < NODE_COUNT; i++) {
        const node *n = &net.nodes[i];
        const mixnet_node_stats *st = n->mix ? mixnet_node_get_stats(n->mix) : NULL;
        printf("%s{\"node\":\"%s\",\"running\":%s", i ? "," : "", n->name, n->mix ? "true" : "false");
        if (st)
            printf(",\"received\":%llu,\"forwarded\":%llu,\"delivered\":%llu,\"dropped\":%llu,\"rejected\":%llu",
                   (unsigned long long)st->received, (unsigned long long)st->forwarded,
                   (unsigned long long)st->delivered, (unsigned long long)st->dropped,
                   (unsigned long long)st->rejected);
        if (n->gateway) {
            /* so a test sees whether a returning client registered anew or authenticated */
            const gateway_server_stats *g = gateway_server_get_stats(n->gateway);
            printf(",\"connections\":%llu,\"registrations\":%llu,\"authentications\":%llu",
                   (unsigned long long)g->connections, (unsigned long long)g->registrations,
                   (unsigned long long)g->authentications);
        }
        printf("}");
    }
    printf("]");
    if (net.ipr) {
        exit_ipr_stats ipr;
        exit_ipr_stats_get(net.ipr, &ipr);
        const mixnet_client_stats *m = &ipr.mixnet;
        printf(",\"ipr\":{\"clients\":%zu,\"connects\":%llu,\"connect_answers_lost\":%llu,\"packets_in\":%llu,"
               "\"packets_out\":%llu,\"bundles_sent\":%llu,\"tcp_pauses\":%llu,\"real_packets_sent\":%llu,"
               "\"acks_received\":%llu,\"fragments_received\":%llu,\"surb_requests_sent\":%llu,"
               "\"fragments_unacknowledged\":%zu}",
               ipr.clients, (unsigned long long)ipr.connects, (unsigned long long)ipr.connect_answers_lost,
               (unsigned long long)ipr.packets_in, (unsigned long long)ipr.packets_out,
               (unsigned long long)ipr.bundles_sent, (unsigned long long)ipr.tcp_pauses,
               (unsigned long long)m->real_packets_sent, (unsigned long long)m->acks_received,
               (unsigned long long)m->fragments_received, (unsigned long long)m->surb_requests_sent,
               m->fragments_unacknowledged);
    }
    printf("}\n");
    fflush(stdout);
}

static void run_command(char *line)
{
    char verb[16], arg[16];
    double drop, duplicate, reorder;
    unsigned delay, count;
    if (sscanf(line, "faults %lf %lf %lf %u", &drop, &duplicate, &reorder, &delay) == 4) {
        net.faults = (mixnet_faults){drop, duplicate, reorder, 50, delay};
        for (int i = 0; i < MIX_COUNT; i++)
            if (net.nodes[i].mix) mixnet_node_set_faults(net.nodes[i].mix, &net.faults);
        printf("{\"ok\":\"faults\"}\n");
    } else if (sscanf(line, "lose-connect-answers %u", &count) == 1 && net.ipr) {
        exit_ipr_lose_connect_answers(net.ipr, count);
        printf("{\"ok\":\"lose-connect-answers\"}\n");
    } else if (strcmp(line, "stats") == 0) {
        print_stats();
        return;
    } else if (sscanf(line, "%15s %15s", verb, arg) == 2 && node_named(arg) &&
               (strcmp(verb, "stop") == 0 || strcmp(verb, "start") == 0)) {
        node *n = node_named(arg);
        int err = 0;
        if (strcmp(verb, "stop") == 0)
            node_stop(n);
        else
            err = node_restart(n);
        printf(err ? "{\"error\":\"%s %s failed\"}\n" : "{\"ok\":\"%s %s\"}\n", verb, arg);
    } else {
        printf("{\"error\":\"unknown command\"}\n");
    }
    fflush(stdout);
}

static void on_stdin(void *ctx, int fd, bool readable, bool writable)
{
    (void)ctx;
    (void)writable;
    if (!readable) return;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
        /* whoever started us is gone: stop, as every test server must */
        net.stop = 1;
        platform_unwatch_fd(fd);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            net.command[net.command_len] = '\0';
            run_command(net.command);
            net.command_len = 0;
        } else if (net.command_len < sizeof net.command - 1) {
            net.command[net.command_len++] = buf[i];
        }
    }
}

static void describe_node(localnet_node_info *info, const node *n, uint32_t id)
{
    memset(info, 0, sizeof *info);
    info->node_id = id;
    memcpy(info->identity_public, n->identity_secret + 32, 32);
    x25519_public_key(info->sphinx_public, n->sphinx_secret);
    info->mix_port = n->mix_port;
    snprintf(info->build_version, sizeof info->build_version, "1.38.0");
}

static int print_status_line(void)
{
    static char line[16384];
    char part[8192];
    int len = snprintf(line, sizeof line, "{\"localnet\":\"ready\",\"pid\":%d,", (int)getpid());
    if (directory_status_json(net.directory, part, sizeof part) < 0) return -1;
    len += snprintf(line + len, sizeof line - (size_t)len, "%s,\"gateways\":[", part);
    for (int i = ENTRY; i <= EXIT; i++) {
        char identity[64];
        base58_encode(identity, sizeof identity, net.topology.nodes[i].identity_public, 32);
        len += snprintf(line + len, sizeof line - (size_t)len,
                        "%s{\"role\":\"%s\",\"identity\":\"%s\",\"ws_url\":\"ws://127.0.0.1:%u/\"",
                        i == ENTRY ? "" : ",", i == ENTRY ? "entry" : "exit", identity,
                        gateway_server_port(net.nodes[i].gateway));
        if (net.topology.nodes[i].wss_port)
            len += snprintf(line + len, sizeof line - (size_t)len, ",\"wss_url\":\"wss://%s:%u/\"",
                            net.topology.nodes[i].hostname, net.topology.nodes[i].wss_port);
        len += snprintf(line + len, sizeof line - (size_t)len, "}");
    }
    len += snprintf(line + len, sizeof line - (size_t)len, "],\"ipr_address\":\"%s\"",
                    net.topology.nodes[EXIT].ipr_address);
    if (net.services_running) {
        if (services_status_json(&net.services, part, sizeof part) < 0) return -1;
        len += snprintf(line + len, sizeof line - (size_t)len, ",%s", part);
    }
    if (len >= (int)sizeof line - 2) return -1;
    printf("%s}\n", line);
    fflush(stdout);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: localnet [--run-dir DIR] [--no-services] [--kernel-internet]"
                    " [--faults DROP DUP REORDER DELAY_MS]\n");
}

int main(int argc, char **argv)
{
    char run_dir[SERVICES_PATH_MAX] = "";
    bool with_services = true, kernel_internet = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--run-dir") == 0 && i + 1 < argc) {
            snprintf(run_dir, sizeof run_dir, "%s", argv[++i]);
        } else if (strcmp(argv[i], "--no-services") == 0) {
            with_services = false;
        } else if (strcmp(argv[i], "--kernel-internet") == 0) {
            kernel_internet = true;
        } else if (strcmp(argv[i], "--faults") == 0 && i + 4 < argc) {
            net.faults = (mixnet_faults){atof(argv[i + 1]), atof(argv[i + 2]), atof(argv[i + 3]), 50,
                                         (uint32_t)atoi(argv[i + 4])};
            i += 4;
        } else {
            usage();
            return 2;
        }
    }
    if (!*run_dir) {
        snprintf(run_dir, sizeof run_dir, "/tmp/localnet-XXXXXX");
        if (!mkdtemp(run_dir)) {
            perror("mkdtemp");
            return 1;
        }
    } else if (mkdir(run_dir, 0700) != 0 && errno != EEXIST) {
        perror(run_dir);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    static const char *const names[NODE_COUNT] = {"mix1", "mix2", "mix3", "entry", "exit"};
    net.fw = forwarder_create();
    net.topology.epoch_id = 100;
    net.topology.rotation_id = 7;
    net.topology.count = NODE_COUNT;
    int status = 1;
    for (int i = 0; i < NODE_COUNT; i++) {
        node *n = &net.nodes[i];
        uint8_t seed[32];
        random_bytes(seed, sizeof seed);
        uint8_t public_key[32];
        ed25519_keypair_from_seed(public_key, n->identity_secret, seed);
        random_bytes(n->sphinx_secret, sizeof n->sphinx_secret);
        n->name = names[i];
        if (i >= ENTRY) {
            n->gateway = gateway_server_start(0, n->identity_secret, net.fw);
            if (!n->gateway) goto out;
        }
        if (start_node(n, i >= ENTRY) != 0) goto out;
        nym_node_address addr = {.family = 4, .port = n->mix_port, .ip = {127, 0, 0, 1}};
        forwarder_allow(net.fw, &addr);
        localnet_node_info *info = &net.topology.nodes[i];
        describe_node(info, n, (uint32_t)i + 1);
        if (i < MIX_COUNT) {
            info->role = LOCALNET_MIXNODE;
            info->layer = (uint8_t)(i + 1);
        } else {
            info->role = i == ENTRY ? LOCALNET_ENTRY_GATEWAY : LOCALNET_EXIT_GATEWAY;
            info->ws_port = gateway_server_port(n->gateway);
            snprintf(info->hostname, sizeof info->hostname, "127.0.0.1");
        }
    }
    if (with_services) {
        uint16_t gateway_ws_ports[SERVICES_GATEWAY_PROXIES] = {gateway_server_port(net.nodes[ENTRY].gateway),
                                                               gateway_server_port(net.nodes[EXIT].gateway)};
        if (services_start(run_dir, gateway_ws_ports, &net.services) != 0) goto out;
        net.services_running = true;
        for (int i = 0; i < SERVICES_GATEWAY_PROXIES; i++) {
            localnet_node_info *info = &net.topology.nodes[ENTRY + i];
            info->wss_port = net.services.gateway_wss_ports[i];
            /* wss URLs need the name the test CA's certificate carries */
            snprintf(info->hostname, sizeof info->hostname, "%s", SERVICES_GATEWAY_HOST);
        }
    }
    exit_ipr_config exit_config = {.topology = &net.topology, .forwarder = net.fw,
                                   .services = net.services_running ? &net.services : NULL,
                                   .kernel_internet = kernel_internet};
    net.ipr = exit_ipr_create(&exit_config);
    if (!net.ipr) goto out;
    mixnet_recipient ipr_address;
    exit_ipr_address(net.ipr, &ipr_address);
    memcpy(net.ipr_identity, ipr_address.identity, 32);
    exit_ipr_address_text(net.ipr, net.topology.nodes[EXIT].ipr_address, sizeof net.topology.nodes[EXIT].ipr_address);
    net.directory = directory_start(&net.topology, 0);
    if (!net.directory || print_status_line() != 0) goto out;
    platform_watch_fd(STDIN_FILENO, true, false, on_stdin, NULL);
    while (!net.stop) platform_run_once(200);
    status = 0;
out:
    directory_stop(net.directory);
    exit_ipr_destroy(net.ipr);
    for (int i = 0; i < NODE_COUNT; i++) {
        mixnet_node_stop(net.nodes[i].mix);
        gateway_server_stop(net.nodes[i].gateway);
        secure_zero(&net.nodes[i], sizeof net.nodes[i]);
    }
    forwarder_destroy(net.fw);
    if (net.services_running) services_stop(&net.services);
    return status;
}
