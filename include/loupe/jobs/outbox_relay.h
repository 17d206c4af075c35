/* The outbox relay: a thread inside louped that publishes rows of the outbox
 * table to RabbitMQ with publisher confirms, then marks them published.
 *
 * (Contract used by src/app/app.c; implemented in src/jobs/outbox_relay.c.)
 * The relay owns its own database connection and AMQP connection, declares
 * the broker topology when it connects, and reconnects with backoff when
 * either server goes away; rows are never lost while the broker is down. */
#ifndef LOUPE_JOBS_OUTBOX_RELAY_H
#define LOUPE_JOBS_OUTBOX_RELAY_H

#include "loupe/core/buf.h"
#include "loupe/core/config.h"
#include "loupe/core/error.h"

typedef struct lp_outbox_relay lp_outbox_relay;

/* Starts the relay thread. cfg is borrowed and must outlive the relay.
 * Returns NULL with err only for errors that retrying cannot fix (bad URL,
 * out of memory); an unreachable broker or database is retried in the thread. */
lp_outbox_relay *lp_outbox_relay_start(const lp_config *cfg, lp_error *err);

/* Stops the thread (within about a second) and frees. NULL is a no-op. */
void lp_outbox_relay_stop(lp_outbox_relay *relay);

/* 1 if the relay's broker connection is up (for /readyz). */
int lp_outbox_relay_broker_ok(const lp_outbox_relay *relay);

/* lp_metrics collector (cls = the relay): published / failed counters,
 * pending rows, broker connection state. */
int lp_outbox_relay_metrics(void *cls, lp_buf *out);

#endif
