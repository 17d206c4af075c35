/* Conditional requests: matching an entity tag against If-None-Match and
 * If-Match (RFC 9110 §8.8.3, §13.1.1, §13.1.2). */
#ifndef LOUPE_HTTP_ETAG_H
#define LOUPE_HTTP_ETAG_H

#include "loupe/http/request.h"

/* How two entity tags compare (RFC 9110 §8.8.3.2). */
typedef enum lp_etag_compare {
    LP_ETAG_WEAK = 0,  /* the opaque tags are equal; W/ does not matter (If-None-Match) */
    LP_ETAG_STRONG     /* both strong and equal (If-Match) */
} lp_etag_compare;

/* 1 if the field value list — "*" or a comma-separated list of entity tags,
 * each "\"opaque\"" or "W/\"opaque\"" — matches etag (itself a complete
 * entity tag, borrowed) under cmp; "*" matches any current representation.
 * A NULL, empty or malformed list matches nothing (0). */
int lp_etag_list_match(const char *list, const char *etag, lp_etag_compare cmp);

/* 1 if req's header field (LP_ETAG_WEAK for "If-None-Match", LP_ETAG_STRONG
 * for "If-Match", whatever the case of the name) is present and matches etag;
 * 0 otherwise. */
int lp_req_etag_match(lp_req *req, const char *field, const char *etag);

#endif
