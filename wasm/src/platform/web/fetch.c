/* Directory requests in the browser: fetch(), with an AbortController for
 * the timeout and for cancelling; or the answer the page already fetched
 * for that URL, when the worker has one (Module.mixPrefetched). */
#include "platform/platform.h"

#include <emscripten.h>
#include <stdlib.h>

typedef struct web_fetch {
    uint32_t id;
    platform_fetch_callback callback;
    void *ctx;
    struct web_fetch *next;
} web_fetch;

static web_fetch *fetches;
static uint32_t last_fetch_id;

EM_JS(void, web_fetch_start, (int id, const char *url, const char *accept, double timeout_ms, double max_body), {
    if (!Module.webFetches) Module.webFetches = new Map();
    const controller = new AbortController();
    Module.webFetches.set(id, controller);
    const timer = timeout_ms > 0 ? setTimeout(() => {
        finish(0, null, "timed out");
        controller.abort();
    }, timeout_ms) : null;
    const finish = (status, bytes, error) => {
        if (timer) clearTimeout(timer);
        if (!Module.webFetches.has(id)) return; /* cancelled */
        Module.webFetches.delete(id);
        const body = bytes ? Module["_malloc"](Math.max(bytes.length, 1)) : 0;
        if (body) HEAPU8.set(bytes, body);
        const size = lengthBytesUTF8(error) + 1;
        const text = Module["_malloc"](size);
        if (text) stringToUTF8(error, text, size);
        Module["_web_fetch_done"](id, status, body, bytes ? bytes.length : 0, text);
        if (body) Module["_free"](body);
        if (text) Module["_free"](text);
    };
    const address = UTF8ToString(url);
    const prefetched = Module.mixPrefetched && Module.mixPrefetched.get(address);
    if (prefetched) Module.mixPrefetched.delete(address);
    /* credentials and referrer stay home: the directory learns nothing of the page */
    const answer = prefetched || fetch(address, {headers: {accept: UTF8ToString(accept)}, signal: controller.signal,
                                                 credentials: "omit", referrerPolicy: "no-referrer", cache: "no-store"})
        .then(async (response) => ({status: response.status, body: new Uint8Array(await response.arrayBuffer()), error: ""}));
    answer.then((a) => {
            if (a.body && a.body.length > max_body) finish(0, null, "response body too large");
            else finish(a.status, a.body, a.error);
        })
        .catch((e) => finish(0, null, String(e && e.message || e)));
});

EM_JS(void, web_fetch_abort, (int id), {
    const controller = Module.webFetches && Module.webFetches.get(id);
    if (!controller) return;
    Module.webFetches.delete(id);
    controller.abort();
});

static web_fetch *take_fetch(uint32_t id)
{
    for (web_fetch **p = &fetches; *p; p = &(*p)->next) {
        if ((*p)->id == id) {
            web_fetch *f = *p;
            *p = f->next;
            return f;
        }
    }
    return NULL;
}

EMSCRIPTEN_KEEPALIVE void web_fetch_done(int id, int status, const uint8_t *body, size_t len, const char *error)
{
    web_fetch *f = take_fetch((uint32_t)id);
    if (!f) return;
    f->callback(f->ctx, status, body, len, status ? NULL : error ? error : "out of memory");
    free(f);
}

uint32_t platform_fetch(const char *url, const char *accept, uint32_t timeout_ms, size_t max_body,
                        platform_fetch_callback callback, void *ctx)
{
    web_fetch *f = calloc(1, sizeof *f);
    if (!f) return 0;
    last_fetch_id = last_fetch_id >= 0x7FFFFFFF ? 1 : last_fetch_id + 1;
    *f = (web_fetch){last_fetch_id, callback, ctx, fetches};
    fetches = f;
    web_fetch_start((int)f->id, url, accept, (double)timeout_ms, (double)max_body);
    return f->id;
}

void platform_fetch_cancel(uint32_t id)
{
    web_fetch *f = take_fetch(id);
    if (!f) return;
    web_fetch_abort((int)id);
    free(f);
}
