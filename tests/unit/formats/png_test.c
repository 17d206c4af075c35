/* PNG out: palette and RGB images decoded back here (chunks and CRCs walked, IDATs joined and
 * inflated), a large image cut into several IDATs, the caller draining the buffer between rows,
 * a full buffer and a wrong row count refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "loupe/formats/png.h"

typedef struct decoded {
    uint32_t w, h;
    int color, nidat;
    unsigned char pal[768];
    int npal;
    unsigned char *raw; /* filter byte + row, per row */
    size_t raw_len;
} decoded;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walks every chunk (checking its CRC), ends at IEND, inflates the joined IDATs. */
static void decode(const unsigned char *png, size_t len, decoded *d)
{
    const unsigned char *p = png + 8, *end = png + len;
    unsigned char *z = malloc(len);
    size_t nz = 0;
    int saw_end = 0;
    assert_non_null(z);
    memset(d, 0, sizeof *d);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    while (p + 12 <= end) {
        uint32_t n = be32(p);
        assert_true(p + 12 + n <= end);
        assert_int_equal(crc32(0, p + 4, n + 4), be32(p + 8 + n));
        if (memcmp(p + 4, "IHDR", 4) == 0) {
            d->w = be32(p + 8);
            d->h = be32(p + 12);
            assert_int_equal(p[16], 8);
            d->color = p[17];
        } else if (memcmp(p + 4, "PLTE", 4) == 0) {
            memcpy(d->pal, p + 8, n);
            d->npal = (int)n / 3;
        } else if (memcmp(p + 4, "IDAT", 4) == 0) {
            assert_true(n <= 64 * 1024);
            memcpy(z + nz, p + 8, n);
            nz += n;
            d->nidat++;
        } else if (memcmp(p + 4, "IEND", 4) == 0) {
            assert_int_equal(n, 0);
            saw_end = 1;
            assert_ptr_equal(p + 12, end);
        }
        p += 12 + n;
    }
    assert_true(saw_end);
    size_t bpp = d->color == LP_PNG_RGB ? 3 : 1;
    uLongf raw_len = (uLongf)((size_t)d->w * bpp + 1) * d->h;
    d->raw = malloc(raw_len);
    assert_non_null(d->raw);
    assert_int_equal(uncompress(d->raw, &raw_len, z, nz), Z_OK);
    d->raw_len = raw_len;
    free(z);
}

static void test_palette_image(void **state)
{
    (void)state;
    uint8_t labels[5 * 3] = {0, 1, 2, 3, 4, 4, 3, 2, 1, 0, 9, 9, 9, 9, 9};
    unsigned char pal[768] = {0};
    for (int i = 0; i < 30; i++)
        pal[i] = (unsigned char)(i * 7);
    lp_buf out;
    lp_error err;
    decoded d;
    lp_error_clear(&err);
    lp_buf_init(&out, 1 << 20);
    lp_png *p = lp_png_begin(&out, 5, 3, LP_PNG_PALETTE, pal, 10, 6, &err);
    assert_non_null(p);
    for (int y = 0; y < 3; y++)
        assert_int_equal(lp_png_row(p, labels + y * 5, &err), 0);
    assert_int_equal(lp_png_end(p, &err), 0);
    lp_png_free(p);
    decode((const unsigned char *)out.data, out.len, &d);
    assert_int_equal(d.w, 5);
    assert_int_equal(d.h, 3);
    assert_int_equal(d.color, 3);
    assert_int_equal(d.npal, 10);
    assert_memory_equal(d.pal, pal, 30);
    assert_int_equal(d.raw_len, 6 * 3);
    for (int y = 0; y < 3; y++) {
        assert_int_equal(d.raw[y * 6], 0);
        assert_memory_equal(d.raw + y * 6 + 1, labels + y * 5, 5);
    }
    free(d.raw);
    lp_buf_free(&out);
}

/* Noise does not compress: 400x300 RGB is ~360 KB of IDAT, so several chunks of at most 64 KiB;
 * the buffer is drained into a file image after every row, as an export does. */
static void test_large_rgb_image_drained_by_row(void **state)
{
    (void)state;
    enum { W = 400, H = 300, STRIDE = W * 3 + 5 };
    uint8_t *rgb = malloc((size_t)STRIDE * H);
    unsigned char *file = malloc(1 << 20);
    size_t file_len = 0;
    uint32_t seed = 12345;
    lp_buf out;
    lp_error err;
    decoded d;
    assert_non_null(rgb);
    assert_non_null(file);
    for (size_t i = 0; i < (size_t)STRIDE * H; i++) {
        seed = seed * 1103515245u + 12345u;
        rgb[i] = (uint8_t)(seed >> 16);
    }
    lp_error_clear(&err);
    lp_buf_init(&out, 128 * 1024); /* smaller than the image: only draining makes it fit */
    lp_png *p = lp_png_begin(&out, W, H, LP_PNG_RGB, NULL, 0, 1, &err);
    assert_non_null(p);
    for (int y = 0; y <= H; y++) {
        if (y < H)
            assert_int_equal(lp_png_row(p, rgb + (size_t)y * STRIDE, &err), 0);
        else
            assert_int_equal(lp_png_end(p, &err), 0);
        memcpy(file + file_len, out.data, out.len);
        file_len += out.len;
        lp_buf_reset(&out);
    }
    lp_png_free(p);
    decode(file, file_len, &d);
    assert_int_equal(d.w, W);
    assert_int_equal(d.h, H);
    assert_int_equal(d.color, 2);
    assert_true(d.nidat > 4);
    for (int y = 0; y < H; y++) {
        assert_int_equal(d.raw[(size_t)y * (W * 3 + 1)], 0);
        assert_memory_equal(d.raw + (size_t)y * (W * 3 + 1) + 1, rgb + (size_t)y * STRIDE, W * 3);
    }
    free(d.raw);
    free(rgb);
    free(file);
    lp_buf_free(&out);
}

static void test_full_buffer_refused(void **state)
{
    (void)state;
    uint8_t row[64 * 3];
    for (size_t i = 0; i < sizeof row; i++)
        row[i] = (uint8_t)(i * 37 + 11);
    lp_buf out;
    lp_error err;
    lp_error_clear(&err);
    lp_buf_init(&out, 100);
    lp_png *p = lp_png_begin(&out, 64, 64, LP_PNG_RGB, NULL, 0, 1, &err);
    assert_non_null(p);
    int rc = 0;
    for (int y = 0; y < 64 && rc == 0; y++)
        rc = lp_png_row(p, row, &err);
    if (rc == 0)
        rc = lp_png_end(p, &err);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    lp_png_free(p);
    lp_buf_free(&out);
}

static void test_wrong_shapes_refused(void **state)
{
    (void)state;
    uint8_t row[4] = {0};
    unsigned char pal[3] = {1, 2, 3};
    lp_buf out;
    lp_error err;
    lp_error_clear(&err);
    lp_buf_init(&out, 4096);
    assert_null(lp_png_begin(&out, 0, 4, LP_PNG_RGB, NULL, 0, 1, &err));
    assert_null(lp_png_begin(&out, 4, 4, LP_PNG_PALETTE, pal, 0, 1, &err));
    assert_null(lp_png_begin(&out, 4, 4, LP_PNG_PALETTE, NULL, 1, 1, &err));
    lp_buf_reset(&out);
    lp_png *p = lp_png_begin(&out, 4, 2, LP_PNG_PALETTE, pal, 1, 6, &err);
    assert_non_null(p);
    assert_int_equal(lp_png_row(p, row, &err), 0);
    assert_int_equal(lp_png_end(p, &err), -1); /* a row short */
    assert_int_equal(lp_png_row(p, row, &err), 0);
    assert_int_equal(lp_png_row(p, row, &err), -1); /* one too many */
    lp_png_free(p);
    lp_png_free(NULL);
    lp_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_palette_image),
        cmocka_unit_test(test_large_rgb_image_drained_by_row),
        cmocka_unit_test(test_full_buffer_refused),
        cmocka_unit_test(test_wrong_shapes_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
