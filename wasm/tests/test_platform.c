/* The native platform: timers in deadline order, cancellation, watched
 * descriptors, and storage. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fired[16];
static size_t fired_count;

static void record_timer(void *ctx)
{
    if (fired_count < sizeof fired) fired[fired_count++] = *(const char *)ctx;
}

static void on_pipe(void *ctx, int fd, bool readable, bool writable)
{
    (void)writable;
    char c;
    if (readable && read(fd, &c, 1) == 1) *(char *)ctx = c;
}

void test_platform_loop(void)
{
    fired_count = 0;
    static const char a = 'a', b = 'b', c = 'c', d = 'd';
    uint64_t start = platform_monotonic_ms();
    platform_timer_start(30, record_timer, (void *)&c);
    uint32_t cancelled = platform_timer_start(10, record_timer, (void *)&d);
    platform_timer_start(0, record_timer, (void *)&a);
    platform_timer_start(20, record_timer, (void *)&b);
    CHECK(cancelled != 0);
    platform_timer_cancel(cancelled);
    platform_timer_cancel(999999);
    while (fired_count < 3 && platform_monotonic_ms() - start < 1000) platform_run_once(100);
    CHECK(fired_count == 3 && memcmp(fired, "abc", 3) == 0);
    CHECK(platform_monotonic_ms() - start >= 30);

    int fds[2];
    CHECK(pipe(fds) == 0);
    char got = 0;
    CHECK(platform_watch_fd(fds[0], true, false, on_pipe, &got) == 0);
    CHECK(platform_run_once(0) == 0);
    CHECK(write(fds[1], "x", 1) == 1);
    platform_run_once(100);
    CHECK(got == 'x');
    platform_unwatch_fd(fds[0]);
    CHECK(write(fds[1], "y", 1) == 1);
    platform_run_once(10);
    CHECK(got == 'x');
    close(fds[0]);
    close(fds[1]);
}

void test_platform_storage(void)
{
    char dir[] = "/tmp/mixnet-storage-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    platform_set_storage_dir(dir);
    uint8_t out[8];
    CHECK(platform_storage_load("client", "key", out, sizeof out) == -1);
    platform_storage_save("client", "key", (const uint8_t *)"secret", 6);
    CHECK(platform_storage_load("client", "key", out, sizeof out) == 6 && memcmp(out, "secret", 6) == 0);
    CHECK(platform_storage_load("client", "key", out, 5) == -1);
    platform_storage_save("../escape", "key", (const uint8_t *)"x", 1);
    CHECK(platform_storage_load("../escape", "key", out, sizeof out) == -1);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}
