/* Active-learning scores against hand-computed values; k-center greedy against a brute force over
 * every subset of small sets; the built-in image descriptor on images small enough to count by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/models/score.h"

#define NEAR(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-6)

static void expect(const lp_model_uncertainty *u, double lc, double margin, double entropy)
{
    NEAR(u->least_confidence, lc);
    NEAR(u->margin, margin);
    NEAR(u->entropy, entropy);
}

static void test_distributions(void **state)
{
    (void)state;
    lp_model_uncertainty u;
    /* p = (0.7, 0.2, 0.1): 1 − 0.7; 1 − (0.7 − 0.2);
     * −(0.7 ln 0.7 + 0.2 ln 0.2 + 0.1 ln 0.1) / ln 3 = 0.801819 / 1.098612 */
    const double a[] = {0.7, 0.2, 0.1};
    lp_model_uncertainty_of(a, 3, &u);
    expect(&u, 0.3, 0.5, 0.7298466992);
    /* normalised first: (2, 1, 1) → (0.5, 0.25, 0.25); (0.5 ln 2 + 0.5 ln 4) / ln 3 */
    const double b[] = {1, 2, 1};
    lp_model_uncertainty_of(b, 3, &u);
    expect(&u, 0.5, 0.75, 0.9463946304);
    /* one label: certain */
    const double c[] = {0.4};
    lp_model_uncertainty_of(c, 1, &u);
    expect(&u, 0, 0, 0);
    /* nothing: uniform over two */
    const double d[] = {0, 0};
    lp_model_uncertainty_of(d, 2, &u);
    expect(&u, 0.5, 1, 1);
    /* equal top two: margin 1 */
    const double e[] = {0.4, 0.4, 0.2};
    lp_model_uncertainty_of(e, 3, &u);
    NEAR(u.margin, 1);
}

static void test_detections_and_items(void **state)
{
    (void)state;
    lp_model_uncertainty u;
    /* one score: (0.75, 0.25) → 0.25, 0.5, −(0.75 ln 0.75 + 0.25 ln 0.25) / ln 2 */
    lp_model_det face = {.w = 1, .h = 1, .score = 0.75f};
    lp_model_det_uncertainty(&face, &u);
    expect(&u, 0.25, 0.5, 0.8112781245);
    const float probs[] = {0.5f, 0.3f, 0.2f};
    lp_model_det cat = {.w = 1, .h = 1, .score = 0.5f, .probs = probs, .nprobs = 3};
    lp_model_det_uncertainty(&cat, &u);
    expect(&u, 0.5, 0.8, 0.9372305632);
    /* the item: the most uncertain of each (0.9 alone: 0.1, 0.2, 0.468996) */
    lp_model_det dets[] = {{.w = 1, .h = 1, .score = 0.9f}, cat};
    lp_model_item_uncertainty(dets, 2, &u);
    expect(&u, 0.5, 0.8, 0.9372305632);
    lp_model_item_uncertainty(dets, 1, &u);
    expect(&u, 0.1, 0.2, 0.4689955936);
    lp_model_item_uncertainty(NULL, 0, &u);
    expect(&u, 0, 0, 0);
}

static void test_kcenter_by_hand(void **state)
{
    (void)state;
    /* 0, 1, 10: centroid 11/3. Distances to it 11/3, 8/3, 19/3: 10 first (19/3); then 0 (11/3 < 10);
     * then 1 (min(8/3, 9, 1) = 1). */
    const float x[] = {0, 1, 10};
    size_t order[3];
    double nov[3];
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_model_kcenter(x, 3, 1, 0, order, nov, &err), 0);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 0);
    assert_int_equal(order[2], 1);
    NEAR(nov[2], 19.0 / 3);
    NEAR(nov[0], 11.0 / 3);
    NEAR(nov[1], 1);
    /* one pick: the rest by distance to {centroid, 10}: 0 (11/3), then 1 (8/3) */
    assert_int_equal(lp_model_kcenter(x, 3, 1, 1, order, nov, &err), 0);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 0);
    assert_int_equal(order[2], 1);
    NEAR(nov[1], 8.0 / 3);
    /* nothing to rank */
    assert_int_equal(lp_model_kcenter(x, 0, 1, 0, order, nov, &err), 0);
}

static double dist(const float *a, const float *b, size_t d)
{
    double s = 0;
    for (size_t k = 0; k < d; k++)
        s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return sqrt(s);
}

/* max over points of the distance to the nearest of the centres (mask bits of points, plus c when not NULL) */
static double radius(const float *x, size_t n, size_t d, unsigned mask, const float *c)
{
    double r = 0;
    for (size_t i = 0; i < n; i++) {
        double m = c ? dist(x + i * d, c, d) : INFINITY;
        for (size_t j = 0; j < n; j++)
            if (mask & (1u << j))
                m = fmin(m, dist(x + i * d, x + j * d, d));
        r = fmax(r, m);
    }
    return r;
}

/* On random small sets: each pick is the farthest point from the centroid and the earlier picks
 * (recomputed by brute force), novelties never grow, and the greedy radius is within twice the
 * optimal k-center radius over all subsets of k points. */
static void test_kcenter_brute_force(void **state)
{
    (void)state;
    uint32_t seed = 12345;
    lp_error err;
    lp_error_clear(&err);
    for (int round = 0; round < 200; round++) {
        size_t n = 2 + (size_t)(round % 7), d = 1 + (size_t)(round % 3);
        float x[8 * 3], c[3] = {0, 0, 0};
        size_t order[8];
        double nov[8];
        for (size_t i = 0; i < n * d; i++) {
            seed = seed * 1103515245u + 12345u;
            x[i] = (float)((seed >> 16) % 1000) / 100.0f;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++)
                c[j] += x[i * d + j] / (float)n;
        for (size_t k = 1; k < n; k++) {
            assert_int_equal(lp_model_kcenter(x, n, d, k, order, nov, &err), 0);
            unsigned picked = 0;
            for (size_t p = 0; p < k; p++) {
                double best = -1;
                for (size_t i = 0; i < n; i++)
                    if (!(picked & (1u << i))) {
                        double m = dist(x + i * d, c, d);
                        for (size_t j = 0; j < n; j++)
                            if (picked & (1u << j))
                                m = fmin(m, dist(x + i * d, x + j * d, d));
                        best = fmax(best, m);
                    }
                assert_true(fabs(nov[order[p]] - best) < 1e-4);
                if (p > 0)
                    assert_true(nov[order[p]] <= nov[order[p - 1]] + 1e-9);
                picked |= 1u << order[p];
            }
            for (size_t p = k + 1; p < n; p++) /* the rest: by distance, highest first */
                assert_true(nov[order[p]] <= nov[order[p - 1]] + 1e-9);
            double greedy = radius(x, n, d, picked, c), opt = INFINITY;
            for (unsigned mask = 0; mask < (1u << n); mask++)
                if ((size_t)__builtin_popcount(mask) == k)
                    opt = fmin(opt, radius(x, n, d, mask, NULL));
            assert_true(greedy <= 2 * opt + 1e-6);
        }
        /* every index once */
        assert_int_equal(lp_model_kcenter(x, n, d, 0, order, nov, &err), 0);
        unsigned seen = 0;
        for (size_t p = 0; p < n; p++)
            seen |= 1u << order[p];
        assert_int_equal(seen, (1u << n) - 1);
    }
}

static void test_descriptor(void **state)
{
    (void)state;
    float v[LP_MODEL_DESCRIPTOR_DIMS];
    /* black, white / black, black: colour bins 0 (3 of 4) and 63 (1 of 4); the one pixel with both
     * neighbours (top left) has gx = 255, gy = 0: angle 0, bin 64 of weight 1. Then / √(0.75² + 0.25² + 1). */
    const uint8_t a[] = {0, 0, 0, 255, 255, 255, 0, 0, 0, 0, 0, 0};
    lp_model_descriptor(a, 2, 2, 6, v);
    double norm = sqrt(1.625);
    for (int i = 0; i < LP_MODEL_DESCRIPTOR_DIMS; i++) {
        double want = i == 0 ? 0.75 / norm : i == 63 ? 0.25 / norm : i == 64 ? 1 / norm : 0;
        NEAR(v[i], want);
    }
    /* white below: gx = 0, gy = 255: angle π/2, bin 64 + 2; a (128, 64, 200) pixel counts in 16·2 + 4·1 + 3 */
    const uint8_t b[] = {0, 0, 0, 0, 0, 0, 255, 255, 255, 128, 64, 200};
    lp_model_descriptor(b, 2, 2, 6, v);
    norm = sqrt(0.5 * 0.5 + 0.25 * 0.25 + 0.25 * 0.25 + 1);
    NEAR(v[0], 0.5 / norm);
    NEAR(v[63], 0.25 / norm);
    NEAR(v[39], 0.25 / norm);
    NEAR(v[66], 1 / norm);
    NEAR(v[64], 0);
    /* flat: one colour bin, no gradient; a row stride wider than the pixels is honoured */
    const uint8_t c[] = {70, 70, 70, 70, 70, 70, 9, 9, 70, 70, 70, 70, 70, 70, 9, 9};
    lp_model_descriptor(c, 2, 2, 8, v);
    for (int i = 0; i < LP_MODEL_DESCRIPTOR_DIMS; i++)
        NEAR(v[i], i == 16 + 4 + 1 ? 1 : 0);
}

static void test_l2(void **state)
{
    (void)state;
    float v[] = {3, 4}, z[] = {0, 0};
    lp_model_l2_normalise(v, 2);
    NEAR(v[0], 0.6);
    NEAR(v[1], 0.8);
    lp_model_l2_normalise(z, 2);
    NEAR(z[0], 0);
}

/* The projection: the same every time, of unit length, its signs those of the documented hash, and
 * distances between unit vectors kept within a loose Johnson–Lindenstrauss bound. */
static void test_project(void **state)
{
    enum { N = 6, D = 256, K = 64 };
    float v[N][D], p[N][K], again[K];
    uint32_t seed = 12345;
    (void)state;
    for (size_t a = 0; a < N; a++) {
        for (size_t i = 0; i < D; i++) {
            seed = seed * 1664525u + 1013904223u;
            v[a][i] = (float)((seed >> 8) & 0xffff) / 65535.0f - 0.5f;
        }
        lp_model_l2_normalise(v[a], D);
        lp_model_project(v[a], D, p[a], K);
        double norm = 0;
        for (size_t j = 0; j < K; j++)
            norm += (double)p[a][j] * p[a][j];
        assert_true(fabs(norm - 1) < 1e-5);
    }
    lp_model_project(v[0], D, again, K);
    assert_memory_equal(again, p[0], sizeof again);
    /* one input value: each output is ±1/√K by its sign alone */
    float e[D] = {0}, q[K];
    e[3] = 1;
    lp_model_project(e, D, q, K);
    for (size_t j = 0; j < K; j++)
        assert_true(fabsf(fabsf(q[j]) - 1 / sqrtf(K)) < 1e-6f);
    for (size_t a = 0; a < N; a++)
        for (size_t b = a + 1; b < N; b++) {
            double dv = 0, dp = 0;
            for (size_t i = 0; i < D; i++)
                dv += ((double)v[a][i] - v[b][i]) * ((double)v[a][i] - v[b][i]);
            for (size_t j = 0; j < K; j++)
                dp += ((double)p[a][j] - p[b][j]) * ((double)p[a][j] - p[b][j]);
            assert_true(sqrt(dp) > 0.6 * sqrt(dv) && sqrt(dp) < 1.4 * sqrt(dv));
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distributions),
        cmocka_unit_test(test_detections_and_items),
        cmocka_unit_test(test_kcenter_by_hand),
        cmocka_unit_test(test_kcenter_brute_force),
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_l2),
        cmocka_unit_test(test_project),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
