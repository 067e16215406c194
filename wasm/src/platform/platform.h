/* The platform layer: the only way the core reaches the outside world.
 * One implementation per target: posix/ (native: tests, tools, localnet)
 * and web/ (Emscripten, with the JS library in wasm/js/). Every callback
 * runs from the platform's event loop, never from inside a platform call,
 * so callers may do anything in them, including closing the object. */
#ifndef MIX_PLATFORM_H
#define MIX_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fills out with cryptographically secure random bytes; never fails
 * (a platform without a working source of randomness stops the program). */
void platform_random_bytes(uint8_t *out, size_t len);

/* Milliseconds from an arbitrary start, never going back. */
uint64_t platform_monotonic_ms(void);
/* Wall-clock seconds since the Unix epoch (for authentication timestamps). */
uint64_t platform_unix_time_s(void);

/* One-shot timers. Start gives 0 only when out of memory; cancelling a
 * fired or unknown id is harmless. */
typedef void (*platform_timer_callback)(void *ctx);
uint32_t platform_timer_start(uint64_t delay_ms, platform_timer_callback callback, void *ctx);
void platform_timer_cancel(uint32_t id);

/* A WebSocket to the gateway: ws:// or wss://, binary and text messages. */
typedef struct platform_websocket platform_websocket;
typedef struct {
    void (*on_open)(void *ctx);
    void (*on_message)(void *ctx, bool binary, const uint8_t *data, size_t len);
    /* after a close (the peer's code and reason) or a failure (code 1006,
     * the reason says what failed); the socket is then dead but must
     * still be released with platform_websocket_close */
    void (*on_close)(void *ctx, uint16_t code, const char *reason);
} platform_websocket_events;

/* Gives NULL only when the URL is unusable; connection failures come as on_close. */
platform_websocket *platform_websocket_open(const char *url, const platform_websocket_events *events, void *ctx);
/* Queues a message; fails (-1) when the socket is not open. */
int platform_websocket_send(platform_websocket *ws, bool binary, const uint8_t *data, size_t len);
/* Bytes queued but not yet handed to the network, for back-pressure. */
size_t platform_websocket_buffered(const platform_websocket *ws);
/* Closes (if open) and releases; no callback follows. */
void platform_websocket_close(platform_websocket *ws);

/* An HTTP GET of the directory. The callback gets the status and body, or
 * status 0 and an error text, once. Bodies over max_body bytes fail;
 * timeout_ms 0 means none. Gives the id to cancel with (0 only when out
 * of memory); cancelling releases everything, and no callback follows. */
typedef void (*platform_fetch_callback)(void *ctx, int status, const uint8_t *body, size_t len, const char *error);
uint32_t platform_fetch(const char *url, const char *accept, uint32_t timeout_ms, size_t max_body,
                        platform_fetch_callback callback, void *ctx);
void platform_fetch_cancel(uint32_t id);

/* Small persistent records (keys, the chosen gateway) per client id.
 * Loading is synchronous: the web platform reads storage before the core
 * starts. Saving may complete later. Gives the length, or -1 if absent or
 * larger than out_cap. */
int platform_storage_load(const char *client_id, const char *name, uint8_t *out, size_t out_cap);
void platform_storage_save(const char *client_id, const char *name, const uint8_t *data, size_t len);

/* Diagnostics, shown when the application asked for debug output. */
void platform_log(const char *message);

#ifndef __EMSCRIPTEN__
/* Native only: the event loop that tests, tools and localnet drive, and
 * file descriptors they watch with it (the browser runs its own loop). */

/* Runs due timers and ready descriptors, waiting at most max_wait_ms for
 * the first one; gives how many callbacks ran. */
int platform_run_once(uint64_t max_wait_ms);

typedef void (*platform_fd_callback)(void *ctx, int fd, bool readable, bool writable);
/* Watches fd (replacing an earlier watch of it); errors and hang-ups count
 * as readable. Fails when too many descriptors are watched. */
int platform_watch_fd(int fd, bool want_read, bool want_write, platform_fd_callback callback, void *ctx);
void platform_unwatch_fd(int fd);

/* Where platform_storage_* keeps its files (a folder per client id). */
void platform_set_storage_dir(const char *dir);

/* The certificates (PEM) that later TLS connections (wss, https) trust, in
 * place of the system's CA file (/etc/ssl/certs/ca-certificates.crt, read
 * on first use). Fails (-1), changing nothing, when the text holds no
 * certificate or a malformed one. */
int platform_set_trust_anchors_pem(const char *pem, size_t len);
#endif

#endif
