/* Sphinx packets from the published client, hop by hop (data in sphinx_vectors.c). */
#ifndef MIX_TEST_SPHINX_VECTORS_H
#define MIX_TEST_SPHINX_VECTORS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int node; /* index into the node key tables */
    uint16_t version;
    const char *shared_secret;   /* NULL where the capture did not record it */
    const char *expanded_secret;
    const char *replay_tag;
    const char *next_address;    /* forward hops */
    uint64_t delay_ns;
    const char *destination;     /* the final hop */
    const char *output_packet;   /* the packet the next hop received, where recorded */
    const char *recovered_plaintext;
} sphinx_vector_hop;

typedef struct {
    const char *name;
    const char *packet;
    const sphinx_vector_hop *hops; /* 4 hops */
} sphinx_vector_packet;

extern const char *const SPHINX_VECTOR_NODE_SECRETS[4];
extern const char *const SPHINX_VECTOR_NODE_PUBLICS[4];
extern const sphinx_vector_packet SPHINX_VECTOR_PACKETS[4];

#endif
