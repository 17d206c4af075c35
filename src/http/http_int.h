/* Internals shared by the files of src/http (server.c, request.c). */
#ifndef LOUPE_HTTP_INT_H
#define LOUPE_HTTP_INT_H

#include <microhttpd.h>

#include "loupe/core/buf.h"
#include "loupe/http/route.h"
#include "loupe/http/server.h"

typedef struct res_header {
    const char *name, *value; /* arena */
    struct res_header *next;
} res_header;

struct lp_req_internal {
    struct MHD_Connection *conn;
    lp_http_server *srv;
    lp_route_match match;
    const char *params[LP_ROUTE_MAX_PARAMS]; /* match's values, NUL-terminated (arena) */
    lp_buf body;               /* JSON/BULK bodies, bounded by the route's limit */
    size_t body_limit;
    uint64_t bytes_in;
    int failed;                /* req->err holds the reason */
    int close;                 /* the connection closes after the answer */
    int64_t start_us;
    struct MHD_Response *response;
    int status;
    res_header *headers;
    json_t *json;              /* parsed body, released at completion */
    int has_sink;              /* BODY_STREAM: the handler registered a sink */
    lp_body_sink sink;
    struct lp_db *db;          /* lp_req_db's connection; released at the end of the handler's turn */
    struct lp_db *db_read;     /* lp_req_db_read's replica connection (NULL: none, or the primary's above) */
    int (*suspend_start)(lp_req *req, void *cls); /* lp_req_suspend's, until the server calls it */
    void *suspend_cls;
    int suspended;             /* suspended, or resumed and not yet answered (the HTTP thread's) */
};

/* MHD_OPTION_UNESCAPE_CALLBACK: decodes %XX in place except %00, which stays
 * as it is so a NUL never cuts a path or a query value short. Returns the new
 * length. */
size_t lp_http_unescape(void *cls, struct MHD_Connection *conn, char *s);

#endif
