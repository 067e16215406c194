/* The Sphinx layer: Sphinx packets as sphinx-packet 0.6.0 builds and
 * processes them (versions 258 and 259), single-use reply blocks (SURBs), and
 * the Nym framing around packets: size classes, node addresses, the
 * client-to-gateway MixPacket and the node-to-node frame.
 * Functions return 0 (or a length) on success and a negative sphinx_error. */
#ifndef MIX_SPHINX_H
#define MIX_SPHINX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPHINX_ALPHA_LEN 32
#define SPHINX_MAC_LEN 16
#define SPHINX_ROUTING_INFO_LEN 300
#define SPHINX_HEADER_LEN 348
#define SPHINX_NODE_ADDRESS_LEN 32
#define SPHINX_DESTINATION_LEN 32
#define SPHINX_IDENTIFIER_LEN 16
#define SPHINX_REPLAY_TAG_LEN 32
#define SPHINX_MAX_HOPS 5
#define SPHINX_PAYLOAD_OVERHEAD 17 /* 16 zero bytes, then 0x01 after the message */
#define SPHINX_PACKET_OVERHEAD (SPHINX_HEADER_LEN + SPHINX_PAYLOAD_OVERHEAD)
#define SPHINX_PAYLOAD_KEY_LEN 192
#define SPHINX_PAYLOAD_SEED_LEN 16
#define SPHINX_EXPANDED_SECRET_LEN 288

/* Versions in use: cover traffic sends 258 (explicit payload keys), data,
 * acks and reply SURBs 259 (payload keys from 16-byte seeds). */
#define SPHINX_VERSION_EXPLICIT_KEYS 258
#define SPHINX_VERSION_KEY_SEEDS 259

typedef enum {
    SPHINX_ERR_LENGTH = -1,      /* a buffer or field has the wrong size */
    SPHINX_ERR_MAC = -2,         /* header integrity check failed */
    SPHINX_ERR_ROUTING = -3,     /* routing information is malformed */
    SPHINX_ERR_PAYLOAD = -4,     /* payload did not decrypt to a valid frame */
    SPHINX_ERR_UNSUPPORTED = -5, /* a legacy version (1, 257) or a route of the wrong length */
    SPHINX_ERR_ADDRESS = -6,     /* a node address that does not parse */
} sphinx_error;

/* One hop of a route: where it is (a node address zero-padded to 32 bytes,
 * see nym_node_address) and its X25519 Sphinx public key. */
typedef struct {
    uint8_t address[SPHINX_NODE_ADDRESS_LEN];
    uint8_t public_key[32];
} sphinx_hop;

/* The 288-byte HKDF-SHA256 expansion of a hop's shared secret. */
void sphinx_expand_shared_secret(uint8_t expanded[SPHINX_EXPANDED_SECRET_LEN], const uint8_t shared_secret[32]);

/* Builds a packet of packet_len bytes (the payload is packet_len - 348)
 * carrying message to destination (32 bytes, the SURB identifier is zero)
 * over route[0..hops). delays_ns[i] is how long hop i holds the packet (the
 * last one is not encoded). initial_secret may be NULL for a random one. */
int sphinx_packet_build(uint8_t *packet, size_t packet_len, const uint8_t *message, size_t message_len,
                        const sphinx_hop *route, size_t hops, const uint8_t destination[SPHINX_DESTINATION_LEN],
                        const uint64_t *delays_ns, uint16_t version, const uint8_t *initial_secret);

typedef enum { SPHINX_HOP_FORWARD, SPHINX_HOP_FINAL } sphinx_hop_kind;

typedef struct {
    sphinx_hop_kind kind;
    uint16_t version;
    uint8_t replay_tag[SPHINX_REPLAY_TAG_LEN];
    /* forward hop */
    uint8_t next_address[SPHINX_NODE_ADDRESS_LEN];
    uint64_t delay_ns;
    /* final hop */
    uint8_t destination[SPHINX_DESTINATION_LEN];
    uint8_t identifier[SPHINX_IDENTIFIER_LEN];
    size_t message_offset; /* the message is packet[message_offset .. + message_len) */
    size_t message_len;
} sphinx_processed;

/* Processes a packet at a node holding node_secret, in place: a forward hop
 * leaves the packet for the next hop in the buffer, a final hop leaves the
 * recovered message in it. Legacy versions 1 and 257 are refused. */
int sphinx_packet_process(uint8_t *packet, size_t packet_len, const uint8_t node_secret[32],
                          sphinx_processed *result);

/* A single-use reply block: a prepared header, the first hop, and the
 * payload key material of every hop (16-byte seeds for version 259, else
 * full 192-byte keys). */
typedef struct {
    uint8_t header[SPHINX_HEADER_LEN];
    uint8_t first_hop[SPHINX_NODE_ADDRESS_LEN];
    uint8_t key_material[SPHINX_MAX_HOPS * SPHINX_PAYLOAD_KEY_LEN];
    uint8_t hops;
    bool uses_seeds;
} sphinx_surb;

int sphinx_surb_build(sphinx_surb *surb, const sphinx_hop *route, size_t hops,
                      const uint8_t destination[SPHINX_DESTINATION_LEN], const uint64_t *delays_ns, uint16_t version,
                      const uint8_t *initial_secret);
/* header ‖ first hop ‖ key material; returns the length written. */
int sphinx_surb_encode(const sphinx_surb *surb, uint8_t *out, size_t out_cap);
size_t sphinx_surb_encoded_len(const sphinx_surb *surb);
int sphinx_surb_decode(sphinx_surb *surb, const uint8_t *in, size_t len);
/* Builds the reply packet (header of the SURB, payload layered with its keys). */
int sphinx_surb_use(const sphinx_surb *surb, uint8_t *packet, size_t packet_len, const uint8_t *message,
                    size_t message_len);

/* Nym packet size classes (the tag byte of the node-to-node frame). */
typedef enum {
    NYM_PACKET_REGULAR = 1,
    NYM_PACKET_ACK = 2,
    NYM_PACKET_EXTENDED32 = 3,
    NYM_PACKET_EXTENDED8 = 4,
    NYM_PACKET_EXTENDED16 = 5,
} nym_packet_size;

#define NYM_REGULAR_PACKET_LEN 2413
#define NYM_ACK_PACKET_LEN 386

/* Total packet bytes of a class, or 0 for an unknown tag. */
size_t nym_packet_size_len(nym_packet_size size);
/* The Sphinx class of a total packet length, or 0 when none matches. */
nym_packet_size nym_packet_size_of_len(size_t len);

/* A node's mix socket address: the routing address inside Sphinx headers. */
typedef struct {
    uint8_t family; /* 4 or 6 */
    uint16_t port;
    uint8_t ip[16]; /* 4 bytes used for IPv4 */
} nym_node_address;

#define NYM_NODE_ADDRESS_MAX_LEN 19 /* 0x06 ‖ port ‖ 16-byte IPv6 */

/* Unpadded encoding (7 or 19 bytes); returns the length, or an error when
 * out_cap is too small. */
int nym_node_address_encode(const nym_node_address *addr, uint8_t *out, size_t out_cap);
/* Encoding zero-padded to exactly padded_len bytes (32 in headers, 19 in acks). */
int nym_node_address_encode_padded(const nym_node_address *addr, uint8_t *out, size_t padded_len);
/* Parses from the start of in; returns the bytes consumed (7 or 19). */
int nym_node_address_decode(nym_node_address *addr, const uint8_t *in, size_t len);

/* Key rotation byte carried with packets. */
typedef enum { NYM_ROTATION_UNKNOWN = 0, NYM_ROTATION_ODD = 1, NYM_ROTATION_EVEN = 2 } nym_key_rotation;
nym_key_rotation nym_key_rotation_of_id(uint32_t rotation_id);

#define NYM_PACKET_TYPE_SPHINX 0

/* A packet with where it goes next, as the client hands it to its gateway
 * and as nodes pass it on. packet points into the buffer it was decoded from. */
typedef struct {
    nym_node_address next_hop;
    uint8_t packet_type;
    nym_key_rotation rotation;
    const uint8_t *packet;
    size_t packet_len;
} nym_mix_packet;

/* Client-to-gateway plaintext, version 2: type ‖ rotation ‖ next hop ‖ packet. */
int nym_mix_packet_encode(const nym_mix_packet *mp, uint8_t *out, size_t out_cap);
int nym_mix_packet_decode(nym_mix_packet *mp, const uint8_t *in, size_t len);

/* Node-to-node frame: version (7 without, 8 with a rotation byte) ‖ size
 * tag ‖ type ‖ [rotation] ‖ packet. */
#define NYM_FRAME_VERSION_LEGACY 7
#define NYM_FRAME_VERSION_CURRENT 8
#define NYM_FRAME_MAX_HEADER_LEN 4

int nym_frame_header_encode(uint8_t frame_version, const nym_mix_packet *mp, uint8_t *out, size_t out_cap);
/* Looks at the start of a byte stream: returns the total frame length when a
 * whole frame is present (and fills mp, whose next_hop is left zeroed), 0
 * when more bytes are needed, or an error for a stream that cannot continue. */
int nym_frame_decode(nym_mix_packet *mp, const uint8_t *in, size_t len);

#endif
