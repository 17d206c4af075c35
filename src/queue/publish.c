/* Publishing with publisher confirms. See include/loupe/queue/publish.h.
 *
 * In confirm mode the broker numbers the messages of a channel 1, 2, 3, … and
 * answers each with basic.ack (it took responsibility: a persistent message is
 * on disk in every queue it was routed to) or basic.nack (it could not); one
 * ack/nack with multiple=1 settles every tag up to and including its own. A
 * mandatory message that no queue accepts first comes back as basic.return
 * (method, header, body — read whole here) and is then acked, so "confirmed"
 * means acked and not returned. */
#include "loupe/queue/publish.h"

#include <amqp.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/queue/consume.h"
#include "queue_int.h"

enum { PENDING = 0, ACKED = 1, NACKED = 2 };

/* Drain incoming confirms every this many publishes, so a large batch never
 * leaves the broker's acks piling up unread. */
#define DRAIN_EVERY 256

typedef struct batch {
    const lp_amqp_msg *msgs;
    size_t n;
    uint64_t first_tag;
    size_t published;        /* messages sent so far */
    size_t pending;          /* sent but not yet settled */
    unsigned char *state;    /* PENDING / ACKED / NACKED per message */
    unsigned char *returned; /* 1: came back unroutable */
    int unmatched_return;    /* a return we could not attribute: trust nothing */
} batch;

static void settle(batch *b, uint64_t tag, int multiple, unsigned char v)
{
    if (tag < b->first_tag)
        return;
    size_t last = (size_t)(tag - b->first_tag);
    if (last >= b->published)
        return;
    size_t from = multiple ? 0 : last;
    for (size_t i = from; i <= last; i++) {
        if (b->state[i] == PENDING) {
            b->state[i] = v;
            b->pending--;
        }
    }
}

static void mark_returned(batch *b, const amqp_basic_properties_t *p)
{
    if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
        for (size_t i = 0; i < b->published; i++) {
            const char *id = b->msgs[i].message_id;
            if (id && !b->returned[i] && b->state[i] == PENDING && strlen(id) == p->message_id.len &&
                memcmp(id, p->message_id.bytes, p->message_id.len) == 0) {
                b->returned[i] = 1;
                return;
            }
        }
    }
    b->unmatched_return = 1;
}

/* 1 when msg answers a direct reply-to address (amq.rabbitmq.reply-to.…).
 * The broker delivers such a message without routing it to a queue, so it
 * returns it as unroutable when it is mandatory although its caller got it
 * (rabbitmq-server issue 6124); it is published not mandatory, and a caller
 * that has gone is simply not answered. */
static int direct_reply(const lp_amqp_msg *msg)
{
    static const char prefix[] = LP_AMQP_REPLY_TO ".";
    return (!msg->exchange || !msg->exchange[0]) && msg->routing_key &&
           strncmp(msg->routing_key, prefix, sizeof prefix - 1) == 0;
}

/* Reads one frame (waiting at most timeout_ms) and applies it. Returns 1 when
 * a frame was read, 0 on timeout, -1 when the connection failed. */
static int read_confirm(lp_amqp *c, batch *b, int64_t timeout_ms, lp_error *err)
{
    struct timeval tv;
    amqp_frame_t f;
    int status;

    lp_amqp_timeval(timeout_ms, &tv);
    status = amqp_simple_wait_frame_noblock(c->conn, &f, &tv);
    if (status == AMQP_STATUS_TIMEOUT)
        return 0;
    if (status != AMQP_STATUS_OK)
        return lp_amqp_fail_status(c, status, "waiting for publisher confirms", err);
    if (f.frame_type != AMQP_FRAME_METHOD)
        return 1;
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        const amqp_basic_ack_t *a = f.payload.method.decoded;
        settle(b, a->delivery_tag, a->multiple, ACKED);
        return 1;
    }
    case AMQP_BASIC_NACK_METHOD: {
        const amqp_basic_nack_t *a = f.payload.method.decoded;
        settle(b, a->delivery_tag, a->multiple, NACKED);
        return 1;
    }
    case AMQP_BASIC_RETURN_METHOD: {
        amqp_message_t m;
        amqp_rpc_reply_t r = amqp_read_message(c->conn, f.channel, &m, 0);
        if (lp_amqp_check_reply(c, r, "reading a returned message", err))
            return -1;
        mark_returned(b, &m.properties);
        amqp_destroy_message(&m);
        return 1;
    }
    default:
        return lp_amqp_handle_async_method(c, &f, err) ? -1 : 1;
    }
}

int lp_amqp_publish(lp_amqp *c, const lp_amqp_msg *msgs, size_t n, unsigned char *confirmed, int64_t timeout_ms,
                    lp_error *err)
{
    batch b;
    int rc = -1;
    size_t ok = 0;
    int64_t deadline;

    memset(&b, 0, sizeof(b));
    if (confirmed && n)
        memset(confirmed, 0, n);
    if (!c || c->broken)
        return lp_error_set(err, LP_E_UNAVAILABLE, "the connection to RabbitMQ at %s is broken", lp_amqp_where(c));
    if (n == 0)
        return 0;
    if (!c->confirm_mode) {
        amqp_confirm_select(c->conn, LP_AMQP_CHANNEL);
        if (lp_amqp_check_reply(c, amqp_get_rpc_reply(c->conn), "confirm.select", err))
            return -1;
        c->confirm_mode = 1;
    }
    b.msgs = msgs;
    b.n = n;
    b.first_tag = c->next_tag;
    b.state = calloc(n, 1);
    b.returned = calloc(n, 1);
    if (!b.state || !b.returned) {
        lp_error_set(err, LP_E_NOMEM, "out of memory publishing %zu messages", n);
        goto cleanup;
    }
    deadline = lp_now_mono_ms() + (timeout_ms > 0 ? timeout_ms : c->timeout_ms);

    for (size_t i = 0; i < n; i++) {
        const lp_amqp_msg *m = &msgs[i];
        amqp_basic_properties_t props;
        amqp_bytes_t body;
        int status;

        memset(&props, 0, sizeof(props));
        props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
        props.content_type = lp_amqp_cstr("application/json");
        props.delivery_mode = m->transient ? AMQP_DELIVERY_NONPERSISTENT : AMQP_DELIVERY_PERSISTENT;
        if (m->message_id) {
            props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
            props.message_id = lp_amqp_cstr(m->message_id);
        }
        if (m->reply_to) {
            props._flags |= AMQP_BASIC_REPLY_TO_FLAG;
            props.reply_to = lp_amqp_cstr(m->reply_to);
        }
        if (m->correlation_id) {
            props._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
            props.correlation_id = lp_amqp_cstr(m->correlation_id);
        }
        body.bytes = (void *)m->body;
        body.len = m->body_len;
        status = amqp_basic_publish(c->conn, LP_AMQP_CHANNEL, lp_amqp_cstr(m->exchange ? m->exchange : ""),
                                    lp_amqp_cstr(m->routing_key ? m->routing_key : ""), !direct_reply(m), 0, &props,
                                    body);
        if (status != AMQP_STATUS_OK) {
            lp_amqp_fail_status(c, status, "basic.publish", err);
            goto cleanup;
        }
        c->next_tag++;
        b.published++;
        b.pending++;
        if (b.published % DRAIN_EVERY == 0) {
            int got;
            for (int k = 0; k < DRAIN_EVERY && (got = read_confirm(c, &b, 0, err)) != 0; k++) {
                if (got < 0)
                    goto cleanup;
            }
        }
    }

    while (b.pending > 0) {
        int64_t left = deadline - lp_now_mono_ms();
        if (left <= 0) {
            /* Late confirms would arrive on a channel we no longer track. */
            c->broken = 1;
            lp_error_set(err, LP_E_UNAVAILABLE, "RabbitMQ at %s did not confirm %zu of %zu messages in time",
                         c->where, b.pending, n);
            goto cleanup;
        }
        if (read_confirm(c, &b, left, err) < 0)
            goto cleanup;
    }
    rc = 0;

cleanup:
    for (size_t i = 0; b.state && i < b.published; i++) {
        int good = b.state[i] == ACKED && !b.returned[i] && !b.unmatched_return;
        if (confirmed)
            confirmed[i] = (unsigned char)good;
        ok += (size_t)good;
    }
    if (rc == 0 && ok < n) {
        rc = -1;
        lp_error_set(err, LP_E_INTERNAL, "RabbitMQ at %s refused %zu of %zu messages (nacked or unroutable)",
                     c->where, n - ok, n);
        lp_error_hint(err, "Check that the job topology is declared and the broker has disk space.");
    }
    free(b.state);
    free(b.returned);
    amqp_maybe_release_buffers(c->conn);
    return rc;
}
