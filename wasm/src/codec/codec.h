/* The codec layer: text encodings the protocols need. A JSON reader that
 * works in place on untrusted text, a JSON writer into a caller buffer,
 * base64 (RFC 4648, padded) and base58 (Bitcoin alphabet).
 * Nothing here allocates. */
#ifndef MIX_CODEC_H
#define MIX_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- JSON reading ---- */

typedef enum {
    JSON_INVALID = 0,
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_type;

/* A value inside a document: its exact text span. */
typedef struct {
    const char *start;
    size_t len;
    json_type type;
} json_value;

#define JSON_MAX_DEPTH 32

/* Checks that text is exactly one JSON value (surrounding whitespace
 * allowed), nested at most JSON_MAX_DEPTH deep; fills root. */
bool json_parse(json_value *root, const char *text, size_t len);

/* Looks up a member of an object by key (keys compared after unescaping
 * only when they contain no escapes; protocol keys never do). */
bool json_object_get(const json_value *object, const char *key, json_value *out);

/* Iterates an array or the values of an object: start with *cursor = 0. */
bool json_next(const json_value *container, size_t *cursor, json_value *out);
/* Iterates an object's members, giving the key as a string value. */
bool json_next_member(const json_value *object, size_t *cursor, json_value *key, json_value *value);

bool json_as_bool(const json_value *v, bool *out);
/* Unsigned and signed integers without fraction or exponent, range-checked. */
bool json_as_u64(const json_value *v, uint64_t *out);
bool json_as_i64(const json_value *v, int64_t *out);
/* A number with an optional fraction, e.g. "1.00" in a string or 0.5; used
 * for performance figures. Gives the value times 100, rounded down. */
bool json_as_percent(const json_value *v, uint32_t *out);
/* Unescapes a string into out (NUL-terminated, UTF-8); fails when it does
 * not fit in out_cap including the terminator. Gives the length. */
bool json_as_string(const json_value *v, char *out, size_t out_cap, size_t *out_len);
/* Compares a string value with a plain C string. */
bool json_string_equals(const json_value *v, const char *s);
/* An array of integers 0..255 (serde's encoding of bytes) into out; gives the count. */
bool json_as_byte_array(const json_value *v, uint8_t *out, size_t out_cap, size_t *out_len);

/* ---- JSON writing ---- */

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;        /* set once anything did not fit; the text is then unusable */
    uint32_t need_comma;  /* one bit per open container */
    uint8_t depth;
    bool after_key;
} json_writer;

void json_writer_init(json_writer *w, char *buf, size_t cap);
void json_object_begin(json_writer *w);
void json_object_end(json_writer *w);
void json_array_begin(json_writer *w);
void json_array_end(json_writer *w);
/* Inside an object: the key of the next value. */
void json_key(json_writer *w, const char *key);
void json_write_string(json_writer *w, const char *s, size_t len);
void json_write_cstring(json_writer *w, const char *s);
void json_write_u64(json_writer *w, uint64_t v);
void json_write_i64(json_writer *w, int64_t v);
void json_write_bool(json_writer *w, bool v);
void json_write_null(json_writer *w);
void json_write_byte_array(json_writer *w, const uint8_t *bytes, size_t len);
/* Ends the text with a NUL; gives its length, or -1 after an overflow. */
int json_writer_finish(json_writer *w);

/* ---- base64 and base58 ---- */

#define BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)

/* Writes the padded encoding and a NUL; gives the length, or -1 when out_cap is too small. */
int base64_encode(char *out, size_t out_cap, const uint8_t *in, size_t len);
/* Strict decoding of padded text; gives the byte count, or -1. */
int base64_decode(uint8_t *out, size_t out_cap, const char *in, size_t len);

#define BASE58_MAX_ENCODED_LEN(n) ((n) * 138 / 100 + 1)

/* Gives the length written (plus a NUL), or -1 when out_cap is too small. */
int base58_encode(char *out, size_t out_cap, const uint8_t *in, size_t len);
/* Decodes into exactly out_len bytes; fails on other lengths or bad characters. */
bool base58_decode_exact(uint8_t *out, size_t out_len, const char *in, size_t in_len);

/* ---- WebSocket framing (RFC 6455) ---- */

/* ---- HTTP/1.1 messages ---- */

#endif
