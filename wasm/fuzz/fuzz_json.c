/* JSON from the network (gateway text frames, the directory): the reader
 * must never read outside the text, and the gateway's message parser must
 * take any text without harm. Everything accepted is walked completely. */
#include "codec/codec.h"
#include "gateway/gateway.h"

#include <stddef.h>
#include <stdint.h>

static void walk(const json_value *v, int depth)
{
    char text[64];
    uint8_t bytes[32];
    size_t n;
    uint64_t u;
    int64_t i;
    uint32_t pct;
    bool b;
    (void)json_as_string(v, text, sizeof text, &n);
    (void)json_as_byte_array(v, bytes, sizeof bytes, &n);
    (void)json_as_u64(v, &u);
    (void)json_as_i64(v, &i);
    (void)json_as_percent(v, &pct);
    (void)json_as_bool(v, &b);
    if (depth > JSON_MAX_DEPTH) return;
    size_t cursor = 0;
    json_value key, item;
    if (v->type == JSON_OBJECT) {
        while (json_next_member(v, &cursor, &key, &item)) {
            walk(&key, depth + 1);
            walk(&item, depth + 1);
        }
        (void)json_object_get(v, "type", &item);
    } else {
        while (json_next(v, &cursor, &item)) walk(&item, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_value root;
    if (json_parse(&root, (const char *)data, size)) walk(&root, 0);
    gateway_message msg;
    if (gateway_message_parse(&msg, (const char *)data, size) == 0) {
        char out[GATEWAY_MAX_TEXT_LEN * 4];
        (void)gateway_message_write(&msg, out, sizeof out);
    }
    return 0;
}
