/* Queue names, backoff tiers and the declaration of the job topology.
 * See include/loupe/queue/topology.h. */
#include "loupe/queue/topology.h"

#include <amqp.h>
#include <stdio.h>
#include <string.h>

#include "queue_int.h"

static const lp_retry_tier TIERS[] = {
    {"1s", 1000}, {"5s", 5000}, {"30s", 30000}, {"2m", 120000}, {"10m", 600000},
};
#define NTIERS (sizeof(TIERS) / sizeof(TIERS[0]))

const lp_retry_tier *lp_queue_retry_tiers(size_t *count)
{
    *count = NTIERS;
    return TIERS;
}

size_t lp_queue_retry_tier_for(int failed_attempt)
{
    if (failed_attempt < 1)
        return 0;
    if ((size_t)failed_attempt > NTIERS)
        return NTIERS - 1;
    return (size_t)failed_attempt - 1;
}

int lp_queue_name_valid(const char *q)
{
    size_t n = 0;
    if (!q)
        return 0;
    for (; q[n]; n++) {
        char ch = q[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return 0;
    }
    return n > 0 && n <= LP_QUEUE_NAME_MAX;
}

int lp_queue_work_name(const char *q, char out[LP_QUEUE_FULL_NAME_MAX])
{
    if (!lp_queue_name_valid(q))
        return -1;
    snprintf(out, LP_QUEUE_FULL_NAME_MAX, LP_QUEUE_PREFIX "%s", q);
    return 0;
}

int lp_queue_dead_name(const char *q, char out[LP_QUEUE_FULL_NAME_MAX])
{
    if (!lp_queue_name_valid(q))
        return -1;
    snprintf(out, LP_QUEUE_FULL_NAME_MAX, LP_QUEUE_PREFIX "%s.dead", q);
    return 0;
}

int lp_queue_retry_name(const char *q, size_t tier, char out[LP_QUEUE_FULL_NAME_MAX])
{
    if (!lp_queue_name_valid(q) || tier >= NTIERS)
        return -1;
    snprintf(out, LP_QUEUE_FULL_NAME_MAX, LP_QUEUE_PREFIX "%s.retry.%s", q, TIERS[tier].name);
    return 0;
}

int lp_queue_live_name(const char *q, char out[LP_QUEUE_FULL_NAME_MAX])
{
    if (!lp_queue_name_valid(q))
        return -1;
    snprintf(out, LP_QUEUE_FULL_NAME_MAX, LP_QUEUE_PREFIX "%s.live", q);
    return 0;
}

/* Arguments of a queue declaration: a small fixed-size table. */
typedef struct qargs {
    amqp_table_entry_t e[6];
    int n;
} qargs;

static void arg_str(qargs *a, const char *key, const char *value)
{
    amqp_table_entry_t *e = &a->e[a->n++];
    e->key = lp_amqp_cstr(key);
    e->value.kind = AMQP_FIELD_KIND_UTF8;
    e->value.value.bytes = lp_amqp_cstr(value);
}

static void arg_i64(qargs *a, const char *key, int64_t value)
{
    amqp_table_entry_t *e = &a->e[a->n++];
    e->key = lp_amqp_cstr(key);
    e->value.kind = AMQP_FIELD_KIND_I64;
    e->value.value.i64 = value;
}

/* Every queue: a durable quorum queue; dead-lettering (where configured) is
 * at-least-once, which quorum queues allow only with reject-publish overflow. */
static void quorum_args(qargs *a, int dead_letters)
{
    a->n = 0;
    arg_str(a, "x-queue-type", "quorum");
    if (dead_letters) {
        arg_str(a, "x-dead-letter-strategy", "at-least-once");
        arg_str(a, "x-overflow", "reject-publish");
    }
}

static int declare_queue(lp_amqp *c, const char *name, qargs *a, lp_error *err)
{
    amqp_table_t t;
    char what[LP_QUEUE_FULL_NAME_MAX + 32];

    t.num_entries = a->n;
    t.entries = a->e;
    amqp_queue_declare(c->conn, LP_AMQP_CHANNEL, lp_amqp_cstr(name), 0, 1, 0, 0, t);
    snprintf(what, sizeof(what), "declaring queue %s", name);
    if (lp_amqp_check_reply(c, amqp_get_rpc_reply(c->conn), what, err)) {
        lp_error_hint(err, "If the queue exists with other arguments (e.g. as a classic queue), delete it "
                           "once and restart; it is recreated as Loupe expects.");
        return -1;
    }
    return 0;
}

static int bind_queue(lp_amqp *c, const char *queue, const char *exchange, const char *key, lp_error *err)
{
    char what[2 * LP_QUEUE_FULL_NAME_MAX + 32];

    amqp_queue_bind(c->conn, LP_AMQP_CHANNEL, lp_amqp_cstr(queue), lp_amqp_cstr(exchange), lp_amqp_cstr(key),
                    amqp_empty_table);
    snprintf(what, sizeof(what), "binding queue %s to %s", queue, exchange);
    return lp_amqp_check_reply(c, amqp_get_rpc_reply(c->conn), what, err);
}

static int declare_exchange(lp_amqp *c, const char *name, lp_error *err)
{
    char what[64];

    amqp_exchange_declare(c->conn, LP_AMQP_CHANNEL, lp_amqp_cstr(name), lp_amqp_cstr("direct"), 0, 1, 0, 0,
                          amqp_empty_table);
    snprintf(what, sizeof(what), "declaring exchange %s", name);
    return lp_amqp_check_reply(c, amqp_get_rpc_reply(c->conn), what, err);
}

static int declare_one(lp_amqp *c, const char *q, lp_error *err)
{
    char work[LP_QUEUE_FULL_NAME_MAX], dead[LP_QUEUE_FULL_NAME_MAX], retry[LP_QUEUE_FULL_NAME_MAX];
    qargs a;

    if (lp_queue_work_name(q, work) || lp_queue_dead_name(q, dead))
        return lp_error_set(err, LP_E_INVALID, "queue name \"%s\" is invalid: use 1 to %d of a-z, 0-9, '_', '-'", q,
                            LP_QUEUE_NAME_MAX);

    quorum_args(&a, 0);
    if (declare_queue(c, dead, &a, err) || bind_queue(c, dead, LP_QUEUE_DLX, q, err))
        return -1;

    quorum_args(&a, 1);
    arg_str(&a, "x-dead-letter-exchange", LP_QUEUE_DLX);
    if (declare_queue(c, work, &a, err) || bind_queue(c, work, LP_QUEUE_EXCHANGE, q, err))
        return -1;

    for (size_t t = 0; t < NTIERS; t++) {
        lp_queue_retry_name(q, t, retry);
        quorum_args(&a, 1);
        arg_i64(&a, "x-message-ttl", TIERS[t].ttl_ms);
        arg_str(&a, "x-dead-letter-exchange", LP_QUEUE_EXCHANGE);
        arg_str(&a, "x-dead-letter-routing-key", q);
        if (declare_queue(c, retry, &a, err))
            return -1;
    }
    return 0;
}

int lp_queue_declare_live(lp_amqp *c, const char *q, lp_error *err)
{
    char name[LP_QUEUE_FULL_NAME_MAX], what[LP_QUEUE_FULL_NAME_MAX + 32];
    qargs a;

    if (lp_queue_live_name(q, name))
        return lp_error_set(err, LP_E_INVALID, "queue name \"%s\" is invalid: use 1 to %d of a-z, 0-9, '_', '-'", q,
                            LP_QUEUE_NAME_MAX);
    if (!lp_amqp_ok(c))
        return lp_error_set(err, LP_E_UNAVAILABLE, "the connection to RabbitMQ at %s is broken", lp_amqp_where(c));
    a.n = 0;
    arg_str(&a, "x-queue-type", "classic");
    amqp_table_t t = {a.n, a.e};
    /* not durable, not exclusive (every worker of q shares it), deleted with its last consumer */
    amqp_queue_declare(c->conn, LP_AMQP_CHANNEL, lp_amqp_cstr(name), 0, 0, 0, 1, t);
    snprintf(what, sizeof(what), "declaring queue %s", name);
    return lp_amqp_check_reply(c, amqp_get_rpc_reply(c->conn), what, err) ? -1 : 0;
}

int lp_queue_declare_topology(lp_amqp *c, const char *const *queues, size_t n, lp_error *err)
{
    if (!lp_amqp_ok(c))
        return lp_error_set(err, LP_E_UNAVAILABLE, "the connection to RabbitMQ at %s is broken", lp_amqp_where(c));
    if (declare_exchange(c, LP_QUEUE_EXCHANGE, err) || declare_exchange(c, LP_QUEUE_DLX, err))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (declare_one(c, queues[i], err))
            return -1;
    }
    return 0;
}

int lp_queue_depth(lp_amqp *c, const char *name, int64_t *messages, int64_t *consumers, lp_error *err)
{
    char what[LP_QUEUE_FULL_NAME_MAX + 32];
    amqp_queue_declare_ok_t *ok;

    if (!lp_amqp_ok(c))
        return lp_error_set(err, LP_E_UNAVAILABLE, "the connection to RabbitMQ at %s is broken", lp_amqp_where(c));
    ok = amqp_queue_declare(c->conn, LP_AMQP_CHANNEL, lp_amqp_cstr(name), 1, 0, 0, 0, amqp_empty_table);
    snprintf(what, sizeof(what), "looking at queue %s", name);
    if (lp_amqp_check_reply(c, amqp_get_rpc_reply(c->conn), what, err) || !ok)
        return -1;
    *messages = (int64_t)ok->message_count;
    *consumers = (int64_t)ok->consumer_count;
    return 0;
}
