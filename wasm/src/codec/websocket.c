/* WebSocket (RFC 6455): frame headers, masking, fragmentation rules, close
 * payloads, UTF-8 checking and the opening handshake, for both roles.
 * No extensions are offered or accepted. */
#include "codec/codec.h"
#include "crypto/crypto.h"

#include <string.h>

/* The GUID a server appends to the client's key (RFC 6455 section 1.3). */
static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

uint16_t ws_close_code_for(ws_result result)
{
    /* ws_result lists the protocol errors together, from RESERVED_BITS to CLOSE_PAYLOAD */
    if (result >= WS_ERR_RESERVED_BITS && result <= WS_ERR_CLOSE_PAYLOAD) return 1002;
    if (result == WS_ERR_TOO_BIG) return 1009;
    if (result == WS_ERR_INVALID_UTF8) return 1007;
    return 0;
}

static bool is_control(unsigned opcode)
{
    return (opcode & 0x8) != 0;
}

static bool is_known_opcode(unsigned opcode)
{
    return opcode <= WS_OPCODE_BINARY || (opcode >= WS_OPCODE_CLOSE && opcode <= WS_OPCODE_PONG);
}

/* ---- frames (section 5.2) ---- */

size_t ws_frame_header_write(uint8_t out[WS_MAX_HEADER_LEN], bool fin, ws_opcode opcode, uint64_t payload_len,
                             const uint8_t *mask_key)
{
    if (!is_known_opcode(opcode) || payload_len >> 63) return 0;
    if (is_control(opcode) && (!fin || payload_len > WS_MAX_CONTROL_PAYLOAD)) return 0;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    uint8_t mask_bit = mask_key ? 0x80 : 0;
    size_t n;
    if (payload_len < 126) {
        out[1] = (uint8_t)(mask_bit | payload_len);
        n = 2;
    } else if (payload_len <= 0xffff) {
        out[1] = mask_bit | 126;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        n = 4;
    } else {
        out[1] = mask_bit | 127;
        for (int i = 0; i < 8; i++) out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
        n = 10;
    }
    if (mask_key) {
        memcpy(out + n, mask_key, WS_MASK_KEY_LEN);
        n += WS_MASK_KEY_LEN;
    }
    return n;
}

void ws_mask(uint8_t *data, size_t len, const uint8_t mask_key[WS_MASK_KEY_LEN], uint64_t offset)
{
    /* eight key bytes in payload order: the same for every aligned 8-byte
     * step, so the bulk goes a word at a time whatever the byte order */
    uint8_t key8[8];
    for (unsigned i = 0; i < 8; i++) key8[i] = mask_key[(offset + i) & 3];
    uint64_t key_word, word;
    memcpy(&key_word, key8, 8);
    size_t i = 0;
    for (; len - i >= 8; i += 8) {
        memcpy(&word, data + i, 8);
        word ^= key_word;
        memcpy(data + i, &word, 8);
    }
    for (; i < len; i++) data[i] ^= key8[i & 7];
}

ws_result ws_frame_header_parse(ws_frame_header *frame, const uint8_t *buf, size_t len, ws_role role,
                                uint64_t max_payload)
{
    if (len < 2) return WS_INCOMPLETE;
    unsigned opcode = buf[0] & 0x0f;
    bool fin = buf[0] & 0x80, masked = buf[1] & 0x80;
    unsigned len7 = buf[1] & 0x7f;
    if (buf[0] & 0x70) return WS_ERR_RESERVED_BITS;
    if (!is_known_opcode(opcode)) return WS_ERR_UNKNOWN_OPCODE;
    if (is_control(opcode) && !fin) return WS_ERR_CONTROL_FRAGMENTED;
    if (role == WS_ROLE_SERVER && !masked) return WS_ERR_UNMASKED_FRAME;
    if (role == WS_ROLE_CLIENT && masked) return WS_ERR_MASKED_FRAME;
    if (is_control(opcode) && len7 > WS_MAX_CONTROL_PAYLOAD) return WS_ERR_CONTROL_TOO_LONG;

    size_t length_bytes = len7 == 127 ? 8 : len7 == 126 ? 2 : 0;
    if (len < 2 + length_bytes) return WS_INCOMPLETE;
    uint64_t payload_len = len7;
    if (length_bytes) {
        payload_len = 0;
        for (size_t i = 0; i < length_bytes; i++) payload_len = payload_len << 8 | buf[2 + i];
    }
    /* longer forms than needed are accepted: the minimal-length rule binds
     * senders, and a longer form is still unambiguous */
    if (payload_len >> 63) return WS_ERR_LENGTH_TOP_BIT;
    if (payload_len > max_payload) return WS_ERR_TOO_BIG;
    size_t header_len = 2 + length_bytes + (masked ? WS_MASK_KEY_LEN : 0);
    if (len < header_len) return WS_INCOMPLETE;

    frame->fin = fin;
    frame->opcode = (ws_opcode)opcode;
    frame->masked = masked;
    if (masked)
        memcpy(frame->mask_key, buf + 2 + length_bytes, WS_MASK_KEY_LEN);
    else
        memset(frame->mask_key, 0, WS_MASK_KEY_LEN);
    frame->payload_len = payload_len;
    frame->header_len = header_len;
    return WS_OK;
}

ws_result ws_frame_sequence_check(ws_message *message, const ws_frame_header *frame)
{
    if (is_control(frame->opcode)) return WS_OK;
    if (frame->opcode == WS_OPCODE_CONTINUATION) {
        if (!message->open) return WS_ERR_UNEXPECTED_CONTINUATION;
    } else {
        if (message->open) return WS_ERR_EXPECTED_CONTINUATION;
        message->opcode = frame->opcode;
    }
    message->open = !frame->fin;
    return WS_OK;
}

/* ---- UTF-8 (RFC 3629, as section 8.1 requires for text) ---- */

#define UTF8_FAILED 0xff

void ws_utf8_init(ws_utf8 *utf8)
{
    utf8->pending = 0;
    utf8->next_min = 0x80;
    utf8->next_max = 0xbf;
}

bool ws_utf8_feed(ws_utf8 *utf8, const uint8_t *data, size_t len)
{
    uint8_t pending = utf8->pending, lo = utf8->next_min, hi = utf8->next_max;
    if (pending == UTF8_FAILED) return false;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = data[i];
        if (pending) {
            if (b < lo || b > hi) goto invalid;
            pending--;
            lo = 0x80;
            hi = 0xbf;
            continue;
        }
        if (b < 0x80) continue;
        /* the lead byte fixes the length and the range of the second byte,
         * which is what rules out overlongs, surrogates and > U+10FFFF */
        if (b >= 0xc2 && b <= 0xdf) {
            pending = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
            pending = 2;
            if (b == 0xe0) lo = 0xa0;
            if (b == 0xed) hi = 0x9f;
        } else if (b >= 0xf0 && b <= 0xf4) {
            pending = 3;
            if (b == 0xf0) lo = 0x90;
            if (b == 0xf4) hi = 0x8f;
        } else {
            goto invalid;
        }
    }
    utf8->pending = pending;
    utf8->next_min = lo;
    utf8->next_max = hi;
    return true;
invalid:
    utf8->pending = UTF8_FAILED;
    return false;
}

bool ws_utf8_complete(const ws_utf8 *utf8)
{
    return utf8->pending == 0;
}

static bool is_utf8(const uint8_t *data, size_t len)
{
    ws_utf8 utf8;
    ws_utf8_init(&utf8);
    return ws_utf8_feed(&utf8, data, len) && ws_utf8_complete(&utf8);
}

/* ---- close frames (sections 5.5.1 and 7.4) ---- */

bool ws_close_code_valid(uint16_t code)
{
    /* 1004 is reserved, 1005, 1006 and 1015 only ever reach the application */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

ws_result ws_close_parse(const uint8_t *payload, size_t len, uint16_t *code, const uint8_t **reason,
                         size_t *reason_len)
{
    if (len > WS_MAX_CONTROL_PAYLOAD) return WS_ERR_CONTROL_TOO_LONG;
    *reason = payload;
    *reason_len = 0;
    if (len == 0) {
        *code = WS_CLOSE_NO_STATUS;
        return WS_OK;
    }
    if (len == 1) return WS_ERR_CLOSE_PAYLOAD;
    uint16_t received = (uint16_t)(payload[0] << 8 | payload[1]);
    if (!ws_close_code_valid(received)) return WS_ERR_CLOSE_PAYLOAD;
    if (!is_utf8(payload + 2, len - 2)) return WS_ERR_INVALID_UTF8;
    *code = received;
    *reason = payload + 2;
    *reason_len = len - 2;
    return WS_OK;
}

int ws_close_build(uint8_t out[WS_MAX_CONTROL_PAYLOAD], uint16_t code, const uint8_t *reason, size_t reason_len)
{
    if (!ws_close_code_valid(code) || reason_len > WS_MAX_CLOSE_REASON || !is_utf8(reason, reason_len)) return -1;
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    if (reason_len) memcpy(out + 2, reason, reason_len);
    return (int)(2 + reason_len);
}

/* ---- the opening handshake (section 4) ---- */

void ws_handshake_key(char key[WS_KEY_LEN + 1], const uint8_t nonce[WS_NONCE_LEN])
{
    (void)base64_encode(key, WS_KEY_LEN + 1, nonce, WS_NONCE_LEN); /* always fits */
}

bool ws_handshake_accept(char accept[WS_ACCEPT_LEN + 1], const char *key, size_t key_len)
{
    if (key_len != WS_KEY_LEN) return false;
    uint8_t text[WS_KEY_LEN + sizeof WS_GUID - 1], digest[SHA1_LEN];
    memcpy(text, key, WS_KEY_LEN);
    memcpy(text + WS_KEY_LEN, WS_GUID, sizeof WS_GUID - 1);
    sha1(digest, text, sizeof text);
    (void)base64_encode(accept, WS_ACCEPT_LEN + 1, digest, SHA1_LEN); /* always fits */
    return true;
}

static http_header field(const char *name, const char *value)
{
    http_header h = {name, strlen(name), value, strlen(value)};
    return h;
}

/* The only field named name, or NULL when there is none or more than one. */
static const http_header *single_field(const http_head *head, const char *name)
{
    size_t index = 0;
    const http_header *h = http_header_next(head, name, &index);
    return h && !http_header_next(head, name, &index) ? h : NULL;
}

int ws_handshake_request_write(char *out, size_t cap, const char *host, const char *path, const char *origin,
                               const char *protocols, const char key[WS_KEY_LEN + 1])
{
    http_header headers[6];
    size_t n = 0;
    headers[n++] = field("Upgrade", "websocket");
    headers[n++] = field("Connection", "Upgrade");
    headers[n++] = field("Sec-WebSocket-Key", key);
    headers[n++] = field("Sec-WebSocket-Version", "13");
    if (origin) headers[n++] = field("Origin", origin);
    if (protocols) {
        size_t cursor = 0, len = strlen(protocols), item_len, items = 0;
        const char *item;
        for (; http_list_next(protocols, len, &cursor, &item, &item_len); items++)
            if (!http_token_valid(item, item_len)) return -1;
        if (items == 0) return -1;
        headers[n++] = field("Sec-WebSocket-Protocol", protocols);
    }
    return http_request_head_write(out, cap, "GET", path, host, headers, n);
}

/* Section 4.1, the client's checks of the server's answer. */
ws_result ws_handshake_response_check(const http_head *response, const char key[WS_KEY_LEN + 1],
                                      const char *protocols, const char **protocol, size_t *protocol_len)
{
    if (response->status != 101) return WS_ERR_HANDSHAKE_STATUS;
    /* Upgrade must be exactly "websocket" in any case: one field, one element */
    const http_header *upgrade = single_field(response, "upgrade");
    if (response->version_minor < 1 || !upgrade || memchr(upgrade->value, ',', upgrade->value_len) ||
        !http_header_has_token(response, "upgrade", "websocket") ||
        !http_header_has_token(response, "connection", "upgrade"))
        return WS_ERR_HANDSHAKE_UPGRADE;

    char expected[WS_ACCEPT_LEN + 1];
    const http_header *accept = single_field(response, "sec-websocket-accept");
    if (!ws_handshake_accept(expected, key, strlen(key)) || !accept || accept->value_len != WS_ACCEPT_LEN ||
        memcmp(accept->value, expected, WS_ACCEPT_LEN) != 0)
        return WS_ERR_HANDSHAKE_ACCEPT;
    if (http_header_find(response, "sec-websocket-extensions")) return WS_ERR_HANDSHAKE_EXTENSION;

    *protocol = NULL;
    *protocol_len = 0;
    size_t index = 0;
    const http_header *selected = http_header_next(response, "sec-websocket-protocol", &index);
    if (!selected) return WS_OK; /* section 4.1 lets the server choose none */
    if (http_header_next(response, "sec-websocket-protocol", &index) || !protocols) return WS_ERR_HANDSHAKE_PROTOCOL;
    /* subprotocol names compare exactly (section 11.3.4 registers them case-sensitively) */
    size_t cursor = 0, item_len;
    const char *item;
    while (http_list_next(protocols, strlen(protocols), &cursor, &item, &item_len)) {
        if (item_len == selected->value_len && memcmp(item, selected->value, item_len) == 0) {
            *protocol = selected->value;
            *protocol_len = selected->value_len;
            return WS_OK;
        }
    }
    return WS_ERR_HANDSHAKE_PROTOCOL;
}

/* Section 4.2.1, what a server requires of the client's request. */
ws_result ws_handshake_request_check(const http_head *request, const char **key, size_t *key_len)
{
    if (request->method_len != 3 || memcmp(request->method, "GET", 3) != 0 || request->version_minor < 1 ||
        !single_field(request, "host") || !http_header_has_token(request, "upgrade", "websocket") ||
        !http_header_has_token(request, "connection", "upgrade"))
        return WS_ERR_HANDSHAKE_UPGRADE;
    const http_header *version = single_field(request, "sec-websocket-version");
    if (!version || version->value_len != 2 || memcmp(version->value, "13", 2) != 0)
        return WS_ERR_HANDSHAKE_VERSION;
    const http_header *client_key = single_field(request, "sec-websocket-key");
    uint8_t nonce[WS_NONCE_LEN + 2]; /* room to notice a longer key */
    if (!client_key || base64_decode(nonce, sizeof nonce, client_key->value, client_key->value_len) != WS_NONCE_LEN)
        return WS_ERR_HANDSHAKE_KEY;
    *key = client_key->value;
    *key_len = client_key->value_len;
    return WS_OK;
}

int ws_handshake_response_write(char *out, size_t cap, const char *key, size_t key_len, const char *protocol)
{
    char accept[WS_ACCEPT_LEN + 1];
    if (!ws_handshake_accept(accept, key, key_len)) return -1;
    if (protocol && !http_token_valid(protocol, strlen(protocol))) return -1;
    http_header headers[4];
    size_t n = 0;
    headers[n++] = field("Upgrade", "websocket");
    headers[n++] = field("Connection", "Upgrade");
    headers[n++] = field("Sec-WebSocket-Accept", accept);
    if (protocol) headers[n++] = field("Sec-WebSocket-Protocol", protocol);
    return http_response_head_write(out, cap, 101, "Switching Protocols", headers, n);
}
