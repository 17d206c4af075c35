/* Internals shared by src/db files: the connection object, the prepared
 * statement cache, SQLSTATE mapping, result helpers and the embedded
 * migrations. Nothing outside src/db includes this file (unit tests of the
 * area excepted). */
#ifndef LOUPE_DB_INT_H
#define LOUPE_DB_INT_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"

/* One cached prepared statement: the FNV-1a hash of its SQL text, a copy of
 * the text (to tell hash collisions apart) and its number n (name "lp_<n>"). */
typedef struct lp_db_stmt {
    uint64_t hash;
    char *sql; /* owned; NULL = empty slot */
    unsigned id;
} lp_db_stmt;

/* Slots of the per-connection statement cache (open addressing, power of
 * two). At most half are used; statements beyond that run unprepared. */
#define LP_DB_STMT_SLOTS 512

struct lp_db {
    PGconn *conn;              /* NULL until connected, or after a broken one was closed */
    lp_db_pool *pool;          /* owning pool; NULL for a standalone connection */
    char *url;                 /* standalone only (owned); pooled ones use the pool's */
    int64_t statement_timeout_ms;
    int ever_connected;        /* a later connect counts as a reconnect */
    int server_closed;         /* the server announced it closes this connection */
    lp_db_stmt *stmts;         /* LP_DB_STMT_SLOTS slots, allocated on first use */
    size_t nstmts;
    unsigned next_stmt_id;
    lp_db *next_free;          /* pool free list */
};

/* Opens db->conn to url: client_encoding UTF8, fallback application_name
 * "loupe", then sets statement_timeout. 0, or -1 with LP_E_UNAVAILABLE (the
 * libpq message goes to the log). */
int lp_db_conn_open(lp_db *db, const char *url, lp_error *err);

/* Closes db->conn (if any) and forgets its prepared statements. */
void lp_db_conn_close(lp_db *db);

/* 1 if db->conn is open and still usable: also notices a connection the
 * server has closed since it was last used (server restart). */
int lp_db_conn_healthy(lp_db *db);

/* Runs a script of one or more statements with the simple query protocol
 * (no parameters, nothing cached): migrations and transaction control.
 * 0, or -1 with err mapped like lp_db_query. */
int lp_db_script(lp_db *db, const char *sql, lp_error *err);

/* The lp_code for a SQLSTATE (NULL or "" = no SQLSTATE: LP_E_UNAVAILABLE
 * when the connection is gone, which the caller decides; here LP_E_INTERNAL):
 *   23505 unique violation, class 40 (serialization, deadlock) → LP_E_CONFLICT
 *   23503 foreign key violation, class 22 (data exception, e.g. 22P02
 *         invalid text representation)                          → LP_E_INVALID
 *   57014 query canceled (statement timeout)                    → LP_E_TIMEOUT
 *   class 08 (connection exception), 57P01..57P03 (shutdown)    → LP_E_UNAVAILABLE
 *   anything else                                               → LP_E_INTERNAL */
lp_code lp_db_sqlstate_code(const char *sqlstate);

/* FNV-1a 64-bit hash of a NUL-terminated string (statement cache key). */
uint64_t lp_db_hash_sql(const char *sql);

/* Column value copied into the arena; NULL for SQL NULL or out of memory. */
char *lp_db_text(lp_arena *a, const PGresult *r, int row, int col);
/* Column value copied into out (truncated to cap-1); "" for SQL NULL. */
void lp_db_text_copy(char *out, size_t cap, const PGresult *r, int row, int col);
/* 1 if the column is boolean true ("t"). */
int lp_db_bool(const PGresult *r, int row, int col);

/* A timestamptz column rendered as RFC 3339 UTC with milliseconds:
 * "2026-01-02T03:04:05.678Z". */
#define LP_SQL_TS(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* A timestamptz column as integer microseconds since the epoch (an exact
 * pagination key), and back. */
#define LP_SQL_USEC(col) "((extract(epoch FROM (" col ")) * 1000000)::bigint)::text"
#define LP_SQL_FROM_USEC(param) "(timestamptz 'epoch' + (" param ") * interval '1 microsecond')"

/* One migration embedded at build time from migrations/NNNN_name.sql. */
typedef struct lp_migration {
    int version;
    const char *name;
    const char *sql;
} lp_migration;

/* Generated (cmake/EmbedMigrations.cmake): sorted by version, versions unique. */
extern const lp_migration lp_migrations[];
extern const size_t lp_migrations_count;

#endif
