/* Statements about API keys. See loupe/db/api_keys_sql.h. */
#include "loupe/db/api_keys_sql.h"

#include <stdio.h>
#include <stdlib.h>

#include "db_int.h"

#define KEY_COLUMNS                                                                                      \
    "id, user_id, name, prefix, role, " LP_SQL_TS("created_at") ", " LP_SQL_TS("expires_at") ", "       \
    LP_SQL_TS("revoked_at") ", " LP_SQL_TS("last_used_at") ", " LP_SQL_USEC("created_at")

static int read_key(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_api_key_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->user_id, sizeof out->user_id, r, row, 1);
    out->name = lp_db_text(a, r, row, 2);
    lp_db_text_copy(out->prefix, sizeof out->prefix, r, row, 3);
    lp_db_text_copy(out->role, sizeof out->role, r, row, 4);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 5);
    lp_db_text_copy(out->expires_at, sizeof out->expires_at, r, row, 6);
    lp_db_text_copy(out->revoked_at, sizeof out->revoked_at, r, row, 7);
    lp_db_text_copy(out->last_used_at, sizeof out->last_used_at, r, row, 8);
    lp_db_text_copy(out->cursor_key, sizeof out->cursor_key, r, row, 9);
    if (!out->name)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading an API key");
    return 0;
}

int lp_db_api_key_create(lp_db *db, lp_arena *a, const char *team_id, const char *user_id, const char *name,
                         const char *prefix, const char *key_hash, const char *role, const char *expires_at,
                         lp_api_key_row *out, lp_error *err)
{
    const char *p[7] = {team_id, user_id, name, prefix, key_hash, role, expires_at};
    PGresult *r = lp_db_query(db,
                              "INSERT INTO api_keys (team_id, user_id, name, prefix, key_hash, role, expires_at) "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz) RETURNING " KEY_COLUMNS,
                              7, p, err);
    return lp_db_one_found(a, r, read_key, out, err, "API key %s was not created", prefix);
}

int lp_db_api_key_list(lp_db *db, lp_arena *a, const char *team_id, const char *user_id, const char *after_key,
                       const char *after_id, int64_t limit, lp_api_key_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    const char *p[5] = {team_id, user_id, after_key, after_id, lim};
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " KEY_COLUMNS " FROM api_keys WHERE team_id = $1 "
                                  "AND ($2::uuid IS NULL OR user_id = $2::uuid) "
                                  "AND ($3::bigint IS NULL OR (created_at, id) < (" LP_SQL_FROM_USEC("$3::bigint")
                                  ", $4::uuid)) ORDER BY created_at DESC, id DESC LIMIT $5::bigint",
                                  5, p, err),
                      sizeof **out, read_key, "API keys", n, err);
    return *out ? 0 : -1;
}

int lp_db_api_key_revoke(lp_db *db, const char *team_id, const char *key_id, const char *user_id,
                         const char *spare_owners_for, lp_error *err)
{
    const char *p[4] = {team_id, key_id, user_id, spare_owners_for};
    PGresult *r = lp_db_query(db,
                              "SELECT $4::uuid IS NOT NULL AND m.role = 'owner' AND k.user_id <> $4::uuid "
                              "FROM api_keys k JOIN memberships m ON m.team_id = k.team_id AND m.user_id = k.user_id "
                              "WHERE k.team_id = $1 AND k.id = $2 AND ($3::uuid IS NULL OR k.user_id = $3::uuid) "
                              "FOR UPDATE OF k",
                              4, p, err);
    int found, spared;
    if (!r)
        return -1;
    found = PQntuples(r) == 1;
    spared = found && lp_db_bool(r, 0, 0);
    PQclear(r);
    if (!found)
        return lp_error_set(err, LP_E_NOT_FOUND, "API key %s not found", key_id);
    if (spared)
        return lp_error_set(err, LP_E_FORBIDDEN, "API key %s belongs to an owner of the team; only an owner may "
                                                 "revoke it", key_id);
    return lp_db_exec(db, "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1", 1, p + 1,
                      err) < 0
               ? -1
               : 0;
}

static int read_key_auth(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_api_key_auth *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->team_id, sizeof out->team_id, r, row, 1);
    lp_db_text_copy(out->user_id, sizeof out->user_id, r, row, 2);
    lp_db_text_copy(out->key_hash, sizeof out->key_hash, r, row, 3);
    lp_db_text_copy(out->key_role, sizeof out->key_role, r, row, 4);
    lp_db_text_copy(out->member_role, sizeof out->member_role, r, row, 5);
    out->revoked = lp_db_bool(r, row, 6);
    out->expired = lp_db_bool(r, row, 7);
    out->stale = lp_db_bool(r, row, 8);
    out->expires_at_ms = strtoll(PQgetvalue(r, row, 9), NULL, 10);
    return lp_db_profile_read(a, r, row, 10, &out->member, err);
}

int lp_db_api_key_find(lp_db *db, lp_arena *a, const char *prefix, lp_api_key_auth *out, lp_error *err)
{
    const char *p[1] = {prefix};
    return lp_db_one(a,
                     lp_db_query(db,
                                 "SELECT k.id, k.team_id, k.user_id, k.key_hash, k.role, m.role, "
                                 "k.revoked_at IS NOT NULL, coalesce(k.expires_at <= now(), false), "
                                 "coalesce(k.last_used_at < now() - interval '1 minute', true), "
                                 LP_SQL_MS("k.expires_at") ", " LP_DB_PROFILE_COLUMNS " FROM api_keys k "
                                 "JOIN memberships m ON m.team_id = k.team_id AND m.user_id = k.user_id"
                                 LP_DB_PROFILE_JOINS("m") "WHERE k.prefix = $1",
                                 1, p, err),
                     read_key_auth, out, err);
}

int lp_db_api_key_touch(lp_db *db, const char *key_id, lp_error *err)
{
    const char *p[1] = {key_id};
    return lp_db_exec(db, "UPDATE api_keys SET last_used_at = now() WHERE id = $1", 1, p, err) < 0 ? -1 : 0;
}
