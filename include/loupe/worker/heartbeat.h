/* A worker's heartbeat: a thread that upserts the worker's row (host, pid,
 * queues, CPUs, memory, GPUs with their memory used and free as of that
 * beat, current job) every worker_heartbeat, and
 * refreshes the current job's heartbeat_at. It owns its own database
 * connection and reconnects after failures. Stopping deletes the row. */
#ifndef LOUPE_WORKER_HEARTBEAT_H
#define LOUPE_WORKER_HEARTBEAT_H

#include <stddef.h>

#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/worker/runner.h"

typedef struct lp_heartbeat lp_heartbeat;

/* Starts the thread. queues[0..nqueues) and cfg are borrowed and must outlive
 * it; runner (may be NULL) is asked for the current job. worker_id_out (may be
 * NULL, 128 bytes) receives the worker's id "host:pid:start". */
lp_heartbeat *lp_heartbeat_start(const lp_config *cfg, const char *const *queues, size_t nqueues,
                                 lp_job_runner *runner, char *worker_id_out, lp_error *err);

/* Stops the thread (promptly), deletes the worker's row, frees. NULL is a no-op. */
void lp_heartbeat_stop(lp_heartbeat *hb);

#endif
