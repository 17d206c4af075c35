/* Regions of a grid as geometry. See contour_int.h. */
#include "contour_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Directions along cell edges, clockwise on screen (y down): +x, +y, −x, −y. */
static const int DX[4] = {1, 0, -1, 0}, DY[4] = {0, 1, 0, -1};

static int cell(const uint8_t *bits, size_t w, size_t h, long i, long j)
{
    return i >= 0 && j >= 0 && (size_t)i < w && (size_t)j < h && bits[(size_t)j * w + (size_t)i];
}

/* Each set cell's edges that border an unset cell, as outgoing directions of their start corners:
 * out[v] has bit d when the edge from corner v goes in direction d (the set cell on its right). */
static size_t boundary_edges(const uint8_t *bits, size_t w, size_t h, uint8_t *out)
{
    size_t vw = w + 1, n = 0;
    for (size_t j = 0; j < h; j++) {
        for (size_t i = 0; i < w; i++) {
            long li = (long)i, lj = (long)j;
            if (!bits[j * w + i])
                continue;
            if (!cell(bits, w, h, li, lj - 1) && ++n) /* top, left to right */
                out[j * vw + i] |= 1;
            if (!cell(bits, w, h, li + 1, lj) && ++n) /* right, downwards */
                out[j * vw + i + 1] |= 2;
            if (!cell(bits, w, h, li, lj + 1) && ++n) /* bottom, right to left */
                out[(j + 1) * vw + i + 1] |= 4;
            if (!cell(bits, w, h, li - 1, lj) && ++n) /* left, upwards */
                out[(j + 1) * vw + i] |= 8;
        }
    }
    return n;
}

/* Walks one loop from corner start along direction d0, taking its edges out of outs; its corners
 * (where the direction changes) into pts. Returns their number. At a corner two set cells touch
 * diagonally the right turn is taken first, which keeps to the cell the edge came along. */
static size_t walk(uint8_t *outs, size_t vw, size_t start, int d0, lp_geom_point *pts)
{
    size_t v = start, n = 0;
    int d = d0, prev = -1;
    for (;;) {
        outs[v] &= (uint8_t)~(1u << d);
        if (d != prev)
            pts[n++] = (lp_geom_point){(double)(v % vw), (double)(v / vw)};
        prev = d;
        v = (size_t)((long)v + DX[d] + DY[d] * (long)vw);
        const int turns[3] = {(d + 1) % 4, d, (d + 3) % 4};
        int next = -1;
        for (int t = 0; t < 3 && next < 0; t++) {
            if (v == start && turns[t] == d0)
                next = 4; /* back at the first edge */
            else if (outs[v] & (1u << turns[t]))
                next = turns[t];
        }
        if (next == 4 || next < 0)
            break;
        d = next;
    }
    if (prev == d0 && n > 1) /* the first corner was on a straight edge */
        memmove(pts, pts + 1, --n * sizeof *pts);
    return n;
}

int lp_model_contours(const uint8_t *bits, size_t w, size_t h, lp_arena *a, lp_geom_polygon *out, lp_error *err)
{
    size_t vw = w + 1, nv = vw * (h + 1), nedges, npaths = 0;
    uint8_t *outs = calloc(nv, 1);
    lp_geom_point *pts = NULL;
    lp_geom_path *paths = NULL;
    int rc = -1;

    out->paths = NULL;
    out->npaths = 0;
    if (!outs)
        goto oom;
    if ((nedges = boundary_edges(bits, w, h, outs)) == 0) {
        free(outs);
        return 0;
    }
    if (!(pts = malloc(nedges * sizeof *pts)) || !(paths = malloc((nedges / 4 + 1) * sizeof *paths)))
        goto oom;
    for (size_t v = 0; v < nv; v++) {
        while (outs[v]) {
            int d0 = 0;
            while (!(outs[v] & (1u << d0)))
                d0++;
            size_t n = walk(outs, vw, v, d0, pts);
            lp_geom_point *keep = lp_arena_alloc(a, n * sizeof *keep);
            if (!keep)
                goto oom;
            memcpy(keep, pts, n * sizeof *keep);
            paths[npaths++] = (lp_geom_path){keep, n};
        }
    }
    if (!(out->paths = lp_arena_alloc(a, npaths * sizeof *out->paths)))
        goto oom;
    memcpy(out->paths, paths, npaths * sizeof *paths);
    out->npaths = npaths;
    rc = 0;
    goto done;
oom:
    rc = lp_error_set(err, LP_E_NOMEM, "out of memory tracing a model's mask");
done:
    free(outs);
    free(pts);
    free(paths);
    return rc;
}

static int by_xy(const void *pa, const void *pb)
{
    const lp_geom_point *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    return a->y < b->y ? -1 : a->y > b->y;
}

static double cross(lp_geom_point o, lp_geom_point a, lp_geom_point b)
{
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

/* The convex hull of pts (sorted, n ≥ 1) into hull (2n entries), monotone chain. Returns its size. */
static size_t convex_hull(const lp_geom_point *pts, size_t n, lp_geom_point *hull)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        while (k >= 2 && cross(hull[k - 2], hull[k - 1], pts[i]) <= 0)
            k--;
        hull[k++] = pts[i];
    }
    for (size_t i = n - 1, lower = k + 1; i-- > 0;) {
        while (k >= lower && cross(hull[k - 2], hull[k - 1], pts[i]) <= 0)
            k--;
        hull[k++] = pts[i];
    }
    return k > 1 ? k - 1 : k;
}

/* Corners of the rectangle along unit axis (ux, uy) spanning [a0, a1] × [b0, b1], clockwise on
 * screen from the one with the least x + y. */
static void rect_corners(double ux, double uy, double a0, double a1, double b0, double b1, lp_geom_point out[4])
{
    double vx = -uy, vy = ux; /* the normal */
    lp_geom_point c[4] = {{a0 * ux + b0 * vx, a0 * uy + b0 * vy},
                          {a1 * ux + b0 * vx, a1 * uy + b0 * vy},
                          {a1 * ux + b1 * vx, a1 * uy + b1 * vy},
                          {a0 * ux + b1 * vx, a0 * uy + b1 * vy}};
    /* clockwise on screen: the signed area (y down) positive */
    double area2 = 0;
    for (int i = 0; i < 4; i++)
        area2 += c[i].x * c[(i + 1) % 4].y - c[(i + 1) % 4].x * c[i].y;
    int first = 0;
    for (int i = 1; i < 4; i++) {
        double si = c[i].x + c[i].y, sf = c[first].x + c[first].y;
        if (si < sf - 1e-9 || (fabs(si - sf) <= 1e-9 && c[i].y < c[first].y))
            first = i;
    }
    for (int i = 0; i < 4; i++)
        out[i] = c[area2 >= 0 ? (first + i) % 4 : (first - i + 4) % 4];
}

void lp_model_min_rect(lp_geom_point *pts, size_t n, lp_geom_point out[4])
{
    lp_geom_point *hull = malloc(2 * n * sizeof *hull);
    size_t k = 0;
    double best = INFINITY;

    qsort(pts, n, sizeof *pts, by_xy);
    if (!hull || (k = convex_hull(pts, n, hull)) < 3) { /* no area: the box of the points */
        double x0 = pts[0].x, x1 = pts[n - 1].x, y0 = INFINITY, y1 = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            y0 = fmin(y0, pts[i].y);
            y1 = fmax(y1, pts[i].y);
        }
        rect_corners(1, 0, x0, x1, y0, y1, out);
        free(hull);
        return;
    }
    for (size_t e = 0; e < k; e++) {
        lp_geom_point p = hull[e], q = hull[(e + 1) % k];
        double len = hypot(q.x - p.x, q.y - p.y);
        if (len <= 0)
            continue;
        double ux = (q.x - p.x) / len, uy = (q.y - p.y) / len;
        double a0 = INFINITY, a1 = -INFINITY, b0 = INFINITY, b1 = -INFINITY;
        for (size_t i = 0; i < k; i++) {
            double pa = hull[i].x * ux + hull[i].y * uy, pb = -hull[i].x * uy + hull[i].y * ux;
            a0 = fmin(a0, pa);
            a1 = fmax(a1, pa);
            b0 = fmin(b0, pb);
            b1 = fmax(b1, pb);
        }
        double area = (a1 - a0) * (b1 - b0);
        if (area < best - 1e-9) {
            best = area;
            rect_corners(ux, uy, a0, a1, b0, b1, out);
        }
    }
    free(hull);
}

void lp_model_grid_unmap(const lp_model_fit *fit, double x0, double y0, double cw, double ch, lp_geom_point *p)
{
    double x, y;
    lp_model_fit_unmap(fit, x0 + p->x * cw, y0 + p->y * ch, &x, &y);
    p->x = fmin(fmax(x, 0), fit->src_w);
    p->y = fmin(fmax(y, 0), fit->src_h);
}

int lp_model_grid_on_image(const lp_model_fit *fit, double x0, double y0, double cw, double ch, size_t i, size_t j)
{
    double x, y;
    lp_model_fit_unmap(fit, x0 + ((double)i + 0.5) * cw, y0 + ((double)j + 0.5) * ch, &x, &y);
    return x >= 0 && y >= 0 && x <= fit->src_w && y <= fit->src_h;
}
