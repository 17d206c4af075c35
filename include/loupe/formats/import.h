/* Import readers: one per format (docs/FORMATS.md), all driven the same way
 * by the import job — the mirror of the export writers (export.h).
 *
 *   r = lp_imp_reader_new(format, &opt, &sink, err);
 *   for each file of the upload whose role is LP_IMP_ROLE_META:   (name order)
 *       lp_imp_reader_file(r, name, data, len, a, err);
 *   for each file of the upload whose role is LP_IMP_ROLE_ITEMS:  (name order)
 *       lp_imp_reader_file(r, name, data, len, a, err);
 *   lp_imp_reader_end(r, a, err);
 *   lp_imp_reader_free(r);
 *
 * An upload is a zip archive (its members come through unzip.c, which has
 * refused hostile archives before any member is read) or one file; a single
 * file is fed as LP_IMP_ROLE_ITEMS whatever its name.
 *
 * What a reader yields, through the sink (calls in this order for one
 * reader: class definitions as soon as they are read, items one at a time,
 * problems where they are found):
 *   - lp_imp_class: a class the files define (Darwin's .v7/metadata.json,
 *     COCO categories, YOLO names, VOC label maps): what the job creates when
 *     the import may create classes. A name may come more than once (one
 *     entry per annotation type, as Darwin lists them): the job merges them.
 *   - lp_imp_item: one item — where it goes (path + name: how the job matches
 *     it), the slots the file describes, its annotations in the annotation
 *     model (loupe/annotation/annotation.h, exactly what lp_darwin_read
 *     produces: shapes validated by the geometry library, sub-types,
 *     properties, frames) and its item-level properties. Classes are named,
 *     never numbered: ann->class_name is set and ann->class_id is NULL, except
 *     for a format that names classes only by Loupe id (Darwin files written
 *     by Loupe without a name), where class_name is NULL and class_id set.
 *     The reader checks everything that needs only the file; the job checks
 *     the rest (lp_ann_check against the class and slot, ids already on the
 *     item, one raster layer per slot) exactly as the batch API does.
 *   - lp_imp_problem: something wrong in a file, located (the file, and a JSON
 *     path such as "annotations[3].polygon.paths[0][2].x" or "images[7]", or
 *     "line 12, column 4" for text and XML), with what is wrong, and what the
 *     reader left out because of it (skip: one annotation, one item, or the
 *     whole file). Each thing left out is reported by exactly one problem
 *     whose skip names it; further problems about the same thing are
 *     LP_IMP_NOTE. A reader never stops at a problem: it goes on with the
 *     next annotation, item or file, so one run lists every problem.
 *
 * Streaming: a reader holds one item at a time (plus what a format must keep
 * across items: COCO's image table and an index of its annotations by image,
 * a YOLO class list), so memory does not grow with the number of items
 * beyond that.
 *
 * Memory: what a reader yields (the item, its annotations, every string)
 * lives in the arena a given to lp_imp_reader_file / lp_imp_reader_end, or
 * borrows data; the reader never resets a and keeps nothing of its own
 * there, so the sink may reset a from inside item() once it is done with
 * every item it holds (a job writing in batches does). data must stay valid
 * until lp_imp_reader_file returns and as long as the sink holds items that
 * borrow it. The reader's own state lives in memory it owns.
 *
 * Errors: lp_imp_reader_file / _end return -1 only when the import cannot go
 * on (out of memory, or the sink said stop); bad content is a problem, and
 * the call returns 0.
 *
 * Pure: no database, no HTTP. One reader belongs to one thread. */
#ifndef LOUPE_FORMATS_IMPORT_H
#define LOUPE_FORMATS_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/annotation/annotation.h"
#include "loupe/core/arena.h"
#include "loupe/core/error.h"

/* ---- what a reader yields ------------------------------------------------------ */

typedef struct lp_imp_class {
    const char *name;
    unsigned types;              /* bit (1 << type) per annotation type the file gives it; 0: not said */
    const char *sub_types_json;  /* JSON array text ("[\"text\"]"), or NULL */
    const char *properties_json; /* JSON array text of property definitions, or NULL */
    const char *color;           /* "#rrggbb" or "rgba(…)", or NULL */
    const char *description;     /* or NULL */
    const char *const *nodes;    /* skeleton node names; NULL when none */
    size_t nnodes;
    const uint32_t *edges;       /* skeleton edges: 2 * nedges node indices (0-based) */
    size_t nedges;
} lp_imp_class;

typedef struct lp_imp_slot {
    const char *name;            /* slot name; never NULL */
    const char *type;            /* "image", "video", …; NULL when the file does not say */
    int64_t width, height;       /* -1 when unknown */
    int64_t frame_count;         /* -1 when unknown */
} lp_imp_slot;

typedef struct lp_imp_item {
    const char *file;            /* the file it was read from (archive member name) */
    const char *where;           /* where in that file ("images[7]"; "" for the whole file) */
    const char *path;            /* folder as the file gives it ("/", "/a/b"); "/" when it gives none */
    const char *name;            /* item name ("frame_01.jpg") */
    const lp_imp_slot *slots;    /* as the file describes them; may be none */
    size_t nslots;
    lp_ann *anns;                /* valid as far as the file alone can tell */
    size_t nanns;
    const char *const *ann_where; /* nanns locations in file ("annotations[3]"), for problems the job finds */
    bool has_props;              /* item-level properties were given (an empty list too) */
    lp_ann_body props;           /* props.props / props.nprops, props.data: the array as sent */
    double done;                 /* how far through file the reader is once this item is read, 0..1
                                  * (the share of its images, or of its bytes); 0: it cannot tell */
} lp_imp_item;

/* What a problem made the reader leave out. */
typedef enum lp_imp_skip {
    LP_IMP_NOTE = 0,             /* nothing (more): a detail, or a value converted */
    LP_IMP_SKIP_ANNOTATION,      /* one annotation */
    LP_IMP_SKIP_ITEM,            /* one item with its annotations */
    LP_IMP_SKIP_FILE             /* the whole file */
} lp_imp_skip;

typedef struct lp_imp_problem {
    const char *file;            /* archive member, or the uploaded file's name */
    const char *where;           /* JSON path, "line L[, column C]", or "" for the whole file */
    const char *message;         /* what is wrong, a sentence */
    lp_imp_skip skip;
} lp_imp_problem;

/* Where a reader's output goes. Each callback returns 0 to go on, -1 to stop
 * the import (with err set); everything passed is borrowed for the call
 * (items and classes: see Memory above). */
typedef struct lp_imp_sink {
    int (*cls)(void *ud, const lp_imp_class *c, lp_error *err);
    int (*item)(void *ud, const lp_imp_item *it, lp_error *err);
    int (*problem)(void *ud, const lp_imp_problem *p, lp_error *err);
    void *ud;
} lp_imp_sink;

/* ---- readers ------------------------------------------------------------------------ */

typedef struct lp_imp_options {
    const lp_ann_limits *lim;    /* limits on shapes, frames, strings (borrowed) */
    const char *variant;         /* as the writer's (yolo: detect | segment | pose; mask: semantic |
                                  * instance); NULL: the format's default */
    uint64_t max_items;          /* items one upload may hold; 0: no limit */
    /* YOLO: the item a label file is for, whose image size its fractions
     * are of — the item at path named stem plus an extension (or stem
     * alone), as stored: *name (new in a), *width and *height. 1 found with
     * a known size, 0 not (the file is then a problem leaving the item out),
     * -1 to stop the import (err set). NULL: sizes are never known. */
    int (*image)(void *ud, const char *path, const char *stem, lp_arena *a, const char **name, int64_t *width,
                 int64_t *height, lp_error *err);
    void *image_ud;
    /* NIfTI: the item a label map is for — the item at path named stem,
     * stem plus one extension, or stem plus ".nii.gz" (as stored), with a
     * slot of type volume: *name and *slot (new in a) and *metadata, that
     * slot's metadata (JSON object text, new in a; its "media" member holds
     * the volume's grid, loupe/volume/meta.h). 1 found, 0 not (the file is
     * then a problem leaving the item out), -1 to stop the import (err
     * set). NULL: never found. Uses image_ud. */
    int (*volume)(void *ud, const char *path, const char *stem, lp_arena *a, const char **name, const char **slot,
                  const char **metadata, lp_error *err);
} lp_imp_options;

/* What a file is to a reader, by its name. */
typedef enum lp_imp_role {
    LP_IMP_ROLE_SKIP = 0,        /* not this format's (images, readmes): not read */
    LP_IMP_ROLE_META,            /* read before any item (class lists, data.yaml) */
    LP_IMP_ROLE_ITEMS            /* holds items */
} lp_imp_role;

typedef struct lp_imp_reader lp_imp_reader;

/* The names of every format with a reader, NULL-terminated. */
extern const char *const lp_imp_reader_names[];
/* 1 if format has a reader and variant is valid for it (NULL = default). */
int lp_imp_format_valid(const char *format, const char *variant);

/* A reader of format sending to sink (borrowed, as opt). NULL with err
 * (LP_E_INVALID: unknown format or variant; LP_E_NOMEM). */
lp_imp_reader *lp_imp_reader_new(const char *format, const lp_imp_options *opt, const lp_imp_sink *sink,
                                 lp_error *err);
/* What the file called name (an archive member name) is to the reader. */
lp_imp_role lp_imp_reader_role(const lp_imp_reader *r, const char *name);
/* Reads one whole file (data, len bytes, borrowed) and yields what it holds.
 * 0, or -1 (see Errors). */
int lp_imp_reader_file(lp_imp_reader *r, const char *name, const char *data, size_t len, lp_arena *a,
                       lp_error *err);
/* After the last file: yields what a format can only give at the end
 * (YOLO items whose images came without labels, …). 0 or -1. */
int lp_imp_reader_end(lp_imp_reader *r, lp_arena *a, lp_error *err);
/* NULL is a no-op. */
void lp_imp_reader_free(lp_imp_reader *r);

#endif
