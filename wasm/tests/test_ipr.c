/* IPR layer: the LP frames, requests and responses the published client
 * and the rig's IPR exchanged (shared/vectors/ipr-request.json,
 * ipr-data.json, ipr-reply.json; copied here), every control message both
 * ways, malformed input of every kind, and bundles. */
#include "check.h"
#include "ipr/ipr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    CONTENT_OPEN,     /* an empty Open frame */
    CONTENT_REQUEST,  /* client → IPR */
    CONTENT_RESPONSE, /* IPR → client */
} content_kind;

typedef struct {
    const char *name;
    const char *frame_hex;
    uint64_t stream_id;
    lp_stream_msg_type msg_type;
    uint32_t sequence;
    size_t content_len;
    content_kind content;
    uint8_t version;
    int kind; /* ipr_request_kind or ipr_response_kind */
    uint64_t request_id;
    size_t bundle_len; /* data messages: the bundle, holding one packet */
    size_t packet_len;
} frame_vector;

/* The request ids of the two runs' Connects. */
#define V10_REQUEST_ID 390814416614433568u
#define V9_REQUEST_ID 16878494346821591939u

static const frame_vector frame_vectors[] = {
    {
        "ipr-request.json v10 run seq 0 open",
        "0300f902b96714acc81e000000000000",
        0xf902b96714acc81eu, LP_STREAM_OPEN, 0, 0, CONTENT_OPEN, 0, 0, 0, 0, 0,
    },
    {
        "ipr-request.json v10 run seq 0",
        "0300f902b96714acc81e0100000000000a010100fd056c73a42b67a32000fb0fd4fb01460f0432fc2282d6c0000000",
        0xf902b96714acc81eu, LP_STREAM_DATA, 0, 31, CONTENT_REQUEST, 10, IPR_REQUEST_CONNECT, V10_REQUEST_ID, 0, 0,
    },
    {
        "ipr-request.json v10 run seq 1",
        "0300f902b96714acc81e0100000001000901003600344500003400004000400614900a0012340a000001c0001f907736"
        "8c50000000008002ffff69cb0000020405b40303000402000000",
        0xf902b96714acc81eu, LP_STREAM_DATA, 1, 58, CONTENT_REQUEST, 9, IPR_REQUEST_DATA, 0, 54, 52,
    },
    {
        "ipr-request.json v10 run seq 2",
        "0300f902b96714acc81e0100000002000901003600344500003400004000400614900a0012340a000001c0001f907736"
        "8c50000000008002ffff69cb0000020405b40303000402000000",
        0xf902b96714acc81eu, LP_STREAM_DATA, 2, 58, CONTENT_REQUEST, 9, IPR_REQUEST_DATA, 0, 54, 52,
    },
    {
        "ipr-request.json v9 run seq 0 open",
        "0300eaa46623d32a6323000000000000",
        0xeaa46623d32a6323u, LP_STREAM_OPEN, 0, 0, CONTENT_OPEN, 0, 0, 0, 0, 0,
    },
    {
        "ipr-request.json v9 run seq 0",
        "0300eaa46623d32a632301000000000009010100fdea3c752eadbd638300fb0fd4fb01460f0508fc1c222600000000",
        0xeaa46623d32a6323u, LP_STREAM_DATA, 0, 31, CONTENT_REQUEST, 9, IPR_REQUEST_CONNECT, V9_REQUEST_ID, 0, 0,
    },
    {
        "ipr-request.json v9 run seq 1",
        "0300eaa46623d32a63230100000001000901003600344500003400004000400614900a0012340a000001c0001f907736"
        "8c50000000008002ffff6a1b0000020405640303000402000000",
        0xeaa46623d32a6323u, LP_STREAM_DATA, 1, 58, CONTENT_REQUEST, 9, IPR_REQUEST_DATA, 0, 54, 52,
    },
    {
        "ipr-data.json request seq 1",
        "0300293fcce429fed7540100000001000901003600344500003400004000400614900a0012340a000001c0001f907736"
        "8c50000000008002ffff69cb0000020405b40303000402000000",
        0x293fcce429fed754u, LP_STREAM_DATA, 1, 58, CONTENT_REQUEST, 9, IPR_REQUEST_DATA, 0, 54, 52,
    },
    {
        "ipr-data.json request seq 2",
        "0300293fcce429fed7540100000002000901002a002845000028000040004006149c0a0012340a000001c0001f907736"
        "8c51100000015010ffff96860000",
        0x293fcce429fed754u, LP_STREAM_DATA, 2, 46, CONTENT_REQUEST, 9, IPR_REQUEST_DATA, 0, 42, 40,
    },
    {
        "ipr-data.json request seq 3",
        "0300293fcce429fed754010000000300090100fb017c017a4500017a000040004006134a0a0012340a000001c0001f90"
        "77368c51100000015018ffff29c30000474554202f68656c6c6f20485454502f312e310d0a686f73743a2031302e302e"
        "302e313a383038300d0a636f6e6e656374696f6e3a206b6565702d616c6976650d0a757365722d6167656e743a204d6f"
        "7a696c6c612f352e3020285831313b204c696e7578207838365f363429204170706c655765624b69742f3533372e3336"
        "20284b48544d4c2c206c696b65204765636b6f29204368726f6d652f3133312e302e302e30205361666172692f353337"
        "2e33360d0a6163636570743a20746578742f68746d6c2c6170706c69636174696f6e2f7868746d6c2b786d6c2c617070"
        "6c69636174696f6e2f786d6c3b713d302e392c696d6167652f617669662c696d6167652f776562702c2a2f2a3b713d30"
        "2e380d0a6163636570742d6c616e67756167653a20656e2d55532c656e3b713d302e390d0a6163636570742d656e636f"
        "64696e673a206964656e746974790d0a0d0a",
        0x293fcce429fed754u, LP_STREAM_DATA, 3, 386, CONTENT_REQUEST, 9, IPR_REQUEST_DATA, 0, 380, 378,
    },
    {
        "ipr-data.json request seq 4",
        "0300293fcce429fed7540100000004000901002a002845000028000040004006149c0a0012340a000001c0001f907736"
        "8da31000006e5011ffff94c60000",
        0x293fcce429fed754u, LP_STREAM_DATA, 4, 46, CONTENT_REQUEST, 9, IPR_REQUEST_DATA, 0, 42, 40,
    },
    {
        "ipr-data.json response seq 1",
        "0300293fcce429fed75401000000010009002e002c4500002cadbd4000400666da0a0000010a0012341f90c000100000"
        "0077368c516012ffff7ec90000020405b4",
        0x293fcce429fed754u, LP_STREAM_DATA, 1, 49, CONTENT_RESPONSE, 9, IPR_RESPONSE_DATA, 0, 46, 44,
    },
    {
        "ipr-data.json response seq 2",
        "0300293fcce429fed754010000000200090097009545000095600040004006b42e0a0000010a0012341f90c000100000"
        "0177368da35018ffffd82e0000485454502f312e3120323030204f4b0d0a436f6e74656e742d547970653a2074657874"
        "2f706c61696e0d0a436f6e74656e742d4c656e6774683a2032350d0a436f6e6e656374696f6e3a20636c6f73650d0a0d"
        "0a68656c6c6f2066726f6d207468652070726f6265204950520a",
        0x293fcce429fed754u, LP_STREAM_DATA, 2, 154, CONTENT_RESPONSE, 9, IPR_RESPONSE_DATA, 0, 151, 149,
    },
    {
        "ipr-data.json response seq 3",
        "0300293fcce429fed75401000000030009002a002845000028cc844000400648170a0000010a0012341f90c000100000"
        "6e77368da35011ffff94c60000",
        0x293fcce429fed754u, LP_STREAM_DATA, 3, 45, CONTENT_RESPONSE, 9, IPR_RESPONSE_DATA, 0, 42, 40,
    },
    {
        "ipr-data.json response seq 4",
        "0300293fcce429fed75401000000040009002a0028450000288595400040068f060a0000010a0012341f90c000100000"
        "6f77368da45010ffff94c50000",
        0x293fcce429fed754u, LP_STREAM_DATA, 4, 45, CONTENT_RESPONSE, 9, IPR_RESPONSE_DATA, 0, 42, 40,
    },
    {
        "ipr-reply.json v10 connect",
        "0300f902b96714acc81e0100000000000a0100fd056c73a42b67a320000a001234fc0000000000000000000000000012"
        "34fb05dc",
        0xf902b96714acc81eu, LP_STREAM_DATA, 0, 36, CONTENT_RESPONSE, 10, IPR_RESPONSE_CONNECT, V10_REQUEST_ID, 0, 0,
    },
    {
        "ipr-reply.json v9 connect",
        "0300eaa46623d32a6323010000000000090100fdea3c752eadbd6383000a001234fc0000000000000000000000000012"
        "34",
        0xeaa46623d32a6323u, LP_STREAM_DATA, 0, 33, CONTENT_RESPONSE, 9, IPR_RESPONSE_CONNECT, V9_REQUEST_ID, 0, 0,
    },
};

#define VECTOR_COUNT (sizeof frame_vectors / sizeof frame_vectors[0])
#define MAX_FRAME 512

/* The Connects' send times, and the addresses the Connect answers allocate. */
#define V10_CONNECT_UNIX 1795359890 /* 2026-11-22 15:04:50 UTC */
#define V9_CONNECT_UNIX 1795359908  /* 2026-11-22 15:05:08 UTC */
static const uint8_t allocated_ipv4[4] = {10, 0, 18, 52};
static const uint8_t allocated_ipv6[16] = {0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34};

static bool bytes_are(ipr_bytes bytes, const char *text)
{
    size_t n = strlen(text);
    return bytes.len == n && (n == 0 || memcmp(bytes.data, text, n) == 0);
}

static ipr_bytes text(const char *s)
{
    return (ipr_bytes){(const uint8_t *)s, strlen(s)};
}

/* Decoders get exactly len bytes on the heap, so that ASan sees any read past them. */
static ipr_result request_decode_copy(const uint8_t *bytes, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (len) memcpy(copy, bytes, len);
    ipr_request request;
    ipr_result r = ipr_request_decode(&request, copy, len);
    free(copy);
    return r;
}

static ipr_result response_decode_copy(const uint8_t *bytes, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (len) memcpy(copy, bytes, len);
    ipr_response response;
    ipr_result r = ipr_response_decode(&response, copy, len);
    free(copy);
    return r;
}

/* Every proper prefix is truncated, and one byte more is trailing. */
static bool rejects_cuts_and_trailing(const uint8_t *bytes, size_t len, bool is_request)
{
    bool ok = true;
    uint8_t longer[MAX_FRAME + 1];
    for (size_t n = 0; n < len; n++) {
        ipr_result r = is_request ? request_decode_copy(bytes, n) : response_decode_copy(bytes, n);
        ok &= r == IPR_ERR_TRUNCATED;
    }
    memcpy(longer, bytes, len);
    longer[len] = 0;
    ipr_result r = is_request ? request_decode_copy(longer, len + 1) : response_decode_copy(longer, len + 1);
    return ok && r == IPR_ERR_TRAILING;
}

/* Decodes, checks the one packet of a data bundle, and re-encodes byte for byte. */
static void check_request_vector(const frame_vector *v, const uint8_t *content)
{
    ipr_request request;
    uint8_t out[MAX_FRAME];
    size_t out_len;
    CHECK(ipr_request_decode(&request, content, v->content_len) == IPR_OK);
    CHECK(request.version == v->version && (int)request.kind == v->kind);
    if (request.kind == IPR_REQUEST_DATA) {
        CHECK(request.ip_packets.len == v->bundle_len);
        ipr_bundle_iter iter;
        const uint8_t *packet;
        size_t packet_len;
        ipr_bundle_iter_init(&iter, request.ip_packets.data, request.ip_packets.len);
        CHECK(ipr_bundle_next(&iter, &packet, &packet_len) == IPR_BUNDLE_PACKET && packet_len == v->packet_len &&
              packet[0] == 0x45); /* IPv4, 20-byte header */
        CHECK(ipr_bundle_next(&iter, &packet, &packet_len) == IPR_BUNDLE_END);
    } else {
        CHECK(request.request_id == v->request_id && !request.has_buffer_timeout);
    }
    CHECK(ipr_request_encode(out, sizeof out, &request, &out_len) == IPR_OK && out_len == v->content_len &&
          memcmp(out, content, out_len) == 0);
    CHECK(rejects_cuts_and_trailing(content, v->content_len, true));
}

static void check_response_vector(const frame_vector *v, const uint8_t *content)
{
    ipr_response response;
    uint8_t out[MAX_FRAME];
    size_t out_len;
    CHECK(ipr_response_decode(&response, content, v->content_len) == IPR_OK);
    CHECK(response.version == v->version && (int)response.kind == v->kind);
    if (response.kind == IPR_RESPONSE_DATA) {
        CHECK(response.ip_packets.len == v->bundle_len);
        ipr_bundle_iter iter;
        const uint8_t *packet;
        size_t packet_len;
        ipr_bundle_iter_init(&iter, response.ip_packets.data, response.ip_packets.len);
        CHECK(ipr_bundle_next(&iter, &packet, &packet_len) == IPR_BUNDLE_PACKET && packet_len == v->packet_len &&
              packet[0] == 0x45);
        CHECK(ipr_bundle_next(&iter, &packet, &packet_len) == IPR_BUNDLE_END);
    } else {
        CHECK(response.request_id == v->request_id && response.connect.success);
        CHECK(memcmp(response.connect.ipv4, allocated_ipv4, 4) == 0 &&
              memcmp(response.connect.ipv6, allocated_ipv6, 16) == 0);
        CHECK(response.connect.mtu == (response.version >= IPR_VERSION_MTU ? 1500 : 0));
    }
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_OK && out_len == v->content_len &&
          memcmp(out, content, out_len) == 0);
    CHECK(rejects_cuts_and_trailing(content, v->content_len, false));
}

void test_ipr_lp_frames(void)
{
    uint8_t frame_bytes[MAX_FRAME], out[MAX_FRAME];
    for (size_t i = 0; i < VECTOR_COUNT; i++) {
        const frame_vector *v = &frame_vectors[i];
        size_t len = hex_decode(frame_bytes, sizeof frame_bytes, v->frame_hex);
        lp_frame frame;
        if (!CHECK(lp_frame_decode(&frame, frame_bytes, len) == LP_OK)) {
            fprintf(stderr, "  vector: %s\n", v->name);
            continue;
        }
        CHECK(frame.kind == LP_KIND_SPHINX_STREAM && frame.stream_id == v->stream_id &&
              frame.msg_type == v->msg_type && frame.sequence == v->sequence &&
              frame.content_len == v->content_len && frame.content == frame_bytes + LP_HEADER_LEN);
        CHECK(lp_frame_encode(out, sizeof out, &frame) == len && memcmp(out, frame_bytes, len) == 0);
        /* the content may already sit behind the header */
        CHECK(lp_frame_encode(frame_bytes, len, &frame) == len && memcmp(out, frame_bytes, len) == 0);
        CHECK(lp_frame_encode(out, len - 1, &frame) == 0);
        if (v->content == CONTENT_REQUEST) check_request_vector(v, frame.content);
        if (v->content == CONTENT_RESPONSE) check_response_vector(v, frame.content);
        /* every cut shorter than a header is refused; longer ones are frames */
        for (size_t n = 0; n < LP_HEADER_LEN; n++) CHECK(lp_frame_decode(&frame, frame_bytes, n) == LP_ERR_SHORT);
    }

    /* built from its fields: the v9 run's Open frame */
    lp_frame open = {.kind = LP_KIND_SPHINX_STREAM, .stream_id = 0xeaa46623d32a6323u, .msg_type = LP_STREAM_OPEN};
    size_t n = lp_frame_encode(out, sizeof out, &open);
    CHECK_HEX(out, n, "0300eaa46623d32a6323000000000000");
    /* ipr.md 7.1: stream 0x1122334455667788, Data, seq 0 */
    lp_frame data = {.kind = LP_KIND_SPHINX_STREAM, .stream_id = 0x1122334455667788u, .msg_type = LP_STREAM_DATA};
    n = lp_frame_encode(out, sizeof out, &data);
    CHECK_HEX(out, n, "03001122334455667788010000000000");
    data.stream_id = UINT64_MAX;
    data.sequence = UINT32_MAX;
    n = lp_frame_encode(out, sizeof out, &data);
    CHECK_HEX(out, n, "0300ffffffffffffffff01ffffffff00");

    lp_frame frame;
    /* the reserved byte is ignored */
    n = hex_decode(frame_bytes, sizeof frame_bytes, "0300000000000000000701000000097f0901");
    CHECK(lp_frame_decode(&frame, frame_bytes, n) == LP_OK && frame.stream_id == 7 && frame.sequence == 9 &&
          frame.content_len == 2);
    /* other kinds: their attributes mean nothing and are written as zeros */
    n = hex_decode(frame_bytes, sizeof frame_bytes, "0200aaaaaaaaaaaaaaaaaaaaaaaaaaaa01");
    CHECK(lp_frame_decode(&frame, frame_bytes, n) == LP_OK && frame.kind == LP_KIND_FORWARD &&
          frame.stream_id == 0 && frame.content_len == 1);
    CHECK(lp_frame_encode(out, sizeof out, &frame) == 17);
    CHECK_HEX(out, 17, "0200000000000000000000000000000001");
    n = hex_decode(frame_bytes, sizeof frame_bytes, "00000000000000000000000000000000");
    CHECK(lp_frame_decode(&frame, frame_bytes, n) == LP_OK && frame.kind == LP_KIND_OPAQUE);
    n = hex_decode(frame_bytes, sizeof frame_bytes, "01000000000000000000000000000000");
    CHECK(lp_frame_decode(&frame, frame_bytes, n) == LP_OK && frame.kind == LP_KIND_REGISTRATION);
    /* unknown kinds: 4, the big-endian misreading of 3, and a raw v9
     * request, whose first bytes 09 01 are not a kind (the IPR's raw path) */
    n = hex_decode(frame_bytes, sizeof frame_bytes, "04000000000000000000000000000000");
    CHECK(lp_frame_decode(&frame, frame_bytes, n) == LP_ERR_KIND);
    n = hex_decode(frame_bytes, sizeof frame_bytes, "0003f902b96714acc81e000000000000");
    CHECK(lp_frame_decode(&frame, frame_bytes, n) == LP_ERR_KIND);
    n = hex_decode(frame_bytes, sizeof frame_bytes, "0901003600344500003400004000400614900a");
    CHECK(lp_frame_decode(&frame, frame_bytes, n) == LP_ERR_KIND);
    n = hex_decode(frame_bytes, sizeof frame_bytes, "ffff0000000000000000000000000000");
    CHECK(lp_frame_decode(&frame, frame_bytes, n) == LP_ERR_KIND);
    /* stream message types other than Open and Data */
    n = hex_decode(frame_bytes, sizeof frame_bytes, "0300f902b96714acc81e020000000000");
    CHECK(lp_frame_decode(&frame, frame_bytes, n) == LP_ERR_MSG_TYPE);
    n = hex_decode(frame_bytes, sizeof frame_bytes, "0300f902b96714acc81eff0000000000");
    CHECK(lp_frame_decode(&frame, frame_bytes, n) == LP_ERR_MSG_TYPE);
    /* the encoder refuses what the wire cannot carry */
    lp_frame bad = {.kind = LP_KIND_SPHINX_STREAM, .msg_type = (lp_stream_msg_type)2};
    CHECK(lp_frame_encode(out, sizeof out, &bad) == 0);
    bad = (lp_frame){.kind = (lp_frame_kind)4};
    CHECK(lp_frame_encode(out, sizeof out, &bad) == 0);
    CHECK(lp_frame_encode(out, LP_HEADER_LEN - 1, &open) == 0);
    CHECK(lp_frame_encode(out, LP_HEADER_LEN, &open) == LP_HEADER_LEN);
}

static const ipr_timestamp v10_connect_time = {2026, 326, 15, 4, 50, 579000000, 0, 0, 0};
static const ipr_timestamp v9_connect_time = {2026, 326, 15, 5, 8, 472000000, 0, 0, 0};

static bool same_timestamp(const ipr_timestamp *a, const ipr_timestamp *b)
{
    return a->year == b->year && a->ordinal == b->ordinal && a->hour == b->hour && a->minute == b->minute &&
           a->second == b->second && a->nanosecond == b->nanosecond && a->offset_hours == b->offset_hours &&
           a->offset_minutes == b->offset_minutes && a->offset_seconds == b->offset_seconds;
}

/* Encodes a request, frames it, and compares with a captured frame. */
static bool request_frame_is(const ipr_request *request, uint64_t stream_id, uint32_t sequence, const char *hex)
{
    uint8_t out[MAX_FRAME];
    size_t len;
    if (ipr_request_encode(out + LP_HEADER_LEN, sizeof out - LP_HEADER_LEN, request, &len) != IPR_OK) return false;
    lp_frame frame = {LP_KIND_SPHINX_STREAM, stream_id, LP_STREAM_DATA, sequence, out + LP_HEADER_LEN, len};
    size_t n = lp_frame_encode(out, sizeof out, &frame);
    return CHECK_HEX(out, n, hex);
}

static bool response_frame_is(const ipr_response *response, uint64_t stream_id, uint32_t sequence, const char *hex)
{
    uint8_t out[MAX_FRAME];
    size_t len;
    if (ipr_response_encode(out + LP_HEADER_LEN, sizeof out - LP_HEADER_LEN, response, &len) != IPR_OK)
        return false;
    lp_frame frame = {LP_KIND_SPHINX_STREAM, stream_id, LP_STREAM_DATA, sequence, out + LP_HEADER_LEN, len};
    size_t n = lp_frame_encode(out, sizeof out, &frame);
    return CHECK_HEX(out, n, hex);
}

/* Decodes hex and encodes the result again: the same bytes must come out. */
static bool request_round_trip(const char *hex, ipr_request *request)
{
    static uint8_t buf[MAX_FRAME];
    uint8_t out[MAX_FRAME];
    size_t len = hex_decode(buf, sizeof buf, hex), out_len;
    return ipr_request_decode(request, buf, len) == IPR_OK &&
           ipr_request_encode(out, sizeof out, request, &out_len) == IPR_OK && CHECK_HEX(out, out_len, hex);
}

static bool response_round_trip(const char *hex, ipr_response *response)
{
    static uint8_t buf[MAX_FRAME];
    uint8_t out[MAX_FRAME];
    size_t len = hex_decode(buf, sizeof buf, hex), out_len;
    return ipr_response_decode(response, buf, len) == IPR_OK &&
           ipr_response_encode(out, sizeof out, response, &out_len) == IPR_OK && CHECK_HEX(out, out_len, hex);
}

/* 2026-11-22 15:05:08 UTC, no fraction, as bincode writes a timestamp. */
#define TIMESTAMP_HEX "fb0fd4fb01460f050800000000"
static const ipr_timestamp timestamp_of_hex = {2026, 326, 15, 5, 8, 0, 0, 0, 0};

/* The single IPv4 packet in the first data request of a run (a SYN). */
#define SYN_PACKET_HEX                                                                                       \
    "4500003400004000400614900a0012340a000001c0001f9077368c50000000008002ffff69cb0000020405b40303000402000000"

void test_ipr_requests(void)
{
    ipr_request request;

    /* the captured Connects, field by field */
    CHECK(request_round_trip("0a010100fd056c73a42b67a32000fb0fd4fb01460f0432fc2282d6c0000000", &request));
    CHECK(request.version == 10 && request.kind == IPR_REQUEST_CONNECT && request.request_id == V10_REQUEST_ID &&
          !request.has_buffer_timeout && same_timestamp(&request.timestamp, &v10_connect_time));
    CHECK(request_round_trip("09010100fdea3c752eadbd638300fb0fd4fb01460f0508fc1c222600000000", &request));
    CHECK(request.version == 9 && request.kind == IPR_REQUEST_CONNECT && request.request_id == V9_REQUEST_ID &&
          !request.has_buffer_timeout && same_timestamp(&request.timestamp, &v9_connect_time));

    /* and built as a client builds them: from the clock and a random id */
    ipr_request connect = {.version = 10, .kind = IPR_REQUEST_CONNECT, .request_id = V10_REQUEST_ID};
    CHECK(ipr_timestamp_from_unix(&connect.timestamp, V10_CONNECT_UNIX, 579000000));
    CHECK(request_frame_is(&connect, 0xf902b96714acc81eu, 0,
                           "0300f902b96714acc81e0100000000000a010100fd056c73a42b67a32000fb0fd4fb01460f0432fc2282d6c0"
                           "000000"));
    connect = (ipr_request){.version = 9, .kind = IPR_REQUEST_CONNECT, .request_id = V9_REQUEST_ID};
    CHECK(ipr_timestamp_from_unix(&connect.timestamp, V9_CONNECT_UNIX, 472000000));
    CHECK(request_frame_is(&connect, 0xeaa46623d32a6323u, 0,
                           "0300eaa46623d32a632301000000000009010100fdea3c752eadbd638300fb0fd4fb01460f0508fc1c2226"
                           "00000000"));

    /* a data request from one packet, as the v10 run sent it at seq 1 */
    uint8_t packet[64], bundle[64];
    size_t packet_len = hex_decode(packet, sizeof packet, SYN_PACKET_HEX), bundle_len = 0;
    CHECK(ipr_bundle_append(bundle, sizeof bundle, &bundle_len, packet, packet_len) && bundle_len == 54);
    ipr_request data = {.version = 9, .kind = IPR_REQUEST_DATA, .ip_packets = {bundle, bundle_len}};
    CHECK(request_frame_is(&data, 0xf902b96714acc81eu, 1,
                           "0300f902b96714acc81e0100000001000901003600344500003400004000400614900a0012340a000001c000"
                           "1f9077368c50000000008002ffff69cb0000020405b40303000402000000"));

    /* ipr.md section 3's cross-check (21 bytes), with version 9 for 4:
     * Connect, id 123, no buffer timeout, 2024-01-01 12:59:59.5 UTC */
    CHECK(request_round_trip("090101007b00fb0fd0010c3b3bfc1dcd6500000000", &request));
    CHECK(request.request_id == 123 && request.timestamp.year == 2024 && request.timestamp.ordinal == 1 &&
          request.timestamp.hour == 12 && request.timestamp.nanosecond == 500000000);
    /* ipr.md section 4.3's example */
    CHECK(request_round_trip("09010100fd0123456789abcdef00fb0fd40100000000000000", &request));
    CHECK(request.request_id == 0x0123456789abcdefu && request.timestamp.ordinal == 1);
    /* a buffer timeout, and the other control requests */
    CHECK(request_round_trip("090101007b01fb0400" TIMESTAMP_HEX, &request));
    CHECK(request.kind == IPR_REQUEST_CONNECT && request.has_buffer_timeout && request.buffer_timeout_ms == 1024 &&
          same_timestamp(&request.timestamp, &timestamp_of_hex));
    CHECK(request_round_trip("090101007b0100" TIMESTAMP_HEX, &request));
    CHECK(request.has_buffer_timeout && request.buffer_timeout_ms == 0); /* valid; an exit clamps it */
    CHECK(request_round_trip("09010101fd8000000000000000" TIMESTAMP_HEX, &request));
    CHECK(request.kind == IPR_REQUEST_DISCONNECT && request.request_id == 0x8000000000000000u);
    CHECK(request_round_trip("09010102fc00010000" TIMESTAMP_HEX, &request));
    CHECK(request.kind == IPR_REQUEST_PING && request.request_id == 0x10000);
    CHECK(request_round_trip("09010103fbffff" TIMESTAMP_HEX, &request));
    CHECK(request.kind == IPR_REQUEST_HEALTH && request.request_id == 0xffff);
    CHECK(request_round_trip("0801010300" TIMESTAMP_HEX, &request));
    CHECK(request.version == 8 && request.request_id == 0);
    /* varint edges: 250 is one byte, 251 is not */
    CHECK(request_round_trip("09010102fa" TIMESTAMP_HEX, &request) && request.request_id == 250);
    CHECK(request_round_trip("09010102fb00fb" TIMESTAMP_HEX, &request) && request.request_id == 251);
    CHECK(request_round_trip("09010102fcffffffff" TIMESTAMP_HEX, &request) && request.request_id == UINT32_MAX);
    CHECK(request_round_trip("09010102fdffffffffffffffff" TIMESTAMP_HEX, &request) &&
          request.request_id == UINT64_MAX);
    /* a timestamp at the edges of every field, offset signs mixed (time flips them) */
    CHECK(request_round_trip("0901010205fb0fd0fb016e173b3bfc3b9ac9ff19c5c5", &request));
    CHECK(request.timestamp.ordinal == 366 && request.timestamp.hour == 23 && request.timestamp.second == 59 &&
          request.timestamp.nanosecond == 999999999 && request.timestamp.offset_hours == 25 &&
          request.timestamp.offset_minutes == -59 && request.timestamp.offset_seconds == -59);
    CHECK(request_round_trip("0901010205fb4e1d0100000000e70000", &request));
    CHECK(request.timestamp.year == -9999 && request.timestamp.offset_hours == -25);
    CHECK(request_round_trip("0901010205fb4e1e0100000000000000", &request) && request.timestamp.year == 9999);
    /* an empty bundle */
    CHECK(request_round_trip("09010000", &request) && request.kind == IPR_REQUEST_DATA && request.ip_packets.len == 0);
}

/* The allocated addresses of the captured Connect answers: 10.0.18.52, fc00::1234. */
#define ALLOCATED_IPS_HEX "0a001234fc000000000000000000000000001234"
/* Ten empty build-information strings. */
#define EMPTY_BUILD_INFO_HEX "00000000000000000000"

void test_ipr_responses(void)
{
    ipr_response response;

    /* the captured Connect answers, built from their fields */
    ipr_response connect = {.version = 10, .kind = IPR_RESPONSE_CONNECT, .request_id = V10_REQUEST_ID};
    connect.connect.success = true;
    memcpy(connect.connect.ipv4, allocated_ipv4, 4);
    memcpy(connect.connect.ipv6, allocated_ipv6, 16);
    connect.connect.mtu = 1500;
    CHECK(response_frame_is(&connect, 0xf902b96714acc81eu, 0,
                            "0300f902b96714acc81e0100000000000a0100fd056c73a42b67a320000a001234fc0000000000000000000000"
                            "00001234fb05dc"));
    connect.version = 9;
    connect.request_id = V9_REQUEST_ID;
    CHECK(response_frame_is(&connect, 0xeaa46623d32a6323u, 0,
                            "0300eaa46623d32a6323010000000000090100fdea3c752eadbd6383000a001234fc00000000000000000000"
                            "0000001234"));
    /* ipr.md section 5.3's example (33 bytes) */
    CHECK(response_round_trip("090100fd0123456789abcdef00" ALLOCATED_IPS_HEX, &response));
    CHECK(response.kind == IPR_RESPONSE_CONNECT && response.request_id == 0x0123456789abcdefu &&
          response.connect.success && response.connect.mtu == 0);

    /* a data response from one packet, as the rig's IPR sent its FIN at seq 3 */
    uint8_t packet[64], bundle[64];
    size_t packet_len = hex_decode(packet, sizeof packet,
                                   "45000028cc844000400648170a0000010a0012341f90c0001000006e77368da35011ffff94c60000"),
           bundle_len = 0;
    CHECK(ipr_bundle_append(bundle, sizeof bundle, &bundle_len, packet, packet_len));
    ipr_response data = {.version = 9, .kind = IPR_RESPONSE_DATA, .ip_packets = {bundle, bundle_len}};
    CHECK(response_frame_is(&data, 0x293fcce429fed754u, 3,
                            "0300293fcce429fed75401000000030009002a002845000028cc844000400648170a0000010a0012341f90c0"
                            "001000006e77368da35011ffff94c60000"));
    /* a v10 data response (the IPR may answer data with 9 or 10) and a v8 one */
    CHECK(response_round_trip("0a00020000", &response) && response.version == 10 && response.ip_packets.len == 2);
    CHECK(response_round_trip("0800020000", &response) && response.version == 8);

    /* every control response the schema has */
    CHECK(response_round_trip("0901007b0100", &response));
    CHECK(response.kind == IPR_RESPONSE_CONNECT && !response.connect.success &&
          response.connect.failure == IPR_CONNECT_CLIENT_ALREADY_CONNECTED);
    CHECK(response_round_trip("0a01007b0101", &response)); /* a v10 failure has no MTU */
    CHECK(!response.connect.success && response.connect.failure == IPR_CONNECT_NO_AVAILABLE_IP);
    CHECK(response_round_trip("0901007b0102026e6f", &response));
    CHECK(response.connect.failure == IPR_CONNECT_OTHER && bytes_are(response.connect.message, "no"));
    CHECK(response_round_trip("0901017b00", &response));
    CHECK(response.kind == IPR_RESPONSE_DISCONNECT && response.request_id == 123 && response.disconnect.success);
    CHECK(response_round_trip("0901017b0100", &response));
    CHECK(!response.disconnect.success && response.disconnect.failure == IPR_DISCONNECT_CLIENT_NOT_CONNECTED);
    CHECK(response_round_trip("0901017b01010178", &response));
    CHECK(response.disconnect.failure == IPR_DISCONNECT_OTHER && bytes_are(response.disconnect.message, "x"));
    CHECK(response_round_trip("09010200", &response));
    CHECK(response.kind == IPR_RESPONSE_UNREQUESTED_DISCONNECT && response.request_id == 0 &&
          response.unrequested.reason == IPR_UNREQUESTED_MIXNET_TRAFFIC_TIMEOUT);
    CHECK(response_round_trip("09010201", &response));
    CHECK(response.unrequested.reason == IPR_UNREQUESTED_TUN_TRAFFIC_TIMEOUT);
    CHECK(response_round_trip("0901020203627965", &response));
    CHECK(response.unrequested.reason == IPR_UNREQUESTED_OTHER && bytes_are(response.unrequested.message, "bye"));
    CHECK(response_round_trip("090103fdea3c752eadbd6383", &response));
    CHECK(response.kind == IPR_RESPONSE_PONG && response.request_id == V9_REQUEST_ID);
    CHECK(response_round_trip("0901047b" EMPTY_BUILD_INFO_HEX "00", &response));
    CHECK(response.kind == IPR_RESPONSE_HEALTH && response.request_id == 123 &&
          response.health.routable == IPR_ROUTABLE_UNKNOWN && bytes_are(response.health.build_info[9], ""));
    CHECK(response_round_trip("0901047b086e796d2d6e6f6465000006312e33372e3000000000000c7838365f36342d6c696e75780101",
                              &response));
    CHECK(bytes_are(response.health.build_info[0], "nym-node") && bytes_are(response.health.build_info[3], "1.37.0") &&
          bytes_are(response.health.build_info[9], "x86_64-linux") && response.health.routable == IPR_ROUTABLE_YES);
    CHECK(response_round_trip("0901047b" EMPTY_BUILD_INFO_HEX "0100", &response));
    CHECK(response.health.routable == IPR_ROUTABLE_NO);
    CHECK(response_round_trip("0901057b0002686900", &response));
    CHECK(response.kind == IPR_RESPONSE_INFO && response.info.reply == IPR_INFO_GENERIC &&
          bytes_are(response.info.message, "hi") && response.info.level == IPR_LEVEL_INFO);
    CHECK(response_round_trip("09010500010709" "02", &response));
    CHECK(response.info.reply == IPR_INFO_VERSION_MISMATCH && response.info.request_version == 7 &&
          response.info.response_version == 9 && response.info.level == IPR_LEVEL_ERROR);
    /* the exit-policy rejection as the IPR sends it: request id 0, Warn */
    ipr_response rejection = {.version = 9, .kind = IPR_RESPONSE_INFO};
    rejection.info.reply = IPR_INFO_EXIT_POLICY_FILTER_CHECK_FAILED;
    rejection.info.message = text("8.8.8.8:53");
    rejection.info.level = IPR_LEVEL_WARN;
    uint8_t out[MAX_FRAME];
    size_t out_len;
    CHECK(ipr_response_encode(out, sizeof out, &rejection, &out_len) == IPR_OK);
    CHECK_HEX(out, out_len, "09010500020a382e382e382e383a353301");
    CHECK(response_round_trip("09010500020a382e382e382e383a353301", &response));
    CHECK(bytes_are(response.info.message, "8.8.8.8:53") && response.info.level == IPR_LEVEL_WARN);
}

/* Encoder failures: values the wire has no place for, and small buffers. */
void test_ipr_encoders(void)
{
    uint8_t out[MAX_FRAME];
    size_t out_len;
    ipr_request request = {.version = 9, .kind = IPR_REQUEST_PING, .request_id = 5, .timestamp = timestamp_of_hex};
    CHECK(ipr_request_encode(out, sizeof out, &request, &out_len) == IPR_OK && out_len == 18);
    /* every smaller buffer is too small, and nothing is claimed written */
    for (size_t cap = 0; cap < 18; cap++)
        CHECK(ipr_request_encode(out, cap, &request, &out_len) == IPR_ERR_NO_ROOM && out_len == 0);
    request.version = 7;
    CHECK(ipr_request_encode(out, sizeof out, &request, &out_len) == IPR_ERR_INVALID);
    request.version = 11;
    CHECK(ipr_request_encode(out, sizeof out, &request, &out_len) == IPR_ERR_INVALID);
    request.version = 9;
    request.kind = (ipr_request_kind)(IPR_REQUEST_HEALTH + 1);
    CHECK(ipr_request_encode(out, sizeof out, &request, &out_len) == IPR_ERR_INVALID);
    request.kind = IPR_REQUEST_CONNECT;
    request.timestamp.ordinal = 366; /* 2026 is not a leap year */
    CHECK(ipr_request_encode(out, sizeof out, &request, &out_len) == IPR_ERR_TIMESTAMP);
    request.timestamp = timestamp_of_hex;
    request.timestamp.offset_hours = 26;
    CHECK(ipr_request_encode(out, sizeof out, &request, &out_len) == IPR_ERR_TIMESTAMP);

    ipr_response response = {.version = 10, .kind = IPR_RESPONSE_CONNECT, .request_id = 1};
    response.connect.success = true;
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_OK && out_len == 26);
    for (size_t cap = 0; cap < 26; cap++)
        CHECK(ipr_response_encode(out, cap, &response, &out_len) == IPR_ERR_NO_ROOM);
    response.connect.success = false;
    response.connect.failure = (ipr_connect_failure)3;
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_ERR_INVALID);
    response.connect.failure = IPR_CONNECT_OTHER;
    response.connect.message = text("\xc0\x80"); /* an overlong NUL */
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_ERR_UTF8);
    response.connect.message = text("\xe2\x82\xac"); /* € */
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_OK);
    CHECK_HEX(out, out_len, "0a010001010203e282ac");

    response = (ipr_response){.version = 9, .kind = IPR_RESPONSE_DISCONNECT};
    response.disconnect.failure = (ipr_disconnect_failure)2;
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_ERR_INVALID);
    response = (ipr_response){.version = 9, .kind = IPR_RESPONSE_UNREQUESTED_DISCONNECT};
    response.unrequested.reason = (ipr_unrequested_reason)3;
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_ERR_INVALID);
    response = (ipr_response){.version = 9, .kind = IPR_RESPONSE_INFO};
    response.info.reply = (ipr_info_reply)3;
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_ERR_INVALID);
    response.info.reply = IPR_INFO_GENERIC;
    response.info.level = (ipr_info_level)3;
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_ERR_INVALID);
    response = (ipr_response){.version = 9, .kind = IPR_RESPONSE_HEALTH};
    response.health.routable = (ipr_routable)3;
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_ERR_INVALID);
    response.health.routable = IPR_ROUTABLE_UNKNOWN;
    response.health.build_info[4] = text("\xff");
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_ERR_UTF8);
    response = (ipr_response){.version = 9, .kind = (ipr_response_kind)(IPR_RESPONSE_INFO + 1)};
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_ERR_INVALID);
    response = (ipr_response){.version = 11, .kind = IPR_RESPONSE_PONG};
    CHECK(ipr_response_encode(out, sizeof out, &response, &out_len) == IPR_ERR_INVALID);
}

typedef struct {
    const char *hex;
    ipr_result expected;
} malformed_case;

static const malformed_case malformed_requests[] = {
    {"", IPR_ERR_TRUNCATED},
    {"09", IPR_ERR_TRUNCATED},
    {"0901", IPR_ERR_TRUNCATED},
    {"07010100", IPR_ERR_VERSION}, /* v6 and v7 have another layout */
    {"0b010100", IPR_ERR_VERSION},
    {"00", IPR_ERR_VERSION},
    {"0900", IPR_ERR_SERVICE_PROVIDER}, /* a network requester */
    {"0902", IPR_ERR_SERVICE_PROVIDER}, /* an authenticator */
    {"09fb000100", IPR_ERR_SERVICE_PROVIDER}, /* the IPR reads the raw byte */
    /* unknown variants, and variant indexes beyond a u32 */
    {"090102", IPR_ERR_TAG},
    {"09010104", IPR_ERR_TAG},
    {"090101fb0004", IPR_ERR_TAG},
    {"090101fd000000010000000000", IPR_ERR_VARINT},
    /* varint markers that bincode refuses */
    {"09010100fe", IPR_ERR_VARINT},
    {"09010100ff", IPR_ERR_VARINT},
    {"090100fe", IPR_ERR_VARINT},
    /* Option tags other than 0 and 1 */
    {"090101007b02" TIMESTAMP_HEX, IPR_ERR_TAG},
    {"090101007bff" TIMESTAMP_HEX, IPR_ERR_TAG},
    /* lengths past the end, however large */
    {"09010005010203", IPR_ERR_TRUNCATED},
    {"090100fc7fffffff", IPR_ERR_TRUNCATED},
    {"090100fdffffffffffffffff00", IPR_ERR_TRUNCATED},
    {"090100fb", IPR_ERR_TRUNCATED},
    {"09010100fd0102030405060708", IPR_ERR_TRUNCATED},
    /* trailing bytes */
    {"0901000301020304", IPR_ERR_TRAILING},
    {"090101007b00" TIMESTAMP_HEX "00", IPR_ERR_TRAILING},
    /* timestamps out of range: ordinal 0 and 366 in 2026, hour 24, minute
     * and second 60, nanosecond 10^9, offsets +26 h, -26 h, 60 min, -60 s,
     * years 10000 and -10000 */
    {"090101007b00fb0fd4000f050800000000", IPR_ERR_TIMESTAMP},
    {"090101007b00fb0fd4fb016e0f050800000000", IPR_ERR_TIMESTAMP},
    {"090101007b00fb0fd4fb014618050800000000", IPR_ERR_TIMESTAMP},
    {"090101007b00fb0fd4fb01460f3c0800000000", IPR_ERR_TIMESTAMP},
    {"090101007b00fb0fd4fb01460f053c00000000", IPR_ERR_TIMESTAMP},
    {"090101007b00fb0fd4fb01460f0508fc3b9aca00000000", IPR_ERR_TIMESTAMP},
    {"090101007b00fb0fd4fb01460f0508001a0000", IPR_ERR_TIMESTAMP},
    {"090101007b00fb0fd4fb01460f050800e60000", IPR_ERR_TIMESTAMP},
    {"090101007b00fb0fd4fb01460f050800003c00", IPR_ERR_TIMESTAMP},
    {"090101007b00fb0fd4fb01460f05080000" "00c4", IPR_ERR_TIMESTAMP},
    {"090101007b00fb4e200100000000000000", IPR_ERR_TIMESTAMP},
    {"090101007b00fb4e1f0100000000000000", IPR_ERR_TIMESTAMP},
    /* fields too large for their types: year beyond an i32, ordinal beyond
     * a u16, nanosecond beyond a u32 */
    {"090101007b00fcffffffff0100000000000000", IPR_ERR_TIMESTAMP},
    {"090101007b00fd00000001000000000100000000000000", IPR_ERR_VARINT},
    {"090101007b00fb0fd4fc000100000f050800000000", IPR_ERR_VARINT},
    {"090101007b00fb0fd4fb01460f0508fd0000000100000000000000", IPR_ERR_VARINT},
    {"090101007b00fb0fd4fb01460f0508", IPR_ERR_TRUNCATED},
};

static const malformed_case malformed_responses[] = {
    {"", IPR_ERR_TRUNCATED},
    {"09", IPR_ERR_TRUNCATED},
    {"07000100", IPR_ERR_VERSION},
    {"0b000100", IPR_ERR_VERSION},
    {"ff", IPR_ERR_VERSION},
    {"0902", IPR_ERR_TAG},
    {"090106", IPR_ERR_TAG},
    {"0901fb0006", IPR_ERR_TAG},
    {"0901007b02", IPR_ERR_TAG},      /* Connect: neither success nor failure */
    {"0901007b0103", IPR_ERR_TAG},    /* Connect: unknown failure */
    {"0901017b02", IPR_ERR_TAG},      /* Disconnect: neither */
    {"0901017b0102", IPR_ERR_TAG},    /* Disconnect: unknown failure */
    {"09010203", IPR_ERR_TAG},        /* unknown disconnect reason */
    {"0901057b03", IPR_ERR_TAG},      /* unknown info reply */
    {"0901057b00026869" "03", IPR_ERR_TAG}, /* unknown level */
    {"0901047b" EMPTY_BUILD_INFO_HEX "02", IPR_ERR_TAG}, /* Option tag */
    {"0901047b" EMPTY_BUILD_INFO_HEX "0102", IPR_ERR_TAG}, /* bool */
    {"0901047b000000000000000000", IPR_ERR_TRUNCATED}, /* nine strings: the tenth is mandatory */
    /* strings that are not UTF-8: an overlong, a surrogate, a stray byte */
    {"0901007b010202c080", IPR_ERR_UTF8},
    {"0901007b010203eda080", IPR_ERR_UTF8},
    {"0901007b010201ff", IPR_ERR_UTF8},
    {"0901007b010201e2", IPR_ERR_UTF8},
    {"0901007b010202e282", IPR_ERR_UTF8},
    {"0901007b010201", IPR_ERR_TRUNCATED},
    {"0900fdffffffffffffffff", IPR_ERR_TRUNCATED},
    {"0900fe", IPR_ERR_VARINT},
    {"0901037b00", IPR_ERR_TRAILING},
    /* v10 Connect: the MTU is a plain u16, mandatory. A Some-tagged one leaves
     * bytes over, which is how the published client rejected it */
    {"0a0100fd056c73a42b67a32000" ALLOCATED_IPS_HEX, IPR_ERR_TRUNCATED},
    {"0a0100fd056c73a42b67a32000" ALLOCATED_IPS_HEX "01fb05dc", IPR_ERR_TRAILING},
    {"0a0100fd056c73a42b67a32000" ALLOCATED_IPS_HEX "fc00010000", IPR_ERR_VARINT},
    {"090100fdea3c752eadbd638300" ALLOCATED_IPS_HEX "fb05dc", IPR_ERR_TRAILING},
};

static ipr_result decode_hex(const char *hex, bool is_request)
{
    uint8_t buf[MAX_FRAME];
    size_t len = hex_decode(buf, sizeof buf, hex);
    return is_request ? request_decode_copy(buf, len) : response_decode_copy(buf, len);
}

void test_ipr_malformed(void)
{
    for (size_t i = 0; i < sizeof malformed_requests / sizeof malformed_requests[0]; i++) {
        ipr_result r = decode_hex(malformed_requests[i].hex, true);
        if (!CHECK(r == malformed_requests[i].expected))
            fprintf(stderr, "  request %s: got %d, expected %d\n", malformed_requests[i].hex, (int)r,
                    (int)malformed_requests[i].expected);
    }
    for (size_t i = 0; i < sizeof malformed_responses / sizeof malformed_responses[0]; i++) {
        ipr_result r = decode_hex(malformed_responses[i].hex, false);
        if (!CHECK(r == malformed_responses[i].expected))
            fprintf(stderr, "  response %s: got %d, expected %d\n", malformed_responses[i].hex, (int)r,
                    (int)malformed_responses[i].expected);
    }

    /* bincode reads varints longer than needed; the encoder writes the short form */
    uint8_t buf[MAX_FRAME], out[MAX_FRAME];
    size_t out_len;
    ipr_request request;
    size_t len = hex_decode(buf, sizeof buf, "0901fc00000001fb0000fd000000000000007b00" TIMESTAMP_HEX);
    CHECK(ipr_request_decode(&request, buf, len) == IPR_OK && request.kind == IPR_REQUEST_CONNECT &&
          request.request_id == 123);
    CHECK(ipr_request_encode(out, sizeof out, &request, &out_len) == IPR_OK);
    CHECK_HEX(out, out_len, "090101007b00" TIMESTAMP_HEX);
    ipr_response response;
    len = hex_decode(buf, sizeof buf, "0a0100fb007b00" ALLOCATED_IPS_HEX "fc000005dc");
    CHECK(ipr_response_decode(&response, buf, len) == IPR_OK && response.connect.mtu == 1500);

    /* every single-byte change of a captured Connect, through both decoders: no crash, no read past the end */
    len = hex_decode(buf, sizeof buf, "0a010100fd056c73a42b67a32000fb0fd4fb01460f0432fc2282d6c0000000");
    unsigned refused = 0;
    for (size_t at = 0; at < len; at++) {
        for (unsigned value = 0; value < 256; value++) {
            uint8_t saved = buf[at];
            buf[at] = (uint8_t)value;
            refused += request_decode_copy(buf, len) != IPR_OK;
            refused += response_decode_copy(buf, len) != IPR_OK;
            buf[at] = saved;
        }
    }
    CHECK(refused > 0);
}

void test_ipr_bundles(void)
{
    enum { MAX_RECORD = IPR_BUNDLE_PREFIX_LEN + IPR_BUNDLE_MAX_PACKET_LEN };
    static uint8_t bundle[2 * MAX_RECORD], packet[IPR_BUNDLE_MAX_PACKET_LEN + 1], encoded[2 * MAX_RECORD];
    ipr_bundle_iter iter;
    const uint8_t *got;
    size_t got_len, len = 0;

    /* no packets */
    ipr_bundle_iter_init(&iter, bundle, 0);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_END);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_END);

    /* one packet, and one of length 0 */
    for (size_t i = 0; i < sizeof packet; i++) packet[i] = (uint8_t)(i * 7 + 1);
    CHECK(ipr_bundle_append(bundle, sizeof bundle, &len, packet, 60) && len == 62);
    CHECK_HEX(bundle, 2, "003c");
    ipr_bundle_iter_init(&iter, bundle, len);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_PACKET && got == bundle + 2 && got_len == 60);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_END);
    len = 0;
    CHECK(ipr_bundle_append(bundle, sizeof bundle, &len, NULL, 0) && len == 2);
    ipr_bundle_iter_init(&iter, bundle, len);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_PACKET && got_len == 0);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_END);

    /* many packets of many sizes, read back in order */
    len = 0;
    size_t count = 0, offset = 0;
    while (ipr_bundle_append(bundle, IPR_BUNDLE_TARGET_LEN * 8, &len, packet + count, count * 13 % 97)) count++;
    CHECK(count > 100 && len <= IPR_BUNDLE_TARGET_LEN * 8);
    ipr_bundle_iter_init(&iter, bundle, len);
    bool same = true;
    for (size_t i = 0; i < count; i++) {
        same &= ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_PACKET && got_len == i * 13 % 97 &&
                memcmp(got, packet + i, got_len) == 0 && got == bundle + offset + 2;
        offset += 2 + got_len;
    }
    CHECK(same);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_END);

    /* the IPR's target: 1500 bytes with the prefixes, filled exactly */
    len = 0;
    CHECK(ipr_bundle_append(bundle, IPR_BUNDLE_TARGET_LEN, &len, packet, 748));
    CHECK(ipr_bundle_append(bundle, IPR_BUNDLE_TARGET_LEN, &len, packet, 748) && len == IPR_BUNDLE_TARGET_LEN);
    CHECK(!ipr_bundle_append(bundle, IPR_BUNDLE_TARGET_LEN, &len, packet, 0) && len == IPR_BUNDLE_TARGET_LEN);
    /* a full-size Ethernet packet in a request: ipr.md section 4.2 */
    len = 0;
    CHECK(ipr_bundle_append(bundle, sizeof bundle, &len, packet, 1500));
    ipr_request request = {.version = 9, .kind = IPR_REQUEST_DATA, .ip_packets = {bundle, len}};
    CHECK(ipr_request_encode(encoded, sizeof encoded, &request, &len) == IPR_OK && len == 1508);
    CHECK_HEX(encoded, 8, "090100fb05de05dc");

    /* the largest packet, alone and twice, through a request and a response */
    len = 0;
    CHECK(ipr_bundle_append(bundle, MAX_RECORD, &len, packet, IPR_BUNDLE_MAX_PACKET_LEN) && len == MAX_RECORD);
    CHECK(!ipr_bundle_append(bundle, sizeof bundle, &len, packet, IPR_BUNDLE_MAX_PACKET_LEN + 1) &&
          len == MAX_RECORD);
    CHECK(!ipr_bundle_append(bundle, 2 * MAX_RECORD - 1, &len, packet, IPR_BUNDLE_MAX_PACKET_LEN));
    CHECK(ipr_bundle_append(bundle, 2 * MAX_RECORD, &len, packet, IPR_BUNDLE_MAX_PACKET_LEN) &&
          len == 2 * MAX_RECORD);
    CHECK_HEX(bundle, 2, "ffff");
    ipr_response response = {.version = 9, .kind = IPR_RESPONSE_DATA, .ip_packets = {bundle, len}};
    size_t encoded_len;
    CHECK(ipr_response_encode(encoded, sizeof encoded, &response, &encoded_len) == IPR_ERR_NO_ROOM);
    response.ip_packets.len = MAX_RECORD;
    CHECK(ipr_response_encode(encoded, sizeof encoded, &response, &encoded_len) == IPR_OK &&
          encoded_len == 2 + 5 + MAX_RECORD);
    CHECK_HEX(encoded, 7, "0900fc00010001");
    ipr_response decoded;
    CHECK(ipr_response_decode(&decoded, encoded, encoded_len) == IPR_OK &&
          decoded.ip_packets.len == MAX_RECORD);
    ipr_bundle_iter_init(&iter, decoded.ip_packets.data, decoded.ip_packets.len);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_PACKET && got_len == IPR_BUNDLE_MAX_PACKET_LEN &&
          memcmp(got, packet, got_len) == 0);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_END);
    CHECK(ipr_request_decode(&request, encoded, encoded_len) == IPR_ERR_SERVICE_PROVIDER);

    /* a cut record at the end: the whole ones first, then TRUNCATED for good */
    uint8_t cut[16];
    size_t cut_len = hex_decode(cut, sizeof cut, "000201020001ff00");
    ipr_bundle_iter_init(&iter, cut, cut_len);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_PACKET && got_len == 2 && got[1] == 2);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_PACKET && got_len == 1 && got[0] == 0xff);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_TRUNCATED);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_TRUNCATED);
    cut_len = hex_decode(cut, sizeof cut, "0005010203");
    ipr_bundle_iter_init(&iter, cut, cut_len);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_TRUNCATED);
    cut_len = hex_decode(cut, sizeof cut, "ffff");
    ipr_bundle_iter_init(&iter, cut, cut_len);
    CHECK(ipr_bundle_next(&iter, &got, &got_len) == IPR_BUNDLE_TRUNCATED);
}

void test_ipr_timestamps(void)
{
    ipr_timestamp t;
    CHECK(ipr_timestamp_from_unix(&t, 0, 0) && t.year == 1970 && t.ordinal == 1 && t.hour == 0);
    CHECK(ipr_timestamp_from_unix(&t, V10_CONNECT_UNIX, 579000000) && same_timestamp(&t, &v10_connect_time));
    CHECK(ipr_timestamp_from_unix(&t, 1704113999, 500000000) && t.year == 2024 && t.ordinal == 1 && t.hour == 12 &&
          t.minute == 59 && t.second == 59 && t.nanosecond == 500000000);
    /* leap days: 2024-02-29 is day 60, 2024-12-31 day 366; 2100 is no leap year, 2000 is */
    CHECK(ipr_timestamp_from_unix(&t, 1709164800, 0) && t.year == 2024 && t.ordinal == 60);
    CHECK(ipr_timestamp_from_unix(&t, 1735689599, 0) && t.year == 2024 && t.ordinal == 366 && t.second == 59);
    CHECK(ipr_timestamp_from_unix(&t, 4107542400, 0) && t.year == 2100 && t.ordinal == 60); /* 2100-03-01 */
    CHECK(ipr_timestamp_from_unix(&t, 951782400, 0) && t.year == 2000 && t.ordinal == 60);  /* 2000-02-29 */
    /* before 1970, and the ends of the range */
    CHECK(ipr_timestamp_from_unix(&t, -1, 0) && t.year == 1969 && t.ordinal == 365 && t.hour == 23 &&
          t.minute == 59 && t.second == 59);
    CHECK(ipr_timestamp_from_unix(&t, -62135596800, 0) && t.year == 1 && t.ordinal == 1);
    CHECK(ipr_timestamp_from_unix(&t, 253402300799, 999999999) && t.year == 9999 && t.ordinal == 365 &&
          ipr_timestamp_valid(&t));
    CHECK(!ipr_timestamp_from_unix(&t, -62135596801, 0));
    CHECK(!ipr_timestamp_from_unix(&t, 253402300800, 0));
    CHECK(!ipr_timestamp_from_unix(&t, 0, 1000000000));
    /* every day of 400 years: ordinals run 1..365 or 366 and restart with the year */
    bool ordered = true;
    ipr_timestamp previous;
    ipr_timestamp_from_unix(&previous, 946684800 - 86400, 0); /* 1999-12-31 */
    for (int64_t day = 0; day < 146097; day++) {
        ipr_timestamp_from_unix(&t, 946684800 + day * 86400, 0);
        bool next_day = t.year == previous.year && t.ordinal == previous.ordinal + 1;
        bool next_year = t.year == previous.year + 1 && t.ordinal == 1 &&
                         previous.ordinal == ((previous.year % 4 == 0 && previous.year % 100 != 0) ||
                                                      previous.year % 400 == 0
                                                  ? 366
                                                  : 365);
        ordered &= (next_day || next_year) && ipr_timestamp_valid(&t);
        previous = t;
    }
    CHECK(ordered && t.year == 2399 && t.ordinal == 365);
}
