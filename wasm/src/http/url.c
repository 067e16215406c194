/* Absolute http(s) URLs and the resolution of references against them
 * (RFC 3986 sections 3 and 5), strict: the browser glue hands over URLs
 * WHATWG URL has already normalised, and Locations are resolved here. */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool prefix_ignore_case(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    if (len < n) return false;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != prefix[i]) return false;
    return true;
}

/* The length of a scheme followed by ':' at the start of s, or 0. */
static size_t scheme_len(const char *s, size_t len)
{
    if (len == 0 || !is_alpha(s[0])) return 0;
    for (size_t i = 1; i < len; i++) {
        if (s[i] == ':') return i;
        if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.') return 0;
    }
    return 0;
}

/* A growing string; failed once an allocation failed. */
typedef struct {
    char *s;
    size_t len, cap;
    bool failed;
} text;

static void text_put(text *t, const char *s, size_t n)
{
    if (t->failed) return;
    if (t->cap - t->len <= n) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap - t->len <= n) cap *= 2;
        char *grown = realloc(t->s, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->s = grown;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

/* RFC 3986 section 5.2.4 on an absolute path, appended to out. */
static void remove_dot_segments(text *out, const char *path, size_t len)
{
    size_t start = out->len;
    size_t i = 0;
    while (i < len) {
        /* one segment: "/" and what follows up to the next "/" */
        size_t seg_end = i + 1;
        while (seg_end < len && path[seg_end] != '/') seg_end++;
        const char *seg = path + i + 1;
        size_t seg_len = seg_end - i - 1;
        bool is_last = seg_end == len;
        if (seg_len == 1 && seg[0] == '.') {
            if (is_last) text_put(out, "/", 1);
        } else if (seg_len == 2 && seg[0] == '.' && seg[1] == '.') {
            /* drop the last segment written */
            size_t cut = out->len;
            while (cut > start && out->s[cut - 1] != '/') cut--;
            if (cut > start) cut--;
            if (!out->failed) {
                out->len = cut;
                out->s[cut] = '\0';
            }
            if (is_last) text_put(out, "/", 1);
        } else {
            text_put(out, path + i, seg_end - i);
        }
        i = seg_end;
    }
    if (out->len == start) text_put(out, "/", 1);
}

/* Appends s, percent-encoding spaces and bytes above 0x7e; fails on other
 * control characters. */
static bool put_encoded(text *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) return false;
        if (c == ' ' || c > 0x7e) {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            text_put(out, esc, 3);
        } else {
            text_put(out, s + i, 1);
        }
    }
    return true;
}

/* A dotted-decimal IPv4 literal: four parts 0-255 without leading zeros. */
static bool parse_ipv4(const char *s, size_t len, net_ipv4 *out)
{
    size_t part = 0, i = 0;
    while (part < 4) {
        size_t start = i;
        unsigned value = 0;
        while (i < len && is_digit(s[i]) && i - start < 3) value = value * 10 + (unsigned)(s[i++] - '0');
        size_t digits = i - start;
        if (digits == 0 || value > 255 || (digits > 1 && s[start] == '0')) return false;
        out->octets[part++] = (uint8_t)value;
        if (part < 4) {
            if (i >= len || s[i] != '.') return false;
            i++;
        }
    }
    return i == len;
}

/* The host's last label is all digits: it must be an IPv4 literal
 * (WHATWG's "ends in a number"). */
static bool ends_in_number(const char *host, size_t len)
{
    if (len > 0 && host[len - 1] == '.') len--;
    size_t start = len;
    while (start > 0 && host[start - 1] != '.') start--;
    if (start == len) return false;
    for (size_t i = start; i < len; i++)
        if (!is_digit(host[i])) return false;
    return true;
}

static int parse_authority(http_url *url, const char *s, size_t len)
{
    if (memchr(s, '@', len)) return HTTP_FETCH_ERR_UNSUPPORTED_URL; /* browsers refuse credentials */
    if (len > 0 && s[0] == '[') return HTTP_FETCH_ERR_UNSUPPORTED_URL; /* IPv6: not routable */
    const char *colon = memchr(s, ':', len);
    size_t host_len = colon ? (size_t)(colon - s) : len;
    if (host_len == 0 || host_len > DNS_MAX_NAME_LEN + 1) return HTTP_FETCH_ERR_INVALID_URL;
    for (size_t i = 0; i < host_len; i++) {
        char c = s[i];
        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_' && c != '.') return HTTP_FETCH_ERR_INVALID_URL;
        url->host[i] = lower(c);
    }
    if (url->host[host_len - 1] == '.') host_len--; /* the root's dot: the same host */
    if (host_len == 0 || host_len > DNS_MAX_NAME_LEN || url->host[host_len - 1] == '.')
        return HTTP_FETCH_ERR_INVALID_URL;
    url->host[host_len] = '\0';
    url->host_is_ipv4 = ends_in_number(url->host, host_len);
    if (url->host_is_ipv4 && !parse_ipv4(url->host, host_len, &url->ipv4)) return HTTP_FETCH_ERR_INVALID_URL;
    url->port = url->https ? 443 : 80;
    if (colon) {
        size_t digits = len - (size_t)(colon - s) - 1;
        const char *p = colon + 1;
        if (digits > 5) return HTTP_FETCH_ERR_INVALID_URL;
        if (digits > 0) {
            unsigned port = 0;
            for (size_t i = 0; i < digits; i++) {
                if (!is_digit(p[i])) return HTTP_FETCH_ERR_INVALID_URL;
                port = port * 10 + (unsigned)(p[i] - '0');
            }
            if (port == 0 || port > 65535) return HTTP_FETCH_ERR_INVALID_URL;
            url->port = (uint16_t)port;
        }
    }
    return 0;
}

static void put_origin(text *out, const http_url *url)
{
    text_put(out, url->https ? "https://" : "http://", url->https ? 8 : 7);
    text_put(out, url->host, strlen(url->host));
    if (url->port != (url->https ? 443 : 80)) {
        char port[8];
        size_t n = 0;
        char digits[6];
        size_t d = 0;
        for (unsigned v = url->port; v; v /= 10) digits[d++] = (char)('0' + v % 10);
        port[n++] = ':';
        while (d) port[n++] = digits[--d];
        text_put(out, port, n);
    }
}

/* The path and query in s (up to a fragment), each byte visible ASCII. */
static bool target_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) return false;
    return true;
}

/* Appends path (absolute, or empty for "/") with dot segments removed, then query (with its '?'). */
static void put_target(text *out, const char *path, size_t path_len, const char *query, size_t query_len)
{
    if (path_len == 0)
        text_put(out, "/", 1);
    else
        remove_dot_segments(out, path, path_len);
    text_put(out, query, query_len);
}

int http_url_parse(http_url *url, const char *s, size_t len)
{
    memset(url, 0, sizeof *url);
    size_t scheme = scheme_len(s, len);
    if (scheme == 0) return HTTP_FETCH_ERR_INVALID_URL;
    if (scheme == 5 && prefix_ignore_case(s, len, "https:"))
        url->https = true;
    else if (!(scheme == 4 && prefix_ignore_case(s, len, "http:")))
        return HTTP_FETCH_ERR_UNSUPPORTED_URL;
    size_t i = scheme + 1;
    if (len - i < 2 || s[i] != '/' || s[i + 1] != '/') return HTTP_FETCH_ERR_INVALID_URL;
    i += 2;
    const char *hash = memchr(s + i, '#', len - i);
    size_t end = hash ? (size_t)(hash - s) : len;
    size_t auth_end = i;
    while (auth_end < end && s[auth_end] != '/' && s[auth_end] != '?') auth_end++;
    int err = parse_authority(url, s + i, auth_end - i);
    if (err) return err;
    if (!target_valid(s + auth_end, end - auth_end)) return HTTP_FETCH_ERR_INVALID_URL;
    const char *q = memchr(s + auth_end, '?', end - auth_end);
    size_t path_end = q ? (size_t)(q - s) : end;

    text out = {0};
    put_origin(&out, url);
    size_t target_start = out.len;
    put_target(&out, s + auth_end, path_end - auth_end, s + path_end, end - path_end);
    if (out.failed) {
        free(out.s);
        return HTTP_FETCH_ERR_NO_MEMORY;
    }
    url->href = out.s;
    url->target = out.s + target_start;
    return 0;
}

int http_url_resolve(http_url *url, const http_url *base, const char *ref, size_t len)
{
    memset(url, 0, sizeof *url);
    const char *hash = memchr(ref, '#', len);
    if (hash) len = (size_t)(hash - ref);
    text r = {0}; /* the reference, encoded */
    if (!put_encoded(&r, ref, len)) {
        free(r.s);
        return HTTP_FETCH_ERR_INVALID_URL;
    }
    text_put(&r, "", 0);
    text out = {0};
    const char *s = r.s ? r.s : "";
    len = r.len;
    if (scheme_len(s, len) > 0) {
        text_put(&out, s, len);
    } else if (len >= 2 && s[0] == '/' && s[1] == '/') {
        text_put(&out, base->https ? "https:" : "http:", base->https ? 6 : 5);
        text_put(&out, s, len);
    } else {
        put_origin(&out, base);
        const char *q = memchr(s, '?', len);
        size_t path_len = q ? (size_t)(q - s) : len;
        const char *base_q = strchr(base->target, '?');
        size_t base_path_len = base_q ? (size_t)(base_q - base->target) : strlen(base->target);
        if (path_len == 0) {
            text_put(&out, base->target, base_path_len);
            if (q)
                text_put(&out, q, len - path_len);
            else if (base_q)
                text_put(&out, base_q, strlen(base_q));
        } else {
            text merged = {0};
            if (s[0] != '/') {
                /* the base path up to its last '/', then the reference's */
                size_t dir = base_path_len;
                while (dir > 0 && base->target[dir - 1] != '/') dir--;
                text_put(&merged, base->target, dir);
            }
            text_put(&merged, s, path_len);
            if (merged.failed)
                out.failed = true;
            else
                remove_dot_segments(&out, merged.s, merged.len);
            free(merged.s);
            text_put(&out, s + path_len, len - path_len);
        }
    }
    free(r.s);
    if (out.failed || r.failed) {
        free(out.s);
        return HTTP_FETCH_ERR_NO_MEMORY;
    }
    int err = http_url_parse(url, out.s, out.len);
    free(out.s);
    return err;
}

void http_url_free(http_url *url)
{
    free(url->href);
    url->href = NULL;
    url->target = NULL;
}

bool http_url_same_origin(const http_url *a, const http_url *b)
{
    return a->https == b->https && a->port == b->port && strcmp(a->host, b->host) == 0;
}
