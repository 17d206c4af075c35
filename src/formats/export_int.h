/* What the export writers share (src/formats/export.c): the writer object,
 * each format's operations, buffered output and the geometry every format
 * needs (boxes of any shape, ellipses as polygons, masks from the item's
 * raster layer). Private to src/formats. */
#ifndef LOUPE_FORMATS_EXPORT_INT_H
#define LOUPE_FORMATS_EXPORT_INT_H

#include <stdio.h>

#include "loupe/formats/export.h"
#include "loupe/geometry/shape.h"
#include "loupe/geometry/track.h"

typedef struct lp_fmt_ops {
    const char *name;
    const char *const *variants; /* NULL-terminated, the first is the default; NULL: none */
    int (*begin)(lp_fmt_writer *w, lp_error *err);
    int (*item)(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, lp_error *err);
    int (*end)(lp_fmt_writer *w, lp_error *err);
    void (*free)(lp_fmt_writer *w);  /* the format's state; may be NULL */
    bool per_image;                  /* one image at a time: video items go frame by frame */
} lp_fmt_ops;

struct lp_fmt_writer {
    const lp_fmt_ops *ops;
    const lp_fmt_out *out;
    const lp_fmt_classes *classes;
    lp_fmt_options opt;            /* variant resolved to the default when NULL */
    lp_fmt_stats stats;
    lp_buf buf;                    /* bytes of the open file not yet written out */
    bool file_open;
    void *state;                   /* the format's own, freed by ops->free */
    lp_arena *frame;               /* a video frame's annotations (frames.c), reset per frame */
};

extern const lp_fmt_ops lp_fmt_coco_ops, lp_fmt_voc_ops, lp_fmt_yolo_ops, lp_fmt_cvat_ops, lp_fmt_mask_ops,
    lp_fmt_darwin_ops, lp_fmt_nifti_ops;

/* Starts file name in the output (what is buffered goes out first). */
int fmt_open(lp_fmt_writer *w, const char *name, bool compress, lp_error *err);
/* Sends the buffer when it holds 64 KiB or more, or always when force. */
int fmt_flush(lp_fmt_writer *w, bool force, lp_error *err);
/* The error for a failed append to w->buf: -1. */
int fmt_nomem(lp_fmt_writer *w, lp_error *err);
/* Appends bytes to a spool file (a format's second list): 0 or -1 (LP_E_IO). */
int fmt_spool(FILE *f, const void *p, size_t n, lp_error *err);
/* Copies a spool file into the open output file. 0 or -1. */
int fmt_spool_copy(lp_fmt_writer *w, FILE *f, lp_error *err);

/* "<prefix>/<path without its leading '/'>/<name>" with the name's
 * extension replaced by ext when ext is not NULL; characters that are not
 * safe in an archive name ('\\', control characters) become '_'. NULL on NOMEM. */
char *fmt_file_name(lp_arena *a, const char *prefix, const lp_fmt_item *it, const char *ext);

/* A class colour ("#rrggbb" or "rgba(r, g, b, a)") as red, green, blue;
 * 0,0,0 for anything else. */
void fmt_color_rgb(const char *color, unsigned out[3]);

/* s as a CSV field: quoted, quotes doubled. */
int fmt_csv(lp_buf *b, const char *s);

/* Shortest round-trip decimal of v. */
int fmt_num(lp_buf *b, double v);
/* The decimal of v (no printf on the per-shape path). */
int fmt_uint(lp_buf *b, uint64_t v);
/* s as XML character data or attribute value (escaped). */
int fmt_xml(lp_buf *b, const char *s);

/* Points an ellipse is written with where a format has no ellipse. */
#define FMT_ELLIPSE_POINTS 64
/* An ellipse as a polygon of FMT_ELLIPSE_POINTS points (new in a). */
int fmt_ellipse_polygon(const lp_geom_ellipse *e, lp_arena *a, lp_geom_polygon *out, lp_error *err);

/* A rotated box as a polygon of its four corners (lp_geom_rbox_corners'
 * order; new in a). */
int fmt_rbox_polygon(const lp_geom_rbox *b, lp_arena *a, lp_geom_polygon *out, lp_error *err);

/* The item's mask pixels: its raster layer on the exported slot decoded
 * into one label per pixel, and which label is which mask annotation. */
typedef struct fmt_raster {
    bool present;
    uint32_t width, height;
    uint8_t *labels;               /* row-major, width * height (arena) */
    const char **ids;              /* annotation ids (arena) … */
    uint8_t *id_labels;            /* … and their labels */
    size_t nids;
} fmt_raster;

/* Loads the raster layer (r->present false when the item has none or its
 * size is unknown). 0, or -1 for a layer that does not match the slot. */
int fmt_raster_load(const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, fmt_raster *r, lp_error *err);
/* Decodes raster layer g (its dense RLE and its mask ids) over a width ×
 * height label map into r. 0, or -1 when the RLE does not cover exactly
 * width × height pixels (what names the layer: item and slot, or a frame). */
int fmt_raster_decode(const lp_ann_geom *g, int64_t width, int64_t height, const char *what, lp_arena *a,
                      fmt_raster *r, lp_error *err);
/* The label of mask annotation id, 0 when it has none. */
uint8_t fmt_raster_label(const fmt_raster *r, const char *id);
/* A mask annotation's pixels as a binary RLE in order (new in a). 1 when it
 * has none (no raster layer, no label), 0 done, -1 error. */
int fmt_mask_rle(const fmt_raster *r, const lp_fmt_ann *ann, lp_geom_rle_order order, lp_arena *a, lp_geom_rle *out,
                 lp_error *err);

/* The box around an annotation's shape (masks through the raster layer).
 * 1 when it has none (tag, text, a mask without pixels), 0, -1. */
int fmt_ann_bbox(const lp_fmt_ann *ann, const lp_ann_geom *g, const fmt_raster *r, lp_arena *a, lp_geom_bbox *out,
                 lp_error *err);

/* Draws annotation ann's shape (ann->geom; a mask through r) into lab (W × H
 * labels, row-major) with value v, as the mask export does: a pixel whose
 * centre lies inside a polygon, ellipse (as a polygon), rotated box (its
 * corners) or box; a mask's
 * pixels. 0, 1 when it has no area to draw, -1. */
int fmt_draw(const lp_fmt_ann *ann, const fmt_raster *r, uint8_t *lab, uint32_t W, uint32_t H, uint8_t v,
             lp_arena *a, lp_error *err);
/* Writes class_mapping.csv (index,class,color; 0 background, then each
 * class by index + 1) as the semantic mask export names it. 0 or -1. */
int fmt_class_mapping(lp_fmt_writer *w, lp_error *err);

/* 1 for an image item of known width and height (what the per-image
 * formats need). */
bool fmt_image_sized(const lp_fmt_item *it);
/* Counts an item the format cannot hold as skipped and its annotations as
 * dropped. 0. */
int fmt_skip_item(lp_fmt_writer *w, const lp_fmt_batch *b);

/* The track of a video annotation: its keyframes that have a shape (new in
 * a), ranges, hidden areas, interpolation (frames.c). 0, 1 when no keyframe
 * has a shape, -1 (LP_E_NOMEM). */
int fmt_ann_track(const lp_fmt_ann *ann, lp_arena *a, lp_geom_track *t, lp_error *err);

/* A video item as one image item per frame of w->opt.frames, each with
 * the shapes computed at that frame (src/geometry/track.c), through
 * w->ops->item (frames.c). 0 or -1. */
int fmt_video_frames(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, lp_error *err);

/* Counters. */
#define FMT_WRITTEN(w, t) ((w)->stats.written[(t)]++)
#define FMT_CONVERTED(w, t) ((w)->stats.converted[(t)]++)
#define FMT_DROPPED(w, t) ((w)->stats.dropped[(t)]++)

#endif
