/* Starts localnet's small internet in a temporary run directory and checks
 * each server over real loopback sockets (TLS through the curl CLI), then
 * that a second instance runs beside it, that stop leaves no process behind,
 * and that the servers die with their parent. Prints "N passed, N failed". */
#define _POSIX_C_SOURCE 200809L
#include "services.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { IO_TIMEOUT_S = 20, READER_SIZE = 64 * 1024, GONE_TIMEOUT_MS = 10000 };

static int passed, failed;

static bool check(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(ok ? "ok - " : "FAIL - ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
    if (ok)
        passed++;
    else
        failed++;
    return ok;
}

static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("    ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static uint16_t real_port(const services *s, const char *ip, uint16_t port, service_proto proto)
{
    const service_route *r = services_route_find(s, ip, port, proto);
    if (!r) {
        fprintf(stderr, "services_test: no route for %s:%u\n", ip, port);
        exit(2);
    }
    return r->real_port;
}

/* --------------------------------------------------------------- sockets */

static int connect_loopback(int type, uint16_t port)
{
    int fd = socket(AF_INET, type, 0);
    if (fd < 0) {
        note("socket: %s", strerror(errno));
        return -1;
    }
    struct timeval tv = {IO_TIMEOUT_S, 0};
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        note("connect to 127.0.0.1:%u: %s", port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            note("send: %s", strerror(errno));
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Buffered reads from one connection: an HTTP response, then frames. */
typedef struct {
    int fd;
    uint8_t buf[READER_SIZE];
    size_t start, end;
} reader;

/* Returns false on EOF or error. */
static bool reader_fill(reader *rd)
{
    if (rd->start == rd->end) rd->start = rd->end = 0;
    if (rd->end == sizeof rd->buf) {
        memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
        rd->end -= rd->start;
        rd->start = 0;
    }
    for (;;) {
        ssize_t n = recv(rd->fd, rd->buf + rd->end, sizeof rd->buf - rd->end, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) note("recv: %s", strerror(errno));
        if (n <= 0) return false;
        rd->end += (size_t)n;
        return true;
    }
}

static bool read_exact(reader *rd, uint8_t *out, size_t len)
{
    while (len > 0) {
        if (rd->start == rd->end && !reader_fill(rd)) return false;
        size_t take = rd->end - rd->start < len ? rd->end - rd->start : len;
        memcpy(out, rd->buf + rd->start, take);
        rd->start += take;
        out += take;
        len -= take;
    }
    return true;
}

/* One CRLF-terminated line, without the CRLF. */
static bool read_line(reader *rd, char *line, size_t cap)
{
    size_t len = 0;
    for (;;) {
        if (rd->start == rd->end && !reader_fill(rd)) return false;
        char c = (char)rd->buf[rd->start++];
        if (c == '\n') {
            if (len > 0 && line[len - 1] == '\r') len--;
            line[len] = '\0';
            return true;
        }
        if (len + 1 >= cap) return false;
        line[len++] = c;
    }
}

/* ------------------------------------------------------------------ HTTP */

typedef struct {
    int status;
    char headers[8192]; /* "name: value\n" lines */
    uint8_t *body;
    size_t body_len;
    int chunks; /* chunks received, if chunked */
} http_response;

static void response_free(http_response *r)
{
    free(r->body);
    r->body = NULL;
}

/* The value of a header (case-insensitive name), or NULL. */
static const char *header_value(const http_response *r, const char *name, char *out, size_t cap)
{
    size_t name_len = strlen(name);
    for (const char *line = r->headers; *line;) {
        const char *end = strchr(line, '\n');
        if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ') v++;
            size_t n = (size_t)(end - v) < cap - 1 ? (size_t)(end - v) : cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return out;
        }
        line = end + 1;
    }
    return NULL;
}

static bool body_append(http_response *r, reader *rd, size_t len)
{
    uint8_t *grown = realloc(r->body, r->body_len + len + 1);
    if (!grown) return false;
    r->body = grown;
    if (!read_exact(rd, r->body + r->body_len, len)) return false;
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return true;
}

/* Reads one response: status line, headers, then the body as framed by
 * Content-Length, chunked encoding or the end of the connection. */
static bool http_read_response(reader *rd, bool head_request, http_response *r)
{
    memset(r, 0, sizeof *r);
    char line[8192];
    if (!read_line(rd, line, sizeof line) || sscanf(line, "HTTP/1.1 %d", &r->status) != 1) {
        note("bad or missing status line");
        return false;
    }
    size_t used = 0;
    for (;;) {
        if (!read_line(rd, line, sizeof line)) return false;
        if (line[0] == '\0') break;
        int n = snprintf(r->headers + used, sizeof r->headers - used, "%s\n", line);
        if (n < 0 || (size_t)n >= sizeof r->headers - used) return false;
        used += (size_t)n;
    }
    r->body = calloc(1, 1);
    if (!r->body) return false;
    if (head_request || r->status / 100 == 1 || r->status == 204 || r->status == 304) return true;
    char value[64];
    if (header_value(r, "transfer-encoding", value, sizeof value) && strcasecmp(value, "chunked") == 0) {
        for (;;) {
            unsigned long size;
            if (!read_line(rd, line, sizeof line) || sscanf(line, "%lx", &size) != 1) return false;
            if (size == 0) break;
            if (!body_append(r, rd, size) || !read_line(rd, line, sizeof line) || line[0] != '\0') return false;
            r->chunks++;
        }
        while (read_line(rd, line, sizeof line) && line[0] != '\0') {
        }
        return true;
    }
    if (header_value(r, "content-length", value, sizeof value)) return body_append(r, rd, strtoul(value, NULL, 10));
    while (rd->start < rd->end || reader_fill(rd))
        if (!body_append(r, rd, rd->end - rd->start)) return false;
    return true;
}

/* GET on a fresh connection; extra_headers end each line with CRLF. */
static bool http_get(uint16_t port, const char *host, const char *path, const char *extra_headers, http_response *r)
{
    memset(r, 0, sizeof *r);
    int fd = connect_loopback(SOCK_STREAM, port);
    if (fd < 0) return false;
    char request[2048];
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n", path, host,
             extra_headers ? extra_headers : "");
    static reader rd;
    rd.fd = fd;
    rd.start = rd.end = 0;
    bool ok = send_all(fd, request, strlen(request)) && http_read_response(&rd, false, r);
    close(fd);
    return ok;
}

static bool body_is(const http_response *r, const char *expected)
{
    return r->body_len == strlen(expected) && memcmp(r->body, expected, r->body_len) == 0;
}

/* ------------------------------------------------------- child processes */

static char scratch_dir[256];

typedef struct {
    int exit_code; /* -1 if it did not exit normally */
    char out[4096], err[4096];
    size_t out_len;
} command_result;

/* Reads up to cap - 1 bytes and a NUL; returns the count. */
static size_t read_small_file(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n;
}

/* Runs a command with stdin from a file (or /dev/null), stdout and stderr
 * captured (their first 4 KB). */
static bool run_command_with_input(const char *const argv[], const char *input_path, command_result *result)
{
    char out_path[512], err_path[512];
    snprintf(out_path, sizeof out_path, "%s/command.out", scratch_dir);
    snprintf(err_path, sizeof err_path, "%s/command.err", scratch_dir);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        note("fork: %s", strerror(errno));
        return false;
    }
    if (pid == 0) {
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open(input_path ? input_path : "/dev/null", O_RDONLY);
        if (out < 0 || err < 0 || in < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || dup2(in, 0) < 0) _exit(126);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            note("waitpid: %s", strerror(errno));
            return false;
        }
    }
    result->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result->out_len = read_small_file(out_path, result->out, sizeof result->out);
    read_small_file(err_path, result->err, sizeof result->err);
    if (result->exit_code == 127) note("could not run %s", argv[0]);
    return true;
}

static bool run_command(const char *const argv[], command_result *result)
{
    return run_command_with_input(argv, NULL, result);
}

/* curl to https://<host><path>, connected to 127.0.0.1:<port> as the exit
 * would: the URL keeps the virtual name and port 443. insecure: -k. */
static bool curl_https(const services *s, const char *host, uint16_t port, const char *path, bool insecure,
                       command_result *result)
{
    char connect_to[256], url[256];
    snprintf(connect_to, sizeof connect_to, "%s:443:127.0.0.1:%u", host, port);
    snprintf(url, sizeof url, "https://%s%s", host, path);
    const char *argv[] = {"curl", "-q", "-sS", "--noproxy", "*", "--max-time", "20", "--cacert", s->ca_pem_path,
                          "--connect-to", connect_to, insecure ? "-k" : "-f", url, NULL};
    return run_command(argv, result);
}

/* ------------------------------------------------------------------- DNS */

static size_t dns_query_build(uint8_t *out, uint16_t id, const char *name, uint16_t qtype)
{
    size_t n = 0;
    out[n++] = (uint8_t)(id >> 8);
    out[n++] = (uint8_t)id;
    out[n++] = 0x01; /* RD */
    out[n++] = 0x00;
    const uint8_t counts[8] = {0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(out + n, counts, sizeof counts);
    n += sizeof counts;
    for (const char *label = name; *label;) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t)(dot - label) : strlen(label);
        out[n++] = (uint8_t)len;
        memcpy(out + n, label, len);
        n += len;
        label += len + (dot ? 1 : 0);
    }
    out[n++] = 0;
    out[n++] = (uint8_t)(qtype >> 8);
    out[n++] = (uint8_t)qtype;
    out[n++] = 0;
    out[n++] = 1; /* IN */
    return n;
}

typedef struct {
    int rcode;
    int answers;
    uint8_t address[16]; /* the first answer of the asked type */
    size_t address_len;
} dns_answer;

static bool dns_skip_name(const uint8_t *p, size_t n, size_t *at)
{
    while (*at < n) {
        uint8_t len = p[*at];
        if ((len & 0xC0) == 0xC0) {
            *at += 2;
            return *at <= n;
        }
        *at += 1 + (size_t)len;
        if (len == 0) return true;
    }
    return false;
}

static bool dns_parse(const uint8_t *p, size_t n, uint16_t id, uint16_t qtype, dns_answer *a)
{
    memset(a, 0, sizeof *a);
    if (n < 12 || ((p[0] << 8) | p[1]) != id || !(p[2] & 0x80)) return false;
    a->rcode = p[3] & 0x0F;
    int questions = (p[4] << 8) | p[5];
    a->answers = (p[6] << 8) | p[7];
    size_t at = 12;
    for (int i = 0; i < questions; i++) {
        if (!dns_skip_name(p, n, &at)) return false;
        at += 4;
    }
    for (int i = 0; i < a->answers; i++) {
        if (!dns_skip_name(p, n, &at) || at + 10 > n) return false;
        uint16_t type = (uint16_t)((p[at] << 8) | p[at + 1]);
        size_t rdlen = (size_t)((p[at + 8] << 8) | p[at + 9]);
        at += 10;
        if (at + rdlen > n) return false;
        if (type == qtype && a->address_len == 0 && rdlen <= sizeof a->address) {
            memcpy(a->address, p + at, rdlen);
            a->address_len = rdlen;
        }
        at += rdlen;
    }
    return true;
}

static bool dns_query(uint16_t port, bool over_tcp, const char *name, uint16_t qtype, dns_answer *a)
{
    uint8_t query[512], response[1024];
    uint16_t id = (uint16_t)(now_ms() & 0xFFFF);
    size_t query_len = dns_query_build(query + 2, id, name, qtype);
    int fd = connect_loopback(over_tcp ? SOCK_STREAM : SOCK_DGRAM, port);
    if (fd < 0) return false;
    ssize_t got;
    if (over_tcp) {
        /* TCP: each message after its two-byte length */
        query[0] = (uint8_t)(query_len >> 8);
        query[1] = (uint8_t)query_len;
        static reader rd;
        rd.fd = fd;
        rd.start = rd.end = 0;
        uint8_t len[2];
        got = -1;
        if (send_all(fd, query, query_len + 2) && read_exact(&rd, len, 2)) {
            size_t response_len = (size_t)((len[0] << 8) | len[1]);
            if (response_len <= sizeof response && read_exact(&rd, response, response_len))
                got = (ssize_t)response_len;
        }
    } else {
        got = send(fd, query + 2, query_len, 0) == (ssize_t)query_len ? recv(fd, response, sizeof response, 0) : -1;
        if (got < 0) note("DNS over UDP: %s", strerror(errno));
    }
    close(fd);
    return got > 0 && dns_parse(response, (size_t)got, id, qtype, a);
}

static bool dns_answer_is(const dns_answer *a, int family, const char *expected)
{
    uint8_t want[16];
    size_t want_len = family == AF_INET ? 4 : 16;
    return inet_pton(family, expected, want) == 1 && a->rcode == 0 && a->address_len == want_len &&
           memcmp(a->address, want, want_len) == 0;
}

/* ------------------------------------------------------------- WebSocket */

/* A client frame: FIN set, masked as RFC 6455 requires of clients. */
static bool ws_send(int fd, uint8_t opcode, const uint8_t *payload, size_t len)
{
    uint8_t frame[16 + 1024];
    const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t n = 0;
    if (len > 1024) return false;
    frame[n++] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        frame[n++] = (uint8_t)(0x80 | len);
    } else {
        frame[n++] = 0x80 | 126;
        frame[n++] = (uint8_t)(len >> 8);
        frame[n++] = (uint8_t)len;
    }
    memcpy(frame + n, mask, 4);
    n += 4;
    for (size_t i = 0; i < len; i++) frame[n++] = payload[i] ^ mask[i % 4];
    return send_all(fd, frame, n);
}

/* A server frame: must be unmasked and final. */
static bool ws_receive(reader *rd, uint8_t *opcode, uint8_t *payload, size_t cap, size_t *len)
{
    uint8_t head[2];
    if (!read_exact(rd, head, 2) || !(head[0] & 0x80) || (head[1] & 0x80)) return false;
    *opcode = head[0] & 0x0F;
    size_t n = head[1] & 0x7F;
    if (n == 126) {
        uint8_t ext[2];
        if (!read_exact(rd, ext, 2)) return false;
        n = (size_t)((ext[0] << 8) | ext[1]);
    } else if (n == 127) {
        return false;
    }
    *len = n;
    return n <= cap && read_exact(rd, payload, n);
}

/* ------------------------------------------------------------ processes */

/* Alive and not a zombie: an orphan's zombie may wait for a slow init. */
static bool pid_alive(pid_t pid)
{
    if (kill(pid, 0) != 0) return false;
#ifdef __linux__
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    read_small_file(path, stat, sizeof stat);
    const char *after_name = strrchr(stat, ')');
    if (after_name && after_name[1] == ' ' && after_name[2] == 'Z') return false;
#endif
    return true;
}

/* Whether any live process is still in the group (workers, helpers). */
static bool group_alive(pid_t pgid)
{
#ifdef __linux__
    DIR *proc = opendir("/proc");
    if (!proc) return kill(-pgid, 0) == 0;
    bool alive = false;
    struct dirent *e;
    while (!alive && (e = readdir(proc))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char path[64], stat[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        read_small_file(path, stat, sizeof stat);
        const char *after_name = strrchr(stat, ')');
        char state;
        long ppid, group;
        if (after_name && sscanf(after_name + 1, " %c %ld %ld", &state, &ppid, &group) == 3)
            alive = group == (long)pgid && state != 'Z';
    }
    closedir(proc);
    return alive;
#else
    return kill(-pgid, 0) == 0;
#endif
}

static bool all_gone(const pid_t pids[SERVICES_PROCESS_COUNT], int wait_ms)
{
    int64_t deadline = now_ms() + wait_ms;
    for (;;) {
        bool any = false;
        for (int i = 0; i < SERVICES_PROCESS_COUNT; i++)
            if (pids[i] > 0 && (pid_alive(pids[i]) || group_alive(pids[i]))) any = true;
        if (!any) return true;
        if (now_ms() > deadline) {
            for (int i = 0; i < SERVICES_PROCESS_COUNT; i++)
                if (pids[i] > 0 && (pid_alive(pids[i]) || group_alive(pids[i])))
                    note("process group %ld is still alive", (long)pids[i]);
            return false;
        }
        sleep_ms(20);
    }
}

static bool make_run_dir(char *buf, size_t cap, const char *label)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, cap, "%s/localnet-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", label);
    if (!mkdtemp(buf)) {
        fprintf(stderr, "services_test: mkdtemp %s: %s\n", buf, strerror(errno));
        return false;
    }
    return true;
}

static void remove_dir(const char *dir)
{
    command_result r;
    const char *argv[] = {"rm", "-rf", dir, NULL};
    if (!run_command(argv, &r) || r.exit_code != 0) note("could not remove %s", dir);
}

/* ----------------------------------------------------------------- tests */

static void test_nginx_http(const services *s)
{
    uint16_t port = real_port(s, SERVICES_NGINX_IP, 80, SERVICE_PROTO_TCP);
    http_response r;
    char value[256];

    bool ok = http_get(port, SERVICES_NGINX_NAME, "/small.txt", NULL, &r);
    check(ok && r.status == 200 && body_is(&r, SERVICES_SMALL_TXT), "nginx: GET /small.txt over HTTP");
    char etag[128] = "";
    if (ok) header_value(&r, "etag", etag, sizeof etag);
    response_free(&r);

    ok = http_get(port, SERVICES_NGINX_NAME, SERVICES_PATTERN_PATH, NULL, &r);
    bool bytes_match = ok && r.status == 200 && r.body_len == SERVICES_PATTERN_SIZE;
    for (size_t i = 0; bytes_match && i < r.body_len; i++) bytes_match = r.body[i] == services_pattern_byte(i);
    check(bytes_match, "nginx: GET %s, every byte as services_pattern_byte says (%zu bytes)", SERVICES_PATTERN_PATH,
          r.body_len);
    response_free(&r);

    char conditional[200];
    snprintf(conditional, sizeof conditional, "If-None-Match: %s\r\n", etag);
    ok = http_get(port, SERVICES_NGINX_NAME, "/small.txt", conditional, &r);
    check(ok && etag[0] && r.status == 304 && r.body_len == 0, "nginx: conditional GET with the ETag gives 304");
    response_free(&r);

    ok = http_get(port, SERVICES_NGINX_NAME, "/status/204", NULL, &r);
    check(ok && r.status == 204 && r.body_len == 0, "nginx: /status/204");
    response_free(&r);
    ok = http_get(port, SERVICES_NGINX_NAME, "/status/304", NULL, &r);
    check(ok && r.status == 304 && r.body_len == 0, "nginx: /status/304");
    response_free(&r);

    /* the redirect chain, with relative Locations only */
    char path[256] = "/redirect/3";
    int redirects = 0;
    bool relative = true;
    for (;;) {
        ok = http_get(port, SERVICES_NGINX_NAME, path, NULL, &r);
        if (!ok || r.status != 302 || !header_value(&r, "location", value, sizeof value) || redirects == 5) break;
        relative = relative && value[0] == '/';
        snprintf(path, sizeof path, "%s", value);
        redirects++;
        response_free(&r);
    }
    check(ok && redirects == 3 && relative && r.status == 200 && body_is(&r, SERVICES_SMALL_TXT),
          "nginx: /redirect/3 takes 3 relative 302s to /small.txt (took %d, ended at %s)", redirects, path);
    response_free(&r);

    http_response plain, chunked;
    bool ok_plain = http_get(port, SERVICES_NGINX_NAME, "/lines.txt", NULL, &plain);
    ok = http_get(port, SERVICES_NGINX_NAME, "/chunked/lines.txt", NULL, &chunked);
    check(ok_plain && ok && chunked.status == 200 && chunked.chunks > 1 && plain.chunks == 0 &&
              chunked.body_len == plain.body_len && memcmp(chunked.body, plain.body, plain.body_len) == 0,
          "nginx: /chunked/lines.txt comes in %d chunks, the same %zu bytes as /lines.txt", chunked.chunks,
          plain.body_len);
    response_free(&plain);
    response_free(&chunked);

    ok = http_get(port, SERVICES_NGINX_NAME, "/gzip/lines.txt", "Accept-Encoding: gzip\r\n", &r);
    check(ok && r.status == 200 && header_value(&r, "content-encoding", value, sizeof value) &&
              strcmp(value, "gzip") == 0 && r.body_len > 2 && r.body[0] == 0x1f && r.body[1] == 0x8b,
          "nginx: /gzip/lines.txt is gzip'd when accepted");
    response_free(&r);
}

/* Two requests on one connection, and the access log shows one connection
 * serving both: what a test of a client's keep-alive reuse looks for. */
static void test_nginx_keep_alive(const services *s)
{
    uint16_t port = real_port(s, SERVICES_NGINX_IP, 80, SERVICE_PROTO_TCP);
    int fd = connect_loopback(SOCK_STREAM, port);
    if (!check(fd >= 0, "nginx: connect for keep-alive")) return;
    struct sockaddr_in local;
    socklen_t local_len = sizeof local;
    getsockname(fd, (struct sockaddr *)&local, &local_len);
    static reader rd;
    rd.fd = fd;
    rd.start = rd.end = 0;
    const char request[] = "GET /small.txt HTTP/1.1\r\nHost: " SERVICES_NGINX_NAME "\r\n\r\n";
    int answered = 0;
    for (int i = 0; i < 2; i++) {
        http_response r;
        if (send_all(fd, request, strlen(request)) && http_read_response(&rd, false, &r) && r.status == 200 &&
            body_is(&r, SERVICES_SMALL_TXT))
            answered++;
        response_free(&r);
    }
    close(fd);
    check(answered == 2, "nginx: two requests on one keep-alive connection");

    /* nginx logs after it has sent the response: give it a moment */
    char log_path[SERVICES_PATH_MAX + 64], client[32];
    snprintf(log_path, sizeof log_path, "%s/" SERVICES_NGINX_ACCESS_LOG, s->run_dir);
    snprintf(client, sizeof client, "127.0.0.1:%u ", ntohs(local.sin_port));
    long connection[2] = {-1, -1}, requests[2] = {0, 0};
    int found = 0;
    for (int64_t deadline = now_ms() + 3000; found < 2 && now_ms() < deadline; sleep_ms(20)) {
        FILE *f = fopen(log_path, "r");
        if (!f) continue;
        char line[1024];
        found = 0;
        while (fgets(line, sizeof line, f) && found < 2) {
            const char *c = strstr(line, "connection=");
            if (strncmp(line, client, strlen(client)) != 0 || !c) continue;
            if (sscanf(c, "connection=%ld requests=%ld", &connection[found], &requests[found]) == 2) found++;
        }
        fclose(f);
    }
    check(found == 2 && connection[0] == connection[1] && requests[0] == 1 && requests[1] == 2,
          "nginx: access log shows connection %ld serving requests %ld and %ld", connection[0], requests[0],
          requests[1]);
}

static void test_https(const services *s)
{
    command_result r;
    uint16_t port = real_port(s, SERVICES_NGINX_IP, 443, SERVICE_PROTO_TCP);
    bool ok = curl_https(s, SERVICES_NGINX_NAME, port, "/small.txt", false, &r);
    check(ok && r.exit_code == 0 && strcmp(r.out, SERVICES_SMALL_TXT) == 0,
          "nginx: HTTPS by name with the test CA (curl --cacert)");
    if (ok && r.exit_code != 0) note("curl: %s", r.err);

    ok = curl_https(s, SERVICES_NGINX_IP, port, "/small.txt", false, &r);
    check(ok && r.exit_code == 0 && strcmp(r.out, SERVICES_SMALL_TXT) == 0,
          "nginx: HTTPS by virtual address %s with the test CA", SERVICES_NGINX_IP);
    if (ok && r.exit_code != 0) note("curl: %s", r.err);

    port = real_port(s, SERVICES_HTTPBIN_IP, 443, SERVICE_PROTO_TCP);
    ok = curl_https(s, SERVICES_HTTPBIN_NAME, port, "/get", false, &r);
    check(ok && r.exit_code == 0 && strstr(r.out, "\"https://" SERVICES_HTTPBIN_NAME "/get\""),
          "httpbin: HTTPS GET /get with the test CA");
    if (ok && r.exit_code != 0) note("curl: %s", r.err);

    /* wss: the TLS side of the echo server answers plain HTTP with 426 */
    char connect_to[128];
    snprintf(connect_to, sizeof connect_to, SERVICES_WS_NAME ":443:127.0.0.1:%u",
             real_port(s, SERVICES_WS_IP, 443, SERVICE_PROTO_TCP));
    const char *argv_wss[] = {"curl", "-q", "-sS", "--noproxy", "*", "--max-time", "20", "--cacert", s->ca_pem_path,
                              "--connect-to", connect_to, "-o", "/dev/null", "-w", "%{http_code}",
                              "https://" SERVICES_WS_NAME "/", NULL};
    ok = run_command(argv_wss, &r);
    check(ok && r.exit_code == 0 && strcmp(r.out, "426") == 0, "ws-echo: TLS (wss port) with the test CA");
    if (ok && r.exit_code != 0) note("curl: %s", r.err);
}

static void test_bad_certificates(const services *s)
{
    static const struct {
        const char *name, *ip, *curl_error, *answer;
    } bad[] = {
        {SERVICES_EXPIRED_NAME, SERVICES_EXPIRED_IP, "certificate has expired", "expired certificate\n"},
        {SERVICES_WRONG_HOST_NAME, SERVICES_WRONG_HOST_IP, "no alternative certificate subject name matches",
         "certificate for another host name\n"},
        {SERVICES_SELF_SIGNED_NAME, SERVICES_SELF_SIGNED_IP, "self-signed certificate", "self-signed certificate\n"},
        {SERVICES_UNKNOWN_CA_NAME, SERVICES_UNKNOWN_CA_IP, "unable to get local issuer certificate",
         "certificate from an unknown CA\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint16_t port = real_port(s, bad[i].ip, 443, SERVICE_PROTO_TCP);
        command_result r;
        bool ok = curl_https(s, bad[i].name, port, "/", false, &r);
        /* 60: curl's "peer certificate cannot be authenticated" */
        check(ok && r.exit_code == 60 && strstr(r.err, bad[i].curl_error), "%s: rejected with \"%s\"", bad[i].name,
              bad[i].curl_error);
        if (ok && !(r.exit_code == 60 && strstr(r.err, bad[i].curl_error)))
            note("curl exit %d: %s", r.exit_code, r.err);
        /* and served, so the rejection is about the certificate only */
        ok = curl_https(s, bad[i].name, port, "/", true, &r);
        check(ok && r.exit_code == 0 && strcmp(r.out, bad[i].answer) == 0, "%s: served when not verified (-k)",
              bad[i].name);
    }
}

static void test_dns(const services *s)
{
    uint16_t port = real_port(s, SERVICES_RESOLVER1_IP, 53, SERVICE_PROTO_UDP);
    check(real_port(s, SERVICES_RESOLVER2_IP, 53, SERVICE_PROTO_TCP) == port &&
              real_port(s, SERVICES_RESOLVER1_IP, 53, SERVICE_PROTO_TCP) == port,
          "dns: 8.8.8.8 and 1.1.1.1, UDP and TCP, all map to dnsmasq's port %u", port);
    dns_answer a;
    check(dns_query(port, false, SERVICES_NGINX_NAME, 1, &a) && dns_answer_is(&a, AF_INET, SERVICES_NGINX_IP),
          "dns: A %s over UDP is %s", SERVICES_NGINX_NAME, SERVICES_NGINX_IP);
    check(dns_query(port, false, SERVICES_NGINX_NAME, 28, &a) && dns_answer_is(&a, AF_INET6, SERVICES_NGINX_IPV6),
          "dns: AAAA %s over UDP is %s", SERVICES_NGINX_NAME, SERVICES_NGINX_IPV6);
    check(dns_query(port, true, SERVICES_HTTPBIN_NAME, 1, &a) && dns_answer_is(&a, AF_INET, SERVICES_HTTPBIN_IP),
          "dns: A %s over TCP is %s", SERVICES_HTTPBIN_NAME, SERVICES_HTTPBIN_IP);
    bool ok = dns_query(port, false, "missing." SERVICES_ZONE, 1, &a);
    check(ok && a.rcode == 3 && a.answers == 0, "dns: missing." SERVICES_ZONE " is NXDOMAIN (rcode %d)", a.rcode);
    ok = dns_query(port, false, "example.com", 1, &a);
    check(ok && a.rcode == 3, "dns: a name outside the zone is NXDOMAIN (rcode %d)", a.rcode);
}

static void test_websocket(const services *s)
{
    uint16_t port = real_port(s, SERVICES_WS_IP, 80, SERVICE_PROTO_TCP);
    int fd = connect_loopback(SOCK_STREAM, port);
    if (!check(fd >= 0, "ws-echo: connect")) return;
    /* the key and accept value of RFC 6455's own example */
    const char handshake[] = "GET / HTTP/1.1\r\nHost: " SERVICES_WS_NAME "\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, echo\r\n"
                             "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    static reader rd;
    rd.fd = fd;
    rd.start = rd.end = 0;
    http_response r;
    char accept[64] = "", protocol[64] = "", extensions[64];
    bool ok = send_all(fd, handshake, strlen(handshake)) && http_read_response(&rd, false, &r);
    if (ok) {
        header_value(&r, "sec-websocket-accept", accept, sizeof accept);
        header_value(&r, "sec-websocket-protocol", protocol, sizeof protocol);
    }
    check(ok && r.status == 101 && strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
          "ws-echo: handshake answers 101 with the right Sec-WebSocket-Accept");
    check(ok && strcmp(protocol, "echo") == 0, "ws-echo: chooses the subprotocol \"echo\" when offered");
    check(ok && !header_value(&r, "sec-websocket-extensions", extensions, sizeof extensions),
          "ws-echo: permessage-deflate is off");
    response_free(&r);

    uint8_t payload[1024], opcode = 0;
    size_t len = 0;
    const char text[] = "hello through the mixnet";
    ok = ok && ws_send(fd, 0x1, (const uint8_t *)text, strlen(text)) &&
         ws_receive(&rd, &opcode, payload, sizeof payload, &len);
    check(ok && opcode == 0x1 && len == strlen(text) && memcmp(payload, text, len) == 0,
          "ws-echo: a masked text frame comes back as text");

    uint8_t binary[300];
    for (size_t i = 0; i < sizeof binary; i++) binary[i] = (uint8_t)(i * 7);
    ok = ok && ws_send(fd, 0x2, binary, sizeof binary) && ws_receive(&rd, &opcode, payload, sizeof payload, &len);
    check(ok && opcode == 0x2 && len == sizeof binary && memcmp(payload, binary, len) == 0,
          "ws-echo: a 300-byte binary frame comes back as binary");

    const uint8_t close_normal[2] = {0x03, 0xE8}; /* 1000 */
    ok = ok && ws_send(fd, 0x8, close_normal, 2) && ws_receive(&rd, &opcode, payload, sizeof payload, &len);
    check(ok && opcode == 0x8 && len >= 2 && payload[0] == 0x03 && payload[1] == 0xE8,
          "ws-echo: close 1000 is answered with close 1000");
    close(fd);
}

/* wss: the handshake and masked frames written through openssl s_client,
 * which verifies the certificate against the test CA first. */
static void test_websocket_tls(const services *s)
{
    uint16_t port = real_port(s, SERVICES_WS_IP, 443, SERVICE_PROTO_TCP);
    const char handshake[] = "GET / HTTP/1.1\r\nHost: " SERVICES_WS_NAME "\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n";
    const char text[] = "hello over wss";
    /* a masked text frame (mask 0) and a masked close 1000 (mask 0) */
    uint8_t input[512];
    size_t n = strlen(handshake);
    memcpy(input, handshake, n);
    input[n++] = 0x81;
    input[n++] = (uint8_t)(0x80 | strlen(text));
    memset(input + n, 0, 4);
    n += 4;
    memcpy(input + n, text, strlen(text));
    n += strlen(text);
    const uint8_t close_frame[] = {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8};
    memcpy(input + n, close_frame, sizeof close_frame);
    n += sizeof close_frame;
    char input_path[512];
    snprintf(input_path, sizeof input_path, "%s/wss.in", scratch_dir);
    FILE *f = fopen(input_path, "wb");
    bool written = f && fwrite(input, 1, n, f) == n;
    if (f && fclose(f) != 0) written = false;
    if (!check(written, "ws-echo: write the wss input file")) return;

    char connect[64];
    snprintf(connect, sizeof connect, "127.0.0.1:%u", port);
    /* -quiet keeps reading after stdin ends: the server's close ends it */
    const char *argv[] = {"timeout", "20", "openssl", "s_client", "-quiet", "-connect", connect, "-servername",
                          SERVICES_WS_NAME, "-verify_hostname", SERVICES_WS_NAME, "-CAfile", s->ca_pem_path,
                          "-verify_return_error", NULL};
    command_result r;
    bool ok = run_command_with_input(argv, input_path, &r);
    const char *body = ok ? strstr(r.out, "\r\n\r\n") : NULL;
    uint8_t expected[64] = {0x81, (uint8_t)strlen(text)};
    memcpy(expected + 2, text, strlen(text));
    size_t expected_len = 2 + strlen(text);
    bool echoed = body && strncmp(r.out, "HTTP/1.1 101", 12) == 0 &&
                  (size_t)(r.out + r.out_len - (body + 4)) >= expected_len &&
                  memcmp(body + 4, expected, expected_len) == 0;
    check(echoed, "ws-echo: wss with the test CA echoes a text frame (openssl s_client)");
    if (ok && !echoed) note("s_client exit %d: %s", r.exit_code, r.err);
}

static void test_httpbin(const services *s)
{
    uint16_t port = real_port(s, SERVICES_HTTPBIN_IP, 80, SERVICE_PROTO_TCP);
    http_response r;
    bool ok = http_get(port, SERVICES_HTTPBIN_NAME, "/get", NULL, &r);
    check(ok && r.status == 200 && strstr((const char *)r.body, "\"http://" SERVICES_HTTPBIN_NAME "/get\""),
          "httpbin: GET /get (it saw Host %s)", SERVICES_HTTPBIN_NAME);
    response_free(&r);
    ok = http_get(port, SERVICES_HTTPBIN_NAME, "/status/204", NULL, &r);
    check(ok && r.status == 204 && r.body_len == 0, "httpbin: GET /status/204");
    response_free(&r);
}

static void save_pids(const services *s, pid_t pids[SERVICES_PROCESS_COUNT])
{
    for (int i = 0; i < SERVICES_PROCESS_COUNT; i++) pids[i] = s->processes[i].pid;
}

static service_process *process_named(services *s, const char *name)
{
    for (int i = 0; i < SERVICES_PROCESS_COUNT; i++)
        if (strcmp(s->processes[i].name, name) == 0) return &s->processes[i];
    fprintf(stderr, "services_test: no process named %s\n", name);
    exit(2);
}

static void test_pid_files(services *s)
{
    static const char *const daemons[] = {"nginx", "dnsmasq"};
    for (size_t i = 0; i < sizeof daemons / sizeof daemons[0]; i++) {
        char path[SERVICES_PATH_MAX + 32], text[32];
        snprintf(path, sizeof path, "%s/%s.pid", s->run_dir, daemons[i]);
        read_small_file(path, text, sizeof text);
        long pid = strtol(text, NULL, 10);
        check(pid == (long)process_named(s, daemons[i])->pid, "%s: its pid file in the run directory names it",
              daemons[i]);
    }
}

/* ws-echo's own guard: it exits when the pipe on its stdin closes. */
static void test_ws_echo_exits_on_stdin_close(services *s)
{
    service_process *p = process_named(s, "ws-echo");
    close(s->ws_echo_stdin_fd);
    s->ws_echo_stdin_fd = -1;
    int status = 0;
    pid_t r = 0;
    for (int64_t deadline = now_ms() + GONE_TIMEOUT_MS; r == 0 && now_ms() < deadline; sleep_ms(10))
        r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid) p->pid = 0;
    check(r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "ws-echo: exits by itself when its stdin closes");
}

static void test_stop(services *s, const char *label)
{
    pid_t pids[SERVICES_PROCESS_COUNT];
    save_pids(s, pids);
    int64_t started = now_ms();
    services_stop(s);
    long took = (long)(now_ms() - started);
    bool cleared = true;
    for (int i = 0; i < SERVICES_PROCESS_COUNT; i++) cleared = cleared && s->processes[i].pid == 0;
    check(cleared && all_gone(pids, 0), "%s: stop (%ld ms) leaves no server or worker process", label, took);
}

static void test_second_instance(const services *first)
{
    char dir[256];
    if (!make_run_dir(dir, sizeof dir, "second")) {
        check(false, "second instance: run directory");
        return;
    }
    services second;
    if (!check(services_start(dir, NULL, &second) == 0, "second instance: starts beside the first")) return;
    bool disjoint = true;
    for (int i = 0; i < SERVICES_ROUTE_COUNT; i++)
        for (int j = 0; j < SERVICES_ROUTE_COUNT; j++)
            disjoint = disjoint && second.routes[i].real_port != first->routes[j].real_port;
    check(disjoint, "second instance: no real port shared with the first");
    http_response r;
    bool ok = http_get(real_port(&second, SERVICES_NGINX_IP, 80, SERVICE_PROTO_TCP), SERVICES_NGINX_NAME,
                       "/small.txt", NULL, &r);
    check(ok && r.status == 200 && body_is(&r, SERVICES_SMALL_TXT), "second instance: nginx serves");
    response_free(&r);
    dns_answer a;
    check(dns_query(real_port(&second, SERVICES_RESOLVER1_IP, 53, SERVICE_PROTO_UDP), false, SERVICES_WS_NAME, 1, &a) &&
              dns_answer_is(&a, AF_INET, SERVICES_WS_IP),
          "second instance: dnsmasq answers");
    test_ws_echo_exits_on_stdin_close(&second);
    test_stop(&second, "second instance");
    remove_dir(dir);
}

#ifdef __linux__
/* A process that started the servers is killed outright: they must not
 * linger (PR_SET_PDEATHSIG, and ws-echo's stdin). */
static void test_parent_death(void)
{
    char dir[256];
    int report[2];
    if (!make_run_dir(dir, sizeof dir, "orphans") || pipe(report) != 0) {
        check(false, "parent death: setup");
        return;
    }
    fflush(stdout);
    pid_t parent = fork();
    if (parent < 0) {
        check(false, "parent death: fork: %s", strerror(errno));
        return;
    }
    if (parent == 0) {
        close(report[0]);
        services s;
        if (services_start(dir, NULL, &s) != 0) _exit(1);
        pid_t pids[SERVICES_PROCESS_COUNT];
        save_pids(&s, pids);
        if (write(report[1], pids, sizeof pids) != (ssize_t)sizeof pids) _exit(1);
        for (;;) pause();
    }
    close(report[1]);
    pid_t pids[SERVICES_PROCESS_COUNT];
    size_t got = 0;
    while (got < sizeof pids) {
        ssize_t n = read(report[0], (uint8_t *)pids + got, sizeof pids - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(report[0]);
    kill(parent, SIGKILL);
    while (waitpid(parent, NULL, 0) < 0 && errno == EINTR) {
    }
    if (check(got == sizeof pids, "parent death: a child process started the servers"))
        check(all_gone(pids, GONE_TIMEOUT_MS), "parent death: every server exits when that process is killed");
    remove_dir(dir);
}
#endif

int main(void)
{
    /* a dead peer must be a failed check, not the end of the test */
    signal(SIGPIPE, SIG_IGN);
    char dir[256];
    if (!make_run_dir(scratch_dir, sizeof scratch_dir, "services-test") || !make_run_dir(dir, sizeof dir, "first"))
        return 1;

    services s;
    int64_t started = now_ms();
    int rc = services_start(dir, NULL, &s);
    long took = (long)(now_ms() - started);
    if (!check(rc == 0, "services_start in %s (%ld ms)", dir, took)) {
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }
    char json[4096];
    check(services_status_json(&s, json, sizeof json) > 0, "status JSON fits in 4 KB");
    printf("    {%s}\n", json);
    char tiny[16];
    check(services_status_json(&s, tiny, sizeof tiny) == -1, "status JSON reports a buffer too small");

    test_pid_files(&s);
    test_nginx_http(&s);
    test_nginx_keep_alive(&s);
    test_https(&s);
    test_bad_certificates(&s);
    test_dns(&s);
    test_websocket(&s);
    test_websocket_tls(&s);
    test_httpbin(&s);
    test_second_instance(&s);
    test_stop(&s, "first instance");
#ifdef __linux__
    test_parent_death();
#endif

    if (failed == 0) {
        remove_dir(dir);
        remove_dir(scratch_dir);
    } else {
        printf("    run directory kept for inspection: %s\n", dir);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
