/* Statements about team invitations. See loupe/db/invitations_sql.h and
 * migrations/0008_security.sql. */
#include "loupe/db/invitations_sql.h"

#include <stdio.h>

#include "db_int.h"

#define INVITATION_COLUMNS \
    "id, team_id, email, name, role, " LP_SQL_TS("created_at") ", " LP_SQL_TS("expires_at")

static int read_invitation(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_invitation_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->team_id, sizeof out->team_id, r, row, 1);
    out->email = lp_db_text(a, r, row, 2);
    out->name = lp_db_text(a, r, row, 3);
    lp_db_text_copy(out->role, sizeof out->role, r, row, 4);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 5);
    lp_db_text_copy(out->expires_at, sizeof out->expires_at, r, row, 6);
    if (!out->email)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading invitation %s", out->id);
    return 0;
}

int lp_db_invitation_create(lp_db *db, lp_arena *a, const char *team_id, const char *email, const char *name,
                            const char *role, const char *token_hash, const char *invited_by, int64_t ttl_ms,
                            lp_invitation_row *out, lp_error *err)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    const char *p[7] = {team_id, email, name, role, token_hash, invited_by, ttl};
    return lp_db_one_found(a,
                           lp_db_query(db,
                                       "INSERT INTO invitations (team_id, email, name, role, token_hash, invited_by, "
                                       "expires_at) VALUES ($1, $2, $3, $4, $5, $6, "
                                       "now() + make_interval(secs => $7::bigint / 1000.0)) "
                                       "RETURNING " INVITATION_COLUMNS,
                                       7, p, err),
                           read_invitation, out, err, "invitation not recorded");
}

int lp_db_invitation_take(lp_db *db, lp_arena *a, const char *token_hash, lp_invitation_row *out, lp_error *err)
{
    const char *p[1] = {token_hash};
    return lp_db_one_found(a,
                           lp_db_query(db,
                                       "SELECT " INVITATION_COLUMNS " FROM invitations WHERE token_hash = $1 "
                                       "AND accepted_at IS NULL AND expires_at > now() FOR UPDATE",
                                       1, p, err),
                           read_invitation, out, err, "no open invitation has this token (used or expired?)");
}

int lp_db_invitation_accepted(lp_db *db, const char *id, const char *user_id, lp_error *err)
{
    const char *p[2] = {id, user_id};
    return lp_db_exec(db, "UPDATE invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1", 2, p, err) < 0
               ? -1
               : 0;
}
