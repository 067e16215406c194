/* Node-side processing: a mix hop passes a packet on after a delay; a
 * gateway's final hop releases the SURB-ack and keeps the message for its
 * client. */
#include "mixnet/mixnet.h"

#include <string.h>

static int process_final_hop(mixnet_node_result *r, uint8_t *packet, size_t packet_len, const sphinx_processed *p,
                             uint8_t packet_type, nym_key_rotation rotation)
{
    memcpy(r->destination, p->destination, SPHINX_DESTINATION_LEN);
    if (p->message_offset > packet_len || p->message_len > packet_len - p->message_offset) return MIXNET_ERR_SPHINX;
    uint8_t *message = packet + p->message_offset;
    if (nym_packet_size_of_len(packet_len) == NYM_PACKET_ACK) {
        r->client_message = message;
        r->client_message_len = p->message_len;
        return 0;
    }
    /* a malformed SURB-ack drops the whole packet, as nym-node does */
    if (p->message_len < MIXNET_SURB_ACK_LEN) return MIXNET_ERR_LENGTH;
    if (nym_node_address_decode(&r->ack.next_hop, message, NYM_NODE_ADDRESS_MAX_LEN) < 0) return MIXNET_ERR_MALFORMED;
    r->has_ack = true;
    r->ack.packet_type = packet_type;
    r->ack.rotation = rotation;
    r->ack.packet = message + NYM_NODE_ADDRESS_MAX_LEN;
    r->ack.packet_len = NYM_ACK_PACKET_LEN;
    r->client_message = message + MIXNET_SURB_ACK_LEN;
    r->client_message_len = p->message_len - MIXNET_SURB_ACK_LEN;
    return 0;
}

int mixnet_node_process(mixnet_node_result *r, uint8_t *packet, size_t packet_len,
                        const uint8_t node_secret[MIXNET_KEY_LEN], uint8_t packet_type, nym_key_rotation rotation)
{
    memset(r, 0, sizeof *r);
    if (nym_packet_size_of_len(packet_len) == 0) return MIXNET_ERR_LENGTH;
    sphinx_processed p;
    if (sphinx_packet_process(packet, packet_len, node_secret, &p) < 0) return MIXNET_ERR_SPHINX;
    r->kind = p.kind;
    memcpy(r->replay_tag, p.replay_tag, SPHINX_REPLAY_TAG_LEN);
    if (p.kind == SPHINX_HOP_FINAL) return process_final_hop(r, packet, packet_len, &p, packet_type, rotation);
    if (nym_node_address_decode(&r->forward.next_hop, p.next_address, SPHINX_NODE_ADDRESS_LEN) < 0)
        return MIXNET_ERR_MALFORMED;
    r->forward.packet_type = packet_type;
    r->forward.rotation = rotation;
    r->forward.packet = packet;
    r->forward.packet_len = packet_len;
    r->delay_ns = p.delay_ns < MIXNET_MAX_FORWARD_DELAY_NS ? p.delay_ns : MIXNET_MAX_FORWARD_DELAY_NS;
    return 0;
}
