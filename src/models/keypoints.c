/* The keypoints decoder: per-instance points to skeletons. See loupe/models/shapes.h. */
#include <math.h>

#include "loupe/models/shapes.h"

long lp_model_decode_keypoints(const lp_model_spec *spec, const lp_model_fit *fit, const float *boxes,
                               const float *scores, size_t n, const float *points, size_t npoints, lp_arena *a,
                               lp_model_det **out, lp_error *err)
{
    size_t kc = (size_t)spec->output.keypoints_count, len = n && kc ? npoints / (n * kc) : 0;
    int norm = spec->output.box_format != LP_BOX_XYXY;
    lp_model_det *dets;
    long k;

    *out = NULL;
    if ((len != 2 && len != 3) || npoints != n * kc * len)
        return lp_error_set(err, LP_E_INVALID,
                            "the model gives %zu keypoint values for %zu candidates; keypoints_count %zu needs 2 or "
                            "3 values a point",
                            npoints, n, kc);
    if (!(dets = lp_arena_calloc(a, n ? n : 1, sizeof *dets)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory decoding the model's keypoints");
    if ((k = lp_model_decode_bsc(spec, fit, boxes, scores, NULL, n, dets, err)) < 0)
        return -1;
    for (long i = 0; i < k; i++) {
        lp_geom_skeleton_node *nodes = lp_arena_calloc(a, kc, sizeof *nodes);
        const float *p = points + dets[i].index * kc * len;
        if (!nodes)
            return lp_error_set(err, LP_E_NOMEM, "out of memory decoding the model's keypoints");
        for (size_t j = 0; j < kc; j++, p += len) {
            double x, y;
            lp_model_fit_unmap(fit, p[0] * (norm ? fit->dst_w : 1.0), p[1] * (norm ? fit->dst_h : 1.0), &x, &y);
            nodes[j].x = fmin(fmax(x, 0), fit->src_w);
            nodes[j].y = fmin(fmax(y, 0), fit->src_h);
            nodes[j].occluded = len == 3 && !(p[2] >= spec->output.keypoint_threshold);
        }
        dets[i].shape.type = LP_GEOM_SKELETON;
        dets[i].shape.u.skeleton = (lp_geom_skeleton){nodes, kc};
    }
    *out = dets;
    return k;
}

void lp_model_keypoints_name(lp_model_det *d, const char *const *names, size_t nnames)
{
    lp_geom_skeleton *s = &d->shape.u.skeleton;
    if (d->shape.type != LP_GEOM_SKELETON)
        return;
    if (nnames == s->nnodes) {
        for (size_t i = 0; i < nnames; i++)
            s->nodes[i].name = names[i];
    } else if (nnames == 0 && s->nnodes == 1) {
        lp_geom_point p = {s->nodes[0].x, s->nodes[0].y};
        d->shape.type = LP_GEOM_KEYPOINT;
        d->shape.u.keypoint = p;
    }
}
