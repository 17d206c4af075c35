/* PostgreSQL access: a bounded connection pool, transactions and parameterised
 * queries over libpq.
 *
 * Threads: the pool is shared; an acquired lp_db belongs to one thread until
 * released. A request waits at most db_acquire_timeout for a connection and
 * then fails with LP_E_UNAVAILABLE (HTTP 503) — never an unbounded queue.
 * A connection found broken (server restart) is reset on release or acquire,
 * so the pool recovers by itself once the server is back.
 *
 * SQL text is always constant and values always travel as parameters; every
 * statement of a resource lives in src/db/<resource>_sql.c. lp_db_query
 * prepares each distinct statement once per connection and reuses it. */
#ifndef LOUPE_DB_DB_H
#define LOUPE_DB_DB_H

#include <libpq-fe.h>
#include <stdint.h>

#include "loupe/core/error.h"

typedef struct lp_db_pool lp_db_pool;
typedef struct lp_db lp_db;

typedef struct lp_db_pool_stats {
    int size;              /* connections the pool may hold */
    int open;              /* connections currently open */
    int in_use;            /* acquired right now */
    int waiting;           /* threads waiting to acquire */
    uint64_t acquired;     /* total successful acquisitions */
    uint64_t timeouts;     /* acquisitions that gave up (503) */
    uint64_t reconnects;   /* connections re-established */
} lp_db_pool_stats;

/* New pool of at most size connections to url (opened lazily, so a pool can be
 * created while the server is down). Returns NULL with err on bad arguments. */
lp_db_pool *lp_db_pool_new(const char *url, int size, int64_t acquire_timeout_ms, int64_t statement_timeout_ms,
                           lp_error *err);

/* Closes every connection. Callers must have released all connections. NULL is a no-op. */
void lp_db_pool_free(lp_db_pool *pool);

/* A connection for this thread, or NULL with LP_E_UNAVAILABLE (timed out, or
 * the server is unreachable). */
lp_db *lp_db_acquire(lp_db_pool *pool, lp_error *err);

/* Returns a connection to its pool; rolls back a transaction left open. NULL is a no-op. */
void lp_db_release(lp_db *db);

void lp_db_pool_get_stats(lp_db_pool *pool, lp_db_pool_stats *out);

/* A standalone connection outside any pool (workers, migrations, tools).
 * lp_db_close closes it; NULL is a no-op. */
lp_db *lp_db_connect(const char *url, int64_t statement_timeout_ms, lp_error *err);
void lp_db_close(lp_db *db);

/* The underlying connection (borrowed), for COPY and pipeline mode. */
PGconn *lp_db_pg(lp_db *db);

/* Transactions. begin fails if one is already open. rollback is safe to call
 * when none is open. */
int lp_db_begin(lp_db *db, lp_error *err);
int lp_db_commit(lp_db *db, lp_error *err);
int lp_db_rollback(lp_db *db);
int lp_db_in_transaction(const lp_db *db);

/* Runs sql with nparams text parameters (NULL = SQL NULL). Returns a result
 * the caller owns (PQclear), with status TUPLES_OK or COMMAND_OK; or NULL with
 * err mapped from the SQLSTATE: unique violation → LP_E_CONFLICT, foreign-key
 * violation → LP_E_INVALID, invalid text representation → LP_E_INVALID,
 * statement timeout → LP_E_TIMEOUT, serialization failure → LP_E_CONFLICT,
 * connection failure → LP_E_UNAVAILABLE, anything else → LP_E_INTERNAL (the
 * server's message goes to the log, not to the client). */
PGresult *lp_db_query(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err);

/* Like lp_db_query for statements whose rows are not needed; returns the
 * number of rows affected (>= 0) or -1. */
int64_t lp_db_exec(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err);

/* 1 if the connection is usable (after a failure, the pool resets it). */
int lp_db_ok(lp_db *db);

/* Applies pending migrations (embedded from migrations/NNNN_*.sql at build
 * time) in order, each in its own transaction, under a session advisory lock so
 * that concurrent starters serialise; records them in schema_migrations.
 * Returns the number applied, or -1. */
int lp_db_migrate(lp_db *db, lp_error *err);

#endif
