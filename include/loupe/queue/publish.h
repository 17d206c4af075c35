/* Publishing with publisher confirms.
 *
 * Messages are persistent (delivery_mode 2), application/json, and published
 * with mandatory set: a message no queue accepts comes back (basic.return) and
 * counts as not confirmed instead of vanishing. The channel is put in confirm
 * mode on first use; the function then reads the broker's basic.ack /
 * basic.nack frames itself (librabbitmq-c has no helper for that), honouring
 * multiple=true, until every message of the batch is settled. */
#ifndef LOUPE_QUEUE_PUBLISH_H
#define LOUPE_QUEUE_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/queue/connection.h"

typedef struct lp_amqp_msg {
    const char *exchange;    /* "" = the default exchange (routing key = queue name) */
    const char *routing_key;
    const void *body;
    size_t body_len;
    const char *message_id;  /* should be unique within a batch: matches returned messages */
    /* Request and reply (RPC): NULL = none. */
    const char *reply_to;    /* where the answer goes (LP_AMQP_REPLY_TO for a direct reply) */
    const char *correlation_id;
    int transient;           /* 1: not persisted (a live request: worth nothing after its caller gave up) */
} lp_amqp_msg;

/* Publishes msgs[0..n) and waits up to timeout_ms for their confirms.
 * confirmed (caller-owned, n entries, may be NULL) receives 1 for each message
 * the broker acknowledged and routed, 0 otherwise. Returns 0 when every message
 * was confirmed; -1 otherwise with err: LP_E_UNAVAILABLE when the connection
 * failed or the confirms did not arrive in time (the connection is then
 * broken), LP_E_INTERNAL when the broker nacked or returned a message (the
 * connection stays usable). A message not confirmed may still have been
 * delivered: consumers must be idempotent. A direct reply (the default
 * exchange, routing key LP_AMQP_REPLY_TO ".…") is published not mandatory,
 * since the broker returns it as unroutable although it delivers it; it is
 * confirmed once acked. */
int lp_amqp_publish(lp_amqp *c, const lp_amqp_msg *msgs, size_t n, unsigned char *confirmed, int64_t timeout_ms,
                    lp_error *err);

#endif
