/* Statements about annotations (src/db/annotations_sql.c): the item's
 * annotation version, batch writes with COPY, streamed reads, idempotency
 * keys.
 *
 * Writes are set-based: a batch of any size is a handful of statements (one
 * DELETE, one COPY of annotations, one COPY of frames, one summary UPDATE),
 * never a round trip per annotation. Reads run in single-row mode with
 * binary results and hand out one row at a time, so an answer of any size is
 * streamed with flat memory.
 *
 * Team scoping: the item is checked against the team once per request
 * (lp_db_ann_item_lock / lp_db_ann_read_begin); every later statement is
 * keyed by that item.
 *
 * Types: rows go in and come out as the annotation module's stored form
 * (loupe/annotation/stored.h); PostgreSQL's syntax (array literals,
 * isolation levels, binary formats) stays in this file. */
#ifndef LOUPE_DB_ANNOTATIONS_SQL_H
#define LOUPE_DB_ANNOTATIONS_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/annotation/stored.h"
#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/items_sql.h"

/* ---- the item and its version ------------------------------------------------ */

/* For a write: checks that the item is the team's (live dataset), then locks
 * its version row (creating it at 0) until the transaction ends, which
 * serialises writers of one item. *version gets the current version.
 * 0, or -1 (LP_E_NOT_FOUND "item … not found"). Call inside a transaction. */
int lp_db_ann_item_lock(lp_db *db, const char *team_id, const char *item_id, int64_t *version, lp_error *err);

/* For a read: starts a read-only REPEATABLE READ transaction (so that what
 * is read next matches *version) and reads the item's current version (0
 * when never written). 0, or -1 (LP_E_NOT_FOUND); the caller rolls back. */
int lp_db_ann_read_begin(lp_db *db, const char *team_id, const char *item_id, int64_t *version, lp_error *err);

/* The item's slots in position order (*out new in a), as the one slot row type
 * of items_sql.h. */
int lp_db_ann_slots(lp_db *db, lp_arena *a, const char *item_id, lp_slot_row **out, size_t *n, lp_error *err);

/* Which of ids (JSON array of annotation ids; NULL: every one) are
 * annotations of the item (annotation ids are unique per item, not across
 * items): *found (new in a) gets them, as stored. */
int lp_db_ann_existing(lp_db *db, lp_arena *a, const char *item_id, const char *ids_json, char ***found, size_t *n,
                       lp_error *err);

/* What a replaced annotation keeps. */
typedef struct lp_db_ann_kept {
    char id[LP_ANN_ID_MAX + 1];
    char *created_by;      /* NULL when unknown */
    char *created_at;
    int64_t version;
} lp_db_ann_kept;

/* Deletes the item's annotations among ids (JSON array) with their frames;
 * *kept (new in a, may be NULL) gets what each deleted row keeps when it is
 * replaced by an update. Returns the number deleted, or -1. */
int64_t lp_db_ann_delete(lp_db *db, lp_arena *a, const char *item_id, const char *ids_json, lp_db_ann_kept **kept,
                         lp_error *err);

/* Who made a replaced annotation and when, kept across an update. */
typedef struct lp_db_ann_origin {
    const char *created_by; /* NULL: the writer */
    const char *created_at; /* NULL: now */
} lp_db_ann_origin;

/* Inserts rows (lp_ann_store) with COPY (text format, streamed in chunks).
 * origins (n of them, or NULL: every row is new) says who made each row;
 * user_id is the writer (created_by when a row has none, and updated_by).
 * A duplicate id fails with LP_E_CONFLICT. 0 or -1. */
int lp_db_ann_insert(lp_db *db, const char *team_id, const char *item_id, const char *user_id,
                     const lp_ann_row *rows, const lp_db_ann_origin *origins, size_t n, lp_error *err);
/* Inserts the frames of inserted video annotations (annotation_id set) of
 * the item. */
int lp_db_ann_frames_insert(lp_db *db, const char *item_id, const lp_ann_frame_row *rows, size_t n, lp_error *err);

/* As lp_db_ann_insert and lp_db_ann_frames_insert for rows of several items:
 * item_ids[i] is row i's item (every row new, made by user_id). Imports
 * write their batches so. */
int lp_db_ann_insert_items(lp_db *db, const char *team_id, const char *const *item_ids, const char *user_id,
                           const lp_ann_row *rows, size_t n, lp_error *err);
int lp_db_ann_frames_insert_items(lp_db *db, const char *const *item_ids, const lp_ann_frame_row *rows, size_t n,
                                  lp_error *err);

/* After a write: refreshes the item's annotation_count and class_ids and
 * bumps its version; *version gets the new one. 0 or -1. */
int lp_db_ann_item_commit(lp_db *db, const char *item_id, int64_t *version, lp_error *err);

/* ---- item-level properties (Darwin's top-level "properties") ----------------------- */

/* Replaces the item's properties with properties_json (a JSON array text,
 * checked by the caller). 0 or -1. */
int lp_db_ann_item_properties_set(lp_db *db, const char *item_id, const char *properties_json, lp_error *err);

/* The item's properties as stored (*properties_json new in a), or NULL when
 * none were ever set. 0 or -1. */
int lp_db_ann_item_properties_get(lp_db *db, lp_arena *a, const char *item_id, char **properties_json, lp_error *err);

/* ---- streamed reads ------------------------------------------------------------ */

typedef struct lp_db_ann_cursor lp_db_ann_cursor;

/* One row of a cursor; every pointer is valid until the next call. */
typedef struct lp_db_ann_out {
    size_t item;               /* lp_db_ann_open_items: which item of the list (0-based); else 0 */
    lp_ann_row ann;
    bool has_frame;            /* false for an annotation without frames */
    lp_ann_frame_row frame;
} lp_db_ann_out;

/* Every annotation of the item (of one slot when slot is not NULL; of those
 * that may show in the viewport view when view is not NULL: whose extent
 * meets it, closed edges included, or that have no extent): first those
 * without frames, in storage order, one row each; then the video and volume
 * ones, one row per frame, in (annotation id, frame) order. The connection
 * is busy until the cursor is closed. NULL on failure. */
lp_db_ann_cursor *lp_db_ann_open_item(lp_db *db, const char *item_id, const char *slot, const lp_geom_bbox *view,
                                      lp_error *err);

/* The annotations of n items, each on one slot (item_ids[i] on slots[i]), in
 * one statement: every row of items[0] (as lp_db_ann_open_item gives them),
 * then every row of items[1], and so on; row->item says whose a row is. An
 * item listed twice gets its rows twice. The exporter reads a page of items
 * with it instead of one cursor per item. NULL on failure. */
lp_db_ann_cursor *lp_db_ann_open_items(lp_db *db, const char *const *item_ids, const char *const *slots, size_t n,
                                       lp_error *err);

/* The keyframes of the slot's video annotations (raster layers only when
 * raster_layer is set; those that may show in view, as above, when it is
 * not NULL) needed to compute frames [from, to]: those inside the window
 * plus the nearest one on each side. Ordered by annotation id, frame. */
lp_db_ann_cursor *lp_db_ann_open_keyframes(lp_db *db, const char *item_id, const char *slot, int64_t from, int64_t to,
                                           const lp_geom_bbox *view, bool raster_layer, lp_error *err);

/* 1 with *row filled, 0 at the end, -1 on error (LP_E_INTERNAL for a row
 * whose columns are not of the expected types or lengths). */
int lp_db_ann_next(lp_db_ann_cursor *c, lp_db_ann_out *row, lp_error *err);

/* Ends the cursor (cancelling the query when rows remain) and leaves the
 * connection ready for the next statement. NULL is a no-op. */
void lp_db_ann_close(lp_db_ann_cursor *c);

/* ---- idempotency keys ----------------------------------------------------------- */

typedef struct lp_db_idem {
    int status;            /* 0 when this request claimed the key */
    char *request_hash;
    char *etag;            /* or NULL */
    char *response;
} lp_db_idem;

/* Claims (team, key) for this request in the caller's transaction, or finds
 * the stored answer of an earlier one made within 24 hours: out->status is 0
 * when claimed, else the stored status with hash, etag and response (arena).
 * A concurrent request with the same key waits for this transaction. */
int lp_db_idem_claim(lp_db *db, lp_arena *a, const char *team_id, const char *key, const char *request_hash,
                     lp_db_idem *out, lp_error *err);

/* Stores the answer for a claimed key (same transaction). */
int lp_db_idem_store(lp_db *db, const char *team_id, const char *key, int status, const char *etag,
                     const char *response, lp_error *err);

#endif
