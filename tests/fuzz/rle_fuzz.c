/* libFuzzer target: arbitrary bytes decoded as a compressed COCO RLE string
 * and as a Darwin dense RLE. Whatever decodes must re-encode to the same
 * pixels; nothing may read or write out of bounds.
 *
 * Input: byte 0 and 1 choose width and height (1..64), the rest is the
 * COCO string; the same rest read as little-endian 16-bit signed values is
 * the dense RLE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/geometry/rle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SIDE 64
#define MAX_PIXELS (MAX_SIDE * MAX_SIDE)

static void fuzz_coco(lp_arena *a, const char *s, size_t len, uint32_t w, uint32_t h)
{
    lp_error err;
    lp_error_clear(&err);
    lp_geom_rle r, again, parsed;
    uint8_t mask[MAX_PIXELS], mask2[MAX_PIXELS];
    if (lp_geom_rle_from_coco_string(s, len, w, h, MAX_PIXELS, a, &r, &err) < 0) {
        if (err.code == LP_OK)
            abort(); /* a failure always says why */
        return;
    }
    if (lp_geom_rle_decode(&r, MAX_PIXELS, mask, sizeof mask, &err) < 0)
        abort(); /* the parser accepted it, so it is a valid RLE */
    lp_geom_bbox box;
    if (lp_geom_rle_bbox(&r, MAX_PIXELS, &box, &err) < 0 || lp_geom_rle_area(&r) > (uint64_t)w * h)
        abort();
    if (lp_geom_rle_encode(mask, w, h, 1, LP_GEOM_RLE_COLUMN_MAJOR, MAX_PIXELS, a, &again, &err) < 0)
        abort();
    size_t n;
    char *text = lp_geom_rle_to_coco_string(&again, a, &n, &err);
    if (!text || lp_geom_rle_from_coco_string(text, n, w, h, MAX_PIXELS, a, &parsed, &err) < 0)
        abort();
    if (lp_geom_rle_decode(&parsed, MAX_PIXELS, mask2, sizeof mask2, &err) < 0)
        abort();
    if (memcmp(mask, mask2, (size_t)w * h) != 0)
        abort();
}

static void fuzz_dense(lp_arena *a, const uint8_t *p, size_t len, uint32_t w, uint32_t h)
{
    size_t n = len / 2;
    int64_t *values = malloc((n ? n : 1) * sizeof *values);
    if (!values)
        return;
    for (size_t i = 0; i < n; i++)
        values[i] = (int16_t)(uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
    lp_error err;
    lp_error_clear(&err);
    uint8_t labels[MAX_PIXELS], labels2[MAX_PIXELS];
    if (lp_geom_dense_rle_decode(values, n, w, h, MAX_PIXELS, labels, sizeof labels, &err) == 0) {
        uint32_t *enc;
        size_t nenc;
        if (lp_geom_dense_rle_encode(labels, w, h, MAX_PIXELS, a, &enc, &nenc, &err) < 0)
            abort();
        int64_t *back = malloc((nenc ? nenc : 1) * sizeof *back);
        if (!back)
            abort();
        for (size_t i = 0; i < nenc; i++)
            back[i] = enc[i];
        if (lp_geom_dense_rle_decode(back, nenc, w, h, MAX_PIXELS, labels2, sizeof labels2, &err) < 0 ||
            memcmp(labels, labels2, (size_t)w * h) != 0)
            abort();
        free(back);
    } else if (err.code == LP_OK) {
        abort();
    }
    free(values);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t w = 1 + data[0] % MAX_SIDE, h = 1 + data[1] % MAX_SIDE;
    lp_arena *a = lp_arena_new(0, 16u << 20);
    if (!a)
        return 0;
    fuzz_coco(a, (const char *)data + 2, size - 2, w, h);
    lp_arena_reset(a);
    fuzz_dense(a, data + 2, size - 2, w, h);
    lp_arena_free(a);
    return 0;
}
