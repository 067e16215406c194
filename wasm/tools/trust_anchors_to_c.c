/* Build tool: reads PEM certificates on stdin (Debian's copy of the Mozilla
 * root store) and writes on stdout a C file defining them as BearSSL trust
 * anchors, so the program carries its roots without parsing PEM at run
 * time. Usage: cat /usr/share/ca-certificates/mozilla/\*.crt | trust-anchors-to-c > roots.c */
#include "crypto/trust_anchors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_bytes(const char *name, size_t index, const unsigned char *data, size_t len)
{
    printf("static const unsigned char %s_%zu[%zu] = {", name, index, len ? len : 1);
    for (size_t i = 0; i < len; i++) printf("%s0x%02x,", i % 16 ? "" : "\n    ", data[i]);
    if (!len) printf("0");
    printf("\n};\n");
}

int main(void)
{
    size_t len = 0, cap = 1 << 20;
    char *pem = malloc(cap);
    size_t got;
    while (pem && (got = fread(pem + len, 1, cap - len, stdin)) > 0) {
        len += got;
        if (len == cap) pem = realloc(pem, cap *= 2);
    }
    trust_anchor_list list = {0};
    if (!pem || trust_anchors_add_pem(&list, pem, len) <= 0) {
        fprintf(stderr, "trust-anchors-to-c: no usable certificate on stdin\n");
        return 1;
    }
    printf("/* Generated at build time by wasm/tools/trust_anchors_to_c.c from Debian's\n"
           " * ca-certificates (the Mozilla root store). Do not edit. */\n"
           "#include <bearssl_x509.h>\n#include <stddef.h>\n\n");
    for (size_t i = 0; i < list.count; i++) {
        const br_x509_trust_anchor *a = &list.anchors[i];
        print_bytes("dn", i, a->dn.data, a->dn.len);
        if (a->pkey.key_type == BR_KEYTYPE_RSA) {
            print_bytes("rsa_n", i, a->pkey.key.rsa.n, a->pkey.key.rsa.nlen);
            print_bytes("rsa_e", i, a->pkey.key.rsa.e, a->pkey.key.rsa.elen);
        } else {
            print_bytes("ec_q", i, a->pkey.key.ec.q, a->pkey.key.ec.qlen);
        }
    }
    /* BearSSL's anchor type holds non-const pointers; it never writes through them */
    printf("\nconst br_x509_trust_anchor tls_builtin_anchors[%zu] = {\n", list.count);
    for (size_t i = 0; i < list.count; i++) {
        const br_x509_trust_anchor *a = &list.anchors[i];
        printf("    {{(unsigned char *)dn_%zu, %zu}, %s, ", i, a->dn.len,
               a->flags & BR_X509_TA_CA ? "BR_X509_TA_CA" : "0");
        if (a->pkey.key_type == BR_KEYTYPE_RSA)
            printf("{BR_KEYTYPE_RSA, {.rsa = {(unsigned char *)rsa_n_%zu, %zu, (unsigned char *)rsa_e_%zu, %zu}}}},\n",
                   i, a->pkey.key.rsa.nlen, i, a->pkey.key.rsa.elen);
        else
            printf("{BR_KEYTYPE_EC, {.ec = {%d, (unsigned char *)ec_q_%zu, %zu}}}},\n", a->pkey.key.ec.curve, i,
                   a->pkey.key.ec.qlen);
    }
    printf("};\nconst size_t tls_builtin_anchors_len = %zu;\n", list.count);
    trust_anchors_free(&list);
    free(pem);
    return fflush(stdout) == 0 ? 0 : 1;
}
