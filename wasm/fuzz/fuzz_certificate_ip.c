/* The iPAddress check reads the leaf certificate a server sent: any bytes
 * must give an answer without reading outside them. */
#include "tls/tls.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so ASan sees any read past the end */
    uint8_t *der = malloc(size ? size : 1);
    if (!der) return 0;
    memcpy(der, data, size);
    (void)tls_certificate_names_ipv4(der, size, (const uint8_t[]){192, 0, 2, 10});
    free(der);
    return 0;
}
