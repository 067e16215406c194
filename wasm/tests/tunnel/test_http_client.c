/* The http layer through the native tunnel to localnet's nginx and
 * httpbin: GETs over http and https (the 10 MB file byte for byte, read
 * with back-pressure), POSTs echoed (bytes, written with and without a
 * length), a chunked response, the redirect rules, bodiless statuses,
 * keep-alive reuse as nginx logs it, abort, timeout, requests in parallel,
 * and response headers with repeats. One localnet and tunnel for all. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "http/http.h"
#include "localnet_child.h"
#include "platform/platform.h"
#include "tls/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* localnet/services.h */
#define NGINX "nginx.mixnet.test"
#define HTTPBIN "httpbin.mixnet.test"
#define SMALL_TXT "hello from the localnet nginx\n"
#define PATTERN_SIZE (10u * 1024u * 1024u)
#define LINES_SIZE 344064u
/* one delivery is at most what a connection buffers: well below this */
#define RECEIVE_CHUNK_BOUND (256u * 1024u)

typedef struct {
    /* what to do */
    bool hold_body;            /* consume only when the test says so */
    size_t abort_after;        /* close the fetch once this many body bytes came (0: never) */
    const uint8_t *expected;   /* compare the body with this as it comes, instead of keeping it */
    /* what happened */
    http_fetch *f;
    bool got_response, complete;
    int status, error;
    char url[256];
    bool redirected, null_body, reused;
    char headers[4096]; /* "name: value\n" each */
    char trailers[512];
    uint8_t *body;
    size_t body_len, body_cap;
    bool body_matches;
    size_t max_outstanding, outstanding, deliveries_while_full;
    uint64_t started_ms, response_ms, complete_ms;
} fetch_run;

static void on_response(void *ctx, const http_response *res)
{
    fetch_run *r = ctx;
    r->got_response = true;
    r->response_ms = platform_monotonic_ms();
    r->status = res->status;
    snprintf(r->url, sizeof r->url, "%s", res->url);
    r->redirected = res->redirected;
    r->null_body = res->null_body;
    r->reused = res->connection_reused;
    size_t len = 0;
    for (size_t i = 0; i < res->header_count && len < sizeof r->headers; i++) {
        const http_header *h = &res->headers[i];
        len += (size_t)snprintf(r->headers + len, sizeof r->headers - len, "%.*s: %.*s\n", (int)h->name_len, h->name,
                                (int)h->value_len, h->value);
    }
}

static void on_body(void *ctx, const uint8_t *data, size_t len)
{
    fetch_run *r = ctx;
    if (r->outstanding >= HTTP_BODY_WINDOW) r->deliveries_while_full++;
    if (r->expected) {
        r->body_matches = r->body_matches && memcmp(r->expected + r->body_len, data, len) == 0;
    } else {
        /* kept with a NUL after it, for strstr */
        if (r->body_len + len + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap * 2 : 65536;
            while (cap < r->body_len + len + 1) cap *= 2;
            r->body = realloc(r->body, cap);
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, data, len);
        r->body[r->body_len + len] = '\0';
    }
    r->body_len += len;
    if (r->hold_body) {
        r->outstanding += len;
        if (r->outstanding > r->max_outstanding) r->max_outstanding = r->outstanding;
    } else {
        http_fetch_body_consumed(r->f, len);
    }
    if (r->abort_after && r->body_len >= r->abort_after) {
        http_fetch_close(r->f);
        r->f = NULL;
        r->complete = true;
    }
}

static void on_complete(void *ctx, int error, const http_header *trailers, size_t count)
{
    fetch_run *r = ctx;
    r->complete = true;
    r->complete_ms = platform_monotonic_ms();
    r->error = error;
    size_t len = 0;
    for (size_t i = 0; i < count && len < sizeof r->trailers; i++)
        len += (size_t)snprintf(r->trailers + len, sizeof r->trailers - len, "%.*s: %.*s\n", (int)trailers[i].name_len,
                                trailers[i].name, (int)trailers[i].value_len, trailers[i].value);
}

static const http_fetch_events EVENTS = {on_response, on_body, on_complete, NULL};

static void fetch_begin(fetch_run *r, const http_fetch_options *o)
{
    bool hold = r->hold_body;
    size_t abort_after = r->abort_after;
    const uint8_t *expected = r->expected;
    memset(r, 0, sizeof *r);
    r->hold_body = hold;
    r->abort_after = abort_after;
    r->expected = expected;
    r->body_matches = true;
    r->started_ms = platform_monotonic_ms();
    r->f = http_fetch_start(o, &EVENTS, r, &r->error);
    if (!r->f) r->complete = true;
}

static void fetch_end(fetch_run *r)
{
    if (r->f) http_fetch_close(r->f);
    r->f = NULL;
    free(r->body);
    r->body = NULL;
}

/* Runs one fetch to its end; the body stays in r until fetch_end. */
static void fetch_url(fetch_run *r, const char *method, const char *url)
{
    http_fetch_options o = {.method = method, .url = url};
    fetch_begin(r, &o);
    run_until(&r->complete, 60000);
    if (r->error) fprintf(stderr, "%s %s: error %d (%s)\n", method, url, r->error, http_fetch_error_text(r->error));
}

static bool body_is(const fetch_run *r, const char *text)
{
    return r->body_len == strlen(text) && memcmp(r->body, text, r->body_len) == 0;
}

static uint8_t *read_file(const char *dir, const char *name, size_t cap, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/www/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = malloc(cap);
    *len = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    return buf;
}

/* The 10 MB file, consumed every 20 ms of the loop, except for 5 s after
 * the first MB: then the window fills, deliveries stop and back-pressure
 * reaches TCP. Gives MB/s, 0 on failure. */
static double download_pattern(const char *url, const uint8_t *expected)
{
    fetch_run r = {.hold_body = true, .expected = expected};
    http_fetch_options o = {.url = url};
    fetch_begin(&r, &o);
    uint64_t next_report = r.started_ms + 20000, end = r.started_ms + 900000, stall_end = 0;
    size_t stall_start_len = 0, stall_growth = 0;
    while (!r.complete && platform_monotonic_ms() < end) {
        platform_run_once(20);
        if (!stall_end && r.body_len >= 1048576) {
            stall_end = platform_monotonic_ms() + 5000;
            stall_start_len = r.body_len;
        }
        if (stall_end && platform_monotonic_ms() < stall_end) {
            stall_growth = r.body_len - stall_start_len;
            continue;
        }
        if (r.outstanding && r.f) {
            http_fetch_body_consumed(r.f, r.outstanding);
            r.outstanding = 0;
        }
        if (platform_monotonic_ms() > next_report) {
            fprintf(stderr, "  ... %zu bytes of %s\n", r.body_len, url);
            next_report += 20000;
        }
    }
    double seconds = (double)(r.complete_ms - r.started_ms) / 1000.0;
    bool ok = r.complete && r.error == 0 && r.status == 200 && r.body_len == PATTERN_SIZE && r.body_matches;
    if (!ok)
        fprintf(stderr, "%s: status %d, error %d (%s), %zu bytes, matching %d\n", url, r.status, r.error,
                http_fetch_error_text(r.error), r.body_len, r.body_matches);
    CHECK(r.max_outstanding <= HTTP_BODY_WINDOW + RECEIVE_CHUNK_BOUND);
    CHECK(stall_growth <= HTTP_BODY_WINDOW + RECEIVE_CHUNK_BOUND);
    CHECK(r.deliveries_while_full == 0);
    printf("10 MB over %s: %.1f s, %.3f MB/s, first byte after %llu ms, at most %zu bytes unconsumed (%zu came in a 5 s stall)\n",
           strncmp(url, "https", 5) == 0 ? "https" : "http", seconds, PATTERN_SIZE / 1048576.0 / seconds,
           (unsigned long long)(r.response_ms - r.started_ms), r.max_outstanding, stall_growth);
    fetch_end(&r);
    return ok ? PATTERN_SIZE / 1048576.0 / seconds : 0;
}

/* nginx's access log: how many requests the busiest connection carried. */
static int most_requests_on_one_connection(const char *run_dir)
{
    char path[512], line[1024];
    snprintf(path, sizeof path, "%s/nginx-access.log", run_dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int most = 0;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "requests=");
        if (p && atoi(p + 9) > most) most = atoi(p + 9);
    }
    fclose(f);
    return most;
}

static void gets_and_reuse(const localnet_child *ln)
{
    fetch_run r = {0};
    /* by name (DNS through the tunnel), a new connection */
    fetch_url(&r, "get", "http://" NGINX "/small.txt");
    CHECK(r.error == 0 && r.status == 200 && body_is(&r, SMALL_TXT) && !r.reused && !r.redirected);
    CHECK(strcmp(r.url, "http://" NGINX "/small.txt") == 0 && strstr(r.headers, "Content-Length: 30\n"));
    uint64_t first_ms = r.complete_ms - r.started_ms;
    fetch_end(&r);
    /* again: the pooled connection */
    fetch_url(&r, "GET", "http://" NGINX "/small.txt#fragment");
    CHECK(r.error == 0 && body_is(&r, SMALL_TXT) && r.reused);
    printf("GET small.txt: %llu ms on a new connection (DNS, TCP), %llu ms on a reused one\n",
           (unsigned long long)first_ms, (unsigned long long)(r.complete_ms - r.started_ms));
    fetch_end(&r);
    fetch_url(&r, "HEAD", "http://" NGINX "/small.txt");
    CHECK(r.error == 0 && r.status == 200 && r.null_body && r.body_len == 0 && r.reused);
    fetch_end(&r);
    CHECK(most_requests_on_one_connection(ln->run_dir) >= 3);

    /* a chunked response (nginx's SSI filter) */
    fetch_url(&r, "GET", "http://" NGINX "/chunked/lines.txt");
    size_t lines_len = 0;
    uint8_t *lines = read_file(ln->run_dir, "lines.txt", LINES_SIZE + 1, &lines_len);
    CHECK(r.error == 0 && strstr(r.headers, "Transfer-Encoding: chunked\n") && lines && lines_len == LINES_SIZE &&
          r.body_len == LINES_SIZE && memcmp(r.body, lines, LINES_SIZE) == 0);
    free(lines);
    fetch_end(&r);

    /* bodiless statuses */
    fetch_url(&r, "GET", "http://" NGINX "/status/204");
    CHECK(r.error == 0 && r.status == 204 && r.null_body && r.body_len == 0);
    fetch_end(&r);
    fetch_url(&r, "GET", "http://" NGINX "/status/304");
    CHECK(r.error == 0 && r.status == 304 && r.null_body && r.body_len == 0);
    fetch_end(&r);
    fetch_url(&r, "GET", "http://" NGINX "/nowhere");
    CHECK(r.error == 0 && r.status == 404 && !r.null_body && r.body_len > 0);
    fetch_end(&r);
}

static void redirects(void)
{
    fetch_run r = {0};
    fetch_url(&r, "GET", "http://" NGINX "/redirect/3");
    CHECK(r.error == 0 && r.status == 200 && body_is(&r, SMALL_TXT) && r.redirected);
    CHECK(strcmp(r.url, "http://" NGINX "/small.txt") == 0);
    fetch_end(&r);

    http_fetch_options o = {.url = "http://" NGINX "/redirect/3", .redirect = HTTP_REDIRECT_MANUAL};
    fetch_begin(&r, &o);
    run_until(&r.complete, 60000);
    CHECK(r.error == 0 && r.status == 302 && strstr(r.headers, "Location: /redirect/2\n") && !r.redirected);
    fetch_end(&r);

    o.redirect = HTTP_REDIRECT_ERROR;
    fetch_begin(&r, &o);
    run_until(&r.complete, 60000);
    CHECK(r.error == HTTP_FETCH_ERR_REDIRECT && !r.got_response);
    fetch_end(&r);

    o.redirect = HTTP_REDIRECT_FOLLOW;
    o.max_redirects = 2;
    fetch_begin(&r, &o);
    run_until(&r.complete, 60000);
    CHECK(r.error == HTTP_FETCH_ERR_TOO_MANY_REDIRECTS && !r.got_response);
    fetch_end(&r);
    o.max_redirects = 3;
    fetch_begin(&r, &o);
    run_until(&r.complete, 60000);
    CHECK(r.error == 0 && r.status == 200);
    fetch_end(&r);

    /* method rules against httpbin, which echoes what it got */
    static const uint8_t form[] = "a=1";
    http_header type[] = {{"Content-Type", 12, "text/plain", 10}, {"Authorization", 13, "Bearer x", 8}};
    http_fetch_options post = {.method = "POST", .body = form, .body_len = 3, .headers = type, .header_count = 2};
    post.url = "http://" HTTPBIN "/redirect-to?url=/anything&status_code=307";
    fetch_begin(&r, &post);
    run_until(&r.complete, 60000);
    CHECK(r.error == 0 && r.status == 200 && r.redirected && r.body &&
          strstr((char *)r.body, "\"method\":\"POST\"") && strstr((char *)r.body, "\"data\":\"a=1\"") &&
          strstr((char *)r.body, "\"Authorization\":\"Bearer x\""));
    fetch_end(&r);
    post.url = "http://" HTTPBIN "/redirect-to?url=/anything&status_code=302";
    fetch_begin(&r, &post);
    run_until(&r.complete, 60000);
    CHECK(r.error == 0 && r.status == 200 && r.body && strstr((char *)r.body, "\"method\":\"GET\"") &&
          strstr((char *)r.body, "\"data\":\"\"") && !strstr((char *)r.body, "Content-Type"));
    fetch_end(&r);
    /* to another origin (by address): the credentials stay behind */
    post.url = "http://" HTTPBIN "/redirect-to?url=http%3A%2F%2F192.0.2.11%2Fanything&status_code=307";
    fetch_begin(&r, &post);
    run_until(&r.complete, 60000);
    CHECK(r.error == 0 && r.status == 200 && strcmp(r.url, "http://192.0.2.11/anything") == 0 && r.body &&
          strstr((char *)r.body, "\"data\":\"a=1\"") && !strstr((char *)r.body, "Authorization"));
    fetch_end(&r);
    /* a written body cannot go again on a 307 */
    http_fetch_options written = {.method = "PUT", .body_written = true, .body_written_length = 3};
    written.url = "http://" HTTPBIN "/redirect-to?url=/anything&status_code=307";
    fetch_begin(&r, &written);
    CHECK(http_fetch_body_write(r.f, form, 3) == 3 && http_fetch_body_end(r.f) == 0);
    run_until(&r.complete, 60000);
    CHECK(r.error == HTTP_FETCH_ERR_BODY_NOT_REPLAYABLE);
    fetch_end(&r);
}

/* 1 MB of text, echoed by httpbin in its JSON "data" */
static void posts(void)
{
    size_t len = 1024 * 1024;
    uint8_t *body = malloc(len);
    for (size_t i = 0; i < len; i++) body[i] = (uint8_t)('a' + i % 26);
    http_header type[] = {{"Content-Type", 12, "text/plain", 10}};
    fetch_run r = {0};
    http_fetch_options o = {
        .method = "post", .url = "http://" HTTPBIN "/anything", .body = body, .body_len = len, .headers = type,
        .header_count = 1};
    fetch_begin(&r, &o);
    run_until(&r.complete, 300000);
    CHECK(r.error == 0 && r.status == 200 && r.body && r.body_len > len);
    const char *data = r.body ? strstr((char *)r.body, "\"data\":\"") : NULL;
    CHECK(data && memcmp(data + 8, body, len) == 0 && data[8 + len] == '"');
    CHECK(r.body && strstr((char *)r.body, "\"Content-Length\":\"1048576\""));
    printf("POST 1 MB to httpbin and its echo back: %.1f s\n", (double)(r.complete_ms - r.started_ms) / 1000);
    fetch_end(&r);

    /* written by the caller, with a length then without (chunked) */
    uint64_t lengths[] = {len, HTTP_BODY_LENGTH_UNKNOWN};
    for (size_t k = 0; k < 2; k++) {
        http_fetch_options w = {.method = "PUT", .url = "http://" HTTPBIN "/anything", .body_written = true,
                                .body_written_length = lengths[k], .headers = type, .header_count = 1};
        fetch_begin(&r, &w);
        size_t sent = 0;
        uint64_t end = platform_monotonic_ms() + 300000;
        while (!r.complete && platform_monotonic_ms() < end) {
            if (sent < len) {
                int n = http_fetch_body_write(r.f, body + sent, len - sent);
                if (n > 0) sent += (size_t)n;
                if (sent == len) CHECK(http_fetch_body_end(r.f) == 0);
            }
            platform_run_once(20);
        }
        data = r.body ? strstr((char *)r.body, "\"data\":\"") : NULL;
        CHECK(r.error == 0 && r.status == 200 && data && memcmp(data + 8, body, len) == 0 && data[8 + len] == '"');
        if (k == 1) CHECK(r.body && strstr((char *)r.body, "\"Transfer-Encoding\":\"chunked\""));
        fetch_end(&r);
    }
    free(body);
}

static void headers_statuses_parallel_abort_timeout(void)
{
    fetch_run r = {0};
    fetch_url(&r, "GET", "http://" HTTPBIN "/response-headers?Set-Cookie=a%3D1&Set-Cookie=b%3D2&X-Multi=x");
    const char *a = strstr(r.headers, "Set-Cookie: a=1\n"), *b = strstr(r.headers, "Set-Cookie: b=2\n");
    CHECK(r.error == 0 && r.status == 200 && a && b && a < b && strstr(r.headers, "X-Multi: x\n"));
    fetch_end(&r);
    static const int statuses[] = {201, 400, 418, 500, 503};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        char url[128];
        snprintf(url, sizeof url, "http://" HTTPBIN "/status/%d", statuses[i]);
        fetch_url(&r, "GET", url);
        CHECK(r.error == 0 && r.status == statuses[i]);
        fetch_end(&r);
    }
    /* our default headers, as httpbin saw them */
    fetch_url(&r, "GET", "http://" HTTPBIN "/headers");
    CHECK(r.error == 0 && r.body && strstr((char *)r.body, "Chrome/131.0.0.0") &&
          strstr((char *)r.body, "\"Accept-Encoding\":\"identity\""));
    fetch_end(&r);

    /* ten at once to one origin: at most six connections */
    enum { PARALLEL = 10 };
    fetch_run many[PARALLEL] = {0};
    http_pool_close_idle();
    for (int i = 0; i < PARALLEL; i++) {
        memset(&many[i], 0, sizeof many[i]);
        http_fetch_options o = {.url = "http://" NGINX "/small.txt"};
        fetch_begin(&many[i], &o);
    }
    size_t most_open = 0;
    uint64_t start = platform_monotonic_ms(), end = start + 120000;
    for (;;) {
        int done = 0;
        for (int i = 0; i < PARALLEL; i++) done += many[i].complete;
        http_pool_stats st;
        http_pool_stats_get(&st);
        if (st.open_connections > most_open) most_open = st.open_connections;
        if (done == PARALLEL || platform_monotonic_ms() > end) break;
        platform_run_once(20);
    }
    int intact = 0;
    for (int i = 0; i < PARALLEL; i++) {
        intact += many[i].error == 0 && body_is(&many[i], SMALL_TXT);
        fetch_end(&many[i]);
    }
    CHECK(intact == PARALLEL && most_open <= 6 && most_open >= 2);
    printf("%d GETs at once: %llu ms, on %zu connections\n", PARALLEL,
           (unsigned long long)(platform_monotonic_ms() - start), most_open);

    /* abort mid-download: the connection goes, the next fetch is fine */
    r.abort_after = 64 * 1024;
    http_fetch_options big = {.url = "http://" NGINX "/random-10MiB.bin"};
    fetch_begin(&r, &big);
    run_until(&r.complete, 120000);
    CHECK(r.f == NULL && r.body_len >= 64 * 1024 && r.body_len < PATTERN_SIZE);
    r.abort_after = 0;
    fetch_end(&r);
    fetch_url(&r, "GET", "http://" NGINX "/small.txt");
    CHECK(r.error == 0 && body_is(&r, SMALL_TXT));
    fetch_end(&r);

    /* a timeout: httpbin answers after 5 s */
    http_fetch_options slow = {.url = "http://" HTTPBIN "/delay/5", .timeout_ms = 1500};
    fetch_begin(&r, &slow);
    run_until(&r.complete, 20000);
    uint64_t took = r.complete_ms - r.started_ms;
    CHECK(r.error == HTTP_FETCH_ERR_TIMEOUT && took >= 1500 && took < 3000);
    fetch_end(&r);
    /* and an unknown name */
    fetch_url(&r, "GET", "http://nothing-here.mixnet.test/");
    CHECK(r.error == DNS_ERR_NXDOMAIN);
    fetch_end(&r);
}

static void over_https(const localnet_child *ln)
{
    size_t pem_len = 0;
    FILE *f = fopen(ln->test_ca_pem, "rb");
    char *pem = malloc(65536);
    if (f && pem) pem_len = fread(pem, 1, 65536, f);
    if (f) fclose(f);
    CHECK(pem && tls_add_trust_anchors_pem(pem, pem_len) == 1);
    free(pem);
    fetch_run r = {0};
    fetch_url(&r, "GET", "https://" NGINX "/small.txt");
    CHECK(r.error == 0 && r.status == 200 && body_is(&r, SMALL_TXT) && !r.reused);
    uint64_t first_ms = r.complete_ms - r.started_ms;
    fetch_end(&r);
    fetch_url(&r, "GET", "https://" NGINX "/redirect/3");
    CHECK(r.error == 0 && r.status == 200 && body_is(&r, SMALL_TXT) && r.reused &&
          strcmp(r.url, "https://" NGINX "/small.txt") == 0);
    printf("GET small.txt over https: %llu ms on a new connection, %llu ms for 4 requests on a reused one\n",
           (unsigned long long)first_ms, (unsigned long long)(r.complete_ms - r.started_ms));
    fetch_end(&r);
    fetch_url(&r, "GET", "https://" NGINX "/chunked/small.txt");
    CHECK(r.error == 0 && body_is(&r, SMALL_TXT));
    fetch_end(&r);
    fetch_url(&r, "GET", "https://expired.mixnet.test/");
    CHECK(r.error == TLS_ERR_EXPIRED);
    fetch_end(&r);
}

void test_http_client(void)
{
    tunnel_fixture fx;
    uint8_t *pattern = NULL;
    if (!CHECK(tunnel_fixture_start(&fx, "http-client"))) goto out;
    setvbuf(stdout, NULL, _IOLBF, 0);
    size_t pattern_len = 0;
    pattern = read_file(fx.ln.run_dir, "random-10MiB.bin", PATTERN_SIZE, &pattern_len);
    CHECK(pattern && pattern_len == PATTERN_SIZE);

    gets_and_reuse(&fx.ln);
    redirects();
    headers_statuses_parallel_abort_timeout();
    posts();
    over_https(&fx.ln);
    if (!getenv("TUNNEL_TESTS_SHORT_DOWNLOADS") && pattern) {
        CHECK(download_pattern("http://" NGINX "/random-10MiB.bin", pattern) > 0);
        CHECK(download_pattern("https://" NGINX "/random-10MiB.bin", pattern) > 0);
    }
    http_pool_stats st;
    http_pool_stats_get(&st);
    printf("pool: %llu connections opened, %llu requests on reused ones, %llu retries\n",
           (unsigned long long)st.connections_opened, (unsigned long long)st.requests_on_reused,
           (unsigned long long)st.retries);
out:
    http_pool_close_idle();
    tls_reset();
    free(pattern);
    tunnel_fixture_stop(&fx);
}
