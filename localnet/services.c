/* localnet's small internet: see services.h. */
#define _XOPEN_SOURCE 700 /* POSIX 2008 with XSI: realpath, waitid */
#include "services.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#ifndef SERVICES_WS_ECHO_SCRIPT
#error "build with -DSERVICES_WS_ECHO_SCRIPT='\"/absolute/path/to/localnet/ws-echo.mjs\"'"
#endif

extern char **environ;

enum {
    /* gunicorn imports Flask and httpbin: a second or more on a busy machine */
    START_TIMEOUT_MS = 30000,
    STOP_GRACE_MS = 5000,
    POLL_INTERVAL_MS = 10,
    LOG_TAIL_BYTES = 2048,
    MAX_ARGS = 64,
    ARG_STORAGE = 8192,
};

/* Where each server listens; a route's real port is one of these. */
typedef enum {
    PORT_NGINX_HTTP,
    PORT_NGINX_HTTPS,
    PORT_EXPIRED,
    PORT_WRONG_HOST,
    PORT_SELF_SIGNED,
    PORT_UNKNOWN_CA,
    PORT_HTTPBIN_HTTP,
    PORT_HTTPBIN_HTTPS,
    PORT_WS,
    PORT_WSS,
    PORT_GATEWAY_WSS_FIRST, /* nginx terminating TLS for the gateways' ws listeners */
    PORT_GATEWAY_WSS_LAST = PORT_GATEWAY_WSS_FIRST + SERVICES_GATEWAY_PROXIES - 1,
    PORT_DNS, /* TCP and UDP */
    PORT_COUNT
} port_slot;

typedef enum { PROC_DNSMASQ, PROC_HTTPBIN, PROC_NGINX, PROC_WS_ECHO, PROC_HTTPBIN_TLS } process_slot;

static const char *const process_names[SERVICES_PROCESS_COUNT] = {
    [PROC_DNSMASQ] = "dnsmasq", [PROC_HTTPBIN] = "httpbin", [PROC_NGINX] = "nginx",
    [PROC_WS_ECHO] = "ws-echo", [PROC_HTTPBIN_TLS] = "httpbin-tls",
};

/* gunicorn's SIGTERM waits out its worker's one-second poll; SIGQUIT is its
 * immediate shutdown. The others stop at once on SIGTERM. */
static const int stop_signals[SERVICES_PROCESS_COUNT] = {
    [PROC_DNSMASQ] = SIGTERM, [PROC_HTTPBIN] = SIGQUIT, [PROC_NGINX] = SIGTERM,
    [PROC_WS_ECHO] = SIGTERM, [PROC_HTTPBIN_TLS] = SIGQUIT,
};

static const process_slot port_owner[PORT_COUNT] = {
    [PORT_NGINX_HTTP] = PROC_NGINX,     [PORT_NGINX_HTTPS] = PROC_NGINX,       [PORT_EXPIRED] = PROC_NGINX,
    [PORT_WRONG_HOST] = PROC_NGINX,     [PORT_SELF_SIGNED] = PROC_NGINX,       [PORT_UNKNOWN_CA] = PROC_NGINX,
    [PORT_HTTPBIN_HTTP] = PROC_HTTPBIN, [PORT_HTTPBIN_HTTPS] = PROC_HTTPBIN_TLS, [PORT_WS] = PROC_WS_ECHO,
    [PORT_WSS] = PROC_WS_ECHO,          [PORT_DNS] = PROC_DNSMASQ,
    [PORT_GATEWAY_WSS_FIRST] = PROC_NGINX, [PORT_GATEWAY_WSS_FIRST + 1] = PROC_NGINX,
};

static const struct route_template {
    const char *name;
    const char *virtual_ip;
    uint16_t virtual_port;
    service_proto proto;
    port_slot port;
} route_templates[SERVICES_ROUTE_COUNT] = {
    {SERVICES_NGINX_NAME, SERVICES_NGINX_IP, 80, SERVICE_PROTO_TCP, PORT_NGINX_HTTP},
    {SERVICES_NGINX_NAME, SERVICES_NGINX_IP, 443, SERVICE_PROTO_TCP, PORT_NGINX_HTTPS},
    {SERVICES_HTTPBIN_NAME, SERVICES_HTTPBIN_IP, 80, SERVICE_PROTO_TCP, PORT_HTTPBIN_HTTP},
    {SERVICES_HTTPBIN_NAME, SERVICES_HTTPBIN_IP, 443, SERVICE_PROTO_TCP, PORT_HTTPBIN_HTTPS},
    {SERVICES_WS_NAME, SERVICES_WS_IP, 80, SERVICE_PROTO_TCP, PORT_WS},
    {SERVICES_WS_NAME, SERVICES_WS_IP, 443, SERVICE_PROTO_TCP, PORT_WSS},
    {SERVICES_EXPIRED_NAME, SERVICES_EXPIRED_IP, 443, SERVICE_PROTO_TCP, PORT_EXPIRED},
    {SERVICES_WRONG_HOST_NAME, SERVICES_WRONG_HOST_IP, 443, SERVICE_PROTO_TCP, PORT_WRONG_HOST},
    {SERVICES_SELF_SIGNED_NAME, SERVICES_SELF_SIGNED_IP, 443, SERVICE_PROTO_TCP, PORT_SELF_SIGNED},
    {SERVICES_UNKNOWN_CA_NAME, SERVICES_UNKNOWN_CA_IP, 443, SERVICE_PROTO_TCP, PORT_UNKNOWN_CA},
    {SERVICES_RESOLVER1_NAME, SERVICES_RESOLVER1_IP, 53, SERVICE_PROTO_UDP, PORT_DNS},
    {SERVICES_RESOLVER1_NAME, SERVICES_RESOLVER1_IP, 53, SERVICE_PROTO_TCP, PORT_DNS},
    {SERVICES_RESOLVER2_NAME, SERVICES_RESOLVER2_IP, 53, SERVICE_PROTO_UDP, PORT_DNS},
    {SERVICES_RESOLVER2_NAME, SERVICES_RESOLVER2_IP, 53, SERVICE_PROTO_TCP, PORT_DNS},
};

/* Certificates, all P-256 ECDSA (fast to make, and every client here
 * speaks it). File and section names share one base name. */
static const struct ca_cert {
    const char *base;
    const char *common_name;
} ca_certs[] = {
    {"test_ca", "localnet test CA"},
    {"unknown_ca", "localnet CA that no client trusts"},
};

static const struct leaf_cert {
    const char *base;
    const char *signer; /* a ca_certs base, or NULL for self-signed */
    bool expired;
    const char *common_name;
    const char *alt_names;
} leaf_certs[] = {
    {"good", "test_ca", false, SERVICES_NGINX_NAME,
     "DNS:" SERVICES_NGINX_NAME ", DNS:" SERVICES_HTTPBIN_NAME ", DNS:" SERVICES_WS_NAME ", IP:" SERVICES_NGINX_IP
     ", IP:" SERVICES_HTTPBIN_IP ", IP:" SERVICES_WS_IP ", DNS:" SERVICES_GATEWAY_HOST ", IP:127.0.0.1"},
    {"expired", "test_ca", true, SERVICES_EXPIRED_NAME,
     "DNS:" SERVICES_EXPIRED_NAME ", IP:" SERVICES_EXPIRED_IP},
    {"wrong_host", "test_ca", false, SERVICES_ELSEWHERE_NAME, "DNS:" SERVICES_ELSEWHERE_NAME},
    {"self_signed", NULL, false, SERVICES_SELF_SIGNED_NAME,
     "DNS:" SERVICES_SELF_SIGNED_NAME ", IP:" SERVICES_SELF_SIGNED_IP},
    {"unknown_ca_leaf", "unknown_ca", false, SERVICES_UNKNOWN_CA_NAME,
     "DNS:" SERVICES_UNKNOWN_CA_NAME ", IP:" SERVICES_UNKNOWN_CA_IP},
};
enum { LEAF_COUNT = sizeof leaf_certs / sizeof leaf_certs[0] };

/* The bad-certificate servers, in nginx: port, certificate, answer. */
static const struct bad_tls_server {
    port_slot port;
    const char *cert_base;
    const char *answer;
} bad_tls_servers[] = {
    {PORT_EXPIRED, "expired", "expired certificate\\n"},
    {PORT_WRONG_HOST, "wrong_host", "certificate for another host name\\n"},
    {PORT_SELF_SIGNED, "self_signed", "self-signed certificate\\n"},
    {PORT_UNKNOWN_CA, "unknown_ca_leaf", "certificate from an unknown CA\\n"},
};

static const char index_html[] =
    "<!doctype html>\n"
    "<html><head><meta charset=\"utf-8\"><title>localnet nginx</title></head>\n"
    "<body><h1>localnet nginx</h1><p>Served by nginx behind the localnet exit gateway.</p></body></html>\n";

enum { LINES_TXT_LINES = 16384 };

/* ---------------------------------------------------------------- helpers */

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("services: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid pointer */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* snprintf into a path buffer; false (with a message) when it does not fit */
static bool format_path(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) {
        fail("path too long (over %zu bytes) for %s", cap - 1, fmt);
        return false;
    }
    return true;
}

/* Prints the end of a log, so a failure shows the server's own words. */
static void print_log_tail(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fail("(no log: cannot open %s: %s)", path, strerror(errno));
        return;
    }
    char tail[LOG_TAIL_BYTES + 1];
    off_t size = lseek(fd, 0, SEEK_END);
    off_t start = size > LOG_TAIL_BYTES ? size - LOG_TAIL_BYTES : 0;
    ssize_t got = size < 0 ? -1 : pread(fd, tail, LOG_TAIL_BYTES, start);
    if (got < 0) {
        fail("(cannot read %s: %s)", path, strerror(errno));
        close(fd);
        return;
    }
    close(fd);
    tail[got] = '\0';
    fprintf(stderr, "services: --- last lines of %s ---\n%s%s--- end of %s ---\n", path, tail,
            got > 0 && tail[got - 1] != '\n' ? "\n" : "", path);
}

static bool make_dir(const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        fail("cannot create %s: %s", path, strerror(errno));
        return false;
    }
    return true;
}

static bool write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fail("cannot create %s: %s", path, strerror(errno));
        return false;
    }
    bool ok = write_all(fd, data, len);
    if (!ok) fail("cannot write %s: %s", path, strerror(errno));
    if (close(fd) != 0 && ok) {
        fail("cannot write %s: %s", path, strerror(errno));
        ok = false;
    }
    return ok;
}

/* Closes a file written with fprintf, reporting any write error. */
static bool close_written(FILE *f, const char *path)
{
    bool ok = !ferror(f);
    if (fclose(f) != 0) ok = false;
    if (!ok) fail("cannot write %s: %s", path, strerror(errno));
    return ok;
}

/* --------------------------------------------------------- argument lists */

typedef struct {
    const char *argv[MAX_ARGS + 1];
    int count;
    char storage[ARG_STORAGE];
    size_t used;
    bool overflow;
} arg_list;

static void args_add(arg_list *a, const char *fmt, ...)
{
    if (a->overflow) return;
    size_t room = sizeof a->storage - a->used;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(a->storage + a->used, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room || a->count == MAX_ARGS) {
        a->overflow = true;
        return;
    }
    a->argv[a->count++] = a->storage + a->used;
    a->argv[a->count] = NULL;
    a->used += (size_t)n + 1;
}

/* ------------------------------------------------------------- processes */

/* nginx and dnsmasq live in /usr/sbin, which a normal user's PATH may lack. */
static bool find_program(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    char dirs[SERVICES_PATH_MAX];
    if (!format_path(dirs, sizeof dirs, "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin")) return false;
    char *save = NULL;
    for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        int n = snprintf(out, cap, "%s/%s", dir, name);
        if (n > 0 && (size_t)n < cap && access(out, X_OK) == 0) return true;
    }
    fail("%s not found in PATH, /usr/sbin or /sbin", name);
    return false;
}

/* A descriptor that a child gets as stdin, stdout or stderr must not be 0,
 * 1 or 2 already (a caller may run with those closed): dup2 onto itself
 * would keep FD_CLOEXEC, and exec would close it. */
static int fd_above_stdio(int fd)
{
    if (fd < 0 || fd > STDERR_FILENO) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    int err = errno;
    close(fd);
    errno = err;
    return moved;
}

/* Between fork and exec only async-signal-safe calls: no stdio, no malloc. */
static void child_fail(const char *what)
{
    int err = errno;
    char digits[12];
    size_t n = sizeof digits;
    do {
        digits[--n] = (char)('0' + err % 10);
        err /= 10;
    } while (err > 0 && n > 0);
    ssize_t ignored = write(STDERR_FILENO, "services: child: ", 17);
    ignored = write(STDERR_FILENO, what, strlen(what));
    ignored = write(STDERR_FILENO, " failed, errno ", 15);
    ignored = write(STDERR_FILENO, digits + n, sizeof digits - n);
    ignored = write(STDERR_FILENO, "\n", 1);
    (void)ignored;
    _exit(127);
}

/* Starts args->argv[0] in its own process group with stdout and stderr
 * appended to log_path; returns its PID or -1 (with a message). */
static pid_t spawn(const arg_list *args, const char *cwd, const char *log_path, const char *extra_env, int stdin_fd)
{
    if (args->overflow) {
        fail("argument list for %s too long", args->argv[0]);
        return -1;
    }
    char program[SERVICES_PATH_MAX];
    if (!find_program(args->argv[0], program, sizeof program)) return -1;

    size_t env_count = 0;
    while (environ[env_count]) env_count++;
    char **envp = calloc(env_count + 2, sizeof *envp);
    if (!envp) {
        fail("out of memory starting %s", args->argv[0]);
        return -1;
    }
    memcpy(envp, environ, env_count * sizeof *envp);
    if (extra_env) envp[env_count] = (char *)extra_env;

    int log_fd = fd_above_stdio(open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (log_fd < 0) {
        fail("cannot open %s: %s", log_path, strerror(errno));
        free(envp);
        return -1;
    }
    int null_fd = -1;
    if (stdin_fd < 0) {
        null_fd = fd_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (null_fd < 0) {
            fail("cannot open /dev/null: %s", strerror(errno));
            close(log_fd);
            free(envp);
            return -1;
        }
        stdin_fd = null_fd;
    }

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* A caller's blocked or ignored signals would survive exec and keep
         * the servers from stopping or from reaping their own workers. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        static const int reset_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2};
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (size_t i = 0; i < sizeof reset_signals / sizeof reset_signals[0]; i++)
            sigaction(reset_signals[i], &dfl, NULL);
        /* Own group: stop can then kill the server with all its workers. */
        if (setpgid(0, 0) != 0) child_fail("setpgid");
#ifdef __linux__
        /* Die with the caller; SIGTERM lets nginx and gunicorn stop their workers. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) child_fail("prctl(PR_SET_PDEATHSIG)");
        if (getppid() != parent) _exit(127); /* the caller died before prctl */
#else
        (void)parent;
#endif
        if (dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0) child_fail("dup2 of the log");
        if (dup2(stdin_fd, STDIN_FILENO) < 0) child_fail("dup2 of stdin");
        if (chdir(cwd) != 0) child_fail("chdir");
        execve(program, (char *const *)args->argv, envp);
        child_fail("execve");
    }
    int fork_errno = errno;
    free(envp);
    close(log_fd);
    if (null_fd >= 0) close(null_fd);
    if (pid < 0) {
        fail("cannot start %s: fork: %s", args->argv[0], strerror(fork_errno));
        return -1;
    }
    /* Also from the parent, so the group exists before anyone signals it;
     * EACCES: the child already ran exec, after its own setpgid; ESRCH: it
     * already exited, which the caller's readiness wait reports. */
    if (setpgid(pid, pid) != 0 && errno != EACCES && errno != ESRCH) {
        fail("setpgid for %s: %s", args->argv[0], strerror(errno));
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        return -1;
    }
    return pid;
}

static void describe_exit(int status, char *buf, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(buf, cap, "was killed by signal %d", WTERMSIG(status));
}

static pid_t wait_for(pid_t pid, int *status, int options)
{
    pid_t r;
    while ((r = waitpid(pid, status, options)) < 0 && errno == EINTR) {
    }
    return r;
}

/* Runs openssl commands side by side and waits for all; the first failure
 * is reported with openssl's log. */
static bool run_openssl_batch(const arg_list *commands, size_t count, const char *cwd, const char *log_path)
{
    pid_t pids[LEAF_COUNT + 2];
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        pids[i] = ok ? spawn(&commands[i], cwd, log_path, NULL, -1) : -1;
        if (pids[i] < 0) ok = false;
    }
    for (size_t i = 0; i < count; i++) {
        if (pids[i] < 0) continue;
        int status;
        if (wait_for(pids[i], &status, 0) < 0) {
            fail("waitpid for openssl: %s", strerror(errno));
            ok = false;
            continue;
        }
        if (ok && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            char how[64];
            describe_exit(status, how, sizeof how);
            fail("openssl %s %s (making certificates in %s)", commands[i].argv[1], how, cwd);
            print_log_tail(log_path);
            ok = false;
        }
    }
    return ok;
}

/* ------------------------------------------------------------------ ports */

/* Binds 127.0.0.1:port (0: any) without listening. SO_REUSEADDR lets the
 * server bind the same port while we still hold it (Linux allows that as
 * long as only one socket listens), and holding it keeps other programs'
 * bind(port 0) and outgoing connections off it until the server has it. */
static int hold_port(int type, uint16_t port, uint16_t *port_out)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    socklen_t len = sizeof addr;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    *port_out = ntohs(addr.sin_port);
    return fd;
}

/* held_fds gets PORT_COUNT + 1 descriptors (the last: DNS over UDP). */
static bool hold_ports(uint16_t ports[PORT_COUNT], int held_fds[PORT_COUNT + 1])
{
    for (int i = 0; i < PORT_DNS; i++) { /* the TCP-only ports come before PORT_DNS */
        held_fds[i] = hold_port(SOCK_STREAM, 0, &ports[i]);
        if (held_fds[i] < 0) {
            fail("cannot get a free TCP port on 127.0.0.1: %s", strerror(errno));
            return false;
        }
    }
    /* dnsmasq needs one port number free for both TCP and UDP */
    for (int attempt = 0; attempt < 100; attempt++) {
        held_fds[PORT_DNS] = hold_port(SOCK_STREAM, 0, &ports[PORT_DNS]);
        if (held_fds[PORT_DNS] < 0) {
            fail("cannot get a free TCP port on 127.0.0.1: %s", strerror(errno));
            return false;
        }
        uint16_t same;
        held_fds[PORT_COUNT] = hold_port(SOCK_DGRAM, ports[PORT_DNS], &same);
        if (held_fds[PORT_COUNT] >= 0) return true;
        if (errno != EADDRINUSE) {
            fail("cannot bind UDP 127.0.0.1:%u: %s", ports[PORT_DNS], strerror(errno));
            return false;
        }
        close(held_fds[PORT_DNS]);
        held_fds[PORT_DNS] = -1;
    }
    fail("found no port free for both TCP and UDP in 100 tries");
    return false;
}

static void release_ports(int held_fds[PORT_COUNT + 1])
{
    for (int i = 0; i <= PORT_COUNT; i++) {
        if (held_fds[i] >= 0) close(held_fds[i]);
        held_fds[i] = -1;
    }
}

/* 1: something listens; 0: refused; -1: error (reported) */
static int port_accepts(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail("socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    int r;
    while ((r = connect(fd, (struct sockaddr *)&addr, sizeof addr)) != 0 && errno == EINTR) {
    }
    int err = errno;
    close(fd);
    if (r == 0) return 1;
    if (err == ECONNREFUSED) return 0;
    fail("connect to 127.0.0.1:%u: %s", port, strerror(err));
    return -1;
}

/* Reaps a server that exited on its own, reporting how, with its log. */
static bool still_running(service_process *p)
{
    int status;
    pid_t r = wait_for(p->pid, &status, WNOHANG);
    if (r == 0) return true;
    char how[64];
    if (r < 0)
        snprintf(how, sizeof how, "cannot be waited for (%s)", strerror(errno));
    else
        describe_exit(status, how, sizeof how);
    fail("%s (pid %ld) %s before it accepted connections", p->name, (long)p->pid, how);
    print_log_tail(p->log_path);
    p->pid = 0;
    return false;
}

static bool wait_until_accepting(services *s, const uint16_t ports[PORT_COUNT])
{
    int64_t deadline = now_ms() + START_TIMEOUT_MS;
    for (int i = 0; i < PORT_COUNT; i++) {
        bool unused_proxy = i >= PORT_GATEWAY_WSS_FIRST && i <= PORT_GATEWAY_WSS_LAST &&
                            !s->gateway_ws_ports[i - PORT_GATEWAY_WSS_FIRST];
        if (unused_proxy) continue;
        service_process *p = &s->processes[port_owner[i]];
        for (;;) {
            int r = port_accepts(ports[i]);
            if (r < 0) return false;
            if (r == 1) break;
            if (!still_running(p)) return false;
            if (now_ms() > deadline) {
                fail("%s (pid %ld) did not accept connections on 127.0.0.1:%u within %d s", p->name, (long)p->pid,
                     ports[i], START_TIMEOUT_MS / 1000);
                print_log_tail(p->log_path);
                return false;
            }
            sleep_ms(POLL_INTERVAL_MS);
        }
    }
    /* a server that lost a port race answers the probe of another, then exits */
    for (int i = 0; i < SERVICES_PROCESS_COUNT; i++)
        if (!still_running(&s->processes[i])) return false;
    return true;
}

/* ----------------------------------------------------------- certificates */

/* Opens path for writing, saying why when it cannot. */
static FILE *create_file(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) fail("cannot create %s: %s", path, strerror(errno));
    return f;
}

static bool write_openssl_config(const char *path)
{
    FILE *f = create_file(path);
    if (!f) return false;
    /* Our own configuration, so the system's openssl.cnf changes nothing. */
    fputs("# written by localnet/services.c\n"
          "[req]\ndistinguished_name = req_dn\nprompt = no\n[req_dn]\n"
          "[ca_ext]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n"
          "subjectKeyIdentifier = hash\n"
          "[any_subject]\ncommonName = supplied\n",
          f);
    for (size_t i = 0; i < LEAF_COUNT; i++) {
        const struct leaf_cert *c = &leaf_certs[i];
        fprintf(f,
                "[%s_ext]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
                "extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nsubjectAltName = %s\n",
                c->base, c->alt_names);
        if (!c->signer) continue;
        /* the rest of the _ext section, then the signing section, with one
         * database per leaf, so the signings can run side by side */
        fprintf(f,
                "authorityKeyIdentifier = keyid\n"
                "[%s_signing]\ncertificate = %s.pem\nprivate_key = %s.key\ndatabase = %s.index\n"
                "new_certs_dir = issued\nrand_serial = yes\ndefault_md = sha256\npolicy = any_subject\n"
                "unique_subject = no\n",
                c->base, c->signer, c->signer, c->base);
    }
    return close_written(f, path);
}

static void add_new_key_args(arg_list *a, const char *base)
{
    args_add(a, "-newkey");
    args_add(a, "ec");
    args_add(a, "-pkeyopt");
    args_add(a, "ec_paramgen_curve:P-256");
    args_add(a, "-nodes");
    args_add(a, "-keyout");
    args_add(a, "%s.key", base);
}

static bool format_cert_time(time_t t, char *buf, size_t cap)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, cap, "%Y%m%d%H%M%SZ", &tm) == 0) {
        fail("cannot format a certificate date");
        return false;
    }
    return true;
}

static bool make_certificates(const char *run_dir)
{
    char tls_dir[SERVICES_PATH_MAX], path[SERVICES_PATH_MAX], log_path[SERVICES_PATH_MAX];
    if (!format_path(tls_dir, sizeof tls_dir, "%s/tls", run_dir) ||
        !format_path(log_path, sizeof log_path, "%s/openssl.log", run_dir) || !make_dir(tls_dir) ||
        !format_path(path, sizeof path, "%s/issued", tls_dir) || !make_dir(path) ||
        !format_path(path, sizeof path, "%s/openssl.cnf", tls_dir) || !write_openssl_config(path))
        return false;

    /* Valid from a day ago, so a client whose clock lags a little accepts it. */
    time_t now = time(NULL);
    char valid_from[32], valid_until[32];
    if (!format_cert_time(now - 24 * 3600, valid_from, sizeof valid_from) ||
        !format_cert_time(now + 365 * 24 * 3600, valid_until, sizeof valid_until))
        return false;

    /* First the two CAs, the self-signed leaf and the other leaves' keys
     * and requests; then the signings. */
    arg_list commands[LEAF_COUNT + 2];
    size_t count = 0;
    for (size_t i = 0; i < sizeof ca_certs / sizeof ca_certs[0]; i++) {
        arg_list *a = &commands[count++];
        memset(a, 0, sizeof *a);
        args_add(a, "openssl");
        args_add(a, "req");
        args_add(a, "-config");
        args_add(a, "openssl.cnf");
        args_add(a, "-x509");
        args_add(a, "-extensions");
        args_add(a, "ca_ext");
        args_add(a, "-days");
        args_add(a, "3650");
        args_add(a, "-subj");
        args_add(a, "/CN=%s", ca_certs[i].common_name);
        add_new_key_args(a, ca_certs[i].base);
        args_add(a, "-out");
        args_add(a, "%s.pem", ca_certs[i].base);
    }
    for (size_t i = 0; i < LEAF_COUNT; i++) {
        const struct leaf_cert *c = &leaf_certs[i];
        arg_list *a = &commands[count++];
        memset(a, 0, sizeof *a);
        args_add(a, "openssl");
        args_add(a, "req");
        args_add(a, "-config");
        args_add(a, "openssl.cnf");
        args_add(a, "-subj");
        args_add(a, "/CN=%s", c->common_name);
        add_new_key_args(a, c->base);
        if (c->signer) {
            args_add(a, "-new");
            args_add(a, "-out");
            args_add(a, "%s.csr", c->base);
        } else {
            args_add(a, "-x509");
            args_add(a, "-days");
            args_add(a, "365");
            args_add(a, "-extensions");
            args_add(a, "%s_ext", c->base);
            args_add(a, "-out");
            args_add(a, "%s.pem", c->base);
        }
    }
    if (!run_openssl_batch(commands, count, tls_dir, log_path)) return false;

    count = 0;
    for (size_t i = 0; i < LEAF_COUNT; i++) {
        const struct leaf_cert *c = &leaf_certs[i];
        if (!c->signer) continue;
        if (!format_path(path, sizeof path, "%s/%s.index", tls_dir, c->base) || !write_file(path, "", 0))
            return false;
        arg_list *a = &commands[count++];
        memset(a, 0, sizeof *a);
        args_add(a, "openssl");
        args_add(a, "ca");
        args_add(a, "-config");
        args_add(a, "openssl.cnf");
        args_add(a, "-name");
        args_add(a, "%s_signing", c->base);
        args_add(a, "-batch");
        args_add(a, "-notext");
        /* openssl req cannot backdate; openssl ca can, which the expired one needs */
        args_add(a, "-startdate");
        args_add(a, "%s", c->expired ? "20200101000000Z" : valid_from);
        args_add(a, "-enddate");
        args_add(a, "%s", c->expired ? "20200102000000Z" : valid_until);
        args_add(a, "-extensions");
        args_add(a, "%s_ext", c->base);
        args_add(a, "-in");
        args_add(a, "%s.csr", c->base);
        args_add(a, "-out");
        args_add(a, "%s.pem", c->base);
    }
    return run_openssl_batch(commands, count, tls_dir, log_path);
}

/* ------------------------------------------------------------ static tree */

uint8_t services_pattern_byte(uint64_t offset)
{
    uint32_t x = (uint32_t)(offset / 4 + 1);
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return (uint8_t)(x >> (8 * (offset % 4)));
}

static bool write_pattern_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fail("cannot create %s: %s", path, strerror(errno));
        return false;
    }
    uint8_t block[64 * 1024];
    bool ok = true;
    for (uint64_t at = 0; ok && at < SERVICES_PATTERN_SIZE; at += sizeof block) {
        for (size_t i = 0; i < sizeof block; i++) block[i] = services_pattern_byte(at + i);
        ok = write_all(fd, block, sizeof block);
    }
    if (!ok) fail("cannot write %s: %s", path, strerror(errno));
    if (close(fd) != 0 && ok) {
        fail("cannot write %s: %s", path, strerror(errno));
        ok = false;
    }
    return ok;
}

static bool write_lines_file(const char *path)
{
    FILE *f = create_file(path);
    if (!f) return false;
    for (int i = 1; i <= LINES_TXT_LINES; i++) fprintf(f, "lines.txt line %05d\n", i);
    return close_written(f, path);
}

static bool make_static_tree(const char *run_dir)
{
    char www[SERVICES_PATH_MAX], path[SERVICES_PATH_MAX];
    return format_path(www, sizeof www, "%s/www", run_dir) && make_dir(www) &&
           format_path(path, sizeof path, "%s/index.html", www) && write_file(path, index_html, strlen(index_html)) &&
           format_path(path, sizeof path, "%s/small.txt", www) &&
           write_file(path, SERVICES_SMALL_TXT, strlen(SERVICES_SMALL_TXT)) &&
           format_path(path, sizeof path, "%s/lines.txt", www) && write_lines_file(path) &&
           format_path(path, sizeof path, "%s%s", www, SERVICES_PATTERN_PATH) && write_pattern_file(path);
}

/* ------------------------------------------------------------------ nginx */

/* As root, nginx would run its worker as "nobody", who cannot read the
 * run directory (0700, with the keys); keep it as the caller instead. */
static bool nginx_user_directive(char *buf, size_t cap)
{
    buf[0] = '\0';
    if (geteuid() != 0) return true;
    struct passwd *pw = getpwuid(geteuid());
    struct group *gr = getgrgid(getegid());
    if (!pw || !gr) {
        fail("cannot find the name of user %ld or group %ld", (long)geteuid(), (long)getegid());
        return false;
    }
    int n = snprintf(buf, cap, "user %s %s;\n", pw->pw_name, gr->gr_name);
    if (n < 0 || (size_t)n >= cap) {
        fail("user name too long for nginx.conf");
        return false;
    }
    return true;
}

static bool write_nginx_config(const char *path, const char *run, const uint16_t ports[PORT_COUNT],
                               const uint16_t gateway_ws_ports[SERVICES_GATEWAY_PROXIES])
{
    char user[600];
    if (!nginx_user_directive(user, sizeof user)) return false;
    FILE *f = create_file(path);
    if (!f) return false;
    fprintf(f,
            "# written by localnet/services.c for one run: every path is in the run directory\n"
            "daemon off;\nmaster_process on;\nworker_processes 1;\n%s"
            "pid \"%s/nginx.pid\";\nerror_log stderr notice;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            "    types { text/html html; text/plain txt; application/octet-stream bin; }\n"
            "    default_type application/octet-stream;\n"
            "    log_format localnet '$remote_addr:$remote_port port=$server_port \"$request\" $status "
            "$body_bytes_sent connection=$connection requests=$connection_requests';\n"
            "    access_log \"%s/" SERVICES_NGINX_ACCESS_LOG "\" localnet;\n"
            "    client_body_temp_path \"%s/nginx/body\";\n    proxy_temp_path \"%s/nginx/proxy\";\n"
            "    fastcgi_temp_path \"%s/nginx/fastcgi\";\n    uwsgi_temp_path \"%s/nginx/uwsgi\";\n"
            "    scgi_temp_path \"%s/nginx/scgi\";\n"
            "    sendfile on;\n    keepalive_timeout 75s;\n    keepalive_requests 10000;\n"
            "    # clients reached a virtual address, not this port: keep Locations relative\n"
            "    absolute_redirect off;\n"
            "    ssl_protocols TLSv1.2 TLSv1.3;\n"
            "    # session IDs as well as tickets, so clients without tickets resume too\n"
            "    ssl_session_cache shared:localnet:1m;\n"
            "    server {\n"
            "        listen 127.0.0.1:%u;\n        listen 127.0.0.1:%u ssl;\n"
            "        ssl_certificate \"%s/tls/good.pem\";\n        ssl_certificate_key \"%s/tls/good.key\";\n"
            "        root \"%s/www\";\n"
            "        # the SSI filter drops Content-Length, so these are sent chunked\n"
            "        location /chunked/ { alias \"%s/www/\"; ssi on; ssi_types text/plain; }\n"
            "        location /gzip/ { alias \"%s/www/\"; gzip on; gzip_min_length 0; gzip_types *; }\n"
            "        location = /redirect/3 { return 302 /redirect/2; }\n"
            "        location = /redirect/2 { return 302 /redirect/1; }\n"
            "        location = /redirect/1 { return 302 /small.txt; }\n"
            "        location = /status/204 { return 204; }\n"
            "        location = /status/304 { return 304; }\n"
            "    }\n",
            user, run, run, run, run, run, run, run, ports[PORT_NGINX_HTTP], ports[PORT_NGINX_HTTPS], run, run, run,
            run, run);
    for (size_t i = 0; i < sizeof bad_tls_servers / sizeof bad_tls_servers[0]; i++) {
        const struct bad_tls_server *b = &bad_tls_servers[i];
        fprintf(f,
                "    server {\n        listen 127.0.0.1:%u ssl;\n"
                "        ssl_certificate \"%s/tls/%s.pem\";\n        ssl_certificate_key \"%s/tls/%s.key\";\n"
                "        default_type text/plain;\n        return 200 \"%s\";\n    }\n",
                ports[b->port], run, b->cert_base, run, b->cert_base, b->answer);
    }
    /* wss for the gateways, as nym-nodes put a reverse proxy before their ws port */
    for (int i = 0; i < SERVICES_GATEWAY_PROXIES; i++) {
        if (!gateway_ws_ports || !gateway_ws_ports[i]) continue;
        fprintf(f,
                "    server {\n        listen 127.0.0.1:%u ssl;\n"
                "        ssl_certificate \"%s/tls/good.pem\";\n        ssl_certificate_key \"%s/tls/good.key\";\n"
                "        location / {\n            proxy_pass http://127.0.0.1:%u;\n"
                "            proxy_http_version 1.1;\n            proxy_set_header Upgrade $http_upgrade;\n"
                "            proxy_set_header Connection \"upgrade\";\n            proxy_buffering off;\n"
                "            proxy_read_timeout 1h;\n            proxy_send_timeout 1h;\n        }\n    }\n",
                ports[PORT_GATEWAY_WSS_FIRST + i], run, run, gateway_ws_ports[i]);
    }
    fputs("}\n", f);
    return close_written(f, path);
}

/* ------------------------------------------------------------ the servers */

static bool start_process(services *s, process_slot slot, const arg_list *args, const char *extra_env, int stdin_fd)
{
    service_process *p = &s->processes[slot];
    pid_t pid = spawn(args, s->run_dir, p->log_path, extra_env, stdin_fd);
    if (pid < 0) {
        fail("%s did not start", p->name);
        return false;
    }
    p->pid = pid;
    return true;
}

static bool start_dnsmasq(services *s, const uint16_t ports[PORT_COUNT])
{
    arg_list a;
    memset(&a, 0, sizeof a);
    args_add(&a, "dnsmasq");
    args_add(&a, "--keep-in-foreground");
    args_add(&a, "--conf-file=/dev/null");
    args_add(&a, "--port=%u", ports[PORT_DNS]);
    args_add(&a, "--listen-address=127.0.0.1");
    args_add(&a, "--bind-interfaces");
    args_add(&a, "--no-resolv");
    args_add(&a, "--no-hosts");
    /* no upstream: every name the zone lacks answers NXDOMAIN */
    args_add(&a, "--local=/#/");
    args_add(&a, "--local-ttl=60");
    args_add(&a, "--pid-file=%s/dnsmasq.pid", s->run_dir);
    args_add(&a, "--log-facility=-");
    args_add(&a, "--log-queries");
    if (geteuid() == 0) {
        /* dnsmasq would switch to "nobody", and a change of user clears
         * PR_SET_PDEATHSIG: stay who we are. */
        struct passwd *pw = getpwuid(geteuid());
        struct group *gr = getgrgid(getegid());
        if (!pw || !gr) {
            fail("cannot find the name of user %ld or group %ld", (long)geteuid(), (long)getegid());
            return false;
        }
        args_add(&a, "--user=%s", pw->pw_name);
        args_add(&a, "--group=%s", gr->gr_name);
    }
    for (int i = 0; i < SERVICES_ROUTE_COUNT; i++) {
        const struct route_template *r = &route_templates[i];
        bool seen = false;
        for (int j = 0; j < i; j++) seen = seen || strcmp(route_templates[j].name, r->name) == 0;
        if (seen) continue;
        if (strcmp(r->name, SERVICES_NGINX_NAME) == 0)
            args_add(&a, "--host-record=%s,%s,%s", r->name, r->virtual_ip, SERVICES_NGINX_IPV6);
        else
            args_add(&a, "--host-record=%s,%s", r->name, r->virtual_ip);
    }
    return start_process(s, PROC_DNSMASQ, &a, NULL, -1);
}

static bool start_httpbin(services *s, process_slot slot, uint16_t port, bool tls)
{
    char tmp_dir[SERVICES_PATH_MAX];
    if (!format_path(tmp_dir, sizeof tmp_dir, "%s/gunicorn", s->run_dir) || !make_dir(tmp_dir)) return false;
    arg_list a;
    memset(&a, 0, sizeof a);
    args_add(&a, "gunicorn");
    args_add(&a, "--bind=127.0.0.1:%u", port);
    /* threads: keep-alive, and slow endpoints (/delay, /drip) do not block others */
    args_add(&a, "--worker-class=gthread");
    args_add(&a, "--workers=1");
    args_add(&a, "--threads=16");
    args_add(&a, "--keep-alive=30");
    /* on SIGTERM (the parent died) wait 1 s, not 30, for open connections */
    args_add(&a, "--graceful-timeout=1");
    args_add(&a, "--worker-tmp-dir=%s", tmp_dir);
    args_add(&a, "--access-logfile=-");
    if (tls) {
        args_add(&a, "--certfile=%s/tls/good.pem", s->run_dir);
        args_add(&a, "--keyfile=%s/tls/good.key", s->run_dir);
    }
    args_add(&a, "httpbin:app");
    /* Python would otherwise write bytecode caches beside httpbin */
    return start_process(s, slot, &a, "PYTHONDONTWRITEBYTECODE=1", -1);
}

static bool start_nginx(services *s, const uint16_t ports[PORT_COUNT])
{
    char dir[SERVICES_PATH_MAX], conf[SERVICES_PATH_MAX];
    if (!format_path(dir, sizeof dir, "%s/nginx", s->run_dir) || !make_dir(dir) ||
        !format_path(conf, sizeof conf, "%s/nginx.conf", dir) || !write_nginx_config(conf, s->run_dir, ports, s->gateway_ws_ports))
        return false;
    arg_list a;
    memset(&a, 0, sizeof a);
    args_add(&a, "nginx");
    args_add(&a, "-p");
    args_add(&a, "%s/", dir);
    args_add(&a, "-c");
    args_add(&a, "%s", conf);
    args_add(&a, "-e");
    args_add(&a, "stderr");
    return start_process(s, PROC_NGINX, &a, NULL, -1);
}

static bool start_ws_echo(services *s, const uint16_t ports[PORT_COUNT])
{
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) {
        fail("pipe for ws-echo: %s", strerror(errno));
        return false;
    }
    /* only ws-echo may hold the read end, and only we the write end */
    pipe_fds[0] = fd_above_stdio(pipe_fds[0]);
    pipe_fds[1] = fd_above_stdio(pipe_fds[1]);
    if (pipe_fds[0] < 0 || pipe_fds[1] < 0 || fcntl(pipe_fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(pipe_fds[1], F_SETFD, FD_CLOEXEC) != 0) {
        fail("ws-echo's stdin pipe: %s", strerror(errno));
        if (pipe_fds[0] >= 0) close(pipe_fds[0]);
        if (pipe_fds[1] >= 0) close(pipe_fds[1]);
        return false;
    }
    s->ws_echo_stdin_fd = pipe_fds[1];
    arg_list a;
    memset(&a, 0, sizeof a);
    args_add(&a, "node");
    args_add(&a, "%s", SERVICES_WS_ECHO_SCRIPT);
    args_add(&a, "--port=%u", ports[PORT_WS]);
    args_add(&a, "--tls-port=%u", ports[PORT_WSS]);
    args_add(&a, "--cert=%s/tls/good.pem", s->run_dir);
    args_add(&a, "--key=%s/tls/good.key", s->run_dir);
    bool ok = start_process(s, PROC_WS_ECHO, &a, NULL, pipe_fds[0]);
    close(pipe_fds[0]);
    return ok;
}

/* Paths go into nginx.conf in double quotes: refuse what would break them. */
static bool run_dir_is_usable(const char *run_dir)
{
    for (const char *c = run_dir; *c; c++) {
        if ((unsigned char)*c < 0x20 || strchr("\"'\\$;{}#", *c)) {
            fail("run directory %s has a character (0x%02x) nginx's configuration cannot carry", run_dir,
                 (unsigned char)*c);
            return false;
        }
    }
    struct stat st;
    if (stat(run_dir, &st) != 0) {
        fail("run directory %s: %s", run_dir, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        fail("run directory %s is not a directory", run_dir);
        return false;
    }
    return true;
}

int services_start(const char *run_dir, const uint16_t gateway_ws_ports[SERVICES_GATEWAY_PROXIES], services *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < SERVICES_GATEWAY_PROXIES && gateway_ws_ports; i++) out->gateway_ws_ports[i] = gateway_ws_ports[i];
    out->ws_echo_stdin_fd = -1;
    for (int i = 0; i < SERVICES_PROCESS_COUNT; i++) out->processes[i].name = process_names[i];
    /* absolute, since the servers run in other working directories */
    if (!realpath(run_dir, out->run_dir)) {
        fail("run directory %s: %s", run_dir, strerror(errno));
        return -1;
    }
    if (!run_dir_is_usable(out->run_dir)) return -1;
    if (!format_path(out->ca_pem_path, sizeof out->ca_pem_path, "%s/tls/test_ca.pem", out->run_dir)) return -1;
    for (int i = 0; i < SERVICES_PROCESS_COUNT; i++) {
        if (!format_path(out->processes[i].log_path, sizeof out->processes[i].log_path, "%s/%s.log", out->run_dir,
                         process_names[i]))
            return -1;
    }

    uint16_t ports[PORT_COUNT];
    int held_fds[PORT_COUNT + 1];
    for (int i = 0; i <= PORT_COUNT; i++) held_fds[i] = -1;
    if (!hold_ports(ports, held_fds)) {
        release_ports(held_fds);
        return -1;
    }
    for (int i = 0; i < SERVICES_ROUTE_COUNT; i++) {
        const struct route_template *t = &route_templates[i];
        out->routes[i] = (service_route){t->name, t->virtual_ip, t->virtual_port, t->proto, ports[t->port]};
    }
    for (int i = 0; i < SERVICES_GATEWAY_PROXIES; i++)
        out->gateway_wss_ports[i] = out->gateway_ws_ports[i] ? ports[PORT_GATEWAY_WSS_FIRST + i] : 0;

    /* the slow starters first: they boot while the certificates are made */
    bool ok = start_dnsmasq(out, ports) && start_httpbin(out, PROC_HTTPBIN, ports[PORT_HTTPBIN_HTTP], false) &&
              make_certificates(out->run_dir) && make_static_tree(out->run_dir) && start_nginx(out, ports) &&
              start_ws_echo(out, ports) && start_httpbin(out, PROC_HTTPBIN_TLS, ports[PORT_HTTPBIN_HTTPS], true) &&
              wait_until_accepting(out, ports);
    release_ports(held_fds);
    if (!ok) {
        services_stop(out);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------- stop */

/* Once the leader has exited, kills what is left of its group (workers,
 * dnsmasq's TCP children) while the unreaped leader still reserves the
 * group's number, then reaps the leader. */
static void finish_process(service_process *p)
{
    if (kill(-p->pid, SIGKILL) != 0 && errno != ESRCH)
        fail("kill(-%ld, SIGKILL) for %s: %s", (long)p->pid, p->name, strerror(errno));
    if (wait_for(p->pid, NULL, 0) < 0 && errno != ECHILD)
        fail("waitpid for %s (pid %ld): %s", p->name, (long)p->pid, strerror(errno));
    p->pid = 0;
}

void services_stop(services *s)
{
    /* ws-echo also exits on its own when its stdin closes */
    if (s->ws_echo_stdin_fd >= 0) {
        close(s->ws_echo_stdin_fd);
        s->ws_echo_stdin_fd = -1;
    }
    for (int i = 0; i < SERVICES_PROCESS_COUNT; i++) {
        service_process *p = &s->processes[i];
        if (p->pid > 0 && kill(p->pid, stop_signals[i]) != 0 && errno != ESRCH)
            fail("kill(%ld, %d) for %s: %s", (long)p->pid, stop_signals[i], p->name, strerror(errno));
    }
    int64_t deadline = now_ms() + STOP_GRACE_MS;
    for (;;) {
        bool any_left = false;
        for (int i = 0; i < SERVICES_PROCESS_COUNT; i++) {
            service_process *p = &s->processes[i];
            if (p->pid <= 0) continue;
            siginfo_t info;
            memset(&info, 0, sizeof info);
            /* WNOWAIT: see whether it exited without reaping it yet */
            int r;
            while ((r = waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG | WNOWAIT)) != 0 && errno == EINTR) {
            }
            if (r != 0 || info.si_pid == p->pid)
                finish_process(p);
            else
                any_left = true;
        }
        if (!any_left) return;
        if (now_ms() > deadline) break;
        sleep_ms(POLL_INTERVAL_MS);
    }
    for (int i = 0; i < SERVICES_PROCESS_COUNT; i++) {
        service_process *p = &s->processes[i];
        if (p->pid <= 0) continue;
        fail("%s (pid %ld) did not stop within %d s; killing it", p->name, (long)p->pid, STOP_GRACE_MS / 1000);
        finish_process(p);
    }
}

/* ---------------------------------------------------------------- queries */

const service_route *services_route_find(const services *s, const char *virtual_ip, uint16_t virtual_port,
                                         service_proto proto)
{
    for (int i = 0; i < SERVICES_ROUTE_COUNT; i++) {
        const service_route *r = &s->routes[i];
        if (r->virtual_port == virtual_port && r->proto == proto && strcmp(r->virtual_ip, virtual_ip) == 0) return r;
    }
    return NULL;
}

typedef struct {
    char *buf;
    size_t cap, len;
    bool overflow;
} json_out;

static void json_printf(json_out *j, const char *fmt, ...)
{
    if (j->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(j->buf + j->len, j->cap - j->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= j->cap - j->len)
        j->overflow = true;
    else
        j->len += (size_t)n;
}

static void json_string(json_out *j, const char *s)
{
    json_printf(j, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            json_printf(j, "\\%c", c);
        else if (c < 0x20)
            json_printf(j, "\\u%04x", c);
        else
            json_printf(j, "%c", c);
    }
    json_printf(j, "\"");
}

int services_status_json(const services *s, char *buf, size_t cap)
{
    if (cap == 0) return -1;
    json_out j = {buf, cap, 0, false};
    buf[0] = '\0';
    json_printf(&j, "\"test_ca_pem\":");
    json_string(&j, s->ca_pem_path);
    json_printf(&j, ",\"dns_zone\":\"%s\",\"dns_servers\":[\"%s\",\"%s\"],\"services\":[", SERVICES_ZONE,
                SERVICES_RESOLVER1_IP, SERVICES_RESOLVER2_IP);
    for (int i = 0; i < SERVICES_ROUTE_COUNT; i++) {
        const service_route *r = &s->routes[i];
        json_printf(&j, "%s{\"name\":\"%s\",\"ip\":\"%s\",\"port\":%u,\"proto\":\"%s\",\"real_port\":%u}",
                    i ? "," : "", r->name, r->virtual_ip, r->virtual_port,
                    r->proto == SERVICE_PROTO_TCP ? "tcp" : "udp", r->real_port);
    }
    json_printf(&j, "]");
    return j.overflow ? -1 : (int)j.len;
}
