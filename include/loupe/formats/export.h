/* Export writers: one per format (docs/FORMATS.md), all driven the same way
 * — begin, then one item at a time with all of its annotations, then end —
 * and all writing files through an lp_fmt_out (a zip archive in the export
 * job, plain memory in tests). Pure: no database, no HTTP.
 *
 * Streaming: a writer keeps nothing of an item after its call returns except
 * counters and, where a format needs one list after another (COCO's images
 * after its annotations, the mask export's instance table), a spool file
 * (tmpfile) — memory stays flat however many items pass.
 *
 * What a format cannot hold is never dropped silently: every annotation is
 * counted in lp_fmt_stats as written, converted (written in another form,
 * e.g. an ellipse as a polygon) or dropped, per type; the job reports them. */
#ifndef LOUPE_FORMATS_EXPORT_H
#define LOUPE_FORMATS_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/annotation/annotation.h"
#include "loupe/annotation/stored.h"
#include "loupe/core/arena.h"
#include "loupe/core/buf.h"
#include "loupe/core/error.h"
#include "loupe/formats/zip.h"

/* ---- what is exported ------------------------------------------------------- */

typedef struct lp_fmt_class {
    const char *id;              /* lower-case UUID */
    const char *name;
    const char *color;           /* as stored ("#rrggbb", "rgba(…)"), or NULL */
    unsigned types;              /* bit (1 << type) per allowed annotation type */
    const char *sub_types_json;  /* JSON array text, or NULL */
    const char *properties_json; /* JSON array text, or NULL */
    const char *description;     /* or NULL */
    const char *const *nodes;    /* skeleton node names; NULL when no skeleton */
    size_t nnodes;
    const uint32_t *edges;       /* skeleton edges: 2 * nedges node indices (0-based) */
    size_t nedges;
    uint32_t index;              /* set by lp_fmt_classes_prepare: position in name order */
} lp_fmt_class;

typedef struct lp_fmt_classes {
    lp_fmt_class *v;             /* sorted by id after lp_fmt_classes_prepare */
    size_t n;
} lp_fmt_classes;

/* Numbers the classes in (name, id) order (index 0..n-1: YOLO class ids,
 * COCO category id - 1, mask palette index - 1), then sorts v by id for
 * lp_fmt_class_find. 0, or -1 (LP_E_NOMEM). */
int lp_fmt_classes_prepare(lp_fmt_classes *c, lp_error *err);
/* The class with this id, or NULL. */
const lp_fmt_class *lp_fmt_class_find(const lp_fmt_classes *c, const char *id);
/* The class with this index, or NULL. */
const lp_fmt_class *lp_fmt_class_at(const lp_fmt_classes *c, uint32_t index);

/* One item as exported: its first slot. */
typedef struct lp_fmt_item {
    const char *id;              /* item UUID */
    const char *name;            /* "frame_01.jpg" */
    const char *path;            /* folder, "/" or "/a/b" */
    const char *dataset_id;
    const char *slot;            /* the slot whose annotations are exported */
    const char *slot_type;       /* "image", "video", "volume" */
    int64_t width, height;       /* -1 when unknown */
    int64_t frame_count;         /* -1 when unknown */
    double fps;                  /* < 0 when unknown */
    const char *metadata;        /* the slot's metadata (JSON object text), or NULL; a volume's grid is
                                  * its "media" member (loupe/volume/meta.h) */
} lp_fmt_item;

typedef struct lp_fmt_frame {
    int64_t frame;
    bool keyframe;
    lp_ann_geom geom;            /* type -1: none */
    lp_ann_stored body;          /* as stored (for Darwin) */
} lp_fmt_frame;

typedef struct lp_fmt_ann {
    lp_ann_row row;              /* as stored; text copied into the batch's arena */
    const lp_fmt_class *cls;     /* NULL when the class is unknown */
    lp_ann_geom geom;            /* decoded; type -1: none (video annotations keep theirs in frames) */
    lp_fmt_frame *frames;        /* video: sorted by frame */
    size_t nframes;
    size_t cap_frames;
} lp_fmt_ann;

/* An item's annotations, collected one stored row at a time. */
typedef struct lp_fmt_batch {
    lp_arena *arena;             /* borrowed: reset by the caller between items */
    const lp_fmt_classes *classes;
    lp_fmt_ann *v;
    size_t n, cap;
} lp_fmt_batch;

/* Empties b for the next item (after the caller reset b->arena). */
void lp_fmt_batch_clear(lp_fmt_batch *b);
/* Adds one stored row (frame: NULL, or the row's frame of a video
 * annotation — rows of one annotation come together), copying everything it
 * keeps into b->arena and decoding shapes. 0, or -1 (damaged blob, NOMEM). */
int lp_fmt_batch_add(lp_fmt_batch *b, const lp_ann_row *row, const lp_ann_frame_row *frame, lp_error *err);

/* ---- where files go ---------------------------------------------------------- */

typedef struct lp_fmt_out {
    /* Starts file name (ending the one before); compress: worth deflating. */
    int (*open)(void *ud, const char *name, bool compress, lp_error *err);
    int (*write)(void *ud, const void *p, size_t n, lp_error *err);
    void *ud;
    lp_zip *zip;                 /* lp_fmt_out_zip: the archive */
    int level;                   /* lp_fmt_out_zip: deflate level of compressible files (0: stored) */
} lp_fmt_out;

/* An lp_fmt_out into a zip archive (z borrowed, must outlive the result),
 * deflating compressible files at level (0..9; 0 stores them). */
void lp_fmt_out_zip(lp_fmt_out *out, lp_zip *z, int level);

/* Where an item's media file goes in an archive with include_media:
 * "images/<path>/<name>" (new in a; NULL on NOMEM), the layout YOLO's
 * labels/ expect beside them. */
char *lp_fmt_media_name(lp_arena *a, const lp_fmt_item *it);

/* ---- writers --------------------------------------------------------------------- */

typedef struct lp_fmt_stats {
    uint64_t items;              /* items written */
    uint64_t items_skipped;      /* items a format could not hold (no size known, …) */
    uint64_t files;              /* files written */
    uint64_t written[LP_ANN_TYPE_COUNT];
    uint64_t converted[LP_ANN_TYPE_COUNT];
    uint64_t dropped[LP_ANN_TYPE_COUNT];
} lp_fmt_stats;

/* Which frames of a video item the per-image formats (COCO, VOC, YOLO,
 * masks) write, each as an image of its own (docs/FORMATS.md, Video). */
typedef enum lp_fmt_frames {
    LP_FMT_FRAMES_NONE = 0,      /* none: video items are skipped (the default) */
    LP_FMT_FRAMES_ALL,           /* every frame of the video */
    LP_FMT_FRAMES_KEYFRAMES,     /* the frames where some annotation has a keyframe */
    LP_FMT_FRAMES_ANNOTATED      /* the frames where some annotation is visible */
} lp_fmt_frames;

/* "all", "keyframes", "annotated" (lp_fmt_frames 1, 2, 3), NULL-terminated. */
extern const char *const lp_fmt_frames_names[];

typedef struct lp_fmt_options {
    const char *variant;         /* yolo: "detect" | "segment" | "pose"; mask: "semantic" | "instance" */
    lp_fmt_frames frames;        /* per-image formats only */
    const char *schema_version;  /* written into COCO's info and Darwin files */
    const char *created;         /* RFC 3339 time of the export */
    /* Called once for each frame of a video item written as an image of its
     * own (frames set), after its labels: video is the video item, image
     * the frame's image item (its path and name as the format refers to
     * it: lp_fmt_media_name). 0 to go on, -1 to stop (err set). NULL: none. */
    int (*frame)(void *ud, const lp_fmt_item *video, int64_t frame, const lp_fmt_item *image, lp_error *err);
    void *frame_ud;
} lp_fmt_options;

typedef struct lp_fmt_writer lp_fmt_writer;

/* The names of every format with a writer, NULL-terminated. */
extern const char *const lp_fmt_writer_names[];
/* 1 for a format that writes one image at a time (COCO, VOC, YOLO, masks):
 * the ones lp_fmt_options.frames applies to. */
int lp_fmt_per_image(const char *format);
/* 1 if variant is valid for format (NULL = its default). */
int lp_fmt_variant_valid(const char *format, const char *variant);

/* A writer of format sending to out (borrowed), for classes (borrowed,
 * prepared) and opt (borrowed). NULL with err (LP_E_INVALID: unknown format
 * or variant, frames for a format that is not per image, or more classes
 * than the format holds; LP_E_NOMEM, LP_E_IO). */
lp_fmt_writer *lp_fmt_writer_new(const char *format, const lp_fmt_out *out, const lp_fmt_classes *classes,
                                 const lp_fmt_options *opt, lp_error *err);
/* Writes one item and its annotations (scratch memory from a, which the
 * caller resets between items). A video item in a per-image format with
 * opt.frames set is written as one image per frame (src/formats/frames.c).
 * 0 or -1. */
int lp_fmt_writer_item(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *anns, lp_arena *a,
                       lp_error *err);
/* Writes what comes after the last item (COCO's images, data.yaml, …). 0 or -1. */
int lp_fmt_writer_end(lp_fmt_writer *w, lp_error *err);
const lp_fmt_stats *lp_fmt_writer_stats(const lp_fmt_writer *w);
/* NULL is a no-op. */
void lp_fmt_writer_free(lp_fmt_writer *w);

#endif
