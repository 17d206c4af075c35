/* Running one delivered job message in a worker: the attempt's whole life.
 *
 *   parse {v,job_id,kind,attempt}      unparseable → DEAD_LETTER
 *   advisory lock on the job id        held by another live worker → re-queued
 *                                      for later through a retry queue, ACK
 *   lock the row, decide (lp_job_claim_decide):
 *     finished / stale duplicate       → ACK, nothing runs
 *     run: attempts+1, status running, event 'started' (an abandoned attempt
 *          of a dead worker is recorded as 'failed' first)
 *   run the kind's handler (deadline job_timeout)
 *   success → status succeeded + result + event, one statement → ACK
 *   failure, attempts left → publish to loupe.Q.retry.<tier> (confirmed),
 *          status queued + event 'retry' → ACK
 *   failure, final → status failed + event 'dead', publish the message with
 *          its error to loupe.Q.dead → ACK
 *
 * The caller acks or rejects the delivery as told, after this returns: a
 * result is always committed before its message is acknowledged.
 *
 * DESIGN (threads): a runner is used by one thread at a time (the worker's
 * job thread); it owns a database connection and a publishing broker
 * connection, both reconnected on demand. lp_job_runner_current may be
 * called from any thread (the heartbeat). */
#ifndef LOUPE_WORKER_RUNNER_H
#define LOUPE_WORKER_RUNNER_H

#include <stddef.h>

#include "loupe/core/config.h"
#include "loupe/core/error.h"

typedef struct lp_job_runner lp_job_runner;

typedef enum lp_delivery_outcome {
    LP_DELIVERY_ACK = 0,     /* done with the message */
    LP_DELIVERY_DEAD_LETTER, /* reject without requeue: the message itself is bad */
    LP_DELIVERY_REQUEUE      /* could not process now (database down): put it back */
} lp_delivery_outcome;

typedef enum lp_claim_decision {
    LP_CLAIM_RUN = 0,        /* run attempt *attempt_out */
    LP_CLAIM_FINISHED,       /* the job is succeeded, failed or cancelled */
    LP_CLAIM_STALE,          /* a duplicate of a message already handled */
    LP_CLAIM_EXHAUSTED       /* abandoned by a dead worker with no attempts left */
} lp_claim_decision;

/* The rule, pure: status and attempts of the locked job row, the message's
 * attempt. *abandoned_out = 1 when the row says running although no live
 * worker holds the job (its worker died). */
lp_claim_decision lp_job_claim_decide(const char *status, int attempts, int max_attempts, int msg_attempt,
                                      int *attempt_out, int *abandoned_out);

/* New runner (connects lazily). cfg is borrowed. NULL on out-of-memory. */
lp_job_runner *lp_job_runner_new(const lp_config *cfg, lp_error *err);
void lp_job_runner_free(lp_job_runner *r);

/* Handles one message body. Never fails: problems are logged and the outcome
 * says what to do with the delivery. */
lp_delivery_outcome lp_job_runner_handle(lp_job_runner *r, const char *body, size_t len);

/* Answers one request of a caller waiting on a reply address (live
 * inference, loupe/jobs/model_infer.h): the answer is published to
 * reply_to with correlation_id. Never fails: the outcome is always ACK (a
 * lost answer times out at its caller). */
lp_delivery_outcome lp_job_runner_answer(lp_job_runner *r, const char *body, size_t len, const char *reply_to,
                                         const char *correlation_id);

/* The id of the job being run, copied into out (37 bytes); 0 if one runs, -1 if idle. */
int lp_job_runner_current(lp_job_runner *r, char out[37]);

#endif
