/* The dns layer: queries byte for byte (RFC 1035 §4), responses hand-built
 * (compression, CNAME chains, negative answers, every kind of damage), and
 * the resolver against a scripted server behind the net layer's peer:
 * fallback, retries, the cache and its TTLs, joined and cancelled lookups,
 * many at once. The resolver's groups need the native event loop. */
#include "check.h"
#include "dns/dns.h"
#include "net/net.h"
#include "net_peer.h"
#include "platform/platform.h"

#include <stdio.h>
#include <string.h>

/* ---- building messages ---- */

#define FLAGS_ANSWER 0x8180 /* response, recursion desired and available */
#define FLAG_TC 0x0200
#define CLASS_IN 1

typedef struct {
    uint8_t b[4096];
    size_t len;
} builder;

static void put_bytes(builder *m, const void *p, size_t n)
{
    memcpy(m->b + m->len, p, n);
    m->len += n;
}

static void put_u16(builder *m, uint16_t v)
{
    m->b[m->len++] = (uint8_t)(v >> 8);
    m->b[m->len++] = (uint8_t)v;
}

static void put_u32(builder *m, uint32_t v)
{
    put_u16(m, (uint16_t)(v >> 16));
    put_u16(m, (uint16_t)v);
}

/* Labels of a dotted name, without the final zero (for a pointer after). */
static void put_labels(builder *m, const char *dotted)
{
    while (*dotted) {
        const char *dot = strchr(dotted, '.');
        size_t n = dot ? (size_t)(dot - dotted) : strlen(dotted);
        m->b[m->len++] = (uint8_t)n;
        put_bytes(m, dotted, n);
        dotted += n + (dot ? 1 : 0);
    }
}

static void put_name(builder *m, const char *dotted)
{
    put_labels(m, dotted);
    m->b[m->len++] = 0;
}

static void put_pointer(builder *m, size_t offset)
{
    put_u16(m, (uint16_t)(0xc000 | offset));
}

static void put_header(builder *m, uint16_t id, uint16_t flags, uint16_t an, uint16_t ns)
{
    m->len = 0;
    put_u16(m, id);
    put_u16(m, flags);
    put_u16(m, 1);
    put_u16(m, an);
    put_u16(m, ns);
    put_u16(m, 0);
}

static void put_question(builder *m, const char *name, uint16_t type)
{
    put_name(m, name);
    put_u16(m, type);
    put_u16(m, CLASS_IN);
}

/* A record's fixed part after its owner; rdata follows, of rdata_len. */
static void put_record(builder *m, uint16_t type, uint32_t ttl, uint16_t rdata_len)
{
    put_u16(m, type);
    put_u16(m, CLASS_IN);
    put_u32(m, ttl);
    put_u16(m, rdata_len);
}

/* An A record owned by the name at offset (12: the question's). */
static void put_a(builder *m, size_t owner, uint32_t ttl, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    put_pointer(m, owner);
    put_record(m, DNS_TYPE_A, ttl, 4);
    const uint8_t address[4] = {a, b, c, d};
    put_bytes(m, address, 4);
}

static void put_aaaa(builder *m, size_t owner, uint32_t ttl, uint8_t last)
{
    put_pointer(m, owner);
    put_record(m, DNS_TYPE_AAAA, ttl, 16);
    uint8_t address[16] = {0x20, 0x01, 0x0d, 0xb8};
    address[15] = last;
    put_bytes(m, address, 16);
}

/* An SOA of the zone at offset, with the given TTL and minimum. */
static void put_soa(builder *m, size_t zone, uint32_t ttl, uint32_t minimum)
{
    put_pointer(m, zone);
    put_record(m, DNS_TYPE_SOA, ttl, 2 + 2 + 20);
    put_pointer(m, zone);
    put_pointer(m, zone);
    put_u32(m, 2024010101);
    put_u32(m, 3600);
    put_u32(m, 600);
    put_u32(m, 86400);
    put_u32(m, minimum);
}

/* ---- queries ---- */

void test_dns_query(void)
{
    uint8_t out[300];
    int n = dns_query_write(out, sizeof out, 0x1234, "nginx.mixnet.test", DNS_TYPE_A);
    /* ID, RD only, one question; labels, the root, type A, class IN */
    CHECK(n == 35);
    CHECK_HEX(out, (size_t)n, "123401000001000000000000"
                              "056e67696e78066d69786e657404746573740000010001");
    n = dns_query_write(out, sizeof out, 0xbeef, "Nginx.MIXNET.test.", DNS_TYPE_AAAA);
    CHECK(n == 35);
    CHECK_HEX(out, (size_t)n, "beef01000001000000000000"
                              "056e67696e78066d69786e65740474657374000"
                              "01c0001");
    n = dns_query_write(out, sizeof out, 0, "a", DNS_TYPE_A);
    CHECK(n == 19);
    CHECK_HEX(out, (size_t)n, "00000100000100000000000001610000010001");
    n = dns_query_write(out, sizeof out, 7, "_sip-1.x", DNS_TYPE_A);
    CHECK(n == 12 + 10 + 4 && out[12] == 6 && memcmp(out + 13, "_sip-1", 6) == 0);

    /* the room it needs, and not a byte less */
    CHECK(dns_query_write(out, 34, 0x1234, "nginx.mixnet.test", DNS_TYPE_A) == -1);
    CHECK(dns_query_write(out, 35, 0x1234, "nginx.mixnet.test", DNS_TYPE_A) == 35);
    CHECK(dns_query_write(NULL, 35, 0x1234, "nginx.mixnet.test", DNS_TYPE_A) == -1);
    CHECK(dns_query_write(out, sizeof out, 0x1234, NULL, DNS_TYPE_A) == -1);

    /* labels of 63 are the most, names of 253 (254 with the dot) */
    char name[300];
    memset(name, 'a', 63);
    name[63] = '\0';
    CHECK(dns_query_write(out, sizeof out, 1, name, DNS_TYPE_A) == 12 + 65 + 4);
    memset(name, 'a', 64);
    name[64] = '\0';
    CHECK(dns_query_write(out, sizeof out, 1, name, DNS_TYPE_A) == -1);
    /* 63.63.63.61 = 253 */
    memset(name, 'b', 253);
    name[63] = name[127] = name[191] = '.';
    name[253] = '\0';
    CHECK(dns_query_write(out, sizeof out, 1, name, DNS_TYPE_A) == 12 + 255 + 4);
    CHECK(out[12 + 254] == 0 && out[12 + 192] == 61);
    name[253] = '.';
    name[254] = '\0';
    CHECK(dns_query_write(out, sizeof out, 1, name, DNS_TYPE_A) == 12 + 255 + 4);
    name[253] = 'b';
    CHECK(dns_query_write(out, sizeof out, 1, name, DNS_TYPE_A) == -1);

    static const char *const invalid[] = {"", ".", "..", "a..b", ".a", "a b", "a/b", "ex\xc3\xa4mple.com",
                                          "a.b..", "a\tb", "*.example.com", "[::1]", "1.2.3.4:80"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        if (!CHECK(dns_query_write(out, sizeof out, 1, invalid[i], DNS_TYPE_A) == -1))
            fprintf(stderr, "  accepted \"%s\"\n", invalid[i]);
}

/* ---- responses ---- */

static int parse(const builder *m, const char *name, uint16_t type, dns_answer *out)
{
    return dns_response_parse(m->b, m->len, name, type, out);
}

void test_dns_response(void)
{
    builder m;
    dns_answer a;

    /* the answer dnsmasq gives for nginx.mixnet.test, by hand: two A
     * records whose owners point back at the question */
    static const char dnsmasq_answer[] = "abcd85800001000200000000"
                                         "056e67696e78066d69786e657404746573740000010001"
                                         "c00c000100010000003c0004c000020a"
                                         "c00c00010001000000050004c000020b";
    m.len = hex_decode(m.b, sizeof m.b, dnsmasq_answer);
    CHECK(parse(&m, "nginx.mixnet.test", DNS_TYPE_A, &a) == 0);
    CHECK(a.id == 0xabcd && a.rcode == DNS_RCODE_NOERROR && !a.truncated && a.count == 2 && a.negative_ttl == 0);
    CHECK(a.addresses[0].family == 4 && memcmp(a.addresses[0].octets, "\xc0\x00\x02\x0a", 4) == 0 &&
          a.addresses[0].ttl == 60);
    CHECK(a.addresses[1].family == 4 && memcmp(a.addresses[1].octets, "\xc0\x00\x02\x0b", 4) == 0 &&
          a.addresses[1].ttl == 5);
    /* names compare without regard to case, a final dot or not */
    CHECK(parse(&m, "NGINX.mixnet.Test.", DNS_TYPE_A, &a) == 0 && a.count == 2);
    /* another name, type, or an invalid one */
    CHECK(parse(&m, "nginx.mixnet.tes", DNS_TYPE_A, &a) == -1);
    CHECK(parse(&m, "ngin.mixnet.test", DNS_TYPE_A, &a) == -1);
    CHECK(parse(&m, "nginx.mixnet.test", DNS_TYPE_AAAA, &a) == -1);
    CHECK(parse(&m, "nginx..test", DNS_TYPE_A, &a) == -1);
    CHECK(parse(&m, "nginx.mixnet.test", DNS_TYPE_CNAME, &a) == -1);
    CHECK(dns_response_parse(m.b, m.len, "nginx.mixnet.test", DNS_TYPE_A, NULL) == -1);
    CHECK(dns_response_parse(NULL, m.len, "nginx.mixnet.test", DNS_TYPE_A, &a) == -1);

    /* the question's class must be IN, and the question must be one */
    m.b[34] = 3;
    CHECK(parse(&m, "nginx.mixnet.test", DNS_TYPE_A, &a) == -1);
    m.b[34] = 1;
    m.b[5] = 2;
    CHECK(parse(&m, "nginx.mixnet.test", DNS_TYPE_A, &a) == -1);
    m.b[5] = 0;
    CHECK(parse(&m, "nginx.mixnet.test", DNS_TYPE_A, &a) == -1);
    m.b[5] = 1;
    /* a query is no answer, nor is another opcode */
    m.b[2] &= 0x7f;
    CHECK(parse(&m, "nginx.mixnet.test", DNS_TYPE_A, &a) == -1);
    m.b[2] |= 0x80 | 0x10; /* opcode 2, status */
    CHECK(parse(&m, "nginx.mixnet.test", DNS_TYPE_A, &a) == -1);
    m.b[2] &= (uint8_t)~0x10;
    CHECK(parse(&m, "nginx.mixnet.test", DNS_TYPE_A, &a) == 0);

    /* a CNAME chain in any order, names compressed into each other, other
     * records around it: the addresses of its end, the chain's least TTL */
    put_header(&m, 1, FLAGS_ANSWER, 6, 0);
    put_question(&m, "www.example.com", DNS_TYPE_AAAA); /* www at 12, example.com at 16 */
    size_t alias_at = m.len + 12;                       /* the first target's name, in the rdata below */
    put_pointer(&m, 12);
    put_record(&m, DNS_TYPE_CNAME, 300, 6);
    put_labels(&m, "cdn"); /* cdn.example.com */
    put_pointer(&m, 16);
    size_t final_at = m.len;
    put_labels(&m, "edge"); /* edge.net, the end of the chain */
    put_name(&m, "net");
    put_record(&m, DNS_TYPE_AAAA, 100, 16);
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    put_bytes(&m, v6, 16);
    put_aaaa(&m, 12, 50, 0x99);                  /* beside a CNAME: not part of the answer */
    put_a(&m, final_at, 30, 10, 0, 0, 1);        /* another type */
    put_pointer(&m, alias_at);                   /* cdn.example.com CNAME edge.net */
    put_record(&m, DNS_TYPE_CNAME, 200, 2);
    put_pointer(&m, final_at);
    put_aaaa(&m, final_at, 400, 2);
    CHECK(parse(&m, "www.example.com", DNS_TYPE_AAAA, &a) == 0);
    CHECK(a.count == 2 && a.addresses[0].family == 6 && a.addresses[0].octets[15] == 1 &&
          a.addresses[1].octets[15] == 2 && memcmp(a.addresses[0].octets, v6, 15) == 0);
    CHECK(a.addresses[0].ttl == 100 && a.addresses[1].ttl == 200);
    /* the chain alone, as from a resolver that stopped after it */
    builder chain = m;
    chain.b[7] = 1;
    CHECK(dns_response_parse(chain.b, alias_at - 12 + 18, "www.example.com", DNS_TYPE_AAAA, &a) == 0 &&
          a.count == 0);

    /* CNAMEs that loop, or run longer than 16 */
    put_header(&m, 2, FLAGS_ANSWER, 2, 0);
    put_question(&m, "a.test", DNS_TYPE_A);
    put_pointer(&m, 12);
    put_record(&m, DNS_TYPE_CNAME, 60, 4);
    size_t b_at = m.len;
    put_labels(&m, "b");
    put_pointer(&m, 14);
    put_pointer(&m, b_at);
    put_record(&m, DNS_TYPE_CNAME, 60, 2);
    put_pointer(&m, 12);
    CHECK(parse(&m, "a.test", DNS_TYPE_A, &a) == -1);
    for (int length = 16; length <= 17; length++) {
        put_header(&m, 3, FLAGS_ANSWER, (uint16_t)(length + 1), 0);
        put_question(&m, "c0.test", DNS_TYPE_A);
        size_t owner = 12;
        for (int i = 0; i < length; i++) {
            char label[16];
            snprintf(label, sizeof label, "c%d", i + 1);
            put_pointer(&m, owner);
            put_record(&m, DNS_TYPE_CNAME, 60, (uint16_t)(strlen(label) + 3));
            owner = m.len;
            put_labels(&m, label);
            put_pointer(&m, 15); /* test */
        }
        put_a(&m, owner, 60, 10, 0, 0, 2);
        CHECK(parse(&m, "c0.test", DNS_TYPE_A, &a) == (length <= 16 ? 0 : -1));
        CHECK(length > 16 || (a.count == 1 && a.addresses[0].octets[3] == 2));
    }

    /* more addresses than an answer holds; duplicates once */
    put_header(&m, 4, FLAGS_ANSWER, 41, 0);
    put_question(&m, "many.test", DNS_TYPE_A);
    for (int i = 0; i < 40; i++) put_a(&m, 12, 60, 10, 0, 1, (uint8_t)i);
    put_a(&m, 12, 60, 10, 0, 1, 0);
    CHECK(parse(&m, "many.test", DNS_TYPE_A, &a) == 0 && a.count == DNS_MAX_ADDRESSES);
    CHECK(a.addresses[31].octets[3] == 31);
    put_header(&m, 4, FLAGS_ANSWER, 3, 0);
    put_question(&m, "many.test", DNS_TYPE_A);
    for (int i = 0; i < 3; i++) put_a(&m, 12, 60, 10, 0, 1, 7);
    CHECK(parse(&m, "many.test", DNS_TYPE_A, &a) == 0 && a.count == 1);

    /* TTLs: the top bit set means 0 (RFC 2181), more than a week is a week;
     * another class does not count */
    put_header(&m, 5, FLAGS_ANSWER, 3, 0);
    put_question(&m, "ttl.test", DNS_TYPE_A);
    put_a(&m, 12, 0x80000001u, 10, 0, 0, 1);
    put_a(&m, 12, 0xffffffu, 10, 0, 0, 2);
    put_pointer(&m, 12);
    put_u16(&m, DNS_TYPE_A);
    put_u16(&m, 3); /* CHAOS */
    put_u32(&m, 60);
    put_u16(&m, 4);
    put_u32(&m, 0x0a000003);
    CHECK(parse(&m, "ttl.test", DNS_TYPE_A, &a) == 0 && a.count == 2);
    CHECK(a.addresses[0].ttl == 0 && a.addresses[1].ttl == 7 * 24 * 3600);

    /* NXDOMAIN: the SOA of the name's zone gives the negative TTL, the
     * smaller of its own and its minimum */
    put_header(&m, 6, 0x8183, 0, 1);
    put_question(&m, "missing.mixnet.test", DNS_TYPE_A); /* mixnet.test at 20 */
    put_soa(&m, 20, 600, 30);
    CHECK(parse(&m, "missing.mixnet.test", DNS_TYPE_A, &a) == 0);
    CHECK(a.rcode == DNS_RCODE_NXDOMAIN && a.count == 0 && a.negative_ttl == 30);
    put_header(&m, 6, 0x8183, 0, 1);
    put_question(&m, "missing.mixnet.test", DNS_TYPE_A);
    put_soa(&m, 20, 20, 3600);
    CHECK(parse(&m, "missing.mixnet.test", DNS_TYPE_A, &a) == 0 && a.negative_ttl == 20);
    /* the root's SOA counts too; another zone's not */
    put_header(&m, 6, 0x8183, 0, 1);
    put_question(&m, "missing.mixnet.test", DNS_TYPE_A);
    put_name(&m, "other.test");
    put_record(&m, DNS_TYPE_SOA, 900, 2 + 2 + 20);
    put_pointer(&m, 12);
    put_pointer(&m, 12);
    for (int i = 0; i < 5; i++) put_u32(&m, 900);
    CHECK(parse(&m, "missing.mixnet.test", DNS_TYPE_A, &a) == 0 && a.negative_ttl == 0);
    m.b[7] = 0; /* none counted: the SOA is trailing bytes */
    m.b[9] = 0;
    CHECK(parse(&m, "missing.mixnet.test", DNS_TYPE_A, &a) == 0 && a.negative_ttl == 0);
    put_header(&m, 6, 0x8183, 0, 1);
    put_question(&m, "missing.mixnet.test", DNS_TYPE_A);
    m.b[m.len++] = 0; /* the root */
    put_record(&m, DNS_TYPE_SOA, 86400, 2 + 20);
    m.b[m.len++] = 0;
    m.b[m.len++] = 0;
    for (int i = 0; i < 5; i++) put_u32(&m, 86400);
    CHECK(parse(&m, "missing.mixnet.test", DNS_TYPE_A, &a) == 0 && a.negative_ttl == 86400);
    /* an SOA whose numbers do not fill its data exactly is malformed */
    m.b[m.len - 23] = 2 + 19;
    m.len--;
    CHECK(parse(&m, "missing.mixnet.test", DNS_TYPE_A, &a) == -1);
    /* an empty answer (the name exists, without this type) */
    put_header(&m, 7, FLAGS_ANSWER, 0, 1);
    put_question(&m, "nginx.mixnet.test", DNS_TYPE_AAAA);
    put_soa(&m, 18, 60, 60);
    CHECK(parse(&m, "nginx.mixnet.test", DNS_TYPE_AAAA, &a) == 0);
    CHECK(a.rcode == DNS_RCODE_NOERROR && a.count == 0 && a.negative_ttl == 60);

    /* SERVFAIL and REFUSED read fine and carry nothing */
    put_header(&m, 8, 0x8182, 1, 0);
    put_question(&m, "nginx.mixnet.test", DNS_TYPE_A);
    put_a(&m, 12, 60, 10, 0, 0, 1);
    CHECK(parse(&m, "nginx.mixnet.test", DNS_TYPE_A, &a) == 0 && a.rcode == DNS_RCODE_SERVFAIL && a.count == 0);
    m.b[3] = 0x85;
    CHECK(parse(&m, "nginx.mixnet.test", DNS_TYPE_A, &a) == 0 && a.rcode == DNS_RCODE_REFUSED && a.count == 0);
}

/* Every prefix of a sound message: without TC each is refused; with TC
 * the records that are whole count. */
static void every_prefix(builder *m, const char *name, uint16_t type, size_t whole_count)
{
    dns_answer a;
    CHECK(parse(m, name, type, &a) == 0 && a.count == whole_count);
    size_t refused = 0, accepted_with_tc = 0;
    for (size_t len = 0; len < m->len; len++) refused += dns_response_parse(m->b, len, name, type, &a) == -1;
    CHECK(refused == m->len);
    m->b[2] |= FLAG_TC >> 8;
    size_t previous = 0;
    bool growing = true;
    for (size_t len = 0; len <= m->len; len++) {
        if (dns_response_parse(m->b, len, name, type, &a) != 0) continue;
        accepted_with_tc++;
        growing = growing && a.truncated && a.count >= previous && a.count <= whole_count;
        previous = a.count;
    }
    CHECK(growing && previous == whole_count && accepted_with_tc > 0);
    m->b[2] &= (uint8_t) ~(FLAG_TC >> 8);
}

void test_dns_response_malformed(void)
{
    builder m;
    dns_answer a;

    put_header(&m, 9, FLAGS_ANSWER, 3, 1);
    put_question(&m, "nginx.mixnet.test", DNS_TYPE_A);
    put_a(&m, 12, 60, 192, 0, 2, 10);
    put_pointer(&m, 18);
    put_record(&m, DNS_TYPE_CNAME, 60, 2); /* of another name: ignored */
    put_pointer(&m, 12);
    put_a(&m, 12, 60, 192, 0, 2, 11);
    put_soa(&m, 18, 60, 60);
    every_prefix(&m, "nginx.mixnet.test", DNS_TYPE_A, 2);

    /* a truncated answer keeps the whole records before the cut */
    m.b[2] |= FLAG_TC >> 8;
    CHECK(dns_response_parse(m.b, m.len - 40, "nginx.mixnet.test", DNS_TYPE_A, &a) == 0);
    CHECK(a.truncated && a.count == 1 && a.addresses[0].octets[3] == 10);
    m.b[2] &= (uint8_t) ~(FLAG_TC >> 8);

    /* an address of the wrong length */
    put_header(&m, 10, FLAGS_ANSWER, 1, 0);
    put_question(&m, "x.test", DNS_TYPE_A);
    put_pointer(&m, 12);
    put_record(&m, DNS_TYPE_A, 60, 5);
    put_u32(&m, 0x0a000001);
    m.b[m.len++] = 0;
    CHECK(parse(&m, "x.test", DNS_TYPE_A, &a) == -1);
    put_header(&m, 10, FLAGS_ANSWER, 1, 0);
    put_question(&m, "x.test", DNS_TYPE_AAAA);
    put_pointer(&m, 12);
    put_record(&m, DNS_TYPE_AAAA, 60, 4);
    put_u32(&m, 0x0a000001);
    CHECK(parse(&m, "x.test", DNS_TYPE_AAAA, &a) == -1);
    /* rdata longer than the message */
    put_header(&m, 10, FLAGS_ANSWER, 1, 0);
    put_question(&m, "x.test", DNS_TYPE_A);
    put_pointer(&m, 12);
    put_record(&m, DNS_TYPE_A, 60, 0xffff);
    put_u32(&m, 0x0a000001);
    CHECK(parse(&m, "x.test", DNS_TYPE_A, &a) == -1);
    /* a CNAME whose target does not fill its data, or runs past it */
    put_header(&m, 10, FLAGS_ANSWER, 1, 0);
    put_question(&m, "x.test", DNS_TYPE_A);
    put_pointer(&m, 12);
    put_record(&m, DNS_TYPE_CNAME, 60, 3);
    put_pointer(&m, 14);
    m.b[m.len++] = 0;
    CHECK(parse(&m, "x.test", DNS_TYPE_A, &a) == -1);
    put_header(&m, 10, FLAGS_ANSWER, 1, 0);
    put_question(&m, "x.test", DNS_TYPE_A);
    put_pointer(&m, 12);
    put_record(&m, DNS_TYPE_CNAME, 60, 2);
    put_labels(&m, "y"); /* its end lies outside the rdata */
    put_pointer(&m, 14);
    CHECK(parse(&m, "x.test", DNS_TYPE_A, &a) == -1);

    /* compression: a pointer to itself, forwards, two pointing at each
     * other, a label type that does not exist, and a name that grows past
     * 255 bytes through pointers */
    put_header(&m, 11, FLAGS_ANSWER, 1, 0);
    put_question(&m, "x.test", DNS_TYPE_A);
    size_t owner = m.len;
    put_pointer(&m, owner);
    put_record(&m, DNS_TYPE_A, 60, 4);
    put_u32(&m, 0x0a000001);
    CHECK(parse(&m, "x.test", DNS_TYPE_A, &a) == -1);
    m.b[owner + 1] = (uint8_t)(owner + 2);
    CHECK(parse(&m, "x.test", DNS_TYPE_A, &a) == -1);
    m.b[owner + 1] = 12; /* sound again */
    CHECK(parse(&m, "x.test", DNS_TYPE_A, &a) == 0 && a.count == 1);
    m.b[owner] = 0x40;
    CHECK(parse(&m, "x.test", DNS_TYPE_A, &a) == -1);
    m.b[owner] = 0x80;
    CHECK(parse(&m, "x.test", DNS_TYPE_A, &a) == -1);

    put_header(&m, 12, FLAGS_ANSWER, 2, 0);
    put_question(&m, "x.test", DNS_TYPE_A);
    size_t first = m.len;
    put_labels(&m, "p");
    put_pointer(&m, first + 4); /* forward: to the second owner */
    put_record(&m, DNS_TYPE_A, 60, 4);
    put_u32(&m, 0x0a000001);
    put_labels(&m, "q");
    put_pointer(&m, first);
    put_record(&m, DNS_TYPE_A, 60, 4);
    put_u32(&m, 0x0a000001);
    CHECK(parse(&m, "x.test", DNS_TYPE_A, &a) == -1);

    /* a loop through labels: "a" then a pointer back to that "a" */
    put_header(&m, 13, FLAGS_ANSWER, 1, 0);
    put_question(&m, "x.test", DNS_TYPE_A);
    owner = m.len;
    put_labels(&m, "a");
    put_pointer(&m, owner);
    put_record(&m, DNS_TYPE_A, 60, 4);
    put_u32(&m, 0x0a000001);
    CHECK(parse(&m, "x.test", DNS_TYPE_A, &a) == -1);

    /* 255 bytes expanded is the most: a first owner of 20 labels of 11
     * bytes and x.test (228), a second of 2 or 3 more and a pointer to it */
    for (int more = 2; more <= 3; more++) {
        put_header(&m, 14, FLAGS_ANSWER, 2, 0);
        put_question(&m, "x.test", DNS_TYPE_A);
        size_t long_name = m.len;
        for (int i = 0; i < 20; i++) put_labels(&m, "abcdefghij");
        put_pointer(&m, 12);
        put_record(&m, DNS_TYPE_A, 60, 4);
        put_u32(&m, 0x0a000001);
        for (int i = 0; i < more; i++) put_labels(&m, "abcdefghij");
        put_pointer(&m, long_name);
        put_record(&m, DNS_TYPE_A, 60, 4);
        put_u32(&m, 0x0a000001);
        /* 250 bytes, or 261 */
        CHECK(parse(&m, "x.test", DNS_TYPE_A, &a) == (more == 2 ? 0 : -1));
    }

    /* a question name cut short, a header cut short, a label past the end */
    put_header(&m, 15, FLAGS_ANSWER, 0, 0);
    put_labels(&m, "abc");
    CHECK(parse(&m, "abc", DNS_TYPE_A, &a) == -1);
    m.b[m.len - 4] = 10;
    CHECK(parse(&m, "abc", DNS_TYPE_A, &a) == -1);
    CHECK(dns_response_parse(m.b, 11, "abc", DNS_TYPE_A, &a) == -1);
    CHECK(dns_response_parse(m.b, 0, "abc", DNS_TYPE_A, &a) == -1);
}

#ifndef __EMSCRIPTEN__
/* ---- the resolver against a scripted server ---- */

#define TIMEOUT_MS 200
static const net_ipv4 fallback_address = {{192, 0, 2, 53}};

/* What one lookup's callback saw. */
typedef struct lookup_result {
    int calls;
    int error;
    dns_address addresses[DNS_MAX_ADDRESSES];
    size_t count;
    /* actions inside the callback */
    dns_lookup **cancel;
    const char *resolve_again;
    struct lookup_result *again;
} lookup_result;

static void on_result(void *ctx, int error, const dns_address *addresses, size_t count)
{
    lookup_result *r = ctx;
    r->calls++;
    r->error = error;
    r->count = count;
    if (count) memcpy(r->addresses, addresses, count * sizeof *addresses);
    if (r->cancel && *r->cancel) {
        dns_cancel(*r->cancel);
        *r->cancel = NULL;
    }
    if (r->resolve_again) CHECK(dns_resolve(r->resolve_again, DNS_WANT_A, on_result, r->again, NULL) != NULL);
}

static void resolver_start(uint32_t attempts, size_t cache_entries)
{
    peer_start(0);
    dns_config c;
    dns_config_default(&c);
    c.servers[0] = peer_address;
    c.servers[1] = fallback_address;
    c.server_count = 2;
    c.attempt_timeout_ms = TIMEOUT_MS;
    c.attempts = attempts;
    c.cache_entries = cache_entries;
    CHECK(dns_configure(&c) == NET_OK);
    dns_cache_clear();
}

static void run_for(uint64_t ms)
{
    uint64_t end = platform_monotonic_ms() + ms;
    while (platform_monotonic_ms() < end) platform_run_once(5);
}

static void run_until_called(const lookup_result *r, uint64_t max_ms)
{
    uint64_t end = platform_monotonic_ms() + max_ms;
    while (r->calls == 0 && platform_monotonic_ms() < end) platform_run_once(5);
}

/* A query the stack sent, as the server sees it. */
typedef struct {
    net_ipv4 to;
    uint16_t to_port, from_port, id, type;
    char name[256];
    uint8_t payload[512];
    size_t len;
} seen_query;

/* The next UDP datagram captured (ICMP skipped), waiting up to max_ms. */
static bool next_query(seen_query *q, uint64_t max_ms)
{
    uint64_t end = platform_monotonic_ms() + max_ms;
    peer_packet p;
    for (;;) {
        while (peer_next(&p)) {
            if (p.protocol != PEER_PROTOCOL_UDP || !p.checksums_ok || p.payload_len < 17 ||
                p.payload_len > sizeof q->payload)
                continue;
            memset(q, 0, sizeof *q);
            q->to = p.dst;
            q->to_port = p.dst_port;
            q->from_port = p.src_port;
            memcpy(q->payload, p.payload, p.payload_len);
            q->len = p.payload_len;
            q->id = (uint16_t)(q->payload[0] << 8 | q->payload[1]);
            size_t at = 12, out = 0;
            while (at < q->len && q->payload[at] && out + q->payload[at] + 1 < sizeof q->name) {
                if (out) q->name[out++] = '.';
                memcpy(q->name + out, q->payload + at + 1, q->payload[at]);
                out += q->payload[at];
                at += (size_t)q->payload[at] + 1;
            }
            q->type = (uint16_t)(q->payload[at + 1] << 8 | q->payload[at + 2]);
            return true;
        }
        if (platform_monotonic_ms() >= end) return false;
        platform_run_once(5);
    }
}

static bool same_address(net_ipv4 a, net_ipv4 b)
{
    return memcmp(a.octets, b.octets, 4) == 0;
}

/* Sends a datagram to the query's socket from an address and port. */
static void deliver(const seen_query *q, net_ipv4 from, uint16_t from_port, const builder *m)
{
    static uint8_t packet[4200];
    size_t len = peer_build_udp(packet, sizeof packet, from, from_port, peer_stack_address, q->from_port, m->b, m->len);
    CHECK(len > 0 && net_input(packet, len) == NET_OK);
}

/* The answer to q: count addresses (A: 10.0.0.1..., AAAA: 2001:db8::1...)
 * under the given flags (rcode in the low bits), an SOA with the given
 * minimum when there are none. */
static void answer_build(builder *m, const seen_query *q, uint16_t id, uint16_t flags, int count, uint32_t ttl)
{
    put_header(m, id, flags, (uint16_t)count, count ? 0 : 1);
    put_question(m, q->name, q->type);
    for (int i = 0; i < count; i++) {
        if (q->type == DNS_TYPE_A)
            put_a(m, 12, ttl, 10, 0, 0, (uint8_t)(i + 1));
        else
            put_aaaa(m, 12, ttl, (uint8_t)(i + 1));
    }
    if (!count) put_soa(m, 12, ttl, ttl);
}

static void answer(const seen_query *q, uint16_t flags, int count, uint32_t ttl)
{
    builder m;
    answer_build(&m, q, q->id, flags, count, ttl);
    deliver(q, q->to, 53, &m);
}

void test_dns_resolver(void)
{
    lookup_result r = {0}, r2 = {0};
    int error = 0;
    seen_query q;
    resolver_start(2, 16);

    /* arguments */
    CHECK(!dns_resolve("nginx..test", DNS_WANT_A, on_result, &r, &error) && error == DNS_ERR_INVALID_NAME);
    CHECK(!dns_resolve("a b", DNS_WANT_A, on_result, &r, &error) && error == DNS_ERR_INVALID_NAME);
    CHECK(!dns_resolve("x.test", 0, on_result, &r, &error) && error == NET_ERR_INVALID);
    CHECK(!dns_resolve("x.test", 4, on_result, &r, &error) && error == NET_ERR_INVALID);
    CHECK(!dns_resolve("x.test", DNS_WANT_A, NULL, &r, &error) && error == NET_ERR_INVALID);
    CHECK(!dns_resolve(NULL, DNS_WANT_A, on_result, &r, &error) && error == NET_ERR_INVALID);
    CHECK(strcmp(dns_error_text(DNS_ERR_NXDOMAIN), "the name does not exist") == 0);
    CHECK(strcmp(dns_error_text(NET_ERR_INVALID), net_error_text(NET_ERR_INVALID)) == 0);

    /* one A query, to the primary, byte for byte; the answer comes from
     * the event loop, never inside the call */
    dns_lookup *l = dns_resolve("Nginx.Mixnet.Test.", DNS_WANT_A, on_result, &r, &error);
    CHECK(l && error == 0 && r.calls == 0 && peer_pending() == 0);
    CHECK(next_query(&q, 1000));
    CHECK(same_address(q.to, peer_address) && q.to_port == 53 && q.from_port >= 49152);
    CHECK(q.len == 35);
    CHECK_HEX(q.payload + 2, q.len - 2, "01000001000000000000"
                                        "056e67696e78066d69786e657404746573740000010001");
    answer(&q, FLAGS_ANSWER, 2, 60);
    run_until_called(&r, 1000);
    CHECK(r.calls == 1 && r.error == 0 && r.count == 2 && r.addresses[0].family == 4);
    CHECK(memcmp(r.addresses[0].octets, "\x0a\x00\x00\x01", 4) == 0 && r.addresses[0].ttl == 60);
    CHECK(memcmp(r.addresses[1].octets, "\x0a\x00\x00\x02", 4) == 0);

    /* the same name again: from the cache, without a packet */
    net_counters before, after;
    net_counters_get(&before);
    CHECK(dns_resolve("nginx.mixnet.test", DNS_WANT_A, on_result, &r2, NULL) && r2.calls == 0);
    run_until_called(&r2, 1000);
    net_counters_get(&after);
    CHECK(r2.calls == 1 && r2.error == 0 && r2.count == 2 && r2.addresses[0].ttl <= 60 && r2.addresses[0].ttl >= 59);
    CHECK(after.packets_out == before.packets_out && peer_pending() == 0);

    /* literals: no query; the family not wanted is no address */
    static const struct {
        const char *text;
        unsigned want;
        int family;
        const char *octets;
    } literals[] = {
        {"192.0.2.99", DNS_WANT_A, 4, "\xc0\x00\x02\x63"},
        {"0.0.0.0", DNS_WANT_A | DNS_WANT_AAAA, 4, "\0\0\0\0"},
        {"2001:db8::1", DNS_WANT_AAAA, 6, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"},
        {"[::1]", DNS_WANT_A | DNS_WANT_AAAA, 6, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"},
        {"::", DNS_WANT_AAAA, 6, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"},
        {"::ffff:1.2.3.4", DNS_WANT_AAAA, 6, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x01\x02\x03\x04"},
        {"1:2:3:4:5:6:7:8", DNS_WANT_AAAA, 6, "\0\x01\0\x02\0\x03\0\x04\0\x05\0\x06\0\x07\0\x08"},
        {"fe80::abcd:1", DNS_WANT_AAAA, 6, "\xfe\x80\0\0\0\0\0\0\0\0\0\0\xab\xcd\0\x01"},
        {"1::", DNS_WANT_AAAA, 6, "\0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0"},
        {"192.0.2.1", DNS_WANT_AAAA, 0, NULL},
        {"::1", DNS_WANT_A, 0, NULL},
    };
    net_counters_get(&before);
    for (size_t i = 0; i < sizeof literals / sizeof literals[0]; i++) {
        lookup_result lr = {0};
        CHECK(dns_resolve(literals[i].text, literals[i].want, on_result, &lr, NULL) && lr.calls == 0);
        run_until_called(&lr, 1000);
        bool ok = lr.calls == 1;
        if (literals[i].family)
            ok = ok && lr.error == 0 && lr.count == 1 && lr.addresses[0].family == literals[i].family &&
                 memcmp(lr.addresses[0].octets, literals[i].octets, literals[i].family == 4 ? 4 : 16) == 0 &&
                 lr.addresses[0].ttl == UINT32_MAX;
        else
            ok = ok && lr.error == DNS_ERR_NO_ADDRESS && lr.count == 0;
        if (!CHECK(ok)) fprintf(stderr, "  literal %s\n", literals[i].text);
    }
    /* not literals, and not names either */
    static const char *const not_literals[] = {"1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "::ffff:1.2.3", "[1.2.3.4]",
                                               ":1::",    "1:",                "::1.2.3.04"};
    for (size_t i = 0; i < sizeof not_literals / sizeof not_literals[0]; i++)
        if (!CHECK(!dns_resolve(not_literals[i], DNS_WANT_A, on_result, &r, &error) &&
                   error == DNS_ERR_INVALID_NAME))
            fprintf(stderr, "  accepted %s\n", not_literals[i]);
    /* dotted numbers that are no address are names (256.1.1.1 can exist) */
    lookup_result numbers = {0};
    l = dns_resolve("256.1.1.1", DNS_WANT_A, on_result, &numbers, NULL);
    CHECK(l && next_query(&q, 1000) && strcmp(q.name, "256.1.1.1") == 0);
    dns_cancel(l);
    net_counters_get(&after);
    CHECK(after.packets_out == before.packets_out + 1);
    run_for(20);
    peer_discard_all();
    peer_stop();
}

void test_dns_resolver_both(void)
{
    resolver_start(2, 16);
    lookup_result r = {0};
    seen_query first, second;
    /* both at once, from sockets of their own, with IDs of their own */
    CHECK(dns_resolve("nginx.mixnet.test", DNS_WANT_A | DNS_WANT_AAAA, on_result, &r, NULL) != NULL);
    CHECK(next_query(&first, 1000) && next_query(&second, 1000));
    CHECK(first.type != second.type && first.from_port != second.from_port);
    seen_query *a = first.type == DNS_TYPE_A ? &first : &second, *aaaa = a == &first ? &second : &first;
    CHECK(a->type == DNS_TYPE_A && aaaa->type == DNS_TYPE_AAAA);
    CHECK(aaaa->len == 35 && aaaa->payload[32] == 28);
    /* the AAAA first; the callback waits for the A, then IPv4 comes first */
    answer(aaaa, FLAGS_ANSWER, 2, 60);
    run_for(20);
    CHECK(r.calls == 0);
    answer(a, FLAGS_ANSWER, 1, 30);
    run_until_called(&r, 1000);
    CHECK(r.calls == 1 && r.error == 0 && r.count == 3);
    CHECK(r.addresses[0].family == 4 && r.addresses[1].family == 6 && r.addresses[2].family == 6);
    CHECK(r.addresses[0].ttl == 30 && r.addresses[1].ttl == 60 && r.addresses[2].octets[15] == 2);

    /* only one kind exists: the union is that; both missing: NXDOMAIN */
    lookup_result r2 = {0}, r3 = {0};
    CHECK(dns_resolve("v4only.test", DNS_WANT_A | DNS_WANT_AAAA, on_result, &r2, NULL) != NULL);
    CHECK(next_query(&first, 1000) && next_query(&second, 1000));
    answer(&first, FLAGS_ANSWER, first.type == DNS_TYPE_A, 60);
    answer(&second, FLAGS_ANSWER, second.type == DNS_TYPE_A, 60);
    run_until_called(&r2, 1000);
    CHECK(r2.calls == 1 && r2.error == 0 && r2.count == 1 && r2.addresses[0].family == 4);
    CHECK(dns_resolve("missing.test", DNS_WANT_A | DNS_WANT_AAAA, on_result, &r3, NULL) != NULL);
    CHECK(next_query(&first, 1000) && next_query(&second, 1000));
    answer(&first, 0x8183, 0, 60);
    answer(&second, 0x8183, 0, 60);
    run_until_called(&r3, 1000);
    CHECK(r3.calls == 1 && r3.error == DNS_ERR_NXDOMAIN && r3.count == 0);
    /* both cached now, the empty AAAA too */
    lookup_result r4 = {0}, r5 = {0};
    CHECK(dns_resolve("v4only.test", DNS_WANT_AAAA, on_result, &r4, NULL) != NULL);
    CHECK(dns_resolve("missing.test", DNS_WANT_A, on_result, &r5, NULL) != NULL);
    run_until_called(&r5, 1000);
    CHECK(r4.calls == 1 && r4.error == DNS_ERR_NO_ADDRESS && r5.calls == 1 && r5.error == DNS_ERR_NXDOMAIN);
    CHECK(peer_pending() == 0);

    /* one part fails, the other is a definite "none": the failure counts,
     * since asking later may find addresses */
    lookup_result r6 = {0};
    CHECK(dns_resolve("flaky.test", DNS_WANT_A | DNS_WANT_AAAA, on_result, &r6, NULL) != NULL);
    CHECK(next_query(&first, 1000) && next_query(&second, 1000));
    answer(&first, FLAGS_ANSWER, 0, 60);
    answer(&second, 0x8182, 0, 60); /* SERVFAIL: on to the fallback */
    seen_query retry;
    CHECK(next_query(&retry, 1000) && same_address(retry.to, fallback_address) && retry.type == second.type);
    answer(&retry, 0x8185, 0, 60); /* REFUSED there too */
    run_until_called(&r6, 1000);
    CHECK(r6.calls == 1 && r6.error == DNS_ERR_SERVFAIL && r6.count == 0);
    run_for(20);
    peer_discard_all();
    peer_stop();
}

void test_dns_resolver_ignores(void)
{
    resolver_start(2, 16);
    lookup_result r = {0};
    seen_query q;
    CHECK(dns_resolve("nginx.mixnet.test", DNS_WANT_A, on_result, &r, NULL) != NULL);
    CHECK(next_query(&q, 1000));
    builder m;
    /* another ID, another sender, another source port: ignored */
    answer_build(&m, &q, (uint16_t)(q.id ^ 1), FLAGS_ANSWER, 1, 60);
    deliver(&q, q.to, 53, &m);
    answer_build(&m, &q, q.id, FLAGS_ANSWER, 1, 60);
    deliver(&q, fallback_address, 53, &m);
    deliver(&q, q.to, 5353, &m);
    run_for(50);
    CHECK(r.calls == 0 && peer_pending() == 0);
    /* the right one, answered */
    deliver(&q, q.to, 53, &m);
    run_until_called(&r, 1000);
    CHECK(r.calls == 1 && r.error == 0 && r.count == 1);

    /* a bad answer from the server itself (another question) is a
     * failure of that server: on to the fallback at once */
    lookup_result r2 = {0};
    CHECK(dns_resolve("other.test", DNS_WANT_A, on_result, &r2, NULL) != NULL);
    CHECK(next_query(&q, 1000) && same_address(q.to, peer_address));
    seen_query wrong = q;
    strcpy(wrong.name, "other.tesT.evil");
    answer_build(&m, &wrong, q.id, FLAGS_ANSWER, 1, 60);
    deliver(&q, q.to, 53, &m);
    uint64_t start = platform_monotonic_ms();
    seen_query fallback;
    CHECK(next_query(&fallback, 1000) && same_address(fallback.to, fallback_address));
    CHECK(platform_monotonic_ms() - start < TIMEOUT_MS);
    /* a truncated answer without addresses fails the fallback too */
    answer(&fallback, FLAGS_ANSWER | FLAG_TC, 0, 60);
    run_until_called(&r2, 1000);
    CHECK(r2.calls == 1 && r2.error == DNS_ERR_SERVFAIL);

    /* a truncated answer with addresses is used, but not cached */
    lookup_result r3 = {0}, r4 = {0};
    CHECK(dns_resolve("big.test", DNS_WANT_A, on_result, &r3, NULL) != NULL);
    CHECK(next_query(&q, 1000));
    answer(&q, FLAGS_ANSWER | FLAG_TC, 3, 60);
    run_until_called(&r3, 1000);
    CHECK(r3.calls == 1 && r3.error == 0 && r3.count == 3);
    CHECK(dns_resolve("big.test", DNS_WANT_A, on_result, &r4, NULL) != NULL);
    CHECK(next_query(&q, 1000) && strcmp(q.name, "big.test") == 0);
    answer(&q, FLAGS_ANSWER, 1, 60);
    run_until_called(&r4, 1000);
    CHECK(r4.calls == 1 && r4.count == 1);
    run_for(20);
    peer_discard_all();
    peer_stop();
}

void test_dns_resolver_fallback(void)
{
    resolver_start(2, 16);
    lookup_result r = {0};
    seen_query q1, q2, q3;
    /* the primary stays silent: asked twice, TIMEOUT_MS apart, with new
     * IDs, then the fallback */
    uint64_t start = platform_monotonic_ms();
    CHECK(dns_resolve("slow.test", DNS_WANT_A, on_result, &r, NULL) != NULL);
    CHECK(next_query(&q1, 1000) && same_address(q1.to, peer_address));
    CHECK(next_query(&q2, 1000) && same_address(q2.to, peer_address) && q2.from_port == q1.from_port);
    uint64_t second_at = platform_monotonic_ms() - start;
    CHECK(second_at >= TIMEOUT_MS && second_at < 2 * TIMEOUT_MS);
    CHECK(next_query(&q3, 1000) && same_address(q3.to, fallback_address));
    uint64_t third_at = platform_monotonic_ms() - start;
    CHECK(third_at >= 2 * TIMEOUT_MS && third_at < 3 * TIMEOUT_MS);
    CHECK(q1.id != q2.id || q2.id != q3.id);
    /* the primary's late answer to its first query still counts */
    answer(&q1, FLAGS_ANSWER, 1, 60);
    run_until_called(&r, 1000);
    CHECK(r.calls == 1 && r.error == 0 && r.count == 1);

    /* nobody answers: a timeout after both servers' attempts */
    lookup_result r2 = {0};
    start = platform_monotonic_ms();
    CHECK(dns_resolve("silent.test", DNS_WANT_A, on_result, &r2, NULL) != NULL);
    run_until_called(&r2, 8 * TIMEOUT_MS);
    uint64_t elapsed = platform_monotonic_ms() - start;
    CHECK(r2.calls == 1 && r2.error == DNS_ERR_TIMEOUT && elapsed >= 4 * TIMEOUT_MS && elapsed < 6 * TIMEOUT_MS);
    int sent = 0;
    while (next_query(&q1, 0)) sent++;
    CHECK(sent == 4);

    /* SERVFAIL from the primary: the fallback at once, whose answer counts;
     * the primary's later answers change nothing */
    lookup_result r3 = {0};
    CHECK(dns_resolve("sick.test", DNS_WANT_A, on_result, &r3, NULL) != NULL);
    CHECK(next_query(&q1, 1000));
    answer(&q1, 0x8182, 0, 60);
    CHECK(next_query(&q2, 100) && same_address(q2.to, fallback_address));
    answer(&q1, 0x8185, 0, 60);
    run_for(20);
    CHECK(r3.calls == 0);
    answer(&q2, FLAGS_ANSWER, 2, 60);
    run_until_called(&r3, 1000);
    CHECK(r3.calls == 1 && r3.error == 0 && r3.count == 2);

    /* NXDOMAIN from the primary is final */
    lookup_result r4 = {0};
    CHECK(dns_resolve("nowhere.test", DNS_WANT_A, on_result, &r4, NULL) != NULL);
    CHECK(next_query(&q1, 1000));
    answer(&q1, 0x8183, 0, 60);
    run_until_called(&r4, 1000);
    CHECK(r4.calls == 1 && r4.error == DNS_ERR_NXDOMAIN);
    run_for(3 * TIMEOUT_MS);
    CHECK(!next_query(&q1, 0));

    /* the tunnel down: the lookup fails at once */
    lookup_result r5 = {0};
    CHECK(net_down() == NET_OK);
    CHECK(dns_resolve("down.test", DNS_WANT_A, on_result, &r5, NULL) != NULL);
    run_until_called(&r5, 1000);
    CHECK(r5.calls == 1 && r5.error == DNS_ERR_NETWORK);
    peer_discard_all();
    peer_stop();
}

void test_dns_resolver_cache(void)
{
    resolver_start(1, 2);
    seen_query q;
    lookup_result r[8] = {{0}};
    /* a TTL of 1 s: cached for it, then asked again */
    CHECK(dns_resolve("short.test", DNS_WANT_A, on_result, &r[0], NULL) != NULL);
    CHECK(next_query(&q, 1000));
    answer(&q, FLAGS_ANSWER, 1, 1);
    run_until_called(&r[0], 1000);
    CHECK(dns_resolve("short.test", DNS_WANT_A, on_result, &r[1], NULL) != NULL);
    run_until_called(&r[1], 1000);
    CHECK(r[1].calls == 1 && r[1].count == 1 && peer_pending() == 0);
    run_for(1050);
    CHECK(dns_resolve("short.test", DNS_WANT_A, on_result, &r[2], NULL) != NULL);
    CHECK(next_query(&q, 1000));
    /* TTL 0 is not kept at all */
    answer(&q, FLAGS_ANSWER, 1, 0);
    run_until_called(&r[2], 1000);
    CHECK(r[2].calls == 1 && r[2].count == 1 && r[2].addresses[0].ttl == 0);
    CHECK(dns_resolve("short.test", DNS_WANT_A, on_result, &r[3], NULL) != NULL);
    CHECK(next_query(&q, 1000));
    answer(&q, 0x8183, 0, 1); /* NXDOMAIN, for a second */
    run_until_called(&r[3], 1000);
    CHECK(r[3].error == DNS_ERR_NXDOMAIN);
    memset(r, 0, sizeof r);
    CHECK(dns_resolve("short.test", DNS_WANT_A, on_result, &r[0], NULL) != NULL);
    run_until_called(&r[0], 1000);
    CHECK(r[0].error == DNS_ERR_NXDOMAIN && peer_pending() == 0);
    run_for(1050);
    CHECK(dns_resolve("short.test", DNS_WANT_A, on_result, &r[1], NULL) != NULL);
    CHECK(next_query(&q, 1000));
    answer(&q, 0x8183, 0, 0); /* no SOA minimum: not kept */
    run_until_called(&r[1], 1000);

    /* two entries at most: a third pushes the oldest out */
    static const char *const names[] = {"one.test", "two.test", "three.test"};
    for (int i = 0; i < 3; i++) {
        CHECK(dns_resolve(names[i], DNS_WANT_A, on_result, &r[2 + i], NULL) != NULL);
        CHECK(next_query(&q, 1000) && strcmp(q.name, names[i]) == 0);
        answer(&q, FLAGS_ANSWER, 1, 300);
        run_until_called(&r[2 + i], 1000);
    }
    CHECK(dns_resolve("three.test", DNS_WANT_A, on_result, &r[5], NULL) != NULL);
    CHECK(dns_resolve("two.test", DNS_WANT_A, on_result, &r[6], NULL) != NULL);
    run_until_called(&r[6], 1000);
    CHECK(r[5].calls == 1 && r[6].calls == 1 && peer_pending() == 0);
    CHECK(dns_resolve("one.test", DNS_WANT_A, on_result, &r[7], NULL) != NULL);
    CHECK(next_query(&q, 1000) && strcmp(q.name, "one.test") == 0);
    answer(&q, FLAGS_ANSWER, 1, 300);
    run_until_called(&r[7], 1000);
    /* cleared: asked again */
    dns_cache_clear();
    lookup_result again = {0};
    CHECK(dns_resolve("one.test", DNS_WANT_A, on_result, &again, NULL) != NULL);
    CHECK(next_query(&q, 1000) && strcmp(q.name, "one.test") == 0);
    answer(&q, FLAGS_ANSWER, 1, 300);
    run_until_called(&again, 1000);
    CHECK(again.calls == 1);
    /* a smaller cache drops the oldest at once; none turns it off */
    dns_config c;
    dns_config_default(&c);
    c.servers[0] = peer_address;
    c.server_count = 1;
    c.cache_entries = 0;
    CHECK(dns_configure(&c) == NET_OK);
    memset(r, 0, sizeof r);
    CHECK(dns_resolve("one.test", DNS_WANT_A, on_result, &r[0], NULL) != NULL);
    CHECK(next_query(&q, 1000));
    answer(&q, FLAGS_ANSWER, 1, 300);
    run_until_called(&r[0], 1000);
    CHECK(dns_resolve("one.test", DNS_WANT_A, on_result, &r[1], NULL) != NULL);
    CHECK(next_query(&q, 1000));
    answer(&q, FLAGS_ANSWER, 1, 300);
    run_until_called(&r[1], 1000);
    CHECK(r[1].calls == 1 && r[1].count == 1);
    /* configurations it refuses */
    c.server_count = 0;
    CHECK(dns_configure(&c) == NET_ERR_INVALID);
    c.server_count = DNS_MAX_SERVERS + 1;
    CHECK(dns_configure(&c) == NET_ERR_INVALID);
    c.server_count = 1;
    c.port = 0;
    CHECK(dns_configure(&c) == NET_ERR_INVALID);
    c.port = 53;
    c.attempts = 0;
    CHECK(dns_configure(&c) == NET_ERR_INVALID);
    CHECK(dns_configure(NULL) == NET_ERR_INVALID);
    run_for(20);
    peer_discard_all();
    peer_stop();
}

void test_dns_resolver_join_cancel(void)
{
    resolver_start(2, 16);
    seen_query q;
    /* three lookups of one name share one query */
    lookup_result a = {0}, b = {0}, c = {0};
    dns_lookup *la = dns_resolve("shared.test", DNS_WANT_A, on_result, &a, NULL);
    dns_lookup *lb = dns_resolve("SHARED.test.", DNS_WANT_A, on_result, &b, NULL);
    dns_lookup *lc = dns_resolve("shared.test", DNS_WANT_A, on_result, &c, NULL);
    CHECK(la && lb && lc);
    CHECK(next_query(&q, 1000) && !next_query(&q, 50));
    /* one gives up; a callback cancels another that the same answer
     * completes, and starts a lookup of its own, answered from the cache */
    dns_cancel(lb);
    lookup_result d = {0};
    a.cancel = &lc;
    a.resolve_again = "shared.test";
    a.again = &d;
    CHECK(next_query(&q, 0) == false);
    builder m;
    peer_discard_all();
    /* the query, re-sent after the timeout */
    CHECK(next_query(&q, 2 * TIMEOUT_MS));
    answer_build(&m, &q, q.id, FLAGS_ANSWER, 1, 60);
    deliver(&q, q.to, 53, &m);
    run_until_called(&d, 1000);
    CHECK(a.calls == 1 && a.count == 1 && b.calls == 0 && c.calls == 0 && d.calls == 1 && d.count == 1);
    CHECK(lc == NULL);

    /* the only lookup cancelled: its query stops, so an answer finds no
     * socket (ICMP port unreachable) and nothing runs */
    lookup_result e = {0};
    dns_lookup *le = dns_resolve("gone.test", DNS_WANT_A, on_result, &e, NULL);
    CHECK(le && next_query(&q, 1000));
    dns_cancel(le);
    answer(&q, FLAGS_ANSWER, 1, 60);
    peer_packet p;
    CHECK(peer_next(&p) && p.protocol == PEER_PROTOCOL_ICMP && p.bytes[20] == 3 && p.bytes[21] == 3);
    run_for(3 * TIMEOUT_MS);
    CHECK(e.calls == 0 && !next_query(&q, 0));
    /* cancelled before it went out: nothing at all */
    le = dns_resolve("never.test", DNS_WANT_A | DNS_WANT_AAAA, on_result, &e, NULL);
    dns_cancel(le);
    run_for(50);
    CHECK(e.calls == 0 && peer_pending() == 0);
    /* a literal or cached answer cancelled before its timer */
    le = dns_resolve("10.1.2.3", DNS_WANT_A, on_result, &e, NULL);
    dns_cancel(le);
    le = dns_resolve("shared.test", DNS_WANT_A, on_result, &e, NULL);
    dns_cancel(le);
    run_for(50);
    CHECK(e.calls == 0);
    dns_cancel(NULL);
    peer_discard_all();
    peer_stop();
}

void test_dns_resolver_many(void)
{
    resolver_start(2, 64);
    enum { NAMES = 12 };
    lookup_result r[NAMES] = {{0}};
    char names[NAMES][32];
    for (int i = 0; i < NAMES; i++) {
        snprintf(names[i], sizeof names[i], "host%d.test", i);
        CHECK(dns_resolve(names[i], DNS_WANT_A | DNS_WANT_AAAA, on_result, &r[i], NULL) != NULL);
    }
    /* 24 queries, 8 on the wire at a time; each answered as it comes */
    uint16_t ports[2 * NAMES], ids[2 * NAMES];
    int seen = 0, most_at_once = 0;
    seen_query waiting[2 * NAMES];
    int waiting_count = 0;
    uint64_t end = platform_monotonic_ms() + 5000;
    while (seen < 2 * NAMES && platform_monotonic_ms() < end) {
        seen_query q;
        while (next_query(&q, 20)) {
            if (seen < 2 * NAMES) {
                ports[seen] = q.from_port;
                ids[seen] = q.id;
            }
            seen++;
            waiting[waiting_count++] = q;
        }
        if (waiting_count > most_at_once) most_at_once = waiting_count;
        for (int i = 0; i < waiting_count; i++) answer(&waiting[i], FLAGS_ANSWER, 1, 60);
        waiting_count = 0;
    }
    int done = 0;
    end = platform_monotonic_ms() + 2000;
    while (done < NAMES && platform_monotonic_ms() < end) {
        platform_run_once(5);
        done = 0;
        for (int i = 0; i < NAMES; i++) done += r[i].calls;
    }
    CHECK(seen == 2 * NAMES && most_at_once == 8);
    int complete = 0;
    for (int i = 0; i < NAMES; i++)
        complete += r[i].calls == 1 && r[i].error == 0 && r[i].count == 2 && r[i].addresses[0].family == 4 &&
                    r[i].addresses[1].family == 6;
    CHECK(complete == NAMES);
    /* ports and IDs at random: not in sequence, and not repeating */
    int in_sequence = 0, repeated = 0;
    for (int i = 0; i < 2 * NAMES; i++) {
        if (i > 0 && (uint16_t)(ports[i - 1] + 1) == ports[i]) in_sequence++;
        for (int j = 0; j < i; j++) repeated += ports[i] == ports[j] || ids[i] == ids[j];
    }
    CHECK(in_sequence <= 1 && repeated <= 1);
    run_for(20);
    peer_discard_all();
    peer_stop();
}
#endif
