/* DeepZoom tiles cut on request from a pyramidal TIFF (lp_image_process).
 *
 * Level numbering follows DeepZoom: level L of an image W × H is
 * ceil(W / 2^(M-L)) × ceil(H / 2^(M-L)) with M = ceil(log2(max(W, H))), so
 * level 0 is 1 × 1 and level M is full size. Tiles are LP_DZ_TILE_SIZE (254)
 * pixels with LP_DZ_OVERLAP (1) pixel overlap on each inner edge, so no tile
 * is larger than 256 × 256 — OpenSeadragon's default layout.
 *
 * A tile is made from the smallest pyramid page at least as detailed as its
 * level: only the TIFF tiles under the requested region are decoded. */
#ifndef LOUPE_MEDIA_DEEPZOOM_H
#define LOUPE_MEDIA_DEEPZOOM_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/media/media.h"

#define LP_DZ_TILE_SIZE 254
#define LP_DZ_OVERLAP 1

/* Highest level M of an image (0 for a 1 × 1 image). */
int lp_deepzoom_max_level(int64_t width, int64_t height);

/* Size of level (0..M) and its number of tile columns and rows. Returns -1
 * if level is out of range or the size is not positive. */
int lp_deepzoom_level_size(int64_t width, int64_t height, int level, int64_t *level_w, int64_t *level_h,
                           int64_t *cols, int64_t *rows);

/* Writes the .dzi XML of an image into out (capacity cap, NUL-terminated).
 * Returns the length, or -1 if cap is too small. */
int lp_deepzoom_dzi_xml(int64_t width, int64_t height, lp_media_format fmt, char *out, size_t cap);

/* Writes the .dzi XML to path (replaced). Returns 0, or -1 with err set. */
int lp_deepzoom_write_dzi(const char *path, int64_t width, int64_t height, lp_media_format fmt, lp_error *err);

/* Encodes tile (col, row) of level from the pyramid at pyramid_path
 * (borrowed) as fmt into out (new; free with lp_media_blob_free).
 * Errors: LP_E_NOT_FOUND for a level or tile outside the image (the message
 * says the valid range), LP_E_IO / LP_E_INVALID when the pyramid cannot be
 * read. lp_media_init must have been called. */
int lp_deepzoom_tile(const char *pyramid_path, int level, int64_t col, int64_t row, lp_media_format fmt,
                     lp_media_blob *out, lp_error *err);

#endif
