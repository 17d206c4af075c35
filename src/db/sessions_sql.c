/* Statements about browser sessions. See loupe/db/sessions_sql.h. */
#include "loupe/db/sessions_sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "db_int.h"

int lp_db_session_create(lp_db *db, const char *team_id, const char *user_id, const char *token_hash,
                         const char *csrf_token, int64_t ttl_ms, char id[LP_DB_UUID_LEN], lp_error *err)
{
    char ttl[32];
    const char *p[5] = {team_id, user_id, token_hash, csrf_token, ttl};
    const char *old[1] = {user_id};
    PGresult *r;

    snprintf(ttl, sizeof ttl, "%" PRId64, ttl_ms);
    if (lp_db_exec(db, "DELETE FROM sessions WHERE user_id = $1 AND (expires_at <= now() OR revoked_at IS NOT NULL)",
                   1, old, err) < 0)
        return -1;
    r = lp_db_query(db,
                    "INSERT INTO sessions (team_id, user_id, token_hash, csrf_token, expires_at) "
                    "VALUES ($1, $2, $3, $4, now() + $5::bigint * interval '1 millisecond') RETURNING id",
                    5, p, err);
    if (!r)
        return -1;
    lp_db_text_copy(id, LP_DB_UUID_LEN, r, 0, 0);
    PQclear(r);
    return 0;
}

static int read_session_auth(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_session_auth *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->team_id, sizeof out->team_id, r, row, 1);
    lp_db_text_copy(out->user_id, sizeof out->user_id, r, row, 2);
    lp_db_text_copy(out->csrf_token, sizeof out->csrf_token, r, row, 3);
    lp_db_text_copy(out->role, sizeof out->role, r, row, 4);
    out->revoked = lp_db_bool(r, row, 5);
    out->expired = lp_db_bool(r, row, 6);
    out->expires_at_ms = strtoll(PQgetvalue(r, row, 7), NULL, 10);
    return lp_db_profile_read(a, r, row, 8, &out->member, err);
}

int lp_db_session_find(lp_db *db, lp_arena *a, const char *token_hash, lp_session_auth *out, lp_error *err)
{
    const char *p[1] = {token_hash};
    return lp_db_one(a,
                     lp_db_query(db,
                                 "SELECT s.id, s.team_id, s.user_id, s.csrf_token, m.role, s.revoked_at IS NOT NULL, "
                                 "s.expires_at <= now(), " LP_SQL_MS("s.expires_at") ", " LP_DB_PROFILE_COLUMNS
                                 " FROM sessions s "
                                 "JOIN memberships m ON m.team_id = s.team_id AND m.user_id = s.user_id"
                                 LP_DB_PROFILE_JOINS("m") "WHERE s.token_hash = $1",
                                 1, p, err),
                     read_session_auth, out, err);
}

int lp_db_session_revoke(lp_db *db, const char *session_id, lp_error *err)
{
    const char *p[1] = {session_id};
    return lp_db_exec(db, "UPDATE sessions SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1", 1, p, err) < 0
               ? -1
               : 0;
}
