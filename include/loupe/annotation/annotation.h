/* The annotation model (docs/ANNOTATIONS.md): what one annotation holds
 * once read — its shape, sub-types, properties, frames — whatever format it
 * came in, and the checks of an annotation against its class and slot.
 *
 * Formats (loupe/formats/) read into these types and write from the stored
 * form (loupe/annotation/stored.h); the database (loupe/db/annotations_sql.h)
 * stores them. Pure: no database, no HTTP.
 *
 * Memory: everything lives in the caller's arena; strings may borrow the
 * text the annotation was read from. */
#ifndef LOUPE_ANNOTATION_ANNOTATION_H
#define LOUPE_ANNOTATION_ANNOTATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/geometry/shape.h"
#include "loupe/geometry/track.h"

/* Annotation types: the geometry library's types, plus Darwin's raster layer
 * (one per slot: a dense RLE label map of the slot's mask annotations),
 * Darwin 1.0's complex_polygon (a polygon's geometry under its own type) and
 * the document types table, simple_table, string and graph (kept as their
 * JSON text after a structural check). */
#define LP_ANN_RASTER_LAYER ((int)LP_GEOM_TYPE_COUNT)
#define LP_ANN_COMPLEX_POLYGON (LP_ANN_RASTER_LAYER + 1)
#define LP_ANN_TABLE (LP_ANN_RASTER_LAYER + 2)
#define LP_ANN_SIMPLE_TABLE (LP_ANN_RASTER_LAYER + 3)
#define LP_ANN_STRING (LP_ANN_RASTER_LAYER + 4)
#define LP_ANN_GRAPH (LP_ANN_RASTER_LAYER + 5)
#define LP_ANN_TYPE_COUNT (LP_ANN_RASTER_LAYER + 6)

/* "bounding_box", …, "text", "raster_layer", "complex_polygon", "table",
 * "simple_table", "string", "graph"; NULL when out of range. */
const char *lp_ann_type_name(int type);
/* 0, or -1 when unknown. */
int lp_ann_type_from_name(const char *name, size_t len, int *out);
/* The geometry type a shape of annotation type t is computed with
 * (complex_polygon: polygon; raster layer and document types: mask, which
 * only holds). */
lp_geom_type lp_ann_geom_type(int type);
/* True for the types whose value is kept as JSON text (tag, mask, text and
 * the document types). */
bool lp_ann_type_is_text(int type);

/* An annotation id: unique per item; a UUID (stored lower-case) or, as
 * Darwin files and the reference client allow, 1 … LP_ANN_ID_MAX characters
 * of A-Z a-z 0-9 . _ : - (kept as sent). Such ids need no escaping in JSON,
 * XML, CSV or COPY text. */
#define LP_ANN_ID_MAX 64
/* True when s is an annotation id (see above). */
bool lp_ann_id_ok(const char *s);

/* Sub-types a class may allow (bit flags). */
enum {
    LP_ANN_SUB_ATTRIBUTES = 1,
    LP_ANN_SUB_TEXT = 2,
    LP_ANN_SUB_INSTANCE_ID = 4,
    LP_ANN_SUB_DIRECTIONAL_VECTOR = 8,
    LP_ANN_SUB_INFERENCE = 16,
    LP_ANN_SUB_MEASURES = 32
};
#define LP_ANN_SUB_COUNT 6
/* The name of sub-type i (flag 1 << i), i < LP_ANN_SUB_COUNT. */
const char *lp_ann_sub_type_name(int i);
/* "attributes", "text", "instance_id", "directional_vector", "inference",
 * "measures" → flag; 0 if unknown. */
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
    const char *raw;           /* text types: "{…}"; raster layer: members after dense_rle ("" if none) */
    size_t raw_len;
    bool legacy_path;          /* polygon sent in Darwin's legacy form {"path": [points]}: written back so */
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
/* "human", "model", "import". */
const char *lp_ann_source_name(lp_ann_source s);
/* 0, or -1 when unknown. */
int lp_ann_source_from_name(const char *name, lp_ann_source *out);

typedef struct lp_ann {
    const char *id;            /* an annotation id (UUIDs lower-case), or NULL (a new UUID is assigned) */
    const char *class_id;      /* lower-case UUID, or NULL when the class is named by class_name */
    const char *class_name;    /* Darwin "name" (NULL when not sent): names the class, or must match class_id's */
    const char *slot;          /* "slot", or Darwin "slot_names"' one name; NULL: the item's first slot */
    bool slot_from_names;      /* slot came from "slot_names" (errors name that field) */
    bool has_source;           /* "source" was sent (else source is human; an import sets its own) */
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
    bool ranges_given;         /* "ranges" was sent (else the default range is stored, not returned) */
    lp_geom_frame_range *hidden;
    size_t nhidden;
    bool has_hidden;           /* "hidden_areas" was sent (an empty list is returned as sent) */
    bool interpolated;         /* Darwin "interpolated"; absent: false, as the reference client reads it */
} lp_ann;

typedef struct lp_ann_limits {
    lp_geom_limits geom;
    int64_t max_frame;         /* frames are 0..max_frame */
    size_t max_string;         /* longest text value */
} lp_ann_limits;

/* What ids the reader requires: an update names the annotation it replaces. */
typedef enum lp_ann_mode { LP_ANN_CREATE = 0, LP_ANN_UPDATE } lp_ann_mode;

/* A class as the checks need it. */
typedef struct lp_ann_class {
    const char *id;
    const char *name;
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

/* Checks ann against its class (the class's name when ann names one, type
 * allowed, sub-types allowed, skeleton nodes, property names and values) and
 * its slot (frames only on video and
 * volume slots, within frame_count). cls or slot NULL: the class / slot does
 * not exist (422 naming class_id / slot). Field errors as the readers
 * record them (member paths from the annotation down). 0 or
 * -1. */
int lp_ann_check(const lp_ann *ann, const lp_ann_class *cls, const lp_ann_slot *slot, lp_arena *a, lp_error *err);

/* Checks an item's properties (props->props, as lp_darwin_read_properties
 * reads them) against the class properties of granularity "item" among
 * class_properties (nclasses JSON array texts): each names one, by name or
 * id, and its value fits it, as for an annotation's properties. Field errors
 * "properties[i].name" / "properties[i].value". 0 or -1. */
int lp_ann_check_item_properties(const lp_ann_body *props, const char *const *class_properties, size_t nclasses,
                                 lp_error *err);

#endif
