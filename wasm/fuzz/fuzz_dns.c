/* libFuzzer target: DNS responses on arbitrary bytes. The name asked for
 * is read from the message's own question when it is one (so the fuzzer
 * gets past the question check), else a fixed one. Besides memory safety
 * it checks what a parsed answer promises: at most DNS_MAX_ADDRESSES
 * addresses, distinct, of the type asked, TTLs within a week, and that a
 * query for the name reads back as a question the parser accepts. */
#include "dns/dns.h"

#include <stdint.h>
#include <string.h>

#define REQUIRE(cond)                  \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

#define MAX_TTL (7u * 24 * 3600)

/* The question's name in text, when it is written without compression. */
static bool question_name(const uint8_t *msg, size_t len, char name[DNS_MAX_NAME_LEN + 2])
{
    size_t at = 12, out = 0;
    while (at < len && msg[at] != 0) {
        size_t label = msg[at];
        if (label > 63 || at + 1 + label > len || out + label + 1 > DNS_MAX_NAME_LEN + 1) return false;
        if (out) name[out++] = '.';
        memcpy(name + out, msg + at + 1, label);
        out += label;
        at += 1 + label;
    }
    name[out] = '\0';
    return out > 0 && memchr(name, '\0', out) == NULL;
}

static void check_answer(const dns_answer *a, uint16_t type)
{
    REQUIRE(a->count <= DNS_MAX_ADDRESSES);
    for (size_t i = 0; i < a->count; i++) {
        REQUIRE(a->addresses[i].family == (type == DNS_TYPE_A ? 4 : 6));
        REQUIRE(a->addresses[i].ttl <= MAX_TTL);
        for (size_t j = 0; j < i; j++)
            REQUIRE(memcmp(a->addresses[i].octets, a->addresses[j].octets, sizeof a->addresses[i].octets) != 0);
    }
    REQUIRE(a->count == 0 || a->rcode == DNS_RCODE_NOERROR);
    REQUIRE(a->negative_ttl <= MAX_TTL);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    static const uint16_t types[] = {DNS_TYPE_A, DNS_TYPE_AAAA};
    char name[DNS_MAX_NAME_LEN + 2];
    if (!question_name(bytes, size, name)) memcpy(name, "a.test", sizeof "a.test");
    for (size_t t = 0; t < 2; t++) {
        dns_answer answer;
        if (dns_response_parse(bytes, size, name, types[t], &answer) == 0) {
            check_answer(&answer, types[t]);
            /* the question of a parsed response is one our writer makes */
            uint8_t query[DNS_MAX_UDP_MESSAGE];
            int n = dns_query_write(query, sizeof query, answer.id, name, types[t]);
            REQUIRE(n > 12);
            query[2] |= 0x80;
            REQUIRE(dns_response_parse(query, (size_t)n, name, types[t], &answer) == 0 && answer.count == 0);
        }
    }
    return 0;
}
