/* The decoders of shapes other than boxes, on hand-made tensors with hand-computed results: masks
 * (image, box and prototypes layouts; holes; letterbox bars), keypoints (skeleton names, occlusion),
 * text_polygons (regions, rotated rectangles, unclip, min_size and score) and logits (softmax,
 * top_k). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/models/shapes.h"

#define CLOSE(a, b) (fabs((double)(a) - (double)(b)) < 1e-6)

/* The path's points are exactly want (n pairs x, y). */
static void assert_path(const lp_geom_path *p, const double *want, size_t n)
{
    if (p->npoints != n)
        fail_msg("%zu points, %zu expected", p->npoints, n);
    for (size_t i = 0; i < n; i++) {
        if (!CLOSE(p->points[i].x, want[2 * i]) || !CLOSE(p->points[i].y, want[2 * i + 1]))
            fail_msg("point %zu is (%g, %g), (%g, %g) expected", i, p->points[i].x, p->points[i].y, want[2 * i],
                     want[2 * i + 1]);
    }
}

typedef struct fixture {
    json_t *labels;
    lp_model_spec spec;
    lp_model_fit fit;
    lp_arena *a;
    lp_error err;
} fixture;

/* A spec with labels, an input of w × h with resize, and a fit of a src_w × src_h image. */
static void setup(fixture *f, const char *labels, int w, int h, lp_model_resize resize, int src_w, int src_h)
{
    memset(f, 0, sizeof *f);
    f->labels = json_loads(labels, 0, NULL);
    f->spec = (lp_model_spec){.labels = f->labels, .score_threshold = 0.5, .nms_iou = 0.45};
    f->spec.input = (lp_model_input){.width = w, .height = h, .resize = resize};
    f->spec.output.max_detections = 100;
    f->spec.output.mask_threshold = 0.5;
    f->spec.output.keypoint_threshold = 0.5;
    f->spec.output.binary_threshold = 0.3;
    f->spec.output.unclip_ratio = 1.5;
    f->spec.output.min_size = 2;
    f->spec.output.top_k = 1;
    f->a = lp_arena_new(0, 0);
    lp_error_clear(&f->err);
    assert_int_equal(lp_model_fit_compute(&f->spec.input, src_w, src_h, &f->fit, &f->err), 0);
}

static void teardown(fixture *f)
{
    json_decref(f->labels);
    lp_arena_free(f->a);
}

/* Masks covering the input tensor, through a letterbox: a 16 × 8 image in an 8 × 8 tensor (s = 0.5,
 * dy = 2) with 4 × 4 masks of 2 × 2 tensor pixels; rows 0 and 3 lie in the bars. */
static void test_masks_image_layout(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "[\"cat\", \"dog\"]", 8, 8, LP_MODEL_LETTERBOX, 16, 8);
    f.spec.output.decoder = LP_DEC_MASKS;
    const float boxes[] = {2, 2, 6, 6, 0, 2, 8, 6, 0, 0, 1, 1};
    const float scores[] = {0.9f, 0.8f, 0.2f};
    const float classes[] = {0, 1, 0};
    float masks[3 * 16] = {0};
    /* candidate 0: an L of cells (1,1) (2,1) (1,2), and (1,0) in the top bar */
    masks[1 * 4 + 1] = masks[1 * 4 + 2] = masks[2 * 4 + 1] = 0.9f;
    masks[0 * 4 + 1] = 0.9f;
    /* candidate 1: only cells under the threshold or in the bottom bar: dropped */
    masks[16 + 1 * 4 + 3] = 0.49f;
    masks[16 + 3 * 4 + 0] = 1;
    lp_model_mask_outputs o = {.boxes = boxes, .scores = scores, .classes = classes, .n = 3, .masks = masks,
                               .masks_count = 48, .mask_w = 4, .mask_h = 4};
    lp_model_det *d;
    long n = lp_model_decode_masks(&f.spec, &f.fit, &o, f.a, &d, &f.err);
    assert_int_equal(n, 1);
    assert_int_equal(d[0].shape.type, LP_GEOM_POLYGON);
    assert_int_equal(d[0].shape.u.polygon.npaths, 1);
    /* grid corner (u, v) → tensor (2u, 2v) → image (4u, 4v − 4) */
    const double want[] = {4, 0, 12, 0, 12, 4, 8, 4, 8, 8, 4, 8};
    assert_path(&d[0].shape.u.polygon.paths[0], want, 6);
    assert_true(d[0].label == 0 && CLOSE(d[0].score, 0.9f));
    assert_true(CLOSE(d[0].x, 4) && CLOSE(d[0].y, 0) && CLOSE(d[0].w, 8) && CLOSE(d[0].h, 8)); /* the box */

    /* a mask count that does not fit */
    o.masks_count = 47;
    assert_int_equal(lp_model_decode_masks(&f.spec, &f.fit, &o, f.a, &d, &f.err), -1);
    assert_int_equal(f.err.code, LP_E_INVALID);
    teardown(&f);
}

/* A ring of cells: the outer loop clockwise, the hole anticlockwise (even-odd fill). */
static void test_masks_hole(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "[\"ring\"]", 8, 8, LP_MODEL_STRETCH, 8, 8);
    f.spec.output.decoder = LP_DEC_MASKS;
    const float boxes[] = {0, 0, 6, 6};
    const float scores[] = {0.7f};
    float masks[16] = {0};
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 3; i++)
            masks[j * 4 + i] = (i == 1 && j == 1) ? 0 : 1;
    lp_model_mask_outputs o = {.boxes = boxes, .scores = scores, .n = 1, .masks = masks, .masks_count = 16,
                               .mask_w = 4, .mask_h = 4};
    lp_model_det *d;
    assert_int_equal(lp_model_decode_masks(&f.spec, &f.fit, &o, f.a, &d, &f.err), 1);
    assert_int_equal(d[0].shape.u.polygon.npaths, 2);
    const double outer[] = {0, 0, 6, 0, 6, 6, 0, 6}, hole[] = {2, 2, 2, 4, 4, 4, 4, 2};
    assert_path(&d[0].shape.u.polygon.paths[0], outer, 4);
    assert_path(&d[0].shape.u.polygon.paths[1], hole, 4);
    teardown(&f);
}

/* Cells touching only at a corner are apart: two loops through the shared corner, each closed on its
 * own (and one region of 8-connected cells where a chequer of them meets). */
static void test_masks_corner_touch(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "[\"cat\"]", 3, 3, LP_MODEL_STRETCH, 3, 3);
    f.spec.output.decoder = LP_DEC_MASKS;
    const float boxes[] = {0, 0, 3, 3};
    const float scores[] = {0.9f};
    const float masks[] = {1, 0, 1, 0, 1, 0, 1, 0, 1}; /* a chequer: five cells meeting at four corners */
    lp_model_mask_outputs o = {.boxes = boxes, .scores = scores, .n = 1, .masks = masks, .masks_count = 9,
                               .mask_w = 3, .mask_h = 3};
    lp_model_det *d;
    assert_int_equal(lp_model_decode_masks(&f.spec, &f.fit, &o, f.a, &d, &f.err), 1);
    const lp_geom_polygon *p = &d[0].shape.u.polygon;
    assert_int_equal(p->npaths, 5);
    const double c00[] = {0, 0, 1, 0, 1, 1, 0, 1}, c20[] = {2, 0, 3, 0, 3, 1, 2, 1}, c11[] = {1, 1, 2, 1, 2, 2, 1, 2};
    assert_path(&p->paths[0], c00, 4); /* in the order of their first corners, row by row */
    assert_path(&p->paths[1], c20, 4);
    assert_path(&p->paths[2], c11, 4);

    /* the text decoder joins them: one 8-connected region */
    f.spec.output.decoder = LP_DEC_TEXT_POLYGONS;
    f.spec.output.min_size = 1;
    assert_int_equal(lp_model_decode_text(&f.spec, &f.fit, masks, 3, 3, f.a, &d, &f.err), 1);
    teardown(&f);
}

/* Masks covering each candidate's box (Mask R-CNN's head): a 2 × 2 mask over the box (2,2)-(6,6). */
static void test_masks_box_layout(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "[\"cat\"]", 8, 8, LP_MODEL_STRETCH, 16, 16);
    f.spec.output.decoder = LP_DEC_MASKS;
    f.spec.output.mask_layout = LP_MASK_BOX;
    const float boxes[] = {2, 2, 6, 6};
    const float scores[] = {0.9f};
    const float masks[] = {0.8f, 0.1f, 0.6f, 0.7f};
    lp_model_mask_outputs o = {.boxes = boxes, .scores = scores, .n = 1, .masks = masks, .masks_count = 4,
                               .mask_w = 2, .mask_h = 2};
    lp_model_det *d;
    assert_int_equal(lp_model_decode_masks(&f.spec, &f.fit, &o, f.a, &d, &f.err), 1);
    /* cells of 2 × 2 tensor pixels from (2, 2), × 2 on the 16 × 16 image */
    const double want[] = {4, 4, 8, 4, 8, 8, 12, 8, 12, 12, 4, 12};
    assert_path(&d[0].shape.u.polygon.paths[0], want, 6);
    teardown(&f);
}

/* YOLO-seg: mask = Σ coefficient × prototype (logits here), cut to the candidate's box. */
static void test_masks_prototypes(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "[\"cat\"]", 4, 4, LP_MODEL_STRETCH, 4, 4);
    f.spec.output.decoder = LP_DEC_MASKS;
    f.spec.output.mask_layout = LP_MASK_PROTOTYPES;
    f.spec.output.mask_sigmoid = 1;
    f.spec.nms_iou = 0.9; /* the two boxes overlap at IoU 0.5: both kept */
    const float protos[] = {1, 1, 1, 1, /* prototype 0 */ 1, -3, -3, -3 /* prototype 1 */};
    const float boxes[] = {0, 0, 4, 4, 2, 0, 4, 4};
    const float scores[] = {0.9f, 0.8f};
    /* candidate 0: 0.5·p0 + 0.5·p1 = [1, −1; −1, −1]: sigmoid over 0.5 at cell (0,0) only;
     * candidate 1: the same mask, but cell (0,0) is outside its box: empty, dropped */
    const float coef[] = {0.5f, 0.5f, 0.5f, 0.5f};
    lp_model_mask_outputs o = {.boxes = boxes, .scores = scores, .n = 2, .masks = coef, .masks_count = 4,
                               .prototypes = protos, .nprotos = 2, .mask_w = 2, .mask_h = 2};
    lp_model_det *d;
    assert_int_equal(lp_model_decode_masks(&f.spec, &f.fit, &o, f.a, &d, &f.err), 1);
    const double want[] = {0, 0, 2, 0, 2, 2, 0, 2};
    assert_path(&d[0].shape.u.polygon.paths[0], want, 4);
    assert_true(CLOSE(d[0].score, 0.9f));
    o.masks_count = 3;
    assert_int_equal(lp_model_decode_masks(&f.spec, &f.fit, &o, f.a, &d, &f.err), -1);
    teardown(&f);
}

/* Two keypoints per candidate, (x, y, score) in tensor pixels; a 20 × 20 image in a 10 × 10 tensor. */
static void test_keypoints(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "[\"person\"]", 10, 10, LP_MODEL_STRETCH, 20, 20);
    f.spec.output.decoder = LP_DEC_KEYPOINTS;
    f.spec.output.keypoints_count = 2;
    const float boxes[] = {0, 0, 4, 4, 5, 5, 9, 9};
    const float scores[] = {0.9f, 0.3f};
    const float points[] = {2, 2, 0.9f, 4, 6, 0.2f, /* candidate 1, under the threshold */ 1, 1, 1, 1, 1, 1};
    lp_model_det *d;
    long n = lp_model_decode_keypoints(&f.spec, &f.fit, boxes, scores, 2, points, 12, f.a, &d, &f.err);
    assert_int_equal(n, 1);
    assert_int_equal(d[0].shape.type, LP_GEOM_SKELETON);
    const lp_geom_skeleton *s = &d[0].shape.u.skeleton;
    assert_int_equal(s->nnodes, 2);
    assert_true(CLOSE(s->nodes[0].x, 4) && CLOSE(s->nodes[0].y, 4) && !s->nodes[0].occluded);
    assert_true(CLOSE(s->nodes[1].x, 8) && CLOSE(s->nodes[1].y, 12) && s->nodes[1].occluded);
    assert_null(s->nodes[0].name);
    assert_true(CLOSE(d[0].w, 8) && CLOSE(d[0].h, 8));

    /* named after the class's skeleton when the counts match; left unnamed otherwise */
    const char *names[] = {"head", "tail"};
    lp_model_keypoints_name(&d[0], names, 3);
    assert_null(s->nodes[0].name);
    lp_model_keypoints_name(&d[0], names, 2);
    assert_string_equal(s->nodes[0].name, "head");
    assert_string_equal(s->nodes[1].name, "tail");

    /* (x, y) only, 0–1 of the input (box_format xyxy_norm): every point visible */
    f.spec.output.box_format = LP_BOX_XYXY_NORM;
    const float nboxes[] = {0, 0, 0.4f, 0.4f};
    const float npoints[] = {0.2f, 0.3f, 0.5f, 0.5f};
    assert_int_equal(lp_model_decode_keypoints(&f.spec, &f.fit, nboxes, scores, 1, npoints, 4, f.a, &d, &f.err), 1);
    s = &d[0].shape.u.skeleton;
    assert_true(CLOSE(s->nodes[0].x, 4) && CLOSE(s->nodes[0].y, 6) && !s->nodes[1].occluded);

    /* one point and a class without a skeleton: a keypoint */
    f.spec.output.keypoints_count = 1;
    assert_int_equal(lp_model_decode_keypoints(&f.spec, &f.fit, nboxes, scores, 1, npoints, 2, f.a, &d, &f.err), 1);
    lp_model_keypoints_name(&d[0], NULL, 0);
    assert_int_equal(d[0].shape.type, LP_GEOM_KEYPOINT);
    assert_true(CLOSE(d[0].shape.u.keypoint.x, 4) && CLOSE(d[0].shape.u.keypoint.y, 6));

    /* values that are not 2 or 3 a point */
    assert_int_equal(lp_model_decode_keypoints(&f.spec, &f.fit, nboxes, scores, 1, npoints, 5, f.a, &d, &f.err), -1);
    assert_int_equal(f.err.code, LP_E_INVALID);
    teardown(&f);
}

/* A 8 × 4 map over a 16 × 8 tensor and image (cells of 2 × 2 pixels). */
static void test_text_regions(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "[\"text\"]", 16, 8, LP_MODEL_STRETCH, 16, 8);
    f.spec.output.decoder = LP_DEC_TEXT_POLYGONS;
    float map[32] = {0};
    for (int j = 1; j <= 2; j++) /* a line: cells 1–4 of rows 1–2 */
        for (int i = 1; i <= 4; i++)
            map[j * 8 + i] = 0.9f;
    map[0 * 8 + 7] = 0.8f; /* a speck: its side (1 cell) under min_size */
    for (int j = 2; j <= 3; j++) /* a faint region: mean 0.35 under score_threshold */
        for (int i = 6; i <= 7; i++)
            map[j * 8 + i] = 0.35f;
    lp_model_det *d;
    long n = lp_model_decode_text(&f.spec, &f.fit, map, 8, 4, f.a, &d, &f.err);
    assert_int_equal(n, 1);
    /* the rectangle (1,1)-(5,3) in cells: 4 × 2, d = 8 × 1.5 / 12 = 1 → (0,0)-(6,4), × 2 */
    assert_int_equal(d[0].shape.type, LP_GEOM_POLYGON);
    assert_int_equal(d[0].shape.u.polygon.npaths, 1);
    const double want[] = {0, 0, 12, 0, 12, 8, 0, 8};
    assert_path(&d[0].shape.u.polygon.paths[0], want, 4);
    assert_true(CLOSE(d[0].score, 0.9f) && d[0].label == 0);
    assert_true(CLOSE(d[0].x, 0) && CLOSE(d[0].w, 12) && CLOSE(d[0].h, 8));

    /* a lower score threshold keeps the faint region, best first */
    f.spec.score_threshold = 0.3;
    n = lp_model_decode_text(&f.spec, &f.fit, map, 8, 4, f.a, &d, &f.err);
    assert_int_equal(n, 2);
    assert_true(CLOSE(d[0].score, 0.9f) && CLOSE(d[1].score, 0.35f));
    f.spec.output.max_detections = 1;
    assert_int_equal(lp_model_decode_text(&f.spec, &f.fit, map, 8, 4, f.a, &d, &f.err), 1);
    teardown(&f);
}

/* A diagonal run of cells, 8-connected: one region whose smallest rectangle is turned 45°. */
static void test_text_rotated(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "[\"text\"]", 16, 16, LP_MODEL_STRETCH, 16, 16);
    f.spec.output.decoder = LP_DEC_TEXT_POLYGONS;
    f.spec.output.min_size = 1;
    f.spec.output.unclip_ratio = 1e-9; /* as good as not grown */
    float map[64] = {0};
    for (int k = 2; k <= 5; k++)
        map[k * 8 + k] = 1;
    lp_model_det *d;
    assert_int_equal(lp_model_decode_text(&f.spec, &f.fit, map, 8, 8, f.a, &d, &f.err), 1);
    /* cells (2,2)…(5,5): the hull (2,2) (3,2) (6,5) (6,6) (5,6) (2,3); along (1,1)/√2 the rectangle
     * (2.5,1.5) (6.5,5.5) (5.5,6.5) (1.5,2.5) in cells (area 8, against 16 upright), × 2 */
    const double want[] = {5, 3, 13, 11, 11, 13, 3, 5};
    const lp_geom_path *p = &d[0].shape.u.polygon.paths[0];
    for (size_t i = 0; i < 4; i++)
        if (fabs(p->points[i].x - want[2 * i]) > 1e-6 || fabs(p->points[i].y - want[2 * i + 1]) > 1e-6)
            fail_msg("corner %zu is (%g, %g)", i, p->points[i].x, p->points[i].y);
    teardown(&f);
}

/* Cells in a letterbox bar are not text: a 16 × 4 image in a 16 × 16 tensor (dy = 6). */
static void test_text_letterbox(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "[\"text\"]", 16, 16, LP_MODEL_LETTERBOX, 16, 4);
    f.spec.output.decoder = LP_DEC_TEXT_POLYGONS;
    f.spec.output.min_size = 1;
    f.spec.output.unclip_ratio = 1e-9;
    float map[16 * 16] = {0};
    for (int j = 0; j < 16; j++) /* a column through the bars and the image */
        for (int i = 4; i < 8; i++)
            map[j * 16 + i] = 1;
    lp_model_det *d;
    assert_int_equal(lp_model_decode_text(&f.spec, &f.fit, map, 16, 16, f.a, &d, &f.err), 1);
    const double want[] = {4, 0, 8, 0, 8, 4, 4, 4}; /* rows 6–9: the image's */
    assert_path(&d[0].shape.u.polygon.paths[0], want, 4);
    teardown(&f);
}

static void test_logits(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "[\"a\", \"b\", \"c\"]", 4, 4, LP_MODEL_STRETCH, 40, 30);
    f.spec.output.decoder = LP_DEC_LOGITS;
    f.spec.output.softmax = 1;
    f.spec.output.top_k = 2;
    f.spec.score_threshold = 0.2;
    const float logits[] = {1, 2, 3};
    lp_model_det *d;
    /* softmax: e^−2, e^−1, 1 over their sum 1.503214724 */
    long n = lp_model_decode_logits(&f.spec, &f.fit, logits, 3, f.a, &d, &f.err);
    assert_int_equal(n, 2);
    assert_true(d[0].label == 2 && fabs(d[0].score - 0.665240955) < 1e-6);
    assert_true(d[1].label == 1 && fabs(d[1].score - 0.244728471) < 1e-6);
    assert_int_equal(d[0].shape.type, LP_GEOM_TAG);
    assert_true(d[0].x == 0 && d[0].y == 0 && d[0].w == 40 && d[0].h == 30); /* the whole image */
    f.spec.score_threshold = 0.3;
    assert_int_equal(lp_model_decode_logits(&f.spec, &f.fit, logits, 3, f.a, &d, &f.err), 1);

    /* probabilities as given, clipped; ties keep label order */
    f.spec.output.softmax = 0;
    f.spec.output.top_k = 3;
    const float probs[] = {0.1f, 1.5f, 1};
    assert_int_equal(lp_model_decode_logits(&f.spec, &f.fit, probs, 3, f.a, &d, &f.err), 2);
    assert_true(d[0].label == 1 && d[0].score == 1 && d[1].label == 2 && d[1].score == 1);

    assert_int_equal(lp_model_decode_logits(&f.spec, &f.fit, probs, 2, f.a, &d, &f.err), -1);
    assert_int_equal(f.err.code, LP_E_INVALID);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks_image_layout), cmocka_unit_test(test_masks_hole),
        cmocka_unit_test(test_masks_corner_touch),
        cmocka_unit_test(test_masks_box_layout),   cmocka_unit_test(test_masks_prototypes),
        cmocka_unit_test(test_keypoints),          cmocka_unit_test(test_text_regions),
        cmocka_unit_test(test_text_rotated),       cmocka_unit_test(test_text_letterbox),
        cmocka_unit_test(test_logits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
