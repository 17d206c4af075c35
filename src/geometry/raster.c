/* Polygon rasterisation: scanline over pixel-centre rows with an active
 * edge table, filling between pairs of sorted crossings (even-odd). The
 * crossing test and formula are those of lp_geom_polygon_contains, so a
 * pixel is set exactly when its centre is contained. */
#include "loupe/geometry/raster.h"

#include <math.h>
#include <stdlib.h>

#include "geometry_int.h"

typedef struct raster_edge {
    lp_geom_point p, q; /* in path order: the crossing formula depends on it */
    int64_t row0, row1; /* rows [row0, row1) whose centre line it crosses */
} raster_edge;

/* Smallest pixel index i with i + 0.5 >= x, clamped to [0, limit]. */
static int64_t first_centre_at_or_after(double x, int64_t limit)
{
    if (!(x > 0.5))
        return 0;
    if (x > (double)limit + 0.5)
        return limit;
    int64_t i = (int64_t)ceil(x - 0.5);
    while (i > 0 && (double)(i - 1) + 0.5 >= x)
        i--;
    while (i < limit && (double)i + 0.5 < x)
        i++;
    return i;
}

static int cmp_edge_row0(const void *a, const void *b)
{
    const raster_edge *ea = a, *eb = b;
    return (ea->row0 > eb->row0) - (ea->row0 < eb->row0);
}

int lp_geom_polygon_rasterize(const lp_geom_polygon *p, uint32_t width, uint32_t height, uint64_t max_pixels,
                              uint8_t value, uint8_t *mask, size_t mask_len, lp_error *err)
{
    uint64_t pixels = (uint64_t)width * height;
    if (pixels > max_pixels)
        return lp_error_set(err, LP_E_TOO_LARGE, "A %ux%u mask is larger than the %llu pixels allowed.", width,
                            height, (unsigned long long)max_pixels);
    if (mask_len < pixels)
        return lp_error_set(err, LP_E_INTERNAL, "A %zu-byte buffer cannot hold a %ux%u mask.", mask_len, width,
                            height);
    int rc = -1;
    size_t nedges = 0, total = 0;
    for (size_t i = 0; i < p->npaths; i++) {
        if (p->paths[i].npoints > SIZE_MAX / sizeof(raster_edge) - total)
            return lp_error_set(err, LP_E_TOO_LARGE, "The polygon has too many points to rasterise.");
        total += p->paths[i].npoints;
    }
    raster_edge *edges = malloc((total ? total : 1) * sizeof *edges);
    size_t *active = malloc((total ? total : 1) * sizeof *active);
    double *xs = malloc((total ? total : 1) * sizeof *xs);
    if (!edges || !active || !xs) {
        lp_error_set(err, LP_E_NOMEM, "Out of memory rasterising a polygon of %zu points.", total);
        goto cleanup;
    }
    for (size_t i = 0; i < p->npaths; i++) {
        const lp_geom_path *path = &p->paths[i];
        for (size_t j = 0; j < path->npoints; j++) {
            lp_geom_point a = path->points[j], b = path->points[(j + 1) % path->npoints];
            double ylo = fmin(a.y, b.y), yhi = fmax(a.y, b.y);
            int64_t r0 = first_centre_at_or_after(ylo, height), r1 = first_centre_at_or_after(yhi, height);
            if (r0 >= r1)
                continue; /* horizontal, or between two centre lines */
            edges[nedges++] = (raster_edge){a, b, r0, r1};
        }
    }
    qsort(edges, nedges, sizeof *edges, cmp_edge_row0);
    size_t next = 0, nactive = 0;
    for (int64_t row = 0; row < (int64_t)height && (next < nedges || nactive > 0); row++) {
        double yc = (double)row + 0.5;
        size_t keep = 0;
        for (size_t k = 0; k < nactive; k++)
            if (edges[active[k]].row1 > row)
                active[keep++] = active[k];
        nactive = keep;
        while (next < nedges && edges[next].row0 <= row)
            active[nactive++] = next++;
        size_t nx = 0;
        for (size_t k = 0; k < nactive; k++) {
            const raster_edge *e = &edges[active[k]];
            if ((e->p.y > yc) != (e->q.y > yc)) /* the contains() test, for exactness */
                xs[nx++] = geom_edge_x_at(e->p, e->q, yc);
        }
        geom_sort_doubles(xs, nx);
        uint8_t *line = mask + (size_t)row * width;
        for (size_t k = 0; k + 1 < nx; k += 2) {
            int64_t x0 = first_centre_at_or_after(xs[k], width);
            int64_t x1 = first_centre_at_or_after(xs[k + 1], width);
            for (int64_t x = x0; x < x1; x++)
                line[x] = value;
        }
    }
    rc = 0;
cleanup:
    free(edges);
    free(active);
    free(xs);
    return rc;
}
