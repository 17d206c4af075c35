/* Statements about teams. See loupe/db/teams_sql.h. */
#include "loupe/db/teams_sql.h"

#include "db_int.h"

#define TEAM_COLUMNS LP_DB_TEAM_COLUMNS("teams")

int lp_db_team_read(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_team_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    out->name = lp_db_text(a, r, row, 1);
    out->slug = lp_db_text(a, r, row, 2);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 3);
    if (!out->name || !out->slug)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a team");
    return 0;
}

int lp_db_team_get(lp_db *db, lp_arena *a, const char *team_id, lp_team_row *out, lp_error *err)
{
    const char *p[1] = {team_id};
    return lp_db_one_found(a, lp_db_query(db, "SELECT " TEAM_COLUMNS " FROM teams WHERE id = $1", 1, p, err),
                           lp_db_team_read, out, err, "team %s not found", team_id);
}

int lp_db_team_create(lp_db *db, lp_arena *a, const char *name, const char *slug, lp_team_row *out, lp_error *err)
{
    const char *p[2] = {name, slug};
    return lp_db_one(a,
                     lp_db_query(db,
                                 "INSERT INTO teams (name, slug) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING "
                                 "RETURNING " TEAM_COLUMNS,
                                 2, p, err),
                     lp_db_team_read, out, err);
}

int lp_db_team_rename(lp_db *db, lp_arena *a, const char *team_id, const char *name, lp_team_row *out,
                      lp_error *err)
{
    const char *p[2] = {team_id, name};
    return lp_db_one_found(a,
                           lp_db_query(db, "UPDATE teams SET name = $2 WHERE id = $1 RETURNING " TEAM_COLUMNS, 2, p,
                                       err),
                           lp_db_team_read, out, err, "team %s not found", team_id);
}

int lp_db_team_lock(lp_db *db, const char *team_id, lp_error *err)
{
    const char *p[1] = {team_id};
    return lp_db_exec_found(db, "SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", 1, p, err, "team %s not found",
                            team_id);
}
