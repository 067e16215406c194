/* Bundles of IP packets (ip-packet-requests codec.rs). */
#include <string.h>

#include "ipr/ipr.h"

bool ipr_bundle_append(uint8_t *bundle, size_t cap, size_t *len, const uint8_t *packet, size_t packet_len)
{
    if (packet_len > IPR_BUNDLE_MAX_PACKET_LEN || *len > cap ||
        IPR_BUNDLE_PREFIX_LEN + packet_len > cap - *len)
        return false;
    uint8_t *record = bundle + *len;
    record[0] = (uint8_t)(packet_len >> 8);
    record[1] = (uint8_t)packet_len;
    if (packet_len) memcpy(record + IPR_BUNDLE_PREFIX_LEN, packet, packet_len);
    *len += IPR_BUNDLE_PREFIX_LEN + packet_len;
    return true;
}

void ipr_bundle_iter_init(ipr_bundle_iter *iter, const uint8_t *bundle, size_t len)
{
    iter->bundle = bundle;
    iter->len = len;
    iter->offset = 0;
}

ipr_bundle_step ipr_bundle_next(ipr_bundle_iter *iter, const uint8_t **packet, size_t *packet_len)
{
    size_t left = iter->len - iter->offset;
    if (left == 0) return IPR_BUNDLE_END;
    if (left < IPR_BUNDLE_PREFIX_LEN) return IPR_BUNDLE_TRUNCATED;
    const uint8_t *record = iter->bundle + iter->offset;
    size_t len = (size_t)(record[0] << 8 | record[1]);
    if (len > left - IPR_BUNDLE_PREFIX_LEN) return IPR_BUNDLE_TRUNCATED;
    *packet = record + IPR_BUNDLE_PREFIX_LEN;
    *packet_len = len;
    iter->offset += IPR_BUNDLE_PREFIX_LEN + len;
    return IPR_BUNDLE_PACKET;
}
