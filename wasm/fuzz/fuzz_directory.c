/* The directory's answers come from a server the client does not control:
 * every reader must take any text without harm, and what it keeps must
 * make a topology or be refused. */
#include "tunnel/tunnel.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so ASan sees any read past the end */
    char *json = malloc(size ? size : 1);
    if (!json) return 0;
    memcpy(json, data, size);
    directory d;
    directory_init(&d);
    (void)directory_add_skimmed(&d, json, size);
    (void)directory_set_rewarded_set(&d, json, size);
    if (directory_build_topology(&d) == 0) (void)directory_choose_gateway(&d, size & 1);
    directory_ipr_choice choice = {0};
    (void)directory_choose_ipr(&d, json, size, &choice);
    uint32_t version[3];
    (void)directory_build_version(json, size, (const uint8_t[32]){0}, version);
    directory_free(&d);
    free(json);
    return 0;
}
