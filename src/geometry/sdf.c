/* Mask interpolation by signed distance: each mask becomes a field that is
 * negative inside (minus the distance to the nearest background pixel) and
 * positive outside (the distance to the nearest foreground pixel); the two
 * fields are blended and the blend thresholded at zero. Distances are exact
 * Euclidean distances between pixel centres (Felzenszwalb and Huttenlocher's
 * lower envelope of parabolas, one pass per column, then one per row).
 *
 * Only the window that holds both masks' foreground, grown by one pixel, is
 * computed: outside it both fields are positive, and inside it the nearest
 * background pixel is never farther than the window's border ring, which is
 * all background. Scratch memory is proportional to that window. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/geometry/interpolate.h"
#include "loupe/geometry/rle.h"

/* Arena blocks of the scratch masks of a raster layer's blend. */
#define SCRATCH_BLOCK (64 * 1024)

typedef struct window {
    uint32_t x0, y0, w, h; /* in image pixels */
} window;

static int nomem(lp_error *err)
{
    return lp_error_set(err, LP_E_NOMEM, "Out of memory while interpolating a mask.");
}

/* Sets to 1 the window pixels of r's foreground (r checked). */
static void paint(const lp_geom_rle *r, const window *wd, uint8_t *px)
{
    bool rows = r->order == LP_GEOM_RLE_ROW_MAJOR;
    uint64_t line_len = rows ? r->width : r->height, pos = 0;
    for (size_t k = 0; k < r->ncounts; k++) {
        uint64_t start = pos, end = pos + r->counts[k];
        pos = end;
        if (k % 2 == 0)
            continue;
        while (start < end) {
            uint64_t line = start / line_len, off = start % line_len;
            uint64_t stop = line_len - off < end - start ? line_len : off + (end - start);
            for (uint64_t i = off; i < stop; i++) {
                uint64_t x = rows ? i : line, y = rows ? line : i;
                if (x >= wd->x0 && x < (uint64_t)wd->x0 + wd->w && y >= wd->y0 && y < (uint64_t)wd->y0 + wd->h)
                    px[(y - wd->y0) * wd->w + (x - wd->x0)] = 1;
            }
            start += stop - off;
        }
    }
}

/* Stands for "no such pixel" in the transforms: finite, so that the
 * parabola arithmetic needs no special case, and far beyond any image. */
#define FAR 1e20

/* One-dimensional squared distance transform of f (n values, stride apart)
 * in place; v, z and d are scratch of n, n + 1 and n entries. */
static void edt_1d(double *f, size_t n, size_t stride, size_t *v, double *z, double *d)
{
    size_t k = 0;
    v[0] = 0;
    z[0] = -INFINITY;
    z[1] = INFINITY;
    for (size_t q = 1; q < n; q++) {
        double s;
        for (;;) {
            size_t p = v[k];
            s = ((f[q * stride] + (double)q * q) - (f[p * stride] + (double)p * p)) / (2.0 * ((double)q - (double)p));
            if (s > z[k] || k == 0)
                break;
            k--;
        }
        if (s <= z[k]) { /* k == 0: the new parabola is lower everywhere */
            v[0] = q;
            z[1] = INFINITY;
            continue;
        }
        k++;
        v[k] = q;
        z[k] = s;
        z[k + 1] = INFINITY;
    }
    k = 0;
    for (size_t q = 0; q < n; q++) {
        while (z[k + 1] < (double)q)
            k++;
        double dq = (double)q - (double)v[k];
        d[q] = dq * dq + f[v[k] * stride];
    }
    for (size_t q = 0; q < n; q++)
        f[q * stride] = d[q];
}

/* dist[i] = Euclidean distance from pixel i to the nearest pixel with
 * px == target (about sqrt(FAR) when there is none). scratch has room for the 1-D passes. */
static void distance(const uint8_t *px, uint8_t target, const window *wd, double *dist, size_t *v, double *z,
                     double *d)
{
    size_t n = (size_t)wd->w * wd->h;
    for (size_t i = 0; i < n; i++)
        dist[i] = px[i] == target ? 0 : FAR;
    for (size_t x = 0; x < wd->w; x++)
        edt_1d(dist + x, wd->h, wd->w, v, z, d);
    for (size_t y = 0; y < wd->h; y++)
        edt_1d(dist + y * wd->w, wd->w, 1, v, z, d);
    for (size_t i = 0; i < n; i++)
        dist[i] = sqrt(dist[i]);
}

/* field[i] = signed distance of the mask px: distance to the foreground
 * outside it, minus the distance to the background inside. */
static void signed_field(const uint8_t *px, const window *wd, double *field, double *tmp, size_t *v, double *z,
                         double *d)
{
    distance(px, 1, wd, field, v, z, d);
    distance(px, 0, wd, tmp, v, z, d);
    size_t n = (size_t)wd->w * wd->h;
    for (size_t i = 0; i < n; i++)
        field[i] -= tmp[i];
}

/* Run lengths as they are built: counts[0] is a background run. */
typedef struct runs {
    uint32_t *counts;
    size_t n, cap;
} runs;

/* Appends len pixels of foreground (fg) or background. 0 or -1 (no memory,
 * or a run longer than a count holds). */
static int push_run(runs *r, bool fg, uint64_t len)
{
    if (len == 0)
        return 0;
    if ((r->n % 2 == 0) == fg) { /* the last run has this value */
        if (r->counts[r->n - 1] > UINT32_MAX - len)
            return -1;
        r->counts[r->n - 1] += (uint32_t)len;
        return 0;
    }
    if (len > UINT32_MAX)
        return -1;
    if (r->n == r->cap) {
        size_t nc = r->cap * 2;
        uint32_t *p = realloc(r->counts, nc * sizeof *p);
        if (!p)
            return -1;
        r->counts = p;
        r->cap = nc;
    }
    r->counts[r->n++] = (uint32_t)len;
    return 0;
}

/* The RLE (in like's size and order) of the window pixels set in px. */
static int encode(const uint8_t *px, const window *wd, const lp_geom_rle *like, lp_arena *ar, lp_geom_rle *out,
                  lp_error *err)
{
    bool rows = like->order == LP_GEOM_RLE_ROW_MAJOR;
    uint64_t nlines = rows ? like->height : like->width, line_len = rows ? like->width : like->height;
    uint64_t lo = rows ? wd->y0 : wd->x0, hi = lo + (rows ? wd->h : wd->w);
    uint64_t in0 = rows ? wd->x0 : wd->y0, in1 = in0 + (rows ? wd->w : wd->h);
    runs r = {calloc(64, sizeof(uint32_t)), 1, 64};
    int rc = r.counts ? 0 : -1;
    for (uint64_t line = 0; line < nlines && rc == 0; line++) {
        if (line < lo || line >= hi) {
            rc = push_run(&r, false, line_len);
            continue;
        }
        rc = push_run(&r, false, in0);
        for (uint64_t i = in0; i < in1 && rc == 0; i++) {
            uint64_t x = rows ? i : line, y = rows ? line : i;
            rc = push_run(&r, px[(y - wd->y0) * wd->w + (x - wd->x0)] != 0, 1);
        }
        if (rc == 0)
            rc = push_run(&r, false, line_len - in1);
    }
    uint32_t *kept = rc == 0 ? lp_arena_memdup(ar, r.counts, r.n * sizeof *r.counts) : NULL;
    free(r.counts);
    if (!kept)
        return nomem(err);
    *out = (lp_geom_rle){like->width, like->height, like->order, kept, r.n};
    return 0;
}

/* The window holding both foregrounds, grown by one pixel inside the image;
 * 0 when both are empty (-1 on a damaged RLE). */
static int union_window(const lp_geom_rle *a, const lp_geom_rle *b, window *wd, lp_error *err)
{
    uint64_t max = (uint64_t)a->width * a->height;
    lp_geom_bbox ba, bb;
    if (lp_geom_rle_bbox(a, max, &ba, err) < 0 || lp_geom_rle_bbox(b, max, &bb, err) < 0)
        return -1;
    bool ea = lp_geom_rle_area(a) == 0, eb = lp_geom_rle_area(b) == 0;
    if (ea && eb)
        return 0;
    double x0 = ea ? bb.x : eb ? ba.x : fmin(ba.x, bb.x), y0 = ea ? bb.y : eb ? ba.y : fmin(ba.y, bb.y);
    double x1 = ea ? bb.x + bb.w : eb ? ba.x + ba.w : fmax(ba.x + ba.w, bb.x + bb.w);
    double y1 = ea ? bb.y + bb.h : eb ? ba.y + ba.h : fmax(ba.y + ba.h, bb.y + bb.h);
    x0 = fmax(0, x0 - 1);
    y0 = fmax(0, y0 - 1);
    x1 = fmin(a->width, x1 + 1);
    y1 = fmin(a->height, y1 + 1);
    *wd = (window){(uint32_t)x0, (uint32_t)y0, (uint32_t)(x1 - x0), (uint32_t)(y1 - y0)};
    return 1;
}

int lp_geom_mask_interpolate(const lp_geom_rle *a, const lp_geom_rle *b, double t, lp_arena *ar, lp_geom_rle *out,
                             lp_error *err)
{
    if (a->width != b->width || a->height != b->height)
        return lp_error_set(err, LP_E_INVALID, "Cannot interpolate between masks of different sizes.");
    window wd;
    int has = union_window(a, b, &wd, err);
    if (has < 0)
        return -1;
    if (has == 0 || lp_geom_rle_area(a) == 0 || lp_geom_rle_area(b) == 0) {
        /* nothing to blend towards: held from a */
        uint32_t *c = lp_arena_memdup(ar, a->counts, (a->ncounts ? a->ncounts : 1) * sizeof *a->counts);
        if (!c)
            return nomem(err);
        *out = *a;
        out->counts = c;
        return 0;
    }
    size_t n = (size_t)wd.w * wd.h, side = wd.w > wd.h ? wd.w : wd.h;
    uint8_t *pa = calloc(n, 1), *pb = calloc(n, 1);
    double *fa = malloc(n * sizeof *fa), *fb = malloc(n * sizeof *fb), *tmp = malloc(n * sizeof *tmp);
    size_t *v = malloc(side * sizeof *v);
    double *z = malloc((side + 1) * sizeof *z), *d = malloc(side * sizeof *d);
    int rc = -1;
    if (!pa || !pb || !fa || !fb || !tmp || !v || !z || !d) {
        nomem(err);
        goto cleanup;
    }
    paint(a, &wd, pa);
    paint(b, &wd, pb);
    signed_field(pa, &wd, fa, tmp, v, z, d);
    signed_field(pb, &wd, fb, tmp, v, z, d);
    for (size_t i = 0; i < n; i++)
        pa[i] = (1 - t) * fa[i] + t * fb[i] < 0;
    rc = encode(pa, &wd, a, ar, out, err);
cleanup:
    free(pa);
    free(pb);
    free(fa);
    free(fb);
    free(tmp);
    free(v);
    free(z);
    free(d);
    return rc;
}

/* ---- raster layers: every mask of a label map blended ------------------------- */

/* The label map of a dense RLE (values as stored) into labels (width x height). */
static int labels_of(const uint32_t *v, size_t n, uint64_t px, uint8_t *labels, lp_error *err)
{
    uint64_t at = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (v[i] > 255 || v[i + 1] > px - at)
            return lp_error_field(err, LP_E_INVALID, "dense_rle",
                                  "is not a label map of the frame's %llu pixels", (unsigned long long)px);
        memset(labels + at, (int)v[i], v[i + 1]);
        at += v[i + 1];
    }
    if (n % 2 != 0 || at != px)
        return lp_error_field(err, LP_E_INVALID, "dense_rle", "counts add up to %llu pixels, not %llu",
                              (unsigned long long)at, (unsigned long long)px);
    return 0;
}

/* Sets to label the pixels of r's foreground (row-major, checked) in map. */
static void paint_label(const lp_geom_rle *r, uint8_t label, uint8_t *map)
{
    uint64_t pos = 0;
    for (size_t k = 0; k < r->ncounts; k++) {
        if (k % 2 == 1)
            memset(map + pos, label, r->counts[k]);
        pos += r->counts[k];
    }
}

static bool has_label(const uint8_t *map, uint64_t n, uint8_t label)
{
    return memchr(map, label, n) != NULL;
}

int lp_geom_dense_interpolate(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t width,
                              uint32_t height, const lp_geom_label_pair *pairs, size_t npairs, double t,
                              uint64_t max_pixels, lp_arena *ar, uint32_t **out, size_t *nout, lp_error *err)
{
    uint64_t px = (uint64_t)width * height;
    if (px == 0 || px > max_pixels || px > SIZE_MAX)
        return lp_error_set(err, LP_E_TOO_LARGE, "A raster layer of %ux%u pixels is over the limit of %llu pixels.",
                            width, height, (unsigned long long)max_pixels);
    if (!isfinite(t))
        return lp_error_set(err, LP_E_INVALID, "The interpolation position must be a finite number.");
    uint8_t *la = malloc(px), *lb = malloc(px), *res = malloc(px);
    bool *blended = calloc(npairs ? npairs : 1, sizeof *blended);
    lp_arena *scratch = lp_arena_new(SCRATCH_BLOCK, SIZE_MAX);
    int rc = -1;
    if (!la || !lb || !res || !blended || !scratch) {
        nomem(err);
        goto cleanup;
    }
    if (labels_of(a, na, px, la, err) != 0 || labels_of(b, nb, px, lb, err) != 0)
        goto cleanup;
    memcpy(res, la, px);
    /* the blended masks leave their place in a first: only the blend puts them back */
    for (size_t i = 0; i < npairs; i++) {
        if (pairs[i].a == 0 || pairs[i].b == 0 || !has_label(la, px, pairs[i].a) || !has_label(lb, px, pairs[i].b))
            continue;
        blended[i] = true;
        for (uint64_t p = 0; p < px; p++)
            if (res[p] == pairs[i].a)
                res[p] = 0;
    }
    for (size_t i = 0; i < npairs; i++) {
        lp_geom_rle ra, rb, mid;
        if (!blended[i])
            continue;
        lp_arena_reset(scratch);
        if (lp_geom_rle_encode(la, width, height, pairs[i].a, LP_GEOM_RLE_ROW_MAJOR, max_pixels, scratch, &ra, err) ||
            lp_geom_rle_encode(lb, width, height, pairs[i].b, LP_GEOM_RLE_ROW_MAJOR, max_pixels, scratch, &rb, err) ||
            lp_geom_mask_interpolate(&ra, &rb, t, scratch, &mid, err))
            goto cleanup;
        paint_label(&mid, pairs[i].a, res);
    }
    rc = lp_geom_dense_rle_encode(res, width, height, max_pixels, ar, out, nout, err) == 0 ? 0 : -1;
cleanup:
    free(la);
    free(lb);
    free(res);
    free(blended);
    lp_arena_free(scratch);
    return rc;
}
