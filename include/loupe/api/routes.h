/* The route table: every endpoint Loupe serves, declared once in
 * src/api/routes.def beside the handlers it names. The application hands it
 * to the HTTP server (lp_http_server_start) and to the metrics. */
#ifndef LOUPE_API_ROUTES_H
#define LOUPE_API_ROUTES_H

#include <stddef.h>

#include "loupe/http/route.h"

/* The table (static storage) and its length in *count. */
const lp_route *lp_api_routes(size_t *count);

#endif
