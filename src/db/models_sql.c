/* Statements about the model registry. See loupe/db/models_sql.h. */
#include "loupe/db/models_sql.h"

#include <stdio.h>
#include <string.h>

#include "db_int.h"

#define MODEL_COLUMNS                                                                                               \
    "id, name, task, runtime, queue, spec::text, version, file_key, file_size, file_sha256, "                      \
    LP_SQL_TS("uploaded_at") ", created_by, " LP_SQL_TS("created_at") ", " LP_SQL_TS("updated_at")

static int read_model(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_model_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    out->name = lp_db_text(a, r, row, 1);
    out->task = lp_db_text(a, r, row, 2);
    out->runtime = lp_db_text(a, r, row, 3);
    out->queue = lp_db_text(a, r, row, 4);
    out->spec = lp_db_text(a, r, row, 5);
    out->version = lp_db_int_or(r, row, 6, 0);
    out->file_key = PQgetisnull(r, row, 7) ? NULL : lp_db_text(a, r, row, 7);
    out->file_size = lp_db_int_or(r, row, 8, -1);
    out->file_sha256 = PQgetisnull(r, row, 9) ? NULL : lp_db_text(a, r, row, 9);
    out->uploaded_at = PQgetisnull(r, row, 10) ? NULL : lp_db_text(a, r, row, 10);
    out->created_by = PQgetisnull(r, row, 11) ? NULL : lp_db_text(a, r, row, 11);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 12);
    lp_db_text_copy(out->updated_at, sizeof out->updated_at, r, row, 13);
    if (!out->name || !out->task || !out->runtime || !out->queue || !out->spec)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading model %s", out->id);
    return 0;
}

int lp_db_model_create(lp_db *db, lp_arena *a, const char *team_id, const char *user_id, const lp_model_values *v,
                       lp_model_row *out, lp_error *err)
{
    const char *p[7] = {team_id, user_id, v->name, v->task, v->runtime, v->queue, v->spec};
    return lp_db_one(a,
                     lp_db_query(db,
                                 "INSERT INTO models (team_id, created_by, name, task, runtime, queue, spec) "
                                 "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING " MODEL_COLUMNS,
                                 7, p, err),
                     read_model, out, err);
}

int lp_db_model_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_model_row *out, lp_error *err)
{
    const char *p[2] = {team_id, id};
    return lp_db_one_found(a,
                           lp_db_query(db,
                                       "SELECT " MODEL_COLUMNS " FROM models "
                                       "WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL",
                                       2, p, err),
                           read_model, out, err, "model %s not found", id);
}

int lp_db_model_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_id, int64_t limit,
                     lp_model_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[3] = {team_id, after_id, lim};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " MODEL_COLUMNS " FROM models "
                                  "WHERE team_id = $1 AND deleted_at IS NULL AND ($2::uuid IS NULL OR id > $2::uuid) "
                                  "ORDER BY id LIMIT $3::bigint",
                                  3, p, err),
                      sizeof **out, read_model, "models", n, err);
    return *out ? 0 : -1;
}

int lp_db_model_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, int64_t version,
                       const lp_model_values *v, lp_model_row *out, lp_error *err)
{
    char ver[24];
    snprintf(ver, sizeof ver, "%lld", (long long)version);
    const char *p[8] = {team_id, id, ver, v->name, v->task, v->runtime, v->queue, v->spec};
    PGresult *r = lp_db_query(db,
                              "UPDATE models SET name = $4, task = $5, runtime = $6, queue = $7, spec = $8::jsonb, "
                              "version = version + 1, updated_at = now(), "
                              "file_key = CASE WHEN $6 = 'onnx' THEN file_key END, "
                              "file_size = CASE WHEN $6 = 'onnx' THEN file_size END, "
                              "file_sha256 = CASE WHEN $6 = 'onnx' THEN file_sha256 END, "
                              "uploaded_at = CASE WHEN $6 = 'onnx' THEN uploaded_at END "
                              "WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL AND version = $3::bigint "
                              "RETURNING " MODEL_COLUMNS,
                              8, p, err);
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        if (lp_db_model_get(db, a, team_id, id, out, err) != 0)
            return -1;
        return 1;
    }
    return lp_db_one(a, r, read_model, out, err);
}

int lp_db_model_soft_delete(lp_db *db, const char *team_id, const char *id, lp_error *err)
{
    const char *p[2] = {team_id, id};
    return lp_db_exec_found(db,
                            "UPDATE models SET deleted_at = now(), updated_at = now() "
                            "WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL",
                            2, p, err, "model %s not found", id);
}

int lp_db_model_set_file(lp_db *db, const char *team_id, const char *id, const char *key, int64_t size,
                         const char *sha256, lp_error *err)
{
    char sz[24];
    snprintf(sz, sizeof sz, "%lld", (long long)size);
    const char *p[5] = {team_id, id, key, sz, sha256};
    PGresult *r = lp_db_query(db,
                              "UPDATE models SET file_key = CASE WHEN runtime = 'onnx' THEN $3 END, "
                              "file_size = CASE WHEN runtime = 'onnx' THEN $4::bigint END, "
                              "file_sha256 = CASE WHEN runtime = 'onnx' THEN $5 END, "
                              "uploaded_at = CASE WHEN runtime = 'onnx' THEN now() END, "
                              "version = version + (runtime = 'onnx')::int, updated_at = now() "
                              "WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING runtime",
                              5, p, err);
    if (!r)
        return -1;
    int n = PQntuples(r), onnx = n > 0 && strcmp(PQgetvalue(r, 0, 0), "onnx") == 0;
    PQclear(r);
    if (n == 0)
        return lp_error_set(err, LP_E_NOT_FOUND, "model %s not found", id);
    return onnx ? 0 : 1;
}
