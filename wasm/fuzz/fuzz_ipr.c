/* libFuzzer target: the IPR layer on arbitrary bytes, taken both as a
 * whole mixnet message (an LP frame, whose content is then read as a
 * request and as a response) and as a bare request, response and bundle.
 * Besides memory safety it checks that an LP frame written back keeps its
 * fields, that an accepted message encodes again into no more bytes,
 * decodes to the same encoding and has no accepted proper prefix, and that
 * a bundle's packets account for all of its bytes but a cut last record. */
#include "ipr/ipr.h"

#include <stdint.h>
#include <string.h>

#define REQUIRE(cond)                  \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

#define MAX_INPUT 65536
/* every cut of a short accepted message is tried; of a long one, a sample */
#define CUT_STEP(len) ((len) / 1024 + 1)

static uint8_t encoded[MAX_INPUT], encoded_again[MAX_INPUT], rebuilt[MAX_INPUT];

static void bundle_checks(const uint8_t *bundle, size_t len)
{
    ipr_bundle_iter iter;
    const uint8_t *packet;
    size_t packet_len, rebuilt_len = 0;
    ipr_bundle_step step;
    ipr_bundle_iter_init(&iter, bundle, len);
    while ((step = ipr_bundle_next(&iter, &packet, &packet_len)) == IPR_BUNDLE_PACKET) {
        REQUIRE(packet >= bundle + IPR_BUNDLE_PREFIX_LEN && packet + packet_len <= bundle + len);
        REQUIRE(ipr_bundle_append(rebuilt, sizeof rebuilt, &rebuilt_len, packet, packet_len));
    }
    /* the packets, written again, are the bundle up to a cut record */
    REQUIRE(memcmp(rebuilt, bundle, rebuilt_len) == 0);
    REQUIRE(step == IPR_BUNDLE_END ? rebuilt_len == len : rebuilt_len < len);
    REQUIRE(ipr_bundle_next(&iter, &packet, &packet_len) == step);
}

static void request_checks(const uint8_t *data, size_t len)
{
    ipr_request request, again;
    size_t n, n_again;
    if (ipr_request_decode(&request, data, len) != IPR_OK) return;
    /* the encoder only shortens varints */
    REQUIRE(ipr_request_encode(encoded, len, &request, &n) == IPR_OK && n <= len);
    REQUIRE(ipr_request_decode(&again, encoded, n) == IPR_OK);
    REQUIRE(ipr_request_encode(encoded_again, sizeof encoded_again, &again, &n_again) == IPR_OK);
    REQUIRE(n_again == n && memcmp(encoded, encoded_again, n) == 0);
    REQUIRE(again.kind == request.kind && again.version == request.version &&
            again.request_id == request.request_id);
    for (size_t cut = 0; cut < len; cut += CUT_STEP(len))
        REQUIRE(ipr_request_decode(&again, data, cut) == IPR_ERR_TRUNCATED);
    if (request.kind == IPR_REQUEST_DATA) bundle_checks(request.ip_packets.data, request.ip_packets.len);
}

static void response_checks(const uint8_t *data, size_t len)
{
    ipr_response response, again;
    size_t n, n_again;
    if (ipr_response_decode(&response, data, len) != IPR_OK) return;
    REQUIRE(ipr_response_encode(encoded, len, &response, &n) == IPR_OK && n <= len);
    REQUIRE(ipr_response_decode(&again, encoded, n) == IPR_OK);
    REQUIRE(ipr_response_encode(encoded_again, sizeof encoded_again, &again, &n_again) == IPR_OK);
    REQUIRE(n_again == n && memcmp(encoded, encoded_again, n) == 0);
    REQUIRE(again.kind == response.kind && again.version == response.version &&
            again.request_id == response.request_id);
    for (size_t cut = 0; cut < len; cut += CUT_STEP(len))
        REQUIRE(ipr_response_decode(&again, data, cut) == IPR_ERR_TRUNCATED);
    if (response.kind == IPR_RESPONSE_DATA) bundle_checks(response.ip_packets.data, response.ip_packets.len);
}

static void frame_checks(const uint8_t *data, size_t len)
{
    lp_frame frame, again;
    if (lp_frame_decode(&frame, data, len) != LP_OK) return;
    REQUIRE(frame.content == data + LP_HEADER_LEN && frame.content_len == len - LP_HEADER_LEN);
    size_t n = lp_frame_encode(encoded, sizeof encoded, &frame);
    REQUIRE(n == len && memcmp(encoded, data, 2) == 0);
    REQUIRE(memcmp(encoded + LP_HEADER_LEN, frame.content, frame.content_len) == 0);
    /* a stream header comes back but for the reserved byte; other kinds' attributes are dropped */
    if (frame.kind == LP_KIND_SPHINX_STREAM) REQUIRE(memcmp(encoded, data, LP_HEADER_LEN - 1) == 0);
    REQUIRE(lp_frame_decode(&again, encoded, n) == LP_OK && again.kind == frame.kind &&
            again.stream_id == frame.stream_id && again.msg_type == frame.msg_type &&
            again.sequence == frame.sequence);
    request_checks(frame.content, frame.content_len);
    response_checks(frame.content, frame.content_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len > MAX_INPUT) return 0;
    frame_checks(data, len);
    request_checks(data, len);
    response_checks(data, len);
    bundle_checks(data, len);
    return 0;
}
