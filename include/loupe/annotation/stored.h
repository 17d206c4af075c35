/* The stored form of an annotation (docs/ANNOTATIONS.md, "Storage"): its
 * shape as a compact little-endian blob, everything else as JSON object
 * text, and the row types the database reads and writes.
 *
 * The blob is the persistence format: its bytes are on disk in every
 * database, so its layout never changes without a new BLOB version (the
 * decoder keeps reading every earlier one). The structs copied into it byte
 * for byte are pinned by _Static_asserts in stored.c.
 *
 * Pure: no database, no HTTP. Text and blobs in the row types are borrowed
 * from whoever filled them (a request's arena, a database result). */
#ifndef LOUPE_ANNOTATION_STORED_H
#define LOUPE_ANNOTATION_STORED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/annotation/annotation.h"
#include "loupe/core/arena.h"
#include "loupe/core/buf.h"
#include "loupe/core/error.h"
#include "loupe/geometry/track.h"

/* The blob's format version (its first byte). */
#define LP_ANN_BLOB_VERSION 1

/* Appends the blob of g to out. 0, or -1 when out is full. */
int lp_ann_geom_encode(const lp_ann_geom *g, lp_buf *out);

/* Decodes a blob (borrowed, len bytes) into g, arrays allocated in a and raw
 * text borrowed from the blob. 0, or -1 with LP_E_INTERNAL for a damaged
 * blob (or LP_E_NOMEM). */
int lp_ann_geom_decode(const void *blob, size_t len, lp_arena *a, lp_ann_geom *g, lp_error *err);

/* What an annotation, and each frame of a video annotation, stores: the
 * shape blob and two JSON object texts. Borrowed. */
typedef struct lp_ann_stored {
    const void *geom;      /* NULL: no shape */
    size_t geom_len;
    const char *data;      /* sub-types and companions "{…}"; never NULL in a row read back ("{}") */
    size_t data_len;
    const char *extra;     /* unknown keys kept as sent; NULL when none */
    size_t extra_len;
} lp_ann_stored;

/* One stored annotation, as written and read back. */
typedef struct lp_ann_row {
    char id[LP_ANN_ID_MAX + 1];
    char class_id[37];
    const char *class_name;    /* read back only (Darwin "name", derived from the class); NULL when writing */
    const char *slot;
    int type;                  /* LP_GEOM_* or LP_ANN_RASTER_LAYER */
    lp_ann_stored body;
    bool has_z;
    int32_t z;
    lp_ann_source source;
    bool has_confidence;
    double confidence;
    int64_t version;           /* of this annotation: 1, +1 per update */
    bool video;                /* has ranges, and frames */
    const lp_geom_frame_range *ranges;
    size_t nranges;
    bool ranges_given;         /* the ranges were sent (else they are the default, not returned) */
    const lp_geom_frame_range *hidden;
    size_t nhidden;
    bool has_hidden;           /* hidden areas were sent (an empty list is kept) */
    bool interpolated;         /* read back only (data's "interpolated"; absent: false) */
    bool has_bbox;             /* written only: bbox holds the shape's extent (see lp_ann_store) */
    lp_geom_bbox bbox;
} lp_ann_row;

/* One stored frame of a video annotation. */
typedef struct lp_ann_frame_row {
    const char *annotation_id; /* set by lp_ann_store; NULL in rows read back */
    int64_t frame;
    bool keyframe;
    lp_ann_stored body;
} lp_ann_frame_row;

/* The stored form of n annotations (read and checked, ids assigned): *rows
 * (n) and *frames (*nframes, every video annotation's frames in order), new
 * in a, with version 1; text borrowed from anns, shapes encoded into blobs,
 * which must not change until the rows are stored. Each row's bbox is the
 * extent of its shape (lp_geom_shape_bbox), for a video annotation the union
 * of its stored frames' extents (interpolation never leaves it); has_bbox is
 * false for what has no extent of its own: tags, text, raster layers and
 * masks whose pixels live in the raster layer. 0, or -1 with err
 * (LP_E_TOO_LARGE when blobs is full, LP_E_NOMEM). */
int lp_ann_store(const lp_ann *const *anns, size_t n, lp_arena *a, lp_buf *blobs, lp_ann_row **rows,
                 lp_ann_frame_row **frames, size_t *nframes, lp_error *err);

#endif
