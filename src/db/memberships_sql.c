/* Statements about memberships. See loupe/db/memberships_sql.h. */
#include "loupe/db/memberships_sql.h"

#include <stdio.h>
#include <stdlib.h>

#include "db_int.h"

#define MEMBER_SELECT                                                                                    \
    "SELECT u.id, u.email, u.name, m.role, " LP_SQL_TS("m.created_at") ", " LP_SQL_USEC("m.created_at")    \
    " FROM memberships m JOIN users u ON u.id = m.user_id "

static int read_member(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_member_row *out = dst;
    lp_db_text_copy(out->user_id, sizeof out->user_id, r, row, 0);
    out->email = lp_db_text(a, r, row, 1);
    out->name = lp_db_text(a, r, row, 2);
    lp_db_text_copy(out->role, sizeof out->role, r, row, 3);
    lp_db_text_copy(out->joined_at, sizeof out->joined_at, r, row, 4);
    lp_db_text_copy(out->cursor_key, sizeof out->cursor_key, r, row, 5);
    if (!out->email || !out->name)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a member");
    return 0;
}

int lp_db_member_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_key, const char *after_id,
                      int64_t limit, lp_member_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    const char *p[4] = {team_id, after_key, after_id, lim};
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  MEMBER_SELECT "WHERE m.team_id = $1 AND ($2::bigint IS NULL OR "
                                                "(m.created_at, m.user_id) > (" LP_SQL_FROM_USEC("$2::bigint")
                                                ", $3::uuid)) ORDER BY m.created_at, m.user_id LIMIT $4::bigint",
                                  4, p, err),
                      sizeof **out, read_member, "members", n, err);
    return *out ? 0 : -1;
}

int lp_db_member_get(lp_db *db, lp_arena *a, const char *team_id, const char *user_id, lp_member_row *out,
                     lp_error *err)
{
    const char *p[2] = {team_id, user_id};
    return lp_db_one_found(a, lp_db_query(db, MEMBER_SELECT "WHERE m.team_id = $1 AND m.user_id = $2", 2, p, err),
                           read_member, out, err, "member %s not found in this team", user_id);
}

int lp_db_member_add(lp_db *db, const char *team_id, const char *user_id, const char *role, lp_error *err)
{
    const char *p[3] = {team_id, user_id, role};
    int64_t n = lp_db_exec(db,
                           "INSERT INTO memberships (team_id, user_id, role) VALUES ($1, $2, $3) "
                           "ON CONFLICT (team_id, user_id) DO NOTHING",
                           3, p, err);
    if (n < 0)
        return -1;
    return n == 0 ? lp_error_set(err, LP_E_CONFLICT, "user %s is already a member of this team", user_id) : 0;
}

int lp_db_member_set_role(lp_db *db, const char *team_id, const char *user_id, const char *role, lp_error *err)
{
    const char *p[3] = {team_id, user_id, role};
    return lp_db_exec_found(db, "UPDATE memberships SET role = $3 WHERE team_id = $1 AND user_id = $2", 3, p, err,
                            "member %s not found in this team", user_id);
}

int lp_db_member_remove(lp_db *db, const char *team_id, const char *user_id, lp_error *err)
{
    const char *p[2] = {team_id, user_id};
    return lp_db_exec_found(db, "DELETE FROM memberships WHERE team_id = $1 AND user_id = $2", 2, p, err,
                            "member %s not found in this team", user_id);
}

int64_t lp_db_member_count_owners(lp_db *db, const char *team_id, lp_error *err)
{
    const char *p[1] = {team_id};
    return lp_db_count(db, "SELECT count(*) FROM memberships WHERE team_id = $1 AND role = 'owner'", 1, p, err);
}

/* The team and the member's role there. */
typedef struct login_row {
    lp_team_row *team;
    char *role; /* LP_DB_ROLE_LEN */
} login_row;

static int read_login(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    login_row *out = dst;
    lp_db_text_copy(out->role, LP_DB_ROLE_LEN, r, row, 4);
    return lp_db_team_read(a, r, row, out->team, err);
}

int lp_db_member_login_team(lp_db *db, lp_arena *a, const char *user_id, const char *team_id, lp_team_row *team,
                            char role[LP_DB_ROLE_LEN], lp_error *err)
{
    const char *p[2] = {user_id, team_id};
    login_row out = {team, role};
    return lp_db_one(a,
                     lp_db_query(db,
                                 "SELECT " LP_DB_TEAM_COLUMNS("t") ", m.role "
                                 "FROM memberships m JOIN teams t ON t.id = m.team_id "
                                 "WHERE m.user_id = $1 AND ($2::uuid IS NULL OR m.team_id = $2::uuid) "
                                 "ORDER BY m.created_at, t.id LIMIT 1",
                                 2, p, err),
                     read_login, &out, err);
}

int lp_db_profile_read(lp_arena *a, const PGresult *r, int row, int col, lp_member_profile *out, lp_error *err)
{
    out->user_email = lp_db_text(a, r, row, col);
    out->user_name = lp_db_text(a, r, row, col + 1);
    out->team_name = lp_db_text(a, r, row, col + 2);
    out->team_slug = lp_db_text(a, r, row, col + 3);
    lp_db_text_copy(out->team_created_at, sizeof out->team_created_at, r, row, col + 4);
    if (!out->user_email || !out->user_name || !out->team_name || !out->team_slug)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a member");
    return 0;
}
