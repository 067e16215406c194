/* The message layer: what Nym clients put inside Sphinx packets, and the
 * machinery that sends and receives it. Client addresses, NymMessages,
 * padding and fragments, reassembly, end-to-end encryption, SURB-acks,
 * reply SURBs, loop cover traffic, the client's sending state machine
 * (Poisson stream, cover stream, retransmission) and node-side processing
 * (a mix hop, a gateway's final hop).
 *
 * Nothing here reads a clock or blocks: what needs the time takes now_ns
 * (any monotonic nanosecond count), and the client tells its owner when it
 * next wants to be called. All state lives in objects the caller owns.
 * Functions return 0 (or a length, or a status >= 0) on success and a
 * negative mixnet_error on failure. */
#ifndef MIX_MIXNET_H
#define MIX_MIXNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "sphinx/sphinx.h"

typedef enum {
    MIXNET_ERR_LENGTH = -1,    /* input of the wrong size, or an output buffer too small */
    MIXNET_ERR_MALFORMED = -2, /* bytes that do not parse, or fields that contradict each other */
    MIXNET_ERR_TOPOLOGY = -3,  /* no route: an empty mix layer or a gateway missing from the topology */
    MIXNET_ERR_NO_SURBS = -4,  /* no reply SURBs stored for that sender tag */
    MIXNET_ERR_MEMORY = -5,
    MIXNET_ERR_SPHINX = -6,    /* the Sphinx layer refused the packet (MAC, routing, payload) */
} mixnet_error;

/* --- sizes (Regular packets: the only class this client sends) */

#define MIXNET_KEY_LEN 32           /* Ed25519 and X25519 public keys */
#define MIXNET_RECIPIENT_LEN 96     /* identity ‖ encryption key ‖ gateway */
#define MIXNET_SENDER_TAG_LEN 16
#define MIXNET_SURB_KEY_LEN 16      /* AES-128 key of a reply SURB */
#define MIXNET_ACK_KEY_LEN 16
#define MIXNET_FRAGMENT_ID_LEN 5    /* set id (i32 BE) ‖ position */
#define MIXNET_ACK_LEN 21           /* IV ‖ encrypted fragment id: what an ack delivers */
#define MIXNET_ACK_MAX_LEN 48       /* pushed messages up to this length are acks */
#define MIXNET_SURB_ACK_LEN (NYM_NODE_ADDRESS_MAX_LEN + NYM_ACK_PACKET_LEN) /* 405 */
#define MIXNET_PAYLOAD_OVERHEAD (MIXNET_SURB_ACK_LEN + MIXNET_KEY_LEN)     /* 437 */
#define MIXNET_PAYLOAD_LEN (NYM_REGULAR_PACKET_LEN - SPHINX_PACKET_OVERHEAD) /* 2048 */
#define MIXNET_FRAGMENT_LEN (MIXNET_PAYLOAD_LEN - MIXNET_PAYLOAD_OVERHEAD)   /* 1611 */
#define MIXNET_PUSHED_MESSAGE_LEN (MIXNET_PAYLOAD_LEN - MIXNET_SURB_ACK_LEN) /* 1643 */
#define MIXNET_UNLINKED_HEADER_LEN 7
#define MIXNET_LINKED_HEADER_LEN 10
#define MIXNET_MAX_SET_FRAGMENTS 255
#define MIXNET_ROUTE_HOPS 4         /* three mix layers, then the recipient's gateway */
#define MIXNET_MIX_LAYERS 3
/* one reply SURB as a V2 list carries it: key ‖ header ‖ first hop ‖ seeds */
#define MIXNET_REPLY_SURB_LEN(hops) \
    (MIXNET_SURB_KEY_LEN + SPHINX_HEADER_LEN + SPHINX_NODE_ADDRESS_LEN + (hops) * SPHINX_PAYLOAD_SEED_LEN)
/* a V1 list's SURB: four full 192-byte payload keys */
#define MIXNET_REPLY_SURB_V1_LEN \
    (MIXNET_SURB_KEY_LEN + SPHINX_HEADER_LEN + SPHINX_NODE_ADDRESS_LEN + 4 * SPHINX_PAYLOAD_KEY_LEN)
#define MIXNET_REPLY_SURB_MAX_LEN MIXNET_REPLY_SURB_V1_LEN

/* --- client addresses */

typedef struct {
    uint8_t identity[MIXNET_KEY_LEN];       /* Ed25519: the client's Sphinx destination */
    uint8_t encryption_key[MIXNET_KEY_LEN]; /* X25519: for end-to-end encryption */
    uint8_t gateway[MIXNET_KEY_LEN];        /* Ed25519 identity of its gateway */
} mixnet_recipient;

/* b58(identity) '.' b58(encryption key) '@' b58(gateway): at most 134 characters */
#define MIXNET_RECIPIENT_TEXT_MAX 135

void mixnet_recipient_encode(const mixnet_recipient *r, uint8_t out[MIXNET_RECIPIENT_LEN]);
void mixnet_recipient_decode(mixnet_recipient *r, const uint8_t in[MIXNET_RECIPIENT_LEN]);
/* Writes the text form with a NUL; returns its length. */
int mixnet_recipient_format(const mixnet_recipient *r, char *out, size_t out_cap);
int mixnet_recipient_parse(mixnet_recipient *r, const char *text, size_t len);

/* --- reply SURBs: a SURB encryption key and a Sphinx SURB */

typedef struct {
    uint8_t key[MIXNET_SURB_KEY_LEN];
    sphinx_surb surb;
} mixnet_reply_surb;

/* Checks the first hop parses as a node address, as Nym does. */
int mixnet_reply_surb_decode(mixnet_reply_surb *s, const uint8_t *in, size_t len);
int mixnet_reply_surb_encode(const mixnet_reply_surb *s, uint8_t *out, size_t out_cap);

/* --- NymMessage: type ‖ body */

typedef enum {
    MIXNET_MESSAGE_PLAIN = 0,
    MIXNET_MESSAGE_REPLIABLE = 1, /* carries a sender tag, and usually reply SURBs */
    MIXNET_MESSAGE_REPLY = 2,     /* sent back through a reply SURB */
} mixnet_message_type;

typedef enum {
    MIXNET_REPLIABLE_DATA_V1 = 0,
    MIXNET_REPLIABLE_ADDITIONAL_SURBS_V1 = 1,
    MIXNET_REPLIABLE_HEARTBEAT_V1 = 2,
    MIXNET_REPLIABLE_DATA_V2 = 3,
    MIXNET_REPLIABLE_ADDITIONAL_SURBS_V2 = 4,
    MIXNET_REPLIABLE_HEARTBEAT_V2 = 5,
} mixnet_repliable_content;

typedef enum {
    MIXNET_REPLY_DATA = 0,
    MIXNET_REPLY_SURB_REQUEST = 1, /* Recipient ‖ amount u32 BE */
} mixnet_reply_content;

/* Reply SURBs as a Repliable message carries them: count SURBs of surb_len
 * bytes each, back to back. V2 lists (tags 3..5) share hops and rotation;
 * V1 lists (tags 0..2) hold 4-hop SURBs with full keys and no rotation. */
typedef struct {
    const uint8_t *surbs;
    size_t count;
    size_t surb_len;
    uint8_t hops;
    nym_key_rotation rotation;
} mixnet_surb_list;

/* A parsed or to-be-encoded NymMessage. Pointers refer to the caller's
 * buffers: parsing copies nothing. */
typedef struct {
    mixnet_message_type type;
    uint8_t content;                             /* a repliable or reply content tag */
    uint8_t sender_tag[MIXNET_SENDER_TAG_LEN];   /* repliable */
    mixnet_surb_list surbs;                      /* repliable */
    mixnet_recipient surb_requester;             /* reply SURB request: who asks */
    uint32_t surb_request_amount;                /* reply SURB request: how many */
    const uint8_t *data;                         /* plain, repliable data, reply data */
    size_t data_len;
} mixnet_message;

/* Every SURB in a list is decoded once to check it. */
int mixnet_message_parse(mixnet_message *m, const uint8_t *in, size_t len);
size_t mixnet_message_encoded_len(const mixnet_message *m);
int mixnet_message_encode(const mixnet_message *m, uint8_t *out, size_t out_cap);

/* --- padding and fragments */

/* One fragment: a 7-byte header (set id with its top bit set, total,
 * position, 0) or a 10-byte linked one, then a chunk of the padded message. */
typedef struct {
    uint32_t set_id;          /* 1 .. 2^31 - 1 */
    uint8_t total;            /* fragments in this set */
    uint8_t position;         /* 1-based */
    uint32_t previous_set_id; /* 0 for none; only on position 1 */
    uint32_t next_set_id;     /* 0 for none; only on position 255 of 255 */
    const uint8_t *chunk;
    size_t chunk_len;
} mixnet_fragment;

int mixnet_fragment_parse(mixnet_fragment *f, const uint8_t *in, size_t len);
/* The fragment identifier an ack carries; all zero for loop cover. */
void mixnet_fragment_id_encode(uint8_t out[MIXNET_FRAGMENT_ID_LEN], uint32_t set_id, uint8_t position);
void mixnet_fragment_id_decode(const uint8_t id[MIXNET_FRAGMENT_ID_LEN], uint32_t *set_id, uint8_t *position);

/* A NymMessage of message_len bytes is padded with 0x01 and zeros so that
 * its fragments of fragment_len bytes (header included) are all full. */
size_t mixnet_padded_len(size_t message_len, size_t fragment_len);
/* Writes the padding after the message_len bytes at the start of buf. */
void mixnet_pad(uint8_t *buf, size_t message_len, size_t padded_len);
/* The message length before the last 0x01. */
int mixnet_unpad(const uint8_t *padded, size_t len, size_t *message_len);

/* How a padded message splits: into sets of at most 255 fragments, linked
 * to each other when there is more than one. */
size_t mixnet_set_count(size_t padded_len, size_t fragment_len);
size_t mixnet_fragment_count(size_t padded_len, size_t fragment_len);
/* A fresh set id: random, 1 .. 2^31 - 1. */
uint32_t mixnet_set_id_random(void);
/* Fragment `index` (0-based over the whole message) of a padded message
 * whose sets have the ids set_ids[0 .. mixnet_set_count): writes header ‖
 * chunk to out and returns its length; f (may be NULL) describes it. */
int mixnet_fragment_build(uint8_t *out, size_t out_cap, const uint8_t *padded, size_t padded_len, size_t fragment_len,
                          const uint32_t *set_ids, size_t index, mixnet_fragment *f);

/* --- reassembly: fragments in any order, duplicates, linked sets */

typedef struct mixnet_reassembler mixnet_reassembler;

typedef enum {
    MIXNET_FRAGMENT_STORED = 0,    /* kept; the message is not complete yet */
    MIXNET_FRAGMENT_COMPLETED = 1, /* the last missing piece: the padded message is handed over */
    MIXNET_FRAGMENT_DUPLICATE = 2, /* already held, or of a message completed recently: dropped */
} mixnet_fragment_status;

/* max_buffered_bytes bounds what incomplete sets may hold (the oldest go first). */
mixnet_reassembler *mixnet_reassembler_create(size_t max_buffered_bytes);
void mixnet_reassembler_destroy(mixnet_reassembler *r);
/* On MIXNET_FRAGMENT_COMPLETED, *message (malloc'd, the caller frees it)
 * holds the padded message of all linked sets in order. */
int mixnet_reassembler_insert(mixnet_reassembler *r, const mixnet_fragment *f, uint64_t now_ns, uint8_t **message,
                              size_t *message_len);
/* Drops incomplete sets that received nothing for max_idle_ns. */
void mixnet_reassembler_purge_stale(mixnet_reassembler *r, uint64_t now_ns, uint64_t max_idle_ns);
/* The memory incomplete sets hold, bookkeeping included. */
size_t mixnet_reassembler_buffered_bytes(const mixnet_reassembler *r);

/* --- end-to-end encryption and the Sphinx plaintext ("NymPayload") */

/* The 16-byte AES-128-CTR key of one fragment: HKDF over HMAC-BLAKE3 of
 * the X25519 output, no salt, no info. */
void mixnet_e2e_key(uint8_t key[AES128_KEY_LEN], const uint8_t own_secret[MIXNET_KEY_LEN],
                    const uint8_t peer_public[MIXNET_KEY_LEN]);

/* NymPayload = SURB-ack (405) ‖ key field (32) ‖ AES-128-CTR(fragment).
 * payload_len = fragment_len + 437. Regular: a fresh ephemeral X25519 key
 * against the recipient's encryption key. Reply: BLAKE3 of the SURB key,
 * encrypted with the SURB key. Cover: the cover text to ourselves. */
int mixnet_payload_build_regular(uint8_t *payload, size_t payload_len, const uint8_t surb_ack[MIXNET_SURB_ACK_LEN],
                                 const uint8_t recipient_key[MIXNET_KEY_LEN], const uint8_t *fragment,
                                 size_t fragment_len);
int mixnet_payload_build_reply(uint8_t *payload, size_t payload_len, const uint8_t surb_ack[MIXNET_SURB_ACK_LEN],
                               const uint8_t surb_key[MIXNET_SURB_KEY_LEN], const uint8_t *fragment,
                               size_t fragment_len);
int mixnet_payload_build_cover(uint8_t *payload, size_t payload_len, const uint8_t surb_ack[MIXNET_SURB_ACK_LEN],
                               const uint8_t own_key[MIXNET_KEY_LEN]);

/* What a gateway pushes (the payload without its SURB-ack): decrypts in
 * place after the 32-byte key field; the fragment starts at offset 32. */
int mixnet_pushed_open_regular(uint8_t *message, size_t len, const uint8_t own_secret[MIXNET_KEY_LEN]);
int mixnet_pushed_open_reply(uint8_t *message, size_t len, const uint8_t surb_key[MIXNET_SURB_KEY_LEN]);
/* A decrypted loop cover starts with "The cake is a lie!". */
bool mixnet_is_cover(const uint8_t *plaintext, size_t len);

/* The BLAKE3 digest that names a reply SURB key in a reply. */
void mixnet_surb_key_digest(uint8_t digest[BLAKE3_LEN], const uint8_t key[MIXNET_SURB_KEY_LEN]);

/* --- acknowledgements */

/* An ack's plaintext: a random IV, then the fragment id under AES-128-CTR. */
void mixnet_ack_encrypt(uint8_t out[MIXNET_ACK_LEN], const uint8_t ack_key[MIXNET_ACK_KEY_LEN],
                        const uint8_t fragment_id[MIXNET_FRAGMENT_ID_LEN]);
int mixnet_ack_decrypt(uint8_t fragment_id[MIXNET_FRAGMENT_ID_LEN], const uint8_t ack_key[MIXNET_ACK_KEY_LEN],
                       const uint8_t *in, size_t len);

/* --- topology, routes and delays */

typedef struct {
    uint8_t identity[MIXNET_KEY_LEN]; /* Ed25519; what recipients name gateways by */
    sphinx_hop hop;                   /* mix address (padded to 32) and X25519 Sphinx key */
} mixnet_node;

typedef struct {
    const mixnet_node *layers[MIXNET_MIX_LAYERS];
    size_t layer_len[MIXNET_MIX_LAYERS];
    const mixnet_node *gateways;
    size_t gateway_count;
    nym_key_rotation rotation; /* carried by every packet built from this view */
} mixnet_topology;

/* A random mix from each layer, then the gateway with that identity. */
int mixnet_route_choose(sphinx_hop route[MIXNET_ROUTE_HOPS], const mixnet_topology *t,
                        const uint8_t gateway_identity[MIXNET_KEY_LEN]);
/* Exponentially distributed, mean mean_ns (0 gives 0), from random_bytes. */
uint64_t mixnet_exponential_ns(uint64_t mean_ns);
/* A delay for each hop of a route; *mix_total_ns is what the three mixes
 * add up to (a gateway never holds a packet). */
void mixnet_delays_sample(uint64_t delays[MIXNET_ROUTE_HOPS], uint64_t mean_ns, uint64_t *mix_total_ns);

/* The SURB-ack field of a packet: first hop (padded to 19) ‖ a 386-byte
 * Ack-class packet to our own identity over route, carrying fragment_id
 * encrypted with the ack key. *expected_delay_ns: the mix delays on its way. */
int mixnet_surb_ack_build(uint8_t out[MIXNET_SURB_ACK_LEN], uint64_t *expected_delay_ns,
                          const sphinx_hop route[MIXNET_ROUTE_HOPS], const uint8_t own_identity[MIXNET_KEY_LEN],
                          const uint8_t ack_key[MIXNET_ACK_KEY_LEN], const uint8_t fragment_id[MIXNET_FRAGMENT_ID_LEN],
                          uint64_t average_delay_ns);

/* --- node-side processing, for the local network */

/* nym-node holds a packet no longer than this, whatever its header says. */
#define MIXNET_MAX_FORWARD_DELAY_NS 10000000000ull

typedef struct {
    sphinx_hop_kind kind;
    uint8_t replay_tag[SPHINX_REPLAY_TAG_LEN]; /* for the caller's replay filter */
    /* forward hop: the packet for the next node (in the caller's buffer), and how long to hold it */
    nym_mix_packet forward;
    uint64_t delay_ns;
    /* final hop: the client to push to (its identity) and what to push */
    uint8_t destination[SPHINX_DESTINATION_LEN];
    const uint8_t *client_message;
    size_t client_message_len;
    /* final hop of a non-Ack packet: the SURB-ack, to forward at once */
    bool has_ack;
    nym_mix_packet ack;
} mixnet_node_result;

/* Processes a packet in place at a node holding node_secret. Packets keep
 * their type and key rotation on the way. A Regular (or larger) packet's
 * final hop splits off the SURB-ack; an Ack packet delivers its 21 bytes. */
int mixnet_node_process(mixnet_node_result *r, uint8_t *packet, size_t packet_len,
                        const uint8_t node_secret[MIXNET_KEY_LEN], uint8_t packet_type, nym_key_rotation rotation);

/* --- reply keys (original sender): BLAKE3(key) -> key, each used once */

typedef struct mixnet_reply_keys mixnet_reply_keys;

mixnet_reply_keys *mixnet_reply_keys_create(void);
void mixnet_reply_keys_destroy(mixnet_reply_keys *k);
int mixnet_reply_keys_insert(mixnet_reply_keys *k, const uint8_t key[MIXNET_SURB_KEY_LEN], uint64_t now_ns);
/* Finds the key whose digest is given and forgets it. */
bool mixnet_reply_keys_take(mixnet_reply_keys *k, const uint8_t digest[BLAKE3_LEN], uint8_t key[MIXNET_SURB_KEY_LEN]);
void mixnet_reply_keys_purge(mixnet_reply_keys *k, uint64_t now_ns, uint64_t max_age_ns);
size_t mixnet_reply_keys_count(const mixnet_reply_keys *k);

/* --- reply SURBs received (replier): per sender tag, oldest first */

typedef struct mixnet_surb_store mixnet_surb_store;

mixnet_surb_store *mixnet_surb_store_create(void);
void mixnet_surb_store_destroy(mixnet_surb_store *s);
/* Stores every SURB of a parsed list under tag. */
int mixnet_surb_store_add(mixnet_surb_store *s, const uint8_t tag[MIXNET_SENDER_TAG_LEN], const mixnet_surb_list *list,
                          uint64_t now_ns);
size_t mixnet_surb_store_count(const mixnet_surb_store *s, const uint8_t tag[MIXNET_SENDER_TAG_LEN]);
bool mixnet_surb_store_knows(const mixnet_surb_store *s, const uint8_t tag[MIXNET_SENDER_TAG_LEN]);
/* When SURBs last arrived for tag (0 if never). */
uint64_t mixnet_surb_store_last_received_ns(const mixnet_surb_store *s, const uint8_t tag[MIXNET_SENDER_TAG_LEN]);
/* Takes the oldest SURB for tag: writes its encoding, returns its length. */
int mixnet_surb_store_take(mixnet_surb_store *s, const uint8_t tag[MIXNET_SENDER_TAG_LEN], uint8_t *out,
                           size_t out_cap, nym_key_rotation *rotation);

/* --- the client */

typedef struct {
    uint64_t average_packet_delay_ns;          /* per mix hop; 15 ms */
    uint64_t average_ack_delay_ns;             /* per mix hop of a SURB-ack; 15 ms */
    uint64_t message_sending_average_delay_ns; /* gaps of the main Poisson stream; 20 ms */
    uint64_t loop_cover_average_delay_ns;      /* gaps of the loop cover stream; 200 ms */
    bool disable_poisson_traffic;              /* send real packets at once; no cover in the main stream */
    bool disable_cover_traffic;                /* no loop cover stream */
    double ack_wait_multiplier;                /* retransmit after round trip × this + addition; 1.5 */
    uint64_t ack_wait_addition_ns;             /* 1.5 s */
    uint32_t maximum_retransmissions;          /* MIXNET_UNLIMITED by default */
    uint64_t incomplete_message_timeout_ns;    /* 30 min without a new fragment */
    size_t max_reassembly_bytes;               /* what incomplete messages may hold; 64 MiB */
    /* replier side: SURBs kept back for SURB requests, and how to ask for more */
    uint32_t reply_surb_reserve;               /* 10 */
    uint32_t reply_surb_request_buffer;        /* asked for beyond the queue; 0 */
    uint32_t reply_surb_request_min;           /* 10 */
    uint32_t reply_surb_request_max;           /* 50 */
    uint32_t reply_surb_stock_max;             /* ask for no more once this many are held or coming; 200 */
    uint64_t reply_surb_rerequest_wait_ns;     /* ask again after this long without SURBs; 10 s */
    uint64_t reply_surb_drop_wait_ns;          /* give up on queued replies after this; 5 min */
    uint32_t reply_surb_rerequests_max;        /* 5 */
    uint32_t surb_request_retransmissions;     /* for our own SURB requests; 10 */
    /* original sender side */
    uint32_t surb_request_honoured_max;        /* SURBs given per request; 500, built 24 at a time */
    uint64_t reply_key_max_age_ns;             /* 24 h */
} mixnet_client_config;

#define MIXNET_UNLIMITED UINT32_MAX

void mixnet_client_config_default(mixnet_client_config *c);

typedef struct {
    uint8_t identity[MIXNET_KEY_LEN];          /* our Ed25519 public key */
    uint8_t encryption_secret[MIXNET_KEY_LEN]; /* our X25519 secret */
    uint8_t ack_key[MIXNET_ACK_KEY_LEN];
    uint8_t gateway[MIXNET_KEY_LEN];           /* our gateway's identity */
} mixnet_client_keys;

typedef struct {
    mixnet_message_type type;
    const uint8_t *sender_tag; /* repliable: answer with mixnet_client_send_reply; else NULL */
    const uint8_t *data;
    size_t len;
} mixnet_received;

/* deliver and message_sent may send messages from inside; no callback may
 * destroy the client. */
typedef struct {
    void *ctx;
    /* A packet for our gateway, valid during the call only. Must not call
     * back into the client. */
    void (*send_packet)(void *ctx, const nym_mix_packet *packet);
    /* A whole message for the application. */
    void (*deliver)(void *ctx, const mixnet_received *message);
    /* Optional: every fragment of a message was acknowledged (acknowledged
     * = true), or one ran out of retransmissions or reply SURBs (false). */
    void (*message_sent)(void *ctx, uint64_t message_id, bool acknowledged);
} mixnet_client_callbacks;

typedef struct {
    uint64_t real_packets_sent;
    uint64_t cover_packets_sent;
    uint64_t retransmissions;
    uint64_t acks_received;          /* of real fragments */
    uint64_t cover_acks_received;
    uint64_t cover_packets_received;
    uint64_t fragments_received;     /* real ones, duplicates included */
    uint64_t messages_delivered;
    uint64_t invalid_received;       /* what failed to decrypt or parse */
    uint64_t surb_requests_sent;
    uint64_t surb_requests_answered;
    size_t fragments_unacknowledged; /* sent or queued, not acknowledged yet */
    size_t reply_surbs_outstanding;  /* SURBs given out whose replies have not come back (nor expired) */
    size_t surbs_owed;               /* SURBs repliers asked for, not built yet */
    uint64_t round_trip_ns;          /* from a fragment's send to its ack, smoothed; 0 before the first */
} mixnet_client_stats;

typedef struct mixnet_client mixnet_client;

mixnet_client *mixnet_client_create(const mixnet_client_config *config, const mixnet_client_keys *keys,
                                    const mixnet_client_callbacks *callbacks, uint64_t now_ns);
void mixnet_client_destroy(mixnet_client *c);
/* Our own address, as others send to us. */
void mixnet_client_address(const mixnet_client *c, mixnet_recipient *out);
/* Copies the topology; routes of later packets come from it. */
int mixnet_client_set_topology(mixnet_client *c, const mixnet_topology *t);

/* Queues a message; *message_id (may be NULL) names it in message_sent. */
int mixnet_client_send_plain(mixnet_client *c, const mixnet_recipient *to, const uint8_t *data, size_t len,
                             uint64_t now_ns, uint64_t *message_id);
/* How many reply SURBs a repliable message with len bytes of data can
 * carry and still be one packet (0 when even none leave it one packet):
 * room its padding would otherwise fill with zeros. */
uint32_t mixnet_repliable_surbs_fitting(size_t len);
/* A message the recipient can answer without learning who we are: our
 * sender tag for `to`, and reply_surbs fresh reply SURBs. */
int mixnet_client_send_repliable(mixnet_client *c, const mixnet_recipient *to, const uint8_t *data, size_t len,
                                 uint32_t reply_surbs, uint64_t now_ns, uint64_t *message_id);
/* An answer through the SURBs that sender_tag's owner gave us (one per
 * fragment); what the SURBs cannot carry yet waits, and more are asked for. */
int mixnet_client_send_reply(mixnet_client *c, const uint8_t sender_tag[MIXNET_SENDER_TAG_LEN], const uint8_t *data,
                             size_t len, uint64_t now_ns, uint64_t *message_id);

/* What our gateway pushed to us: a 21-byte ack or a 1643-byte message.
 * Bytes that decrypt to no fragment give MIXNET_ERR_MALFORMED; acks that
 * match nothing (late copies) and duplicate fragments are no error. */
int mixnet_client_receive(mixnet_client *c, const uint8_t *pushed, size_t len, uint64_t now_ns);

/* When the client next wants mixnet_client_process_deadlines (UINT64_MAX: never). */
uint64_t mixnet_client_next_deadline_ns(const mixnet_client *c);
/* Runs what is due at now_ns: Poisson and cover ticks, retransmissions, housekeeping. */
void mixnet_client_process_deadlines(mixnet_client *c, uint64_t now_ns);

void mixnet_client_stats_get(const mixnet_client *c, mixnet_client_stats *out);

#endif
