/* Annotations across the frames of a video or the slices of a volume.
 *
 * A track is keyframes (frame number + shape), the frame ranges where the
 * annotation is visible ([start, end), end exclusive, as in Darwin JSON 2.0
 * "ranges") and hidden areas inside them. The server computes the shape at
 * any frame from that, so clients get every frame of a range without
 * interpolating themselves (rules in docs/GEOMETRY.md). */
#ifndef LOUPE_GEOMETRY_TRACK_H
#define LOUPE_GEOMETRY_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/geometry/shape.h"

typedef struct lp_geom_keyframe {
    int64_t frame;
    lp_geom_shape shape;
} lp_geom_keyframe;

/* Frames [start, end): end is exclusive. */
typedef struct lp_geom_frame_range {
    int64_t start, end;
} lp_geom_frame_range;

/* One annotation across frames. Everything is borrowed from the caller.
 * keyframes are sorted by strictly increasing frame and share one type;
 * ranges and hidden need no order and may overlap. interpolate = false
 * (Darwin "interpolated": false) holds each keyframe until the next. */
typedef struct lp_geom_track {
    const lp_geom_keyframe *keyframes;
    size_t nkeyframes;
    const lp_geom_frame_range *ranges;
    size_t nranges;
    const lp_geom_frame_range *hidden;
    size_t nhidden;
    bool interpolate;
} lp_geom_track;

typedef enum lp_geom_frame_kind {
    LP_GEOM_FRAME_ABSENT = 0,     /* outside every range, or in a hidden area */
    LP_GEOM_FRAME_KEYFRAME,       /* a keyframe's own shape */
    LP_GEOM_FRAME_INTERPOLATED    /* computed from keyframes (or held) */
} lp_geom_frame_kind;

/* Checks a track's structure: at least one keyframe, frames strictly
 * increasing ("keyframes[i].frame"), one type for all ("keyframes[i].type"),
 * every range and hidden area with start < end ("ranges[i]",
 * "hidden_areas[i]"). Shapes themselves are checked by lp_geom_validate.
 * 0 or -1 with LP_E_INVALID. */
int lp_geom_track_check(const lp_geom_track *t, lp_error *err);

/* The annotation at frame f of a checked track:
 * - absent when f is in no range or in a hidden area;
 * - a keyframe's shape when f is a keyframe;
 * - otherwise computed from the keyframes inside the range holding f
 *   (the first such range in t->ranges): interpolated between the keyframes
 *   before and after f, the nearest one held before the first and after the
 *   last; a range without keyframes holds the last keyframe before f, or
 *   failing that the first after it.
 * *kind says which; out (untouched when absent) is new in ar.
 * Binary search: O(log keyframes + ranges + hidden) plus the shape size.
 * 0 or -1 (LP_E_NOMEM, or LP_E_INVALID for keyframes that cannot be
 * interpolated). */
int lp_geom_track_at(const lp_geom_track *t, int64_t f, lp_arena *ar, lp_geom_shape *out,
                     lp_geom_frame_kind *kind, lp_error *err);

/* Where frame f lies in a checked track, by the rules of lp_geom_track_at,
 * for shapes it cannot compute itself (a raster layer's label map): the
 * kind; for a keyframe or a held frame *k0 = *k1 = the keyframe's index and
 * *t = 0; between two keyframes their indexes (*k1 = *k0 + 1) and the
 * position *t in (0, 1). Nothing is set but *kind when absent. */
void lp_geom_track_locate(const lp_geom_track *t, int64_t f, lp_geom_frame_kind *kind, size_t *k0, size_t *k1,
                          double *pos);

#endif
