/* The tunnel layer: everything that turns a directory URL into a working
 * IP tunnel through the mixnet. The directory client (nym-api JSON), the
 * choice of gateway and routes, the IPR client, and the tunnel object that
 * owns the gateway session, the message layer and the IP stack. */
#ifndef MIX_TUNNEL_H
#define MIX_TUNNEL_H

#include "mixnet/mixnet.h"
#include "net/net.h"
#include "sphinx/sphinx.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the directory (shared/spec/topology-and-api.md Part A) ---- */

#define DIRECTORY_MIN_PERFORMANCE 50 /* percent, as the client filters */

typedef struct {
    uint32_t node_id;
    uint8_t identity[32];   /* Ed25519 */
    uint8_t sphinx_key[32]; /* X25519, for the listed rotation */
    nym_node_address mix_address;
    uint8_t layer;          /* 1..3 when its role is a mix layer, else 0 */
    bool entry;             /* it has a client listener */
    char hostname[64];      /* of the listener, may be empty */
    uint16_t ws_port, wss_port;
    uint32_t performance;   /* percent */
} directory_node;

typedef struct {
    directory_node *nodes;
    size_t count, cap;
    uint32_t rotation_id;
    uint32_t absolute_epoch_id;
    /* the rewarded set: which node ids mix at each layer */
    uint32_t *layer_ids[MIXNET_MIX_LAYERS];
    size_t layer_len[MIXNET_MIX_LAYERS];
    /* the topology built from the above, for mixnet_client_set_topology */
    mixnet_node *mixnet_nodes;
    mixnet_topology topology;
} directory;

void directory_init(directory *d);
void directory_free(directory *d);
/* Adds the nodes of a skimmed-nodes answer; nodes already known by id are
 * replaced. Checks that its metadata agrees with earlier answers. */
int directory_add_skimmed(directory *d, const char *json, size_t len);
int directory_set_rewarded_set(directory *d, const char *json, size_t len);
/* Builds the routing topology: mixes by layer from the rewarded set, every
 * node as a possible egress gateway, performance below the minimum left
 * out. Fails when a layer is empty. */
int directory_build_topology(directory *d);
/* A uniformly random entry gateway fit for the connection wanted (with
 * tls, one with a hostname and a wss port). */
const directory_node *directory_choose_gateway(const directory *d, bool tls);
const directory_node *directory_find_by_identity(const directory *d, const uint8_t identity[32]);
/* The gateway's WebSocket URL, as the published client builds it. */
int directory_gateway_url(const directory_node *n, bool tls, char *out, size_t cap);
/* From a described-nodes answer: the build version of the node with this
 * identity, as major.minor.patch; fails when it is absent. */
int directory_build_version(const char *json, size_t len, const uint8_t identity[32], uint32_t version[3]);

/* ---- the order of the exit's data (shared/spec/ipr.md §7.2) ----
 * The IPR numbers its data bundles 1, 2, 3, ... (0, for control answers,
 * is skipped on wrap); each takes its own route through the mixes, whose
 * random delays reorder them. TCP reads reordering as loss: three
 * duplicate ACKs make the sender resend and halve its window, and the
 * transfer never leaves slow speeds. So bundles are handed on in order, as
 * the native SDK's stream does; one missing for the wait is taken as lost,
 * and what waited behind it goes on. One arriving after its place was
 * given up on goes on at once (TCP may still use it), and doubles the wait
 * (up to IPR_REORDER_WAIT_MAX_MS): a busy machine or mix delays some
 * packets longer than the mixes' own delays would. The wait halves back
 * towards the configured one after IPR_REORDER_CALM_MS without a late
 * bundle. A copy of one already handed on is dropped, and leaves the wait
 * alone: the last IPR_REORDER_SLOTS places passed are remembered as
 * handed on or given up on. */

#define IPR_REORDER_SLOTS 256 /* bundles held at most, as the native SDK's stream */
#define IPR_REORDER_WAIT_MAX_MS 1000
#define IPR_REORDER_CALM_MS 10000

typedef void (*ipr_reorder_deliver_fn)(void *ctx, const uint8_t *bundle, size_t len);

typedef struct {
    bool used;
    uint32_t sequence;
    uint64_t arrived_ms;
    uint8_t *bundle;
    size_t len;
} ipr_reorder_slot;

typedef struct {
    uint32_t next;         /* the sequence number to hand on next */
    uint32_t base_wait_ms; /* 0: everything is handed on as it comes */
    uint32_t wait_ms;      /* now */
    uint64_t calm_since_ms; /* the last late bundle, or the last change of the wait */
    size_t held;
    uint64_t gaps_skipped; /* sequence numbers given up on */
    uint64_t late;         /* bundles that came after their place was passed */
    ipr_reorder_deliver_fn deliver;
    void *ctx;
    ipr_reorder_slot slots[IPR_REORDER_SLOTS];
    /* bit sequence % IPR_REORDER_SLOTS, for the places passed last: set when given up on */
    uint64_t given_up[IPR_REORDER_SLOTS / 64];
} ipr_reorder;

/* Expects sequence 1 first. */
void ipr_reorder_init(ipr_reorder *r, uint32_t wait_ms, ipr_reorder_deliver_fn deliver, void *ctx);
/* A new stream: what is held is dropped, and sequence 1 comes next. */
void ipr_reorder_reset(ipr_reorder *r);
/* A data bundle (sequence number not 0), copied when it has to wait;
 * fails only when memory runs out (the bundle is then lost). */
int ipr_reorder_push(ipr_reorder *r, uint32_t sequence, const uint8_t *bundle, size_t len, uint64_t now_ms);
/* Hands on what waited wait_ms behind a gap, skipping the gap. */
void ipr_reorder_expire(ipr_reorder *r, uint64_t now_ms);
/* When ipr_reorder_expire next has work: UINT64_MAX when nothing waits. */
uint64_t ipr_reorder_deadline_ms(const ipr_reorder *r);

/* ---- choosing an exit (topology-and-api.md A9) ---- */

/* The oldest release whose IPR speaks v9, the least the client connects to. */
#define DIRECTORY_IPR_MIN_RELEASE {1, 30, 0}

/* An exit chosen over one or more pages of described nodes. */
typedef struct {
    mixnet_recipient ipr;
    uint32_t version[3]; /* the build of the node it runs on */
    uint64_t weight_total;
    bool found;
    uint64_t seen, total; /* described nodes read so far, and the pages' total */
} directory_ipr_choice;

/* Reads one page of described nodes: every IPR on a node of release
 * DIRECTORY_IPR_MIN_RELEASE or later whose gateway is in d with enough
 * performance is a candidate, and one is kept at random, weighted by
 * performance, across all the pages given. Fails when the page cannot be
 * read. */
int directory_choose_ipr(const directory *d, const char *json, size_t len, directory_ipr_choice *choice);

/* ---- the IP Packet Router client (shared/spec/ipr.md §10) ---- */

typedef struct {
    mixnet_recipient ipr;
    uint8_t connect_version;     /* 10 when the exit's build is 1.37.0 or later, else 9 */
    uint32_t open_surbs;         /* reply SURBs sent with the stream's Open: 10, as the published client */
    uint32_t data_surbs;         /* with the Connect and each Data request: 2 */
    uint32_t connect_timeout_ms; /* from the first Connect to giving up */
    uint32_t v9_fallback_ms;     /* an unanswered v10 Connect is repeated as v9 after this: 15 s */
    uint32_t connect_repeat_ms;  /* an unanswered Connect is sent again after this, then twice that: 5 s; 0: never */
    uint32_t keepalive_ms;       /* an IP packet after this long without sending, so the exit's 60 s idle drop never hits */
    /* how long a missing data bundle is waited for (ipr_reorder): 200 ms.
     * Each bundle's delay is the sum of three hop delays with a mean of
     * 15 ms, and a bundle trails the next by more than 200 ms in 2.6e-5 of
     * pairs (0.2 of the 7,200 bundles of 10 MB; with 150 ms, 4.5e-4 or 3).
     * A wait given up too early halves TCP's window; one too long delays
     * the recovery of each real loss by as much */
    uint32_t reorder_wait_ms;
} ipr_client_config;

void ipr_client_config_default(ipr_client_config *c);

typedef struct {
    void *ctx;
    /* the exit gave us addresses; mtu is 0 when it did not say (v9) */
    void (*connected)(void *ctx, const uint8_t ipv4[4], const uint8_t ipv6[16], uint16_t mtu);
    /* connecting failed, or the exit dropped us */
    void (*disconnected)(void *ctx, const char *reason);
    /* an IPv4 or IPv6 packet from the exit */
    void (*ip_packet)(void *ctx, const uint8_t *packet, size_t len);
} ipr_client_callbacks;

typedef struct ipr_client ipr_client;

/* The client sends through mx, which its owner keeps running; messages
 * mx delivers must be handed to ipr_client_receive. */
ipr_client *ipr_client_create(const ipr_client_config *config, const ipr_client_callbacks *callbacks,
                              mixnet_client *mx);
/* Opens a new stream and asks for addresses. */
int ipr_client_connect(ipr_client *ic);
bool ipr_client_is_connected(const ipr_client *ic);
/* The exit's data bundles given up on, and those that came after that. */
void ipr_client_reorder_stats(const ipr_client *ic, uint64_t *gaps_skipped, uint64_t *late);
/* Queues an IP packet; packets are bundled and sent within the same turn
 * of the event loop. Fails when not connected or the packet is too large. */
int ipr_client_send_packet(ipr_client *ic, const uint8_t *packet, size_t len);
/* A message the message layer delivered; replies that are not for this
 * client's stream are ignored. */
void ipr_client_receive(ipr_client *ic, const mixnet_received *message);
void ipr_client_destroy(ipr_client *ic);

/* ---- the tunnel: directory, gateway session, message layer, IPR client
 * and the IP stack (net.h) together, from a directory URL to sockets that
 * reach the internet. One tunnel per process: the IP stack is global. ---- */

typedef enum {
    TUNNEL_CONNECTING,
    TUNNEL_READY,
    TUNNEL_SHUTTING_DOWN,
    TUNNEL_SHUTDOWN,
    TUNNEL_FAILED,
} tunnel_state;

typedef struct {
    char nym_api_url[256];  /* the directory's base, e.g. https://validator.nymtech.net/api/ */
    char client_id[64];     /* names the stored keys */
    bool force_tls;         /* wss to the gateway */
    char preferred_ipr[MIXNET_RECIPIENT_TEXT_MAX]; /* empty: one chosen from the directory */
    char preferred_gateway[64]; /* base58 identity, or empty for a random one */
    uint32_t connect_timeout_ms;       /* for the whole setup */
    uint32_t directory_timeout_ms;     /* per directory request */
    uint32_t topology_refresh_ms;      /* 5 min */
    mixnet_client_config traffic;
    ipr_client_config ipr;             /* its ipr and connect_version are set by the tunnel */
    net_tcp_options tcp;               /* for every TCP connection through the tunnel */
} tunnel_config;

void tunnel_config_default(tunnel_config *c);

typedef struct {
    void *ctx;
    void (*state_changed)(void *ctx, tunnel_state state, const char *reason);
} tunnel_callbacks;

typedef struct {
    tunnel_state state;
    char gateway[64];      /* base58 identity of the entry gateway */
    char ipr[MIXNET_RECIPIENT_TEXT_MAX]; /* the exit's address, once connecting to it; else empty */
    uint8_t ipv4[4];
    uint16_t mtu;
    uint64_t ip_packets_out, ip_bytes_out, ip_packets_in, ip_bytes_in;
    uint64_t gateway_reconnects;
    uint64_t ip_gaps_skipped, ip_bundles_late; /* ipr_reorder's counters */
    mixnet_client_stats mixnet;
} tunnel_stats;

typedef struct tunnel tunnel;

tunnel *tunnel_create(const tunnel_config *config, const tunnel_callbacks *callbacks);
/* Starts setup; once READY, net.h's sockets reach the internet. */
void tunnel_start(tunnel *t);
tunnel_state tunnel_get_state(const tunnel *t);
const char *tunnel_failure_reason(const tunnel *t);
void tunnel_get_stats(const tunnel *t, tunnel_stats *out);
/* Closes everything; the state goes to SHUTDOWN. */
void tunnel_stop(tunnel *t);
void tunnel_destroy(tunnel *t);

#endif
