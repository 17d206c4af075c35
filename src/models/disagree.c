/* Disagreement of predictions with human annotations. See
 * loupe/models/disagree.h. */
#include "loupe/models/disagree.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/geometry/measure.h"

typedef struct side {
    const lp_dis_shape *s;
    lp_geom_bbox box;
    bool compared;
    bool matched;
} side;

/* The shapes of one side with their boxes (arena). */
static side *sides(const lp_dis_shape *in, size_t n, lp_arena *a)
{
    side *out = lp_arena_calloc(a, n + 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++) {
        lp_error ignored;
        lp_error_clear(&ignored);
        out[i].s = &in[i];
        out[i].compared = in[i].shape && in[i].class_id &&
                          lp_geom_shape_bbox(in[i].shape, &out[i].box, &ignored) == 0;
    }
    return out;
}

static bool same(const char *x, const char *y)
{
    return x && y ? strcmp(x, y) == 0 : x == y;
}

/* IoU of two boxes; two boxes without area match only when equal. */
static double box_iou(const lp_geom_bbox *a, const lp_geom_bbox *b)
{
    if (a->w * a->h <= 0 && b->w * b->h <= 0)
        return a->x == b->x && a->y == b->y && a->w == b->w && a->h == b->h ? 1 : 0;
    return lp_geom_bbox_iou(a, b);
}

static int iou_of(const side *h, const side *p, size_t max_crossings, double *out, lp_error *err)
{
    lp_geom_quad qh, qp;
    lp_geom_polygon ph, pp;
    *out = box_iou(&h->box, &p->box);
    if (*out <= 0 || !lp_geom_shape_region(h->s->shape, &qh, &ph) || !lp_geom_shape_region(p->s->shape, &qp, &pp))
        return 0;
    return lp_geom_polygon_iou(&ph, &pp, max_crossings, out, err);
}

static int match_cmp(const void *x, const void *y)
{
    const lp_dis_match *a = x, *b = y;
    if (a->iou != b->iou)
        return a->iou > b->iou ? -1 : 1;
    if (a->human != b->human)
        return a->human < b->human ? -1 : 1;
    return (a->predicted > b->predicted) - (a->predicted < b->predicted);
}

static double f1_of(size_t matched, size_t missed, size_t extra)
{
    size_t d = 2 * matched + missed + extra;
    return d ? 2.0 * (double)matched / (double)d : 1.0;
}

/* The entry of class_id in out->classes, added when new (capacity cap). */
static lp_dis_class *class_entry(lp_disagreement *out, const char *class_id)
{
    for (size_t c = 0; c < out->nclasses; c++)
        if (strcmp(out->classes[c].class_id, class_id) == 0)
            return &out->classes[c];
    out->classes[out->nclasses] = (lp_dis_class){.class_id = class_id};
    return &out->classes[out->nclasses++];
}

static int class_cmp(const void *x, const void *y)
{
    return strcmp(((const lp_dis_class *)x)->class_id, ((const lp_dis_class *)y)->class_id);
}

int lp_disagreement_compute(const lp_dis_shape *human, size_t nh, const lp_dis_shape *predicted, size_t np,
                            double iou_threshold, size_t max_crossings, lp_arena *a, lp_disagreement *out,
                            lp_error *err)
{
    side *H = sides(human, nh, a), *P = sides(predicted, np, a);
    size_t cap = 16, n = 0;
    lp_dis_match *cand = lp_arena_calloc(a, cap, sizeof *cand);

    memset(out, 0, sizeof *out);
    out->classes = lp_arena_calloc(a, nh + np + 1, sizeof *out->classes);
    out->missed_idx = lp_arena_calloc(a, nh + 1, sizeof *out->missed_idx);
    out->extra_idx = lp_arena_calloc(a, np + 1, sizeof *out->extra_idx);
    if (!H || !P || !cand || !out->classes || !out->missed_idx || !out->extra_idx)
        return lp_error_set(err, LP_E_NOMEM, "out of memory comparing predictions");
    /* every pair of one class and slot that reaches the threshold */
    for (size_t i = 0; i < nh; i++)
        for (size_t j = 0; H[i].compared && j < np; j++) {
            double iou;
            if (!P[j].compared || !same(H[i].s->class_id, P[j].s->class_id) || !same(H[i].s->slot, P[j].s->slot))
                continue;
            if (iou_of(&H[i], &P[j], max_crossings, &iou, err) != 0)
                return -1;
            if (iou < iou_threshold || iou <= 0)
                continue;
            if (n == cap) {
                lp_dis_match *more = lp_arena_calloc(a, cap * 2, sizeof *more);
                if (!more)
                    return lp_error_set(err, LP_E_NOMEM, "out of memory comparing predictions");
                memcpy(more, cand, n * sizeof *cand);
                cand = more;
                cap *= 2;
            }
            cand[n++] = (lp_dis_match){i, j, iou};
        }
    qsort(cand, n, sizeof *cand, match_cmp);
    out->matches = cand;
    for (size_t k = 0; k < n; k++) {
        if (H[cand[k].human].matched || P[cand[k].predicted].matched)
            continue;
        H[cand[k].human].matched = P[cand[k].predicted].matched = true;
        cand[out->nmatches++] = cand[k]; /* in place: the kept ones never pass the one being read */
        class_entry(out, H[cand[k].human].s->class_id)->matched++;
    }
    for (size_t i = 0; i < nh; i++)
        if (H[i].compared && !H[i].matched) {
            out->missed_idx[out->missed++] = i;
            class_entry(out, H[i].s->class_id)->missed++;
        }
    for (size_t j = 0; j < np; j++)
        if (P[j].compared && !P[j].matched) {
            out->extra_idx[out->extra++] = j;
            class_entry(out, P[j].s->class_id)->extra++;
        }
    out->matched = out->nmatches;
    for (size_t c = 0; c < out->nclasses; c++)
        out->classes[c].f1 = f1_of(out->classes[c].matched, out->classes[c].missed, out->classes[c].extra);
    qsort(out->classes, out->nclasses, sizeof *out->classes, class_cmp);
    out->f1 = f1_of(out->matched, out->missed, out->extra);
    out->value = 1.0 - out->f1;
    return 0;
}
