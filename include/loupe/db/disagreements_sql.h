/* Statements about disagreements of model runs with human annotations
 * (src/db/disagreements_sql.c, migrations/0040_model_stage.sql). Scoped by
 * team. A stored row is fresh while its annotation_version is the item's
 * (item_annotation_versions, 0 when it has none); stale rows are never
 * filtered or ranked by. */
#ifndef LOUPE_DB_DISAGREEMENTS_SQL_H
#define LOUPE_DB_DISAGREEMENTS_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/teams_sql.h"

/* One shape of either side, as stored. */
typedef struct lp_dis_input_row {
    char item_id[LP_DB_UUID_LEN];
    const char *id;               /* the annotation's or the prediction's id (arena) */
    int human;                    /* 1: a human (or imported) annotation; 0: a prediction of the run */
    const char *slot;             /* arena */
    const char *class_id;         /* arena; NULL when none */
    const char *geom_hex;         /* the shape blob in hex (arena) */
    double score;                 /* predictions */
} lp_dis_input_row;

/* What a comparison reads of items[0..n): their human annotations with a
 * geometry (source human or import) and run_id's predictions with one, in
 * (item, id) order; versions[k] receives item k's annotation version, read
 * in the same snapshot. 0 or -1. */
int lp_db_disagreement_inputs(lp_db *db, lp_arena *a, const char *team_id, const char *run_id,
                              const char *const *item_ids, size_t n, lp_dis_input_row **rows, size_t *nrows,
                              int64_t *versions, lp_error *err);

/* Stores (or replaces) run_id's rows given as rows_json, a JSON array of
 * {"item_id", "annotation_version", "disagreement" (null: nothing to
 * compare), "detail"}. 0 or -1. */
int lp_db_disagreement_store(lp_db *db, const char *team_id, const char *model_id, const char *run_id,
                             const char *rows_json, lp_error *err);

/* Up to limit stale rows of run_id (item_id only, when not NULL) after
 * after_item (NULL: from the start), in item order: their item ids (arena)
 * and, in *model_id (arena), the run's model. 0 or -1. */
int lp_db_disagreement_stale(lp_db *db, lp_arena *a, const char *team_id, const char *run_id, const char *item_id,
                             const char *after_item, int64_t limit, const char ***item_ids, size_t *n,
                             const char **model_id, lp_error *err);

/* A stale row, by its key. */
typedef struct lp_dis_stale {
    char run_id[LP_DB_UUID_LEN];
    char model_id[LP_DB_UUID_LEN];
    char item_id[LP_DB_UUID_LEN];
} lp_dis_stale;

/* The stale rows of the items of item_ids_json (a JSON array of item ids),
 * every run's, in (run, item) order: one probe of the primary key per item.
 * *rows in a. 0 or -1. */
int lp_db_disagreement_stale_items(lp_db *db, lp_arena *a, const char *team_id, const char *item_ids_json,
                                   lp_dis_stale **rows, size_t *n, lp_error *err);

/* A stored row. */
typedef struct lp_dis_row {
    char run_id[LP_DB_UUID_LEN];
    char model_id[LP_DB_UUID_LEN];
    int has_value;
    double disagreement;
    const char *detail;           /* JSON object text (arena) */
    int64_t annotation_version;
    int fresh;
    char computed_at[32];
} lp_dis_row;

/* The rows of item_id (of run_id only, when not NULL), newest run first. 0 or -1. */
int lp_db_disagreement_of_item(lp_db *db, lp_arena *a, const char *team_id, const char *item_id, const char *run_id,
                               lp_dis_row **rows, size_t *n, lp_error *err);

/* Items of run_id with the highest fresh disagreement (above 0), whose
 * task is in workflow_id, at most top, highest first (then item id): ids
 * and values (arena). 0 or -1. */
int lp_db_disagreement_top(lp_db *db, lp_arena *a, const char *team_id, const char *run_id, const char *workflow_id,
                           int64_t top, const char ***item_ids, double **values, size_t *n, lp_error *err);

#endif
