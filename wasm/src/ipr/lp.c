/* LP frames as nym-lp defines them (packet/frame.rs): only the framing,
 * none of LP's session layer, since Sphinx already protects the bytes. */
#include <string.h>

#include "ipr/ipr.h"

#define STREAM_ID_AT 2
#define MSG_TYPE_AT 10
#define SEQUENCE_AT 11
#define RESERVED_AT 15

lp_result lp_frame_decode(lp_frame *frame, const uint8_t *buf, size_t len)
{
    if (len < LP_HEADER_LEN) return LP_ERR_SHORT;
    uint16_t kind = (uint16_t)(buf[0] | buf[1] << 8);
    if (kind > LP_KIND_SPHINX_STREAM) return LP_ERR_KIND;
    *frame = (lp_frame){
        .kind = (lp_frame_kind)kind,
        .content = buf + LP_HEADER_LEN,
        .content_len = len - LP_HEADER_LEN,
    };
    if (kind != LP_KIND_SPHINX_STREAM) return LP_OK;
    uint8_t msg_type = buf[MSG_TYPE_AT];
    if (msg_type > LP_STREAM_DATA) return LP_ERR_MSG_TYPE;
    for (size_t i = 0; i < 8; i++) frame->stream_id = frame->stream_id << 8 | buf[STREAM_ID_AT + i];
    frame->msg_type = (lp_stream_msg_type)msg_type;
    for (size_t i = 0; i < 4; i++) frame->sequence = frame->sequence << 8 | buf[SEQUENCE_AT + i];
    return LP_OK;
}

size_t lp_frame_encode(uint8_t *out, size_t cap, const lp_frame *frame)
{
    if (frame->kind > LP_KIND_SPHINX_STREAM || frame->msg_type > LP_STREAM_DATA) return 0;
    if (cap < LP_HEADER_LEN || frame->content_len > cap - LP_HEADER_LEN) return 0;
    /* the content first: it may start inside the header's bytes */
    if (frame->content_len) memmove(out + LP_HEADER_LEN, frame->content, frame->content_len);
    memset(out, 0, LP_HEADER_LEN);
    out[0] = (uint8_t)frame->kind;
    if (frame->kind == LP_KIND_SPHINX_STREAM) {
        for (size_t i = 0; i < 8; i++) out[STREAM_ID_AT + i] = (uint8_t)(frame->stream_id >> (56 - 8 * i));
        out[MSG_TYPE_AT] = (uint8_t)frame->msg_type;
        for (size_t i = 0; i < 4; i++) out[SEQUENCE_AT + i] = (uint8_t)(frame->sequence >> (24 - 8 * i));
    }
    return LP_HEADER_LEN + frame->content_len;
}
