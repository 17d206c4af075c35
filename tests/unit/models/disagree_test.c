/* Disagreement of predictions with human annotations (src/models/disagree.c):
 * hand-made cases, one missed and one extra box first. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/models/disagree.h"

#define C1 "6a52a094-d998-4e6e-81b3-6beeebfaae0b"
#define C2 "0b7e3f1c-5d1a-4c1e-9a55-1f0e2d3c4b5a"

static lp_geom_shape box(double x, double y, double w, double h)
{
    lp_geom_shape s = {.type = LP_GEOM_BOUNDING_BOX};
    s.u.bbox = (lp_geom_bbox){x, y, w, h};
    return s;
}

/* Two human boxes, two predicted: one pair overlaps at IoU 81/119 = 0.68, the other human box
 * is missed, the other prediction is extra: F1 = 2·1 / (2·1 + 1 + 1) = 0.5. */
static void test_one_missed_one_extra(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_geom_shape hs[2] = {box(0, 0, 10, 10), box(20, 20, 10, 10)};
    lp_geom_shape ps[2] = {box(50, 50, 10, 10), box(1, 1, 10, 10)};
    lp_dis_shape human[2] = {{"h0", C1, "0", &hs[0]}, {"h1", C1, "0", &hs[1]}};
    lp_dis_shape pred[2] = {{"p0", C1, "0", &ps[0]}, {"p1", C1, "0", &ps[1]}};
    lp_disagreement d;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_disagreement_compute(human, 2, pred, 2, 0.5, 1000, a, &d, &err), 0);
    assert_int_equal(d.matched, 1);
    assert_int_equal(d.missed, 1);
    assert_int_equal(d.extra, 1);
    assert_true(fabs(d.f1 - 0.5) < 1e-12);
    assert_true(fabs(d.value - 0.5) < 1e-12);
    assert_int_equal(d.nmatches, 1);
    assert_int_equal(d.matches[0].human, 0);
    assert_int_equal(d.matches[0].predicted, 1);
    assert_true(fabs(d.matches[0].iou - 81.0 / 119.0) < 1e-12);
    assert_int_equal(d.missed_idx[0], 1);
    assert_int_equal(d.extra_idx[0], 0);
    assert_int_equal(d.nclasses, 1);
    assert_string_equal(d.classes[0].class_id, C1);
    assert_true(fabs(d.classes[0].f1 - 0.5) < 1e-12);
    lp_arena_free(a);
}

/* The same box of another class, or of another slot, is no match; an overlap under the
 * threshold is none either; per class F1 is reported by class id. */
static void test_classes_slots_threshold(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_geom_shape hs[3] = {box(0, 0, 10, 10), box(100, 100, 10, 10), box(200, 200, 10, 10)};
    lp_geom_shape ps[3] = {box(0, 0, 10, 10), box(100, 100, 10, 10), box(205, 200, 10, 10)};
    lp_dis_shape human[3] = {{"h0", C1, "0", &hs[0]}, {"h1", C2, "0", &hs[1]}, {"h2", C2, "0", &hs[2]}};
    /* p0: other class; p1: other slot; p2: IoU 50/150 = 0.33 */
    lp_dis_shape pred[3] = {{"p0", C2, "0", &ps[0]}, {"p1", C2, "1", &ps[1]}, {"p2", C2, "0", &ps[2]}};
    lp_disagreement d;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_disagreement_compute(human, 3, pred, 3, 0.5, 1000, a, &d, &err), 0);
    assert_int_equal(d.matched, 0);
    assert_int_equal(d.missed, 3);
    assert_int_equal(d.extra, 3);
    assert_true(d.value == 1.0);
    assert_int_equal(d.nclasses, 2);
    assert_string_equal(d.classes[0].class_id, C2); /* "0b7e…" sorts first */
    assert_int_equal(d.classes[0].missed, 2);
    assert_int_equal(d.classes[0].extra, 3);
    assert_int_equal(d.classes[1].missed, 1);
    /* at a threshold of 0.3 the third pair matches */
    assert_int_equal(lp_disagreement_compute(human, 3, pred, 3, 0.3, 1000, a, &d, &err), 0);
    assert_int_equal(d.matched, 1);
    assert_true(fabs(d.value - (1 - 2.0 / 6.0)) < 1e-12);
    lp_arena_free(a);
}

/* Greedy by IoU: the best pair is taken first, even when another assignment would match more. */
static void test_greedy_and_agreement(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_geom_shape hs[2] = {box(0, 0, 10, 10), box(2, 0, 10, 10)};
    lp_geom_shape ps[1] = {box(1, 0, 10, 10)}; /* IoU 90/110 with both: the first human shape wins */
    lp_dis_shape human[2] = {{"h0", C1, "0", &hs[0]}, {"h1", C1, "0", &hs[1]}};
    lp_dis_shape pred[1] = {{"p0", C1, "0", &ps[0]}};
    lp_disagreement d;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_disagreement_compute(human, 2, pred, 1, 0.5, 1000, a, &d, &err), 0);
    assert_int_equal(d.matches[0].human, 0);
    assert_int_equal(d.missed_idx[0], 1);
    /* the same shapes on both sides agree; nothing at all agrees too */
    assert_int_equal(lp_disagreement_compute(human, 2, human, 2, 0.5, 1000, a, &d, &err), 0);
    assert_true(d.value == 0 && d.matched == 2);
    assert_int_equal(lp_disagreement_compute(NULL, 0, NULL, 0, 0.5, 1000, a, &d, &err), 0);
    assert_true(d.value == 0 && d.f1 == 1 && d.nclasses == 0);
    /* a shape without a class is not compared */
    lp_dis_shape none[1] = {{"p", NULL, "0", &ps[0]}};
    assert_int_equal(lp_disagreement_compute(human, 2, none, 1, 0.5, 1000, a, &d, &err), 0);
    assert_int_equal(d.extra, 0);
    assert_int_equal(d.missed, 2);
    lp_arena_free(a);
}

/* Two polygons compare by their exact IoU, not their boxes': two right triangles filling
 * opposite halves of one square have equal boxes but do not overlap. */
static void test_polygons(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_geom_point t1[3] = {{0, 0}, {10, 0}, {0, 10}}, t2[3] = {{10, 0}, {10, 10}, {0, 10}};
    lp_geom_path p1 = {t1, 3}, p2 = {t2, 3};
    lp_geom_shape s1 = {.type = LP_GEOM_POLYGON}, s2 = {.type = LP_GEOM_POLYGON};
    s1.u.polygon = (lp_geom_polygon){&p1, 1};
    s2.u.polygon = (lp_geom_polygon){&p2, 1};
    lp_dis_shape human[1] = {{"h", C1, "0", &s1}}, pred[1] = {{"p", C1, "0", &s2}}, same[1] = {{"p", C1, "0", &s1}};
    lp_disagreement d;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_disagreement_compute(human, 1, pred, 1, 0.5, 1000, a, &d, &err), 0);
    assert_int_equal(d.matched, 0);
    assert_true(d.value == 1.0);
    assert_int_equal(lp_disagreement_compute(human, 1, same, 1, 0.5, 1000, a, &d, &err), 0);
    assert_int_equal(d.matched, 1);
    lp_arena_free(a);
}

static lp_geom_shape rbox(double x, double y, double w, double h, double angle)
{
    lp_geom_shape s = {.type = LP_GEOM_ROTATED_BOX};
    s.u.rbox = (lp_geom_rbox){x, y, w, h, angle};
    return s;
}

/* Rotated boxes are compared by their exact overlap, not by their extents. */
static void test_rotated_boxes(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_disagreement d;
    lp_error err;
    lp_error_clear(&err);
    /* a square and the same square turned 45 degrees: IoU 0.707 (their extents: 0.5) */
    lp_geom_shape sq = rbox(0, 0, 10, 10, 0), turned = rbox(0, 0, 10, 10, M_PI / 4);
    lp_dis_shape human[1] = {{"h", C1, "0", &sq}}, pred[1] = {{"p", C1, "0", &turned}};
    assert_int_equal(lp_disagreement_compute(human, 1, pred, 1, 0.6, 1000, a, &d, &err), 0);
    assert_int_equal(d.matched, 1);
    assert_true(fabs(d.matches[0].iou - (M_SQRT2 - 1) / (2 - M_SQRT2)) < 1e-9);
    /* two thin boxes crossing at right angles: the same extent, but they share only 2 x 2 */
    lp_geom_shape up = rbox(0, 9, 20, 2, M_PI / 4), down = rbox(0, 9, 20, 2, -M_PI / 4);
    lp_dis_shape h2[1] = {{"h", C1, "0", &up}}, p2[1] = {{"p", C1, "0", &down}};
    assert_int_equal(lp_disagreement_compute(h2, 1, p2, 1, 0.5, 1000, a, &d, &err), 0);
    assert_int_equal(d.matched, 0);
    lp_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_missed_one_extra),
        cmocka_unit_test(test_classes_slots_threshold),
        cmocka_unit_test(test_greedy_and_agreement),
        cmocka_unit_test(test_polygons),
        cmocka_unit_test(test_rotated_boxes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
