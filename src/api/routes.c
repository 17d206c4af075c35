/* The route table, built from routes.def. See loupe/api/routes.h. */
#include "loupe/api/routes.h"

#include "handlers_int.h"

#define LP_ROUTE(m, pat, fn, perm_, body_) \
    {.method = #m, .pattern = pat, .handler = fn, .perm = LP_PERM_##perm_, .body = LP_BODY_##body_, .name = #m " " pat},
static const lp_route routes[] = {
#include "routes.def"
};
#undef LP_ROUTE

const lp_route *lp_api_routes(size_t *count)
{
    *count = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
