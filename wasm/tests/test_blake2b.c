/* BLAKE2b: RFC 7693 appendix A, keyed KATs of the BLAKE2 reference
 * repository (testvectors/blake2b-kat.txt: key 00..3f, input 00 01 .. of
 * the given length, 64-byte output), and libsodium's
 * test/default/generichash.exp for other output lengths in the parameter
 * block (that test hashes in = 00 01 .. of length i with key = 00 01 .. of
 * length 1 + i % 64 into 1 + i % 64 bytes). The BLAKE2 repository has no
 * BLAKE2b vector with a 32-byte output. */
#include "check.h"
#include "crypto/crypto.h"

/* RFC 7693 appendix A: BLAKE2b-512("abc") */
static const char *const rfc7693_abc = "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
    "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923";

static const struct {
    size_t input_len;
    const char *hash;
} blake2b_kat[] = {
    {0,
     "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786"
     "b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568"},
    {1,
     "961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4"
     "187b0bc9fe30492b16b0d0bc4ef9b0f34c7003fac09a5ef1532e69430234cebd"},
    {2,
     "da2cfbe2d8409a0f38026113884f84b50156371ae304c4430173d08a99d9fb1b"
     "983164a3770706d537f49e0c916d9f32b95cc37a95b99d857436f0232c88a965"},
    {3,
     "33d0825dddf7ada99b0e7e307104ad07ca9cfd9692214f1561356315e784f3e5"
     "a17e364ae9dbb14cb2036df932b77f4b292761365fb328de7afdc6d8998f5fc1"},
    {63,
     "bd965bf31e87d70327536f2a341cebc4768eca275fa05ef98f7f1b71a0351298"
     "de006fba73fe6733ed01d75801b4a928e54231b38e38c562b2e33ea1284992fa"},
    {64,
     "65676d800617972fbd87e4b9514e1c67402b7a331096d3bfac22f1abb95374ab"
     "c942f16e9ab0ead33b87c91968a6e509e119ff07787b3ef483e1dcdccf6e3022"},
    {65,
     "939fa189699c5d2c81ddd1ffc1fa207c970b6a3685bb29ce1d3e99d42f2f7442"
     "da53e95a72907314f4588399a3ff5b0a92beb3f6be2694f9f86ecf2952d5b41c"},
    {127,
     "76d2d819c92bce55fa8e092ab1bf9b9eab237a25267986cacf2b8ee14d214d73"
     "0dc9a5aa2d7b596e86a1fd8fa0804c77402d2fcd45083688b218b1cdfa0dcbcb"},
    {128,
     "72065ee4dd91c2d8509fa1fc28a37c7fc9fa7d5b3f8ad3d0d7a25626b57b1b44"
     "788d4caf806290425f9890a3a2a35a905ab4b37acfd0da6e4517b2525c9651e4"},
    {129,
     "64475dfe7600d7171bea0b394e27c9b00d8e74dd1e416a79473682ad3dfdbb70"
     "6631558055cfc8a40e07bd015a4540dcdea15883cbbf31412df1de1cd4152b91"},
    {255,
     "142709d62e28fcccd0af97fad0f8465b971e82201dc51070faa0372aa43e9248"
     "4be1c1e73ba10906d5d1853db6a4106e0a7bf9800d373d6dee2d46d62ef2a461"},
};

static const struct {
    size_t i; /* line i of generichash.exp, from 0 */
    const char *hash;
} generichash_exp[] = {
    /* i = 0: 1-byte output, 1-byte key, empty input */
    {0, "05"},
    /* i = 31: 32-byte output (what LIONESS uses), 32-byte key, 31-byte input */
    {31, "a9f51bb7f6a3e9cdb96ce652c07d177962a348a9cced1b92f948187e59b44463"},
};

void test_blake2b(void)
{
    uint8_t out[64], key[64], in[256];
    for (size_t i = 0; i < sizeof in; i++) in[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof key; i++) key[i] = (uint8_t)i;

    int rc = blake2b(out, 64, NULL, 0, (const uint8_t *)"abc", 3);
    CHECK_HEX(out, rc == 0 ? 64 : 0, rfc7693_abc);

    for (size_t v = 0; v < sizeof blake2b_kat / sizeof blake2b_kat[0]; v++) {
        rc = blake2b(out, 64, key, 64, in, blake2b_kat[v].input_len);
        CHECK_HEX(out, rc == 0 ? 64 : 0, blake2b_kat[v].hash);
    }

    for (size_t v = 0; v < sizeof generichash_exp / sizeof generichash_exp[0]; v++) {
        size_t i = generichash_exp[v].i, n = 1 + i % 64;
        rc = blake2b(out, n, key, n, in, i);
        CHECK_HEX(out, rc == 0 ? n : 0, generichash_exp[v].hash);
    }

    /* lengths outside the parameter block's range are refused */
    CHECK(blake2b(out, 0, NULL, 0, in, 3) == -1);
    CHECK(blake2b(out, 65, NULL, 0, in, 3) == -1);
    CHECK(blake2b(out, 32, in, 65, in, 3) == -1);
}
