/* The volume area: NIfTI header checks, reading and writing, orientation to
 * RAS+, slices of each plane, windows and metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/volume/meta.h"
#include "loupe/volume/orient.h"
#include "loupe/volume/slice.h"
#include "loupe/volume/volume.h"
#include "loupe/volume/window.h"
#include "test_skip.h"

static const lp_volume_limits limits = {.max_voxels = 1 << 24, .max_side = 4096};
static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/volume_test.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path(const char *name)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* A 5 × 4 × 3 int16 volume stored L→R reversed, P→A reversed and with its
 * second and third axes swapped (axis codes "LSP"), anisotropic spacing,
 * voxel value = 100·i + 10·j + k. */
static lp_volume *lsp_volume(void)
{
    lp_error err;
    lp_error_clear(&err);
    lp_volume *v = lp_volume_new((int64_t[3]){5, 4, 3}, LP_VOLUME_I16, &err);
    assert_non_null(v);
    double a[4][4] = {{-0.5, 0, 0, 10}, {0, 0, -3.0, 20}, {0, 2.0, 0, -30}, {0, 0, 0, 1}};
    memcpy(v->affine, a, sizeof a);
    memcpy(v->original_affine, a, sizeof a);
    v->pixdim[0] = 0.5, v->pixdim[1] = 2.0, v->pixdim[2] = 3.0;
    int16_t *s = v->voxels;
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 4; j++)
            for (int i = 0; i < 5; i++)
                s[i + 5 * (j + 4 * k)] = (int16_t)(100 * i + 10 * j + k);
    snprintf(v->modality, sizeof v->modality, "CT");
    return v;
}

static void world(const double a[4][4], double i, double j, double k, double out[3])
{
    for (int r = 0; r < 3; r++)
        out[r] = a[r][0] * i + a[r][1] * j + a[r][2] * k + a[r][3];
}

static void test_axcodes(void **state)
{
    (void)state;
    lp_volume *v = lsp_volume();
    char codes[4];
    assert_int_equal(lp_volume_axcodes(v->affine, codes), 0);
    assert_string_equal(codes, "LSP");
    double oblique[4][4] = {{0.9, 0.3, 0, 0}, {-0.3, 0.9, 0, 0}, {0, 0, -2.5, 0}, {0, 0, 0, 1}};
    assert_int_equal(lp_volume_axcodes(oblique, codes), 0);
    assert_string_equal(codes, "RAI");
    double flat[4][4] = {{1, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    assert_int_equal(lp_volume_axcodes(flat, codes), -1);
    lp_volume_free(v);
}

/* Every voxel keeps its value and its patient coordinate through to_ras. */
static void test_to_ras_keeps_positions(void **state)
{
    (void)state;
    lp_volume *v = lsp_volume();
    double before[4][4];
    memcpy(before, v->affine, sizeof before);
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_volume_to_ras(v, &err), 0);
    char codes[4];
    lp_volume_axcodes(v->affine, codes);
    assert_string_equal(codes, "RAS");
    assert_int_equal(v->dim[0], 5);
    assert_int_equal(v->dim[1], 3);
    assert_int_equal(v->dim[2], 4);
    assert_true(fabs(v->pixdim[1] - 3.0) < 1e-9 && fabs(v->pixdim[2] - 2.0) < 1e-9);
    assert_memory_equal(v->original_affine, before, sizeof before);
    for (int k = 0; k < v->dim[2]; k++)
        for (int j = 0; j < v->dim[1]; j++)
            for (int i = 0; i < v->dim[0]; i++) {
                int value = (int)lp_volume_at(v, i, j, k);
                int oi = value / 100, oj = value / 10 % 10, ok = value % 10;
                double a[3], b[3];
                world(v->affine, i, j, k, a);
                world(before, oi, oj, ok, b);
                for (int r = 0; r < 3; r++)
                    assert_true(fabs(a[r] - b[r]) < 1e-9);
            }
    lp_volume_free(v);
}

/* Flips alone (LPI: no axis changes place) are done in place; every voxel
 * still keeps its value and patient coordinate, odd and even sizes alike. */
static void flips_in_place(const double before[4][4])
{
    int64_t dim[3] = {5, 4, 3};
    lp_error err;
    lp_error_clear(&err);
    lp_volume *v = lp_volume_new(dim, LP_VOLUME_I16, &err);
    assert_non_null(v);
    memcpy(v->affine, before, sizeof v->affine);
    int16_t *s = v->voxels;
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 4; j++)
            for (int i = 0; i < 5; i++)
                s[i + 5 * (j + 4 * k)] = (int16_t)(100 * i + 10 * j + k);
    void *same = v->voxels;
    assert_int_equal(lp_volume_to_ras(v, &err), 0);
    assert_ptr_equal(v->voxels, same);
    char codes[4];
    lp_volume_axcodes(v->affine, codes);
    assert_string_equal(codes, "RAS");
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 4; j++)
            for (int i = 0; i < 5; i++) {
                int value = (int)lp_volume_at(v, i, j, k);
                double a[3], b[3];
                world(v->affine, i, j, k, a);
                world(before, value / 100, value / 10 % 10, value % 10, b);
                for (int r = 0; r < 3; r++)
                    assert_true(fabs(a[r] - b[r]) < 1e-9);
            }
    lp_volume_free(v);
}

static void test_to_ras_flips_in_place(void **state)
{
    (void)state;
    const double lpi[4][4] = {{-1, 0, 0, 7}, {0, -2, 0, 8}, {0, 0, -3, 9}, {0, 0, 0, 1}};
    const double las[4][4] = {{-1, 0, 0, 7}, {0, 2, 0, 8}, {0, 0, 3, 9}, {0, 0, 0, 1}}; /* x alone: each row reversed */
    const double rps[4][4] = {{1, 0, 0, 7}, {0, -2, 0, 8}, {0, 0, 3, 9}, {0, 0, 0, 1}};  /* y alone: rows swapped */
    flips_in_place(lpi);
    flips_in_place(las);
    flips_in_place(rps);
}

static void test_nifti_round_trip(void **state)
{
    (void)state;
    const char *names[] = {"v.nii", "v.nii.gz", "v9.nii.gz"};
    const int levels[] = {0, 1, 9};
    for (int n = 0; n < 3; n++) {
        lp_volume *v = lsp_volume();
        lp_error err;
        lp_error_clear(&err);
        char p[128];
        snprintf(p, sizeof p, "%s", path(names[n]));
        assert_int_equal(lp_volume_write_nifti(v, p, levels[n], &err), 0);
        FILE *f = fopen(p, "rb");
        assert_non_null(f);
        int magic = fgetc(f);
        fclose(f);
        assert_int_equal(magic == 0x1f, levels[n] > 0); /* gzip exactly when asked */
        lp_volume *r = lp_volume_read_nifti(p, &limits, &err);
        assert_non_null(r);
        assert_int_equal(r->type, LP_VOLUME_I16);
        assert_memory_equal(r->dim, v->dim, sizeof v->dim);
        assert_memory_equal(r->voxels, v->voxels, (size_t)lp_volume_count(v) * 2);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                assert_true(fabs(r->affine[i][j] - v->affine[i][j]) < 1e-5);
        lp_volume_free(r);
        lp_volume_free(v);
    }
}

static void put16(const char *p, long at, int16_t value)
{
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, at, SEEK_SET), 0);
    assert_int_equal(fwrite(&value, 2, 1, f), 1);
    fclose(f);
}

static void putf(const char *p, long at, float value)
{
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, at, SEEK_SET), 0);
    assert_int_equal(fwrite(&value, 4, 1, f), 1);
    fclose(f);
}

/* int16 samples with an integer rescale (a CT's intercept of -1024) stay int16, scaled; a
 * fractional one makes float32; both give the scaled values. */
static void test_nifti_scaled(void **state)
{
    (void)state;
    const float inters[] = {-1024, 0.5f};
    for (int t = 0; t < 2; t++) {
        lp_volume *v = lsp_volume();
        lp_error err;
        lp_error_clear(&err);
        const char *p = path("scaled.nii");
        assert_int_equal(lp_volume_write_nifti(v, p, 0, &err), 0);
        putf(p, 112, 1);         /* scl_slope */
        putf(p, 116, inters[t]); /* scl_inter */
        lp_volume *r = lp_volume_read_nifti(p, &limits, &err);
        assert_non_null(r);
        assert_int_equal(r->type, t == 0 ? LP_VOLUME_I16 : LP_VOLUME_F32);
        for (int64_t k = 0; k < v->dim[2]; k++)
            for (int64_t j = 0; j < v->dim[1]; j++)
                for (int64_t i = 0; i < v->dim[0]; i++)
                    assert_true(lp_volume_at(r, i, j, k) == lp_volume_at(v, i, j, k) + inters[t]);
        lp_volume_free(r);
        lp_volume_free(v);
    }
}

/* Huge declared dimensions are refused from the header, before any data is read. */
static void test_limits_and_truncation(void **state)
{
    (void)state;
    lp_volume *v = lsp_volume();
    lp_error err;
    lp_error_clear(&err);
    char p[128];
    snprintf(p, sizeof p, "%s", path("big.nii"));
    assert_int_equal(lp_volume_write_nifti(v, p, 0, &err), 0);
    put16(p, 42, 30000);
    put16(p, 44, 30000);
    assert_null(lp_volume_read_nifti(p, &limits, &err));
    assert_int_equal(err.code, LP_E_INVALID);
    assert_string_equal(err.fields[0].field, "header.dim");
    assert_non_null(strstr(err.fields[0].message, "over the limit"));

    snprintf(p, sizeof p, "%s", path("cut.nii"));
    assert_int_equal(lp_volume_write_nifti(v, p, 0, &err), 0);
    assert_int_equal(truncate(p, 352 + 20), 0);
    lp_error_clear(&err);
    assert_null(lp_volume_read_nifti(p, &limits, &err));
    assert_int_equal(err.code, LP_E_INVALID);
    assert_non_null(strstr(err.message, "ends before"));

    FILE *f = fopen(path("text.nii"), "w");
    fputs("not a volume at all", f);
    fclose(f);
    lp_error_clear(&err);
    assert_null(lp_volume_read_nifti(path("text.nii"), &limits, &err));
    assert_int_equal(err.code, LP_E_INVALID);
    lp_volume_free(v);
}

static void test_header_parse(void **state)
{
    (void)state;
    unsigned char h[352] = {0};
    int32_t size = 348;
    memcpy(h, &size, 4);
    int16_t dim[8] = {3, 4, 5, 6, 1, 1, 1, 1}, dt = 4, bits = 16;
    memcpy(h + 40, dim, sizeof dim);
    memcpy(h + 70, &dt, 2);
    memcpy(h + 72, &bits, 2);
    float off = 352;
    memcpy(h + 108, &off, 4);
    memcpy(h + 344, "n+1\0", 4);
    lp_volume_nifti_header out;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_volume_nifti_header_parse(h, sizeof h, &limits, &out, &err), 0);
    assert_int_equal(out.version, 1);
    assert_int_equal(out.dim[2], 6);
    assert_int_equal(out.volumes, 1);
    struct { long at; int16_t value; const char *field; } cases[] = {
        {40, 0, "header.dim"}, {46, -2, "header.dim"}, {70, 32, "header.datatype"}, {72, 8, "header.bitpix"}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        unsigned char b[352];
        memcpy(b, h, sizeof b);
        memcpy(b + cases[c].at, &cases[c].value, 2);
        lp_error_clear(&err);
        assert_int_equal(lp_volume_nifti_header_parse(b, sizeof b, &limits, &out, &err), -1);
        assert_string_equal(err.fields[0].field, cases[c].field);
    }
    unsigned char b[352];
    memcpy(b, h, sizeof b);
    memcpy(b + 344, "ni1\0", 4);
    lp_error_clear(&err);
    assert_int_equal(lp_volume_nifti_header_parse(b, sizeof b, &limits, &out, &err), -1);
    assert_string_equal(err.fields[0].field, "header.magic");
    lp_error_clear(&err);
    assert_int_equal(lp_volume_nifti_header_parse(h, 200, &limits, &out, &err), -1);
}

/* Points drawn on any plane: to voxel and patient space and back, on every
 * plane; the pixel a voxel's point falls in is the pixel slice.h puts it on;
 * a rectangle painted on a coronal slice lands on the axial slices it
 * crosses (one row of each) and cuts back to itself. */
static void test_plane_conversions(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    lp_volume *v = lsp_volume();
    assert_int_equal(lp_volume_to_ras(v, &err), 0); /* 5 × 3 × 4 in RAS+ */
    const double pts[][3] = {{0, 0, 0}, {4, 2, 3}, {1.25, 0.5, 2.75}, {3, 1, 0}};
    for (size_t n = 0; n < sizeof pts / sizeof pts[0]; n++)
        for (int p = 0; p < 3; p++) {
            double index, x, y, back[3], xyz[3], again[3];
            lp_volume_voxel_to_plane(v, (lp_volume_plane)p, pts[n], &index, &x, &y);
            lp_volume_plane_to_voxel(v, (lp_volume_plane)p, index, x, y, back);
            for (int c = 0; c < 3; c++)
                assert_true(fabs(back[c] - pts[n][c]) < 1e-12);
            int64_t si, col, row;
            if (pts[n][0] == floor(pts[n][0]) && pts[n][1] == floor(pts[n][1]) && pts[n][2] == floor(pts[n][2])) {
                lp_volume_plane_pixel(v, (lp_volume_plane)p, (int64_t)pts[n][0], (int64_t)pts[n][1], (int64_t)pts[n][2],
                                      &si, &col, &row);
                assert_int_equal((int64_t)index, si);
                assert_int_equal((int64_t)floor(x), col); /* the voxel's centre lies inside its pixel */
                assert_int_equal((int64_t)floor(y), row);
            }
            lp_volume_voxel_to_world(v, pts[n], xyz);
            assert_int_equal(lp_volume_world_to_voxel(v, xyz, again), 0);
            for (int c = 0; c < 3; c++)
                assert_true(fabs(again[c] - pts[n][c]) < 1e-9);
        }
    /* the patient point of voxel (2, 1, 3) is where the original file's affine puts that voxel */
    double ijk[3] = {2, 1, 3}, xyz[3], orig[3];
    lp_volume_voxel_to_world(v, ijk, xyz);
    assert_int_equal(lp_volume_at(v, 2, 1, 3), 100 * (4 - 2) + 10 * 3 + (2 - 1)); /* as lsp_volume stores it */
    world(v->original_affine, 4 - 2, 3, 2 - 1, orig);
    for (int c = 0; c < 3; c++)
        assert_true(fabs(xyz[c] - orig[c]) < 1e-9);

    /* a rectangle on coronal slice j = 1: columns 1..3, rows 0..1 (k = 3, 2) */
    int64_t nx = v->dim[0], ny = v->dim[1], nz = v->dim[2];
    uint8_t *labels = calloc((size_t)(nx * ny * nz), 1), img[5 * 4] = {0}, cut[5 * 4], axial[5 * 3];
    assert_non_null(labels);
    for (int r = 0; r < 2; r++)
        for (int c = 1; c <= 3; c++)
            img[r * nx + c] = 7;
    assert_int_equal(lp_volume_labels_paint(v, labels, LP_PLANE_CORONAL, 1, img, &err), 0);
    assert_int_equal(lp_volume_labels_cut(v, labels, LP_PLANE_CORONAL, 1, cut, &err), 0);
    assert_memory_equal(cut, img, sizeof img);
    for (int64_t k = 0; k < nz; k++) {
        assert_int_equal(lp_volume_labels_cut(v, labels, LP_PLANE_AXIAL, k, axial, &err), 0);
        for (int64_t y = 0; y < ny; y++)
            for (int64_t x = 0; x < nx; x++) /* axial row ny-1-j = 1 holds it, on slices 2 and 3 */
                assert_int_equal(axial[y * nx + x], k >= 2 && y == ny - 1 - 1 && x >= 1 && x <= 3 ? 7 : 0);
    }
    assert_int_equal(lp_volume_labels_cut(v, labels, LP_PLANE_SAGITTAL, nx, cut, &err), -1);
    assert_string_equal(err.fields[0].field, "index");
    free(labels);
    lp_volume_free(v);
}

/* A marked voxel lands where slice.h says on each plane, and nowhere else. */
static void test_slices(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    lp_volume *v = lp_volume_new((int64_t[3]){6, 5, 4}, LP_VOLUME_I16, &err);
    int64_t mi = 4, mj = 1, mk = 2;
    ((int16_t *)v->voxels)[mi + 6 * (mj + 5 * mk)] = 1000;
    lp_volume_window w = {"test", 500, 1000};
    for (int p = 0; p < 3; p++) {
        int64_t width, height, count, index, col, row;
        lp_volume_plane_size(v, (lp_volume_plane)p, &width, &height, &count);
        lp_volume_plane_pixel(v, (lp_volume_plane)p, mi, mj, mk, &index, &col, &row);
        uint8_t *img = malloc((size_t)(width * height));
        assert_int_equal(lp_volume_slice(v, (lp_volume_plane)p, index, &w, img, &err), 0);
        for (int64_t y = 0; y < height; y++)
            for (int64_t x = 0; x < width; x++)
                assert_int_equal(img[y * width + x], x == col && y == row ? 255 : 0);
        assert_int_equal(lp_volume_slice(v, (lp_volume_plane)p, count, &w, img, &err), -1);
        assert_string_equal(err.fields[0].field, "index");
        lp_error_clear(&err);
        free(img);
    }
    int64_t index, col, row;
    lp_volume_plane_pixel(v, LP_PLANE_AXIAL, mi, mj, mk, &index, &col, &row);
    assert_true(index == 2 && col == 4 && row == 3); /* anterior at the top */
    lp_volume_plane_pixel(v, LP_PLANE_SAGITTAL, mi, mj, mk, &index, &col, &row);
    assert_true(index == 4 && col == 1 && row == 1); /* superior at the top */
    lp_volume_plane plane;
    assert_int_equal(lp_volume_plane_parse("Coronal", &plane), 0);
    assert_int_equal(plane, LP_PLANE_CORONAL);
    assert_int_equal(lp_volume_plane_parse("oblique", &plane), -1);
    lp_volume_free(v);
}

/* The int16 histogram (a count per value) gives the bins of the general loop (float samples). */
static void test_histogram_int16_as_float(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    int64_t dim[3] = {37, 11, 5};
    lp_volume *a = lp_volume_new(dim, LP_VOLUME_I16, &err), *b = lp_volume_new(dim, LP_VOLUME_F32, &err);
    assert_non_null(a);
    assert_non_null(b);
    uint32_t x = 12345;
    for (int64_t i = 0; i < lp_volume_count(a); i++) {
        x = x * 1103515245u + 12345u;
        int16_t v = (int16_t)((int)(x >> 16) % 3001 - 1024);
        ((int16_t *)a->voxels)[i] = v;
        ((float *)b->voxels)[i] = v;
    }
    ((int16_t *)a->voxels)[7] = INT16_MIN, ((float *)b->voxels)[7] = INT16_MIN;
    lp_volume_histogram ha, hb;
    lp_volume_histogram_compute(a, &ha);
    lp_volume_histogram_compute(b, &hb);
    assert_true(ha.min == hb.min && ha.max == hb.max && ha.min == INT16_MIN);
    assert_memory_equal(ha.counts, hb.counts, sizeof ha.counts);
    lp_volume_free(a);
    lp_volume_free(b);
}

static void test_windows_and_metadata(void **state)
{
    (void)state;
    lp_volume *v = lsp_volume();
    lp_volume_histogram h;
    lp_volume_histogram_compute(v, &h);
    uint64_t total = 0;
    for (int b = 0; b < LP_VOLUME_HIST_BINS; b++)
        total += h.counts[b];
    assert_int_equal(total, 60);
    assert_true(h.min == 0 && h.max == 432);
    lp_volume_window declared = {"WINDOW1", 50, 350}, presets[LP_VOLUME_MAX_WINDOWS], w;
    int n = lp_volume_presets(v, &h, &declared, 1, presets);
    assert_int_equal(n, 7);
    assert_string_equal(presets[0].name, "WINDOW1");
    assert_string_equal(presets[2].name, "lung");
    assert_string_equal(presets[6].name, "full");
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_volume_window_parse("bone", presets, n, &w, &err), 0);
    assert_true(w.center == 400 && w.width == 1800);
    assert_int_equal(lp_volume_window_parse("-50.5,300", presets, n, &w, &err), 0);
    assert_true(w.center == -50.5 && w.width == 300);
    assert_int_equal(lp_volume_window_parse(NULL, presets, n, &w, &err), 0);
    assert_string_equal(w.name, "WINDOW1");
    const char *bad[] = {"40,0", "40,", "x", "40,400,1", "nan,3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lp_error_clear(&err);
        assert_int_equal(lp_volume_window_parse(bad[i], presets, n, &w, &err), -1);
        assert_string_equal(err.fields[0].field, "window");
    }
    assert_int_equal(lp_volume_window_apply(&w, -1e9), 0);
    assert_int_equal(lp_volume_window_apply(&w, 1e9), 255);

    json_t *meta = lp_volume_metadata(v, "volume", presets, n, &h);
    assert_non_null(meta);
    assert_string_equal(json_string_value(json_object_get(meta, "primary_plane")), "AXIAL");
    assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "plane_map"), "volume")), "AXIAL");
    assert_string_equal(json_string_value(json_object_get(meta, "orientation")), "LSP");
    assert_int_equal(json_array_size(json_object_get(meta, "affine")), 4);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(meta, "shape"), 2)), 3);
    lp_volume_window back[LP_VOLUME_MAX_WINDOWS];
    assert_int_equal(lp_volume_metadata_windows(meta, back), n);
    assert_string_equal(back[2].name, "lung");
    json_decref(meta);
    lp_volume_free(v);
}

/* Real files: nibabel's test data, when the package is there. */
/* The sum of v's samples, and v at (i, j, k). */
static double volume_sum(const lp_volume *v)
{
    double sum = 0;
    for (int64_t k = 0; k < v->dim[2]; k++)
        for (int64_t j = 0; j < v->dim[1]; j++)
            for (int64_t i = 0; i < v->dim[0]; i++)
                sum += lp_volume_at(v, i, j, k);
    return sum;
}

/* nibabel's own test files, against the values nibabel reads from them
 * (get_fdata): a big-endian int16 .nii, a little-endian 4D .nii with a
 * float scaling (its first volume, as float32) and a 4D .nii.gz. */
static void test_nibabel_files(void **state)
{
    (void)state;
    const char *d = getenv("LOUPE_NIBABEL_DATA");
    char p[512];
    d = d && *d ? d : "/usr/lib/python3/dist-packages/nibabel/tests/data";
    snprintf(p, sizeof p, "%s/anatomical.nii", d);
    if (access(p, R_OK) != 0)
        LP_TEST_SKIP("nibabel's test data is not installed (python3-nibabel)");
    lp_error err;
    lp_error_clear(&err);
    lp_volume *v = lp_volume_read_nifti(p, &limits, &err);
    assert_non_null(v);
    assert_int_equal(v->type, LP_VOLUME_I16);
    assert_true(v->dim[0] == 33 && v->dim[1] == 41 && v->dim[2] == 25);
    assert_float_equal(lp_volume_at(v, 10, 20, 12), 10872.0, 0);
    assert_float_equal(lp_volume_at(v, 32, 40, 24), 2971.0, 0);
    assert_float_equal(volume_sum(v), 284166082.0, 0);
    assert_int_equal(lp_volume_to_ras(v, &err), 0);
    lp_volume_free(v);

    snprintf(p, sizeof p, "%s/functional.nii", d);
    v = lp_volume_read_nifti(p, &limits, &err);
    assert_non_null(v);
    assert_int_equal(v->type, LP_VOLUME_F32);
    assert_true(v->dim[0] == 17 && v->dim[1] == 21 && v->dim[2] == 3);
    assert_float_equal(lp_volume_at(v, 5, 7, 1), 3839.674604, 1e-3);
    assert_float_equal(lp_volume_at(v, 16, 20, 2), 3142.838807, 1e-3);
    assert_float_equal(volume_sum(v), 3883746.552330, 0.5);
    lp_volume_free(v);

    snprintf(p, sizeof p, "%s/example4d.nii.gz", d);
    v = lp_volume_read_nifti(p, &limits, &err);
    assert_non_null(v); /* the first of its volumes */
    assert_true(v->dim[0] == 128 && v->dim[1] == 96 && v->dim[2] == 24);
    assert_float_equal(lp_volume_at(v, 50, 60, 10), 437.0, 0);
    assert_float_equal(volume_sum(v), 50994397.0, 0);
    lp_volume_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_axcodes),
        cmocka_unit_test(test_to_ras_keeps_positions),
        cmocka_unit_test(test_to_ras_flips_in_place),
        cmocka_unit_test(test_histogram_int16_as_float),
        cmocka_unit_test(test_nifti_scaled),
        cmocka_unit_test(test_nifti_round_trip),
        cmocka_unit_test(test_limits_and_truncation),
        cmocka_unit_test(test_header_parse),
        cmocka_unit_test(test_slices),
        cmocka_unit_test(test_plane_conversions),
        cmocka_unit_test(test_windows_and_metadata),
        cmocka_unit_test(test_nibabel_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
