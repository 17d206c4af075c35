/* Run-length encodings: binary RLE in both orders, pycocotools' compressed
 * counts string, and Darwin's dense RLE of label maps. */
#include "loupe/geometry/rle.h"

#include <stdio.h>
#include <string.h>

/* width * height within max_pixels (and addressable). */
static int check_size(uint32_t width, uint32_t height, uint64_t max_pixels, lp_error *err)
{
    uint64_t pixels = (uint64_t)width * height;
    if (pixels > max_pixels || pixels > SIZE_MAX / 4) {
        lp_error_set(err, LP_E_TOO_LARGE, "A %ux%u mask is larger than the %llu pixels allowed.", width, height,
                     (unsigned long long)max_pixels);
        return lp_error_hint(err, "Split the image or raise image_max_pixels.");
    }
    return 0;
}

static int sum_mismatch(lp_error *err, const char *field, uint32_t width, uint32_t height)
{
    return lp_error_field(err, LP_E_INVALID, field, "run lengths must add up to %llu, the pixels of a %ux%u mask",
                          (unsigned long long)width * height, width, height);
}

int lp_geom_rle_check(const lp_geom_rle *r, uint64_t max_pixels, lp_error *err)
{
    if (check_size(r->width, r->height, max_pixels, err) < 0)
        return -1;
    uint64_t pixels = (uint64_t)r->width * r->height, sum = 0;
    for (size_t i = 0; i < r->ncounts; i++) {
        sum += r->counts[i];
        if (sum > pixels)
            break; /* and stop before the sum could wrap */
    }
    if (sum != pixels)
        return sum_mismatch(err, "counts", r->width, r->height);
    return 0;
}

int lp_geom_rle_from_ints(const int64_t *counts, size_t ncounts, uint32_t width, uint32_t height,
                          lp_geom_rle_order order, uint64_t max_pixels, lp_arena *a, lp_geom_rle *out,
                          lp_error *err)
{
    if (check_size(width, height, max_pixels, err) < 0)
        return -1;
    uint64_t pixels = (uint64_t)width * height, sum = 0;
    for (size_t i = 0; i < ncounts; i++) {
        if (counts[i] < 0 || counts[i] > (int64_t)UINT32_MAX) {
            char f[64];
            snprintf(f, sizeof f, "counts[%zu]", i);
            return lp_error_field(err, LP_E_INVALID, f, "must be between 0 and %u (got %lld)", UINT32_MAX,
                                  (long long)counts[i]);
        }
        sum += (uint64_t)counts[i];
        if (sum > pixels)
            return sum_mismatch(err, "counts", width, height);
    }
    if (sum != pixels)
        return sum_mismatch(err, "counts", width, height);
    uint32_t *c = lp_arena_alloc(a, (ncounts ? ncounts : 1) * sizeof *c);
    if (!c)
        return lp_error_set(err, LP_E_NOMEM, "Out of memory for %zu run lengths.", ncounts);
    for (size_t i = 0; i < ncounts; i++)
        c[i] = (uint32_t)counts[i];
    *out = (lp_geom_rle){width, height, order, c, ncounts};
    return 0;
}

/* Index into a row-major buffer of the k-th pixel visited in order. */
static inline size_t visit_index(size_t k, uint32_t width, uint32_t height, lp_geom_rle_order order)
{
    if (order == LP_GEOM_RLE_ROW_MAJOR)
        return k;
    return (k % height) * width + k / height;
}

int lp_geom_rle_encode(const uint8_t *mask, uint32_t width, uint32_t height, uint8_t label,
                       lp_geom_rle_order order, uint64_t max_pixels, lp_arena *a, lp_geom_rle *out,
                       lp_error *err)
{
    if (check_size(width, height, max_pixels, err) < 0)
        return -1;
    size_t pixels = (size_t)width * height;
    /* First pass counts the runs, second fills them. */
    size_t nruns = 1;
    int cur = 0;
    for (size_t k = 0; k < pixels; k++) {
        int on = mask[visit_index(k, width, height, order)] == label;
        if (on != cur) {
            nruns++;
            cur = on;
        }
    }
    uint32_t *c = lp_arena_calloc(a, nruns, sizeof *c);
    if (!c)
        return lp_error_set(err, LP_E_NOMEM, "Out of memory for the %zu runs of a %ux%u mask.", nruns, width,
                            height);
    size_t r = 0;
    cur = 0;
    for (size_t k = 0; k < pixels; k++) {
        int on = mask[visit_index(k, width, height, order)] == label;
        if (on != cur) {
            r++;
            cur = on;
        }
        c[r]++;
    }
    *out = (lp_geom_rle){width, height, order, c, nruns};
    return 0;
}

int lp_geom_rle_decode(const lp_geom_rle *r, uint64_t max_pixels, uint8_t *mask, size_t mask_len,
                       lp_error *err)
{
    if (lp_geom_rle_check(r, max_pixels, err) < 0)
        return -1;
    size_t pixels = (size_t)r->width * r->height;
    if (mask_len < pixels)
        return lp_error_set(err, LP_E_INTERNAL, "A %zu-byte buffer cannot hold a %ux%u mask.", mask_len, r->width,
                            r->height);
    if (r->order == LP_GEOM_RLE_ROW_MAJOR) {
        size_t k = 0;
        for (size_t i = 0; i < r->ncounts; i++) {
            memset(mask + k, (int)(i & 1), r->counts[i]);
            k += r->counts[i];
        }
        return 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->ncounts; i++) {
        uint8_t v = (uint8_t)(i & 1);
        for (uint32_t j = 0; j < r->counts[i]; j++, k++)
            mask[visit_index(k, r->width, r->height, r->order)] = v;
    }
    return 0;
}

uint64_t lp_geom_rle_area(const lp_geom_rle *r)
{
    uint64_t area = 0;
    for (size_t i = 1; i < r->ncounts; i += 2)
        area += r->counts[i];
    return area;
}

int lp_geom_rle_bbox(const lp_geom_rle *r, uint64_t max_pixels, lp_geom_bbox *out, lp_error *err)
{
    if (lp_geom_rle_check(r, max_pixels, err) < 0)
        return -1;
    /* Work in (major, minor) = (column, row) for column-major and (row,
     * column) for row-major; a run over several majors covers every minor. */
    uint64_t minor_len = r->order == LP_GEOM_RLE_COLUMN_MAJOR ? r->height : r->width;
    uint64_t maj_lo = UINT64_MAX, maj_hi = 0, min_lo = UINT64_MAX, min_hi = 0, k = 0;
    for (size_t i = 0; i < r->ncounts; k += r->counts[i], i++) {
        if (!(i & 1) || r->counts[i] == 0)
            continue;
        uint64_t first = k, last = k + r->counts[i] - 1;
        uint64_t ma0 = first / minor_len, ma1 = last / minor_len;
        uint64_t mi0 = first % minor_len, mi1 = last % minor_len;
        if (ma0 < maj_lo)
            maj_lo = ma0;
        if (ma1 > maj_hi)
            maj_hi = ma1;
        if (ma0 != ma1) {
            mi0 = 0;
            mi1 = minor_len - 1;
        }
        if (mi0 < min_lo)
            min_lo = mi0;
        if (mi1 > min_hi)
            min_hi = mi1;
    }
    if (maj_lo == UINT64_MAX) {
        *out = (lp_geom_bbox){0, 0, 0, 0};
        return 0;
    }
    double maj_x = (double)maj_lo, maj_w = (double)(maj_hi - maj_lo + 1);
    double min_x = (double)min_lo, min_w = (double)(min_hi - min_lo + 1);
    if (r->order == LP_GEOM_RLE_COLUMN_MAJOR)
        *out = (lp_geom_bbox){maj_x, min_x, maj_w, min_w};
    else
        *out = (lp_geom_bbox){min_x, maj_x, min_w, maj_w};
    return 0;
}

/* ---- pycocotools' compressed counts ---- */

/* Largest characters one value takes: |delta| < 2^33 needs 34 bits with the
 * sign, 7 groups of 5. */
#define COCO_MAX_CHARS_PER_COUNT 7
/* 13 groups make 65 bits: more cannot be a 64-bit value. */
#define COCO_MAX_GROUPS 12

char *lp_geom_rle_to_coco_string(const lp_geom_rle *r, lp_arena *a, size_t *len, lp_error *err)
{
    if (r->ncounts > (SIZE_MAX - 1) / COCO_MAX_CHARS_PER_COUNT) {
        lp_error_set(err, LP_E_TOO_LARGE, "%zu run lengths are too many to encode.", r->ncounts);
        return NULL;
    }
    char *s = lp_arena_alloc(a, r->ncounts * COCO_MAX_CHARS_PER_COUNT + 1);
    if (!s) {
        lp_error_set(err, LP_E_NOMEM, "Out of memory encoding %zu run lengths.", r->ncounts);
        return NULL;
    }
    size_t p = 0;
    for (size_t i = 0; i < r->ncounts; i++) {
        int64_t x = r->counts[i];
        if (i > 2) /* sic: pycocotools takes the delta from the 4th count on */
            x -= r->counts[i - 2];
        for (int more = 1; more;) {
            int c = (int)((uint64_t)x & 0x1f);
            x = x < 0 ? ~(~x >> 5) : x >> 5; /* floor(x / 32) without relying on signed shifts */
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more)
                c |= 0x20;
            s[p++] = (char)(c + 48);
        }
    }
    s[p] = '\0';
    if (len)
        *len = p;
    return s;
}

int lp_geom_rle_from_coco_string(const char *s, size_t len, uint32_t width, uint32_t height,
                                 uint64_t max_pixels, lp_arena *a, lp_geom_rle *out, lp_error *err)
{
    if (check_size(width, height, max_pixels, err) < 0)
        return -1;
    uint64_t pixels = (uint64_t)width * height, sum = 0;
    /* Every count takes at least one character, and a valid string of
     * pixels has at most 2 * pixels + 2 counts (zero runs included). */
    size_t cap = len;
    if ((uint64_t)cap > 2 * pixels + 2)
        cap = (size_t)(2 * pixels + 2);
    uint32_t *cnt = lp_arena_alloc(a, (cap ? cap : 1) * sizeof *cnt);
    if (!cnt)
        return lp_error_set(err, LP_E_NOMEM, "Out of memory decoding a %zu-character RLE string.", len);
    size_t m = 0, p = 0;
    char f[64];
    while (p < len) {
        snprintf(f, sizeof f, "counts[%zu]", m);
        if (m == cap)
            return lp_error_field(err, LP_E_INVALID, f, "more run lengths than a %ux%u mask can have", width,
                                  height);
        uint64_t x = 0;
        int k = 0, more = 1;
        while (more) {
            if (p == len)
                return lp_error_field(err, LP_E_INVALID, f, "the string ends inside a run length");
            unsigned char ch = (unsigned char)s[p];
            if (ch < 48 || ch > 111)
                return lp_error_field(err, LP_E_INVALID, f,
                                      "character %zu (0x%02x) is not a compressed RLE character ('0' to 'o')", p, ch);
            if (k > COCO_MAX_GROUPS)
                return lp_error_field(err, LP_E_INVALID, f, "run length is longer than 64 bits");
            unsigned c = ch - 48u;
            x |= (uint64_t)(c & 0x1f) << (5 * k);
            more = c & 0x20;
            p++;
            k++;
            if (!more && (c & 0x10) && 5 * k < 64)
                x |= ~(uint64_t)0 << (5 * k); /* sign extension */
        }
        int64_t v = (int64_t)x;
        if (m > 2) {
            if (v > INT64_MAX - (int64_t)cnt[m - 2])
                return lp_error_field(err, LP_E_INVALID, f, "run length overflows");
            v += cnt[m - 2];
        }
        if (v < 0 || v > (int64_t)UINT32_MAX)
            return lp_error_field(err, LP_E_INVALID, f, "decodes to %lld, outside 0..%u", (long long)v, UINT32_MAX);
        sum += (uint64_t)v;
        if (sum > pixels)
            return sum_mismatch(err, f, width, height);
        cnt[m++] = (uint32_t)v;
    }
    if (sum != pixels)
        return sum_mismatch(err, "counts", width, height);
    *out = (lp_geom_rle){width, height, LP_GEOM_RLE_COLUMN_MAJOR, cnt, m};
    return 0;
}

/* ---- Darwin dense RLE ---- */

int lp_geom_dense_rle_encode(const uint8_t *labels, uint32_t width, uint32_t height, uint64_t max_pixels,
                             lp_arena *a, uint32_t **values, size_t *nvalues, lp_error *err)
{
    if (check_size(width, height, max_pixels, err) < 0)
        return -1;
    size_t pixels = (size_t)width * height, nruns = 0;
    for (size_t k = 0; k < pixels; k++)
        if (k == 0 || labels[k] != labels[k - 1])
            nruns++;
    uint32_t *v = lp_arena_alloc(a, (nruns ? 2 * nruns : 1) * sizeof *v);
    if (!v)
        return lp_error_set(err, LP_E_NOMEM, "Out of memory for the %zu runs of a %ux%u label map.", nruns,
                            width, height);
    size_t r = 0;
    for (size_t k = 0; k < pixels; k++) {
        if (k == 0 || labels[k] != labels[k - 1]) {
            v[2 * r] = labels[k];
            v[2 * r + 1] = 0;
            r++;
        }
        v[2 * r - 1]++;
    }
    *values = v;
    *nvalues = 2 * nruns;
    return 0;
}

int lp_geom_dense_rle_decode(const int64_t *values, size_t nvalues, uint32_t width, uint32_t height,
                             uint64_t max_pixels, uint8_t *labels, size_t labels_len, lp_error *err)
{
    if (check_size(width, height, max_pixels, err) < 0)
        return -1;
    uint64_t pixels = (uint64_t)width * height, sum = 0;
    if (nvalues % 2)
        return lp_error_field(err, LP_E_INVALID, "dense_rle",
                              "must hold pairs of label and count (got %zu values)", nvalues);
    char f[64];
    for (size_t i = 0; i < nvalues; i += 2) {
        if (values[i] < 0 || values[i] > 255) {
            snprintf(f, sizeof f, "dense_rle[%zu]", i);
            return lp_error_field(err, LP_E_INVALID, f, "label must be between 0 and 255 (got %lld)",
                                  (long long)values[i]);
        }
        if (values[i + 1] < 0 || (uint64_t)values[i + 1] > pixels - sum) {
            snprintf(f, sizeof f, "dense_rle[%zu]", i + 1);
            if (values[i + 1] < 0)
                return lp_error_field(err, LP_E_INVALID, f, "count must be at least 0 (got %lld)",
                                      (long long)values[i + 1]);
            return sum_mismatch(err, f, width, height);
        }
        sum += (uint64_t)values[i + 1];
    }
    if (sum != pixels)
        return sum_mismatch(err, "dense_rle", width, height);
    if (labels_len < pixels)
        return lp_error_set(err, LP_E_INTERNAL, "A %zu-byte buffer cannot hold a %ux%u label map.", labels_len,
                            width, height);
    size_t k = 0;
    for (size_t i = 0; i < nvalues; i += 2) {
        memset(labels + k, (int)values[i], (size_t)values[i + 1]);
        k += (size_t)values[i + 1];
    }
    return 0;
}
