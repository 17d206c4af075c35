/* The rotated box: validation field names, corners, exact extent and
 * area, interpolation of its angle along the shorter arc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "loupe/geometry/interpolate.h"
#include "loupe/geometry/measure.h"
#include "loupe/geometry/shape.h"

#define DEG (M_PI / 180.0)

static const lp_geom_limits limits = {.max_points = 5, .max_paths = 2, .max_pixels = 100};

static void assert_near(double got, double want, double tol)
{
    if (fabs(got - want) > tol)
        fail_msg("got %.12g, want %.12g (tolerance %g)", got, want, tol);
}

static bool has_field(const lp_error *e, const char *name)
{
    for (size_t i = 0; i < e->nfields; i++)
        if (strcmp(e->fields[i].field, name) == 0)
            return true;
    return false;
}

static lp_geom_shape rbox(double x, double y, double w, double h, double angle)
{
    return (lp_geom_shape){.type = LP_GEOM_ROTATED_BOX, .u.rbox = {x, y, w, h, angle}};
}

static void test_type_is_its_own(void **state)
{
    (void)state;
    lp_geom_type t;
    assert_string_equal(lp_geom_type_name(LP_GEOM_ROTATED_BOX), "rotated_box");
    assert_int_equal(lp_geom_type_from_name("rotated_box", &t), 0);
    assert_int_equal(t, LP_GEOM_ROTATED_BOX);
    assert_true(lp_geom_type_has_geometry(LP_GEOM_ROTATED_BOX));
    assert_int_not_equal(LP_GEOM_ROTATED_BOX, LP_GEOM_BOUNDING_BOX);
}

static void test_validation_names_fields(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    lp_geom_shape ok = rbox(-5, 3, 0, 4, 7.5); /* any finite angle, zero width allowed */
    assert_int_equal(lp_geom_validate(&ok, &limits, &err), 0);

    lp_geom_shape bad = rbox(NAN, 0, -1, -2, INFINITY);
    assert_int_equal(lp_geom_validate(&bad, &limits, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_true(has_field(&err, "rotated_box.x"));
    assert_true(has_field(&err, "rotated_box.w"));
    assert_true(has_field(&err, "rotated_box.h"));
    assert_true(has_field(&err, "rotated_box.angle"));
    assert_false(has_field(&err, "rotated_box.y"));
    assert_non_null(strstr(err.message, "rotated_box"));
}

/* Every member finite, but the far edge or a corner past the largest double:
 * refused, naming the member that reaches it, so no export meets an
 * infinite coordinate (an axis-aligned box too). */
static void test_extent_must_be_finite(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    lp_geom_shape edge = rbox(1.7e308, 0, 1.7e308, 1, 0);
    assert_int_equal(lp_geom_validate(&edge, &limits, &err), -1);
    assert_true(has_field(&err, "rotated_box.w"));
    assert_false(has_field(&err, "rotated_box.h"));
    lp_error_clear(&err);
    lp_geom_shape corner = rbox(0.5e308, 0, 1.2e308, 1.7e308, M_PI / 4); /* x + w, y + h finite; a turned corner not */
    assert_int_equal(lp_geom_validate(&corner, &limits, &err), -1);
    assert_true(has_field(&err, "rotated_box"));
    lp_error_clear(&err);
    lp_geom_shape box = {.type = LP_GEOM_BOUNDING_BOX, .u.bbox = {0, 1.7e308, 1, 1.7e308}};
    assert_int_equal(lp_geom_validate(&box, &limits, &err), -1);
    assert_true(has_field(&err, "bounding_box.h"));
    lp_error_clear(&err);
    lp_geom_shape big = rbox(-1e307, 1e307, 1e308, 1e308, 1e300); /* large, but every corner finite */
    assert_int_equal(lp_geom_validate(&big, &limits, &err), 0);
}

static void test_corners_turn_clockwise_on_screen(void **state)
{
    (void)state;
    /* a 4 x 2 box centred on (10, 20), turned by 90 degrees: its top edge
     * (pointing +x) now points +y, down on screen */
    lp_geom_rbox b = {8, 19, 4, 2, 90 * DEG};
    lp_geom_point c[4];
    lp_geom_rbox_corners(&b, c);
    const lp_geom_point want[4] = {{11, 18}, {11, 22}, {9, 22}, {9, 18}};
    for (int i = 0; i < 4; i++) {
        assert_near(c[i].x, want[i].x, 1e-12);
        assert_near(c[i].y, want[i].y, 1e-12);
    }
}

static void test_extent_and_area_exact(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    lp_geom_bbox e;
    double area;

    lp_geom_shape s = rbox(10, 20, 30, 10, 0);
    assert_int_equal(lp_geom_shape_bbox(&s, &e, &err), 0);
    assert_near(e.x, 10, 1e-12);
    assert_near(e.y, 20, 1e-12);
    assert_near(e.w, 30, 1e-12);
    assert_near(e.h, 10, 1e-12);

    /* 45 degrees: half-extent (w + h) / (2 sqrt 2) both ways about (25, 25) */
    s = rbox(10, 20, 30, 10, 45 * DEG);
    assert_int_equal(lp_geom_shape_bbox(&s, &e, &err), 0);
    double half = 40 / (2 * M_SQRT2);
    assert_near(e.x, 25 - half, 1e-9);
    assert_near(e.y, 25 - half, 1e-9);
    assert_near(e.w, 2 * half, 1e-9);
    assert_near(e.h, 2 * half, 1e-9);

    /* any angle: the extent is that of the four corners */
    for (double a = -7; a < 7; a += 0.37) {
        s = rbox(3, -4, 17, 5, a);
        lp_geom_point c[4];
        lp_geom_rbox_corners(&s.u.rbox, c);
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        for (int i = 0; i < 4; i++) {
            x0 = fmin(x0, c[i].x), y0 = fmin(y0, c[i].y);
            x1 = fmax(x1, c[i].x), y1 = fmax(y1, c[i].y);
        }
        assert_int_equal(lp_geom_shape_bbox(&s, &e, &err), 0);
        assert_near(e.x, x0, 1e-9);
        assert_near(e.y, y0, 1e-9);
        assert_near(e.w, x1 - x0, 1e-9);
        assert_near(e.h, y1 - y0, 1e-9);
        assert_int_equal(lp_geom_shape_area(&s, &area, &err), 0);
        assert_near(area, 85, 1e-12);
    }
}

static void test_interpolate_shorter_arc(void **state)
{
    (void)state;
    lp_arena *ar = lp_arena_new(0, 0);
    assert_non_null(ar);
    lp_error err;
    lp_error_clear(&err);
    lp_geom_shape out;

    /* 0 -> 170 degrees: the shorter arc is +170, half-way is 85 */
    lp_geom_shape a = rbox(0, 0, 10, 20, 0), b = rbox(10, 20, 30, 40, 170 * DEG);
    assert_int_equal(lp_geom_interpolate(&a, &b, 0.5, ar, &out, &err), 0);
    assert_int_equal(out.type, LP_GEOM_ROTATED_BOX);
    assert_near(out.u.rbox.x, 5, 1e-12);
    assert_near(out.u.rbox.y, 10, 1e-12);
    assert_near(out.u.rbox.w, 20, 1e-12);
    assert_near(out.u.rbox.h, 30, 1e-12);
    assert_near(out.u.rbox.angle, 85 * DEG, 1e-12);
    /* the centre moves in a straight line: half-way between (5,10) and (25,40) */
    assert_near(out.u.rbox.x + out.u.rbox.w / 2, 15, 1e-12);
    assert_near(out.u.rbox.y + out.u.rbox.h / 2, 25, 1e-12);

    /* 0 -> 190 degrees is -170 the short way: half-way is -85, not +95 */
    b.u.rbox.angle = 190 * DEG;
    assert_int_equal(lp_geom_interpolate(&a, &b, 0.5, ar, &out, &err), 0);
    assert_near(out.u.rbox.angle, -85 * DEG, 1e-12);

    /* 350 -> 10 degrees crosses 0: a quarter of the way is 355 */
    a.u.rbox.angle = 350 * DEG;
    b.u.rbox.angle = 10 * DEG;
    assert_int_equal(lp_geom_interpolate(&a, &b, 0.25, ar, &out, &err), 0);
    assert_near(out.u.rbox.angle, 355 * DEG, 1e-12);

    /* the ends are the keyframes themselves */
    assert_int_equal(lp_geom_interpolate(&a, &b, 0, ar, &out, &err), 0);
    assert_near(out.u.rbox.angle, 350 * DEG, 1e-12);

    /* a rotated box never interpolates with an axis-aligned one */
    lp_geom_shape box = {.type = LP_GEOM_BOUNDING_BOX, .u.bbox = {0, 0, 1, 1}};
    assert_int_equal(lp_geom_interpolate(&a, &box, 0.5, ar, &out, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    lp_arena_free(ar);
}

static void test_region_iou_is_exact(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    lp_geom_quad qa, qb;
    lp_geom_polygon pa, pb;
    double iou;
    /* two 10 x 10 squares about (5, 5), one turned by 45 degrees: the
     * overlap is the regular octagon of apothem 5, area 200 (sqrt 2 - 1) */
    lp_geom_shape a = rbox(0, 0, 10, 10, 0), b = rbox(0, 0, 10, 10, 45 * DEG);
    assert_true(lp_geom_shape_region(&a, &qa, &pa));
    assert_true(lp_geom_shape_region(&b, &qb, &pb));
    assert_int_equal(lp_geom_polygon_iou(&pa, &pb, 1000, &iou, &err), 0);
    double inter = 200 * (M_SQRT2 - 1);
    assert_near(iou, inter / (200 - inter), 1e-9);
    /* their bounding boxes would say otherwise */
    lp_geom_bbox ea, eb;
    assert_int_equal(lp_geom_shape_bbox(&a, &ea, &err), 0);
    assert_int_equal(lp_geom_shape_bbox(&b, &eb, &err), 0);
    assert_true(lp_geom_bbox_iou(&ea, &eb) < 0.6 && iou > 0.7);
    /* a polygon is its own region; other types have none */
    lp_geom_shape box = {.type = LP_GEOM_BOUNDING_BOX, .u.bbox = {0, 0, 1, 1}};
    assert_false(lp_geom_shape_region(&box, &qa, &pa));
    lp_geom_shape poly = {.type = LP_GEOM_POLYGON, .u.polygon = pb};
    assert_true(lp_geom_shape_region(&poly, &qa, &pa));
    assert_ptr_equal(pa.paths, pb.paths);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_is_its_own),
        cmocka_unit_test(test_validation_names_fields),
        cmocka_unit_test(test_extent_must_be_finite),
        cmocka_unit_test(test_corners_turn_clockwise_on_screen),
        cmocka_unit_test(test_extent_and_area_exact),
        cmocka_unit_test(test_interpolate_shorter_arc),
        cmocka_unit_test(test_region_iou_is_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
