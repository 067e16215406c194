/* Nym framing around Sphinx packets: size classes, node addresses, the
 * client-to-gateway MixPacket and the node-to-node stream frame. */
#include "sphinx/sphinx.h"

#include <string.h>

static const struct {
    nym_packet_size size;
    size_t len;
} PACKET_SIZES[] = {
    {NYM_PACKET_REGULAR, NYM_REGULAR_PACKET_LEN}, {NYM_PACKET_ACK, NYM_ACK_PACKET_LEN},
    {NYM_PACKET_EXTENDED32, 33133},               {NYM_PACKET_EXTENDED8, 8557},
    {NYM_PACKET_EXTENDED16, 16749},
};

size_t nym_packet_size_len(nym_packet_size size)
{
    for (size_t i = 0; i < sizeof PACKET_SIZES / sizeof PACKET_SIZES[0]; i++)
        if (PACKET_SIZES[i].size == size) return PACKET_SIZES[i].len;
    return 0;
}

nym_packet_size nym_packet_size_of_len(size_t len)
{
    for (size_t i = 0; i < sizeof PACKET_SIZES / sizeof PACKET_SIZES[0]; i++)
        if (PACKET_SIZES[i].len == len) return PACKET_SIZES[i].size;
    return 0;
}

static size_t node_address_len(uint8_t family)
{
    return family == 4 ? 7 : family == 6 ? 19 : 0;
}

int nym_node_address_encode(const nym_node_address *addr, uint8_t *out, size_t out_cap)
{
    size_t len = node_address_len(addr->family);
    if (len == 0) return SPHINX_ERR_ADDRESS;
    if (out_cap < len) return SPHINX_ERR_LENGTH;
    out[0] = addr->family == 4 ? 0x04 : 0x06;
    out[1] = (uint8_t)(addr->port >> 8);
    out[2] = (uint8_t)addr->port;
    memcpy(out + 3, addr->ip, len - 3);
    return (int)len;
}

int nym_node_address_encode_padded(const nym_node_address *addr, uint8_t *out, size_t padded_len)
{
    int len = nym_node_address_encode(addr, out, padded_len);
    if (len < 0) return len;
    memset(out + len, 0, padded_len - (size_t)len);
    return (int)padded_len;
}

int nym_node_address_decode(nym_node_address *addr, const uint8_t *in, size_t len)
{
    if (len < 1) return SPHINX_ERR_LENGTH;
    uint8_t family = in[0] == 0x04 ? 4 : in[0] == 0x06 ? 6 : 0;
    size_t need = node_address_len(family);
    if (need == 0) return SPHINX_ERR_ADDRESS;
    if (len < need) return SPHINX_ERR_LENGTH;
    memset(addr, 0, sizeof *addr);
    addr->family = family;
    addr->port = (uint16_t)(in[1] << 8 | in[2]);
    memcpy(addr->ip, in + 3, need - 3);
    return (int)need;
}

nym_key_rotation nym_key_rotation_of_id(uint32_t rotation_id)
{
    if (rotation_id == 0 || rotation_id == UINT32_MAX) return NYM_ROTATION_UNKNOWN;
    return rotation_id % 2 == 0 ? NYM_ROTATION_EVEN : NYM_ROTATION_ODD;
}

static bool rotation_is_valid(uint8_t rotation)
{
    return rotation <= NYM_ROTATION_EVEN;
}

int nym_mix_packet_encode(const nym_mix_packet *mp, uint8_t *out, size_t out_cap)
{
    if (out_cap < 2) return SPHINX_ERR_LENGTH;
    out[0] = mp->packet_type;
    out[1] = (uint8_t)mp->rotation;
    int addr_len = nym_node_address_encode(&mp->next_hop, out + 2, out_cap - 2);
    if (addr_len < 0) return addr_len;
    size_t header_len = 2 + (size_t)addr_len;
    if (out_cap - header_len < mp->packet_len) return SPHINX_ERR_LENGTH;
    memmove(out + header_len, mp->packet, mp->packet_len);
    return (int)(header_len + mp->packet_len);
}

int nym_mix_packet_decode(nym_mix_packet *mp, const uint8_t *in, size_t len)
{
    if (len < 2) return SPHINX_ERR_LENGTH;
    if (in[0] != NYM_PACKET_TYPE_SPHINX || !rotation_is_valid(in[1])) return SPHINX_ERR_ROUTING;
    nym_node_address next_hop;
    int addr_len = nym_node_address_decode(&next_hop, in + 2, len - 2);
    if (addr_len < 0) return addr_len;
    size_t packet_len = len - 2 - (size_t)addr_len;
    if (nym_packet_size_of_len(packet_len) == 0) return SPHINX_ERR_LENGTH;
    mp->next_hop = next_hop;
    mp->packet_type = in[0];
    mp->rotation = (nym_key_rotation)in[1];
    mp->packet = in + 2 + addr_len;
    mp->packet_len = packet_len;
    return 0;
}

static size_t frame_header_len(uint8_t frame_version)
{
    return frame_version == NYM_FRAME_VERSION_LEGACY ? 3 : 4;
}

int nym_frame_header_encode(uint8_t frame_version, const nym_mix_packet *mp, uint8_t *out, size_t out_cap)
{
    nym_packet_size size = nym_packet_size_of_len(mp->packet_len);
    if (size == 0) return SPHINX_ERR_LENGTH;
    if (frame_version != NYM_FRAME_VERSION_LEGACY && frame_version != NYM_FRAME_VERSION_CURRENT)
        return SPHINX_ERR_UNSUPPORTED;
    size_t len = frame_header_len(frame_version);
    if (out_cap < len) return SPHINX_ERR_LENGTH;
    out[0] = frame_version;
    out[1] = (uint8_t)size;
    out[2] = mp->packet_type;
    if (frame_version == NYM_FRAME_VERSION_CURRENT) out[3] = (uint8_t)mp->rotation;
    return (int)len;
}

int nym_frame_decode(nym_mix_packet *mp, const uint8_t *in, size_t len)
{
    if (len < 1) return 0;
    uint8_t version = in[0];
    if (version != NYM_FRAME_VERSION_LEGACY && version != NYM_FRAME_VERSION_CURRENT)
        return SPHINX_ERR_UNSUPPORTED;
    size_t header_len = frame_header_len(version);
    if (len < header_len) return 0;
    size_t packet_len = nym_packet_size_len((nym_packet_size)in[1]);
    if (packet_len == 0) return SPHINX_ERR_LENGTH;
    if (in[2] != NYM_PACKET_TYPE_SPHINX) return SPHINX_ERR_ROUTING;
    uint8_t rotation = version == NYM_FRAME_VERSION_CURRENT ? in[3] : NYM_ROTATION_UNKNOWN;
    if (!rotation_is_valid(rotation)) return SPHINX_ERR_ROUTING;
    if (len - header_len < packet_len) return 0;
    memset(&mp->next_hop, 0, sizeof mp->next_hop);
    mp->packet_type = in[2];
    mp->rotation = (nym_key_rotation)rotation;
    mp->packet = in + header_len;
    mp->packet_len = packet_len;
    return (int)(header_len + packet_len);
}
