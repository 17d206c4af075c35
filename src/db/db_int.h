/* Internals shared by src/db files: the connection object, the prepared
 * statement cache, SQLSTATE mapping, result helpers, the statement shapes
 * the <resource>_sql.c files share and the embedded migrations. Nothing
 * outside src/db includes this file (unit tests of the area excepted). */
#ifndef LOUPE_DB_INT_H
#define LOUPE_DB_INT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/buf.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/items_sql.h"
#include "loupe/db/memberships_sql.h"
#include "loupe/db/tasks_sql.h"
#include "loupe/db/workflows_sql.h"

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
    int begin_pending;         /* lp_db_begin's BEGIN goes with the next statement */
    char local_timeout[96];    /* under a transaction pooler, the commands setting statement_timeout for */
    char tx_timeout[64];       /* a lone statement's implicit transaction and for an explicit one; "" when
                                * there is none (it is set once per session) */
    char trace_set[96];        /* "SET LOCAL loupe.traceparent = '…'" sent with lp_db_begin's BEGIN: the trace
                                * of the thread that began the transaction (events record it); "" when none */
    lp_db *next_free;          /* pool free list */
};

/* Runs sql with nparams text parameters (NULL = SQL NULL). Returns a result
 * the caller owns (PQclear), with status TUPLES_OK or COMMAND_OK; or NULL with
 * err mapped from the SQLSTATE: unique violation → LP_E_CONFLICT, foreign-key
 * violation → LP_E_INVALID, invalid text representation → LP_E_INVALID,
 * statement timeout → LP_E_TIMEOUT, serialization failure → LP_E_CONFLICT,
 * connection failure → LP_E_UNAVAILABLE, anything else → LP_E_INTERNAL (the
 * server's message goes to the log, not to the client). */
PGresult *lp_db_query(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err);

/* As lp_db_query, with PostgreSQL's generic plan of the statement
 * (plan_cache_mode force_generic_plan for that statement alone, set and
 * reset in the same round trip): for the hot statements about one row whose
 * planning would cost more than their run. Outside a transaction, the
 * statement runs in one of its own, as with lp_db_query. */
PGresult *lp_db_query_generic(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err);

/* As lp_db_query, for the set-based statements over many rows (parameter
 * arrays, filters that select thousands): planned for the parameters of
 * each run, without JIT compilation (plan_cache_mode force_custom_plan and
 * jit off for that statement alone, set and reset in the same round trip).
 * After five runs PostgreSQL may keep a generic plan, made for whatever the
 * tables held then and blind to the arrays' lengths: a plan made while a
 * workflow had no tasks anti-joined 50,000 items with its 50,000 new tasks
 * by a nested loop. JIT compilation, decided from cost estimates that
 * unnest() and set-returning functions inflate, took a third of such a
 * statement's run (docs/WORKFLOWS.md, "What entering costs"). */
PGresult *lp_db_query_batch(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err);

/* The underlying connection (borrowed), for COPY and pipeline mode. */
PGconn *lp_db_pg(lp_db *db);

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
/* An integer column, or unknown for SQL NULL (results.c). */
int64_t lp_db_int_or(const PGresult *r, int row, int col, int64_t unknown);

/* ---- Statements and their rows (results.c) ---------------------------------
 * The shapes every <resource>_sql.c repeats. Functions that take a PGresult
 * take it over: they clear it, and a NULL one (the query failed, err is set)
 * makes them fail at once, so a call can wrap lp_db_query directly. */

/* Reads row `row` of r into out, one element of the caller's row type.
 * 0, or -1 with err set (LP_E_NOMEM). */
typedef int (*lp_db_row_reader)(lp_arena *a, const PGresult *r, int row, void *out, lp_error *err);

/* Every row of r read into a new arena array of elem_size-byte elements
 * (zeroed, with one spare, so an empty result is still an array). Returns
 * the array with *n rows, or NULL with *n = 0 and err set (out of memory
 * reading `what`, e.g. "datasets"). Takes r. */
void *lp_db_rows(lp_arena *a, PGresult *r, size_t elem_size, lp_db_row_reader read, const char *what, size_t *n,
                 lp_error *err);

/* The first row of r read into out: 0, 1 when r has no row, or -1. Takes r. */
int lp_db_one(lp_arena *a, PGresult *r, lp_db_row_reader read, void *out, lp_error *err);

/* Like lp_db_one, but no row is an error: LP_E_NOT_FOUND with the message
 * missing_fmt ("dataset %s not found"). 0 or -1. Takes r. */
int lp_db_one_found(lp_arena *a, PGresult *r, lp_db_row_reader read, void *out, lp_error *err,
                    const char *missing_fmt, ...) __attribute__((format(printf, 6, 7)));

/* Like lp_db_query, but a conflict (LP_E_CONFLICT: a unique violation or a
 * serialization failure) is an answer rather than an error: NULL with
 * *conflict = 1 and err untouched. Otherwise *conflict = 0. */
PGresult *lp_db_query_or_conflict(lp_db *db, const char *sql, int nparams, const char *const *params, int *conflict,
                                  lp_error *err);

/* Runs sql with nparams text parameters (NULL = SQL NULL) for statements
 * whose rows are not needed; returns the number of rows affected (>= 0), or
 * -1 with err mapped from the SQLSTATE as lp_db_query does. Private to src/db:
 * every statement lives in a <resource>_sql.c. */
int64_t lp_db_exec(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err);

/* Like lp_db_exec for a statement that must affect a row: 0, or -1, with
 * LP_E_NOT_FOUND and the message missing_fmt when it affected none. */
int lp_db_exec_found(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err,
                     const char *missing_fmt, ...) __attribute__((format(printf, 6, 7)));

/* Runs a pruning statement whose $1 is an age in milliseconds (bigint) and
 * $2 a row limit (integer): rows deleted, or -1. */
int64_t lp_db_prune(lp_db *db, const char *sql, int64_t keep_ms, int limit, lp_error *err);

/* Runs a query whose first column of the first row is an integer (count(*)
 * and the like) and returns it (>= 0), or -1. */
int64_t lp_db_count(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err);

/* A timestamptz column rendered as RFC 3339 UTC with milliseconds:
 * "2026-01-02T03:04:05.678Z". */
#define LP_SQL_TS(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* A timestamptz column as integer microseconds since the epoch (an exact
 * pagination key), and back. */
#define LP_SQL_USEC(col) "((extract(epoch FROM (" col ")) * 1000000)::bigint)::text"
#define LP_SQL_FROM_USEC(param) "(timestamptz 'epoch' + (" param ") * interval '1 microsecond')"

/* The columns of an lp_team_row of table (alias) t, in the order
 * lp_db_team_read (teams_sql.c, an lp_db_row_reader) reads them. */
#define LP_DB_TEAM_COLUMNS(t) t ".id, " t ".name, " t ".slug, " LP_SQL_TS(t ".created_at")
int lp_db_team_read(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err);

/* The profile columns of a credential look-up (lp_member_profile) for the
 * member of table (alias) m, and the joins they need (aliases pu, pt). */
#define LP_DB_PROFILE_COLUMNS "pu.email, pu.name, pt.name, pt.slug, " LP_SQL_TS("pt.created_at")
#define LP_DB_PROFILE_JOINS(m) " JOIN users pu ON pu.id = " m ".user_id JOIN teams pt ON pt.id = " m ".team_id "
#define LP_DB_PROFILE_NCOLUMNS 5
/* Reads the profile columns starting at column col. 0 or -1 (out of memory). */
int lp_db_profile_read(lp_arena *a, const PGresult *r, int row, int col, lp_member_profile *out, lp_error *err);

/* A timestamptz column as Unix milliseconds ("0" for NULL). */
#define LP_SQL_MS(col) "coalesce((extract(epoch FROM (" col ")) * 1000)::bigint, 0)"

/* The columns of an lp_slot_row, from slots s joined with items i, and
 * their lp_db_row_reader (media_sql.c). */
#define LP_DB_SLOT_COLUMNS                                                                                        \
    "s.id, s.item_id, i.team_id, s.name, s.type, s.status, s.error, s.width, s.height, s.frame_count, s.fps, "   \
    "s.rotation, s.format, s.storage::text, s.metadata::text, s.position, i.status"
int lp_db_slot_read(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err);

/* ---- The statement builder (sqlb.c) ----------------------------------------
 * Statements whose shape depends on the input (filters) are appended from
 * constant fragments whose only variable part is a parameter number; every
 * value travels as a parameter. Failures (too many parameters, too much text,
 * out of memory) are remembered and reported once by lp_sqlb_check. */

#define LP_SQLB_MAX_PARAMS 64
#define LP_SQLB_MAX_TEXT (64 * 1024)
#define LP_SQLB_ARENA_MAX (1024u * 1024 * 1024) /* a ceiling: array literals of many rows */

typedef struct lp_sqlb {
    lp_buf sql;
    const char *params[LP_SQLB_MAX_PARAMS];
    int n;
    lp_arena *a;   /* owned: array literals and number texts */
    int failed;
} lp_sqlb;

int lp_sqlb_init(lp_sqlb *b, lp_error *err);
void lp_sqlb_free(lp_sqlb *b);
/* Adds a parameter (NULL = SQL NULL) and returns its number. */
int lp_sqlb_param(lp_sqlb *b, const char *value);
/* Appends a constant fragment; its conversions are only parameter numbers. */
void lp_sqlb_add(lp_sqlb *b, const char *fragment, ...) __attribute__((format(printf, 2, 3)));
/* Texts owned by the builder: a number, an array literal (lp_db_array_literal). */
const char *lp_sqlb_int(lp_sqlb *b, int64_t v);
const char *lp_sqlb_array(lp_sqlb *b, const char *const *v, size_t n);
/* 0, or -1 with LP_E_TOO_LARGE when something failed along the way. */
int lp_sqlb_check(lp_sqlb *b, lp_error *err);
/* The array literal of a column of n rows: the string member at offset off
 * of each elem-byte row (NULL members are NULL elements). */
const char *lp_sqlb_column(lp_sqlb *b, const void *rows, size_t elem, size_t off, size_t n);
/* Runs sql (NULL: the text built) with the parameters, then frees the
 * builder: the result (the caller clears it), or NULL with err. */
PGresult *lp_sqlb_query(lp_sqlb *b, lp_db *db, const char *sql, lp_error *err);
/* lp_sqlb_query through lp_db_query_batch. */
PGresult *lp_sqlb_query_batch(lp_sqlb *b, lp_db *db, const char *sql, lp_error *err);
/* Like lp_sqlb_query for a statement whose rows are not needed: the rows
 * affected, or -1. */
int64_t lp_sqlb_exec(lp_sqlb *b, lp_db *db, const char *sql, lp_error *err);

/* Appends the item filter as a condition on items "i" (without "WHERE");
 * the team is parameter $1, so it must be the first thing built
 * (items_sql.c). */
void lp_sqlb_item_filter(lp_sqlb *b, const lp_item_filter *f);

/* Runs sql with $1 the ids of n item rows (a uuid[] in their order; unnest
 * it WITH ORDINALITY to keep it): the result (the caller clears it), or
 * NULL with err (items_sql.c). */
PGresult *lp_db_items_by_ids(lp_db *db, const lp_item_row *rows, size_t n, const char *sql, lp_error *err);

/* A PostgreSQL array literal of n strings, each quoted, NULL elements as
 * NULL ({"a",NULL,"b\"c"}), in the arena; NULL when out of memory. */
char *lp_db_array_literal(lp_arena *a, const char *const *v, size_t n);

/* The columns of an lp_workflow_head of workflows row w, and their reader
 * from column col on (workflows_sql.c). */
#define LP_DB_WORKFLOW_HEAD_COLUMNS(w) w ".id, " w ".team_id, " w ".version, " w ".seed"
int lp_db_read_workflow_head(const PGresult *r, int row, int col, lp_workflow_head *out);

/* The columns of an lp_task_row of tasks row (alias) t, in
 * lp_db_read_task's order, and that reader (tasks_sql.c; dst is an
 * lp_task_row). */
#define LP_DB_TASK_COLUMNS(t)                                                                                    \
    t ".id, " t ".team_id, " t ".workflow_id, " t ".item_id, " t ".stage, " t ".state, " t ".assignee_id, "     \
    LP_SQL_TS(t ".claim_expires_at") ", coalesce(" t ".claim_expires_at < now(), false), " t ".priority, "       \
    LP_SQL_TS(t ".stage_entered_at") ", " LP_SQL_TS(t ".created_at") ", " LP_SQL_TS(t ".updated_at")
#define LP_DB_TASK_NCOLUMNS 13
int lp_db_read_task(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err);

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
