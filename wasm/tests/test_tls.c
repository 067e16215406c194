/* The tls layer's own parts that need no network: the compiled-in roots,
 * extra anchors, and the iPAddress check on hand-built certificates. The
 * handshakes themselves are tested through localnet (tests/tunnel). */
#include "check.h"
#include "tls/tls.h"

#include <stdlib.h>
#include <string.h>

/* A certificate skeleton: empty names and key, then basicConstraints and
 * subjectAltName (non-critical) with dNSName host.test, iPAddress
 * 192.0.2.10 and an IPv6 iPAddress ::, then an empty signature. */
#define CERTIFICATE_HEX                                                                                         \
    "305c3055a00302010202010130003000300030003000a341303f300c0603551d130101ff04023000302f0603551d11010100042530" \
    "238209686f73742e746573748704c000020a8710000000000000000000000000000000003000030100"

void test_tls_certificate_ip(void)
{
    size_t len;
    uint8_t *der = hex_alloc(CERTIFICATE_HEX, &len);
    CHECK(tls_certificate_names_ipv4(der, len, (const uint8_t[]){192, 0, 2, 10}));
    CHECK(!tls_certificate_names_ipv4(der, len, (const uint8_t[]){192, 0, 2, 11}));
    /* the IPv6 entry's first four bytes are not an IPv4 name */
    CHECK(!tls_certificate_names_ipv4(der, len, (const uint8_t[]){0, 0, 0, 0}));
    /* every truncation fails without reading past the end */
    bool any_truncated_match = false;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *part = malloc(cut ? cut : 1);
        memcpy(part, der, cut);
        any_truncated_match |= tls_certificate_names_ipv4(part, cut, (const uint8_t[]){192, 0, 2, 10});
        free(part);
    }
    CHECK(!any_truncated_match);
    /* a length running past its parent, and an indefinite length */
    der[1] = 0x7f;
    CHECK(!tls_certificate_names_ipv4(der, len, (const uint8_t[]){192, 0, 2, 10}));
    der[1] = 0x80;
    CHECK(!tls_certificate_names_ipv4(der, len, (const uint8_t[]){192, 0, 2, 10}));
    free(der);
}

void test_tls_anchors(void)
{
    /* Debian's copy of the Mozilla store has about 140 roots */
    CHECK(tls_builtin_anchor_count() > 100);
    static const char NOT_PEM[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    CHECK(tls_add_trust_anchors_pem(NOT_PEM, strlen(NOT_PEM)) == -1);
    CHECK(tls_add_trust_anchors_pem("", 0) == 0);
    CHECK(strcmp(stream_error_text(TLS_ERR_EXPIRED), "certificate expired or not yet valid") == 0);
    CHECK(strcmp(stream_error_text(NET_ERR_TIMEOUT), net_error_text(NET_ERR_TIMEOUT)) == 0);
    tls_reset();
}
