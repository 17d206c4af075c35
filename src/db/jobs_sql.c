/* Statements about jobs, job events, the outbox and workers.
 * See loupe/db/jobs_sql.h. */
#include "loupe/db/jobs_sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "loupe/core/buf.h"
#include "loupe/core/util.h"

#define JOB_COLUMNS                                                                                                  \
    "id, team_id, kind, queue, status, progress, attempts, max_attempts, payload::text, result::text, error, "     \
    LP_SQL_TS("created_at") ", " LP_SQL_TS("started_at") ", " LP_SQL_TS("finished_at") ", " LP_SQL_TS(             \
        "updated_at") ", " LP_SQL_TS("CASE WHEN status = 'running' AND progress > 0 AND progress < 1 "              \
                                     "THEN started_at + (now() - started_at) / progress END")

static int read_job(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_job_row *out = dst;
    memset(out, 0, sizeof(*out));
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->team_id, sizeof out->team_id, r, row, 1);
    out->kind = lp_db_text(a, r, row, 2);
    out->queue = lp_db_text(a, r, row, 3);
    lp_db_text_copy(out->status, sizeof out->status, r, row, 4);
    out->progress = strtod(PQgetvalue(r, row, 5), NULL);
    out->attempts = atoi(PQgetvalue(r, row, 6));
    out->max_attempts = atoi(PQgetvalue(r, row, 7));
    out->payload = lp_db_text(a, r, row, 8);
    out->result = lp_db_text(a, r, row, 9);
    out->error = lp_db_text(a, r, row, 10);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 11);
    lp_db_text_copy(out->started_at, sizeof out->started_at, r, row, 12);
    lp_db_text_copy(out->finished_at, sizeof out->finished_at, r, row, 13);
    lp_db_text_copy(out->updated_at, sizeof out->updated_at, r, row, 14);
    lp_db_text_copy(out->eta, sizeof out->eta, r, row, 15);
    if (!out->kind || !out->queue || !out->payload || (!out->result && !PQgetisnull(r, row, 9)) ||
        (!out->error && !PQgetisnull(r, row, 10)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a job");
    return 0;
}

static int one_job(lp_arena *a, PGresult *r, const char *id, lp_job_row *out, lp_error *err)
{
    return lp_db_one_found(a, r, read_job, out, err, "job %s not found", id);
}

int lp_db_job_insert(lp_db *db, const char *id, const char *team_id, const char *kind, const char *queue,
                     int max_attempts, const char *payload_json, const char *created_by, const char *exchange,
                     const char *routing_key, const char *message_json, lp_error *err)
{
    char max[16];
    snprintf(max, sizeof max, "%d", max_attempts);
    const char *p[10] = {id, team_id, kind, queue, max, payload_json, created_by, exchange, routing_key, message_json};
    return lp_db_exec(db,
                      "WITH j AS (INSERT INTO jobs (id, team_id, kind, queue, max_attempts, payload, created_by) "
                      "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) RETURNING id) "
                      "INSERT INTO outbox (exchange, routing_key, body) SELECT $8, $9, $10::jsonb FROM j",
                      10, p, err) < 0
               ? -1
               : 0;
}

int lp_db_job_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_job_row *out, lp_error *err)
{
    if (!lp_is_uuid(id))
        return lp_error_set(err, LP_E_NOT_FOUND, "job %s not found", id);
    if (team_id) {
        const char *p[2] = {id, team_id};
        return one_job(a, lp_db_query(db, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1 AND team_id = $2", 2, p, err),
                       id, out, err);
    }
    const char *p[1] = {id};
    return one_job(a, lp_db_query(db, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1", 1, p, err), id, out, err);
}

int lp_db_job_lock_row(lp_db *db, lp_arena *a, const char *id, lp_job_row *out, lp_error *err)
{
    if (!lp_is_uuid(id))
        return lp_error_set(err, LP_E_NOT_FOUND, "job %s not found", id);
    const char *p[1] = {id};
    return one_job(a, lp_db_query(db, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1 FOR UPDATE", 1, p, err), id, out,
                   err);
}

int lp_db_job_try_advisory_lock(lp_db *db, const char *id, lp_error *err)
{
    const char *p[1] = {id};
    PGresult *r = lp_db_query(db, "SELECT pg_try_advisory_lock(hashtextextended('loupe.job:' || $1, 0))", 1, p, err);
    int got;
    if (!r)
        return -1;
    got = lp_db_bool(r, 0, 0);
    PQclear(r);
    return got;
}

int lp_db_job_advisory_unlock(lp_db *db, const char *id, lp_error *err)
{
    const char *p[1] = {id};
    return lp_db_exec(db, "SELECT pg_advisory_unlock(hashtextextended('loupe.job:' || $1, 0))", 1, p, err) < 0 ? -1
                                                                                                                : 0;
}

int lp_db_job_start(lp_db *db, const char *id, int attempt, lp_error *err)
{
    char n[16];
    snprintf(n, sizeof n, "%d", attempt);
    const char *p[2] = {id, n};
    return lp_db_exec(db,
                      "WITH u AS (UPDATE jobs SET status = 'running', attempts = $2, progress = 0, error = NULL, "
                      "started_at = now(), heartbeat_at = now(), updated_at = now() WHERE id = $1 RETURNING id) "
                      "INSERT INTO job_events (job_id, event, attempt) SELECT id, 'started', $2 FROM u",
                      2, p, err) < 0
               ? -1
               : 0;
}

int lp_db_job_event(lp_db *db, const char *id, const char *event, int attempt, const char *detail_json, lp_error *err)
{
    char n[16];
    snprintf(n, sizeof n, "%d", attempt);
    const char *p[4] = {id, event, n, detail_json};
    return lp_db_exec(db, "INSERT INTO job_events (job_id, event, attempt, detail) VALUES ($1, $2, $3, $4::jsonb)", 4,
                      p, err) < 0
               ? -1
               : 0;
}

/* Runs a guarded transition; 1 if a row changed, 0 if not, -1 on error. */
static int transition(lp_db *db, const char *sql, int nparams, const char *const *p, lp_error *err)
{
    int64_t n = lp_db_exec(db, sql, nparams, p, err);
    return n < 0 ? -1 : n > 0;
}

int lp_db_job_succeed(lp_db *db, const char *id, int attempt, const char *result_json, lp_error *err)
{
    char n[16];
    snprintf(n, sizeof n, "%d", attempt);
    const char *p[3] = {id, n, result_json};
    return transition(db,
                      "WITH u AS (UPDATE jobs SET status = 'succeeded', result = $3::jsonb, progress = 1, error = NULL, "
                      "finished_at = now(), updated_at = now() "
                      "WHERE id = $1 AND status = 'running' AND attempts = $2 RETURNING id) "
                      "INSERT INTO job_events (job_id, event, attempt) SELECT id, 'succeeded', $2 FROM u",
                      3, p, err);
}

int lp_db_job_retry(lp_db *db, const char *id, int attempt, const char *error, int64_t delay_ms, lp_error *err)
{
    char n[16], d[24];
    snprintf(n, sizeof n, "%d", attempt);
    snprintf(d, sizeof d, "%" PRId64, delay_ms);
    const char *p[4] = {id, n, error, d};
    return transition(db,
                      "WITH u AS (UPDATE jobs SET status = 'queued', error = $3, updated_at = now() "
                      "WHERE id = $1 AND status = 'running' AND attempts = $2 RETURNING id) "
                      "INSERT INTO job_events (job_id, event, attempt, detail) "
                      "SELECT id, 'retry', $2, jsonb_build_object('error', $3::text, 'delay_ms', $4::bigint) FROM u",
                      4, p, err);
}

int lp_db_job_fail(lp_db *db, const char *id, int attempt, const char *error, lp_error *err)
{
    char n[16];
    snprintf(n, sizeof n, "%d", attempt);
    const char *p[3] = {id, n, error};
    return transition(db,
                      "WITH u AS (UPDATE jobs SET status = 'failed', error = $3, finished_at = now(), updated_at = now() "
                      "WHERE id = $1 AND status = 'running' AND attempts = $2 RETURNING id) "
                      "INSERT INTO job_events (job_id, event, attempt, detail) "
                      "SELECT id, 'dead', $2, jsonb_build_object('error', $3::text) FROM u",
                      3, p, err);
}

int lp_db_job_progress(lp_db *db, const char *id, int attempt, double progress, lp_error *err)
{
    char n[16], f[32];
    if (progress < 0)
        progress = 0;
    if (progress > 1)
        progress = 1;
    snprintf(n, sizeof n, "%d", attempt);
    snprintf(f, sizeof f, "%.4f", progress);
    const char *p[3] = {id, n, f};
    return lp_db_exec(db,
                      "UPDATE jobs SET progress = $3, heartbeat_at = now(), updated_at = now() "
                      "WHERE id = $1 AND status = 'running' AND attempts = $2",
                      3, p, err) < 0
               ? -1
               : 0;
}

int64_t lp_db_job_event_count(lp_db *db, const char *id, const char *event, lp_error *err)
{
    const char *p[2] = {id, event};
    return lp_db_count(db, "SELECT count(*) FROM job_events WHERE job_id = $1 AND event = $2", 2, p, err);
}

/* ---- outbox -------------------------------------------------------------- */

int lp_db_outbox_insert(lp_db *db, const char *exchange, const char *routing_key, const char *body_json,
                        lp_error *err)
{
    const char *p[3] = {exchange, routing_key, body_json};
    return lp_db_exec(db, "INSERT INTO outbox (exchange, routing_key, body) VALUES ($1, $2, $3::jsonb)", 3, p, err) < 0
               ? -1
               : 0;
}

static int read_outbox(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_outbox_row *out = dst;
    out->id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
    out->exchange = lp_db_text(a, r, row, 1);
    out->routing_key = lp_db_text(a, r, row, 2);
    out->body = lp_db_text(a, r, row, 3);
    out->body_len = (size_t)PQgetlength(r, row, 3);
    if (!out->exchange || !out->routing_key || !out->body)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading outbox row %lld", (long long)out->id);
    return 0;
}

int lp_db_outbox_claim(lp_db *db, lp_arena *a, int limit, lp_outbox_row **rows, size_t *n, lp_error *err)
{
    char l[16];
    snprintf(l, sizeof l, "%d", limit);
    const char *p[1] = {l};
    *rows = lp_db_rows(a,
                       lp_db_query(db,
                                   "SELECT id, exchange, routing_key, body::text FROM outbox WHERE published_at IS NULL "
                                   "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                                   1, p, err),
                       sizeof **rows, read_outbox, "outbox rows", n, err);
    return *rows ? 0 : -1;
}

int lp_db_outbox_mark_published(lp_db *db, const int64_t *ids, size_t n, lp_error *err)
{
    lp_buf arr;
    int rc;

    if (n == 0)
        return 0;
    lp_buf_init(&arr, n * 24 + 8);
    rc = lp_buf_puts(&arr, "{");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = lp_buf_printf(&arr, "%s%" PRId64, i ? "," : "", ids[i]);
    if (rc == 0)
        rc = lp_buf_puts(&arr, "}");
    if (rc != 0) {
        lp_buf_free(&arr);
        return lp_error_set(err, LP_E_NOMEM, "out of memory marking %zu outbox rows", n);
    }
    const char *p[1] = {arr.data};
    rc = lp_db_exec(db, "UPDATE outbox SET published_at = now() WHERE id = ANY ($1::bigint[])", 1, p, err) < 0 ? -1 : 0;
    lp_buf_free(&arr);
    return rc;
}

int lp_db_outbox_pending(lp_db *db, int64_t *out, lp_error *err)
{
    int64_t pending = lp_db_count(db, "SELECT count(*) FROM outbox WHERE published_at IS NULL", 0, NULL, err);
    if (pending < 0)
        return -1;
    *out = pending;
    return 0;
}

int64_t lp_db_outbox_prune(lp_db *db, int64_t keep_ms, int limit, lp_error *err)
{
    return lp_db_prune(db,
                       "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at IS NOT NULL "
                       "AND published_at < now() - make_interval(secs => $1::bigint / 1000.0) LIMIT $2::integer)",
                       keep_ms, limit, err);
}

/* ---- workers ------------------------------------------------------------- */

int lp_db_worker_heartbeat(lp_db *db, const lp_worker_info *w, lp_error *err)
{
    char pid[16], cpus[16], mem[24], started[24];
    snprintf(pid, sizeof pid, "%d", w->pid);
    snprintf(cpus, sizeof cpus, "%d", w->cpus);
    snprintf(mem, sizeof mem, "%" PRId64, w->memory_bytes);
    snprintf(started, sizeof started, "%" PRId64, w->started_at_ms);
    const char *p[10] = {w->id,        w->host,       pid, w->queues_json, cpus, mem, w->gpus_json,
                         w->version,   w->current_job_id, started};
    if (lp_db_exec(db,
                   "INSERT INTO workers (id, host, pid, queues, cpus, memory_bytes, gpus, version, current_job_id, "
                   "started_at, last_seen_at) "
                   "VALUES ($1, $2, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $5, $6, $7::jsonb, $8, $9, "
                   "to_timestamp($10::bigint / 1000.0), now()) "
                   "ON CONFLICT (id) DO UPDATE SET queues = EXCLUDED.queues, cpus = EXCLUDED.cpus, "
                   "memory_bytes = EXCLUDED.memory_bytes, gpus = EXCLUDED.gpus, version = EXCLUDED.version, "
                   "current_job_id = EXCLUDED.current_job_id, last_seen_at = now()",
                   10, p, err) < 0)
        return -1;
    if (w->current_job_id) {
        const char *q[1] = {w->current_job_id};
        if (lp_db_exec(db, "UPDATE jobs SET heartbeat_at = now() WHERE id = $1 AND status = 'running'", 1, q, err) < 0)
            return -1;
    }
    return lp_db_exec(db, "DELETE FROM workers WHERE last_seen_at < now() - interval '1 day'", 0, NULL, err) < 0 ? -1
                                                                                                               : 0;
}

int lp_db_worker_delete(lp_db *db, const char *id, lp_error *err)
{
    const char *p[1] = {id};
    return lp_db_exec(db, "DELETE FROM workers WHERE id = $1", 1, p, err) < 0 ? -1 : 0;
}

static int read_worker(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_worker_row *out = dst;
    out->id = lp_db_text(a, r, row, 0);
    out->host = lp_db_text(a, r, row, 1);
    out->pid = atoi(PQgetvalue(r, row, 2));
    out->queues_json = lp_db_text(a, r, row, 3);
    out->cpus = atoi(PQgetvalue(r, row, 4));
    out->memory_bytes = strtoll(PQgetvalue(r, row, 5), NULL, 10);
    out->gpus_json = lp_db_text(a, r, row, 6);
    out->version = lp_db_text(a, r, row, 7);
    lp_db_text_copy(out->current_job_id, sizeof out->current_job_id, r, row, 8);
    lp_db_text_copy(out->started_at, sizeof out->started_at, r, row, 9);
    lp_db_text_copy(out->last_seen_at, sizeof out->last_seen_at, r, row, 10);
    out->alive = lp_db_bool(r, row, 11);
    if (!out->id || !out->host || !out->queues_json || !out->gpus_json || !out->version)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a worker");
    return 0;
}

int64_t lp_db_workers_of_queue(lp_db *db, const char *queue, int64_t alive_ms, lp_error *err)
{
    char ms[24];
    snprintf(ms, sizeof ms, "%" PRId64, alive_ms);
    const char *p[2] = {queue, ms};
    PGresult *r = lp_db_query(db,
                              "SELECT count(*) FROM workers WHERE $1 = ANY(queues) "
                              "AND last_seen_at >= now() - make_interval(secs => $2::bigint / 1000.0)",
                              2, p, err);
    if (!r)
        return -1;
    int64_t n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

int lp_db_workers_list(lp_db *db, lp_arena *a, const char *team_id, int64_t alive_ms, int include_dead,
                       lp_worker_row **rows, size_t *n, lp_error *err)
{
    char ms[24];
    snprintf(ms, sizeof ms, "%" PRId64, alive_ms);
    const char *p[3] = {ms, include_dead ? "t" : "f", team_id};
    *rows = lp_db_rows(a,
                       lp_db_query(db,
                                   "SELECT w.id, w.host, w.pid, to_jsonb(w.queues)::text, w.cpus, w.memory_bytes, "
                                   "w.gpus::text, w.version, "
                                   "(SELECT j.id FROM jobs j WHERE j.id = w.current_job_id AND j.team_id = $3), "
                                   LP_SQL_TS("w.started_at") ", " LP_SQL_TS("w.last_seen_at")
                                   ", w.last_seen_at >= now() - make_interval(secs => $1::bigint / 1000.0) AS alive "
                                   "FROM workers w WHERE $2::boolean "
                                   "OR w.last_seen_at >= now() - make_interval(secs => $1::bigint / 1000.0) "
                                   "ORDER BY w.host, w.pid, w.id",
                                   3, p, err),
                       sizeof **rows, read_worker, "workers", n, err);
    return *rows ? 0 : -1;
}
