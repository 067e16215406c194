/* The native platform's TLS: BearSSL client engines and the trust anchors
 * they check servers against. */
#include "crypto/trust_anchors.h"
#include "platform/platform.h"
#include "platform/posix/net.h"

#include <stdio.h>
#include <stdlib.h>

#define SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
/* far above any CA bundle: a file this large is not one */
#define CA_FILE_MAX (16u << 20)

/* Engines keep a pointer to their anchors until freed, so a set stays
 * alive while any engine uses it, after being replaced too. */
typedef struct {
    trust_anchor_list list;
    unsigned users;
} anchor_set;

static anchor_set *current_anchors;

struct net_tls {
    br_ssl_client_context client;
    br_x509_minimal_context x509;
    anchor_set *anchors;
    unsigned char buffer[BR_SSL_BUFSIZE_BIDI];
};

static void anchor_set_free(anchor_set *set)
{
    trust_anchors_free(&set->list);
    free(set);
}

static char *read_ca_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    char *text = size >= 0 && size <= CA_FILE_MAX && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)size + 1) : NULL;
    if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        text = NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return text;
}

/* The system's CA file, on first use; without it, every server is untrusted. */
static anchor_set *load_system_anchors(void)
{
    anchor_set *set = calloc(1, sizeof *set);
    if (!set) return NULL;
    size_t len;
    char *pem = read_ca_file(SYSTEM_CA_FILE, &len);
    if (!pem || trust_anchors_add_pem(&set->list, pem, len) < 0)
        platform_log("tls: no usable " SYSTEM_CA_FILE ": no server will be trusted");
    free(pem);
    return set;
}

int platform_set_trust_anchors_pem(const char *pem, size_t len)
{
    anchor_set *set = calloc(1, sizeof *set);
    if (!set) return -1;
    if (trust_anchors_add_pem(&set->list, pem, len) <= 0) {
        anchor_set_free(set);
        return -1;
    }
    if (current_anchors && current_anchors->users == 0) anchor_set_free(current_anchors);
    current_anchors = set;
    return 0;
}

static anchor_set *anchors_acquire(void)
{
    if (!current_anchors) current_anchors = load_system_anchors();
    if (current_anchors) current_anchors->users++;
    return current_anchors;
}

static void anchors_release(anchor_set *set)
{
    if (--set->users == 0 && set != current_anchors) anchor_set_free(set);
}

/* Forward secrecy and AEAD only. */
static const uint16_t cipher_suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};

/* BearSSL counts days from 1 January of year 0 (proleptic Gregorian);
 * the Unix epoch is day 719528. */
#define UNIX_EPOCH_DAY 719528u

net_tls *net_tls_new(const char *server_name, char *error, size_t error_cap)
{
    net_tls *tls = malloc(sizeof *tls);
    anchor_set *anchors = tls ? anchors_acquire() : NULL;
    if (!anchors) {
        free(tls);
        snprintf(error, error_cap, "TLS: out of memory");
        return NULL;
    }
    tls->anchors = anchors;
    br_ssl_client_init_full(&tls->client, &tls->x509, anchors->list.anchors, anchors->list.count);
    br_ssl_engine_context *engine = &tls->client.eng;
    br_ssl_engine_set_versions(engine, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_suites(engine, cipher_suites, sizeof cipher_suites / sizeof cipher_suites[0]);
    uint64_t now = platform_unix_time_s();
    br_x509_minimal_set_time(&tls->x509, (uint32_t)(now / 86400 + UNIX_EPOCH_DAY), (uint32_t)(now % 86400));
    br_ssl_engine_set_buffer(engine, tls->buffer, sizeof tls->buffer, 1);
    /* the build leaves BearSSL without a system random source: seed it here */
    uint8_t seed[32];
    platform_random_bytes(seed, sizeof seed);
    br_ssl_engine_inject_entropy(engine, seed, sizeof seed);
    /* the name goes into SNI and is what the certificate must match */
    if (!br_ssl_client_reset(&tls->client, server_name, 0)) {
        net_tls_describe_error(error, error_cap, br_ssl_engine_last_error(engine));
        net_tls_free(tls);
        return NULL;
    }
    return tls;
}

br_ssl_engine_context *net_tls_engine(net_tls *tls)
{
    return &tls->client.eng;
}

void net_tls_free(net_tls *tls)
{
    if (!tls) return;
    anchors_release(tls->anchors);
    free(tls);
}

void net_tls_describe_error(char *out, size_t cap, int err)
{
    switch (err) {
    case BR_ERR_X509_NOT_TRUSTED:
        snprintf(out, cap, "TLS: certificate not trusted");
        break;
    case BR_ERR_X509_BAD_SERVER_NAME:
        snprintf(out, cap, "TLS: certificate does not match the host name");
        break;
    case BR_ERR_X509_EXPIRED:
        snprintf(out, cap, "TLS: certificate expired or not yet valid");
        break;
    default:
        if (err >= BR_ERR_SEND_FATAL_ALERT)
            snprintf(out, cap, "TLS: sent alert %d", err - BR_ERR_SEND_FATAL_ALERT);
        else if (err >= BR_ERR_RECV_FATAL_ALERT)
            snprintf(out, cap, "TLS: received alert %d", err - BR_ERR_RECV_FATAL_ALERT);
        else
            snprintf(out, cap, "TLS: failed (BearSSL error %d)", err);
    }
}
