/* Prototypes of every route handler, generated from src/http/routes.def. */
#ifndef LOUPE_API_HANDLERS_H
#define LOUPE_API_HANDLERS_H

#include "loupe/http/route.h"

#define LP_ROUTE(method, pattern, handler, perm, body) int handler(lp_req *req);
#include "http/routes.def"
#undef LP_ROUTE

#endif
