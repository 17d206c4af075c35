/* What /metrics reads from PostgreSQL about the whole installation: the
 * age of the outbox backlog, jobs by kind, the worker fleet, webhook deliveries. Each
 * statement is one round trip that an index (or a small table) answers, so the
 * outbox relay thread can run them every metrics_refresh. */
#ifndef LOUPE_DB_OPS_SQL_H
#define LOUPE_DB_OPS_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"

/* The age in seconds of the oldest unpublished outbox row (0 if none); the
 * relay counts them (lp_db_outbox_pending). */
int lp_db_ops_outbox_oldest(lp_db *db, double *age_s, lp_error *err);

/* Jobs waiting or running now, by kind and status (queued, running). */
typedef struct lp_ops_jobs_active {
    const char *kind, *status; /* arena */
    int64_t n;
} lp_ops_jobs_active;
int lp_db_ops_jobs_active(lp_db *db, lp_arena *a, lp_ops_jobs_active **rows, size_t *n, lp_error *err);

/* Upper bounds in seconds of the job duration histogram's buckets. */
#define LP_OPS_JOB_BUCKETS 12
extern const double lp_ops_job_bounds_s[LP_OPS_JOB_BUCKETS];

/* Jobs that finished (succeeded, failed or cancelled) after `after` and up to
 * a few seconds ago, by kind and status, with their durations (finished_at -
 * started_at) counted into the buckets (cumulative, like Prometheus's le).
 * after is a timestamp text from an earlier call's until_out, or NULL for
 * none (then no rows, only until_out). until_out (64 bytes) receives where
 * this call stopped: the next call's after. Answered by jobs_finished_idx. */
typedef struct lp_ops_jobs_finished {
    const char *kind, *status; /* arena */
    int64_t count;
    double sum_s;
    int64_t le[LP_OPS_JOB_BUCKETS];
} lp_ops_jobs_finished;
int lp_db_ops_jobs_finished(lp_db *db, lp_arena *a, const char *after, char until_out[64],
                            lp_ops_jobs_finished **rows, size_t *n, lp_error *err);

/* Every worker row (at most max): id, whether it runs a job, and the seconds
 * since its last heartbeat. */
typedef struct lp_ops_worker {
    const char *id; /* arena */
    int busy;
    double last_seen_s;
} lp_ops_worker;
int lp_db_ops_workers(lp_db *db, lp_arena *a, int max, lp_ops_worker **rows, size_t *n, lp_error *err);

/* Pending webhook deliveries: never tried, retrying (tried, will try again),
 * and the age in seconds of the oldest (0 if none). Answered by the pending
 * deliveries' partial indexes. */
int lp_db_ops_webhooks_pending(lp_db *db, int64_t *fresh, int64_t *retrying, double *oldest_age_s, lp_error *err);

/* Finished webhook deliveries: delivered, and failed for good. The sums of
 * webhook_delivery_totals (migration 0044), whose rows each statement that
 * changes them appends: as many rows as were appended since the last fold. */
int lp_db_ops_webhooks_done(lp_db *db, int64_t *delivered, int64_t *failed, lp_error *err);

/* Folds the rows of webhook_delivery_totals into one (the sums unchanged, also
 * when several nodes fold at once): call it now and then
 * (metrics_totals_refresh). */
int lp_db_ops_webhooks_fold(lp_db *db, lp_error *err);

#endif
