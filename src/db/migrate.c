/* The migration runner: applies the migrations embedded at build time
 * (migrations/NNNN_name.sql → lp_migrations[]) that schema_migrations does
 * not list yet, each in its own transaction, in version order.
 *
 * Several nodes may start at once on the same database: the runner holds a
 * session-level advisory lock for the whole run, so the others wait, then find
 * nothing left to do. statement_timeout is lifted for the run (a migration on
 * a large table, or waiting for the lock, may take long) and restored after. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"

/* pg_advisory_lock key: the bytes "loupemig" as a big-endian int64. */
#define MIGRATE_LOCK_KEY "7813593004109556071"

static int set_statement_timeout(lp_db *db, int64_t ms, lp_error *err)
{
    char v[32];
    const char *params[1] = {v};
    snprintf(v, sizeof v, "%" PRId64, ms);
    return lp_db_exec(db, "SELECT set_config('statement_timeout', $1, false)", 1, params, err) < 0 ? -1 : 0;
}

/* 1 if version is in applied[0..n). */
static int applied_has(const int *applied, int n, int version)
{
    for (int i = 0; i < n; i++)
        if (applied[i] == version)
            return 1;
    return 0;
}

static int apply_one(lp_db *db, const lp_migration *m, lp_error *err)
{
    char version[16];
    const char *params[2] = {version, m->name};

    snprintf(version, sizeof version, "%d", m->version);
    if (lp_db_begin(db, err) != 0)
        return -1;
    if (lp_db_script(db, m->sql, err) != 0 ||
        lp_db_exec(db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1::int, $2, now())", 2,
                   params, err) < 0 ||
        lp_db_commit(db, err) != 0) {
        char cause[256] = "";
        lp_code code = err && err->code != LP_OK ? err->code : LP_E_INTERNAL;
        if (err)
            snprintf(cause, sizeof cause, "%s", err->message);
        lp_db_rollback(db);
        lp_error_set(err, code, "migration %04d_%s failed and was rolled back", m->version, m->name);
        return lp_error_detail(err, "%s (the database server's message is in the log)", cause);
    }
    return 0;
}

int lp_db_migrate(lp_db *db, lp_error *err)
{
    const char *lock_params[1] = {MIGRATE_LOCK_KEY};
    PGresult *res = NULL;
    int *applied = NULL, napplied = 0, count = 0, locked = 0, rc = -1;
    int64_t t0 = lp_now_mono_ms();

    if (!db || !lp_db_ok(db))
        return lp_error_set(err, LP_E_UNAVAILABLE, "cannot migrate: the database connection is not open");
    if (lp_db_in_transaction(db))
        return lp_error_set(err, LP_E_INTERNAL, "cannot migrate inside an open transaction");
    if (set_statement_timeout(db, 0, err) != 0)
        goto cleanup;
    if (lp_db_exec(db, "SELECT pg_advisory_lock($1::bigint)", 1, lock_params, err) < 0)
        goto cleanup;
    locked = 1;
    if (lp_db_script(db,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version int PRIMARY KEY,"
                     " name text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now())",
                     err) != 0)
        goto cleanup;
    res = lp_db_query(db, "SELECT version FROM schema_migrations ORDER BY version", 0, NULL, err);
    if (!res)
        goto cleanup;
    napplied = PQntuples(res);
    applied = calloc((size_t)napplied + 1, sizeof *applied);
    if (!applied) {
        lp_error_set(err, LP_E_NOMEM, "out of memory reading schema_migrations");
        goto cleanup;
    }
    for (int i = 0; i < napplied; i++)
        applied[i] = atoi(PQgetvalue(res, i, 0));
    if (napplied > 0 && lp_migrations_count > 0 &&
        applied[napplied - 1] > lp_migrations[lp_migrations_count - 1].version)
        LP_WARN("db", "the database has migration %d applied, newer than this build knows (%d); "
                      "an older binary is running against a newer schema",
                applied[napplied - 1], lp_migrations[lp_migrations_count - 1].version);

    for (size_t i = 0; i < lp_migrations_count; i++) {
        const lp_migration *m = &lp_migrations[i];
        if (applied_has(applied, napplied, m->version))
            continue;
        int64_t t1 = lp_now_mono_ms();
        if (apply_one(db, m, err) != 0)
            goto cleanup;
        LP_INFO("db", "applied migration %04d_%s in %lld ms", m->version, m->name,
                (long long)(lp_now_mono_ms() - t1));
        count++;
    }
    if (count == 0)
        LP_DEBUG("db", "database schema is up to date (%zu migrations)", lp_migrations_count);
    else
        LP_INFO("db", "applied %d migration(s) in %lld ms", count, (long long)(lp_now_mono_ms() - t0));
    rc = count;

cleanup:
    PQclear(res);
    free(applied);
    if (locked) {
        lp_error unlock_err;
        lp_error_clear(&unlock_err);
        if (lp_db_exec(db, "SELECT pg_advisory_unlock($1::bigint)", 1, lock_params, &unlock_err) < 0)
            LP_WARN("db", "could not release the migration lock: %s", unlock_err.message);
    }
    if (lp_db_ok(db)) {
        lp_error restore_err;
        lp_error_clear(&restore_err);
        if (set_statement_timeout(db, db->statement_timeout_ms, &restore_err) != 0)
            LP_WARN("db", "could not restore statement_timeout: %s", restore_err.message);
    }
    return rc;
}
