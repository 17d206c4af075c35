/* Consuming with manual acknowledgements. See include/loupe/queue/consume.h. */
#include "loupe/queue/consume.h"

#include <amqp.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/util.h"
#include "queue_int.h"

static void copy_bytes(char *dst, size_t cap, amqp_bytes_t b)
{
    size_t n = b.len < cap - 1 ? b.len : cap - 1;
    if (n)
        memcpy(dst, b.bytes, n);
    dst[n] = '\0';
}

int lp_amqp_consume(lp_amqp *c, const char *queue, int prefetch, lp_error *err)
{
    if (!lp_amqp_ok(c))
        return lp_error_set(err, LP_E_UNAVAILABLE, "the connection to RabbitMQ at %s is broken", lp_amqp_where(c));
    if (c->qos != prefetch) {
        if (prefetch < 1 || prefetch > 65535)
            return lp_error_field(err, LP_E_INVALID, "amqp_prefetch", "prefetch must be between 1 and 65535");
        amqp_basic_qos(c->conn, LP_AMQP_CHANNEL, 0, (uint16_t)prefetch, 0);
        if (lp_amqp_check_reply(c, amqp_get_rpc_reply(c->conn), "basic.qos", err))
            return -1;
        c->qos = prefetch;
    }
    /* The consumer tag is the queue name, so a delivery says where it came from. */
    amqp_basic_consume(c->conn, LP_AMQP_CHANNEL, lp_amqp_cstr(queue), lp_amqp_cstr(queue), 0, 0, 0,
                       amqp_empty_table);
    if (lp_amqp_check_reply(c, amqp_get_rpc_reply(c->conn), "basic.consume", err)) {
        lp_error_detail(err, "queue %s", queue);
        return -1;
    }
    return 0;
}

int lp_amqp_consume_replies(lp_amqp *c, lp_error *err)
{
    if (!lp_amqp_ok(c))
        return lp_error_set(err, LP_E_UNAVAILABLE, "the connection to RabbitMQ at %s is broken", lp_amqp_where(c));
    amqp_basic_consume(c->conn, LP_AMQP_CHANNEL, lp_amqp_cstr(LP_AMQP_REPLY_TO), lp_amqp_cstr(LP_AMQP_REPLY_TO), 0,
                       1, 0, amqp_empty_table);
    return lp_amqp_check_reply(c, amqp_get_rpc_reply(c->conn), "basic.consume of direct replies", err) ? -1 : 0;
}

int lp_amqp_next(lp_amqp *c, int64_t timeout_ms, lp_amqp_delivery *out, lp_error *err)
{
    amqp_envelope_t env;
    amqp_rpc_reply_t r;
    struct timeval tv;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!lp_amqp_ok(c))
        return lp_error_set(err, LP_E_UNAVAILABLE, "the connection to RabbitMQ at %s is broken", lp_amqp_where(c));
    amqp_maybe_release_buffers(c->conn);
    lp_amqp_timeval(timeout_ms, &tv);
    r = amqp_consume_message(c->conn, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
        return 0;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        /* Some other method arrived first: read and handle it. */
        amqp_frame_t f;
        int status = amqp_simple_wait_frame_noblock(c->conn, &f, &tv);
        if (status == AMQP_STATUS_TIMEOUT)
            return 0;
        if (status != AMQP_STATUS_OK)
            return lp_amqp_fail_status(c, status, "reading from the connection", err);
        return lp_amqp_handle_async_method(c, &f, err) ? -1 : 0;
    }
    if (lp_amqp_check_reply(c, r, "waiting for a delivery", err))
        return -1;

    out->tag = env.delivery_tag;
    out->redelivered = env.redelivered ? 1 : 0;
    copy_bytes(out->queue, sizeof(out->queue), env.consumer_tag);
    copy_bytes(out->routing_key, sizeof(out->routing_key), env.routing_key);
    if (env.message.properties._flags & AMQP_BASIC_REPLY_TO_FLAG)
        copy_bytes(out->reply_to, sizeof(out->reply_to), env.message.properties.reply_to);
    if (env.message.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG)
        copy_bytes(out->correlation_id, sizeof(out->correlation_id), env.message.properties.correlation_id);
    out->body_len = env.message.body.len;
    if (env.message.body.len > LP_AMQP_BODY_MAX) {
        out->too_large = 1;
        rc = 1;
    } else if ((out->body = malloc(env.message.body.len + 1)) == NULL) {
        /* Hand the message back so it is not lost, and report. */
        amqp_basic_nack(c->conn, LP_AMQP_CHANNEL, env.delivery_tag, 0, 1);
        lp_error_set(err, LP_E_NOMEM, "out of memory reading a %zu-byte message", env.message.body.len);
        rc = -1;
    } else {
        if (env.message.body.len)
            memcpy(out->body, env.message.body.bytes, env.message.body.len);
        out->body[env.message.body.len] = '\0';
        rc = 1;
    }
    amqp_destroy_envelope(&env);
    return rc;
}

void lp_amqp_delivery_free(lp_amqp_delivery *d)
{
    if (!d)
        return;
    free(d->body);
    d->body = NULL;
}

int lp_amqp_ack(lp_amqp *c, uint64_t tag, lp_error *err)
{
    int status;
    if (!lp_amqp_ok(c))
        return lp_error_set(err, LP_E_UNAVAILABLE, "the connection to RabbitMQ at %s is broken", lp_amqp_where(c));
    status = amqp_basic_ack(c->conn, LP_AMQP_CHANNEL, tag, 0);
    if (status != AMQP_STATUS_OK)
        return lp_amqp_fail_status(c, status, "basic.ack", err);
    return 0;
}

int lp_amqp_reject(lp_amqp *c, uint64_t tag, int requeue, lp_error *err)
{
    int status;
    if (!lp_amqp_ok(c))
        return lp_error_set(err, LP_E_UNAVAILABLE, "the connection to RabbitMQ at %s is broken", lp_amqp_where(c));
    status = amqp_basic_nack(c->conn, LP_AMQP_CHANNEL, tag, 0, requeue ? 1 : 0);
    if (status != AMQP_STATUS_OK)
        return lp_amqp_fail_status(c, status, "basic.nack", err);
    return 0;
}
