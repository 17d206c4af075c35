/* Polygon to mask rasterisation (COCO export of polygons as masks, mask
 * statistics). Pixel (x,y) belongs to a polygon when its centre
 * (x + 0.5, y + 0.5) does, by the even-odd rule. */
#ifndef LOUPE_GEOMETRY_RASTER_H
#define LOUPE_GEOMETRY_RASTER_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/geometry/shape.h"

/* Sets to value every pixel of mask (row-major, width x height, mask_len
 * bytes, caller-owned) whose centre (x + 0.5, y + 0.5) lies inside p by the
 * even-odd rule, the same test as lp_geom_polygon_contains; other pixels are
 * left as they are, so several polygons can be drawn into one label map.
 * Scanline with an active edge table: O(edges log edges + height + pixels set).
 * The polygon must be valid (lp_geom_validate). 0, or -1 when mask_len is
 * short, the size is over max_pixels, or memory runs out. */
int lp_geom_polygon_rasterize(const lp_geom_polygon *p, uint32_t width, uint32_t height, uint64_t max_pixels,
                              uint8_t value, uint8_t *mask, size_t mask_len, lp_error *err);

#endif
