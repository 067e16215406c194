/* AES-256-GCM-SIV against RFC 8452 appendix C.2 (AEAD_AES_256_GCM_SIV, all
 * vectors) and C.3 (counter wrap); the tag check and the short-input check
 * of open; sealing in place. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto/crypto.h"

#define KEY1 "0100000000000000000000000000000000000000000000000000000000000000"
#define NONCE3 "030000000000000000000000"

/* result = ciphertext || tag */
static const struct {
    const char *key, *nonce, *aad, *plaintext, *result;
} rfc8452[] = {
    /* C.2: key 01 00.., nonce 03 00.., no AAD */
    {KEY1,
     NONCE3,
     "",
     "",
     "07f5f4169bbf55a8400cd47ea6fd400f"},
    {KEY1,
     NONCE3,
     "",
     "0100000000000000",
     "c2ef328e5c71c83b843122130f7364b761e0b97427e3df28"},
    {KEY1,
     NONCE3,
     "",
     "010000000000000000000000",
     "9aab2aeb3faa0a34aea8e2b18ca50da9ae6559e48fd10f6e5c9ca17e"},
    {KEY1,
     NONCE3,
     "",
     "01000000000000000000000000000000",
     "85a01b63025ba19b7fd3ddfc033b3e76c9eac6fa700942702e90862383c6c366"},
    {KEY1,
     NONCE3,
     "",
     "0100000000000000000000000000000002000000000000000000000000000000",
     "4a6a9db4c8c6549201b9edb53006cba821ec9cf850948a7c86c68ac7539d027fe819e63abcd020b006a976397632eb5d"},
    {KEY1,
     NONCE3,
     "",
     "010000000000000000000000000000000200000000000000000000000000000003000000000000000000000000000000",
     "c00d121893a9fa603f48ccc1ca3c57ce7499245ea0046db16c53c7c66fe717e39cf6c748837b61f6ee3adcee17534ed5"
     "790bc96880a99ba804bd12c0e6a22cc4"},
    {KEY1,
     NONCE3,
     "",
     "010000000000000000000000000000000200000000000000000000000000000003000000000000000000000000000000"
     "04000000000000000000000000000000",
     "c2d5160a1f8683834910acdafc41fbb1632d4a353e8b905ec9a5499ac34f96c7e1049eb080883891a4db8caaa1f99dd0"
     "04d80487540735234e3744512c6f90ce112864c269fc0d9d88c61fa47e39aa08"},
    /* with AAD */
    {KEY1,
     NONCE3,
     "01",
     "0200000000000000",
     "1de22967237a813291213f267e3b452f02d01ae33e4ec854"},
    {KEY1,
     NONCE3,
     "01",
     "020000000000000000000000",
     "163d6f9cc1b346cd453a2e4cc1a4a19ae800941ccdc57cc8413c277f"},
    {KEY1,
     NONCE3,
     "01",
     "02000000000000000000000000000000",
     "c91545823cc24f17dbb0e9e807d5ec17b292d28ff61189e8e49f3875ef91aff7"},
    {KEY1,
     NONCE3,
     "01",
     "0200000000000000000000000000000003000000000000000000000000000000",
     "07dad364bfc2b9da89116d7bef6daaaf6f255510aa654f920ac81b94e8bad365aea1bad12702e1965604374aab96dbbc"},
    {KEY1,
     NONCE3,
     "01",
     "020000000000000000000000000000000300000000000000000000000000000004000000000000000000000000000000",
     "c67a1f0f567a5198aa1fcc8e3f21314336f7f51ca8b1af61feac35a86416fa47fbca3b5f749cdf564527f2314f42fe25"
     "03332742b228c647173616cfd44c54eb"},
    {KEY1,
     NONCE3,
     "01",
     "020000000000000000000000000000000300000000000000000000000000000004000000000000000000000000000000"
     "05000000000000000000000000000000",
     "67fd45e126bfb9a79930c43aad2d36967d3f0e4d217c1e551f59727870beefc98cb933a8fce9de887b1e40799988db1f"
     "c3f91880ed405b2dd298318858467c895bde0285037c5de81e5b570a049b62a0"},
    {KEY1,
     NONCE3,
     "010000000000000000000000",
     "02000000",
     "22b3f4cd1835e517741dfddccfa07fa4661b74cf"},
    {KEY1,
     NONCE3,
     "010000000000000000000000000000000200",
     "0300000000000000000000000000000004000000",
     "43dd0163cdb48f9fe3212bf61b201976067f342bb879ad976d8242acc188ab59cabfe307"},
    {KEY1,
     NONCE3,
     "0100000000000000000000000000000002000000",
     "030000000000000000000000000000000400",
     "462401724b5ce6588d5a54aae5375513a075cfcdf5042112aa29685c912fc2056543"},
    /* random keys, nonces, AAD and plaintexts */
    {"e66021d5eb8e4f4066d4adb9c33560e4f46e44bb3da0015c94f7088736864200",
     "e0eaf5284d884a0e77d31646",
     "",
     "",
     "169fbb2fbf389a995f6390af22228a62"},
    {"bae8e37fc83441b16034566b7a806c46bb91c3c5aedb64a6c590bc84d1a5e269",
     "e4b47801afc0577e34699b9e",
     "4fbdc66f14",
     "671fdd",
     "0eaccb93da9bb81333aee0c785b240d319719d"},
    {"6545fc880c94a95198874296d5cc1fd161320b6920ce07787f86743b275d1ab3",
     "2f6d1f0434d8848c1177441f",
     "6787f3ea22c127aaf195",
     "195495860f04",
     "a254dad4f3f96b62b84dc40c84636a5ec12020ec8c2c"},
    {"d1894728b3fed1473c528b8426a582995929a1499e9ad8780c8d63d0ab4149c0",
     "9f572c614b4745914474e7c7",
     "489c8fde2be2cf97e74e932d4ed87d",
     "c9882e5386fd9f92ec",
     "0df9e308678244c44bc0fd3dc6628dfe55ebb0b9fb2295c8c2"},
    {"a44102952ef94b02b805249bac80e6f61455bfac8308a2d40d8c845117808235",
     "5c9e940fea2f582950a70d5a",
     "0da55210cc1c1b0abde3b2f204d1e9f8b06bc47f",
     "1db2316fd568378da107b52b",
     "8dbeb9f7255bf5769dd56692404099c2587f64979f21826706d497d5"},
    {"9745b3d1ae06556fb6aa7890bebc18fe6b3db4da3d57aa94842b9803a96e07fb",
     "6de71860f762ebfbd08284e4",
     "f37de21c7ff901cfe8a69615a93fdf7a98cad481796245709f",
     "21702de0de18baa9c9596291b08466",
     "793576dfa5c0f88729a7ed3c2f1bffb3080d28f6ebb5d3648ce97bd5ba67fd"},
    {"b18853f68d833640e42a3c02c25b64869e146d7b233987bddfc240871d7576f7",
     "028ec6eb5ea7e298342a94d4",
     "9c2159058b1f0fe91433a5bdc20e214eab7fecef4454a10ef0657df21ac7",
     "b202b370ef9768ec6561c4fe6b7e7296fa85",
     "857e16a64915a787637687db4a9519635cdd454fc2a154fea91f8363a39fec7d0a49"},
    {"3c535de192eaed3822a2fbbe2ca9dfc88255e14a661b8aa82cc54236093bbc23",
     "688089e55540db1872504e1c",
     "734320ccc9d9bbbb19cb81b2af4ecbc3e72834321f7aa0f70b7282b4f33df23f167541",
     "ced532ce4159b035277d4dfbb7db62968b13cd4eec",
     "626660c26ea6612fb17ad91e8e767639edd6c9faee9d6c7029675b89eaf4ba1ded1a286594"},
    /* C.3 counter wrap tests: the 32-bit block counter wraps within the message */
    {"0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000",
     "",
     "000000000000000000000000000000004db923dc793ee6497c76dcc03a98e108",
     "f3f80f2cf0cb2dd9c5984fcda908456cc537703b5ba70324a6793a7bf218d3eaffffffff000000000000000000000000"},
    {"0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000",
     "",
     "eb3640277c7ffd1303c7a542d02d3e4c0000000000000000",
     "18ce4f0b8cb4d0cac65fea8f79257b20888e53e72299e56dffffffff000000000000000000000000"},
};

void test_gcm_siv(void)
{
    const size_t n = sizeof rfc8452 / sizeof rfc8452[0];
    for (size_t i = 0; i < n; i++) {
        uint8_t key[GCM_SIV_KEY_LEN], nonce[GCM_SIV_NONCE_LEN];
        size_t aad_len, pt_len, result_len;
        hex_decode(key, sizeof key, rfc8452[i].key);
        hex_decode(nonce, sizeof nonce, rfc8452[i].nonce);
        uint8_t *aad = hex_alloc(rfc8452[i].aad, &aad_len);
        uint8_t *pt = hex_alloc(rfc8452[i].plaintext, &pt_len);
        uint8_t *result = hex_alloc(rfc8452[i].result, &result_len);
        uint8_t *out = malloc(pt_len + GCM_SIV_TAG_LEN);
        if (!out) abort();

        gcm_siv_seal(out, key, nonce, aad, aad_len, pt, pt_len);
        CHECK_HEX(out, pt_len + GCM_SIV_TAG_LEN, rfc8452[i].result);

        memset(out, 0xa5, pt_len + GCM_SIV_TAG_LEN);
        int rc = gcm_siv_open(out, key, nonce, aad, aad_len, result, result_len);
        CHECK_HEX(out, rc == 0 ? pt_len : 0, rfc8452[i].plaintext);

        free(aad);
        free(pt);
        free(result);
        free(out);
    }

    /* the 64-byte vector with AAD 01: tampering, truncation, in place */
    const size_t v = 12;
    uint8_t key[GCM_SIV_KEY_LEN], nonce[GCM_SIV_NONCE_LEN], aad[1], buf[64 + GCM_SIV_TAG_LEN], out[64];
    hex_decode(key, sizeof key, rfc8452[v].key);
    hex_decode(nonce, sizeof nonce, rfc8452[v].nonce);
    hex_decode(aad, sizeof aad, rfc8452[v].aad);

    hex_decode(buf, sizeof buf, rfc8452[v].result);
    buf[sizeof buf - 1] ^= 0x80; /* last bit of the tag */
    CHECK(gcm_siv_open(out, key, nonce, aad, sizeof aad, buf, sizeof buf) == -1);

    /* shorter than a tag: nothing to authenticate */
    hex_decode(buf, sizeof buf, rfc8452[v].result);
    CHECK(gcm_siv_open(out, key, nonce, aad, sizeof aad, buf, GCM_SIV_TAG_LEN - 1) == -1);

    /* output aliasing the input, both ways */
    hex_decode(buf, 64, rfc8452[v].plaintext);
    gcm_siv_seal(buf, key, nonce, aad, sizeof aad, buf, 64);
    int rc = gcm_siv_open(buf, key, nonce, aad, sizeof aad, buf, sizeof buf);
    CHECK_HEX(buf, rc == 0 ? 64 : 0, rfc8452[v].plaintext);
}
