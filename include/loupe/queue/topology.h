/* The broker topology of Loupe's job queues, and its names.
 *
 * For every queue name Q (a job kind's queue: "system", "media", …):
 *
 *   exchange loupe.jobs (direct) --Q--> loupe.Q             work queue, consumed by workers
 *   loupe.Q  --dead-letter--> exchange loupe.dlx (direct) --Q--> loupe.Q.dead
 *   loupe.Q.retry.<tier>   no consumers; x-message-ttl = tier, then dead-letters
 *                          back to loupe.jobs with routing key Q
 *
 * All queues are durable quorum queues with at-least-once dead-lettering, so a
 * message survives broker restarts and is never dropped between a retry queue
 * and its work queue.
 *
 * Requests a worker answers at once (live inference, loupe/queue/rpc.h) take
 * another way: loupe.Q.live, a classic queue that is neither durable nor
 * replicated and goes away with its last consumer, declared and consumed by
 * every worker of Q (lp_queue_declare_live). Such a request is worthless
 * once its caller has given up, so it is never written to disk: no fsync
 * lies between the caller and the worker. Declaring is idempotent: every start declares the same
 * topology. Changing a queue's arguments later needs the old queue deleted
 * first (the broker refuses a redeclare with different arguments). */
#ifndef LOUPE_QUEUE_TOPOLOGY_H
#define LOUPE_QUEUE_TOPOLOGY_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/queue/connection.h"

#define LP_QUEUE_EXCHANGE "loupe.jobs"
#define LP_QUEUE_DLX "loupe.dlx"
#define LP_QUEUE_PREFIX "loupe."
/* Longest queue name Q (letters, digits, '_' and '-'). */
#define LP_QUEUE_NAME_MAX 48
/* Room for any broker-side name derived from Q ("loupe.Q.retry.10m"). */
#define LP_QUEUE_FULL_NAME_MAX 80

typedef struct lp_retry_tier {
    const char *name;  /* "1s", "5s", "30s", "2m", "10m" */
    int64_t ttl_ms;
} lp_retry_tier;

/* The backoff tiers, shortest first (a constant table, the same on every node). */
const lp_retry_tier *lp_queue_retry_tiers(size_t *count);

/* Index of the tier a job waits in after its attempt number failed_attempt
 * (1-based) failed: attempt 1 → first tier, then the next, capped at the last. */
size_t lp_queue_retry_tier_for(int failed_attempt);

/* 1 if q is a valid queue name Q. */
int lp_queue_name_valid(const char *q);

/* Broker names for Q. Each returns 0, or -1 if q is invalid. out needs
 * LP_QUEUE_FULL_NAME_MAX bytes. */
int lp_queue_work_name(const char *q, char out[LP_QUEUE_FULL_NAME_MAX]);
int lp_queue_dead_name(const char *q, char out[LP_QUEUE_FULL_NAME_MAX]);
int lp_queue_retry_name(const char *q, size_t tier, char out[LP_QUEUE_FULL_NAME_MAX]);
int lp_queue_live_name(const char *q, char out[LP_QUEUE_FULL_NAME_MAX]);

/* Declares the exchanges and, for each of queues[0..n), the work, dead and
 * retry queues with their bindings. Returns 0, or -1 with err naming the
 * object the broker refused (the connection is then broken). */
int lp_queue_declare_topology(lp_amqp *c, const char *const *queues, size_t n, lp_error *err);

/* Declares Q's live queue loupe.Q.live (classic, not durable, deleted with
 * its last consumer). 0, or -1 with err (the connection is then broken). */
int lp_queue_declare_live(lp_amqp *c, const char *q, lp_error *err);

/* Messages ready in the broker queue `name` (a full name, "loupe.media") and
 * its consumers, by a passive declare (no plugin needed; creates nothing).
 * 0, or -1 with err; a queue that does not exist closes the channel, so the
 * connection is then broken (declare the topology first). */
int lp_queue_depth(lp_amqp *c, const char *name, int64_t *messages, int64_t *consumers, lp_error *err);

#endif
