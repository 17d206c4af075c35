/* Interpolation between two keyframe shapes (the rules and formulas are in
 * docs/GEOMETRY.md; tracks over frames are in track.h). At t in [0, 1]:
 * - boxes, keypoints, cuboids, ellipse centres and radii, rotated box
 *   corners and sizes (so their centres), skeleton nodes (matched by name,
 *   else by index): linear, (1 - t) a + t b;
 * - ellipse and rotated box angles: along the shorter arc (a rotated box
 *   whose w and h swap between keyframes is not re-paired: it turns by the
 *   angles given and its sides grow and shrink);
 * - lines and polygon paths with equal point counts: point by point; with
 *   different counts both are resampled by arc length to the larger count,
 *   a polygon path of b turned to a's orientation and started at the
 *   resampled point that puts it closest to a (least total squared
 *   distance over every rotation of the starting index);
 * - paths and nodes follow a: paths are paired by index, and a's paths or
 *   nodes without a partner in b are held unchanged;
 * - masks with their pixels attached: by signed distance (below); tags,
 *   text, and masks whose pixels live elsewhere are held from a.
 * Polygon paths and lines pair their points with the least total squared
 * distance over both directions of b (and, for polygons, every starting
 * point), so a shape drawn from another vertex or the other way round does
 * not twist on its way. */
#ifndef LOUPE_GEOMETRY_INTERPOLATE_H
#define LOUPE_GEOMETRY_INTERPOLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/geometry/shape.h"

/* The shape at t (0 gives a, 1 gives b) between two shapes of the same type.
 * out and everything it points to is new in ar (node names included).
 * LP_E_INVALID when the types differ or t is not finite; LP_E_NOMEM.
 * a and b are borrowed and should be valid (lp_geom_validate). 0 or -1. */
int lp_geom_interpolate(const lp_geom_shape *a, const lp_geom_shape *b, double t, lp_arena *ar,
                        lp_geom_shape *out, lp_error *err);

/* n points (n >= 1) evenly spaced by arc length along p, starting at its
 * first point. A closed path (polygon) includes the closing edge and ends
 * one step before its start; an open one (line) ends on its last point
 * (n >= 2 then). out->points is new in ar. 0 or -1. */
int lp_geom_path_resample(const lp_geom_path *p, size_t n, bool closed, lp_arena *ar, lp_geom_path *out,
                          lp_error *err);

/* The mask at t between two masks of the same size (a and b checked RLEs):
 * each mask's signed distance field (negative inside) blended as
 * (1 - t) da + t db, foreground where the blend is below zero. Exact at
 * t = 0 and t = 1. When either mask is empty the result is a copy of a
 * (held). out->counts is new in ar, in a's order; scratch memory grows
 * with the window holding both masks, not with the image. LP_E_INVALID
 * when the sizes differ; LP_E_NOMEM. 0 or -1. */
int lp_geom_mask_interpolate(const lp_geom_rle *a, const lp_geom_rle *b, double t, lp_arena *ar, lp_geom_rle *out,
                             lp_error *err);

/* One mask of a raster layer in two keyframes: label a of the earlier
 * layer is label b of the later one (0: the later layer has no such mask). */
typedef struct lp_geom_label_pair {
    uint8_t a, b;
} lp_geom_label_pair;

/* The raster layer at t between two label maps of width x height pixels,
 * each a Darwin dense RLE (values [label, count, ...] walking rows; a and b
 * borrowed, na and nb values): every pair whose two masks are both there is
 * blended by lp_geom_mask_interpolate and painted with label a, in the order
 * of pairs (where two blended masks claim a pixel, the later pair has it);
 * every other label of a is held where it is. Labels only in b are absent,
 * so t = 0 gives a exactly. *out (new in ar, *nout values) is a dense RLE of
 * maximal runs. LP_E_INVALID when a map's counts do not add up to
 * width x height ("dense_rle"), LP_E_TOO_LARGE over max_pixels, LP_E_NOMEM.
 * Scratch: two label maps and one of each blend's windows, from the heap.
 * 0 or -1. */
int lp_geom_dense_interpolate(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t width,
                              uint32_t height, const lp_geom_label_pair *pairs, size_t npairs, double t,
                              uint64_t max_pixels, lp_arena *ar, uint32_t **out, size_t *nout, lp_error *err);

#endif
