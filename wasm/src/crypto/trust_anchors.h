/* Trust anchors for BearSSL's X.509 validation, made from PEM certificates:
 * the native platform's CA file, and the extra anchors an application
 * gives at setup. Apart from crypto.h because its users are BearSSL
 * engines, which take BearSSL's types. */
#ifndef MIX_CRYPTO_TRUST_ANCHORS_H
#define MIX_CRYPTO_TRUST_ANCHORS_H

#include <bearssl_x509.h>
#include <stddef.h>

typedef struct {
    br_x509_trust_anchor *anchors;
    size_t count, cap;
} trust_anchor_list;

/* Appends an anchor (subject DN and public key, RSA or EC; a CA anchor
 * when the certificate says it is a CA) for each CERTIFICATE object in
 * the PEM text; other objects are skipped. Gives the number added, or -1,
 * leaving the list as it was, when the PEM or a certificate is malformed,
 * a key is of another type, or memory runs out. */
int trust_anchors_add_pem(trust_anchor_list *list, const char *pem, size_t len);

/* Frees every anchor and the list's array; the list is then empty. */
void trust_anchors_free(trust_anchor_list *list);

#endif
