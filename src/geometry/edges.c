/* Edge lists of polygons and the sweep over pairs of edges whose x ranges
 * overlap (shared by the simplicity check and the overlap computation). */
#include <math.h>
#include <stdlib.h>

#include "geometry_int.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void geom_sort_doubles(double *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_double);
}

size_t geom_unique_doubles(double *v, size_t n)
{
    geom_sort_doubles(v, n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || v[i] != v[m - 1])
            v[m++] = v[i];
    return m;
}

size_t geom_polygon_points(const lp_geom_polygon *p)
{
    size_t total = 0;
    for (size_t i = 0; i < p->npaths; i++) {
        if (p->paths[i].npoints > SIZE_MAX - total)
            return SIZE_MAX;
        total += p->paths[i].npoints;
    }
    return total;
}

static int same_point(lp_geom_point a, lp_geom_point b)
{
    return a.x == b.x && a.y == b.y;
}

size_t geom_collect_edges(const lp_geom_polygon *p, uint32_t owner, int skip_vertical, geom_edge *out)
{
    size_t n = 0;
    for (size_t i = 0; i < p->npaths; i++) {
        const lp_geom_path *path = &p->paths[i];
        size_t first = n;
        for (size_t j = 0; j < path->npoints; j++) {
            lp_geom_point a = path->points[j], b = path->points[(j + 1) % path->npoints];
            if (same_point(a, b) || (skip_vertical && a.x == b.x))
                continue;
            out[n] = (geom_edge){.p = a, .q = b, .xmin = fmin(a.x, b.x), .xmax = fmax(a.x, b.x),
                                 .owner = owner, .path = i, .index = j, .seq = n - first};
            n++;
        }
        for (size_t k = first; k < n; k++)
            out[k].nseq = n - first;
    }
    return n;
}

static int cmp_edge_xmin(const void *a, const void *b)
{
    const geom_edge *ea = a, *eb = b;
    if (ea->xmin != eb->xmin)
        return ea->xmin > eb->xmin ? 1 : -1;
    /* ties in input order, so what the sweep finds first is deterministic */
    if (ea->owner != eb->owner)
        return ea->owner > eb->owner ? 1 : -1;
    if (ea->path != eb->path)
        return ea->path > eb->path ? 1 : -1;
    return (ea->index > eb->index) - (ea->index < eb->index);
}

int geom_sweep_pairs(geom_edge *e, size_t n, geom_pair_fn fn, void *ctx, lp_error *err)
{
    if (n < 2)
        return 0;
    qsort(e, n, sizeof *e, cmp_edge_xmin);
    size_t *active = malloc(n * sizeof *active), nactive = 0;
    if (!active)
        return lp_error_set(err, LP_E_NOMEM, "Out of memory comparing %zu polygon edges.", n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t keep = 0;
        for (size_t k = 0; k < nactive; k++)
            if (e[active[k]].xmax >= e[i].xmin)
                active[keep++] = active[k];
        nactive = keep;
        for (size_t k = 0; k < nactive && rc == 0; k++)
            rc = fn(ctx, &e[active[k]], &e[i]);
        active[nactive++] = i;
    }
    free(active);
    return rc;
}
