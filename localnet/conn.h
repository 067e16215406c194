/* Buffered non-blocking TCP connections on the platform's event loop: the
 * plumbing under localnet's nodes and servers. */
#ifndef LOCALNET_CONN_H
#define LOCALNET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct conn conn;

typedef struct {
    /* bytes arrived: they are in conn_input(); consume what was used */
    void (*on_input)(void *ctx, conn *c);
    /* an outgoing connection completed */
    void (*on_connected)(void *ctx, conn *c);
    /* the peer closed, a read or write failed, or connecting failed; the
     * connection must still be released with conn_free */
    void (*on_closed)(void *ctx, conn *c);
} conn_events;

/* Starts connecting to 127.0.0.1-style IPv4 address and port. */
conn *conn_connect(const uint8_t ip[4], uint16_t port, const conn_events *events, void *ctx);
/* Wraps an accepted socket. */
conn *conn_adopt(int fd, const conn_events *events, void *ctx);
void conn_free(conn *c);

/* Queues bytes; fails (-1) once more than max_queued bytes wait, or when closed. */
int conn_send(conn *c, const uint8_t *data, size_t len);
size_t conn_queued(const conn *c);
void conn_set_max_queued(conn *c, size_t max_queued);
bool conn_is_open(const conn *c);

const uint8_t *conn_input(const conn *c, size_t *len);
void conn_consume(conn *c, size_t len);
/* Sends what is queued, then closes. */
void conn_close_after_flush(conn *c);
/* Sends what is queued, then ends our direction (the peer reads the end of
 * the stream) while the peer's data still arrives: a TCP half-close. */
void conn_shutdown_after_flush(conn *c);

/* For relays that pace one connection by another: called from the loop
 * whenever the send queue has emptied; it must not free the connection. */
typedef void (*conn_drained_fn)(void *ctx, conn *c);
void conn_set_drained_callback(conn *c, conn_drained_fn on_drained);
/* While paused the socket is not read, so the peer stalls on TCP flow
 * control; its close is noticed once reading resumes. */
void conn_pause_input(conn *c, bool paused);

/* A listening socket on 127.0.0.1; port 0 picks a free one. */
typedef struct listener listener;
typedef void (*listener_accept_fn)(void *ctx, int fd);
listener *listener_open(uint16_t port, listener_accept_fn on_accept, void *ctx);
uint16_t listener_port(const listener *l);
void listener_close(listener *l);

#endif
