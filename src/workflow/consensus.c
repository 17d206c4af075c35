/* Consensus agreement of N annotators' work on one item, per class.
 * See include/loupe/workflow/consensus.h and docs/WORKFLOWS.md ("Consensus
 * agreement"). Scratch memory (candidate matches) comes from the heap and is
 * released before returning; the answer lives in the caller's arena. */
#include "loupe/workflow/consensus.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/geometry/measure.h"

/* One annotation as the comparison sees it. */
typedef struct shape {
    const lp_ann *ann;
    const lp_ann_body *body;   /* the image annotation, or a video annotation's first keyframe */
    size_t cls;                /* index into the classes */
    size_t who;                /* annotator */
    bool has_box;
    lp_geom_bbox box;
    double area;               /* polygons, rotated boxes: their area, to skip pairs that cannot reach the threshold */
} shape;

/* A pair of shapes that match well enough, one from each annotator. */
typedef struct cand {
    double iou;
    size_t a, b;               /* positions in the two groups */
} cand;

typedef struct scratch {
    cand *cands;
    size_t ncands, cap;
    bool *used;                /* a's taken, then b's */
    size_t used_cap;
} scratch;

static const lp_ann_body *body_of(const lp_ann *ann)
{
    if (!ann->video || ann->nframes == 0)
        return &ann->body;
    for (size_t f = 0; f < ann->nframes; f++)
        if (ann->frames[f].keyframe)
            return &ann->frames[f].body;
    return &ann->frames[0].body;
}

static bool same_slot(const lp_ann *a, const lp_ann *b)
{
    return (!a->slot && !b->slot) || (a->slot && b->slot && strcmp(a->slot, b->slot) == 0);
}

static bool box_of(const lp_ann_body *body, lp_geom_bbox *out)
{
    lp_error ignored;
    int t = body->geom.type;
    if (t < 0 || t >= (int)LP_GEOM_TYPE_COUNT || !lp_geom_type_has_geometry((lp_geom_type)t))
        return false;
    lp_error_clear(&ignored);
    return lp_geom_shape_bbox(&body->geom.shape, out, &ignored) == 0;
}

/* IoU of two boxes; two boxes without area (keypoints, straight lines) match only when equal. */
static double box_iou(const lp_geom_bbox *a, const lp_geom_bbox *b)
{
    if (a->w * a->h <= 0 && b->w * b->h <= 0)
        return a->x == b->x && a->y == b->y && a->w == b->w && a->h == b->h ? 1 : 0;
    return lp_geom_bbox_iou(a, b);
}

/* How well two shapes of one class match, 0..1 (*out), when it could reach thr. 0 or -1. */
static int similarity(const shape *x, const shape *y, double thr, size_t max_crossings, double *out, lp_error *err)
{
    int tx = x->body->geom.type, ty = y->body->geom.type;
    *out = 0;
    if (!same_slot(x->ann, y->ann))
        return 0;
    if (tx == LP_GEOM_TAG || ty == LP_GEOM_TAG || tx == LP_GEOM_TEXT || ty == LP_GEOM_TEXT) {
        if (tx == ty && tx == LP_GEOM_TAG)
            *out = 1;
        else if (tx == ty && x->body->geom.raw_len == y->body->geom.raw_len &&
                 (x->body->geom.raw_len == 0 || memcmp(x->body->geom.raw, y->body->geom.raw, x->body->geom.raw_len) == 0))
            *out = 1;
        return 0;
    }
    if (!x->has_box || !y->has_box)
        return 0;
    lp_geom_quad qx, qy;
    lp_geom_polygon px, py;
    if (!lp_geom_shape_region(&x->body->geom.shape, &qx, &px) || !lp_geom_shape_region(&y->body->geom.shape, &qy, &py)) {
        *out = box_iou(&x->box, &y->box);
        return 0;
    }
    /* Two regions (polygons, rotated boxes): their overlap is at most that of their boxes, their union at least the larger. */
    lp_geom_bbox i = {fmax(x->box.x, y->box.x), fmax(x->box.y, y->box.y), 0, 0};
    i.w = fmin(x->box.x + x->box.w, y->box.x + y->box.w) - i.x;
    i.h = fmin(x->box.y + x->box.h, y->box.y + y->box.h) - i.y;
    double larger = fmax(x->area, y->area);
    if (i.w <= 0 || i.h <= 0 || larger <= 0 || i.w * i.h / larger < thr)
        return 0;
    return lp_geom_polygon_iou(&px, &py, max_crossings, out, err);
}

static int cand_cmp(const void *p, const void *q)
{
    const cand *a = p, *b = q;
    if (a->iou != b->iou)
        return a->iou > b->iou ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

static int push(scratch *s, cand c, lp_error *err)
{
    if (s->ncands == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        cand *p = realloc(s->cands, cap * sizeof *p);
        if (!p)
            return lp_error_set(err, LP_E_NOMEM, "out of memory comparing annotators' work");
        s->cands = p;
        s->cap = cap;
    }
    s->cands[s->ncands++] = c;
    return 0;
}

/* The score of one pair of annotators on one class: their shapes A and B (na, nb of them)
 * matched one to one, greedily by decreasing IoU. */
static int pair_score(const shape *const *A, size_t na, const shape *const *B, size_t nb, double thr,
                      size_t max_crossings, scratch *s, double *out, lp_error *err)
{
    size_t matches = 0;
    if (na + nb == 0) {
        *out = 1;
        return 0;
    }
    s->ncands = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++) {
            double iou;
            if (similarity(A[i], B[j], thr, max_crossings, &iou, err) != 0)
                return -1;
            if (iou >= thr && iou > 0 && push(s, (cand){iou, i, j}, err) != 0)
                return -1;
        }
    if (na + nb > s->used_cap) {
        bool *u = realloc(s->used, na + nb);
        if (!u)
            return lp_error_set(err, LP_E_NOMEM, "out of memory comparing annotators' work");
        s->used = u;
        s->used_cap = na + nb;
    }
    memset(s->used, 0, na + nb);
    qsort(s->cands, s->ncands, sizeof *s->cands, cand_cmp);
    for (size_t k = 0; k < s->ncands; k++) {
        const cand *c = &s->cands[k];
        if (!s->used[c->a] && !s->used[na + c->b]) {
            s->used[c->a] = s->used[na + c->b] = true;
            matches++;
        }
    }
    *out = 2.0 * (double)matches / (double)(na + nb);
    return 0;
}

int lp_wf_consensus(const lp_wf_work *work, size_t n, double iou_threshold, double agreement_threshold,
                    size_t max_crossings, lp_arena *a, lp_wf_agreement *out, lp_error *err)
{
    int rc = -1;
    scratch s = {0};
    size_t nshapes = 0, nclasses = 0;
    shape *shapes = NULL;
    const shape **grouped = NULL;
    size_t *start = NULL; /* start[c * n + p]: first of class c by annotator p in grouped */
    memset(out, 0, sizeof *out);
    if (n < 2)
        return lp_error_set(err, LP_E_INVALID, "consensus needs the work of at least 2 annotators, not %zu", n);
    for (size_t p = 0; p < n; p++)
        nshapes += work[p].nanns;
    const char **class_ids = lp_arena_calloc(a, nshapes + 1, sizeof *class_ids);
    out->per_annotator = lp_arena_calloc(a, n, sizeof *out->per_annotator);
    if (!class_ids || !out->per_annotator || !(shapes = calloc(nshapes + 1, sizeof *shapes)))
        goto nomem;

    /* The shapes, each with its class in first-seen order (raster layers are the masks' sum: skipped). */
    size_t m = 0;
    for (size_t p = 0; p < n; p++)
        for (size_t k = 0; k < work[p].nanns; k++) {
            const lp_ann *ann = &work[p].anns[k];
            if (!ann->class_id || ann->type == LP_ANN_RASTER_LAYER)
                continue;
            shape *sh = &shapes[m++];
            sh->ann = ann;
            sh->body = body_of(ann);
            sh->who = p;
            for (sh->cls = 0; sh->cls < nclasses && strcmp(class_ids[sh->cls], ann->class_id) != 0; sh->cls++)
                ;
            if (sh->cls == nclasses)
                class_ids[nclasses++] = ann->class_id;
            sh->has_box = box_of(sh->body, &sh->box);
            lp_error ignored;
            if (sh->has_box && (sh->body->geom.type == LP_GEOM_POLYGON || sh->body->geom.type == LP_GEOM_ROTATED_BOX))
                lp_geom_shape_area(&sh->body->geom.shape, &sh->area, &ignored);
        }
    nshapes = m;

    /* Grouped by class, then annotator (a counting sort). */
    if (!(start = calloc(nclasses * n + 1, sizeof *start)) || !(grouped = calloc(nshapes + 1, sizeof *grouped)))
        goto nomem;
    for (size_t i = 0; i < nshapes; i++)
        start[shapes[i].cls * n + shapes[i].who + 1]++;
    for (size_t g = 1; g <= nclasses * n; g++)
        start[g] += start[g - 1];
    {
        size_t *fill = calloc(nclasses * n + 1, sizeof *fill);
        if (!fill)
            goto nomem;
        for (size_t i = 0; i < nshapes; i++) {
            size_t g = shapes[i].cls * n + shapes[i].who;
            grouped[start[g] + fill[g]++] = &shapes[i];
        }
        free(fill);
    }

    out->classes = lp_arena_calloc(a, nclasses + 1, sizeof *out->classes);
    if (!out->classes)
        goto nomem;
    out->nclasses = nclasses;
    out->score = 1;
    for (size_t c = 0; c < nclasses; c++) {
        double sum = 0;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                size_t gp = c * n + p, gq = c * n + q;
                double score;
                if (pair_score(grouped + start[gp], start[gp + 1] - start[gp], grouped + start[gq],
                               start[gq + 1] - start[gq], iou_threshold, max_crossings, &s, &score, err) != 0)
                    goto cleanup;
                sum += score;
                out->per_annotator[p] += score;
                out->per_annotator[q] += score;
            }
        out->classes[c] = (lp_wf_class_score){class_ids[c], sum / (double)(n * (n - 1) / 2)};
        if (out->classes[c].score < out->score)
            out->score = out->classes[c].score;
    }
    for (size_t p = 0; p < n; p++) {
        out->per_annotator[p] = nclasses ? out->per_annotator[p] / (double)((n - 1) * nclasses) : 1;
        if (out->per_annotator[p] > out->per_annotator[out->best])
            out->best = p;
    }
    out->agree = out->score >= agreement_threshold;
    rc = 0;
    goto cleanup;
nomem:
    lp_error_set(err, LP_E_NOMEM, "out of memory comparing the work of %zu annotators", n);
cleanup:
    free(s.cands);
    free(s.used);
    free(grouped);
    free(start);
    free(shapes);
    return rc;
}
