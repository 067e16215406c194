/* Time and one-shot timers in the browser's worker (and in node for the
 * tests): performance.now, Date.now and setTimeout. Not through
 * emscripten_set_timeout: Emscripten 3.1.6 keeps the runtime alive for
 * every timer it starts and forgets to let go of a cancelled one, which
 * makes a test program under node lose its exit status. */
#include "platform/platform.h"

#include <emscripten.h>
#include <emscripten/html5.h>
#include <stdlib.h>

#define WEB_TIMER_MAX_ID 0x7FFFFFFF /* ids travel to JS as signed 32-bit numbers */

typedef struct {
    uint32_t id;
    platform_timer_callback callback;
    void *ctx;
} web_timer;

static struct {
    web_timer *list; /* the timers not yet fired, unordered */
    size_t count, cap;
    uint32_t last_id;
} timers;

EM_JS(void, web_timer_set, (int id, double delay_ms), {
    if (!Module.webTimers) Module.webTimers = new Map();
    Module.webTimers.set(id, setTimeout(function() {
        Module.webTimers.delete(id);
        Module["_web_timer_fired"](id);
    }, delay_ms));
});

EM_JS(void, web_timer_clear, (int id), {
    if (Module.webTimers && Module.webTimers.has(id)) {
        clearTimeout(Module.webTimers.get(id));
        Module.webTimers.delete(id);
    }
});

uint64_t platform_monotonic_ms(void)
{
    return (uint64_t)emscripten_get_now();
}

uint64_t platform_unix_time_s(void)
{
    return (uint64_t)(emscripten_date_now() / 1000);
}

/* Takes the timer out of the list; false when it is not there. */
static bool web_timer_take(uint32_t id, web_timer *out)
{
    for (size_t i = 0; i < timers.count; i++) {
        if (timers.list[i].id == id) {
            *out = timers.list[i];
            timers.list[i] = timers.list[--timers.count];
            return true;
        }
    }
    return false;
}

EMSCRIPTEN_KEEPALIVE void web_timer_fired(int id)
{
    web_timer timer;
    if (web_timer_take((uint32_t)id, &timer)) timer.callback(timer.ctx);
}

uint32_t platform_timer_start(uint64_t delay_ms, platform_timer_callback callback, void *ctx)
{
    if (timers.count == timers.cap) {
        size_t cap = timers.cap ? timers.cap * 2 : 32;
        web_timer *grown = realloc(timers.list, cap * sizeof *grown);
        if (!grown) return 0;
        timers.list = grown;
        timers.cap = cap;
    }
    timers.last_id = timers.last_id >= WEB_TIMER_MAX_ID ? 1 : timers.last_id + 1;
    timers.list[timers.count++] = (web_timer){timers.last_id, callback, ctx};
    web_timer_set((int)timers.last_id, (double)delay_ms);
    return timers.last_id;
}

void platform_timer_cancel(uint32_t id)
{
    web_timer timer;
    if (web_timer_take(id, &timer)) web_timer_clear((int)id);
}
