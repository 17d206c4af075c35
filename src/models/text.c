/* The text_polygons decoder: a DB-style probability map to text regions. See loupe/models/shapes.h. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "contour_int.h"
#include "loupe/models/shapes.h"

/* Scratch of one decode: the binary map, region labels, the flood's queue and each row's extent. */
typedef struct text_scratch {
    uint8_t *on;
    uint32_t *queue;
    long *row_lo, *row_hi;
    lp_geom_point *corners;
} text_scratch;

static void scratch_free(text_scratch *s)
{
    free(s->on);
    free(s->queue);
    free(s->row_lo);
    free(s->row_hi);
    free(s->corners);
}

/* One 8-connected region from cell start: its cells (marked off in on) into queue[0..*n); the sum
 * of their probabilities. */
static double flood(const float *map, size_t w, size_t h, text_scratch *s, size_t start, size_t *n)
{
    double sum = 0;
    size_t head = 0, tail = 0;
    s->on[start] = 0;
    s->queue[tail++] = (uint32_t)start;
    while (head < tail) {
        size_t c = s->queue[head++], i = c % w, j = c / w;
        sum += map[c];
        for (int dj = -1; dj <= 1; dj++) {
            for (int di = -1; di <= 1; di++) {
                long ni = (long)i + di, nj = (long)j + dj;
                if (ni < 0 || nj < 0 || (size_t)ni >= w || (size_t)nj >= h)
                    continue;
                size_t nc = (size_t)nj * w + (size_t)ni;
                if (s->on[nc]) {
                    s->on[nc] = 0;
                    s->queue[tail++] = (uint32_t)nc;
                }
            }
        }
    }
    *n = tail;
    return sum;
}

/* The outline of the region's cells: the outer corners of each row's first and last cell. */
static size_t region_corners(const uint32_t *cells, size_t n, size_t w, text_scratch *s)
{
    long top = LONG_MAX, bottom = -1;
    size_t k = 0;
    for (size_t c = 0; c < n; c++) {
        long i = (long)(cells[c] % w), j = (long)(cells[c] / w);
        if (s->row_hi[j] < 0) {
            s->row_lo[j] = s->row_hi[j] = i;
        } else {
            s->row_lo[j] = i < s->row_lo[j] ? i : s->row_lo[j];
            s->row_hi[j] = i > s->row_hi[j] ? i : s->row_hi[j];
        }
        top = j < top ? j : top;
        bottom = j > bottom ? j : bottom;
    }
    for (long j = top; j <= bottom; j++) {
        if (s->row_hi[j] < 0)
            continue;
        double lo = (double)s->row_lo[j], hi = (double)s->row_hi[j] + 1;
        s->corners[k++] = (lp_geom_point){lo, (double)j};
        s->corners[k++] = (lp_geom_point){lo, (double)j + 1};
        s->corners[k++] = (lp_geom_point){hi, (double)j};
        s->corners[k++] = (lp_geom_point){hi, (double)j + 1};
        s->row_hi[j] = -1;
    }
    return k;
}

/* The rectangle r grown by d on every side (corners stay in order). */
static void unclip(lp_geom_point r[4], double ratio)
{
    double w = hypot(r[1].x - r[0].x, r[1].y - r[0].y), h = hypot(r[2].x - r[1].x, r[2].y - r[1].y);
    if (w <= 0 || h <= 0)
        return;
    double d = w * h * ratio / (2 * (w + h));
    double ux = (r[1].x - r[0].x) / w, uy = (r[1].y - r[0].y) / w; /* along the first side */
    double vx = (r[2].x - r[1].x) / h, vy = (r[2].y - r[1].y) / h; /* along the second */
    const int su[4] = {-1, 1, 1, -1}, sv[4] = {-1, -1, 1, 1};
    for (int i = 0; i < 4; i++) {
        r[i].x += d * (su[i] * ux + sv[i] * vx);
        r[i].y += d * (su[i] * uy + sv[i] * vy);
    }
}

/* Region cells (n of them, summing sum) as a detection; 0 when it is dropped, -1 out of memory. */
static int region_det(const lp_model_spec *spec, const lp_model_fit *fit, size_t w, size_t h, text_scratch *s,
                      size_t n, double sum, lp_arena *a, lp_model_det *d, lp_error *err)
{
    lp_geom_point r[4];
    double score = sum / (double)n, cw = (double)fit->dst_w / (double)w, ch = (double)fit->dst_h / (double)h;
    size_t k = region_corners(s->queue, n, w, s);
    lp_model_min_rect(s->corners, k, r);
    double side = fmin(hypot(r[1].x - r[0].x, r[1].y - r[0].y), hypot(r[2].x - r[1].x, r[2].y - r[1].y));
    if (side < spec->output.min_size || !(score >= spec->score_threshold))
        return 0;
    unclip(r, spec->output.unclip_ratio);
    lp_geom_point *pts = lp_arena_alloc(a, sizeof r);
    lp_geom_path *path = lp_arena_alloc(a, sizeof *path);
    if (!pts || !path)
        return lp_error_set(err, LP_E_NOMEM, "out of memory decoding the model's text regions");
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int i = 0; i < 4; i++) {
        pts[i] = r[i];
        lp_model_grid_unmap(fit, 0, 0, cw, ch, &pts[i]);
        x0 = fmin(x0, pts[i].x);
        y0 = fmin(y0, pts[i].y);
        x1 = fmax(x1, pts[i].x);
        y1 = fmax(y1, pts[i].y);
    }
    if (!(x1 > x0 && y1 > y0))
        return 0;
    *path = (lp_geom_path){pts, 4};
    *d = (lp_model_det){.x = x0, .y = y0, .w = x1 - x0, .h = y1 - y0, .score = (float)fmin(score, 1),
                        .shape = {.type = LP_GEOM_POLYGON, .u.polygon = {path, 1}}};
    return 1;
}

long lp_model_decode_text(const lp_model_spec *spec, const lp_model_fit *fit, const float *map, size_t map_w,
                          size_t map_h, lp_arena *a, lp_model_det **out, lp_error *err)
{
    size_t cells = map_w * map_h, cap = 16, m = 0;
    text_scratch s = {0};
    lp_model_det *dets = NULL;
    double cw = map_w ? (double)fit->dst_w / (double)map_w : 0, ch = map_h ? (double)fit->dst_h / (double)map_h : 0;
    long rc = -1;

    *out = NULL;
    if (cells == 0 || cells > UINT32_MAX)
        return lp_error_set(err, LP_E_INVALID, "the model's probability map is %zu × %zu", map_w, map_h);
    if (!(s.on = malloc(cells)) || !(s.queue = malloc(cells * sizeof *s.queue)) ||
        !(s.row_lo = malloc(map_h * sizeof *s.row_lo)) || !(s.row_hi = malloc(map_h * sizeof *s.row_hi)) ||
        !(s.corners = malloc(4 * map_h * sizeof *s.corners)) || !(dets = lp_arena_alloc(a, cap * sizeof *dets))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory decoding the model's text regions");
        goto done;
    }
    for (size_t j = 0; j < map_h; j++) {
        s.row_hi[j] = -1;
        for (size_t i = 0; i < map_w; i++)
            s.on[j * map_w + i] = map[j * map_w + i] > spec->output.binary_threshold &&
                                  lp_model_grid_on_image(fit, 0, 0, cw, ch, i, j);
    }
    for (size_t c = 0; c < cells; c++) {
        size_t n;
        int got;
        if (!s.on[c])
            continue;
        double sum = flood(map, map_w, map_h, &s, c, &n);
        if (m == cap) {
            lp_model_det *more = lp_arena_alloc(a, 2 * cap * sizeof *more);
            if (!more) {
                lp_error_set(err, LP_E_NOMEM, "out of memory decoding the model's text regions");
                goto done;
            }
            for (size_t i = 0; i < m; i++)
                more[i] = dets[i];
            dets = more;
            cap *= 2;
        }
        if ((got = region_det(spec, fit, map_w, map_h, &s, n, sum, a, &dets[m], err)) < 0)
            goto done;
        dets[m].index = m;
        m += (size_t)got;
    }
    /* best first, at most max_detections (regions never overlap: nothing is suppressed) */
    rc = (long)lp_model_nms(dets, m, 1.0, (size_t)spec->output.max_detections);
    *out = dets;

done:
    scratch_free(&s);
    return rc;
}
