/* The installation-wide gauges of /metrics, read from PostgreSQL and
 * RabbitMQ and cached: the outbox's oldest row, queue depths, jobs by kind
 * (waiting, running, finished with their durations), worker heartbeats and
 * webhook deliveries (docs/OPERATIONS.md lists every metric).
 *
 * DESIGN (threads): the outbox relay thread refreshes the cache with its own
 * database and broker connections (lp_ops_metrics_refresh, at most every
 * metrics_refresh); request threads only copy the last rendering under a
 * mutex (lp_ops_metrics_collect), so a scrape never waits on PostgreSQL or
 * RabbitMQ. Figures are the whole installation's, the same on every node. */
#ifndef LOUPE_APP_OPS_METRICS_H
#define LOUPE_APP_OPS_METRICS_H

#include "loupe/core/buf.h"
#include "loupe/core/config.h"
#include "loupe/db/db.h"
#include "loupe/queue/connection.h"

typedef struct lp_ops_metrics lp_ops_metrics;

/* cfg is borrowed and must outlive it. NULL on out-of-memory. */
lp_ops_metrics *lp_ops_metrics_new(const lp_config *cfg);
void lp_ops_metrics_free(lp_ops_metrics *m);

/* Called by the one thread that owns db and mq (mq may be NULL or broken:
 * queue depths are then left out): reads everything again when
 * metrics_refresh has passed since the last time, else returns at once.
 * A failed piece is logged and left out of that rendering. NULL m: no-op. */
void lp_ops_metrics_refresh(lp_ops_metrics *m, lp_db *db, lp_amqp *mq);

/* A /metrics collector (lp_metrics_collector): appends the last rendering,
 * unless it is older than 3 x metrics_refresh (the relay has lost the
 * database: frozen figures would mislead), and its age. cls is the
 * lp_ops_metrics. 0 or -1. */
int lp_ops_metrics_collect(void *cls, lp_buf *out);

#endif
