/* PEM certificates to BearSSL trust anchors, with BearSSL's own PEM and
 * X.509 decoders. */
#include "crypto/trust_anchors.h"

#include <bearssl_pem.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A growing byte buffer for the decoders' output callbacks, which cannot
 * report failure: a failed allocation is remembered instead. */
typedef struct {
    unsigned char *data;
    size_t len, cap;
    bool failed;
} byte_buffer;

static void byte_buffer_append(void *ctx, const void *data, size_t len)
{
    byte_buffer *b = ctx;
    if (b->failed) return;
    if (len > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap - b->len < len) {
            if (cap > ((size_t)-1) / 2) {
                b->failed = true;
                return;
            }
            cap *= 2;
        }
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

/* One allocation per anchor, the DN first and the key's numbers after it,
 * so freeing dn.data frees the anchor. */
static bool anchor_from_certificate(br_x509_trust_anchor *anchor, const unsigned char *der, size_t der_len)
{
    byte_buffer dn = {0};
    br_x509_decoder_context decoder;
    br_x509_decoder_init(&decoder, byte_buffer_append, &dn);
    br_x509_decoder_push(&decoder, der, der_len);
    const br_x509_pkey *key = br_x509_decoder_get_pkey(&decoder);
    size_t key_len = 0;
    if (key && key->key_type == BR_KEYTYPE_RSA) key_len = key->key.rsa.nlen + key->key.rsa.elen;
    if (key && key->key_type == BR_KEYTYPE_EC) key_len = key->key.ec.qlen;
    unsigned char *block = key_len && !dn.failed ? malloc(dn.len + key_len) : NULL;
    if (!block) {
        free(dn.data);
        return false;
    }
    memcpy(block, dn.data, dn.len);
    free(dn.data);
    unsigned char *key_bytes = block + dn.len;
    *anchor = (br_x509_trust_anchor){
        .dn = {block, dn.len},
        .flags = br_x509_decoder_isCA(&decoder) ? BR_X509_TA_CA : 0,
        .pkey = {.key_type = key->key_type},
    };
    if (key->key_type == BR_KEYTYPE_RSA) {
        const br_rsa_public_key *rsa = &key->key.rsa;
        memcpy(key_bytes, rsa->n, rsa->nlen);
        memcpy(key_bytes + rsa->nlen, rsa->e, rsa->elen);
        anchor->pkey.key.rsa = (br_rsa_public_key){key_bytes, rsa->nlen, key_bytes + rsa->nlen, rsa->elen};
    } else {
        const br_ec_public_key *ec = &key->key.ec;
        memcpy(key_bytes, ec->q, ec->qlen);
        anchor->pkey.key.ec = (br_ec_public_key){ec->curve, key_bytes, ec->qlen};
    }
    return true;
}

static bool list_append(trust_anchor_list *list, const unsigned char *der, size_t der_len)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        br_x509_trust_anchor *grown = realloc(list->anchors, cap * sizeof *grown);
        if (!grown) return false;
        list->anchors = grown;
        list->cap = cap;
    }
    if (!anchor_from_certificate(&list->anchors[list->count], der, der_len)) return false;
    list->count++;
    return true;
}

static void list_truncate(trust_anchor_list *list, size_t count)
{
    while (list->count > count) free(list->anchors[--list->count].dn.data);
}

static bool is_certificate_object(const char *name)
{
    return strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0;
}

int trust_anchors_add_pem(trust_anchor_list *list, const char *pem, size_t len)
{
    size_t first_new = list->count;
    br_pem_decoder_context decoder;
    br_pem_decoder_init(&decoder);
    byte_buffer der = {0};
    bool in_object = false, in_certificate = false, ok = true, newline_added = false;
    const unsigned char *next = (const unsigned char *)pem;
    size_t left = len;
    while (ok && left > 0) {
        size_t pushed = br_pem_decoder_push(&decoder, next, left);
        next += pushed;
        left -= pushed;
        switch (br_pem_decoder_event(&decoder)) {
        case BR_PEM_BEGIN_OBJ:
            in_object = true;
            in_certificate = is_certificate_object(br_pem_decoder_name(&decoder));
            der.len = 0;
            br_pem_decoder_setdest(&decoder, in_certificate ? byte_buffer_append : NULL, &der);
            break;
        case BR_PEM_END_OBJ:
            if (in_certificate) ok = !der.failed && list_append(list, der.data, der.len);
            in_object = in_certificate = false;
            break;
        case BR_PEM_ERROR:
            ok = false;
            break;
        }
        /* a last line without its newline is common: end it for the decoder */
        if (left == 0 && !newline_added) {
            next = (const unsigned char *)"\n";
            left = 1;
            newline_added = true;
        }
    }
    free(der.data);
    if (!ok || in_object) {
        list_truncate(list, first_new);
        return -1;
    }
    return (int)(list->count - first_new);
}

void trust_anchors_free(trust_anchor_list *list)
{
    list_truncate(list, 0);
    free(list->anchors);
    *list = (trust_anchor_list){0};
}
