/* ONNX Runtime loaded at run time: a missing library, or a library that is not ONNX Runtime, is
 * "onnx runtime not installed" (LP_E_UNAVAILABLE) and nothing else; an empty path says so. With
 * the library (LOUPE_ONNX_RUNTIME, which the model_files fixture fetches; skipped without it) a
 * model whose input takes any batch says so and runs several inputs at once, each output batched
 * along its first dimension, while a model of a fixed batch of one says that. A real model runs in
 * tests/integration/test_models_infer.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "loupe/infer/onnx.h"
#include "test_skip.h"

/* y = x + x, x and y float [N, 2]: N free, or fixed at 1 (ONNX protobuf, opset 13). */
static const char MODEL_FREE[] = "\x08\x08\x42\x04\x0a\x00\x10\x0d\x3a\x3f\x0a\x0e\x0a\x01\x78\x0a\x01\x78\x12\x01\x79\x22\x03\x41\x64\x64\x12\x01\x67\x5a\x14\x0a\x01\x78\x12\x0f\x0a\x0d\x08\x01\x12\x09\x0a\x03\x12\x01\x4e\x0a\x02\x08\x02\x62\x14\x0a\x01\x79\x12\x0f\x0a\x0d\x08\x01\x12\x09\x0a\x03\x12\x01\x4e\x0a\x02\x08\x02";
static const char MODEL_FIXED[] = "\x08\x08\x42\x04\x0a\x00\x10\x0d\x3a\x3d\x0a\x0e\x0a\x01\x78\x0a\x01\x78\x12\x01\x79\x22\x03\x41\x64\x64\x12\x01\x67\x5a\x13\x0a\x01\x78\x12\x0e\x0a\x0c\x08\x01\x12\x08\x0a\x02\x08\x01\x0a\x02\x08\x02\x62\x13\x0a\x01\x79\x12\x0e\x0a\x0c\x08\x01\x12\x08\x0a\x02\x08\x01\x0a\x02\x08\x02";

static void not_installed(const char *path, const char *says)
{
    lp_error err;
    lp_error_clear(&err);
    assert_null(lp_onnx_load(path, 0, &err));
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    assert_non_null(strstr(err.message, "onnx runtime not installed"));
    assert_non_null(strstr(err.message, says));
}

static void test_missing_library(void **state)
{
    (void)state;
    not_installed("/nonexistent/libonnxruntime.so.1", "libonnxruntime.so.1");
    not_installed("", "onnx_runtime_path is empty");
    not_installed(NULL, "onnx_runtime_path is empty");
}

static void test_not_onnx_runtime(void **state)
{
    (void)state;
    /* libm is loaded and has no OrtGetApiBase */
    not_installed("libm.so.6", "is not an ONNX Runtime");
}

static void test_batches(void **state)
{
    const char *lib = getenv("LOUPE_ONNX_RUNTIME");
    lp_error err;
    (void)state;
    if (!lib || access(lib, R_OK) != 0)
        LP_TEST_SKIP("ONNX Runtime is missing (LOUPE_ONNX_RUNTIME; the model_files fixture fetches it)");
    lp_error_clear(&err);
    lp_onnx *rt = lp_onnx_load(lib, 1, &err);
    assert_non_null(rt);
    lp_onnx_set_spinning(rt, 0);

    lp_onnx_session *s = lp_onnx_session_new(rt, MODEL_FREE, sizeof MODEL_FREE - 1, 0, &err);
    assert_non_null(s);
    assert_int_equal(lp_onnx_session_batch(s), -1);
    const float x[6] = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {3, 2};
    lp_onnx_tensor out[1];
    assert_int_equal(lp_onnx_run(s, NULL, x, shape, 2, out, &err), 0);
    assert_int_equal(out[0].ndims, 2);
    assert_int_equal(out[0].shape[0], 3);
    assert_int_equal(out[0].count, 6);
    for (int i = 0; i < 6; i++)
        assert_true(out[0].data[i] == 2 * x[i]);
    lp_onnx_tensors_free(out, 1);
    lp_onnx_session_free(s);

    s = lp_onnx_session_new(rt, MODEL_FIXED, sizeof MODEL_FIXED - 1, 0, &err);
    assert_non_null(s);
    assert_int_equal(lp_onnx_session_batch(s), 1);
    assert_int_equal(lp_onnx_run(s, NULL, x, shape, 2, out, &err), -1); /* a batch of 3 is refused */
    assert_int_equal(err.code, LP_E_INVALID);
    lp_onnx_session_free(s);
    lp_onnx_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_library),
        cmocka_unit_test(test_not_onnx_runtime),
        cmocka_unit_test(test_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
