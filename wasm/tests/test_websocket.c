/* WebSocket: the RFC 6455 examples, every frame error, byte-by-byte
 * feeding, UTF-8 edge cases, close payloads, and the handshake both ways. */
#include "check.h"
#include "codec/codec.h"
#include "crypto/crypto.h"

#include <string.h>

#define NO_LIMIT UINT64_MAX

/* Parses a whole header, then every prefix of it: each must ask for more. */
static ws_result parse_frame(ws_frame_header *frame, const uint8_t *bytes, size_t len, ws_role role)
{
    ws_result r = ws_frame_header_parse(frame, bytes, len, role, NO_LIMIT);
    if (r == WS_OK) {
        ws_frame_header partial;
        for (size_t n = 0; n < frame->header_len; n++)
            if (ws_frame_header_parse(&partial, bytes, n, role, NO_LIMIT) != WS_INCOMPLETE) return WS_INCOMPLETE;
    }
    return r;
}

/* Writes a frame header and checks the bytes, then parses them back. */
static bool header_round_trip(bool fin, ws_opcode opcode, uint64_t len, const uint8_t *mask_key, const char *hex)
{
    uint8_t out[WS_MAX_HEADER_LEN];
    size_t n = ws_frame_header_write(out, fin, opcode, len, mask_key);
    if (!CHECK_HEX(out, n, hex)) return false;
    ws_frame_header frame;
    ws_role receiver = mask_key ? WS_ROLE_SERVER : WS_ROLE_CLIENT;
    return parse_frame(&frame, out, n, receiver) == WS_OK && frame.fin == fin && frame.opcode == opcode &&
           frame.payload_len == len && frame.header_len == n && frame.masked == (mask_key != NULL) &&
           (!mask_key || memcmp(frame.mask_key, mask_key, 4) == 0);
}

static ws_result parse_hex(const char *hex, ws_role role, uint64_t max_payload)
{
    uint8_t bytes[32];
    size_t n = hex_decode(bytes, sizeof bytes, hex);
    ws_frame_header frame;
    return ws_frame_header_parse(&frame, bytes, n, role, max_payload);
}

void test_ws_frames(void)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    ws_frame_header frame;
    uint8_t bytes[32];
    size_t n;

    /* RFC 6455 section 5.7: a single-frame unmasked text message */
    n = hex_decode(bytes, sizeof bytes, "810548656c6c6f");
    CHECK(parse_frame(&frame, bytes, n, WS_ROLE_CLIENT) == WS_OK && frame.fin && frame.opcode == WS_OPCODE_TEXT &&
          !frame.masked && frame.payload_len == 5 && frame.header_len == 2 && memcmp(bytes + 2, "Hello", 5) == 0);
    CHECK(header_round_trip(true, WS_OPCODE_TEXT, 5, NULL, "8105"));
    /* a single-frame masked text message */
    n = hex_decode(bytes, sizeof bytes, "818537fa213d7f9f4d5158");
    CHECK(parse_frame(&frame, bytes, n, WS_ROLE_SERVER) == WS_OK && frame.masked && frame.header_len == 6 &&
          frame.payload_len == 5 && memcmp(frame.mask_key, key, 4) == 0);
    ws_mask(bytes + frame.header_len, 5, frame.mask_key, 0);
    CHECK(memcmp(bytes + 6, "Hello", 5) == 0);
    CHECK(header_round_trip(true, WS_OPCODE_TEXT, 5, key, "818537fa213d"));
    /* a fragmented unmasked text message */
    ws_message message = {0};
    n = hex_decode(bytes, sizeof bytes, "010348656c");
    CHECK(parse_frame(&frame, bytes, n, WS_ROLE_CLIENT) == WS_OK && !frame.fin && frame.opcode == WS_OPCODE_TEXT &&
          frame.payload_len == 3);
    CHECK(ws_frame_sequence_check(&message, &frame) == WS_OK && message.open && message.opcode == WS_OPCODE_TEXT);
    CHECK(header_round_trip(false, WS_OPCODE_TEXT, 3, NULL, "0103"));
    n = hex_decode(bytes, sizeof bytes, "80026c6f");
    CHECK(parse_frame(&frame, bytes, n, WS_ROLE_CLIENT) == WS_OK && frame.fin &&
          frame.opcode == WS_OPCODE_CONTINUATION && frame.payload_len == 2);
    CHECK(ws_frame_sequence_check(&message, &frame) == WS_OK && !message.open && message.opcode == WS_OPCODE_TEXT);
    CHECK(header_round_trip(true, WS_OPCODE_CONTINUATION, 2, NULL, "8002"));
    /* unmasked ping, masked pong, both carrying "Hello" */
    n = hex_decode(bytes, sizeof bytes, "890548656c6c6f");
    CHECK(parse_frame(&frame, bytes, n, WS_ROLE_CLIENT) == WS_OK && frame.opcode == WS_OPCODE_PING &&
          frame.payload_len == 5);
    CHECK(header_round_trip(true, WS_OPCODE_PING, 5, NULL, "8905"));
    n = hex_decode(bytes, sizeof bytes, "8a8537fa213d7f9f4d5158");
    CHECK(parse_frame(&frame, bytes, n, WS_ROLE_SERVER) == WS_OK && frame.opcode == WS_OPCODE_PONG);
    CHECK(header_round_trip(true, WS_OPCODE_PONG, 5, key, "8a8537fa213d"));
    /* 256 bytes and 64 KiB of binary data in one unmasked frame */
    CHECK(header_round_trip(true, WS_OPCODE_BINARY, 256, NULL, "827e0100"));
    CHECK(header_round_trip(true, WS_OPCODE_BINARY, 65536, NULL, "827f0000000000010000"));
    /* the edges of the three length forms, and the largest length */
    CHECK(header_round_trip(true, WS_OPCODE_BINARY, 125, NULL, "827d"));
    CHECK(header_round_trip(true, WS_OPCODE_BINARY, 126, NULL, "827e007e"));
    CHECK(header_round_trip(true, WS_OPCODE_BINARY, 65535, key, "82feffff37fa213d"));
    CHECK(header_round_trip(false, WS_OPCODE_BINARY, 0x7fffffffffffffffULL, key, "02ff7fffffffffffffff37fa213d"));
    CHECK(header_round_trip(true, WS_OPCODE_CLOSE, 0, NULL, "8800"));
    /* longer length forms than needed are still read */
    CHECK(parse_hex("8a7e0005", WS_ROLE_CLIENT, NO_LIMIT) == WS_ERR_CONTROL_TOO_LONG);
    CHECK(parse_hex("827e0005", WS_ROLE_CLIENT, NO_LIMIT) == WS_OK);

    /* what the writer refuses */
    uint8_t out[WS_MAX_HEADER_LEN];
    CHECK(ws_frame_header_write(out, true, (ws_opcode)3, 0, NULL) == 0);
    CHECK(ws_frame_header_write(out, true, (ws_opcode)0xb, 0, NULL) == 0);
    CHECK(ws_frame_header_write(out, false, WS_OPCODE_PING, 0, NULL) == 0);
    CHECK(ws_frame_header_write(out, true, WS_OPCODE_CLOSE, 126, NULL) == 0);
    CHECK(ws_frame_header_write(out, true, WS_OPCODE_BINARY, 1ULL << 63, NULL) == 0);

    /* every validation error, and the close code it maps to */
    static const struct {
        const char *hex;
        ws_role role;
        ws_result error;
    } errors[] = {
        {"c100", WS_ROLE_CLIENT, WS_ERR_RESERVED_BITS},
        {"a100", WS_ROLE_CLIENT, WS_ERR_RESERVED_BITS},
        {"9100", WS_ROLE_CLIENT, WS_ERR_RESERVED_BITS},
        {"8300", WS_ROLE_CLIENT, WS_ERR_UNKNOWN_OPCODE},
        {"8700", WS_ROLE_CLIENT, WS_ERR_UNKNOWN_OPCODE},
        {"8b00", WS_ROLE_CLIENT, WS_ERR_UNKNOWN_OPCODE},
        {"8f00", WS_ROLE_CLIENT, WS_ERR_UNKNOWN_OPCODE},
        {"0900", WS_ROLE_CLIENT, WS_ERR_CONTROL_FRAGMENTED},
        {"0800", WS_ROLE_CLIENT, WS_ERR_CONTROL_FRAGMENTED},
        {"897e", WS_ROLE_CLIENT, WS_ERR_CONTROL_TOO_LONG},
        {"88fe", WS_ROLE_SERVER, WS_ERR_CONTROL_TOO_LONG},
        {"8a7f", WS_ROLE_CLIENT, WS_ERR_CONTROL_TOO_LONG},
        {"8105", WS_ROLE_SERVER, WS_ERR_UNMASKED_FRAME},
        {"8185", WS_ROLE_CLIENT, WS_ERR_MASKED_FRAME},
        {"827f8000000000000000", WS_ROLE_CLIENT, WS_ERR_LENGTH_TOP_BIT},
        {"82ffffffffffffffffff", WS_ROLE_SERVER, WS_ERR_LENGTH_TOP_BIT},
    };
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        n = hex_decode(bytes, sizeof bytes, errors[i].hex);
        CHECK(ws_frame_header_parse(&frame, bytes, n, errors[i].role, NO_LIMIT) == errors[i].error);
        /* reported as soon as the bytes that show it are there, not before */
        CHECK(ws_frame_header_parse(&frame, bytes, n - 1, errors[i].role, NO_LIMIT) == WS_INCOMPLETE);
        CHECK(ws_close_code_for(errors[i].error) == 1002);
    }
    /* the caller's limit */
    CHECK(parse_hex("827e0100", WS_ROLE_CLIENT, 256) == WS_OK);
    CHECK(parse_hex("827e0101", WS_ROLE_CLIENT, 256) == WS_ERR_TOO_BIG);
    CHECK(parse_hex("827e01", WS_ROLE_CLIENT, 256) == WS_INCOMPLETE);
    CHECK(parse_hex("82fe0101", WS_ROLE_SERVER, 256) == WS_ERR_TOO_BIG); /* before the mask key */
    CHECK(parse_hex("827f0000000100000000", WS_ROLE_CLIENT, 1 << 20) == WS_ERR_TOO_BIG);
    CHECK(parse_hex("8206", WS_ROLE_CLIENT, 5) == WS_ERR_TOO_BIG);
    CHECK(ws_close_code_for(WS_ERR_TOO_BIG) == 1009);
    CHECK(ws_close_code_for(WS_ERR_INVALID_UTF8) == 1007);
    CHECK(ws_close_code_for(WS_ERR_CLOSE_PAYLOAD) == 1002);
    CHECK(ws_close_code_for(WS_ERR_UNEXPECTED_CONTINUATION) == 1002);
    CHECK(ws_close_code_for(WS_OK) == 0 && ws_close_code_for(WS_INCOMPLETE) == 0 &&
          ws_close_code_for(WS_ERR_HANDSHAKE_ACCEPT) == 0);

    /* byte-at-a-time feeding of a stream of frames */
    n = hex_decode(bytes, sizeof bytes, "010348656c" "890548656c6c6f" "80026c6f");
    size_t start = 0, frames = 0, end;
    char text[8];
    size_t text_len = 0;
    message = (ws_message){0};
    for (end = 1; end <= n; end++) {
        ws_result r = ws_frame_header_parse(&frame, bytes + start, end - start, WS_ROLE_CLIENT, NO_LIMIT);
        if (r == WS_INCOMPLETE || end - start < frame.header_len + frame.payload_len) continue;
        CHECK(r == WS_OK && ws_frame_sequence_check(&message, &frame) == WS_OK);
        if (frame.opcode != WS_OPCODE_PING) {
            memcpy(text + text_len, bytes + start + frame.header_len, (size_t)frame.payload_len);
            text_len += (size_t)frame.payload_len;
        }
        start = end;
        frames++;
    }
    CHECK(frames == 3 && text_len == 5 && memcmp(text, "Hello", 5) == 0 && !message.open);

    /* fragmentation rules: control frames may come between fragments */
    ws_frame_header text_start = {.fin = false, .opcode = WS_OPCODE_TEXT};
    ws_frame_header binary_whole = {.fin = true, .opcode = WS_OPCODE_BINARY};
    ws_frame_header middle = {.fin = false, .opcode = WS_OPCODE_CONTINUATION};
    ws_frame_header last = {.fin = true, .opcode = WS_OPCODE_CONTINUATION};
    ws_frame_header ping = {.fin = true, .opcode = WS_OPCODE_PING};
    message = (ws_message){0};
    CHECK(ws_frame_sequence_check(&message, &middle) == WS_ERR_UNEXPECTED_CONTINUATION);
    CHECK(ws_frame_sequence_check(&message, &last) == WS_ERR_UNEXPECTED_CONTINUATION);
    CHECK(ws_frame_sequence_check(&message, &binary_whole) == WS_OK && !message.open &&
          message.opcode == WS_OPCODE_BINARY);
    CHECK(ws_frame_sequence_check(&message, &text_start) == WS_OK && message.open);
    CHECK(ws_frame_sequence_check(&message, &ping) == WS_OK && message.open);
    CHECK(ws_frame_sequence_check(&message, &middle) == WS_OK && message.open);
    CHECK(ws_frame_sequence_check(&message, &binary_whole) == WS_ERR_EXPECTED_CONTINUATION);
    CHECK(ws_frame_sequence_check(&message, &text_start) == WS_ERR_EXPECTED_CONTINUATION);
    CHECK(ws_frame_sequence_check(&message, &last) == WS_OK && !message.open && message.opcode == WS_OPCODE_TEXT);

    /* masking in pieces at any offset equals masking whole */
    uint8_t whole[67], pieces[67];
    for (size_t i = 0; i < sizeof whole; i++) whole[i] = pieces[i] = (uint8_t)(i * 13 + 5);
    ws_mask(whole, sizeof whole, key, 0);
    bool each_byte = true;
    for (size_t i = 0; i < sizeof whole; i++) each_byte &= whole[i] == (uint8_t)((i * 13 + 5) ^ key[i % 4]);
    CHECK(each_byte);
    static const size_t cuts[] = {0, 1, 3, 4, 12, 21, 29, 30, 66, 67};
    for (size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; c++)
        ws_mask(pieces + cuts[c], cuts[c + 1] - cuts[c], key, cuts[c]);
    CHECK(memcmp(whole, pieces, sizeof whole) == 0);
    ws_mask(pieces, sizeof pieces, key, 0); /* masking again unmasks */
    CHECK(pieces[66] == (uint8_t)(66 * 13 + 5) && pieces[0] == 5);
}

static bool utf8_valid_hex(const char *hex)
{
    uint8_t bytes[64];
    size_t n = hex_decode(bytes, sizeof bytes, hex);
    ws_utf8 utf8;
    ws_utf8_init(&utf8);
    return ws_utf8_feed(&utf8, bytes, n) && ws_utf8_complete(&utf8);
}

/* Feeds the bytes split at every pair of points; all must agree with valid. */
static bool utf8_splits_agree(const char *hex, bool valid)
{
    uint8_t bytes[64];
    size_t n = hex_decode(bytes, sizeof bytes, hex);
    for (size_t a = 0; a <= n; a++) {
        for (size_t b = a; b <= n; b++) {
            ws_utf8 utf8;
            ws_utf8_init(&utf8);
            bool ok = ws_utf8_feed(&utf8, bytes, a);
            ok = ws_utf8_feed(&utf8, bytes + a, b - a) && ok;
            ok = ws_utf8_feed(&utf8, bytes + b, n - b) && ok;
            if ((ok && ws_utf8_complete(&utf8)) != valid) return false;
        }
    }
    return true;
}

void test_ws_utf8(void)
{
    static const char *const valid[] = {
        "",
        "48656c6c6f",                                 /* Hello */
        "cebae1bdb9cf83cebcceb5",                     /* κόσμε, the Autobahn example */
        "00", "7f",                                   /* U+0000, U+007F */
        "c280", "dfbf",                               /* U+0080, U+07FF */
        "e0a080", "ed9fbf", "ee8080", "efbfbf",       /* U+0800, U+D7FF, U+E000, U+FFFF */
        "f0908080", "f48fbfbf",                       /* U+10000, U+10FFFF */
        "efbbbf", "efbfbe",                           /* BOM, noncharacter U+FFFE: valid UTF-8 */
    };
    static const char *const invalid[] = {
        "80", "bf", "c0", "c1bf", "c080", "c1", /* stray continuation, overlong two-byte forms */
        "e08080", "e09fbf",                     /* overlong three-byte forms */
        "f0808080", "f08fbfbf",                 /* overlong four-byte forms */
        "eda080", "edbfbf", "edadbf",           /* surrogates U+D800, U+DFFF, U+DB7F */
        "eda080edb080",                         /* a surrogate pair spelt out in UTF-8 */
        "f4908080", "f7bfbfbf", "f5", "f8", "fc", "fe", "ff", /* above U+10FFFF, and no longer forms */
        "c2", "e0a0", "f09080",                 /* cut short */
        "c241", "e0a041", "f0908041",           /* not continued */
        "cebae1bdb9cf83cebcceb5eda080656469746564",
    };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        CHECK(utf8_valid_hex(valid[i]));
        CHECK(utf8_splits_agree(valid[i], true));
    }
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        CHECK(!utf8_valid_hex(invalid[i]));
        CHECK(utf8_splits_agree(invalid[i], false));
    }

    /* fragments of a text message, a character cut between them */
    ws_utf8 utf8;
    ws_utf8_init(&utf8);
    CHECK(ws_utf8_feed(&utf8, (const uint8_t *)"\xce\xba\xe1", 3) && !ws_utf8_complete(&utf8));
    CHECK(ws_utf8_feed(&utf8, (const uint8_t *)"\xbd", 1) && !ws_utf8_complete(&utf8));
    CHECK(ws_utf8_feed(&utf8, (const uint8_t *)"\xb9", 1) && ws_utf8_complete(&utf8));
    /* fails fast, at the byte that cannot continue, and stays failed */
    ws_utf8_init(&utf8);
    CHECK(ws_utf8_feed(&utf8, (const uint8_t *)"\xce\xba\xed", 3));
    CHECK(!ws_utf8_feed(&utf8, (const uint8_t *)"\xa0", 1));
    CHECK(!ws_utf8_feed(&utf8, (const uint8_t *)"a", 1) && !ws_utf8_complete(&utf8));
    /* the second byte's range depends on a lead byte from the previous fragment */
    ws_utf8_init(&utf8);
    CHECK(ws_utf8_feed(&utf8, (const uint8_t *)"\xf4", 1) && !ws_utf8_feed(&utf8, (const uint8_t *)"\x90", 1));
    ws_utf8_init(&utf8);
    CHECK(ws_utf8_feed(&utf8, (const uint8_t *)"\xe0", 1) && !ws_utf8_feed(&utf8, (const uint8_t *)"\x9f", 1));
    ws_utf8_init(&utf8);
    CHECK(ws_utf8_feed(&utf8, (const uint8_t *)"\xf0\x90", 2) && ws_utf8_feed(&utf8, (const uint8_t *)"\x80", 1) &&
          ws_utf8_feed(&utf8, (const uint8_t *)"\x80", 1) && ws_utf8_complete(&utf8));

    /* every code point, encoded by hand, is accepted; every surrogate refused */
    bool all_valid = true, surrogates_refused = true;
    for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
        uint8_t b[4];
        size_t n;
        if (cp < 0x80) {
            b[0] = (uint8_t)cp;
            n = 1;
        } else if (cp < 0x800) {
            b[0] = (uint8_t)(0xc0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 2;
        } else if (cp < 0x10000) {
            b[0] = (uint8_t)(0xe0 | cp >> 12), b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
            b[2] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 3;
        } else {
            b[0] = (uint8_t)(0xf0 | cp >> 18), b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
            b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f)), b[3] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 4;
        }
        ws_utf8 v;
        ws_utf8_init(&v);
        bool ok = ws_utf8_feed(&v, b, n) && ws_utf8_complete(&v);
        if (cp >= 0xd800 && cp <= 0xdfff)
            surrogates_refused &= !ok;
        else
            all_valid &= ok;
    }
    CHECK(all_valid);
    CHECK(surrogates_refused);
}

void test_ws_close(void)
{
    uint16_t code;
    const uint8_t *reason;
    size_t reason_len;
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD + 8] = {0};

    CHECK(ws_close_parse(payload, 0, &code, &reason, &reason_len) == WS_OK && code == WS_CLOSE_NO_STATUS &&
          reason_len == 0);
    payload[0] = 0x03;
    CHECK(ws_close_parse(payload, 1, &code, &reason, &reason_len) == WS_ERR_CLOSE_PAYLOAD);
    int n = ws_close_build(payload, 1000, (const uint8_t *)"bye", 3);
    CHECK_HEX(payload, (size_t)n, "03e8627965");
    CHECK(ws_close_parse(payload, (size_t)n, &code, &reason, &reason_len) == WS_OK && code == 1000 &&
          reason_len == 3 && memcmp(reason, "bye", 3) == 0);
    n = ws_close_build(payload, 4999, NULL, 0);
    CHECK_HEX(payload, (size_t)n, "1387");

    static const uint16_t valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                                     3999, 4000, 4999};
    static const uint16_t invalid[] = {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        payload[0] = (uint8_t)(valid[i] >> 8), payload[1] = (uint8_t)valid[i];
        CHECK(ws_close_code_valid(valid[i]));
        CHECK(ws_close_parse(payload, 2, &code, &reason, &reason_len) == WS_OK && code == valid[i]);
        CHECK(ws_close_build(payload, valid[i], NULL, 0) == 2);
    }
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        payload[0] = (uint8_t)(invalid[i] >> 8), payload[1] = (uint8_t)invalid[i];
        CHECK(!ws_close_code_valid(invalid[i]));
        CHECK(ws_close_parse(payload, 2, &code, &reason, &reason_len) == WS_ERR_CLOSE_PAYLOAD);
        CHECK(ws_close_build(payload, invalid[i], NULL, 0) == -1);
    }

    /* the reason: UTF-8, at most 123 bytes */
    uint8_t reason_text[WS_MAX_CLOSE_REASON + 1];
    memset(reason_text, 'r', sizeof reason_text);
    CHECK(ws_close_build(payload, 1001, reason_text, WS_MAX_CLOSE_REASON) == WS_MAX_CONTROL_PAYLOAD);
    CHECK(ws_close_parse(payload, WS_MAX_CONTROL_PAYLOAD, &code, &reason, &reason_len) == WS_OK &&
          reason_len == WS_MAX_CLOSE_REASON);
    CHECK(ws_close_build(payload, 1001, reason_text, WS_MAX_CLOSE_REASON + 1) == -1);
    CHECK(ws_close_parse(payload, WS_MAX_CONTROL_PAYLOAD + 1, &code, &reason, &reason_len) ==
          WS_ERR_CONTROL_TOO_LONG);
    CHECK(ws_close_build(payload, 1000, (const uint8_t *)"\xed\xa0\x80", 3) == -1);
    CHECK(ws_close_build(payload, 1000, (const uint8_t *)"\xce", 1) == -1);
    memcpy(payload, "\x03\xe8\xce\xba\xe1\xbd\xb9", 7);
    CHECK(ws_close_parse(payload, 7, &code, &reason, &reason_len) == WS_OK && reason_len == 5);
    CHECK(ws_close_parse(payload, 6, &code, &reason, &reason_len) == WS_ERR_INVALID_UTF8);
    memcpy(payload, "\x03\xe8\xff", 3);
    CHECK(ws_close_parse(payload, 3, &code, &reason, &reason_len) == WS_ERR_INVALID_UTF8);
    CHECK(ws_close_code_for(WS_ERR_INVALID_UTF8) == 1007);
}

#define MAX_FIELDS 16

/* Parses a response head, fed byte by byte. */
static bool parse_response(http_head *head, http_header *fields, const char *text, size_t len)
{
    http_head_init(head, fields, MAX_FIELDS);
    http_result r = HTTP_INCOMPLETE;
    for (size_t n = 1; n <= len && r == HTTP_INCOMPLETE; n++) r = http_response_head_parse(head, text, n);
    return r == HTTP_OK;
}

static ws_result check_response(const char *text, const char *key, const char *protocols)
{
    http_header fields[MAX_FIELDS];
    http_head head;
    const char *protocol;
    size_t protocol_len;
    if (!parse_response(&head, fields, text, strlen(text))) return WS_INCOMPLETE;
    return ws_handshake_response_check(&head, key, protocols, &protocol, &protocol_len);
}

static ws_result check_request(const char *text)
{
    http_header fields[MAX_FIELDS];
    http_head head;
    const char *key;
    size_t key_len;
    http_head_init(&head, fields, MAX_FIELDS);
    if (http_request_head_parse(&head, text, strlen(text)) != HTTP_OK) return WS_INCOMPLETE;
    return ws_handshake_request_check(&head, &key, &key_len);
}

void test_ws_handshake(void)
{
    /* RFC 6455 section 1.3 */
    char key[WS_KEY_LEN + 1], accept[WS_ACCEPT_LEN + 1];
    ws_handshake_key(key, (const uint8_t *)"the sample nonce");
    CHECK(strcmp(key, "dGhlIHNhbXBsZSBub25jZQ==") == 0);
    CHECK(ws_handshake_accept(accept, key, strlen(key)) && strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
    CHECK(!ws_handshake_accept(accept, key, strlen(key) - 1));

    /* the client's request, as a server reads it */
    char request[512];
    int n = ws_handshake_request_write(request, sizeof request, "server.example.com", "/chat",
                                       "http://example.com", "chat, superchat", key);
    const char *expected = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n"
                           "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    CHECK(n == (int)strlen(expected) && memcmp(request, expected, (size_t)n) == 0);
    CHECK(ws_handshake_request_write(request, (size_t)n - 1, "server.example.com", "/chat", "http://example.com",
                                     "chat, superchat", key) == -1);
    n = ws_handshake_request_write(request, sizeof request - 1, "h:8080", "/", NULL, NULL, key);
    CHECK(n > 0);
    request[n > 0 ? n : 0] = '\0';
    CHECK(!strstr(request, "Origin") && !strstr(request, "Protocol"));
    CHECK(ws_handshake_request_write(request, sizeof request, "h", "/", NULL, "chat, a b", key) == -1);
    CHECK(ws_handshake_request_write(request, sizeof request, "h", "/", NULL, "chat;x", key) == -1);
    CHECK(ws_handshake_request_write(request, sizeof request, "h", "/", NULL, " , ", key) == -1);
    CHECK(ws_handshake_request_write(request, sizeof request, "h", "/", "o\r\nX: y", NULL, key) == -1);

    http_header fields[MAX_FIELDS];
    http_head head;
    const char *client_key;
    size_t client_key_len;
    http_head_init(&head, fields, MAX_FIELDS);
    CHECK(http_request_head_parse(&head, expected, strlen(expected)) == HTTP_OK);
    CHECK(ws_handshake_request_check(&head, &client_key, &client_key_len) == WS_OK && client_key_len == WS_KEY_LEN &&
          memcmp(client_key, key, WS_KEY_LEN) == 0);

    /* the server's answer, as the client reads it */
    char response[512];
    n = ws_handshake_response_write(response, sizeof response, client_key, client_key_len, "chat");
    const char *expected_response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                    "Sec-WebSocket-Protocol: chat\r\n\r\n";
    CHECK(n == (int)strlen(expected_response) && memcmp(response, expected_response, (size_t)n) == 0);
    CHECK(ws_handshake_response_write(response, sizeof response, client_key, client_key_len - 1, NULL) == -1);
    CHECK(ws_handshake_response_write(response, sizeof response, client_key, client_key_len, "a b") == -1);
    const char *protocol;
    size_t protocol_len;
    CHECK(parse_response(&head, fields, response, (size_t)n));
    CHECK(ws_handshake_response_check(&head, key, "chat, superchat", &protocol, &protocol_len) == WS_OK &&
          protocol_len == 4 && memcmp(protocol, "chat", 4) == 0);
    CHECK(ws_handshake_response_check(&head, key, "superchat", &protocol, &protocol_len) ==
          WS_ERR_HANDSHAKE_PROTOCOL);
    CHECK(ws_handshake_response_check(&head, key, "Chat", &protocol, &protocol_len) == WS_ERR_HANDSHAKE_PROTOCOL);
    CHECK(ws_handshake_response_check(&head, key, NULL, &protocol, &protocol_len) == WS_ERR_HANDSHAKE_PROTOCOL);

    /* the client's checks */
#define ACCEPT "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    const char *k = "dGhlIHNhbXBsZSBub25jZQ==";
    CHECK(check_response("HTTP/1.1 101 x\r\nUpgrade: WebSocket\r\nConnection: keep-alive, UPGRADE\r\n" ACCEPT "\r\n", k,
                         "chat") == WS_OK);
    CHECK(check_response("HTTP/1.1 101 x\nupgrade: websocket\nconnection: upgrade\n" ACCEPT "\n", k, NULL) == WS_OK);
    static const struct {
        const char *text;
        ws_result error;
    } bad[] = {
        {"HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT "\r\n", WS_ERR_HANDSHAKE_STATUS},
        {"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n", WS_ERR_HANDSHAKE_STATUS},
        {"HTTP/1.0 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT "\r\n", WS_ERR_HANDSHAKE_UPGRADE},
        {"HTTP/1.1 101 x\r\nConnection: Upgrade\r\n" ACCEPT "\r\n", WS_ERR_HANDSHAKE_UPGRADE},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket2\r\nConnection: Upgrade\r\n" ACCEPT "\r\n", WS_ERR_HANDSHAKE_UPGRADE},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket, h2c\r\nConnection: Upgrade\r\n" ACCEPT "\r\n",
         WS_ERR_HANDSHAKE_UPGRADE},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT "\r\n",
         WS_ERR_HANDSHAKE_UPGRADE},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket\r\n" ACCEPT "\r\n", WS_ERR_HANDSHAKE_UPGRADE},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: close\r\n" ACCEPT "\r\n", WS_ERR_HANDSHAKE_UPGRADE},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", WS_ERR_HANDSHAKE_ACCEPT},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOO=\r\n\r\n",
         WS_ERR_HANDSHAKE_ACCEPT},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n\r\n",
         WS_ERR_HANDSHAKE_ACCEPT},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT ACCEPT "\r\n",
         WS_ERR_HANDSHAKE_ACCEPT},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT
         "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
         WS_ERR_HANDSHAKE_EXTENSION},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT "Sec-WebSocket-Protocol: x\r\n\r\n",
         WS_ERR_HANDSHAKE_PROTOCOL},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT
         "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
         WS_ERR_HANDSHAKE_PROTOCOL},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT
         "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
         WS_ERR_HANDSHAKE_PROTOCOL},
        {"HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT "Sec-WebSocket-Protocol:\r\n\r\n",
         WS_ERR_HANDSHAKE_PROTOCOL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(check_response(bad[i].text, k, "chat, superchat") == bad[i].error);
    /* the server chose none of the offered subprotocols: allowed (section 4.1) */
    http_head_init(&head, fields, MAX_FIELDS);
    const char *no_protocol = "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT "\r\n";
    CHECK(http_response_head_parse(&head, no_protocol, strlen(no_protocol)) == HTTP_OK &&
          ws_handshake_response_check(&head, k, "chat", &protocol, &protocol_len) == WS_OK && protocol_len == 0);
#undef ACCEPT

    /* the server's checks */
#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define VERSION "Sec-WebSocket-Version: 13\r\n"
    CHECK(check_request("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c, WebSocket\r\nConnection: keep-alive, Upgrade\r\n" KEY
                        VERSION "\r\n") == WS_OK);
    static const struct {
        const char *text;
        ws_result error;
    } bad_requests[] = {
        {"POST / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" KEY VERSION "\r\n",
         WS_ERR_HANDSHAKE_UPGRADE},
        {"get / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" KEY VERSION "\r\n",
         WS_ERR_HANDSHAKE_UPGRADE},
        {"GET / HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" KEY VERSION "\r\n",
         WS_ERR_HANDSHAKE_UPGRADE},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" KEY VERSION "\r\n", WS_ERR_HANDSHAKE_UPGRADE},
        {"GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" KEY VERSION "\r\n",
         WS_ERR_HANDSHAKE_UPGRADE},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n" KEY VERSION "\r\n", WS_ERR_HANDSHAKE_UPGRADE},
        {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n" KEY VERSION "\r\n", WS_ERR_HANDSHAKE_UPGRADE},
        {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" KEY "\r\n",
         WS_ERR_HANDSHAKE_VERSION},
        {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" KEY
         "Sec-WebSocket-Version: 8\r\n\r\n",
         WS_ERR_HANDSHAKE_VERSION},
        {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" KEY VERSION VERSION "\r\n",
         WS_ERR_HANDSHAKE_VERSION},
        {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" VERSION "\r\n",
         WS_ERR_HANDSHAKE_KEY},
        {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" KEY KEY VERSION "\r\n",
         WS_ERR_HANDSHAKE_KEY},
        {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZTE=\r\n" VERSION "\r\n",
         WS_ERR_HANDSHAKE_KEY}, /* 17 bytes */
        {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\n" VERSION "\r\n",
         WS_ERR_HANDSHAKE_KEY}, /* 15 bytes */
        {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=!\r\n" VERSION "\r\n",
         WS_ERR_HANDSHAKE_KEY},
    };
    for (size_t i = 0; i < sizeof bad_requests / sizeof bad_requests[0]; i++)
        CHECK(check_request(bad_requests[i].text) == bad_requests[i].error);
#undef KEY
#undef VERSION

    /* a key from real random bytes makes a request the server accepts */
    uint8_t nonce[WS_NONCE_LEN];
    random_bytes(nonce, sizeof nonce);
    ws_handshake_key(key, nonce);
    n = ws_handshake_request_write(request, sizeof request, "localhost:9000", "/", NULL, NULL, key);
    http_head_init(&head, fields, MAX_FIELDS);
    CHECK(n > 0 && http_request_head_parse(&head, request, (size_t)n) == HTTP_OK &&
          ws_handshake_request_check(&head, &client_key, &client_key_len) == WS_OK);
    n = ws_handshake_response_write(response, sizeof response, client_key, client_key_len, NULL);
    CHECK(n > 0 && parse_response(&head, fields, response, (size_t)n) &&
          ws_handshake_response_check(&head, key, NULL, &protocol, &protocol_len) == WS_OK && protocol == NULL);
}
