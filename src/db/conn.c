/* One PostgreSQL connection: opening it, running parameterised statements
 * through a per-connection prepared statement cache, transactions, and the
 * mapping of server errors to lp_error codes. See db.h and db_int.h.
 *
 * Server messages are logged (module "db"), never copied into the lp_error
 * that may reach a client. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "loupe/core/log.h"
#include "loupe/core/trace.h"

/* ---- SQLSTATE mapping ---------------------------------------------------- */

lp_code lp_db_sqlstate_code(const char *s)
{
    if (!s || strlen(s) != 5)
        return LP_E_INTERNAL;
    if (strcmp(s, "23505") == 0)
        return LP_E_CONFLICT;
    if (strcmp(s, "23503") == 0)
        return LP_E_INVALID;
    if (strncmp(s, "40", 2) == 0)
        return LP_E_CONFLICT;
    if (strncmp(s, "22", 2) == 0)
        return LP_E_INVALID;
    if (strcmp(s, "57014") == 0)
        return LP_E_TIMEOUT;
    if (strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
        strcmp(s, "57P03") == 0)
        return LP_E_UNAVAILABLE;
    return LP_E_INTERNAL;
}

uint64_t lp_db_hash_sql(const char *sql)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* First line of a libpq message, for the log. */
static void first_line(char *out, size_t cap, const char *msg)
{
    size_t n = 0;
    if (msg)
        while (msg[n] && msg[n] != '\n')
            n++;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(out, msg, n);
    out[n] = '\0';
}

/* Fills err for a failed statement (res may be NULL) and logs the server's
 * message. Returns -1. */
static int fail(lp_db *db, PGresult *res, const char *what, lp_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    char msg[512];
    lp_code code;

    first_line(msg, sizeof msg, res ? PQresultErrorMessage(res) : NULL);
    if (!msg[0] && db->conn)
        first_line(msg, sizeof msg, PQerrorMessage(db->conn));
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK)
        code = LP_E_UNAVAILABLE;
    else
        code = lp_db_sqlstate_code(state);

    lp_log(code == LP_E_INTERNAL ? LP_LOG_ERROR : LP_LOG_DEBUG, "db", "%s failed: sqlstate=%s constraint=%s: %s",
           what, state ? state : "-", constraint ? constraint : "-", msg);

    switch (code) {
    case LP_E_CONFLICT:
        if (state && strncmp(state, "40", 2) == 0)
            return lp_error_set(err, code, "the database transaction conflicted with a concurrent one; try again");
        return lp_error_set(err, code, "a record with the same unique value already exists");
    case LP_E_INVALID:
        if (state && strcmp(state, "23503") == 0)
            return lp_error_set(err, code, "a referenced record does not exist");
        return lp_error_set(err, code, "a value was rejected by the database as malformed or out of range");
    case LP_E_TIMEOUT:
        return lp_error_set(err, code, "the database statement ran longer than db_statement_timeout (%" PRId64 " ms)",
                            db->statement_timeout_ms);
    case LP_E_UNAVAILABLE:
        return lp_error_set(err, code, "the database connection was lost; try again");
    default:
        return lp_error_set(err, LP_E_INTERNAL, "a database statement failed unexpectedly");
    }
}

/* ---- the pooler mode ---------------------------------------------------- */

/* Written once at start-up (lp_db_use_pooler), before any thread connects. */
static lp_db_pooler pooler_mode = LP_DB_POOLER_NONE;

int lp_db_use_pooler(const char *name, lp_error *err)
{
    if (name && strcmp(name, "none") == 0)
        pooler_mode = LP_DB_POOLER_NONE;
    else if (name && strcmp(name, "transaction") == 0)
        pooler_mode = LP_DB_POOLER_TRANSACTION;
    else
        return lp_error_field(err, LP_E_INVALID, "db_pooler", "must be none or transaction, not '%.64s'",
                              name ? name : "");
    return 0;
}

lp_db_pooler lp_db_get_pooler(void) { return pooler_mode; }

const char *lp_db_session_url(const char *url, const char *direct_url)
{
    return direct_url && *direct_url ? direct_url : url;
}

/* ---- connecting ---------------------------------------------------------- */

void lp_db_conn_close(lp_db *db)
{
    db->begin_pending = 0;
    if (db->conn) {
        PQfinish(db->conn);
        db->conn = NULL;
    }
    if (db->stmts) {
        for (size_t i = 0; i < LP_DB_STMT_SLOTS; i++)
            free(db->stmts[i].sql);
        free(db->stmts);
        db->stmts = NULL;
    }
    db->nstmts = 0;
    db->next_stmt_id = 0;
}

/* Server notices go to the log instead of stderr. A FATAL arriving while the
 * connection is idle (the server is shutting down or terminated this
 * backend) is reported by libpq as a notice: remember that the connection
 * is about to close. */
static void on_notice(void *arg, const PGresult *res)
{
    lp_db *db = arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    char msg[512];

    first_line(msg, sizeof msg, PQresultErrorMessage(res));
    if (severity && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0)) {
        db->server_closed = 1;
        LP_WARN("db", "the server is closing a connection: %s", msg);
        return;
    }
    LP_DEBUG("db", "server notice: %s", msg);
}

int lp_db_conn_open(lp_db *db, const char *url, lp_error *err)
{
    /* Later keywords override earlier ones, including those inside the URL:
     * the URL may override connect_timeout but not the encoding. */
    const char *keys[] = {"connect_timeout", "dbname", "fallback_application_name", "client_encoding", NULL};
    const char *vals[] = {"5", url, "loupe", "UTF8", NULL};
    char msg[512], timeout[32];
    const char *params[1] = {timeout};
    PGresult *res;

    lp_db_conn_close(db);
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (!db->conn)
        return lp_error_set(err, LP_E_NOMEM, "out of memory opening a database connection");
    if (PQstatus(db->conn) != CONNECTION_OK) {
        first_line(msg, sizeof msg, PQerrorMessage(db->conn));
        LP_WARN("db", "could not connect to the database: %s", msg);
        lp_db_conn_close(db);
        lp_error_set(err, LP_E_UNAVAILABLE, "could not connect to the database");
        return lp_error_hint(err, "check db_url and that PostgreSQL is running; the server log has the reason");
    }
    db->server_closed = 0;
    PQsetNoticeReceiver(db->conn, on_notice, db);
    if (pooler_mode == LP_DB_POOLER_TRANSACTION) {
        /* The server session behind this connection changes with every
         * transaction: nothing set here would last. Each transaction sets
         * its own timeout instead (preamble). */
        snprintf(db->local_timeout, sizeof db->local_timeout,
                 "SELECT set_config('statement_timeout', '%" PRId64 "', true)", db->statement_timeout_ms);
        snprintf(db->tx_timeout, sizeof db->tx_timeout, "SET LOCAL statement_timeout = %" PRId64,
                 db->statement_timeout_ms);
        db->ever_connected = 1;
        return 0;
    }
    db->local_timeout[0] = db->tx_timeout[0] = '\0';
    snprintf(timeout, sizeof timeout, "%" PRId64, db->statement_timeout_ms);
    res = PQexecParams(db->conn, "SELECT set_config('statement_timeout', $1, false)", 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fail(db, res, "setting statement_timeout", err);
        PQclear(res);
        lp_db_conn_close(db);
        return -1;
    }
    PQclear(res);
    db->ever_connected = 1;
    return 0;
}

int lp_db_conn_healthy(lp_db *db)
{
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK || db->server_closed)
        return 0;
    /* Reads whatever the server sent while the connection was idle, and
     * parses it (PQisBusy): a FATAL message (restart, terminated backend)
     * reaches on_notice, the end of the stream makes the status BAD. Twice,
     * because the message and the end of the stream may come in two reads. */
    for (int i = 0; i < 2; i++) {
        if (PQconsumeInput(db->conn) == 0)
            return 0;
        (void)PQisBusy(db->conn);
        if (PQstatus(db->conn) != CONNECTION_OK || db->server_closed)
            return 0;
    }
    return 1;
}

lp_db *lp_db_connect(const char *url, int64_t statement_timeout_ms, lp_error *err)
{
    lp_db *db;

    if (!url || !*url) {
        lp_error_field(err, LP_E_INVALID, "db_url", "is empty; set it to a PostgreSQL connection URI");
        return NULL;
    }
    db = calloc(1, sizeof *db);
    if (!db || !(db->url = strdup(url))) {
        free(db);
        lp_error_set(err, LP_E_NOMEM, "out of memory opening a database connection");
        return NULL;
    }
    db->statement_timeout_ms = statement_timeout_ms;
    if (lp_db_conn_open(db, url, err) != 0) {
        free(db->url);
        free(db);
        return NULL;
    }
    return db;
}

void lp_db_close(lp_db *db)
{
    if (!db)
        return;
    if (db->pool) {
        lp_db_release(db);
        return;
    }
    lp_db_conn_close(db);
    free(db->url);
    free(db);
}

static int flush_begin(lp_db *db, lp_error *err);

PGconn *lp_db_pg(lp_db *db)
{
    lp_error e;
    lp_error_clear(&e);
    if (db && flush_begin(db, &e) != 0)
        LP_WARN("db", "could not begin a transaction: %s", e.message);
    return db ? db->conn : NULL;
}

int lp_db_ok(lp_db *db) { return db && db->conn && PQstatus(db->conn) == CONNECTION_OK; }

int lp_db_ping(lp_db *db, lp_error *err) { return lp_db_exec(db, "SELECT 1", 0, NULL, err) < 0 ? -1 : 0; }

/* ---- statements ---------------------------------------------------------- */

static int check_result(lp_db *db, PGresult *res, const char *what, lp_error *err)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return 0;
    return fail(db, res, what, err);
}

/* The cached statement for sql, preparing it if new. Returns its name in
 * name (cap 16), "" when the cache is full (run unprepared), or -1. */
static int prepared_name(lp_db *db, const char *sql, int nparams, char name[16], lp_error *err)
{
    uint64_t h = lp_db_hash_sql(sql);
    size_t mask = LP_DB_STMT_SLOTS - 1, i;
    PGresult *res;

    if (pooler_mode == LP_DB_POOLER_TRANSACTION) {
        /* A named statement lives in one server session, which a
         * transaction pooler hands to another client after each
         * transaction: run every statement unnamed. */
        name[0] = '\0';
        return 0;
    }
    if (!db->stmts && !(db->stmts = calloc(LP_DB_STMT_SLOTS, sizeof *db->stmts)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory caching a database statement");
    for (i = (size_t)h & mask; db->stmts[i].sql; i = (i + 1) & mask) {
        if (db->stmts[i].hash == h && strcmp(db->stmts[i].sql, sql) == 0) {
            snprintf(name, 16, "lp_%u", db->stmts[i].id);
            return 0;
        }
    }
    if (db->nstmts >= LP_DB_STMT_SLOTS / 2) {
        name[0] = '\0';
        return 0;
    }
    snprintf(name, 16, "lp_%u", db->next_stmt_id);
    res = PQprepare(db->conn, name, sql, nparams, NULL);
    if (check_result(db, res, "preparing a statement", err) != 0) {
        PQclear(res);
        return -1;
    }
    PQclear(res);
    if (!(db->stmts[i].sql = strdup(sql))) {
        /* Prepared on the server but not remembered: run it unprepared. */
        name[0] = '\0';
        return 0;
    }
    db->stmts[i].hash = h;
    db->stmts[i].id = db->next_stmt_id++;
    db->nstmts++;
    return 0;
}

/* The next result of a pipeline, the NULL that ends it consumed; NULL when
 * none came (a broken connection). */
static PGresult *pipeline_result(PGconn *conn)
{
    PGresult *res = PQgetResult(conn), *more;
    if (res && PQresultStatus(res) != PGRES_PIPELINE_SYNC)
        while ((more = PQgetResult(conn)) != NULL)
            PQclear(more);
    return res;
}

/* Runs, in one round trip (libpq pipeline mode), the parameterless
 * commands before[0..nbefore), then the statement (prepared as name, or
 * sql when name is ""), then after[0..nafter). Returns the statement's
 * result, or the error of a command around it that failed (the statement
 * then aborted, or its effect lost), or NULL when nothing came back. */
static PGresult *exec_pipeline(lp_db *db, const char *const *before, size_t nbefore, const char *name,
                               const char *sql, int nparams, const char *const *params, const char *const *after,
                               size_t nafter)
{
    PGconn *conn = db->conn;
    PGresult *res = NULL, *failed = NULL, *r;
    size_t k;
    int sent;

    if (!PQenterPipelineMode(conn))
        return NULL;
    sent = 1;
    for (k = 0; sent && k < nbefore; k++)
        sent = PQsendQueryParams(conn, before[k], 0, NULL, NULL, NULL, NULL, 0);
    sent = sent && (name[0] ? PQsendQueryPrepared(conn, name, nparams, params, NULL, NULL, 0)
                            : PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0));
    for (k = 0; sent && k < nafter; k++)
        sent = PQsendQueryParams(conn, after[k], 0, NULL, NULL, NULL, NULL, 0);
    if (sent && PQpipelineSync(conn)) {
        for (k = 0; k < nbefore + 1 + nafter; k++) {
            r = pipeline_result(conn);
            if (k == nbefore)
                res = r;
            else if (!failed && r && PQresultStatus(r) == PGRES_FATAL_ERROR)
                failed = r;
            else
                PQclear(r);
        }
        PQclear(pipeline_result(conn)); /* the sync */
    }
    if (failed && !(res && PQresultStatus(res) == PGRES_FATAL_ERROR)) {
        PQclear(res);
        res = failed;
        failed = NULL;
    }
    PQclear(failed);
    if (!PQexitPipelineMode(conn)) {
        PQclear(res);
        return NULL;
    }
    return res;
}

/* Sends the BEGIN that lp_db_begin left pending, alone. 0 or -1. */
static int flush_begin(lp_db *db, lp_error *err)
{
    if (!db->begin_pending)
        return 0;
    db->begin_pending = 0;
    if (db->tx_timeout[0] || db->trace_set[0]) {
        char sql[256];
        snprintf(sql, sizeof sql, "BEGIN; %s%s%s", db->tx_timeout, db->tx_timeout[0] && db->trace_set[0] ? "; " : "",
                 db->trace_set);
        return lp_db_script(db, sql, err);
    }
    return lp_db_script(db, "BEGIN", err);
}

/* The commands sent before a statement in its round trip (at most 3 in
 * before): the BEGIN lp_db_begin left pending with the trace it noted, and
 * under a transaction pooler the statement_timeout of the transaction the
 * statement opens.
 * After a BEGIN that is SET LOCAL, which takes no snapshot, so that the
 * transaction's first statement may still be SET TRANSACTION ISOLATION
 * LEVEL; for the implicit transaction of a lone statement's pipeline it is
 * set_config(..., true), which SET LOCAL would warn about outside a
 * transaction block. *open is set to 1 when the statement runs inside an
 * explicit transaction. Returns the number of commands. */
static size_t preamble(lp_db *db, const char **before, int *open)
{
    size_t n = 0;
    int pending = db->begin_pending;
    int in_tx = !pending && lp_db_in_transaction(db);

    db->begin_pending = 0;
    if (pending)
        before[n++] = "BEGIN";
    if (pending && db->trace_set[0])
        before[n++] = db->trace_set;
    if (pending && db->tx_timeout[0])
        before[n++] = db->tx_timeout;
    else if (!in_tx && db->local_timeout[0])
        before[n++] = db->local_timeout;
    *open = pending || in_tx;
    return n;
}

PGresult *lp_db_query(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err)
{
    const char *before[3];
    size_t nbefore;
    char name[16];
    PGresult *res;
    int open;

    if (!db || !db->conn || PQstatus(db->conn) != CONNECTION_OK) {
        lp_error_set(err, LP_E_UNAVAILABLE, "the database connection was lost; try again");
        return NULL;
    }
    if (prepared_name(db, sql, nparams, name, err) != 0)
        return NULL;
    nbefore = preamble(db, before, &open);
    if (nbefore)
        res = exec_pipeline(db, before, nbefore, name, sql, nparams, params, NULL, 0);
    else if (name[0])
        res = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
    else
        res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (check_result(db, res, "a statement", err) != 0) {
        PQclear(res);
        return NULL;
    }
    return res;
}

/* Runs sql with the settings made by set (a SELECT of set_config(..., true))
 * for that statement alone, in one round trip: they last until the
 * transaction ends, which is the pipeline's implicit one when none is open;
 * inside a transaction, the nreset commands of reset restore the session's
 * values after it. */
static PGresult *query_set(lp_db *db, const char *set, const char *const *reset, size_t nreset, const char *sql,
                           int nparams, const char *const *params, lp_error *err)
{
    const char *before[4];
    size_t nbefore;
    char name[16];
    PGresult *res;
    int open;

    if (!db || !db->conn || PQstatus(db->conn) != CONNECTION_OK) {
        lp_error_set(err, LP_E_UNAVAILABLE, "the database connection was lost; try again");
        return NULL;
    }
    if (prepared_name(db, sql, nparams, name, err) != 0)
        return NULL;
    nbefore = preamble(db, before, &open);
    before[nbefore++] = set;
    res = exec_pipeline(db, before, nbefore, name, sql, nparams, params, reset, open ? nreset : 0);
    if (check_result(db, res, "a statement", err) != 0) {
        PQclear(res);
        return NULL;
    }
    return res;
}

PGresult *lp_db_query_generic(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err)
{
    static const char *const reset[] = {"SET LOCAL plan_cache_mode TO DEFAULT"};
    return query_set(db, "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)", reset, 1, sql, nparams,
                     params, err);
}

PGresult *lp_db_query_batch(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err)
{
    static const char *const reset[] = {"SET LOCAL plan_cache_mode TO DEFAULT", "SET LOCAL jit TO DEFAULT"};
    return query_set(db,
                     "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('jit', 'off', true)",
                     reset, 2, sql, nparams, params, err);
}

int64_t lp_db_exec(lp_db *db, const char *sql, int nparams, const char *const *params, lp_error *err)
{
    PGresult *res = lp_db_query(db, sql, nparams, params, err);
    int64_t n;
    if (!res)
        return -1;
    n = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return n;
}

int lp_db_script(lp_db *db, const char *sql, lp_error *err)
{
    PGresult *res;
    int rc;

    if (!db || !db->conn || PQstatus(db->conn) != CONNECTION_OK)
        return lp_error_set(err, LP_E_UNAVAILABLE, "the database connection was lost; try again");
    if (flush_begin(db, err) != 0)
        return -1;
    res = PQexec(db->conn, sql);
    rc = check_result(db, res, "a script", err);
    PQclear(res);
    return rc;
}

/* ---- transactions -------------------------------------------------------- */

int lp_db_in_transaction(const lp_db *db)
{
    if (!db || !db->conn)
        return 0;
    if (db->begin_pending)
        return 1;
    PGTransactionStatusType t = PQtransactionStatus(db->conn);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

int lp_db_begin(lp_db *db, lp_error *err)
{
    if (lp_db_in_transaction(db))
        return lp_error_set(err, LP_E_INTERNAL, "a transaction is already open on this database connection");
    if (!db || !db->conn || PQstatus(db->conn) != CONNECTION_OK)
        return lp_error_set(err, LP_E_UNAVAILABLE, "the database connection was lost; try again");
    db->begin_pending = 1; /* sent with the first statement (exec_pipeline) */
    {
        /* the events the transaction writes record the current trace
         * (column events.traceparent, default from loupe.traceparent): a
         * literal, since SET takes no parameter; lp_trace_format writes only
         * "00-", hex digits and dashes */
        char tp[LP_TRACEPARENT_LEN + 1];
        db->trace_set[0] = '\0';
        if (lp_trace_format(lp_trace_current(), tp) == 0 && strspn(tp, "0123456789abcdef-") == strlen(tp))
            snprintf(db->trace_set, sizeof db->trace_set, "SET LOCAL loupe.traceparent = '%s'", tp);
    }
    return 0;
}

int lp_db_commit(lp_db *db, lp_error *err)
{
    PGresult *res;
    int rc;

    if (!db || !db->conn || PQstatus(db->conn) != CONNECTION_OK)
        return lp_error_set(err, LP_E_UNAVAILABLE, "the database connection was lost; try again");
    if (db->begin_pending) { /* nothing was run in it */
        db->begin_pending = 0;
        return 0;
    }
    if (PQtransactionStatus(db->conn) == PQTRANS_INERROR) {
        lp_db_rollback(db);
        return lp_error_set(err, LP_E_INTERNAL, "the transaction was rolled back because a statement in it failed");
    }
    res = PQexec(db->conn, "COMMIT");
    rc = check_result(db, res, "COMMIT", err);
    if (rc == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
        rc = lp_error_set(err, LP_E_INTERNAL, "the transaction was rolled back because a statement in it failed");
    PQclear(res);
    return rc;
}

int lp_db_rollback(lp_db *db)
{
    lp_error e;
    if (db && db->begin_pending) { /* nothing was run in it */
        db->begin_pending = 0;
        return 0;
    }
    if (!lp_db_in_transaction(db))
        return 0;
    lp_error_clear(&e);
    return lp_db_script(db, "ROLLBACK", &e);
}

/* ---- result helpers ------------------------------------------------------ */

char *lp_db_text(lp_arena *a, const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    return lp_arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

void lp_db_text_copy(char *out, size_t cap, const PGresult *r, int row, int col)
{
    if (cap == 0)
        return;
    if (PQgetisnull(r, row, col)) {
        out[0] = '\0';
        return;
    }
    snprintf(out, cap, "%s", PQgetvalue(r, row, col));
}

int lp_db_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}
