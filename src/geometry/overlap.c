/* Exact areas of two polygons and of their intersection by a vertical-slab
 * sweep (see measure.h). Events are the x of every vertex and of every
 * crossing of two edges; inside a slab between two events no edges cross,
 * so the even-odd coverage of each polygon changes only at the edges, which
 * keep their vertical order, and the covered length is linear in x. */
#include <math.h>
#include <stdlib.h>

#include "geometry_int.h"
#include "loupe/geometry/measure.h"

typedef struct crossings {
    double *x;
    size_t n, cap, max;
    lp_error *err;
} crossings;

static int add_crossing(crossings *c, double x)
{
    if (c->n == c->cap) {
        if (c->n >= c->max)
            return lp_error_set(c->err, LP_E_TOO_LARGE,
                                "The polygons' outlines cross more than %zu times; they are too complex to compare.",
                                c->max);
        size_t cap = c->cap * 2;
        if (cap > c->max)
            cap = c->max;
        double *x2 = realloc(c->x, cap * sizeof *x2);
        if (!x2)
            return lp_error_set(c->err, LP_E_NOMEM, "Out of memory comparing two polygons.");
        c->x = x2;
        c->cap = cap;
    }
    c->x[c->n++] = x;
    return 0;
}

/* Records the x where two edges cross strictly inside both (touching at a
 * vertex needs no event: vertices are events already). */
static int find_crossing(void *ctx, const geom_edge *a, const geom_edge *b)
{
    lp_geom_point r = {a->q.x - a->p.x, a->q.y - a->p.y}, s = {b->q.x - b->p.x, b->q.y - b->p.y};
    double d = r.x * s.y - r.y * s.x;
    if (d == 0)
        return 0; /* parallel or collinear: never change order inside a slab */
    double wx = b->p.x - a->p.x, wy = b->p.y - a->p.y;
    double t = (wx * s.y - wy * s.x) / d, u = (wx * r.y - wy * r.x) / d;
    if (!(t > 0 && t < 1 && u > 0 && u < 1))
        return 0;
    double x = a->p.x + t * r.x;
    if (!(x > fmax(a->xmin, b->xmin) && x < fmin(a->xmax, b->xmax)))
        return 0;
    return add_crossing(ctx, x);
}

typedef struct slab_edge {
    double y;
    uint32_t owner;
} slab_edge;

static int cmp_slab_edge(const void *a, const void *b)
{
    const slab_edge *ea = a, *eb = b;
    return (ea->y > eb->y) - (ea->y < eb->y);
}

int lp_geom_polygon_overlap(const lp_geom_polygon *a, const lp_geom_polygon *b, size_t max_crossings,
                            double *area_a, double *area_b, double *area_both, lp_error *err)
{
    size_t na = geom_polygon_points(a), nb = geom_polygon_points(b);
    if (na == SIZE_MAX || nb == SIZE_MAX || na > SIZE_MAX / 4 / sizeof(geom_edge) - nb)
        return lp_error_set(err, LP_E_TOO_LARGE, "The polygons have too many points to compare.");
    size_t total = na + nb;
    int rc = -1;
    crossings cx = {NULL, 0, 0, max_crossings, err};
    geom_edge *edges = malloc((total ? total : 1) * sizeof *edges);
    slab_edge *slab = malloc((total ? total : 1) * sizeof *slab);
    size_t *active = malloc((total ? total : 1) * sizeof *active);
    double *events = NULL;
    if (!edges || !slab || !active)
        goto nomem;
    size_t n = geom_collect_edges(a, 0, 1, edges);
    n += geom_collect_edges(b, 1, 1, edges + n);

    cx.cap = max_crossings < 64 ? max_crossings : 64;
    if (cx.cap && !(cx.x = malloc(cx.cap * sizeof *cx.x)))
        goto nomem;
    int sw = geom_sweep_pairs(edges, n, find_crossing, &cx, err); /* also sorts edges by xmin */
    if (sw != 0)
        goto cleanup;

    size_t nev = 2 * n + cx.n;
    if (!(events = malloc((nev ? nev : 1) * sizeof *events)))
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        events[2 * i] = edges[i].xmin;
        events[2 * i + 1] = edges[i].xmax;
    }
    for (size_t i = 0; i < cx.n; i++)
        events[2 * n + i] = cx.x[i];
    nev = geom_unique_doubles(events, nev);

    double sum_a = 0, sum_b = 0, sum_both = 0;
    size_t next = 0, nactive = 0;
    for (size_t k = 0; k + 1 < nev; k++) {
        double xa = events[k], xb = events[k + 1], xm = xa + (xb - xa) / 2;
        size_t keep = 0;
        for (size_t i = 0; i < nactive; i++)
            if (edges[active[i]].xmax > xa)
                active[keep++] = active[i];
        nactive = keep;
        while (next < n && edges[next].xmin <= xa) {
            if (edges[next].xmax > xa)
                active[nactive++] = next;
            next++;
        }
        for (size_t i = 0; i < nactive; i++) {
            const geom_edge *e = &edges[active[i]];
            slab[i].y = e->p.y + (xm - e->p.x) * (e->q.y - e->p.y) / (e->q.x - e->p.x);
            slab[i].owner = e->owner;
        }
        qsort(slab, nactive, sizeof *slab, cmp_slab_edge);
        bool in[2] = {false, false};
        double len_a = 0, len_b = 0, len_both = 0;
        for (size_t i = 0; i < nactive; i++) {
            if (i > 0) {
                double dy = slab[i].y - slab[i - 1].y;
                len_a += in[0] ? dy : 0;
                len_b += in[1] ? dy : 0;
                len_both += (in[0] && in[1]) ? dy : 0;
            }
            in[slab[i].owner] = !in[slab[i].owner];
        }
        double w = xb - xa;
        sum_a += len_a * w;
        sum_b += len_b * w;
        sum_both += len_both * w;
    }
    if (area_a)
        *area_a = sum_a;
    if (area_b)
        *area_b = sum_b;
    if (area_both)
        *area_both = sum_both;
    rc = 0;
    goto cleanup;
nomem:
    lp_error_set(err, LP_E_NOMEM, "Out of memory comparing two polygons of %zu and %zu points.", na, nb);
cleanup:
    free(edges);
    free(slab);
    free(active);
    free(events);
    free(cx.x);
    return rc;
}

int lp_geom_polygon_iou(const lp_geom_polygon *a, const lp_geom_polygon *b, size_t max_crossings, double *iou,
                        lp_error *err)
{
    double aa, ab, both;
    if (lp_geom_polygon_overlap(a, b, max_crossings, &aa, &ab, &both, err) < 0)
        return -1;
    double uni = aa + ab - both;
    *iou = uni > 0 ? both / uni : 0;
    return 0;
}
