/* Statements about disagreements of model runs with human annotations. See
 * loupe/db/disagreements_sql.h. */
#include "loupe/db/disagreements_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

/* An item's annotation version as the rows compare it (0 when it has none). */
#define CURRENT_VERSION "COALESCE((SELECT v.version FROM item_annotation_versions v WHERE v.item_id = d.item_id), 0)"

static int read_input(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_dis_input_row *out = dst;
    lp_db_text_copy(out->item_id, sizeof out->item_id, r, row, 0);
    out->id = lp_db_text(a, r, row, 1);
    out->human = strcmp(PQgetvalue(r, row, 2), "h") == 0;
    out->slot = lp_db_text(a, r, row, 3);
    out->class_id = PQgetisnull(r, row, 4) ? NULL : lp_db_text(a, r, row, 4);
    out->geom_hex = lp_db_text(a, r, row, 5);
    out->score = strtod(PQgetvalue(r, row, 6), NULL);
    if (!out->id || !out->slot || !out->geom_hex || (!PQgetisnull(r, row, 4) && !out->class_id))
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading shapes");
    return 0;
}

int lp_db_disagreement_inputs(lp_db *db, lp_arena *a, const char *team_id, const char *run_id,
                              const char *const *item_ids, size_t n, lp_dis_input_row **rows, size_t *nrows,
                              int64_t *versions, lp_error *err)
{
    const char *ids = lp_db_array_literal(a, item_ids, n);
    const char *p[3] = {team_id, run_id, ids};
    if (!ids)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading shapes");
    /* The versions first row per item (kind 'v'), then the shapes: one statement, one snapshot. */
    PGresult *r = lp_db_query(
        db,
        "SELECT x.item_id, x.id, x.kind, x.slot, x.class_id, x.geom, x.score FROM ("
        "SELECT i.id AS item_id, NULL::text AS id, 'v' AS kind, COALESCE(v.version, 0)::text AS slot, "
        "NULL::uuid AS class_id, '' AS geom, 0::float8 AS score "
        "FROM unnest($3::uuid[]) AS i(id) LEFT JOIN item_annotation_versions v ON v.item_id = i.id "
        "UNION ALL SELECT a.item_id, a.id::text, 'h', a.slot, a.class_id, encode(a.geom, 'hex'), 0 FROM annotations a "
        "WHERE a.team_id = $1 AND a.item_id = ANY($3::uuid[]) AND a.source <> 'model' AND a.geom IS NOT NULL "
        "UNION ALL SELECT p.item_id, p.id::text, 'p', p.slot, p.class_id, encode(p.geom, 'hex'), p.score FROM predictions p "
        "WHERE p.team_id = $1 AND p.run_id = $2 AND p.item_id = ANY($3::uuid[]) AND p.geom IS NOT NULL"
        ") x ORDER BY x.item_id, x.kind DESC, x.id",
        3, p, err);
    if (!r)
        return -1;
    int total = PQntuples(r);
    lp_dis_input_row *out = lp_arena_calloc(a, (size_t)total + 1, sizeof *out);
    size_t k = 0;
    if (!out) {
        PQclear(r);
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading shapes");
    }
    for (size_t i = 0; i < n; i++)
        versions[i] = 0;
    for (int row = 0; row < total; row++) {
        if (strcmp(PQgetvalue(r, row, 2), "v") == 0) {
            const char *item = PQgetvalue(r, row, 0);
            for (size_t i = 0; i < n; i++)
                if (strcmp(item_ids[i], item) == 0)
                    versions[i] = strtoll(PQgetvalue(r, row, 3), NULL, 10);
            continue;
        }
        if (read_input(a, r, row, &out[k++], err) != 0) {
            PQclear(r);
            return -1;
        }
    }
    PQclear(r);
    *rows = out;
    *nrows = k;
    return 0;
}

int lp_db_disagreement_store(lp_db *db, const char *team_id, const char *model_id, const char *run_id,
                             const char *rows_json, lp_error *err)
{
    const char *p[4] = {team_id, run_id, model_id, rows_json};
    return lp_db_exec(db,
                      "INSERT INTO item_disagreements (item_id, run_id, team_id, model_id, annotation_version, "
                      "disagreement, detail) SELECT r.item_id, $2, $1, $3, r.annotation_version, r.disagreement, "
                      "r.detail FROM jsonb_to_recordset($4::jsonb) AS r(item_id uuid, annotation_version bigint, "
                      "disagreement real, detail jsonb) "
                      "ON CONFLICT (item_id, run_id) DO UPDATE SET annotation_version = EXCLUDED.annotation_version, "
                      "disagreement = EXCLUDED.disagreement, detail = EXCLUDED.detail, computed_at = now()",
                      4, p, err) < 0
               ? -1
               : 0;
}

int lp_db_disagreement_stale(lp_db *db, lp_arena *a, const char *team_id, const char *run_id, const char *item_id,
                             const char *after_item, int64_t limit, const char ***item_ids, size_t *n,
                             const char **model_id, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[5] = {team_id, run_id, item_id, after_item, lim};
    PGresult *r = lp_db_query(db,
                              "SELECT d.item_id, d.model_id FROM item_disagreements d WHERE d.team_id = $1 "
                              "AND d.run_id = $2 AND ($3::uuid IS NULL OR d.item_id = $3) "
                              "AND ($4::uuid IS NULL OR d.item_id > $4) "
                              "AND d.annotation_version <> " CURRENT_VERSION " ORDER BY d.item_id LIMIT $5::bigint",
                              5, p, err);
    if (!r)
        return -1;
    int total = PQntuples(r);
    const char **ids = lp_arena_calloc(a, (size_t)total + 1, sizeof *ids);
    *model_id = NULL;
    for (int row = 0; ids && row < total; row++) {
        ids[row] = lp_db_text(a, r, row, 0);
        if (!*model_id)
            *model_id = lp_db_text(a, r, row, 1);
        if (!ids[row] || !*model_id)
            ids = NULL;
    }
    PQclear(r);
    if (!ids)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading disagreements");
    *item_ids = ids;
    *n = (size_t)total;
    return 0;
}

static int read_stale(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_dis_stale *out = dst;
    (void)a;
    (void)err;
    lp_db_text_copy(out->run_id, sizeof out->run_id, r, row, 0);
    lp_db_text_copy(out->model_id, sizeof out->model_id, r, row, 1);
    lp_db_text_copy(out->item_id, sizeof out->item_id, r, row, 2);
    return 0;
}

int lp_db_disagreement_stale_items(lp_db *db, lp_arena *a, const char *team_id, const char *item_ids_json,
                                   lp_dis_stale **rows, size_t *n, lp_error *err)
{
    const char *p[2] = {team_id, item_ids_json};
    *rows = lp_db_rows(a,
                       lp_db_query(db,
                                   "SELECT d.run_id, d.model_id, d.item_id FROM item_disagreements d "
                                   "WHERE d.item_id IN (SELECT e::uuid FROM jsonb_array_elements_text($2::jsonb) e) "
                                   "AND d.team_id = $1 AND d.annotation_version <> " CURRENT_VERSION " "
                                   "ORDER BY d.run_id, d.item_id",
                                   2, p, err),
                       sizeof **rows, read_stale, "disagreements", n, err);
    return *rows ? 0 : -1;
}

static int read_row(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_dis_row *out = dst;
    lp_db_text_copy(out->run_id, sizeof out->run_id, r, row, 0);
    lp_db_text_copy(out->model_id, sizeof out->model_id, r, row, 1);
    out->has_value = !PQgetisnull(r, row, 2);
    out->disagreement = out->has_value ? strtod(PQgetvalue(r, row, 2), NULL) : 0;
    out->detail = lp_db_text(a, r, row, 3);
    out->annotation_version = lp_db_int_or(r, row, 4, 0);
    out->fresh = lp_db_bool(r, row, 5);
    lp_db_text_copy(out->computed_at, sizeof out->computed_at, r, row, 6);
    return out->detail ? 0 : lp_error_set(err, LP_E_NOMEM, "out of memory reading disagreements");
}

int lp_db_disagreement_of_item(lp_db *db, lp_arena *a, const char *team_id, const char *item_id, const char *run_id,
                               lp_dis_row **rows, size_t *n, lp_error *err)
{
    const char *p[3] = {team_id, item_id, run_id};
    *rows = lp_db_rows(a,
                       lp_db_query(db,
                                   "SELECT d.run_id, d.model_id, d.disagreement::float8, d.detail::text, "
                                   "d.annotation_version, d.annotation_version = " CURRENT_VERSION ", "
                                   LP_SQL_TS("d.computed_at") " FROM item_disagreements d "
                                   "JOIN models m ON m.id = d.model_id AND m.deleted_at IS NULL "
                                   "WHERE d.team_id = $1 AND d.item_id = $2 AND ($3::uuid IS NULL OR d.run_id = $3) "
                                   "ORDER BY d.run_id DESC",
                                   3, p, err),
                       sizeof **rows, read_row, "disagreements", n, err);
    return *rows ? 0 : -1;
}

int lp_db_disagreement_top(lp_db *db, lp_arena *a, const char *team_id, const char *run_id, const char *workflow_id,
                           int64_t top, const char ***item_ids, double **values, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)top);
    const char *p[4] = {team_id, run_id, workflow_id, lim};
    PGresult *r = lp_db_query(db,
                              "SELECT d.item_id, d.disagreement::float8 FROM item_disagreements d "
                              "JOIN tasks t ON t.item_id = d.item_id AND t.workflow_id = $3 "
                              "WHERE d.team_id = $1 AND d.run_id = $2 AND d.disagreement > 0 "
                              "AND d.annotation_version = " CURRENT_VERSION " "
                              "ORDER BY d.disagreement DESC, d.item_id LIMIT $4::bigint",
                              4, p, err);
    if (!r)
        return -1;
    int total = PQntuples(r);
    const char **ids = lp_arena_calloc(a, (size_t)total + 1, sizeof *ids);
    double *v = lp_arena_calloc(a, (size_t)total + 1, sizeof *v);
    for (int row = 0; ids && v && row < total; row++) {
        v[row] = strtod(PQgetvalue(r, row, 1), NULL);
        if (!(ids[row] = lp_db_text(a, r, row, 0)))
            ids = NULL;
    }
    PQclear(r);
    if (!ids || !v)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading disagreements");
    *item_ids = ids;
    *values = v;
    *n = (size_t)total;
    return 0;
}
