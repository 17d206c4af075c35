/* Internals shared by the files of src/jobs: the prototypes of every kind's
 * validator and handler, generated from kinds.def. */
#ifndef LOUPE_JOBS_INT_H
#define LOUPE_JOBS_INT_H

#include "loupe/jobs/job.h"

#define LP_JOB_KIND(name, queue, max_attempts, validate, run)                                                        \
    int validate(const json_t *payload, const lp_config *cfg, lp_error *err);                                        \
    int run(lp_job_ctx *ctx);
#include "kinds.def"
#undef LP_JOB_KIND

#endif
