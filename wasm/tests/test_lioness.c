/* LIONESS (ChaCha20 + keyed BLAKE2b-256) against the known-answer test
 * chach20_blake2b_lioness_vectors_test of the lioness crate 0.1.2
 * (burdges/lioness-rs, src/lib.rs): 192-byte key, 512-byte block. */
#include <stdlib.h>

#include "check.h"
#include "crypto/crypto.h"

static const char *const lioness_key =
    "0f2c69732932c99e56fa50fbb2763ad77ee221fc5d9e6c08f89fc577a7467f1ee34003440ee2bfbfaac60912b0e547fb"
    "e9a6a9292db70bc718c6f2773ab198ac8f255378f7ea799e1d4b8596079173b6e443c416f13195f1976acc03d53a4b85"
    "81b609df3b7029d5b487051d5ae4189129c045edc8822e1f52e30251e4b322b3f6d6e8bb0ddb0578dcba41603abf5e51"
    "848c84d2082d293f30a645faf4df028ee2c40853ea33e40b55fca902371dc00dc1e0e77161bd097a59e8368bf99174d9";
static const char *const lioness_plaintext =
    "5ac4cb9674a8908915a2b1aaf2043271612531911a26186bd5c811951330753a0e3259f3fcf52fb86e666ab4d96243e5"
    "7d73b976611f928d44ad137799016861576ca0a6b8a8a9e2ea02db71e71c9654e476ca845c44456eba62f11f004b2227"
    "56e485185c446c30b7a05cf9acd53b3131227b428da5c9601664d45ae5c2387956307961a0680894844190605dce0c86"
    "e597105884e151eb8a005eda08ff5891a6b40bae299cddad979063a9a356f3477feabb9cc7bd80a1e2d6a419fcd8af9e"
    "98f7b193c71bd6056d7634b8c2b8f85920f314554104659e52d9266ddbc2ac40c1b875f6b00225f832cf310e139ad8cc"
    "2568608f0323534fa15a84280e776e7e1167a001f6e18c49f3cd02c19837da47ac091219ee2fdb4458836db20cbd362b"
    "b65add9b40f2817f666caf19787abc2013737eea8c7552d755a29beba5da31956f75fe7628221fe8d0a75da5bee39af9"
    "56a2246c5a339560dcf029eb76d191963354b70142df29ec69930977ce2f0e491513664ce83a8fa75f3e698530cf9daf"
    "bdb90b19745e9257d03d7320c6d306f529eda242cb3f6f452a943f6e1c04eb02cbb0368d79e49a2b42ac3ff7cd9a5686"
    "bfdb90a29322016bbcef5c733f451a9f4ea7c534116158eb611796d47b83ffe7cd6e6c11d56e2d26c7a386853212a2f9"
    "2efeabc74e8fe69e3d374d7b033d0ec9862221435b14ad534217ad7da50bc236";
static const char *const lioness_ciphertext =
    "9eb45ca2ca4d0b6ff05a749511aad1357aa64caf9ce547c7388fe24fd1300fe856bb5c396869acd21c45805e6a7c8a1b"
    "7f71cc5f0ea9dd0c4ecd4bba9a7a4853bc352bc9f6562e9907973f91fbcf7c710f5a89abc8eb4489b90e8111cbf85ffd"
    "595d603268ddceb40e39e747a4e7bd5c965585b6964e180bd6ccb9d0fad210c7f7dd6f90cf6db9bda70d41d3922cedec"
    "5ea147ef318de5f34e6fe5bd646859a9d4171b973b6b58c8d7f94bc9eb293c197f3408a51e3626196e3f6bca625cef90"
    "fa7a3e3713bdaebdda82f48db1a97c9ed5c48bc419dbc3d1f9ef43d1b17dd83c966bde9d9360b7cdac0871844c27921d"
    "cf3bb7edce9fb24661a41a8f92c8502925f062e9cd2f77c561e5825eae211657652330bc64cd63b18d1014975f167f8b"
    "68d6e702dd3d3547971662238216cc5b07517cc90aaa49a61ee423861cdc49c0e1f64e086007095a00f8adb0314fd85c"
    "88158001202edf2ed43c201176d6141e469dd89430352a927ee22a41c62c8cfdfd5d592e76793e58a9c63b7fe6dad335"
    "d7acec90727675854d7708358115794e013bb4fdb504c44e21ce500f764fac211e8de20b81ca55fc778ace024d2a4004"
    "5241e71b023ceb519c8c28285c333b9f90f5e2cde21ca6744e43f89d00545dd34df072c7214f6cbd2123c4b061361460"
    "9961dd855d6d611c3018e4df3550b4e93f33f7c3e8b2c890ca0405c957aa277d";

void test_lioness(void)
{
    uint8_t key[LIONESS_KEY_LEN];
    size_t len;
    hex_decode(key, sizeof key, lioness_key);
    uint8_t *block = hex_alloc(lioness_plaintext, &len);

    int rc = lioness_encrypt(block, len, key);
    CHECK_HEX(block, rc == 0 ? len : 0, lioness_ciphertext);
    rc = lioness_decrypt(block, len, key);
    CHECK_HEX(block, rc == 0 ? len : 0, lioness_plaintext);
    free(block);

    /* the left half is the 32-byte stream key, so the right half must not be empty */
    uint8_t small[LIONESS_MIN_BLOCK_LEN - 1] = {0};
    CHECK(lioness_encrypt(small, sizeof small, key) == -1);
    CHECK(lioness_decrypt(small, sizeof small, key) == -1);
}
