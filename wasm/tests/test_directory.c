/* The directory's readers on hand-written nym-api answers: nodes, and the
 * choice of an exit among described nodes. */
#include "check.h"
#include "codec/codec.h"
#include "tunnel/tunnel.h"

#include <stdio.h>
#include <string.h>

/* base58 of the bytes 1..32 and 33..64: any well-formed keys do */
#define KEY_A "4wBqpZM9xaSheZzJSMawUKKwhdpChKbZ5eu5ky4Vigw"
#define KEY_B "3ELeRTTg5W5hAYaEFznzFV1jknNFkjHqS8ytwvQEQP1Z"
#define IPR_ON_A "9sEbzhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC6FP.CbWt66kChGRyrqssZgeciyTKMadfBppXPGVZKHZzMU3q@" KEY_A
#define IPR_ON_B "9sEbzhzfc7fojm4Xd9CQ39bcQM6giAmXNUsAWwcZC6FP.CbWt66kChGRyrqssZgeciyTKMadfBppXPGVZKHZzMU3q@" KEY_B

static const char SKIMMED[] =
    "{\"metadata\":{\"rotation_id\":1,\"absolute_epoch_id\":1},\"nodes\":{\"data\":[{\"node_id\":1,\"ed25519_identity_pubkey\":\"" KEY_A "\",\"x25519_sphinx_pubkey\":\"" KEY_B
    "\",\"ip_addresses\":[\"192.0.2.1\"],\"mix_port\":1789,\"performance\":\"0.9\",\"entry\":{\"ws_port\":9000}},"
    "{\"node_id\":2,\"ed25519_identity_pubkey\":\"" KEY_B "\",\"x25519_sphinx_pubkey\":\"" KEY_A
    "\",\"ip_addresses\":[\"192.0.2.2\"],\"mix_port\":1789,\"performance\":\"0.2\",\"entry\":{\"ws_port\":9000}}]}}";

static void described(char *out, size_t cap, const char *version_a, const char *version_b, unsigned total)
{
    snprintf(out, cap,
             "{\"pagination\":{\"total\":%u,\"page\":0,\"size\":2},\"data\":["
             "{\"description\":{\"build_information\":{\"build_version\":\"%s\"},"
             "\"ip_packet_router\":{\"address\":\"" IPR_ON_A "\"}}},"
             "{\"description\":{\"build_information\":{\"build_version\":\"%s\"},"
             "\"ip_packet_router\":{\"address\":\"" IPR_ON_B "\"}}},"
             "{\"description\":{\"ip_packet_router\":null}}]}",
             total, version_a, version_b);
}

void test_directory_ipr_choice(void)
{
    directory d;
    directory_init(&d);
    CHECK(directory_add_skimmed(&d, SKIMMED, strlen(SKIMMED)) == 0 && d.count == 2);
    char page[2048];
    uint8_t gateway_a[32];
    CHECK(base58_decode_exact(gateway_a, 32, KEY_A, strlen(KEY_A)));

    /* node B has too little performance: A is chosen every time */
    for (int i = 0; i < 20; i++) {
        directory_ipr_choice c = {0};
        described(page, sizeof page, "1.38.0-rc.1", "1.40.0", 3);
        CHECK(directory_choose_ipr(&d, page, strlen(page), &c) == 0);
        CHECK(c.found && memcmp(c.ipr.gateway, gateway_a, 32) == 0 && c.version[1] == 38);
        CHECK(c.seen == 3 && c.total == 3);
    }
    /* releases before 1.30.0 do not count */
    directory_ipr_choice c = {0};
    described(page, sizeof page, "1.29.9", "1.40.0", 3);
    CHECK(directory_choose_ipr(&d, page, strlen(page), &c) == 0 && !c.found);
    /* more pages than this one: the caller reads on */
    described(page, sizeof page, "1.30.0", "1.40.0", 9);
    c = (directory_ipr_choice){0};
    CHECK(directory_choose_ipr(&d, page, strlen(page), &c) == 0 && c.found && c.seen < c.total);
    CHECK(directory_choose_ipr(&d, "{\"data\":7}", 10, &c) == -1);
    CHECK(directory_choose_ipr(&d, "[", 1, &c) == -1);
    directory_free(&d);
}
