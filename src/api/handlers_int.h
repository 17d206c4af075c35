/* Prototypes of every route handler, generated from routes.def (private to
 * src/api: the rest of the program reaches handlers only through the route
 * table, loupe/api/routes.h). */
#ifndef LOUPE_API_HANDLERS_INT_H
#define LOUPE_API_HANDLERS_INT_H

#include "loupe/http/route.h"

#define LP_ROUTE(method, pattern, handler, perm, body) int handler(lp_req *req);
#include "routes.def"
#undef LP_ROUTE

#endif
