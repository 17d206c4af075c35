/* The workflow router: a thread in louped that enters items into workflows
 * when they become ready.
 *
 * DESIGN (thread): the router owns its own database connection (LISTEN
 * loupe_workflow_inbox); nothing else touches it. The items trigger of
 * migration 0010 queues an item in workflow_inbox, in the transaction that
 * makes it ready, and notifies. Loop: wait for a notification, at most
 * workflow_router_poll; BEGIN; take up to workflow_router_batch inbox rows
 * of one workflow (FOR UPDATE SKIP LOCKED, deleted as taken: several louped
 * nodes route at once without entering an item twice); load the workflow
 * (FOR SHARE) and enter the items (lp_wf_enter_items); COMMIT. A failed
 * round rolls back, so its rows stay queued for the next one. Counters are
 * atomics, readable from any thread. */
#ifndef LOUPE_APP_WORKFLOW_ROUTER_H
#define LOUPE_APP_WORKFLOW_ROUTER_H

#include <stdint.h>

#include "loupe/core/buf.h"
#include "loupe/core/config.h"
#include "loupe/core/error.h"

typedef struct lp_workflow_router lp_workflow_router;

/* Starts the router thread. cfg is borrowed and must outlive the router.
 * Fails only when the thread cannot start: an unreachable database is
 * retried in the background. */
lp_workflow_router *lp_workflow_router_start(const lp_config *cfg, lp_error *err);

/* Stops the thread (a round in flight finishes) and frees. NULL is a no-op. */
void lp_workflow_router_stop(lp_workflow_router *r);

/* A /metrics collector (lp_metrics_collector): items entered and failed
 * rounds in Prometheus text format. cls is the router. 0 or -1. */
int lp_workflow_router_metrics(void *cls, lp_buf *out);

#endif
