/* Bounding boxes, areas, IoU, containment and polygon simplicity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/geometry/measure.h"
#include "loupe/geometry/raster.h"

#define EPS 1e-9

static void assert_near(double got, double want, double tol)
{
    if (fabs(got - want) > tol)
        fail_msg("got %.12g, want %.12g (tolerance %g)", got, want, tol);
}

static void assert_bbox(lp_geom_bbox b, double x, double y, double w, double h)
{
    assert_near(b.x, x, EPS);
    assert_near(b.y, y, EPS);
    assert_near(b.w, w, EPS);
    assert_near(b.h, h, EPS);
}

#define PATH(arr) ((lp_geom_path){(arr), sizeof(arr) / sizeof((arr)[0])})

static void test_shape_bbox(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    lp_geom_bbox b;
    lp_geom_point tri[3] = {{3, 1}, {-2, 4}, {5, 9}};
    lp_geom_point hole[3] = {{0, 2}, {1, 2}, {1, 3}};
    lp_geom_path paths[2] = {PATH(tri), PATH(hole)};
    lp_geom_shape s = {.type = LP_GEOM_POLYGON, .u.polygon = {paths, 2}};
    assert_int_equal(lp_geom_shape_bbox(&s, &b, &err), 0);
    assert_bbox(b, -2, 1, 7, 8);

    s = (lp_geom_shape){.type = LP_GEOM_LINE, .u.line = PATH(tri)};
    assert_int_equal(lp_geom_shape_bbox(&s, &b, &err), 0);
    assert_bbox(b, -2, 1, 7, 8);

    s = (lp_geom_shape){.type = LP_GEOM_KEYPOINT, .u.keypoint = {4, 5}};
    assert_int_equal(lp_geom_shape_bbox(&s, &b, &err), 0);
    assert_bbox(b, 4, 5, 0, 0);

    lp_geom_skeleton_node nodes[3] = {{"a", 1, 1, false}, {"b", 6, 2, true}, {NULL, 3, 7, false}};
    s = (lp_geom_shape){.type = LP_GEOM_SKELETON, .u.skeleton = {nodes, 3}};
    assert_int_equal(lp_geom_shape_bbox(&s, &b, &err), 0);
    assert_bbox(b, 1, 1, 5, 6);

    s = (lp_geom_shape){.type = LP_GEOM_ELLIPSE, .u.ellipse = {{10, 10}, {3, 2}, 0}};
    assert_int_equal(lp_geom_shape_bbox(&s, &b, &err), 0);
    assert_bbox(b, 7, 8, 6, 4);
    s.u.ellipse.angle = M_PI / 2;
    assert_int_equal(lp_geom_shape_bbox(&s, &b, &err), 0);
    assert_bbox(b, 8, 7, 4, 6);
    /* a circle's box does not depend on the angle; a 45 degree ellipse of
     * radii 3 and 1 spans sqrt((9 + 1) / 2) = sqrt(5) each way */
    s.u.ellipse = (lp_geom_ellipse){{0, 0}, {3, 1}, M_PI / 4};
    assert_int_equal(lp_geom_shape_bbox(&s, &b, &err), 0);
    assert_bbox(b, -sqrt(5), -sqrt(5), 2 * sqrt(5), 2 * sqrt(5));

    s = (lp_geom_shape){.type = LP_GEOM_CUBOID, .u.cuboid = {{0, 0, 4, 4}, {2, -1, 4, 3}}};
    assert_int_equal(lp_geom_shape_bbox(&s, &b, &err), 0);
    assert_bbox(b, 0, -1, 6, 5);

    uint32_t counts[3] = {7, 2, 7}; /* 4x4 column-major: pixels 7, 8 = (1,3), (2,0) */
    s = (lp_geom_shape){.type = LP_GEOM_MASK, .u.mask = {4, 4, LP_GEOM_RLE_COLUMN_MAJOR, counts, 3}};
    assert_int_equal(lp_geom_shape_bbox(&s, &b, &err), 0);
    assert_bbox(b, 1, 0, 2, 4);

    s = (lp_geom_shape){.type = LP_GEOM_TAG};
    assert_int_equal(lp_geom_shape_bbox(&s, &b, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    lp_error_clear(&err);
    s = (lp_geom_shape){.type = LP_GEOM_MASK, .u.mask = {4, 4, LP_GEOM_RLE_COLUMN_MAJOR, NULL, 0}};
    assert_int_equal(lp_geom_shape_bbox(&s, &b, &err), -1);
}

static void test_areas(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    lp_geom_point sq[4] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}};
    lp_geom_path p = PATH(sq);
    assert_near(lp_geom_path_signed_area(&p), 100, EPS); /* clockwise on screen */
    lp_geom_point rev[4] = {{0, 0}, {0, 10}, {10, 10}, {10, 0}};
    lp_geom_path pr = PATH(rev);
    assert_near(lp_geom_path_signed_area(&pr), -100, EPS);

    /* hole with the same orientation as the outline, and an island in it */
    lp_geom_point hole[4] = {{2, 2}, {8, 2}, {8, 8}, {2, 8}};
    lp_geom_point island[4] = {{4, 4}, {4, 6}, {6, 6}, {6, 4}};
    lp_geom_path paths[3] = {PATH(sq), PATH(hole), PATH(island)};
    lp_geom_polygon poly = {paths, 2};
    assert_near(lp_geom_polygon_area(&poly), 64, EPS);
    poly.npaths = 3;
    assert_near(lp_geom_polygon_area(&poly), 68, EPS);
    /* order does not matter */
    lp_geom_path shuffled[3] = {PATH(island), PATH(sq), PATH(hole)};
    lp_geom_polygon poly2 = {shuffled, 3};
    assert_near(lp_geom_polygon_area(&poly2), 68, EPS);

    double area;
    lp_geom_shape s = {.type = LP_GEOM_POLYGON, .u.polygon = poly};
    assert_int_equal(lp_geom_shape_area(&s, &area, &err), 0);
    assert_near(area, 68, EPS);
    s = (lp_geom_shape){.type = LP_GEOM_ELLIPSE, .u.ellipse = {{1, 1}, {3, 2}, 0.7}};
    assert_int_equal(lp_geom_shape_area(&s, &area, &err), 0);
    assert_near(area, 6 * M_PI, EPS);
    s = (lp_geom_shape){.type = LP_GEOM_BOUNDING_BOX, .u.bbox = {5, 5, 3, 4}};
    assert_int_equal(lp_geom_shape_area(&s, &area, &err), 0);
    assert_near(area, 12, EPS);
    uint32_t counts[5] = {3, 4, 2, 5, 2};
    s = (lp_geom_shape){.type = LP_GEOM_MASK, .u.mask = {4, 4, LP_GEOM_RLE_ROW_MAJOR, counts, 5}};
    assert_int_equal(lp_geom_shape_area(&s, &area, &err), 0);
    assert_near(area, 9, EPS);
    s = (lp_geom_shape){.type = LP_GEOM_KEYPOINT, .u.keypoint = {1, 1}};
    assert_int_equal(lp_geom_shape_area(&s, &area, &err), 0);
    assert_near(area, 0, 0);
    s = (lp_geom_shape){.type = LP_GEOM_TEXT};
    assert_int_equal(lp_geom_shape_area(&s, &area, &err), -1);
}

static void test_bbox_iou(void **state)
{
    (void)state;
    lp_geom_bbox a = {0, 0, 2, 2}, b = {1, 1, 2, 2}, c = {5, 5, 1, 1}, e = {0, 0, 0, 0};
    assert_near(lp_geom_bbox_iou(&a, &b), 1.0 / 7, EPS);
    assert_near(lp_geom_bbox_iou(&b, &a), 1.0 / 7, EPS);
    assert_near(lp_geom_bbox_iou(&a, &a), 1, EPS);
    assert_near(lp_geom_bbox_iou(&a, &c), 0, 0);
    assert_near(lp_geom_bbox_iou(&e, &e), 0, 0);
    lp_geom_bbox inner = {0.5, 0.5, 1, 1};
    assert_near(lp_geom_bbox_iou(&a, &inner), 0.25, EPS);
}

static double iou_of(lp_geom_path *pa, size_t na, lp_geom_path *pb, size_t nb)
{
    lp_geom_polygon a = {pa, na}, b = {pb, nb};
    lp_error err;
    lp_error_clear(&err);
    double iou = -1;
    assert_int_equal(lp_geom_polygon_iou(&a, &b, 1000, &iou, &err), 0);
    return iou;
}

static void test_polygon_iou_exact(void **state)
{
    (void)state;
    lp_geom_point sq[4] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
    lp_geom_point shifted[4] = {{0.5, 0}, {1.5, 0}, {1.5, 1}, {0.5, 1}};
    lp_geom_path a = PATH(sq), b = PATH(shifted);
    assert_near(iou_of(&a, 1, &b, 1), 1.0 / 3, EPS);
    assert_near(iou_of(&a, 1, &a, 1), 1, EPS);

    lp_geom_point sq2[4] = {{0, 0}, {2, 0}, {2, 2}, {0, 2}};
    lp_geom_point tri[3] = {{0, 0}, {2, 0}, {0, 2}};
    lp_geom_point bowtie[4] = {{0, 0}, {2, 2}, {2, 0}, {0, 2}}; /* two triangles of area 1 */
    lp_geom_point diamond[4] = {{1, -0.5}, {2.5, 1}, {1, 2.5}, {-0.5, 1}};
    lp_geom_path s2 = PATH(sq2), t = PATH(tri), bt = PATH(bowtie), d = PATH(diamond);
    assert_near(iou_of(&s2, 1, &t, 1), 0.5, EPS);
    assert_near(iou_of(&s2, 1, &bt, 1), 0.5, EPS);
    /* square 4, diamond 4.5, overlap 4 - 4 corners of 0.125 = 3.5, union 5 */
    assert_near(iou_of(&s2, 1, &d, 1), 0.7, EPS);

    /* with a hole: outline 0..6 minus 2..4 (area 32) against 1..5 (16):
     * overlap 12, union 36 */
    lp_geom_point outer[4] = {{0, 0}, {6, 0}, {6, 6}, {0, 6}}, hole[4] = {{2, 2}, {4, 2}, {4, 4}, {2, 4}};
    lp_geom_point mid[4] = {{1, 1}, {5, 1}, {5, 5}, {1, 5}};
    lp_geom_path holed[2] = {PATH(outer), PATH(hole)}, m = PATH(mid), h = PATH(hole);
    assert_near(iou_of(holed, 2, &m, 1), 1.0 / 3, EPS);
    assert_near(iou_of(holed, 2, &h, 1), 0, EPS);

    lp_geom_polygon pa = {holed, 2}, pb = {&m, 1};
    double aa, ab, both;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_polygon_overlap(&pa, &pb, 100, &aa, &ab, &both, &err), 0);
    assert_near(aa, 32, EPS);
    assert_near(ab, 16, EPS);
    assert_near(both, 12, EPS);
    /* disjoint */
    lp_geom_point far[3] = {{10, 10}, {11, 10}, {10, 11}};
    lp_geom_path f = PATH(far);
    assert_near(iou_of(&s2, 1, &f, 1), 0, 0);
}

static void test_polygon_iou_crossing_limit(void **state)
{
    (void)state;
    lp_geom_point sq2[4] = {{0, 0}, {2, 0}, {2, 2}, {0, 2}};
    lp_geom_point diamond[4] = {{1, -0.5}, {2.5, 1}, {1, 2.5}, {-0.5, 1}};
    lp_geom_path s = PATH(sq2), d = PATH(diamond);
    lp_geom_polygon a = {&s, 1}, b = {&d, 1};
    lp_error err;
    lp_error_clear(&err);
    double iou;
    /* the outlines cross 8 times; the 4 crossings on the square's vertical
     * sides lie on vertex x positions and need no event of their own */
    assert_int_equal(lp_geom_polygon_iou(&a, &b, 3, &iou, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    lp_error_clear(&err);
    assert_int_equal(lp_geom_polygon_iou(&a, &b, 4, &iou, &err), 0);
    assert_near(iou, 0.7, EPS);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* A random star-shaped polygon around (cx, cy), its vertices sorted by angle. */
static void random_star(lp_geom_point *pts, size_t n, double cx, double cy, uint32_t *seed)
{
    for (size_t i = 0; i < n; i++) {
        double ang = 2 * M_PI * ((double)i + (lcg(seed) % 1000) / 1001.0) / (double)n;
        double r = 5 + (lcg(seed) % 10000) / 800.0; /* 5 .. 17.5 */
        pts[i] = (lp_geom_point){cx + r * cos(ang), cy + r * sin(ang)};
    }
}

/* Random polygons: the sweep agrees with the shoelace area, is symmetric,
 * and matches a fine raster count of the overlap within its resolution. */
static void test_polygon_overlap_random(void **state)
{
    (void)state;
    uint32_t seed = 777;
    lp_error err;
    lp_error_clear(&err);
    enum { W = 400, SCALE = 8 }; /* raster at 1/8 pixel */
    uint8_t *ma = malloc(W * W), *mb = malloc(W * W);
    assert_non_null(ma);
    assert_non_null(mb);
    for (int iter = 0; iter < 10; iter++) {
        lp_geom_point pa[12], pb[17];
        random_star(pa, 12, 25, 25, &seed);
        random_star(pb, 17, 20 + (lcg(&seed) % 100) / 10.0, 22, &seed);
        lp_geom_path a = PATH(pa), b = PATH(pb);
        lp_geom_polygon A = {&a, 1}, B = {&b, 1};
        double aa, ab, both, both2;
        assert_int_equal(lp_geom_polygon_overlap(&A, &B, 10000, &aa, &ab, &both, &err), 0);
        assert_int_equal(lp_geom_polygon_overlap(&B, &A, 10000, NULL, NULL, &both2, &err), 0);
        assert_near(aa, fabs(lp_geom_path_signed_area(&a)), 1e-9 * aa);
        assert_near(ab, fabs(lp_geom_path_signed_area(&b)), 1e-9 * ab);
        assert_near(both, both2, 1e-9 * aa);
        assert_true(both > 0 && both <= fmin(aa, ab) + 1e-9);

        /* raster check at 1/8 pixel: error bounded by the outline length */
        lp_geom_point sa[12], sb[17];
        for (int i = 0; i < 12; i++)
            sa[i] = (lp_geom_point){pa[i].x * SCALE, pa[i].y * SCALE};
        for (int i = 0; i < 17; i++)
            sb[i] = (lp_geom_point){pb[i].x * SCALE, pb[i].y * SCALE};
        lp_geom_path ra = PATH(sa), rb = PATH(sb);
        lp_geom_polygon RA = {&ra, 1}, RB = {&rb, 1};
        memset(ma, 0, W * W);
        memset(mb, 0, W * W);
        assert_int_equal(lp_geom_polygon_rasterize(&RA, W, W, W * W, 1, ma, W * W, &err), 0);
        assert_int_equal(lp_geom_polygon_rasterize(&RB, W, W, W * W, 1, mb, W * W, &err), 0);
        long count = 0;
        for (int k = 0; k < W * W; k++)
            count += ma[k] && mb[k];
        double raster = (double)count / (SCALE * SCALE);
        assert_near(raster, both, 0.02 * both);
    }
    free(ma);
    free(mb);
}

static void test_contains(void **state)
{
    (void)state;
    lp_geom_point sq[4] = {{0, 0}, {2, 0}, {2, 2}, {0, 2}};
    lp_geom_path p = PATH(sq);
    lp_geom_polygon poly = {&p, 1};
    assert_true(lp_geom_polygon_contains(&poly, (lp_geom_point){1, 1}));
    assert_false(lp_geom_polygon_contains(&poly, (lp_geom_point){3, 1}));
    assert_false(lp_geom_polygon_contains(&poly, (lp_geom_point){-0.001, 1}));
    /* half-open edges: left and top in, right and bottom out */
    assert_true(lp_geom_polygon_contains(&poly, (lp_geom_point){0, 1}));
    assert_true(lp_geom_polygon_contains(&poly, (lp_geom_point){1, 0}));
    assert_false(lp_geom_polygon_contains(&poly, (lp_geom_point){2, 1}));
    assert_false(lp_geom_polygon_contains(&poly, (lp_geom_point){1, 2}));
    /* holes */
    lp_geom_point outer[4] = {{0, 0}, {6, 0}, {6, 6}, {0, 6}}, hole[4] = {{2, 2}, {4, 2}, {4, 4}, {2, 4}};
    lp_geom_path paths[2] = {PATH(outer), PATH(hole)};
    lp_geom_polygon holed = {paths, 2};
    assert_false(lp_geom_polygon_contains(&holed, (lp_geom_point){3, 3}));
    assert_true(lp_geom_polygon_contains(&holed, (lp_geom_point){1, 3}));
}

static void expect_not_simple(lp_geom_path *paths, size_t n, const char *field)
{
    lp_geom_polygon p = {paths, n};
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_polygon_check_simple(&p, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_int_equal(err.nfields, 1);
    assert_string_equal(err.fields[0].field, field);
}

static void test_simple(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    lp_geom_point sq[4] = {{0, 0}, {4, 0}, {4, 4}, {0, 4}};
    lp_geom_point dup[7] = {{0, 0}, {0, 0}, {4, 0}, {4, 4}, {4, 4}, {0, 4}, {0, 0}}; /* repeats are ignored */
    lp_geom_point hole[4] = {{1, 1}, {1, 3}, {3, 3}, {3, 1}};
    lp_geom_path ok[2] = {PATH(sq), PATH(hole)}, d = PATH(dup);
    lp_geom_polygon p = {ok, 2};
    assert_int_equal(lp_geom_polygon_check_simple(&p, &err), 0);
    p = (lp_geom_polygon){&d, 1};
    assert_int_equal(lp_geom_polygon_check_simple(&p, &err), 0);
    lp_geom_point tri[3] = {{0, 0}, {4, 0}, {0, 3}};
    lp_geom_path t = PATH(tri);
    p = (lp_geom_polygon){&t, 1};
    assert_int_equal(lp_geom_polygon_check_simple(&p, &err), 0);
    assert_int_equal(err.code, LP_OK);

    lp_geom_point bowtie[4] = {{0, 0}, {2, 2}, {2, 0}, {0, 2}};
    lp_geom_path bt = PATH(bowtie);
    expect_not_simple(&bt, 1, "polygon.paths[0][0]");
    lp_geom_polygon bp = {&bt, 1};
    lp_error_clear(&err);
    lp_geom_polygon_check_simple(&bp, &err);
    assert_non_null(strstr(err.detail, "paths[0][2]"));

    lp_geom_point spike[4] = {{0, 0}, {4, 0}, {2, 0}, {2, 3}};
    lp_geom_path sp = PATH(spike);
    expect_not_simple(&sp, 1, "polygon.paths[0][0]");

    lp_geom_point flat[3] = {{0, 0}, {2, 0}, {1, 0}};
    lp_geom_path fl = PATH(flat);
    expect_not_simple(&fl, 1, "polygon.paths[0][0]");

    lp_geom_point two[3] = {{0, 0}, {1, 1}, {0, 0}};
    lp_geom_path tw[2] = {PATH(sq), PATH(two)};
    expect_not_simple(tw, 2, "polygon.paths[1]");

    /* figure eight: the path passes twice through (1,1) */
    lp_geom_point eight[6] = {{0, 0}, {2, 0}, {1, 1}, {2, 2}, {0, 2}, {1, 1}};
    lp_geom_path e8 = PATH(eight);
    expect_not_simple(&e8, 1, "polygon.paths[0][1]");

    /* a hole crossing the outline, and one touching it */
    lp_geom_point crossing[4] = {{3, 1}, {5, 1}, {5, 3}, {3, 3}};
    lp_geom_path cr[2] = {PATH(sq), PATH(crossing)};
    expect_not_simple(cr, 2, "polygon.paths[0][1]");
    lp_geom_point touching[3] = {{4, 2}, {2, 1}, {2, 3}};
    lp_geom_path to[2] = {PATH(sq), PATH(touching)};
    expect_not_simple(to, 2, "polygon.paths[0][1]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_bbox),
        cmocka_unit_test(test_areas),
        cmocka_unit_test(test_bbox_iou),
        cmocka_unit_test(test_polygon_iou_exact),
        cmocka_unit_test(test_polygon_iou_crossing_limit),
        cmocka_unit_test(test_polygon_overlap_random),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_simple),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
