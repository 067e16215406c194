/* The tunnel object: setup in steps (keys, directory, gateway session,
 * IPR version lookup, IPR connect), then the running tunnel with its
 * timers (message layer deadlines, topology refresh). */
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "gateway/gateway.h"
#include "net/net.h"
#include "platform/platform.h"
#include "tunnel/tunnel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIRECTORY_MAX_BODY (16u * 1024 * 1024)
#define KEYS_RECORD "keys"       /* identity seed ‖ encryption secret ‖ ack key */
#define GATEWAY_RECORD "gateway" /* gateway identity ‖ shared key */
#define KEYS_RECORD_LEN (32 + 32 + MIXNET_ACK_KEY_LEN)
#define GATEWAY_RECORD_LEN (32 + GATEWAY_SHARED_KEY_LEN)
/* the first exit release whose IPR speaks v10 */
static const uint32_t IPR_V10_RELEASE[3] = {1, 37, 0};
/* a bound on the described-node pages read to choose an exit */
#define DESCRIBED_MAX_PAGES 64

typedef enum {
    STEP_TOPOLOGY,
    STEP_GATEWAY_SESSION,
    STEP_IPR_VERSION,
    STEP_IPR_CONNECT,
    STEP_RUNNING,
    STEP_STOPPED,
} setup_step;

/* The topology's three directory answers, asked for at once as the
 * published client does; a stored gateway changes nothing in them. */
typedef enum { TOPOLOGY_REWARDED_SET, TOPOLOGY_MIXNODES, TOPOLOGY_GATEWAYS, TOPOLOGY_PARTS } topology_part;
static const char *const TOPOLOGY_PATHS[TOPOLOGY_PARTS] = {
    "/v1/nym-nodes/rewarded-set",
    "/v2/unstable/nym-nodes/skimmed/mixnodes/active",
    "/v2/unstable/nym-nodes/skimmed/entry-gateways",
};

typedef struct {
    tunnel *t;
    uint32_t fetch;
    bool answered;
} topology_request;

struct tunnel {
    tunnel_config config;
    tunnel_callbacks callbacks;
    tunnel_state state;
    char reason[320];
    char last_problem[256]; /* the latest trouble setup met, for the reason if it times out */
    setup_step step;  /* how far setup got */
    bool refreshing;  /* a topology refresh, not setup, is fetching */
    directory dir;
    topology_request topology[TOPOLOGY_PARTS];
    uint32_t described_fetch, setup_timer, refresh_timer, mixnet_timer;
    uint64_t mixnet_deadline_ns;
    uint8_t identity_public[32], identity_secret[64], encryption_secret[32], ack_key[MIXNET_ACK_KEY_LEN];
    bool have_gateway, have_shared_key;
    uint8_t gateway_identity[32], shared_key[GATEWAY_SHARED_KEY_LEN];
    mixnet_recipient ipr;
    bool discover_ipr;                /* no preferredIpr: choose one from the described nodes */
    directory_ipr_choice ipr_choice;
    uint32_t described_page;
    gateway_client *gc;
    mixnet_client *mx;
    ipr_client *ic;
    bool net_running;
    tunnel_stats stats;
};

void tunnel_config_default(tunnel_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->nym_api_url, sizeof c->nym_api_url, "https://validator.nymtech.net/api/");
    snprintf(c->client_id, sizeof c->client_id, "default");
    c->force_tls = true;
    c->connect_timeout_ms = 60000;
    c->directory_timeout_ms = 30000;
    c->topology_refresh_ms = 5 * 60 * 1000;
    mixnet_client_config_default(&c->traffic);
    ipr_client_config_default(&c->ipr);
}

static uint64_t now_ns(void)
{
    return platform_monotonic_ms() * 1000000ull;
}

static void set_state(tunnel *t, tunnel_state state, const char *reason)
{
    t->state = state;
    t->stats.state = state;
    snprintf(t->reason, sizeof t->reason, "%s", reason ? reason : "");
    if (t->callbacks.state_changed) t->callbacks.state_changed(t->callbacks.ctx, state, reason);
}

static void release_session(tunnel *t)
{
    if (t->net_running) {
        net_shutdown();
        t->net_running = false;
    }
    for (int part = 0; part < TOPOLOGY_PARTS; part++) {
        platform_fetch_cancel(t->topology[part].fetch);
        t->topology[part].fetch = 0;
    }
    platform_fetch_cancel(t->described_fetch);
    platform_timer_cancel(t->setup_timer);
    platform_timer_cancel(t->refresh_timer);
    platform_timer_cancel(t->mixnet_timer);
    t->described_fetch = t->setup_timer = t->refresh_timer = t->mixnet_timer = 0;
    ipr_client_destroy(t->ic);
    mixnet_client_destroy(t->mx);
    gateway_client_destroy(t->gc);
    t->ic = NULL;
    t->mx = NULL;
    t->gc = NULL;
}

static void fail(tunnel *t, const char *reason)
{
    if (t->state == TUNNEL_FAILED || t->state == TUNNEL_SHUTDOWN) return;
    release_session(t);
    t->step = STEP_STOPPED;
    set_state(t, TUNNEL_FAILED, reason);
}

/* ---- the message layer's clock ---- */

static void on_mixnet_deadline(void *ctx);

static void schedule_mixnet(tunnel *t)
{
    if (!t->mx) return;
    uint64_t deadline = mixnet_client_next_deadline_ns(t->mx);
    if (t->mixnet_timer && deadline == t->mixnet_deadline_ns) return;
    platform_timer_cancel(t->mixnet_timer);
    t->mixnet_timer = 0;
    t->mixnet_deadline_ns = deadline;
    if (deadline == UINT64_MAX) return;
    uint64_t now = now_ns();
    uint64_t delay_ms = deadline > now ? (deadline - now + 999999) / 1000000 : 0;
    t->mixnet_timer = platform_timer_start(delay_ms, on_mixnet_deadline, t);
}

static void on_mixnet_deadline(void *ctx)
{
    tunnel *t = ctx;
    t->mixnet_timer = 0;
    mixnet_client_process_deadlines(t->mx, now_ns());
    schedule_mixnet(t);
}

/* ---- keys ---- */

static void load_or_create_keys(tunnel *t)
{
    uint8_t record[KEYS_RECORD_LEN];
    if (platform_storage_load(t->config.client_id, KEYS_RECORD, record, sizeof record) != (int)sizeof record) {
        random_bytes(record, sizeof record);
        platform_storage_save(t->config.client_id, KEYS_RECORD, record, sizeof record);
    }
    ed25519_keypair_from_seed(t->identity_public, t->identity_secret, record);
    memcpy(t->encryption_secret, record + 32, 32);
    memcpy(t->ack_key, record + 64, MIXNET_ACK_KEY_LEN);
    secure_zero(record, sizeof record);

    uint8_t gw[GATEWAY_RECORD_LEN];
    if (platform_storage_load(t->config.client_id, GATEWAY_RECORD, gw, sizeof gw) == (int)sizeof gw) {
        memcpy(t->gateway_identity, gw, 32);
        memcpy(t->shared_key, gw + 32, GATEWAY_SHARED_KEY_LEN);
        t->have_gateway = t->have_shared_key = true;
    }
    secure_zero(gw, sizeof gw);
}

/* ---- directory requests ---- */

/* Gives the request's id, 0 when the URL is not usable. */
static uint32_t fetch_directory(tunnel *t, const char *path, platform_fetch_callback callback, void *ctx)
{
    char url[512];
    size_t base = strlen(t->config.nym_api_url);
    while (base > 0 && t->config.nym_api_url[base - 1] == '/') base--;
    snprintf(url, sizeof url, "%.*s%s", (int)base, t->config.nym_api_url, path);
    return platform_fetch(url, "application/json", t->config.directory_timeout_ms, DIRECTORY_MAX_BODY, callback, ctx);
}

/* Why an answer is no use, or false when it is a 200. */
static bool directory_answer_failed(int status, const char *error, char *reason, size_t cap)
{
    if (status == 200) return false;
    if (status == 0)
        snprintf(reason, cap, "directory request failed: %s", error ? error : "no answer");
    else
        snprintf(reason, cap, "directory answered HTTP %d", status);
    return true;
}

static void start_gateway_session(tunnel *t);

static void choose_gateway(tunnel *t)
{
    const directory_node *g = NULL;
    if (t->config.preferred_gateway[0]) {
        uint8_t id[32];
        if (base58_decode_exact(id, 32, t->config.preferred_gateway, strlen(t->config.preferred_gateway)))
            g = directory_find_by_identity(&t->dir, id);
    } else {
        g = directory_choose_gateway(&t->dir, t->config.force_tls);
    }
    if (!g) {
        fail(t, t->config.preferred_gateway[0] ? "the preferred gateway is not in the directory"
                                               : "the directory lists no usable gateway");
        return;
    }
    memcpy(t->gateway_identity, g->identity, 32);
    t->have_gateway = true;
    t->have_shared_key = false;
}

static void topology_ready(tunnel *t);
static void connect_ipr(tunnel *t, const uint32_t *version);
static void ipr_lookup_answered(tunnel *t, const char *json, size_t len);

static void topology_failed(tunnel *t, const char *reason)
{
    for (int part = 0; part < TOPOLOGY_PARTS; part++) {
        platform_fetch_cancel(t->topology[part].fetch);
        t->topology[part].fetch = 0;
    }
    if (t->refreshing) {
        /* keep the old topology, as the published client does */
        t->refreshing = false;
        return;
    }
    fail(t, reason);
}

static void on_topology_fetched(void *ctx, int status, const uint8_t *body, size_t len, const char *error)
{
    topology_request *request = ctx;
    tunnel *t = request->t;
    request->fetch = 0;
    char reason[300];
    if (directory_answer_failed(status, error, reason, sizeof reason)) {
        topology_failed(t, reason);
        return;
    }
    const char *json = (const char *)body;
    int err = request == &t->topology[TOPOLOGY_REWARDED_SET] ? directory_set_rewarded_set(&t->dir, json, len)
                                                             : directory_add_skimmed(&t->dir, json, len);
    if (err) {
        topology_failed(t, "the directory's answer could not be read");
        return;
    }
    request->answered = true;
    for (int part = 0; part < TOPOLOGY_PARTS; part++)
        if (!t->topology[part].answered) return;
    topology_ready(t);
}

static void fetch_topology(tunnel *t)
{
    for (int part = 0; part < TOPOLOGY_PARTS; part++) {
        topology_request *request = &t->topology[part];
        *request = (topology_request){.t = t};
        request->fetch = fetch_directory(t, TOPOLOGY_PATHS[part], on_topology_fetched, request);
        if (!request->fetch) {
            topology_failed(t, "the directory URL is not usable");
            return;
        }
    }
}

static void on_described_fetched(void *ctx, int status, const uint8_t *body, size_t len, const char *error)
{
    tunnel *t = ctx;
    t->described_fetch = 0;
    char reason[300];
    if (directory_answer_failed(status, error, reason, sizeof reason)) {
        fail(t, reason);
        return;
    }
    ipr_lookup_answered(t, (const char *)body, len);
}

static void fetch_described(tunnel *t, const char *path)
{
    t->described_fetch = fetch_directory(t, path, on_described_fetched, t);
    if (!t->described_fetch) fail(t, "the directory URL is not usable");
}

static void on_setup_timeout(void *ctx)
{
    tunnel *t = ctx;
    t->setup_timer = 0;
    char reason[320];
    if (t->last_problem[0])
        snprintf(reason, sizeof reason, "setup timed out; last problem: %s", t->last_problem);
    else
        snprintf(reason, sizeof reason, "setup timed out");
    fail(t, reason);
}

static void refresh_topology(void *ctx);

static void topology_ready(tunnel *t)
{
    if (directory_build_topology(&t->dir) != 0) {
        if (t->refreshing) {
            t->refreshing = false;
            return;
        }
        fail(t, "the directory's topology has an empty mix layer");
        return;
    }
    if (t->refreshing) {
        t->refreshing = false;
        mixnet_client_set_topology(t->mx, &t->dir.topology);
        return;
    }
    if (!t->have_gateway || !directory_find_by_identity(&t->dir, t->gateway_identity)) {
        /* first run, or our stored gateway left the network: pick one and register there */
        choose_gateway(t);
        if (t->step == STEP_STOPPED) return;
    }
    start_gateway_session(t);
}

/* ---- the gateway session and the message layer ---- */

static void mixnet_send_packet(void *ctx, const nym_mix_packet *packet)
{
    tunnel *t = ctx;
    uint8_t encoded[2 + NYM_NODE_ADDRESS_MAX_LEN + NYM_REGULAR_PACKET_LEN];
    int len = nym_mix_packet_encode(packet, encoded, sizeof encoded);
    /* while the gateway reconnects packets are lost; retransmission covers real ones */
    if (len > 0 && t->gc) (void)gateway_client_send(t->gc, encoded, (size_t)len);
}

static void mixnet_deliver(void *ctx, const mixnet_received *message)
{
    tunnel *t = ctx;
    if (t->ic) ipr_client_receive(t->ic, message);
}

static void gateway_pushed(void *ctx, const uint8_t *message, size_t len)
{
    tunnel *t = ctx;
    if (!t->mx) return;
    mixnet_client_receive(t->mx, message, len, now_ns());
    schedule_mixnet(t);
}

static void gateway_registered(void *ctx, const uint8_t shared_key[GATEWAY_SHARED_KEY_LEN])
{
    tunnel *t = ctx;
    uint8_t record[GATEWAY_RECORD_LEN];
    memcpy(record, t->gateway_identity, 32);
    memcpy(record + 32, shared_key, GATEWAY_SHARED_KEY_LEN);
    platform_storage_save(t->config.client_id, GATEWAY_RECORD, record, sizeof record);
    secure_zero(record, sizeof record);
}

static void start_mixnet_and_ipr(tunnel *t);

static void gateway_state_changed(void *ctx, gateway_client_state state, const char *reason)
{
    tunnel *t = ctx;
    if (state == GATEWAY_CLIENT_FAILED) {
        char text[300];
        snprintf(text, sizeof text, "gateway: %s", reason ? reason : "failed");
        fail(t, text);
    } else if (state == GATEWAY_CLIENT_RECONNECTING) {
        t->stats.gateway_reconnects++;
        snprintf(t->last_problem, sizeof t->last_problem, "gateway: %s", reason ? reason : "reconnecting");
    } else if (state == GATEWAY_CLIENT_READY && t->step == STEP_GATEWAY_SESSION) {
        start_mixnet_and_ipr(t);
    }
}

static void start_gateway_session(tunnel *t)
{
    const directory_node *g = directory_find_by_identity(&t->dir, t->gateway_identity);
    gateway_client_config gcc = {.has_shared_key = t->have_shared_key,
                                 .response_timeout_ms = 15000,
                                 .reconnect_attempts = 10,
                                 .reconnect_delay_ms = 500,
                                 .reconnect_delay_max_ms = 5000};
    if (!g || directory_gateway_url(g, t->config.force_tls, gcc.url, sizeof gcc.url) < 0) {
        fail(t, t->config.force_tls ? "the gateway has no wss listener" : "the gateway has no ws listener");
        return;
    }
    memcpy(gcc.gateway_identity, t->gateway_identity, 32);
    memcpy(gcc.identity_public, t->identity_public, 32);
    memcpy(gcc.identity_secret, t->identity_secret, 64);
    memcpy(gcc.shared_key, t->shared_key, GATEWAY_SHARED_KEY_LEN);
    base58_encode(t->stats.gateway, sizeof t->stats.gateway, t->gateway_identity, 32);
    gateway_client_callbacks callbacks = {t, gateway_state_changed, gateway_registered, gateway_pushed};
    t->gc = gateway_client_create(&gcc, &callbacks);
    secure_zero(&gcc, sizeof gcc);
    if (!t->gc) {
        fail(t, "out of memory");
        return;
    }
    t->step = STEP_GATEWAY_SESSION;
    gateway_client_start(t->gc);
}

static void start_mixnet_and_ipr(tunnel *t)
{
    mixnet_client_keys keys;
    memcpy(keys.identity, t->identity_public, 32);
    memcpy(keys.encryption_secret, t->encryption_secret, 32);
    memcpy(keys.ack_key, t->ack_key, MIXNET_ACK_KEY_LEN);
    memcpy(keys.gateway, t->gateway_identity, 32);
    mixnet_client_callbacks callbacks = {.ctx = t, .send_packet = mixnet_send_packet, .deliver = mixnet_deliver};
    t->mx = mixnet_client_create(&t->config.traffic, &keys, &callbacks, now_ns());
    secure_zero(&keys, sizeof keys);
    if (!t->mx || mixnet_client_set_topology(t->mx, &t->dir.topology) != 0) {
        fail(t, "the message layer could not start");
        return;
    }
    schedule_mixnet(t);
    /* the exit's release decides the IPR protocol version */
    t->step = STEP_IPR_VERSION;
    t->described_page = 0;
    t->ipr_choice = (directory_ipr_choice){0};
    fetch_described(t, t->discover_ipr ? "/v2/nym-nodes/described?page=0" : "/v2/nym-nodes/described");
}

/* ---- the IPR ---- */

static void ipr_connected(void *ctx, const uint8_t ipv4[4], const uint8_t ipv6[16], uint16_t mtu)
{
    tunnel *t = ctx;
    (void)ipv6;
    memcpy(t->stats.ipv4, ipv4, 4);
    /* without a v10 answer, the exit's default (ipr.md §10.4) */
    t->stats.mtu = mtu ? mtu : 1420;
    platform_timer_cancel(t->setup_timer);
    t->setup_timer = 0;
    net_ipv4 address;
    memcpy(address.octets, ipv4, 4);
    if (net_configure(address, t->stats.mtu) != 0) {
        fail(t, "the IP stack refused the exit's address");
        return;
    }
    /* what TCP held back while the exit was away goes out now */
    (void)net_output_ready();
    if (t->step != STEP_RUNNING) {
        t->step = STEP_RUNNING;
        t->refresh_timer = platform_timer_start(t->config.topology_refresh_ms, refresh_topology, t);
        set_state(t, TUNNEL_READY, NULL);
    }
    schedule_mixnet(t);
}

static void ipr_disconnected(void *ctx, const char *reason)
{
    tunnel *t = ctx;
    if (t->step != STEP_RUNNING) {
        char text[300];
        snprintf(text, sizeof text, "exit: %s", reason);
        fail(t, text);
        return;
    }
    /* the exit dropped us while running: ask for a new stream at once */
    if (ipr_client_connect(t->ic) != 0) fail(t, "could not reconnect to the exit");
    schedule_mixnet(t);
}

static void ipr_packet(void *ctx, const uint8_t *packet, size_t len)
{
    tunnel *t = ctx;
    t->stats.ip_packets_in++;
    t->stats.ip_bytes_in += len;
    (void)net_input(packet, len);
}

/* Described nodes give the exit's release (v10 from 1.37.0), and the exit
 * itself when there is no preferredIpr, over as many pages as there are. */
static void ipr_lookup_answered(tunnel *t, const char *json, size_t len)
{
    if (!t->discover_ipr) {
        uint32_t version[3];
        bool known = directory_build_version(json, len, t->ipr.gateway, version) == 0;
        connect_ipr(t, known ? version : NULL);
        return;
    }
    if (directory_choose_ipr(&t->dir, json, len, &t->ipr_choice) != 0) {
        fail(t, "the directory's described nodes could not be read");
        return;
    }
    if (t->ipr_choice.seen < t->ipr_choice.total && t->described_page < DESCRIBED_MAX_PAGES) {
        char path[64];
        snprintf(path, sizeof path, "/v2/nym-nodes/described?page=%u", (unsigned)++t->described_page);
        fetch_described(t, path);
        return;
    }
    if (!t->ipr_choice.found) {
        fail(t, "the directory lists no usable exit (IP Packet Router)");
        return;
    }
    t->ipr = t->ipr_choice.ipr;
    connect_ipr(t, t->ipr_choice.version);
}

/* version: the exit node's release, or NULL when unknown (then v9) */
static void connect_ipr(tunnel *t, const uint32_t *version)
{
    bool v10 = version && (version[0] != IPR_V10_RELEASE[0]   ? version[0] > IPR_V10_RELEASE[0]
                           : version[1] != IPR_V10_RELEASE[1] ? version[1] > IPR_V10_RELEASE[1]
                                                              : version[2] >= IPR_V10_RELEASE[2]);
    t->config.ipr.ipr = t->ipr;
    t->config.ipr.connect_version = v10 ? 10 : 9;
    ipr_client_callbacks callbacks = {t, ipr_connected, ipr_disconnected, ipr_packet};
    t->ic = ipr_client_create(&t->config.ipr, &callbacks, t->mx);
    t->step = STEP_IPR_CONNECT;
    if (!t->ic || ipr_client_connect(t->ic) != 0) fail(t, "could not send the connect request to the exit");
    schedule_mixnet(t);
}

/* ---- the refresh every 5 minutes ---- */

static void refresh_topology(void *ctx)
{
    tunnel *t = ctx;
    t->refresh_timer = platform_timer_start(t->config.topology_refresh_ms, refresh_topology, t);
    if (t->refreshing) return;
    t->refreshing = true;
    directory_free(&t->dir);
    directory_init(&t->dir);
    fetch_topology(t);
}

/* ---- the public side ---- */

static int net_output(void *ctx, const uint8_t *packet, size_t len);

tunnel *tunnel_create(const tunnel_config *config, const tunnel_callbacks *callbacks)
{
    tunnel *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->config = *config;
    t->callbacks = *callbacks;
    t->state = TUNNEL_CONNECTING;
    directory_init(&t->dir);
    return t;
}

void tunnel_start(tunnel *t)
{
    set_state(t, TUNNEL_CONNECTING, NULL);
    t->discover_ipr = !t->config.preferred_ipr[0];
    if (!t->discover_ipr &&
        mixnet_recipient_parse(&t->ipr, t->config.preferred_ipr, strlen(t->config.preferred_ipr)) != 0) {
        fail(t, "preferredIpr is not a Nym address");
        return;
    }
    if (net_init(net_output, t) != 0) {
        fail(t, "the IP stack is in use by another tunnel");
        return;
    }
    t->net_running = true;
    net_tcp_set_options(&t->config.tcp);
    load_or_create_keys(t);
    t->setup_timer = platform_timer_start(t->config.connect_timeout_ms, on_setup_timeout, t);
    t->step = STEP_TOPOLOGY;
    fetch_topology(t);
}

/* The IP stack's output: into the exit's stream. A packet refused now is
 * one TCP sends again later, as after a loss. */
static int net_output(void *ctx, const uint8_t *packet, size_t len)
{
    tunnel *t = ctx;
    if (t->state != TUNNEL_READY || !t->ic || ipr_client_send_packet(t->ic, packet, len) != 0) return -1;
    t->stats.ip_packets_out++;
    t->stats.ip_bytes_out += len;
    schedule_mixnet(t);
    return 0;
}

tunnel_state tunnel_get_state(const tunnel *t)
{
    return t->state;
}

const char *tunnel_failure_reason(const tunnel *t)
{
    return t->reason;
}

void tunnel_get_stats(const tunnel *t, tunnel_stats *out)
{
    *out = t->stats;
    if (t->mx) mixnet_client_stats_get(t->mx, &out->mixnet);
    if (t->ic) ipr_client_reorder_stats(t->ic, &out->ip_gaps_skipped, &out->ip_bundles_late);
    out->ipr[0] = '\0';
    if (t->ic && mixnet_recipient_format(&t->ipr, out->ipr, sizeof out->ipr) < 0) out->ipr[0] = '\0';
}

void tunnel_stop(tunnel *t)
{
    if (t->state == TUNNEL_SHUTDOWN) return;
    set_state(t, TUNNEL_SHUTTING_DOWN, NULL);
    release_session(t);
    t->step = STEP_STOPPED;
    set_state(t, TUNNEL_SHUTDOWN, NULL);
}

void tunnel_destroy(tunnel *t)
{
    if (!t) return;
    release_session(t);
    directory_free(&t->dir);
    secure_zero(t, sizeof *t);
    free(t);
}
