/* loupe-worker's dispatch loop (src/worker/dispatch.c), called by main.c. */
#ifndef LOUPE_WORKER_INT_H
#define LOUPE_WORKER_INT_H

#include "loupe/core/config.h"
#include "loupe/core/error.h"

/* Most queues one worker consumes (worker_queues). */
#define LP_WORKER_QUEUES_MAX 32

/* Splits worker_queues ("system, media") into out[0..cap) (pointers into
 * buf, which receives a copy of text). Returns how many, or -1 with a field
 * error on "worker_queues" (empty, bad name, too many). */
int lp_worker_parse_queues(const char *text, char *buf, size_t bufcap, const char **out, size_t cap, lp_error *err);

/* With ngpus > 0, adds gpu_queue (worker_gpu_queue; NULL or "": none) to
 * queues[0..n) unless there already (room for cap). Returns the new count,
 * or -1 with a field error on "worker_gpu_queue" (a bad name, no room). */
int lp_worker_gpu_queue(const char **queues, size_t n, size_t cap, size_t ngpus, const char *gpu_queue,
                        lp_error *err);

/* Runs the worker until SIGTERM/SIGINT: finishes the job in hand, then
 * returns 0. Returns 1 when it cannot start (bad settings). Connection
 * failures are retried with backoff, never fatal. */
int lp_worker_run(const lp_config *cfg);

#endif
