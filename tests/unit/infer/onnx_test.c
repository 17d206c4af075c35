/* ONNX Runtime loaded at run time: a missing library, or a library that is not ONNX Runtime, is
 * "onnx runtime not installed" (LP_E_UNAVAILABLE) and nothing else; an empty path says so. A real
 * model runs in tests/integration/test_models_infer.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/infer/onnx.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_library),
        cmocka_unit_test(test_not_onnx_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
