/* Statements about predictions (src/db/predictions_sql.c, migrations/0025_models.sql).
 * Scoped by team: another team's predictions are never read. */
#ifndef LOUPE_DB_PREDICTIONS_SQL_H
#define LOUPE_DB_PREDICTIONS_SQL_H

#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/teams_sql.h"

typedef struct lp_prediction_row {
    char id[LP_DB_UUID_LEN];
    char item_id[LP_DB_UUID_LEN];
    const char *slot, *model_id, *label, *type;
    const char *run_id, *class_id;  /* NULL when unset */
    const char *geom_hex;           /* the stored shape blob in hex; NULL when none */
    const char *data;               /* JSON object text */
    double score;
    const char *probabilities;      /* JSON array text, NULL when none */
    char created_at[32];
} lp_prediction_row;

/* The team's predictions of item_id in id order after after_id (NULL: from
 * the start), of model_id only when it is not NULL, at most limit. */
int lp_db_predictions_list(lp_db *db, lp_arena *a, const char *team_id, const char *item_id, const char *model_id,
                           const char *after_id, int64_t limit, lp_prediction_row **out, size_t *n, lp_error *err);

/* Stores a run's predictions, given as a JSON array of
 * {"item_id", "slot", "ordinal", "label", "class_id" (or null), "type",
 * "geom" (the shape blob in hex), "score", "probabilities"? (an array of
 * one per label, when the model gives them)}, with one statement. A row whose
 * (run_id, item_id, slot, ordinal) is stored already is left as it is (a
 * redelivered run stores nothing twice); a class_id that is not a class of
 * the team is stored as null. Returns the rows inserted, or -1. */
int64_t lp_db_predictions_insert(lp_db *db, const char *team_id, const char *model_id, const char *run_id,
                                 const char *rows_json, lp_error *err);

/* The team's predictions of item_id that may become annotations, locked
 * (FOR UPDATE) for the caller's transaction, in id order: not accepted yet
 * (data has no "annotation_id"), with a shape and a class of the team that
 * takes their type, score at least min_score; of ids_json (a JSON array of
 * prediction ids) only when not NULL, of model_id and run_id only when not
 * NULL. */
int lp_db_predictions_acceptable(lp_db *db, lp_arena *a, const char *team_id, const char *item_id,
                                 const char *ids_json, double min_score, const char *model_id, const char *run_id,
                                 lp_prediction_row **out, size_t *n, lp_error *err);

/* As lp_db_predictions_acceptable for run_id's predictions of the items in
 * item_ids_json (a JSON array of item ids), in (item, id) order. */
int lp_db_predictions_acceptable_run(lp_db *db, lp_arena *a, const char *team_id, const char *run_id,
                                     const char *item_ids_json, double min_score, lp_prediction_row **out, size_t *n,
                                     lp_error *err);

/* Records which annotation each prediction became, and audits it: pairs_json
 * is a JSON array of {"id", "annotation_id"}; each prediction's data gets
 * "annotation_id", and each item of those predictions one audit_log row
 * (action "predictions.accept", object the item, data {"version",
 * "created": [annotation ids], "predictions": [ids], "job_id"?}), by
 * actor_id (NULL or empty: none; a user gone since is none) and for job_id
 * (NULL: a request). Call it after the items' annotation versions were
 * bumped. All borrowed. 0 or -1. */
int lp_db_predictions_mark_accepted(lp_db *db, const char *team_id, const char *actor_id, const char *job_id,
                                    const char *pairs_json, lp_error *err);

#endif
