/* The resolver: lookups, the queries they wait for, and the cache.
 *
 * A lookup waits for up to two parts (A and AAAA), each answered by the
 * cache, a literal, or a query: one per name and type in flight, shared by
 * every lookup that wants it. Queries go out from a timer of zero delay
 * (so that no callback runs inside a dns call), and finished lookups are
 * delivered once the state is consistent again, each after being unlinked,
 * so a callback may do anything, including starting or cancelling lookups. */
#include "dns/dns.h"
#include "platform/platform.h"

#include <stdlib.h>
#include <string.h>

/* lwIP has 16 UDP sockets in all (lwipopts.h); later queries wait */
#define MAX_QUERY_SOCKETS 8
/* sends of one query whose late answers still count */
#define SENDS_REMEMBERED 8
#define LITERAL_TTL UINT32_MAX

enum { PART_A, PART_AAAA, PART_COUNT };

static const uint16_t part_types[PART_COUNT] = {DNS_TYPE_A, DNS_TYPE_AAAA};

typedef struct dns_query dns_query;

typedef struct {
    bool wanted, done;
    dns_query *query; /* while waiting for one */
    int error;
    dns_address addresses[DNS_MAX_ADDRESSES];
    size_t count;
} lookup_part;

struct dns_lookup {
    dns_callback callback;
    void *ctx;
    lookup_part parts[PART_COUNT];
    dns_lookup *next;
};

struct dns_query {
    char name[DNS_MAX_NAME_LEN + 1]; /* lower case, no final dot */
    uint16_t type;
    dns_config config; /* as when it started */
    net_udp *socket;   /* NULL until it has one */
    size_t server;
    uint32_t attempt;
    struct {
        uint16_t id;
        size_t server;
    } sends[SENDS_REMEMBERED]; /* a ring of the last sends */
    size_t send_count;
    uint32_t timer;
    bool server_failed; /* some server failed other than by silence */
    dns_query *next;
};

typedef struct cache_entry {
    struct cache_entry *next; /* newest first */
    char name[DNS_MAX_NAME_LEN + 1];
    uint16_t type;
    int error; /* 0, DNS_ERR_NXDOMAIN or DNS_ERR_NO_ADDRESS */
    uint64_t stored_ms, expires_ms;
    size_t count;
    dns_address addresses[];
} cache_entry;

static struct {
    dns_config config;
    bool configured;
    dns_lookup *lookups; /* in the order they started, which is the order of delivery */
    dns_query *queries;  /* in the order they started */
    size_t sockets_open;
    cache_entry *cache;
    size_t cache_count;
    uint32_t pump_timer;
} dns;

const char *dns_error_text(int error)
{
    switch (error) {
    case DNS_ERR_INVALID_NAME:
        return "not a valid host name";
    case DNS_ERR_NXDOMAIN:
        return "the name does not exist";
    case DNS_ERR_NO_ADDRESS:
        return "the name has no address of the kind asked for";
    case DNS_ERR_SERVFAIL:
        return "the DNS servers failed to answer";
    case DNS_ERR_TIMEOUT:
        return "no DNS server answered in time";
    case DNS_ERR_NETWORK:
        return "the tunnel is down";
    case DNS_ERR_NO_MEMORY:
        return "out of memory";
    default:
        return net_error_text(error);
    }
}

void dns_config_default(dns_config *c)
{
    memset(c, 0, sizeof *c);
    c->servers[0] = (net_ipv4){{8, 8, 8, 8}};
    c->servers[1] = (net_ipv4){{1, 1, 1, 1}};
    c->server_count = 2;
    c->port = 53;
    c->attempt_timeout_ms = 3000;
    c->attempts = 2;
    c->cache_entries = 256;
}

static const dns_config *config_current(void)
{
    if (!dns.configured) {
        dns_config_default(&dns.config);
        dns.configured = true;
    }
    return &dns.config;
}

/* ---- the cache ---- */

static void cache_trim(size_t max_entries)
{
    cache_entry **link = &dns.cache;
    for (size_t kept = 0; *link && kept < max_entries; kept++) link = &(*link)->next;
    while (*link) {
        cache_entry *gone = *link;
        *link = gone->next;
        free(gone);
        dns.cache_count--;
    }
}

void dns_cache_clear(void)
{
    cache_trim(0);
}

static cache_entry **cache_find(const char *name, uint16_t type)
{
    uint64_t now = platform_monotonic_ms();
    for (cache_entry **link = &dns.cache; *link;) {
        cache_entry *e = *link;
        if (now >= e->expires_ms) {
            *link = e->next;
            free(e);
            dns.cache_count--;
        } else if (e->type == type && strcmp(e->name, name) == 0) {
            return link;
        } else {
            link = &e->next;
        }
    }
    return NULL;
}

/* Keeps an outcome for ttl seconds; each address keeps its own TTL, but
 * the entry goes when the first of them runs out. */
static void cache_store(const char *name, uint16_t type, int error, const dns_address *addresses, size_t count,
                        uint32_t ttl)
{
    size_t max_entries = config_current()->cache_entries;
    if (ttl == 0 || max_entries == 0) return;
    cache_entry **old = cache_find(name, type);
    if (old) {
        cache_entry *gone = *old;
        *old = gone->next;
        free(gone);
        dns.cache_count--;
    }
    cache_entry *e = malloc(sizeof *e + count * sizeof e->addresses[0]);
    if (!e) return;
    memcpy(e->name, name, strlen(name) + 1);
    e->type = type;
    e->error = error;
    e->stored_ms = platform_monotonic_ms();
    e->expires_ms = e->stored_ms + (uint64_t)ttl * 1000;
    e->count = count;
    if (count) memcpy(e->addresses, addresses, count * sizeof e->addresses[0]);
    e->next = dns.cache;
    dns.cache = e;
    dns.cache_count++;
    cache_trim(max_entries);
}

/* Answers a part from the cache; false when nothing fresh is kept. */
static bool cache_answer(const char *name, lookup_part *part, uint16_t type)
{
    cache_entry **link = cache_find(name, type);
    if (!link) return false;
    const cache_entry *e = *link;
    uint32_t elapsed_s = (uint32_t)((platform_monotonic_ms() - e->stored_ms) / 1000);
    part->done = true;
    part->error = e->error;
    part->count = e->count;
    for (size_t i = 0; i < e->count; i++) {
        part->addresses[i] = e->addresses[i];
        part->addresses[i].ttl = e->addresses[i].ttl > elapsed_s ? e->addresses[i].ttl - elapsed_s : 0;
    }
    return true;
}

/* ---- lookups ---- */

static void lookup_unlink(dns_lookup *lookup)
{
    for (dns_lookup **link = &dns.lookups; *link; link = &(*link)->next) {
        if (*link == lookup) {
            *link = lookup->next;
            return;
        }
    }
}

static bool lookup_complete(const dns_lookup *lookup)
{
    for (int i = 0; i < PART_COUNT; i++)
        if (lookup->parts[i].wanted && !lookup->parts[i].done) return false;
    return true;
}

/* A failure (the servers, the network) before a definite answer, since
 * asking again later may still find addresses; NXDOMAIN before an empty
 * answer. */
static int error_rank(int error)
{
    return error == DNS_ERR_NO_ADDRESS ? 0 : error == DNS_ERR_NXDOMAIN ? 1 : 2;
}

static void lookup_deliver(dns_lookup *lookup)
{
    dns_address all[DNS_MAX_ADDRESSES];
    size_t count = 0;
    int error = 0;
    for (int i = 0; i < PART_COUNT; i++) {
        const lookup_part *part = &lookup->parts[i];
        if (!part->wanted) continue;
        for (size_t j = 0; j < part->count && count < DNS_MAX_ADDRESSES; j++) all[count++] = part->addresses[j];
        int part_error = part->error ? part->error : part->count ? 0 : DNS_ERR_NO_ADDRESS;
        if (part_error && (!error || error_rank(part_error) > error_rank(error))) error = part_error;
    }
    if (count) error = 0;
    lookup->callback(lookup->ctx, error, count ? all : NULL, count);
}

/* Delivers every complete lookup, one at a time: a callback may change
 * the list. */
static void lookups_deliver_complete(void)
{
    for (;;) {
        dns_lookup *lookup = dns.lookups;
        while (lookup && !lookup_complete(lookup)) lookup = lookup->next;
        if (!lookup) return;
        lookup_unlink(lookup);
        lookup_deliver(lookup);
        free(lookup);
    }
}

/* ---- queries ---- */

static void query_free(dns_query *q)
{
    for (dns_query **link = &dns.queries; *link; link = &(*link)->next) {
        if (*link == q) {
            *link = q->next;
            break;
        }
    }
    platform_timer_cancel(q->timer);
    if (q->socket) {
        net_udp_close(q->socket);
        dns.sockets_open--;
    }
    free(q);
}

/* Hands the outcome to every lookup waiting for q, then frees it. */
static void query_finish(dns_query *q, int error, const dns_answer *answer)
{
    for (dns_lookup *lookup = dns.lookups; lookup; lookup = lookup->next) {
        for (int i = 0; i < PART_COUNT; i++) {
            lookup_part *part = &lookup->parts[i];
            if (part->query != q) continue;
            part->query = NULL;
            part->done = true;
            part->error = error;
            part->count = answer ? answer->count : 0;
            if (part->count) memcpy(part->addresses, answer->addresses, part->count * sizeof part->addresses[0]);
        }
    }
    query_free(q);
}

static void query_send(dns_query *q);
static void settle(void);

/* The current server failed other than by silence, or stayed silent for
 * every attempt: on to the next one. */
static void query_next_server(dns_query *q)
{
    q->server++;
    q->attempt = 0;
    if (q->server < q->config.server_count)
        query_send(q);
    else
        query_finish(q, q->server_failed ? DNS_ERR_SERVFAIL : DNS_ERR_TIMEOUT, NULL);
}

static void query_on_timeout(void *ctx)
{
    dns_query *q = ctx;
    q->timer = 0;
    if (++q->attempt < q->config.attempts)
        query_send(q);
    else
        query_next_server(q);
    settle();
}

static void query_send(dns_query *q)
{
    uint8_t message[DNS_MAX_UDP_MESSAGE];
    uint16_t id;
    platform_random_bytes((uint8_t *)&id, sizeof id);
    int len = dns_query_write(message, sizeof message, id, q->name, q->type);
    q->sends[q->send_count % SENDS_REMEMBERED].id = id;
    q->sends[q->send_count % SENDS_REMEMBERED].server = q->server;
    q->send_count++;
    platform_timer_cancel(q->timer);
    q->timer = platform_timer_start(q->config.attempt_timeout_ms, query_on_timeout, q);
    if (!q->timer) {
        query_finish(q, DNS_ERR_NO_MEMORY, NULL);
        return;
    }
    /* the name was checked when the lookup started, so len > 0 */
    int sent = net_udp_send_to(q->socket, q->config.servers[q->server], q->config.port, message, (size_t)len);
    if (sent == NET_ERR_NETWORK_DOWN) {
        query_finish(q, DNS_ERR_NETWORK, NULL);
    } else if (sent == NET_ERR_INVALID) {
        /* an address the stack will not send to (loopback, multicast) */
        q->server_failed = true;
        query_next_server(q);
    }
    /* any other error is a lost datagram: the timeout follows */
}

static bool query_sent_this(const dns_query *q, net_ipv4 from, uint16_t id, size_t *server)
{
    size_t remembered = q->send_count < SENDS_REMEMBERED ? q->send_count : SENDS_REMEMBERED;
    for (size_t i = 0; i < remembered; i++) {
        size_t s = q->sends[i].server;
        if (q->sends[i].id == id && memcmp(q->config.servers[s].octets, from.octets, 4) == 0) {
            *server = s;
            return true;
        }
    }
    return false;
}

static void query_on_datagram(void *ctx, net_ipv4 from, uint16_t from_port, const uint8_t *data, size_t len)
{
    dns_query *q = ctx;
    size_t server;
    if (from_port != q->config.port || len < 2 || !query_sent_this(q, from, (uint16_t)(data[0] << 8 | data[1]), &server))
        return;
    dns_answer answer;
    bool parsed = dns_response_parse(data, len, q->name, q->type, &answer) == 0;
    if (parsed && answer.rcode == DNS_RCODE_NOERROR && answer.count > 0) {
        uint32_t ttl = UINT32_MAX;
        for (size_t i = 0; i < answer.count; i++)
            if (answer.addresses[i].ttl < ttl) ttl = answer.addresses[i].ttl;
        if (!answer.truncated) cache_store(q->name, q->type, 0, answer.addresses, answer.count, ttl);
        query_finish(q, 0, &answer);
    } else if (parsed && !answer.truncated &&
               (answer.rcode == DNS_RCODE_NXDOMAIN || answer.rcode == DNS_RCODE_NOERROR)) {
        int error = answer.rcode == DNS_RCODE_NXDOMAIN ? DNS_ERR_NXDOMAIN : DNS_ERR_NO_ADDRESS;
        cache_store(q->name, q->type, error, NULL, 0, answer.negative_ttl);
        query_finish(q, error, NULL);
    } else {
        /* SERVFAIL, REFUSED, a truncated answer without addresses, or a
         * bad one; a late one from a server already given up changes nothing */
        q->server_failed = true;
        if (server == q->server) query_next_server(q);
    }
    settle();
}

/* Gives waiting queries their sockets and first sends. */
static void queries_start(void)
{
    dns_query *next;
    for (dns_query *q = dns.queries; q && dns.sockets_open < MAX_QUERY_SOCKETS; q = next) {
        next = q->next;
        if (q->socket) continue;
        int error;
        q->socket = net_udp_open(query_on_datagram, q, &error);
        if (q->socket) {
            dns.sockets_open++;
            query_send(q);
        } else if (error == NET_ERR_NO_BUFFERS && dns.sockets_open > 0) {
            return; /* another query's socket comes free later */
        } else {
            query_finish(q, error == NET_ERR_NO_BUFFERS ? DNS_ERR_NO_MEMORY : DNS_ERR_NETWORK, NULL);
        }
    }
}

/* After anything in the event loop: a finished query frees a socket for
 * a waiting one, and lookups it completed get their answers. */
static void settle(void)
{
    queries_start();
    lookups_deliver_complete();
}

static void on_pump(void *ctx)
{
    (void)ctx;
    dns.pump_timer = 0;
    settle();
}

static bool pump_arm(void)
{
    if (!dns.pump_timer) dns.pump_timer = platform_timer_start(0, on_pump, NULL);
    return dns.pump_timer != 0;
}

/* The query for name and type already under way, or a new one waiting. */
static dns_query *query_for(const char *name, uint16_t type)
{
    dns_query **link = &dns.queries;
    for (; *link; link = &(*link)->next)
        if ((*link)->type == type && strcmp((*link)->name, name) == 0) return *link;
    dns_query *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    memcpy(q->name, name, strlen(name) + 1);
    q->type = type;
    q->config = *config_current();
    *link = q;
    return q;
}

static bool query_has_waiters(const dns_query *q)
{
    for (const dns_lookup *lookup = dns.lookups; lookup; lookup = lookup->next)
        for (int i = 0; i < PART_COUNT; i++)
            if (lookup->parts[i].query == q) return true;
    return false;
}

/* ---- literals ---- */

static int digit_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four decimal numbers up to 255, without leading zeros. */
static bool ipv4_parse(const char *s, size_t len, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0 && (i >= len || s[i++] != '.')) return false;
        size_t start = i;
        unsigned value = 0;
        while (i < len && i - start < 3 && digit_value(s[i]) >= 0 && digit_value(s[i]) < 10)
            value = value * 10 + (unsigned)(s[i++] - '0');
        if (i == start || value > 255 || (s[start] == '0' && i - start > 1)) return false;
        out[part] = (uint8_t)value;
    }
    return i == len;
}

/* RFC 4291 §2.2: eight groups of up to four hex digits, one "::" for a
 * run of zero groups, and the last two may be written as IPv4. */
static bool ipv6_parse(const char *s, size_t len, uint8_t out[16])
{
    uint16_t groups[8];
    int count = 0, gap = -1;
    size_t i = 0;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    }
    while (i < len) {
        size_t start = i;
        unsigned value = 0;
        while (i < len && i - start < 5 && digit_value(s[i]) >= 0) value = value * 16 + (unsigned)digit_value(s[i++]);
        if (i < len && s[i] == '.') {
            uint8_t v4[4];
            if (count > 6 || !ipv4_parse(s + start, len - start, v4)) return false;
            groups[count++] = (uint16_t)(v4[0] << 8 | v4[1]);
            groups[count++] = (uint16_t)(v4[2] << 8 | v4[3]);
            break;
        }
        if (i == start || i - start > 4 || count == 8) return false;
        groups[count++] = (uint16_t)value;
        if (i == len) break;
        if (s[i++] != ':' || i == len) return false;
        if (s[i] == ':') {
            if (gap >= 0) return false;
            gap = count;
            i++;
        }
    }
    if (gap < 0 ? count != 8 : count > 7) return false;
    int zeros = 8 - count;
    for (int g = 0, from = 0; g < 8; g++) {
        bool in_gap = gap >= 0 && g >= gap && g < gap + zeros;
        uint16_t v = in_gap ? 0 : groups[from++];
        out[2 * g] = (uint8_t)(v >> 8);
        out[2 * g + 1] = (uint8_t)v;
    }
    return true;
}

/* Whether name is an address literal; *address gets it. */
static bool literal_parse(const char *name, size_t len, dns_address *address)
{
    memset(address, 0, sizeof *address);
    address->ttl = LITERAL_TTL;
    if (len >= 2 && name[0] == '[' && name[len - 1] == ']') {
        address->family = 6;
        return ipv6_parse(name + 1, len - 2, address->octets);
    }
    address->family = 4;
    if (ipv4_parse(name, len, address->octets)) return true;
    address->family = 6;
    return ipv6_parse(name, len, address->octets);
}

/* ---- the interface ---- */

int dns_configure(const dns_config *c)
{
    if (!c || c->server_count == 0 || c->server_count > DNS_MAX_SERVERS || c->port == 0 || c->attempts == 0 ||
        c->attempt_timeout_ms == 0)
        return NET_ERR_INVALID;
    dns.config = *c;
    dns.configured = true;
    cache_trim(c->cache_entries);
    return NET_OK;
}

/* Lower case, without the final dot: the key of queries and the cache. */
static void name_normalize(char out[DNS_MAX_NAME_LEN + 1], const char *name, size_t len)
{
    if (len > 0 && name[len - 1] == '.') len--;
    for (size_t i = 0; i < len; i++) out[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] + 32) : name[i];
    out[len] = '\0';
}

static dns_lookup *resolve_fail(dns_lookup *lookup, int *error, int code)
{
    if (lookup) dns_cancel(lookup);
    if (error) *error = code;
    return NULL;
}

dns_lookup *dns_resolve(const char *name, unsigned want, dns_callback callback, void *ctx, int *error)
{
    if (!name || !callback || want == 0 || (want & ~(DNS_WANT_A | DNS_WANT_AAAA)))
        return resolve_fail(NULL, error, NET_ERR_INVALID);
    size_t len = 0;
    while (len <= DNS_MAX_NAME_LEN + 2 && name[len]) len++;
    dns_address literal;
    bool is_literal = literal_parse(name, len, &literal);
    uint8_t scratch[DNS_MAX_UDP_MESSAGE];
    if (!is_literal && dns_query_write(scratch, sizeof scratch, 0, name, DNS_TYPE_A) < 0)
        return resolve_fail(NULL, error, DNS_ERR_INVALID_NAME);

    dns_lookup *lookup = calloc(1, sizeof *lookup);
    if (!lookup) return resolve_fail(NULL, error, DNS_ERR_NO_MEMORY);
    lookup->callback = callback;
    lookup->ctx = ctx;
    dns_lookup **tail = &dns.lookups;
    while (*tail) tail = &(*tail)->next;
    *tail = lookup;
    char key[DNS_MAX_NAME_LEN + 1];
    if (!is_literal) name_normalize(key, name, len);
    for (int i = 0; i < PART_COUNT; i++) {
        lookup_part *part = &lookup->parts[i];
        part->wanted = want & (i == PART_A ? DNS_WANT_A : DNS_WANT_AAAA);
        if (!part->wanted) continue;
        if (is_literal) {
            part->done = true;
            part->count = literal.family == (i == PART_A ? 4 : 6);
            part->addresses[0] = literal;
        } else if (!cache_answer(key, part, part_types[i])) {
            part->query = query_for(key, part_types[i]);
            if (!part->query) return resolve_fail(lookup, error, DNS_ERR_NO_MEMORY);
        }
    }
    if (!pump_arm()) return resolve_fail(lookup, error, DNS_ERR_NO_MEMORY);
    if (error) *error = 0;
    return lookup;
}

void dns_cancel(dns_lookup *lookup)
{
    if (!lookup) return;
    lookup_unlink(lookup);
    for (int i = 0; i < PART_COUNT; i++) {
        dns_query *q = lookup->parts[i].query;
        if (q && !query_has_waiters(q)) {
            bool had_socket = q->socket != NULL;
            query_free(q);
            /* its socket may let a waiting query start */
            if (had_socket) pump_arm();
        }
    }
    free(lookup);
}
