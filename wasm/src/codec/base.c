/* base64 (RFC 4648, standard alphabet, padded) and base58 (Bitcoin alphabet). */
#include "codec/codec.h"

#include <string.h>

static const char BASE64_ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(char *out, size_t out_cap, const uint8_t *in, size_t len)
{
    size_t need = BASE64_ENCODED_LEN(len);
    if (out_cap <= need) return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t group = (uint32_t)in[i] << 16;
        if (i + 1 < len) group |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len) group |= in[i + 2];
        out[o++] = BASE64_ALPHABET[group >> 18 & 63];
        out[o++] = BASE64_ALPHABET[group >> 12 & 63];
        out[o++] = i + 1 < len ? BASE64_ALPHABET[group >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? BASE64_ALPHABET[group & 63] : '=';
    }
    out[o] = '\0';
    return (int)o;
}

static int base64_value(char c)
{
    const char *hit = c ? strchr(BASE64_ALPHABET, c) : NULL;
    return hit ? (int)(hit - BASE64_ALPHABET) : -1;
}

int base64_decode(uint8_t *out, size_t out_cap, const char *in, size_t len)
{
    if (len % 4 != 0) return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int pad = (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=');
        if (pad && !last) return -1;
        uint32_t group = 0;
        for (int k = 0; k < 4 - pad; k++) {
            int v = base64_value(in[i + k]);
            if (v < 0) return -1;
            group |= (uint32_t)v << (18 - 6 * k);
        }
        size_t bytes = (size_t)(3 - pad);
        /* canonical form only: the bits under the padding must be zero */
        if ((pad == 1 && (group & 0xff)) || (pad == 2 && (group & 0xffff))) return -1;
        if (out_cap - o < bytes) return -1;
        for (size_t k = 0; k < bytes; k++) out[o++] = (uint8_t)(group >> (16 - 8 * k));
    }
    return (int)o;
}

static const char BASE58_ALPHABET[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
#define BASE58_MAX_INPUT 64

int base58_encode(char *out, size_t out_cap, const uint8_t *in, size_t len)
{
    if (len > BASE58_MAX_INPUT) return -1;
    size_t zeros = 0;
    while (zeros < len && in[zeros] == 0) zeros++;
    /* base-58 digits, least significant first */
    uint8_t digits[BASE58_MAX_ENCODED_LEN(BASE58_MAX_INPUT)];
    size_t n = 0;
    for (size_t i = zeros; i < len; i++) {
        uint32_t carry = in[i];
        for (size_t d = 0; d < n; d++) {
            carry += (uint32_t)digits[d] << 8;
            digits[d] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            digits[n++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    if (out_cap <= zeros + n) return -1;
    size_t o = 0;
    for (size_t i = 0; i < zeros; i++) out[o++] = '1';
    while (n) out[o++] = BASE58_ALPHABET[digits[--n]];
    out[o] = '\0';
    return (int)o;
}

bool base58_decode_exact(uint8_t *out, size_t out_len, const char *in, size_t in_len)
{
    if (out_len > BASE58_MAX_INPUT || in_len > BASE58_MAX_ENCODED_LEN(BASE58_MAX_INPUT)) return false;
    size_t zeros = 0;
    while (zeros < in_len && in[zeros] == '1') zeros++;
    /* bytes, least significant first */
    uint8_t bytes[BASE58_MAX_INPUT + 1];
    size_t n = 0;
    for (size_t i = zeros; i < in_len; i++) {
        const char *hit = in[i] ? strchr(BASE58_ALPHABET, in[i]) : NULL;
        if (!hit) return false;
        uint32_t carry = (uint32_t)(hit - BASE58_ALPHABET);
        for (size_t b = 0; b < n; b++) {
            carry += (uint32_t)bytes[b] * 58;
            bytes[b] = (uint8_t)carry;
            carry >>= 8;
        }
        while (carry) {
            if (n == sizeof bytes) return false;
            bytes[n++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    if (zeros + n != out_len) return false;
    memset(out, 0, zeros);
    for (size_t i = 0; i < n; i++) out[zeros + i] = bytes[n - 1 - i];
    return true;
}
