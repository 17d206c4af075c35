/* Creating jobs: the job row and its outbox message in the caller's
 * transaction (transactional outbox — the message is published by the relay
 * only once the transaction commits, and is never lost if it does). */
#ifndef LOUPE_JOBS_ENQUEUE_H
#define LOUPE_JOBS_ENQUEUE_H

#include <jansson.h>

#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"

typedef struct lp_job_spec {
    const char *kind;        /* a registered kind */
    const char *team_id;     /* owning team; NULL for a system job */
    const char *created_by;  /* user id; may be NULL */
    const json_t *payload;   /* borrowed; a JSON object (NULL = {}) */
    int max_attempts;        /* 0 = the kind's limit, else cfg->job_max_attempts; 1..100 */
} lp_job_spec;

/* Validates spec (unknown kind → LP_E_INVALID on "kind"; the kind's payload
 * validator's field errors) and inserts the job (status queued) and its
 * outbox message with one statement: inside the caller's transaction when
 * one is open, else atomically on its own. The message carries the calling
 * thread's current trace (lp_trace_current), if any, so the worker logs the
 * job under the trace of the request that made it. Writes the new id to job_id_out.
 * 0, or -1 with err. */
int lp_jobs_enqueue(lp_db *db, const lp_config *cfg, const lp_job_spec *spec, char job_id_out[37], lp_error *err);

#endif
