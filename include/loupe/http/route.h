/* The route table's row and the router.
 *
 * The application declares its routes once, in a table of these rows (Loupe's
 * is src/api/routes.def, see loupe/api/routes.h):
 *   LP_ROUTE(METHOD, "/api/v1/items/{id}", handler, PERM, BODY)
 * A last segment "{name*}" matches the rest of the path, slashes included
 * (e.g. "/files/{key*}"). A route whose pattern is only "/{name*}" is the
 * fallback: it is chosen only for a path that no other route matches with any
 * method (louped serves the web app this way, so 405 answers are unchanged).
 * METHOD: GET POST PUT PATCH DELETE HEAD; PERM: lp_perm without the prefix
 * (PUBLIC, READ, ANNOTATE, REVIEW, MANAGE, OWNER); BODY: NONE, JSON (limit
 * http_body_limit), BULK (http_bulk_body_limit) or STREAM (upload_max_bytes,
 * handed to the handler in chunks). Anything not declared answers 404 (or 405
 * when the path exists with another method) — deny by default. */
#ifndef LOUPE_HTTP_ROUTE_H
#define LOUPE_HTTP_ROUTE_H

#include <stddef.h>

#include "loupe/http/request.h"

typedef int (*lp_handler)(lp_req *req);

typedef enum lp_body_kind { LP_BODY_NONE = 0, LP_BODY_JSON, LP_BODY_BULK, LP_BODY_STREAM } lp_body_kind;

#define LP_ROUTE_MAX_PARAMS 8

struct lp_route {
    const char *method;
    const char *pattern;   /* segments; "{name}" matches one non-empty segment */
    lp_handler handler;
    lp_perm perm;
    lp_body_kind body;
    const char *name;      /* "GET /api/v1/items/{id}", used as the metrics label */
};

typedef struct lp_route_match {
    const lp_route *route;
    size_t nparams;
    const char *names[LP_ROUTE_MAX_PARAMS];  /* borrowed from the pattern (not NUL-terminated at '}') */
    size_t name_lens[LP_ROUTE_MAX_PARAMS];
    const char *values[LP_ROUTE_MAX_PARAMS]; /* borrowed from the path */
    size_t value_lens[LP_ROUTE_MAX_PARAMS];
} lp_route_match;

typedef enum lp_route_result { LP_ROUTE_FOUND = 0, LP_ROUTE_NO_PATH, LP_ROUTE_NO_METHOD } lp_route_result;

/* Matches method and path (without query) against routes[0..n). On FOUND,
 * *m holds the route and its parameters. HEAD matches GET routes. On
 * NO_METHOD, allow (if not NULL) receives "GET, POST" style text. */
lp_route_result lp_route_match_path(const lp_route *routes, size_t n, const char *method, const char *path,
                                    lp_route_match *m, char *allow, size_t allow_cap);

#endif
