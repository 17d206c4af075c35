/* The pool, statements, transactions, error mapping and the migration
 * runner against a real PostgreSQL server (started by with_postgres.sh;
 * LOUPE_TEST_PG_HOST / LOUPE_TEST_PG_PORT). Every test works in its own
 * database, created here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_skip.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_int.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"

static char g_admin_url[512];

static void url_for(char *out, size_t cap, const char *dbname)
{
    snprintf(out, cap, "host=%s port=%s user=postgres dbname=%s", getenv("LOUPE_TEST_PG_HOST"),
             getenv("LOUPE_TEST_PG_PORT"), dbname);
}

/* Creates database name (dropping an old one) and writes its URL. */
static void fresh_database(const char *name, char *url, size_t cap)
{
    lp_error err;
    lp_error_clear(&err);
    lp_db *admin = lp_db_connect(g_admin_url, 0, &err);
    assert_non_null(admin);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    assert_int_equal(lp_db_script(admin, sql, &err), 0);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    assert_int_equal(lp_db_script(admin, sql, &err), 0);
    lp_db_close(admin);
    url_for(url, cap, name);
}

static char *scalar(lp_db *db, const char *sql, int n, const char *const *params, char *out, size_t cap)
{
    lp_error err;
    lp_error_clear(&err);
    PGresult *r = lp_db_query(db, sql, n, params, &err);
    if (!r)
        fail_msg("%s: %s", sql, err.message);
    assert_int_equal(PQntuples(r), 1);
    lp_db_text_copy(out, cap, r, 0, 0);
    PQclear(r);
    return out;
}

static int setup(void **state)
{
    (void)state;
    if (!getenv("LOUPE_TEST_PG_HOST") || !getenv("LOUPE_TEST_PG_PORT"))
        return 0;
    url_for(g_admin_url, sizeof g_admin_url, "postgres");
    return 0;
}

#define NEED_SERVER()                                                                                  \
    do {                                                                                               \
        if (!g_admin_url[0])                                                                           \
            LP_TEST_SKIP("LOUPE_TEST_PG_HOST is not set (run it through with_postgres.sh)"); \
    } while (0)

static void test_bad_arguments(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    assert_null(lp_db_pool_new("postgresql:///x", 0, 100, 0, &err));
    assert_int_equal(err.code, LP_E_INVALID);
    assert_string_equal(err.fields[0].field, "db_pool_size");
    lp_error_clear(&err);
    assert_null(lp_db_pool_new("", 4, 100, 0, &err));
    assert_string_equal(err.fields[0].field, "db_url");
    lp_db_pool_free(NULL);
    lp_db_release(NULL);
    lp_db_close(NULL);
}

static void test_unreachable_server(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    /* Nothing listens on port 1: the pool is created (lazy), acquire fails fast. */
    lp_db_pool *p = lp_db_pool_new("postgresql://postgres@127.0.0.1:1/none", 2, 2000, 0, &err);
    assert_non_null(p);
    int64_t t0 = lp_now_mono_ms();
    assert_null(lp_db_acquire(p, &err));
    assert_true(lp_now_mono_ms() - t0 < 2000);
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    assert_null(strstr(err.message, "127.0.0.1")); /* libpq's message goes to the log only */
    lp_db_pool_stats st;
    lp_db_pool_get_stats(p, &st);
    assert_int_equal(st.open, 0);
    assert_int_equal(st.in_use, 0);
    lp_db_pool_free(p);
}

static void test_query_prepares_once(void **state)
{
    (void)state;
    NEED_SERVER();
    char url[512], v[64];
    lp_error err;
    lp_error_clear(&err);
    fresh_database("lp_t_prepare", url, sizeof url);
    lp_db_pool *p = lp_db_pool_new(url, 2, 2000, 5000, &err);
    lp_db *db = lp_db_acquire(p, &err);
    assert_non_null(db);
    const char *args[1] = {"41"};
    assert_string_equal(scalar(db, "SELECT $1::int + 1", 1, args, v, sizeof v), "42");
    args[0] = "1";
    assert_string_equal(scalar(db, "SELECT $1::int + 1", 1, args, v, sizeof v), "2");
    assert_string_equal(scalar(db, "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT $1::int + 1'",
                               0, NULL, v, sizeof v),
                        "1");
    assert_string_equal(scalar(db, "SHOW statement_timeout", 0, NULL, v, sizeof v), "5s");
    assert_string_equal(scalar(db, "SELECT current_setting('application_name')", 0, NULL, v, sizeof v), "loupe");
    /* NULL parameters are SQL NULL. */
    args[0] = NULL;
    assert_string_equal(scalar(db, "SELECT coalesce($1::text, 'null')", 1, args, v, sizeof v), "null");
    lp_db_release(db);
    lp_db_pool_free(p);
}

static void test_errors_are_mapped(void **state)
{
    (void)state;
    NEED_SERVER();
    char url[512];
    lp_error err;
    lp_error_clear(&err);
    fresh_database("lp_t_errors", url, sizeof url);
    lp_db *db = lp_db_connect(url, 200, &err);
    assert_non_null(db);
    assert_int_equal(lp_db_script(db, "CREATE TABLE u (k text PRIMARY KEY)", &err), 0);
    const char *k[1] = {"a"};
    assert_int_equal(lp_db_exec(db, "INSERT INTO u VALUES ($1)", 1, k, &err), 1);
    assert_int_equal(lp_db_exec(db, "INSERT INTO u VALUES ($1)", 1, k, &err), -1);
    assert_int_equal(err.code, LP_E_CONFLICT);
    assert_null(strstr(err.message, "duplicate key")); /* the server's words stay in the log */

    lp_error_clear(&err);
    const char *bad[1] = {"not-a-uuid"};
    assert_null(lp_db_query(db, "SELECT $1::uuid", 1, bad, &err));
    assert_int_equal(err.code, LP_E_INVALID);

    lp_error_clear(&err);
    assert_null(lp_db_query(db, "SELECT pg_sleep(2)", 0, NULL, &err));
    assert_int_equal(err.code, LP_E_TIMEOUT);
    assert_non_null(strstr(err.message, "200 ms"));

    lp_error_clear(&err);
    assert_null(lp_db_query(db, "SELECT * FROM no_such_table", 0, NULL, &err));
    assert_int_equal(err.code, LP_E_INTERNAL);
    assert_true(lp_db_ok(db));
    lp_db_close(db);
}

static void test_transactions(void **state)
{
    (void)state;
    NEED_SERVER();
    char url[512], v[64];
    lp_error err;
    lp_error_clear(&err);
    fresh_database("lp_t_tx", url, sizeof url);
    lp_db_pool *p = lp_db_pool_new(url, 1, 2000, 0, &err);
    lp_db *db = lp_db_acquire(p, &err);
    assert_non_null(db);
    assert_int_equal(lp_db_script(db, "CREATE TABLE t (v int)", &err), 0);

    /* commit */
    assert_int_equal(lp_db_begin(db, &err), 0);
    assert_true(lp_db_in_transaction(db));
    assert_int_equal(lp_db_begin(db, &err), -1); /* no nesting */
    lp_error_clear(&err);
    assert_int_equal(lp_db_exec(db, "INSERT INTO t VALUES (1)", 0, NULL, &err), 1);
    assert_int_equal(lp_db_commit(db, &err), 0);
    assert_false(lp_db_in_transaction(db));

    /* a failed statement makes commit fail and roll back */
    assert_int_equal(lp_db_begin(db, &err), 0);
    assert_int_equal(lp_db_exec(db, "INSERT INTO t VALUES (2)", 0, NULL, &err), 1);
    assert_null(lp_db_query(db, "SELECT 1/0", 0, NULL, &err));
    lp_error_clear(&err);
    assert_int_equal(lp_db_commit(db, &err), -1);
    assert_false(lp_db_in_transaction(db));

    /* released inside a transaction: rolled back */
    assert_int_equal(lp_db_begin(db, &err), 0);
    assert_int_equal(lp_db_exec(db, "INSERT INTO t VALUES (3)", 0, NULL, &err), 1);
    lp_db_release(db);
    db = lp_db_acquire(p, &err); /* the same (only) connection */
    assert_non_null(db);
    assert_false(lp_db_in_transaction(db));
    assert_string_equal(scalar(db, "SELECT string_agg(v::text, ',' ORDER BY v) FROM t", 0, NULL, v, sizeof v), "1");
    assert_int_equal(lp_db_rollback(db), 0); /* none open: fine */
    lp_db_release(db);
    lp_db_pool_free(p);
}

/* BEGIN travels with the transaction's first statement: that statement
 * and the next run in one transaction, a failed first one fails the
 * transaction, and an empty one commits or rolls back as nothing. */
static void test_begin_goes_with_the_first_statement(void **state)
{
    (void)state;
    NEED_SERVER();
    char url[512], v[64], first[64];
    lp_error err;
    lp_error_clear(&err);
    fresh_database("lp_t_begin", url, sizeof url);
    lp_db *db = lp_db_connect(url, 2000, &err);
    assert_non_null(db);
    assert_int_equal(lp_db_script(db, "CREATE TABLE t (v int)", &err), 0);

    /* one transaction: the same transaction id, and a rollback undoes both */
    assert_int_equal(lp_db_begin(db, &err), 0);
    scalar(db, "SELECT txid_current()::text", 0, NULL, first, sizeof first);
    assert_string_equal(scalar(db, "SELECT txid_current()::text", 0, NULL, v, sizeof v), first);
    assert_int_equal(lp_db_exec(db, "INSERT INTO t VALUES (1)", 0, NULL, &err), 1);
    assert_int_equal(lp_db_rollback(db), 0);
    assert_false(lp_db_in_transaction(db));
    assert_string_equal(scalar(db, "SELECT count(*) FROM t", 0, NULL, v, sizeof v), "0");

    /* the first statement fails: its error is reported, commit fails */
    assert_int_equal(lp_db_begin(db, &err), 0);
    assert_null(lp_db_query(db, "SELECT 1/0", 0, NULL, &err));
    assert_int_equal(err.code, LP_E_INVALID); /* division by zero, SQLSTATE 22012 */
    lp_error_clear(&err);
    assert_true(lp_db_in_transaction(db));
    assert_int_equal(lp_db_commit(db, &err), -1);
    lp_error_clear(&err);
    assert_false(lp_db_in_transaction(db));
    const char *bad[1] = {"not-a-uuid"};
    assert_int_equal(lp_db_begin(db, &err), 0);
    assert_null(lp_db_query(db, "SELECT $1::uuid", 1, bad, &err));
    assert_int_equal(err.code, LP_E_INVALID);
    lp_error_clear(&err);
    assert_int_equal(lp_db_rollback(db), 0);

    /* a script first (unprepared) and nothing at all */
    assert_int_equal(lp_db_begin(db, &err), 0);
    assert_int_equal(lp_db_script(db, "INSERT INTO t VALUES (2)", &err), 0);
    assert_int_equal(lp_db_commit(db, &err), 0);
    assert_int_equal(lp_db_begin(db, &err), 0);
    assert_true(lp_db_in_transaction(db));
    assert_int_equal(lp_db_commit(db, &err), 0);
    assert_false(lp_db_in_transaction(db));
    assert_string_equal(scalar(db, "SELECT string_agg(v::text, ',') FROM t", 0, NULL, v, sizeof v), "2");
    lp_db_close(db);
}

/* A statement run with its generic plan answers as it would otherwise, in
 * the transaction open (or pending) if any, and leaves plan_cache_mode as
 * it was for the statements after it. */
static void test_generic_plan_for_one_statement(void **state)
{
    (void)state;
    NEED_SERVER();
    char url[512], v[64], first[64];
    lp_error err;
    lp_error_clear(&err);
    fresh_database("lp_t_generic", url, sizeof url);
    lp_db *db = lp_db_connect(url, 2000, &err);
    assert_non_null(db);
    const char *args[1] = {"41"};
    for (int i = 0; i < 8; i++) { /* past the executions that choose between plans */
        PGresult *r = lp_db_query_generic(db, "SELECT $1::int + 1, current_setting('plan_cache_mode')", 1, args, &err);
        assert_non_null(r);
        assert_string_equal(PQgetvalue(r, 0, 0), "42");
        assert_string_equal(PQgetvalue(r, 0, 1), "force_generic_plan");
        PQclear(r);
    }
    assert_string_equal(scalar(db, "SHOW plan_cache_mode", 0, NULL, v, sizeof v), "auto");

    assert_int_equal(lp_db_begin(db, &err), 0);
    PGresult *r = lp_db_query_generic(db, "SELECT txid_current()::text", 0, NULL, &err);
    assert_non_null(r);
    snprintf(first, sizeof first, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    assert_string_equal(scalar(db, "SELECT txid_current()::text", 0, NULL, v, sizeof v), first);
    assert_string_equal(scalar(db, "SHOW plan_cache_mode", 0, NULL, v, sizeof v), "auto");
    assert_null(lp_db_query_generic(db, "SELECT 1/0", 0, NULL, &err));
    assert_int_equal(err.code, LP_E_INVALID);
    lp_error_clear(&err);
    assert_int_equal(lp_db_commit(db, &err), -1);
    assert_false(lp_db_in_transaction(db));
    lp_db_close(db);
}

/* A statement of many rows (lp_db_query_batch) is planned for its own
 * parameters on every run, without JIT, in the transaction open (or
 * pending) if any; the session's settings are as they were after it. */
static void test_batch_settings_for_one_statement(void **state)
{
    (void)state;
    NEED_SERVER();
    char url[512], v[64], jit[64], first[64];
    lp_error err;
    lp_error_clear(&err);
    fresh_database("lp_t_batch", url, sizeof url);
    lp_db *db = lp_db_connect(url, 2000, &err);
    assert_non_null(db);
    assert_non_null(scalar(db, "SELECT set_config('jit', 'on', false)", 0, NULL, jit, sizeof jit));
    const char *args[1] = {"41"};
    for (int i = 0; i < 8; i++) { /* past the executions that choose between plans */
        PGresult *r = lp_db_query_batch(
            db, "SELECT $1::int + 1, current_setting('plan_cache_mode'), current_setting('jit')", 1, args, &err);
        assert_non_null(r);
        assert_string_equal(PQgetvalue(r, 0, 0), "42");
        assert_string_equal(PQgetvalue(r, 0, 1), "force_custom_plan");
        assert_string_equal(PQgetvalue(r, 0, 2), "off");
        PQclear(r);
    }
    assert_string_equal(scalar(db, "SHOW plan_cache_mode", 0, NULL, v, sizeof v), "auto");
    assert_string_equal(scalar(db, "SHOW jit", 0, NULL, v, sizeof v), "on");

    assert_int_equal(lp_db_begin(db, &err), 0);
    PGresult *r = lp_db_query_batch(db, "SELECT txid_current()::text", 0, NULL, &err);
    assert_non_null(r);
    snprintf(first, sizeof first, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    assert_string_equal(scalar(db, "SELECT txid_current()::text", 0, NULL, v, sizeof v), first);
    assert_string_equal(scalar(db, "SHOW plan_cache_mode", 0, NULL, v, sizeof v), "auto");
    assert_string_equal(scalar(db, "SHOW jit", 0, NULL, v, sizeof v), "on");
    assert_null(lp_db_query_batch(db, "SELECT 1/0", 0, NULL, &err));
    assert_int_equal(err.code, LP_E_INVALID);
    lp_error_clear(&err);
    assert_int_equal(lp_db_commit(db, &err), -1);
    assert_false(lp_db_in_transaction(db));
    lp_db_close(db);
}

/* Under db_pooler = transaction: no named statement is ever prepared, the
 * session keeps the server's statement_timeout, and every transaction (an
 * explicit one, whose first statement may still set its isolation level,
 * and the implicit one of a lone statement or batch statement) runs under
 * the configured one. */
static void test_transaction_pooler_mode(void **state)
{
    (void)state;
    NEED_SERVER();
    char url[512], v[64];
    lp_error err;
    lp_error_clear(&err);
    fresh_database("lp_t_pooler", url, sizeof url);
    assert_int_equal(lp_db_use_pooler("statement", &err), -1);
    assert_string_equal(err.fields[0].field, "db_pooler");
    lp_error_clear(&err);
    assert_int_equal(lp_db_use_pooler("transaction", &err), 0);
    lp_db_pool *p = lp_db_pool_new(url, 1, 2000, 1500, &err);
    lp_db *db = lp_db_acquire(p, &err);
    assert_non_null(db);
    const char *args[1] = {"41"};
    assert_string_equal(scalar(db, "SELECT $1::int + 1", 1, args, v, sizeof v), "42");
    assert_string_equal(scalar(db, "SELECT $1::int + 1", 1, args, v, sizeof v), "42");
    assert_string_equal(scalar(db, "SELECT count(*) FROM pg_prepared_statements", 0, NULL, v, sizeof v), "0");
    assert_string_equal(scalar(db, "SHOW statement_timeout", 0, NULL, v, sizeof v), "1500ms");
    assert_int_equal(lp_db_script(db, "SELECT 1", &err), 0);
    PGresult *r = PQexec(lp_db_pg(db), "SHOW statement_timeout"); /* the session's own value */
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    assert_int_equal(lp_db_begin(db, &err), 0);
    assert_int_equal(lp_db_exec(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, NULL, &err), 0);
    assert_string_equal(scalar(db, "SHOW transaction_isolation", 0, NULL, v, sizeof v), "repeatable read");
    assert_string_equal(scalar(db, "SHOW statement_timeout", 0, NULL, v, sizeof v), "1500ms");
    assert_int_equal(lp_db_commit(db, &err), 0);
    r = lp_db_query_batch(db, "SELECT current_setting('statement_timeout')", 0, NULL, &err);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "1500ms");
    PQclear(r);
    assert_null(lp_db_query(db, "SELECT pg_sleep(5)", 0, NULL, &err));
    assert_int_equal(err.code, LP_E_TIMEOUT);
    assert_non_null(strstr(err.message, "db_statement_timeout"));
    lp_db_release(db);
    lp_db_pool_free(p);
    assert_int_equal(lp_db_use_pooler("none", &err), 0);
}

/* An optional server that cannot be reached fails at once for a while. */
static void test_optional_acquire_fails_fast(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    lp_db_pool *p = lp_db_pool_new("postgresql://postgres@127.0.0.1:1/none", 2, 2000, 0, &err);
    assert_null(lp_db_acquire_optional(p, &err));
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    lp_error_clear(&err);
    assert_null(lp_db_acquire_optional(p, &err));
    assert_non_null(strstr(err.message, "a moment ago"));
    lp_db_pool_free(p);
    lp_error_clear(&err);
    assert_null(lp_db_acquire_optional(NULL, &err));
}

static void test_exhaustion_times_out(void **state)
{
    (void)state;
    NEED_SERVER();
    char url[512];
    lp_error err;
    lp_error_clear(&err);
    fresh_database("lp_t_exhaust", url, sizeof url);
    lp_db_pool *p = lp_db_pool_new(url, 2, 300, 0, &err);
    lp_db *a = lp_db_acquire(p, &err), *b = lp_db_acquire(p, &err);
    assert_non_null(a);
    assert_non_null(b);
    int64_t t0 = lp_now_mono_ms();
    assert_null(lp_db_acquire(p, &err));
    int64_t waited = lp_now_mono_ms() - t0;
    assert_true(waited >= 290);
    assert_true(waited < 2000);
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    assert_string_equal(err.message, "no database connection became free within 300 ms (db_pool_size=2)");
    lp_db_pool_stats st;
    lp_db_pool_get_stats(p, &st);
    assert_int_equal(st.size, 2);
    assert_int_equal(st.open, 2);
    assert_int_equal(st.in_use, 2);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(st.acquired, 2);
    lp_db_release(a);
    lp_error_clear(&err);
    a = lp_db_acquire(p, &err);
    assert_non_null(a);
    lp_db_release(a);
    lp_db_release(b);
    lp_db_pool_get_stats(p, &st);
    assert_int_equal(st.in_use, 0);
    lp_db_pool_free(p);
}

typedef struct holder {
    lp_db *db;
    int ms;
} holder;

static void *release_later(void *arg)
{
    holder *h = arg;
    struct timespec ts = {0, h->ms * 1000000L};
    nanosleep(&ts, NULL);
    lp_db_release(h->db);
    return NULL;
}

static void test_waiter_gets_released_connection(void **state)
{
    (void)state;
    NEED_SERVER();
    char url[512];
    lp_error err;
    lp_error_clear(&err);
    fresh_database("lp_t_wait", url, sizeof url);
    lp_db_pool *p = lp_db_pool_new(url, 1, 5000, 0, &err);
    holder h = {lp_db_acquire(p, &err), 150};
    assert_non_null(h.db);
    pthread_t t;
    pthread_create(&t, NULL, release_later, &h);
    int64_t t0 = lp_now_mono_ms();
    lp_db *db = lp_db_acquire(p, &err);
    int64_t waited = lp_now_mono_ms() - t0;
    pthread_join(t, NULL);
    assert_non_null(db);
    assert_true(waited >= 100);
    assert_true(waited < 4000);
    lp_db_release(db);
    lp_db_pool_free(p);
}

static void test_reconnects_after_connection_loss(void **state)
{
    (void)state;
    NEED_SERVER();
    char url[512], pid[32], pid2[32], v[64];
    lp_error err;
    lp_error_clear(&err);
    fresh_database("lp_t_reconnect", url, sizeof url);
    lp_db_pool *p = lp_db_pool_new(url, 1, 2000, 0, &err);
    lp_db *db = lp_db_acquire(p, &err);
    assert_non_null(db);
    const char *one[1] = {"7"};
    assert_string_equal(scalar(db, "SELECT $1::int * 6", 1, one, v, sizeof v), "42"); /* prepared as lp_0 */
    scalar(db, "SELECT pg_backend_pid()", 0, NULL, pid, sizeof pid);
    lp_db_release(db);

    /* The server drops the idle connection (as on a restart). */
    lp_db *admin = lp_db_connect(g_admin_url, 0, &err);
    assert_non_null(admin);
    const char *args[1] = {pid};
    scalar(admin, "SELECT pg_terminate_backend($1::int)", 1, args, v, sizeof v);
    assert_string_equal(v, "t");
    lp_db_close(admin);
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);

    db = lp_db_acquire(p, &err);
    assert_non_null(db);
    scalar(db, "SELECT pg_backend_pid()", 0, NULL, pid2, sizeof pid2);
    assert_string_not_equal(pid, pid2);
    /* the statement cache was cleared with the old connection */
    assert_string_equal(scalar(db, "SELECT $1::int * 6", 1, one, v, sizeof v), "42");
    lp_db_pool_stats st;
    lp_db_pool_get_stats(p, &st);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.open, 1);

    /* A connection that breaks while in use is closed on release and reopened. */
    scalar(db, "SELECT pg_backend_pid()", 0, NULL, pid, sizeof pid);
    admin = lp_db_connect(g_admin_url, 0, &err);
    args[0] = pid;
    scalar(admin, "SELECT pg_terminate_backend($1::int)", 1, args, v, sizeof v);
    lp_db_close(admin);
    nanosleep(&ts, NULL);
    lp_error_clear(&err);
    assert_null(lp_db_query(db, "SELECT 1", 0, NULL, &err));
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    lp_db_release(db);
    lp_db_pool_get_stats(p, &st);
    assert_int_equal(st.open, 0);
    db = lp_db_acquire(p, &err);
    assert_non_null(db);
    assert_string_equal(scalar(db, "SELECT 1", 0, NULL, v, sizeof v), "1");
    lp_db_release(db);
    lp_db_pool_get_stats(p, &st);
    assert_int_equal(st.reconnects, 2);
    lp_db_pool_free(p);
}

static void test_migrate_twice(void **state)
{
    (void)state;
    NEED_SERVER();
    char url[512], v[64];
    lp_error err;
    lp_error_clear(&err);
    fresh_database("lp_t_migrate", url, sizeof url);
    lp_db *db = lp_db_connect(url, 1000, &err);
    assert_non_null(db);
    assert_int_equal(lp_db_migrate(db, &err), (int)lp_migrations_count);
    assert_int_equal(lp_db_migrate(db, &err), 0);
    snprintf(v, sizeof v, "%zu", lp_migrations_count);
    char n[64];
    assert_string_equal(scalar(db, "SELECT count(*) FROM schema_migrations", 0, NULL, n, sizeof n), v);
    assert_string_equal(scalar(db, "SELECT to_regclass('public.api_keys') IS NOT NULL", 0, NULL, n, sizeof n), "t");
    /* statement_timeout is restored after the run */
    assert_string_equal(scalar(db, "SHOW statement_timeout", 0, NULL, n, sizeof n), "1s");
    assert_false(lp_db_in_transaction(db));
    lp_db_close(db);
}

typedef struct migrator {
    const char *url;
    int applied;
    lp_error err;
} migrator;

static void *migrate_thread(void *arg)
{
    migrator *m = arg;
    lp_error_clear(&m->err);
    lp_db *db = lp_db_connect(m->url, 0, &m->err);
    m->applied = db ? lp_db_migrate(db, &m->err) : -1;
    lp_db_close(db);
    return NULL;
}

static void test_concurrent_migrations(void **state)
{
    (void)state;
    NEED_SERVER();
    char url[512];
    fresh_database("lp_t_migrate_race", url, sizeof url);
    migrator m[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        m[i].url = url;
        pthread_create(&t[i], NULL, migrate_thread, &m[i]);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        if (m[i].applied < 0)
            fail_msg("migrator %d failed: %s", i, m[i].err.message);
        total += m[i].applied;
    }
    assert_int_equal(total, (int)lp_migrations_count);
}

int main(void)
{
    lp_log_init(LP_LOG_ERROR, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_unreachable_server),
        cmocka_unit_test(test_query_prepares_once),
        cmocka_unit_test(test_errors_are_mapped),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_begin_goes_with_the_first_statement),
        cmocka_unit_test(test_generic_plan_for_one_statement),
        cmocka_unit_test(test_batch_settings_for_one_statement),
        cmocka_unit_test(test_transaction_pooler_mode),
        cmocka_unit_test(test_optional_acquire_fails_fast),
        cmocka_unit_test(test_exhaustion_times_out),
        cmocka_unit_test(test_waiter_gets_released_connection),
        cmocka_unit_test(test_reconnects_after_connection_loss),
        cmocka_unit_test(test_migrate_twice),
        cmocka_unit_test(test_concurrent_migrations),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
