/* DNS messages (RFC 1035 §4): a query for one name and type, and the
 * response to it, read with every length checked against the message. */
#include "dns/dns.h"

#include <string.h>

#define HEADER_LEN 12
#define CLASS_IN 1
/* header byte 2 */
#define FLAG_RESPONSE 0x80
#define OPCODE_BITS 0x78
#define FLAG_TRUNCATED 0x02
#define FLAG_RECURSION_DESIRED 0x01
#define RCODE_BITS 0x0f

#define MAX_WIRE_NAME 255 /* RFC 1035 §3.1, the root's zero length included */
#define MAX_LABEL 63
#define POINTER_BITS 0xc0
/* more than any real chain; a longer one is a loop */
#define MAX_CNAME_HOPS 16
/* RFC 8767 §4: a week at most; RFC 2181 §8: the top bit set means zero */
#define MAX_TTL (7u * 24 * 3600)
#define SOA_NUMBERS_LEN 20 /* serial, refresh, retry, expire, minimum */

/* A name in wire form (length-prefixed labels and the root's zero),
 * lower-cased so that names compare with memcmp. */
typedef struct {
    uint8_t bytes[MAX_WIRE_NAME];
    size_t len;
} wire_name;

static uint8_t ascii_lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

static bool host_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Letters, digits, '-' and '_' in labels of 1 to 63, 253 at most with an
 * optional final dot. */
static bool name_from_text(const char *text, wire_name *out)
{
    size_t len = 0;
    while (len <= DNS_MAX_NAME_LEN + 1 && text[len]) len++;
    if (len > 0 && text[len - 1] == '.') len--;
    if (len == 0 || len > DNS_MAX_NAME_LEN) return false;
    size_t label_start = 0;
    out->len = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '.') {
            size_t label_len = i - label_start;
            if (label_len == 0 || label_len > MAX_LABEL) return false;
            out->bytes[out->len++] = (uint8_t)label_len;
            for (size_t j = label_start; j < i; j++) out->bytes[out->len++] = ascii_lower((uint8_t)text[j]);
            label_start = i + 1;
        } else if (!host_name_char(text[i])) {
            return false;
        }
    }
    out->bytes[out->len++] = 0;
    return true;
}

static uint16_t read_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t read_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void write_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int dns_query_write(uint8_t *out, size_t cap, uint16_t id, const char *name, uint16_t type)
{
    wire_name qname;
    if (!out || !name || !name_from_text(name, &qname)) return -1;
    size_t len = HEADER_LEN + qname.len + 4;
    if (cap < len) return -1;
    memset(out, 0, HEADER_LEN);
    write_u16(out, id);
    out[2] = FLAG_RECURSION_DESIRED;
    write_u16(out + 4, 1); /* one question */
    memcpy(out + HEADER_LEN, qname.bytes, qname.len);
    write_u16(out + HEADER_LEN + qname.len, type);
    write_u16(out + HEADER_LEN + qname.len + 2, CLASS_IN);
    return (int)len;
}

/* Reads the possibly compressed name at pos into out; *end is where the
 * name's own bytes stop. A pointer must lead below every place this name
 * was read from so far, which ends any loop. */
static bool name_read(const uint8_t *msg, size_t len, size_t pos, wire_name *out, size_t *end)
{
    size_t floor = pos;
    bool jumped = false;
    out->len = 0;
    for (;;) {
        if (pos >= len) return false;
        uint8_t b = msg[pos];
        if ((b & POINTER_BITS) == POINTER_BITS) {
            if (pos + 1 >= len) return false;
            size_t target = (size_t)(b & ~POINTER_BITS) << 8 | msg[pos + 1];
            if (target >= floor) return false;
            if (!jumped) *end = pos + 2;
            jumped = true;
            floor = pos = target;
        } else if (b & POINTER_BITS) {
            return false; /* the extended label types of RFC 6891, never used */
        } else if (b == 0) {
            if (out->len + 1 > MAX_WIRE_NAME) return false;
            out->bytes[out->len++] = 0;
            if (!jumped) *end = pos + 1;
            return true;
        } else {
            if (pos + 1 + b > len || out->len + 1 + b + 1 > MAX_WIRE_NAME) return false;
            out->bytes[out->len++] = b;
            for (size_t i = 0; i < b; i++) out->bytes[out->len++] = ascii_lower(msg[pos + 1 + i]);
            pos += 1 + (size_t)b;
        }
    }
}

static bool names_equal(const wire_name *a, const wire_name *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* Whether zone is name or one of its ancestors. */
static bool name_within(const wire_name *name, const wire_name *zone)
{
    for (size_t at = 0; at < name->len; at += (size_t)name->bytes[at] + 1)
        if (name->len - at == zone->len && memcmp(name->bytes + at, zone->bytes, zone->len) == 0) return true;
    return false;
}

typedef struct {
    wire_name owner;
    uint16_t type, class_;
    uint32_t ttl;
    size_t rdata, rdata_len;
} resource_record;

/* Reads the record at *pos and moves *pos past it. */
static bool record_read(const uint8_t *msg, size_t len, size_t *pos, resource_record *rr)
{
    size_t fixed;
    if (!name_read(msg, len, *pos, &rr->owner, &fixed) || len - fixed < 10) return false;
    rr->type = read_u16(msg + fixed);
    rr->class_ = read_u16(msg + fixed + 2);
    uint32_t ttl = read_u32(msg + fixed + 4);
    rr->ttl = ttl & 0x80000000u ? 0 : ttl < MAX_TTL ? ttl : MAX_TTL;
    rr->rdata_len = read_u16(msg + fixed + 8);
    rr->rdata = fixed + 10;
    if (len - rr->rdata < rr->rdata_len) return false;
    *pos = rr->rdata + rr->rdata_len;
    return true;
}

/* A name that fills the record's data exactly (CNAME targets). */
static bool rdata_name_read(const uint8_t *msg, const resource_record *rr, size_t at, wire_name *out, size_t *end)
{
    return name_read(msg, rr->rdata + rr->rdata_len, at, out, end);
}

/* The records of one section, all known to be well formed. */
typedef struct {
    size_t start, count;
} section;

/* Checks count records from *pos; in a truncated message the section may
 * end early, and keeps the records that are whole. */
static bool section_read(const uint8_t *msg, size_t len, size_t *pos, size_t count, bool truncated, section *out)
{
    resource_record rr;
    out->start = *pos;
    out->count = 0;
    while (out->count < count) {
        size_t next = *pos;
        if (!record_read(msg, len, &next, &rr)) return truncated;
        *pos = next;
        out->count++;
    }
    return true;
}

/* Follows the CNAMEs from *name within the answers; the chain's smallest
 * TTL goes to *ttl. */
static bool cname_chain_follow(const uint8_t *msg, size_t len, const section *answers, wire_name *name,
                               uint32_t *ttl)
{
    for (int hops = 0;; hops++) {
        size_t pos = answers->start;
        bool found = false;
        resource_record rr;
        for (size_t i = 0; i < answers->count && !found; i++) {
            record_read(msg, len, &pos, &rr);
            found = rr.type == DNS_TYPE_CNAME && rr.class_ == CLASS_IN && names_equal(&rr.owner, name);
        }
        if (!found) return true;
        if (hops == MAX_CNAME_HOPS) return false;
        size_t end;
        if (!rdata_name_read(msg, &rr, rr.rdata, name, &end) || end != rr.rdata + rr.rdata_len) return false;
        if (rr.ttl < *ttl) *ttl = rr.ttl;
    }
}

static bool addresses_collect(const uint8_t *msg, size_t len, const section *answers, const wire_name *name,
                              uint16_t type, uint32_t chain_ttl, dns_answer *out)
{
    size_t address_len = type == DNS_TYPE_A ? 4 : 16;
    size_t pos = answers->start;
    resource_record rr;
    for (size_t i = 0; i < answers->count; i++) {
        record_read(msg, len, &pos, &rr);
        if (rr.type != type || rr.class_ != CLASS_IN || !names_equal(&rr.owner, name)) continue;
        if (rr.rdata_len != address_len) return false;
        dns_address a = {.family = type == DNS_TYPE_A ? 4 : 6, .ttl = rr.ttl < chain_ttl ? rr.ttl : chain_ttl};
        memcpy(a.octets, msg + rr.rdata, address_len);
        bool seen = false;
        for (size_t j = 0; j < out->count && !seen; j++) seen = memcmp(out->addresses[j].octets, a.octets, 16) == 0;
        if (seen) continue;
        if (out->count < DNS_MAX_ADDRESSES) out->addresses[out->count++] = a;
    }
    return true;
}

/* RFC 2308 §5: a negative answer lives for the smaller of the SOA's TTL
 * and its minimum field; only an SOA of the name's own zone counts. */
static bool negative_ttl_find(const uint8_t *msg, size_t len, const section *authority, const wire_name *name,
                              uint32_t *ttl)
{
    size_t pos = authority->start;
    resource_record rr;
    for (size_t i = 0; i < authority->count; i++) {
        record_read(msg, len, &pos, &rr);
        if (rr.type != DNS_TYPE_SOA || rr.class_ != CLASS_IN) continue;
        wire_name mname, rname;
        size_t after_mname, after_rname;
        if (!rdata_name_read(msg, &rr, rr.rdata, &mname, &after_mname) ||
            !rdata_name_read(msg, &rr, after_mname, &rname, &after_rname) ||
            after_rname + SOA_NUMBERS_LEN != rr.rdata + rr.rdata_len)
            return false;
        if (!name_within(name, &rr.owner)) continue;
        uint32_t minimum = read_u32(msg + after_rname + 16);
        minimum = minimum & 0x80000000u ? 0 : minimum;
        *ttl = rr.ttl < minimum ? rr.ttl : minimum;
        return true;
    }
    return true;
}

int dns_response_parse(const uint8_t *msg, size_t len, const char *name, uint16_t type, dns_answer *out)
{
    if (!out) return -1;
    memset(out, 0, sizeof *out);
    wire_name asked, question;
    if (!msg || !name || len < HEADER_LEN || !name_from_text(name, &asked)) return -1;
    if (type != DNS_TYPE_A && type != DNS_TYPE_AAAA) return -1;
    out->id = read_u16(msg);
    if (!(msg[2] & FLAG_RESPONSE) || (msg[2] & OPCODE_BITS)) return -1;
    out->truncated = (msg[2] & FLAG_TRUNCATED) != 0;
    out->rcode = msg[3] & RCODE_BITS;
    if (read_u16(msg + 4) != 1) return -1;

    size_t pos;
    if (!name_read(msg, len, HEADER_LEN, &question, &pos) || len - pos < 4) return -1;
    if (!names_equal(&question, &asked) || read_u16(msg + pos) != type || read_u16(msg + pos + 2) != CLASS_IN)
        return -1;
    pos += 4;
    section answers, authority;
    if (!section_read(msg, len, &pos, read_u16(msg + 6), out->truncated, &answers) ||
        !section_read(msg, len, &pos, answers.count == read_u16(msg + 6) ? read_u16(msg + 8) : 0, out->truncated,
                      &authority))
        return -1;

    wire_name target = asked;
    uint32_t chain_ttl = MAX_TTL;
    if (!cname_chain_follow(msg, len, &answers, &target, &chain_ttl)) return -1;
    if (out->rcode == DNS_RCODE_NOERROR && !addresses_collect(msg, len, &answers, &target, type, chain_ttl, out))
        return -1;
    if ((out->rcode == DNS_RCODE_NXDOMAIN || (out->rcode == DNS_RCODE_NOERROR && out->count == 0)) &&
        !negative_ttl_find(msg, len, &authority, &target, &out->negative_ttl))
        return -1;
    return 0;
}
