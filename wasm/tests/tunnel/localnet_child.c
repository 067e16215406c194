#define _POSIX_C_SOURCE 200809L
#include "localnet_child.h"

#include "codec/codec.h"
#include "platform/platform.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 60000
#define STOP_TIMEOUT_MS 10000
#define LOCALNET_BINARY "build/native/bin/localnet"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads one line (without its newline) within timeout_ms. */
static bool read_line(int fd, char *out, size_t cap, int timeout_ms)
{
    size_t n = 0;
    long long deadline = now_ms() + timeout_ms;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) return false;
        char c;
        if (read(fd, &c, 1) != 1) return false;
        if (c == '\n') {
            out[n] = '\0';
            return true;
        }
        out[n++] = c;
    }
    return false;
}

static void copy_string(const json_value *obj, const char *key, char *out, size_t cap)
{
    json_value v;
    out[0] = '\0';
    if (json_object_get(obj, key, &v)) (void)json_as_string(&v, out, cap, NULL);
}

static bool parse_status(localnet_child *ln)
{
    json_value root, gateways, gateway;
    if (!json_parse(&root, ln->status_line, strlen(ln->status_line))) return false;
    copy_string(&root, "directory_url", ln->directory_url, sizeof ln->directory_url);
    copy_string(&root, "ipr_address", ln->ipr_address, sizeof ln->ipr_address);
    copy_string(&root, "test_ca_pem", ln->test_ca_pem, sizeof ln->test_ca_pem);
    size_t cursor = 0;
    if (!json_object_get(&root, "gateways", &gateways) || !json_next(&gateways, &cursor, &gateway)) return false;
    copy_string(&gateway, "identity", ln->entry_identity, sizeof ln->entry_identity);
    copy_string(&gateway, "ws_url", ln->entry_ws_url, sizeof ln->entry_ws_url);
    copy_string(&gateway, "wss_url", ln->entry_wss_url, sizeof ln->entry_wss_url);
    return ln->directory_url[0] && ln->entry_identity[0];
}

bool localnet_child_start(localnet_child *ln, const char *const *extra_args)
{
    memset(ln, 0, sizeof *ln);
    snprintf(ln->run_dir, sizeof ln->run_dir, "/tmp/localnet-test-XXXXXX");
    if (!mkdtemp(ln->run_dir)) return false;
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return false;
    const char *argv[32] = {LOCALNET_BINARY, "--run-dir", ln->run_dir};
    size_t argc = 3;
    for (size_t i = 0; extra_args && extra_args[i] && argc < 31; i++) argv[argc++] = extra_args[i];
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execv(LOCALNET_BINARY, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    ln->pid = pid;
    ln->command_fd = in[1];
    ln->output_fd = out[0];
    if (!read_line(ln->output_fd, ln->status_line, sizeof ln->status_line, START_TIMEOUT_MS) || !parse_status(ln)) {
        localnet_child_stop(ln);
        return false;
    }
    return true;
}

bool localnet_child_command(localnet_child *ln, const char *command, char *answer, size_t answer_cap)
{
    size_t len = strlen(command);
    if (write(ln->command_fd, command, len) != (ssize_t)len || write(ln->command_fd, "\n", 1) != 1) return false;
    return read_line(ln->output_fd, answer, answer_cap, 10000);
}

void localnet_child_stop(localnet_child *ln)
{
    if (ln->command_fd > 0) close(ln->command_fd);
    ln->command_fd = -1;
    if (ln->pid > 0) {
        long long deadline = now_ms() + STOP_TIMEOUT_MS;
        int status;
        while (waitpid(ln->pid, &status, WNOHANG) == 0) {
            if (now_ms() > deadline) {
                kill(ln->pid, SIGKILL);
                waitpid(ln->pid, &status, 0);
                break;
            }
            nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
        }
        ln->pid = 0;
    }
    if (ln->output_fd > 0) close(ln->output_fd);
    ln->output_fd = -1;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", ln->run_dir);
    if (ln->run_dir[0] && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", ln->run_dir);
}

void observe_state(void *ctx, tunnel_state state, const char *reason)
{
    observed *o = ctx;
    o->state = state;
    snprintf(o->reason, sizeof o->reason, "%s", reason ? reason : "");
    if (state == TUNNEL_READY) o->ready_count++;
}

void run_until_settled(observed *o, uint64_t timeout_ms)
{
    uint64_t end = platform_monotonic_ms() + timeout_ms;
    while (o->state == TUNNEL_CONNECTING && platform_monotonic_ms() < end) platform_run_once(50);
}

void tunnel_config_for(tunnel_config *c, const localnet_child *ln, const char *client_id, bool tls)
{
    tunnel_config_default(c);
    snprintf(c->nym_api_url, sizeof c->nym_api_url, "%s", ln->directory_url);
    snprintf(c->client_id, sizeof c->client_id, "%s", client_id);
    snprintf(c->preferred_ipr, sizeof c->preferred_ipr, "%s", ln->ipr_address);
    c->force_tls = tls;
    c->connect_timeout_ms = 30000;
}

bool tunnel_fixture_start(tunnel_fixture *f, const char *client_id)
{
    memset(f, 0, sizeof *f);
    f->state.state = TUNNEL_CONNECTING;
    if (!localnet_child_start(&f->ln, NULL)) return false;
    snprintf(f->storage, sizeof f->storage, "/tmp/tunnel-storage-XXXXXX");
    if (!mkdtemp(f->storage)) {
        f->storage[0] = '\0';
        return false;
    }
    platform_set_storage_dir(f->storage);
    tunnel_config c;
    tunnel_config_for(&c, &f->ln, client_id, false);
    snprintf(c.preferred_gateway, sizeof c.preferred_gateway, "%s", f->ln.entry_identity);
    /* the Poisson stream caps sending at about 50 packets a second; make bench measures it */
    c.traffic.disable_poisson_traffic = true;
    f->t = tunnel_create(&c, &(tunnel_callbacks){&f->state, observe_state});
    if (!f->t) return false;
    tunnel_start(f->t);
    run_until_settled(&f->state, 35000);
    if (f->state.state != TUNNEL_READY) fprintf(stderr, "tunnel: %s\n", f->state.reason);
    return f->state.state == TUNNEL_READY;
}

void tunnel_fixture_stop(tunnel_fixture *f)
{
    if (f->t) {
        tunnel_stop(f->t);
        tunnel_destroy(f->t);
        f->t = NULL;
    }
    if (f->storage[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->storage);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", f->storage);
        f->storage[0] = '\0';
    }
    localnet_child_stop(&f->ln);
}

bool run_until(const bool *done, uint64_t timeout_ms)
{
    uint64_t end = platform_monotonic_ms() + timeout_ms;
    while (!*done && platform_monotonic_ms() < end) platform_run_once(50);
    return *done;
}
