/* SHA-256 (FIPS 180-2 appendix B), HMAC-SHA-256 (RFC 4231) and
 * HKDF-SHA-256 (RFC 5869 appendix A). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto/crypto.h"

static const struct {
    const char *message, *digest;
} fips180_2[] = {
    /* "abc" */
    {"616263", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    /* the 448-bit message "abcdbcdecdefdefg...nopq" */
    {"6162636462636465636465666465666765666768666768696768696a68696a6b"
     "696a6b6c6a6b6c6d6b6c6d6e6c6d6e6f6d6e6f706e6f7071",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
};
/* B.3: one million times 'a' */
static const char *const million_a_digest = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

void test_sha256(void)
{
    uint8_t digest[SHA256_LEN];
    for (size_t i = 0; i < sizeof fips180_2 / sizeof fips180_2[0]; i++) {
        size_t len;
        uint8_t *msg = hex_alloc(fips180_2[i].message, &len);
        sha256(digest, msg, len);
        CHECK_HEX(digest, sizeof digest, fips180_2[i].digest);
        free(msg);
    }

    /* on the heap: a megabyte does not fit the wasm stack */
    uint8_t *a = malloc(1000000);
    if (!a) abort();
    memset(a, 'a', 1000000);
    sha256(digest, a, 1000000);
    CHECK_HEX(digest, sizeof digest, million_a_digest);
    free(a);
}

/* The expected MAC may be shorter than 32 bytes (truncated, case 5). */
static const struct {
    const char *key, *data, *mac;
} rfc4231[] = {
    /* test case 1 */
    {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "4869205468657265",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    /* test case 2 */
    {"4a656665",
     "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    /* test case 3 */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "dddd",
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    /* test case 4 */
    {"0102030405060708090a0b0c0d0e0f10111213141516171819",
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
     "cdcd",
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
    /* test case 5 (compare only 128 bits) */
    {"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
     "546573742057697468205472756e636174696f6e",
     "a3b6167473100ee06e0c796c2955552b"},
    /* test case 6 */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579"
     "204669727374",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    /* test case 7 */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206b65"
     "7920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
     "647320746f20626520686173686564206265666f7265206265696e6720757365642062792074686520484d414320616c"
     "676f726974686d2e",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
};

void test_hmac_sha256(void)
{
    for (size_t i = 0; i < sizeof rfc4231 / sizeof rfc4231[0]; i++) {
        size_t key_len, data_len;
        uint8_t *key = hex_alloc(rfc4231[i].key, &key_len);
        uint8_t *data = hex_alloc(rfc4231[i].data, &data_len);
        uint8_t mac[SHA256_LEN];
        hmac_sha256(mac, key, key_len, data, data_len);
        CHECK_HEX(mac, strlen(rfc4231[i].mac) / 2, rfc4231[i].mac);
        free(key);
        free(data);
    }
}

static const struct {
    const char *ikm, *salt, *info, *okm;
} rfc5869[] = {
    /* A.1 */
    {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "000102030405060708090a0b0c",
     "f0f1f2f3f4f5f6f7f8f9",
     "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
     "34007208d5b887185865"},
    /* A.2 */
    {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
     "303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
     "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f"
     "909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
     "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
     "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
     "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
     "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
     "cc30c58179ec3e87c14c01d5c1f3434f1d87"},
    /* A.3: no salt, no info */
    {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "",
     "",
     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
     "9d201395faa4b61a96c8"},
};

void test_hkdf_sha256(void)
{
    for (size_t i = 0; i < sizeof rfc5869 / sizeof rfc5869[0]; i++) {
        size_t ikm_len, salt_len, info_len, okm_len = strlen(rfc5869[i].okm) / 2;
        uint8_t *ikm = hex_alloc(rfc5869[i].ikm, &ikm_len);
        uint8_t *salt = hex_alloc(rfc5869[i].salt, &salt_len);
        uint8_t *info = hex_alloc(rfc5869[i].info, &info_len);
        uint8_t okm[128];
        int rc = hkdf_sha256(okm, okm_len, salt, salt_len, ikm, ikm_len, info, info_len);
        /* a failed call compares as empty output, so it fails the check */
        CHECK_HEX(okm, rc == 0 ? okm_len : 0, rfc5869[i].okm);
        free(ikm);
        free(salt);
        free(info);
    }

    /* RFC 5869 §2.3: L may not exceed 255 * HashLen */
    static uint8_t big[255 * 32 + 1];
    const uint8_t ikm[32] = {0};
    CHECK(hkdf_sha256(big, sizeof big, NULL, 0, ikm, sizeof ikm, NULL, 0) == -1);
}

/* FIPS 180-2 SHA-1 examples, and RFC 6455 §1.3's accept key input. */
void test_sha1(void)
{
    uint8_t d[SHA1_LEN];
    sha1(d, (const uint8_t *)"abc", 3);
    CHECK_HEX(d, SHA1_LEN, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha1(d, (const uint8_t *)m, strlen(m));
    CHECK_HEX(d, SHA1_LEN, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    const char *ws = "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    sha1(d, (const uint8_t *)ws, strlen(ws));
    CHECK_HEX(d, SHA1_LEN, "b37a4f2cc0624f1690f64606cf385945b2bec4ea");
}
