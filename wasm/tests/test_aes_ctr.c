/* AES-128-CTR against NIST SP 800-38A F.5.1 / F.5.2, and the 64-bit counter
 * wrap of Ctr64BE, which a 128-bit counter (as in SP 800-38A) would not do. */
#include <string.h>

#include "check.h"
#include "crypto/crypto.h"

static const char *const key_hex = "2b7e151628aed2a6abf7158809cf4f3c";
/* SP 800-38A's initial counter block; its low 64 bits never wrap in 4 blocks,
 * so the 64-bit and the 128-bit counters agree here */
static const char *const counter_hex = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
static const char *const plaintext_hex = "6bc1bee22e409f96e93d7e117393172a"
                                         "ae2d8a571e03ac9c9eb76fac45af8e51"
                                         "30c81c46a35ce411e5fbc1191a0a52ef"
                                         "f69f2445df4f9b17ad2b417be66c3710";
static const char *const ciphertext_hex = "874d6191b620e3261bef6864990db6ce"
                                          "9806f66b7970fdff8617187bb9fffdff"
                                          "5ae4df3edbd5d35e5b4f09020db03eab"
                                          "1e031dda2fbe03d1792170a0f3009cee";

void test_aes128_ctr(void)
{
    uint8_t key[AES128_KEY_LEN], iv[AES_BLOCK_LEN], buf[64];
    hex_decode(key, sizeof key, key_hex);
    hex_decode(iv, sizeof iv, counter_hex);

    /* F.5.1 CTR-AES128.Encrypt */
    hex_decode(buf, sizeof buf, plaintext_hex);
    aes128_ctr64be_xor(buf, sizeof buf, key, iv);
    CHECK_HEX(buf, sizeof buf, ciphertext_hex);

    /* F.5.2 CTR-AES128.Decrypt */
    hex_decode(buf, sizeof buf, ciphertext_hex);
    aes128_ctr64be_xor(buf, sizeof buf, key, iv);
    CHECK_HEX(buf, sizeof buf, plaintext_hex);

    /* Wrap: after X = 00..00 ffffffffffffffff the next counter block is Y =
     * X with its low 64 bits zero (the high 8 bytes unchanged), not
     * 00..01 0000000000000000. Block 0 of IV Y is computed with the same
     * function, so only the counter arithmetic is under test. */
    uint8_t x[AES_BLOCK_LEN], y[AES_BLOCK_LEN], two_blocks[32] = {0}, expected[32] = {0};
    memset(x, 0, 8);
    memset(x + 8, 0xff, 8);
    memcpy(y, x, 8);
    memset(y + 8, 0, 8);
    aes128_ctr64be_xor(two_blocks, sizeof two_blocks, key, x);
    aes128_ctr64be_xor(expected, AES_BLOCK_LEN, key, x);
    aes128_ctr64be_xor(expected + AES_BLOCK_LEN, AES_BLOCK_LEN, key, y);
    CHECK(memcmp(two_blocks, expected, sizeof expected) == 0);
}
