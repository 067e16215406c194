/* libFuzzer target: the HTTP/1.1 head parsers, body framing and chunked
 * decoder on arbitrary bytes. Besides memory safety it checks that feeding
 * the bytes in pieces (from a moving buffer) gives what feeding them whole
 * gives, and that what the writers produce parses back.
 * The first input byte chooses the mode and the piece sizes. */
#include "codec/codec.h"

#include <stdint.h>
#include <string.h>

#define REQUIRE(cond)                  \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

#define MAX_INPUT 8192
#define FIELDS 8

/* small limits, so the fuzzer reaches them */
static void head_init(http_head *head, http_header *fields)
{
    http_head_init(head, fields, FIELDS);
    head->max_head_len = 2048;
    head->max_line_len = 256;
}

typedef http_result (*head_parser)(http_head *, const char *, size_t);

static bool spans_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static bool heads_equal(const http_head *a, const http_head *b)
{
    if (a->head_len != b->head_len || a->header_count != b->header_count || a->status != b->status ||
        a->version_minor != b->version_minor || !spans_equal(a->reason, a->reason_len, b->reason, b->reason_len) ||
        !spans_equal(a->method, a->method_len, b->method, b->method_len) ||
        !spans_equal(a->target, a->target_len, b->target, b->target_len))
        return false;
    for (size_t i = 0; i < a->header_count; i++) {
        const http_header *x = &a->headers[i], *y = &b->headers[i];
        if (!spans_equal(x->name, x->name_len, y->name, y->name_len) ||
            !spans_equal(x->value, x->value_len, y->value, y->value_len))
            return false;
    }
    return true;
}

static void exercise_lookups(const http_head *head)
{
    http_body body;
    http_response_body_framing(head, "GET", &body);
    http_response_body_framing(head, "HEAD", &body);
    http_request_body_framing(head, &body);
    http_header_has_token(head, "connection", "close");
    size_t index = 0, count = 0;
    while (http_header_next(head, "set-cookie", &index)) count++;
    REQUIRE(count <= head->header_count);
}

static void head_parse_split(head_parser parse, const char *data, size_t len, unsigned step)
{
    static char buffers[2][MAX_INPUT];
    http_header whole_fields[FIELDS], fields[FIELDS];
    http_head whole, head;
    head_init(&whole, whole_fields);
    http_result expected = parse(&whole, data, len);
    if (expected == HTTP_OK) {
        REQUIRE(whole.head_len <= len && whole.head_len <= whole.max_head_len && whole.header_count <= FIELDS);
        for (size_t i = 0; i < whole.header_count; i++) {
            const http_header *h = &whole.headers[i];
            REQUIRE(h->name >= data && h->value >= data && h->value + h->value_len <= data + whole.head_len);
        }
        exercise_lookups(&whole);
    }

    head_init(&head, fields);
    http_result r = HTTP_INCOMPLETE;
    size_t fed = 0;
    for (unsigned call = 0; r == HTTP_INCOMPLETE && fed < len; call++) {
        fed = len - fed < step ? len : fed + step;
        char *buf = buffers[call % 2];
        memcpy(buf, data, fed);
        r = parse(&head, buf, fed);
    }
    REQUIRE(r == expected);
    if (r == HTTP_OK) REQUIRE(heads_equal(&head, &whole));
}

/* Copies a span that holds no NUL into a C string. */
static bool c_string(char *out, size_t cap, const char *s, size_t len)
{
    if (len >= cap || memchr(s, '\0', len)) return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

/* What the writer makes of a parsed response, the parser reads back alike. */
static void response_round_trip(const char *data, size_t len)
{
    static char out[MAX_INPUT * 2];
    http_header fields[FIELDS], again_fields[FIELDS];
    http_head head, again;
    head_init(&head, fields);
    if (http_response_head_parse(&head, data, len) != HTTP_OK) return;
    char reason[256]; /* a reason never holds a NUL, and fits in a 256-byte line */
    REQUIRE(c_string(reason, sizeof reason, head.reason, head.reason_len));
    int n = http_response_head_write(out, sizeof out, head.status, reason, head.headers, head.header_count);
    REQUIRE(n > 0);
    head_init(&again, again_fields);
    again.max_head_len = sizeof out;
    again.max_line_len = 512; /* "name:v" comes back as "name: v" */
    REQUIRE(http_response_head_parse(&again, out, (size_t)n) == HTTP_OK && (size_t)n == again.head_len);
    again.version_minor = head.version_minor; /* the writer always says HTTP/1.1 */
    again.head_len = head.head_len;
    REQUIRE(heads_equal(&head, &again));
}

/* A parsed request written again (with a Host first) reads back alike. */
static void request_round_trip(const char *data, size_t len)
{
    static char out[MAX_INPUT * 2];
    http_header fields[FIELDS], again_fields[FIELDS + 1];
    http_head head, again;
    head_init(&head, fields);
    if (http_request_head_parse(&head, data, len) != HTTP_OK) return;
    char method[256], target[256];
    REQUIRE(c_string(method, sizeof method, head.method, head.method_len) &&
            c_string(target, sizeof target, head.target, head.target_len));
    int n = http_request_head_write(out, sizeof out, method, target, "host", head.headers, head.header_count);
    REQUIRE(n > 0);
    http_head_init(&again, again_fields, FIELDS + 1);
    again.max_line_len = 512;
    REQUIRE(http_request_head_parse(&again, out, (size_t)n) == HTTP_OK && again.header_count == head.header_count + 1);
    REQUIRE(spans_equal(again.method, again.method_len, head.method, head.method_len) &&
            spans_equal(again.target, again.target_len, head.target, head.target_len));
    for (size_t i = 0; i < head.header_count; i++) {
        const http_header *x = &head.headers[i], *y = &again.headers[i + 1];
        REQUIRE(spans_equal(x->name, x->name_len, y->name, y->name_len) &&
                spans_equal(x->value, x->value_len, y->value, y->value_len));
    }
}

typedef struct {
    http_result result;
    size_t body_len;
    size_t trailer_count;
    size_t end; /* input offset just after the body, on HTTP_OK */
} chunked_outcome;

/* Decodes in pieces of step input bytes and at most out_step output bytes
 * per call; in place or not. */
static chunked_outcome chunked_run(const char *data, size_t len, size_t step, size_t out_step, bool in_place,
                                   char *body)
{
    static char input[MAX_INPUT], out[MAX_INPUT];
    http_header trailer_fields[FIELDS];
    http_chunked chunked;
    http_chunked_init(&chunked, 1 << 16, trailer_fields, FIELDS);
    chunked.trailers.max_head_len = 1024;
    chunked.trailers.max_line_len = 128;
    chunked_outcome o = {HTTP_INCOMPLETE, 0, 0, 0};
    size_t input_len = 0, fed = 0, dropped = 0;
    for (;;) {
        size_t more = len - fed < step ? len - fed : step;
        memcpy(input + input_len, data + fed, more);
        input_len += more;
        fed += more;
        size_t consumed, n;
        char *dest = in_place ? input : out;
        o.result = http_chunked_decode(&chunked, input, input_len, &consumed, dest, out_step, &n);
        REQUIRE(consumed <= input_len && n <= consumed && n <= out_step);
        memcpy(body + o.body_len, dest, n);
        o.body_len += n;
        memmove(input, input + consumed, input_len - consumed);
        input_len -= consumed;
        dropped += consumed;
        if (o.result != HTTP_INCOMPLETE) break;
        if (fed == len && more == 0 && n == 0 && consumed == 0) break; /* starved */
    }
    if (o.result == HTTP_OK) {
        o.trailer_count = chunked.trailers.header_count;
        o.end = dropped;
    }
    return o;
}

static void chunked_split(const char *data, size_t len, unsigned step, unsigned out_step)
{
    static char whole_body[MAX_INPUT], body[MAX_INPUT];
    chunked_outcome whole = chunked_run(data, len, len ? len : 1, MAX_INPUT, false, whole_body);
    chunked_outcome split = chunked_run(data, len, step, out_step, step & 1, body);
    REQUIRE(whole.result == split.result && whole.body_len == split.body_len &&
            memcmp(whole_body, body, whole.body_len) == 0 && whole.trailer_count == split.trailer_count &&
            whole.end == split.end);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    if (size < 1 || size > MAX_INPUT + 1) return 0;
    unsigned mode = bytes[0] & 3, step = (bytes[0] >> 2 & 7) + 1, out_step = (bytes[0] >> 5) + 1;
    const char *data = (const char *)bytes + 1;
    size_t len = size - 1;
    switch (mode) {
    case 0:
        head_parse_split(http_response_head_parse, data, len, step);
        response_round_trip(data, len);
        break;
    case 1:
        head_parse_split(http_request_head_parse, data, len, step);
        request_round_trip(data, len);
        break;
    default:
        chunked_split(data, len, step * (mode == 3 ? 97 : 1), out_step);
        break;
    }
    return 0;
}
