/* Detector outputs to boxes: box formats, NMS, thresholds, the letterbox undone, class_map. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/models/detect.h"

static void test_box_formats(void **state)
{
    (void)state;
    double o[4];
    const float a[4] = {10, 20, 30, 60};
    lp_model_box_to_xyxy(LP_BOX_XYXY, a, 100, 200, o);
    assert_true(o[0] == 10 && o[1] == 20 && o[2] == 30 && o[3] == 60);
    const float n[4] = {0.1f, 0.1f, 0.3f, 0.3f};
    lp_model_box_to_xyxy(LP_BOX_XYXY_NORM, n, 100, 200, o);
    assert_true(fabs(o[0] - 10) < 1e-4 && fabs(o[1] - 20) < 1e-4 && fabs(o[2] - 30) < 1e-4 && fabs(o[3] - 60) < 1e-4);
    const float c[4] = {0.5f, 0.5f, 0.2f, 0.1f};
    lp_model_box_to_xyxy(LP_BOX_CXCYWH_NORM, c, 100, 200, o);
    assert_true(fabs(o[0] - 40) < 1e-4 && fabs(o[1] - 90) < 1e-4 && fabs(o[2] - 60) < 1e-4 && fabs(o[3] - 110) < 1e-4);
}

static void test_nms(void **state)
{
    (void)state;
    lp_model_det d[] = {
        /* IoU with the 0.9 box: 81/119 = 0.68 → dropped */
        {.x = 0, .y = 0, .w = 10, .h = 10, .score = 0.6f},
        {.x = 1, .y = 1, .w = 10, .h = 10, .score = 0.9f},
        {.x = 1, .y = 1, .w = 10, .h = 10, .score = 0.8f, .label = 1}, /* same place, other label: kept */
        {.x = 20, .y = 20, .w = 5, .h = 5, .score = 0.7f},             /* apart: kept */
        /* IoU with 0.9: 54/146 = 0.37 → kept at 0.45, dropped at 0.3 */
        {.x = 5, .y = 0, .w = 10, .h = 10, .score = 0.5f},
    };
    lp_model_det e[5];
    memcpy(e, d, sizeof d);
    size_t k = lp_model_nms(d, 5, 0.45, 100);
    assert_int_equal(k, 4);
    assert_true(d[0].score == 0.9f && d[1].score == 0.8f && d[2].score == 0.7f && d[3].score == 0.5f);
    k = lp_model_nms(e, 5, 0.3, 100);
    assert_int_equal(k, 3);
    memcpy(e, d, sizeof e);
    assert_int_equal(lp_model_nms(e, 4, 0.45, 2), 2); /* max_detections */
    assert_int_equal(lp_model_nms(e, 0, 0.45, 2), 0);
}

static void test_decode_bsc(void **state)
{
    (void)state;
    json_t *labels = json_pack("[s, s]", "cat", "dog"), *map = json_pack("{s:s}", "dog", "7a0f0f0e-0000-4000-8000-000000000001");
    lp_model_spec s = {.labels = labels, .class_map = map, .score_threshold = 0.5, .nms_iou = 0.45};
    s.input = (lp_model_input){.width = 640, .height = 640, .resize = LP_MODEL_LETTERBOX};
    s.output.box_format = LP_BOX_XYXY;
    s.output.max_detections = 10;
    lp_model_fit fit;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_model_fit_compute(&s.input, 1280, 720, &fit, &err), 0); /* s = 0.5, dy = 140 */
    const float boxes[] = {
        100, 240, 200, 340, /* → (200, 200)-(400, 400) */
        102, 242, 202, 342, /* overlaps the first: suppressed */
        0, 0, 640, 100,     /* wholly in the top bar: dropped */
        600, 400, 700, 700, /* clipped at the image's corner: (1200, 520)-(1280, 720) */
        10, 150, 20, 160,   /* under the threshold */
    };
    const float scores[] = {0.9f, 0.8f, 0.95f, 0.7f, 0.4f};
    const float classes[] = {1, 1, 0, 0, 0};
    lp_model_det out[5];
    long n = lp_model_decode_bsc(&s, &fit, boxes, scores, classes, 5, out, &err);
    assert_int_equal(n, 2);
    assert_true(out[0].x == 200 && out[0].y == 200 && out[0].w == 200 && out[0].h == 200 && out[0].label == 1);
    assert_true(out[1].x == 1200 && out[1].y == 520 && out[1].w == 80 && out[1].h == 200 && out[1].label == 0);
    assert_true(out[0].index == 0 && out[1].index == 3); /* the rows they came from */
    assert_int_equal(out[0].shape.type, LP_GEOM_BOUNDING_BOX);
    assert_string_equal(lp_model_class_of(&s, out[0].label), "7a0f0f0e-0000-4000-8000-000000000001");
    assert_null(lp_model_class_of(&s, out[1].label));
    assert_null(lp_model_class_of(&s, 5));

    const float bad[] = {2};
    assert_int_equal(lp_model_decode_bsc(&s, &fit, boxes, scores, bad, 1, out, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    json_decref(labels);
    json_decref(map);
}

/* A score per label: the label is the highest, the score its value, the probabilities the row. */
static void test_decode_bsc_probs(void **state)
{
    (void)state;
    json_t *labels = json_pack("[s, s, s]", "red", "green", "blue");
    lp_model_spec s = {.labels = labels, .score_threshold = 0.5, .nms_iou = 0.45};
    s.input = (lp_model_input){.width = 10, .height = 10, .resize = LP_MODEL_STRETCH};
    s.output.box_format = LP_BOX_XYXY;
    s.output.max_detections = 10;
    lp_model_fit fit;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_model_fit_compute(&s.input, 10, 10, &fit, &err), 0);
    const float boxes[] = {0, 0, 5, 5, 5, 5, 10, 10, 0, 5, 5, 10};
    const float probs[] = {0.1f, 0.7f, 0.2f, /* green */
                           0.6f, 0.2f, 0.2f, /* red */
                           0.4f, 0.3f, 0.3f /* under the threshold */};
    lp_model_det out[3];
    assert_int_equal(lp_model_decode_bsc_probs(&s, &fit, boxes, probs, 3, out, &err), 2);
    assert_true(out[0].label == 1 && fabs(out[0].score - 0.7f) < 1e-6 && out[0].probs == probs && out[0].nprobs == 3);
    assert_true(out[1].label == 0 && out[1].x == 5 && out[1].probs == probs + 3);
    /* one score per detection: no probabilities */
    const float scores[] = {0.9f};
    assert_int_equal(lp_model_decode_bsc(&s, &fit, boxes, scores, NULL, 1, out, &err), 1);
    assert_null(out[0].probs);
    json_t *one = json_pack("[s]", "face");
    s.labels = one;
    assert_int_equal(lp_model_decode_bsc_probs(&s, &fit, boxes, probs, 1, out, &err), -1);
    json_decref(one);
    json_decref(labels);
}

/* Anchors stride by stride, cells row by row; offsets in box_scale pixels; logits through the sigmoid. */
static void test_decode_ssd(void **state)
{
    (void)state;
    json_t *labels = json_pack("[s]", "face");
    lp_model_spec s = {.labels = labels, .score_threshold = 0.6, .nms_iou = 0.3};
    s.input = (lp_model_input){.width = 16, .height = 16, .resize = LP_MODEL_STRETCH};
    s.output = (lp_model_output){.decoder = LP_DEC_SSD_ANCHORS, .nstrides = 2, .strides = {8, 16},
                                 .anchors_per_cell = {1, 2}, .box_scale = 16, .score_sigmoid = 1,
                                 .max_detections = 10};
    lp_model_fit fit;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_model_ssd_anchor_count(&s), 6); /* 2 × 2 × 1 + 1 × 1 × 2 */
    assert_int_equal(lp_model_fit_compute(&s.input, 32, 32, &fit, &err), 0);
    /* 6 values per anchor: the box, then a keypoint the decoder skips */
    float boxes[6 * 6] = {0};
    const float a1[6] = {1, 2, 4, 6, 9, 9};   /* stride 8, row 0, col 1: centre (12, 4) + (1, 2) */
    const float a5[6] = {0, 0, 16, 16, 9, 9}; /* stride 16, second anchor: the whole input */
    memcpy(boxes + 6, a1, sizeof a1);
    memcpy(boxes + 30, a5, sizeof a5);
    const float scores[6] = {-3, 2.0f, -5, -5, -5, 0.5f};
    lp_model_det out[6];
    long n = lp_model_decode_ssd(&s, &fit, boxes, 6, scores, 6, out, &err);
    assert_int_equal(n, 2);
    /* (11, 3)-(15, 9) in the tensor, × 2 on the 32 × 32 source */
    assert_true(fabs(out[0].x - 22) < 1e-4 && fabs(out[0].y - 6) < 1e-4 && fabs(out[0].w - 8) < 1e-4 &&
                fabs(out[0].h - 12) < 1e-4);
    assert_true(fabs(out[0].score - 0.880797f) < 1e-4 && out[0].label == 0);
    assert_true(out[1].x == 0 && out[1].y == 0 && out[1].w == 32 && out[1].h == 32);
    assert_true(fabs(out[1].score - 0.622459f) < 1e-4);

    assert_int_equal(lp_model_decode_ssd(&s, &fit, boxes, 6, scores, 5, out, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    json_decref(labels);
}

/* From the image the model ran on to the slot: the box and every point of the shape. */
static void test_det_scale(void **state)
{
    (void)state;
    lp_geom_point pts[3] = {{1, 2}, {3, 4}, {5, 6}};
    lp_geom_path path = {pts, 3};
    lp_model_det d = {.x = 1, .y = 2, .w = 4, .h = 4, .shape = {.type = LP_GEOM_POLYGON, .u.polygon = {&path, 1}}};
    lp_model_det_scale(&d, 2, 0.5);
    assert_true(d.x == 2 && d.y == 1 && d.w == 8 && d.h == 2);
    assert_true(pts[0].x == 2 && pts[0].y == 1 && pts[2].x == 10 && pts[2].y == 3);
    lp_geom_skeleton_node nodes[1] = {{.x = 3, .y = 3}};
    lp_model_det k = {.shape = {.type = LP_GEOM_SKELETON, .u.skeleton = {nodes, 1}}};
    lp_model_det_scale(&k, 2, 3);
    assert_true(nodes[0].x == 6 && nodes[0].y == 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_box_formats),
        cmocka_unit_test(test_nms),
        cmocka_unit_test(test_decode_bsc),
        cmocka_unit_test(test_decode_bsc_probs),
        cmocka_unit_test(test_decode_ssd),
        cmocka_unit_test(test_det_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
