/* Annotations in and out: Darwin JSON 2.0 objects ⇄ parsed annotations ⇄
 * the stored form (docs/ANNOTATIONS.md).
 *
 * In: lp_ann_read parses one annotation object of a request with the pull
 * parser (json_scan.h), checks its shape with the geometry library
 * (lp_geom_validate, lp_geom_track_check) and its sub-types, and keeps every
 * key it does not know as raw text ("extra"), so imports round-trip.
 * lp_ann_check_class then checks it against its class and slot.
 * Field errors name the member from the annotation down
 * ("polygon.paths[0][2].x"); the caller anchors them ("create[3].").
 *
 * Stored form: the geometry as a compact little-endian blob
 * (lp_ann_geom_encode / lp_ann_geom_decode), everything else as jsonb text.
 *
 * Out: lp_ann_write_* render JSON text into an lp_buf directly (no
 * intermediate tree), with the shortest decimal that reads back as the same
 * double for every coordinate.
 *
 * Memory: everything parsed lives in the caller's arena and borrows the
 * request text (spans point into it). */
#ifndef LOUPE_API_ANNOTATION_CODEC_H
#define LOUPE_API_ANNOTATION_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/api/json_scan.h"
#include "loupe/core/arena.h"
#include "loupe/core/buf.h"
#include "loupe/core/error.h"
#include "loupe/geometry/shape.h"
#include "loupe/geometry/track.h"

/* Annotation types: the geometry library's types, plus Darwin's raster layer
 * (one per slot: a dense RLE label map of the slot's mask annotations). */
#define LP_ANN_RASTER_LAYER ((int)LP_GEOM_TYPE_COUNT)
#define LP_ANN_TYPE_COUNT ((int)LP_GEOM_TYPE_COUNT + 1)

/* "bounding_box", …, "text", "raster_layer"; NULL when out of range. */
const char *lp_ann_type_name(int type);
/* 0, or -1 when unknown. */
int lp_ann_type_from_name(const char *name, size_t len, int *out);

/* Sub-types a class may allow (bit flags). */
enum {
    LP_ANN_SUB_ATTRIBUTES = 1,
    LP_ANN_SUB_TEXT = 2,
    LP_ANN_SUB_INSTANCE_ID = 4,
    LP_ANN_SUB_DIRECTIONAL_VECTOR = 8
};
/* "attributes", "text", "instance_id", "directional_vector" → flag; 0 if unknown. */
unsigned lp_ann_sub_type_flag(const char *name);

/* A property value as sent ("properties": [{"name", "value", "frame_index"?}]). */
typedef struct lp_ann_prop {
    const char *name;      /* decoded */
    int kind;              /* 0 null, 1 string, 2 number, 3 other */
    const char *str;       /* kind 1 */
    double num;            /* kind 2 */
} lp_ann_prop;

/* A shape as stored: coordinates for the geometric types; for mask, tag and
 * text the JSON value of their key, kept as text; for a raster layer its
 * dense RLE values plus the text of its other members. */
typedef struct lp_ann_geom {
    int type;                  /* LP_GEOM_* or LP_ANN_RASTER_LAYER; -1: none */
    lp_geom_shape shape;       /* geometric types (mask: type only, no counts) */
    uint32_t *dense;           /* raster layer: dense_rle values */
    size_t ndense;
    const char *raw;           /* mask / tag / text: "{…}"; raster layer: members after dense_rle ("" if none) */
    size_t raw_len;
} lp_ann_geom;

/* What an annotation or one of its frames carries. */
typedef struct lp_ann_body {
    lp_ann_geom geom;
    const char *data;          /* jsonb text "{…}" of the sub-types and companions; never NULL */
    size_t data_len;
    const char *extra;         /* jsonb text of unknown keys; NULL when none */
    size_t extra_len;
    unsigned sub_types;        /* LP_ANN_SUB_* present */
    lp_ann_prop *props;
    size_t nprops;
} lp_ann_body;

typedef struct lp_ann_frame {
    int64_t frame;
    bool keyframe;
    lp_ann_body body;
} lp_ann_frame;

typedef enum lp_ann_source { LP_ANN_HUMAN = 0, LP_ANN_MODEL, LP_ANN_IMPORT } lp_ann_source;
const char *lp_ann_source_name(lp_ann_source s);

typedef struct lp_ann {
    const char *id;            /* canonical lower-case UUID, or NULL (a new one is assigned) */
    const char *class_id;      /* lower-case UUID */
    const char *slot;
    bool has_z;
    int32_t z;
    lp_ann_source source;
    bool has_confidence;
    double confidence;
    int type;                  /* of body, or of every frame for a video annotation */
    lp_ann_body body;          /* image annotation (or the top-level keys of a video one) */
    bool video;                /* sent with "frames" */
    lp_ann_frame *frames;      /* sorted by frame */
    size_t nframes;
    lp_geom_frame_range *ranges;
    size_t nranges;
    lp_geom_frame_range *hidden;
    size_t nhidden;
    bool interpolated;         /* Darwin "interpolated" (default true) */
} lp_ann;

typedef struct lp_ann_limits {
    lp_geom_limits geom;
    int64_t max_frame;         /* frames are 0..max_frame */
    size_t max_string;         /* longest text value */
} lp_ann_limits;

/* What ids the reader requires: an update names the annotation it replaces. */
typedef enum lp_ann_mode { LP_ANN_CREATE = 0, LP_ANN_UPDATE } lp_ann_mode;

/* Reads one annotation object at the scanner's position into out. A syntax
 * error fails the scanner (the caller reports lp_jscan_error); a value that is
 * wrong records field errors in err and the reader carries on to the end of
 * the object, so one response lists every problem. Returns 0 when the object
 * was read and valid, 1 when it was read with field errors, -1 on a syntax
 * error or out of memory (err says which for the latter). */
int lp_ann_read(lp_jscan *s, lp_arena *a, const lp_ann_limits *lim, lp_ann_mode mode, lp_ann *out, lp_error *err);

/* A class as the checks need it. */
typedef struct lp_ann_class {
    const char *id;
    unsigned types;            /* bit (1 << type) for each allowed type */
    unsigned sub_types;        /* LP_ANN_SUB_* allowed */
    const char *const *skeleton_nodes; /* NULL when the class has no skeleton */
    size_t nskeleton_nodes;
    const char *properties_json;       /* the class's properties array (jsonb text) */
} lp_ann_class;

typedef struct lp_ann_slot {
    const char *name;
    bool video;                /* video or volume */
    int64_t frame_count;       /* 0 when unknown */
} lp_ann_slot;

/* Checks ann against its class (type allowed, sub-types allowed, skeleton
 * nodes, property names and values) and its slot (frames only on video and
 * volume slots, within frame_count). cls or slot NULL: the class / slot does
 * not exist (422 naming class_id / slot). Field errors as lp_ann_read. 0 or
 * -1. */
int lp_ann_check(const lp_ann *ann, const lp_ann_class *cls, const lp_ann_slot *slot, lp_arena *a, lp_error *err);

/* ---- stored geometry ---------------------------------------------------- */

/* Appends the blob of g (layout in docs/ANNOTATIONS.md) to out. 0, or -1
 * when out is full. */
int lp_ann_geom_encode(const lp_ann_geom *g, lp_buf *out);

/* Decodes a blob (borrowed, len bytes) into g, arrays allocated in a and raw
 * text borrowed from the blob. 0, or -1 with LP_E_INTERNAL for a damaged
 * blob (or LP_E_NOMEM). */
int lp_ann_geom_decode(const void *blob, size_t len, lp_arena *a, lp_ann_geom *g, lp_error *err);

/* ---- output ------------------------------------------------------------- */

/* Shortest decimal text that reads back as exactly v (v finite). Returns the
 * length written to out (at most 32 bytes with the NUL). */
size_t lp_ann_format_double(double v, char out[32]);

/* Writes `"<key>":<value>` for g (its Darwin key and value). The caller
 * writes the separators around it. 0 or -1 (buffer full). */
int lp_ann_write_geom(lp_buf *out, const lp_ann_geom *g);

/* Writes `"<key>":<value>` for a computed shape (interpolation output). */
int lp_ann_write_shape(lp_buf *out, const lp_geom_shape *s);

/* Appends the members of a JSON object text "{…}" (jsonb output) to out,
 * each preceded by a comma; nothing for "{}" or NULL. 0 or -1. */
int lp_ann_write_members(lp_buf *out, const char *obj, size_t len);

/* Appends s as a JSON string (quoted, escaped). 0 or -1. */
int lp_ann_write_string(lp_buf *out, const char *s, size_t len);

#endif
