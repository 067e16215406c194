/* The gateway WebSocket in the browser: a WebSocket object per socket,
 * kept on the JS side by id; its events come back through exported
 * functions, from the browser's event loop. */
#include "platform/platform.h"

#include <emscripten.h>
#include <stdlib.h>
#include <string.h>

struct platform_websocket {
    int id;
    bool open, dead;
    platform_websocket_events events;
    void *ctx;
    platform_websocket *next;
};

static platform_websocket *sockets;
static int last_socket_id;

/* Gives false when the browser refuses the URL (a SyntaxError). */
EM_JS(bool, web_websocket_create, (int id, const char *url), {
    let ws;
    try {
        ws = new WebSocket(UTF8ToString(url));
    } catch (e) {
        return false;
    }
    ws.binaryType = "arraybuffer";
    if (!Module.webSockets) Module.webSockets = new Map();
    Module.webSockets.set(id, ws);
    ws.onopen = () => Module["_web_websocket_opened"](id);
    ws.onmessage = (event) => {
        const binary = typeof event.data !== "string";
        const bytes = binary ? new Uint8Array(event.data) : new TextEncoder().encode(event.data);
        const ptr = Module["_malloc"](Math.max(bytes.length, 1));
        if (!ptr) return;
        HEAPU8.set(bytes, ptr);
        Module["_web_websocket_message"](id, binary, ptr, bytes.length);
        Module["_free"](ptr);
    };
    /* an error is always followed by close, which says enough */
    ws.onclose = (event) => {
        Module.webSockets.delete(id);
        const reason = event.reason || (event.wasClean ? "" : "connection failed or lost");
        const size = lengthBytesUTF8(reason) + 1;
        const ptr = Module["_malloc"](size);
        if (ptr) stringToUTF8(reason, ptr, size);
        Module["_web_websocket_closed"](id, event.code || 1006, ptr);
        if (ptr) Module["_free"](ptr);
    };
    return true;
});

EM_JS(bool, web_websocket_send, (int id, bool binary, const uint8_t *data, size_t len), {
    const ws = Module.webSockets && Module.webSockets.get(id);
    if (!ws || ws.readyState !== 1) return false;
    /* a copy: the heap may move or be reused before the browser sends */
    ws.send(binary ? HEAPU8.slice(data, data + len) : UTF8ToString(data, len));
    return true;
});

EM_JS(double, web_websocket_buffered, (int id), {
    const ws = Module.webSockets && Module.webSockets.get(id);
    return ws ? ws.bufferedAmount : 0;
});

EM_JS(void, web_websocket_destroy, (int id), {
    const ws = Module.webSockets && Module.webSockets.get(id);
    if (!ws) return;
    Module.webSockets.delete(id);
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.close();
});

static platform_websocket *find_socket(int id)
{
    for (platform_websocket *ws = sockets; ws; ws = ws->next)
        if (ws->id == id) return ws;
    return NULL;
}

EMSCRIPTEN_KEEPALIVE void web_websocket_opened(int id)
{
    platform_websocket *ws = find_socket(id);
    if (!ws || ws->dead) return;
    ws->open = true;
    ws->events.on_open(ws->ctx);
}

EMSCRIPTEN_KEEPALIVE void web_websocket_message(int id, bool binary, const uint8_t *data, size_t len)
{
    platform_websocket *ws = find_socket(id);
    if (ws && ws->open && !ws->dead) ws->events.on_message(ws->ctx, binary, data, len);
}

EMSCRIPTEN_KEEPALIVE void web_websocket_closed(int id, int code, const char *reason)
{
    platform_websocket *ws = find_socket(id);
    if (!ws || ws->dead) return;
    ws->open = false;
    ws->dead = true;
    ws->events.on_close(ws->ctx, (uint16_t)code, reason ? reason : "");
}

platform_websocket *platform_websocket_open(const char *url, const platform_websocket_events *events, void *ctx)
{
    platform_websocket *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    ws->id = ++last_socket_id;
    ws->events = *events;
    ws->ctx = ctx;
    if (!web_websocket_create(ws->id, url)) {
        free(ws);
        return NULL;
    }
    ws->next = sockets;
    sockets = ws;
    return ws;
}

int platform_websocket_send(platform_websocket *ws, bool binary, const uint8_t *data, size_t len)
{
    if (!ws->open || ws->dead) return -1;
    return web_websocket_send(ws->id, binary, data, len) ? 0 : -1;
}

size_t platform_websocket_buffered(const platform_websocket *ws)
{
    return ws->open ? (size_t)web_websocket_buffered(ws->id) : 0;
}

void platform_websocket_close(platform_websocket *ws)
{
    web_websocket_destroy(ws->id);
    for (platform_websocket **p = &sockets; *p; p = &(*p)->next) {
        if (*p == ws) {
            *p = ws->next;
            break;
        }
    }
    free(ws);
}
