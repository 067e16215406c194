/* JSON (RFC 8259) read in place from untrusted text, and written into a
 * caller's buffer. The reader validates the whole document first, so the
 * accessors can walk it without re-checking its grammar, but they still
 * never read outside the value they are given. */
#include "codec/codec.h"

#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* p is at the opening quote; gives the position after the closing one. */
static const char *scan_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            if (++p >= end) return NULL;
            switch (*p) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                break;
            case 'u':
                if (end - p < 5) return NULL;
                for (int i = 1; i <= 4; i++)
                    if (hex_value(p[i]) < 0) return NULL;
                p += 4;
                break;
            default:
                return NULL;
            }
        }
    }
    return NULL;
}

static const char *scan_digits(const char *p, const char *end)
{
    if (p >= end || !is_digit(*p)) return NULL;
    while (p < end && is_digit(*p)) p++;
    return p;
}

static const char *scan_number(const char *p, const char *end)
{
    if (p < end && *p == '-') p++;
    if (p < end && *p == '0')
        p++;
    else if (!(p = scan_digits(p, end)))
        return NULL;
    if (p < end && *p == '.' && !(p = scan_digits(p + 1, end))) return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (!(p = scan_digits(p, end))) return NULL;
    }
    return p;
}

static const char *scan_literal(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(end - p) < n || memcmp(p, word, n) != 0) return NULL;
    return p + n;
}

/* Scans one value at p (no leading whitespace); gives the position after it. */
static const char *scan_value(const char *p, const char *end, int depth, json_type *type)
{
    if (p >= end) return NULL;
    switch (*p) {
    case '"':
        *type = JSON_STRING;
        return scan_string(p, end);
    case 't':
        *type = JSON_BOOL;
        return scan_literal(p, end, "true");
    case 'f':
        *type = JSON_BOOL;
        return scan_literal(p, end, "false");
    case 'n':
        *type = JSON_NULL;
        return scan_literal(p, end, "null");
    case '[':
    case '{': {
        bool object = *p == '{';
        char close = object ? '}' : ']';
        if (depth >= JSON_MAX_DEPTH) return NULL;
        *type = object ? JSON_OBJECT : JSON_ARRAY;
        p = skip_ws(p + 1, end);
        if (p < end && *p == close) return p + 1;
        for (;;) {
            json_type member_type;
            if (object) {
                if (p >= end || *p != '"' || !(p = scan_string(p, end))) return NULL;
                p = skip_ws(p, end);
                if (p >= end || *p != ':') return NULL;
                p = skip_ws(p + 1, end);
            }
            if (!(p = scan_value(p, end, depth + 1, &member_type))) return NULL;
            p = skip_ws(p, end);
            if (p >= end) return NULL;
            if (*p == close) return p + 1;
            if (*p != ',') return NULL;
            p = skip_ws(p + 1, end);
        }
    }
    default:
        *type = JSON_NUMBER;
        return scan_number(p, end);
    }
}

bool json_parse(json_value *root, const char *text, size_t len)
{
    const char *end = text + len;
    const char *start = skip_ws(text, end);
    json_type type = JSON_INVALID;
    const char *after = scan_value(start, end, 0, &type);
    if (!after || skip_ws(after, end) != end) return false;
    root->start = start;
    root->len = (size_t)(after - start);
    root->type = type;
    return true;
}

static bool next_in_container(const json_value *c, size_t *cursor, json_value *key, json_value *value)
{
    if (c->type != JSON_ARRAY && c->type != JSON_OBJECT) return false;
    const char *end = c->start + c->len - 1; /* the closing bracket */
    const char *p = c->start + (*cursor == 0 ? 1 : *cursor);
    if (p >= end) return false;
    p = skip_ws(p, end);
    if (p < end && *p == ',') p = skip_ws(p + 1, end);
    if (p >= end) return false;
    if (c->type == JSON_OBJECT) {
        const char *key_end = scan_string(p, end);
        if (!key_end) return false;
        if (key) *key = (json_value){p, (size_t)(key_end - p), JSON_STRING};
        p = skip_ws(key_end, end);
        if (p >= end || *p != ':') return false;
        p = skip_ws(p + 1, end);
    }
    json_type type = JSON_INVALID;
    const char *after = scan_value(p, end, 0, &type);
    if (!after) return false;
    *value = (json_value){p, (size_t)(after - p), type};
    *cursor = (size_t)(after - c->start);
    return true;
}

bool json_next(const json_value *container, size_t *cursor, json_value *out)
{
    return next_in_container(container, cursor, NULL, out);
}

bool json_next_member(const json_value *object, size_t *cursor, json_value *key, json_value *value)
{
    return object->type == JSON_OBJECT && next_in_container(object, cursor, key, value);
}

bool json_string_equals(const json_value *v, const char *s)
{
    size_t n = strlen(s);
    return v->type == JSON_STRING && v->len == n + 2 && memcmp(v->start + 1, s, n) == 0;
}

bool json_object_get(const json_value *object, const char *key, json_value *out)
{
    if (object->type != JSON_OBJECT) return false;
    size_t cursor = 0;
    json_value k, v;
    while (json_next_member(object, &cursor, &k, &v)) {
        if (json_string_equals(&k, key)) {
            *out = v;
            return true;
        }
    }
    return false;
}

bool json_as_bool(const json_value *v, bool *out)
{
    if (v->type != JSON_BOOL) return false;
    *out = v->start[0] == 't';
    return true;
}

static bool parse_u64_digits(const char *p, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20) return false;
    uint64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(p[i])) return false;
        uint64_t digit = (uint64_t)(p[i] - '0');
        if (value > (UINT64_MAX - digit) / 10) return false;
        value = value * 10 + digit;
    }
    *out = value;
    return true;
}

bool json_as_u64(const json_value *v, uint64_t *out)
{
    return v->type == JSON_NUMBER && parse_u64_digits(v->start, v->len, out);
}

bool json_as_i64(const json_value *v, int64_t *out)
{
    if (v->type != JSON_NUMBER) return false;
    bool negative = v->start[0] == '-';
    uint64_t magnitude;
    if (!parse_u64_digits(v->start + negative, v->len - negative, &magnitude)) return false;
    if (negative ? magnitude > (uint64_t)INT64_MAX + 1 : magnitude > INT64_MAX) return false;
    *out = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    return true;
}

bool json_as_percent(const json_value *v, uint32_t *out)
{
    const char *p = v->start, *end = v->start + v->len;
    if (v->type == JSON_STRING) {
        p++;
        end--;
    } else if (v->type != JSON_NUMBER) {
        return false;
    }
    uint64_t whole = 0;
    const char *digits_end = p;
    while (digits_end < end && is_digit(*digits_end)) digits_end++;
    if (!parse_u64_digits(p, (size_t)(digits_end - p), &whole) || whole > 1000000) return false;
    uint32_t fraction = 0;
    if (digits_end < end && *digits_end == '.') {
        const char *f = digits_end + 1;
        if (f >= end || !is_digit(*f)) return false;
        for (int place = 0; f < end && is_digit(*f); f++, place++)
            if (place < 2) fraction += (uint32_t)(*f - '0') * (place == 0 ? 10 : 1);
        digits_end = f;
    }
    if (digits_end != end) return false;
    *out = (uint32_t)whole * 100 + fraction;
    return true;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static uint32_t read_hex4(const char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = v << 4 | (uint32_t)hex_value(p[i]);
    return v;
}

bool json_as_string(const json_value *v, char *out, size_t out_cap, size_t *out_len)
{
    if (v->type != JSON_STRING || out_cap == 0) return false;
    const char *p = v->start + 1, *end = v->start + v->len - 1;
    size_t n = 0;
    while (p < end) {
        char encoded[4];
        size_t len = 1;
        if (*p != '\\') {
            encoded[0] = *p++;
        } else {
            char e = p[1];
            p += 2;
            switch (e) {
            case 'b': encoded[0] = '\b'; break;
            case 'f': encoded[0] = '\f'; break;
            case 'n': encoded[0] = '\n'; break;
            case 'r': encoded[0] = '\r'; break;
            case 't': encoded[0] = '\t'; break;
            case 'u': {
                uint32_t cp = read_hex4(p);
                p += 4;
                if (cp >= 0xd800 && cp < 0xdc00) {
                    /* a high surrogate must be followed by an escaped low one */
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return false;
                    uint32_t low = read_hex4(p + 2);
                    if (low < 0xdc00 || low > 0xdfff) return false;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    p += 6;
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    return false;
                }
                len = put_utf8(encoded, cp);
                break;
            }
            default: encoded[0] = e; break; /* quote, backslash, slash */
            }
        }
        if (n + len >= out_cap) return false;
        memcpy(out + n, encoded, len);
        n += len;
    }
    out[n] = '\0';
    if (out_len) *out_len = n;
    return true;
}

bool json_as_byte_array(const json_value *v, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (v->type != JSON_ARRAY) return false;
    size_t cursor = 0, n = 0;
    json_value item;
    uint64_t byte;
    while (json_next(v, &cursor, &item)) {
        if (n == out_cap || !json_as_u64(&item, &byte) || byte > 255) return false;
        out[n++] = (uint8_t)byte;
    }
    *out_len = n;
    return true;
}

/* ---- writing ---- */

void json_writer_init(json_writer *w, char *buf, size_t cap)
{
    *w = (json_writer){.buf = buf, .cap = cap};
}

static void put(json_writer *w, const char *s, size_t n)
{
    /* keep one byte for the terminator */
    if (w->overflow || w->cap - w->len <= n) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_char(json_writer *w, char c)
{
    put(w, &c, 1);
}

/* A comma before every value but the first of its container; in an
 * object the comma goes before the key, not before the key's value. */
static void before_value(json_writer *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0) return;
    uint32_t bit = 1u << (w->depth - 1);
    if (w->need_comma & bit) put_char(w, ',');
    w->need_comma |= bit;
}

static void open_container(json_writer *w, char c)
{
    before_value(w);
    if (w->depth >= 32) {
        w->overflow = true;
        return;
    }
    put_char(w, c);
    w->depth++;
    w->need_comma &= ~(1u << (w->depth - 1));
}

static void close_container(json_writer *w, char c)
{
    if (w->depth == 0) {
        w->overflow = true;
        return;
    }
    put_char(w, c);
    w->depth--;
}

void json_object_begin(json_writer *w) { open_container(w, '{'); }
void json_object_end(json_writer *w) { close_container(w, '}'); }
void json_array_begin(json_writer *w) { open_container(w, '['); }
void json_array_end(json_writer *w) { close_container(w, ']'); }

static void put_string(json_writer *w, const char *s, size_t len)
{
    put_char(w, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put(w, esc, 2);
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(w, esc, 6);
        } else {
            put_char(w, (char)c);
        }
    }
    put_char(w, '"');
}

void json_key(json_writer *w, const char *key)
{
    before_value(w);
    put_string(w, key, strlen(key));
    put_char(w, ':');
    w->after_key = true;
}

void json_write_string(json_writer *w, const char *s, size_t len)
{
    before_value(w);
    put_string(w, s, len);
}

void json_write_cstring(json_writer *w, const char *s)
{
    json_write_string(w, s, strlen(s));
}

static void put_u64(json_writer *w, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(w, digits + sizeof digits - n, n);
}

void json_write_u64(json_writer *w, uint64_t v)
{
    before_value(w);
    put_u64(w, v);
}

void json_write_i64(json_writer *w, int64_t v)
{
    before_value(w);
    if (v < 0) put_char(w, '-');
    put_u64(w, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

void json_write_bool(json_writer *w, bool v)
{
    before_value(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_write_null(json_writer *w)
{
    before_value(w);
    put(w, "null", 4);
}

void json_write_byte_array(json_writer *w, const uint8_t *bytes, size_t len)
{
    json_array_begin(w);
    for (size_t i = 0; i < len; i++) json_write_u64(w, bytes[i]);
    json_array_end(w);
}

int json_writer_finish(json_writer *w)
{
    if (w->overflow || w->depth != 0 || w->cap == 0) return -1;
    w->buf[w->len] = '\0';
    return (int)w->len;
}
