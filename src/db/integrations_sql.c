/* Statements about inbound integrations. See loupe/db/integrations_sql.h and
 * migrations/0011_webhooks.sql. */
#include "loupe/db/integrations_sql.h"

#include <stdio.h>
#include <stdlib.h>

#include "db_int.h"
#include "loupe/core/util.h"

#define INTEGRATION_COLUMNS "id, team_id, name, secret, " LP_SQL_TS("created_at")

static int read_integration(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_integration_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->team_id, sizeof out->team_id, r, row, 1);
    out->name = lp_db_text(a, r, row, 2);
    out->secret = lp_db_text(a, r, row, 3);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 4);
    if (!out->name || !out->secret)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading integration %s", out->id);
    return 0;
}

int lp_db_integration_create(lp_db *db, lp_arena *a, const char *team_id, const char *user_id, const char *name,
                             const char *secret, int64_t max, lp_integration_row *out, lp_error *err)
{
    const char *p[4] = {team_id, user_id, name, secret};
    int64_t taken;
    if (lp_db_exec(db, "SELECT pg_advisory_xact_lock(hashtext('loupe.integrations.' || $1))", 1, p, err) < 0 ||
        (taken = lp_db_count(db, "SELECT count(*) FROM integrations WHERE team_id = $1", 1, p, err)) < 0)
        return -1;
    if (taken >= max)
        return lp_error_set(err, LP_E_CONFLICT, "the team has %lld integrations, the most allowed "
                                                "(integrations_max); delete one first", (long long)taken);
    return lp_db_one_found(a,
                           lp_db_query(db,
                                       "INSERT INTO integrations (team_id, created_by, name, secret) "
                                       "VALUES ($1, $2, $3, $4) RETURNING " INTEGRATION_COLUMNS,
                                       4, p, err),
                           read_integration, out, err, "integration not created");
}

int lp_db_integration_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_id, int64_t limit,
                           lp_integration_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[3] = {team_id, after_id, lim};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " INTEGRATION_COLUMNS " FROM integrations WHERE team_id = $1 "
                                  "AND ($2::uuid IS NULL OR id > $2::uuid) ORDER BY id LIMIT $3::bigint",
                                  3, p, err),
                      sizeof **out, read_integration, "integrations", n, err);
    return *out ? 0 : -1;
}

int lp_db_integration_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_integration_row *out,
                          lp_error *err)
{
    const char *p[2] = {id, team_id};
    if (!lp_is_uuid(id))
        return lp_error_set(err, LP_E_NOT_FOUND, "integration %s not found", id);
    return lp_db_one_found(a,
                           lp_db_query(db,
                                       "SELECT " INTEGRATION_COLUMNS " FROM integrations WHERE id = $1 "
                                       "AND ($2::uuid IS NULL OR team_id = $2::uuid)",
                                       2, p, err),
                           read_integration, out, err, "integration %s not found", id);
}

int lp_db_integration_delete(lp_db *db, const char *team_id, const char *id, lp_error *err)
{
    const char *p[2] = {team_id, id};
    if (!lp_is_uuid(id))
        return lp_error_set(err, LP_E_NOT_FOUND, "integration %s not found", id);
    return lp_db_exec_found(db, "DELETE FROM integrations WHERE team_id = $1 AND id = $2", 2, p, err,
                            "integration %s not found", id);
}

int lp_db_integration_message_claim(lp_db *db, lp_arena *a, const char *integration_id, const char *message_id,
                                    int *status, char **answer, lp_error *err)
{
    const char *p[2] = {integration_id, message_id};
    PGresult *r;
    int64_t inserted = lp_db_exec(db,
                                  "INSERT INTO integration_messages (integration_id, message_id, status, answer) "
                                  "VALUES ($1, $2, 0, 'null') ON CONFLICT DO NOTHING",
                                  2, p, err);
    if (inserted < 0)
        return -1;
    if (inserted > 0)
        return 0;
    r = lp_db_query(db,
                    "SELECT status, answer::text FROM integration_messages WHERE integration_id = $1 AND message_id = $2",
                    2, p, err);
    if (!r)
        return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return lp_error_set(err, LP_E_CONFLICT, "message %s is being handled; send it again later", message_id);
    }
    *status = (int)lp_db_int_or(r, 0, 0, 0);
    *answer = lp_db_text(a, r, 0, 1);
    PQclear(r);
    return *answer ? 1 : lp_error_set(err, LP_E_NOMEM, "out of memory");
}

int lp_db_integration_message_answer(lp_db *db, const char *integration_id, const char *message_id, int status,
                                     const char *answer, lp_error *err)
{
    char st[16];
    snprintf(st, sizeof st, "%d", status);
    const char *p[4] = {integration_id, message_id, st, answer};
    return lp_db_exec(db,
                      "UPDATE integration_messages SET status = $3::integer, answer = $4::jsonb "
                      "WHERE integration_id = $1 AND message_id = $2",
                      4, p, err) < 0
               ? -1
               : 0;
}

int64_t lp_db_integration_messages_prune(lp_db *db, int64_t keep_ms, int limit, lp_error *err)
{
    return lp_db_prune(db,
                       "DELETE FROM integration_messages WHERE ctid IN (SELECT ctid FROM integration_messages "
                       "WHERE created_at < now() - make_interval(secs => $1::bigint / 1000.0) LIMIT $2::integer)",
                       keep_ms, limit, err);
}
