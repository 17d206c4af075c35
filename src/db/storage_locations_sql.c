/* Statements about external storage locations. See
 * loupe/db/storage_locations_sql.h and migrations/0008_security.sql. */
#include "loupe/db/storage_locations_sql.h"

#include <stdio.h>

#include "db_int.h"

#define LOCATION_COLUMNS "id, slug, bucket, prefix, " LP_SQL_TS("created_at")

static int read_location(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_storage_location_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    out->slug = lp_db_text(a, r, row, 1);
    out->bucket = lp_db_text(a, r, row, 2);
    out->prefix = lp_db_text(a, r, row, 3);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 4);
    if (!out->slug || !out->bucket || !out->prefix)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading storage location %s", out->id);
    return 0;
}

int lp_db_storage_location_create(lp_db *db, lp_arena *a, const char *team_id, const char *user_id,
                                  const char *slug, const char *bucket, const char *prefix, int64_t max,
                                  lp_storage_location_row *out, lp_error *err)
{
    char lim[24];
    const char *p[6] = {team_id, user_id, slug, bucket, prefix, lim};
    int64_t taken;
    snprintf(lim, sizeof lim, "%lld", (long long)max);
    /* one creation at a time: the overlap check below must see every prefix */
    if (lp_db_exec(db, "SELECT pg_advisory_xact_lock(hashtext('loupe.storage_locations'))", 0, NULL, err) < 0)
        return -1;
    if ((taken = lp_db_count(db,
                             "SELECT count(*) FROM storage_locations WHERE team_id <> $1 AND bucket = $2 "
                             "AND (starts_with(prefix, $3) OR starts_with($3, prefix))",
                             3, (const char *const[]){team_id, bucket, prefix}, err)) < 0)
        return -1;
    if (taken > 0)
        return lp_error_set(err, LP_E_CONFLICT, "the prefix \"%.200s\" overlaps a storage location of another team",
                            prefix);
    if ((taken = lp_db_count(db, "SELECT count(*) FROM storage_locations WHERE team_id = $1", 1, p, err)) < 0)
        return -1;
    if (taken >= max)
        return lp_error_set(err, LP_E_CONFLICT, "the team has %lld storage locations, the most allowed "
                                                "(storage_locations_max)", (long long)taken);
    int rc = lp_db_one(a,
                       lp_db_query(db,
                                   "INSERT INTO storage_locations (team_id, created_by, slug, bucket, prefix) "
                                   "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (team_id, slug) DO NOTHING "
                                   "RETURNING " LOCATION_COLUMNS,
                                   5, p, err),
                       read_location, out, err);
    if (rc == 1)
        return lp_error_set(err, LP_E_CONFLICT, "the team already has a storage location \"%s\"", slug);
    return rc;
}

int lp_db_storage_location_list(lp_db *db, lp_arena *a, const char *team_id, int64_t max,
                                lp_storage_location_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)max);
    const char *p[2] = {team_id, lim};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " LOCATION_COLUMNS " FROM storage_locations WHERE team_id = $1 "
                                  "ORDER BY created_at, id LIMIT $2::bigint",
                                  2, p, err),
                      sizeof **out, read_location, "storage locations", n, err);
    return *out ? 0 : -1;
}

int lp_db_storage_location_delete(lp_db *db, const char *team_id, const char *id, lp_error *err)
{
    const char *p[2] = {team_id, id};
    return lp_db_exec_found(db, "DELETE FROM storage_locations WHERE team_id = $1 AND id = $2", 2, p, err,
                            "storage location %s not found", id);
}
