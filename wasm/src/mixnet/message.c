/* NymMessage encoding: Plain, Repliable (sender tag, content tag, reply
 * SURB lists V1 and V2) and Reply (data, SURB request); reply SURBs. */
#include "mixnet/mixnet.h"

#include <string.h>

#define V1_LIST_HEADER_LEN 4 /* count u32 BE */
#define V2_LIST_HEADER_LEN 4 /* count u16 BE ‖ hops ‖ key rotation */
#define V1_SURB_HOPS 4
#define SURB_REQUEST_LEN (MIXNET_RECIPIENT_LEN + 4)

int mixnet_reply_surb_decode(mixnet_reply_surb *s, const uint8_t *in, size_t len)
{
    if (len <= MIXNET_SURB_KEY_LEN) return MIXNET_ERR_LENGTH;
    if (sphinx_surb_decode(&s->surb, in + MIXNET_SURB_KEY_LEN, len - MIXNET_SURB_KEY_LEN) < 0)
        return MIXNET_ERR_MALFORMED;
    nym_node_address first_hop;
    if (nym_node_address_decode(&first_hop, s->surb.first_hop, SPHINX_NODE_ADDRESS_LEN) < 0)
        return MIXNET_ERR_MALFORMED;
    memcpy(s->key, in, MIXNET_SURB_KEY_LEN);
    return 0;
}

int mixnet_reply_surb_encode(const mixnet_reply_surb *s, uint8_t *out, size_t out_cap)
{
    if (out_cap < MIXNET_SURB_KEY_LEN) return MIXNET_ERR_LENGTH;
    int n = sphinx_surb_encode(&s->surb, out + MIXNET_SURB_KEY_LEN, out_cap - MIXNET_SURB_KEY_LEN);
    if (n < 0) return MIXNET_ERR_LENGTH;
    memcpy(out, s->key, MIXNET_SURB_KEY_LEN);
    return MIXNET_SURB_KEY_LEN + n;
}

static bool content_is_v1(uint8_t content)
{
    return content <= MIXNET_REPLIABLE_HEARTBEAT_V1;
}

static bool content_has_data(uint8_t content)
{
    return content == MIXNET_REPLIABLE_DATA_V1 || content == MIXNET_REPLIABLE_DATA_V2;
}

static uint32_t read_u32_be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void write_u32_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Reads a SURB list from the start of in; returns the bytes it takes. */
static int surb_list_parse(mixnet_surb_list *list, uint8_t content, const uint8_t *in, size_t len)
{
    size_t header_len;
    if (content_is_v1(content)) {
        if (len < V1_LIST_HEADER_LEN) return MIXNET_ERR_LENGTH;
        list->count = read_u32_be(in);
        list->hops = V1_SURB_HOPS;
        list->rotation = NYM_ROTATION_UNKNOWN;
        list->surb_len = MIXNET_REPLY_SURB_V1_LEN;
        header_len = V1_LIST_HEADER_LEN;
    } else {
        if (len < V2_LIST_HEADER_LEN) return MIXNET_ERR_LENGTH;
        if (in[3] > NYM_ROTATION_EVEN) return MIXNET_ERR_MALFORMED;
        list->count = (size_t)in[0] << 8 | in[1];
        list->hops = in[2];
        list->rotation = (nym_key_rotation)in[3];
        list->surb_len = MIXNET_REPLY_SURB_LEN((size_t)in[2]);
        header_len = V2_LIST_HEADER_LEN;
    }
    size_t available = len - header_len;
    if (list->count > available / list->surb_len) return MIXNET_ERR_LENGTH;
    list->surbs = in + header_len;
    for (size_t i = 0; i < list->count; i++) {
        mixnet_reply_surb surb;
        if (mixnet_reply_surb_decode(&surb, list->surbs + i * list->surb_len, list->surb_len) < 0)
            return MIXNET_ERR_MALFORMED;
    }
    return (int)(header_len + list->count * list->surb_len);
}

static int parse_repliable(mixnet_message *m, const uint8_t *in, size_t len)
{
    if (len < MIXNET_SENDER_TAG_LEN + 1) return MIXNET_ERR_LENGTH;
    memcpy(m->sender_tag, in, MIXNET_SENDER_TAG_LEN);
    m->content = in[MIXNET_SENDER_TAG_LEN];
    if (m->content > MIXNET_REPLIABLE_HEARTBEAT_V2) return MIXNET_ERR_MALFORMED;
    const uint8_t *body = in + MIXNET_SENDER_TAG_LEN + 1;
    size_t body_len = len - MIXNET_SENDER_TAG_LEN - 1;
    if (body_len == 0) return MIXNET_ERR_LENGTH;
    int used = surb_list_parse(&m->surbs, m->content, body, body_len);
    if (used < 0) return used;
    /* SURB-only contents may carry trailing bytes; Nym ignores them */
    if (content_has_data(m->content)) {
        m->data = body + used;
        m->data_len = body_len - (size_t)used;
    }
    return 0;
}

static int parse_reply(mixnet_message *m, const uint8_t *in, size_t len)
{
    if (len < 2) return MIXNET_ERR_LENGTH; /* a content tag and at least one byte */
    m->content = in[0];
    if (m->content == MIXNET_REPLY_DATA) {
        m->data = in + 1;
        m->data_len = len - 1;
        return 0;
    }
    if (m->content != MIXNET_REPLY_SURB_REQUEST) return MIXNET_ERR_MALFORMED;
    if (len - 1 != SURB_REQUEST_LEN) return MIXNET_ERR_LENGTH;
    mixnet_recipient_decode(&m->surb_requester, in + 1);
    m->surb_request_amount = read_u32_be(in + 1 + MIXNET_RECIPIENT_LEN);
    return 0;
}

int mixnet_message_parse(mixnet_message *m, const uint8_t *in, size_t len)
{
    memset(m, 0, sizeof *m);
    if (len == 0) return MIXNET_ERR_LENGTH;
    m->type = (mixnet_message_type)in[0];
    switch (in[0]) {
    case MIXNET_MESSAGE_PLAIN:
        m->data = in + 1;
        m->data_len = len - 1;
        return 0;
    case MIXNET_MESSAGE_REPLIABLE:
        return parse_repliable(m, in + 1, len - 1);
    case MIXNET_MESSAGE_REPLY:
        return parse_reply(m, in + 1, len - 1);
    default:
        return MIXNET_ERR_MALFORMED;
    }
}

static size_t surb_list_encoded_len(const mixnet_surb_list *list)
{
    return V1_LIST_HEADER_LEN + list->count * list->surb_len; /* both versions have a 4-byte header */
}

size_t mixnet_message_encoded_len(const mixnet_message *m)
{
    switch (m->type) {
    case MIXNET_MESSAGE_REPLIABLE:
        return 1 + MIXNET_SENDER_TAG_LEN + 1 + surb_list_encoded_len(&m->surbs) +
               (content_has_data(m->content) ? m->data_len : 0);
    case MIXNET_MESSAGE_REPLY:
        return 2 + (m->content == MIXNET_REPLY_SURB_REQUEST ? SURB_REQUEST_LEN : m->data_len);
    default:
        return 1 + m->data_len;
    }
}

static void surb_list_encode(const mixnet_surb_list *list, uint8_t content, uint8_t *out)
{
    if (content_is_v1(content)) {
        write_u32_be(out, (uint32_t)list->count);
    } else {
        out[0] = (uint8_t)(list->count >> 8);
        out[1] = (uint8_t)list->count;
        out[2] = list->hops;
        out[3] = (uint8_t)list->rotation;
    }
    if (list->count) memcpy(out + 4, list->surbs, list->count * list->surb_len);
}

int mixnet_message_encode(const mixnet_message *m, uint8_t *out, size_t out_cap)
{
    size_t len = mixnet_message_encoded_len(m);
    if (out_cap < len) return MIXNET_ERR_LENGTH;
    out[0] = (uint8_t)m->type;
    switch (m->type) {
    case MIXNET_MESSAGE_PLAIN:
        if (m->data_len) memcpy(out + 1, m->data, m->data_len);
        break;
    case MIXNET_MESSAGE_REPLIABLE: {
        if (m->content > MIXNET_REPLIABLE_HEARTBEAT_V2) return MIXNET_ERR_MALFORMED;
        size_t list_limit = content_is_v1(m->content) ? UINT32_MAX : UINT16_MAX;
        if (m->surbs.count > list_limit) return MIXNET_ERR_LENGTH;
        memcpy(out + 1, m->sender_tag, MIXNET_SENDER_TAG_LEN);
        out[1 + MIXNET_SENDER_TAG_LEN] = m->content;
        uint8_t *list = out + 2 + MIXNET_SENDER_TAG_LEN;
        surb_list_encode(&m->surbs, m->content, list);
        if (content_has_data(m->content) && m->data_len)
            memcpy(list + surb_list_encoded_len(&m->surbs), m->data, m->data_len);
        break;
    }
    case MIXNET_MESSAGE_REPLY:
        out[1] = m->content;
        if (m->content == MIXNET_REPLY_SURB_REQUEST) {
            mixnet_recipient_encode(&m->surb_requester, out + 2);
            write_u32_be(out + 2 + MIXNET_RECIPIENT_LEN, m->surb_request_amount);
        } else if (m->content == MIXNET_REPLY_DATA) {
            /* Nym refuses an empty reply on receipt */
            if (m->data_len == 0) return MIXNET_ERR_LENGTH;
            memcpy(out + 2, m->data, m->data_len);
        } else {
            return MIXNET_ERR_MALFORMED;
        }
        break;
    default:
        return MIXNET_ERR_MALFORMED;
    }
    return (int)len;
}
