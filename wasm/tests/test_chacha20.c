/* Original ChaCha20 (64-bit counter, 8-byte nonce): the keystream vectors
 * of draft-strombergson-chacha-test-vectors-01 (256-bit keys, 20 rounds,
 * the first 128 bytes), and RFC 8439 §2.4.2 mapped onto this layout. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto/crypto.h"

static const struct {
    const char *key, *iv, *keystream;
} strombergson[] = {
    /* TC1: all zero key and IV */
    {"0000000000000000000000000000000000000000000000000000000000000000",
     "0000000000000000",
     "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
     "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
     "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
     "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f"},
    /* TC2: one bit set in the key */
    {"0100000000000000000000000000000000000000000000000000000000000000",
     "0000000000000000",
     "c5d30a7ce1ec119378c84f487d775a8542f13ece238a9455e8229e888de85bbd"
     "29eb63d0a17a5b999b52da22be4023eb07620a54f6fa6ad8737b71eb0464dac0"
     "10f656e6d1fd55053e50c4875c9930a33f6d0263bd14dfd6ab8c70521c19338b"
     "2308b95cf8d0bb7d202d2102780ea3528f1cb48560f76b20f382b942500fceac"},
    /* TC3: one bit set in the IV */
    {"0000000000000000000000000000000000000000000000000000000000000000",
     "0100000000000000",
     "ef3fdfd6c61578fbf5cf35bd3dd33b8009631634d21e42ac33960bd138e50d32"
     "111e4caf237ee53ca8ad6426194a88545ddc497a0b466e7d6bbdb0041b2f586b"
     "5305e5e44aff19b235936144675efbe4409eb7e8e5f1430f5f5836aeb49bb532"
     "8b017c4b9dc11f8a03863fa803dc71d5726b2b6b31aa32708afe5af1d6b69058"},
    /* TC4: all bits set */
    {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "ffffffffffffffff",
     "d9bf3f6bce6ed0b54254557767fb57443dd4778911b606055c39cc25e674b836"
     "3feabc57fde54f790c52c8ae43240b79d49042b777bfd6cb80e931270b7f50eb"
     "5bac2acd86a836c5dc98c116c1217ec31d3a63a9451319f097f3b4d6dab07787"
     "19477d24d24b403a12241d7cca064f790f1d51ccaff6b1667d4bbca1958c4306"},
    /* TC5: every even bit set */
    {"5555555555555555555555555555555555555555555555555555555555555555",
     "5555555555555555",
     "bea9411aa453c5434a5ae8c92862f564396855a9ea6e22d6d3b50ae1b3663311"
     "a4a3606c671d605ce16c3aece8e61ea145c59775017bee2fa6f88afc758069f7"
     "e0b8f676e644216f4d2a3422d7fa36c6c4931aca950e9da42788e6d0b6d1cd83"
     "8ef652e97b145b14871eae6c6804c7004db5ac2fce4c68c726d004b10fcaba86"},
    /* TC6: every odd bit set */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "aaaaaaaaaaaaaaaa",
     "9aa2a9f656efde5aa7591c5fed4b35aea2895dec7cb4543b9e9f21f5e7bcbcf3"
     "c43c748a970888f8248393a09d43e0b7e164bc4d0b0fb240a2d72115c4808906"
     "72184489440545d021d97ef6b693dfe5b2c132d47e6f041c9063651f96b623e6"
     "2a11999a23b6f7c461b2153026ad5e866a2e597ed07b8401dec63a0934c6b2a9"},
    /* TC7: sequence patterns */
    {"00112233445566778899aabbccddeeffffeeddccbbaa99887766554433221100",
     "0f1e2d3c4b596877",
     "87fa92061043ca5e631fedd88e8bfb84ad6b213bdee4bc806e2764935fb89097"
     "218a897b7aead10e1b17f6802b2abdd95594903083735613d6b3531b9e0d1b67"
     "47908c74f018f6e182138b991b9c5a957c69f23c26c8a2fbb8b0acf8e64222cc"
     "251281a61cff673608de6490b41ca1b9f4ab754474f9afc7c35dcd65de3d745f"},
    /* TC8: random key and IV */
    {"c46ec1b18ce8a878725a37e780dfb7351f68ed2e194c79fbc6aebee1a667975d",
     "1ada31d5cf688221",
     "f63a89b75c2271f9368816542ba52f06ed49241792302b00b5e8f80ae9a473af"
     "c25b218f519af0fdd406362e8d69de7f54c604a6e00f353f110f771bdca8ab92"
     "e5fbc34e60a1d9a9db17345b0a402736853bf910b060bdf1f897b6290f01d138"
     "ae2c4c90225ba9ea14d518f55929dea098ca7a6ccfe61227053c84e49a4a3332"},
};

/* RFC 8439 §2.4.2. Its state words 12..15 are counter 1 and nonce
 * 00000000 0000004a 00000000. In the original layout words 12-13 are the
 * 64-bit counter and 14-15 the nonce, so the same state is counter 1
 * (word 13 = the nonce's first 4 bytes = 0) and nonce 0000004a00000000. */
static const char *const rfc8439_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char *const rfc8439_nonce = "0000004a00000000";
static const char *const rfc8439_plaintext = /* "Ladies and Gentlemen of the class of '99: ..." */
    "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a20496620492063"
    "6f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
    "637265656e20776f756c642062652069742e";
static const char *const rfc8439_ciphertext =
    "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b357"
    "1639d624e65152ab8f530c359f0861d807ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
    "5af90bbf74a35be6b40b8eedf2785e42874d";

void test_chacha20(void)
{
    uint8_t key[CHACHA20_KEY_LEN], nonce[CHACHA20_NONCE_LEN], buf[128];

    for (size_t i = 0; i < sizeof strombergson / sizeof strombergson[0]; i++) {
        hex_decode(key, sizeof key, strombergson[i].key);
        hex_decode(nonce, sizeof nonce, strombergson[i].iv);
        memset(buf, 0, sizeof buf); /* zeros xor keystream = keystream */
        chacha20_xor(buf, sizeof buf, key, nonce, 0);
        CHECK_HEX(buf, sizeof buf, strombergson[i].keystream);
    }

    /* starting at block 1 gives the second 64 bytes of TC1 */
    memset(key, 0, sizeof key);
    memset(nonce, 0, sizeof nonce);
    memset(buf, 0, 64);
    chacha20_xor(buf, 64, key, nonce, 1);
    CHECK_HEX(buf, 64, strombergson[0].keystream + 128);

    size_t len;
    uint8_t *data = hex_alloc(rfc8439_plaintext, &len);
    hex_decode(key, sizeof key, rfc8439_key);
    hex_decode(nonce, sizeof nonce, rfc8439_nonce);
    chacha20_xor(data, len, key, nonce, 1);
    CHECK_HEX(data, len, rfc8439_ciphertext);
    chacha20_xor(data, len, key, nonce, 1);
    CHECK_HEX(data, len, rfc8439_plaintext);
    free(data);
}
