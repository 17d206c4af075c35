/* The Open Inference Protocol v2 in JSON: a model's metadata checked against its spec (each misfit
 * named by the spec member), the infer request written, answers read (nested data, the model's
 * output order, every malformed answer refused naming what is wrong). */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/infer/kserve.h"

typedef struct fixture {
    json_t *doc;
    lp_model_spec spec;
} fixture;

static void spec_of(fixture *f, const char *text)
{
    lp_error err;
    json_error_t je;
    lp_error_clear(&err);
    f->doc = json_loads(text, 0, &je);
    assert_non_null(f->doc);
    assert_int_equal(lp_model_spec_read(f->doc, 100, &f->spec, &err), 0);
}

#define DETECTOR(NAMES)                                                                                             \
    "{\"name\": \"d\", \"task\": \"detect\", \"runtime\": \"http\", \"endpoint\": {\"protocol\": \"kserve_v2\", " \
    "\"url\": \"http://10.0.0.5\", \"model_name\": \"det\"}, \"input\": {\"width\": 64, \"height\": 32}, "          \
    "\"output\": {\"decoder\": \"boxes_scores_classes\"" NAMES "}, \"labels\": [\"cat\", \"dog\"]}"

static int has_field(const lp_error *err, const char *field)
{
    for (size_t i = 0; i < err->nfields; i++)
        if (strcmp(err->fields[i].field, field) == 0)
            return 1;
    return 0;
}

static int check(const fixture *f, const char *meta, lp_kserve_model *m, lp_error *err)
{
    lp_error_clear(err);
    return lp_kserve_metadata_check(meta, strlen(meta), &f->spec, m, err);
}

static void test_metadata(void **state)
{
    fixture f;
    lp_kserve_model m;
    lp_error err;
    (void)state;
    spec_of(&f, DETECTOR(", \"names\": {\"boxes\": \"b\", \"scores\": \"s\"}"));
    assert_int_equal(check(&f, "{\"name\": \"det\", \"inputs\": [{\"name\": \"images\", \"datatype\": \"FP32\", "
                               "\"shape\": [-1, 3, 32, 64]}], \"outputs\": [{\"name\": \"s\"}, {\"name\": \"b\"}, "
                               "{\"name\": \"c\"}]}",
                           &m, &err),
                     0);
    assert_string_equal(m.input, "images");
    assert_int_equal(m.noutputs, 3);
    assert_string_equal(m.outputs[1], "b");
    lp_kserve_model_free(&m);

    /* a height that differs, an output the spec names that the model lacks */
    assert_int_equal(check(&f, "{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [1, 3, 320, 64]}],"
                               " \"outputs\": [{\"name\": \"s\"}]}",
                           &m, &err),
                     -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_true(has_field(&err, "input.height"));
    assert_int_equal(check(&f, "{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [1, 3, 32, 64]}],"
                               " \"outputs\": [{\"name\": \"s\"}]}",
                           &m, &err),
                     -1);
    assert_true(has_field(&err, "output.names.boxes"));
    /* UINT8 takes the pixels as they are: refused while the spec scales them (the default 1/255) */
    assert_int_equal(check(&f, "{\"inputs\": [{\"name\": \"x\", \"datatype\": \"UINT8\", \"shape\": [1, 3, 32, 64]}],"
                               " \"outputs\": []}",
                           &m, &err),
                     -1);
    assert_true(has_field(&err, "input.scale"));
    /* FP16 of rank 3 (no batch: one image) */
    assert_int_equal(check(&f, "{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP16\", \"shape\": [3, 32, 64]}],"
                               " \"outputs\": [{\"name\": \"b\"}, {\"name\": \"s\"}]}",
                           &m, &err),
                     0);
    assert_int_equal(m.datatype, LP_KSERVE_FP16);
    assert_int_equal(m.batched, 0);
    lp_kserve_model_free(&m);
    assert_int_equal(check(&f, "{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [3, 320, 64]}],"
                               " \"outputs\": [{\"name\": \"b\"}, {\"name\": \"s\"}]}",
                           &m, &err),
                     -1);
    assert_true(has_field(&err, "input.height"));
    /* other datatypes, other ranks */
    assert_int_equal(check(&f, "{\"inputs\": [{\"name\": \"x\", \"datatype\": \"INT64\", \"shape\": [1, 3, 32, 64]}],"
                               " \"outputs\": []}",
                           &m, &err),
                     -1);
    assert_true(has_field(&err, "input"));
    assert_int_equal(check(&f, "{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [32, 64]}],"
                               " \"outputs\": []}",
                           &m, &err),
                     -1);
    assert_true(has_field(&err, "input"));
    assert_int_equal(check(&f, "<html>oops</html>", &m, &err), -1);
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    assert_int_equal(check(&f, "{\"inputs\": []}", &m, &err), -1);
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    json_decref(f.doc);

    /* input.name picks among several inputs; NHWC dimensions */
    spec_of(&f, "{\"name\": \"d\", \"task\": \"detect\", \"runtime\": \"http\", \"endpoint\": {\"protocol\": "
                "\"kserve_v2\", \"url\": \"http://10.0.0.5\", \"model_name\": \"det\"}, \"input\": {\"width\": 64, "
                "\"height\": 32, \"layout\": \"NHWC\", \"name\": \"second\"}, \"output\": {\"decoder\": "
                "\"boxes_scores_classes\"}, \"labels\": [\"cat\"]}");
    assert_int_equal(check(&f, "{\"inputs\": [{\"name\": \"first\", \"datatype\": \"INT64\", \"shape\": [1]}, "
                               "{\"name\": \"second\", \"datatype\": \"FP32\", \"shape\": [1, 32, 64, 3]}], "
                               "\"outputs\": []}",
                           &m, &err),
                     0);
    assert_string_equal(m.input, "second");
    lp_kserve_model_free(&m);
    assert_int_equal(check(&f, "{\"inputs\": [{\"name\": \"first\", \"datatype\": \"FP32\", \"shape\": [1, 32, 64, 3]}],"
                               " \"outputs\": []}",
                           &m, &err),
                     -1);
    assert_true(has_field(&err, "input.name"));
    json_decref(f.doc);

    /* UINT8 with the pixels left as they are (scale 1, mean 0, std 1), batched */
    spec_of(&f, "{\"name\": \"d\", \"task\": \"detect\", \"runtime\": \"http\", \"endpoint\": {\"protocol\": "
                "\"kserve_v2\", \"url\": \"http://10.0.0.5\", \"model_name\": \"det\"}, \"input\": {\"width\": 64, "
                "\"height\": 32, \"scale\": 1, \"mean\": [0], \"std\": [1]}, \"output\": {\"decoder\": "
                "\"boxes_scores_classes\"}, \"labels\": [\"cat\"]}");
    assert_int_equal(check(&f, "{\"inputs\": [{\"name\": \"x\", \"datatype\": \"UINT8\", \"shape\": [-1, 3, 32, 64]}],"
                               " \"outputs\": []}",
                           &m, &err),
                     0);
    assert_int_equal(m.datatype, LP_KSERVE_UINT8);
    assert_int_equal(m.batched, 1);
    lp_kserve_model_free(&m);
    json_decref(f.doc);
}

static void test_request(void **state)
{
    const float data[6] = {0.5f, -1.25f, 3, 0, 1e-3f, 2};
    const int64_t shape[4] = {1, 3, 1, 2};
    lp_buf b;
    lp_error err;
    json_t *doc, *in;
    lp_kserve_model m = {.input = "in\"put", .datatype = LP_KSERVE_FP32, .batched = 1};
    (void)state;
    lp_error_clear(&err);
    lp_buf_init(&b, 1 << 20);
    assert_int_equal(lp_kserve_request_write(&b, &m, data, shape, 4, &err), 0);
    doc = json_loads(b.data, 0, NULL);
    assert_non_null(doc);
    in = json_array_get(json_object_get(doc, "inputs"), 0);
    assert_string_equal(json_string_value(json_object_get(in, "name")), "in\"put");
    assert_string_equal(json_string_value(json_object_get(in, "datatype")), "FP32");
    assert_int_equal(json_array_size(json_object_get(in, "shape")), 4);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(in, "shape"), 3)), 2);
    assert_int_equal(json_array_size(json_object_get(in, "data")), 6);
    assert_true(json_number_value(json_array_get(json_object_get(in, "data"), 1)) == -1.25);
    json_decref(doc);
    lp_buf_free(&b);

    /* UINT8 without the batch: whole pixels 0–255, shape [3, 1, 2] */
    m.datatype = LP_KSERVE_UINT8;
    m.batched = 0;
    const float pixels[6] = {0.4f, 254.6f, 300, -5, 17, 128.5f};
    lp_buf_init(&b, 1 << 20);
    assert_int_equal(lp_kserve_request_write(&b, &m, pixels, shape, 4, &err), 0);
    doc = json_loads(b.data, 0, NULL);
    assert_non_null(doc);
    in = json_array_get(json_object_get(doc, "inputs"), 0);
    assert_string_equal(json_string_value(json_object_get(in, "datatype")), "UINT8");
    assert_int_equal(json_array_size(json_object_get(in, "shape")), 3);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(in, "shape"), 0)), 3);
    const json_int_t want[6] = {0, 255, 255, 0, 17, 129};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(json_integer_value(json_array_get(json_object_get(in, "data"), i)), want[i]);
    json_decref(doc);
    lp_buf_free(&b);

    /* over the buffer's maximum: refused, not truncated */
    m.datatype = LP_KSERVE_FP32;
    lp_buf_init(&b, 16);
    assert_int_equal(lp_kserve_request_write(&b, &m, data, shape, 4, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    lp_buf_free(&b);
}

static int read_answer(const char *text, const lp_kserve_model *m, lp_onnx_tensor **outs, size_t *n, lp_error *err)
{
    lp_error_clear(err);
    return lp_kserve_response_read(text, strlen(text), m, 1000, outs, n, err);
}

static void test_response(void **state)
{
    lp_kserve_model m = {.noutputs = 2};
    lp_onnx_tensor *outs;
    size_t n;
    lp_error err;
    (void)state;
    m.outputs[0] = strdup("boxes");
    m.outputs[1] = strdup("scores");

    /* nested data, booleans; reordered as the model's outputs, unknown names last */
    assert_int_equal(read_answer("{\"model_name\": \"det\", \"outputs\": ["
                          "{\"name\": \"extra\", \"shape\": [2], \"datatype\": \"BOOL\", \"data\": [true, false]},"
                          "{\"name\": \"scores\", \"shape\": [1, 2], \"datatype\": \"FP32\", \"data\": [[0.9, 0.1]]},"
                          "{\"name\": \"boxes\", \"shape\": [1, 2, 4], \"datatype\": \"FP32\", "
                          "\"data\": [1, 2, 3, 4, 5, 6, 7, 8]}]}",
                          &m, &outs, &n, &err),
                     0);
    assert_int_equal(n, 3);
    assert_string_equal(outs[0].name, "boxes");
    assert_string_equal(outs[1].name, "scores");
    assert_string_equal(outs[2].name, "extra");
    assert_int_equal(outs[0].count, 8);
    assert_int_equal(outs[0].ndims, 3);
    assert_int_equal(outs[0].shape[2], 4);
    assert_true(outs[1].data[0] > 0.89f && outs[1].data[0] < 0.91f);
    assert_true(outs[2].data[0] == 1.0f && outs[2].data[1] == 0.0f);
    lp_onnx_tensors_free(outs, n);
    free(outs);

    /* refusals, each naming the problem */
    const char *bad[] = {
        "[]",
        "{\"outputs\": []}",
        "{\"error\": \"model det is not ready\"}",
        "{\"outputs\": [{\"shape\": [1], \"data\": [1]}]}",
        "{\"outputs\": [{\"name\": \"s\", \"shape\": [3], \"data\": [1, 2]}]}",
        "{\"outputs\": [{\"name\": \"s\", \"shape\": [1], \"data\": [1, 2]}]}",
        "{\"outputs\": [{\"name\": \"s\", \"shape\": [2], \"data\": [1, \"x\"]}]}",
        "{\"outputs\": [{\"name\": \"s\", \"shape\": [-1], \"data\": []}]}",
        "{\"outputs\": [{\"name\": \"s\", \"shape\": [1], \"datatype\": \"BYTES\", \"data\": [\"a\"]}]}",
        "{\"outputs\": [{\"name\": \"s\", \"shape\": [100000, 100000], \"data\": []}]}",
        "{\"outputs\": [{\"name\": \"s\", \"shape\": [1], \"data\": [[[[[[[[[[[1]]]]]]]]]]]}]}",
        "{\"outputs\": [7]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(read_answer(bad[i], &m, &outs, &n, &err), -1);
        assert_int_equal(err.code, LP_E_UNAVAILABLE);
        assert_null(outs);
    }
    assert_int_equal(read_answer("{\"error\": \"model det is not ready\"}", &m, &outs, &n, &err), -1);
    assert_non_null(strstr(err.message, "not ready"));
    lp_kserve_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
