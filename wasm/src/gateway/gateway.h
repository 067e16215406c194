/* The gateway layer: the client ⇄ entry-gateway protocol of Nym
 * (shared/spec/gateway.md) without its transport. Text messages (JSON),
 * the registration handshake, authentication v2, and the encrypted binary
 * frames, for both the client and the gateway role. Functions return 0 or
 * a length on success and a negative gateway_error. */
#ifndef MIX_GATEWAY_H
#define MIX_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GATEWAY_PROTOCOL_VERSION 6
#define GATEWAY_MIN_PROTOCOL_VERSION 4 /* authentication v2 */
#define GATEWAY_KDF_SALT_LEN 16
#define GATEWAY_NONCE_LEN 12
#define GATEWAY_SHARED_KEY_LEN 32
#define GATEWAY_H1_LEN 80  /* client identity ‖ X ‖ salt */
#define GATEWAY_H2_LEN 124 /* Y ‖ sealed signature ‖ nonce */
#define GATEWAY_H3_LEN 92  /* sealed signature ‖ nonce */
#define GATEWAY_ADDRESS_CIPHERTEXT_LEN 48
#define GATEWAY_FRAME_OVERHEAD (2 + GATEWAY_NONCE_LEN + 16)
#define GATEWAY_MAX_TEXT_LEN 2048
/* a free claim grants 64 GiB; clients claim again below 40 MB */
#define GATEWAY_FREE_BANDWIDTH (64LL * 1024 * 1024 * 1024)
#define GATEWAY_BANDWIDTH_CLAIM_THRESHOLD 40000000LL
#define GATEWAY_AUTH_MAX_SKEW_S 120

typedef enum {
    GATEWAY_ERR_MALFORMED = -1, /* a message that does not parse or has wrong lengths */
    GATEWAY_ERR_CRYPTO = -2,    /* a tag, signature or ciphertext that does not verify */
    GATEWAY_ERR_VERSION = -3,   /* an unusable protocol version */
    GATEWAY_ERR_SPACE = -4,     /* the output buffer is too small */
    GATEWAY_ERR_TIMESTAMP = -5, /* an authentication outside the allowed clock skew */
} gateway_error;

/* Binary frame kinds: client requests carry MixPackets, gateway pushes carry messages. */
#define GATEWAY_FRAME_FORWARD_V1 1
#define GATEWAY_FRAME_FORWARD_V2 2
#define GATEWAY_FRAME_PUSHED_MESSAGE 1

/* kind ‖ 0x01 ‖ nonce ‖ AES-256-GCM-SIV(key, nonce, plaintext). */
int gateway_frame_seal(uint8_t *out, size_t out_cap, uint8_t kind, const uint8_t key[GATEWAY_SHARED_KEY_LEN],
                       const uint8_t *plaintext, size_t len);
/* Decrypts into out (which may be the frame itself); gives the plaintext length. */
int gateway_frame_open(uint8_t *out, size_t out_cap, uint8_t *kind, const uint8_t key[GATEWAY_SHARED_KEY_LEN],
                       const uint8_t *frame, size_t len);

typedef enum {
    GATEWAY_MSG_UNKNOWN = 0,
    /* client → gateway */
    GATEWAY_MSG_SUPPORTED_PROTOCOL_REQUEST,
    GATEWAY_MSG_HANDSHAKE_PAYLOAD, /* both directions */
    GATEWAY_MSG_HANDSHAKE_ERROR,   /* both directions */
    GATEWAY_MSG_AUTHENTICATE_V2,
    GATEWAY_MSG_CLAIM_FREE_BANDWIDTH,
    /* gateway → client */
    GATEWAY_MSG_SUPPORTED_PROTOCOL,
    GATEWAY_MSG_REGISTER,
    GATEWAY_MSG_AUTHENTICATE,
    GATEWAY_MSG_SEND,
    GATEWAY_MSG_BANDWIDTH,
    GATEWAY_MSG_ERROR,
    GATEWAY_MSG_OUT_OF_BANDWIDTH,
} gateway_message_type;

/* Every text message, flattened: only the fields of its type are meaningful. */
typedef struct {
    gateway_message_type type;
    uint8_t protocol_version;
    /* handshakePayload */
    uint8_t data[GATEWAY_H2_LEN];
    size_t data_len;
    /* handshakeError, error */
    char message[256];
    /* authenticateV2 */
    uint8_t client_identity[32];
    uint8_t address_ciphertext[GATEWAY_ADDRESS_CIPHERTEXT_LEN];
    uint8_t nonce[GATEWAY_NONCE_LEN];
    uint64_t timestamp;
    uint8_t signature[64];
    /* register, authenticate */
    bool status;
    bool upgrade_mode;
    /* authenticate: remaining; send: remaining; bandwidth: available total; out of bandwidth: available */
    int64_t bandwidth;
    int64_t required; /* out of bandwidth */
} gateway_message;

/* Unknown fields are ignored; an unknown type parses as GATEWAY_MSG_UNKNOWN. */
int gateway_message_parse(gateway_message *msg, const char *text, size_t len);
/* Writes the JSON of msg (NUL-terminated); gives its length. */
int gateway_message_write(const gateway_message *msg, char *out, size_t out_cap);

/* Registration handshake, client side. */
typedef struct {
    uint8_t identity_public[32];
    uint8_t identity_secret[64];
    uint8_t ephemeral_secret[32];
    uint8_t ephemeral_public[32];
    uint8_t salt[GATEWAY_KDF_SALT_LEN];
} gateway_client_handshake;

void gateway_handshake_client_begin(gateway_client_handshake *hs, const uint8_t identity_public[32],
                                    const uint8_t identity_secret[64], uint8_t h1[GATEWAY_H1_LEN]);
/* Checks the gateway's H2 against its identity key; gives the shared key and H3. */
int gateway_handshake_client_finish(gateway_client_handshake *hs, const uint8_t gateway_identity[32],
                                    const uint8_t *h2, size_t h2_len, uint8_t shared_key[GATEWAY_SHARED_KEY_LEN],
                                    uint8_t h3[GATEWAY_H3_LEN]);

/* Registration handshake, gateway side. */
typedef struct {
    uint8_t client_identity[32];
    uint8_t client_ephemeral[32];
    uint8_t ephemeral_public[32];
    uint8_t shared_key[GATEWAY_SHARED_KEY_LEN];
} gateway_server_handshake;

/* Answers H1 with H2. ephemeral_secret and nonce are random when NULL (given
 * only to reproduce recorded handshakes). */
int gateway_handshake_server_reply(gateway_server_handshake *hs, const uint8_t gateway_identity_secret[64],
                                   const uint8_t *h1, size_t h1_len, uint8_t h2[GATEWAY_H2_LEN],
                                   const uint8_t *ephemeral_secret, const uint8_t *nonce);
/* Verifies the client's H3; the shared key in hs is then usable. */
int gateway_handshake_server_verify(const gateway_server_handshake *hs, const uint8_t *h3, size_t h3_len);

/* Authentication v2: the client's request, and the gateway's checks of
 * signature, clock skew and address ciphertext. */
void gateway_auth_v2_build(gateway_message *msg, uint8_t protocol_version, const uint8_t identity_public[32],
                           const uint8_t identity_secret[64], const uint8_t shared_key[GATEWAY_SHARED_KEY_LEN],
                           uint64_t now_unix_s);
int gateway_auth_v2_verify(const gateway_message *msg, const uint8_t shared_key[GATEWAY_SHARED_KEY_LEN],
                           uint64_t now_unix_s);

/* ---- the client's connection to its gateway, on the platform's WebSocket ----
 * Registers on first use (then reports the shared key to keep),
 * authenticates with the stored key afterwards, claims free bandwidth when
 * low, carries MixPackets out and pushed messages in, and reconnects by
 * itself when the socket drops. */

typedef enum {
    GATEWAY_CLIENT_CONNECTING,   /* opening the socket, negotiating, registering or authenticating */
    GATEWAY_CLIENT_READY,        /* packets can be sent */
    GATEWAY_CLIENT_RECONNECTING, /* the socket dropped; a new one comes after a pause */
    GATEWAY_CLIENT_FAILED,       /* gave up: the reason says why */
} gateway_client_state;

typedef struct {
    void *ctx;
    void (*state_changed)(void *ctx, gateway_client_state state, const char *reason);
    /* a registration gave this key: keep it for the next start */
    void (*registered)(void *ctx, const uint8_t shared_key[GATEWAY_SHARED_KEY_LEN]);
    /* a message the gateway pushed (an ack, or a message for us) */
    void (*pushed)(void *ctx, const uint8_t *message, size_t len);
} gateway_client_callbacks;

typedef struct {
    char url[256];
    uint8_t gateway_identity[32];
    uint8_t identity_public[32];
    uint8_t identity_secret[64];
    bool has_shared_key;
    uint8_t shared_key[GATEWAY_SHARED_KEY_LEN];
    uint32_t response_timeout_ms;   /* for each answer during setup */
    uint32_t reconnect_attempts;    /* in a row before giving up */
    uint32_t reconnect_delay_ms;    /* the first pause; doubled each time */
    uint32_t reconnect_delay_max_ms;
} gateway_client_config;

typedef struct gateway_client gateway_client;

gateway_client *gateway_client_create(const gateway_client_config *config, const gateway_client_callbacks *callbacks);
/* Opens the first connection; progress comes through state_changed. */
void gateway_client_start(gateway_client *gc);
/* Encrypts and sends an encoded MixPacket; fails unless READY. */
int gateway_client_send(gateway_client *gc, const uint8_t *mix_packet, size_t len);
/* Bytes waiting in the socket, for back-pressure. */
size_t gateway_client_buffered(const gateway_client *gc);
int64_t gateway_client_bandwidth(const gateway_client *gc);
void gateway_client_destroy(gateway_client *gc);

#endif
