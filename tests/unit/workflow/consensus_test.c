/* Consensus agreement (src/workflow/consensus.c): agreement and
 * disagreement, the best annotator, thresholds, one-to-one matching, tags
 * and texts, exact polygon IoU, keypoints, slots, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/workflow/consensus.h"

#define CARS "6a52a094-d998-4e6e-81b3-6beeebfaae0b"
#define SUNNY "0b7e3f1c-5d1a-4c1e-9a55-1f0e2d3c4b5a"
#define SIGNS "00000000-0000-4000-8000-000000000001"
#define CROSSINGS 100000

static lp_arena *arena;

static int setup(void **state)
{
    (void)state;
    return (arena = lp_arena_new(0, 0)) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    lp_arena_free(arena);
    return 0;
}

static lp_ann shape(const char *cls, lp_geom_type t)
{
    lp_ann a = {.class_id = cls, .type = (int)t, .slot = "0"};
    a.body.geom.type = (int)t;
    a.body.geom.shape.type = t;
    a.body.data = "{}";
    a.body.data_len = 2;
    return a;
}

static lp_ann box(const char *cls, double x, double y, double w, double h)
{
    lp_ann a = shape(cls, LP_GEOM_BOUNDING_BOX);
    a.body.geom.shape.u.bbox = (lp_geom_bbox){x, y, w, h};
    return a;
}

static lp_ann tag(const char *cls)
{
    lp_ann a = shape(cls, LP_GEOM_TAG);
    a.body.geom.raw = "{}";
    a.body.geom.raw_len = 2;
    return a;
}

static lp_ann text(const char *cls, const char *raw)
{
    lp_ann a = shape(cls, LP_GEOM_TEXT);
    a.body.geom.raw = raw;
    a.body.geom.raw_len = strlen(raw);
    return a;
}

static lp_ann point(const char *cls, double x, double y)
{
    lp_ann a = shape(cls, LP_GEOM_KEYPOINT);
    a.body.geom.shape.u.keypoint = (lp_geom_point){x, y};
    return a;
}

/* A polygon of one path through n points (xy pairs), in the arena. */
static lp_ann polygon(const char *cls, const double *xy, size_t n)
{
    lp_ann a = shape(cls, LP_GEOM_POLYGON);
    lp_geom_path *path = lp_arena_calloc(arena, 1, sizeof *path);
    lp_geom_point *pts = lp_arena_calloc(arena, n, sizeof *pts);
    assert_true(path && pts);
    for (size_t i = 0; i < n; i++)
        pts[i] = (lp_geom_point){xy[2 * i], xy[2 * i + 1]};
    *path = (lp_geom_path){pts, n};
    a.body.geom.shape.u.polygon = (lp_geom_polygon){path, 1};
    return a;
}

#define WORK(user, arr) ((lp_wf_work){(user), (arr), sizeof(arr) / sizeof((arr)[0])})

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-9)
        fail_msg("got %.12g, want %.12g", got, want);
}

static lp_wf_agreement run(const lp_wf_work *w, size_t n, double iou, double agree)
{
    lp_wf_agreement out;
    lp_error err;
    lp_error_clear(&err);
    if (lp_wf_consensus(w, n, iou, agree, CROSSINGS, arena, &out, &err) != 0)
        fail_msg("consensus failed: %s", err.message);
    return out;
}

/* Three annotators draw the same two cars (a pixel apart) and the same tag: full agreement. */
static void test_agree(void **state)
{
    (void)state;
    lp_ann u0[] = {box(CARS, 10, 10, 50, 30), box(CARS, 100, 100, 20, 20), tag(SUNNY)};
    lp_ann u1[] = {tag(SUNNY), box(CARS, 101, 99, 20, 21), box(CARS, 11, 10, 50, 30)};
    lp_ann u2[] = {box(CARS, 10, 11, 49, 30), box(CARS, 100, 100, 20, 20), tag(SUNNY)};
    lp_wf_work w[] = {WORK("u0", u0), WORK("u1", u1), WORK("u2", u2)};
    lp_wf_agreement r = run(w, 3, 0.5, 1.0);
    near(r.score, 1);
    assert_true(r.agree);
    assert_int_equal(r.nclasses, 2);
    assert_string_equal(r.classes[0].class_id, CARS); /* first seen first */
    assert_string_equal(r.classes[1].class_id, SUNNY);
    for (size_t p = 0; p < 3; p++)
        near(r.per_annotator[p], 1);
    assert_int_equal(r.best, 0); /* a tie: the first */
}

/* The third annotator missed a car: the class scores 7/9, the item disagrees at 1.0 and agrees
 * at 0.75; the one who missed it has the lowest agreement. */
static void test_disagree(void **state)
{
    (void)state;
    lp_ann u0[] = {box(CARS, 10, 10, 50, 30), box(CARS, 100, 100, 20, 20), tag(SUNNY)};
    lp_ann u1[] = {box(CARS, 10, 10, 50, 30), box(CARS, 100, 100, 20, 20), tag(SUNNY)};
    lp_ann u2[] = {box(CARS, 10, 10, 50, 30), tag(SUNNY)};
    lp_wf_work w[] = {WORK("u0", u0), WORK("u1", u1), WORK("u2", u2)};
    lp_wf_agreement r = run(w, 3, 0.5, 1.0);
    /* pairs on cars: (0,1) 1, (0,2) 2/3, (1,2) 2/3 */
    near(r.classes[0].score, (1 + 2.0 / 3 + 2.0 / 3) / 3);
    near(r.classes[1].score, 1);
    near(r.score, 7.0 / 9);
    assert_false(r.agree);
    near(r.per_annotator[0], (1 + 2.0 / 3 + 1 + 1) / 4);
    near(r.per_annotator[2], (2.0 / 3 + 2.0 / 3 + 1 + 1) / 4);
    assert_true(r.per_annotator[2] < r.per_annotator[1]);
    assert_int_equal(r.best, 0);
    assert_true(run(w, 3, 0.5, 0.75).agree);
}

/* The first annotator is the odd one out: the best is the second. */
static void test_best_annotator(void **state)
{
    (void)state;
    lp_ann u0[] = {box(CARS, 300, 300, 10, 10)};
    lp_ann u1[] = {box(CARS, 10, 10, 50, 30), box(CARS, 100, 100, 20, 20)};
    lp_ann u2[] = {box(CARS, 10, 10, 50, 30), box(CARS, 100, 100, 20, 20)};
    lp_ann u3[] = {box(CARS, 10, 10, 50, 30)};
    lp_wf_work w[] = {WORK("u0", u0), WORK("u1", u1), WORK("u2", u2), WORK("u3", u3)};
    lp_wf_agreement r = run(w, 4, 0.5, 1.0);
    assert_int_equal(r.best, 1);
    near(r.per_annotator[0], 0);
    near(r.per_annotator[1], (0 + 1 + 2.0 / 3) / 3);
    near(r.score, (0 + 0 + 0 + 1 + 2.0 / 3 + 2.0 / 3) / 6);
}

/* Boxes with IoU 0.6 match at threshold 0.5, not at 0.7. */
static void test_iou_threshold(void **state)
{
    (void)state;
    /* 10x10 at 0 and at 2.5: overlap 75, union 125 */
    lp_ann u0[] = {box(CARS, 0, 0, 10, 10)};
    lp_ann u1[] = {box(CARS, 2.5, 0, 10, 10)};
    lp_wf_work w[] = {WORK("u0", u0), WORK("u1", u1)};
    near(run(w, 2, 0.5, 1).score, 1);
    near(run(w, 2, 0.6, 1).score, 1);
    near(run(w, 2, 0.7, 1).score, 0);
}

/* One box of one annotator overlapping two of the other's counts once; the better pair wins. */
static void test_one_to_one(void **state)
{
    (void)state;
    lp_ann u0[] = {box(CARS, 0, 0, 10, 10)};
    lp_ann u1[] = {box(CARS, 1, 0, 10, 10), box(CARS, 0, 0, 10, 10)};
    lp_wf_work w[] = {WORK("u0", u0), WORK("u1", u1)};
    near(run(w, 2, 0.5, 1).score, 2.0 / 3);
    /* and greedy order: u0's two boxes each best matched with a distinct one of u1's */
    lp_ann v0[] = {box(CARS, 0, 0, 10, 10), box(CARS, 3, 0, 10, 10)};
    lp_ann v1[] = {box(CARS, 3, 0, 10, 10), box(CARS, 0, 0, 10, 10)};
    lp_wf_work v[] = {WORK("u0", v0), WORK("u1", v1)};
    near(run(v, 2, 0.5, 1).score, 1);
    /* greedy by decreasing IoU, not the largest matching: P-R (0.90) is taken first, which
     * leaves Q-S (0.29) below the threshold, though P-S and Q-R (0.54 each) would both match */
    lp_ann g0[] = {box(CARS, 0, 0, 10, 10), box(CARS, -2.5, 0, 10, 10)};  /* P, Q */
    lp_ann g1[] = {box(CARS, 0.5, 0, 10, 10), box(CARS, 3, 0, 10, 10)};   /* R, S */
    lp_wf_work g[] = {WORK("u0", g0), WORK("u1", g1)};
    near(run(g, 2, 0.5, 1).score, 0.5);
}

/* A tag one annotator gave and the other did not: that class scores 0, and so does the item.
 * Texts match when the same. Nobody drawing a class is agreement. */
static void test_tags_and_texts(void **state)
{
    (void)state;
    lp_ann u0[] = {tag(SUNNY), text(SIGNS, "{\"text\":\"STOP\"}")};
    lp_ann u1[] = {text(SIGNS, "{\"text\":\"STOP\"}")};
    lp_wf_work w[] = {WORK("u0", u0), WORK("u1", u1)};
    lp_wf_agreement r = run(w, 2, 0.5, 0.5);
    near(r.classes[0].score, 0);
    near(r.classes[1].score, 1);
    near(r.score, 0);
    assert_false(r.agree);
    lp_ann v1[] = {tag(SUNNY), text(SIGNS, "{\"text\":\"SLOW\"}")};
    lp_wf_work v[] = {WORK("u0", u0), WORK("u1", v1)};
    r = run(v, 2, 0.5, 0.5);
    near(r.classes[0].score, 1);
    near(r.classes[1].score, 0);
    /* a tag never matches a box of the same class */
    lp_ann x0[] = {tag(CARS)};
    lp_ann x1[] = {box(CARS, 0, 0, 5, 5)};
    lp_wf_work x[] = {WORK("u0", x0), WORK("u1", x1)};
    near(run(x, 2, 0.5, 1).score, 0);
}

static void test_nobody_annotated(void **state)
{
    (void)state;
    lp_wf_work w[3] = {{"u0", NULL, 0}, {"u1", NULL, 0}, {"u2", NULL, 0}};
    lp_wf_agreement r = run(w, 3, 0.5, 1);
    near(r.score, 1);
    assert_true(r.agree);
    assert_int_equal(r.nclasses, 0);
    near(r.per_annotator[2], 1);
}

/* Polygons compare by their exact IoU, not their boxes. */
static void test_polygons(void **state)
{
    (void)state;
    static const double square[] = {0, 0, 10, 0, 10, 10, 0, 10};
    static const double lower[] = {0, 0, 10, 0, 0, 10};    /* half the square */
    static const double upper[] = {10, 0, 10, 10, 0, 10};  /* the other half: same box */
    lp_ann u0[] = {polygon(CARS, square, 4)};
    lp_ann u1[] = {polygon(CARS, square, 4)};
    lp_ann u2[] = {polygon(CARS, lower, 3)};
    lp_wf_work same[] = {WORK("u0", u0), WORK("u1", u1)};
    near(run(same, 2, 0.9, 1).score, 1);
    lp_wf_work half[] = {WORK("u0", u0), WORK("u2", u2)};
    near(run(half, 2, 0.49, 1).score, 1); /* IoU 0.5 */
    near(run(half, 2, 0.51, 1).score, 0);
    lp_ann u3[] = {polygon(CARS, upper, 3)};
    lp_wf_work apart[] = {WORK("u2", u2), WORK("u3", u3)};
    near(run(apart, 2, 0.1, 1).score, 0); /* boxes equal, polygons barely touch */
    /* a polygon against a box: by their boxes */
    lp_ann u4[] = {box(CARS, 0, 0, 10, 10)};
    lp_wf_work mixed[] = {WORK("u2", u2), WORK("u4", u4)};
    near(run(mixed, 2, 0.9, 1).score, 1);
}

static lp_ann rbox(const char *cls, double x, double y, double w, double h, double angle)
{
    lp_ann a = shape(cls, LP_GEOM_ROTATED_BOX);
    a.body.geom.shape.u.rbox = (lp_geom_rbox){x, y, w, h, angle};
    return a;
}

/* Rotated boxes overlap exactly (as polygons), with each other and with polygons. */
static void test_rotated_boxes(void **state)
{
    (void)state;
    static const double square[] = {0, 0, 10, 0, 10, 10, 0, 10};
    lp_ann u0[] = {rbox(CARS, 0, 0, 10, 10, 0)};
    lp_ann u1[] = {rbox(CARS, 0, 0, 10, 10, M_PI / 4)}; /* IoU 0.707; their extents' 0.5 */
    lp_ann u2[] = {polygon(CARS, square, 4)};
    lp_wf_work turned[] = {WORK("u0", u0), WORK("u1", u1)};
    near(run(turned, 2, 0.7, 1).score, 1);
    near(run(turned, 2, 0.71, 1).score, 0);
    lp_wf_work as_polygon[] = {WORK("u0", u0), WORK("u2", u2)};
    near(run(as_polygon, 2, 0.999, 1).score, 1);
    /* two thin boxes crossing at right angles: one extent, 4 of 76 square pixels shared */
    lp_ann u3[] = {rbox(CARS, 0, 9, 20, 2, M_PI / 4)}, u4[] = {rbox(CARS, 0, 9, 20, 2, -M_PI / 4)};
    lp_wf_work crossing[] = {WORK("u3", u3), WORK("u4", u4)};
    near(run(crossing, 2, 0.1, 1).score, 0);
}

/* Keypoints match only where equal; shapes on other slots never match. */
static void test_keypoints_and_slots(void **state)
{
    (void)state;
    lp_ann u0[] = {point(CARS, 5, 5)};
    lp_ann u1[] = {point(CARS, 5, 5)};
    lp_ann u2[] = {point(CARS, 5, 6)};
    lp_wf_work same[] = {WORK("u0", u0), WORK("u1", u1)};
    near(run(same, 2, 0.5, 1).score, 1);
    lp_wf_work moved[] = {WORK("u0", u0), WORK("u2", u2)};
    near(run(moved, 2, 0.5, 1).score, 0);
    lp_ann b0[] = {box(CARS, 0, 0, 10, 10)};
    lp_ann b1[] = {box(CARS, 0, 0, 10, 10)};
    b1[0].slot = "left";
    lp_wf_work slots[] = {WORK("u0", b0), WORK("u1", b1)};
    near(run(slots, 2, 0.5, 1).score, 0);
}

static void test_refusals(void **state)
{
    (void)state;
    lp_wf_agreement r;
    lp_error err;
    lp_ann u0[] = {box(CARS, 0, 0, 10, 10)};
    lp_wf_work one[] = {WORK("u0", u0)};
    lp_error_clear(&err);
    assert_int_equal(lp_wf_consensus(one, 1, 0.5, 1, CROSSINGS, arena, &r, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    /* two diamonds, one shifted right by 5, whose edges cross twice: over a limit of one */
    static const double a[] = {10, 0, 20, 10, 10, 20, 0, 10};
    static const double b[] = {15, 0, 25, 10, 15, 20, 5, 10};
    lp_ann p0[] = {polygon(CARS, a, 4)};
    lp_ann p1[] = {polygon(CARS, b, 4)};
    lp_wf_work two[] = {WORK("u0", p0), WORK("u1", p1)};
    lp_error_clear(&err);
    assert_int_equal(lp_wf_consensus(two, 2, 0.1, 1, 1, arena, &r, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    lp_error_clear(&err);
    assert_int_equal(lp_wf_consensus(two, 2, 0.1, 1, CROSSINGS, arena, &r, &err), 0);
    near(r.score, 1); /* IoU 112.5 / 287.5 >= 0.1 */
    assert_int_equal(lp_wf_consensus(two, 2, 0.4, 1, CROSSINGS, arena, &r, &err), 0);
    near(r.score, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agree),
        cmocka_unit_test(test_disagree),
        cmocka_unit_test(test_best_annotator),
        cmocka_unit_test(test_iou_threshold),
        cmocka_unit_test(test_one_to_one),
        cmocka_unit_test(test_tags_and_texts),
        cmocka_unit_test(test_nobody_annotated),
        cmocka_unit_test(test_polygons),
        cmocka_unit_test(test_rotated_boxes),
        cmocka_unit_test(test_keypoints_and_slots),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("workflow_consensus", tests, setup, teardown);
}
