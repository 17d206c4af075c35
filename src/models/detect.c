/* From a detector's output tensors to boxes. See loupe/models/detect.h. */
#include "loupe/models/detect.h"

#include <math.h>
#include <stdlib.h>

void lp_model_box_to_xyxy(lp_model_box_format f, const float b[4], int w, int h, double out[4])
{
    switch (f) {
    case LP_BOX_XYXY:
        for (int i = 0; i < 4; i++)
            out[i] = b[i];
        break;
    case LP_BOX_XYXY_NORM:
        out[0] = b[0] * (double)w;
        out[1] = b[1] * (double)h;
        out[2] = b[2] * (double)w;
        out[3] = b[3] * (double)h;
        break;
    case LP_BOX_CXCYWH_NORM:
        out[0] = (b[0] - b[2] / 2.0) * w;
        out[1] = (b[1] - b[3] / 2.0) * h;
        out[2] = (b[0] + b[2] / 2.0) * w;
        out[3] = (b[1] + b[3] / 2.0) * h;
        break;
    }
}

static double iou(const lp_model_det *a, const lp_model_det *b)
{
    double ix = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x);
    double iy = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y);
    if (ix <= 0 || iy <= 0)
        return 0;
    double inter = ix * iy, uni = a->w * a->h + b->w * b->h - inter;
    return uni > 0 ? inter / uni : 0;
}

static int by_score(const void *pa, const void *pb)
{
    const lp_model_det *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return 0;
}

size_t lp_model_nms(lp_model_det *dets, size_t n, double max_iou, size_t max)
{
    size_t kept = 0;
    for (size_t i = 1; i < n; i++) { /* insertion sort: stable (ties keep their order) */
        lp_model_det d = dets[i];
        size_t j = i;
        while (j > 0 && by_score(&dets[j - 1], &d) > 0) {
            dets[j] = dets[j - 1];
            j--;
        }
        dets[j] = d;
    }
    for (size_t i = 0; i < n && kept < max; i++) {
        int keep = 1;
        for (size_t k = 0; k < kept && keep; k++)
            keep = !(dets[k].label == dets[i].label && iou(&dets[k], &dets[i]) > max_iou);
        if (keep)
            dets[kept++] = dets[i];
    }
    return kept;
}

/* A box in tensor pixels (xyxy) back on the source image, clipped: 1 when not empty. */
static int unmap_box(const lp_model_fit *fit, const double xyxy[4], double b[4])
{
    double x0, y0, x1, y1;
    lp_model_fit_unmap(fit, xyxy[0], xyxy[1], &x0, &y0);
    lp_model_fit_unmap(fit, xyxy[2], xyxy[3], &x1, &y1);
    b[0] = fmin(fmax(x0, 0), fit->src_w);
    b[2] = fmin(fmax(x1, 0), fit->src_w);
    b[1] = fmin(fmax(y0, 0), fit->src_h);
    b[3] = fmin(fmax(y1, 0), fit->src_h);
    return b[2] > b[0] && b[3] > b[1]; /* else empty, or wholly in the letterbox bars */
}

/* Candidates to detections: scores holds per values a candidate — one score (its label from
 * classes), or one per label (the label the highest, its row the probabilities). */
static long decode_candidates(const lp_model_spec *spec, const lp_model_fit *fit, const float *boxes,
                              const float *scores, size_t per, const float *classes, size_t n, lp_model_det *out,
                              lp_error *err)
{
    size_t m = 0, nlabels = json_array_size(spec->labels);
    for (size_t i = 0; i < n; i++) {
        const float *row = scores + per * i;
        size_t best = 0;
        for (size_t k = 1; k < per; k++)
            if (row[k] > row[best])
                best = k;
        float s = row[best];
        if (!(s >= spec->score_threshold))
            continue;
        double c = per > 1 ? (double)best : classes ? classes[i] : 0, xyxy[4];
        if (!(c >= 0 && c < (double)nlabels) || c != floor(c))
            return lp_error_set(err, LP_E_INVALID, "detection %zu has class %g; the model has %zu labels", i, c,
                                nlabels);
        lp_model_box_to_xyxy(spec->output.box_format, boxes + 4 * i, fit->dst_w, fit->dst_h, xyxy);
        double b[4];
        if (unmap_box(fit, xyxy, b))
            out[m++] = (lp_model_det){.x = b[0], .y = b[1], .w = b[2] - b[0], .h = b[3] - b[1],
                                      .score = s > 1 ? 1 : s, .label = (int)c, .index = i,
                                      .probs = per > 1 ? row : NULL, .nprobs = per > 1 ? per : 0};
    }
    return (long)lp_model_nms(out, m, spec->nms_iou, (size_t)spec->output.max_detections);
}

long lp_model_decode_bsc(const lp_model_spec *spec, const lp_model_fit *fit, const float *boxes, const float *scores,
                         const float *classes, size_t n, lp_model_det *out, lp_error *err)
{
    return decode_candidates(spec, fit, boxes, scores, 1, classes, n, out, err);
}

long lp_model_decode_bsc_probs(const lp_model_spec *spec, const lp_model_fit *fit, const float *boxes,
                               const float *probs, size_t n, lp_model_det *out, lp_error *err)
{
    size_t nlabels = json_array_size(spec->labels);
    if (nlabels < 2)
        return lp_error_set(err, LP_E_INVALID, "per-class scores need at least two labels");
    return decode_candidates(spec, fit, boxes, probs, nlabels, NULL, n, out, err);
}

static int cells(int side, int stride)
{
    return (side + stride - 1) / stride;
}

size_t lp_model_ssd_anchor_count(const lp_model_spec *spec)
{
    const lp_model_output *o = &spec->output;
    size_t n = 0;
    for (size_t i = 0; i < o->nstrides; i++)
        n += (size_t)cells(spec->input.width, o->strides[i]) * (size_t)cells(spec->input.height, o->strides[i]) *
             (size_t)o->anchors_per_cell[i];
    return n;
}

long lp_model_decode_ssd(const lp_model_spec *spec, const lp_model_fit *fit, const float *boxes, size_t box_len,
                         const float *scores, size_t n, lp_model_det *out, lp_error *err)
{
    const lp_model_output *o = &spec->output;
    double side = o->box_scale > 0 ? o->box_scale : spec->input.width;
    size_t a = 0, m = 0, want = lp_model_ssd_anchor_count(spec);

    if (n != want || box_len < 4)
        return lp_error_set(err, LP_E_INVALID,
                            "the model gives %zu anchors of %zu values; its strides and anchors_per_cell make %zu of "
                            "at least 4",
                            n, box_len, want);
    for (size_t k = 0; k < o->nstrides; k++) {
        int cx = cells(spec->input.width, o->strides[k]), cy = cells(spec->input.height, o->strides[k]);
        for (int row = 0; row < cy; row++) {
            for (int col = 0; col < cx; col++) {
                for (int j = 0; j < o->anchors_per_cell[k]; j++, a++) {
                    double s = scores[a];
                    if (o->score_sigmoid)
                        s = 1.0 / (1.0 + exp(-fmin(fmax(s, -100.0), 100.0)));
                    if (!(s >= spec->score_threshold))
                        continue;
                    const float *v = boxes + a * box_len;
                    /* centre and size, 0–1 of the input */
                    double ax = (col + 0.5) / cx, ay = (row + 0.5) / cy;
                    double ccx = ax + v[0] / side, ccy = ay + v[1] / side, w = v[2] / side, h = v[3] / side;
                    double xyxy[4] = {(ccx - w / 2) * fit->dst_w, (ccy - h / 2) * fit->dst_h,
                                      (ccx + w / 2) * fit->dst_w, (ccy + h / 2) * fit->dst_h};
                    double b[4];
                    if (unmap_box(fit, xyxy, b))
                        out[m++] = (lp_model_det){.x = b[0], .y = b[1], .w = b[2] - b[0], .h = b[3] - b[1],
                                                  .score = (float)(s > 1 ? 1 : s), .index = a};
                }
            }
        }
    }
    return (long)lp_model_nms(out, m, spec->nms_iou, (size_t)o->max_detections);
}

static void scale_point(double *x, double *y, double sx, double sy)
{
    *x *= sx;
    *y *= sy;
}

void lp_model_det_scale(lp_model_det *d, double sx, double sy)
{
    lp_geom_shape *s = &d->shape;
    scale_point(&d->x, &d->y, sx, sy);
    scale_point(&d->w, &d->h, sx, sy);
    switch (s->type) {
    case LP_GEOM_POLYGON:
        for (size_t i = 0; i < s->u.polygon.npaths; i++)
            for (size_t k = 0; k < s->u.polygon.paths[i].npoints; k++)
                scale_point(&s->u.polygon.paths[i].points[k].x, &s->u.polygon.paths[i].points[k].y, sx, sy);
        break;
    case LP_GEOM_SKELETON:
        for (size_t i = 0; i < s->u.skeleton.nnodes; i++)
            scale_point(&s->u.skeleton.nodes[i].x, &s->u.skeleton.nodes[i].y, sx, sy);
        break;
    case LP_GEOM_KEYPOINT: scale_point(&s->u.keypoint.x, &s->u.keypoint.y, sx, sy); break;
    default: break; /* a box is d's own; tags have no geometry */
    }
}

const char *lp_model_class_of(const lp_model_spec *spec, int label)
{
    const json_t *name = json_array_get(spec->labels, (size_t)label);
    return name && spec->class_map ? json_string_value(json_object_get(spec->class_map, json_string_value(name)))
                                   : NULL;
}
