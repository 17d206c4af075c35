/* A V7-style model server in JSON: /classes against the labels, the image sent as a PNG (decoded back
 * here), the answer's shapes kept by label and threshold, clipped and ordered, bad answers refused. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "loupe/crypto/encode.h"
#include "loupe/infer/v7.h"

static json_t *doc;
static lp_model_spec spec;

static int setup(void **state)
{
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    doc = json_loads("{\"name\": \"v\", \"task\": \"detect\", \"runtime\": \"http\", \"endpoint\": {\"protocol\": "
                     "\"v7_byom\", \"url\": \"http://10.0.0.5:8080\"}, \"input\": {\"width\": 64, \"height\": 64}, "
                     "\"output\": {\"decoder\": \"boxes_scores_classes\", \"max_detections\": 2}, "
                     "\"labels\": [\"cat\", \"dog\"], \"score_threshold\": 0.5}",
                     0, NULL);
    return doc && lp_model_spec_read(doc, 100, &spec, &err) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(doc);
    return 0;
}

static int classes(const char *text, lp_error *err)
{
    lp_error_clear(err);
    return lp_v7_classes_check(text, strlen(text), &spec, err);
}

static void test_classes(void **state)
{
    lp_error err;
    (void)state;
    assert_int_equal(classes("[{\"name\": \"dog\", \"type\": \"bounding_box\"}, {\"name\": \"cat\", \"type\": "
                             "\"polygon\"}, {\"name\": \"cow\"}]",
                             &err),
                     0);
    assert_int_equal(classes("{\"classes\": [\"cat\", \"dog\"]}", &err), 0);
    assert_int_equal(classes("[{\"name\": \"dog\"}]", &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_string_equal(err.fields[0].field, "labels[0]");
    assert_int_equal(classes("not json", &err), -1);
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    assert_int_equal(classes("{\"classes\": 3}", &err), -1);
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_request_is_a_png(void **state)
{
    uint8_t rgb[2 * 3 * 3 + 2]; /* 3 × 2 pixels, rows of 10 bytes (padding) */
    lp_buf b;
    lp_error err;
    json_t *req;
    (void)state;
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (uint8_t)(i * 13);
    lp_error_clear(&err);
    lp_buf_init(&b, 1 << 20);
    assert_int_equal(lp_v7_request_write(&b, rgb, 3, 2, 10, &err), 0);
    req = json_loads(b.data, 0, NULL);
    assert_non_null(req);
    const char *text = json_string_value(json_object_get(json_object_get(req, "image"), "base64"));
    assert_non_null(text);
    uint8_t png[4096];
    long n = lp_base64_decode(text, strlen(text), png, sizeof png);
    assert_true(n > 8 + 25 + 12 + 12);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(png + 12, "IHDR", 4);
    assert_int_equal(be32(png + 16), 3);
    assert_int_equal(be32(png + 20), 2);
    assert_int_equal(png[24], 8); /* bit depth */
    assert_int_equal(png[25], 2); /* RGB */
    /* the IDAT inflates to the rows, each with filter 0 */
    uint32_t zlen = be32(png + 33);
    assert_memory_equal(png + 37, "IDAT", 4);
    uint8_t raw[64];
    uLongf rlen = sizeof raw;
    assert_int_equal(uncompress(raw, &rlen, png + 41, zlen), Z_OK);
    assert_int_equal(rlen, 2 * (1 + 9));
    assert_int_equal(raw[0], 0);
    assert_memory_equal(raw + 1, rgb, 9);
    assert_int_equal(raw[10], 0);
    assert_memory_equal(raw + 11, rgb + 10, 9);
    /* the chunk's CRC */
    uLong crc = crc32(crc32(0L, png + 37, 4), png + 41, zlen);
    assert_int_equal(be32(png + 41 + zlen), (uint32_t)crc);
    json_decref(req);
    lp_buf_free(&b);
}

static lp_arena *arena;

static int results_of(const lp_model_spec *sp, const char *text, lp_model_det *out, size_t *n, lp_error *err)
{
    lp_error_clear(err);
    lp_arena_free(arena);
    arena = lp_arena_new(0, 0);
    return lp_v7_results_read(text, strlen(text), sp, 100, 50, arena, out, 8, n, err);
}

static int results(const char *text, lp_model_det *out, size_t *n, lp_error *err)
{
    return results_of(&spec, text, out, n, err);
}

/* A spec of task (its decoder, its limit) over labels cat and dog. */
static json_t *spec_of(const char *task, const char *output, lp_model_spec *out)
{
    lp_error err;
    char text[1024];
    snprintf(text, sizeof text,
             "{\"name\": \"v\", \"task\": \"%s\", \"runtime\": \"http\", \"endpoint\": {\"protocol\": "
             "\"v7_byom\", \"url\": \"http://10.0.0.5\"}, \"input\": {\"width\": 64, \"height\": 64}, "
             "\"output\": %s, \"labels\": [\"cat\", \"dog\"], \"score_threshold\": 0.5}",
             task, output);
    json_t *d = json_loads(text, 0, NULL);
    lp_error_clear(&err);
    assert_non_null(d);
    assert_int_equal(lp_model_spec_read(d, 100, out, &err), 0);
    return d;
}

static void test_segment_and_classify(void **state)
{
    lp_model_det d[8];
    lp_model_spec sp;
    size_t n;
    lp_error err;
    (void)state;
    /* segment: polygons as they are (clipped to 100 × 50), a box as its rectangle */
    json_t *sd = spec_of("segment", "{\"decoder\": \"masks\", \"max_detections\": 5}", &sp);
    assert_int_equal(results_of(&sp, "{\"status\": \"succeeded\", \"results\": ["
                                      "{\"name\": \"cat\", \"confidence\": 0.9, \"polygon\": {\"path\": [{\"x\": 10, "
                                      "\"y\": 5}, {\"x\": 130, \"y\": 5}, {\"x\": 20, \"y\": 25}]}},"
                                      "{\"name\": \"dog\", \"confidence\": 0.7, \"bounding_box\": {\"x\": 1, \"y\": 2, "
                                      "\"w\": 3, \"h\": 4}},"
                                      "{\"name\": \"dog\", \"confidence\": 0.3, \"polygon\": {\"path\": [{\"x\": 1, "
                                      "\"y\": 1}, {\"x\": 9, \"y\": 1}, {\"x\": 9, \"y\": 9}]}}]}",
                                d, &n, &err),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(d[0].shape.type, LP_GEOM_POLYGON);
    assert_int_equal(d[0].shape.u.polygon.npaths, 1);
    assert_int_equal(d[0].shape.u.polygon.paths[0].npoints, 3);
    assert_true(d[0].shape.u.polygon.paths[0].points[1].x == 100 && d[0].shape.u.polygon.paths[0].points[1].y == 5);
    assert_true(d[0].x == 10 && d[0].y == 5 && d[0].w == 90 && d[0].h == 20);
    assert_int_equal(d[1].label, 1);
    assert_int_equal(d[1].shape.u.polygon.paths[0].npoints, 4);
    assert_true(d[1].shape.u.polygon.paths[0].points[2].x == 4 && d[1].shape.u.polygon.paths[0].points[2].y == 6);
    /* a path of two points is not a polygon */
    assert_int_equal(results_of(&sp, "{\"results\": [{\"name\": \"cat\", \"polygon\": {\"path\": [{\"x\": 1, "
                                      "\"y\": 1}, {\"x\": 9, \"y\": 9}]}}]}",
                                d, &n, &err),
                     -1);
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    json_decref(sd);

    /* classify: tags of the image, best first, one per label (its best confidence), top_k of them */
    sd = spec_of("classify", "{\"decoder\": \"logits\", \"top_k\": 1}", &sp);
    assert_int_equal(results_of(&sp, "{\"results\": [{\"name\": \"cat\", \"confidence\": 0.6, \"tag\": {}}, "
                                      "{\"name\": \"dog\", \"confidence\": 0.7}, {\"name\": \"cat\", \"confidence\": "
                                      "0.95}, {\"name\": \"cow\", \"confidence\": 0.99}]}",
                                d, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(d[0].label, 0);
    assert_int_equal(d[0].shape.type, LP_GEOM_TAG);
    assert_true(d[0].score > 0.94f);
    assert_true(d[0].w == 100 && d[0].h == 50);
    json_decref(sd);
    sd = spec_of("classify", "{\"decoder\": \"logits\", \"top_k\": 5}", &sp);
    assert_int_equal(results_of(&sp, "{\"results\": [{\"name\": \"cat\", \"confidence\": 0.6}, "
                                      "{\"name\": \"dog\", \"confidence\": 0.4}, {\"name\": \"dog\", \"confidence\": "
                                      "0.8}]}",
                                d, &n, &err),
                     0);
    assert_int_equal(n, 2);
    assert_true(d[0].label == 1 && d[0].score > 0.79f && d[1].label == 0);
    json_decref(sd);
    lp_arena_free(arena);
    arena = NULL;
}

static void test_results(void **state)
{
    lp_model_det d[8];
    size_t n;
    lp_error err;
    (void)state;
    /* kept: the dog (clipped to 100 × 50), the cat from its polygon; dropped: an unknown label, one under the
     * threshold, one wholly outside the image, and the third best (max_detections 2) */
    assert_int_equal(results("{\"status\": \"succeeded\", \"results\": ["
                             "{\"name\": \"cow\", \"confidence\": 0.99, \"bounding_box\": {\"x\": 1, \"y\": 1, "
                             "\"w\": 2, \"h\": 2}},"
                             "{\"label\": \"dog\", \"confidence\": 0.8, \"bounding_box\": {\"x\": 90, \"y\": 40, "
                             "\"w\": 20, \"h\": 20}},"
                             "{\"name\": \"cat\", \"confidence\": 0.9, \"polygon\": {\"path\": [{\"x\": 10, \"y\": "
                             "5}, {\"x\": 30, \"y\": 5}, {\"x\": 20, \"y\": 25}]}},"
                             "{\"name\": \"cat\", \"confidence\": 0.2, \"bounding_box\": {\"x\": 1, \"y\": 1, \"w\": "
                             "2, \"h\": 2}},"
                             "{\"name\": \"cat\", \"bounding_box\": {\"x\": 200, \"y\": 1, \"w\": 2, \"h\": 2}},"
                             "{\"name\": \"dog\", \"confidence\": 0.6, \"bounding_box\": {\"x\": 0, \"y\": 0, "
                             "\"w\": 5, \"h\": 5}}]}",
                             d, &n, &err),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(d[0].label, 0);
    assert_true(d[0].score > 0.89f);
    assert_true(d[0].x == 10 && d[0].y == 5 && d[0].w == 20 && d[0].h == 20);
    assert_int_equal(d[1].label, 1);
    assert_true(d[1].x == 90 && d[1].y == 40 && d[1].w == 10 && d[1].h == 10);

    assert_int_equal(results("{\"results\": []}", d, &n, &err), 0);
    assert_int_equal(n, 0);

    const char *bad[] = {
        "nope",
        "{\"status\": \"failed\", \"error\": \"CUDA out of memory\"}",
        "{\"status\": \"succeeded\"}",
        "{\"results\": [{\"confidence\": 0.9, \"bounding_box\": {\"x\": 1, \"y\": 1, \"w\": 2, \"h\": 2}}]}",
        "{\"results\": [{\"name\": \"cat\", \"bounding_box\": {\"x\": 1, \"y\": 1, \"w\": -2, \"h\": 2}}]}",
        "{\"results\": [{\"name\": \"cat\", \"confidence\": \"high\", \"bounding_box\": {\"x\": 1, \"y\": 1, \"w\": "
        "2, \"h\": 2}}]}",
        "{\"results\": [{\"name\": \"cat\", \"polygon\": {\"path\": []}}]}",
        "{\"results\": [1]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(results(bad[i], d, &n, &err), -1);
        assert_int_equal(err.code, LP_E_UNAVAILABLE);
    }
    assert_int_equal(results(bad[1], d, &n, &err), -1);
    assert_non_null(strstr(err.message, "CUDA out of memory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_request_is_a_png),
        cmocka_unit_test(test_results),
        cmocka_unit_test(test_segment_and_classify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
