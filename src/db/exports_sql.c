/* Statements about exports. See loupe/db/exports_sql.h and
 * migrations/0012_exports_imports.sql. */
#include "loupe/db/exports_sql.h"

#include <stdio.h>
#include <stdlib.h>

#include "db_int.h"

#define EXPORT_COLUMNS                                                                                               \
    "e.id, coalesce(e.job_id::text, ''), e.format, e.variant, e.filters::text, e.storage_key, "                      \
    "coalesce(e.size_bytes, -1), e.sha256, e.stats::text, e.created_by, " LP_SQL_TS("e.created_at") ", "            \
    LP_SQL_TS("e.finished_at") ", coalesce(j.status, 'failed'), coalesce(j.progress, 0), "                         \
    LP_SQL_TS("CASE WHEN j.status = 'running' AND j.progress > 0 AND j.progress < 1 "                               \
              "THEN j.started_at + (now() - j.started_at) / j.progress END") ", "                                    \
    "CASE WHEN j.id IS NULL THEN 'the export job is gone' ELSE j.error END"
#define EXPORT_FROM " FROM exports e LEFT JOIN jobs j ON j.id = e.job_id "

static int read_export(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_export_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->job_id, sizeof out->job_id, r, row, 1);
    out->format = lp_db_text(a, r, row, 2);
    out->variant = PQgetisnull(r, row, 3) ? NULL : lp_db_text(a, r, row, 3);
    out->filters = lp_db_text(a, r, row, 4);
    out->storage_key = PQgetisnull(r, row, 5) ? NULL : lp_db_text(a, r, row, 5);
    out->size_bytes = lp_db_int_or(r, row, 6, -1);
    out->sha256 = PQgetisnull(r, row, 7) ? NULL : lp_db_text(a, r, row, 7);
    out->stats = PQgetisnull(r, row, 8) ? NULL : lp_db_text(a, r, row, 8);
    out->created_by = PQgetisnull(r, row, 9) ? NULL : lp_db_text(a, r, row, 9);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 10);
    lp_db_text_copy(out->finished_at, sizeof out->finished_at, r, row, 11);
    lp_db_text_copy(out->status, sizeof out->status, r, row, 12);
    out->progress = strtod(PQgetvalue(r, row, 13), NULL);
    lp_db_text_copy(out->eta, sizeof out->eta, r, row, 14);
    out->error = PQgetisnull(r, row, 15) ? NULL : lp_db_text(a, r, row, 15);
    if (!out->format || !out->filters)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading export %s", out->id);
    return 0;
}

static int read_id(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    (void)a;
    (void)err;
    lp_db_text_copy(dst, LP_DB_UUID_LEN, r, row, 0);
    return 0;
}

int lp_db_export_create(lp_db *db, const char *team_id, const char *user_id, const char *format,
                        const char *variant, const char *filters_json, char id_out[LP_DB_UUID_LEN], lp_error *err)
{
    const char *p[5] = {team_id, user_id, format, variant, filters_json};
    return lp_db_one(NULL,
                     lp_db_query(db,
                                 "INSERT INTO exports (team_id, created_by, format, variant, filters) "
                                 "VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id",
                                 5, p, err),
                     read_id, id_out, err);
}

int lp_db_export_set_job(lp_db *db, const char *id, const char *job_id, lp_error *err)
{
    const char *p[2] = {id, job_id};
    return lp_db_exec(db, "UPDATE exports SET job_id = $2 WHERE id = $1", 2, p, err) < 0 ? -1 : 0;
}

int lp_db_export_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_export_row *out,
                     lp_error *err)
{
    const char *p[2] = {team_id, id};
    return lp_db_one_found(a,
                           lp_db_query(db, "SELECT " EXPORT_COLUMNS EXPORT_FROM "WHERE e.team_id = $1 AND e.id = $2",
                                       2, p, err),
                           read_export, out, err, "export %s not found", id);
}

int lp_db_export_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_id, int64_t limit,
                      lp_export_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[3] = {team_id, after_id, lim};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " EXPORT_COLUMNS EXPORT_FROM
                                  "WHERE e.team_id = $1 AND ($2::uuid IS NULL OR e.id < $2::uuid) "
                                  "ORDER BY e.id DESC LIMIT $3::bigint",
                                  3, p, err),
                      sizeof **out, read_export, "exports", n, err);
    return *out ? 0 : -1;
}

int lp_db_export_finish(lp_db *db, const char *id, const char *storage_key, int64_t size_bytes, const char *sha256,
                        const char *stats_json, lp_error *err)
{
    char size[24];
    snprintf(size, sizeof size, "%lld", (long long)size_bytes);
    const char *p[5] = {id, storage_key, size, sha256, stats_json};
    return lp_db_exec_found(db,
                            "UPDATE exports SET storage_key = $2, size_bytes = $3::bigint, sha256 = $4, "
                            "stats = $5::jsonb, finished_at = now() WHERE id = $1",
                            5, p, err, "export %s not found", id);
}
