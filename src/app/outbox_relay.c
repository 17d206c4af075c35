/* The outbox relay thread. See loupe/app/outbox_relay.h for the design.
 *
 * DESIGN (thread): one thread, started by lp_outbox_relay_start, owns `l`
 * (its own PostgreSQL connection, LISTENing on loupe_outbox) and `mq` (its own
 * RabbitMQ connection). Other threads only read the atomics and write a byte
 * to the wake pipe (stop, kick). */
#include "loupe/app/outbox_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen_loop_int.h"
#include "loupe/app/ops_metrics.h"
#include "loupe/core/arena.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/db.h"
#include "loupe/db/integrations_sql.h"
#include "loupe/db/jobs_sql.h"
#include "loupe/jobs/job.h"
#include "loupe/queue/connection.h"
#include "loupe/queue/publish.h"
#include "loupe/queue/topology.h"

#define CONNECT_TIMEOUT_MS 2000
#define CONFIRM_TIMEOUT_MS 5000
#define PRUNE_KEEP_MS (24LL * 3600 * 1000)
#define PRUNE_LIMIT 10000
#define QUEUES_MAX 64

struct lp_outbox_relay {
    const lp_config *cfg;
    lp_ops_metrics *ops;         /* borrowed; NULL = /metrics is off */
    pthread_t thread;
    int wake[2];                 /* [0] read by the relay, [1] written by stop/kick */
    atomic_int stop;
    atomic_int broker_ok;
    atomic_int db_ok;
    atomic_uint_fast64_t published;
    atomic_uint_fast64_t failures;
    atomic_int_fast64_t pending;
};

/* State private to the relay thread. */
typedef struct relay_conn {
    lp_listen_conn l;
    lp_amqp *mq;
    int64_t mq_retry_at, mq_backoff;
    int64_t prune_at;
    lp_arena *arena;
} relay_conn;

static void ensure_mq(lp_outbox_relay *r, relay_conn *c)
{
    lp_error err;
    const char *queues[QUEUES_MAX];
    size_t nq;

    if (c->mq && lp_amqp_ok(c->mq))
        return;
    atomic_store(&r->broker_ok, 0);
    if (lp_now_mono_ms() < c->mq_retry_at)
        return;
    lp_error_clear(&err);
    if (c->mq) {
        LP_WARN("outbox", "lost the connection to RabbitMQ; reconnecting");
        lp_amqp_close(c->mq);
    }
    nq = lp_job_queues(queues, QUEUES_MAX);
    if (nq > QUEUES_MAX)
        nq = QUEUES_MAX;
    c->mq = lp_amqp_connect(r->cfg->amqp_url, (int)r->cfg->amqp_heartbeat, CONNECT_TIMEOUT_MS, &err);
    if (c->mq && lp_queue_declare_topology(c->mq, queues, nq, &err) == 0) {
        LP_INFO("outbox", "connected to RabbitMQ at %s; job topology declared", lp_amqp_where(c->mq));
        c->mq_backoff = 0;
        atomic_store(&r->broker_ok, 1);
        return;
    }
    if (c->mq_backoff == 0)
        LP_WARN("outbox", "cannot reach RabbitMQ: %s; outbox rows wait, retrying with backoff", err.message);
    lp_amqp_close(c->mq);
    c->mq = NULL;
    c->mq_backoff = lp_listen_next_backoff(c->mq_backoff);
    c->mq_retry_at = lp_now_mono_ms() + c->mq_backoff;
}

/* One transaction: claim, publish, stamp. Returns 1 when a full batch went
 * out (more rows may wait), 0 when done, -1 on failure. */
static int relay_round(lp_outbox_relay *r, relay_conn *c)
{
    lp_error err;
    lp_outbox_row *rows;
    size_t n = 0, nconfirmed = 0;
    lp_amqp_msg *msgs = NULL;
    unsigned char *confirmed = NULL;
    int64_t *ids = NULL;
    int rc = -1;
    int limit = (int)r->cfg->outbox_batch;

    lp_error_clear(&err);
    lp_arena_reset(c->arena);
    if (lp_db_begin(c->l.db, &err) != 0)
        goto cleanup;
    if (lp_db_outbox_claim(c->l.db, c->arena, limit, &rows, &n, &err) != 0)
        goto cleanup;
    if (n == 0) {
        rc = lp_db_commit(c->l.db, &err) == 0 ? 0 : -1;
        goto cleanup;
    }
    msgs = lp_arena_calloc(c->arena, n, sizeof(*msgs));
    confirmed = lp_arena_calloc(c->arena, n, 1);
    ids = lp_arena_calloc(c->arena, n, sizeof(*ids));
    if (!msgs || !confirmed || !ids) {
        lp_error_set(&err, LP_E_NOMEM, "out of memory relaying %zu outbox rows", n);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        msgs[i].exchange = rows[i].exchange;
        msgs[i].routing_key = rows[i].routing_key;
        msgs[i].body = rows[i].body;
        msgs[i].body_len = rows[i].body_len;
        msgs[i].message_id = lp_arena_printf(c->arena, "outbox-%" PRId64, rows[i].id);
    }
    if (lp_amqp_publish(c->mq, msgs, n, confirmed, CONFIRM_TIMEOUT_MS, &err) != 0) {
        LP_WARN("outbox", "publishing %zu outbox rows: %s", n, err.message);
        atomic_fetch_add(&r->failures, 1);
        atomic_store(&r->broker_ok, 0);
        /* Refused on a healthy connection: a quorum queue whose leader was
         * lost can go on refusing this channel's publishes after a new leader
         * is elected. The next round starts over on a fresh connection (to the
         * next node when amqp_url lists several). */
        if (lp_amqp_ok(c->mq)) {
            lp_amqp_close(c->mq);
            c->mq = NULL;
            c->mq_backoff = lp_listen_next_backoff(c->mq_backoff);
            c->mq_retry_at = lp_now_mono_ms() + c->mq_backoff;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (confirmed[i])
            ids[nconfirmed++] = rows[i].id;
    }
    lp_error_clear(&err);
    if (lp_db_outbox_mark_published(c->l.db, ids, nconfirmed, &err) != 0 || lp_db_commit(c->l.db, &err) != 0)
        goto cleanup;
    atomic_fetch_add(&r->published, nconfirmed);
    rc = (nconfirmed == n && n == (size_t)limit) ? 1 : 0;
    if (nconfirmed < n)
        rc = -1;

cleanup:
    if (rc < 0 && err.code != LP_OK) {
        LP_WARN("outbox", "relay round failed: %s", err.message);
        atomic_fetch_add(&r->failures, 1);
    }
    lp_db_rollback(c->l.db);
    return rc;
}

/* What is kept only for a while: published outbox rows, and the message ids
 * of inbound pushes past integration_message_keep. */
static void prune(lp_outbox_relay *r, relay_conn *c)
{
    lp_error err;
    lp_error_clear(&err);
    if (lp_db_outbox_prune(c->l.db, PRUNE_KEEP_MS, PRUNE_LIMIT, &err) < 0)
        LP_WARN("outbox", "pruning published rows: %s", err.message);
    lp_error_clear(&err);
    if (lp_db_integration_messages_prune(c->l.db, r->cfg->integration_message_keep, PRUNE_LIMIT, &err) < 0)
        LP_WARN("outbox", "pruning inbound message ids: %s", err.message);
}

static void *relay_main(void *arg)
{
    lp_outbox_relay *r = arg;
    relay_conn c;
    lp_error err;

    memset(&c, 0, sizeof(c));
    c.l.module = "outbox";
    c.l.channel = LP_DB_OUTBOX_CHANNEL;
    lp_log_set_context("outbox-relay");
    c.arena = lp_arena_new(64 * 1024, 1024LL * 1024 * 1024);
    c.prune_at = lp_now_mono_ms() + r->cfg->prune_every;
    if (!c.arena) {
        LP_ERROR("outbox", "out of memory: the outbox relay stops");
        return NULL;
    }
    while (!atomic_load(&r->stop)) {
        int more = 0;
        int64_t wait_ms = r->cfg->outbox_poll;
        if (r->ops && r->cfg->metrics_refresh < wait_ms)
            wait_ms = r->cfg->metrics_refresh;

        atomic_store(&r->db_ok, lp_listen_ensure(&c.l, r->cfg));
        ensure_mq(r, &c);
        if (c.l.db && lp_db_ok(c.l.db)) {
            int64_t pending;
            if (c.mq && lp_amqp_ok(c.mq)) {
                more = relay_round(r, &c) > 0;
                if (c.mq && lp_amqp_pump(c.mq, &err) != 0)
                    atomic_store(&r->broker_ok, 0);
            }
            lp_error_clear(&err);
            if (lp_db_outbox_pending(c.l.db, &pending, &err) == 0)
                atomic_store(&r->pending, pending);
            lp_ops_metrics_refresh(r->ops, c.l.db, c.mq);
            if (lp_now_mono_ms() >= c.prune_at) {
                c.prune_at = lp_now_mono_ms() + r->cfg->prune_every;
                prune(r, &c);
            }
        }
        atomic_store(&r->db_ok, c.l.db && lp_db_ok(c.l.db));
        if (more)
            continue;

        /* Without a connection, wake up when the next reconnect is due. */
        if (!c.l.db || !c.mq) {
            int64_t due = (!c.l.db ? c.l.retry_at : c.mq_retry_at) - lp_now_mono_ms();
            if (due < wait_ms)
                wait_ms = due < 10 ? 10 : due;
        }
        /* A notification only wakes the relay: the rows themselves are read
         * by the next round. */
        if (lp_listen_wait(&c.l, r->wake[0], wait_ms))
            lp_listen_drain(&c.l);
    }
    lp_amqp_close(c.mq);
    lp_listen_close(&c.l);
    lp_arena_free(c.arena);
    atomic_store(&r->broker_ok, 0);
    atomic_store(&r->db_ok, 0);
    lp_log_set_context(NULL);
    return NULL;
}

lp_outbox_relay *lp_outbox_relay_start(const lp_config *cfg, lp_ops_metrics *ops, lp_error *err)
{
    lp_outbox_relay *r;
    int rc;

    if (lp_amqp_url_list_check(cfg->amqp_url, err) < 0)
        return NULL;
    r = calloc(1, sizeof(*r));
    if (!r) {
        lp_error_set(err, LP_E_NOMEM, "out of memory starting the outbox relay");
        return NULL;
    }
    r->cfg = cfg;
    r->ops = ops;
    atomic_init(&r->pending, -1);
    if (pipe(r->wake) != 0) {
        lp_error_set(err, LP_E_INTERNAL, "cannot create the outbox relay's wake pipe: %s", strerror(errno));
        free(r);
        return NULL;
    }
    fcntl(r->wake[0], F_SETFL, O_NONBLOCK);
    fcntl(r->wake[1], F_SETFL, O_NONBLOCK);
    fcntl(r->wake[0], F_SETFD, FD_CLOEXEC);
    fcntl(r->wake[1], F_SETFD, FD_CLOEXEC);
    rc = pthread_create(&r->thread, NULL, relay_main, r);
    if (rc != 0) {
        lp_error_set(err, LP_E_INTERNAL, "cannot start the outbox relay thread: %s", strerror(rc));
        close(r->wake[0]);
        close(r->wake[1]);
        free(r);
        return NULL;
    }
    return r;
}

void lp_outbox_relay_kick(lp_outbox_relay *r)
{
    if (r) {
        ssize_t w = write(r->wake[1], "k", 1);
        (void)w; /* a full pipe already means "wake up" */
    }
}

void lp_outbox_relay_stop(lp_outbox_relay *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, 1);
    lp_outbox_relay_kick(r);
    pthread_join(r->thread, NULL);
    close(r->wake[0]);
    close(r->wake[1]);
    free(r);
}

int lp_outbox_relay_broker_ok(const lp_outbox_relay *r)
{
    return r && atomic_load(&((lp_outbox_relay *)r)->broker_ok);
}

void lp_outbox_relay_stats(const lp_outbox_relay *r, lp_outbox_stats *out)
{
    lp_outbox_relay *m = (lp_outbox_relay *)r; /* atomics are read-only here */
    memset(out, 0, sizeof(*out));
    if (!r) {
        out->pending = -1;
        return;
    }
    out->published = atomic_load(&m->published);
    out->failures = atomic_load(&m->failures);
    out->pending = atomic_load(&m->pending);
    out->broker_ok = atomic_load(&m->broker_ok);
    out->db_ok = atomic_load(&m->db_ok);
}

int lp_outbox_relay_metrics(void *cls, lp_buf *out)
{
    lp_outbox_stats s;
    lp_outbox_relay_stats(cls, &s);
    return lp_buf_printf(out,
                         "# HELP loupe_outbox_published_total Outbox messages confirmed by RabbitMQ.\n"
                         "# TYPE loupe_outbox_published_total counter\n"
                         "loupe_outbox_published_total %" PRIu64 "\n"
                         "# HELP loupe_outbox_failures_total Relay rounds that failed (broker or database errors).\n"
                         "# TYPE loupe_outbox_failures_total counter\n"
                         "loupe_outbox_failures_total %" PRIu64 "\n"
                         "# HELP loupe_outbox_pending Outbox rows not yet published (-1 = unknown).\n"
                         "# TYPE loupe_outbox_pending gauge\n"
                         "loupe_outbox_pending %" PRId64 "\n"
                         "# HELP loupe_broker_up 1 when the outbox relay is connected to RabbitMQ.\n"
                         "# TYPE loupe_broker_up gauge\n"
                         "loupe_broker_up %d\n",
                         s.published, s.failures, s.pending, s.broker_ok);
}
