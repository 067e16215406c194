/* libFuzzer target: WebSocket frame headers, fragmentation rules, masking,
 * close payloads, UTF-8 validation and the handshake checks on arbitrary
 * bytes. Besides memory safety it checks that a frame header read from a
 * prefix of the bytes never disagrees with the whole, that headers written
 * back parse alike, that split UTF-8 validation agrees with whole and with
 * a plain reference decoder, and that an accepted upgrade request gets a
 * response the client accepts.
 * The first input byte chooses the mode and a split point. */
#include "codec/codec.h"

#include <stdint.h>
#include <string.h>

#define REQUIRE(cond)                  \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

#define MAX_INPUT 8192
#define MAX_PAYLOAD 4096

static void frame_header_checks(const uint8_t *data, size_t len, ws_role role)
{
    ws_frame_header frame, partial;
    ws_result whole = ws_frame_header_parse(&frame, data, len, role, MAX_PAYLOAD);
    /* every prefix asks for more or already gives the same answer, and once it answers it keeps answering */
    bool answered = false;
    for (size_t n = 0; n <= len && n <= WS_MAX_HEADER_LEN; n++) {
        ws_result r = ws_frame_header_parse(&partial, data, n, role, MAX_PAYLOAD);
        REQUIRE(r == WS_INCOMPLETE || r == whole);
        REQUIRE(!answered || r == whole);
        answered = r != WS_INCOMPLETE;
    }
    if (whole != WS_OK) return;
    REQUIRE(frame.header_len >= 2 && frame.header_len <= WS_MAX_HEADER_LEN && frame.header_len <= len);
    REQUIRE(frame.payload_len <= MAX_PAYLOAD && frame.masked == (role == WS_ROLE_SERVER));
    /* written back in the shortest form, it reads the same */
    uint8_t out[WS_MAX_HEADER_LEN];
    size_t n = ws_frame_header_write(out, frame.fin, frame.opcode, frame.payload_len,
                                     frame.masked ? frame.mask_key : NULL);
    REQUIRE(n > 0 && n <= frame.header_len);
    ws_frame_header again;
    REQUIRE(ws_frame_header_parse(&again, out, n, role, MAX_PAYLOAD) == WS_OK && again.fin == frame.fin &&
            again.opcode == frame.opcode && again.payload_len == frame.payload_len &&
            memcmp(again.mask_key, frame.mask_key, WS_MASK_KEY_LEN) == 0);
}

/* A plain UTF-8 decoder, written the other way round (code points, then
 * range checks), to compare the validator with. */
static bool reference_utf8(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n;
        uint8_t b = s[i];
        if (b < 0x80) {
            cp = b, n = 1;
        } else if ((b & 0xe0) == 0xc0) {
            cp = b & 0x1f, n = 2;
        } else if ((b & 0xf0) == 0xe0) {
            cp = b & 0x0f, n = 3;
        } else if ((b & 0xf8) == 0xf0) {
            cp = b & 0x07, n = 4;
        } else {
            return false;
        }
        if (len - i < n) return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const uint32_t min_for_length[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for_length[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n;
    }
    return true;
}

static void utf8_checks(const uint8_t *data, size_t len, size_t split)
{
    ws_utf8 whole, pieces;
    ws_utf8_init(&whole);
    bool whole_ok = ws_utf8_feed(&whole, data, len) && ws_utf8_complete(&whole);
    REQUIRE(whole_ok == reference_utf8(data, len));
    if (split > len) split = len;
    ws_utf8_init(&pieces);
    bool first = ws_utf8_feed(&pieces, data, split);
    bool second = ws_utf8_feed(&pieces, data + split, len - split);
    REQUIRE((first && second && ws_utf8_complete(&pieces)) == whole_ok);
    /* valid text is never refused early */
    if (whole_ok) REQUIRE(first);
}

/* Walks the input as a stream of frames from a server, as a client would. */
static void frame_stream(const uint8_t *data, size_t len)
{
    static uint8_t payload[MAX_PAYLOAD];
    ws_message message = {0};
    ws_utf8 text;
    ws_utf8_init(&text);
    size_t pos = 0;
    while (pos < len) {
        ws_frame_header frame;
        if (ws_frame_header_parse(&frame, data + pos, len - pos, WS_ROLE_CLIENT, MAX_PAYLOAD) != WS_OK) return;
        if (len - pos - frame.header_len < frame.payload_len) return;
        size_t n = (size_t)frame.payload_len;
        memcpy(payload, data + pos + frame.header_len, n);
        pos += frame.header_len + n;
        ws_result r = ws_frame_sequence_check(&message, &frame);
        REQUIRE(ws_close_code_for(r) == (r == WS_OK ? 0 : 1002));
        if (r != WS_OK) return;
        if (frame.opcode == WS_OPCODE_CLOSE) {
            uint16_t code;
            const uint8_t *reason;
            size_t reason_len;
            if (ws_close_parse(payload, n, &code, &reason, &reason_len) != WS_OK) return;
            uint8_t rebuilt[WS_MAX_CONTROL_PAYLOAD];
            if (code != WS_CLOSE_NO_STATUS) REQUIRE(ws_close_build(rebuilt, code, reason, reason_len) == (int)n);
            if (code != WS_CLOSE_NO_STATUS) REQUIRE(memcmp(rebuilt, payload, n) == 0);
            return;
        }
        if (frame.opcode == WS_OPCODE_PING || frame.opcode == WS_OPCODE_PONG || message.opcode != WS_OPCODE_TEXT)
            continue;
        if (!ws_utf8_feed(&text, payload, n)) return;
        if (!message.open) {
            if (!ws_utf8_complete(&text)) return;
            ws_utf8_init(&text);
        }
    }
}

static void mask_checks(const uint8_t *data, size_t len, size_t split)
{
    static uint8_t whole[MAX_INPUT], pieces[MAX_INPUT];
    if (len < WS_MASK_KEY_LEN) return;
    const uint8_t *key = data;
    data += WS_MASK_KEY_LEN, len -= WS_MASK_KEY_LEN;
    if (split > len) split = len;
    memcpy(whole, data, len);
    memcpy(pieces, data, len);
    ws_mask(whole, len, key, 0);
    ws_mask(pieces, split, key, 0);
    ws_mask(pieces + split, len - split, key, split);
    REQUIRE(memcmp(whole, pieces, len) == 0);
    for (size_t i = 0; i < len; i++) REQUIRE(whole[i] == (data[i] ^ key[i & 3]));
}

/* The input as a subprotocol list: when the client writes a request with
 * it, the server accepts the request and finds the list in it. */
static void client_request_checks(const char *data, size_t len)
{
    static char request[1024];
    char protocols[256], key[WS_KEY_LEN + 1];
    if (len >= sizeof protocols || memchr(data, '\0', len)) return;
    memcpy(protocols, data, len);
    protocols[len] = '\0';
    ws_handshake_key(key, (const uint8_t *)"0123456789abcdef");
    int n = ws_handshake_request_write(request, sizeof request, "example.com", "/ws?a=b", "null", protocols, key);
    if (n < 0) return;
    http_header fields[16];
    http_head head;
    const char *server_key;
    size_t server_key_len;
    http_head_init(&head, fields, 16);
    REQUIRE(http_request_head_parse(&head, request, (size_t)n) == HTTP_OK && head.head_len == (size_t)n);
    REQUIRE(ws_handshake_request_check(&head, &server_key, &server_key_len) == WS_OK);
    const http_header *offered = http_header_find(&head, "sec-websocket-protocol");
    REQUIRE(offered);
    size_t a = 0, b = 0, a_len, b_len;
    const char *a_item, *b_item;
    for (;;) {
        bool more = http_list_next(protocols, len, &a, &a_item, &a_len);
        REQUIRE(more == http_list_next(offered->value, offered->value_len, &b, &b_item, &b_len));
        if (!more) break;
        REQUIRE(a_len == b_len && memcmp(a_item, b_item, a_len) == 0);
    }
}

static void handshake_checks(const char *data, size_t len)
{
    static char response[1024];
    http_header fields[16], response_fields[16];
    http_head head, answer;
    const char *protocol;
    size_t protocol_len;
    http_head_init(&head, fields, 16);
    if (http_response_head_parse(&head, data, len) == HTTP_OK) {
        ws_result r = ws_handshake_response_check(&head, "dGhlIHNhbXBsZSBub25jZQ==", "chat, superchat", &protocol,
                                                  &protocol_len);
        REQUIRE(r != WS_OK || protocol_len == 0 || protocol_len == 4 || protocol_len == 9);
    }
    http_head_init(&head, fields, 16);
    if (http_request_head_parse(&head, data, len) != HTTP_OK) return;
    const char *key;
    size_t key_len;
    if (ws_handshake_request_check(&head, &key, &key_len) != WS_OK) return;
    /* a request the server accepts leads to a response the client accepts */
    char client_key[WS_KEY_LEN + 1];
    REQUIRE(key_len == WS_KEY_LEN);
    memcpy(client_key, key, WS_KEY_LEN);
    client_key[WS_KEY_LEN] = '\0';
    int n = ws_handshake_response_write(response, sizeof response, key, key_len, NULL);
    REQUIRE(n > 0);
    http_head_init(&answer, response_fields, 16);
    REQUIRE(http_response_head_parse(&answer, response, (size_t)n) == HTTP_OK);
    REQUIRE(ws_handshake_response_check(&answer, client_key, NULL, &protocol, &protocol_len) == WS_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    if (size < 1 || size > MAX_INPUT + 1) return 0;
    unsigned mode = bytes[0] & 7;
    size_t split = bytes[0] >> 3;
    const uint8_t *data = bytes + 1;
    size_t len = size - 1;
    switch (mode) {
    case 0:
        frame_header_checks(data, len, WS_ROLE_CLIENT);
        break;
    case 1:
        frame_header_checks(data, len, WS_ROLE_SERVER);
        break;
    case 2:
        frame_stream(data, len);
        break;
    case 3:
    case 4:
        utf8_checks(data, len, mode == 3 ? split : len / 2 + split);
        break;
    case 5:
        mask_checks(data, len, split);
        break;
    case 6:
        handshake_checks((const char *)data, len);
        break;
    default:
        client_request_checks((const char *)data, len);
        break;
    }
    return 0;
}
