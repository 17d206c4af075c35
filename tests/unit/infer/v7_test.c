/* A V7-style model server in JSON: /classes against the labels, the image sent as a PNG (decoded back
 * here), the answer's shapes kept by label and threshold, clipped and ordered, bad answers refused. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

static int results(const char *text, lp_model_det *out, size_t *n, lp_error *err)
{
    lp_error_clear(err);
    return lp_v7_results_read(text, strlen(text), &spec, 100, 50, out, 8, n, err);
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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
