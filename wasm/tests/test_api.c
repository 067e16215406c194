/* The api layer's option handling and lifecycle, without a network: the
 * tunnel it starts is stopped before any event runs. */
#include "api/api.h"
#include "check.h"
#include "platform/platform.h"

#include <stdio.h>
#include <string.h>

static char last_event[512];

static void record_event(const char *json)
{
    strncpy(last_event, json, sizeof last_event - 1);
}

/* the tunnel's state events left out */
static void record_dns_event(const char *json)
{
    if (strstr(json, "\"event\":\"dns\"")) record_event(json);
}

void test_api_options(void)
{
    mix_set_event_handler(record_event);
    CHECK(strcmp(mix_tunnel_state_json(), "{\"state\":\"shutdown\",\"reason\":null}") == 0);

    CHECK(mix_tunnel_setup("[]") == -1 && strstr(mix_last_error(), "JSON object"));
    CHECK(mix_tunnel_setup("{\"forceTLS\":true}") == -1 && strstr(mix_last_error(), "forceTLS"));
    CHECK(mix_tunnel_setup("{\"forceTls\":\"yes\"}") == -1 && strstr(mix_last_error(), "forceTls"));
    CHECK(mix_tunnel_setup("{\"openReplySurbs\":0}") == -1 && strstr(mix_last_error(), "openReplySurbs"));
    CHECK(mix_tunnel_setup("{\"clientId\":\"\"}") == -1);
    CHECK(mix_tunnel_setup("{\"tcpBufferSize\":0}") == -1 && strstr(mix_last_error(), "tcpBufferSize"));
    CHECK(mix_tunnel_setup("{\"tcpKeepaliveMs\":-1}") == -1 && strstr(mix_last_error(), "tcpKeepaliveMs"));
    CHECK(mix_tunnel_setup("{\"extraTrustAnchors\":\"not pem\"}") == -1 &&
          strstr(mix_last_error(), "extraTrustAnchors"));

    const char *ok = "{\"nymApiUrl\":\"http://127.0.0.1:9/api/\",\"clientId\":\"api-test\",\"forceTls\":false,"
                     "\"disablePoissonTraffic\":true,\"disableCoverTraffic\":true,\"openReplySurbs\":20,"
                     "\"dataReplySurbs\":3,\"connectTimeoutMs\":5000,\"tcpKeepaliveMs\":0,\"tcpBufferSize\":65536,"
                     "\"preferredIpr\":\""
                     /* any well-formed Nym address (shared/vectors) */
                     "9sEbzhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC6FP.CbWt66kChGRyrqssZgeciyTKMadfBppXPGVZKHZzMU3q@"
                     "APyoQtsx7TV8FKdhiUy5bgPzMDPjzhMpguQsjDuiE2bS\"}";
    CHECK(mix_tunnel_setup(ok) == 0);
    CHECK(strstr(mix_tunnel_state_json(), "\"connecting\""));
    CHECK(strstr(mix_tunnel_stats_json(), "\"ipPacketsOut\":0"));
    CHECK(strstr(mix_tunnel_stats_json(), "\"ipGapsSkipped\":0,\"ipBundlesLate\":0}"));
    CHECK(mix_tunnel_setup(ok) == -1 && strstr(mix_last_error(), "already"));
    mix_tunnel_disconnect();
    CHECK(strstr(mix_tunnel_state_json(), "\"shutdown\""));
    CHECK(mix_tunnel_setup(ok) == 0);
    mix_tunnel_disconnect();
    mix_set_event_handler(NULL);
}

void test_api_dns_text(void)
{
    static const char OK_SETUP[] =
        "{\"nymApiUrl\":\"http://127.0.0.1:9/api/\",\"clientId\":\"api-test\",\"primaryDns\":\"9.9.9.9:53\","
        "\"fallbackDns\":\"149.112.112.112:53\",\"dnsTimeoutMs\":2000,\"preferredIpr\":\""
        "9sEbzhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC6FP.CbWt66kChGRyrqssZgeciyTKMadfBppXPGVZKHZzMU3q@"
        "APyoQtsx7TV8FKdhiUy5bgPzMDPjzhMpguQsjDuiE2bS\"}";
    mix_set_event_handler(record_dns_event);
    CHECK(mix_dns_resolve(1, "nginx.mixnet.test", 1) == -1 && strstr(mix_last_error(), "not connected"));
    CHECK(mix_tunnel_setup("{\"primaryDns\":\"9.9.9.9\"}") == -1 && strstr(mix_last_error(), "primaryDns"));
    CHECK(mix_tunnel_setup("{\"primaryDns\":\"9.9.9.9:53\",\"fallbackDns\":\"1.1.1.1:5353\"}") == -1);
    CHECK(mix_tunnel_setup(OK_SETUP) == 0);
    /* a literal needs no query: answered on a zero-delay timer, not here */
    last_event[0] = '\0';
    CHECK(mix_dns_resolve(7, "2001:db8::10", 3) == 0 && last_event[0] == '\0');
    /* an invalid name is answered before the call returns */
    CHECK(mix_dns_resolve(8, "bad..name", 1) == 0);
    CHECK(strstr(last_event, "\"id\":8") && strstr(last_event, "\"errorKind\":\"invalid_name\""));
    mix_dns_cancel(7);
#ifndef __EMSCRIPTEN__
    /* literals come back in RFC 5952 text */
    static const struct {
        const char *literal, *text;
    } LITERALS[] = {
        {"2001:db8::10", "2001:db8::10"},      {"0:0:0:0:0:0:0:1", "::1"},
        {"1:0:0:0:0:0:0:0", "1::"},            {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
        {"2001:DB8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"}, {"192.0.2.10", "192.0.2.10"},
    };
    for (unsigned i = 0; i < sizeof LITERALS / sizeof LITERALS[0]; i++) {
        last_event[0] = '\0';
        CHECK(mix_dns_resolve(20 + i, LITERALS[i].literal, 3) == 0);
        for (int turns = 0; turns < 10 && !last_event[0]; turns++) platform_run_once(10);
        char want[80];
        snprintf(want, sizeof want, "\"address\":\"%s\"", LITERALS[i].text);
        if (!CHECK(strstr(last_event, want))) fprintf(stderr, "%s\n", last_event);
    }
#endif
    mix_tunnel_disconnect();
    mix_set_event_handler(NULL);
}

void test_api_ws_options(void)
{
    static const char SETUP[] = "{\"nymApiUrl\":\"http://127.0.0.1:9/api/\",\"clientId\":\"api-test\",\"preferredIpr\":\""
                                "9sEbzhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC6FP.CbWt66kChGRyrqssZgeciyTKMadfBppXPGVZKHZzMU3q@"
                                "APyoQtsx7TV8FKdhiUy5bgPzMDPjzhMpguQsjDuiE2bS\"}";
    mix_set_event_handler(record_event);
    CHECK(mix_ws_open(1, "{\"tls\":false,\"host\":\"a\",\"port\":80,\"path\":\"/\"}") == -1);
    CHECK(mix_tunnel_setup(SETUP) == 0);
    /* -6: the browser's SyntaxError */
    CHECK(mix_ws_open(1, "{}") == -6);
    CHECK(mix_ws_open(1, "{\"tls\":false,\"host\":\"a\",\"port\":0,\"path\":\"/\"}") == -6);
    CHECK(mix_ws_open(1, "{\"tls\":false,\"host\":\"a\",\"port\":80,\"path\":\"x\"}") == -6);
    CHECK(mix_ws_open(1, "{\"tls\":false,\"host\":\"a\",\"port\":80,\"path\":\"/\",\"protocols\":[\"a\",\"a\"]}") == -6);
    CHECK(mix_ws_open(1, "{\"tls\":false,\"host\":\"a\",\"port\":80,\"path\":\"/\",\"protocols\":[\"a b\"]}") == -6);
    CHECK(mix_ws_open(2, "{\"tls\":true,\"host\":\"ws.example\",\"port\":443,\"path\":\"/?q=1\",\"protocols\":[\"a\"],"
                         "\"origin\":null}") == 0);
    /* while connecting: InvalidStateError, and close fails the connection */
    CHECK(mix_ws_send(2, false, (const unsigned char *)"x", 1) == -1);
    CHECK(mix_ws_buffered_amount(2) == 0);
    CHECK(mix_ws_close(2, 999, "") == -4);
    CHECK(mix_ws_close(2, 1000, "") == 0);
    /* unknown handles: sending is dropped as after a close */
    CHECK(mix_ws_send(99, true, (const unsigned char *)"x", 1) == -2);
    mix_tunnel_disconnect();
    mix_set_event_handler(NULL);
}
