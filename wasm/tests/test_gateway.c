/* The gateway layer against the session captured from the published client
 * (shared/vectors/registration.json), and client against gateway in process. */
#include "check.h"
#include "crypto/crypto.h"
#include "gateway/gateway.h"

#include <string.h>

#define GATEWAY_SEED "0e57ca7fc5b0f2d68fc27522e53d685af4007df849f8d22d062f795cb42dff06"
#define GATEWAY_Y "8aa6f2c9d9e1bad53a1a19b66e516d8e9bb7235f5cdb4075a054ca7343bcb8e8"
#define NONCE_G "e07db9dc365a7dab3b797b55"
#define SHARED_KEY "47c550f29ca89f055d15538502bf14a31bd18c4a891c536d3a94edecbe1d77b5"
#define H1                                                                                                       \
    "e56f506ea8f10a50dcc1f3bc7d735d8d8b920bb98fa086e67c871a36076cfb95bb7e833d03f54d928e175cbb2f1ac6c4a9a825bf4f0cc4" \
    "e14bea926e8f8bd7118f9b16dc574e16086ec327155f02bf8d"
#define H2                                                                                                       \
    "2a86988f189fae081c64402a8d30bd00ee4a1d9faf575fcaa33cb79975e3fc715cf62202344cf45616f48e3989db12d85303c8740a79f7" \
    "c14a008c8e6dccd4273a2463f83ede54c4563324bc2d7b75bc185d3b1ea46bb7013d27252cb6e748db68ddb6beec7359edf8d05ecdf40f" \
    "7960e07db9dc365a7dab3b797b55"
#define H3                                                                                                       \
    "c27fda8b3dc3ddf64083a88723c2acc85b3aa5130cca16edc2d22541829d82da988792cee4a4d8e75007934956ae2973608f4ba89eff69" \
    "4e5151a21f3b4b1417512b1ed5c62ba516a24a6082fd07ca15345b505c4fd7f93288404d25"

static const char *const CAPTURED_TEXT[] = {
    "{\"type\":\"supportedProtocol\"}",
    "{\"type\":\"supportedProtocol\",\"version\":6}",
    "{\"type\":\"register\",\"protocol_version\":6,\"status\":true,\"upgrade_mode\":false}",
    "{\"type\":\"authenticateV2\",\"protocolVersion\":6,\"clientIdentity\":[229,111,80,110,168,241,10,80,220,193,243,"
    "188,125,115,93,141,139,146,11,185,143,160,134,230,124,135,26,54,7,108,251,149],\"addressCiphertext\":"
    "\"XQXRa2oSRloVgQjpOcgeXdchV0Q9dGOGjDINP/Nx2A9CSnw9WcH7UlwHoEuxXWf8\",\"nonce\":\"4y1rS/mwNixn/6LP\","
    "\"requestUnixTimestamp\":1795359890,\"requestSignature\":[66,132,169,156,204,111,91,83,183,53,128,182,150,148,"
    "224,110,91,87,183,213,77,252,97,123,130,38,77,49,140,17,197,60,57,16,47,78,252,185,73,138,253,174,6,185,239,"
    "120,139,249,221,56,243,208,232,0,98,53,175,52,230,233,246,181,47,3]}",
    "{\"type\":\"authenticate\",\"protocol_version\":6,\"status\":true,\"bandwidth_remaining\":0,\"upgrade_mode\":false}",
    "{\"type\":\"claimFreeTestnetBandwidth\"}",
    "{\"type\":\"bandwidth\",\"available_total\":68719476736,\"upgrade_mode\":false}",
};
#define AUTH_V2_TEXT 3
#define AUTH_V2_TIME 1795359890ULL

static void gateway_keys(uint8_t public_key[32], uint8_t secret_key[64])
{
    uint8_t seed[32];
    hex_decode(seed, 32, GATEWAY_SEED);
    ed25519_keypair_from_seed(public_key, secret_key, seed);
}

void test_gateway_messages(void)
{
    /* every captured text message parses and is written back byte for byte */
    for (size_t i = 0; i < sizeof CAPTURED_TEXT / sizeof CAPTURED_TEXT[0]; i++) {
        gateway_message msg;
        char out[GATEWAY_MAX_TEXT_LEN];
        CHECK(gateway_message_parse(&msg, CAPTURED_TEXT[i], strlen(CAPTURED_TEXT[i])) == 0);
        CHECK(gateway_message_write(&msg, out, sizeof out) == (int)strlen(CAPTURED_TEXT[i]) &&
              strcmp(out, CAPTURED_TEXT[i]) == 0);
    }
    gateway_message msg;
    const char *h4 = "{\"type\":\"handshakePayload\",\"protocol_version\":6,\"data\":[1]}";
    CHECK(gateway_message_parse(&msg, h4, strlen(h4)) == 0 && msg.type == GATEWAY_MSG_HANDSHAKE_PAYLOAD &&
          msg.data_len == 1 && msg.data[0] == 1 && msg.protocol_version == 6);
    const char *oob = "{\"type\":\"typedError\",\"error\":{\"out_of_bandwidth\":{\"required\":2413,\"available\":7}}}";
    CHECK(gateway_message_parse(&msg, oob, strlen(oob)) == 0 && msg.type == GATEWAY_MSG_OUT_OF_BANDWIDTH &&
          msg.required == 2413 && msg.bandwidth == 7);
    const char *err = "{\"message\":\"received invalid signature\",\"type\":\"handshakeError\",\"extra\":[1]}";
    CHECK(gateway_message_parse(&msg, err, strlen(err)) == 0 && msg.type == GATEWAY_MSG_HANDSHAKE_ERROR &&
          strcmp(msg.message, "received invalid signature") == 0);
    const char *unknown = "{\"type\":\"somethingNew\"}";
    CHECK(gateway_message_parse(&msg, unknown, strlen(unknown)) == 0 && msg.type == GATEWAY_MSG_UNKNOWN);
    static const char *const malformed[] = {
        "{}", "[]", "{\"type\":\"handshakePayload\",\"data\":[256]}",
        "{\"type\":\"handshakePayload\",\"data\":[1],\"protocol_version\":300}",
        "{\"type\":\"authenticateV2\",\"protocolVersion\":6}", "{\"type\":\"send\",\"remaining_bandwidth\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        CHECK(gateway_message_parse(&msg, malformed[i], strlen(malformed[i])) == GATEWAY_ERR_MALFORMED);
}

void test_gateway_handshake(void)
{
    uint8_t gw_public[32], gw_secret[64], y[32], nonce[12], h1[GATEWAY_H1_LEN], h2[GATEWAY_H2_LEN];
    uint8_t h3[GATEWAY_H3_LEN];
    gateway_keys(gw_public, gw_secret);
    hex_decode(y, 32, GATEWAY_Y);
    hex_decode(nonce, 12, NONCE_G);
    hex_decode(h1, sizeof h1, H1);
    hex_decode(h3, sizeof h3, H3);

    /* the gateway side reproduces the recorded H2 and accepts the client's H3 */
    gateway_server_handshake server;
    CHECK(gateway_handshake_server_reply(&server, gw_secret, h1, sizeof h1, h2, y, nonce) == 0);
    CHECK_HEX(h2, sizeof h2, H2);
    CHECK_HEX(server.shared_key, 32, SHARED_KEY);
    CHECK(gateway_handshake_server_verify(&server, h3, sizeof h3) == 0);
    h3[5] ^= 1;
    CHECK(gateway_handshake_server_verify(&server, h3, sizeof h3) == GATEWAY_ERR_CRYPTO);
    CHECK(gateway_handshake_server_reply(&server, gw_secret, h1, 79, h2, y, nonce) == GATEWAY_ERR_MALFORMED);

    /* the captured authenticateV2, at its own time and outside the skew */
    gateway_message auth;
    uint8_t key[32];
    hex_decode(key, 32, SHARED_KEY);
    const char *text = CAPTURED_TEXT[AUTH_V2_TEXT];
    CHECK(gateway_message_parse(&auth, text, strlen(text)) == 0);
    CHECK(gateway_auth_v2_verify(&auth, key, AUTH_V2_TIME) == 0);
    CHECK(gateway_auth_v2_verify(&auth, key, AUTH_V2_TIME + 121) == GATEWAY_ERR_TIMESTAMP);
    CHECK(gateway_auth_v2_verify(&auth, key, AUTH_V2_TIME - 121) == GATEWAY_ERR_TIMESTAMP);
    auth.timestamp++;
    CHECK(gateway_auth_v2_verify(&auth, key, AUTH_V2_TIME) == GATEWAY_ERR_CRYPTO);
    auth.timestamp--;
    key[0] ^= 1;
    CHECK(gateway_auth_v2_verify(&auth, key, AUTH_V2_TIME) == GATEWAY_ERR_CRYPTO);
    auth.protocol_version = 3;
    CHECK(gateway_auth_v2_verify(&auth, key, AUTH_V2_TIME) == GATEWAY_ERR_VERSION);

    /* our client against our gateway side */
    uint8_t seed[32], client_public[32], client_secret[64], client_key[32];
    random_bytes(seed, sizeof seed);
    ed25519_keypair_from_seed(client_public, client_secret, seed);
    gateway_client_handshake client;
    gateway_handshake_client_begin(&client, client_public, client_secret, h1);
    CHECK(gateway_handshake_server_reply(&server, gw_secret, h1, sizeof h1, h2, NULL, NULL) == 0);
    CHECK(gateway_handshake_client_finish(&client, gw_public, h2, sizeof h2, client_key, h3) == 0);
    CHECK(gateway_handshake_server_verify(&server, h3, sizeof h3) == 0);
    CHECK(memcmp(client_key, server.shared_key, 32) == 0);
    gateway_auth_v2_build(&auth, GATEWAY_PROTOCOL_VERSION, client_public, client_secret, client_key, 1000);
    char out[GATEWAY_MAX_TEXT_LEN];
    gateway_message parsed;
    int len = gateway_message_write(&auth, out, sizeof out);
    CHECK(len > 0 && gateway_message_parse(&parsed, out, (size_t)len) == 0 &&
          gateway_auth_v2_verify(&parsed, server.shared_key, 1000) == 0);

    /* a gateway that is not the one the directory named is refused */
    gateway_handshake_client_begin(&client, client_public, client_secret, h1);
    CHECK(gateway_handshake_server_reply(&server, gw_secret, h1, sizeof h1, h2, NULL, NULL) == 0);
    gw_public[0] ^= 1;
    CHECK(gateway_handshake_client_finish(&client, gw_public, h2, sizeof h2, client_key, h3) == GATEWAY_ERR_CRYPTO);
}

void test_gateway_frames(void)
{
    uint8_t key[32], frame[64], plain[64];
    uint8_t kind;
    random_bytes(key, sizeof key);
    int len = gateway_frame_seal(frame, sizeof frame, GATEWAY_FRAME_FORWARD_V2, key, (const uint8_t *)"mixpacket", 9);
    CHECK(len == 9 + GATEWAY_FRAME_OVERHEAD && frame[0] == 2 && frame[1] == 1);
    CHECK(gateway_frame_open(plain, sizeof plain, &kind, key, frame, (size_t)len) == 9 && kind == 2 &&
          memcmp(plain, "mixpacket", 9) == 0);
    /* in place, as the data plane does it */
    CHECK(gateway_frame_open(frame, sizeof frame, &kind, key, frame, (size_t)len) == 9 &&
          memcmp(frame, "mixpacket", 9) == 0);
    len = gateway_frame_seal(frame, sizeof frame, GATEWAY_FRAME_PUSHED_MESSAGE, key, frame, 9);
    frame[len - 1] ^= 1;
    CHECK(gateway_frame_open(plain, sizeof plain, &kind, key, frame, (size_t)len) == GATEWAY_ERR_CRYPTO);
    CHECK(gateway_frame_open(plain, sizeof plain, &kind, key, frame, GATEWAY_FRAME_OVERHEAD - 1) ==
          GATEWAY_ERR_MALFORMED);
    frame[1] = 0;
    CHECK(gateway_frame_open(plain, sizeof plain, &kind, key, frame, (size_t)len) == GATEWAY_ERR_MALFORMED);
    CHECK(gateway_frame_seal(frame, 20, 2, key, plain, 9) == GATEWAY_ERR_SPACE);
}
