/* Registration handshake (gateway.md §6) and authentication v2 (§7). */
#include "crypto/crypto.h"
#include "gateway/gateway.h"

#include <string.h>

#define SIGNATURE_LEN 64
#define SEALED_SIGNATURE_LEN (SIGNATURE_LEN + 16)
#define AUTH_V2_SIGNED_LEN (1 + 32 + GATEWAY_ADDRESS_CIPHERTEXT_LEN + GATEWAY_NONCE_LEN + 8)

static void derive_shared_key(uint8_t key[GATEWAY_SHARED_KEY_LEN], const uint8_t secret[32], const uint8_t peer[32],
                              const uint8_t salt[GATEWAY_KDF_SALT_LEN])
{
    uint8_t dh[32];
    x25519(dh, secret, peer);
    hkdf_blake3(key, GATEWAY_SHARED_KEY_LEN, salt, GATEWAY_KDF_SALT_LEN, dh, sizeof dh, NULL, 0);
    secure_zero(dh, sizeof dh);
}

/* Each party signs its own ephemeral key first: the gateway Y ‖ X, the client X ‖ Y. */
static void concat_keys(uint8_t out[64], const uint8_t first[32], const uint8_t second[32])
{
    memcpy(out, first, 32);
    memcpy(out + 32, second, 32);
}

void gateway_handshake_client_begin(gateway_client_handshake *hs, const uint8_t identity_public[32],
                                    const uint8_t identity_secret[64], uint8_t h1[GATEWAY_H1_LEN])
{
    memcpy(hs->identity_public, identity_public, 32);
    memcpy(hs->identity_secret, identity_secret, 64);
    random_bytes(hs->ephemeral_secret, sizeof hs->ephemeral_secret);
    x25519_public_key(hs->ephemeral_public, hs->ephemeral_secret);
    random_bytes(hs->salt, sizeof hs->salt);
    memcpy(h1, identity_public, 32);
    memcpy(h1 + 32, hs->ephemeral_public, 32);
    memcpy(h1 + 64, hs->salt, GATEWAY_KDF_SALT_LEN);
}

int gateway_handshake_client_finish(gateway_client_handshake *hs, const uint8_t gateway_identity[32],
                                    const uint8_t *h2, size_t h2_len, uint8_t shared_key[GATEWAY_SHARED_KEY_LEN],
                                    uint8_t h3[GATEWAY_H3_LEN])
{
    if (h2_len != GATEWAY_H2_LEN) return GATEWAY_ERR_MALFORMED;
    const uint8_t *gateway_ephemeral = h2;
    derive_shared_key(shared_key, hs->ephemeral_secret, gateway_ephemeral, hs->salt);

    uint8_t signature[SIGNATURE_LEN], signed_keys[64];
    const uint8_t *nonce = h2 + 32 + SEALED_SIGNATURE_LEN;
    concat_keys(signed_keys, gateway_ephemeral, hs->ephemeral_public);
    if (gcm_siv_open(signature, shared_key, nonce, NULL, 0, h2 + 32, SEALED_SIGNATURE_LEN) != 0 ||
        !ed25519_verify(signature, signed_keys, sizeof signed_keys, gateway_identity)) {
        secure_zero(shared_key, GATEWAY_SHARED_KEY_LEN);
        return GATEWAY_ERR_CRYPTO;
    }

    concat_keys(signed_keys, hs->ephemeral_public, gateway_ephemeral);
    ed25519_sign(signature, signed_keys, sizeof signed_keys, hs->identity_secret);
    uint8_t *h3_nonce = h3 + SEALED_SIGNATURE_LEN;
    random_bytes(h3_nonce, GATEWAY_NONCE_LEN);
    gcm_siv_seal(h3, shared_key, h3_nonce, NULL, 0, signature, sizeof signature);
    secure_zero(hs->ephemeral_secret, sizeof hs->ephemeral_secret);
    return 0;
}

int gateway_handshake_server_reply(gateway_server_handshake *hs, const uint8_t gateway_identity_secret[64],
                                   const uint8_t *h1, size_t h1_len, uint8_t h2[GATEWAY_H2_LEN],
                                   const uint8_t *ephemeral_secret, const uint8_t *nonce)
{
    if (h1_len != GATEWAY_H1_LEN) return GATEWAY_ERR_MALFORMED;
    memcpy(hs->client_identity, h1, 32);
    memcpy(hs->client_ephemeral, h1 + 32, 32);
    const uint8_t *salt = h1 + 64;

    uint8_t secret[32];
    if (ephemeral_secret)
        memcpy(secret, ephemeral_secret, sizeof secret);
    else
        random_bytes(secret, sizeof secret);
    x25519_public_key(hs->ephemeral_public, secret);
    derive_shared_key(hs->shared_key, secret, hs->client_ephemeral, salt);
    secure_zero(secret, sizeof secret);

    uint8_t signed_keys[64], signature[SIGNATURE_LEN];
    concat_keys(signed_keys, hs->ephemeral_public, hs->client_ephemeral);
    ed25519_sign(signature, signed_keys, sizeof signed_keys, gateway_identity_secret);
    uint8_t *h2_nonce = h2 + 32 + SEALED_SIGNATURE_LEN;
    if (nonce)
        memcpy(h2_nonce, nonce, GATEWAY_NONCE_LEN);
    else
        random_bytes(h2_nonce, GATEWAY_NONCE_LEN);
    memcpy(h2, hs->ephemeral_public, 32);
    gcm_siv_seal(h2 + 32, hs->shared_key, h2_nonce, NULL, 0, signature, sizeof signature);
    return 0;
}

int gateway_handshake_server_verify(const gateway_server_handshake *hs, const uint8_t *h3, size_t h3_len)
{
    if (h3_len != GATEWAY_H3_LEN) return GATEWAY_ERR_MALFORMED;
    uint8_t signature[SIGNATURE_LEN], signed_keys[64];
    if (gcm_siv_open(signature, hs->shared_key, h3 + SEALED_SIGNATURE_LEN, NULL, 0, h3, SEALED_SIGNATURE_LEN) != 0)
        return GATEWAY_ERR_CRYPTO;
    concat_keys(signed_keys, hs->client_ephemeral, hs->ephemeral_public);
    return ed25519_verify(signature, signed_keys, sizeof signed_keys, hs->client_identity) ? 0 : GATEWAY_ERR_CRYPTO;
}

static void auth_v2_signed_message(uint8_t out[AUTH_V2_SIGNED_LEN], const gateway_message *msg)
{
    uint8_t *p = out;
    *p++ = msg->protocol_version;
    memcpy(p, msg->client_identity, 32);
    p += 32;
    memcpy(p, msg->address_ciphertext, GATEWAY_ADDRESS_CIPHERTEXT_LEN);
    p += GATEWAY_ADDRESS_CIPHERTEXT_LEN;
    memcpy(p, msg->nonce, GATEWAY_NONCE_LEN);
    p += GATEWAY_NONCE_LEN;
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(msg->timestamp >> (56 - 8 * i));
}

void gateway_auth_v2_build(gateway_message *msg, uint8_t protocol_version, const uint8_t identity_public[32],
                           const uint8_t identity_secret[64], const uint8_t shared_key[GATEWAY_SHARED_KEY_LEN],
                           uint64_t now_unix_s)
{
    memset(msg, 0, sizeof *msg);
    msg->type = GATEWAY_MSG_AUTHENTICATE_V2;
    msg->protocol_version = protocol_version;
    memcpy(msg->client_identity, identity_public, 32);
    random_bytes(msg->nonce, GATEWAY_NONCE_LEN);
    gcm_siv_seal(msg->address_ciphertext, shared_key, msg->nonce, NULL, 0, identity_public, 32);
    msg->timestamp = now_unix_s;
    uint8_t signed_message[AUTH_V2_SIGNED_LEN];
    auth_v2_signed_message(signed_message, msg);
    ed25519_sign(msg->signature, signed_message, sizeof signed_message, identity_secret);
}

int gateway_auth_v2_verify(const gateway_message *msg, const uint8_t shared_key[GATEWAY_SHARED_KEY_LEN],
                           uint64_t now_unix_s)
{
    if (msg->type != GATEWAY_MSG_AUTHENTICATE_V2) return GATEWAY_ERR_MALFORMED;
    if (msg->protocol_version < GATEWAY_MIN_PROTOCOL_VERSION || msg->protocol_version > GATEWAY_PROTOCOL_VERSION)
        return GATEWAY_ERR_VERSION;
    if (msg->timestamp + GATEWAY_AUTH_MAX_SKEW_S < now_unix_s || msg->timestamp > now_unix_s + GATEWAY_AUTH_MAX_SKEW_S)
        return GATEWAY_ERR_TIMESTAMP;
    uint8_t signed_message[AUTH_V2_SIGNED_LEN];
    auth_v2_signed_message(signed_message, msg);
    if (!ed25519_verify(msg->signature, signed_message, sizeof signed_message, msg->client_identity))
        return GATEWAY_ERR_CRYPTO;
    uint8_t expected[GATEWAY_ADDRESS_CIPHERTEXT_LEN];
    gcm_siv_seal(expected, shared_key, msg->nonce, NULL, 0, msg->client_identity, 32);
    return ct_equal(expected, msg->address_ciphertext, sizeof expected) ? 0 : GATEWAY_ERR_CRYPTO;
}
