/* The HTTP Range request header (RFC 9110 §14), for serving files. */
#ifndef LOUPE_HTTP_RANGE_H
#define LOUPE_HTTP_RANGE_H

#include <stdint.h>

/* Parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" range against a
 * representation of size bytes. Returns 1 with [*off, *off + *len) set; 0
 * when the header should be ignored (absent, several ranges, another unit,
 * malformed); -1 when the range cannot be satisfied (answer 416). */
int lp_http_range_parse(const char *header, uint64_t size, uint64_t *off, uint64_t *len);

#endif
