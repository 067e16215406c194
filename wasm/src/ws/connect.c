/* Connecting: the host's IPv4 address from the dns layer, then a tls.h
 * stream (TLS for wss) as the connection's transport. */
#include "ws/ws_internal.h"

#include <stddef.h>

static int stream_transport_write(void *ctx, const uint8_t *data, size_t len)
{
    ws *w = ctx;
    return stream_write(w->stream, data, len);
}

static void stream_transport_release(void *ctx, bool abort)
{
    ws *w = ctx;
    if (abort)
        stream_abort(w->stream);
    else
        stream_close(w->stream);
    w->stream = NULL;
}

static const ws_transport STREAM_TRANSPORT = {stream_transport_write, stream_transport_release};

static void on_stream_connected(void *ctx)
{
    ws_transport_connected(ctx);
}

static void on_stream_data(void *ctx, const uint8_t *data, size_t len)
{
    ws *w = ctx;
    ws_enter(w);
    ws_transport_data(w, data, len);
    if (w->stream) stream_consumed(w->stream, len); /* everything is copied */
    ws_leave(w);
}

static void on_stream_closed(void *ctx, int error)
{
    ws_transport_closed(ctx, error);
}

static void on_stream_end(void *ctx)
{
    ws_transport_end(ctx);
}

static void on_stream_writable(void *ctx)
{
    ws_transport_writable(ctx);
}

static const stream_events STREAM_EVENTS = {
    .on_connected = on_stream_connected,
    .on_data = on_stream_data,
    .on_closed = on_stream_closed,
    .on_end = on_stream_end,
    .on_writable = on_stream_writable,
};

static void on_resolved(void *ctx, int error, const dns_address *addresses, size_t count)
{
    ws *w = ctx;
    w->lookup = NULL;
    ws_enter(w);
    const dns_address *ipv4 = NULL;
    for (size_t i = 0; i < count && !ipv4; i++)
        if (addresses[i].family == 4) ipv4 = &addresses[i];
    if (error) {
        ws_fail(w, 0, dns_error_text(error));
    } else if (!ipv4) {
        ws_fail(w, 0, "the host has no IPv4 address");
    } else {
        net_ipv4 address;
        for (size_t i = 0; i < 4; i++) address.octets[i] = ipv4->octets[i];
        stream_options options = {.tls = w->tls, .server_name = w->host};
        int stream_error = 0;
        w->stream = stream_connect(address, w->port, &options, &STREAM_EVENTS, w, &stream_error);
        if (w->stream)
            ws_attach_transport(w, &STREAM_TRANSPORT, w);
        else
            ws_fail(w, 0, stream_error_text(stream_error));
    }
    ws_leave(w);
}

ws *ws_connect(const ws_options *options, const ws_events *events, void *ctx, int *error)
{
    ws *w = ws_create(options, events, ctx, error);
    if (!w) return NULL;
    int lookup_error = 0;
    w->lookup = dns_resolve(w->host, DNS_WANT_A, on_resolved, w, &lookup_error);
    if (!w->lookup) ws_fail_later(w, dns_error_text(lookup_error));
    return w;
}

void ws_connect_cancel(ws *w)
{
    if (w->lookup) dns_cancel(w->lookup);
    w->lookup = NULL;
}
