/* The native tunnel against localnet: it reaches ready over ws and wss,
 * keeps its registration for the next start, repeats a Connect whose
 * answer was lost, and fails with a reason,
 * within its timeout, when the directory or the gateway is not there. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "localnet_child.h"
#include "platform/platform.h"
#include "tunnel/tunnel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t bring_up(const tunnel_config *c, observed *o)
{
    memset(o, 0, sizeof *o);
    o->state = TUNNEL_CONNECTING;
    tunnel_callbacks callbacks = {.ctx = o, .state_changed = observe_state};
    tunnel *t = tunnel_create(c, &callbacks);
    uint64_t start = platform_monotonic_ms();
    tunnel_start(t);
    run_until_settled(o, c->connect_timeout_ms + 5000);
    uint64_t took = platform_monotonic_ms() - start;
    if (o->state != TUNNEL_READY) fprintf(stderr, "tunnel did not get ready: %s\n", o->reason);
    /* what setup came to, not the shutdown that follows */
    observed outcome = *o;
    tunnel_stop(t);
    tunnel_destroy(t);
    *o = outcome;
    return took;
}

void test_tunnel_setup(void)
{
    localnet_child ln;
    if (!CHECK(localnet_child_start(&ln, NULL))) return;
    char storage[] = "/tmp/tunnel-storage-XXXXXX";
    CHECK(mkdtemp(storage) != NULL);
    platform_set_storage_dir(storage);
    tunnel_config c;
    observed o;

    /* first start: registration; second: authentication with the stored key */
    tunnel_config_for(&c, &ln, "first", false);
    uint64_t first = bring_up(&c, &o);
    CHECK(o.ready_count == 1);
    uint64_t second = bring_up(&c, &o);
    CHECK(o.ready_count == 1);
    printf("time to ready over ws: %llu ms registering, %llu ms with stored keys\n", (unsigned long long)first,
           (unsigned long long)second);

    /* wss, trusting localnet's test CA */
    FILE *f = fopen(ln.test_ca_pem, "rb");
    static char pem[65536];
    size_t pem_len = f ? fread(pem, 1, sizeof pem, f) : 0;
    if (f) fclose(f);
    CHECK(pem_len > 0 && platform_set_trust_anchors_pem(pem, pem_len) == 0);
    tunnel_config_for(&c, &ln, "tls", true);
    bring_up(&c, &o);
    CHECK(o.ready_count == 1);

    /* no preferredIpr: the exit is found among the directory's described nodes */
    tunnel_config_for(&c, &ln, "discovering", false);
    c.preferred_ipr[0] = '\0';
    bring_up(&c, &o);
    CHECK(o.ready_count == 1);

    /* the exit's answers to the first two Connects are lost: the repeats,
     * 1 s and then 2 s apart, get the third */
    static char answer[4096];
    CHECK(localnet_child_command(&ln, "lose-connect-answers 2", answer, sizeof answer) && strstr(answer, "ok"));
    tunnel_config_for(&c, &ln, "repeating", false);
    c.ipr.connect_repeat_ms = 1000;
    uint64_t took = bring_up(&c, &o);
    CHECK(o.ready_count == 1 && took >= 3000 && took < 8000);
    CHECK(localnet_child_command(&ln, "stats", answer, sizeof answer) &&
          strstr(answer, "\"connect_answers_lost\":2,") != NULL);
    printf("with the first two Connects' answers lost: ready after %llu ms\n", (unsigned long long)took);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", storage);
    CHECK(system(cmd) == 0);
    localnet_child_stop(&ln);
}

void test_tunnel_failures(void)
{
    localnet_child ln;
    if (!CHECK(localnet_child_start(&ln, NULL))) return;
    tunnel_config c;
    observed o;

    /* a directory that is not there */
    tunnel_config_for(&c, &ln, "nodir", false);
    snprintf(c.nym_api_url, sizeof c.nym_api_url, "http://127.0.0.1:1/api/");
    c.connect_timeout_ms = 5000;
    uint64_t took = bring_up(&c, &o);
    CHECK(o.state == TUNNEL_FAILED && strstr(o.reason, "directory") != NULL && took < 6000);
    printf("no directory: failed after %llu ms: %s\n", (unsigned long long)took, o.reason);

    /* a gateway that is down: the directory still lists it */
    char answer[256];
    CHECK(localnet_child_command(&ln, "stop entry", answer, sizeof answer) && strstr(answer, "ok"));
    CHECK(localnet_child_command(&ln, "stop exit", answer, sizeof answer) && strstr(answer, "ok"));
    tunnel_config_for(&c, &ln, "nogateway", false);
    c.connect_timeout_ms = 8000;
    took = bring_up(&c, &o);
    CHECK(o.state == TUNNEL_FAILED && strstr(o.reason, "gateway") != NULL && took < 9000);
    if (o.state == TUNNEL_FAILED) printf("dead gateway: failed after %llu ms: %s\n", (unsigned long long)took, o.reason);
    localnet_child_stop(&ln);
}

/* Two localnets run side by side without sharing a port, each usable. */
void test_localnet_side_by_side(void)
{
    localnet_child a, b;
    if (!CHECK(localnet_child_start(&a, NULL))) return;
    if (!CHECK(localnet_child_start(&b, NULL))) {
        localnet_child_stop(&a);
        return;
    }
    CHECK(strcmp(a.directory_url, b.directory_url) != 0 && strcmp(a.entry_ws_url, b.entry_ws_url) != 0);
    char storage[] = "/tmp/tunnel-storage-XXXXXX";
    CHECK(mkdtemp(storage) != NULL);
    platform_set_storage_dir(storage);
    tunnel_config c;
    observed o;
    tunnel_config_for(&c, &b, "beside", false);
    bring_up(&c, &o);
    CHECK(o.ready_count == 1);
    /* a stopped and restarted mix node takes packets again */
    char answer[256];
    CHECK(localnet_child_command(&a, "stop mix2", answer, sizeof answer) && strstr(answer, "ok"));
    CHECK(localnet_child_command(&a, "start mix2", answer, sizeof answer) && strstr(answer, "ok"));
    tunnel_config_for(&c, &a, "restarted", false);
    bring_up(&c, &o);
    CHECK(o.ready_count == 1);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", storage);
    CHECK(system(cmd) == 0);
    localnet_child_stop(&b);
    localnet_child_stop(&a);
}
