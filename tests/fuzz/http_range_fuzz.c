/* Fuzzes the Range header parser (src/http/range.c): any accepted range must
 * lie inside the representation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/http/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *h = malloc(size + 1);
    if (!h)
        return 0;
    memcpy(h, data, size);
    h[size] = '\0';
    static const uint64_t sizes[] = {0, 1, 1000, UINT64_MAX / 2};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t off, len;
        if (lp_http_range_parse(h, sizes[i], &off, &len) == 1 && (len == 0 || off >= sizes[i] || len > sizes[i] - off))
            abort();
    }
    free(h);
    return 0;
}
