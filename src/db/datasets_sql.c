/* Statements about datasets. See loupe/db/datasets_sql.h. */
#include "loupe/db/datasets_sql.h"

#include <stdio.h>
#include <string.h>

#include "db_int.h"

#define DATASET_COLUMNS "id, name, slug, " LP_SQL_TS("created_at") ", " LP_SQL_TS("updated_at")

static int read_dataset(lp_arena *a, const PGresult *r, int row, lp_dataset_row *out, lp_error *err)
{
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    out->name = lp_db_text(a, r, row, 1);
    out->slug = lp_db_text(a, r, row, 2);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 3);
    lp_db_text_copy(out->updated_at, sizeof out->updated_at, r, row, 4);
    if (!out->name || !out->slug)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading dataset %s", out->id);
    return 0;
}

/* One row expected; none → not found (message names the dataset). */
static int read_one(lp_arena *a, PGresult *r, const char *id, lp_dataset_row *out, lp_error *err)
{
    int rc;
    if (PQntuples(r) == 0)
        rc = lp_error_set(err, LP_E_NOT_FOUND, "dataset %s not found", id);
    else
        rc = read_dataset(a, r, 0, out, err);
    PQclear(r);
    return rc;
}

int lp_db_dataset_create(lp_db *db, lp_arena *a, const char *team_id, const char *name, const char *slug,
                         lp_dataset_row *out, lp_error *err)
{
    const char *p[3] = {team_id, name, slug};
    PGresult *r = lp_db_query(db,
                              "INSERT INTO datasets (team_id, name, slug) VALUES ($1, $2, $3) "
                              "ON CONFLICT (team_id, slug) WHERE deleted_at IS NULL DO NOTHING "
                              "RETURNING " DATASET_COLUMNS,
                              3, p, err);
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 1;
    }
    return read_one(a, r, "", out, err);
}

int lp_db_dataset_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_dataset_row *out,
                      lp_error *err)
{
    const char *p[2] = {team_id, id};
    PGresult *r = lp_db_query(db,
                              "SELECT " DATASET_COLUMNS " FROM datasets "
                              "WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL",
                              2, p, err);
    return r ? read_one(a, r, id, out, err) : -1;
}

int lp_db_dataset_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_created, const char *after_id,
                       int64_t limit, lp_dataset_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[4] = {team_id, after_created, after_id, lim};
    PGresult *r = lp_db_query(db,
                              "SELECT " DATASET_COLUMNS " FROM datasets "
                              "WHERE team_id = $1 AND deleted_at IS NULL "
                              "AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid)) "
                              "ORDER BY created_at, id LIMIT $4::bigint",
                              4, p, err);
    int rows, rc = 0;
    if (!r)
        return -1;
    rows = PQntuples(r);
    *n = 0;
    *out = lp_arena_calloc(a, (size_t)rows + 1, sizeof **out);
    if (!*out)
        rc = lp_error_set(err, LP_E_NOMEM, "out of memory listing %d datasets", rows);
    for (int i = 0; rc == 0 && i < rows; i++)
        rc = read_dataset(a, r, i, &(*out)[i], err);
    if (rc == 0)
        *n = (size_t)rows;
    PQclear(r);
    return rc;
}

int lp_db_dataset_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, const char *name,
                         const char *slug, lp_dataset_row *out, lp_error *err)
{
    const char *p[4] = {team_id, id, name, slug};
    lp_error e;
    lp_error_clear(&e);
    PGresult *r = lp_db_query(db,
                              "UPDATE datasets SET name = coalesce($3, name), slug = coalesce($4, slug), "
                              "updated_at = now() "
                              "WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING " DATASET_COLUMNS,
                              4, p, &e);
    if (!r) {
        if (e.code == LP_E_CONFLICT)
            return 1; /* the partial unique index on (team_id, slug) */
        *err = e;
        return -1;
    }
    return read_one(a, r, id, out, err);
}

int lp_db_dataset_soft_delete(lp_db *db, const char *team_id, const char *id, lp_error *err)
{
    const char *p[2] = {team_id, id};
    int64_t n = lp_db_exec(db,
                           "UPDATE datasets SET deleted_at = now(), updated_at = now() "
                           "WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL",
                           2, p, err);
    if (n < 0)
        return -1;
    return n == 0 ? lp_error_set(err, LP_E_NOT_FOUND, "dataset %s not found", id) : 0;
}
