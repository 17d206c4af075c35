/* Job kinds and the context a job's handler runs in.
 *
 * Every kind of job is one row of src/jobs/kinds.def:
 *   LP_JOB_KIND("media.normalize", "media", 0, 1, lp_job_media_normalize_validate, lp_job_media_normalize_run)
 * plus its handler file src/jobs/kinds/<name>.c. The registry maps the kind to
 * its queue, its attempt limit, a payload validator (run by louped when the
 * job is created, so bad input is a 422 and never reaches a worker) and the
 * handler a loupe-worker runs.
 *
 * A handler returns 0 after lp_job_set_result, or -1 with ctx->err set. A
 * failure is retried with backoff unless its code is LP_E_INVALID or
 * LP_E_MALFORMED (the payload can never work) or the attempts are used up.
 * Long handlers call lp_job_progress or lp_job_check regularly: both fail
 * with LP_E_TIMEOUT once the attempt has run past job_timeout. */
#ifndef LOUPE_JOBS_JOB_H
#define LOUPE_JOBS_JOB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"

typedef struct lp_job_ctx {
    const char *id;           /* job UUID */
    const char *kind;
    const char *team_id;      /* NULL for a system job */
    json_t *payload;          /* borrowed: a JSON object that passed the kind's validator */
    int attempt;              /* 1-based number of this attempt */
    int max_attempts;
    lp_arena *arena;          /* freed after the attempt */
    lp_db *db;                /* the worker's connection, for the handler's own statements */
    lp_db *progress_db;       /* NULL, or where progress is written instead of db: a handler that
                               * works in one long transaction on db opens (and closes) it, so
                               * that its progress is seen while it runs */
    const lp_config *cfg;
    lp_error err;             /* filled by a failing handler */
    /* Set through the functions below. */
    json_t *result;           /* owned; NULL until lp_job_set_result */
    int64_t deadline_ms;      /* monotonic clock: end of this attempt's time */
    int64_t progress_written_ms;
    double progress;
} lp_job_ctx;

typedef struct lp_job_kind {
    const char *name;         /* "system.echo" */
    const char *queue;        /* "system": consumed from broker queue loupe.system */
    int max_attempts;         /* 0 = the job_max_attempts setting */
    int decodes;              /* 1: its jobs use the worker's decoder (lp_job_decoder_warm) */
    /* Checks a payload (a JSON object); field errors name payload members
     * ("sleep_ms"). NULL = any object. */
    int (*validate)(const json_t *payload, const lp_config *cfg, lp_error *err);
    int (*run)(lp_job_ctx *ctx);
} lp_job_kind;

/* The registry. */
const lp_job_kind *lp_job_kinds(size_t *count);

/* 1 if a handler failure with this code may succeed on another attempt
 * (invalid or malformed input never will). */
int lp_job_error_retryable(int code);
/* The kind called name, or NULL. */
const lp_job_kind *lp_job_kind_find(const char *name);
/* Distinct queue names of the registry, in order of first appearance,
 * then the queues whose messages are not jobs but share their topology
 * ("webhooks"): fills out[0..cap) and returns how many there are. */
size_t lp_job_queues(const char **out, size_t cap);

/* A worker process's temporary directories (loupe/core/tmpdir.h). At
 * start, lp_job_dirs_sweep removes the loupe-decoder-* directories that
 * stopped workers left in worker_tmp_dir and worker_scratch_dir — those
 * whose lock no running worker holds — and logs how many. At a normal
 * end, once no job runs, lp_job_process_end stops the process's decoder,
 * removes its own directories with whatever jobs left in them, and closes
 * the storage handle its jobs shared. */
void lp_job_dirs_sweep(const lp_config *cfg);
void lp_job_process_end(void);

/* Starts the worker's decoder process (lp_job_decoder) now when one of the
 * n queues carries a kind that decodes media (lp_job_kind.decodes), so that
 * its first job does not wait for the process to start up. A failure is only logged: the first job tries
 * again. */
void lp_job_decoder_warm(const lp_config *cfg, const char *const *queues, size_t n);

/* Records progress (clamped to 0..1; written at most every 250 ms, and
 * always when 1; on progress_db when set, else on db). Returns 0, or -1 with ctx->err = LP_E_TIMEOUT when the
 * attempt is past its deadline. A failed database write is only logged. */
int lp_job_progress(lp_job_ctx *ctx, double fraction);

/* 0 while within the deadline; -1 with ctx->err = LP_E_TIMEOUT after. */
int lp_job_check(lp_job_ctx *ctx);

/* Sleeps ms milliseconds in short slices, failing like lp_job_check as soon
 * as the deadline passes. */
int lp_job_sleep(lp_job_ctx *ctx, int64_t ms);

/* Sets the result (steals it; replaces an earlier one). */
void lp_job_set_result(lp_job_ctx *ctx, json_t *result);

#endif
