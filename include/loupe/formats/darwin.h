/* Darwin JSON 2.0 annotations in and out (docs/ANNOTATIONS.md).
 *
 * In: lp_darwin_read parses one annotation object with the pull parser
 * (loupe/core/json_scan.h), checks its shape with the geometry library
 * (lp_geom_validate, lp_geom_track_check) and its sub-types, and keeps every
 * key it does not know as raw text ("extra"), so imports round-trip. The
 * caller then checks it against its class and slot (lp_ann_check). Field
 * errors name the member from the annotation down ("polygon.paths[0][2].x");
 * the caller anchors them ("create[3].").
 *
 * Out: from the stored form (loupe/annotation/stored.h), rendered into an
 * lp_buf directly with the shortest decimal that reads back as the same
 * double for every coordinate. A video annotation is written in three steps
 * so that its frames can come one at a time (from a cursor):
 *   lp_darwin_write_row, then lp_darwin_write_frame per frame, then
 *   lp_darwin_write_row_end.
 *
 * Pure: no database, no HTTP. Memory: everything parsed lives in the caller's
 * arena and borrows the text it was read from. */
#ifndef LOUPE_FORMATS_DARWIN_H
#define LOUPE_FORMATS_DARWIN_H

#include <stdbool.h>
#include <stddef.h>

#include "loupe/annotation/annotation.h"
#include "loupe/annotation/stored.h"
#include "loupe/core/arena.h"
#include "loupe/core/buf.h"
#include "loupe/core/error.h"
#include "loupe/core/json_scan.h"

/* Reads one annotation object at the scanner's position into out. A syntax
 * error fails the scanner (the caller reports lp_jscan_error); a value that is
 * wrong records field errors in err and the reader carries on to the end of
 * the object, so one response lists every problem. Returns 0 when the object
 * was read and valid, 1 when it was read with field errors, -1 on a syntax
 * error or out of memory (err says which for the latter). */
int lp_darwin_read(lp_jscan *s, lp_arena *a, const lp_ann_limits *lim, lp_ann_mode mode, lp_ann *out, lp_error *err);

/* Reads a Darwin "properties" array (an item's top-level properties) at the
 * scanner's position into out->props / out->nprops, with out->data the
 * array's text as sent. Field errors name "[i].name" (the caller anchors
 * them). 0, 1 or -1 as lp_darwin_read. */
int lp_darwin_read_properties(lp_jscan *s, lp_arena *a, const lp_ann_limits *lim, lp_ann_body *out, lp_error *err);

/* Writes `"<key>":<value>` for g (its Darwin key and value). The caller
 * writes the separators around it. 0 or -1 (buffer full). */
int lp_darwin_write_geom(lp_buf *out, const lp_ann_geom *g);

/* Writes `"<key>":<value>` for a computed shape (interpolation output). */
int lp_darwin_write_shape(lp_buf *out, const lp_geom_shape *s);

/* As lp_darwin_write_shape, in the form of the stored keyframe like: a
 * complex_polygon or a legacy single-path polygon keeps its key and form. */
int lp_darwin_write_computed(lp_buf *out, const lp_ann_geom *like, const lp_geom_shape *s);

/* Writes the annotation object of a stored row: id, class_id, slot and
 * Darwin's slot_names (derived from the slot), name (the class's, when the
 * row has class_name), version, source, z, confidence, its shape and the
 * members of data and extra; for a video annotation also ranges and
 * hidden_areas when they were sent, then opens "frames" (the
 * frames follow with lp_darwin_write_frame). Shapes are decoded into a
 * (reset it between rows). 0, or -1 (buffer full, or a damaged blob: err). */
int lp_darwin_write_row(lp_buf *out, lp_arena *a, const lp_ann_row *row, lp_error *err);

/* `"<frame>":{"keyframe":…,…}` for one frame of the open video annotation,
 * after a comma unless first. 0 or -1 as lp_darwin_write_row. */
int lp_darwin_write_frame(lp_buf *out, lp_arena *a, const lp_ann_frame_row *f, bool first, lp_error *err);

/* Closes the object lp_darwin_write_row opened for row. 0 or -1. */
int lp_darwin_write_row_end(lp_buf *out, const lp_ann_row *row);

#endif
