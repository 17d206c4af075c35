/* Consuming with manual acknowledgements and a prefetch window. */
#ifndef LOUPE_QUEUE_CONSUME_H
#define LOUPE_QUEUE_CONSUME_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/queue/connection.h"

/* Largest message body accepted; a bigger one is delivered with too_large set
 * and no body, so the consumer can reject it. */
#define LP_AMQP_BODY_MAX (1024 * 1024)

typedef struct lp_amqp_delivery {
    uint64_t tag;          /* delivery tag, for ack/reject on the same connection */
    int redelivered;       /* the broker delivered it before (a consumer died holding it) */
    int too_large;         /* body over LP_AMQP_BODY_MAX: body is NULL */
    char queue[128];       /* the queue it came from (the consumer tag is the queue name) */
    char routing_key[256];
    char *body;            /* owned, NUL-terminated; NULL when too_large */
    size_t body_len;
    char reply_to[256];    /* a request's reply address; "" = none */
    char correlation_id[128]; /* "" = none */
} lp_amqp_delivery;

/* RabbitMQ's direct reply-to pseudo-queue: a request published with this
 * reply_to on a connection that consumes it (lp_amqp_consume_replies) gets
 * its answer on that connection, without a queue of its own. */
#define LP_AMQP_REPLY_TO "amq.rabbitmq.reply-to"

/* Starts consuming the answers to this connection's requests
 * (LP_AMQP_REPLY_TO, no acknowledgements); call once, before the first
 * request. The answers arrive through lp_amqp_next with queue set to
 * LP_AMQP_REPLY_TO. */
int lp_amqp_consume_replies(lp_amqp *c, lp_error *err);

/* Starts consuming queue with manual acks, with at most prefetch
 * unacknowledged deliveries (basic.qos per consumer: set again only when it
 * differs from the previous call's); call once per queue. */
int lp_amqp_consume(lp_amqp *c, const char *queue, int prefetch, lp_error *err);

/* Waits up to timeout_ms for the next delivery. Returns 1 and fills *out (free
 * with lp_amqp_delivery_free), 0 on timeout, -1 when the connection failed or
 * the server cancelled a consumer (a queue was deleted): LP_E_UNAVAILABLE. */
int lp_amqp_next(lp_amqp *c, int64_t timeout_ms, lp_amqp_delivery *out, lp_error *err);

/* Frees the body; NULL is a no-op. */
void lp_amqp_delivery_free(lp_amqp_delivery *d);

/* Acknowledges one delivery. */
int lp_amqp_ack(lp_amqp *c, uint64_t tag, lp_error *err);

/* Negatively acknowledges one delivery: requeue = 1 puts it back in its queue,
 * 0 dead-letters it (x-dead-letter-exchange of the queue). */
int lp_amqp_reject(lp_amqp *c, uint64_t tag, int requeue, lp_error *err);

#endif
