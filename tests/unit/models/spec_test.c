/* A model's description: defaults, every bad member named, decoder options, the stored form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/models/spec.h"

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    assert_non_null(doc);
    return doc;
}

static int has_field(const lp_error *err, const char *field)
{
    for (size_t i = 0; i < err->nfields; i++)
        if (strcmp(err->fields[i].field, field) == 0)
            return 1;
    return 0;
}

#define MINIMAL                                                                                                    \
    "\"name\": \"m\", \"task\": \"detect\", \"runtime\": \"onnx\", \"input\": {\"width\": 320, \"height\": 240}, " \
    "\"labels\": [\"cat\", \"dog\"]"

static void test_defaults(void **state)
{
    (void)state;
    json_t *doc = parse("{" MINIMAL ", \"output\": {\"decoder\": \"boxes_scores_classes\"}}");
    lp_model_spec s;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), 0);
    assert_int_equal(s.task, LP_MODEL_DETECT);
    assert_int_equal(s.input.width, 320);
    assert_int_equal(s.input.layout, LP_MODEL_NCHW);
    assert_int_equal(s.input.resize, LP_MODEL_LETTERBOX);
    assert_true(s.input.scale > 0.0039 && s.input.scale < 0.0040);
    assert_true(s.input.std[2] == 1.0 && s.input.mean[0] == 0.0);
    assert_int_equal(s.output.box_format, LP_BOX_XYXY);
    assert_int_equal(s.output.max_detections, 100);
    assert_null(s.output.boxes);
    assert_true(s.score_threshold == 0.5 && s.nms_iou == 0.45);
    assert_int_equal(s.queue, LP_MODEL_CPU);
    assert_null(s.class_map);

    /* The stored form reads back to the same spec, and to the same JSON. */
    json_t *stored = lp_model_spec_json(&s);
    assert_non_null(stored);
    lp_model_spec t;
    assert_int_equal(lp_model_spec_read(stored, 100, &t, &err), 0);
    json_t *again = lp_model_spec_json(&t);
    assert_true(json_equal(stored, again));
    json_decref(again);
    json_decref(stored);
    json_decref(doc);
}

static void test_ssd_and_names(void **state)
{
    (void)state;
    json_t *doc = parse("{" MINIMAL ", \"input\": {\"width\": 128, \"height\": 128, \"layout\": \"NHWC\", "
                        "\"mean\": [1], \"std\": [0.5, 0.25, 2]}, \"labels\": [\"face\"], "
                        "\"output\": {\"decoder\": \"ssd_anchors\", \"names\": {\"boxes\": \"regressors\", "
                        "\"scores\": \"classificators\"}, \"strides\": [8, 16], \"anchors_per_cell\": [2, 6], "
                        "\"box_scale\": 128, \"score_sigmoid\": true, \"box_format\": \"cxcywh_norm\"}}");
    lp_model_spec s;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), 0);
    assert_int_equal(s.input.layout, LP_MODEL_NHWC);
    assert_true(s.input.mean[0] == 1.0 && s.input.mean[1] == 1.0 && s.input.mean[2] == 1.0);
    assert_true(s.input.std[1] == 0.25);
    assert_string_equal(s.output.boxes, "regressors");
    assert_string_equal(s.output.scores, "classificators");
    assert_int_equal(s.output.nstrides, 2);
    assert_int_equal(s.output.strides[1], 16);
    assert_int_equal(s.output.anchors_per_cell[1], 6);
    assert_true(s.output.score_sigmoid);
    assert_int_equal(s.output.box_format, LP_BOX_CXCYWH_NORM);
    json_decref(doc);
}

/* ssd_anchors may name one boxes and one scores tensor per stride; the list reads back. */
static void test_ssd_split_outputs(void **state)
{
    (void)state;
    json_t *doc = parse("{" MINIMAL ", \"labels\": [\"face\"], \"output\": {\"decoder\": \"ssd_anchors\", "
                        "\"names\": {\"boxes\": [\"b8\", \"b16\"], \"scores\": [\"s8\", \"s16\"]}, "
                        "\"strides\": [8, 16], \"anchors_per_cell\": [2, 6]}}");
    lp_model_spec s;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), 0);
    assert_int_equal(s.output.nboxes_parts, 2);
    assert_string_equal(s.output.boxes_parts[1], "b16");
    assert_string_equal(s.output.scores_parts[0], "s8");
    assert_string_equal(s.output.boxes, "b8");
    json_t *stored = lp_model_spec_json(&s);
    assert_true(json_equal(json_object_get(json_object_get(json_object_get(stored, "output"), "names"), "scores"),
                           json_object_get(json_object_get(json_object_get(doc, "output"), "names"), "scores")));
    json_decref(stored);
    json_decref(doc);

    doc = parse("{" MINIMAL ", \"labels\": [\"face\"], \"output\": {\"decoder\": \"ssd_anchors\", "
                "\"names\": {\"boxes\": [\"b8\"], \"scores\": [\"s8\", 3]}, "
                "\"strides\": [8, 16], \"anchors_per_cell\": [2, 6]}}");
    lp_error_clear(&err);
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), -1);
    assert_true(has_field(&err, "output.names.boxes"));
    assert_true(has_field(&err, "output.names.scores[1]"));
    json_decref(doc);
}

static void test_bad_members_named(void **state)
{
    (void)state;
    json_t *doc = parse("{\"name\": \"\", \"task\": \"classify\", \"runtime\": \"onnx\", "
                        "\"input\": {\"width\": 0, \"height\": 10, \"std\": [1, 0, 1]}, "
                        "\"output\": {\"decoder\": \"boxes_scores_classes\", \"softmax\": true, "
                        "\"names\": {\"probability_map\": \"p\"}}, "
                        "\"labels\": [\"a\", \"a\"], \"class_map\": {\"b\": \"x\"}, \"nms_iou\": 1.5}");
    lp_model_spec s;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    const char *want[] = {"name",   "input.width", "input.std[1]", "output.decoder", "output.softmax",
                          "output.names.probability_map", "labels[1]", "class_map.b", "nms_iou"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        if (!has_field(&err, want[i]))
            fail_msg("no field error %s", want[i]);
    }
    assert_int_equal(err.nfields, sizeof want / sizeof *want);
    json_decref(doc);
}

static void test_runtime_http(void **state)
{
    (void)state;
    lp_model_spec s;
    lp_error err;
    lp_error_clear(&err);
    json_t *doc = parse("{\"name\": \"t\", \"task\": \"text_detect\", \"runtime\": \"http\", "
                        "\"endpoint\": {\"protocol\": \"v7_byom\", \"url\": \"https://m.example.com/infer\"}, "
                        "\"input\": {\"width\": 640, \"height\": 640}, \"labels\": [\"text\"], "
                        "\"output\": {\"decoder\": \"text_polygons\", \"unclip_ratio\": 2}}");
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), 0);
    assert_int_equal(s.protocol, LP_MODEL_V7_BYOM);
    assert_string_equal(s.endpoint_url, "https://m.example.com/infer");
    assert_true(s.output.unclip_ratio == 2.0 && s.output.binary_threshold == 0.3);
    json_decref(doc);

    /* http without an endpoint; labels over the limit. */
    lp_error_clear(&err);
    doc = parse("{\"name\": \"t\", \"task\": \"text_detect\", \"runtime\": \"http\", "
                "\"input\": {\"width\": 640, \"height\": 640}, \"labels\": [\"a\", \"b\", \"c\"], "
                "\"output\": {\"decoder\": \"text_polygons\"}}");
    assert_int_equal(lp_model_spec_read(doc, 2, &s, &err), -1);
    assert_true(has_field(&err, "endpoint"));
    assert_true(has_field(&err, "labels"));
    assert_int_equal(err.nfields, 2);
    json_decref(doc);

    /* Not an object at all. */
    lp_error_clear(&err);
    doc = parse("[1]");
    assert_int_equal(lp_model_spec_read(doc, 2, &s, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    json_decref(doc);
}

/* The name and each label are bounded by the limits given (model_name_max,
 * model_label_max), named in the errors; the plain reader uses their defaults. */
static void test_name_and_label_limits(void **state)
{
    (void)state;
    lp_model_spec s;
    lp_error err;
    lp_model_spec_limits lim = {100, 8, 3};
    json_t *doc = parse("{\"name\": \"a longer name\", \"task\": \"detect\", \"runtime\": \"onnx\", "
                        "\"input\": {\"width\": 320, \"height\": 240}, \"labels\": [\"cat\", \"horse\"], "
                        "\"output\": {\"decoder\": \"boxes_scores_classes\"}}");
    lp_error_clear(&err);
    assert_int_equal(lp_model_spec_read_limits(doc, &lim, &s, &err), -1);
    assert_int_equal(err.nfields, 2);
    assert_string_equal(err.fields[0].field, "name");
    assert_string_equal(err.fields[0].message, "is 13 bytes long, over the limit of 8 (model_name_max)");
    assert_string_equal(err.fields[1].field, "labels[1]");
    assert_string_equal(err.fields[1].message, "is 5 bytes long, over the limit of 3 (model_label_max)");
    /* raised, the same model is read */
    lim = (lp_model_spec_limits){100, 13, 5};
    lp_error_clear(&err);
    assert_int_equal(lp_model_spec_read_limits(doc, &lim, &s, &err), 0);
    assert_string_equal(s.name, "a longer name");
    /* the defaults: 200 bytes each */
    lp_error_clear(&err);
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), 0);
    json_decref(doc);
    char name[202];
    memset(name, 'n', 201);
    name[201] = '\0';
    doc = json_pack("{s:s, s:s, s:s, s:{s:i, s:i}, s:[s], s:{s:s}}", "name", name, "task", "detect", "runtime", "onnx",
                    "input", "width", 320, "height", 240, "labels", name + 1, "output", "decoder",
                    "boxes_scores_classes");
    assert_non_null(doc);
    lp_error_clear(&err);
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), -1);
    assert_true(has_field(&err, "name"));
    assert_false(has_field(&err, "labels[0]"));
    json_decref(doc);
}

/* The options of the masks, keypoints, text_polygons and logits decoders: read, written back with
 * their defaults, and refused (naming the member) on a decoder that does not have them. */
static void test_shape_decoder_options(void **state)
{
    (void)state;
    lp_model_spec s, t;
    lp_error err;
    lp_error_clear(&err);
    json_t *doc = parse("{\"name\": \"seg\", \"task\": \"segment\", \"runtime\": \"onnx\", "
                        "\"input\": {\"width\": 640, \"height\": 640}, \"labels\": [\"cat\"], "
                        "\"output\": {\"decoder\": \"masks\", \"mask_layout\": \"prototypes\", \"mask_sigmoid\": true, "
                        "\"names\": {\"masks\": \"coef\", \"prototypes\": \"protos\"}}}");
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), 0);
    assert_int_equal(s.output.mask_layout, LP_MASK_PROTOTYPES);
    assert_true(s.output.mask_sigmoid && s.output.mask_threshold == 0.5);
    assert_string_equal(s.output.prototypes, "protos");
    json_t *stored = lp_model_spec_json(&s);
    assert_string_equal(json_string_value(json_object_get(json_object_get(stored, "output"), "mask_layout")),
                        "prototypes");
    assert_int_equal(lp_model_spec_read(stored, 100, &t, &err), 0);
    assert_string_equal(t.output.prototypes, "protos");
    json_decref(stored);
    json_decref(doc);

    doc = parse("{\"name\": \"pose\", \"task\": \"keypoints\", \"runtime\": \"onnx\", "
                "\"input\": {\"width\": 640, \"height\": 640}, \"labels\": [\"person\"], "
                "\"output\": {\"decoder\": \"keypoints\", \"keypoints_count\": 17, \"keypoint_threshold\": 0.3}}");
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), 0);
    assert_true(s.output.keypoints_count == 17 && s.output.keypoint_threshold == 0.3);
    json_decref(doc);

    doc = parse("{\"name\": \"cls\", \"task\": \"classify\", \"runtime\": \"onnx\", "
                "\"input\": {\"width\": 224, \"height\": 224}, \"labels\": [\"a\", \"b\"], "
                "\"output\": {\"decoder\": \"logits\", \"softmax\": true, \"top_k\": 2}}");
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), 0);
    assert_true(s.output.softmax && s.output.top_k == 2);
    stored = lp_model_spec_json(&s);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(stored, "output"), "top_k")), 2);
    json_decref(stored);
    json_decref(doc);

    doc = parse("{\"name\": \"ocr\", \"task\": \"text_detect\", \"runtime\": \"onnx\", "
                "\"input\": {\"width\": 640, \"height\": 640}, \"labels\": [\"text\"], "
                "\"output\": {\"decoder\": \"text_polygons\", \"max_detections\": 500}}");
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), 0);
    assert_int_equal(s.output.max_detections, 500);
    assert_int_equal(s.output.top_k, 1);
    json_decref(doc);

    /* Options of other decoders, a bad layout, and out-of-range values, each named. */
    doc = parse("{\"name\": \"seg\", \"task\": \"segment\", \"runtime\": \"onnx\", "
                "\"input\": {\"width\": 640, \"height\": 640}, \"labels\": [\"cat\"], "
                "\"output\": {\"decoder\": \"masks\", \"mask_layout\": \"rle\", \"top_k\": 3, "
                "\"keypoint_threshold\": 0.2, \"mask_threshold\": 2, \"names\": {\"logits\": \"x\"}}}");
    assert_int_equal(lp_model_spec_read(doc, 100, &s, &err), -1);
    const char *want[] = {"output.mask_layout", "output.top_k", "output.keypoint_threshold", "output.mask_threshold",
                          "output.names.logits"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        if (!has_field(&err, want[i]))
            fail_msg("no field error %s", want[i]);
    }
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_name_and_label_limits),
        cmocka_unit_test(test_ssd_and_names),
        cmocka_unit_test(test_ssd_split_outputs),
        cmocka_unit_test(test_bad_members_named),
        cmocka_unit_test(test_runtime_http),
        cmocka_unit_test(test_shape_decoder_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
