/* Statements about predictions. See loupe/db/predictions_sql.h. */
#include "loupe/db/predictions_sql.h"

#include <stdio.h>
#include <stdlib.h>

#include "db_int.h"

/* What read_prediction reads, in its order. */
#define PREDICTION_COLUMNS                                                                                         \
    "SELECT p.id, p.slot, p.model_id, p.run_id, p.label, p.class_id, p.type, encode(p.geom, 'hex'), p.data::text, " \
    "p.score::float8, to_jsonb(p.probabilities)::text, " LP_SQL_TS("p.created_at") ", p.item_id "

static const char *text_or_null(lp_arena *a, const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : lp_db_text(a, r, row, col);
}

static int read_prediction(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_prediction_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    out->slot = lp_db_text(a, r, row, 1);
    out->model_id = lp_db_text(a, r, row, 2);
    out->run_id = text_or_null(a, r, row, 3);
    out->label = lp_db_text(a, r, row, 4);
    out->class_id = text_or_null(a, r, row, 5);
    out->type = lp_db_text(a, r, row, 6);
    out->geom_hex = text_or_null(a, r, row, 7);
    out->data = lp_db_text(a, r, row, 8);
    out->score = strtod(PQgetvalue(r, row, 9), NULL);
    out->probabilities = text_or_null(a, r, row, 10);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 11);
    lp_db_text_copy(out->item_id, sizeof out->item_id, r, row, 12);
    if (!out->slot || !out->model_id || !out->label || !out->type || !out->data)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading prediction %s", out->id);
    return 0;
}

int lp_db_predictions_list(lp_db *db, lp_arena *a, const char *team_id, const char *item_id, const char *model_id,
                           const char *after_id, int64_t limit, lp_prediction_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[5] = {team_id, item_id, model_id, after_id, lim};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  PREDICTION_COLUMNS
                                  "FROM predictions p JOIN models m ON m.id = p.model_id AND m.deleted_at IS NULL "
                                  "WHERE p.team_id = $1 AND p.item_id = $2 AND ($3::uuid IS NULL OR p.model_id = $3) "
                                  "AND ($4::uuid IS NULL OR p.id > $4::uuid) ORDER BY p.id LIMIT $5::bigint",
                                  5, p, err),
                      sizeof **out, read_prediction, "predictions", n, err);
    return *out ? 0 : -1;
}

int64_t lp_db_predictions_insert(lp_db *db, const char *team_id, const char *model_id, const char *run_id,
                                 const char *rows_json, lp_error *err)
{
    const char *p[4] = {team_id, model_id, run_id, rows_json};
    return lp_db_exec(db,
                      "INSERT INTO predictions (team_id, item_id, slot, model_id, run_id, ordinal, label, class_id, "
                      "type, geom, score, probabilities) "
                      "SELECT $1, r.item_id, r.slot, $2, $3, r.ordinal, r.label, c.id, r.type, decode(r.geom, 'hex'), "
                      "r.score, CASE WHEN jsonb_typeof(r.probabilities) = 'array' THEN "
                      "ARRAY(SELECT e::real FROM jsonb_array_elements_text(r.probabilities) WITH ORDINALITY AS t(e, k) "
                      "ORDER BY k) END "
                      "FROM jsonb_to_recordset($4::jsonb) AS r(item_id uuid, slot text, ordinal int, "
                      "label text, class_id uuid, type text, geom text, score real, probabilities jsonb) "
                      "LEFT JOIN classes c ON c.id = r.class_id AND c.team_id = $1 "
                      "ON CONFLICT (run_id, item_id, slot, ordinal) WHERE run_id IS NOT NULL DO NOTHING",
                      4, p, err);
}

int lp_db_predictions_acceptable(lp_db *db, lp_arena *a, const char *team_id, const char *item_id,
                                 const char *ids_json, double min_score, const char *model_id, const char *run_id,
                                 lp_prediction_row **out, size_t *n, lp_error *err)
{
    char score[32];
    snprintf(score, sizeof score, "%.9g", min_score);
    const char *p[6] = {team_id, item_id, ids_json, score, model_id, run_id};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  PREDICTION_COLUMNS
                                  "FROM predictions p JOIN models m ON m.id = p.model_id AND m.deleted_at IS NULL "
                                  "JOIN classes c ON c.id = p.class_id AND p.type = ANY (c.annotation_types) "
                                  "WHERE p.team_id = $1 AND p.item_id = $2 AND p.geom IS NOT NULL "
                                  "AND NOT p.data ? 'annotation_id' "
                                  "AND ($3::jsonb IS NULL OR p.id IN (SELECT e::uuid FROM jsonb_array_elements_text($3) e)) "
                                  "AND p.score >= $4::float8 AND ($5::uuid IS NULL OR p.model_id = $5) "
                                  "AND ($6::uuid IS NULL OR p.run_id = $6) ORDER BY p.id FOR UPDATE OF p",
                                  6, p, err),
                      sizeof **out, read_prediction, "predictions", n, err);
    return *out ? 0 : -1;
}

int lp_db_predictions_acceptable_run(lp_db *db, lp_arena *a, const char *team_id, const char *run_id,
                                     const char *item_ids_json, double min_score, lp_prediction_row **out, size_t *n,
                                     lp_error *err)
{
    char score[32];
    snprintf(score, sizeof score, "%.9g", min_score);
    const char *p[4] = {team_id, run_id, item_ids_json, score};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  PREDICTION_COLUMNS
                                  "FROM predictions p JOIN models m ON m.id = p.model_id AND m.deleted_at IS NULL "
                                  "JOIN classes c ON c.id = p.class_id AND p.type = ANY (c.annotation_types) "
                                  "WHERE p.team_id = $1 AND p.run_id = $2 AND p.geom IS NOT NULL "
                                  "AND p.item_id IN (SELECT e::uuid FROM jsonb_array_elements_text($3::jsonb) e) "
                                  "AND NOT p.data ? 'annotation_id' AND p.score >= $4::float8 "
                                  "ORDER BY p.item_id, p.id FOR UPDATE OF p",
                                  4, p, err),
                      sizeof **out, read_prediction, "predictions", n, err);
    return *out ? 0 : -1;
}

int lp_db_predictions_mark_accepted(lp_db *db, const char *team_id, const char *actor_id, const char *job_id,
                                    const char *pairs_json, lp_error *err)
{
    const char *p[4] = {team_id, pairs_json, actor_id && *actor_id ? actor_id : NULL, job_id};
    /* one statement: the marks, then one audit row per item from the rows marked (the item's
     * annotation version is already the one its new annotations gave it) */
    return lp_db_exec(db,
                      "WITH m AS (UPDATE predictions p "
                      "SET data = p.data || jsonb_build_object('annotation_id', r.annotation_id) "
                      "FROM jsonb_to_recordset($2::jsonb) AS r(id uuid, annotation_id text) "
                      "WHERE p.id = r.id AND p.team_id = $1 RETURNING p.id, p.item_id, r.annotation_id) "
                      "INSERT INTO audit_log (team_id, user_id, action, object_type, object_id, data) "
                      "SELECT $1, (SELECT u.id FROM users u WHERE u.id = $3::uuid), 'predictions.accept', 'item', "
                      "m.item_id::text, jsonb_build_object('version', coalesce(v.version, 0), "
                      "'created', jsonb_agg(m.annotation_id ORDER BY m.id), "
                      "'predictions', jsonb_agg(m.id ORDER BY m.id)) "
                      "|| jsonb_strip_nulls(jsonb_build_object('job_id', $4::uuid)) "
                      "FROM m LEFT JOIN item_annotation_versions v ON v.item_id = m.item_id "
                      "GROUP BY m.item_id, v.version",
                      4, p, err) < 0
               ? -1
               : 0;
}
