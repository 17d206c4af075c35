/* Polygon simplicity: no two edges may touch except consecutive edges of one
 * path at their shared vertex. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "geometry_int.h"
#include "loupe/geometry/measure.h"

static int sign_of(double v)
{
    return (v > 0) - (v < 0);
}

/* c on the closed segment a-b, given that a, b, c are collinear. */
static bool within(lp_geom_point a, lp_geom_point b, lp_geom_point c)
{
    return c.x >= fmin(a.x, b.x) && c.x <= fmax(a.x, b.x) && c.y >= fmin(a.y, b.y) && c.y <= fmax(a.y, b.y);
}

static bool segments_touch(lp_geom_point a, lp_geom_point b, lp_geom_point c, lp_geom_point d)
{
    int o1 = sign_of(geom_orient(a, b, c)), o2 = sign_of(geom_orient(a, b, d));
    int o3 = sign_of(geom_orient(c, d, a)), o4 = sign_of(geom_orient(c, d, b));
    if (o1 != o2 && o3 != o4)
        return true; /* they cross, or an end of one lies on the other */
    if (o1 == 0 && within(a, b, c))
        return true;
    if (o2 == 0 && within(a, b, d))
        return true;
    if (o3 == 0 && within(c, d, a))
        return true;
    if (o4 == 0 && within(c, d, b))
        return true;
    return false;
}

typedef struct simple_ctx {
    lp_error *err;
} simple_ctx;

/* Reports edges a and b meeting: crossing or touching, or (folds) two
 * consecutive edges doubling back along one line. */
static int report(simple_ctx *c, const geom_edge *a, const geom_edge *b, bool folds)
{
    const char *what = folds ? "fold back onto each other" : "cross or touch";
    char f[128];
    const geom_edge *first = (a->path < b->path || (a->path == b->path && a->index < b->index)) ? a : b;
    const geom_edge *other = first == a ? b : a;
    snprintf(f, sizeof f, "polygon.paths[%zu][%zu]", first->path, first->index);
    lp_error_set(c->err, LP_E_INVALID, "The polygon is not simple: two of its edges %s.", what);
    lp_error_field(c->err, LP_E_INVALID, f, "the edge starting here %s the edge starting at paths[%zu][%zu]",
                   folds ? "folds back onto" : "crosses or touches", other->path, other->index);
    lp_error_detail(c->err, "Edges starting at paths[%zu][%zu] and paths[%zu][%zu] %s.", first->path, first->index,
                    other->path, other->index, what);
    lp_error_hint(c->err, "Remove the self-intersection, or split the shape into separate polygons.");
    return -1;
}

static int check_pair(void *ctx, const geom_edge *a, const geom_edge *b)
{
    simple_ctx *c = ctx;
    if (a->path == b->path) {
        size_t n = a->nseq;
        /* consecutive edges: x -> y (a) then y -> z (b), or the reverse */
        const geom_edge *e1 = NULL, *e2 = NULL;
        if ((a->seq + 1) % n == b->seq) {
            e1 = a;
            e2 = b;
        } else if ((b->seq + 1) % n == a->seq) {
            e1 = b;
            e2 = a;
        }
        if (e1) {
            /* They share y; they may only meet elsewhere when collinear and
             * folding back (x and z on the same side of y). */
            lp_geom_point x = e1->p, y = e1->q, z = e2->q;
            double dot = (x.x - y.x) * (z.x - y.x) + (x.y - y.y) * (z.y - y.y);
            if (geom_orient(x, y, z) == 0 && dot > 0)
                return report(c, e1, e2, true);
            return 0;
        }
    }
    if (segments_touch(a->p, a->q, b->p, b->q))
        return report(c, a, b, false);
    return 0;
}

int lp_geom_polygon_check_simple(const lp_geom_polygon *p, lp_error *err)
{
    size_t total = geom_polygon_points(p);
    if (total == SIZE_MAX || total > SIZE_MAX / sizeof(geom_edge))
        return lp_error_set(err, LP_E_TOO_LARGE, "The polygon has too many points to check.");
    geom_edge *edges = malloc((total ? total : 1) * sizeof *edges);
    if (!edges)
        return lp_error_set(err, LP_E_NOMEM, "Out of memory checking a polygon of %zu points.", total);
    int rc = 0;
    size_t n = geom_collect_edges(p, 0, 0, edges);
    /* Every path needs three distinct corners; edges are still in path
     * order here, one run per path that kept any. */
    size_t k = 0;
    for (size_t i = 0; i < p->npaths && rc == 0; i++) {
        size_t kept = (k < n && edges[k].path == i) ? edges[k].nseq : 0;
        if (kept < 3) {
            char f[64];
            snprintf(f, sizeof f, "polygon.paths[%zu]", i);
            lp_error_set(err, LP_E_INVALID, "The polygon is not simple: a path encloses no area.");
            rc = lp_error_field(err, LP_E_INVALID, f, "has fewer than 3 distinct points");
        }
        k += kept;
    }
    if (rc == 0) {
        simple_ctx c = {err};
        rc = geom_sweep_pairs(edges, n, check_pair, &c, err) == 0 ? 0 : -1;
    }
    free(edges);
    return rc;
}
