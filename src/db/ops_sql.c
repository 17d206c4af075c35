/* The installation-wide gauges of /metrics. See loupe/db/ops_sql.h. */
#include "loupe/db/ops_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

const double lp_ops_job_bounds_s[LP_OPS_JOB_BUCKETS] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800};

/* How far behind now() the finished-jobs window stops: a job's finished_at
 * is its transaction's start, so one committed just now may carry a slightly
 * older time; the lag lets such rows be counted by the next window. */
#define FINISHED_LAG "interval '5 seconds'"

static double num(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

int lp_db_ops_outbox_oldest(lp_db *db, double *age_s, lp_error *err)
{
    PGresult *r = lp_db_query(db,
                              "SELECT coalesce(extract(epoch FROM now() - (SELECT created_at FROM outbox "
                              "WHERE published_at IS NULL ORDER BY id LIMIT 1)), 0)::float8",
                              0, NULL, err);
    if (!r)
        return -1;
    *age_s = num(r, 0, 0);
    PQclear(r);
    return 0;
}

static int read_active(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_ops_jobs_active *out = dst;
    out->kind = lp_db_text(a, r, row, 0);
    out->status = lp_db_text(a, r, row, 1);
    out->n = lp_db_int_or(r, row, 2, 0);
    return out->kind && out->status ? 0 : lp_error_set(err, LP_E_NOMEM, "out of memory reading job counts");
}

int lp_db_ops_jobs_active(lp_db *db, lp_arena *a, lp_ops_jobs_active **rows, size_t *n, lp_error *err)
{
    *rows = lp_db_rows(a,
                       lp_db_query(db,
                                   "SELECT kind, status, count(*) FROM jobs WHERE status IN ('queued', 'running') "
                                   "GROUP BY kind, status ORDER BY kind, status",
                                   0, NULL, err),
                       sizeof **rows, read_active, "job counts", n, err);
    return *rows ? 0 : -1;
}

static int read_finished(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_ops_jobs_finished *out = dst;
    out->count = lp_db_int_or(r, row, 3, 0);
    if (out->count == 0)
        return 0; /* the window's row of NULLs */
    out->kind = lp_db_text(a, r, row, 1);
    out->status = lp_db_text(a, r, row, 2);
    out->sum_s = num(r, row, 4);
    for (int b = 0; b < LP_OPS_JOB_BUCKETS; b++)
        out->le[b] = lp_db_int_or(r, row, 5 + b, 0);
    return out->kind && out->status ? 0 : lp_error_set(err, LP_E_NOMEM, "out of memory reading finished jobs");
}

int lp_db_ops_jobs_finished(lp_db *db, lp_arena *a, const char *after, char until_out[64],
                            lp_ops_jobs_finished **rows, size_t *n, lp_error *err)
{
    /* One row per (kind, status); with no job in the window, one row of
     * NULLs that only carries the window's end. */
#define LE(i) ", count(*) FILTER (WHERE j.d <= $" #i "::float8)"
    static const char sql[] =
        "SELECT (extract(epoch FROM w.hi) * 1000000)::bigint, j.kind, j.status, count(j.kind), "
        "coalesce(sum(j.d), 0)" LE(2) LE(3) LE(4) LE(5) LE(6) LE(7) LE(8) LE(9) LE(10) LE(11) LE(12) LE(13) " "
        "FROM (SELECT now() - " FINISHED_LAG " AS hi) w "
        "LEFT JOIN LATERAL (SELECT kind, status, "
        "  extract(epoch FROM finished_at - coalesce(started_at, finished_at))::float8 AS d FROM jobs "
        "  WHERE finished_at > to_timestamp($1::bigint / 1000000.0) AND finished_at <= w.hi "
        "  AND status IN ('succeeded', 'failed', 'cancelled')) j ON true "
        "GROUP BY w.hi, j.kind, j.status ORDER BY j.kind, j.status";
#undef LE
    char bounds[LP_OPS_JOB_BUCKETS][24];
    const char *p[1 + LP_OPS_JOB_BUCKETS];
    lp_ops_jobs_finished *all;
    size_t nall, k = 0;

    p[0] = after;
    for (int b = 0; b < LP_OPS_JOB_BUCKETS; b++) {
        snprintf(bounds[b], sizeof bounds[b], "%g", lp_ops_job_bounds_s[b]);
        p[1 + b] = bounds[b];
    }
    PGresult *r = lp_db_query(db, sql, 1 + LP_OPS_JOB_BUCKETS, p, err);
    if (!r)
        return -1;
    if (PQntuples(r) < 1) {
        PQclear(r);
        return lp_error_set(err, LP_E_INTERNAL, "the finished-jobs window returned no row");
    }
    lp_db_text_copy(until_out, 64, r, 0, 0);
    all = lp_db_rows(a, r, sizeof *all, read_finished, "finished jobs", &nall, err);
    if (!all)
        return -1;
    for (size_t i = 0; i < nall; i++) { /* drop the row of NULLs */
        if (all[i].count > 0)
            all[k++] = all[i];
    }
    *rows = all;
    *n = k;
    return 0;
}

static int read_worker(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_ops_worker *out = dst;
    out->id = lp_db_text(a, r, row, 0);
    out->busy = lp_db_bool(r, row, 1);
    out->last_seen_s = num(r, row, 2);
    return out->id ? 0 : lp_error_set(err, LP_E_NOMEM, "out of memory reading workers");
}

int lp_db_ops_workers(lp_db *db, lp_arena *a, int max, lp_ops_worker **rows, size_t *n, lp_error *err)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max);
    const char *p[1] = {lim};
    *rows = lp_db_rows(a,
                       lp_db_query(db,
                                   "SELECT id, current_job_id IS NOT NULL, "
                                   "greatest(extract(epoch FROM now() - last_seen_at), 0)::float8 "
                                   "FROM workers ORDER BY id LIMIT $1::integer",
                                   1, p, err),
                       sizeof **rows, read_worker, "workers", n, err);
    return *rows ? 0 : -1;
}

int lp_db_ops_webhooks_pending(lp_db *db, int64_t *fresh, int64_t *retrying, double *oldest_age_s, lp_error *err)
{
    PGresult *r = lp_db_query(db,
                              "SELECT count(*) FILTER (WHERE attempts = 0), count(*) FILTER (WHERE attempts > 0), "
                              "coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 "
                              "FROM webhook_deliveries WHERE status = 'pending'",
                              0, NULL, err);
    if (!r)
        return -1;
    *fresh = lp_db_int_or(r, 0, 0, 0);
    *retrying = lp_db_int_or(r, 0, 1, 0);
    *oldest_age_s = num(r, 0, 2);
    PQclear(r);
    return 0;
}

int lp_db_ops_webhooks_done(lp_db *db, int64_t *delivered, int64_t *failed, lp_error *err)
{
    PGresult *r = lp_db_query(db,
                              "SELECT coalesce(sum(delivered), 0), coalesce(sum(failed), 0) "
                              "FROM webhook_delivery_totals",
                              0, NULL, err);
    if (!r)
        return -1;
    *delivered = lp_db_int_or(r, 0, 0, 0);
    *failed = lp_db_int_or(r, 0, 1, 0);
    PQclear(r);
    return 0;
}

int lp_db_ops_webhooks_fold(lp_db *db, lp_error *err)
{
    /* whoever deletes a row puts its counts back, so the sums hold however many fold at once */
    return lp_db_exec(db,
                      "WITH gone AS (DELETE FROM webhook_delivery_totals RETURNING delivered, failed) "
                      "INSERT INTO webhook_delivery_totals (delivered, failed) "
                      "SELECT sum(delivered), sum(failed) FROM gone HAVING count(*) > 0",
                      0, NULL, err) < 0
               ? -1
               : 0;
}
