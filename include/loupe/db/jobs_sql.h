/* Statements about jobs, their events, the outbox and the workers
 * (src/db/jobs_sql.c).
 *
 * Strings in rows are copied into the caller's arena; fixed-size fields are
 * NUL-terminated text ("" for SQL NULL). Timestamps are RFC 3339 UTC.
 * Transitions of a running job are guarded by its attempt number, so a worker
 * that lost its job (another took it over) changes nothing: those calls
 * return 0 rows changed. */
#ifndef LOUPE_DB_JOBS_SQL_H
#define LOUPE_DB_JOBS_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"

#define LP_DB_JOB_UUID_LEN 37
#define LP_DB_JOB_TIME_LEN 32

typedef struct lp_job_row {
    char id[LP_DB_JOB_UUID_LEN];
    char team_id[LP_DB_JOB_UUID_LEN];      /* "" for a system job */
    char *kind;                            /* arena */
    char *queue;                           /* arena */
    char status[16];                       /* queued running succeeded failed cancelled */
    double progress;                       /* 0..1 */
    int attempts;
    int max_attempts;
    char *payload;                         /* arena, JSON text */
    char *result;                          /* arena, JSON text; NULL when none */
    char *error;                           /* arena; NULL when none */
    char created_at[LP_DB_JOB_TIME_LEN];
    char started_at[LP_DB_JOB_TIME_LEN];   /* "" until the first attempt starts */
    char finished_at[LP_DB_JOB_TIME_LEN];
    char updated_at[LP_DB_JOB_TIME_LEN];
    char eta[LP_DB_JOB_TIME_LEN];          /* running with progress > 0: projected end; else "" */
} lp_job_row;

/* Inserts job id (queued, 0 attempts) and its outbox message in one
 * statement. team_id and created_by may be NULL. 0, or -1 (LP_E_INVALID when
 * team or user does not exist, LP_E_CONFLICT on a duplicate id). */
int lp_db_job_insert(lp_db *db, const char *id, const char *team_id, const char *kind, const char *queue,
                     int max_attempts, const char *payload_json, const char *created_by, const char *exchange,
                     const char *routing_key, const char *message_json, lp_error *err);

/* Reads job id; team_id NULL reads any team's job, otherwise only that team's.
 * 0, or -1 with LP_E_NOT_FOUND (also for another team's job or an id that is
 * not a UUID). */
int lp_db_job_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_job_row *out, lp_error *err);

/* Inside a transaction: reads job id and locks its row until the end of the
 * transaction. 0, or -1 (LP_E_NOT_FOUND when there is none). */
int lp_db_job_lock_row(lp_db *db, lp_arena *a, const char *id, lp_job_row *out, lp_error *err);

/* Session-level advisory lock held while a worker processes job id, so two
 * deliveries of the same job never run at once; it vanishes with the
 * connection when a worker dies. try: 1 when taken, 0 when another session
 * holds it, -1 on error. */
int lp_db_job_try_advisory_lock(lp_db *db, const char *id, lp_error *err);
int lp_db_job_advisory_unlock(lp_db *db, const char *id, lp_error *err);

/* Starts attempt `attempt` (status running, progress 0, started_at now) and
 * records 'started'. 0 or -1. */
int lp_db_job_start(lp_db *db, const char *id, int attempt, lp_error *err);

/* Appends an event (started, succeeded, failed, retry, dead) with an
 * optional JSON detail. 0 or -1. */
int lp_db_job_event(lp_db *db, const char *id, const char *event, int attempt, const char *detail_json, lp_error *err);

/* Terminal and retry transitions of attempt `attempt`, each with its event in
 * one statement. Return 1 when the job changed, 0 when the guard (status
 * running and this attempt) did not match, -1 on error.
 *   succeed: status succeeded, result, progress 1, finished_at; event succeeded
 *   retry:   status queued, error; event retry with {"error", "delay_ms"}
 *   fail:    status failed, error, finished_at; event dead with {"error"} */
int lp_db_job_succeed(lp_db *db, const char *id, int attempt, const char *result_json, lp_error *err);
int lp_db_job_retry(lp_db *db, const char *id, int attempt, const char *error, int64_t delay_ms, lp_error *err);
int lp_db_job_fail(lp_db *db, const char *id, int attempt, const char *error, lp_error *err);

/* Progress (0..1) of attempt `attempt`, also a sign of life. 0 or -1. */
int lp_db_job_progress(lp_db *db, const char *id, int attempt, double progress, lp_error *err);

/* Counts the job's events of one kind (tests and diagnostics). */
int64_t lp_db_job_event_count(lp_db *db, const char *id, const char *event, lp_error *err);

/* ---- outbox -------------------------------------------------------------- */

typedef struct lp_outbox_row {
    int64_t id;
    char *exchange;    /* arena */
    char *routing_key; /* arena */
    char *body;        /* arena, JSON text */
    size_t body_len;
} lp_outbox_row;

/* Inserts a message to publish after the caller's transaction commits. 0 or -1. */
int lp_db_outbox_insert(lp_db *db, const char *exchange, const char *routing_key, const char *body_json,
                        lp_error *err);

/* The channel notified on every outbox insert (migration 0002), for
 * lp_db_listen. */
#define LP_DB_OUTBOX_CHANNEL "loupe_outbox"

/* Inside a transaction: up to limit unpublished rows, oldest first, locked
 * (FOR UPDATE SKIP LOCKED: rows another relay holds are skipped). *rows is an
 * arena array of *n rows. 0 or -1. */
int lp_db_outbox_claim(lp_db *db, lp_arena *a, int limit, lp_outbox_row **rows, size_t *n, lp_error *err);

/* Stamps published_at on rows ids[0..n). 0 or -1. */
int lp_db_outbox_mark_published(lp_db *db, const int64_t *ids, size_t n, lp_error *err);

/* Unpublished rows right now. 0 or -1. */
int lp_db_outbox_pending(lp_db *db, int64_t *out, lp_error *err);

/* Deletes up to limit rows published more than keep_ms ago. Rows deleted, or -1. */
int64_t lp_db_outbox_prune(lp_db *db, int64_t keep_ms, int limit, lp_error *err);

/* ---- workers ------------------------------------------------------------- */

typedef struct lp_worker_row {
    char *id;           /* arena */
    char *host;         /* arena */
    int pid;
    char *queues_json;  /* arena, JSON array of strings */
    int cpus;
    int64_t memory_bytes;
    char *gpus_json;    /* arena, JSON array */
    char *version;      /* arena */
    char current_job_id[LP_DB_JOB_UUID_LEN]; /* "" when idle */
    char started_at[LP_DB_JOB_TIME_LEN];
    char last_seen_at[LP_DB_JOB_TIME_LEN];
    int alive;          /* seen within the liveness window */
} lp_worker_row;

typedef struct lp_worker_info {
    const char *id;
    const char *host;
    int pid;
    const char *queues_json;   /* JSON array of strings */
    int cpus;
    int64_t memory_bytes;
    const char *gpus_json;     /* JSON array */
    const char *version;
    int64_t started_at_ms;     /* Unix ms */
    const char *current_job_id; /* NULL when idle */
} lp_worker_info;

/* Inserts or refreshes the worker's row (last_seen_at = now) and deletes rows
 * of workers not seen for a day. 0 or -1. */
int lp_db_worker_heartbeat(lp_db *db, const lp_worker_info *w, lp_error *err);

/* Removes the worker's row (clean shutdown). 0 or -1. */
int lp_db_worker_delete(lp_db *db, const char *id, lp_error *err);

/* How many workers seen within alive_ms consume queue (a queue name Q), or
 * -1 with err. */
int64_t lp_db_workers_of_queue(lp_db *db, const char *queue, int64_t alive_ms, lp_error *err);

/* Workers ordered by host, pid. alive = seen within alive_ms; with
 * include_dead 0 only those. current_job_id is shown only when that job
 * belongs to team_id (another team's work is not the caller's business).
 * *rows is an arena array. 0 or -1. */
int lp_db_workers_list(lp_db *db, lp_arena *a, const char *team_id, int64_t alive_ms, int include_dead,
                       lp_worker_row **rows, size_t *n, lp_error *err);

#endif
