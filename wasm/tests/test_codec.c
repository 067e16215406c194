/* The codec layer: JSON reading and writing, base64, base58. */
#include "check.h"
#include "codec/codec.h"

#include <string.h>

static bool parses(const char *text)
{
    json_value v;
    return json_parse(&v, text, strlen(text));
}

void test_json(void)
{
    static const char *const valid[] = {
        "{}", "[]", " 0 ", "-0.5e+3", "\"a\\u00e9\\ud83d\\ude00\"", "true", "null",
        "{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };
    static const char *const invalid[] = {
        "", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", "-", "\"\\x\"", "\"\x01\"", "tru", "[1] 2",
        "{a:1}", "\"\\u12\"", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) CHECK(parses(valid[i]));
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) CHECK(!parses(invalid[i]));

    /* a gateway message as the published client sends it */
    const char *text = "{\"type\":\"handshakePayload\",\"protocol_version\":6,\"data\":[1,2,255]}";
    json_value root, v;
    CHECK(json_parse(&root, text, strlen(text)) && root.type == JSON_OBJECT);
    CHECK(json_object_get(&root, "type", &v) && json_string_equals(&v, "handshakePayload"));
    uint64_t u;
    CHECK(json_object_get(&root, "protocol_version", &v) && json_as_u64(&v, &u) && u == 6);
    uint8_t bytes[3];
    size_t n;
    CHECK(json_object_get(&root, "data", &v) && json_as_byte_array(&v, bytes, 3, &n) && n == 3 && bytes[2] == 255);
    CHECK(!json_as_byte_array(&v, bytes, 2, &n));
    CHECK(!json_object_get(&root, "missing", &v));

    char s[16];
    const char *str = "\"a\\n\\u00e9\\ud83d\\ude00\\\"\"";
    CHECK(json_parse(&v, str, strlen(str)) && json_as_string(&v, s, sizeof s, &n) && n == 9 &&
          memcmp(s, "a\n\xc3\xa9\xf0\x9f\x98\x80\"", 9) == 0);
    CHECK(!json_as_string(&v, s, 9, &n));
    const char *lone = "\"\\udc00\"";
    CHECK(json_parse(&v, lone, strlen(lone)) && !json_as_string(&v, s, sizeof s, &n));

    int64_t i64;
    const char *big = "18446744073709551615", *too_big = "18446744073709551616", *neg = "-9223372036854775808";
    CHECK(json_parse(&v, big, strlen(big)) && json_as_u64(&v, &u) && u == UINT64_MAX);
    CHECK(json_parse(&v, too_big, strlen(too_big)) && !json_as_u64(&v, &u));
    CHECK(json_parse(&v, neg, strlen(neg)) && json_as_i64(&v, &i64) && i64 == INT64_MIN);
    CHECK(json_parse(&v, "1.5", 3) && !json_as_u64(&v, &u));

    uint32_t pct;
    CHECK(json_parse(&v, "\"0.957\"", 7) && json_as_percent(&v, &pct) && pct == 95);
    CHECK(json_parse(&v, "\"1.00\"", 6) && json_as_percent(&v, &pct) && pct == 100);
    CHECK(json_parse(&v, "1", 1) && json_as_percent(&v, &pct) && pct == 100);
    CHECK(json_parse(&v, "\"x\"", 3) && !json_as_percent(&v, &pct));

    /* iterating arrays and members */
    const char *list = "[ {\"k\":1} , {\"k\":2} ,{\"k\":3}]";
    CHECK(json_parse(&root, list, strlen(list)));
    size_t cursor = 0, count = 0;
    uint64_t sum = 0;
    while (json_next(&root, &cursor, &v)) {
        json_value k;
        if (json_object_get(&v, "k", &k) && json_as_u64(&k, &u)) sum += u;
        count++;
    }
    CHECK(count == 3 && sum == 6);

    /* writing */
    char buf[256];
    json_writer w;
    json_writer_init(&w, buf, sizeof buf);
    json_object_begin(&w);
    json_key(&w, "type");
    json_write_cstring(&w, "send");
    json_key(&w, "remaining_bandwidth");
    json_write_i64(&w, -5);
    json_key(&w, "list");
    json_array_begin(&w);
    json_write_bool(&w, true);
    json_write_null(&w);
    json_write_byte_array(&w, (const uint8_t *)"\x00\xff", 2);
    json_array_end(&w);
    json_key(&w, "s");
    json_write_cstring(&w, "q\"\\\n");
    json_object_end(&w);
    int len = json_writer_finish(&w);
    CHECK(len > 0 && strcmp(buf, "{\"type\":\"send\",\"remaining_bandwidth\":-5,\"list\":[true,null,[0,255]],"
                                  "\"s\":\"q\\\"\\\\\\u000a\"}") == 0);
    CHECK(parses(buf));
    json_writer_init(&w, buf, 8);
    json_object_begin(&w);
    json_key(&w, "too long for the buffer");
    json_object_end(&w);
    CHECK(json_writer_finish(&w) == -1);
}

void test_base_encodings(void)
{
    /* RFC 4648 §10 */
    static const char *const b64[7][2] = {{"", ""},          {"f", "Zg=="},         {"fo", "Zm8="},
                                          {"foo", "Zm9v"},   {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                          {"foobar", "Zm9vYmFy"}};
    for (int i = 0; i < 7; i++) {
        char out[16];
        uint8_t back[8];
        size_t n = strlen(b64[i][0]);
        CHECK(base64_encode(out, sizeof out, (const uint8_t *)b64[i][0], n) == (int)strlen(b64[i][1]) &&
              strcmp(out, b64[i][1]) == 0);
        CHECK(base64_decode(back, sizeof back, b64[i][1], strlen(b64[i][1])) == (int)n &&
              memcmp(back, b64[i][0], n) == 0);
    }
    uint8_t back[8];
    CHECK(base64_decode(back, sizeof back, "Zg=", 3) == -1);
    CHECK(base64_decode(back, sizeof back, "Zh==", 4) == -1);
    CHECK(base64_decode(back, sizeof back, "Zg==Zg==", 8) == -1);
    CHECK(base64_decode(back, sizeof back, "Z!==", 4) == -1);
    char small[4];
    CHECK(base64_encode(small, sizeof small, (const uint8_t *)"f", 1) == -1);

    /* the test gateway's identity key from shared/vectors/registration.json */
    uint8_t key[32];
    const char *b58 = "APyoQtsx7TV8FKdhiUy5bgPzMDPjzhMpguQsjDuiE2bS";
    CHECK(base58_decode_exact(key, 32, b58, strlen(b58)));
    CHECK_HEX(key, 32, "8b9c2f3093f76c82d848a8404642de9346d875fb30092c46457ca0d8c1c4e909");
    char text[64];
    CHECK(base58_encode(text, sizeof text, key, 32) == (int)strlen(b58) && strcmp(text, b58) == 0);
    /* leading zero bytes become leading '1's */
    static const uint8_t zeros_then_one[3] = {0, 0, 1};
    CHECK(base58_encode(text, sizeof text, zeros_then_one, 3) == 3 && strcmp(text, "112") == 0);
    CHECK(base58_decode_exact(key, 3, "112", 3) && memcmp(key, zeros_then_one, 3) == 0);
    CHECK(!base58_decode_exact(key, 32, "0OIl", 4));
    CHECK(!base58_decode_exact(key, 31, b58, strlen(b58)));
}
