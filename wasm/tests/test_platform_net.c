/* The native platform's WebSocket, fetch and TLS trust, against real
 * servers on 127.0.0.1: a WebSocket and HTTP server inside this process,
 * on the same event loop (its frames and responses scripted by each test),
 * and localnet's WebSocket echo server (node's ws) behind TLS, with a CA
 * made here by the openssl CLI. */
#define _GNU_SOURCE
#include "check.h"
#include "codec/codec.h"
#include "crypto/trust_anchors.h"
#include "platform/platform.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef WS_ECHO_SCRIPT
#error "build with -DWS_ECHO_SCRIPT='\"/absolute/path/to/localnet/ws-echo.mjs\"'"
#endif

#define WAIT_MS 10000

/* Runs the loop until cond holds, for at most ms. */
#define RUN_UNTIL(cond, ms)                                                                                  \
    do {                                                                                                     \
        uint64_t run_until_end = platform_monotonic_ms() + (ms);                                             \
        while (!(cond) && platform_monotonic_ms() < run_until_end) platform_run_once(20);                    \
    } while (0)

static void run_for(uint64_t ms)
{
    uint64_t end = platform_monotonic_ms() + ms;
    while (platform_monotonic_ms() < end) platform_run_once(end - platform_monotonic_ms());
}

/* Set around every platform call, so callbacks can check that none runs
 * from inside one. */
static bool in_platform_call;
static unsigned callbacks_inside_calls;

static void note_callback(void)
{
    if (in_platform_call) callbacks_inside_calls++;
}

/* ---- a server in this process: WebSocket (RFC 6455 server role) or HTTP ---- */

#define SERVER_MAX_PEERS 32

typedef enum {
    SERVE_WEBSOCKET,
    SERVE_HTTP,
} serve_mode;

typedef struct {
    uint8_t *data;
    size_t len, cap;
} byte_vec;

static void vec_append(byte_vec *v, const void *data, size_t len)
{
    if (v->cap - v->len < len) {
        size_t cap = v->cap ? v->cap : 4096;
        while (cap - v->len < len) cap *= 2;
        v->data = realloc(v->data, cap);
        if (!v->data) abort(); /* the test cannot go on */
        v->cap = cap;
    }
    if (len) memcpy(v->data + v->len, data, len);
    v->len += len;
}

static void vec_consume(byte_vec *v, size_t len)
{
    memmove(v->data, v->data + len, v->len - len);
    v->len -= len;
}

typedef struct test_server test_server;

typedef struct {
    test_server *server;
    int fd;
    bool saw_eof;     /* the client closed the connection */
    bool close_after; /* close once the output is out */
    byte_vec in, out;
    size_t out_sent;
    /* the request (HTTP) or upgrade request (WebSocket) */
    bool got_request;
    char target[256], host[128], accept[128], connection[64];
    /* WebSocket, as the server sees it */
    bool upgraded;
    ws_message message;
    byte_vec msg;
    unsigned messages;
    bool protocol_error;
    unsigned close_frames;
    uint16_t close_code;
    char close_reason[WS_MAX_CLOSE_REASON + 1];
    bool close_sent;
    unsigned pongs;
    char pong[WS_MAX_CONTROL_PAYLOAD + 1];
} test_peer;

struct test_server {
    int fd;
    uint16_t port;
    serve_mode mode;
    bool echo;                   /* WebSocket: send each message back */
    const char *handshake_reply; /* WebSocket: sent instead of a proper 101 */
    test_peer *peers[SERVER_MAX_PEERS];
    size_t peer_count;
};

static test_peer *last_peer(test_server *s)
{
    return s->peer_count ? s->peers[s->peer_count - 1] : NULL;
}

static void peer_close(test_peer *p)
{
    if (p->fd < 0) return;
    platform_unwatch_fd(p->fd);
    close(p->fd);
    p->fd = -1;
}

static void peer_on_fd(void *ctx, int fd, bool readable, bool writable);

static void peer_watch(test_peer *p)
{
    if (p->fd >= 0) platform_watch_fd(p->fd, true, p->out_sent < p->out.len, peer_on_fd, p);
}

static void peer_send(test_peer *p, const void *data, size_t len)
{
    vec_append(&p->out, data, len);
    peer_watch(p);
}

static void peer_send_frame(test_peer *p, bool fin, ws_opcode opcode, const void *payload, size_t len)
{
    uint8_t header[WS_MAX_HEADER_LEN];
    size_t n = ws_frame_header_write(header, fin, opcode, len, NULL);
    peer_send(p, header, n);
    peer_send(p, payload, len);
}

static void copy_field(char *out, size_t cap, const http_head *head, const char *name)
{
    const http_header *h = http_header_find(head, name);
    snprintf(out, cap, "%.*s", h ? (int)h->value_len : 0, h ? h->value : "");
}

/* Gives the head's length once a whole request head is in. */
static size_t peer_read_request(test_peer *p)
{
    http_header headers[32];
    http_head head;
    http_head_init(&head, headers, 32);
    if (http_request_head_parse(&head, (const char *)p->in.data, p->in.len) != HTTP_OK) return 0;
    p->got_request = true;
    snprintf(p->target, sizeof p->target, "%.*s", (int)head.target_len, head.target);
    copy_field(p->host, sizeof p->host, &head, "host");
    copy_field(p->accept, sizeof p->accept, &head, "accept");
    copy_field(p->connection, sizeof p->connection, &head, "connection");
    if (p->server->mode == SERVE_WEBSOCKET) {
        const char *key;
        size_t key_len;
        char reply[512];
        if (p->server->handshake_reply) {
            peer_send(p, p->server->handshake_reply, strlen(p->server->handshake_reply));
        } else if (ws_handshake_request_check(&head, &key, &key_len) == WS_OK) {
            int n = ws_handshake_response_write(reply, sizeof reply, key, key_len, NULL);
            peer_send(p, reply, (size_t)n);
            p->upgraded = true;
        }
    }
    return head.head_len;
}

static void http_respond(test_peer *p);

/* The client's frames: masked, each taken when whole. */
static void peer_read_frames(test_peer *p)
{
    for (;;) {
        ws_frame_header f;
        ws_result r = ws_frame_header_parse(&f, p->in.data, p->in.len, WS_ROLE_SERVER, (uint64_t)1 << 40);
        if (r == WS_INCOMPLETE) return;
        if (r == WS_OK && f.opcode < WS_OPCODE_CLOSE) r = ws_frame_sequence_check(&p->message, &f);
        if (r != WS_OK) {
            p->protocol_error = true;
            return;
        }
        if (p->in.len - f.header_len < f.payload_len) return;
        uint8_t *payload = p->in.data + f.header_len;
        size_t len = (size_t)f.payload_len;
        ws_mask(payload, len, f.mask_key, 0);
        if (f.opcode == WS_OPCODE_PING) {
            peer_send_frame(p, true, WS_OPCODE_PONG, payload, len);
        } else if (f.opcode == WS_OPCODE_PONG) {
            p->pongs++;
            snprintf(p->pong, sizeof p->pong, "%.*s", (int)len, (const char *)payload);
        } else if (f.opcode == WS_OPCODE_CLOSE) {
            const uint8_t *reason;
            size_t reason_len;
            p->close_frames++;
            if (ws_close_parse(payload, len, &p->close_code, &reason, &reason_len) != WS_OK) p->protocol_error = true;
            snprintf(p->close_reason, sizeof p->close_reason, "%.*s", (int)reason_len, (const char *)reason);
            if (!p->close_sent) peer_send_frame(p, true, WS_OPCODE_CLOSE, payload, len);
            p->close_sent = true;
            p->close_after = true; /* the server closes TCP (section 7.1.1) */
        } else {
            if (f.opcode != WS_OPCODE_CONTINUATION) p->msg.len = 0;
            vec_append(&p->msg, payload, len);
            if (f.fin) {
                p->messages++;
                if (p->server->echo)
                    peer_send_frame(p, true, p->message.opcode, p->msg.data ? p->msg.data : (uint8_t *)"",
                                    p->msg.len);
            }
        }
        vec_consume(&p->in, f.header_len + len);
    }
}

static void peer_on_fd(void *ctx, int fd, bool readable, bool writable)
{
    (void)readable, (void)writable;
    test_peer *p = ctx;
    uint8_t buf[65536];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) vec_append(&p->in, buf, (size_t)n);
    /* what came before the end is still read */
    bool ended = n == 0 || (n < 0 && errno != EAGAIN);
    if (!p->got_request) {
        size_t head_len = peer_read_request(p);
        if (head_len) {
            vec_consume(&p->in, head_len);
            if (p->server->mode == SERVE_HTTP) http_respond(p);
        }
    }
    if (p->upgraded) peer_read_frames(p);
    if (ended) {
        p->saw_eof = true;
        peer_close(p);
        return;
    }
    while (p->out_sent < p->out.len) {
        n = send(fd, p->out.data + p->out_sent, p->out.len - p->out_sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        p->out_sent += (size_t)n;
    }
    if (p->out_sent == p->out.len && p->close_after)
        peer_close(p);
    else
        peer_watch(p);
}

static void server_on_accept(void *ctx, int fd, bool readable, bool writable)
{
    (void)readable, (void)writable;
    test_server *s = ctx;
    int peer_fd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (peer_fd < 0 || s->peer_count == SERVER_MAX_PEERS) {
        if (peer_fd >= 0) close(peer_fd);
        return;
    }
    test_peer *p = calloc(1, sizeof *p);
    if (!p) abort();
    p->server = s;
    p->fd = peer_fd;
    s->peers[s->peer_count++] = p;
    peer_watch(p);
}

static void server_start(test_server *s, serve_mode mode)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->echo = true;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    CHECK(s->fd >= 0 && bind(s->fd, (struct sockaddr *)&addr, sizeof addr) == 0 && listen(s->fd, 16) == 0 &&
          getsockname(s->fd, (struct sockaddr *)&addr, &len) == 0);
    s->port = ntohs(addr.sin_port);
    platform_watch_fd(s->fd, true, false, server_on_accept, s);
}

static void server_stop(test_server *s)
{
    platform_unwatch_fd(s->fd);
    close(s->fd);
    for (size_t i = 0; i < s->peer_count; i++) {
        test_peer *p = s->peers[i];
        peer_close(p);
        free(p->in.data);
        free(p->out.data);
        free(p->msg.data);
        free(p);
    }
}

/* A port on 127.0.0.1 that nothing listens on (for a moment, at least). */
static uint16_t unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
              getsockname(fd, (struct sockaddr *)&addr, &len) == 0;
    if (fd >= 0) close(fd);
    return ok ? ntohs(addr.sin_port) : 1;
}

/* ---- a WebSocket client that records what happens ---- */

typedef struct {
    platform_websocket *ws;
    unsigned opens, messages, closes;
    bool last_binary;
    byte_vec last;
    uint16_t close_code;
    char close_reason[256];
    bool release_on_message; /* releases the socket inside on_message */
} ws_client;

static void client_on_open(void *ctx)
{
    note_callback();
    ((ws_client *)ctx)->opens++;
}

static void client_on_message(void *ctx, bool binary, const uint8_t *data, size_t len)
{
    note_callback();
    ws_client *c = ctx;
    c->messages++;
    c->last_binary = binary;
    c->last.len = 0;
    vec_append(&c->last, data, len);
    if (c->release_on_message) {
        platform_websocket_close(c->ws);
        c->ws = NULL;
    }
}

static void client_on_close(void *ctx, uint16_t code, const char *reason)
{
    note_callback();
    ws_client *c = ctx;
    c->closes++;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
}

static const platform_websocket_events client_events = {client_on_open, client_on_message, client_on_close};

static platform_websocket *client_open(ws_client *c, const char *url)
{
    memset(c, 0, sizeof *c);
    in_platform_call = true;
    c->ws = platform_websocket_open(url, &client_events, c);
    in_platform_call = false;
    return c->ws;
}

static int client_send(ws_client *c, bool binary, const uint8_t *data, size_t len)
{
    in_platform_call = true;
    int r = platform_websocket_send(c->ws, binary, data, len);
    in_platform_call = false;
    return r;
}

static void client_release(ws_client *c)
{
    in_platform_call = true;
    platform_websocket_close(c->ws);
    in_platform_call = false;
    c->ws = NULL;
    free(c->last.data);
    c->last = (byte_vec){0};
}

/* Opens url and waits for on_open. */
static bool client_connect(ws_client *c, const char *url)
{
    if (!client_open(c, url)) return false;
    RUN_UNTIL(c->opens || c->closes, WAIT_MS);
    return c->opens == 1 && c->closes == 0;
}

static uint8_t *test_message(bool binary, size_t len)
{
    uint8_t *data = malloc(len ? len : 1);
    if (!data) abort();
    for (size_t i = 0; i < len; i++) data[i] = binary ? (uint8_t)(i * 7 + (i >> 8)) : (uint8_t)('a' + i % 26);
    return data;
}

/* Sends a message and checks that it comes back whole. */
static bool echo_round_trip(ws_client *c, bool binary, size_t len)
{
    uint8_t *data = test_message(binary, len);
    unsigned before = c->messages;
    bool ok = client_send(c, binary, data, len) == 0;
    /* queued, not sent: sending happens from the loop */
    ok = ok && platform_websocket_buffered(c->ws) >= len;
    RUN_UNTIL(c->messages > before || c->closes, WAIT_MS);
    ok = ok && c->messages == before + 1 && c->last_binary == binary && c->last.len == len &&
         (len == 0 || memcmp(c->last.data, data, len) == 0) && platform_websocket_buffered(c->ws) == 0;
    free(data);
    return ok;
}

/* ---- a test PKI: a CA and two server certificates, made by openssl ---- */

static char pki_dir[64];
static char *ca_pem;
static size_t ca_pem_len;

static void remove_pki(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pki_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", pki_dir);
    free(ca_pem);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    byte_vec v = {0};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) vec_append(&v, buf, n);
    fclose(f);
    vec_append(&v, "", 1);
    *len = v.len - 1;
    return (char *)v.data;
}

static const char openssl_config[] = "[req]\n"
                                     "distinguished_name = dn\n"
                                     "prompt = no\n"
                                     "[dn]\n"
                                     "CN = unused\n"
                                     "[ca_ext]\n"
                                     "basicConstraints = critical, CA:TRUE\n"
                                     "keyUsage = critical, keyCertSign, cRLSign\n"
                                     "subjectKeyIdentifier = hash\n"
                                     "[good_ext]\n"
                                     "basicConstraints = CA:FALSE\n"
                                     "keyUsage = critical, digitalSignature\n"
                                     "extendedKeyUsage = serverAuth\n"
                                     "subjectAltName = DNS:localhost\n"
                                     "[wrong_ext]\n"
                                     "basicConstraints = CA:FALSE\n"
                                     "keyUsage = critical, digitalSignature\n"
                                     "extendedKeyUsage = serverAuth\n"
                                     "subjectAltName = DNS:elsewhere.invalid\n";

/* An RSA CA (so RSA anchors are used) over EC server keys (so is ECDSA). */
static bool make_pki(void)
{
    if (ca_pem) return true;
    snprintf(pki_dir, sizeof pki_dir, "/tmp/platform-net-XXXXXX");
    if (!mkdtemp(pki_dir)) return false;
    atexit(remove_pki);
    char path[128];
    snprintf(path, sizeof path, "%s/openssl.cnf", pki_dir);
    FILE *f = fopen(path, "w");
    if (!f) return false;
    fputs(openssl_config, f);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && exec >openssl.log 2>&1 && "
             "openssl req -x509 -new -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj '/CN=Platform Test CA' "
             "-days 2 -config openssl.cnf -extensions ca_ext && "
             "for name in good wrong; do "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $name.key "
             "-out $name.csr -subj /CN=$name -config openssl.cnf && "
             "openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
             "-extfile openssl.cnf -extensions ${name}_ext -out $name.pem || exit 1; done",
             pki_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "openssl failed: see %s/openssl.log\n", pki_dir);
        return false;
    }
    snprintf(path, sizeof path, "%s/ca.pem", pki_dir);
    ca_pem = read_file(path, &ca_pem_len);
    return ca_pem != NULL;
}

/* ---- localnet's echo server (node), with a certificate of the PKI ---- */

typedef struct {
    pid_t pid;
    int stdin_fd, stdout_fd;
    uint16_t ws_port, wss_port;
} echo_server;

static bool echo_server_start(echo_server *s, const char *cert_name)
{
    s->ws_port = unused_port();
    do s->wss_port = unused_port();
    while (s->wss_port == s->ws_port);
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0) return false;
    if (pipe2(from_child, O_CLOEXEC) != 0) {
        close(to_child[0]);
        close(to_child[1]);
        return false;
    }
    char port[32], tls_port[32], cert[160], key[160];
    snprintf(port, sizeof port, "--port=%u", s->ws_port);
    snprintf(tls_port, sizeof tls_port, "--tls-port=%u", s->wss_port);
    snprintf(cert, sizeof cert, "--cert=%s/%s.pem", pki_dir, cert_name);
    snprintf(key, sizeof key, "--key=%s/%s.key", pki_dir, cert_name);
    s->pid = fork();
    if (s->pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        execlp("node", "node", WS_ECHO_SCRIPT, port, tls_port, cert, key, (char *)NULL);
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    s->stdin_fd = to_child[1]; /* ws-echo exits when this closes */
    s->stdout_fd = from_child[0];
    if (s->pid < 0) return false;
    /* ready when both listeners said so */
    char out[512];
    size_t got = 0;
    uint64_t end = platform_monotonic_ms() + WAIT_MS;
    int listening = 0;
    while (listening < 2 && got < sizeof out - 1 && platform_monotonic_ms() < end) {
        struct pollfd pfd = {.fd = s->stdout_fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0) continue;
        ssize_t n = read(s->stdout_fd, out + got, sizeof out - 1 - got);
        if (n <= 0) break;
        got += (size_t)n;
        out[got] = '\0';
        listening = 0;
        for (const char *at = out; (at = strstr(at, "listening")); at++) listening++;
    }
    return listening == 2;
}

static void echo_server_stop(echo_server *s)
{
    if (s->pid == 0) return; /* never started */
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    close(s->stdin_fd);
    close(s->stdout_fd);
}

/* ---- tests: trust anchors ---- */

static size_t count_occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *at = text; (at = strstr(at, needle)); at += strlen(needle)) n++;
    return n;
}

void test_platform_trust_anchors(void)
{
    trust_anchor_list list = {0};

    /* the system's bundle: one anchor per certificate, RSA and EC alike */
    size_t len;
    char *bundle = read_file("/etc/ssl/certs/ca-certificates.crt", &len);
    CHECK(bundle != NULL);
    if (bundle) {
        size_t certificates = count_occurrences(bundle, "-----BEGIN CERTIFICATE-----");
        CHECK(certificates > 100);
        CHECK(trust_anchors_add_pem(&list, bundle, len) == (int)certificates);
        size_t rsa = 0, ec = 0, ca = 0;
        for (size_t i = 0; i < list.count; i++) {
            rsa += list.anchors[i].pkey.key_type == BR_KEYTYPE_RSA;
            ec += list.anchors[i].pkey.key_type == BR_KEYTYPE_EC;
            ca += (list.anchors[i].flags & BR_X509_TA_CA) != 0;
        }
        CHECK(rsa > 0 && ec > 0 && rsa + ec == list.count && ca > 0);
        free(bundle);
    }
    trust_anchors_free(&list);
    CHECK(list.count == 0 && list.anchors == NULL);

    CHECK(make_pki());
    if (!ca_pem) return;
    CHECK(trust_anchors_add_pem(&list, ca_pem, ca_pem_len) == 1);
    CHECK(list.count == 1 && list.anchors[0].flags == BR_X509_TA_CA &&
          list.anchors[0].pkey.key_type == BR_KEYTYPE_RSA && list.anchors[0].pkey.key.rsa.nlen == 256 &&
          list.anchors[0].dn.len > 0);
    /* a server certificate, without its last newline, and text around it:
     * a direct-trust (non-CA) EC anchor */
    char path[128];
    snprintf(path, sizeof path, "%s/good.pem", pki_dir);
    char *good = read_file(path, &len);
    CHECK(good != NULL);
    if (good) {
        byte_vec text = {0};
        vec_append(&text, "issued by the test CA\n", 22);
        vec_append(&text, good, len - 1);
        CHECK(trust_anchors_add_pem(&list, (const char *)text.data, text.len) == 1);
        CHECK(list.count == 2 && list.anchors[1].flags == 0 && list.anchors[1].pkey.key_type == BR_KEYTYPE_EC &&
              list.anchors[1].pkey.key.ec.curve == BR_EC_secp256r1 && list.anchors[1].pkey.key.ec.qlen == 65);
        free(text.data);
        free(good);
    }

    /* failures leave the list as it was */
    static const char *const malformed[] = {
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\naGVsbG8sIHdvcmxk\n-----END CERTIFICATE-----\n", /* base64, not DER */
        "-----BEGIN CERTIFICATE-----\nMIIB\n",                                        /* never ends */
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        byte_vec text = {0};
        vec_append(&text, ca_pem, ca_pem_len); /* a good one first, rolled back too */
        vec_append(&text, malformed[i], strlen(malformed[i]));
        CHECK(trust_anchors_add_pem(&list, (const char *)text.data, text.len) == -1);
        CHECK(list.count == 2);
        free(text.data);
    }
    /* other PEM objects are skipped */
    static const char key_only[] = "-----BEGIN PRIVATE KEY-----\naGVsbG8=\n-----END PRIVATE KEY-----\n";
    CHECK(trust_anchors_add_pem(&list, key_only, strlen(key_only)) == 0);
    CHECK(trust_anchors_add_pem(&list, "", 0) == 0);
    trust_anchors_free(&list);

    /* the platform refuses a text without certificates, or a bad one */
    CHECK(platform_set_trust_anchors_pem(key_only, strlen(key_only)) == -1);
    CHECK(platform_set_trust_anchors_pem(malformed[0], strlen(malformed[0])) == -1);
}

/* ---- tests: WebSocket against the in-process server ---- */

void test_platform_websocket(void)
{
    test_server server;
    server_start(&server, SERVE_WEBSOCKET);
    char url[128];
    snprintf(url, sizeof url, "ws://localhost:%u?session=1", server.port);
    ws_client c;
    CHECK(client_connect(&c, url));
    test_peer *peer = last_peer(&server);
    CHECK(peer && strcmp(peer->target, "/?session=1") == 0);
    char host[64];
    snprintf(host, sizeof host, "localhost:%u", server.port);
    CHECK(peer && strcmp(peer->host, host) == 0);

    /* every length form of the frame header, both message types */
    static const size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        CHECK(echo_round_trip(&c, false, sizes[i]));
        CHECK(echo_round_trip(&c, true, sizes[i]));
    }
    CHECK(peer && peer->messages == 14 && !peer->protocol_error);

    /* fragmented reception, a ping between fragments, a character split
     * across fragments, and a frame header split across reads */
    if (peer) {
        unsigned before = c.messages;
        peer_send_frame(peer, false, WS_OPCODE_TEXT, "Hello, w\xc3", 9);
        peer_send_frame(peer, true, WS_OPCODE_PING, "p1", 2);
        peer_send_frame(peer, false, WS_OPCODE_CONTINUATION, "\xb6rld", 4);
        peer_send(peer, "\x80", 1);
        run_for(30);
        peer_send(peer, "\x01!", 2);
        RUN_UNTIL(c.messages > before && peer->pongs == 1, WAIT_MS);
        CHECK(c.messages == before + 1 && !c.last_binary && c.last.len == 14 &&
              memcmp(c.last.data, "Hello, w\xc3\xb6rld!", 14) == 0);
        CHECK(peer->pongs == 1 && strcmp(peer->pong, "p1") == 0);

        uint8_t *big = test_message(true, 300000);
        before = c.messages;
        peer_send_frame(peer, false, WS_OPCODE_BINARY, big, 100000);
        peer_send_frame(peer, false, WS_OPCODE_CONTINUATION, big + 100000, 100000);
        peer_send_frame(peer, false, WS_OPCODE_CONTINUATION, "", 0);
        peer_send_frame(peer, true, WS_OPCODE_CONTINUATION, big + 200000, 100000);
        RUN_UNTIL(c.messages > before, WAIT_MS);
        CHECK(c.messages == before + 1 && c.last_binary && c.last.len == 300000 &&
              memcmp(c.last.data, big, 300000) == 0);
        free(big);
    }

    /* the server closes with a code and a reason: on_close gets them, the
     * server gets its code back, and nothing follows the TCP close */
    if (peer) {
        peer_send_frame(peer, true, WS_OPCODE_CLOSE, "\x0f\xa1" "bye", 5);
        peer->close_sent = true;
        RUN_UNTIL(c.closes && peer->close_frames, WAIT_MS);
        CHECK(c.closes == 1 && c.close_code == 4001 && strcmp(c.close_reason, "bye") == 0);
        CHECK(peer->close_frames == 1 && peer->close_code == 4001);
        peer_close(peer);
        run_for(50);
        CHECK(c.closes == 1 && c.opens == 1);
        CHECK(client_send(&c, false, (const uint8_t *)"late", 4) == -1);
    }
    client_release(&c);

    /* a close without a status code is echoed empty and reported as 1005 */
    CHECK(client_connect(&c, url));
    peer = last_peer(&server);
    if (peer) {
        peer_send_frame(peer, true, WS_OPCODE_CLOSE, "", 0);
        peer->close_sent = true;
        RUN_UNTIL(c.closes && peer->close_frames, WAIT_MS);
        CHECK(c.closes == 1 && c.close_code == WS_CLOSE_NO_STATUS && c.close_reason[0] == '\0');
        CHECK(peer->close_frames == 1 && peer->close_code == WS_CLOSE_NO_STATUS);
    }
    client_release(&c);

    /* the client closes: the server gets 1000, then the end of the stream */
    CHECK(client_connect(&c, url));
    peer = last_peer(&server);
    CHECK(echo_round_trip(&c, false, 5));
    client_release(&c);
    RUN_UNTIL(peer && peer->saw_eof, WAIT_MS);
    CHECK(peer && peer->close_frames == 1 && peer->close_code == 1000 && peer->saw_eof);

    /* released inside on_message: nothing more is called, the server sees
     * the close */
    CHECK(client_connect(&c, url));
    peer = last_peer(&server);
    c.release_on_message = true;
    CHECK(client_send(&c, false, (const uint8_t *)"one", 3) == 0);
    if (peer) {
        peer_send_frame(peer, true, WS_OPCODE_TEXT, "two", 3);
        RUN_UNTIL(peer->saw_eof, WAIT_MS);
        CHECK(c.messages == 1 && c.closes == 0 && c.ws == NULL);
        CHECK(peer->saw_eof && peer->close_code == 1000);
    }
    free(c.last.data);

    /* released before it connected: no callback, no connection */
    size_t peers_before = server.peer_count;
    CHECK(client_open(&c, url) != NULL);
    CHECK(client_send(&c, false, (const uint8_t *)"early", 5) == -1);
    client_release(&c);
    run_for(100);
    CHECK(c.opens == 0 && c.closes == 0 && server.peer_count == peers_before);

    CHECK(callbacks_inside_calls == 0);
    server_stop(&server);
}

/* The server sends bytes that break the protocol; the client fails the
 * connection: the server gets expect_code (0: no close frame), the
 * application 1006 with a reason containing reason_part. */
static void check_failure(test_server *server, const void *bytes, size_t len, uint16_t expect_code,
                          const char *reason_part)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", server->port);
    ws_client c;
    CHECK(client_connect(&c, url));
    test_peer *peer = last_peer(server);
    if (peer) {
        peer_send(peer, bytes, len);
        RUN_UNTIL(c.closes && (expect_code == 0 || peer->close_frames), WAIT_MS);
        CHECK(c.closes == 1 && c.close_code == 1006 && strstr(c.close_reason, reason_part));
        if (!CHECK(expect_code == 0 || (peer->close_frames == 1 && peer->close_code == expect_code)))
            fprintf(stderr, "  expected close code %u, got %u (%s)\n", expect_code, peer->close_code, reason_part);
    }
    client_release(&c);
}

void test_platform_websocket_failures(void)
{
    test_server server;
    server_start(&server, SERVE_WEBSOCKET);

    check_failure(&server, "\x81\x85mask\x01\x02\x03\x04\x05", 11, 1002, "protocol error"); /* masked */
    check_failure(&server, "\x83\x00", 2, 1002, "protocol error");                       /* unknown opcode */
    check_failure(&server, "\x80\x01x", 3, 1002, "protocol error");                      /* stray continuation */
    check_failure(&server, "\x81\x02\xc3\x28", 4, 1007, "UTF-8");                        /* invalid text */
    check_failure(&server, "\x88\x02\x03\xed", 4, 1002, "protocol error");               /* close code 1005 */
    /* over 16 MiB in one frame header */
    check_failure(&server, "\x82\x7f\x00\x00\x00\x00\x01\x00\x00\x01", 10, 1009, "too big");
    /* over 16 MiB in fragments: 16 MiB, then one byte more */
    {
        size_t len = 16u << 20;
        uint8_t *payload = calloc(1, len + 1);
        uint8_t header[WS_MAX_HEADER_LEN];
        byte_vec bytes = {0};
        if (!payload) abort();
        vec_append(&bytes, header, ws_frame_header_write(header, false, WS_OPCODE_BINARY, len, NULL));
        vec_append(&bytes, payload, len);
        vec_append(&bytes, header, ws_frame_header_write(header, true, WS_OPCODE_CONTINUATION, 1, NULL));
        vec_append(&bytes, payload, 1);
        check_failure(&server, bytes.data, bytes.len, 1009, "too big");
        free(bytes.data);
        free(payload);
    }
    /* the server drops TCP without a close frame */
    {
        char url[64];
        snprintf(url, sizeof url, "ws://localhost:%u/", server.port);
        ws_client c;
        CHECK(client_connect(&c, url));
        if (last_peer(&server)) peer_close(last_peer(&server));
        RUN_UNTIL(c.closes, WAIT_MS);
        CHECK(c.closes == 1 && c.close_code == 1006 && strstr(c.close_reason, "without a close frame"));
        client_release(&c);
    }

    /* handshakes the client must refuse */
    static const char *const bad_replies[] = {
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        "this is not HTTP\r\n\r\n",
    };
    static const char *const bad_reasons[] = {"status 403", "invalid upgrade", "malformed"};
    for (size_t i = 0; i < 3; i++) {
        server.handshake_reply = bad_replies[i];
        char url[64];
        snprintf(url, sizeof url, "ws://localhost:%u/", server.port);
        ws_client c;
        CHECK(client_open(&c, url) != NULL);
        RUN_UNTIL(c.closes, WAIT_MS);
        CHECK(c.opens == 0 && c.closes == 1 && c.close_code == 1006 && strstr(c.close_reason, bad_reasons[i]));
        client_release(&c);
    }
    server_stop(&server);

    /* nothing listens: 1006, reported from the loop */
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", unused_port());
    ws_client c;
    CHECK(client_open(&c, url) != NULL);
    CHECK(c.closes == 0);
    RUN_UNTIL(c.closes, WAIT_MS);
    CHECK(c.opens == 0 && c.closes == 1 && c.close_code == 1006 && strstr(c.close_reason, "connect"));
    client_release(&c);

    /* URLs that cannot be used */
    static const char *const bad_urls[] = {
        "http://localhost/",     "ws://",           "ws://:80/",         "ws://localhost:0/",
        "ws://localhost:65536/", "ws://localhost:/", "ws://user@host/",   "ws://[::1]:80/",
        "ws://localhost/#frag",  "ws://localhost/a b", "wss://host/\x7f", "localhost:80",
    };
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++)
        if (!CHECK(client_open(&c, bad_urls[i]) == NULL)) fprintf(stderr, "  accepted %s\n", bad_urls[i]);

    CHECK(callbacks_inside_calls == 0);
}

/* ---- tests: fetch against the in-process server ---- */

static char *big_chunked_response(size_t *len)
{
    byte_vec v = {0};
    static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    vec_append(&v, head, sizeof head - 1);
    uint8_t *body = test_message(true, 200000);
    for (size_t at = 0; at < 200000; at += 1000) {
        vec_append(&v, "3e8\r\n", 5);
        vec_append(&v, body + at, 1000);
        vec_append(&v, "\r\n", 2);
    }
    vec_append(&v, "0\r\n\r\n", 5);
    free(body);
    *len = v.len;
    return (char *)v.data;
}

static void http_respond(test_peer *p)
{
    static const struct {
        const char *target, *response;
    } routes[] = {
        {"/small?x=1", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"},
        {"/chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n"},
        {"/until-close", "HTTP/1.0 200 OK\r\n\r\nthe body ends with the connection"},
        {"/interim", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
        {"/missing", "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"},
        {"/empty", "HTTP/1.1 204 No Content\r\n\r\n"},
        {"/truncated", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf!"},
        {"/garbage", "HELLO THERE\r\n\r\n"},
        {"/big-chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "258\r\n" "%600" "\r\n258\r\n" "%600" "\r\n0\r\n\r\n"},
    };
    p->close_after = true;
    if (strcmp(p->target, "/silent") == 0) {
        p->close_after = false; /* never answers */
        return;
    }
    if (strcmp(p->target, "/large") == 0 || strcmp(p->target, "/large-until-close") == 0) {
        const char *head = strcmp(p->target, "/large") == 0 ? "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n"
                                                             : "HTTP/1.1 200 OK\r\n\r\n";
        uint8_t *body = test_message(true, 1 << 20);
        peer_send(p, head, strlen(head));
        peer_send(p, body, 1 << 20);
        free(body);
        return;
    }
    /* heads and trailers larger than a connection's input buffer */
    if (strcmp(p->target, "/huge-head") == 0 || strcmp(p->target, "/huge-trailers") == 0) {
        bool trailers = strcmp(p->target, "/huge-trailers") == 0;
        const char *start = trailers ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                                     : "HTTP/1.1 200 OK\r\n";
        peer_send(p, start, strlen(start));
        char line[15000];
        memset(line, 'p', sizeof line);
        memcpy(line, "X-Pad: ", 7);
        memcpy(line + sizeof line - 2, "\r\n", 2);
        for (int i = 0; i < 15; i++) peer_send(p, line, sizeof line);
        peer_send(p, "\r\n", 2);
        return;
    }
    if (strcmp(p->target, "/large-chunked") == 0) {
        size_t len;
        char *response = big_chunked_response(&len);
        peer_send(p, response, len);
        free(response);
        return;
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(p->target, routes[i].target) != 0) continue;
        /* "%600" stands for 600 bytes of body */
        const char *r = routes[i].response, *mark;
        while ((mark = strstr(r, "%600"))) {
            peer_send(p, r, (size_t)(mark - r));
            char filler[600];
            memset(filler, 'z', sizeof filler);
            peer_send(p, filler, sizeof filler);
            r = mark + 4;
        }
        peer_send(p, r, strlen(r));
        return;
    }
    static const char not_routed[] = "HTTP/1.1 500 Not Routed\r\nContent-Length: 0\r\n\r\n";
    peer_send(p, not_routed, sizeof not_routed - 1);
}

typedef struct {
    unsigned calls;
    int status;
    byte_vec body;
    char error[256];
    uint32_t cancel_id; /* cancelled from inside the callback */
} fetch_result;

static void on_fetched(void *ctx, int status, const uint8_t *body, size_t len, const char *error)
{
    note_callback();
    fetch_result *r = ctx;
    r->calls++;
    r->status = status;
    r->body.len = 0;
    vec_append(&r->body, body ? body : (const uint8_t *)"", len);
    snprintf(r->error, sizeof r->error, "%s", error ? error : "");
    if (r->cancel_id) platform_fetch_cancel(r->cancel_id);
}

static uint32_t start_fetch(fetch_result *r, const char *url, uint32_t timeout_ms, size_t max_body)
{
    free(r->body.data);
    memset(r, 0, sizeof *r);
    in_platform_call = true;
    uint32_t id = platform_fetch(url, "application/json", timeout_ms, max_body, on_fetched, r);
    in_platform_call = false;
    return id;
}

/* Fetches and waits for the one callback. */
static void fetch_and_wait(fetch_result *r, const char *url, size_t max_body)
{
    uint32_t id = start_fetch(r, url, WAIT_MS, max_body);
    CHECK(id != 0 && r->calls == 0);
    RUN_UNTIL(r->calls, WAIT_MS + 1000);
    run_for(20); /* time for a second callback, if there were one */
    CHECK(r->calls == 1);
}

static bool body_is(const fetch_result *r, const char *text)
{
    return r->body.len == strlen(text) && (r->body.len == 0 || memcmp(r->body.data, text, r->body.len) == 0);
}

void test_platform_fetch(void)
{
    test_server server;
    server_start(&server, SERVE_HTTP);
    char base[64], url[128];
    snprintf(base, sizeof base, "http://localhost:%u", server.port);
    fetch_result r = {0};

    snprintf(url, sizeof url, "%s/small?x=1#fragment", base);
    fetch_and_wait(&r, url, 1000);
    CHECK(r.status == 200 && body_is(&r, "hello") && r.error[0] == '\0');
    test_peer *peer = last_peer(&server);
    char host[64];
    snprintf(host, sizeof host, "localhost:%u", server.port);
    CHECK(peer && strcmp(peer->target, "/small?x=1") == 0 && strcmp(peer->host, host) == 0 &&
          strcmp(peer->accept, "application/json") == 0 && strcmp(peer->connection, "close") == 0);

    static const struct {
        const char *path;
        size_t max_body;
        int status;
        const char *body, *error_part;
    } cases[] = {
        {"/chunked", 1000, 200, "hello, world", NULL},
        {"/until-close", 1000, 200, "the body ends with the connection", NULL},
        {"/interim", 1000, 200, "ok", NULL},
        {"/missing", 1000, 404, "not found", NULL},
        {"/empty", 1000, 204, "", NULL},
        {"/small?x=1", 5, 200, "hello", NULL}, /* exactly max_body */
        {"/small?x=1", 4, 0, NULL, "max_body"},
        {"/big-chunked", 1000, 0, NULL, "max_body"},
        {"/large-until-close", 1000, 0, NULL, "max_body"},
        {"/truncated", 1000, 0, NULL, "closed before"},
        {"/garbage", 1000, 0, NULL, "malformed"},
        {"/huge-head", 1 << 20, 0, NULL, "malformed"},
        {"/huge-trailers", 1 << 20, 0, NULL, "malformed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(url, sizeof url, "%s%s", base, cases[i].path);
        fetch_and_wait(&r, url, cases[i].max_body);
        bool ok = r.status == cases[i].status &&
                  (cases[i].body ? body_is(&r, cases[i].body) && r.error[0] == '\0'
                                 : r.body.len == 0 && strstr(r.error, cases[i].error_part) != NULL);
        if (!CHECK(ok)) fprintf(stderr, "  %s: status %d, error '%s'\n", cases[i].path, r.status, r.error);
    }

    /* large bodies, read over many reads */
    uint8_t *expected = test_message(true, 1 << 20);
    snprintf(url, sizeof url, "%s/large", base);
    fetch_and_wait(&r, url, 1 << 20);
    CHECK(r.status == 200 && r.body.len == 1 << 20 && memcmp(r.body.data, expected, 1 << 20) == 0);
    snprintf(url, sizeof url, "%s/large-until-close", base);
    fetch_and_wait(&r, url, 1 << 20);
    CHECK(r.status == 200 && r.body.len == 1 << 20 && memcmp(r.body.data, expected, 1 << 20) == 0);
    snprintf(url, sizeof url, "%s/large-chunked", base);
    fetch_and_wait(&r, url, 1 << 20);
    CHECK(r.status == 200 && r.body.len == 200000 && memcmp(r.body.data, expected, 200000) == 0);
    free(expected);

    /* a server that never answers: the timeout, then the connection is gone */
    snprintf(url, sizeof url, "%s/silent", base);
    uint64_t start = platform_monotonic_ms();
    CHECK(start_fetch(&r, url, 300, 1000) != 0);
    RUN_UNTIL(r.calls, WAIT_MS);
    uint64_t took = platform_monotonic_ms() - start;
    CHECK(r.calls == 1 && r.status == 0 && strcmp(r.error, "timeout") == 0 && took >= 300 && took < 3000);
    peer = last_peer(&server);
    RUN_UNTIL(peer && peer->saw_eof, WAIT_MS);
    CHECK(peer && peer->got_request && peer->saw_eof);

    /* cancelled while waiting for the answer: no callback, connection gone */
    uint32_t id = start_fetch(&r, url, 0, 1000);
    size_t peers_before = server.peer_count;
    RUN_UNTIL(server.peer_count > peers_before && last_peer(&server)->got_request, WAIT_MS);
    peer = last_peer(&server);
    platform_fetch_cancel(id);
    RUN_UNTIL(peer && peer->saw_eof, WAIT_MS);
    run_for(50);
    CHECK(r.calls == 0 && peer && peer->saw_eof);
    platform_fetch_cancel(id); /* again: harmless */

    /* cancelled before it started: nothing at all */
    peers_before = server.peer_count;
    id = start_fetch(&r, url, 100, 1000);
    platform_fetch_cancel(id);
    run_for(200);
    CHECK(r.calls == 0 && server.peer_count == peers_before);

    /* cancelling itself from inside the callback is harmless */
    snprintf(url, sizeof url, "%s/small?x=1", base);
    id = start_fetch(&r, url, WAIT_MS, 1000);
    r.cancel_id = id;
    RUN_UNTIL(r.calls, WAIT_MS);
    CHECK(r.calls == 1 && r.status == 200);
    server_stop(&server);

    /* failures to connect, and unusable URLs, come from the loop */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", unused_port());
    fetch_and_wait(&r, url, 1000);
    CHECK(r.status == 0 && strstr(r.error, "connect"));
    fetch_and_wait(&r, "ftp://localhost/", 1000);
    CHECK(r.status == 0 && strcmp(r.error, "unusable URL") == 0);
    fetch_and_wait(&r, "https://127.0.0.1:1/", 1000);
    CHECK(r.status == 0 && strstr(r.error, "IP address"));

    free(r.body.data);
    CHECK(callbacks_inside_calls == 0);
}

/* ---- tests: TLS, against node's ws behind the test PKI ---- */

void test_platform_tls(void)
{
    echo_server good = {0}, wrong = {0};
    bool ready = make_pki() && echo_server_start(&good, "good");
    ready = ready && echo_server_start(&wrong, "wrong");
    CHECK(ready);
    if (!ready) goto stop;
    char url[128];
    ws_client c;

    /* the system's CAs do not know the test CA */
    snprintf(url, sizeof url, "wss://localhost:%u/", good.wss_port);
    CHECK(client_open(&c, url) != NULL);
    RUN_UNTIL(c.closes, WAIT_MS);
    CHECK(c.opens == 0 && c.closes == 1 && c.close_code == 1006 && strstr(c.close_reason, "not trusted"));
    client_release(&c);

    CHECK(platform_set_trust_anchors_pem(ca_pem, ca_pem_len) == 0);

    /* trusted: text and a large binary message both ways, a clean close */
    CHECK(client_connect(&c, url));
    CHECK(echo_round_trip(&c, false, 14));
    CHECK(echo_round_trip(&c, true, 1 << 20));
    CHECK(echo_round_trip(&c, false, 65536));
    client_release(&c);

    /* a certificate for another name, and a host given as an address */
    snprintf(url, sizeof url, "wss://localhost:%u/", wrong.wss_port);
    CHECK(client_open(&c, url) != NULL);
    RUN_UNTIL(c.closes, WAIT_MS);
    CHECK(c.opens == 0 && c.closes == 1 && c.close_code == 1006 && strstr(c.close_reason, "host name"));
    client_release(&c);
    snprintf(url, sizeof url, "wss://127.0.0.1:%u/", good.wss_port);
    CHECK(client_open(&c, url) != NULL);
    RUN_UNTIL(c.closes, WAIT_MS);
    CHECK(c.closes == 1 && c.close_code == 1006 && strstr(c.close_reason, "IP address"));
    client_release(&c);

    /* plain ws to the same server (node's ws, not our codec, on the other side) */
    snprintf(url, sizeof url, "ws://localhost:%u/", good.ws_port);
    CHECK(client_connect(&c, url));
    CHECK(echo_round_trip(&c, true, 65536));
    CHECK(echo_round_trip(&c, false, 1));
    client_release(&c);

    /* https: the echo server answers a plain request with 426 */
    fetch_result r = {0};
    snprintf(url, sizeof url, "https://localhost:%u/", good.wss_port);
    fetch_and_wait(&r, url, 1000);
    CHECK(r.status == 426 && body_is(&r, "WebSocket echo server: connect with a WebSocket client\n"));
    snprintf(url, sizeof url, "https://localhost:%u/", wrong.wss_port);
    fetch_and_wait(&r, url, 1000);
    CHECK(r.status == 0 && strstr(r.error, "host name"));
    free(r.body.data);
    CHECK(callbacks_inside_calls == 0);

stop:
    echo_server_stop(&good);
    echo_server_stop(&wrong);
}
