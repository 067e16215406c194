/* Shared between the tls layer's files; not part of its interface. */
#ifndef MIX_TLS_INTERNAL_H
#define MIX_TLS_INTERNAL_H

#include <bearssl.h>
#include <stdbool.h>
#include <stddef.h>

/* The anchors a handshake checks against: the compiled-in roots and the
 * extra ones. A handshake holds its set until it ends, so adding anchors
 * meanwhile changes nothing under it. */
typedef struct tls_anchor_set tls_anchor_set;
/* The current set, with one more user; NULL when out of memory. */
tls_anchor_set *tls_anchor_set_acquire(void);
void tls_anchor_set_release(tls_anchor_set *set);
const br_x509_trust_anchor *tls_anchor_set_anchors(const tls_anchor_set *set, size_t *count);

/* Sessions for resumption, by origin ("name:port"). */
bool tls_session_find(const char *origin, br_ssl_session_parameters *out);
void tls_session_store(const char *origin, const br_ssl_session_parameters *params);
void tls_session_forget(const char *origin);

#endif
