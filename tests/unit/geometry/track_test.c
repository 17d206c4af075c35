/* Tracks: keyframes, visibility ranges (end exclusive) and hidden areas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "loupe/geometry/track.h"

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

#define BOX(x, y) ((lp_geom_shape){.type = LP_GEOM_BOUNDING_BOX, .u.bbox = {(x), (y), 10, 10}})

static const lp_geom_keyframe boxes[3] = {{0, BOX(0, 0)}, {10, BOX(10, 0)}, {20, BOX(10, 10)}};

/* The frame's kind, and when present its box's x and y. */
static lp_geom_frame_kind at(lp_arena *ar, const lp_geom_track *t, int64_t f, double *x, double *y)
{
    lp_error err;
    lp_error_clear(&err);
    lp_geom_shape s;
    lp_geom_frame_kind kind = (lp_geom_frame_kind)-1;
    assert_int_equal(lp_geom_track_at(t, f, ar, &s, &kind, &err), 0);
    if (kind != LP_GEOM_FRAME_ABSENT) {
        assert_int_equal(s.type, LP_GEOM_BOUNDING_BOX);
        *x = s.u.bbox.x;
        *y = s.u.bbox.y;
    }
    return kind;
}

#define EXPECT(f, k, ex, ey)                                                                                      \
    do {                                                                                                          \
        double x_ = NAN, y_ = NAN;                                                                                \
        assert_int_equal(at(ar, &t, (f), &x_, &y_), (k));                                                        \
        if ((k) != LP_GEOM_FRAME_ABSENT) {                                                                        \
            assert_true(fabs(x_ - (ex)) < 1e-12);                                                                 \
            assert_true(fabs(y_ - (ey)) < 1e-12);                                                                 \
        }                                                                                                         \
    } while (0)

#define ABSENT LP_GEOM_FRAME_ABSENT
#define KEY LP_GEOM_FRAME_KEYFRAME
#define INTERP LP_GEOM_FRAME_INTERPOLATED

static void test_one_range_with_hidden_area(void **state)
{
    lp_arena *ar = *state;
    lp_geom_frame_range ranges[1] = {{0, 30}}, hidden[1] = {{15, 18}};
    lp_geom_track t = {boxes, 3, ranges, 1, hidden, 1, true};
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_track_check(&t, &err), 0);
    EXPECT(-1, ABSENT, 0, 0);
    EXPECT(0, KEY, 0, 0);
    EXPECT(5, INTERP, 5, 0);
    EXPECT(9, INTERP, 9, 0);
    EXPECT(10, KEY, 10, 0);
    EXPECT(14, INTERP, 10, 4);
    EXPECT(15, ABSENT, 0, 0);
    EXPECT(17, ABSENT, 0, 0);
    EXPECT(18, INTERP, 10, 8);
    EXPECT(20, KEY, 10, 10);
    EXPECT(29, INTERP, 10, 10); /* after the last keyframe: held */
    EXPECT(30, ABSENT, 0, 0);   /* end is exclusive */
}

static void test_ranges_bound_interpolation(void **state)
{
    lp_arena *ar = *state;
    /* keyframe 10 ends the first range and 20 starts inside the second:
     * nothing is interpolated across the gap */
    lp_geom_frame_range ranges[2] = {{0, 12}, {18, 30}};
    lp_geom_track t = {boxes, 3, ranges, 2, NULL, 0, true};
    EXPECT(11, INTERP, 10, 0);
    EXPECT(12, ABSENT, 0, 0);
    EXPECT(17, ABSENT, 0, 0);
    EXPECT(18, INTERP, 10, 10); /* before the range's first keyframe: held */
    EXPECT(19, INTERP, 10, 10);
    EXPECT(20, KEY, 10, 10);

    /* ranges without keyframes hold the last keyframe before, else the first after */
    lp_geom_frame_range far[2] = {{40, 50}, {-10, -5}};
    t = (lp_geom_track){boxes, 3, far, 2, NULL, 0, true};
    EXPECT(45, INTERP, 10, 10);
    EXPECT(-7, INTERP, 0, 0);
    EXPECT(0, ABSENT, 0, 0);

    /* no ranges: never visible */
    t = (lp_geom_track){boxes, 3, NULL, 0, NULL, 0, true};
    EXPECT(10, ABSENT, 0, 0);
}

static void test_not_interpolated_holds(void **state)
{
    lp_arena *ar = *state;
    lp_geom_frame_range ranges[1] = {{0, 30}};
    lp_geom_track t = {boxes, 3, ranges, 1, NULL, 0, false};
    EXPECT(5, INTERP, 0, 0);
    EXPECT(10, KEY, 10, 0);
    EXPECT(19, INTERP, 10, 0);
    EXPECT(25, INTERP, 10, 10);
}

/* A square of 4 points at frame 0 and of 8 points at frame 10: frame 5 is
 * the square of side 15. */
static void test_polygon_track(void **state)
{
    lp_arena *ar = *state;
    lp_geom_point s4[4] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}};
    lp_geom_point s8[8] = {{0, 0}, {10, 0}, {20, 0}, {20, 10}, {20, 20}, {10, 20}, {0, 20}, {0, 10}};
    lp_geom_path p4 = {s4, 4}, p8 = {s8, 8};
    lp_geom_keyframe kf[2] = {{0, {.type = LP_GEOM_POLYGON, .u.polygon = {&p4, 1}}},
                              {10, {.type = LP_GEOM_POLYGON, .u.polygon = {&p8, 1}}}};
    lp_geom_frame_range ranges[1] = {{0, 11}};
    lp_geom_track t = {kf, 2, ranges, 1, NULL, 0, true};
    lp_error err;
    lp_error_clear(&err);
    lp_geom_shape s;
    lp_geom_frame_kind kind;
    assert_int_equal(lp_geom_track_at(&t, 5, ar, &s, &kind, &err), 0);
    assert_int_equal(kind, INTERP);
    const lp_geom_point want[8] = {{0, 0}, {7.5, 0}, {15, 0}, {15, 7.5}, {15, 15}, {7.5, 15}, {0, 15}, {0, 7.5}};
    assert_int_equal(s.u.polygon.paths[0].npoints, 8);
    for (int i = 0; i < 8; i++) {
        assert_true(fabs(s.u.polygon.paths[0].points[i].x - want[i].x) < 1e-9);
        assert_true(fabs(s.u.polygon.paths[0].points[i].y - want[i].y) < 1e-9);
    }
    /* a keyframe comes back as a copy */
    assert_int_equal(lp_geom_track_at(&t, 10, ar, &s, &kind, &err), 0);
    assert_int_equal(kind, KEY);
    assert_int_equal(s.u.polygon.paths[0].npoints, 8);
    assert_ptr_not_equal(s.u.polygon.paths[0].points, s8);
}

static void test_track_check(void **state)
{
    (void)state;
    lp_error err;
    lp_geom_frame_range ok[1] = {{0, 5}}, bad[2] = {{0, 5}, {7, 7}};
    lp_geom_keyframe unsorted[2] = {{4, BOX(0, 0)}, {4, BOX(1, 1)}};
    lp_geom_keyframe mixed[2] = {{0, BOX(0, 0)}, {3, {.type = LP_GEOM_KEYPOINT, .u.keypoint = {1, 1}}}};
    struct {
        lp_geom_track t;
        const char *field;
    } cases[] = {
        {{NULL, 0, ok, 1, NULL, 0, true}, "keyframes"},
        {{unsorted, 2, ok, 1, NULL, 0, true}, "keyframes[1].frame"},
        {{mixed, 2, ok, 1, NULL, 0, true}, "keyframes[1].type"},
        {{boxes, 3, bad, 2, NULL, 0, true}, "ranges[1]"},
        {{boxes, 3, ok, 1, bad + 1, 1, true}, "hidden_areas[0]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lp_error_clear(&err);
        assert_int_equal(lp_geom_track_check(&cases[i].t, &err), -1);
        assert_int_equal(err.code, LP_E_INVALID);
        assert_string_equal(err.fields[0].field, cases[i].field);
    }
}

static void test_mismatched_types_fail_at_frame(void **state)
{
    lp_arena *ar = *state;
    lp_geom_keyframe mixed[2] = {{0, BOX(0, 0)}, {4, {.type = LP_GEOM_KEYPOINT, .u.keypoint = {1, 1}}}};
    lp_geom_frame_range r[1] = {{0, 5}};
    lp_geom_track t = {mixed, 2, r, 1, NULL, 0, true};
    lp_error err;
    lp_error_clear(&err);
    lp_geom_shape s;
    lp_geom_frame_kind kind;
    assert_int_equal(lp_geom_track_at(&t, 2, ar, &s, &kind, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    /* extreme frame numbers do not overflow */
    lp_geom_keyframe wide[2] = {{INT64_MIN + 1, BOX(0, 0)}, {INT64_MAX - 1, BOX(10, 0)}};
    lp_geom_frame_range all[1] = {{INT64_MIN, INT64_MAX}};
    t = (lp_geom_track){wide, 2, all, 1, NULL, 0, true};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_track_at(&t, 0, ar, &s, &kind, &err), 0);
    assert_int_equal(kind, INTERP);
    assert_true(fabs(s.u.bbox.x - 5) < 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_range_with_hidden_area, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranges_bound_interpolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_interpolated_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_polygon_track, setup, teardown),
        cmocka_unit_test_setup_teardown(test_track_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatched_types_fail_at_frame, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
