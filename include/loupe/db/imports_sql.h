/* Statements about imports (src/db/imports_sql.c, migrations/0016_imports.sql).
 *
 * An import row keeps what was asked (format, options, dry run), the
 * uploaded file's storage key, and, once its job is done, the counts and
 * problems. Its state is read from its job in the same statement. Every read
 * is scoped by team: another team's import is "not found".
 *
 * The import job's writes are set-based: each batch of items is a handful of
 * statements whatever its size (match by path and name, create the missing
 * items with their slots, lock, find the annotation ids already there,
 * delete, COPY — annotations_sql.h —, refresh the items), never a round trip
 * per item or annotation. Lists travel as one JSON array parameter. */
#ifndef LOUPE_DB_IMPORTS_SQL_H
#define LOUPE_DB_IMPORTS_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/items_sql.h"
#include "loupe/db/teams_sql.h"

typedef struct lp_import_row {
    char id[LP_DB_UUID_LEN];
    char dataset_id[LP_DB_UUID_LEN];
    char job_id[LP_DB_UUID_LEN];   /* "" until started, or when the job is gone */
    char *format;
    char *options;                 /* JSON object text */
    bool dry_run;
    char *storage_key;             /* NULL until uploaded */
    int64_t size_bytes;            /* -1 when unknown */
    char *sha256;                  /* NULL when unknown */
    char uploaded_at[LP_DB_TIME_LEN]; /* "" until the file is in storage */
    char *counts;                  /* JSON object text, or NULL until done */
    char *problems;                /* JSON array text */
    int64_t problems_total;
    int written;                   /* -1 until done, then 0 or 1 */
    char *created_by;              /* NULL when unknown */
    char created_at[LP_DB_TIME_LEN];
    char started_at[LP_DB_TIME_LEN];  /* "" until started */
    char finished_at[LP_DB_TIME_LEN]; /* "" until done */
    /* the state: awaiting_upload, uploaded, then the job's (queued running succeeded failed cancelled) */
    char status[20];
    double progress;
    char *error;                   /* the job's, or NULL */
} lp_import_row;

/* Inserts an import in the caller's transaction; storage_key (may be NULL)
 * names a file already in storage. *id_out gets its id. 0 or -1. */
int lp_db_import_create(lp_db *db, const char *team_id, const char *user_id, const char *dataset_id,
                        const char *format, const char *options_json, bool dry_run, const char *storage_key,
                        int64_t size_bytes, char id_out[LP_DB_UUID_LEN], lp_error *err);

/* One import of the team. 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_import_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_import_row *out, lp_error *err);

/* The team's imports, newest first, after after_id (NULL: from the newest);
 * at most limit rows (*out new in a). 0 or -1. */
int lp_db_import_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_id, int64_t limit,
                      lp_import_row **out, size_t *n, lp_error *err);

/* Records the uploaded file of an import not started yet. 0, 1 when it has
 * started (nothing changed), or -1 (LP_E_NOT_FOUND). */
int lp_db_import_set_upload(lp_db *db, const char *team_id, const char *id, const char *storage_key,
                            int64_t size_bytes, const char *sha256, lp_error *err);

/* Links an uploaded import not started yet to its job (caller's
 * transaction). 0, 1 when it is not uploaded or already started, -1. */
int lp_db_import_start(lp_db *db, const char *id, const char *job_id, lp_error *err);

/* Records the outcome: counts (JSON object), the problems kept (JSON array)
 * and how many were found, and whether anything was written. 0 or -1. */
int lp_db_import_finish(lp_db *db, const char *id, const char *counts_json, const char *problems_json,
                        int64_t problems_total, bool written, lp_error *err);

/* ---- the job's batches ------------------------------------------------------- */

/* An item of a batch found (or made) in the database: its position in the
 * batch's list and its id. */
typedef struct lp_import_hit {
    size_t index;
    char item_id[LP_DB_UUID_LEN];
} lp_import_hit;

/* The items of the dataset among keys (a JSON array of [path, name] pairs):
 * *out (new in a) gets the position of each found and its id. 0 or -1. */
int lp_db_import_match(lp_db *db, lp_arena *a, const char *team_id, const char *dataset_id, const char *keys_json,
                       lp_import_hit **out, size_t *n, lp_error *err);

/* The item of the dataset in folder path named stem or stem plus one
 * extension ("a" → "a", "a.jpg"; the first by name), with its first slot's
 * size: *name (new in a), *width, *height (-1 when unknown). 1 found, 0 not,
 * -1. */
int lp_db_import_find_image(lp_db *db, lp_arena *a, const char *team_id, const char *dataset_id, const char *path,
                            const char *stem, char **name, int64_t *width, int64_t *height, lp_error *err);

/* The item of the dataset in folder path named stem, stem plus one
 * extension or stem plus ".nii.gz" that has a volume slot (the first by
 * name), with that slot: *name, *slot and *metadata (its JSON object text),
 * new in a. 1 found, 0 not, -1. */
int lp_db_import_find_volume(lp_db *db, lp_arena *a, const char *team_id, const char *dataset_id, const char *path,
                             const char *stem, char **name, char **slot, char **metadata, lp_error *err);

/* Creates items in the dataset, without files, from a JSON array of
 * {"path", "name", "slots": [{"name", "type", "width"?, "height"?,
 * "frame_count"?}]} (status registered); *out gets each one's position and
 * id. 0 or -1 (LP_E_CONFLICT: one exists already). */
int lp_db_import_items_create(lp_db *db, lp_arena *a, const char *team_id, const char *dataset_id,
                              const char *items_json, lp_import_hit **out, size_t *n, lp_error *err);

/* The slots of the items in ids (a JSON array), by item then position
 * (*out new in a). 0 or -1. */
int lp_db_import_slots(lp_db *db, lp_arena *a, const char *ids_json, lp_slot_row **out, size_t *n, lp_error *err);

/* Locks the annotation version rows of the items in ids (creating them), in
 * id order, until the transaction ends. 0 or -1. */
int lp_db_import_lock(lp_db *db, const char *ids_json, lp_error *err);

/* Which of pairs (a JSON array of [item id, annotation id]) are stored:
 * *out (new in a) gets their positions in pairs. 0 or -1. */
int lp_db_import_existing(lp_db *db, lp_arena *a, const char *pairs_json, size_t **out, size_t *n, lp_error *err);

/* Deletes the annotations named by pairs (as above) with their frames.
 * Returns how many, or -1. */
int64_t lp_db_import_delete_pairs(lp_db *db, const char *pairs_json, lp_error *err);

/* Deletes every annotation of the items in ids. Returns how many, or -1. */
int64_t lp_db_import_delete_items(lp_db *db, const char *ids_json, lp_error *err);

/* Sets item properties from a JSON array of [item id, properties array]. 0 or -1. */
int lp_db_import_item_properties(lp_db *db, const char *pairs_json, lp_error *err);

/* After a batch: refreshes each item's annotation_count and class_ids and
 * bumps its annotation version (locked before). 0 or -1. */
int lp_db_import_items_commit(lp_db *db, const char *ids_json, lp_error *err);

#endif
