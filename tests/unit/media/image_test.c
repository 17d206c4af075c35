/* Images: formats, orientation, colour, limits, pyramid and DeepZoom tiles.
 * Every input is made here at run time with libvips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "loupe/media/deepzoom.h"
#include "loupe/media/image.h"
#include "media_fixture.h"

static lp_media_limits limits(void) { return fx_limits(64, 256); }

/* w × h sRGB image: left half red, right half blue. */
static VipsImage *halves(int w, int h)
{
    VipsImage *x = NULL, *mask = NULL, *out = NULL;
    double red[3] = {255, 0, 0}, blue[3] = {0, 0, 255};
    assert_int_equal(vips_xyz(&x, w, h, NULL), 0);
    VipsImage *xb = NULL;
    assert_int_equal(vips_extract_band(x, &xb, 0, NULL), 0);
    assert_int_equal(vips_less_const1(xb, &mask, w / 2.0, NULL), 0);
    VipsImage *r = NULL, *b = NULL;
    VipsImage *black = NULL;
    assert_int_equal(vips_black(&black, w, h, "bands", 3, NULL), 0);
    assert_int_equal(vips_linear(black, &r, (double[]){1, 1, 1}, red, 3, "uchar", TRUE, NULL), 0);
    assert_int_equal(vips_linear(black, &b, (double[]){1, 1, 1}, blue, 3, "uchar", TRUE, NULL), 0);
    assert_int_equal(vips_ifthenelse(mask, r, b, &out, NULL), 0);
    out->Type = VIPS_INTERPRETATION_sRGB;
    g_object_unref(x);
    g_object_unref(xb);
    g_object_unref(mask);
    g_object_unref(r);
    g_object_unref(b);
    g_object_unref(black);
    return out;
}

/* A smooth 3-band gradient (x, y, x+y), 8-bit. */
static VipsImage *gradient(int w, int h)
{
    VipsImage *xy = NULL, *x = NULL, *y = NULL, *s = NULL, *j = NULL, *u = NULL;
    assert_int_equal(vips_xyz(&xy, w, h, NULL), 0);
    assert_int_equal(vips_extract_band(xy, &x, 0, NULL), 0);
    assert_int_equal(vips_extract_band(xy, &y, 1, NULL), 0);
    assert_int_equal(vips_add(x, y, &s, NULL), 0);
    VipsImage *bands[3] = {x, y, s};
    assert_int_equal(vips_bandjoin(bands, &j, 3, NULL), 0);
    /* scale into 0..255 */
    double k[3] = {255.0 / w, 255.0 / h, 255.0 / (w + h)}, z[3] = {0, 0, 0};
    assert_int_equal(vips_linear(j, &u, k, z, 3, "uchar", TRUE, NULL), 0);
    u->Type = VIPS_INTERPRETATION_sRGB;
    g_object_unref(xy);
    g_object_unref(x);
    g_object_unref(y);
    g_object_unref(s);
    g_object_unref(j);
    return u;
}

static VipsImage *load(const char *path)
{
    VipsImage *img = vips_image_new_from_file(path, NULL);
    assert_non_null(img);
    return img;
}

static void pixel(VipsImage *img, int x, int y, double out[4])
{
    double *v = NULL;
    int n = 0;
    assert_int_equal(vips_getpoint(img, &v, &n, x, y, NULL), 0);
    for (int i = 0; i < 4; i++)
        out[i] = i < n ? v[i] : 0;
    g_free(v);
}

static int setup(void **state)
{
    lp_error err;
    lp_error_clear(&err);
    if (lp_media_init("image_test", &err))
        return -1;
    fx_dir();
    return 0;
}

static int teardown(void **state)
{
    fx_cleanup();
    return 0;
}

static void test_jpeg_orientation_6(void **state)
{
    const char *in = fx_path("orient6.jpg");
    VipsImage *img = halves(60, 40), *tagged = NULL;
    assert_int_equal(vips_copy(img, &tagged, NULL), 0);
    vips_image_set_int(tagged, VIPS_META_ORIENTATION, 6);
    assert_int_equal(vips_jpegsave(tagged, in, "strip", FALSE, NULL), 0);
    g_object_unref(tagged);
    g_object_unref(img);

    lp_media_limits l = limits();
    l.thumbnail_size = 32;
    lp_image_result res;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_image_process(in, fx_dir(), &l, LP_MEDIA_JPEG, &res, &err), 0);
    assert_string_equal(res.info.format, "jpeg");
    assert_int_equal(res.info.orientation, 6);
    assert_int_equal(res.info.rotation, 90);
    assert_int_equal(res.info.flipped, 0);
    assert_int_equal(res.info.stored_width, 60);
    assert_int_equal(res.info.width, 40);
    assert_int_equal(res.info.height, 60);
    assert_int_equal(res.preview_width, 40);
    assert_int_equal(res.preview_height, 60);
    assert_true(res.thumbnail_height == 32 && res.thumbnail_width <= 22 && res.thumbnail_width >= 21);
    assert_int_equal(res.has_pyramid, 0);
    assert_string_equal(res.files.pyramid, "");

    /* Turned 90° clockwise: the red left half is now on top. */
    VipsImage *prev = load(res.files.preview);
    assert_int_equal(prev->Xsize, 40);
    assert_int_equal(prev->Ysize, 60);
    double top[4], bottom[4];
    pixel(prev, 20, 5, top);
    pixel(prev, 20, 55, bottom);
    assert_true(top[0] > 200 && top[2] < 60);
    assert_true(bottom[2] > 200 && bottom[0] < 60);
    assert_int_equal(vips_image_get_orientation(prev), 1);
    g_object_unref(prev);
}

static void test_png16_to_srgb8(void **state)
{
    const char *in = fx_path("deep.png");
    VipsImage *black = NULL, *lin = NULL;
    assert_int_equal(vips_black(&black, 32, 16, "bands", 3, NULL), 0);
    assert_int_equal(vips_linear(black, &lin, (double[]){1, 1, 1}, (double[]){65535, 32768, 0}, 3, NULL), 0);
    VipsImage *u16 = NULL;
    assert_int_equal(vips_cast_ushort(lin, &u16, NULL), 0);
    u16->Type = VIPS_INTERPRETATION_RGB16;
    assert_int_equal(vips_pngsave(u16, in, "bitdepth", 16, NULL), 0);
    g_object_unref(black);
    g_object_unref(lin);
    g_object_unref(u16);

    lp_media_limits l = limits();
    lp_image_result res;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_image_process(in, fx_dir(), &l, LP_MEDIA_WEBP, &res, &err), 0);
    assert_string_equal(res.info.format, "png");
    assert_int_equal(res.info.bits, 16);
    assert_string_equal(res.info.interpretation, "rgb16");
    assert_int_equal(res.info.bands, 3);
    assert_non_null(strstr(res.files.preview, "preview.webp"));
    VipsImage *prev = load(res.files.preview);
    assert_int_equal(prev->BandFmt, VIPS_FORMAT_UCHAR);
    assert_int_equal(prev->Bands, 3);
    double v[4];
    pixel(prev, 3, 3, v);
    assert_true(v[0] > 250 && v[1] > 120 && v[1] < 136 && v[2] < 5);
    g_object_unref(prev);
}

static void test_cmyk_jpeg(void **state)
{
    const char *in = fx_path("cmyk.jpg");
    VipsImage *img = halves(48, 32), *cmyk = NULL;
    assert_int_equal(vips_icc_transform(img, &cmyk, "cmyk", "input_profile", "srgb", NULL), 0);
    assert_int_equal(cmyk->Type, VIPS_INTERPRETATION_CMYK);
    assert_int_equal(vips_jpegsave(cmyk, in, NULL), 0);
    g_object_unref(cmyk);
    g_object_unref(img);

    lp_media_limits l = limits();
    lp_image_result res;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_image_process(in, fx_dir(), &l, LP_MEDIA_JPEG, &res, &err), 0);
    assert_string_equal(res.info.interpretation, "cmyk");
    assert_int_equal(res.info.bands, 4);
    VipsImage *prev = load(res.files.preview);
    assert_int_equal(prev->Bands, 3);
    assert_int_equal(prev->Type, VIPS_INTERPRETATION_sRGB);
    double left[4], right[4];
    pixel(prev, 5, 16, left);
    pixel(prev, 42, 16, right);
    assert_true(left[0] > 180 && left[2] < 90);  /* still red */
    assert_true(right[2] > 120 && right[0] < 60); /* still blue (as far as CMYK can hold it) */
    g_object_unref(prev);
}

static void test_alpha_flattened_for_jpeg(void **state)
{
    const char *in = fx_path("alpha.png");
    VipsImage *img = halves(20, 20), *alpha = NULL, *rgba = NULL;
    assert_int_equal(vips_black(&alpha, 20, 20, NULL), 0); /* fully transparent */
    VipsImage *a8 = NULL;
    assert_int_equal(vips_cast_uchar(alpha, &a8, NULL), 0);
    assert_int_equal(vips_bandjoin2(img, a8, &rgba, NULL), 0);
    rgba->Type = VIPS_INTERPRETATION_sRGB;
    assert_int_equal(vips_pngsave(rgba, in, NULL), 0);
    g_object_unref(img);
    g_object_unref(alpha);
    g_object_unref(a8);
    g_object_unref(rgba);

    lp_media_limits l = limits();
    lp_image_result res;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_image_process(in, fx_dir(), &l, LP_MEDIA_JPEG, &res, &err), 0);
    assert_int_equal(res.info.has_alpha, 1);
    VipsImage *prev = load(res.files.preview);
    assert_int_equal(prev->Bands, 3);
    double v[4];
    pixel(prev, 2, 2, v);
    assert_true(v[0] > 245 && v[1] > 245 && v[2] > 245); /* transparent → white */
    g_object_unref(prev);
}

static void test_pyramid_and_tiles(void **state)
{
    const char *in = fx_path("big.png");
    char out_dir[1024];
    snprintf(out_dir, sizeof out_dir, "%s", fx_path("big"));
    assert_int_equal(fx_sh("mkdir -p '%s'", out_dir), 0);
    VipsImage *img = gradient(1000, 700);
    assert_int_equal(vips_pngsave(img, in, NULL), 0);

    lp_media_limits l = limits();
    l.image_pyramid_pixels = 500000; /* 1000 × 700 = 700000 */
    lp_image_result res;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_image_process(in, out_dir, &l, LP_MEDIA_JPEG, &res, &err), 0);
    assert_int_equal(res.has_pyramid, 1);
    assert_int_equal(res.preview_width, 256);
    assert_int_equal(res.preview_height, 179);

    size_t len = 0;
    char *dzi = fx_read(res.files.dzi, &len);
    assert_non_null(dzi);
    assert_non_null(strstr(dzi, "TileSize=\"254\""));
    assert_non_null(strstr(dzi, "Overlap=\"1\""));
    assert_non_null(strstr(dzi, "Format=\"jpg\""));
    assert_non_null(strstr(dzi, "<Size Width=\"1000\" Height=\"700\"/>"));
    free(dzi);

    VipsImage *pyr = NULL;
    assert_int_equal(vips_tiffload(res.files.pyramid, &pyr, NULL), 0);
    assert_int_equal(pyr->Xsize, 1000);
    assert_true(vips_image_get_n_pages(pyr) >= 2);
    g_object_unref(pyr);

    /* Level 10 is full size: 4 × 3 tiles; the last is 239 × 193. */
    struct { int level; int64_t col, row; int w, h; int sx, sy, scale; } cases[] = {
        {10, 0, 0, 255, 255, 0, 0, 1},
        {10, 1, 1, 256, 256, 253, 253, 1},
        {10, 3, 2, 239, 193, 761, 507, 1},
        {9, 1, 0, 247, 255, 253, 0, 2},  /* 500 × 350 */
        {8, 0, 0, 250, 175, 0, 0, 4},    /* one tile, smaller than any TIFF page */
        {0, 0, 0, 1, 1, 0, 0, 1024},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lp_media_blob tile = {0};
        assert_int_equal(lp_deepzoom_tile(res.files.pyramid, cases[i].level, cases[i].col, cases[i].row,
                                          LP_MEDIA_JPEG, &tile, &err), 0);
        assert_true(tile.len > 2 && ((unsigned char *)tile.data)[0] == 0xFF && ((unsigned char *)tile.data)[1] == 0xD8);
        VipsImage *t = vips_image_new_from_buffer(tile.data, tile.len, "", NULL);
        assert_non_null(t);
        assert_int_equal(t->Xsize, cases[i].w);
        assert_int_equal(t->Ysize, cases[i].h);
        if (cases[i].scale <= 2) { /* compare with the source, scaled the same */
            VipsImage *ref = NULL, *crop = NULL;
            if (cases[i].scale == 1) {
                assert_int_equal(vips_crop(img, &ref, cases[i].sx, cases[i].sy, cases[i].w, cases[i].h, NULL), 0);
            } else {
                assert_int_equal(vips_crop(img, &crop, cases[i].sx * 2, cases[i].sy * 2, cases[i].w * 2,
                                           cases[i].h * 2, NULL), 0);
                assert_int_equal(vips_shrink(crop, &ref, 2, 2, NULL), 0);
                g_object_unref(crop);
            }
            double d = 0;
            VipsImage *diff = NULL, *absd = NULL;
            assert_int_equal(vips_subtract(t, ref, &diff, NULL), 0);
            assert_int_equal(vips_abs(diff, &absd, NULL), 0);
            assert_int_equal(vips_avg(absd, &d, NULL), 0);
            assert_true(d < 4.0);
            g_object_unref(diff);
            g_object_unref(absd);
            g_object_unref(ref);
        }
        g_object_unref(t);
        lp_media_blob_free(&tile);
    }
    g_object_unref(img);

    lp_media_blob tile = {0};
    assert_int_equal(lp_deepzoom_tile(res.files.pyramid, 10, 4, 0, LP_MEDIA_WEBP, &tile, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);
    assert_non_null(strstr(err.message, "4×3 tiles"));
    lp_error_clear(&err);
    assert_int_equal(lp_deepzoom_tile(res.files.pyramid, 11, 0, 0, LP_MEDIA_WEBP, &tile, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);
    assert_non_null(strstr(err.message, "0 to 10"));
    lp_error_clear(&err);
    assert_int_equal(lp_deepzoom_tile(res.files.pyramid, 7, 0, 0, LP_MEDIA_WEBP, &tile, &err), 0);
    assert_memory_equal((char *)tile.data + 8, "WEBP", 4);
    lp_media_blob_free(&tile);
    lp_error_clear(&err);
    assert_int_equal(lp_deepzoom_tile(in, 1, 0, 0, LP_MEDIA_JPEG, &tile, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
}

static void test_deepzoom_levels(void **state)
{
    int64_t w, h, c, r;
    assert_int_equal(lp_deepzoom_max_level(1, 1), 0);
    assert_int_equal(lp_deepzoom_max_level(2, 1), 1);
    assert_int_equal(lp_deepzoom_max_level(1024, 10), 10);
    assert_int_equal(lp_deepzoom_max_level(1025, 10), 11);
    assert_int_equal(lp_deepzoom_level_size(1000, 700, 10, &w, &h, &c, &r), 0);
    assert_true(w == 1000 && h == 700 && c == 4 && r == 3);
    assert_int_equal(lp_deepzoom_level_size(1000, 700, 5, &w, &h, &c, &r), 0);
    assert_true(w == 32 && h == 22 && c == 1 && r == 1);
    assert_int_equal(lp_deepzoom_level_size(1000, 700, 11, &w, &h, &c, &r), -1);
    assert_int_equal(lp_deepzoom_level_size(1000, 700, -1, &w, &h, &c, &r), -1);
    assert_int_equal(lp_deepzoom_level_size(0, 700, 0, &w, &h, &c, &r), -1);
    char small[16];
    assert_int_equal(lp_deepzoom_dzi_xml(10, 10, LP_MEDIA_JPEG, small, sizeof small), -1);
}

/* A PNG whose IHDR declares w × h, with a correct CRC and a token IDAT. */
static void write_png_header(const char *path, uint32_t w, uint32_t h)
{
    unsigned char png[128];
    size_t n = 0;
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(png, sig, 8);
    n = 8;
    unsigned char ihdr[17] = {'I', 'H', 'D', 'R', (unsigned char)(w >> 24), (unsigned char)(w >> 16),
                              (unsigned char)(w >> 8), (unsigned char)w, (unsigned char)(h >> 24),
                              (unsigned char)(h >> 16), (unsigned char)(h >> 8), (unsigned char)h,
                              8, 2, 0, 0, 0};
    static const unsigned char len13[4] = {0, 0, 0, 13};
    memcpy(png + n, len13, 4);
    n += 4;
    memcpy(png + n, ihdr, 17);
    n += 17;
    uint32_t crc = fx_crc32(ihdr, 17);
    unsigned char c[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16), (unsigned char)(crc >> 8),
                          (unsigned char)crc};
    memcpy(png + n, c, 4);
    n += 4;
    /* IDAT holding an empty zlib stream, then IEND. */
    unsigned char idat[4 + 8] = {'I', 'D', 'A', 'T', 0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
    static const unsigned char len8[4] = {0, 0, 0, 8};
    memcpy(png + n, len8, 4);
    n += 4;
    memcpy(png + n, idat, sizeof idat);
    n += sizeof idat;
    crc = fx_crc32(idat, sizeof idat);
    unsigned char c2[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16), (unsigned char)(crc >> 8),
                           (unsigned char)crc};
    memcpy(png + n, c2, 4);
    n += 4;
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    memcpy(png + n, iend, 12);
    n += 12;
    assert_int_equal(fx_write(path, png, n), 0);
}

static void test_decompression_bomb_refused(void **state)
{
    const char *in = fx_path("bomb.png");
    write_png_header(in, 100000, 100000);
    lp_media_limits l = limits();
    lp_image_info info;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_image_probe(in, &l, &info, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    assert_string_equal(err.message,
                        "PNG is 100000×100000 pixels; the limit is 1000000000 pixels (image_max_pixels)");
    /* The same header under a generous limit is accepted: only the size was at fault. */
    l.image_max_pixels = 100000000000LL;
    lp_error_clear(&err);
    assert_int_equal(lp_image_probe(in, &l, &info, &err), 0);
    assert_int_equal(info.width, 100000);
}

static void test_bad_files(void **state)
{
    lp_media_limits l = limits();
    lp_image_result res;
    lp_error err;

    const char *empty = fx_path("empty.jpg");
    assert_int_equal(fx_write(empty, "", 0), 0);
    lp_error_clear(&err);
    assert_int_equal(lp_image_process(empty, fx_dir(), &l, LP_MEDIA_JPEG, &res, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_non_null(strstr(err.message, "is empty (0 bytes)"));

    const char *text = fx_path("notes.jpg");
    const char words[] = "these are not the pixels you are looking for\n";
    assert_int_equal(fx_write(text, words, sizeof words - 1), 0);
    lp_error_clear(&err);
    assert_int_equal(lp_image_process(text, fx_dir(), &l, LP_MEDIA_JPEG, &res, &err), -1);
    assert_int_equal(err.code, LP_E_MEDIA_TYPE);
    assert_non_null(strstr(err.message, "not a supported image format"));

    const char *svg = fx_path("drawing.png"); /* an SVG, whatever its name says */
    const char svg_text[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>\n";
    assert_int_equal(fx_write(svg, svg_text, sizeof svg_text - 1), 0);
    lp_error_clear(&err);
    assert_int_equal(lp_image_probe(svg, &l, &res.info, &err), -1);
    assert_int_equal(err.code, LP_E_MEDIA_TYPE);
    assert_non_null(strstr(err.message, "detected: svgload"));

    const char *missing = fx_path("missing.jpg");
    lp_error_clear(&err);
    assert_int_equal(lp_image_probe(missing, &l, &res.info, &err), -1);
    assert_int_equal(err.code, LP_E_IO);

    /* A JPEG cut in half: the header is fine, decoding must fail. */
    const char *whole = fx_path("whole.jpg"), *cut = fx_path("cut.jpg");
    VipsImage *img = gradient(200, 200);
    assert_int_equal(vips_jpegsave(img, whole, NULL), 0);
    g_object_unref(img);
    size_t len = 0;
    char *bytes = fx_read(whole, &len);
    assert_non_null(bytes);
    assert_int_equal(fx_write(cut, bytes, len / 2), 0);
    free(bytes);
    lp_error_clear(&err);
    assert_int_equal(lp_image_probe(cut, &l, &res.info, &err), 0);
    lp_error_clear(&err);
    assert_int_equal(lp_image_process(cut, fx_dir(), &l, LP_MEDIA_JPEG, &res, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_non_null(strstr(err.message, "cut.jpg"));
}

/* The pixels a model runs on: upright (EXIF 6 turned), shrunk to max_side, as a PPM whose header
 * reads back; pixel data that starts with white-space bytes is not taken for header. */
static void test_pixels_for_models(void **state)
{
    const char *in = fx_path("pixels6.jpg");
    VipsImage *img = halves(60, 40), *tagged = NULL;
    assert_int_equal(vips_copy(img, &tagged, NULL), 0);
    vips_image_set_int(tagged, VIPS_META_ORIENTATION, 6);
    assert_int_equal(vips_jpegsave(tagged, in, "strip", FALSE, NULL), 0);
    g_object_unref(tagged);
    g_object_unref(img);

    lp_media_limits l = limits();
    lp_media_blob ppm = {0};
    lp_error err;
    int w = 0, h = 0;
    size_t off = 0;
    lp_error_clear(&err);
    assert_int_equal(lp_image_pixels(in, &l, 30, NULL, &ppm, &err), 0);
    assert_int_equal(lp_image_ppm_parse(ppm.data, ppm.len, &w, &h, &off, &err), 0);
    assert_int_equal(w, 20);
    assert_int_equal(h, 30);
    const uint8_t *px = (const uint8_t *)ppm.data + off;
    assert_true(px[(2 * 20 + 10) * 3] > 200 && px[(2 * 20 + 10) * 3 + 2] < 60);  /* red on top */
    assert_true(px[(27 * 20 + 10) * 3 + 2] > 200 && px[(27 * 20 + 10) * 3] < 60); /* blue below */
    lp_media_blob_free(&ppm);

    /* a 2 × 1 image whose first bytes are '\n' and ' ' */
    const char grey[] = "P6\n2 1\n255\n\n \t\x01\x02\x03";
    assert_int_equal(lp_image_ppm_parse(grey, sizeof grey - 1, &w, &h, &off, &err), 0);
    assert_true(w == 2 && h == 1 && off == 11);
    assert_int_equal(lp_image_ppm_parse(grey, sizeof grey - 2, &w, &h, &off, &err), -1); /* one byte short */
    assert_int_equal(err.code, LP_E_INVALID);
    assert_int_equal(lp_image_ppm_parse("P5\n2 1\n255\n", 11, &w, &h, &off, &err), -1);

    /* decoded no larger than a model's input box needs: 40 × 60 upright into 10 × 10 (contain:
     * longest side 10) or 10 × 5 (cover: both sides at least the box's) */
    lp_image_fit box = {10, 10, 0};
    assert_int_equal(lp_image_pixels(in, &l, 30, &box, &ppm, &err), 0);
    assert_int_equal(lp_image_ppm_parse(ppm.data, ppm.len, &w, &h, &off, &err), 0);
    assert_int_equal(h, 10);
    assert_true(w >= 6 && w <= 7);
    px = (const uint8_t *)ppm.data + off;
    assert_true(px[(1 * w + w / 2) * 3] > 200);     /* still red on top */
    assert_true(px[(8 * w + w / 2) * 3 + 2] > 200); /* and blue below */
    lp_media_blob_free(&ppm);
    lp_image_fit wide = {10, 5, 1};
    assert_int_equal(lp_image_pixels(in, &l, 0, &wide, &ppm, &err), 0);
    assert_int_equal(lp_image_ppm_parse(ppm.data, ppm.len, &w, &h, &off, &err), 0);
    assert_true(w >= 10 && h >= 5 && h == 15);
    lp_media_blob_free(&ppm);
}

/* An ICC profile of colour space space with one description tag (type "desc" or "mluc") saying text:
 * its length. */
static size_t icc_profile(unsigned char *p, const char *space, const char *type, const char *text)
{
    size_t n = strlen(text), at = 144, size;
    memset(p, 0, 512);
    memcpy(p + 16, space, 4);
    p[131] = 1; /* one tag */
    memcpy(p + 132, "desc", 4);
    p[139] = (unsigned char)at;
    memcpy(p + at, type, 4);
    if (strcmp(type, "desc") == 0) { /* v2: ASCII count, then the text */
        p[at + 11] = (unsigned char)n;
        memcpy(p + at + 12, text, n);
        size = 12 + n;
    } else { /* v4: one record of 12 bytes at 16, the UTF-16BE text at 28 */
        p[at + 11] = 1;
        p[at + 15] = 12;
        p[at + 23] = (unsigned char)(2 * n);
        p[at + 27] = 28;
        for (size_t i = 0; i < n; i++)
            p[at + 28 + 2 * i + 1] = (unsigned char)text[i];
        size = 28 + 2 * n;
    }
    p[143] = (unsigned char)size;
    return at + size;
}

/* sRGB profiles are known by their description, in either version; others, and broken ones, are not. */
static void test_icc_is_srgb(void **state)
{
    unsigned char p[512];
    size_t n;
    (void)state;
    n = icc_profile(p, "RGB ", "desc", "sRGB IEC61966-2.1");
    assert_int_equal(lp_icc_is_srgb(p, n), 1);
    assert_int_equal(lp_icc_is_srgb(p, n - 10), 0); /* the text cut off: not read past the end */
    assert_int_equal(lp_icc_is_srgb(p, 100), 0);
    n = icc_profile(p, "RGB ", "mluc", "sRGB built-in");
    assert_int_equal(lp_icc_is_srgb(p, n), 1);
    n = icc_profile(p, "RGB ", "desc", "Display P3");
    assert_int_equal(lp_icc_is_srgb(p, n), 0);
    n = icc_profile(p, "RGB ", "mluc", "Adobe RGB (1998)");
    assert_int_equal(lp_icc_is_srgb(p, n), 0);
    n = icc_profile(p, "CMYK", "desc", "sRGB");
    assert_int_equal(lp_icc_is_srgb(p, n), 0);
    assert_int_equal(lp_icc_is_srgb(NULL, 0), 0);
}

/* The longest side an image is decoded at for a model: its own, max_side, and what the box needs. */
static void test_fit_side(void **state)
{
    (void)state;
    lp_image_fit square = {128, 128, 0}, cover = {128, 128, 1}, stretch = {300, 100, 1};
    assert_int_equal(lp_image_fit_side(480, 480, 2048, NULL), 480);   /* as it is */
    assert_int_equal(lp_image_fit_side(4000, 3000, 2048, NULL), 2048); /* max_side */
    assert_int_equal(lp_image_fit_side(4000, 3000, 2048, &square), 128);
    assert_int_equal(lp_image_fit_side(480, 480, 0, &square), 128);
    assert_int_equal(lp_image_fit_side(100, 50, 2048, &square), 100);  /* never enlarged */
    assert_int_equal(lp_image_fit_side(4000, 2000, 2048, &cover), 256); /* the short side reaches 128 */
    assert_int_equal(lp_image_fit_side(4000, 2000, 0, &stretch), 300);  /* width 300 (height 150 >= 100) */
    assert_int_equal(lp_image_fit_side(1000, 3000, 0, &stretch), 900);  /* width 300 needs 3000 × 0.3 */
    assert_int_equal(lp_image_fit_side(3, 3, 0, &(lp_image_fit){1, 1, 0}), 1);
}

static void test_formats(void **state)
{
    assert_string_equal(lp_media_format_name(LP_MEDIA_WEBP), "webp");
    assert_string_equal(lp_media_format_suffix(LP_MEDIA_JPEG), "jpg");
    assert_string_equal(lp_media_format_mime(LP_MEDIA_JPEG), "image/jpeg");
    lp_media_format f;
    assert_int_equal(lp_media_format_parse("JPG", &f), 0);
    assert_int_equal(f, LP_MEDIA_JPEG);
    assert_int_equal(lp_media_format_parse("webp", &f), 0);
    assert_int_equal(f, LP_MEDIA_WEBP);
    assert_int_equal(lp_media_format_parse("gif", &f), -1);

    /* Other allow-listed formats are sniffed by content. */
    const char *names[] = {"a.tif", "a.gif", "a.webp"};
    const char *formats[] = {"tiff", "gif", "webp"};
    for (int i = 0; i < 3; i++) {
        VipsImage *img = halves(30, 20);
        char path[1024];
        snprintf(path, sizeof path, "%s", fx_path(names[i]));
        assert_int_equal(vips_image_write_to_file(img, path, NULL), 0);
        g_object_unref(img);
        char renamed[1100];
        snprintf(renamed, sizeof renamed, "%s.upload", path);
        assert_int_equal(rename(path, renamed), 0);
        lp_media_limits l = limits();
        lp_image_info info;
        lp_error err;
        lp_error_clear(&err);
        assert_int_equal(lp_image_probe(renamed, &l, &info, &err), 0);
        assert_string_equal(info.format, formats[i]);
        assert_int_equal(info.width, 30);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_fit_side),
        cmocka_unit_test(test_icc_is_srgb),
        cmocka_unit_test(test_jpeg_orientation_6),
        cmocka_unit_test(test_pixels_for_models),
        cmocka_unit_test(test_png16_to_srgb8),
        cmocka_unit_test(test_cmyk_jpeg),
        cmocka_unit_test(test_alpha_flattened_for_jpeg),
        cmocka_unit_test(test_deepzoom_levels),
        cmocka_unit_test(test_pyramid_and_tiles),
        cmocka_unit_test(test_decompression_bomb_refused),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
