/* The logits decoder: a classifier's outputs to tags. See loupe/models/shapes.h. */
#include <math.h>

#include "loupe/models/shapes.h"

long lp_model_decode_logits(const lp_model_spec *spec, const lp_model_fit *fit, const float *logits, size_t n,
                            lp_arena *a, lp_model_det **out, lp_error *err)
{
    size_t nlabels = json_array_size(spec->labels), kept = 0;
    double *p = lp_arena_alloc(a, (n ? n : 1) * sizeof *p), top = -INFINITY, sum = 0;
    lp_model_det *dets = lp_arena_calloc(a, n ? n : 1, sizeof *dets);
    char *taken = lp_arena_calloc(a, n ? n : 1, 1);
    float *probs = lp_arena_alloc(a, (n ? n : 1) * sizeof *probs); /* every tag's per-class probabilities */

    *out = NULL;
    if (n != nlabels)
        return lp_error_set(err, LP_E_INVALID, "the model gives %zu class values; it has %zu labels", n, nlabels);
    if (!p || !dets || !taken || !probs)
        return lp_error_set(err, LP_E_NOMEM, "out of memory decoding the model's classes");
    for (size_t i = 0; i < n; i++)
        top = fmax(top, logits[i]);
    for (size_t i = 0; i < n; i++) {
        p[i] = spec->output.softmax ? exp((double)logits[i] - top) : fmin(fmax(logits[i], 0), 1);
        sum += p[i];
    }
    for (size_t i = 0; i < n; i++)
        probs[i] = (float)(spec->output.softmax ? (sum > 0 ? p[i] / sum : 0) : p[i]);
    while (kept < (size_t)spec->output.top_k) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) /* the best not taken yet; ties: the first label */
            if (!taken[i] && (best == n || p[i] > p[best]))
                best = i;
        if (best == n)
            break;
        double score = spec->output.softmax ? (sum > 0 ? p[best] / sum : 0) : p[best];
        if (!(score >= spec->score_threshold))
            break;
        taken[best] = 1;
        dets[kept++] = (lp_model_det){.w = fit->src_w, .h = fit->src_h, .score = (float)score, .label = (int)best,
                                      .shape = {.type = LP_GEOM_TAG}, .index = best, .probs = probs, .nprobs = n};
    }
    *out = dets;
    return (long)kept;
}
