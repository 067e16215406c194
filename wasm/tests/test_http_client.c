/* The HTTP client's parts that need no network: URLs and Location
 * resolution, methods, the request head with the header shim, the
 * redirect rules, and the response reader fed whole and in pieces. */
#include "check.h"
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parses_to(const char *text, const char *href)
{
    http_url u;
    int err = http_url_parse(&u, text, strlen(text));
    bool ok = err == 0 && strcmp(u.href, href) == 0;
    http_url_free(&u);
    return ok;
}

static int parse_error(const char *text)
{
    http_url u;
    int err = http_url_parse(&u, text, strlen(text));
    http_url_free(&u);
    return err;
}

static const char *BASE = "http://a/b/c/d;p?q";

static bool resolves_to(const char *ref, const char *expected)
{
    http_url base, u;
    if (http_url_parse(&base, BASE, strlen(BASE)) != 0) return false;
    int err = http_url_resolve(&u, &base, ref, strlen(ref));
    bool ok = err == 0 && strcmp(u.href, expected) == 0;
    http_url_free(&u);
    http_url_free(&base);
    return ok;
}

void test_http_urls(void)
{
    http_url u;
    CHECK(http_url_parse(&u, "HTTPS://Example.COM:8443/a/b?x=1#frag", 37) == 0);
    CHECK(u.https && u.port == 8443 && strcmp(u.host, "example.com") == 0 && !u.host_is_ipv4);
    CHECK(strcmp(u.href, "https://example.com:8443/a/b?x=1") == 0);
    CHECK(strcmp(u.target, "/a/b?x=1") == 0);
    http_url_free(&u);
    CHECK(http_url_parse(&u, "http://192.0.2.10", 17) == 0);
    CHECK(u.host_is_ipv4 && u.ipv4.octets[0] == 192 && u.ipv4.octets[3] == 10 && u.port == 80);
    CHECK(strcmp(u.target, "/") == 0);
    http_url_free(&u);

    CHECK(parses_to("http://h:80/", "http://h/"));
    CHECK(parses_to("https://h:443", "https://h/"));
    CHECK(parses_to("https://h:80/", "https://h:80/"));
    CHECK(parses_to("http://h?q", "http://h/?q"));
    CHECK(parses_to("http://h/a/./b/../c", "http://h/a/c"));
    CHECK(parses_to("http://h.example./x", "http://h.example/x"));
    CHECK(parses_to("http://h.:8080/x", "http://h:8080/x"));
    CHECK(parses_to("http://p.:", "http://p/"));
    CHECK(parses_to("http://h/%20?%41", "http://h/%20?%41"));

    CHECK(parse_error("ftp://h/") == HTTP_FETCH_ERR_UNSUPPORTED_URL);
    CHECK(parse_error("ws://h/") == HTTP_FETCH_ERR_UNSUPPORTED_URL);
    CHECK(parse_error("http://user:pw@h/") == HTTP_FETCH_ERR_UNSUPPORTED_URL);
    CHECK(parse_error("http://[::1]/") == HTTP_FETCH_ERR_UNSUPPORTED_URL);
    CHECK(parse_error("/relative") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http:/h") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http:///x") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http://h:0/") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http://h:65536/") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http://h:8x/") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http://h/a b") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http://h/\xc3\xa9") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http://h%41/") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http://../") == HTTP_FETCH_ERR_INVALID_URL);
    /* a host ending in a number must be an IPv4 literal */
    CHECK(parse_error("http://1.2.3.256/") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http://1.2.3/") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http://01.2.3.4/") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http://example.123/") == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(parse_error("http://123.example/") == 0);
    char long_host[300] = "http://";
    memset(long_host + 7, 'a', 254);
    CHECK(parse_error(long_host) == HTTP_FETCH_ERR_INVALID_URL);
    long_host[7 + 253] = '\0';
    CHECK(parse_error(long_host) == 0);

    CHECK(http_url_parse(&u, "http://h/", 9) == 0);
    http_url v;
    CHECK(http_url_parse(&v, "http://H:80/other", 17) == 0);
    CHECK(http_url_same_origin(&u, &v));
    http_url_free(&v);
    CHECK(http_url_parse(&v, "https://h/", 10) == 0);
    CHECK(!http_url_same_origin(&u, &v));
    http_url_free(&v);
    http_url_free(&u);

    /* RFC 3986 section 5.4: normal and abnormal examples (those an http
     * URL can be: no "g:h", and authority-less paths stay under the host) */
    CHECK(resolves_to("g", "http://a/b/c/g"));
    CHECK(resolves_to("./g", "http://a/b/c/g"));
    CHECK(resolves_to("g/", "http://a/b/c/g/"));
    CHECK(resolves_to("/g", "http://a/g"));
    CHECK(resolves_to("//g", "http://g/"));
    CHECK(resolves_to("?y", "http://a/b/c/d;p?y"));
    CHECK(resolves_to("g?y", "http://a/b/c/g?y"));
    CHECK(resolves_to("#s", "http://a/b/c/d;p?q"));
    CHECK(resolves_to("g#s", "http://a/b/c/g"));
    CHECK(resolves_to("g?y#s", "http://a/b/c/g?y"));
    CHECK(resolves_to(";x", "http://a/b/c/;x"));
    CHECK(resolves_to("g;x", "http://a/b/c/g;x"));
    CHECK(resolves_to("", "http://a/b/c/d;p?q"));
    CHECK(resolves_to(".", "http://a/b/c/"));
    CHECK(resolves_to("./", "http://a/b/c/"));
    CHECK(resolves_to("..", "http://a/b/"));
    CHECK(resolves_to("../", "http://a/b/"));
    CHECK(resolves_to("../g", "http://a/b/g"));
    CHECK(resolves_to("../..", "http://a/"));
    CHECK(resolves_to("../../", "http://a/"));
    CHECK(resolves_to("../../g", "http://a/g"));
    CHECK(resolves_to("../../../g", "http://a/g"));
    CHECK(resolves_to("../../../../g", "http://a/g"));
    CHECK(resolves_to("/./g", "http://a/g"));
    CHECK(resolves_to("/../g", "http://a/g"));
    CHECK(resolves_to("g.", "http://a/b/c/g."));
    CHECK(resolves_to(".g", "http://a/b/c/.g"));
    CHECK(resolves_to("g..", "http://a/b/c/g.."));
    CHECK(resolves_to("..g", "http://a/b/c/..g"));
    CHECK(resolves_to("./../g", "http://a/b/g"));
    CHECK(resolves_to("./g/.", "http://a/b/c/g/"));
    CHECK(resolves_to("g/./h", "http://a/b/c/g/h"));
    CHECK(resolves_to("g/../h", "http://a/b/c/h"));
    CHECK(resolves_to("g;x=1/./y", "http://a/b/c/g;x=1/y"));
    CHECK(resolves_to("g;x=1/../y", "http://a/b/c/y"));
    CHECK(resolves_to("g?y/./x", "http://a/b/c/g?y/./x"));
    CHECK(resolves_to("g#s/../x", "http://a/b/c/g"));
    CHECK(resolves_to("HTTPS://Other:8443/x?", "https://other:8443/x?"));
    CHECK(resolves_to("//other:81", "http://other:81/"));
    /* what browsers do with raw bytes in a Location */
    CHECK(resolves_to("/a b/\xc3\xa9", "http://a/a%20b/%C3%A9"));
    http_url base;
    CHECK(http_url_parse(&base, BASE, strlen(BASE)) == 0);
    CHECK(http_url_resolve(&u, &base, "/a\r\nb", 5) == HTTP_FETCH_ERR_INVALID_URL);
    CHECK(http_url_resolve(&u, &base, "mailto:x@y", 10) == HTTP_FETCH_ERR_UNSUPPORTED_URL);
    CHECK(http_url_resolve(&u, &base, "//[::1]/", 8) == HTTP_FETCH_ERR_UNSUPPORTED_URL);
    http_url_free(&base);
}

/* The head as written, for comparisons. */
static char head_buf[8192];

static const char *head_for(const char *method, const char *url_text, const http_header *headers, size_t count,
                            http_request_body_kind body, uint64_t length)
{
    http_url url;
    if (http_url_parse(&url, url_text, strlen(url_text)) != 0) return "";
    int len = http_request_head_build(head_buf, sizeof head_buf - 1, method, &url, headers, count, body, length);
    http_url_free(&url);
    if (len < 0) return "";
    head_buf[len] = '\0';
    return head_buf;
}

#define H(name, value) {name, sizeof name - 1, value, sizeof value - 1}

void test_http_requests(void)
{
    char m[64];
    CHECK(http_method_normalize(m, sizeof m, "post") == 0 && strcmp(m, "POST") == 0);
    CHECK(http_method_normalize(m, sizeof m, "Options") == 0 && strcmp(m, "OPTIONS") == 0);
    CHECK(http_method_normalize(m, sizeof m, "patch") == 0 && strcmp(m, "patch") == 0);
    CHECK(http_method_normalize(m, sizeof m, "PROPFIND") == 0 && strcmp(m, "PROPFIND") == 0);
    CHECK(http_method_normalize(m, sizeof m, "connect") == HTTP_FETCH_ERR_INVALID_REQUEST);
    CHECK(http_method_normalize(m, sizeof m, "TRACE") == HTTP_FETCH_ERR_INVALID_REQUEST);
    CHECK(http_method_normalize(m, sizeof m, "track") == HTTP_FETCH_ERR_INVALID_REQUEST);
    CHECK(http_method_normalize(m, sizeof m, "GE T") == HTTP_FETCH_ERR_INVALID_REQUEST);
    CHECK(http_method_normalize(m, sizeof m, "") == HTTP_FETCH_ERR_INVALID_REQUEST);
    CHECK(http_method_normalize(m, 4, "POST") == HTTP_FETCH_ERR_INVALID_REQUEST);
    CHECK(http_method_idempotent("GET") && http_method_idempotent("PUT") && http_method_idempotent("DELETE"));
    CHECK(!http_method_idempotent("POST") && !http_method_idempotent("PATCH"));

    /* the published mix-fetch's shim, in its order, after Host and Connection */
    CHECK(strcmp(head_for("GET", "http://10.0.0.1:8080/hello", NULL, 0, HTTP_REQUEST_BODY_NONE, 0),
                 "GET /hello HTTP/1.1\r\n"
                 "Host: 10.0.0.1:8080\r\n"
                 "Connection: keep-alive\r\n"
                 "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/131.0.0.0 Safari/537.36\r\n"
                 "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
                 "Accept-Language: en-US,en;q=0.9\r\n"
                 "Accept-Encoding: identity\r\n"
                 "\r\n") == 0);
    /* the caller's values win (any case), framing fields are ours */
    http_header mine[] = {H("accept", "application/json"), H("X-Trace", "1"), H("content-length", "999"),
                          H("Transfer-Encoding", "gzip"), H("Host", "virtual.example"),
                          H("Connection", "close"), H("user-agent", "me"), H("Accept-Encoding", "gzip"),
                          H("Set-Thing", "a"), H("Set-Thing", "b")};
    CHECK(strcmp(head_for("POST", "https://h/p?q", mine, 10, HTTP_REQUEST_BODY_LENGTH, 5),
                 "POST /p?q HTTP/1.1\r\n"
                 "Host: virtual.example\r\n"
                 "Accept-Language: en-US,en;q=0.9\r\n"
                 "accept: application/json\r\n"
                 "X-Trace: 1\r\n"
                 "Connection: close\r\n"
                 "user-agent: me\r\n"
                 "Accept-Encoding: gzip\r\n"
                 "Set-Thing: a\r\n"
                 "Set-Thing: b\r\n"
                 "Content-Length: 5\r\n"
                 "\r\n") == 0);
    const char *chunked = head_for("PUT", "https://h:8443/", NULL, 0, HTTP_REQUEST_BODY_CHUNKED, 0);
    CHECK(strstr(chunked, "Host: h:8443\r\n") && strstr(chunked, "\r\nTransfer-Encoding: chunked\r\n\r\n"));
    /* nothing can be smuggled in */
    http_header bad_value[] = {H("X", "a\r\nInjected: 1")};
    CHECK(strcmp(head_for("GET", "http://h/", bad_value, 1, HTTP_REQUEST_BODY_NONE, 0), "") == 0);
    http_header bad_name[] = {H("X Y", "a")};
    CHECK(strcmp(head_for("GET", "http://h/", bad_name, 1, HTTP_REQUEST_BODY_NONE, 0), "") == 0);
    http_url url;
    CHECK(http_url_parse(&url, "http://h/", 9) == 0);
    CHECK(http_request_head_build(head_buf, 40, "GET", &url, NULL, 0, HTTP_REQUEST_BODY_NONE, 0) == -1);
    http_url_free(&url);

    /* redirects: the Fetch standard's method rules */
    bool drop;
    CHECK(strcmp(http_redirect_method(301, "POST", &drop), "GET") == 0 && drop);
    CHECK(strcmp(http_redirect_method(302, "POST", &drop), "GET") == 0 && drop);
    CHECK(strcmp(http_redirect_method(301, "PUT", &drop), "PUT") == 0 && !drop);
    CHECK(strcmp(http_redirect_method(302, "HEAD", &drop), "HEAD") == 0 && !drop);
    CHECK(strcmp(http_redirect_method(303, "PUT", &drop), "GET") == 0 && drop);
    CHECK(strcmp(http_redirect_method(303, "DELETE", &drop), "GET") == 0 && drop);
    CHECK(strcmp(http_redirect_method(303, "HEAD", &drop), "HEAD") == 0 && !drop);
    CHECK(strcmp(http_redirect_method(303, "GET", &drop), "GET") == 0 && !drop);
    CHECK(strcmp(http_redirect_method(307, "POST", &drop), "POST") == 0 && !drop);
    CHECK(strcmp(http_redirect_method(308, "PATCH", &drop), "PATCH") == 0 && !drop);
    CHECK(http_status_is_redirect(301) && http_status_is_redirect(308) && !http_status_is_redirect(300) &&
          !http_status_is_redirect(304) && !http_status_is_redirect(305) && !http_status_is_redirect(306));
    CHECK(!http_redirect_keeps_header("content-type", 12, true, false));
    CHECK(http_redirect_keeps_header("Content-Type", 12, false, true));
    CHECK(!http_redirect_keeps_header("Content-Language", 16, true, false));
    CHECK(!http_redirect_keeps_header("AUTHORIZATION", 13, false, true));
    CHECK(http_redirect_keeps_header("Authorization", 13, true, false));
    CHECK(!http_redirect_keeps_header("Cookie", 6, false, true));
    CHECK(!http_redirect_keeps_header("Proxy-Authorization", 19, false, true));
    CHECK(!http_redirect_keeps_header("host", 4, false, true));
    CHECK(http_redirect_keeps_header("X-Custom", 8, true, true));
    CHECK(http_status_null_body(204) && http_status_null_body(205) && http_status_null_body(304) &&
          http_status_null_body(101) && http_status_null_body(103) && !http_status_null_body(200));
}

/* What the reader made of a response. */
typedef struct {
    int status;
    size_t header_count;
    char first_header[64];
    char body[4096];
    size_t body_len;
    bool ended;
    bool keeps_alive;
    char trailer[64];
    size_t trailer_count;
    http_step error_step;
} read_result;

/* Feeds text to a reader in pieces of piece bytes (0: whole), as the
 * client does: bytes kept until consumed, then dropped; eof at the end. */
static read_result read_response(const char *method, const char *text, size_t piece, bool eof)
{
    read_result out = {0};
    http_response_reader *r = malloc(sizeof *r);
    http_response_reader_init(r, method);
    size_t total = strlen(text), given = 0, len = 0;
    char *buf = malloc(total + 1);
    for (;;) {
        size_t used, data_len;
        const char *data;
        bool last;
        http_step step = http_response_reader_step(r, buf, len, &used, &data, &data_len, &last);
        if (step == HTTP_STEP_MORE) {
            memmove(buf, buf + used, len - used);
            len -= used;
            if (given < total) {
                size_t n = piece && total - given > piece ? piece : total - given;
                memcpy(buf + len, text + given, n);
                given += n;
                len += n;
                continue;
            }
            if (!eof) break;
            step = http_response_reader_eof(r);
            if (step == HTTP_STEP_END) out.ended = true;
            else out.error_step = step;
            break;
        }
        if (step == HTTP_STEP_HEAD) {
            out.status = r->head.status;
            out.header_count = r->head.header_count;
            if (r->head.header_count > 0) {
                const http_header *h = &r->head.headers[0];
                snprintf(out.first_header, sizeof out.first_header, "%.*s: %.*s", (int)h->name_len, h->name,
                         (int)h->value_len, h->value);
            }
        } else if (step == HTTP_STEP_BODY || step == HTTP_STEP_END) {
            if (data_len && out.body_len + data_len <= sizeof out.body) {
                memcpy(out.body + out.body_len, data, data_len);
                out.body_len += data_len;
            }
            if (last || step == HTTP_STEP_END) {
                out.ended = true;
                size_t count;
                const http_header *t = http_response_reader_trailers(r, &count);
                out.trailer_count = count;
                if (count)
                    snprintf(out.trailer, sizeof out.trailer, "%.*s: %.*s", (int)t[0].name_len, t[0].name,
                             (int)t[0].value_len, t[0].value);
            }
        } else {
            out.error_step = step;
            break;
        }
        memmove(buf, buf + used, len - used);
        len -= used;
        if (out.ended) break;
    }
    out.keeps_alive = http_response_reader_keeps_alive(r);
    free(buf);
    free(r);
    return out;
}

static bool body_is(const read_result *r, const char *body)
{
    return r->body_len == strlen(body) && memcmp(r->body, body, r->body_len) == 0;
}

void test_http_response_reader(void)
{
    static const char *const with_length = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    static const char *const chunked =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"
        "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Checksum: abc\r\n\r\n";
    static const char *const until_close = "HTTP/1.0 200 OK\r\n\r\nall of it";
    size_t pieces[] = {0, 1, 2, 7, 64};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        read_result r = read_response("GET", with_length, pieces[i], false);
        CHECK(r.status == 200 && r.ended && body_is(&r, "hello") && r.keeps_alive);
        r = read_response("GET", chunked, pieces[i], false);
        CHECK(r.status == 200 && r.ended && body_is(&r, "hello world") && r.keeps_alive);
        CHECK(r.header_count == 3 && strcmp(r.first_header, "Transfer-Encoding: chunked") == 0);
        CHECK(r.trailer_count == 1 && strcmp(r.trailer, "X-Checksum: abc") == 0);
        r = read_response("GET", until_close, pieces[i], true);
        CHECK(r.status == 200 && r.ended && body_is(&r, "all of it") && !r.keeps_alive);
    }
    /* bodiless answers end at their head */
    read_result r = read_response("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 0, false);
    CHECK(r.status == 200 && r.ended && r.body_len == 0 && r.keeps_alive);
    r = read_response("GET", "HTTP/1.1 204 No Content\r\n\r\n", 0, false);
    CHECK(r.status == 204 && r.ended && r.body_len == 0 && r.keeps_alive);
    r = read_response("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 0, false);
    CHECK(r.status == 304 && r.ended && r.body_len == 0);
    r = read_response("GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 0, false);
    CHECK(r.ended && !r.keeps_alive);
    r = read_response("GET", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", 0, false);
    CHECK(r.ended && r.keeps_alive);
    /* truncation and malformed answers */
    r = read_response("GET", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 3, true);
    CHECK(!r.ended && r.error_step == HTTP_STEP_ERROR && body_is(&r, "short"));
    r = read_response("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 0, true);
    CHECK(!r.ended && r.error_step == HTTP_STEP_ERROR);
    r = read_response("GET", "HTTP/1.1 200 OK\r\nContent-", 0, true);
    CHECK(r.status == 0 && r.error_step == HTTP_STEP_ERROR);
    r = read_response("GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", 0, false);
    CHECK(r.error_step == HTTP_STEP_ERROR);
    r = read_response("GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 0, false);
    CHECK(r.error_step == HTTP_STEP_ERROR);
    r = read_response("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, false);
    CHECK(r.error_step == HTTP_STEP_ERROR && r.status == 200);
    r = read_response("GET", "SSH-2.0-OpenSSH\r\n\r\n", 0, false);
    CHECK(r.error_step == HTTP_STEP_ERROR);
}
