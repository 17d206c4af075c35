/* Interpolation of each shape type and arc-length resampling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/geometry/interpolate.h"
#include "loupe/geometry/measure.h"
#include "loupe/geometry/rle.h"

#define EPS 1e-9
#define PATH(arr) ((lp_geom_path){(arr), sizeof(arr) / sizeof((arr)[0])})

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

static void assert_near(double got, double want, double tol)
{
    if (fabs(got - want) > tol)
        fail_msg("got %.12g, want %.12g (tolerance %g)", got, want, tol);
}

static void assert_points(const lp_geom_path *p, const lp_geom_point *want, size_t n, double tol)
{
    assert_int_equal(p->npoints, n);
    for (size_t i = 0; i < n; i++) {
        assert_near(p->points[i].x, want[i].x, tol);
        assert_near(p->points[i].y, want[i].y, tol);
    }
}

static void interp(lp_arena *ar, const lp_geom_shape *a, const lp_geom_shape *b, double t, lp_geom_shape *out)
{
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_interpolate(a, b, t, ar, out, &err), 0);
    assert_int_equal(out->type, a->type);
}

static void test_simple_types(void **state)
{
    lp_arena *ar = *state;
    lp_geom_shape out;
    lp_geom_shape a = {.type = LP_GEOM_BOUNDING_BOX, .u.bbox = {0, 0, 10, 20}};
    lp_geom_shape b = {.type = LP_GEOM_BOUNDING_BOX, .u.bbox = {10, 20, 30, 40}};
    interp(ar, &a, &b, 0.5, &out);
    assert_true(out.u.bbox.x == 5 && out.u.bbox.y == 10 && out.u.bbox.w == 20 && out.u.bbox.h == 30);
    interp(ar, &a, &b, 1, &out);
    assert_true(out.u.bbox.x == 10 && out.u.bbox.y == 20 && out.u.bbox.w == 30 && out.u.bbox.h == 40);

    a = (lp_geom_shape){.type = LP_GEOM_KEYPOINT, .u.keypoint = {0, 0}};
    b = (lp_geom_shape){.type = LP_GEOM_KEYPOINT, .u.keypoint = {4, -2}};
    interp(ar, &a, &b, 0.25, &out);
    assert_true(out.u.keypoint.x == 1 && out.u.keypoint.y == -0.5);

    a = (lp_geom_shape){.type = LP_GEOM_CUBOID, .u.cuboid = {{0, 0, 4, 4}, {2, 2, 4, 4}}};
    b = (lp_geom_shape){.type = LP_GEOM_CUBOID, .u.cuboid = {{10, 0, 8, 4}, {12, 4, 0, 8}}};
    interp(ar, &a, &b, 0.5, &out);
    assert_true(out.u.cuboid.front.x == 5 && out.u.cuboid.front.y == 0 && out.u.cuboid.front.w == 6 &&
                out.u.cuboid.front.h == 4);
    assert_true(out.u.cuboid.back.x == 7 && out.u.cuboid.back.y == 3 && out.u.cuboid.back.w == 2 &&
                out.u.cuboid.back.h == 6);
}

static void test_ellipse_shorter_arc(void **state)
{
    lp_arena *ar = *state;
    lp_geom_shape out;
    lp_geom_shape a = {.type = LP_GEOM_ELLIPSE, .u.ellipse = {{0, 0}, {2, 4}, 0.1}};
    lp_geom_shape b = {.type = LP_GEOM_ELLIPSE, .u.ellipse = {{10, 10}, {4, 8}, 0.5}};
    interp(ar, &a, &b, 0.5, &out);
    assert_true(out.u.ellipse.center.x == 5 && out.u.ellipse.center.y == 5);
    assert_true(out.u.ellipse.radius.x == 3 && out.u.ellipse.radius.y == 6);
    assert_near(out.u.ellipse.angle, 0.3, EPS);
    /* 3.0 -> -3.0 goes through pi (0.28 rad), not through 0 (6 rad) */
    a.u.ellipse.angle = 3.0;
    b.u.ellipse.angle = -3.0;
    interp(ar, &a, &b, 0.5, &out);
    assert_near(out.u.ellipse.angle, M_PI, EPS);
    a.u.ellipse.angle = -3.0;
    b.u.ellipse.angle = 3.0;
    interp(ar, &a, &b, 0.5, &out);
    assert_near(out.u.ellipse.angle, -M_PI, EPS);
    /* more than a full turn apart still takes the shorter arc */
    a.u.ellipse.angle = 0.2;
    b.u.ellipse.angle = 0.4 + 4 * M_PI;
    interp(ar, &a, &b, 0.5, &out);
    assert_near(out.u.ellipse.angle, 0.3, EPS);
}

/* Keyframe angles whose difference overflows a double (any finite angle is
 * valid): the turn between them is still the shorter arc, a finite number. */
static void test_angles_far_apart_stay_finite(void **state)
{
    lp_arena *ar = *state;
    lp_geom_shape out;
    lp_geom_shape a = {.type = LP_GEOM_ROTATED_BOX, .u.rbox = {0, 0, 10, 20, 1.7e308}};
    lp_geom_shape b = {.type = LP_GEOM_ROTATED_BOX, .u.rbox = {10, 0, 10, 20, -1.7e308}};
    interp(ar, &a, &b, 0.5, &out);
    assert_true(isfinite(out.u.rbox.angle));
    assert_near(out.u.rbox.x, 5, EPS);
    lp_geom_shape e = {.type = LP_GEOM_ELLIPSE, .u.ellipse = {{0, 0}, {2, 4}, -1.7e308}};
    lp_geom_shape f = {.type = LP_GEOM_ELLIPSE, .u.ellipse = {{0, 0}, {2, 4}, 1.7e308}};
    interp(ar, &e, &f, 0.25, &out);
    assert_true(isfinite(out.u.ellipse.angle));
}

static void test_skeleton_by_name_and_index(void **state)
{
    lp_arena *ar = *state;
    lp_geom_shape out;
    lp_geom_skeleton_node na[4] = {
        {"head", 0, 0, false}, {"tail", 10, 0, true}, {"paw", 5, 5, false}, {NULL, 1, 1, false}};
    lp_geom_skeleton_node nb[4] = {
        {"tail", 20, 10, false}, {"head", 2, 2, false}, {"ear", 9, 9, false}, {NULL, 3, 5, true}};
    lp_geom_shape a = {.type = LP_GEOM_SKELETON, .u.skeleton = {na, 4}};
    lp_geom_shape b = {.type = LP_GEOM_SKELETON, .u.skeleton = {nb, 4}};
    interp(ar, &a, &b, 0.5, &out);
    const lp_geom_skeleton *s = &out.u.skeleton;
    assert_int_equal(s->nnodes, 4);
    assert_string_equal(s->nodes[0].name, "head");
    assert_true(s->nodes[0].x == 1 && s->nodes[0].y == 1);
    assert_string_equal(s->nodes[1].name, "tail");
    assert_true(s->nodes[1].x == 15 && s->nodes[1].y == 5);
    assert_true(s->nodes[1].occluded); /* flags come from the earlier keyframe */
    assert_string_equal(s->nodes[2].name, "paw"); /* no partner: held */
    assert_true(s->nodes[2].x == 5 && s->nodes[2].y == 5);
    assert_null(s->nodes[3].name); /* unnamed: by index */
    assert_true(s->nodes[3].x == 2 && s->nodes[3].y == 3);
    assert_false(s->nodes[3].occluded);
    assert_ptr_not_equal(s->nodes[0].name, na[0].name); /* copied into the arena */
}

static void test_lines(void **state)
{
    lp_arena *ar = *state;
    lp_geom_shape out;
    lp_geom_point la[2] = {{0, 0}, {10, 0}}, lb[3] = {{0, 10}, {5, 10}, {10, 10}}, lc[2] = {{2, 2}, {4, 6}};
    lp_geom_shape a = {.type = LP_GEOM_LINE, .u.line = PATH(la)};
    lp_geom_shape b = {.type = LP_GEOM_LINE, .u.line = PATH(lb)};
    interp(ar, &a, &b, 0.5, &out);
    lp_geom_point want[3] = {{0, 5}, {5, 5}, {10, 5}};
    assert_points(&out.u.line, want, 3, EPS);
    /* equal counts: point by point */
    b.u.line = PATH(lc);
    interp(ar, &a, &b, 0.5, &out);
    lp_geom_point want2[2] = {{1, 1}, {7, 3}};
    assert_points(&out.u.line, want2, 2, 0);
    /* an L-shaped line resampled against a 5-point line */
    lp_geom_point ll[3] = {{0, 0}, {4, 0}, {4, 4}}, l5[5] = {{0, 0}, {2, 0}, {4, 0}, {4, 2}, {4, 4}};
    a.u.line = PATH(ll);
    b.u.line = PATH(l5);
    interp(ar, &a, &b, 0.5, &out);
    assert_points(&out.u.line, l5, 5, EPS);
}

static void test_resample(void **state)
{
    lp_arena *ar = *state;
    lp_error err;
    lp_error_clear(&err);
    lp_geom_point sq[4] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}};
    lp_geom_path p = PATH(sq), out;
    assert_int_equal(lp_geom_path_resample(&p, 8, true, ar, &out, &err), 0);
    lp_geom_point want[8] = {{0, 0}, {5, 0}, {10, 0}, {10, 5}, {10, 10}, {5, 10}, {0, 10}, {0, 5}};
    assert_points(&out, want, 8, 0);
    assert_int_equal(lp_geom_path_resample(&p, 5, false, ar, &out, &err), 0);
    lp_geom_point open[5] = {{0, 0}, {7.5, 0}, {10, 5}, {7.5, 10}, {0, 10}};
    assert_points(&out, open, 5, EPS);
    assert_int_equal(lp_geom_path_resample(&p, 1, true, ar, &out, &err), 0);
    assert_points(&out, sq, 1, 0);
    lp_geom_point same[3] = {{3, 3}, {3, 3}, {3, 3}};
    lp_geom_path z = PATH(same);
    assert_int_equal(lp_geom_path_resample(&z, 6, true, ar, &out, &err), 0);
    for (size_t i = 0; i < 6; i++)
        assert_true(out.points[i].x == 3 && out.points[i].y == 3);
    assert_int_equal(lp_geom_path_resample(&p, 0, true, ar, &out, &err), -1);
    lp_error_clear(&err);
    assert_int_equal(lp_geom_path_resample(&p, 1, false, ar, &out, &err), -1);
}

/* A square of 4 points to a square of 8 (twice as big): the middle is a
 * square of side 15 with 8 points, evenly spaced. */
static void test_polygon_unequal_counts(void **state)
{
    lp_arena *ar = *state;
    lp_geom_shape out;
    lp_geom_point s4[4] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}};
    lp_geom_point s8[8] = {{0, 0}, {10, 0}, {20, 0}, {20, 10}, {20, 20}, {10, 20}, {0, 20}, {0, 10}};
    lp_geom_path pa = PATH(s4), pb = PATH(s8);
    lp_geom_shape a = {.type = LP_GEOM_POLYGON, .u.polygon = {&pa, 1}};
    lp_geom_shape b = {.type = LP_GEOM_POLYGON, .u.polygon = {&pb, 1}};
    lp_geom_point want[8] = {{0, 0}, {7.5, 0}, {15, 0}, {15, 7.5}, {15, 15}, {7.5, 15}, {0, 15}, {0, 7.5}};
    interp(ar, &a, &b, 0.5, &out);
    assert_int_equal(out.u.polygon.npaths, 1);
    assert_points(&out.u.polygon.paths[0], want, 8, EPS);
    assert_near(lp_geom_polygon_area(&out.u.polygon), 225, EPS);

    /* the same square started elsewhere and running the other way: the
     * anchor and orientation are found again, the middle is the same */
    lp_geom_point r8[8] = {{20, 20}, {20, 10}, {20, 0}, {10, 0}, {0, 0}, {0, 10}, {0, 20}, {10, 20}};
    lp_geom_path pr = PATH(r8);
    b.u.polygon = (lp_geom_polygon){&pr, 1};
    interp(ar, &a, &b, 0.5, &out);
    assert_points(&out.u.polygon.paths[0], want, 8, EPS);
    /* and from 8 to 4 */
    interp(ar, &b, &a, 0.5, &out);
    assert_near(fabs(lp_geom_polygon_area(&out.u.polygon)), 225, EPS);
    lp_geom_bbox box;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_shape_bbox(&out, &box, &err), 0);
    assert_true(box.x == 0 && box.y == 0 && box.w == 15 && box.h == 15);

    /* equal counts, point by point: triangle to triangle */
    lp_geom_point t1[3] = {{0, 0}, {4, 0}, {0, 4}}, t2[3] = {{2, 2}, {6, 2}, {2, 8}};
    lp_geom_path p1 = PATH(t1), p2 = PATH(t2);
    a.u.polygon = (lp_geom_polygon){&p1, 1};
    b.u.polygon = (lp_geom_polygon){&p2, 1};
    interp(ar, &a, &b, 0.5, &out);
    lp_geom_point tw[3] = {{1, 1}, {5, 1}, {1, 6}};
    assert_points(&out.u.polygon.paths[0], tw, 3, 0);
}

/* Big paths take the coarse-then-refine rotation search: two circles with
 * their first points half a turn apart still line up. */
static void test_polygon_large_rotation(void **state)
{
    lp_arena *ar = *state;
    enum { NA = 3000, NB = 5000 };
    lp_geom_point *ca = malloc(NA * sizeof *ca), *cb = malloc(NB * sizeof *cb);
    assert_non_null(ca);
    assert_non_null(cb);
    for (int i = 0; i < NA; i++)
        ca[i] = (lp_geom_point){100 + 10 * cos(2 * M_PI * i / NA), 100 + 10 * sin(2 * M_PI * i / NA)};
    for (int i = 0; i < NB; i++) {
        double ang = M_PI + 2 * M_PI * i / NB;
        cb[i] = (lp_geom_point){100 + 20 * cos(ang), 100 + 20 * sin(ang)};
    }
    lp_geom_path pa = {ca, NA}, pb = {cb, NB};
    lp_geom_shape a = {.type = LP_GEOM_POLYGON, .u.polygon = {&pa, 1}};
    lp_geom_shape b = {.type = LP_GEOM_POLYGON, .u.polygon = {&pb, 1}};
    lp_geom_shape out;
    interp(ar, &a, &b, 0.5, &out);
    const lp_geom_path *p = &out.u.polygon.paths[0];
    assert_int_equal(p->npoints, NB);
    /* every point on the circle of radius 15, the first at angle 0 */
    for (int i = 0; i < NB; i += 97)
        assert_near(hypot(p->points[i].x - 100, p->points[i].y - 100), 15, 0.01);
    assert_near(p->points[0].x, 115, 0.01);
    assert_near(p->points[0].y, 100, 0.05);
    free(ca);
    free(cb);
}

/* A square listed from another corner and the other way round, turned by
 * 30 degrees: the points pair with their nearest partners, so the middle
 * is a square of the same size (simple, same area), not a bow tie. */
static void test_polygon_does_not_twist(void **state)
{
    lp_arena *ar = *state;
    lp_geom_shape out;
    lp_error err;
    lp_geom_point sq[4] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}}, turned[4];
    double c = cos(M_PI / 6), s = sin(M_PI / 6);
    for (int i = 0; i < 4; i++) {
        lp_geom_point p = sq[(2 + 4 - i) % 4]; /* from corner 2, backwards */
        turned[i] = (lp_geom_point){5 + c * (p.x - 5) - s * (p.y - 5), 5 + s * (p.x - 5) + c * (p.y - 5)};
    }
    lp_geom_path pa = PATH(sq), pb = PATH(turned);
    lp_geom_shape a = {.type = LP_GEOM_POLYGON, .u.polygon = {&pa, 1}};
    lp_geom_shape b = {.type = LP_GEOM_POLYGON, .u.polygon = {&pb, 1}};
    for (double t = 0.1; t < 1; t += 0.1) {
        interp(ar, &a, &b, t, &out);
        lp_error_clear(&err);
        assert_int_equal(lp_geom_polygon_check_simple(&out.u.polygon, &err), 0);
        assert_true(fabs(lp_geom_polygon_area(&out.u.polygon)) > 0.9 * 100);
    }
    /* the same square listed from another corner: nothing moves */
    lp_geom_point from1[4] = {{10, 0}, {10, 10}, {0, 10}, {0, 0}};
    lp_geom_path p1 = PATH(from1);
    b.u.polygon = (lp_geom_polygon){&p1, 1};
    interp(ar, &a, &b, 0.5, &out);
    assert_points(&out.u.polygon.paths[0], sq, 4, 0);
    /* a line drawn the other way is not folded onto its middle */
    lp_geom_point la[3] = {{0, 0}, {5, 1}, {10, 0}}, lb[3] = {{10, 0}, {5, 1}, {0, 0}};
    a = (lp_geom_shape){.type = LP_GEOM_LINE, .u.line = PATH(la)};
    b = (lp_geom_shape){.type = LP_GEOM_LINE, .u.line = PATH(lb)};
    interp(ar, &a, &b, 0.5, &out);
    assert_points(&out.u.line, la, 3, 0);
}

/* A disc of radius r centred at (cx, cy) in a w x h mask. */
static lp_geom_rle disc(lp_arena *ar, uint32_t w, uint32_t h, double cx, double cy, double r,
                        lp_geom_rle_order order)
{
    uint8_t *px = calloc((size_t)w * h, 1);
    assert_non_null(px);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            px[(size_t)y * w + x] = hypot(x - cx, y - cy) <= r;
    lp_geom_rle out;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_rle_encode(px, w, h, 1, order, (uint64_t)w * h, ar, &out, &err), 0);
    free(px);
    return out;
}

static double mask_iou(const lp_geom_rle *a, const lp_geom_rle *b)
{
    size_t n = (size_t)a->width * a->height;
    uint8_t *pa = malloc(n), *pb = malloc(n);
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_rle_decode(a, n, pa, n, &err), 0);
    assert_int_equal(lp_geom_rle_decode(b, n, pb, n, &err), 0);
    size_t inter = 0, uni = 0;
    for (size_t i = 0; i < n; i++) {
        inter += pa[i] && pb[i];
        uni += pa[i] || pb[i];
    }
    free(pa);
    free(pb);
    return uni ? (double)inter / (double)uni : 1;
}

/* Midway between a disc of radius 10 and one of radius 30 (same centre)
 * is the disc of radius 20; a quarter of the way, radius 15; the ends are
 * exact, in both run orders. */
static void test_mask_signed_distance(void **state)
{
    lp_arena *ar = *state;
    lp_geom_shape out;
    for (int o = 0; o < 2; o++) {
        lp_geom_rle_order order = o ? LP_GEOM_RLE_COLUMN_MAJOR : LP_GEOM_RLE_ROW_MAJOR;
        lp_geom_rle small = disc(ar, 160, 120, 70, 60, 10, order), big = disc(ar, 160, 120, 70, 60, 30, order);
        lp_geom_shape a = {.type = LP_GEOM_MASK, .u.mask = small};
        lp_geom_shape b = {.type = LP_GEOM_MASK, .u.mask = big};
        interp(ar, &a, &b, 0.5, &out);
        assert_int_equal(out.u.mask.order, order);
        lp_geom_rle mid = disc(ar, 160, 120, 70, 60, 20, order);
        assert_true(mask_iou(&out.u.mask, &mid) >= 0.95);
        interp(ar, &a, &b, 0.25, &out);
        lp_geom_rle quarter = disc(ar, 160, 120, 70, 60, 15, order);
        assert_true(mask_iou(&out.u.mask, &quarter) >= 0.95);
        interp(ar, &a, &b, 0, &out);
        assert_true(mask_iou(&out.u.mask, &small) == 1);
        interp(ar, &a, &b, 1, &out);
        assert_true(mask_iou(&out.u.mask, &big) == 1);
    }
    /* a disc moving across: halfway it lies between, about its own size */
    lp_geom_rle left = disc(ar, 200, 100, 60, 50, 20, LP_GEOM_RLE_ROW_MAJOR);
    lp_geom_rle right = disc(ar, 200, 100, 80, 50, 20, LP_GEOM_RLE_ROW_MAJOR);
    lp_geom_rle centre = disc(ar, 200, 100, 70, 50, 20, LP_GEOM_RLE_ROW_MAJOR);
    lp_geom_shape a = {.type = LP_GEOM_MASK, .u.mask = left};
    lp_geom_shape b = {.type = LP_GEOM_MASK, .u.mask = right};
    interp(ar, &a, &b, 0.5, &out);
    assert_true(mask_iou(&out.u.mask, &centre) >= 0.85);
    /* a mask touching the image's edges, and an empty one (held) */
    lp_geom_rle corner = disc(ar, 50, 50, 0, 0, 30, LP_GEOM_RLE_ROW_MAJOR);
    lp_geom_rle corner2 = disc(ar, 50, 50, 0, 0, 10, LP_GEOM_RLE_ROW_MAJOR);
    lp_geom_rle corner_mid = disc(ar, 50, 50, 0, 0, 20, LP_GEOM_RLE_ROW_MAJOR);
    a.u.mask = corner;
    b.u.mask = corner2;
    interp(ar, &a, &b, 0.5, &out);
    assert_true(mask_iou(&out.u.mask, &corner_mid) >= 0.9);
    lp_geom_rle empty = disc(ar, 50, 50, -100, -100, 1, LP_GEOM_RLE_ROW_MAJOR);
    b.u.mask = empty;
    interp(ar, &a, &b, 0.5, &out);
    assert_true(mask_iou(&out.u.mask, &corner) == 1);
}

/* A label map of w x h with discs (label, cx, cy, r; later ones on top), as a dense RLE in ar. */
typedef struct disc_spec {
    uint8_t label;
    double cx, cy, r;
} disc_spec;

static uint32_t *label_discs(lp_arena *ar, uint32_t w, uint32_t h, const disc_spec *d, size_t n, size_t *nvalues)
{
    uint8_t *px = calloc((size_t)w * h, 1);
    assert_non_null(px);
    for (size_t i = 0; i < n; i++)
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++)
                if (hypot(x - d[i].cx, y - d[i].cy) <= d[i].r)
                    px[(size_t)y * w + x] = d[i].label;
    uint32_t *v;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_dense_rle_encode(px, w, h, (uint64_t)w * h, ar, &v, nvalues, &err), 0);
    free(px);
    return v;
}

/* The pixels of one label of a dense RLE as a binary RLE. */
static lp_geom_rle label_mask(lp_arena *ar, const uint32_t *v, size_t n, uint32_t w, uint32_t h, uint8_t label)
{
    int64_t *values = calloc(n ? n : 1, sizeof *values);
    uint8_t *px = malloc((size_t)w * h);
    lp_geom_rle out;
    lp_error err;
    lp_error_clear(&err);
    assert_non_null(values);
    assert_non_null(px);
    for (size_t i = 0; i < n; i++)
        values[i] = v[i];
    assert_int_equal(lp_geom_dense_rle_decode(values, n, w, h, (uint64_t)w * h, px, (size_t)w * h, &err), 0);
    assert_int_equal(lp_geom_rle_encode(px, w, h, label, LP_GEOM_RLE_ROW_MAJOR, (uint64_t)w * h, ar, &out, &err), 0);
    free(values);
    free(px);
    return out;
}

/* A raster layer's masks interpolate like masks: paired by the caller (the
 * same annotation under another label in the later layer), each blended by
 * signed distance — midway between discs of radius 10 and 30 the disc of
 * radius 20 — while a mask missing from the later layer is held and one only
 * in the later layer is absent; t = 0 and t = 1 give the layers. */
static void test_raster_layer_masks(void **state)
{
    lp_arena *ar = *state;
    const uint32_t w = 200, h = 120;
    /* earlier: mask A (label 1) r 10 at (60, 60), mask B (label 2) r 15 at (160, 40) */
    disc_spec ea[2] = {{1, 60, 60, 10}, {2, 160, 40, 15}};
    /* later: mask A as label 3, r 30; mask C (label 1) at (160, 100); B is gone */
    disc_spec eb[2] = {{3, 60, 60, 30}, {1, 160, 100, 12}};
    size_t na, nb, nout;
    uint32_t *a = label_discs(ar, w, h, ea, 2, &na), *b = label_discs(ar, w, h, eb, 2, &nb), *out;
    lp_geom_label_pair pairs[2] = {{1, 3}, {2, 0}};
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_dense_interpolate(a, na, b, nb, w, h, pairs, 2, 0.5, (uint64_t)w * h, ar, &out, &nout,
                                               &err), 0);
    disc_spec want_a = {1, 60, 60, 20};
    size_t nw;
    uint32_t *want = label_discs(ar, w, h, &want_a, 1, &nw);
    lp_geom_rle got1 = label_mask(ar, out, nout, w, h, 1), exp1 = label_mask(ar, want, nw, w, h, 1);
    assert_true(mask_iou(&got1, &exp1) >= 0.95);
    lp_geom_rle got2 = label_mask(ar, out, nout, w, h, 2), held2 = label_mask(ar, a, na, w, h, 2);
    assert_true(mask_iou(&got2, &held2) == 1);
    lp_geom_rle got3 = label_mask(ar, out, nout, w, h, 3);
    assert_int_equal(lp_geom_rle_area(&got3), 0);
    /* mask C of the later layer only is not there yet: label 1 is mask A alone, nothing near (160, 100) */
    lp_geom_bbox box;
    assert_int_equal(lp_geom_rle_bbox(&got1, (uint64_t)w * h, &box, &err), 0);
    assert_true(box.x + box.w <= 90);
    /* the ends: t = 0 is the earlier layer exactly; t = 1 has A at its later size (under its earlier label) */
    assert_int_equal(lp_geom_dense_interpolate(a, na, b, nb, w, h, pairs, 2, 0, (uint64_t)w * h, ar, &out, &nout, &err),
                     0);
    assert_int_equal(nout, na);
    assert_memory_equal(out, a, na * sizeof *a);
    assert_int_equal(lp_geom_dense_interpolate(a, na, b, nb, w, h, pairs, 2, 1, (uint64_t)w * h, ar, &out, &nout, &err),
                     0);
    lp_geom_rle end1 = label_mask(ar, out, nout, w, h, 1), later3 = label_mask(ar, b, nb, w, h, 3);
    assert_true(mask_iou(&end1, &later3) == 1);
    /* a map whose counts do not add up to the frame, and a frame over the limit */
    assert_int_equal(lp_geom_dense_interpolate(a, na, b, nb, w, h + 1, pairs, 2, 0.5, (uint64_t)w * (h + 1), ar, &out,
                                               &nout, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    lp_error_clear(&err);
    assert_int_equal(lp_geom_dense_interpolate(a, na, b, nb, w, h, pairs, 2, 0.5, 100, ar, &out, &nout, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
}

static void test_path_count_mismatch(void **state)
{
    lp_arena *ar = *state;
    lp_geom_shape out;
    lp_geom_point o1[3] = {{0, 0}, {10, 0}, {0, 10}}, o2[3] = {{10, 10}, {20, 10}, {10, 20}};
    lp_geom_point h1[3] = {{1, 1}, {3, 1}, {1, 3}};
    lp_geom_path two[2] = {PATH(o1), PATH(h1)}, one = PATH(o2);
    lp_geom_shape a = {.type = LP_GEOM_POLYGON, .u.polygon = {two, 2}};
    lp_geom_shape b = {.type = LP_GEOM_POLYGON, .u.polygon = {&one, 1}};
    /* a's extra path is held until b's keyframe */
    interp(ar, &a, &b, 0.5, &out);
    assert_int_equal(out.u.polygon.npaths, 2);
    lp_geom_point mid[3] = {{5, 5}, {15, 5}, {5, 15}};
    assert_points(&out.u.polygon.paths[0], mid, 3, 0);
    assert_points(&out.u.polygon.paths[1], h1, 3, 0);
    /* b's extra path appears at b's keyframe */
    interp(ar, &b, &a, 0.5, &out);
    assert_int_equal(out.u.polygon.npaths, 1);
    assert_points(&out.u.polygon.paths[0], mid, 3, 0);
}

static void test_held_types_and_errors(void **state)
{
    lp_arena *ar = *state;
    lp_error err;
    lp_geom_shape out;
    /* masks whose pixels live in the raster layer, or of different sizes: held */
    uint32_t ca[2] = {3, 1}, cb[2] = {1, 8};
    lp_geom_shape a = {.type = LP_GEOM_MASK, .u.mask = {2, 2, LP_GEOM_RLE_ROW_MAJOR, ca, 2}};
    lp_geom_shape b = {.type = LP_GEOM_MASK, .u.mask = {3, 3, LP_GEOM_RLE_ROW_MAJOR, cb, 2}};
    interp(ar, &a, &b, 0.9, &out);
    assert_int_equal(out.u.mask.ncounts, 2);
    assert_int_equal(out.u.mask.counts[0], 3);
    assert_ptr_not_equal(out.u.mask.counts, ca);
    lp_geom_shape elsewhere = {.type = LP_GEOM_MASK, .u.mask = {2, 2, LP_GEOM_RLE_ROW_MAJOR, NULL, 0}};
    interp(ar, &elsewhere, &a, 0.5, &out);
    assert_int_equal(out.u.mask.ncounts, 0);
    lp_geom_shape tag = {.type = LP_GEOM_TAG};
    interp(ar, &tag, &tag, 0.5, &out);

    lp_geom_shape box = {.type = LP_GEOM_BOUNDING_BOX, .u.bbox = {0, 0, 1, 1}};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_interpolate(&box, &tag, 0.5, ar, &out, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_non_null(strstr(err.message, "bounding_box"));
    lp_error_clear(&err);
    assert_int_equal(lp_geom_interpolate(&box, &box, NAN, ar, &out, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);

    /* arena exhausted */
    lp_arena *tiny = lp_arena_new(64, 128);
    assert_non_null(tiny);
    lp_geom_point big[64] = {{0, 0}}, small[3] = {{0, 0}, {1, 0}, {0, 1}};
    for (int i = 0; i < 64; i++)
        big[i] = (lp_geom_point){cos(i / 10.0), sin(i / 10.0)};
    lp_geom_path pbig = PATH(big), psmall = PATH(small);
    lp_geom_shape pa = {.type = LP_GEOM_POLYGON, .u.polygon = {&pbig, 1}};
    lp_geom_shape pb = {.type = LP_GEOM_POLYGON, .u.polygon = {&psmall, 1}};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_interpolate(&pa, &pb, 0.5, tiny, &out, &err), -1);
    assert_int_equal(err.code, LP_E_NOMEM);
    lp_arena_free(tiny);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_simple_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ellipse_shorter_arc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_angles_far_apart_stay_finite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skeleton_by_name_and_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resample, setup, teardown),
        cmocka_unit_test_setup_teardown(test_polygon_unequal_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_polygon_large_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_polygon_does_not_twist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mask_signed_distance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raster_layer_masks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_count_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_types_and_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
