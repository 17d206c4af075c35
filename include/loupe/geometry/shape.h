/* Annotation shapes: plain C structs, the type table and validation.
 *
 * The shapes follow the geometry of Darwin JSON 2.0 (see docs/GEOMETRY.md):
 * coordinates are doubles in image pixels, x to the right, y down, and the
 * point (0,0) is the top-left corner of the top-left pixel (so the centre of
 * pixel (i,j) is (i+0.5, j+0.5)).
 *
 * Memory: a shape never owns anything by itself. Arrays and strings it points
 * to belong to whoever built it — usually an lp_arena (see
 * lp_geom_shape_copy) or the caller's own storage. Functions that take a
 * `const lp_geom_shape *` borrow it for the duration of the call. */
#ifndef LOUPE_GEOMETRY_SHAPE_H
#define LOUPE_GEOMETRY_SHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"

typedef enum lp_geom_type {
    LP_GEOM_BOUNDING_BOX = 0,
    LP_GEOM_POLYGON,
    LP_GEOM_LINE,
    LP_GEOM_KEYPOINT,
    LP_GEOM_SKELETON,
    LP_GEOM_ELLIPSE,
    LP_GEOM_CUBOID,
    LP_GEOM_TAG,
    LP_GEOM_MASK,
    LP_GEOM_TEXT,
    LP_GEOM_ROTATED_BOX,
    LP_GEOM_TYPE_COUNT
} lp_geom_type;

typedef struct lp_geom_point {
    double x, y;
} lp_geom_point;

/* Axis-aligned box: top-left corner (x,y), width w and height h (>= 0). */
typedef struct lp_geom_bbox {
    double x, y, w, h;
} lp_geom_bbox;

/* An ordered list of points. For a polygon path the last point connects back
 * to the first (the first point is not repeated at the end). */
typedef struct lp_geom_path {
    lp_geom_point *points;
    size_t npoints;
} lp_geom_path;

/* A polygon is a set of closed paths filled with the even-odd rule: a path
 * inside another is a hole, a path inside a hole is an island again. */
typedef struct lp_geom_polygon {
    lp_geom_path *paths;
    size_t npaths;
} lp_geom_polygon;

/* Ellipse with centre, semi-axes and rotation: the semi-axis of length
 * radius.x points along (cos angle, sin angle) in image coordinates (angle in
 * radians; as y points down, a positive angle turns clockwise on screen). */
typedef struct lp_geom_ellipse {
    lp_geom_point center;
    lp_geom_point radius;
    double angle;
} lp_geom_ellipse;

/* Rotated box: the box before rotation (top-left x,y, width w, height h,
 * w,h >= 0, like lp_geom_bbox) turned by angle radians about its centre
 * (x + w/2, y + h/2); as y points down, a positive angle turns clockwise on
 * screen, as for the ellipse. Any finite angle is kept as given (no
 * normalisation); angle 0 covers exactly the bounding box x,y,w,h. */
typedef struct lp_geom_rbox {
    double x, y, w, h, angle;
} lp_geom_rbox;

/* The four corners of a rotated box: the unrotated box's top-left,
 * top-right, bottom-right and bottom-left corners, turned about the centre
 * (clockwise on screen for a positive angle, like the box's own edges). */
void lp_geom_rbox_corners(const lp_geom_rbox *b, lp_geom_point out[4]);

/* A 2D cuboid: the front and back faces as boxes. */
typedef struct lp_geom_cuboid {
    lp_geom_bbox front, back;
} lp_geom_cuboid;

typedef struct lp_geom_skeleton_node {
    const char *name; /* may be NULL; nodes are matched by name when both have one */
    double x, y;
    bool occluded;
} lp_geom_skeleton_node;

typedef struct lp_geom_skeleton {
    lp_geom_skeleton_node *nodes;
    size_t nnodes;
} lp_geom_skeleton;

/* Order in which a run-length encoding walks the pixels: row by row
 * (Darwin's raster layer) or column by column (COCO). */
typedef enum lp_geom_rle_order {
    LP_GEOM_RLE_ROW_MAJOR = 0,
    LP_GEOM_RLE_COLUMN_MAJOR
} lp_geom_rle_order;

/* Binary mask as run lengths: counts[0] pixels of background, counts[1] of
 * foreground, counts[2] of background, ... (counts[0] may be 0). A valid RLE
 * has counts summing to width * height; see rle.h. */
typedef struct lp_geom_rle {
    uint32_t width, height;
    lp_geom_rle_order order;
    uint32_t *counts;
    size_t ncounts;
} lp_geom_rle;

/* One annotation's geometry. `type` selects the member of u; tag and text
 * carry no geometry. A mask holds a binary RLE (rle.h) when its pixels are
 * attached; ncounts == 0 means the pixels live elsewhere (Darwin keeps them
 * in the item's raster layer), and measures on it then fail. */
typedef struct lp_geom_shape {
    lp_geom_type type;
    union {
        lp_geom_bbox bbox;         /* LP_GEOM_BOUNDING_BOX */
        lp_geom_polygon polygon;   /* LP_GEOM_POLYGON */
        lp_geom_path line;         /* LP_GEOM_LINE */
        lp_geom_point keypoint;    /* LP_GEOM_KEYPOINT */
        lp_geom_skeleton skeleton; /* LP_GEOM_SKELETON */
        lp_geom_ellipse ellipse;   /* LP_GEOM_ELLIPSE */
        lp_geom_cuboid cuboid;     /* LP_GEOM_CUBOID */
        lp_geom_rle mask;          /* LP_GEOM_MASK */
        lp_geom_rbox rbox;         /* LP_GEOM_ROTATED_BOX */
    } u;
} lp_geom_shape;

/* Limits on the size of one shape. They come from the configuration
 * (annotation_max_points, annotation_max_paths, image_max_pixels); nothing in
 * this library has a built-in ceiling. */
typedef struct lp_geom_limits {
    size_t max_points; /* points in one polygon path or line; nodes in one skeleton */
    size_t max_paths;  /* paths in one polygon */
    uint64_t max_pixels; /* width * height of a mask */
} lp_geom_limits;

/* Darwin JSON name of a type ("bounding_box", "polygon", "line", "keypoint",
 * "skeleton", "ellipse", "cuboid", "tag", "mask", "text", "rotated_box");
 * NULL when t is out
 * of range. The returned string is static. */
const char *lp_geom_type_name(lp_geom_type t);

/* The type named by name (exact, case-sensitive). 0, or -1 when name is NULL
 * or unknown (*out untouched). */
int lp_geom_type_from_name(const char *name, lp_geom_type *out);

/* true for every type except tag and text. */
bool lp_geom_type_has_geometry(lp_geom_type t);

/* Checks a shape against the rules of its type and the limits:
 * every coordinate finite; bounding box, rotated box and cuboid faces with
 * w,h >= 0 (a rotated box's angle any finite number);
 * ellipse radii >= 0 and a finite angle; polygons with 1..max_paths paths of
 * 3..max_points points; lines with 2..max_points points; skeletons with
 * 1..max_points nodes; masks with width*height <= max_pixels and, when counts
 * are attached, counts summing to width*height.
 * Returns 0, or -1 with err set to LP_E_INVALID, a message naming the type
 * and one field error per problem found, named from the type down
 * ("polygon.paths[0][3].x", "bounding_box.w", "skeleton.nodes[2].y").
 * A caller that embeds the shape in a larger document anchors the names with
 * lp_error_prefix_fields. s and limits are borrowed. */
int lp_geom_validate(const lp_geom_shape *s, const lp_geom_limits *limits, lp_error *err);

/* Deep copy of src into dst, every array and node name allocated from a.
 * Returns 0, or -1 with LP_E_NOMEM in err when the arena is exhausted
 * (dst is then zeroed). */
int lp_geom_shape_copy(lp_arena *a, lp_geom_shape *dst, const lp_geom_shape *src, lp_error *err);

#endif
