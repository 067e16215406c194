/* Reading one response from a connection's received bytes: 1xx heads
 * skipped, the final head, then the body by its framing, decoded in place. */
#include "http/http.h"

#include <string.h>

enum { READ_HEAD, READ_LENGTH, READ_CHUNKED, READ_UNTIL_CLOSE, READ_DONE, READ_FAILED };

/* chunk sizes are not limited beyond what a uint64_t holds: the bytes
 * stream through and are never buffered whole */
#define ANY_CHUNK_SIZE UINT64_MAX

void http_response_reader_init(http_response_reader *r, const char *method)
{
    memset(r, 0, sizeof *r);
    size_t len = strlen(method);
    if (len >= sizeof r->method) len = sizeof r->method - 1;
    memcpy(r->method, method, len);
    r->state = READ_HEAD;
    r->failure = HTTP_OK;
    http_head_init(&r->head, r->headers, HTTP_MAX_RESPONSE_HEADERS);
}

static http_step fail(http_response_reader *r, http_result why)
{
    r->state = READ_FAILED;
    r->failure = why;
    return HTTP_STEP_ERROR;
}

/* The final head is in r->head: decide the framing and whether the
 * connection lives on, while the head's bytes are still there. */
static http_step head_done(http_response_reader *r)
{
    http_result res = http_response_body_framing(&r->head, r->method, &r->framing);
    if (res != HTTP_OK) return fail(r, res);
    if (r->head.version_minor >= 1)
        r->keep_alive = !http_header_has_token(&r->head, "Connection", "close");
    else
        r->keep_alive = http_header_has_token(&r->head, "Connection", "keep-alive");
    switch (r->framing.kind) {
    case HTTP_BODY_NONE:
        r->state = READ_LENGTH;
        r->length_left = 0;
        break;
    case HTTP_BODY_LENGTH:
        r->state = READ_LENGTH;
        r->length_left = r->framing.length;
        break;
    case HTTP_BODY_CHUNKED:
        r->state = READ_CHUNKED;
        http_chunked_init(&r->chunked, ANY_CHUNK_SIZE, r->trailer_headers, HTTP_MAX_TRAILERS);
        break;
    default:
        r->state = READ_UNTIL_CLOSE;
        r->keep_alive = false;
        break;
    }
    return HTTP_STEP_HEAD;
}

http_step http_response_reader_step(http_response_reader *r, char *buf, size_t len, size_t *consumed,
                                     const char **data, size_t *data_len, bool *last)
{
    *consumed = 0;
    *data = NULL;
    *data_len = 0;
    *last = false;
    switch (r->state) {
    case READ_HEAD: {
        size_t pos = 0;
        for (;;) {
            http_result res = http_response_head_parse(&r->head, buf + pos, len - pos);
            if (res == HTTP_INCOMPLETE) {
                *consumed = pos;
                return HTTP_STEP_MORE;
            }
            if (res != HTTP_OK) return fail(r, res);
            if (r->head.status >= 200) {
                *consumed = pos + r->head.head_len;
                return head_done(r);
            }
            /* we never ask to switch protocols */
            if (r->head.status == 101) return fail(r, HTTP_ERR_SYNTAX);
            pos += r->head.head_len;
            http_head_init(&r->head, r->headers, HTTP_MAX_RESPONSE_HEADERS);
        }
    }
    case READ_LENGTH: {
        if (r->length_left == 0) {
            r->state = READ_DONE;
            return HTTP_STEP_END;
        }
        size_t n = len;
        if (n > r->length_left) n = (size_t)r->length_left;
        if (n == 0) return HTTP_STEP_MORE;
        r->length_left -= n;
        *data = buf;
        *data_len = n;
        *consumed = n;
        if (r->length_left == 0) {
            r->state = READ_DONE;
            *last = true;
        }
        return HTTP_STEP_BODY;
    }
    case READ_CHUNKED: {
        size_t used, out;
        http_result res = http_chunked_decode(&r->chunked, buf, len, &used, buf, len, &out);
        *consumed = used;
        if (res == HTTP_OK) r->state = READ_DONE;
        else if (res != HTTP_INCOMPLETE) return fail(r, res);
        if (out > 0) {
            *data = buf;
            *data_len = out;
            *last = res == HTTP_OK;
            return HTTP_STEP_BODY;
        }
        return res == HTTP_OK ? HTTP_STEP_END : HTTP_STEP_MORE;
    }
    case READ_UNTIL_CLOSE:
        if (len == 0) return HTTP_STEP_MORE;
        *data = buf;
        *data_len = len;
        *consumed = len;
        return HTTP_STEP_BODY;
    case READ_DONE:
        return HTTP_STEP_END;
    default:
        return HTTP_STEP_ERROR;
    }
}

http_step http_response_reader_eof(http_response_reader *r)
{
    if (r->state == READ_UNTIL_CLOSE) r->state = READ_DONE;
    if (r->state == READ_DONE) return HTTP_STEP_END;
    if (r->state != READ_FAILED) fail(r, HTTP_INCOMPLETE);
    return HTTP_STEP_ERROR;
}

const http_header *http_response_reader_trailers(const http_response_reader *r, size_t *count)
{
    bool have = r->state == READ_DONE && r->framing.kind == HTTP_BODY_CHUNKED;
    *count = have ? r->chunked.trailers.header_count : 0;
    return have ? r->chunked.trailers.headers : NULL;
}

bool http_response_reader_keeps_alive(const http_response_reader *r)
{
    return r->state == READ_DONE && r->keep_alive;
}
