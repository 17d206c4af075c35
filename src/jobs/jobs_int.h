/* Internals shared by the files of src/jobs: the prototypes of every kind's
 * validator and handler, generated from kinds.def, and the storage handle
 * the handlers share. */
#ifndef LOUPE_JOBS_INT_H
#define LOUPE_JOBS_INT_H

#include "loupe/jobs/job.h"
#include "loupe/storage/storage.h"

/* The worker process's storage handle, opened on first use (thread-safe);
 * borrowed: it lives as long as the process. NULL with err. */
lp_storage *lp_job_storage(const lp_config *cfg, lp_error *err);

/* The worker process's decoder (a pool of one loupe-decoder process),
 * prepared on first use with its own work directory
 * <worker_tmp_dir>/loupe-decoder-XXXXXX and scratch directory
 * <worker_scratch_dir>/loupe-decoder-XXXXXX (thread-safe); borrowed: it
 * lives until lp_job_process_end, which removes its directories. Every
 * file it is to read goes under its work or scratch directory
 * (lp_decoder_work_dir, lp_decoder_scratch_dir). NULL with err. */
struct lp_decoder;
struct lp_decoder *lp_job_decoder(const lp_config *cfg, lp_error *err);

#define LP_JOB_KIND(name, queue, max_attempts, decodes, validate, run)                                               \
    int validate(const json_t *payload, const lp_config *cfg, lp_error *err);                                        \
    int run(lp_job_ctx *ctx);
#include "kinds.def"
#undef LP_JOB_KIND

#endif
