/* libFuzzer target: the HTTP client's parsers of network bytes. The
 * response reader is fed the input in pieces as the client feeds it
 * (unconsumed bytes kept, consumed ones dropped, then the end of the
 * connection), and must agree with itself fed whole; the input is also a
 * Location resolved against a base URL, whose result must parse again to
 * itself. The first byte chooses the method and the piece size. */
#include "http/http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                  \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

#define MAX_INPUT 16384

typedef struct {
    uint8_t body[MAX_INPUT];
    size_t body_len;
    int status;
    http_step last_step;
    size_t trailers;
} outcome;

static void read_all(const char *method, const uint8_t *input, size_t total, size_t piece, outcome *out)
{
    static http_response_reader reader;
    static char buf[MAX_INPUT];
    memset(out, 0, sizeof *out);
    http_response_reader_init(&reader, method);
    size_t given = 0, len = 0;
    for (;;) {
        size_t used, data_len;
        const char *data;
        bool last;
        http_step step = http_response_reader_step(&reader, buf, len, &used, &data, &data_len, &last);
        REQUIRE(used <= len);
        if (step == HTTP_STEP_MORE) {
            memmove(buf, buf + used, len - used);
            len -= used;
            if (given < total) {
                size_t n = total - given < piece ? total - given : piece;
                memcpy(buf + len, input + given, n);
                given += n;
                len += n;
                continue;
            }
            step = http_response_reader_eof(&reader);
            REQUIRE(step == HTTP_STEP_END || step == HTTP_STEP_ERROR);
            out->last_step = step;
            return;
        }
        if (step == HTTP_STEP_ERROR) {
            out->last_step = step;
            return;
        }
        if (step == HTTP_STEP_HEAD) {
            REQUIRE(reader.head.status >= 200 && reader.head.status <= 999);
            out->status = reader.head.status;
        }
        if (step == HTTP_STEP_BODY) {
            REQUIRE(data >= buf && data + data_len <= buf + used && data_len > 0);
            REQUIRE(out->body_len + data_len <= total);
            memcpy(out->body + out->body_len, data, data_len);
            out->body_len += data_len;
        }
        if (step == HTTP_STEP_END || (step == HTTP_STEP_BODY && last)) {
            http_response_reader_trailers(&reader, &out->trailers);
            REQUIRE(http_response_reader_eof(&reader) == HTTP_STEP_END);
            out->last_step = HTTP_STEP_END;
            return;
        }
        memmove(buf, buf + used, len - used);
        len -= used;
    }
}

static void resolve_location(const uint8_t *input, size_t len)
{
    static const char *const bases[] = {"http://a/b/c/d;p?q", "https://192.0.2.10:8443/x/", "http://h"};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        http_url base, url, again;
        REQUIRE(http_url_parse(&base, bases[i], strlen(bases[i])) == 0);
        if (http_url_resolve(&url, &base, (const char *)input, len) == 0) {
            REQUIRE(strncmp(url.href, url.https ? "https://" : "http://", url.https ? 8 : 7) == 0);
            REQUIRE(url.target[0] == '/' && url.port != 0);
            REQUIRE(http_url_parse(&again, url.href, strlen(url.href)) == 0);
            REQUIRE(strcmp(again.href, url.href) == 0 && http_url_same_origin(&again, &url));
            http_url_free(&again);
        }
        http_url_free(&url);
        http_url_free(&base);
    }
    http_url url;
    http_url_parse(&url, (const char *)input, len);
    http_url_free(&url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > MAX_INPUT) return 0;
    static const char *const methods[] = {"GET", "HEAD", "POST", "CONNECT"};
    const char *method = methods[data[0] & 3];
    size_t piece = (size_t)(data[0] >> 2) + 1;
    data++;
    size--;
    static outcome whole, pieces;
    read_all(method, data, size, size ? size : 1, &whole);
    read_all(method, data, size, piece, &pieces);
    REQUIRE(whole.last_step == pieces.last_step && whole.status == pieces.status);
    if (whole.last_step == HTTP_STEP_END) {
        REQUIRE(whole.body_len == pieces.body_len && memcmp(whole.body, pieces.body, whole.body_len) == 0);
        REQUIRE(whole.trailers == pieces.trailers);
    }
    resolve_location(data, size);
    return 0;
}
