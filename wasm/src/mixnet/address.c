/* Client addresses: 96 bytes, and the base58 text form Nym shows. */
#include "mixnet/mixnet.h"

#include <string.h>

#include "codec/codec.h"

void mixnet_recipient_encode(const mixnet_recipient *r, uint8_t out[MIXNET_RECIPIENT_LEN])
{
    memcpy(out, r->identity, MIXNET_KEY_LEN);
    memcpy(out + MIXNET_KEY_LEN, r->encryption_key, MIXNET_KEY_LEN);
    memcpy(out + 2 * MIXNET_KEY_LEN, r->gateway, MIXNET_KEY_LEN);
}

void mixnet_recipient_decode(mixnet_recipient *r, const uint8_t in[MIXNET_RECIPIENT_LEN])
{
    memcpy(r->identity, in, MIXNET_KEY_LEN);
    memcpy(r->encryption_key, in + MIXNET_KEY_LEN, MIXNET_KEY_LEN);
    memcpy(r->gateway, in + 2 * MIXNET_KEY_LEN, MIXNET_KEY_LEN);
}

int mixnet_recipient_format(const mixnet_recipient *r, char *out, size_t out_cap)
{
    const uint8_t *keys[3] = {r->identity, r->encryption_key, r->gateway};
    const char separators[3] = {'.', '@', '\0'};
    size_t used = 0;
    for (size_t i = 0; i < 3; i++) {
        int n = base58_encode(out + used, out_cap - used, keys[i], MIXNET_KEY_LEN);
        if (n < 0) return MIXNET_ERR_LENGTH;
        used += (size_t)n;
        if (separators[i]) {
            if (out_cap - used < 2) return MIXNET_ERR_LENGTH;
            out[used++] = separators[i];
        }
    }
    return (int)used;
}

/* identity '.' encryption key '@' gateway, each exactly one separator */
int mixnet_recipient_parse(mixnet_recipient *r, const char *text, size_t len)
{
    const char *at = memchr(text, '@', len);
    if (!at || memchr(at + 1, '@', len - (size_t)(at - text) - 1)) return MIXNET_ERR_MALFORMED;
    size_t client_len = (size_t)(at - text);
    const char *dot = memchr(text, '.', client_len);
    if (!dot || memchr(dot + 1, '.', client_len - (size_t)(dot - text) - 1)) return MIXNET_ERR_MALFORMED;
    mixnet_recipient parsed;
    if (!base58_decode_exact(parsed.identity, MIXNET_KEY_LEN, text, (size_t)(dot - text)) ||
        !base58_decode_exact(parsed.encryption_key, MIXNET_KEY_LEN, dot + 1, (size_t)(at - dot - 1)) ||
        !base58_decode_exact(parsed.gateway, MIXNET_KEY_LEN, at + 1, len - client_len - 1))
        return MIXNET_ERR_MALFORMED;
    *r = parsed;
    return 0;
}
