/* Vectors of the message layer, captured from the published client
 * (see mixnet_vectors.c). Byte strings are hex. */
#ifndef MIX_TEST_MIXNET_VECTORS_H
#define MIX_TEST_MIXNET_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#define VECTOR_PUSHED_FRAGMENTS 4
#define VECTOR_REASSEMBLED 3
#define VECTOR_IPR_REPLIES 2
#define VECTOR_ROUTE_HOPS 4

/* the IPR: its address, and the keys its messages were encrypted to */
extern const char *const vector_ipr_address;
extern const char *const vector_ipr_identity_hex;
extern const char *const vector_ipr_encryption_public_hex;
extern const char *const vector_ipr_encryption_secret_hex;
extern const char *const vector_ipr_gateway_hex;

/* a message as the IPR's gateway pushed it: ephemeral key ‖ encrypted fragment */
typedef struct {
    const char *message_hex;
    const char *e2e_key_hex;
    uint32_t set_id;
    uint8_t total, position;
} vector_pushed_fragment;
extern const vector_pushed_fragment vector_pushed_fragments[VECTOR_PUSHED_FRAGMENTS];

/* whole NymMessages after reassembly and un-padding; the first two are
 * made of the pushed fragments above (3 + 1), the third only parses */
typedef struct {
    uint32_t set_id;
    size_t fragments;
    size_t padded_len;
    size_t surb_count;
    uint8_t surb_rotation;
    const char *sender_tag_hex;
    const char *data_hex;
    const char *nym_message_hex;
} vector_reassembled;
extern const vector_reassembled vector_reassembled_messages[VECTOR_REASSEMBLED];

/* the IPR's Connect reply: NymMessage 02 00 ‖ LP frame, sent in one fragment through one SURB */
typedef struct {
    uint32_t set_id;
    const char *lp_frame_hex;
    const char *reply_surb_hex;
    const char *payload_after_ack_hex; /* NymPayload[405..2048): key digest ‖ encrypted fragment */
    const char *first_hop_hex;
    const char *sphinx_packet_hex;
} vector_ipr_reply;
extern const vector_ipr_reply vector_ipr_replies[VECTOR_IPR_REPLIES];

/* the nodes of the captured network: layers 1..3, then the gateway */
extern const char *const vector_node_secrets_hex[VECTOR_ROUTE_HOPS];
extern const char *const vector_node_publics_hex[VECTOR_ROUTE_HOPS];
extern const char *const vector_node_addresses_hex[VECTOR_ROUTE_HOPS];
/* the browser client's identity (its private keys are unknown) */
extern const char *const vector_client_identity_hex;

/* a packet through the four nodes: what each mix hop found */
typedef struct {
    const char *next_hop_hex; /* 7-byte node address */
    uint64_t delay_ns;
    const char *replay_tag_hex; /* NULL where not captured */
} vector_forward_hop;

typedef struct {
    const char *packet_hex;
    vector_forward_hop hops[VECTOR_ROUTE_HOPS - 1];
    const char *destination_hex;
} vector_journey;

extern const vector_journey vector_packet_to_ipr;
extern const vector_journey vector_ack_of_packet_to_ipr;
extern const char *const vector_ack_of_packet_to_ipr_plaintext_hex;
extern const vector_journey vector_loop_cover;
extern const vector_journey vector_ack_of_loop_cover;

#endif
