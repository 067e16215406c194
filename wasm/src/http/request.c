/* Requests as a browser sends them: method normalisation, the head with
 * the published mix-fetch's default headers, and the Fetch standard's
 * redirect rules. */
#include "http/http.h"

#include <stdio.h>
#include <string.h>

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool equals_ignore_case(const char *a, size_t a_len, const char *b)
{
    size_t n = strlen(b);
    if (a_len != n) return false;
    for (size_t i = 0; i < n; i++)
        if (upper(a[i]) != upper(b[i])) return false;
    return true;
}

static bool is_one_of(const char *s, size_t len, const char *const *list)
{
    for (; *list; list++)
        if (equals_ignore_case(s, len, *list)) return true;
    return false;
}

int http_method_normalize(char *out, size_t cap, const char *method)
{
    static const char *const normalized[] = {"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", NULL};
    static const char *const forbidden[] = {"CONNECT", "TRACE", "TRACK", NULL};
    size_t len = strlen(method);
    if (len >= cap || !http_token_valid(method, len) || is_one_of(method, len, forbidden))
        return HTTP_FETCH_ERR_INVALID_REQUEST;
    bool upper_case = is_one_of(method, len, normalized);
    for (size_t i = 0; i < len; i++) out[i] = upper_case ? upper(method[i]) : method[i];
    out[len] = '\0';
    return 0;
}

bool http_method_idempotent(const char *method)
{
    static const char *const idempotent[] = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE", NULL};
    for (const char *const *m = idempotent; *m; m++)
        if (strcmp(method, *m) == 0) return true;
    return false;
}

/* The shim of the published mix-fetch (topology-and-api.md B4): what a
 * Chrome on Linux sends, so servers answer as they would to a browser;
 * identity because nothing here decompresses. */
static const http_header SHIM[] = {
    {"User-Agent", 10,
     "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 101},
    {"Accept", 6, "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", 85},
    {"Accept-Language", 15, "en-US,en;q=0.9", 14},
    {"Accept-Encoding", 15, "identity", 8},
};
#define SHIM_COUNT (sizeof SHIM / sizeof SHIM[0])
/* room for the fields this layer adds besides the caller's */
#define OWN_FIELDS (SHIM_COUNT + 2)

static const http_header *caller_field(const http_header *headers, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (equals_ignore_case(headers[i].name, headers[i].name_len, name)) return &headers[i];
    return NULL;
}

/* Fields this layer always writes itself. */
static bool framing_field(const http_header *h)
{
    return equals_ignore_case(h->name, h->name_len, "Content-Length") ||
           equals_ignore_case(h->name, h->name_len, "Transfer-Encoding") ||
           equals_ignore_case(h->name, h->name_len, "Host");
}

int http_request_head_build(char *out, size_t cap, const char *method, const http_url *url,
                            const http_header *headers, size_t count, http_request_body_kind body,
                            uint64_t body_length)
{
    if (count > HTTP_MAX_REQUEST_HEADERS) return -1;
    http_header fields[OWN_FIELDS + HTTP_MAX_REQUEST_HEADERS];
    size_t n = 0;
    if (!caller_field(headers, count, "Connection")) fields[n++] = (http_header){"Connection", 10, "keep-alive", 10};
    for (size_t i = 0; i < SHIM_COUNT; i++)
        if (!caller_field(headers, count, SHIM[i].name)) fields[n++] = SHIM[i];
    for (size_t i = 0; i < count; i++)
        if (!framing_field(&headers[i])) fields[n++] = headers[i];
    char length[24];
    if (body == HTTP_REQUEST_BODY_LENGTH) {
        int len = snprintf(length, sizeof length, "%llu", (unsigned long long)body_length);
        fields[n++] = (http_header){"Content-Length", 14, length, (size_t)len};
    } else if (body == HTTP_REQUEST_BODY_CHUNKED) {
        fields[n++] = (http_header){"Transfer-Encoding", 17, "chunked", 7};
    }

    char host[DNS_MAX_NAME_LEN + 8];
    const http_header *caller_host = caller_field(headers, count, "Host");
    if (caller_host) {
        if (caller_host->value_len >= sizeof host) return -1;
        memcpy(host, caller_host->value, caller_host->value_len);
        host[caller_host->value_len] = '\0';
    } else if (url->port != (url->https ? 443 : 80)) {
        snprintf(host, sizeof host, "%s:%u", url->host, (unsigned)url->port);
    } else {
        snprintf(host, sizeof host, "%s", url->host);
    }
    return http_request_head_write(out, cap, method, url->target, host, fields, n);
}

bool http_status_is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

const char *http_redirect_method(int status, const char *method, bool *drop_body)
{
    bool to_get = ((status == 301 || status == 302) && strcmp(method, "POST") == 0) ||
                  (status == 303 && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0);
    *drop_body = to_get;
    return to_get ? "GET" : method;
}

bool http_redirect_keeps_header(const char *name, size_t name_len, bool body_dropped, bool cross_origin)
{
    /* the Fetch standard's request-body-header names */
    static const char *const body_fields[] = {"Content-Encoding", "Content-Language", "Content-Location",
                                              "Content-Type", NULL};
    /* Fetch drops Authorization; Cookie and Proxy-Authorization are
     * credentials a browser would not send elsewhere either, and a
     * caller's Host names the old origin */
    static const char *const origin_fields[] = {"Authorization", "Cookie", "Proxy-Authorization", "Host", NULL};
    if (body_dropped && is_one_of(name, name_len, body_fields)) return false;
    if (cross_origin && is_one_of(name, name_len, origin_fields)) return false;
    return true;
}

bool http_status_null_body(int status)
{
    return status == 101 || status == 103 || status == 204 || status == 205 || status == 304;
}
