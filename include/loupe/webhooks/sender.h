/* Delivering webhooks: what loupe-worker does with a message of the
 * "webhooks" queue ({"v":1,"delivery_id":"…"}, written by the fan-out
 * trigger, a retry, a redelivery or the ordering chain).
 *
 * One transaction per message: lock the delivery (another worker holding
 * it means it is being sent: drop the message), skip it when it is no
 * longer pending, fail it when its subscription is disabled, park it in a
 * retry queue when it is not yet due, leave it to the chain when an earlier
 * delivery of an ordered subscription is pending; else sign and POST it
 * through the SSRF guard, and record the attempt with the delivery's next
 * state and message in the same transaction. The row lock is held during
 * the POST, so a worker killed mid-delivery releases it and the broker's
 * redelivery sends the same delivery (same webhook-id) again.
 *
 * Several messages at once: lp_webhook_sender_handle_batch.
 *
 * DESIGN (threads): a sender belongs to one thread at a time; it owns its
 * database connection and its HTTP client (keep-alive per host, several
 * requests in flight at once through libcurl's multi interface). */
#ifndef LOUPE_WEBHOOKS_SENDER_H
#define LOUPE_WEBHOOKS_SENDER_H

#include <stddef.h>

#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/db/webhooks_sql.h" /* LP_WEBHOOK_QUEUE: the queue it serves */

typedef enum lp_webhook_settle {
    LP_WEBHOOK_ACK = 0,     /* done with the message */
    LP_WEBHOOK_REQUEUE,     /* could not decide (database down): hand it back */
    LP_WEBHOOK_REJECT       /* unreadable: dead-letter it */
} lp_webhook_settle;

typedef struct lp_webhook_sender lp_webhook_sender;

/* A sender under cfg (borrowed; must outlive it). NULL with err when a
 * setting is wrong (net_allow). */
lp_webhook_sender *lp_webhook_sender_new(const lp_config *cfg, lp_error *err);
void lp_webhook_sender_free(lp_webhook_sender *s);

/* Handles one message body (len bytes, borrowed). */
lp_webhook_settle lp_webhook_sender_handle(lp_webhook_sender *s, const char *body, size_t len);

typedef struct lp_webhook_message {
    const char *body; /* borrowed */
    size_t len;
} lp_webhook_message;

/* Handles n messages at once; out[i] is how to settle msgs[i]. The common
 * case goes together: the deliveries that are pending, not held by another
 * worker, due, and of an active unordered subscription are locked in one
 * statement, POSTed concurrently (webhook_host_connections at a time per
 * receiver host, keep-alive), and recorded in one statement, in one
 * transaction that holds their locks during the POSTs (so a worker killed
 * mid-batch releases them and the broker's redelivery sends the same
 * deliveries, same webhook-id, again). Every other message (a duplicate, a
 * delivery of an ordered or disabled subscription, one not yet due or held
 * elsewhere) goes through lp_webhook_sender_handle after that transaction,
 * so an ordered subscription's deliveries stay serial and in event order. */
void lp_webhook_sender_handle_batch(lp_webhook_sender *s, const lp_webhook_message *msgs, size_t n,
                                    lp_webhook_settle *out);

#endif
