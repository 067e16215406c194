/* What the tls layer remembers between connections: the trust anchors
 * (compiled-in roots plus the extra PEM given at setup) and the sessions
 * kept for resumption. */
#include "crypto/crypto.h"
#include "crypto/trust_anchors.h"
#include "tls/tls.h"
#include "tls/tls_internal.h"

#include <stdlib.h>
#include <string.h>

/* generated at build time from Debian's ca-certificates (mk/core.mk) */
extern const br_x509_trust_anchor tls_builtin_anchors[];
extern const size_t tls_builtin_anchors_len;

#define SESSION_CACHE_SIZE 32
#define ORIGIN_MAX 272

struct tls_anchor_set {
    br_x509_trust_anchor *all; /* the builtin ones (shared data), then the extras */
    size_t count;
    trust_anchor_list extras;  /* owns the extras' data */
    unsigned users;            /* handshakes, plus one while it is the current set */
};

static tls_anchor_set *current_set;
/* every extra PEM text given so far, each ended by a NUL */
static char *extra_pem;
static size_t extra_pem_len;

typedef struct {
    char origin[ORIGIN_MAX];
    br_ssl_session_parameters params;
    uint64_t last_used;
} session_entry;

static session_entry sessions[SESSION_CACHE_SIZE];
static uint64_t session_clock;

size_t tls_builtin_anchor_count(void)
{
    return tls_builtin_anchors_len;
}

static void anchor_set_free(tls_anchor_set *set)
{
    trust_anchors_free(&set->extras);
    free(set->all);
    free(set);
}

/* A set from the builtin anchors and every extra PEM text. */
static tls_anchor_set *anchor_set_build(void)
{
    tls_anchor_set *set = calloc(1, sizeof *set);
    if (!set) return NULL;
    for (size_t at = 0; at < extra_pem_len; at += strlen(extra_pem + at) + 1) {
        if (trust_anchors_add_pem(&set->extras, extra_pem + at, strlen(extra_pem + at)) < 0) {
            anchor_set_free(set);
            return NULL;
        }
    }
    set->count = tls_builtin_anchors_len + set->extras.count;
    set->all = malloc(set->count * sizeof *set->all);
    if (!set->all) {
        anchor_set_free(set);
        return NULL;
    }
    memcpy(set->all, tls_builtin_anchors, tls_builtin_anchors_len * sizeof *set->all);
    if (set->extras.count)
        memcpy(set->all + tls_builtin_anchors_len, set->extras.anchors, set->extras.count * sizeof *set->all);
    set->users = 1;
    return set;
}

static void replace_current_set(tls_anchor_set *set)
{
    if (current_set) tls_anchor_set_release(current_set);
    current_set = set;
}

tls_anchor_set *tls_anchor_set_acquire(void)
{
    if (!current_set) current_set = anchor_set_build();
    if (current_set) current_set->users++;
    return current_set;
}

void tls_anchor_set_release(tls_anchor_set *set)
{
    if (set && --set->users == 0) anchor_set_free(set);
}

const br_x509_trust_anchor *tls_anchor_set_anchors(const tls_anchor_set *set, size_t *count)
{
    *count = set->count;
    return set->all;
}

int tls_add_trust_anchors_pem(const char *pem, size_t len)
{
    trust_anchor_list check = {0};
    int added = trust_anchors_add_pem(&check, pem, len);
    trust_anchors_free(&check);
    if (added < 0) return -1;
    char *grown = realloc(extra_pem, extra_pem_len + len + 1);
    if (!grown) return -1;
    memcpy(grown + extra_pem_len, pem, len);
    grown[extra_pem_len + len] = '\0';
    extra_pem = grown;
    extra_pem_len += len + 1;
    /* built again on the next handshake */
    replace_current_set(NULL);
    return added;
}

void tls_reset(void)
{
    replace_current_set(NULL);
    free(extra_pem);
    extra_pem = NULL;
    extra_pem_len = 0;
    secure_zero(sessions, sizeof sessions);
}

static session_entry *session_entry_find(const char *origin)
{
    for (size_t i = 0; i < SESSION_CACHE_SIZE; i++)
        if (sessions[i].last_used && strcmp(sessions[i].origin, origin) == 0) return &sessions[i];
    return NULL;
}

bool tls_session_find(const char *origin, br_ssl_session_parameters *out)
{
    session_entry *e = session_entry_find(origin);
    if (!e) return false;
    e->last_used = ++session_clock;
    *out = e->params;
    return true;
}

void tls_session_store(const char *origin, const br_ssl_session_parameters *params)
{
    if (strlen(origin) >= ORIGIN_MAX) return;
    session_entry *e = session_entry_find(origin);
    if (!e) {
        /* an empty entry (last_used 0), else the least recently used */
        e = &sessions[0];
        for (size_t i = 1; i < SESSION_CACHE_SIZE; i++)
            if (sessions[i].last_used < e->last_used) e = &sessions[i];
    }
    strcpy(e->origin, origin);
    e->params = *params;
    e->last_used = ++session_clock;
}

void tls_session_forget(const char *origin)
{
    session_entry *e = session_entry_find(origin);
    if (e) secure_zero(e, sizeof *e);
}
