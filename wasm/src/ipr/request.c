/* IPR requests, v8 layout (ip-packet-requests v8/request.rs), which v9 and
 * v10 reuse with their own version byte:
 *   version u8, service-provider type (variant), data: enum {
 *     0 Data { ip_packets: bytes },
 *     1 Control: enum {
 *       0 Connect { request_id u64, buffer_timeout Option<u64>, timestamp },
 *       1 Disconnect, 2 Ping, 3 Health { request_id u64, timestamp } } } */
#include "ipr/bincode.h"

enum { DATA_VARIANT, CONTROL_VARIANT, DATA_VARIANTS };
enum { CONNECT_VARIANT, DISCONNECT_VARIANT, PING_VARIANT, HEALTH_VARIANT, CONTROL_VARIANTS };

ipr_result ipr_request_decode(ipr_request *request, const uint8_t *buf, size_t len)
{
    *request = (ipr_request){0};
    ipr_reader r;
    ipr_reader_init(&r, buf, len);
    request->version = ipr_read_u8(&r);
    if (r.error == IPR_OK && (request->version < IPR_VERSION_MIN || request->version > IPR_VERSION_MAX))
        return IPR_ERR_VERSION;
    /* the IPR checks this raw byte before it decodes anything */
    if (ipr_read_u8(&r) != IPR_SERVICE_PROVIDER_IP_PACKET_ROUTER && r.error == IPR_OK)
        return IPR_ERR_SERVICE_PROVIDER;
    if (ipr_read_variant(&r, DATA_VARIANTS) == DATA_VARIANT) {
        request->kind = IPR_REQUEST_DATA;
        request->ip_packets = ipr_read_bytes(&r);
        return ipr_reader_finish(&r);
    }
    uint32_t control = ipr_read_variant(&r, CONTROL_VARIANTS);
    request->kind = (ipr_request_kind)(IPR_REQUEST_CONNECT + control);
    request->request_id = ipr_read_varint(&r, UINT64_MAX);
    if (control == CONNECT_VARIANT) {
        request->has_buffer_timeout = ipr_read_flag(&r);
        if (request->has_buffer_timeout) request->buffer_timeout_ms = ipr_read_varint(&r, UINT64_MAX);
    }
    ipr_read_timestamp(&r, &request->timestamp);
    return ipr_reader_finish(&r);
}

ipr_result ipr_request_encode(uint8_t *out, size_t cap, const ipr_request *request, size_t *out_len)
{
    ipr_writer w;
    ipr_writer_init(&w, out, cap);
    if (request->version < IPR_VERSION_MIN || request->version > IPR_VERSION_MAX ||
        request->kind > IPR_REQUEST_HEALTH)
        ipr_writer_fail(&w, IPR_ERR_INVALID);
    ipr_write_u8(&w, request->version);
    ipr_write_varint(&w, IPR_SERVICE_PROVIDER_IP_PACKET_ROUTER);
    if (request->kind == IPR_REQUEST_DATA) {
        ipr_write_varint(&w, DATA_VARIANT);
        ipr_write_bytes(&w, request->ip_packets);
        return ipr_writer_finish(&w, out_len);
    }
    ipr_write_varint(&w, CONTROL_VARIANT);
    ipr_write_varint(&w, (uint64_t)(request->kind - IPR_REQUEST_CONNECT));
    ipr_write_varint(&w, request->request_id);
    if (request->kind == IPR_REQUEST_CONNECT) {
        ipr_write_flag(&w, request->has_buffer_timeout);
        if (request->has_buffer_timeout) ipr_write_varint(&w, request->buffer_timeout_ms);
    }
    ipr_write_timestamp(&w, &request->timestamp);
    return ipr_writer_finish(&w, out_len);
}
