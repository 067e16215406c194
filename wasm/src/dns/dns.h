/* The dns layer: A and AAAA lookups over UDP through the tunnel, for
 * mixDNS and for the host names of mixFetch and MixWebSocket.
 *
 * Each lookup asks the primary server, then on a timeout, SERVFAIL,
 * REFUSED or a bad answer the next one, each several times; answers are
 * cached by name and type for their TTL (NXDOMAIN and empty answers too,
 * for the SOA's minimum). Many lookups run at once; one for a name already
 * in flight joins it. IPv4 and IPv6 literals are answered without a query.
 *
 * Each query goes out from a socket of its own (a random port) with a
 * random ID; a datagram from another address or port, or with an ID this
 * query did not send, is ignored. An answer to an earlier attempt of the
 * same query still counts, since the mixnet's round trip varies. A
 * truncated answer gives the addresses it holds (there is no TCP); one
 * without any counts as a server failure.
 *
 * One resolver per process, like the net layer below it. Callbacks run
 * only from the event loop, never inside a dns call (a cached or literal
 * answer comes on a zero-delay timer). */
#ifndef MIX_DNS_H
#define MIX_DNS_H

#include "net/net.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_MAX_SERVERS 4
#define DNS_MAX_ADDRESSES 32 /* per answer; more are dropped */
#define DNS_MAX_NAME_LEN 253 /* text form, without the final dot */

typedef enum {
    DNS_ERR_INVALID_NAME = -200, /* not a valid host name */
    DNS_ERR_NXDOMAIN = -201,     /* the name does not exist */
    DNS_ERR_NO_ADDRESS = -202,   /* the name exists but has no A or AAAA record */
    DNS_ERR_SERVFAIL = -203,     /* every server failed (SERVFAIL, REFUSED or a bad answer) */
    DNS_ERR_TIMEOUT = -204,      /* no server answered in time */
    DNS_ERR_NETWORK = -205,      /* the tunnel is down */
    DNS_ERR_NO_MEMORY = -206,
} dns_error;

const char *dns_error_text(int error);

typedef struct {
    uint8_t family;     /* 4 or 6 */
    uint8_t octets[16]; /* the first 4 for IPv4 */
    uint32_t ttl;       /* seconds left, as answered less the time cached; UINT32_MAX for a literal */
} dns_address;

typedef struct {
    net_ipv4 servers[DNS_MAX_SERVERS]; /* the primary first, then fallbacks */
    size_t server_count;
    uint16_t port;              /* 53 */
    uint32_t attempt_timeout_ms; /* for one query to one server */
    uint32_t attempts;           /* per server before moving on */
    size_t cache_entries;        /* at most; the oldest go first */
} dns_config;

/* 8.8.8.8 then 1.1.1.1 as the published mix-dns, port 53, 2 attempts of 3 s each. */
void dns_config_default(dns_config *c);
/* Applies a configuration to the queries that start from now on (the
 * cache is kept, trimmed to the new size). NET_ERR_INVALID without
 * servers, more than DNS_MAX_SERVERS, port 0, or no attempts or time.
 * Before any call, the default applies. */
int dns_configure(const dns_config *c);

/* Which records a lookup wants. */
#define DNS_WANT_A 1u
#define DNS_WANT_AAAA 2u

/* The outcome: every address found (IPv4 first), or an error and none. */
typedef void (*dns_callback)(void *ctx, int error, const dns_address *addresses, size_t count);

typedef struct dns_lookup dns_lookup;

/* Starts a lookup of name (ASCII, a trailing dot allowed) for the records
 * in want. With both, both are asked at once and the answer is their
 * union (at most DNS_MAX_ADDRESSES); it fails only when both do, with
 * the error of a failed query before that of a definite "no such name or
 * address". An IPv4 or IPv6 literal (also in brackets) is its own answer,
 * or DNS_ERR_NO_ADDRESS when want excludes its family. Gives NULL with
 * *error (when not NULL) set when it cannot start: DNS_ERR_INVALID_NAME,
 * DNS_ERR_NO_MEMORY, or NET_ERR_INVALID for no callback or an empty want. */
dns_lookup *dns_resolve(const char *name, unsigned want, dns_callback callback, void *ctx, int *error);
/* Stops waiting: the callback will not run. Not after the callback ran.
 * A query nobody else waits for stops too. */
void dns_cancel(dns_lookup *lookup);
/* Forgets every cached answer. */
void dns_cache_clear(void);

/* ---- the wire format, for the resolver and its fuzz target ---- */

#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA 6
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_REFUSED 5
#define DNS_MAX_UDP_MESSAGE 512 /* no EDNS0: a longer answer comes truncated */

/* Writes a query (recursion desired) for name and type. Gives its length,
 * or -1 when the name is invalid or out is too small. */
int dns_query_write(uint8_t *out, size_t cap, uint16_t id, const char *name, uint16_t type);

typedef struct {
    uint16_t id;
    uint8_t rcode;
    bool truncated;
    dns_address addresses[DNS_MAX_ADDRESSES]; /* of the type asked, for the name asked or its CNAME chain */
    size_t count;
    uint32_t negative_ttl; /* from the SOA of an NXDOMAIN or empty answer; 0 without one */
} dns_answer;

/* Reads a response to a query for name and type (A or AAAA): checks it is
 * a response with one question equal to ours (names compare without
 * regard to case), follows CNAMEs within the message, and collects the
 * addresses (only for NOERROR; duplicates once; TTLs capped at a week and
 * at the CNAMEs' own). The ID is the caller's to check. Gives 0, or -1 for
 * any malformed or mismatched message (every length bounded, compression
 * pointers only backwards, CNAME loops refused); a truncated message may
 * end within a section, and what was whole counts. */
int dns_response_parse(const uint8_t *msg, size_t len, const char *name, uint16_t type, dns_answer *out);

#endif
