/* PNG out: 8-bit palette or RGB images, compressed row by row with zlib, so that a large image
 * never needs a second full-size copy. The bytes go into a buffer the caller owns and may drain
 * (write to a file, send) between rows; every chunk appended is complete.
 *
 *   lp_png *p = lp_png_begin(&buf, w, h, LP_PNG_RGB, NULL, 0, 1, err);
 *   for each row: lp_png_row(p, row, err)      (drain buf when it suits)
 *   lp_png_end(p, err); lp_png_free(p);
 */
#ifndef LOUPE_FORMATS_PNG_H
#define LOUPE_FORMATS_PNG_H

#include <stdint.h>

#include "loupe/core/buf.h"
#include "loupe/core/error.h"

typedef enum lp_png_color {
    LP_PNG_PALETTE = 3, /* one byte per pixel, an index into the palette */
    LP_PNG_RGB = 2,     /* three bytes per pixel */
} lp_png_color;

typedef struct lp_png lp_png;

/* Starts a PNG of width x height pixels (width 1..2^31/3, height 1..2^31-1) of the given colour type: appends the
 * signature, IHDR and, for LP_PNG_PALETTE, PLTE with npal (1..256) RGB triples from pal to out
 * (borrowed: it must outlive the writer). level is zlib's 1 (fast) .. 9 (small).
 * Returns a new writer (lp_png_free), or NULL with err set. */
lp_png *lp_png_begin(lp_buf *out, uint32_t width, uint32_t height, lp_png_color color, const uint8_t *pal, int npal,
                     int level, lp_error *err);

/* Compresses one row (width pixels, borrowed) and appends every IDAT chunk that filled up.
 * Rows come top to bottom, exactly height of them. 0, or -1 with err set. */
int lp_png_row(lp_png *p, const uint8_t *row, lp_error *err);

/* After the last row: appends the final IDAT and IEND. 0, or -1 with err set. */
int lp_png_end(lp_png *p, lp_error *err);

void lp_png_free(lp_png *p); /* NULL is a no-op */

#endif
