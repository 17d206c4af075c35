/* Regions of a decoder's grid (a mask, a probability map) as geometry: what
 * the masks and text_polygons decoders share. Pure.
 *
 * Grid coordinates: cell (i, j) spans [i, i + 1] × [j, j + 1]; a corner is
 * named by its integer coordinates. */
#ifndef LOUPE_MODELS_CONTOUR_INT_H
#define LOUPE_MODELS_CONTOUR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/geometry/shape.h"
#include "loupe/models/tensor.h"

/* The boundaries of the set cells of bits (w × h, row by row, non-zero =
 * set) as the paths of *out (in a): loops along cell edges through cell
 * corners, collinear corners left out, the set on the right of the way
 * round (outer loops clockwise on screen, holes anticlockwise; two cells
 * touching at a corner only are apart). The polygon's even-odd fill is
 * exactly the set cells; npaths is 0 when none is set. 0, or -1
 * (LP_E_NOMEM). */
int lp_model_contours(const uint8_t *bits, size_t w, size_t h, lp_arena *a, lp_geom_polygon *out, lp_error *err);

/* The rectangle of least area holding the n points of pts (reordered):
 * rotating calipers over their convex hull. Corners in out, clockwise on
 * screen, out[0] the one with the least x + y (then the least y). */
void lp_model_min_rect(lp_geom_point *pts, size_t n, lp_geom_point out[4]);

/* A point of a grid that covers the input tensor with cells of cw × ch tensor
 * pixels from (x0, y0), back on the source image, clipped to it. */
void lp_model_grid_unmap(const lp_model_fit *fit, double x0, double y0, double cw, double ch, lp_geom_point *p);

/* 1 when the centre of cell (i, j) of such a grid falls on the image (not in
 * a letterbox bar). */
int lp_model_grid_on_image(const lp_model_fit *fit, double x0, double y0, double cw, double ch, size_t i, size_t j);

#endif
