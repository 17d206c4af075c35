/* Active-learning scores. See loupe/models/score.h. */
#include "loupe/models/score.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

void lp_model_uncertainty_of(const double *q, size_t n, lp_model_uncertainty *out)
{
    double sum = 0, p1 = 0, p2 = 0, h = 0;
    for (size_t i = 0; i < n; i++)
        sum += q[i] > 0 ? q[i] : 0;
    for (size_t i = 0; i < n; i++) {
        double p = sum > 0 ? (q[i] > 0 ? q[i] / sum : 0) : 1.0 / (double)n;
        if (p > p1) {
            p2 = p1;
            p1 = p;
        } else if (p > p2) {
            p2 = p;
        }
        if (p > 0)
            h -= p * log(p);
    }
    out->least_confidence = 1 - p1;
    out->margin = 1 - (p1 - p2);
    out->entropy = n > 1 ? fmin(1, h / log((double)n)) : 0; /* rounding could pass 1 for a uniform p */
}

void lp_model_det_uncertainty(const lp_model_det *d, lp_model_uncertainty *out)
{
    double two[2] = {d->score, 1.0 - d->score};
    if (!d->probs || d->nprobs == 0) {
        lp_model_uncertainty_of(two, 2, out);
        return;
    }
    double stack[64], *q = d->nprobs <= 64 ? stack : malloc(d->nprobs * sizeof *q);
    if (!q) { /* out of memory: the detection's own score stands for it */
        lp_model_uncertainty_of(two, 2, out);
        return;
    }
    for (size_t i = 0; i < d->nprobs; i++)
        q[i] = d->probs[i];
    lp_model_uncertainty_of(q, d->nprobs, out);
    if (q != stack)
        free(q);
}

void lp_model_item_uncertainty(const lp_model_det *dets, size_t n, lp_model_uncertainty *out)
{
    *out = (lp_model_uncertainty){0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        lp_model_uncertainty u;
        lp_model_det_uncertainty(&dets[i], &u);
        out->least_confidence = fmax(out->least_confidence, u.least_confidence);
        out->margin = fmax(out->margin, u.margin);
        out->entropy = fmax(out->entropy, u.entropy);
    }
}

void lp_model_l2_normalise(float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    if (s <= 0)
        return;
    s = sqrt(s);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(v[i] / s);
}

static double dist(const float *a, const float *b, size_t d)
{
    double s = 0;
    for (size_t k = 0; k < d; k++) {
        double t = (double)a[k] - b[k];
        s += t * t;
    }
    return sqrt(s);
}

typedef struct rest_entry {
    double novelty;
    size_t index;
} rest_entry;

static int rest_cmp(const void *x, const void *y)
{
    const rest_entry *a = x, *b = y;
    if (a->novelty != b->novelty)
        return a->novelty > b->novelty ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* splitmix64: a fixed, well-mixed hash of one 64-bit value. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void lp_model_project(const float *v, size_t d, float *out, size_t k)
{
    for (size_t j = 0; j < k; j++) {
        double sum = 0;
        for (size_t i = 0; i < d; i++) {
            uint64_t bits = mix64(((uint64_t)j << 32) ^ (uint64_t)i);
            sum += (bits >> 63) ? v[i] : -v[i];
        }
        out[j] = (float)sum;
    }
    lp_model_l2_normalise(out, k);
}

int lp_model_kcenter(const float *x, size_t n, size_t d, size_t picks, size_t *order, double *novelty,
                     lp_error *err)
{
    float *centroid = calloc(d ? d : 1, sizeof *centroid);
    double *sum = calloc(d ? d : 1, sizeof *sum);
    unsigned char *picked = calloc(n ? n : 1, 1);
    rest_entry *rest = NULL;
    size_t k = 0;
    int rc = -1;

    if (!centroid || !sum || !picked) {
        lp_error_set(err, LP_E_NOMEM, "out of memory ranking %zu embeddings", n);
        goto done;
    }
    if (picks == 0 || picks > n)
        picks = n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            sum[j] += x[i * d + j];
    for (size_t j = 0; n && j < d; j++)
        centroid[j] = (float)(sum[j] / (double)n);
    /* novelty[i]: the distance from i to the nearest centre so far (the centroid first) */
    for (size_t i = 0; i < n; i++)
        novelty[i] = dist(x + i * d, centroid, d);
    for (; k < picks; k++) {
        size_t best = n;
        for (size_t i = 0; i < n; i++)
            if (!picked[i] && (best == n || novelty[i] > novelty[best]))
                best = i;
        picked[best] = 1;
        order[k] = best;
        for (size_t i = 0; i < n; i++)
            if (!picked[i]) {
                double t = dist(x + i * d, x + best * d, d);
                if (t < novelty[i])
                    novelty[i] = t;
            }
    }
    if (k < n) {
        size_t m = 0;
        if (!(rest = malloc((n - k) * sizeof *rest))) {
            lp_error_set(err, LP_E_NOMEM, "out of memory ranking %zu embeddings", n);
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            if (!picked[i])
                rest[m++] = (rest_entry){novelty[i], i};
        qsort(rest, m, sizeof *rest, rest_cmp);
        for (size_t i = 0; i < m; i++)
            order[k + i] = rest[i].index;
    }
    rc = 0;

done:
    free(rest);
    free(picked);
    free(sum);
    free(centroid);
    return rc;
}

void lp_model_descriptor(const uint8_t *rgb, int w, int h, size_t stride, float out[LP_MODEL_DESCRIPTOR_DIMS])
{
    double colour[64] = {0}, grad[8] = {0}, pixels = 0, weight = 0;
    int side = w > h ? w : h, step = (side + LP_MODEL_DESCRIPTOR_SIDE - 1) / LP_MODEL_DESCRIPTOR_SIDE;
    if (step < 1)
        step = 1;
    for (int y = 0; y < h; y += step) {
        for (int x = 0; x < w; x += step) {
            const uint8_t *p = rgb + (size_t)y * stride + (size_t)x * 3;
            colour[16 * (p[0] >> 6) + 4 * (p[1] >> 6) + (p[2] >> 6)] += 1;
            pixels += 1;
            if (x + step >= w || y + step >= h)
                continue;
            const uint8_t *r = p + (size_t)step * 3, *b = p + (size_t)step * stride;
            double g0 = (p[0] + p[1] + p[2]) / 3.0;
            double gx = (r[0] + r[1] + r[2]) / 3.0 - g0, gy = (b[0] + b[1] + b[2]) / 3.0 - g0;
            double m = sqrt(gx * gx + gy * gy);
            if (m <= 0)
                continue;
            double a = atan2(gy, gx);
            if (a < 0)
                a += 2 * PI;
            int bin = (int)(a / (PI / 4));
            grad[bin > 7 ? 7 : bin] += m;
            weight += m;
        }
    }
    for (int i = 0; i < 64; i++)
        out[i] = pixels > 0 ? (float)(colour[i] / pixels) : 0;
    for (int i = 0; i < 8; i++)
        out[64 + i] = weight > 0 ? (float)(grad[i] / weight) : 0;
    lp_model_l2_normalise(out, LP_MODEL_DESCRIPTOR_DIMS);
}
