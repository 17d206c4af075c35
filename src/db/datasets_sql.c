/* Statements about datasets. See loupe/db/datasets_sql.h. */
#include "loupe/db/datasets_sql.h"

#include <stdio.h>
#include <string.h>

#include "db_int.h"

#define DATASET_COLUMNS "id, name, slug, " LP_SQL_TS("created_at") ", " LP_SQL_TS("updated_at")

static int read_dataset(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_dataset_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    out->name = lp_db_text(a, r, row, 1);
    out->slug = lp_db_text(a, r, row, 2);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 3);
    lp_db_text_copy(out->updated_at, sizeof out->updated_at, r, row, 4);
    if (!out->name || !out->slug)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading dataset %s", out->id);
    return 0;
}

int lp_db_dataset_create(lp_db *db, lp_arena *a, const char *team_id, const char *name, const char *slug,
                         lp_dataset_row *out, lp_error *err)
{
    const char *p[3] = {team_id, name, slug};
    return lp_db_one(a,
                     lp_db_query(db,
                                 "INSERT INTO datasets (team_id, name, slug) VALUES ($1, $2, $3) "
                                 "ON CONFLICT (team_id, slug) WHERE deleted_at IS NULL DO NOTHING "
                                 "RETURNING " DATASET_COLUMNS,
                                 3, p, err),
                     read_dataset, out, err);
}

int lp_db_dataset_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_dataset_row *out,
                      lp_error *err)
{
    const char *p[2] = {team_id, id};
    return lp_db_one_found(a,
                           lp_db_query(db,
                                       "SELECT " DATASET_COLUMNS " FROM datasets "
                                       "WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL",
                                       2, p, err),
                           read_dataset, out, err, "dataset %s not found", id);
}

int lp_db_dataset_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_created, const char *after_id,
                       int64_t limit, lp_dataset_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[4] = {team_id, after_created, after_id, lim};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " DATASET_COLUMNS " FROM datasets "
                                  "WHERE team_id = $1 AND deleted_at IS NULL "
                                  "AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid)) "
                                  "ORDER BY created_at, id LIMIT $4::bigint",
                                  4, p, err),
                      sizeof **out, read_dataset, "datasets", n, err);
    return *out ? 0 : -1;
}

int lp_db_dataset_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, const char *name,
                         const char *slug, lp_dataset_row *out, lp_error *err)
{
    const char *p[4] = {team_id, id, name, slug};
    int taken;
    PGresult *r = lp_db_query_or_conflict(db,
                                          "UPDATE datasets SET name = coalesce($3, name), "
                                          "slug = coalesce($4, slug), updated_at = now() "
                                          "WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL "
                                          "RETURNING " DATASET_COLUMNS,
                                          4, p, &taken, err);
    if (taken)
        return 1; /* the partial unique index on (team_id, slug) */
    return lp_db_one_found(a, r, read_dataset, out, err, "dataset %s not found", id);
}

int lp_db_dataset_soft_delete(lp_db *db, const char *team_id, const char *id, lp_error *err)
{
    const char *p[2] = {team_id, id};
    return lp_db_exec_found(db,
                            "UPDATE datasets SET deleted_at = now(), updated_at = now() "
                            "WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL",
                            2, p, err, "dataset %s not found", id);
}
