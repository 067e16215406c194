/* Tests of the native tunnel start their own localnet: the localnet
 * binary as a child process, its status line parsed, commands sent on its
 * stdin, and the process stopped by its PID; and tunnels set up for it. */
#ifndef MIX_TEST_LOCALNET_CHILD_H
#define MIX_TEST_LOCALNET_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mixnet/mixnet.h"
#include "tunnel/tunnel.h"

typedef struct {
    pid_t pid;
    int command_fd; /* its stdin */
    int output_fd;  /* its stdout, after the status line */
    char run_dir[256];
    char directory_url[256];
    char entry_identity[64];
    char entry_ws_url[128];
    char entry_wss_url[128];
    char ipr_address[MIXNET_RECIPIENT_TEXT_MAX];
    char test_ca_pem[256];
    char status_line[16384];
} localnet_child;

/* Starts build/native/bin/localnet with extra arguments (may be NULL) and
 * waits for its status line. */
bool localnet_child_start(localnet_child *ln, const char *const *extra_args);
/* Sends one stdin command and waits for its one-line answer. */
bool localnet_child_command(localnet_child *ln, const char *command, char *answer, size_t answer_cap);
/* Closes its stdin (it then stops everything it started) and reaps it,
 * killing it if it does not exit in time. */
void localnet_child_stop(localnet_child *ln);

/* A tunnel's states as a test sees them. */
typedef struct {
    tunnel_state state;
    char reason[320];
    int ready_count;
} observed;

/* tunnel_callbacks.state_changed for an observed (the ctx). */
void observe_state(void *ctx, tunnel_state state, const char *reason);
/* Runs the event loop while the tunnel is still connecting. */
void run_until_settled(observed *o, uint64_t timeout_ms);
/* The tunnel settings for this localnet: its directory and IPR, ws or wss. */
void tunnel_config_for(tunnel_config *c, const localnet_child *ln, const char *client_id, bool tls);

/* A localnet and a ready tunnel through it (ws, the given gateway, Poisson
 * traffic off so tests run at the network's speed), for a test group. */
typedef struct {
    localnet_child ln;
    char storage[64];
    observed state;
    tunnel *t;
} tunnel_fixture;

/* False (after saying why on stderr) when localnet or the tunnel did not
 * come up; tunnel_fixture_stop is still due. */
bool tunnel_fixture_start(tunnel_fixture *f, const char *client_id);
void tunnel_fixture_stop(tunnel_fixture *f);

/* Runs the event loop until *done or the timeout; gives *done. */
bool run_until(const bool *done, uint64_t timeout_ms);

#endif
