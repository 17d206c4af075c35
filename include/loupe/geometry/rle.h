/* Run-length encodings of masks, in the two layouts exports and imports meet:
 *
 * - Binary RLE (lp_geom_rle, shape.h): counts alternate background and
 *   foreground runs, starting with a background run. COCO walks the image
 *   column by column (LP_GEOM_RLE_COLUMN_MAJOR); its JSON holds the counts
 *   either as a list ("uncompressed RLE") or as pycocotools' compressed
 *   string. Row-major binary RLE is the same with rows.
 * - Dense RLE (Darwin's __raster_layer__.dense_rle): a flat list
 *   [value, count, value, count, ...] walking rows, values being the label of
 *   each pixel (0 = background, 1..255 = a mask annotation).
 *
 * Masks in memory are always row-major byte arrays: pixel (x,y) is
 * mask[y * width + x]; the order only says how runs walk them.
 *
 * Every decoder checks its input — counts non-negative and within 32 bits,
 * their sum equal to width * height, width * height within the caller's
 * max_pixels — and fails with an lp_error (LP_E_INVALID naming the field,
 * LP_E_TOO_LARGE for a size over a limit, LP_E_NOMEM when the arena is
 * exhausted) before writing anything out of bounds. Output arrays come from
 * the caller's arena (new, owned by the arena) or are caller-provided
 * buffers whose length is passed in and checked. */
#ifndef LOUPE_GEOMETRY_RLE_H
#define LOUPE_GEOMETRY_RLE_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/geometry/shape.h"

/* Checks a binary RLE: width * height <= max_pixels (LP_E_TOO_LARGE
 * otherwise) and counts summing exactly to width * height (LP_E_INVALID,
 * field "counts"). 0 or -1. */
int lp_geom_rle_check(const lp_geom_rle *r, uint64_t max_pixels, lp_error *err);

/* Builds a binary RLE from integers as parsed from JSON (COCO's
 * uncompressed "counts"). Each value must be 0..UINT32_MAX (field
 * "counts[i]") and the whole must pass lp_geom_rle_check. On success out
 * points to a new counts array in a. 0 or -1. */
int lp_geom_rle_from_ints(const int64_t *counts, size_t ncounts, uint32_t width, uint32_t height,
                          lp_geom_rle_order order, uint64_t max_pixels, lp_arena *a, lp_geom_rle *out,
                          lp_error *err);

/* Encodes the pixels of mask (row-major, width * height bytes, borrowed)
 * equal to label as a binary RLE walking in order. Pass label 1 for a 0/1
 * mask, or a raster-layer label to extract one annotation. out->counts is new
 * in a. Fails with LP_E_TOO_LARGE over max_pixels, LP_E_NOMEM. 0 or -1. */
int lp_geom_rle_encode(const uint8_t *mask, uint32_t width, uint32_t height, uint8_t label,
                       lp_geom_rle_order order, uint64_t max_pixels, lp_arena *a, lp_geom_rle *out,
                       lp_error *err);

/* Decodes r into mask (row-major, mask_len bytes, caller-owned): 1 for
 * foreground, 0 for background. Checks r first (lp_geom_rle_check) and that
 * mask_len >= width * height; nothing is written when a check fails. */
int lp_geom_rle_decode(const lp_geom_rle *r, uint64_t max_pixels, uint8_t *mask, size_t mask_len,
                       lp_error *err);

/* Foreground pixels of a checked RLE (sum of the odd-indexed counts). */
uint64_t lp_geom_rle_area(const lp_geom_rle *r);

/* Tightest box around the foreground of r, in whole pixels like
 * pycocotools' toBbox: x = first column, w = last column - first + 1.
 * {0,0,0,0} for an empty mask. Checks r first. 0 or -1. */
int lp_geom_rle_bbox(const lp_geom_rle *r, uint64_t max_pixels, lp_geom_bbox *out, lp_error *err);

/* pycocotools' compressed string of r's counts (rleToString: each count,
 * minus the count two before it from the fourth count on, in little-endian
 * groups of 5 bits plus a continuation bit, as characters '0'..'o').
 * The string is new in a, NUL-terminated; *len (may be NULL) gets its
 * length. NULL on LP_E_NOMEM. */
char *lp_geom_rle_to_coco_string(const lp_geom_rle *r, lp_arena *a, size_t *len, lp_error *err);

/* Parses a compressed COCO string (len bytes of s, no NUL needed) of a
 * width x height mask into a column-major binary RLE whose counts are new in
 * a. Rejects characters outside '0'..'o' ("counts[i]" names the value being
 * read), values needing more than 64 bits, counts outside 0..UINT32_MAX
 * after undoing the delta, and a sum other than width * height. 0 or -1. */
int lp_geom_rle_from_coco_string(const char *s, size_t len, uint32_t width, uint32_t height,
                                 uint64_t max_pixels, lp_arena *a, lp_geom_rle *out, lp_error *err);

/* Darwin dense RLE of a label map (row-major, width * height bytes,
 * borrowed): a new array in a of 2 * runs values [label, count, ...] of
 * maximal runs; *nvalues gets its length. 0 or -1. */
int lp_geom_dense_rle_encode(const uint8_t *labels, uint32_t width, uint32_t height, uint64_t max_pixels,
                             lp_arena *a, uint32_t **values, size_t *nvalues, lp_error *err);

/* Decodes a dense RLE as parsed from JSON into labels (row-major, labels_len
 * bytes, caller-owned). Checks: an even number of values ("dense_rle"),
 * labels 0..255 ("dense_rle[i]"), counts >= 0 ("dense_rle[i]"), the sum
 * equal to width * height, width * height within max_pixels and labels_len;
 * nothing is written when a check fails. 0 or -1. */
int lp_geom_dense_rle_decode(const int64_t *values, size_t nvalues, uint32_t width, uint32_t height,
                             uint64_t max_pixels, uint8_t *labels, size_t labels_len, lp_error *err);

#endif
