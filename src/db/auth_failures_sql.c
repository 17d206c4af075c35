/* Failure counters with back-off. See loupe/db/auth_failures_sql.h. */
#include "loupe/db/auth_failures_sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "db_int.h"

/* The parameters of keys[0..n): scopes, keys, free counts, caps. */
typedef struct key_params {
    const char *scopes, *keys;
    char frees[LP_AUTH_FAILURE_KEYS_MAX * 24 + 3], maxes[LP_AUTH_FAILURE_KEYS_MAX * 24 + 3];
} key_params;

static int key_params_make(lp_arena *a, const lp_auth_failure_key *keys, size_t n, key_params *p, lp_error *err)
{
    const char *scopes[LP_AUTH_FAILURE_KEYS_MAX], *names[LP_AUTH_FAILURE_KEYS_MAX];
    size_t fo = 0, mo = 0;

    if (n == 0 || n > LP_AUTH_FAILURE_KEYS_MAX)
        return lp_error_set(err, LP_E_INTERNAL, "%zu failure counters at once (1 to %d)", n, LP_AUTH_FAILURE_KEYS_MAX);
    p->frees[fo++] = '{';
    p->maxes[mo++] = '{';
    for (size_t k = 0; k < n; k++) {
        scopes[k] = keys[k].scope;
        names[k] = keys[k].key;
        fo += (size_t)snprintf(p->frees + fo, sizeof p->frees - fo, "%s%" PRId64, k ? "," : "", keys[k].free);
        mo += (size_t)snprintf(p->maxes + mo, sizeof p->maxes - mo, "%s%" PRId64, k ? "," : "", keys[k].max_ms);
    }
    snprintf(p->frees + fo, sizeof p->frees - fo, "}");
    snprintf(p->maxes + mo, sizeof p->maxes - mo, "}");
    p->scopes = lp_db_array_literal(a, scopes, n);
    p->keys = lp_db_array_literal(a, names, n);
    return p->scopes && p->keys ? 0 : lp_error_set(err, LP_E_NOMEM, "out of memory");
}

int lp_db_auth_failures_wait(lp_db *db, lp_arena *a, const lp_auth_failure_key *keys, size_t n, int64_t *wait_ms,
                             lp_error *err)
{
    key_params kp;
    PGresult *r;

    *wait_ms = 0;
    if (key_params_make(a, keys, n, &kp, err) != 0)
        return -1;
    const char *p[2] = {kp.scopes, kp.keys};
    r = lp_db_query(db,
                    "SELECT coalesce(ceil(extract(epoch FROM max(f.blocked_until) - now()) * 1000), 0)::bigint "
                    "FROM auth_failures f JOIN unnest($1::text[], $2::text[]) AS u(scope, key) "
                    "ON f.scope = u.scope AND f.key = u.key WHERE f.blocked_until > now()",
                    2, p, err);
    if (!r)
        return -1;
    *wait_ms = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return 0;
}

/* The wait of a counter with `failures` failures (a SQL expression over the
 * row's columns and $5, the base in ms). */
#define BLOCK_UNTIL(failures, free, max)                                                                         \
    "CASE WHEN " failures " > " free " THEN now() + least($5::bigint::float8 * power(2, least(" failures " - " \
    free " - 1, 40)), " max "::float8) * interval '1 millisecond' END"

int lp_db_auth_failures_record(lp_db *db, lp_arena *a, const lp_auth_failure_key *keys, size_t n, int64_t base_ms,
                               int64_t forget_ms, lp_error *err)
{
    char base[24], forget[24];
    key_params kp;

    if (key_params_make(a, keys, n, &kp, err) != 0)
        return -1;
    snprintf(base, sizeof base, "%" PRId64, base_ms);
    snprintf(forget, sizeof forget, "%" PRId64, forget_ms);
    const char *p[6] = {kp.scopes, kp.keys, kp.frees, kp.maxes, base, forget};
    const char *old[1] = {forget};
    if (lp_db_exec(db,
                   "INSERT INTO auth_failures AS f (scope, key, failures, free_failures, max_wait_ms, last_failure_at, "
                   "blocked_until) "
                   "SELECT u.scope, u.key, 1, u.free, u.max, now(), " BLOCK_UNTIL("1", "u.free", "u.max")
                   " FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[]) AS u(scope, key, free, max) "
                   "ON CONFLICT (scope, key) DO UPDATE SET "
                   "failures = CASE WHEN f.last_failure_at < now() - $6::bigint * interval '1 millisecond' "
                   "THEN 1 ELSE f.failures + 1 END, "
                   "free_failures = EXCLUDED.free_failures, max_wait_ms = EXCLUDED.max_wait_ms, "
                   "last_failure_at = now(), "
                   "blocked_until = " BLOCK_UNTIL("(CASE WHEN f.last_failure_at < now() - $6::bigint * interval "
                                                  "'1 millisecond' THEN 1 ELSE f.failures + 1 END)",
                                                  "EXCLUDED.free_failures", "EXCLUDED.max_wait_ms"),
                   6, p, err) < 0)
        return -1;
    return lp_db_exec(db,
                      "DELETE FROM auth_failures WHERE last_failure_at < now() - $1::bigint * interval '1 millisecond' "
                      "AND (blocked_until IS NULL OR blocked_until < now())",
                      1, old, err) < 0
               ? -1
               : 0;
}

int lp_db_auth_failures_clear(lp_db *db, const char *scope, const char *key, lp_error *err)
{
    const char *p[2] = {scope, key};
    return lp_db_exec(db, "DELETE FROM auth_failures WHERE scope = $1 AND key = $2", 2, p, err) < 0 ? -1 : 0;
}
