/* The context a job's handler runs in: progress, deadline, result; the
 * storage handle and the decoder the handlers share, and the worker's
 * temporary directories. See loupe/jobs/job.h and jobs_int.h. */
#include "loupe/jobs/job.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs_int.h"

#include "loupe/core/log.h"
#include "loupe/core/tmpdir.h"
#include "loupe/core/util.h"
#include "loupe/db/jobs_sql.h"
#include "loupe/jobs/decoder.h"

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

/* ---- The decoder and its directories -------------------------------------------- */

/* One decoder per worker process, prepared on first use with its own work
 * directory <worker_tmp_dir>/loupe-decoder-XXXXXX and, when
 * worker_scratch_dir can be used, a scratch directory
 * <worker_scratch_dir>/loupe-decoder-XXXXXX in memory (each job's directory
 * is made inside one of them: the scratch one for a volume, whose
 * intermediate files are read and written several times). The decoder owns
 * both (lp_decoder_own_dirs): they are locked for the process's lifetime
 * and removed by lp_job_process_end, or by the next worker's
 * lp_job_dirs_sweep when this one dies (loupe/core/tmpdir.h). Its process
 * starts with the first transform (or as the worker starts:
 * lp_job_decoder_warm) and is replaced after a crash or a timeout
 * (loupe/jobs/decoder.h). */
#define DECODER_DIR_PREFIX "loupe-decoder"

static pthread_mutex_t decoder_lock = PTHREAD_MUTEX_INITIALIZER;
static lp_decoder *decoder_handle;

/* worker_tmp_dir, else $TMPDIR, else /tmp. */
static const char *tmp_parent(const lp_config *cfg)
{
    const char *tmp = cfg->worker_tmp_dir && *cfg->worker_tmp_dir ? cfg->worker_tmp_dir : getenv("TMPDIR");
    return tmp && *tmp ? tmp : "/tmp";
}

static const char *scratch_parent(const lp_config *cfg)
{
    return cfg->worker_scratch_dir && *cfg->worker_scratch_dir ? cfg->worker_scratch_dir : NULL;
}

lp_decoder *lp_job_decoder(const lp_config *cfg, lp_error *err)
{
    lp_decoder *d;
    pthread_mutex_lock(&decoder_lock);
    if (!decoder_handle) {
        const char *scratch_dir = scratch_parent(cfg);
        lp_tmpdir *work = NULL, *scratch = NULL;
        lp_error serr;
        lp_error_clear(&serr);
        if (scratch_dir && !(scratch = lp_tmpdir_new(scratch_dir, DECODER_DIR_PREFIX, &serr)))
            LP_WARN("media", "worker_scratch_dir %s cannot be used (%s); intermediate files go to worker_tmp_dir",
                    scratch_dir, serr.message);
        if (!(work = lp_tmpdir_new(tmp_parent(cfg), DECODER_DIR_PREFIX, err)))
            lp_error_hint(err, "worker_tmp_dir (empty: $TMPDIR, else /tmp) must be a directory this worker can write");
        if (work &&
            (decoder_handle = lp_decoder_new_from_config(cfg, lp_tmpdir_path(work),
                                                         scratch ? lp_tmpdir_path(scratch) : NULL, 1, err))) {
            lp_decoder_own_dirs(decoder_handle, work, scratch);
        } else {
            lp_tmpdir_free(work);
            lp_tmpdir_free(scratch);
        }
    }
    d = decoder_handle;
    pthread_mutex_unlock(&decoder_lock);
    return d;
}

void lp_job_decoder_warm(const lp_config *cfg, const char *const *queues, size_t n)
{
    size_t nkinds;
    const lp_job_kind *kinds = lp_job_kinds(&nkinds);
    int wanted = 0;
    for (size_t k = 0; k < nkinds; k++)
        for (size_t i = 0; kinds[k].decodes && i < n; i++)
            wanted |= strcmp(queues[i], kinds[k].queue) == 0;
    lp_error err;
    lp_error_clear(&err);
    lp_decoder *d = wanted ? lp_job_decoder(cfg, &err) : NULL;
    if (wanted && (!d || lp_decoder_start(d, &err) != 0))
        LP_WARN("media", "the decoder could not be started ahead of the first job: %s", err.message);
}

void lp_job_dirs_sweep(const lp_config *cfg)
{
    lp_tmpdir_swept swept;
    const char *scratch_dir = scratch_parent(cfg);
    if (lp_tmpdir_sweep(tmp_parent(cfg), DECODER_DIR_PREFIX, cfg->stale_dir_age, &swept) != 0)
        LP_WARN("jobs", "cannot look for directories stopped workers left in worker_tmp_dir %s", tmp_parent(cfg));
    if (scratch_dir && lp_tmpdir_sweep(scratch_dir, DECODER_DIR_PREFIX, cfg->stale_dir_age, &swept) != 0)
        LP_WARN("jobs", "cannot look for directories stopped workers left in worker_scratch_dir %s", scratch_dir);
}

void lp_job_process_end(void)
{
    pthread_mutex_lock(&decoder_lock);
    lp_decoder_free(decoder_handle);
    decoder_handle = NULL;
    pthread_mutex_unlock(&decoder_lock);
    pthread_mutex_lock(&storage_lock);
    lp_storage_free(storage_handle);
    storage_handle = NULL;
    pthread_mutex_unlock(&storage_lock);
}
