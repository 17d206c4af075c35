/* Requests answered over RabbitMQ. See loupe/queue/rpc.h. */
#include "loupe/queue/rpc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/util.h"
#include "loupe/queue/connection.h"
#include "loupe/queue/consume.h"
#include "loupe/queue/publish.h"

#define CONNECT_TIMEOUT_MS 5000
#define RPC_POOL_MAX 64

struct lp_amqp_rpc {
    pthread_mutex_t mu;
    char *url;
    int size;
    lp_amqp *idle[RPC_POOL_MAX];
    int nidle;
};

lp_amqp_rpc *lp_amqp_rpc_new(const char *url, int size)
{
    lp_amqp_rpc *p = calloc(1, sizeof *p);
    if (!p || !(p->url = strdup(url ? url : ""))) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    p->size = size < 1 ? 1 : size > RPC_POOL_MAX ? RPC_POOL_MAX : size;
    return p;
}

void lp_amqp_rpc_free(lp_amqp_rpc *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nidle; i++)
        lp_amqp_close(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    free(p->url);
    free(p);
}

/* An idle connection, or a new one consuming its replies. */
static lp_amqp *take(lp_amqp_rpc *p, lp_error *err)
{
    lp_amqp *c = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->nidle > 0)
        c = p->idle[--p->nidle];
    pthread_mutex_unlock(&p->mu);
    if (c)
        return c;
    if (!(c = lp_amqp_connect(p->url, 0, CONNECT_TIMEOUT_MS, err)))
        return NULL;
    if (lp_amqp_consume_replies(c, err) != 0) {
        lp_amqp_close(c);
        return NULL;
    }
    return c;
}

static void give_back(lp_amqp_rpc *p, lp_amqp *c)
{
    if (lp_amqp_ok(c)) {
        pthread_mutex_lock(&p->mu);
        if (p->nidle < p->size) {
            p->idle[p->nidle++] = c;
            c = NULL;
        }
        pthread_mutex_unlock(&p->mu);
    }
    lp_amqp_close(c);
}

int lp_amqp_rpc_call(lp_amqp_rpc *p, const char *queue, const char *fallback, const char *body, int64_t timeout_ms,
                     char **answer, size_t *len, lp_error *err)
{
    int64_t deadline = lp_now_mono_ms() + timeout_ms;
    char id[37];
    lp_amqp *c;
    int rc = -1;

    *answer = NULL;
    *len = 0;
    if (lp_uuid_v4(id) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "cannot make a correlation id");
    if (!(c = take(p, err)))
        return -1;
    lp_amqp_msg m = {"", queue, body, strlen(body), id, LP_AMQP_REPLY_TO, id, 1};
    int sent = lp_amqp_publish(c, &m, 1, NULL, timeout_ms, err);
    if (sent != 0 && err->code == LP_E_INTERNAL && fallback) { /* returned: nobody declared queue */
        lp_error_clear(err);
        m.routing_key = fallback;
        m.transient = 0;
        sent = lp_amqp_publish(c, &m, 1, NULL, timeout_ms, err);
    }
    if (sent != 0) {
        if (err->code == LP_E_INTERNAL) /* returned: no such queue */
            lp_error_set(err, LP_E_UNAVAILABLE, "RabbitMQ took no request for queue %s", m.routing_key);
        goto done;
    }
    for (;;) {
        lp_amqp_delivery d;
        int64_t left = deadline - lp_now_mono_ms();
        int got;
        if (left <= 0) {
            lp_error_set(err, LP_E_TIMEOUT, "no answer from queue %s within %lld ms", queue, (long long)timeout_ms);
            goto done;
        }
        if ((got = lp_amqp_next(c, left, &d, err)) < 0)
            goto done;
        if (got == 0)
            continue;
        if (strcmp(d.correlation_id, id) == 0 && d.body) {
            *answer = d.body; /* taken */
            *len = d.body_len;
            rc = 0;
            goto done;
        }
        lp_amqp_delivery_free(&d); /* a late answer to an earlier call */
    }

done:
    give_back(p, c);
    return rc;
}
