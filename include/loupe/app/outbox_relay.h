/* The outbox relay: a thread in louped that publishes committed outbox rows
 * to RabbitMQ with publisher confirms.
 *
 * DESIGN (thread): the relay thread owns its own database connection
 * (LISTEN loupe_outbox) and its own broker connection; nothing else touches
 * them. Loop: wait for a notification, at most outbox_poll; BEGIN; claim up to
 * outbox_batch unpublished rows FOR UPDATE SKIP LOCKED (several louped nodes
 * relay at once without publishing a row twice); publish them; stamp
 * published_at on the confirmed ones; COMMIT. A row is stamped only after the
 * broker confirmed it, so a broker outage loses nothing: rows stay and go out
 * after reconnecting (with backoff, topology redeclared). A crash between
 * publish and COMMIT can publish a row twice; consumers are idempotent.
 * Every prune_every it also removes what is kept only for a while: outbox
 * rows published a day ago, and inbound message ids past
 * integration_message_keep. It also refreshes the cached gauges of
 * /metrics (loupe/app/ops_metrics.h) with its two connections.
 * Counters and flags are atomics, readable from any thread. */
#ifndef LOUPE_APP_OUTBOX_RELAY_H
#define LOUPE_APP_OUTBOX_RELAY_H

#include <stdint.h>

#include "loupe/app/ops_metrics.h"
#include "loupe/core/buf.h"
#include "loupe/core/config.h"
#include "loupe/core/error.h"

typedef struct lp_outbox_relay lp_outbox_relay;

typedef struct lp_outbox_stats {
    uint64_t published;   /* messages confirmed by the broker */
    uint64_t failures;    /* failed publish or database rounds */
    int64_t pending;      /* unpublished rows at the last look (-1 = unknown) */
    int broker_ok;        /* connected to the broker, topology declared */
    int db_ok;            /* connected to the database */
} lp_outbox_stats;

/* Starts the relay thread. cfg and ops (NULL: no /metrics gauges to refresh)
 * are borrowed and must outlive the relay. Fails
 * only on a bad amqp_url or if the thread cannot start: an unreachable
 * database or broker is retried in the background. */
lp_outbox_relay *lp_outbox_relay_start(const lp_config *cfg, lp_ops_metrics *ops, lp_error *err);

/* Stops the thread (within about a second: a publish in flight is
 * finished or abandoned, its rows stay unpublished) and frees. NULL is a no-op. */
void lp_outbox_relay_stop(lp_outbox_relay *r);

/* 1 when the broker is connected (for /readyz). */
int lp_outbox_relay_broker_ok(const lp_outbox_relay *r);

void lp_outbox_relay_stats(const lp_outbox_relay *r, lp_outbox_stats *out);

/* A /metrics collector (lp_metrics_collector): appends the relay's counters
 * in Prometheus text format. cls is the relay. 0 or -1. */
int lp_outbox_relay_metrics(void *cls, lp_buf *out);

/* Wakes the relay to look for rows now (after a commit that wrote some). */
void lp_outbox_relay_kick(lp_outbox_relay *r);

#endif
