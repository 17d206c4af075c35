/* HTTP Range header parsing. See include/loupe/http/range.h. */
#include "loupe/http/range.h"

#include <stdlib.h>
#include <string.h>

int lp_http_range_parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
    char *end;
    unsigned long long a, b;
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    h += 6;
    while (*h == ' ')
        h++;
    if (*h == '-') {
        if (h[1] < '0' || h[1] > '9')
            return 0;
        b = strtoull(h + 1, &end, 10);
        if (*end)
            return 0;
        if (b == 0 || size == 0)
            return -1;
        *len = b > size ? size : b;
        *off = size - *len;
        return 1;
    }
    if (*h < '0' || *h > '9')
        return 0;
    a = strtoull(h, &end, 10);
    if (*end != '-')
        return 0;
    h = end + 1;
    if (*h == '\0') {
        b = size ? size - 1 : 0;
    } else {
        if (*h < '0' || *h > '9')
            return 0;
        b = strtoull(h, &end, 10);
        if (*end || b < a)
            return 0;
    }
    if (a >= size)
        return -1;
    if (b >= size)
        b = size - 1;
    *off = a;
    *len = b - a + 1;
    return 1;
}
