/* Delivering webhooks: what loupe-worker does with the messages of the
 * "webhooks" queue. A message only wakes a sender up ({"v":1}, queued once
 * per transaction that made deliveries, by a redelivery, or to continue a
 * long backlog); a retry's wake-up names when it is due ({"v":1,"due_at":
 * epoch ms}) and is parked again in a retry queue while it is early.
 *
 * Awake, a sender works in rounds until a round finds nothing to do (or for
 * a few seconds, then it queues a wake-up for the rest). One round: claim
 * the due deliveries straight from the table in one statement
 * (lp_db_webhook_claim_due: at most webhook_batch, each marked as being
 * sent by a session advisory lock; an ordered subscription only its
 * earliest pending one), sign and POST them at once through the SSRF guard
 * (webhook_host_connections at a time per receiver host, keep-alive), with
 * a traceparent continuing the event's trace, and record the outcomes as
 * they arrive, in small groups (webhook_record_every, webhook_record_max):
 * each group's attempts, the deliveries' next states and the retries'
 * wake-ups in one statement of its own, which releases their locks.
 * Deliveries of a disabled subscription fail unsent. A worker killed
 * mid-round loses only what it had not recorded (what was in flight): its
 * locks go with its database session, and the broker's redelivery of its
 * message sends those deliveries (same webhook-id) again. A message is
 * acknowledged only after its rounds are recorded.
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

typedef struct lp_webhook_message {
    const char *body; /* borrowed */
    size_t len;
} lp_webhook_message;

/* Reads a message of the webhooks queue, a wake-up: 0 with *due_at (epoch ms;
 * 0 when it has none), or -1 when it is not one (it is then dead-lettered).
 * Older messages also name a delivery_id: they are wake-ups too. */
int lp_webhook_message_read(const char *body, size_t len, int64_t *due_at);

/* Handles n messages at once (see above); out[i] is how to settle msgs[i]:
 * acknowledged once the rounds they woke are committed (or their wake-up is
 * parked again), handed back when the database failed, dead-lettered when
 * unreadable. */
void lp_webhook_sender_handle_batch(lp_webhook_sender *s, const lp_webhook_message *msgs, size_t n,
                                    lp_webhook_settle *out);

#endif
