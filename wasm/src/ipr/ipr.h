/* The IP Packet Router (IPR) protocol, as the published browser client
 * (smolmix) and the exit's IPR speak it, for both sides:
 *   LP frames      a 16-byte header that names a stream, then the content;
 *   IPR messages   requests and responses in bincode 1.x (big-endian,
 *                  varint integers) with the layout of versions 8, 9 and 10;
 *   bundles        IP packets, each behind a 2-byte big-endian length.
 * A pure codec: no I/O, no allocation. Decoders check every length against
 * the input; decoded byte strings point into it. Encoders write into the
 * caller's buffer; the byte strings they copy must lie outside it, except
 * an LP frame's content, which may already be in place. */
#ifndef MIX_IPR_H
#define MIX_IPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- LP frames ---- */

#define LP_HEADER_LEN 16

/* The frame kind: a u16, little-endian, in bytes 0-1. Only SphinxStream
 * frames carry IPR messages; the attributes of the others are not read,
 * and are written as zeros. */
typedef enum {
    LP_KIND_OPAQUE = 0,
    LP_KIND_REGISTRATION = 1,
    LP_KIND_FORWARD = 2,
    LP_KIND_SPHINX_STREAM = 3,
} lp_frame_kind;

/* A SphinxStream frame's message type. The client opens its stream with an
 * empty Open frame, then sends everything (the Connect included) in Data
 * frames; the IPR only ever sends Data frames. */
typedef enum {
    LP_STREAM_OPEN = 0,
    LP_STREAM_DATA = 1,
} lp_stream_msg_type;

typedef enum {
    LP_OK = 0,
    LP_ERR_SHORT,    /* fewer than LP_HEADER_LEN bytes */
    LP_ERR_KIND,     /* not one of the four kinds */
    LP_ERR_MSG_TYPE, /* a stream frame neither Open nor Data */
} lp_result;

/* The stream fields are meaningful only for LP_KIND_SPHINX_STREAM:
 * bytes 2-9 stream id (BE), 10 message type, 11-14 sequence (BE),
 * 15 reserved (written 0, ignored when read). */
typedef struct {
    lp_frame_kind kind;
    uint64_t stream_id;
    lp_stream_msg_type msg_type;
    uint32_t sequence;
    const uint8_t *content; /* the rest of the message: no length field */
    size_t content_len;
} lp_frame;

lp_result lp_frame_decode(lp_frame *frame, const uint8_t *buf, size_t len);
/* Writes the header and the content (which may already sit at
 * out + LP_HEADER_LEN). Gives the frame length, or 0 when it does not fit
 * in cap or the kind or message type is unknown. */
size_t lp_frame_encode(uint8_t *out, size_t cap, const lp_frame *frame);

/* ---- IPR messages ---- */

/* Versions with the layout below. 9 means "inside an LP stream frame"; 10
 * adds the exit's MTU to a successful Connect response and nothing else.
 * The published client sends a v10 Connect to exits from nym-node 1.37.0
 * on (v9 to older ones) and its Data requests as v9 even then. The IPR
 * drops a request below 9 in an LP frame, or above 8 outside one. */
#define IPR_VERSION_MIN 8
#define IPR_VERSION_MAX 10
#define IPR_VERSION_MTU 10
/* The service-provider type requests carry in their second byte. */
#define IPR_SERVICE_PROVIDER_IP_PACKET_ROUTER 1

typedef enum {
    IPR_OK = 0,
    IPR_ERR_TRUNCATED,        /* the input ends inside a field */
    IPR_ERR_TRAILING,         /* bytes after the message: bincode rejects them */
    IPR_ERR_VARINT,           /* marker 0xfe or 0xff, or a value too large for its field */
    IPR_ERR_TAG,              /* an enum variant, Option or bool tag out of range */
    IPR_ERR_VERSION,          /* a version whose layout is not the one here */
    IPR_ERR_SERVICE_PROVIDER, /* a request for another kind of service provider */
    IPR_ERR_TIMESTAMP,        /* a date, time or UTC offset out of range */
    IPR_ERR_UTF8,             /* a string that is not UTF-8 */
    IPR_ERR_NO_ROOM,          /* encoding: the output buffer is too small */
    IPR_ERR_INVALID,          /* encoding: a kind or code the wire has no value for */
} ipr_result;

/* A byte string or UTF-8 string (not NUL-terminated). */
typedef struct {
    const uint8_t *data;
    size_t len;
} ipr_bytes;

/* time::OffsetDateTime as serde gives it to bincode. The ranges are those
 * the Rust decoder enforces: year -9999..9999, ordinal 1..365 (366 in leap
 * years), hour < 24, minute < 60, second < 60, nanosecond < 10^9, offset
 * hours -25..25, minutes and seconds -59..59. The IPR ignores the value. */
typedef struct {
    int32_t year;
    uint16_t ordinal; /* day of the year, from 1 */
    uint8_t hour, minute, second;
    uint32_t nanosecond;
    int8_t offset_hours, offset_minutes, offset_seconds;
} ipr_timestamp;

bool ipr_timestamp_valid(const ipr_timestamp *timestamp);
/* The UTC timestamp of a Unix time; false before year 1 or after 9999. */
bool ipr_timestamp_from_unix(ipr_timestamp *timestamp, int64_t seconds, uint32_t nanosecond);

/* ---- requests (client → IPR) ---- */

typedef enum {
    IPR_REQUEST_DATA,
    IPR_REQUEST_CONNECT,
    IPR_REQUEST_DISCONNECT,
    IPR_REQUEST_PING,
    IPR_REQUEST_HEALTH,
} ipr_request_kind;

/* The IPR answers a control request in kind, with its request_id: Connect
 * with Connect, Disconnect with Disconnect, Ping with Pong, Health with
 * Health. A Data request gets no answer. */
typedef struct {
    uint8_t version;
    ipr_request_kind kind;
    ipr_bytes ip_packets; /* DATA: a bundle */
    uint64_t request_id;  /* control requests: a random number */
    /* CONNECT: how long the IPR may hold packets to fill a bundle, in ms
     * (IPR_BUNDLE_TIMEOUT_MS when absent). A zero from the network must
     * be clamped by an exit before it becomes a timer period. */
    bool has_buffer_timeout;
    uint64_t buffer_timeout_ms;
    ipr_timestamp timestamp; /* control requests: when it was sent */
} ipr_request;

ipr_result ipr_request_decode(ipr_request *request, const uint8_t *buf, size_t len);
ipr_result ipr_request_encode(uint8_t *out, size_t cap, const ipr_request *request, size_t *out_len);

/* ---- responses (IPR → client) ---- */

typedef enum {
    IPR_RESPONSE_DATA,
    IPR_RESPONSE_CONNECT,
    IPR_RESPONSE_DISCONNECT,
    IPR_RESPONSE_UNREQUESTED_DISCONNECT, /* in the schema; no IPR sends it yet */
    IPR_RESPONSE_PONG,
    IPR_RESPONSE_HEALTH,
    IPR_RESPONSE_INFO,
} ipr_response_kind;

/* Failure reasons and levels, by their wire index. Each OTHER carries a
 * message. */
typedef enum {
    IPR_CONNECT_CLIENT_ALREADY_CONNECTED = 0,
    IPR_CONNECT_NO_AVAILABLE_IP = 1,
    IPR_CONNECT_OTHER = 2,
} ipr_connect_failure;

typedef enum {
    IPR_DISCONNECT_CLIENT_NOT_CONNECTED = 0,
    IPR_DISCONNECT_OTHER = 1,
} ipr_disconnect_failure;

typedef enum {
    IPR_UNREQUESTED_MIXNET_TRAFFIC_TIMEOUT = 0,
    IPR_UNREQUESTED_TUN_TRAFFIC_TIMEOUT = 1,
    IPR_UNREQUESTED_OTHER = 2,
} ipr_unrequested_reason;

typedef enum {
    IPR_INFO_GENERIC = 0,                      /* message */
    IPR_INFO_VERSION_MISMATCH = 1,             /* request_version, response_version */
    IPR_INFO_EXIT_POLICY_FILTER_CHECK_FAILED = 2, /* message: the destination "ip:port" */
} ipr_info_reply;

typedef enum {
    IPR_LEVEL_INFO = 0,
    IPR_LEVEL_WARN = 1,
    IPR_LEVEL_ERROR = 2,
} ipr_info_level;

/* Option<bool>: the IPR sends "unknown". */
typedef enum {
    IPR_ROUTABLE_UNKNOWN,
    IPR_ROUTABLE_NO,
    IPR_ROUTABLE_YES,
} ipr_routable;

/* The build information strings of a Health response, in wire order:
 * binary name, build timestamp, build version, commit SHA, commit
 * timestamp, commit branch, rustc version, rustc channel, cargo profile,
 * cargo triple. */
#define IPR_BUILD_INFO_FIELDS 10

typedef struct {
    uint8_t version;
    ipr_response_kind kind;
    uint64_t request_id; /* every control response but UNREQUESTED_DISCONNECT */
    union {
        ipr_bytes ip_packets; /* DATA: a bundle */
        struct {
            bool success;
            uint8_t ipv4[4];
            uint8_t ipv6[16];
            uint16_t mtu; /* success from version IPR_VERSION_MTU on: the exit's MTU */
            ipr_connect_failure failure;
            ipr_bytes message;
        } connect;
        struct {
            bool success;
            ipr_disconnect_failure failure;
            ipr_bytes message;
        } disconnect;
        struct {
            ipr_unrequested_reason reason;
            ipr_bytes message;
        } unrequested;
        struct {
            ipr_bytes build_info[IPR_BUILD_INFO_FIELDS];
            ipr_routable routable;
        } health;
        struct {
            ipr_info_reply reply;
            ipr_bytes message;
            uint8_t request_version, response_version;
            ipr_info_level level;
        } info;
    };
} ipr_response;

ipr_result ipr_response_decode(ipr_response *response, const uint8_t *buf, size_t len);
ipr_result ipr_response_encode(uint8_t *out, size_t cap, const ipr_response *response, size_t *out_len);

/* ---- bundles of IP packets ---- */

/* Each packet goes behind its length as a u16, big-endian; nothing else.
 * The client sends one packet per bundle. The IPR fills a bundle up to
 * IPR_BUNDLE_TARGET_LEN bytes (sending it first when the next packet would
 * pass that), sends a packet larger than that alone, and sends what it has
 * after the client's buffer timeout (IPR_BUNDLE_TIMEOUT_MS by default). */
#define IPR_BUNDLE_PREFIX_LEN 2
#define IPR_BUNDLE_MAX_PACKET_LEN 65535
#define IPR_BUNDLE_TARGET_LEN 1500
#define IPR_BUNDLE_TIMEOUT_MS 20

/* Appends a packet at bundle + *len; false, with nothing written, when it
 * is longer than IPR_BUNDLE_MAX_PACKET_LEN or would pass cap. */
bool ipr_bundle_append(uint8_t *bundle, size_t cap, size_t *len, const uint8_t *packet, size_t packet_len);

typedef struct {
    const uint8_t *bundle;
    size_t len;
    size_t offset;
} ipr_bundle_iter;

typedef enum {
    IPR_BUNDLE_PACKET,    /* one more packet */
    IPR_BUNDLE_END,       /* all packets read */
    IPR_BUNDLE_TRUNCATED, /* the rest is an incomplete record, which both ends skip */
} ipr_bundle_step;

void ipr_bundle_iter_init(ipr_bundle_iter *iter, const uint8_t *bundle, size_t len);
/* The next packet, pointing into the bundle; END and TRUNCATED repeat. */
ipr_bundle_step ipr_bundle_next(ipr_bundle_iter *iter, const uint8_t **packet, size_t *packet_len);

#endif
