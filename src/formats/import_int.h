/* What the import readers share (src/formats/import.c): the reader object,
 * each format's operations, and helpers to report problems and yield items.
 * Private to src/formats. */
#ifndef LOUPE_FORMATS_IMPORT_INT_H
#define LOUPE_FORMATS_IMPORT_INT_H

#include "loupe/core/buf.h"
#include "loupe/core/json_scan.h"
#include "loupe/formats/import.h"
#include "loupe/formats/xml.h"

typedef struct lp_imp_ops {
    const char *name;
    const char *const *variants; /* NULL-terminated, the first is the default; NULL: none */
    lp_imp_role (*role)(const lp_imp_reader *r, const char *name);
    int (*file)(lp_imp_reader *r, const char *name, const char *data, size_t len, lp_arena *a, lp_error *err);
    int (*end)(lp_imp_reader *r, lp_arena *a, lp_error *err); /* may be NULL */
    void (*free)(lp_imp_reader *r);                           /* the format's state; may be NULL */
} lp_imp_ops;

struct lp_imp_reader {
    const lp_imp_ops *ops;
    lp_imp_options opt;            /* variant resolved to the default when NULL */
    lp_imp_sink sink;
    uint64_t items;                /* yielded so far */
    void *state;                   /* the format's own, freed by ops->free */
};

extern const lp_imp_ops lp_imp_darwin_ops;
extern const lp_imp_ops lp_imp_coco_ops;
extern const lp_imp_ops lp_imp_voc_ops;
extern const lp_imp_ops lp_imp_yolo_ops;
extern const lp_imp_ops lp_imp_cvat_ops;
extern const lp_imp_ops lp_imp_mask_ops;
extern const lp_imp_ops lp_imp_nifti_ops;

/* Reports a problem (message printf) through the sink. 0, or -1 when the
 * sink says stop. */
int imp_problem(lp_imp_reader *r, const char *file, const char *where, lp_imp_skip skip, lp_error *err,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Why a shape that lp_geom_validate refused (ge) is left out, for a problem
 * message of a format without field paths: "has an invalid <field>: <message>"
 * of its first field error (new in a; NULL on NOMEM). */
const char *imp_geom_why(lp_arena *a, const lp_error *ge);
/* Reports the field errors of fe as problems located at "<prefix><field>"
 * (prefix "annotations[3]." — its dot dropped before a "[…]" field), the
 * first with skip and the rest as notes; fe's message when it has no field
 * errors. 0 or -1. */
int imp_field_problems(lp_imp_reader *r, const char *file, const char *prefix, const lp_error *fe,
                       lp_imp_skip skip, lp_error *err);
/* Reports the scanner's syntax error (at its line and column in text) as a
 * problem that leaves out the file. 0 or -1. */
int imp_json_problem(lp_imp_reader *r, const char *file, const lp_jscan *s, const char *text, lp_error *err);
/* "line L, column C" of position p in text (new in a; NULL on NOMEM). */
const char *imp_line_col(lp_arena *a, const char *text, const char *p);
/* Yields an item through the sink, counting it against opt.max_items (one
 * more fails the import: LP_E_TOO_LARGE). 0 or -1. */
int imp_item(lp_imp_reader *r, const lp_imp_item *it, lp_error *err);
/* 1 when name ends with ext (ASCII, case-insensitive). */
bool imp_has_ext(const char *name, const char *ext);
/* Appends one element of size bytes to an arena array that doubles (*v, *n,
 * *cap). The new element (zeroed), or NULL on NOMEM. */
void *imp_push(lp_arena *a, void **v, size_t *n, size_t *cap, size_t size);

/* ---- masks, for the readers that read them ------------------------------------------ */

/* Reads one annotation from its Darwin JSON text (json, copied into a) with
 * darwin.c's reader — so it is checked as the annotation API checks it — and
 * appends it to it->anns (*cap: their capacity). 0; 1 when the text makes
 * no annotation (problems located at where, the first leaving out skip);
 * -1 on NOMEM or when the sink says stop. */
int imp_darwin_ann(lp_imp_reader *r, const char *file, const char *where, const lp_buf *json, lp_imp_skip skip,
                   lp_imp_item *it, size_t *cap, lp_arena *a, lp_error *err);
/* Reads an item's raster layer from its Darwin JSON text (as
 * imp_darwin_ann, located "raster layer", recorded in where[]); when it
 * makes no annotation the item keeps none (its masks would have no pixels).
 * 0, or -1 to stop. */
int imp_raster_layer_ann(lp_imp_reader *r, const char *file, const lp_buf *json, lp_imp_item *it, size_t *cap,
                         const char **where, lp_arena *a, lp_error *err);
/* Appends to b the Darwin JSON text of a raster layer of class cls over a
 * w × h label map (row by row; 0 background, k in 1..nids the mask whose id
 * is ids[k - 1]): its dense_rle, mask_annotation_ids_mapping and
 * total_pixels. 0, or -1 (NOMEM). */
int imp_raster_text(lp_buf *b, const char *cls, const uint8_t *labels, uint32_t w, uint32_t h, const char (*ids)[37],
                    unsigned nids);
/* The same raster layer as a member, "\"raster_layer\":{…}" (what a frame
 * of a volume's raster layer holds). 0, or -1 (NOMEM). */
int imp_raster_member(lp_buf *b, const uint8_t *labels, uint32_t w, uint32_t h, const char (*ids)[37], unsigned nids);
/* Reads class_mapping.csv (index,class,color — as the mask and NIfTI
 * exports write it): names[v] (malloc, freed by the caller) the class of
 * label v in 1..255, each class yielded to the sink (type mask); lines that
 * are not class lines are notes. 0, or -1 to stop. */
int imp_class_mapping(lp_imp_reader *r, char *names[256], const char *file, const char *data, size_t len,
                      lp_error *err);

/* ---- XML files (import_xml.c), for the XML formats -------------------------------- */

/* Elements nested deeper than this are refused. */
#define IMP_XML_DEPTH 32

/* One XML file read element by element: path is the element path
 * ("/annotation/object/name"), text the element's character data (trimmed;
 * at most IMP_XML_TEXT - 1 bytes, text_long past that). The callbacks
 * return 0 to go on, -1 to stop the import (err set). */
#define IMP_XML_TEXT 1024
typedef struct imp_xml {
    lp_imp_reader *r;
    const char *file;
    lp_arena *a;
    lp_error *err;
    lp_xml *x;
    size_t len;                  /* the file's size, for imp_xml_done */
    char path[512];
    size_t path_len[IMP_XML_DEPTH + 2];
    size_t depth;
    char text[IMP_XML_TEXT];
    size_t ntext;
    bool text_long;
    int (*start)(struct imp_xml *x, const char **attrs);
    int (*end)(struct imp_xml *x);
    void *ud;
} imp_xml;

/* Parses data (len bytes) calling x->start and x->end. 0; 1 when the file
 * is not well-formed XML or holds a refused construct (reported as a
 * problem that leaves the file out); -1 to stop the import. */
int imp_xml_read(imp_xml *x, const char *data, size_t len);
/* The share of the file read up to the element being handled, 0..1. */
double imp_xml_done(const imp_xml *x);
/* "line L, column C" of the element being handled (new in x->a; NULL on NOMEM). */
const char *imp_xml_where(imp_xml *x);
/* The value of attribute name, or NULL. */
const char *imp_xml_attr(const char **attrs, const char *name);
/* x->text as a finite number: 0, or -1 (not one). */
int imp_xml_number(const imp_xml *x, double *out);

/* "/a/b" of an archive member "<prefix>/a/b/<file>" (prefix and its slash
 * dropped when the name starts with it; NULL prefix: none), "/" when it has
 * no folder (new in a; NULL on NOMEM). */
const char *imp_folder(lp_arena *a, const char *member, const char *prefix);
/* The member's file name without folder and extension, with ext appended
 * (new in a). */
const char *imp_stem(lp_arena *a, const char *member, const char *ext);

#endif
