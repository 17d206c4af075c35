/* Route matching: method + path against the route table. See route.h.
 * Linear over the table, segment by segment, without allocating: the table is
 * small (a few hundred rows at most) and matching costs well under a
 * microsecond per row. */
#include <string.h>

#include "loupe/http/route.h"

/* Compares pattern segment [ps, pe) with path segment [s, e). */
static int add_param(lp_route_match *m, const char *name, size_t nlen, const char *v, size_t vlen)
{
    if (m->nparams >= LP_ROUTE_MAX_PARAMS)
        return 0;
    m->names[m->nparams] = name;
    m->name_lens[m->nparams] = nlen;
    m->values[m->nparams] = v;
    m->value_lens[m->nparams] = vlen;
    m->nparams++;
    return 1;
}

static int segment_match(const char *ps, const char *pe, const char *s, const char *e, lp_route_match *m)
{
    size_t plen = (size_t)(pe - ps);
    if (plen >= 2 && ps[0] == '{' && pe[-1] == '}') {
        if (e == s)
            return 0; /* a parameter never matches an empty segment */
        return add_param(m, ps + 1, plen - 2, s, (size_t)(e - s));
    }
    return plen == (size_t)(e - s) && memcmp(ps, s, plen) == 0;
}

static int path_match(const char *pattern, const char *path, lp_route_match *m)
{
    m->nparams = 0;
    const char *p = pattern, *s = path;
    if (*p != '/' || *s != '/')
        return 0;
    for (;;) {
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        if (!pe)
            pe = p + strlen(p);
        if (!se)
            se = s + strlen(s);
        /* a final "{name*}" takes the rest of the path, slashes included */
        if (*pe == '\0' && pe - p >= 4 && p[0] == '{' && pe[-2] == '*' && pe[-1] == '}') {
            size_t rest = strlen(s);
            return rest > 0 && add_param(m, p + 1, (size_t)(pe - p) - 3, s, rest);
        }
        if (!segment_match(p, pe, s, se, m))
            return 0;
        if (*pe == '\0' || *se == '\0')
            return *pe == '\0' && *se == '\0';
        p = pe;
        s = se;
    }
}

/* "/{name*}": the whole path; such a route is the fallback (see route.h). */
static int is_fallback(const char *pattern)
{
    size_t len = strlen(pattern);
    return len >= 5 && pattern[1] == '{' && strchr(pattern + 1, '/') == NULL && pattern[len - 2] == '*';
}

lp_route_result lp_route_match_path(const lp_route *routes, size_t n, const char *method, const char *path,
                                    lp_route_match *m, char *allow, size_t allow_cap)
{
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    int path_seen = 0;
    size_t alen = 0;
    lp_route_match fallback = {0};
    if (allow && allow_cap)
        allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        lp_route_match tmp;
        if (!path_match(routes[i].pattern, path, &tmp))
            continue;
        if (is_fallback(routes[i].pattern)) {
            if (!fallback.route && strcmp(routes[i].method, want) == 0) {
                fallback = tmp;
                fallback.route = &routes[i];
            }
            continue;
        }
        if (strcmp(routes[i].method, want) == 0) {
            *m = tmp;
            m->route = &routes[i];
            return LP_ROUTE_FOUND;
        }
        path_seen = 1;
        if (allow && alen < allow_cap) {
            size_t need = strlen(routes[i].method) + (alen ? 2 : 0);
            if (alen + need + 1 <= allow_cap && !strstr(allow, routes[i].method)) {
                if (alen)
                    memcpy(allow + alen, ", ", 2), alen += 2;
                memcpy(allow + alen, routes[i].method, strlen(routes[i].method) + 1);
                alen += strlen(routes[i].method);
            }
        }
    }
    if (path_seen)
        return LP_ROUTE_NO_METHOD;
    if (fallback.route) {
        *m = fallback;
        return LP_ROUTE_FOUND;
    }
    return LP_ROUTE_NO_PATH;
}
