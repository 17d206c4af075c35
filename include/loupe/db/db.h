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
 * statement of a resource lives in src/db/<resource>_sql.c (lp_db_query and
 * the libpq types are internal to src/db: lp_db is opaque to every other
 * area). lp_db_query prepares each distinct statement once per connection
 * and reuses it.
 *
 * Notifications (LISTEN/NOTIFY): a thread that owns a standalone connection
 * (lp_db_connect) listens with lp_db_listen, waits for lp_db_socket to be
 * readable alongside its own descriptors, then reads what arrived with
 * lp_db_notifications. */
#ifndef LOUPE_DB_DB_H
#define LOUPE_DB_DB_H

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
    uint64_t waits;        /* acquisitions that found no free connection and waited */
    uint64_t wait_us;      /* total time those waited (timed-out ones included), microseconds */
} lp_db_pool_stats;

/* How the server sessions behind db_url behave (db_pooler):
 *   LP_DB_POOLER_NONE         each connection is a server session of its own:
 *                             statements are prepared once per connection and
 *                             statement_timeout is set once per session;
 *   LP_DB_POOLER_TRANSACTION  a transaction pooler (PgBouncer pool_mode =
 *                             transaction) may hand each transaction to another
 *                             server session: statements run unnamed (no
 *                             protocol-level prepared statements) and every
 *                             transaction, explicit or the implicit one of a
 *                             single statement, sets statement_timeout for
 *                             itself (set_config(..., true), i.e. SET LOCAL).
 *                             Session state (LISTEN, session advisory locks,
 *                             migrations) needs a direct connection:
 *                             lp_db_session_url. */
typedef enum lp_db_pooler { LP_DB_POOLER_NONE, LP_DB_POOLER_TRANSACTION } lp_db_pooler;

/* Sets the mode, named "none" or "transaction" (the db_pooler setting), for
 * every connection this process opens from then on; call once at start-up,
 * before any connection exists (default none). 0, or -1 with LP_E_INVALID
 * naming db_pooler. */
int lp_db_use_pooler(const char *name, lp_error *err);
lp_db_pooler lp_db_get_pooler(void);

/* The URL for a connection that needs a server session of its own (LISTEN,
 * session advisory locks, migrations): direct_url when set, else url.
 * Borrowed from the arguments. */
const char *lp_db_session_url(const char *url, const char *direct_url);

/* New pool of at most size connections to url (opened lazily, so a pool can be
 * created while the server is down). Returns NULL with err on bad arguments. */
lp_db_pool *lp_db_pool_new(const char *url, int size, int64_t acquire_timeout_ms, int64_t statement_timeout_ms,
                           lp_error *err);

/* Closes every connection. Callers must have released all connections. NULL is a no-op. */
void lp_db_pool_free(lp_db_pool *pool);

/* A connection for this thread, or NULL with LP_E_UNAVAILABLE (timed out, or
 * the server is unreachable). */
lp_db *lp_db_acquire(lp_db_pool *pool, lp_error *err);

/* Like lp_db_acquire, for a server the caller can do without (a read
 * replica): after a failure to reach it, answers NULL at once for the next
 * 5 seconds, so that callers fall back to the primary without each paying a
 * failed connect. NULL with err (LP_E_UNAVAILABLE). */
lp_db *lp_db_acquire_optional(lp_db_pool *pool, lp_error *err);

/* Returns a connection to its pool; rolls back a transaction left open. NULL is a no-op. */
void lp_db_release(lp_db *db);

void lp_db_pool_get_stats(lp_db_pool *pool, lp_db_pool_stats *out);

/* A standalone connection outside any pool (workers, migrations, tools).
 * lp_db_close closes it; NULL is a no-op. */
lp_db *lp_db_connect(const char *url, int64_t statement_timeout_ms, lp_error *err);
void lp_db_close(lp_db *db);

/* Transactions. begin fails if one is already open. rollback is safe to call
 * when none is open. The BEGIN is sent in one round trip with the
 * transaction's first statement (libpq pipeline mode). */
int lp_db_begin(lp_db *db, lp_error *err);
int lp_db_commit(lp_db *db, lp_error *err);
int lp_db_rollback(lp_db *db);
int lp_db_in_transaction(const lp_db *db);

/* 1 if the connection is usable (after a failure, the pool resets it). */
int lp_db_ok(lp_db *db);

/* One round trip to the server ("SELECT 1"): 0, or -1 with err (readiness probes). */
int lp_db_ping(lp_db *db, lp_error *err);

/* ---- Notifications --------------------------------------------------------- */

/* LISTEN on channel, an identifier of [a-z0-9_] (quoted by the server's
 * rules). Notifications then arrive on this connection until it closes.
 * 0, or -1 with err (LP_E_INVALID for a bad name). */
int lp_db_listen(lp_db *db, const char *channel, lp_error *err);

/* The connection's socket, to poll(2) for readability together with the
 * caller's own descriptors; -1 when not connected. */
int lp_db_socket(lp_db *db);

/* Called for each notification: channel and payload are borrowed for the
 * call only. */
typedef void (*lp_db_notify_fn)(void *cls, const char *channel, const char *payload);

/* Reads whatever the server has sent, without blocking, and calls fn (may
 * be NULL: notifications are then discarded) for each notification in
 * arrival order. Returns the number of notifications, or -1 with
 * LP_E_UNAVAILABLE when the connection is lost (the caller reconnects and
 * listens again: notifications sent meanwhile are gone). */
int lp_db_notifications(lp_db *db, lp_db_notify_fn fn, void *cls, lp_error *err);

/* Applies pending migrations (embedded from migrations/NNNN_*.sql at build
 * time) in order, each in its own transaction, under a session advisory lock so
 * that concurrent starters serialise; records them in schema_migrations.
 * Returns the number applied, or -1. */
int lp_db_migrate(lp_db *db, lp_error *err);

#endif
