/* Requests answered over RabbitMQ (RPC): a request is published to a work
 * queue with a reply address (RabbitMQ's direct reply-to) and a fresh
 * correlation id; whoever consumes the queue publishes its answer to that
 * address with the same id; the caller waits for it until its deadline.
 *
 * An lp_amqp_rpc is a pool of connections, each consuming its direct
 * replies; a call takes one (connecting when none is free, up to size kept),
 * and a late answer to an earlier call that timed out is recognised by its
 * correlation id and dropped.
 *
 * DESIGN (threads): lp_amqp_rpc_call may be called from any thread; each
 * call owns its connection while it runs. */
#ifndef LOUPE_QUEUE_RPC_H
#define LOUPE_QUEUE_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"

typedef struct lp_amqp_rpc lp_amqp_rpc;

/* A pool for url (copied) keeping at most size idle connections. NULL when
 * out of memory. */
lp_amqp_rpc *lp_amqp_rpc_new(const char *url, int size);
void lp_amqp_rpc_free(lp_amqp_rpc *p);

/* Publishes body (JSON) to queue (a full broker queue name; a live queue,
 * loupe/queue/topology.h) as a transient message — or, when no such queue
 * exists (no consumer has declared it) and fallback (a full name) is not
 * NULL, to fallback as a persistent one — and waits up to timeout_ms for
 * the answer: 0 with *answer (malloc'ed, NUL-terminated, *len bytes), or -1
 * with LP_E_TIMEOUT (no answer in time) or LP_E_UNAVAILABLE (the broker
 * cannot be reached, or took no request). */
int lp_amqp_rpc_call(lp_amqp_rpc *p, const char *queue, const char *fallback, const char *body, int64_t timeout_ms,
                     char **answer, size_t *len, lp_error *err);

#endif
