/* The net layer's behaviour in time, on the native event loop: connect
 * timeouts, lwIP's timers (delayed ACKs, retransmission) run from platform
 * timers without a busy loop, and on_closed deferred out of socket calls. */
#include "check.h"
#include "net/net.h"
#include "net_peer.h"
#include "platform/platform.h"

#include <string.h>

/* Runs the loop until done() or the time is up; gives the callbacks run. */
static int run_until(bool (*done)(void), uint64_t max_ms)
{
    int ran = 0;
    uint64_t start = platform_monotonic_ms();
    while (!(done && done()) && platform_monotonic_ms() - start < max_ms) ran += platform_run_once(10);
    return ran;
}

static peer_recorder recorder;

static bool recorder_closed(void)
{
    return recorder.closed > 0;
}

static bool packet_captured(void)
{
    return peer_pending() > 0;
}

void test_net_connect_timeout(void)
{
    peer_recorder_reset(&recorder);
    peer_start(0);
    uint64_t start = platform_monotonic_ms();
    net_tcp *s = net_tcp_connect(peer_address, 80, 300, &peer_recorder_events, &recorder, NULL);
    CHECK(s != NULL);
    run_until(recorder_closed, 3000);
    uint64_t elapsed = platform_monotonic_ms() - start;
    CHECK(recorder.closed == 1 && recorder.closed_error == NET_ERR_TIMEOUT && recorder.connected == 0);
    CHECK(elapsed >= 300 && elapsed < 1500);
    peer_packet syn, rst;
    CHECK(peer_next(&syn) && syn.flags == PEER_TCP_SYN);
    CHECK(peer_next(&rst) && (rst.flags & PEER_TCP_RST)); /* a late SYN-ACK finds nothing */
    net_tcp_close(s);

    /* a connection in time cancels the timeout */
    peer_recorder_reset(&recorder);
    peer_tcp c;
    s = peer_connect(&c, 80, 65535, &peer_recorder_events, &recorder);
    run_until(NULL, 400);
    CHECK(recorder.connected == 1 && recorder.closed == 0);
    net_tcp_abort(s);
    peer_stop();
}

void test_net_timers(void)
{
    peer_recorder_reset(&recorder);
    peer_start(0);
    peer_tcp c;
    net_tcp *s = peer_connect(&c, 80, 65535, &peer_recorder_events, &recorder);
    recorder.self = s;
    recorder.consume_on_data = true;

    /* a lone segment is acknowledged by lwIP's fast timer, within 250 ms */
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK | PEER_TCP_PSH, (const uint8_t *)"data", 4, 0) == NET_OK);
    CHECK(peer_pending() == 0);
    uint64_t start = platform_monotonic_ms();
    run_until(packet_captured, 2000);
    peer_packet ack;
    CHECK(peer_next(&ack) && ack.flags == PEER_TCP_ACK && ack.ack == c.seq);
    CHECK(platform_monotonic_ms() - start <= 600);

    /* data nobody acknowledges is sent again (the first timeout after a
     * quick handshake is a few seconds) */
    CHECK(net_tcp_write(s, (const uint8_t *)"again", 5) == 5);
    peer_packet first, second;
    CHECK(peer_next(&first) && first.payload_len == 5);
    run_until(packet_captured, 8000);
    CHECK(peer_next(&second) && second.payload_len == 5 && second.seq == first.seq);
    CHECK(memcmp(second.payload, "again", 5) == 0);
    net_tcp_abort(s);
    peer_discard_all();

    /* an idle stack wakes a few times a second at most (lwIP's TCP timer
     * while closing connections linger, its reassembly timer), never spins */
    int ran = run_until(NULL, 1000);
    CHECK(ran <= 8);
    peer_stop();
    /* stopped: no timer left */
    CHECK(run_until(NULL, 600) == 0);
}

/* lwIP reclaims a connection waiting for the last ACK of its close when
 * it runs out of them: that happens inside net_tcp_connect, whose caller
 * must not be called back; on_closed comes from the loop afterwards. */
void test_net_deferred_close(void)
{
    static peer_recorder others;
    static net_tcp *sockets[256];
    peer_recorder_reset(&recorder);
    peer_recorder_reset(&others);
    peer_start(0);
    peer_tcp c;
    net_tcp *victim = peer_connect(&c, 80, 65535, &peer_recorder_events, &recorder);
    CHECK(peer_tcp_send(&c, PEER_TCP_ACK | PEER_TCP_FIN, NULL, 0, 0) == NET_OK);
    CHECK(net_tcp_shutdown_write(victim) == NET_OK); /* LAST_ACK */
    CHECK(recorder.ended == 1 && recorder.closed == 0);
    size_t count = 0;
    while (count < sizeof sockets / sizeof sockets[0] &&
           (sockets[count] = net_tcp_connect(peer_address, 80, 5000, &peer_recorder_events, &others, NULL)))
        count++;
    CHECK(count < sizeof sockets / sizeof sockets[0]);
    CHECK(recorder.closed == 0 && others.closed == 0);
    platform_run_once(0); /* a timer due at once, not lwIP's next tick */
    CHECK(recorder.closed == 1 && recorder.closed_error == NET_ERR_ABORTED && others.closed == 0);
    net_tcp_close(victim);
    for (size_t i = 0; i < count; i++) net_tcp_close(sockets[i]);
    peer_discard_all();
    peer_stop();
}

/* net_tcp_options: keep-alive probes an idle connection, which lives on
 * while the probes are answered and fails when they are not; the buffer
 * size is the most a write takes, and the receive window once the stack's
 * first full window has been consumed. */
void test_net_tcp_options(void)
{
    peer_recorder_reset(&recorder);
    peer_start(0);
    net_tcp_set_options(&(net_tcp_options){.keepalive_ms = 300, .buffer_bytes = 4096});
    peer_tcp c;
    net_tcp *s = peer_connect(&c, 80, 65535, &peer_recorder_events, &recorder);
    CHECK(s != NULL);
    peer_discard_all();
    for (int probe = 0; probe < 2; probe++) {
        uint64_t start = platform_monotonic_ms();
        run_until(packet_captured, 3000);
        peer_packet keepalive;
        CHECK(peer_next(&keepalive) && keepalive.flags == PEER_TCP_ACK && keepalive.payload_len == 0);
        CHECK(keepalive.seq == c.ack - 1 && platform_monotonic_ms() - start < 1500);
        CHECK(peer_tcp_send(&c, PEER_TCP_ACK, NULL, 0, 0) == NET_OK);
    }
    CHECK(recorder.closed == 0);
    run_until(recorder_closed, 10000);
    CHECK(recorder.closed == 1 && recorder.closed_error == NET_ERR_TIMEOUT);
    net_tcp_close(s);
    peer_discard_all();

    /* what a write takes; the window, as the peer's 65535 bytes (no scaling) are read */
    peer_recorder_reset(&recorder);
    recorder.consume_on_data = true;
    s = peer_connect(&c, 81, 65535, &peer_recorder_events, &recorder);
    recorder.self = s;
    static uint8_t bytes[65535];
    CHECK(s != NULL && net_tcp_write(s, bytes, 10000) == 4096);
    peer_discard_all();
    for (size_t sent = 0; sent < sizeof bytes; sent += 1460) {
        size_t len = sizeof bytes - sent < 1460 ? sizeof bytes - sent : 1460;
        recorder.consume_on_data = true;
        CHECK(peer_tcp_send(&c, PEER_TCP_ACK, bytes, len, 0) == NET_OK);
    }
    run_until(NULL, 600);
    uint16_t window = 0;
    peer_packet ack;
    while (peer_next(&ack)) window = ack.window;
    /* without the buffer size it would be back at 65535; lwIP announces it in steps */
    CHECK(recorder.data_len == sizeof bytes && window > 0 && window <= 4096);
    net_tcp_abort(s);
    peer_discard_all();

    /* zeros: no probes */
    net_tcp_set_options(&(net_tcp_options){0});
    peer_recorder_reset(&recorder);
    s = peer_connect(&c, 82, 65535, &peer_recorder_events, &recorder);
    CHECK(s != NULL);
    peer_discard_all();
    run_until(packet_captured, 1500);
    CHECK(peer_pending() == 0);
    net_tcp_abort(s);
    peer_discard_all();
    peer_stop();
}
