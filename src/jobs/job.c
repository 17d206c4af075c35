/* The context a job's handler runs in: progress, deadline, result; the
 * storage handle the handlers share. See loupe/jobs/job.h and jobs_int.h. */
#include "loupe/jobs/job.h"

#include <pthread.h>
#include <time.h>

#include "jobs_int.h"

#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/jobs_sql.h"

#define PROGRESS_EVERY_MS 250
#define SLEEP_SLICE_MS 50

int lp_job_check(lp_job_ctx *ctx)
{
    if (ctx->deadline_ms > 0 && lp_now_mono_ms() > ctx->deadline_ms)
        return lp_error_set(&ctx->err, LP_E_TIMEOUT, "job %s: attempt %d ran past job_timeout (%lld ms)", ctx->id,
                            ctx->attempt, ctx->cfg ? (long long)ctx->cfg->job_timeout : 0LL);
    return 0;
}

int lp_job_progress(lp_job_ctx *ctx, double fraction)
{
    int64_t now = lp_now_mono_ms();

    if (!(fraction >= 0)) /* also NaN */
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    ctx->progress = fraction;
    lp_db *db = ctx->progress_db ? ctx->progress_db : ctx->db;
    if (db && (fraction >= 1 || now - ctx->progress_written_ms >= PROGRESS_EVERY_MS)) {
        lp_error e;
        lp_error_clear(&e);
        if (lp_db_job_progress(db, ctx->id, ctx->attempt, fraction, &e) != 0)
            LP_WARN("jobs", "job %s: cannot record progress: %s", ctx->id, e.message);
        ctx->progress_written_ms = now;
    }
    return lp_job_check(ctx);
}

int lp_job_sleep(lp_job_ctx *ctx, int64_t ms)
{
    int64_t end = lp_now_mono_ms() + ms;
    for (;;) {
        if (lp_job_check(ctx))
            return -1;
        int64_t left = end - lp_now_mono_ms();
        if (left <= 0)
            return 0;
        if (left > SLEEP_SLICE_MS)
            left = SLEEP_SLICE_MS;
        struct timespec ts = {0, (long)left * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void lp_job_set_result(lp_job_ctx *ctx, json_t *result)
{
    json_decref(ctx->result);
    ctx->result = result;
}

int lp_job_error_retryable(int code)
{
    return code != LP_E_INVALID && code != LP_E_MALFORMED;
}

/* One storage handle per worker process, opened on first use. */
static pthread_mutex_t storage_lock = PTHREAD_MUTEX_INITIALIZER;
static lp_storage *storage_handle;

lp_storage *lp_job_storage(const lp_config *cfg, lp_error *err)
{
    lp_storage *s;
    pthread_mutex_lock(&storage_lock);
    if (!storage_handle)
        storage_handle = lp_storage_open(cfg, err);
    s = storage_handle;
    pthread_mutex_unlock(&storage_lock);
    return s;
}
