/* Measures on shapes: bounding boxes, areas, overlaps, containment and
 * polygon simplicity. Shapes are borrowed; nothing here keeps a pointer.
 * Functions taking a polygon expect one that passed lp_geom_validate
 * (finite coordinates, paths of at least 3 points). */
#ifndef LOUPE_GEOMETRY_MEASURE_H
#define LOUPE_GEOMETRY_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/geometry/shape.h"

/* Smallest axis-aligned box holding the shape: every point of polygons,
 * lines and skeletons (occluded nodes included); a keypoint gives w = h = 0;
 * an ellipse and a rotated box their exact rotated extent; a cuboid both
 * faces; a mask the
 * pixel box of its RLE (lp_geom_rle_bbox). Fails with LP_E_INVALID for
 * tag, text, an empty path or a mask without attached counts. 0 or -1. */
int lp_geom_shape_bbox(const lp_geom_shape *s, lp_geom_bbox *out, lp_error *err);

/* Shoelace area of one closed path, signed: positive when the path runs
 * clockwise as displayed (image y axis pointing down), negative otherwise. */
double lp_geom_path_signed_area(const lp_geom_path *p);

/* Area covered by a polygon under the even-odd rule, for paths that do not
 * cross each other: each path's |shoelace area| is added when the path lies
 * inside an even number of other paths and subtracted when inside an odd
 * number (holes), whatever the paths' orientations. */
double lp_geom_polygon_area(const lp_geom_polygon *p);

/* Area of the region a shape covers, in square pixels: w*h for a box and a
 * rotated box, lp_geom_polygon_area, pi*rx*ry for an ellipse, the foreground pixel count
 * of a mask, the area of the bounding box of both faces for a cuboid, and 0
 * for lines, keypoints and skeletons. LP_E_INVALID for tag and text and a
 * mask without counts. 0 or -1. */
int lp_geom_shape_area(const lp_geom_shape *s, double *out, lp_error *err);

/* Room for the polygon of a rotated box (lp_geom_shape_region). */
typedef struct lp_geom_quad {
    lp_geom_point points[4];
    lp_geom_path path;
} lp_geom_quad;

/* The region of a shape as a polygon, for exact overlaps: a polygon as it
 * is (out borrows s), a rotated box as the polygon of its 4 corners (out
 * borrows q, which the caller keeps alive). false, out untouched, for every
 * other type (their overlaps go by bounding box). */
bool lp_geom_shape_region(const lp_geom_shape *s, lp_geom_quad *q, lp_geom_polygon *out);

/* Intersection over union of two boxes; 0 when both are empty. */
double lp_geom_bbox_iou(const lp_geom_bbox *a, const lp_geom_bbox *b);

/* Exact areas of two polygons (even-odd rule, any paths, self-crossing
 * allowed) and of their intersection, by a vertical-slab sweep: between two
 * consecutive x positions where a vertex lies or two edges cross, every
 * edge is a straight segment and their vertical order is fixed, so the
 * covered length varies linearly and its midpoint value times the slab
 * width is the exact area (up to floating-point rounding, relative error
 * around 1e-12 for pixel coordinates).
 * Cost grows with the number of edge crossings that need an event (those
 * strictly inside both edges, vertical edges aside); more than
 * max_crossings (a caller's limit, e.g. 16 x the total vertices) fail with
 * LP_E_TOO_LARGE.
 * Scratch memory is taken from the heap and released before returning;
 * LP_E_NOMEM when it runs out. Any of the out pointers may be NULL. 0 or -1. */
int lp_geom_polygon_overlap(const lp_geom_polygon *a, const lp_geom_polygon *b, size_t max_crossings,
                            double *area_a, double *area_b, double *area_both, lp_error *err);

/* Intersection over union of two polygons from lp_geom_polygon_overlap;
 * 0 when the union is empty. 0 or -1. */
int lp_geom_polygon_iou(const lp_geom_polygon *a, const lp_geom_polygon *b, size_t max_crossings,
                        double *iou, lp_error *err);

/* Whether pt lies inside p by the even-odd rule (crossing number over all
 * paths). A point exactly on an edge counts as inside for left and top
 * edges and outside for right and bottom ones, so tiling polygons cover
 * each point once; the rasteriser uses the same test. */
bool lp_geom_polygon_contains(const lp_geom_polygon *p, lp_geom_point pt);

/* Whether a polygon is simple: no two edges of any of its paths touch or
 * cross, except consecutive edges of one path at their shared vertex.
 * Repeated consecutive points are ignored; a path with fewer than 3
 * distinct points is degenerate. Returns 0 when simple, else -1 with
 * LP_E_INVALID and a field error naming the first vertex of an offending
 * edge ("polygon.paths[0][3]") and a detail naming the other edge.
 * Sweep over edges sorted by x: O(n log n + pairs of edges whose x ranges
 * overlap). */
int lp_geom_polygon_check_simple(const lp_geom_polygon *p, lp_error *err);

#endif
