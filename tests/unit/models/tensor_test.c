/* Image to tensor: letterbox and stretch fits, their inverse, NCHW/NHWC packing with scale, mean, std. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/models/tensor.h"

static lp_model_input input(int w, int h, lp_model_resize r, lp_model_layout l)
{
    lp_model_input in = {.width = w, .height = h, .layout = l, .resize = r, .scale = 1.0 / 255,
                         .mean = {0, 0, 0}, .std = {1, 1, 1}};
    return in;
}

static void test_fit(void **state)
{
    (void)state;
    lp_model_fit f;
    lp_error err;
    lp_error_clear(&err);
    lp_model_input in = input(640, 640, LP_MODEL_LETTERBOX, LP_MODEL_NCHW);
    /* 1280×720 → s = 0.5, 640×360 centred: dy = 140 */
    assert_int_equal(lp_model_fit_compute(&in, 1280, 720, &f, &err), 0);
    assert_true(f.sx == 0.5 && f.sy == 0.5 && f.dx == 0 && f.dy == 140);
    double x, y;
    lp_model_fit_unmap(&f, 320, 320, &x, &y);
    assert_true(x == 640 && y == 360);
    lp_model_fit_unmap(&f, 0, 140, &x, &y);
    assert_true(x == 0 && y == 0);

    in = input(640, 640, LP_MODEL_STRETCH, LP_MODEL_NCHW);
    assert_int_equal(lp_model_fit_compute(&in, 1280, 720, &f, &err), 0);
    assert_true(f.sx == 0.5 && fabs(f.sy - 640.0 / 720) < 1e-12 && f.dx == 0 && f.dy == 0);
    lp_model_fit_unmap(&f, 640, 640, &x, &y);
    assert_true(fabs(x - 1280) < 1e-9 && fabs(y - 720) < 1e-9);

    assert_int_equal(lp_model_fit_compute(&in, 0, 720, &f, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
}

/* A 2×1 image (red, blue) into a 4×4 tensor, letterboxed: rows 1–2 hold it, rows 0 and 3 are bars. */
static void test_pack_letterbox_nchw(void **state)
{
    (void)state;
    const uint8_t rgb[6] = {255, 0, 0, 0, 0, 255};
    lp_model_input in = input(4, 4, LP_MODEL_LETTERBOX, LP_MODEL_NCHW);
    in.mean[0] = in.mean[1] = in.mean[2] = 0.5;
    in.std[0] = in.std[1] = in.std[2] = 0.5;
    lp_model_fit f;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_model_fit_compute(&in, 2, 1, &f, &err), 0);
    assert_true(f.sx == 2 && f.dy == 1);
    float t[48];
    assert_int_equal(lp_model_tensor_len(&in), 48);
    lp_model_tensor_pack(&in, &f, rgb, 6, t);
    /* bars: v = 0 → (0 − 0.5)/0.5 = −1 in every channel */
    for (int c = 0; c < 3; c++)
        for (int X = 0; X < 4; X++) {
            assert_float_equal(t[c * 16 + 0 * 4 + X], -1.0f, 1e-6);
            assert_float_equal(t[c * 16 + 3 * 4 + X], -1.0f, 1e-6);
        }
    /* leftmost column is red: R = 1, B = −1; rightmost blue */
    assert_float_equal(t[0 * 16 + 1 * 4 + 0], 1.0f, 1e-6);
    assert_float_equal(t[2 * 16 + 1 * 4 + 0], -1.0f, 1e-6);
    assert_float_equal(t[0 * 16 + 2 * 4 + 3], -1.0f, 1e-6);
    assert_float_equal(t[2 * 16 + 2 * 4 + 3], 1.0f, 1e-6);
    /* between the two pixel centres: half of each (bilinear) */
    assert_float_equal(t[0 * 16 + 1 * 4 + 1], 0.5f, 1e-6); /* x = 0.25: R = 0.75 → (0.75−0.5)/0.5 */
}

static void test_pack_nhwc_same_values(void **state)
{
    (void)state;
    uint8_t rgb[5 * 3 * 3];
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (uint8_t)(i * 17);
    lp_model_input a = input(4, 6, LP_MODEL_STRETCH, LP_MODEL_NCHW), b = a;
    b.layout = LP_MODEL_NHWC;
    a.mean[1] = b.mean[1] = 0.2;
    lp_model_fit f;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_model_fit_compute(&a, 5, 3, &f, &err), 0);
    float ta[72], tb[72];
    lp_model_tensor_pack(&a, &f, rgb, 15, ta);
    lp_model_tensor_pack(&b, &f, rgb, 15, tb);
    for (int c = 0; c < 3; c++)
        for (int p = 0; p < 24; p++)
            assert_float_equal(ta[c * 24 + p], tb[p * 3 + c], 0);
    /* a stretch has no bars; tensor pixel (0, 0) samples source x = 0.5/0.8 − 0.5 = 0.125 (y clamped to 0):
     * R = 0.875·0 + 0.125·51, G = 0.875·17 + 0.125·68, less mean 0.2 */
    assert_float_equal(ta[0], 6.375f / 255.0f, 1e-6);
    assert_float_equal(ta[24], 23.375f / 255.0f - 0.2f, 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit),
        cmocka_unit_test(test_pack_letterbox_nchw),
        cmocka_unit_test(test_pack_nhwc_same_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
