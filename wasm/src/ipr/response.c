/* IPR responses, v8 layout (ip-packet-requests v8/response.rs), shared by
 * v9, and by v10 except that its successful Connect adds the MTU
 * (v10/response.rs):
 *   version u8 (no service-provider type), data: enum {
 *     0 Data { ip_packet: bytes },
 *     1 Control: enum {
 *       0 Connect { request_id, enum { 0 Success { ipv4 [4], ipv6 [16], v10: mtu u16 },
 *                                      1 Failure(enum { AlreadyConnected, NoAvailableIp, Other(String) }) } },
 *       1 Disconnect { request_id, enum { 0 Success, 1 Failure(enum { NotConnected, Other(String) }) } },
 *       2 UnrequestedDisconnect { enum { MixnetTimeout, TunTimeout, Other(String) } },
 *       3 Pong { request_id },
 *       4 Health { request_id, 10 Strings, routable Option<bool> },
 *       5 Info { request_id, enum { 0 Generic { String }, 1 VersionMismatch { u8, u8 },
 *                                   2 ExitPolicyFilterCheckFailed { String } }, level enum } } } */
#include "ipr/bincode.h"

enum { DATA_VARIANT, CONTROL_VARIANT, DATA_VARIANTS };
enum { RESULT_SUCCESS, RESULT_FAILURE, RESULT_VARIANTS };
#define CONTROL_VARIANTS (IPR_RESPONSE_INFO - IPR_RESPONSE_CONNECT + 1)
#define CONNECT_FAILURES (IPR_CONNECT_OTHER + 1)
#define DISCONNECT_FAILURES (IPR_DISCONNECT_OTHER + 1)
#define UNREQUESTED_REASONS (IPR_UNREQUESTED_OTHER + 1)
#define INFO_REPLIES (IPR_INFO_EXIT_POLICY_FILTER_CHECK_FAILED + 1)
#define INFO_LEVELS (IPR_LEVEL_ERROR + 1)

static void read_connect(ipr_reader *r, ipr_response *response)
{
    response->connect.success = ipr_read_variant(r, RESULT_VARIANTS) == RESULT_SUCCESS;
    if (response->connect.success) {
        ipr_read_raw(r, response->connect.ipv4, sizeof response->connect.ipv4);
        ipr_read_raw(r, response->connect.ipv6, sizeof response->connect.ipv6);
        if (response->version >= IPR_VERSION_MTU)
            response->connect.mtu = (uint16_t)ipr_read_varint(r, UINT16_MAX);
        return;
    }
    response->connect.failure = (ipr_connect_failure)ipr_read_variant(r, CONNECT_FAILURES);
    if (response->connect.failure == IPR_CONNECT_OTHER) response->connect.message = ipr_read_string(r);
}

static void read_disconnect(ipr_reader *r, ipr_response *response)
{
    response->disconnect.success = ipr_read_variant(r, RESULT_VARIANTS) == RESULT_SUCCESS;
    if (response->disconnect.success) return;
    response->disconnect.failure = (ipr_disconnect_failure)ipr_read_variant(r, DISCONNECT_FAILURES);
    if (response->disconnect.failure == IPR_DISCONNECT_OTHER) response->disconnect.message = ipr_read_string(r);
}

static void read_info(ipr_reader *r, ipr_response *response)
{
    response->info.reply = (ipr_info_reply)ipr_read_variant(r, INFO_REPLIES);
    if (response->info.reply == IPR_INFO_VERSION_MISMATCH) {
        response->info.request_version = ipr_read_u8(r);
        response->info.response_version = ipr_read_u8(r);
    } else {
        response->info.message = ipr_read_string(r);
    }
    response->info.level = (ipr_info_level)ipr_read_variant(r, INFO_LEVELS);
}

ipr_result ipr_response_decode(ipr_response *response, const uint8_t *buf, size_t len)
{
    *response = (ipr_response){0};
    ipr_reader r;
    ipr_reader_init(&r, buf, len);
    response->version = ipr_read_u8(&r);
    if (r.error == IPR_OK && (response->version < IPR_VERSION_MIN || response->version > IPR_VERSION_MAX))
        return IPR_ERR_VERSION;
    if (ipr_read_variant(&r, DATA_VARIANTS) == DATA_VARIANT) {
        response->kind = IPR_RESPONSE_DATA;
        response->ip_packets = ipr_read_bytes(&r);
        return ipr_reader_finish(&r);
    }
    response->kind = (ipr_response_kind)(IPR_RESPONSE_CONNECT + ipr_read_variant(&r, CONTROL_VARIANTS));
    if (response->kind != IPR_RESPONSE_UNREQUESTED_DISCONNECT)
        response->request_id = ipr_read_varint(&r, UINT64_MAX);
    switch (response->kind) {
    case IPR_RESPONSE_CONNECT:
        read_connect(&r, response);
        break;
    case IPR_RESPONSE_DISCONNECT:
        read_disconnect(&r, response);
        break;
    case IPR_RESPONSE_UNREQUESTED_DISCONNECT:
        response->unrequested.reason = (ipr_unrequested_reason)ipr_read_variant(&r, UNREQUESTED_REASONS);
        if (response->unrequested.reason == IPR_UNREQUESTED_OTHER)
            response->unrequested.message = ipr_read_string(&r);
        break;
    case IPR_RESPONSE_HEALTH:
        for (size_t i = 0; i < IPR_BUILD_INFO_FIELDS; i++) response->health.build_info[i] = ipr_read_string(&r);
        if (!ipr_read_flag(&r)) {
            response->health.routable = IPR_ROUTABLE_UNKNOWN;
        } else {
            response->health.routable = ipr_read_flag(&r) ? IPR_ROUTABLE_YES : IPR_ROUTABLE_NO;
        }
        break;
    case IPR_RESPONSE_INFO:
        read_info(&r, response);
        break;
    default: /* Pong: the request id only */
        break;
    }
    return ipr_reader_finish(&r);
}

/* Writes a failure's variant, and its message when it is the Other one. */
static void write_failure(ipr_writer *w, unsigned failure, unsigned count, ipr_bytes message)
{
    if (failure >= count) ipr_writer_fail(w, IPR_ERR_INVALID);
    ipr_write_varint(w, RESULT_FAILURE);
    ipr_write_varint(w, failure);
    if (failure == count - 1) ipr_write_string(w, message);
}

static void write_info(ipr_writer *w, const ipr_response *response)
{
    if (response->info.reply >= INFO_REPLIES || response->info.level >= INFO_LEVELS)
        ipr_writer_fail(w, IPR_ERR_INVALID);
    ipr_write_varint(w, response->info.reply);
    if (response->info.reply == IPR_INFO_VERSION_MISMATCH) {
        ipr_write_u8(w, response->info.request_version);
        ipr_write_u8(w, response->info.response_version);
    } else {
        ipr_write_string(w, response->info.message);
    }
    ipr_write_varint(w, response->info.level);
}

ipr_result ipr_response_encode(uint8_t *out, size_t cap, const ipr_response *response, size_t *out_len)
{
    ipr_writer w;
    ipr_writer_init(&w, out, cap);
    if (response->version < IPR_VERSION_MIN || response->version > IPR_VERSION_MAX ||
        response->kind > IPR_RESPONSE_INFO)
        ipr_writer_fail(&w, IPR_ERR_INVALID);
    ipr_write_u8(&w, response->version);
    if (response->kind == IPR_RESPONSE_DATA) {
        ipr_write_varint(&w, DATA_VARIANT);
        ipr_write_bytes(&w, response->ip_packets);
        return ipr_writer_finish(&w, out_len);
    }
    ipr_write_varint(&w, CONTROL_VARIANT);
    ipr_write_varint(&w, (uint64_t)(response->kind - IPR_RESPONSE_CONNECT));
    if (response->kind != IPR_RESPONSE_UNREQUESTED_DISCONNECT) ipr_write_varint(&w, response->request_id);
    switch (response->kind) {
    case IPR_RESPONSE_CONNECT:
        if (!response->connect.success) {
            write_failure(&w, response->connect.failure, CONNECT_FAILURES, response->connect.message);
            break;
        }
        ipr_write_varint(&w, RESULT_SUCCESS);
        ipr_write_raw(&w, response->connect.ipv4, sizeof response->connect.ipv4);
        ipr_write_raw(&w, response->connect.ipv6, sizeof response->connect.ipv6);
        if (response->version >= IPR_VERSION_MTU) ipr_write_varint(&w, response->connect.mtu);
        break;
    case IPR_RESPONSE_DISCONNECT:
        if (response->disconnect.success) {
            ipr_write_varint(&w, RESULT_SUCCESS);
        } else {
            write_failure(&w, response->disconnect.failure, DISCONNECT_FAILURES, response->disconnect.message);
        }
        break;
    case IPR_RESPONSE_UNREQUESTED_DISCONNECT:
        if (response->unrequested.reason >= UNREQUESTED_REASONS) ipr_writer_fail(&w, IPR_ERR_INVALID);
        ipr_write_varint(&w, response->unrequested.reason);
        if (response->unrequested.reason == IPR_UNREQUESTED_OTHER) ipr_write_string(&w, response->unrequested.message);
        break;
    case IPR_RESPONSE_HEALTH:
        for (size_t i = 0; i < IPR_BUILD_INFO_FIELDS; i++) ipr_write_string(&w, response->health.build_info[i]);
        if (response->health.routable > IPR_ROUTABLE_YES) ipr_writer_fail(&w, IPR_ERR_INVALID);
        ipr_write_flag(&w, response->health.routable != IPR_ROUTABLE_UNKNOWN);
        if (response->health.routable != IPR_ROUTABLE_UNKNOWN)
            ipr_write_flag(&w, response->health.routable == IPR_ROUTABLE_YES);
        break;
    case IPR_RESPONSE_INFO:
        write_info(&w, response);
        break;
    default: /* Pong: the request id only */
        break;
    }
    return ipr_writer_finish(&w, out_len);
}
