/* DICOM files: parsing and its refusals, de-identification (no patient
 * attribute survives, UIDs replaced consistently, the result reads back),
 * series checks and ordering along the slice normal. Files are built here
 * element by element. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/volume/dicom.h"

static const lp_volume_limits limits = {.max_voxels = 1 << 24, .max_side = 512};
static const uint8_t key[LP_DICOM_KEY_LEN] = {7, 7, 7};

typedef struct file {
    uint8_t b[8192];
    size_t n;
    int implicit;
} file;

static void put(file *f, const void *p, size_t n)
{
    assert_true(f->n + n <= sizeof f->b);
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void el(file *f, uint16_t g, uint16_t e, const char *vr, const void *v, size_t n)
{
    uint8_t h[12] = {(uint8_t)g, (uint8_t)(g >> 8), (uint8_t)e, (uint8_t)(e >> 8)};
    size_t pn = n + (n & 1);
    int implicit = f->implicit && g != 2;
    int lng = !strcmp(vr, "OW") || !strcmp(vr, "OB") || !strcmp(vr, "SQ");
    if (implicit) {
        for (int i = 0; i < 4; i++)
            h[4 + i] = (uint8_t)(pn >> (8 * i));
        put(f, h, 8);
    } else if (lng) {
        h[4] = (uint8_t)vr[0], h[5] = (uint8_t)vr[1];
        for (int i = 0; i < 4; i++)
            h[8 + i] = (uint8_t)(pn >> (8 * i));
        put(f, h, 12);
    } else {
        h[4] = (uint8_t)vr[0], h[5] = (uint8_t)vr[1], h[6] = (uint8_t)pn, h[7] = (uint8_t)(pn >> 8);
        put(f, h, 8);
    }
    put(f, v, n);
    if (n & 1)
        put(f, !strcmp(vr, "UI") ? "\0" : " ", 1);
}

static void str(file *f, uint16_t g, uint16_t e, const char *vr, const char *s)
{
    el(f, g, e, vr, s, strlen(s));
}

static void us(file *f, uint16_t g, uint16_t e, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    el(f, g, e, "US", b, 2);
}

typedef struct spec {
    const char *syntax, *series, *orientation, *photometric;
    const char *number; /* Series Number; NULL: none */
    double z;
    int rows, cols, pixel_bytes;
    const char *tilt;
} spec;

/* A 4×3 16-bit CT slice at z (axial) with a patient name and id. */
static void make(file *f, spec s)
{
    uint8_t px[256] = {0};
    char pos[64];
    memset(f, 0, sizeof *f);
    put(f, (uint8_t[128]){0}, 128);
    put(f, "DICM", 4);
    str(f, 2, 0x10, "UI", s.syntax ? s.syntax : "1.2.840.10008.1.2.1");
    f->implicit = s.syntax && !strcmp(s.syntax, "1.2.840.10008.1.2");
    str(f, 8, 0x18, "UI", "1.2.3.4.5");
    str(f, 8, 0x60, "CS", "CT");
    str(f, 0x10, 0x10, "PN", "DOE^JANE");
    str(f, 0x10, 0x20, "LO", "PID-123456");
    if (s.tilt)
        str(f, 0x18, 0x1120, "DS", s.tilt);
    str(f, 0x20, 0x0D, "UI", "1.2.3.9");
    str(f, 0x20, 0x0E, "UI", s.series ? s.series : "1.2.3.10");
    if (s.number)
        str(f, 0x20, 0x11, "IS", s.number);
    snprintf(pos, sizeof pos, "-10\\20\\%g", s.z);
    str(f, 0x20, 0x32, "DS", pos);
    str(f, 0x20, 0x37, "DS", s.orientation ? s.orientation : "1\\0\\0\\0\\1\\0");
    us(f, 0x28, 2, 1);
    str(f, 0x28, 4, "CS", s.photometric ? s.photometric : "MONOCHROME2");
    us(f, 0x28, 0x10, (uint16_t)(s.rows ? s.rows : 3));
    us(f, 0x28, 0x11, (uint16_t)(s.cols ? s.cols : 4));
    str(f, 0x28, 0x30, "DS", "0.5\\0.75");
    us(f, 0x28, 0x100, 16);
    us(f, 0x28, 0x103, 1);
    str(f, 0x28, 0x1050, "DS", "40\\-600");
    str(f, 0x28, 0x1051, "DS", "400\\1500");
    el(f, 0x7FE0, 0x10, "OW", px, s.pixel_bytes ? (size_t)s.pixel_bytes : 24);
}

static void expect_refusal(const file *f, const char *words)
{
    lp_dicom_info info;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_dicom_parse(f->b, f->n, &limits, &info, &err), -1);
    if (!strstr(err.message, words))
        fail_msg("expected \"%s\" in: %s", words, err.message);
}

static void test_parse(void **state)
{
    (void)state;
    file f;
    lp_dicom_info info;
    lp_error err;
    lp_volume_window w[LP_DICOM_MAX_WINDOWS];
    for (int implicit = 0; implicit < 2; implicit++) {
        make(&f, (spec){.z = 7.5, .syntax = implicit ? "1.2.840.10008.1.2" : NULL});
        lp_error_clear(&err);
        assert_int_equal(lp_dicom_parse(f.b, f.n, &limits, &info, &err), 0);
        assert_int_equal(info.rows, 3);
        assert_int_equal(info.cols, 4);
        assert_string_equal(info.modality, "CT");
        assert_true(info.has_position && info.position[2] == 7.5 && info.position[0] == -10);
        assert_true(info.spacing[0] == 0.5 && info.spacing[1] == 0.75);
        assert_int_equal(lp_dicom_windows(&info, w), 2);
        assert_string_equal(w[1].name, "source_2");
        assert_true(w[1].center == -600 && w[1].width == 1500);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    file f;
    make(&f, (spec){.syntax = "1.2.840.10008.1.2.4.70"});
    expect_refusal(&f, "JPEG-family compression");
    make(&f, (spec){.syntax = "1.2.840.10008.1.2.5"});
    expect_refusal(&f, "RLE compression");
    make(&f, (spec){.photometric = "RGB"});
    expect_refusal(&f, "colour");
    make(&f, (spec){.pixel_bytes = 10});
    expect_refusal(&f, "shorter");
    make(&f, (spec){.rows = 600});
    expect_refusal(&f, "volume_max_side");
    make(&f, (spec){0});
    f.b[128] = 'X';
    expect_refusal(&f, "not a DICOM Part 10");
    /* every truncation is an error, never an over-read */
    make(&f, (spec){0});
    for (size_t n = 0; n < f.n; n++) {
        lp_dicom_info info;
        lp_error err;
        lp_error_clear(&err);
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, f.b, n);
        assert_int_equal(lp_dicom_parse(copy, n, &limits, &info, &err), -1);
        assert_int_not_equal(err.code, LP_OK);
        free(copy);
    }
}

static void test_deidentify(void **state)
{
    (void)state;
    file f;
    lp_buf a, b;
    lp_dicom_info info;
    lp_error err;
    size_t at = 0;
    lp_error_clear(&err);
    make(&f, (spec){.z = 3, .syntax = "1.2.840.10008.1.2"});
    lp_buf_init(&a, 1 << 20);
    lp_buf_init(&b, 1 << 20);
    assert_int_equal(lp_dicom_deidentify(f.b, f.n, key, 12, &a, &at, &err), 0);
    assert_int_equal(lp_dicom_deidentify(f.b, f.n, key, 12, &b, NULL, &err), 0);
    assert_true(a.len == b.len && memcmp(a.data, b.data, a.len) == 0); /* one key, one result */
    assert_null(memmem(a.data, a.len, "DOE", 3));
    assert_null(memmem(a.data, a.len, "PID-123456", 10));
    assert_null(memmem(a.data, a.len, "1.2.3.10", 8)); /* the series UID is replaced */
    assert_null(memmem(a.data, a.len, "1.2.3.4.5", 9));
    assert_non_null(memmem(a.data, a.len, "2.25.", 5));
    assert_memory_equal(a.data + at, "12        ", LP_DICOM_INSTANCE_WIDTH);
    assert_int_equal(lp_dicom_parse(a.data, a.len, &limits, &info, &err), 0);
    assert_string_equal(info.transfer_syntax, "1.2.840.10008.1.2.1");
    assert_true(info.position[2] == 3 && info.rows == 3 && info.cols == 4 && info.nwindows == 2);
    /* without its pixel data: the head, the pixels where they are in the file and the pad are the same copy */
    lp_dicom_tail tail;
    size_t at2 = 0;
    lp_buf_reset(&b);
    assert_int_equal(lp_dicom_deidentify_head(f.b, f.n, key, 12, &b, &at2, &tail, &err), 0);
    assert_true(tail.len > 0 && tail.offset + tail.len <= f.n);
    assert_int_equal(at2, at);
    assert_int_equal(b.len + tail.len + (tail.pad ? 1 : 0), a.len);
    assert_memory_equal(b.data, a.data, b.len);
    assert_memory_equal(a.data + b.len, f.b + tail.offset, tail.len);
    assert_false(lp_dicom_is_directory(f.b, f.n));
    /* another key: other UIDs */
    lp_buf_reset(&b);
    uint8_t other[LP_DICOM_KEY_LEN] = {9};
    assert_int_equal(lp_dicom_deidentify(f.b, f.n, other, 12, &b, NULL, &err), 0);
    assert_false(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    lp_buf_free(&a);
    lp_buf_free(&b);
}

/* A DICOMDIR is known by its Media Storage SOP Class, whatever its name. */
static void test_directory(void **state)
{
    (void)state;
    static const char uid[] = "1.2.840.10008.1.3.10"; /* 20 characters: no padding */
    static const uint8_t h[8] = {0x02, 0x00, 0x02, 0x00, 'U', 'I', 20, 0};
    uint8_t f[192] = {0};
    size_t n = 128;
    memcpy(f + n, "DICM", 4);
    n += 4;
    memcpy(f + n, h, sizeof h);
    n += sizeof h;
    memcpy(f + n, uid, 20);
    n += 20;
    assert_true(lp_dicom_is_directory(f, n));
    f[n - 1] = '1'; /* another class */
    assert_false(lp_dicom_is_directory(f, n));
    assert_false(lp_dicom_is_directory(f, n - 10)); /* cut inside the element */
    assert_false(lp_dicom_is_directory(f, 100));
}

static void parse_into(lp_dicom_info *info, spec s)
{
    file f;
    lp_error err;
    lp_error_clear(&err);
    make(&f, s);
    assert_int_equal(lp_dicom_parse(f.b, f.n, &limits, info, &err), 0);
}

static void expect_series(lp_dicom_info *files, size_t n, const char *words)
{
    size_t order[8];
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_dicom_series_order(files, n, order, &err), -1);
    if (!strstr(err.message, words))
        fail_msg("expected \"%s\" in: %s", words, err.message);
}

static void test_series(void **state)
{
    (void)state;
    lp_dicom_info f[4];
    size_t order[4];
    lp_error err;
    lp_error_clear(&err);
    /* files out of order; the normal of this orientation runs toward -z (rows run -y) */
    double zs[4] = {2, 8, 4, 6};
    for (int i = 0; i < 4; i++)
        parse_into(&f[i], (spec){.z = zs[i], .orientation = "1\\0\\0\\0\\-1\\0"});
    assert_int_equal(lp_dicom_series_order(f, 4, order, &err), 0);
    assert_int_equal(order[0], 1); /* z = 8 lies lowest along -z */
    assert_int_equal(order[1], 3);
    assert_int_equal(order[2], 2);
    assert_int_equal(order[3], 0);

    parse_into(&f[2], (spec){.z = 5});
    expect_series(f, 4, "mixes orientations");
    parse_into(&f[2], (spec){.z = 4, .series = "1.2.3.11", .orientation = "1\\0\\0\\0\\-1\\0"});
    expect_series(f, 4, "mix 2 DICOM series");
    parse_into(&f[2], (spec){.z = 12, .orientation = "1\\0\\0\\0\\-1\\0"});
    expect_series(f, 4, "missing");
    parse_into(&f[2], (spec){.z = 8, .orientation = "1\\0\\0\\0\\-1\\0"});
    expect_series(f, 4, "same position");
    parse_into(&f[2], (spec){.z = 4, .rows = 5, .pixel_bytes = 40, .orientation = "1\\0\\0\\0\\-1\\0"});
    expect_series(f, 4, "image size");
    parse_into(&f[2], (spec){.z = 4, .tilt = "12.5", .orientation = "1\\0\\0\\0\\-1\\0"});
    expect_series(f, 4, "gantry tilt");
    expect_series(f, 0, "no DICOM image");
}

/* Files grouped by Series Instance UID; series ranked by Series Number
 * (absent last), ties by first appearance; dicom_max_series enforced. */
static void test_series_group(void **state)
{
    (void)state;
    lp_dicom_info f[6];
    size_t group[6], n = 0;
    lp_error err;
    lp_error_clear(&err);
    parse_into(&f[0], (spec){.z = 1, .series = "1.2.3.20"});                /* no number: last */
    parse_into(&f[1], (spec){.z = 1, .series = "1.2.3.21", .number = "7"});
    parse_into(&f[2], (spec){.z = 2, .series = "1.2.3.20"});
    parse_into(&f[3], (spec){.z = 1, .series = "1.2.3.22", .number = "3"});
    parse_into(&f[4], (spec){.z = 1, .series = "1.2.3.23", .number = "7"}); /* ties 1.2.3.21: after it */
    parse_into(&f[5], (spec){.z = 2, .series = "1.2.3.21", .number = "7"});
    assert_int_equal(f[0].series_number, -1);
    assert_int_equal(f[1].series_number, 7);
    assert_int_equal(lp_dicom_series_group(f, 6, 16, group, &n, &err), 0);
    assert_int_equal(n, 4);
    size_t want[6] = {3, 1, 3, 0, 2, 1};
    for (int i = 0; i < 6; i++)
        assert_int_equal(group[i], want[i]);
    /* one series: every file in group 0 */
    assert_int_equal(lp_dicom_series_group(f + 1, 1, 1, group, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(group[0], 0);
    /* more series than allowed */
    assert_int_equal(lp_dicom_series_group(f, 6, 3, group, &n, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    if (!strstr(err.message, "more than 3 DICOM series (dicom_max_series)"))
        fail_msg("unexpected: %s", err.message);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_deidentify),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_series_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
