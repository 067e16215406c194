/* HTTP/1.1 message syntax and framing (RFC 9112, with field rules from
 * RFC 9110): head parsers that examine each byte once however the bytes
 * arrive, the body-length decision, a chunked decoder and head writers.
 * Nothing here allocates; parsed values point into the caller's buffer. */
#include "codec/codec.h"

#include <limits.h>
#include <string.h>

/* ---- character classes (RFC 9110 section 5.6) ---- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_tchar(char c)
{
    if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool http_token_valid(const char *s, size_t len)
{
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++)
        if (!is_tchar(s[i])) return false;
    return true;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* VCHAR or obs-text: what a field value, reason phrase or target may hold besides whitespace. */
static bool is_visible(char c)
{
    unsigned char u = (unsigned char)c;
    return u > 0x20 && u != 0x7f;
}

static bool is_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_visible(s[i]) && !is_ows(s[i])) return false;
    return true;
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool equals_ignore_case(const char *a, size_t a_len, const char *b, size_t b_len)
{
    if (a_len != b_len) return false;
    for (size_t i = 0; i < a_len; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

/* ---- head parsing ---- */

typedef enum {
    HEAD_RESPONSE,
    HEAD_REQUEST,
    HEAD_TRAILERS, /* field lines only */
} head_kind;

void http_head_init(http_head *head, http_header *headers, size_t header_cap)
{
    memset(head, 0, sizeof *head);
    head->max_head_len = HTTP_DEFAULT_MAX_HEAD_LEN;
    head->max_line_len = HTTP_DEFAULT_MAX_LINE_LEN;
    head->headers = headers;
    head->header_cap = header_cap;
}

/* "HTTP/" DIGIT "." DIGIT; a major version other than 1 is a different protocol. */
static http_result parse_version(http_head *head, const char *s, size_t len)
{
    if (len != 8 || memcmp(s, "HTTP/", 5) != 0 || !is_digit(s[5]) || s[6] != '.' || !is_digit(s[7]))
        return HTTP_ERR_SYNTAX;
    if (s[5] != '1') return HTTP_ERR_VERSION;
    head->version_minor = s[7] - '0';
    return HTTP_OK;
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ]. The SP
 * before an empty reason is often left out, so it is optional here. */
static http_result parse_status_line(http_head *head, const char *line, size_t len)
{
    if (len < 12 || line[8] != ' ') return HTTP_ERR_SYNTAX;
    http_result r = parse_version(head, line, 8);
    if (r != HTTP_OK) return r;
    if (!is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) || line[9] == '0') return HTTP_ERR_SYNTAX;
    head->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    head->reason = line + len;
    head->reason_len = 0;
    if (len > 12) {
        if (line[12] != ' ' || !is_text(line + 13, len - 13)) return HTTP_ERR_SYNTAX;
        head->reason = line + 13;
        head->reason_len = len - 13;
    }
    return HTTP_OK;
}

/* request-line = method SP request-target SP HTTP-version, single spaces. */
static http_result parse_request_line(http_head *head, const char *line, size_t len)
{
    const char *first = memchr(line, ' ', len);
    if (!first) return HTTP_ERR_SYNTAX;
    size_t method_len = (size_t)(first - line);
    const char *target = first + 1;
    size_t rest = len - method_len - 1;
    const char *second = memchr(target, ' ', rest);
    if (!second || !http_token_valid(line, method_len)) return HTTP_ERR_SYNTAX;
    size_t target_len = (size_t)(second - target);
    if (target_len == 0) return HTTP_ERR_SYNTAX;
    for (size_t i = 0; i < target_len; i++)
        if (!is_visible(target[i]) || (unsigned char)target[i] >= 0x80) return HTTP_ERR_SYNTAX;
    http_result r = parse_version(head, second + 1, rest - target_len - 1);
    if (r != HTTP_OK) return r;
    head->method = line;
    head->method_len = method_len;
    head->target = target;
    head->target_len = target_len;
    return HTTP_OK;
}

/* field-line = field-name ":" OWS field-value OWS; no space before the
 * colon (RFC 9112 section 5.1), and a line that starts with whitespace
 * would continue the previous one (obs-fold), which we do not accept. */
static http_result parse_field_line(const char *line, size_t len, http_header *field)
{
    if (is_ows(line[0])) return HTTP_ERR_OBS_FOLD;
    const char *colon = memchr(line, ':', len);
    if (!colon) return HTTP_ERR_SYNTAX;
    size_t name_len = (size_t)(colon - line);
    if (!http_token_valid(line, name_len)) return HTTP_ERR_SYNTAX;
    const char *value = colon + 1, *end = line + len;
    while (value < end && is_ows(*value)) value++;
    while (end > value && is_ows(end[-1])) end--;
    if (!is_text(value, (size_t)(end - value))) return HTTP_ERR_SYNTAX;
    field->name = line;
    field->name_len = name_len;
    field->value = value;
    field->value_len = (size_t)(end - value);
    return HTTP_OK;
}

/* One complete, non-empty line (line end removed), number line_count of
 * the head. Fields are stored when store is set, else only checked. */
static http_result parse_line(http_head *head, head_kind kind, const char *line, size_t len, bool store)
{
    if (memchr(line, '\r', len)) return HTTP_ERR_SYNTAX; /* a bare CR */
    if (head->line_count == 0 && kind == HEAD_RESPONSE) return parse_status_line(head, line, len);
    if (head->line_count == 0 && kind == HEAD_REQUEST) return parse_request_line(head, line, len);
    if (head->header_count == head->header_cap) return HTTP_ERR_TOO_MANY_HEADERS;
    http_header scratch;
    http_result r = parse_field_line(line, len, store ? &head->headers[head->header_count] : &scratch);
    if (r == HTTP_OK) head->header_count++;
    return r;
}

/* The length of the line ending with the LF at lf, without its CR. */
static size_t line_length(const char *buf, size_t line_start, size_t lf)
{
    return lf > line_start && buf[lf - 1] == '\r' ? lf - 1 - line_start : lf - line_start;
}

/* Once the whole head is checked, records where everything is in this
 * buffer, which may not be the one the earlier lines were checked in. */
static void record_head(http_head *head, head_kind kind, const char *buf)
{
    size_t start = 0;
    head->line_count = 0;
    head->header_count = 0;
    for (;;) {
        size_t lf = (size_t)((const char *)memchr(buf + start, '\n', head->head_len - start) - buf);
        size_t len = line_length(buf, start, lf);
        if (len == 0) return;
        (void)parse_line(head, kind, buf + start, len, true); /* cannot fail: checked while scanning */
        head->line_count++;
        start = lf + 1;
    }
}

static http_result parse_head(http_head *head, head_kind kind, const char *buf, size_t len)
{
    size_t limit = len < head->max_head_len ? len : head->max_head_len;
    while (head->scanned < limit) {
        const char *lf_at = memchr(buf + head->scanned, '\n', limit - head->scanned);
        if (!lf_at) break;
        size_t lf = (size_t)(lf_at - buf);
        size_t line_len = line_length(buf, head->line_start, lf);
        head->scanned = lf + 1;
        if (line_len > head->max_line_len) return HTTP_ERR_LINE_TOO_LONG;
        if (line_len == 0) {
            /* a blank line ends the head, except where the start line should be */
            if (head->line_count == 0 && kind != HEAD_TRAILERS) return HTTP_ERR_SYNTAX;
            head->head_len = lf + 1;
            record_head(head, kind, buf);
            return HTTP_OK;
        }
        http_result r = parse_line(head, kind, buf + head->line_start, line_len, false);
        if (r != HTTP_OK) return r;
        head->line_count++;
        head->line_start = lf + 1;
    }
    head->scanned = limit;
    size_t unfinished = limit - head->line_start;
    if (unfinished > 0 && buf[limit - 1] == '\r') unfinished--; /* may be the line end */
    if (unfinished > head->max_line_len) return HTTP_ERR_LINE_TOO_LONG;
    if (len >= head->max_head_len) return HTTP_ERR_HEAD_TOO_LARGE;
    return HTTP_INCOMPLETE;
}

http_result http_response_head_parse(http_head *head, const char *buf, size_t len)
{
    return parse_head(head, HEAD_RESPONSE, buf, len);
}

http_result http_request_head_parse(http_head *head, const char *buf, size_t len)
{
    return parse_head(head, HEAD_REQUEST, buf, len);
}

/* ---- field lookup ---- */

const http_header *http_header_next(const http_head *head, const char *name, size_t *index)
{
    size_t name_len = strlen(name);
    for (; *index < head->header_count; (*index)++) {
        const http_header *h = &head->headers[*index];
        if (equals_ignore_case(h->name, h->name_len, name, name_len)) {
            (*index)++;
            return h;
        }
    }
    return NULL;
}

const http_header *http_header_find(const http_head *head, const char *name)
{
    size_t index = 0;
    return http_header_next(head, name, &index);
}

bool http_list_next(const char *value, size_t len, size_t *cursor, const char **item, size_t *item_len)
{
    while (*cursor < len) {
        size_t start = *cursor;
        const char *comma = memchr(value + start, ',', len - start);
        size_t end = comma ? (size_t)(comma - value) : len;
        *cursor = comma ? end + 1 : len;
        while (start < end && is_ows(value[start])) start++;
        while (end > start && is_ows(value[end - 1])) end--;
        if (end > start) {
            *item = value + start;
            *item_len = end - start;
            return true;
        }
    }
    return false;
}

bool http_header_has_token(const http_head *head, const char *name, const char *token)
{
    size_t index = 0, token_len = strlen(token);
    const http_header *h;
    while ((h = http_header_next(head, name, &index))) {
        size_t cursor = 0, item_len;
        const char *item;
        while (http_list_next(h->value, h->value_len, &cursor, &item, &item_len))
            if (equals_ignore_case(item, item_len, token, token_len)) return true;
    }
    return false;
}

/* ---- body framing (RFC 9112 section 6) ---- */

/* Content-Length, possibly repeated or a list (RFC 9112 section 6.3 item 5):
 * every value must be 1*DIGIT, fit in 64 bits, and all must be equal. */
static http_result content_length(const http_head *head, bool *present, uint64_t *length)
{
    size_t index = 0;
    const http_header *h;
    *present = false;
    while ((h = http_header_next(head, "content-length", &index))) {
        size_t cursor = 0, item_len, items = 0;
        const char *item;
        while (http_list_next(h->value, h->value_len, &cursor, &item, &item_len)) {
            uint64_t v = 0;
            for (size_t i = 0; i < item_len; i++) {
                uint64_t digit = (uint64_t)(item[i] - '0');
                if (!is_digit(item[i]) || v > (UINT64_MAX - digit) / 10) return HTTP_ERR_CONTENT_LENGTH;
                v = v * 10 + digit;
            }
            if (*present && v != *length) return HTTP_ERR_CONTENT_LENGTH;
            *present = true;
            *length = v;
            items++;
        }
        if (items == 0) return HTTP_ERR_CONTENT_LENGTH;
    }
    return HTTP_OK;
}

/* Transfer-Encoding: whether present, and whether chunked is the final
 * coding. chunked applied twice, a coding that is not a token, or an empty
 * field are errors. */
static http_result transfer_encoding(const http_head *head, bool *present, bool *chunked_last)
{
    size_t index = 0;
    const http_header *h;
    bool chunked_seen = false;
    *present = *chunked_last = false;
    while ((h = http_header_next(head, "transfer-encoding", &index))) {
        size_t cursor = 0, item_len, items = 0;
        const char *item;
        while (http_list_next(h->value, h->value_len, &cursor, &item, &item_len)) {
            /* a coding may carry parameters after ';': only its name matters here */
            const char *semicolon = memchr(item, ';', item_len);
            size_t name_len = semicolon ? (size_t)(semicolon - item) : item_len;
            while (name_len > 0 && is_ows(item[name_len - 1])) name_len--;
            if (!http_token_valid(item, name_len)) return HTTP_ERR_TRANSFER_ENCODING;
            bool chunked = equals_ignore_case(item, name_len, "chunked", 7);
            if (chunked && chunked_seen) return HTTP_ERR_TRANSFER_ENCODING;
            chunked_seen |= chunked;
            *chunked_last = chunked;
            items++;
        }
        if (items == 0) return HTTP_ERR_TRANSFER_ENCODING;
        *present = true;
    }
    return HTTP_OK;
}

/* The rules both kinds of message share: TE and CL exclude each other
 * (a sign of request smuggling), and HTTP/1.0 has no TE. */
static http_result framing_fields(const http_head *head, bool *te, bool *chunked, bool *cl, uint64_t *length)
{
    http_result r = transfer_encoding(head, te, chunked);
    if (r != HTTP_OK) return r;
    r = content_length(head, cl, length);
    if (r != HTTP_OK) return r;
    if (*te && (*cl || head->version_minor == 0)) return HTTP_ERR_TRANSFER_ENCODING;
    return HTTP_OK;
}

http_result http_response_body_framing(const http_head *response, const char *request_method, http_body *body)
{
    int status = response->status;
    body->length = 0;
    body->kind = HTTP_BODY_NONE;
    if (strcmp(request_method, "HEAD") == 0 || status < 200 || status == 204 || status == 304 ||
        (strcmp(request_method, "CONNECT") == 0 && status < 300))
        return HTTP_OK;
    bool te, chunked, cl;
    http_result r = framing_fields(response, &te, &chunked, &cl, &body->length);
    if (r != HTTP_OK) return r;
    if (te)
        body->kind = chunked ? HTTP_BODY_CHUNKED : HTTP_BODY_UNTIL_CLOSE;
    else
        body->kind = cl ? HTTP_BODY_LENGTH : HTTP_BODY_UNTIL_CLOSE;
    return HTTP_OK;
}

http_result http_request_body_framing(const http_head *request, http_body *body)
{
    bool te, chunked, cl;
    body->length = 0;
    body->kind = HTTP_BODY_NONE;
    http_result r = framing_fields(request, &te, &chunked, &cl, &body->length);
    if (r != HTTP_OK) return r;
    if (te && !chunked) return HTTP_ERR_TRANSFER_ENCODING;
    if (te)
        body->kind = HTTP_BODY_CHUNKED;
    else if (cl && body->length > 0)
        body->kind = HTTP_BODY_LENGTH;
    return HTTP_OK;
}

/* ---- chunked decoding (RFC 9112 section 7.1) ---- */

enum {
    CHUNK_SIZE_FIRST, /* the first hex digit of a chunk size */
    CHUNK_SIZE,       /* more hex digits */
    CHUNK_SIZE_WS,    /* whitespace after the size, before ';' or the line end */
    CHUNK_EXTENSION,  /* ignored up to CR */
    CHUNK_SIZE_LF,
    CHUNK_DATA,
    CHUNK_DATA_CR,
    CHUNK_DATA_LF,
    CHUNK_TRAILERS,
    CHUNK_DONE,
};

void http_chunked_init(http_chunked *chunked, uint64_t max_chunk_size, http_header *trailer_headers,
                       size_t trailer_cap)
{
    memset(chunked, 0, sizeof *chunked);
    chunked->max_chunk_size = max_chunk_size;
    chunked->state = CHUNK_SIZE_FIRST;
    chunked->failure = HTTP_OK;
    http_head_init(&chunked->trailers, trailer_headers, trailer_cap);
}

static int hex_value(char c)
{
    if (is_digit(c)) return c - '0';
    char lower = ascii_lower(c);
    return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
}

/* One byte of a chunk-size line or of the CRLF after chunk data. */
static http_result chunk_framing_byte(http_chunked *c, char byte)
{
    int digit = hex_value(byte);
    if (c->state <= CHUNK_EXTENSION && byte != '\r' && ++c->line_len > c->trailers.max_line_len)
        return HTTP_ERR_LINE_TOO_LONG;
    switch (c->state) {
    case CHUNK_SIZE_FIRST:
    case CHUNK_SIZE:
        if (digit >= 0) {
            if (c->remaining > UINT64_MAX >> 4) return HTTP_ERR_CHUNK_SIZE;
            c->remaining = c->remaining << 4 | (uint64_t)digit;
            if (c->remaining > c->max_chunk_size) return HTTP_ERR_CHUNK_TOO_LARGE;
            c->state = CHUNK_SIZE;
            return HTTP_OK;
        }
        if (c->state == CHUNK_SIZE_FIRST || (is_visible(byte) && byte != ';')) return HTTP_ERR_CHUNK_SIZE;
        /* fall through - the size ended */
    case CHUNK_SIZE_WS:
        if (is_ows(byte))
            c->state = CHUNK_SIZE_WS;
        else if (byte == ';')
            c->state = CHUNK_EXTENSION;
        else if (byte == '\r')
            c->state = CHUNK_SIZE_LF;
        else
            return HTTP_ERR_SYNTAX;
        return HTTP_OK;
    case CHUNK_EXTENSION:
        if (byte == '\r')
            c->state = CHUNK_SIZE_LF;
        else if (!is_visible(byte) && !is_ows(byte))
            return HTTP_ERR_SYNTAX;
        return HTTP_OK;
    case CHUNK_SIZE_LF:
        if (byte != '\n') return HTTP_ERR_SYNTAX;
        c->line_len = 0;
        c->state = c->remaining == 0 ? CHUNK_TRAILERS : CHUNK_DATA;
        return HTTP_OK;
    case CHUNK_DATA_CR:
        if (byte != '\r') return HTTP_ERR_SYNTAX;
        c->state = CHUNK_DATA_LF;
        return HTTP_OK;
    default: /* CHUNK_DATA_LF */
        if (byte != '\n') return HTTP_ERR_SYNTAX;
        c->state = CHUNK_SIZE_FIRST;
        return HTTP_OK;
    }
}

http_result http_chunked_decode(http_chunked *chunked, const char *in, size_t in_len, size_t *consumed, char *out,
                                size_t out_cap, size_t *out_len)
{
    size_t pos = 0, written = 0;
    http_result r = chunked->failure;
    while (r == HTTP_OK) {
        if (chunked->state == CHUNK_DONE) break;
        if (chunked->state == CHUNK_TRAILERS) {
            r = parse_head(&chunked->trailers, HEAD_TRAILERS, in + pos, in_len - pos);
            if (r == HTTP_OK) {
                pos += chunked->trailers.head_len;
                chunked->state = CHUNK_DONE;
            }
            break;
        }
        if (pos == in_len) {
            r = HTTP_INCOMPLETE;
            break;
        }
        if (chunked->state == CHUNK_DATA) {
            size_t n = in_len - pos;
            if (n > chunked->remaining) n = (size_t)chunked->remaining;
            if (n > out_cap - written) n = out_cap - written;
            if (n == 0) {
                r = HTTP_INCOMPLETE; /* out is full */
                break;
            }
            memmove(out + written, in + pos, n);
            written += n;
            pos += n;
            chunked->remaining -= n;
            if (chunked->remaining == 0) chunked->state = CHUNK_DATA_CR;
            continue;
        }
        r = chunk_framing_byte(chunked, in[pos++]);
    }
    if (r != HTTP_OK && r != HTTP_INCOMPLETE) chunked->failure = r;
    *consumed = pos;
    *out_len = written;
    return r;
}

/* ---- head writing ---- */

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    bool failed;
} head_writer;

static void put(head_writer *w, const char *s, size_t len)
{
    if (w->failed || w->cap - w->len < len) {
        w->failed = true;
        return;
    }
    memcpy(w->buf + w->len, s, len);
    w->len += len;
}

static void put_string(head_writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_field(head_writer *w, const char *name, size_t name_len, const char *value, size_t value_len)
{
    if (!http_token_valid(name, name_len) || !is_text(value, value_len)) w->failed = true;
    put(w, name, name_len);
    put(w, ": ", 2);
    put(w, value, value_len);
    put(w, "\r\n", 2);
}

static int finish_head(head_writer *w, const http_header *headers, size_t count)
{
    for (size_t i = 0; i < count; i++)
        put_field(w, headers[i].name, headers[i].name_len, headers[i].value, headers[i].value_len);
    put(w, "\r\n", 2);
    return w->failed || w->len > (size_t)INT_MAX ? -1 : (int)w->len;
}

int http_request_head_write(char *out, size_t cap, const char *method, const char *target, const char *host,
                            const http_header *headers, size_t count)
{
    head_writer w = {out, cap, 0, false};
    size_t target_len = strlen(target);
    for (size_t i = 0; i < target_len; i++)
        if (!is_visible(target[i]) || (unsigned char)target[i] >= 0x80) w.failed = true;
    if (!http_token_valid(method, strlen(method)) || target_len == 0) w.failed = true;
    put_string(&w, method);
    put(&w, " ", 1);
    put(&w, target, target_len);
    put_string(&w, " HTTP/1.1\r\n");
    put_field(&w, "Host", 4, host, strlen(host));
    return finish_head(&w, headers, count);
}

int http_response_head_write(char *out, size_t cap, int status, const char *reason, const http_header *headers,
                             size_t count)
{
    head_writer w = {out, cap, 0, false};
    if (status < 100 || status > 999 || !is_text(reason, strlen(reason))) w.failed = true;
    char code[3] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10), (char)('0' + status % 10)};
    put_string(&w, "HTTP/1.1 ");
    put(&w, code, 3);
    put(&w, " ", 1);
    put_string(&w, reason);
    put(&w, "\r\n", 2);
    return finish_head(&w, headers, count);
}
