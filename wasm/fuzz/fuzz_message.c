/* libFuzzer target: what a client reads from its gateway. Fragments into
 * reassembly, whole messages into the NymMessage parser, and pushed
 * messages into a client: acks, and fragments encrypted to it as a sender
 * would, so that the fuzzer's bytes reach everything behind the decryption
 * (cover detection, reassembly, SURB storage, SURB requests, delivery).
 *
 * The input is a series of records: kind (1) ‖ length (2, BE) ‖ bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mixnet/mixnet.h"

enum { RECORD_FRAGMENT, RECORD_ENCRYPTED_FRAGMENT, RECORD_PUSHED, RECORD_MESSAGE, RECORD_ADDRESS, RECORD_KINDS };

static void nothing_sent(void *ctx, const nym_mix_packet *packet)
{
    (void)ctx;
    (void)packet;
}

/* every delivered byte is read, so that a bad length shows */
static volatile uint8_t delivered_sum;

static void delivered(void *ctx, const mixnet_received *message)
{
    (void)ctx;
    for (size_t i = 0; i < message->len; i++) delivered_sum = (uint8_t)(delivered_sum + message->data[i]);
}

static void padded_message_check(const uint8_t *padded, size_t len)
{
    size_t message_len;
    mixnet_message m;
    if (mixnet_unpad(padded, len, &message_len) == 0 && mixnet_message_parse(&m, padded, message_len) == 0) {
        uint8_t *again = malloc(mixnet_message_encoded_len(&m) + 1);
        if (again) mixnet_message_encode(&m, again, mixnet_message_encoded_len(&m));
        free(again);
    }
}

/* ephemeral key ‖ AES-128-CTR(fragment): what a sender's packet leaves at our gateway */
static void push_encrypted(mixnet_client *client, const uint8_t *fragment, size_t len, uint64_t now)
{
    static const uint8_t ephemeral_secret[32] = {7};
    static const uint8_t zero_iv[AES_BLOCK_LEN];
    mixnet_recipient self;
    mixnet_client_address(client, &self);
    uint8_t *pushed = malloc(MIXNET_KEY_LEN + len);
    if (!pushed) return;
    uint8_t key[AES128_KEY_LEN];
    x25519_public_key(pushed, ephemeral_secret);
    mixnet_e2e_key(key, ephemeral_secret, self.encryption_key);
    memcpy(pushed + MIXNET_KEY_LEN, fragment, len);
    aes128_ctr64be_xor(pushed + MIXNET_KEY_LEN, len, key, zero_iv);
    mixnet_client_receive(client, pushed, MIXNET_KEY_LEN + len, now);
    free(pushed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mixnet_client_config config;
    mixnet_client_config_default(&config);
    config.disable_poisson_traffic = true;
    config.disable_cover_traffic = true;
    config.max_reassembly_bytes = 1 << 20;
    mixnet_client_keys keys;
    memset(&keys, 0x11, sizeof keys);
    mixnet_client_callbacks callbacks = {NULL, nothing_sent, delivered, NULL};
    mixnet_client *client = mixnet_client_create(&config, &keys, &callbacks, 0);
    mixnet_reassembler *reassembler = mixnet_reassembler_create(1 << 20);
    uint64_t now = 0;
    while (size >= 3 && client && reassembler) {
        uint8_t kind = data[0] % RECORD_KINDS;
        size_t len = (size_t)data[1] << 8 | data[2];
        data += 3;
        size -= 3;
        if (len > size) len = size;
        now += 1000000;
        switch (kind) {
        case RECORD_FRAGMENT: {
            mixnet_fragment f;
            uint8_t *padded;
            size_t padded_len;
            if (mixnet_fragment_parse(&f, data, len) == 0 &&
                mixnet_reassembler_insert(reassembler, &f, now, &padded, &padded_len) == MIXNET_FRAGMENT_COMPLETED) {
                padded_message_check(padded, padded_len);
                free(padded);
            }
            break;
        }
        case RECORD_ENCRYPTED_FRAGMENT:
            push_encrypted(client, data, len, now);
            break;
        case RECORD_PUSHED:
            mixnet_client_receive(client, data, len, now);
            break;
        case RECORD_MESSAGE:
            padded_message_check(data, len);
            break;
        default: {
            mixnet_recipient r;
            mixnet_recipient_parse(&r, (const char *)data, len);
            break;
        }
        }
        data += len;
        size -= len;
    }
    /* time passes: stale sets and timers go */
    if (client) mixnet_client_process_deadlines(client, now + 3600 * 1000000000ull);
    mixnet_reassembler_destroy(reassembler);
    mixnet_client_destroy(client);
    return 0;
}
