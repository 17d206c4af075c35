/* Statements about teams. See loupe/db/teams_sql.h. */
#include "loupe/db/teams_sql.h"

#include "db_int.h"

#define TEAM_COLUMNS "id, name, slug, " LP_SQL_TS("created_at")

static int read_team(lp_arena *a, PGresult *r, lp_team_row *out, lp_error *err)
{
    lp_db_text_copy(out->id, sizeof out->id, r, 0, 0);
    out->name = lp_db_text(a, r, 0, 1);
    out->slug = lp_db_text(a, r, 0, 2);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, 0, 3);
    if (!out->name || !out->slug)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a team");
    return 0;
}

/* Reads the single row of r into out, or reports team_id not found. Clears r. */
static int one_team(lp_arena *a, PGresult *r, const char *team_id, lp_team_row *out, lp_error *err)
{
    int rc;
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        rc = lp_error_set(err, LP_E_NOT_FOUND, "team %s not found", team_id);
    else
        rc = read_team(a, r, out, err);
    PQclear(r);
    return rc;
}

int lp_db_team_get(lp_db *db, lp_arena *a, const char *team_id, lp_team_row *out, lp_error *err)
{
    const char *p[1] = {team_id};
    return one_team(a, lp_db_query(db, "SELECT " TEAM_COLUMNS " FROM teams WHERE id = $1", 1, p, err), team_id, out,
                    err);
}

int lp_db_team_create(lp_db *db, lp_arena *a, const char *name, const char *slug, lp_team_row *out, lp_error *err)
{
    const char *p[2] = {name, slug};
    PGresult *r = lp_db_query(db,
                              "INSERT INTO teams (name, slug) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING "
                              "RETURNING " TEAM_COLUMNS,
                              2, p, err);
    int rc;
    if (!r)
        return -1;
    rc = PQntuples(r) == 0 ? 1 : read_team(a, r, out, err);
    PQclear(r);
    return rc;
}

int lp_db_team_rename(lp_db *db, lp_arena *a, const char *team_id, const char *name, lp_team_row *out,
                      lp_error *err)
{
    const char *p[2] = {team_id, name};
    return one_team(a, lp_db_query(db, "UPDATE teams SET name = $2 WHERE id = $1 RETURNING " TEAM_COLUMNS, 2, p, err),
                    team_id, out, err);
}

int lp_db_team_lock(lp_db *db, const char *team_id, lp_error *err)
{
    const char *p[1] = {team_id};
    int64_t n = lp_db_exec(db, "SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", 1, p, err);
    if (n < 0)
        return -1;
    if (n == 0)
        return lp_error_set(err, LP_E_NOT_FOUND, "team %s not found", team_id);
    return 0;
}
