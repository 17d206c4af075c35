/* RLE in both orders, pycocotools' compressed strings, Darwin dense RLE and
 * polygon rasterisation. Expected strings are those pycocotools produces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "loupe/geometry/measure.h"
#include "loupe/geometry/raster.h"
#include "loupe/geometry/rle.h"

#define MAXPIX 1000000

static int setup(void **state)
{
    *state = lp_arena_new(0, 0);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    lp_arena_free(*state);
    return 0;
}

/* A w x h row-major mask with rows [r0,r1) x columns [c0,c1) set. */
static uint8_t *block_mask(uint32_t w, uint32_t h, uint32_t r0, uint32_t r1, uint32_t c0, uint32_t c1)
{
    uint8_t *m = calloc((size_t)w * h, 1);
    assert_non_null(m);
    for (uint32_t y = r0; y < r1; y++)
        for (uint32_t x = c0; x < c1; x++)
            m[(size_t)y * w + x] = 1;
    return m;
}

static void assert_counts(const lp_geom_rle *r, const uint32_t *expect, size_t n)
{
    assert_int_equal(r->ncounts, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r->counts[i], expect[i]);
}

/* 25x25 masks with a 5x5 block (pycocotools.mask.encode of mask[a:b, a:b]). */
static void test_coco_known_strings(void **state)
{
    lp_arena *a = *state;
    lp_error err;
    lp_error_clear(&err);
    struct {
        uint32_t lo, hi;
        const char *coco;
        uint32_t counts[11];
        size_t n;
    } cases[] = {
        {0, 5, "05d00000000d?", {0, 5, 20, 5, 20, 5, 20, 5, 20, 5, 520}, 11},
        {5, 10, "R45d00000000b;", {130, 5, 20, 5, 20, 5, 20, 5, 20, 5, 390}, 11},
        {20, 25, "X`05d00000000", {520, 5, 20, 5, 20, 5, 20, 5, 20, 5}, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *m = block_mask(25, 25, cases[i].lo, cases[i].hi, cases[i].lo, cases[i].hi);
        lp_geom_rle r;
        assert_int_equal(lp_geom_rle_encode(m, 25, 25, 1, LP_GEOM_RLE_COLUMN_MAJOR, MAXPIX, a, &r, &err), 0);
        assert_counts(&r, cases[i].counts, cases[i].n);
        size_t len;
        char *s = lp_geom_rle_to_coco_string(&r, a, &len, &err);
        assert_non_null(s);
        assert_string_equal(s, cases[i].coco);
        assert_int_equal(len, strlen(cases[i].coco));

        lp_geom_rle back;
        assert_int_equal(lp_geom_rle_from_coco_string(s, len, 25, 25, MAXPIX, a, &back, &err), 0);
        assert_int_equal(back.order, LP_GEOM_RLE_COLUMN_MAJOR);
        assert_counts(&back, cases[i].counts, cases[i].n);
        uint8_t out[625];
        memset(out, 7, sizeof out);
        assert_int_equal(lp_geom_rle_decode(&back, MAXPIX, out, sizeof out, &err), 0);
        assert_memory_equal(out, m, sizeof out);
        assert_int_equal(lp_geom_rle_area(&back), 25);
        lp_geom_bbox b;
        assert_int_equal(lp_geom_rle_bbox(&back, MAXPIX, &b, &err), 0);
        assert_true(b.x == cases[i].lo && b.y == cases[i].lo && b.w == 5 && b.h == 5);
        free(m);
    }
    /* counts [5,2,2,2,5] of a 4x4 mask are "52203" */
    uint32_t c[5] = {5, 2, 2, 2, 5};
    lp_geom_rle r = {4, 4, LP_GEOM_RLE_COLUMN_MAJOR, c, 5};
    char *s = lp_geom_rle_to_coco_string(&r, a, NULL, &err);
    assert_string_equal(s, "52203");
    /* a negative delta: 2 - 10 = -8 is 'H' */
    uint32_t neg[5] = {1, 10, 1, 2, 86};
    r = (lp_geom_rle){10, 10, LP_GEOM_RLE_COLUMN_MAJOR, neg, 5};
    s = lp_geom_rle_to_coco_string(&r, a, NULL, &err);
    assert_string_equal(s, "1:1He2");
    lp_geom_rle back;
    assert_int_equal(lp_geom_rle_from_coco_string(s, strlen(s), 10, 10, MAXPIX, a, &back, &err), 0);
    assert_counts(&back, neg, 5);
}

/* pycocotools' toBbox tests: [[0,1],[1,1]] -> [0,0,2,2]; 10x10 with
 * mask[2:4, 3:6] -> [3,2,3,2]. */
static void test_bbox_known(void **state)
{
    lp_arena *a = *state;
    lp_error err;
    lp_error_clear(&err);
    uint8_t m1[4] = {0, 1, 1, 1};
    lp_geom_rle r;
    lp_geom_bbox b;
    for (int order = 0; order < 2; order++) {
        assert_int_equal(lp_geom_rle_encode(m1, 2, 2, 1, (lp_geom_rle_order)order, MAXPIX, a, &r, &err), 0);
        assert_int_equal(lp_geom_rle_bbox(&r, MAXPIX, &b, &err), 0);
        assert_true(b.x == 0 && b.y == 0 && b.w == 2 && b.h == 2);
        uint8_t *m2 = block_mask(10, 10, 2, 4, 3, 6);
        assert_int_equal(lp_geom_rle_encode(m2, 10, 10, 1, (lp_geom_rle_order)order, MAXPIX, a, &r, &err), 0);
        assert_int_equal(lp_geom_rle_bbox(&r, MAXPIX, &b, &err), 0);
        assert_true(b.x == 3 && b.y == 2 && b.w == 3 && b.h == 2);
        assert_int_equal(lp_geom_rle_area(&r), 6);
        free(m2);
    }
    /* row-major counts of the 2x2 mask: 1 zero then 3 ones */
    assert_int_equal(lp_geom_rle_encode(m1, 2, 2, 1, LP_GEOM_RLE_ROW_MAJOR, MAXPIX, a, &r, &err), 0);
    uint32_t rm[2] = {1, 3};
    assert_counts(&r, rm, 2);
    /* column-major: column 0 is (0,1), column 1 is (1,1) */
    assert_int_equal(lp_geom_rle_encode(m1, 2, 2, 1, LP_GEOM_RLE_COLUMN_MAJOR, MAXPIX, a, &r, &err), 0);
    uint32_t cm[2] = {1, 3};
    assert_counts(&r, cm, 2);
    /* empty mask */
    uint8_t zero[6] = {0};
    assert_int_equal(lp_geom_rle_encode(zero, 3, 2, 1, LP_GEOM_RLE_COLUMN_MAJOR, MAXPIX, a, &r, &err), 0);
    uint32_t z[1] = {6};
    assert_counts(&r, z, 1);
    assert_int_equal(lp_geom_rle_bbox(&r, MAXPIX, &b, &err), 0);
    assert_true(b.x == 0 && b.y == 0 && b.w == 0 && b.h == 0);
    assert_int_equal(lp_geom_rle_area(&r), 0);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Random masks round-trip through both orders, the COCO string and dense RLE;
 * area and bbox match a direct count. */
static void test_random_round_trips(void **state)
{
    lp_arena *a = *state;
    lp_error err;
    lp_error_clear(&err);
    uint32_t seed = 12345;
    for (int iter = 0; iter < 200; iter++) {
        lp_arena_reset(a);
        uint32_t w = 1 + lcg(&seed) % 23, h = 1 + lcg(&seed) % 19;
        uint8_t *m = malloc((size_t)w * h), *out = malloc((size_t)w * h);
        assert_non_null(m);
        assert_non_null(out);
        uint32_t density = lcg(&seed) % 4; /* 0: sparse runs .. 3: noise */
        uint8_t cur = 0;
        uint64_t ones = 0;
        uint32_t x0 = w, y0 = h, x1 = 0, y1 = 0;
        for (uint32_t k = 0; k < w * h; k++) {
            if (lcg(&seed) % (density == 3 ? 2 : 8 << density) == 0)
                cur = (uint8_t)(lcg(&seed) % 3); /* labels 0..2 */
            m[k] = cur;
            if (cur == 1) {
                ones++;
                uint32_t x = k % w, y = k / w;
                x0 = x < x0 ? x : x0;
                y0 = y < y0 ? y : y0;
                x1 = x > x1 ? x : x1;
                y1 = y > y1 ? y : y1;
            }
        }
        for (int order = 0; order < 2; order++) {
            lp_geom_rle r, back;
            assert_int_equal(lp_geom_rle_encode(m, w, h, 1, (lp_geom_rle_order)order, MAXPIX, a, &r, &err), 0);
            assert_int_equal(lp_geom_rle_check(&r, MAXPIX, &err), 0);
            assert_int_equal(lp_geom_rle_area(&r), ones);
            lp_geom_bbox b;
            assert_int_equal(lp_geom_rle_bbox(&r, MAXPIX, &b, &err), 0);
            if (ones) {
                assert_true(b.x == x0 && b.y == y0 && b.w == x1 - x0 + 1 && b.h == y1 - y0 + 1);
            }
            size_t len;
            char *s = lp_geom_rle_to_coco_string(&r, a, &len, &err);
            assert_non_null(s);
            assert_int_equal(lp_geom_rle_from_coco_string(s, len, w, h, MAXPIX, a, &back, &err), 0);
            back.order = r.order;
            assert_counts(&back, r.counts, r.ncounts);
            assert_int_equal(lp_geom_rle_decode(&back, MAXPIX, out, (size_t)w * h, &err), 0);
            for (uint32_t k = 0; k < w * h; k++)
                assert_int_equal(out[k], m[k] == 1);
        }
        uint32_t *dense;
        size_t nd;
        assert_int_equal(lp_geom_dense_rle_encode(m, w, h, MAXPIX, a, &dense, &nd, &err), 0);
        int64_t *vals = malloc(nd * sizeof *vals);
        assert_non_null(vals);
        for (size_t i = 0; i < nd; i++)
            vals[i] = dense[i];
        memset(out, 9, (size_t)w * h);
        assert_int_equal(lp_geom_dense_rle_decode(vals, nd, w, h, MAXPIX, out, (size_t)w * h, &err), 0);
        assert_memory_equal(out, m, (size_t)w * h);
        free(vals);
        free(m);
        free(out);
    }
    assert_int_equal(err.code, LP_OK);
}

static void test_dense_known(void **state)
{
    lp_arena *a = *state;
    lp_error err;
    lp_error_clear(&err);
    uint8_t labels[6] = {0, 0, 1, 1, 2, 0}; /* 3 wide, 2 high */
    uint32_t *v;
    size_t n;
    assert_int_equal(lp_geom_dense_rle_encode(labels, 3, 2, MAXPIX, a, &v, &n, &err), 0);
    uint32_t expect[8] = {0, 2, 1, 2, 2, 1, 0, 1};
    assert_int_equal(n, 8);
    assert_memory_equal(v, expect, sizeof expect);
    /* one label as a COCO mask: label 1 is pixels (2,0) and (0,1); columns
     * read (0,1), (0,0), (1,0) */
    lp_geom_rle r;
    assert_int_equal(lp_geom_rle_encode(labels, 3, 2, 1, LP_GEOM_RLE_COLUMN_MAJOR, MAXPIX, a, &r, &err), 0);
    uint32_t cm[5] = {1, 1, 2, 1, 1};
    assert_counts(&r, cm, 5);
}

static void test_decoders_reject_bad_input(void **state)
{
    lp_arena *a = *state;
    lp_error err;
    lp_geom_rle r;
    struct {
        const char *s;
        const char *field;
    } bad[] = {
        {"52p03", "counts[2]"},  /* 'p' is past 'o' */
        {"52 03", "counts[2]"},  /* below '0' */
        {"522d", "counts[3]"},   /* ends inside a value */
        {"0H", "counts[1]"},     /* -8 without a delta */
        {"5220", "counts"},      /* 5+2+2+2 = 11 of 16 */
        {"52209", "counts[4]"},  /* 5+2+2+2+11 > 16 */
        {"oooooooooooooooo0", "counts[0]"}, /* more than 64 bits */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lp_error_clear(&err);
        assert_int_equal(lp_geom_rle_from_coco_string(bad[i].s, strlen(bad[i].s), 4, 4, MAXPIX, a, &r, &err), -1);
        assert_int_equal(err.code, LP_E_INVALID);
        assert_string_equal(err.fields[0].field, bad[i].field);
    }
    /* a count past 2^32 after the delta */
    uint32_t big[4] = {0, UINT32_MAX, 0, UINT32_MAX};
    lp_geom_rle huge = {UINT32_MAX, 2, LP_GEOM_RLE_COLUMN_MAJOR, big, 4};
    char *s = lp_geom_rle_to_coco_string(&huge, a, NULL, &err);
    assert_non_null(s);
    lp_error_clear(&err);
    assert_int_equal(lp_geom_rle_from_coco_string(s, strlen(s), UINT32_MAX, 2, UINT64_MAX, a, &r, &err), 0);
    assert_counts(&r, big, 4);
    /* size over the limit */
    lp_error_clear(&err);
    assert_int_equal(lp_geom_rle_from_coco_string("52203", 5, 4, 4, 15, a, &r, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);

    /* uncompressed counts from JSON */
    int64_t ints[3] = {5, -2, 11};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_rle_from_ints(ints, 3, 4, 4, LP_GEOM_RLE_COLUMN_MAJOR, MAXPIX, a, &r, &err), -1);
    assert_string_equal(err.fields[0].field, "counts[1]");
    ints[1] = 2;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_rle_from_ints(ints, 3, 4, 4, LP_GEOM_RLE_COLUMN_MAJOR, MAXPIX, a, &r, &err), -1);
    assert_string_equal(err.fields[0].field, "counts");
    ints[2] = 9;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_rle_from_ints(ints, 3, 4, 4, LP_GEOM_RLE_COLUMN_MAJOR, MAXPIX, a, &r, &err), 0);
    uint32_t ok[3] = {5, 2, 9};
    assert_counts(&r, ok, 3);

    /* decode: a wrong sum or a short buffer writes nothing */
    uint8_t out[16];
    memset(out, 7, sizeof out);
    uint32_t c[2] = {5, 10};
    lp_geom_rle wrong = {4, 4, LP_GEOM_RLE_ROW_MAJOR, c, 2};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_rle_decode(&wrong, MAXPIX, out, sizeof out, &err), -1);
    assert_string_equal(err.fields[0].field, "counts");
    c[1] = 11;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_rle_decode(&wrong, MAXPIX, out, 15, &err), -1);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 7);
    lp_error_clear(&err);
    assert_int_equal(lp_geom_rle_decode(&wrong, MAXPIX, out, sizeof out, &err), 0);
    assert_int_equal(out[4], 0);
    assert_int_equal(out[5], 1);

    /* dense RLE */
    struct {
        int64_t v[6];
        size_t n;
        const char *field;
    } dbad[] = {
        {{0, 3, 1}, 3, "dense_rle"},
        {{0, 3, 256, 3}, 4, "dense_rle[2]"},
        {{0, -1, 1, 7}, 4, "dense_rle[1]"},
        {{0, 3, 1, 2}, 4, "dense_rle"},
        {{0, 3, 1, 4}, 4, "dense_rle[3]"},
        {{-1, 6}, 2, "dense_rle[0]"},
    };
    for (size_t i = 0; i < sizeof dbad / sizeof dbad[0]; i++) {
        memset(out, 7, sizeof out);
        lp_error_clear(&err);
        assert_int_equal(lp_geom_dense_rle_decode(dbad[i].v, dbad[i].n, 3, 2, MAXPIX, out, sizeof out, &err), -1);
        assert_int_equal(err.code, LP_E_INVALID);
        assert_string_equal(err.fields[0].field, dbad[i].field);
        for (size_t k = 0; k < sizeof out; k++)
            assert_int_equal(out[k], 7);
    }
    int64_t dv[4] = {0, 3, 1, 3};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_dense_rle_decode(dv, 4, 3, 2, 5, out, sizeof out, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
}

static void test_rasterize(void **state)
{
    lp_arena *a = *state;
    lp_error err;
    lp_error_clear(&err);
    /* rectangle (1,1)-(4,3): centres x 1.5..3.5, y 1.5..2.5 */
    lp_geom_point rect[4] = {{1, 1}, {4, 1}, {4, 3}, {1, 3}};
    lp_geom_path path = {rect, 4};
    lp_geom_polygon poly = {&path, 1};
    uint8_t m[30] = {0};
    assert_int_equal(lp_geom_polygon_rasterize(&poly, 6, 5, MAXPIX, 1, m, sizeof m, &err), 0);
    uint8_t *expect = block_mask(6, 5, 1, 3, 1, 4);
    assert_memory_equal(m, expect, sizeof m);
    free(expect);
    lp_geom_rle r;
    assert_int_equal(lp_geom_rle_encode(m, 6, 5, 1, LP_GEOM_RLE_COLUMN_MAJOR, MAXPIX, a, &r, &err), 0);
    uint32_t counts[7] = {6, 2, 3, 2, 3, 2, 12};
    assert_counts(&r, counts, 7);

    /* a square with a hole; the other orientation for the hole */
    lp_geom_point outer[4] = {{0, 0}, {6, 0}, {6, 6}, {0, 6}}, hole[4] = {{2, 2}, {2, 4}, {4, 4}, {4, 2}};
    lp_geom_path paths[2] = {{outer, 4}, {hole, 4}};
    lp_geom_polygon holed = {paths, 2};
    uint8_t m2[36] = {0};
    assert_int_equal(lp_geom_polygon_rasterize(&holed, 6, 6, MAXPIX, 5, m2, sizeof m2, &err), 0);
    int n = 0;
    for (int i = 0; i < 36; i++)
        n += m2[i] == 5;
    assert_int_equal(n, 32);
    assert_int_equal(m2[2 * 6 + 2], 0);
    assert_int_equal(m2[3 * 6 + 3], 0);

    /* partly outside the image */
    lp_geom_point off[4] = {{-2, -2}, {3, -2}, {3, 3}, {-2, 3}};
    lp_geom_path offp = {off, 4};
    lp_geom_polygon offpoly = {&offp, 1};
    uint8_t m3[16] = {0};
    assert_int_equal(lp_geom_polygon_rasterize(&offpoly, 4, 4, MAXPIX, 1, m3, sizeof m3, &err), 0);
    expect = block_mask(4, 4, 0, 3, 0, 3);
    assert_memory_equal(m3, expect, sizeof m3);
    free(expect);

    /* a self-crossing star with fractional corners: every pixel agrees with
     * lp_geom_polygon_contains at its centre */
    lp_geom_point star[5] = {{10.3, 0.2}, {16.7, 19.1}, {0.4, 7.3}, {19.6, 7.1}, {3.2, 19.8}};
    lp_geom_path sp = {star, 5};
    lp_geom_polygon spoly = {&sp, 1};
    uint8_t m4[20 * 20] = {0};
    assert_int_equal(lp_geom_polygon_rasterize(&spoly, 20, 20, MAXPIX, 1, m4, sizeof m4, &err), 0);
    int inside = 0, centre_empty = 0;
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 20; x++) {
            bool c = lp_geom_polygon_contains(&spoly, (lp_geom_point){x + 0.5, y + 0.5});
            assert_int_equal(m4[y * 20 + x], c);
            inside += c;
        }
    centre_empty = !m4[10 * 20 + 10]; /* the pentagon in the middle is covered twice: even-odd leaves it out */
    assert_true(inside > 50);
    assert_true(centre_empty);

    /* limits and buffer */
    lp_error_clear(&err);
    assert_int_equal(lp_geom_polygon_rasterize(&poly, 6, 5, 29, 1, m, sizeof m, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    lp_error_clear(&err);
    assert_int_equal(lp_geom_polygon_rasterize(&poly, 6, 5, MAXPIX, 1, m, 29, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_coco_known_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bbox_known, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dense_known, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decoders_reject_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rasterize, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
