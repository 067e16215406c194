/* HTTP/1.1 messages: head parsing, body framing, chunked decoding, head
 * writing; whole and byte by byte, valid and malformed. */
#include "check.h"
#include "codec/codec.h"

#include <string.h>

#define MAX_FIELDS 16

static bool span_is(const char *p, size_t len, const char *s)
{
    return len == strlen(s) && memcmp(p, s, len) == 0;
}

static bool field_is(const http_header *h, const char *name, const char *value)
{
    return h && span_is(h->name, h->name_len, name) && span_is(h->value, h->value_len, value);
}

typedef http_result (*head_parser)(http_head *, const char *, size_t);

/* Parses text whole. */
static http_result parse_whole(head_parser parse, http_head *head, http_header *fields, const char *text)
{
    http_head_init(head, fields, MAX_FIELDS);
    return parse(head, text, strlen(text));
}

/* Feeds text one byte more each call, each time from a different buffer
 * (heads may move between calls); every call before the last must ask for
 * more, and the last must agree with parsing the text whole. */
static bool parse_bytewise_agrees(head_parser parse, const char *text)
{
    static char buffers[2][4096];
    http_header whole_fields[MAX_FIELDS], fields[MAX_FIELDS];
    http_head whole, head;
    size_t len = strlen(text);
    http_result expected = parse_whole(parse, &whole, whole_fields, text);
    http_head_init(&head, fields, MAX_FIELDS);
    http_result r = HTTP_INCOMPLETE;
    size_t n;
    char *buf = buffers[0];
    for (n = 1; n <= len && r == HTTP_INCOMPLETE; n++) {
        buf = buffers[n % 2];
        memcpy(buf, text, n);
        memset(buffers[(n + 1) % 2], 0, n); /* the stale copy must not be used */
        r = parse(&head, buf, n);
    }
    if (r != expected) return false;
    if (r != HTTP_OK) return true;
    if (head.head_len != whole.head_len || head.header_count != whole.header_count || head.status != whole.status ||
        head.version_minor != whole.version_minor || head.reason_len != whole.reason_len ||
        head.method_len != whole.method_len || head.target_len != whole.target_len)
        return false;
    if (head.reason_len && memcmp(head.reason, whole.reason, head.reason_len) != 0) return false;
    if (head.method_len && memcmp(head.method, whole.method, head.method_len) != 0) return false;
    if (head.target_len && memcmp(head.target, whole.target, head.target_len) != 0) return false;
    for (size_t i = 0; i < head.header_count; i++) {
        const http_header *a = &head.headers[i], *b = &whole.headers[i];
        if (a->name < buf || a->name >= buf + n) return false; /* points into the last buffer */
        if (a->name_len != b->name_len || memcmp(a->name, b->name, a->name_len) != 0 || a->value_len != b->value_len ||
            memcmp(a->value, b->value, a->value_len) != 0)
            return false;
    }
    return true;
}

static http_result response_error(const char *text)
{
    http_header fields[MAX_FIELDS];
    http_head head;
    return parse_whole(http_response_head_parse, &head, fields, text);
}

static http_result request_error(const char *text)
{
    http_header fields[MAX_FIELDS];
    http_head head;
    return parse_whole(http_request_head_parse, &head, fields, text);
}

void test_http_heads(void)
{
    http_header fields[MAX_FIELDS];
    http_head head;

    const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length:5\r\n"
                     "Set-Cookie: a=1\r\nX-Pad:  \t spaced value \t \r\nset-cookie: b=2\r\nSET-COOKIE: c=3\r\n\r\nhello";
    CHECK(parse_whole(http_response_head_parse, &head, fields, ok) == HTTP_OK);
    CHECK(head.status == 200 && head.version_minor == 1 && span_is(head.reason, head.reason_len, "OK"));
    CHECK(head.header_count == 6 && head.head_len == strlen(ok) - 5);
    CHECK(field_is(&head.headers[0], "Content-Type", "text/plain"));
    CHECK(field_is(&head.headers[1], "Content-Length", "5"));
    CHECK(field_is(&head.headers[3], "X-Pad", "spaced value"));
    /* repeated fields in arrival order, found in any case */
    size_t index = 0;
    CHECK(field_is(http_header_next(&head, "set-cookie", &index), "Set-Cookie", "a=1"));
    CHECK(field_is(http_header_next(&head, "Set-Cookie", &index), "set-cookie", "b=2"));
    CHECK(field_is(http_header_next(&head, "SET-cookie", &index), "SET-COOKIE", "c=3"));
    CHECK(http_header_next(&head, "set-cookie", &index) == NULL);
    CHECK(field_is(http_header_find(&head, "CONTENT-type"), "Content-Type", "text/plain"));
    CHECK(http_header_find(&head, "content") == NULL);
    CHECK(parse_bytewise_agrees(http_response_head_parse, ok));

    /* HTTP/1.0, no reason phrase with and without its space, bare LF line ends, obs-text */
    CHECK(parse_whole(http_response_head_parse, &head, fields, "HTTP/1.0 404 \r\n\r\n") == HTTP_OK &&
          head.version_minor == 0 && head.status == 404 && head.reason_len == 0);
    CHECK(parse_whole(http_response_head_parse, &head, fields, "HTTP/1.1 204\r\n\r\n") == HTTP_OK &&
          head.status == 204 && head.reason_len == 0 && head.head_len == 16);
    const char *bare_lf = "HTTP/1.1 301 Moved Permanently\nLocation: /x\nX-Y: \xc3\xa9t\xc3\xa9\n\n";
    CHECK(parse_whole(http_response_head_parse, &head, fields, bare_lf) == HTTP_OK && head.header_count == 2 &&
          field_is(&head.headers[0], "Location", "/x") && head.head_len == strlen(bare_lf));
    CHECK(parse_bytewise_agrees(http_response_head_parse, bare_lf));
    CHECK(parse_whole(http_response_head_parse, &head, fields, "HTTP/1.1 200 OK\r\nEmpty:\r\n\r\n") == HTTP_OK &&
          field_is(&head.headers[0], "Empty", ""));
    /* a minor version we do not know is still HTTP/1 */
    CHECK(parse_whole(http_response_head_parse, &head, fields, "HTTP/1.2 200 OK\r\n\r\n") == HTTP_OK &&
          head.version_minor == 2);

    /* incomplete heads */
    CHECK(response_error("HTTP/1.1 200 OK\r\nA: b\r\n") == HTTP_INCOMPLETE);
    CHECK(response_error("HTTP/1.1 200 OK\r\n\r") == HTTP_INCOMPLETE);
    CHECK(response_error("") == HTTP_INCOMPLETE);

    /* malformed status lines */
    static const char *const bad_status[] = {
        "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n", "HTTPS/1.1 200 OK\r\n\r\n", "HTTP/1.1 099 Low\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200 O\x01K\r\n\r\n", "HTTP/1.1 200 O\x7fK\r\n\r\n", "HTTP/11 200 OK\r\n\r\n", "HTTP/1.1\r\n\r\n",
        "\r\nHTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 OK\rX\r\n\r\n", "HTTP/1.1 200 OK\r\r\n\r\n",
        " HTTP/1.1 200 OK\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad_status / sizeof bad_status[0]; i++) {
        CHECK(response_error(bad_status[i]) == HTTP_ERR_SYNTAX);
        CHECK(parse_bytewise_agrees(http_response_head_parse, bad_status[i]));
    }
    CHECK(response_error("HTTP/2.0 200 OK\r\n\r\n") == HTTP_ERR_VERSION);
    CHECK(response_error("HTTP/0.9 200 OK\r\n\r\n") == HTTP_ERR_VERSION);
    /* a bad start line fails as soon as it is complete, before the head */
    CHECK(response_error("HTTP/1.1 20 OK\r\n") == HTTP_ERR_SYNTAX);

    /* malformed field lines */
    static const char *const bad_fields[] = {
        "HTTP/1.1 200 OK\r\nName : v\r\n\r\n",  "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: v\r\n\r\n",       "HTTP/1.1 200 OK\r\nA\"b: v\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: v\rw\r\n\r\n",   "HTTP/1.1 200 OK\r\nA: v\r\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: v\x01w\r\n\r\n", "HTTP/1.1 200 OK\r\nA: \x7f\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad_fields / sizeof bad_fields[0]; i++)
        CHECK(response_error(bad_fields[i]) == HTTP_ERR_SYNTAX);
    static const char nul_in_value[] = "HTTP/1.1 200 OK\r\nA: v\0w\r\n\r\n";
    http_head_init(&head, fields, MAX_FIELDS);
    CHECK(http_response_head_parse(&head, nul_in_value, sizeof nul_in_value - 1) == HTTP_ERR_SYNTAX);
    CHECK(response_error("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n") == HTTP_ERR_OBS_FOLD);
    CHECK(response_error("HTTP/1.1 200 OK\r\nA: b\r\n\tc\r\n\r\n") == HTTP_ERR_OBS_FOLD);
    CHECK(response_error("HTTP/1.1 200 OK\r\n A: b\r\n\r\n") == HTTP_ERR_OBS_FOLD);
    CHECK(parse_bytewise_agrees(http_response_head_parse, "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n"));

    /* limits: field count, line length (also before the line ends), head size */
    http_header two[2];
    http_head_init(&head, two, 2);
    const char *three = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    CHECK(http_response_head_parse(&head, three, 17 + 12 + 5) == HTTP_INCOMPLETE);
    CHECK(http_response_head_parse(&head, three, 17 + 12 + 6) == HTTP_ERR_TOO_MANY_HEADERS); /* at its line end */
    const char *line20 = "HTTP/1.1 200 OK\r\nX: 0123456789abcdefg\r\n\r\n"; /* a 20-byte field line */
    http_head_init(&head, fields, MAX_FIELDS);
    head.max_line_len = 20;
    CHECK(http_response_head_parse(&head, line20, strlen(line20)) == HTTP_OK);
    http_head_init(&head, fields, MAX_FIELDS);
    head.max_line_len = 19;
    CHECK(http_response_head_parse(&head, line20, strlen(line20)) == HTTP_ERR_LINE_TOO_LONG);
    http_head_init(&head, fields, MAX_FIELDS);
    head.max_line_len = 19;
    CHECK(http_response_head_parse(&head, line20, 17 + 19) == HTTP_INCOMPLETE);
    CHECK(http_response_head_parse(&head, line20, 17 + 20) == HTTP_ERR_LINE_TOO_LONG); /* before its line end */
    const char *line19 = "HTTP/1.1 200 OK\r\nX: 0123456789abcdef\r\n\r\n";
    http_head_init(&head, fields, MAX_FIELDS);
    head.max_line_len = 19;
    CHECK(http_response_head_parse(&head, line19, 17 + 20) == HTTP_INCOMPLETE); /* the CR is the line end */
    CHECK(http_response_head_parse(&head, line19, strlen(line19)) == HTTP_OK);
    http_head_init(&head, fields, MAX_FIELDS);
    head.max_head_len = strlen(line20);
    CHECK(http_response_head_parse(&head, line20, strlen(line20)) == HTTP_OK);
    http_head_init(&head, fields, MAX_FIELDS);
    head.max_head_len = strlen(line20) - 1;
    CHECK(http_response_head_parse(&head, line20, strlen(line20) - 2) == HTTP_INCOMPLETE);
    CHECK(http_response_head_parse(&head, line20, strlen(line20)) == HTTP_ERR_HEAD_TOO_LARGE);

    /* requests */
    const char *get = "GET /path?q=1#f HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
    CHECK(parse_whole(http_request_head_parse, &head, fields, get) == HTTP_OK);
    CHECK(span_is(head.method, head.method_len, "GET") && span_is(head.target, head.target_len, "/path?q=1#f"));
    CHECK(head.version_minor == 1 && head.header_count == 2 && field_is(&head.headers[0], "Host", "example.com"));
    CHECK(parse_bytewise_agrees(http_request_head_parse, get));
    CHECK(parse_whole(http_request_head_parse, &head, fields, "OPTIONS * HTTP/1.0\n\n") == HTTP_OK &&
          span_is(head.target, head.target_len, "*") && head.version_minor == 0);
    static const char *const bad_requests[] = {
        "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 \r\n\r\n", "G@T / HTTP/1.1\r\n\r\n", "GET /\x7f HTTP/1.1\r\n\r\n",
        "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nA : b\r\n\r\n", "GET /\r\n\r\n", "/ HTTP/1.1\r\n\r\n",
        "GET / http/1.1\r\n\r\n", "\r\nGET / HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad_requests / sizeof bad_requests[0]; i++) {
        CHECK(request_error(bad_requests[i]) == HTTP_ERR_SYNTAX);
        CHECK(parse_bytewise_agrees(http_request_head_parse, bad_requests[i]));
    }
    CHECK(request_error("GET / HTTP/3.0\r\n\r\n") == HTTP_ERR_VERSION);

    /* lists */
    const char *list = " a ,, b\t,c,";
    size_t cursor = 0, item_len;
    const char *item;
    CHECK(http_list_next(list, strlen(list), &cursor, &item, &item_len) && span_is(item, item_len, "a"));
    CHECK(http_list_next(list, strlen(list), &cursor, &item, &item_len) && span_is(item, item_len, "b"));
    CHECK(http_list_next(list, strlen(list), &cursor, &item, &item_len) && span_is(item, item_len, "c"));
    CHECK(!http_list_next(list, strlen(list), &cursor, &item, &item_len));
    CHECK(parse_whole(http_response_head_parse, &head, fields,
                      "HTTP/1.1 101 Switching\r\nConnection: keep-alive\r\nconnection: x, UpGrade\r\n\r\n") == HTTP_OK);
    CHECK(http_header_has_token(&head, "Connection", "upgrade"));
    CHECK(!http_header_has_token(&head, "Connection", "upgrad"));
    CHECK(http_token_valid("GET", 3) && !http_token_valid("", 0) && !http_token_valid("a b", 3));
}

static http_result response_framing(const char *method, const char *text, http_body *body)
{
    http_header fields[MAX_FIELDS];
    http_head head;
    if (parse_whole(http_response_head_parse, &head, fields, text) != HTTP_OK) return HTTP_ERR_SYNTAX;
    return http_response_body_framing(&head, method, body);
}

static http_result request_framing(const char *text, http_body *body)
{
    http_header fields[MAX_FIELDS];
    http_head head;
    if (parse_whole(http_request_head_parse, &head, fields, text) != HTTP_OK) return HTTP_ERR_SYNTAX;
    return http_request_body_framing(&head, body);
}

static bool response_body_is(const char *method, const char *text, http_body_kind kind, uint64_t length)
{
    http_body body;
    return response_framing(method, text, &body) == HTTP_OK && body.kind == kind && body.length == length;
}

void test_http_framing(void)
{
    http_body body;
    CHECK(response_body_is("GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", HTTP_BODY_LENGTH, 5));
    CHECK(response_body_is("GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HTTP_BODY_LENGTH, 0));
    CHECK(response_body_is("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_BODY_CHUNKED, 0));
    CHECK(response_body_is("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n", HTTP_BODY_CHUNKED, 0));
    CHECK(response_body_is("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n",
                           HTTP_BODY_CHUNKED, 0));
    CHECK(response_body_is("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", HTTP_BODY_UNTIL_CLOSE,
                           0));
    CHECK(response_body_is("GET", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", HTTP_BODY_UNTIL_CLOSE, 0));
    CHECK(response_body_is("GET", "HTTP/1.0 200 OK\r\n\r\n", HTTP_BODY_UNTIL_CLOSE, 0));
    /* no body, whatever the fields say */
    CHECK(response_body_is("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", HTTP_BODY_NONE, 0));
    CHECK(response_body_is("HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_BODY_NONE, 0));
    CHECK(response_body_is("GET", "HTTP/1.1 100 Continue\r\n\r\n", HTTP_BODY_NONE, 0));
    CHECK(response_body_is("GET", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", HTTP_BODY_NONE, 0));
    CHECK(response_body_is("GET", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", HTTP_BODY_NONE, 0));
    CHECK(response_body_is("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", HTTP_BODY_NONE, 0));
    CHECK(response_body_is("CONNECT", "HTTP/1.1 200 OK\r\n\r\n", HTTP_BODY_NONE, 0));
    CHECK(response_body_is("CONNECT", "HTTP/1.1 407 Auth\r\nContent-Length: 2\r\n\r\n", HTTP_BODY_LENGTH, 2));
    /* repeated Content-Length: equal values are one value */
    CHECK(response_body_is("GET", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n",
                           HTTP_BODY_LENGTH, 7));
    CHECK(response_body_is("GET", "HTTP/1.1 200 OK\r\nContent-Length: 7, 07\r\n\r\n", HTTP_BODY_LENGTH, 7));
    CHECK(response_body_is("GET", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n", HTTP_BODY_LENGTH,
                           UINT64_MAX));

    /* a 1xx, then the final response on the same bytes */
    const char *two = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    http_header fields[MAX_FIELDS];
    http_head head;
    CHECK(parse_whole(http_response_head_parse, &head, fields, two) == HTTP_OK && head.status == 100);
    size_t next = head.head_len;
    http_head_init(&head, fields, MAX_FIELDS);
    CHECK(http_response_head_parse(&head, two + next, strlen(two) - next) == HTTP_OK && head.status == 200 &&
          http_response_body_framing(&head, "GET", &body) == HTTP_OK && body.length == 2 &&
          next + head.head_len + 2 == strlen(two));

    static const char *const bad_length[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: ,\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad_length / sizeof bad_length[0]; i++)
        CHECK(response_framing("GET", bad_length[i], &body) == HTTP_ERR_CONTENT_LENGTH);
    static const char *const bad_coding[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chu/nked\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad_coding / sizeof bad_coding[0]; i++)
        CHECK(response_framing("GET", bad_coding[i], &body) == HTTP_ERR_TRANSFER_ENCODING);

    /* requests */
    CHECK(request_framing("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &body) == HTTP_OK && body.kind == HTTP_BODY_NONE);
    CHECK(request_framing("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &body) == HTTP_OK &&
          body.kind == HTTP_BODY_NONE);
    CHECK(request_framing("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", &body) == HTTP_OK &&
          body.kind == HTTP_BODY_LENGTH && body.length == 12);
    CHECK(request_framing("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &body) == HTTP_OK &&
          body.kind == HTTP_BODY_CHUNKED);
    CHECK(request_framing("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", &body) ==
          HTTP_ERR_TRANSFER_ENCODING);
    CHECK(request_framing("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", &body) ==
          HTTP_ERR_TRANSFER_ENCODING);
    CHECK(request_framing("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", &body) ==
          HTTP_ERR_CONTENT_LENGTH);
}

/* A chunked body with extensions (quoted too) and trailers, as RFC 9112 allows them. */
static const char CHUNKED[] = "4;name=value\r\nWiki\r\n5 ; a=\"q;\\\"x\" ;b\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
                              "0;last\r\nExpires: never\r\nX-Checksum:  abc \r\n\r\nNEXT";
static const char CHUNKED_BODY[] = "Wikipedia in\r\n\r\nchunks.";

/* Decodes in pieces of `step` input bytes, with at most out_step bytes of
 * output per call, either in place or into a separate buffer; checks the
 * body, the trailers and where the next message starts. */
static bool chunked_decodes(size_t step, size_t out_step, bool in_place)
{
    char input[sizeof CHUNKED], out[sizeof CHUNKED], body[sizeof CHUNKED];
    size_t input_len = 0, fed = 0, body_len = 0;
    http_header trailer_fields[4];
    http_chunked chunked;
    http_chunked_init(&chunked, 1 << 20, trailer_fields, 4);
    http_result r = HTTP_INCOMPLETE;
    bool trailers_ok = false;
    for (int calls = 0; r == HTTP_INCOMPLETE && calls < 10000; calls++) {
        size_t more = sizeof CHUNKED - 1 - fed < step ? sizeof CHUNKED - 1 - fed : step;
        memcpy(input + input_len, CHUNKED + fed, more);
        input_len += more;
        fed += more;
        size_t consumed, n;
        char *dest = in_place ? input : out;
        r = http_chunked_decode(&chunked, input, input_len, &consumed, dest, out_step, &n);
        memcpy(body + body_len, dest, n);
        body_len += n;
        /* the trailers point into the input, so look before dropping it */
        trailers_ok = r == HTTP_OK && chunked.trailers.header_count == 2 &&
                      field_is(&chunked.trailers.headers[0], "Expires", "never") &&
                      field_is(&chunked.trailers.headers[1], "X-Checksum", "abc");
        memmove(input, input + consumed, input_len - consumed);
        input_len -= consumed;
    }
    return r == HTTP_OK && body_len == sizeof CHUNKED_BODY - 1 && memcmp(body, CHUNKED_BODY, body_len) == 0 &&
           input_len + sizeof CHUNKED - 1 - fed == 4 && trailers_ok;
}

static http_result chunked_error(const char *text, uint64_t max_chunk_size)
{
    char out[256];
    size_t consumed, n;
    http_header trailer_fields[2];
    http_chunked chunked;
    http_chunked_init(&chunked, max_chunk_size, trailer_fields, 2);
    return http_chunked_decode(&chunked, text, strlen(text), &consumed, out, sizeof out, &n);
}

void test_http_chunked(void)
{
    CHECK(chunked_decodes(sizeof CHUNKED, sizeof CHUNKED, true));
    CHECK(chunked_decodes(sizeof CHUNKED, sizeof CHUNKED, false));
    CHECK(chunked_decodes(1, sizeof CHUNKED, true));
    CHECK(chunked_decodes(1, sizeof CHUNKED, false));
    CHECK(chunked_decodes(3, 2, false));
    CHECK(chunked_decodes(sizeof CHUNKED, 1, true));
    CHECK(chunked_decodes(7, 5, true));

    /* the end without trailers; then nothing more is decoded */
    char buf[64];
    size_t consumed, n;
    http_chunked chunked;
    http_chunked_init(&chunked, 100, NULL, 0);
    strcpy(buf, "1\r\nA\r\n0\r\n\r\nX");
    CHECK(http_chunked_decode(&chunked, buf, strlen(buf), &consumed, buf, sizeof buf, &n) == HTTP_OK &&
          consumed == 11 && n == 1 && buf[0] == 'A' && chunked.trailers.header_count == 0);
    CHECK(http_chunked_decode(&chunked, buf, 1, &consumed, buf, sizeof buf, &n) == HTTP_OK && consumed == 0 &&
          n == 0);
    /* with no room for trailers, a trailer is an error */
    http_chunked_init(&chunked, 100, NULL, 0);
    CHECK(http_chunked_decode(&chunked, "0\r\nA: b\r\n\r\n", 11, &consumed, buf, sizeof buf, &n) ==
          HTTP_ERR_TOO_MANY_HEADERS);
    /* a size of exactly the cap, in upper- and lower-case hex */
    http_chunked_init(&chunked, 0xAb, NULL, 0);
    CHECK(http_chunked_decode(&chunked, "aB\r\n", 4, &consumed, buf, sizeof buf, &n) == HTTP_INCOMPLETE &&
          consumed == 4 && chunked.remaining == 0xab);
    CHECK(chunked_error("10000000000000000\r\n", UINT64_MAX) == HTTP_ERR_CHUNK_SIZE);
    CHECK(chunked_error("ffffffffffffffff\r\n", UINT64_MAX) == HTTP_INCOMPLETE);
    CHECK(chunked_error("000000000000000000000001\r\n", UINT64_MAX) == HTTP_INCOMPLETE);
    CHECK(chunked_error("101\r\n", 0x100) == HTTP_ERR_CHUNK_TOO_LARGE);
    CHECK(chunked_error("1001", 0x100) == HTTP_ERR_CHUNK_TOO_LARGE); /* before the line ends */
    CHECK(chunked_error("\r\n", 100) == HTTP_ERR_CHUNK_SIZE);
    CHECK(chunked_error("x\r\n", 100) == HTTP_ERR_CHUNK_SIZE);
    CHECK(chunked_error("-1\r\n", 100) == HTTP_ERR_CHUNK_SIZE);
    CHECK(chunked_error("5g\r\n", 100) == HTTP_ERR_CHUNK_SIZE);
    CHECK(chunked_error(" 5\r\n", 100) == HTTP_ERR_CHUNK_SIZE);
    CHECK(chunked_error("5 5\r\n", 100) == HTTP_ERR_SYNTAX);
    CHECK(chunked_error("5\nhello\r\n", 100) == HTTP_ERR_SYNTAX);       /* bare LF after the size */
    CHECK(chunked_error("5\rhello\r\n", 100) == HTTP_ERR_SYNTAX);       /* CR without LF */
    CHECK(chunked_error("5\r\nhelloX\r\n0\r\n\r\n", 100) == HTTP_ERR_SYNTAX); /* missing CRLF after data */
    CHECK(chunked_error("5\r\nhello\n0\r\n\r\n", 100) == HTTP_ERR_SYNTAX);
    CHECK(chunked_error("5\r\nhello\rX", 100) == HTTP_ERR_SYNTAX);
    CHECK(chunked_error("5;a\x01\r\nhello\r\n", 100) == HTTP_ERR_SYNTAX);
    CHECK(chunked_error("5;a\nhello\r\n", 100) == HTTP_ERR_SYNTAX);
    CHECK(chunked_error("0\r\nA: b\r\n c\r\n\r\n", 100) == HTTP_ERR_OBS_FOLD);
    CHECK(chunked_error("0\r\nA b\r\n\r\n", 100) == HTTP_ERR_SYNTAX);
    CHECK(chunked_error("5\r\nhel", 100) == HTTP_INCOMPLETE);
    /* long chunk-size lines are bounded by the trailers' line limit */
    http_chunked_init(&chunked, 100, NULL, 0);
    chunked.trailers.max_line_len = 8;
    CHECK(http_chunked_decode(&chunked, "5;abc=de\r\n", 10, &consumed, buf, sizeof buf, &n) == HTTP_INCOMPLETE);
    http_chunked_init(&chunked, 100, NULL, 0);
    chunked.trailers.max_line_len = 8;
    CHECK(http_chunked_decode(&chunked, "5;abc=def\r\n", 11, &consumed, buf, sizeof buf, &n) ==
          HTTP_ERR_LINE_TOO_LONG);
    /* an error sticks */
    CHECK(http_chunked_decode(&chunked, "5\r\n", 3, &consumed, buf, sizeof buf, &n) == HTTP_ERR_LINE_TOO_LONG);
}

void test_http_writers(void)
{
    char out[512];
    http_header fields[] = {
        {"User-Agent", 10, "mix/1", 5},
        {"Accept", 6, "*/*", 3},
    };
    const char *request = "POST /a?b=c HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: mix/1\r\nAccept: */*\r\n\r\n";
    int n = http_request_head_write(out, sizeof out, "POST", "/a?b=c", "example.com:8080", fields, 2);
    CHECK(n == (int)strlen(request) && memcmp(out, request, (size_t)n) == 0);
    /* every smaller buffer fails */
    bool all_fail = true;
    for (size_t cap = 0; cap < strlen(request); cap++)
        all_fail &= http_request_head_write(out, cap, "POST", "/a?b=c", "example.com:8080", fields, 2) == -1;
    CHECK(all_fail);
    /* what it writes, the request parser reads back */
    http_header parsed_fields[MAX_FIELDS];
    http_head head;
    n = http_request_head_write(out, sizeof out, "GET", "/", "h", fields, 2);
    http_head_init(&head, parsed_fields, MAX_FIELDS);
    CHECK(n > 0 && http_request_head_parse(&head, out, (size_t)n) == HTTP_OK && head.head_len == (size_t)n &&
          head.header_count == 3 && field_is(&head.headers[0], "Host", "h") &&
          field_is(&head.headers[2], "Accept", "*/*"));

    /* nothing can be smuggled in */
    http_header injected[] = {{"X", 1, "a\r\nEvil: 1", 10}};
    http_header bad_name[] = {{"X Y", 3, "a", 1}};
    http_header nul_value[] = {{"X", 1, "a\0b", 3}};
    CHECK(http_request_head_write(out, sizeof out, "GET", "/", "h", injected, 1) == -1);
    CHECK(http_request_head_write(out, sizeof out, "GET", "/", "h", bad_name, 1) == -1);
    CHECK(http_request_head_write(out, sizeof out, "GET", "/", "h", nul_value, 1) == -1);
    CHECK(http_request_head_write(out, sizeof out, "GET", "/", "h\r\nEvil: 1", NULL, 0) == -1);
    CHECK(http_request_head_write(out, sizeof out, "GET", "/ HTTP/1.0\r\n", "h", NULL, 0) == -1);
    CHECK(http_request_head_write(out, sizeof out, "GET", "", "h", NULL, 0) == -1);
    CHECK(http_request_head_write(out, sizeof out, "G T", "/", "h", NULL, 0) == -1);

    const char *response = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    http_header length[] = {{"Content-Length", 14, "0", 1}};
    n = http_response_head_write(out, sizeof out, 404, "Not Found", length, 1);
    CHECK(n == (int)strlen(response) && memcmp(out, response, (size_t)n) == 0);
    n = http_response_head_write(out, sizeof out, 200, "", NULL, 0);
    CHECK(n == 17 && memcmp(out, "HTTP/1.1 200 \r\n\r\n", 17) == 0);
    http_head_init(&head, parsed_fields, MAX_FIELDS);
    CHECK(http_response_head_parse(&head, out, (size_t)n) == HTTP_OK && head.status == 200);
    CHECK(http_response_head_write(out, sizeof out, 99, "Low", NULL, 0) == -1);
    CHECK(http_response_head_write(out, sizeof out, 1000, "High", NULL, 0) == -1);
    CHECK(http_response_head_write(out, sizeof out, 200, "O\r\nK", NULL, 0) == -1);
    CHECK(http_response_head_write(out, 10, 200, "OK", NULL, 0) == -1);
}
