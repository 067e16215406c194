/* Does a certificate name an IPv4 address? BearSSL checks DNS names but
 * not the iPAddress entries of subjectAltName (RFC 5280 section 4.2.1.6),
 * which a server reached by an IP literal must present. A small DER
 * reader, for the one path it needs. */
#include "tls/tls.h"

#include <string.h>

#define DER_SEQUENCE 0x30
#define DER_OID 0x06
#define DER_BOOLEAN 0x01
#define DER_OCTET_STRING 0x04
#define DER_EXTENSIONS 0xa3  /* [3] EXPLICIT in TBSCertificate */
#define DER_IP_ADDRESS 0x87  /* [7] IMPLICIT OCTET STRING in GeneralName */

/* id-ce-subjectAltName, 2.5.29.17 */
static const uint8_t SUBJECT_ALT_NAME_OID[] = {0x55, 0x1d, 0x11};

typedef struct {
    const uint8_t *p;
    size_t len;
} der_span;

/* Takes the element at the front of *in: its tag, and its content in out.
 * Single-byte tags and definite lengths of up to 4 bytes only, as DER
 * certificates use. */
static bool der_next(der_span *in, uint8_t *tag, der_span *out)
{
    if (in->len < 2 || (in->p[0] & 0x1f) == 0x1f) return false;
    *tag = in->p[0];
    size_t pos = 2, len = in->p[1];
    if (len & 0x80) {
        size_t bytes = len & 0x7f;
        if (bytes == 0 || bytes > 4 || in->len - 2 < bytes) return false;
        len = 0;
        for (size_t i = 0; i < bytes; i++) len = (len << 8) | in->p[2 + i];
        pos += bytes;
    }
    if (len > in->len - pos) return false;
    *out = (der_span){in->p + pos, len};
    in->p += pos + len;
    in->len -= pos + len;
    return true;
}

static bool der_enter(der_span *in, uint8_t want, der_span *out)
{
    uint8_t tag;
    return der_next(in, &tag, out) && tag == want;
}

static bool general_names_have_ipv4(der_span names, const uint8_t ip[4])
{
    der_span list, name;
    uint8_t tag;
    if (!der_enter(&names, DER_SEQUENCE, &list)) return false;
    while (list.len > 0) {
        if (!der_next(&list, &tag, &name)) return false;
        if (tag == DER_IP_ADDRESS && name.len == 4 && memcmp(name.p, ip, 4) == 0) return true;
    }
    return false;
}

bool tls_certificate_names_ipv4(const uint8_t *der, size_t len, const uint8_t ip[4])
{
    der_span in = {der, len}, certificate, tbs, element;
    uint8_t tag;
    if (!der_enter(&in, DER_SEQUENCE, &certificate) || !der_enter(&certificate, DER_SEQUENCE, &tbs)) return false;
    while (tbs.len > 0) {
        if (!der_next(&tbs, &tag, &element)) return false;
        if (tag != DER_EXTENSIONS) continue;
        der_span extensions, extension, oid, value;
        if (!der_enter(&element, DER_SEQUENCE, &extensions)) return false;
        while (extensions.len > 0) {
            if (!der_enter(&extensions, DER_SEQUENCE, &extension) || !der_enter(&extension, DER_OID, &oid))
                return false;
            if (oid.len != sizeof SUBJECT_ALT_NAME_OID || memcmp(oid.p, SUBJECT_ALT_NAME_OID, oid.len) != 0)
                continue;
            if (!der_next(&extension, &tag, &value)) return false;
            if (tag == DER_BOOLEAN && !der_next(&extension, &tag, &value)) return false;
            return tag == DER_OCTET_STRING && general_names_have_ipv4(value, ip);
        }
        return false;
    }
    return false;
}
