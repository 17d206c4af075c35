/* Prometheus metrics for /metrics: requests by route and status, a latency
 * histogram per route, plus collectors other modules register (database pool,
 * outbox relay). Counters are relaxed atomics: observing never takes a lock. */
#ifndef LOUPE_HTTP_METRICS_H
#define LOUPE_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/buf.h"
#include "loupe/http/route.h"

typedef struct lp_metrics lp_metrics;

/* routes is borrowed and must outlive the metrics. NULL on out-of-memory. */
lp_metrics *lp_metrics_new(const lp_route *routes, size_t nroutes);
void lp_metrics_free(lp_metrics *m);

/* Records one request. route NULL = no route matched. */
void lp_metrics_observe(lp_metrics *m, const lp_route *route, int status, int64_t duration_us);

/* A collector appends Prometheus text (with # HELP/# TYPE lines) to out;
 * returns 0 or -1. Register before the server starts. At most 16. */
typedef int (*lp_metrics_collector)(void *cls, lp_buf *out);
int lp_metrics_add_collector(lp_metrics *m, lp_metrics_collector fn, void *cls);

/* Renders everything in the text exposition format 0.0.4. */
int lp_metrics_render(lp_metrics *m, lp_buf *out);

#endif
