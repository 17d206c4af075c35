/* Internals shared by the geometry files: edge lists and the pair sweep
 * used by the simplicity check and the polygon overlap. Not installed. */
#ifndef LOUPE_GEOMETRY_INT_H
#define LOUPE_GEOMETRY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/geometry/shape.h"

/* x where the line through p and q crosses height y (p.y != q.y). The one
 * formula for every even-odd crossing test, so containment and
 * rasterisation agree to the last bit. */
static inline double geom_edge_x_at(lp_geom_point p, lp_geom_point q, double y)
{
    return p.x + (y - p.y) * (q.x - p.x) / (q.y - p.y);
}

/* z of the cross product (b - a) x (c - a): > 0 when c is on one side of the
 * line a-b, < 0 on the other, 0 on it. */
static inline double geom_orient(lp_geom_point a, lp_geom_point b, lp_geom_point c)
{
    return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
}

/* Ascending sort. */
void geom_sort_doubles(double *v, size_t n);

/* Sorts v and drops repeated values; returns the new length. */
size_t geom_unique_doubles(double *v, size_t n);

/* One edge of a polygon, from p to q in path order. */
typedef struct geom_edge {
    lp_geom_point p, q;
    double xmin, xmax;
    uint32_t owner;     /* which polygon of a pair: 0 or 1 */
    size_t path;        /* edge starts at paths[path].points[index] */
    size_t index;
    size_t seq, nseq;   /* position among the path's kept edges, and their count */
} geom_edge;

/* Total points of p, or SIZE_MAX when the sum would overflow. */
size_t geom_polygon_points(const lp_geom_polygon *p);

/* Appends p's edges to out (room for geom_polygon_points(p) edges) and
 * returns how many it wrote. Zero-length edges (repeated points) are
 * skipped; skip_vertical also drops edges with p.x == q.x. */
size_t geom_collect_edges(const lp_geom_polygon *p, uint32_t owner, int skip_vertical, geom_edge *out);

/* Calls fn for every pair of edges whose closed x ranges overlap, after
 * sorting e by xmin (in place). fn returns 0 to go on, 1 to stop (the sweep
 * then returns 1) or -1 for an error it has set (returned as is). Returns 0
 * when every pair was visited, -1 with LP_E_NOMEM when scratch memory runs
 * out. */
typedef int (*geom_pair_fn)(void *ctx, const geom_edge *a, const geom_edge *b);
int geom_sweep_pairs(geom_edge *e, size_t n, geom_pair_fn fn, void *ctx, lp_error *err);

#endif
