/* The api layer's option handling and lifecycle, without a network: the
 * tunnel it starts is stopped before any event runs. */
#include "api/api.h"
#include "check.h"

#include <string.h>

static char last_event[512];

static void record_event(const char *json)
{
    strncpy(last_event, json, sizeof last_event - 1);
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
    CHECK(mix_tunnel_setup("{\"extraTrustAnchors\":\"not pem\"}") == -1 &&
          strstr(mix_last_error(), "extraTrustAnchors"));

    const char *ok = "{\"nymApiUrl\":\"http://127.0.0.1:9/api/\",\"clientId\":\"api-test\",\"forceTls\":false,"
                     "\"disablePoissonTraffic\":true,\"disableCoverTraffic\":true,\"openReplySurbs\":20,"
                     "\"dataReplySurbs\":3,\"connectTimeoutMs\":5000,\"preferredIpr\":\""
                     /* any well-formed Nym address (shared/vectors) */
                     "9sEbzhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC6FP.CbWt66kChGRyrqssZgeciyTKMadfBppXPGVZKHZzMU3q@"
                     "APyoQtsx7TV8FKdhiUy5bgPzMDPjzhMpguQsjDuiE2bS\"}";
    CHECK(mix_tunnel_setup(ok) == 0);
    CHECK(strstr(mix_tunnel_state_json(), "\"connecting\""));
    CHECK(strstr(mix_tunnel_stats_json(), "\"ipPacketsOut\":0"));
    CHECK(mix_tunnel_setup(ok) == -1 && strstr(mix_last_error(), "already"));
    mix_tunnel_disconnect();
    CHECK(strstr(mix_tunnel_state_json(), "\"shutdown\""));
    CHECK(mix_tunnel_setup(ok) == 0);
    mix_tunnel_disconnect();
    mix_set_event_handler(NULL);
}
