/* The native event loop: poll() over watched descriptors plus a heap of
 * one-shot timers. Single-threaded, like the core it drives. */
#define _POSIX_C_SOURCE 200809L
#include "platform/platform.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WATCHED_FDS 1024

typedef struct {
    uint64_t due_ms;
    uint64_t sequence; /* keeps equal deadlines in start order */
    uint32_t id;
    platform_timer_callback callback;
    void *ctx;
} timer_entry;

typedef struct {
    int fd;
    bool want_read, want_write;
    platform_fd_callback callback;
    void *ctx;
} fd_watch;

static struct {
    timer_entry *timers; /* a binary min-heap on (due_ms, sequence) */
    size_t timer_count, timer_cap;
    uint32_t next_timer_id;
    uint64_t next_sequence;
    fd_watch watches[MAX_WATCHED_FDS];
    size_t watch_count;
} loop;

uint64_t platform_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t platform_unix_time_s(void)
{
    return (uint64_t)time(NULL);
}

void platform_log(const char *message)
{
    fprintf(stderr, "[%llu] %s\n", (unsigned long long)platform_monotonic_ms(), message);
}

static bool timer_before(const timer_entry *a, const timer_entry *b)
{
    return a->due_ms != b->due_ms ? a->due_ms < b->due_ms : a->sequence < b->sequence;
}

static void timer_swap(size_t i, size_t j)
{
    timer_entry t = loop.timers[i];
    loop.timers[i] = loop.timers[j];
    loop.timers[j] = t;
}

static void heap_up(size_t i)
{
    while (i > 0 && timer_before(&loop.timers[i], &loop.timers[(i - 1) / 2])) {
        timer_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(size_t i)
{
    for (;;) {
        size_t smallest = i, l = 2 * i + 1, r = l + 1;
        if (l < loop.timer_count && timer_before(&loop.timers[l], &loop.timers[smallest])) smallest = l;
        if (r < loop.timer_count && timer_before(&loop.timers[r], &loop.timers[smallest])) smallest = r;
        if (smallest == i) return;
        timer_swap(i, smallest);
        i = smallest;
    }
}

static void heap_remove_at(size_t i)
{
    loop.timers[i] = loop.timers[--loop.timer_count];
    if (i < loop.timer_count) {
        heap_up(i);
        heap_down(i);
    }
}

uint32_t platform_timer_start(uint64_t delay_ms, platform_timer_callback callback, void *ctx)
{
    if (loop.timer_count == loop.timer_cap) {
        size_t cap = loop.timer_cap ? loop.timer_cap * 2 : 64;
        timer_entry *grown = realloc(loop.timers, cap * sizeof *grown);
        if (!grown) return 0;
        loop.timers = grown;
        loop.timer_cap = cap;
    }
    if (++loop.next_timer_id == 0) loop.next_timer_id = 1;
    loop.timers[loop.timer_count] = (timer_entry){platform_monotonic_ms() + delay_ms, loop.next_sequence++,
                                                  loop.next_timer_id, callback, ctx};
    heap_up(loop.timer_count++);
    return loop.next_timer_id;
}

void platform_timer_cancel(uint32_t id)
{
    for (size_t i = 0; i < loop.timer_count; i++) {
        if (loop.timers[i].id == id) {
            heap_remove_at(i);
            return;
        }
    }
}

static fd_watch *find_watch(int fd)
{
    for (size_t i = 0; i < loop.watch_count; i++)
        if (loop.watches[i].fd == fd) return &loop.watches[i];
    return NULL;
}

int platform_watch_fd(int fd, bool want_read, bool want_write, platform_fd_callback callback, void *ctx)
{
    fd_watch *w = find_watch(fd);
    if (!w) {
        if (loop.watch_count == MAX_WATCHED_FDS) return -1;
        w = &loop.watches[loop.watch_count++];
    }
    *w = (fd_watch){fd, want_read, want_write, callback, ctx};
    return 0;
}

void platform_unwatch_fd(int fd)
{
    fd_watch *w = find_watch(fd);
    if (w) *w = loop.watches[--loop.watch_count];
}

/* Runs the timers due now; a callback may start or cancel timers. */
static int run_due_timers(void)
{
    int ran = 0;
    uint64_t now = platform_monotonic_ms();
    while (loop.timer_count > 0 && loop.timers[0].due_ms <= now) {
        timer_entry due = loop.timers[0];
        heap_remove_at(0);
        due.callback(due.ctx);
        ran++;
    }
    return ran;
}

int platform_run_once(uint64_t max_wait_ms)
{
    int ran = run_due_timers();
    uint64_t wait = ran ? 0 : max_wait_ms;
    if (loop.timer_count > 0) {
        uint64_t now = platform_monotonic_ms();
        uint64_t until = loop.timers[0].due_ms > now ? loop.timers[0].due_ms - now : 0;
        if (until < wait) wait = until;
    }

    struct pollfd fds[MAX_WATCHED_FDS];
    size_t n = loop.watch_count;
    for (size_t i = 0; i < n; i++) {
        fds[i] = (struct pollfd){.fd = loop.watches[i].fd,
                                 .events = (short)((loop.watches[i].want_read ? POLLIN : 0) |
                                                   (loop.watches[i].want_write ? POLLOUT : 0))};
    }
    int ready = poll(fds, n, wait > 60000 ? 60000 : (int)wait);
    if (ready < 0 && errno != EINTR) {
        perror("poll");
        return ran;
    }
    for (size_t i = 0; ready > 0 && i < n; i++) {
        if (!fds[i].revents) continue;
        /* a callback may have unwatched or replaced this descriptor */
        fd_watch *w = find_watch(fds[i].fd);
        if (!w) continue;
        bool readable = fds[i].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL);
        bool writable = fds[i].revents & POLLOUT;
        w->callback(w->ctx, fds[i].fd, readable, writable);
        ran++;
    }
    return ran + run_due_timers();
}
