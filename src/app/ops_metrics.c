/* The cached installation-wide gauges of /metrics. See loupe/app/ops_metrics.h. */
#include "loupe/app/ops_metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/arena.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/ops_sql.h"
#include "loupe/jobs/job.h"
#include "loupe/jobs/message.h"
#include "loupe/queue/topology.h"

#define QUEUES_MAX 64
#define SERIES_MAX 512    /* (kind, status) pairs of finished jobs */
#define WORKERS_MAX 1000  /* worker rows shown; the rest are counted only */
#define TEXT_MAX (4 * 1024 * 1024)

typedef struct job_series {
    char kind[LP_JOB_KIND_MAX + 1];
    char status[16];
    int64_t count;
    double sum_s;
    int64_t le[LP_OPS_JOB_BUCKETS];
} job_series;

struct lp_ops_metrics {
    const lp_config *cfg;
    pthread_mutex_t mu;
    lp_buf text;                 /* under mu: the last rendering */
    int64_t refreshed_ms;        /* under mu: when it was made (monotonic; 0 = never) */
    /* The refreshing thread's own state. */
    int64_t next_ms, next_totals_ms;
    char finished_after[64];     /* "" until the first window */
    job_series series[SERIES_MAX];
    size_t nseries;
    int64_t wh_delivered, wh_failed;
    int wh_known;
    uint64_t errors;
    lp_arena *arena;
};

lp_ops_metrics *lp_ops_metrics_new(const lp_config *cfg)
{
    lp_ops_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->arena = lp_arena_new(16 * 1024, 64LL * 1024 * 1024);
    if (!m->arena) {
        free(m);
        return NULL;
    }
    m->cfg = cfg;
    pthread_mutex_init(&m->mu, NULL);
    lp_buf_init(&m->text, TEXT_MAX);
    return m;
}

void lp_ops_metrics_free(lp_ops_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    lp_buf_free(&m->text);
    lp_arena_free(m->arena);
    free(m);
}

/* A label value in the exposition format: backslash, quote and newline escaped. */
static int put_label(lp_buf *out, const char *v)
{
    int rc = 0;
    for (const char *p = v; *p && rc == 0; p++) {
        if (*p == '\\' || *p == '"')
            rc = lp_buf_printf(out, "\\%c", *p);
        else if (*p == '\n')
            rc = lp_buf_puts(out, "\\n");
        else
            rc = lp_buf_append(out, p, 1);
    }
    return rc;
}

static int head(lp_buf *out, const char *name, const char *type, const char *help)
{
    return lp_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void failed(lp_ops_metrics *m, const char *what, const lp_error *err)
{
    m->errors++;
    LP_WARN("metrics", "cannot read %s for /metrics: %s", what, err->message);
}

static int render_outbox(lp_ops_metrics *m, lp_db *db, lp_buf *out)
{
    lp_error err;
    double age;
    lp_error_clear(&err);
    if (lp_db_ops_outbox_oldest(db, &age, &err) != 0) {
        failed(m, "the outbox", &err);
        return 0;
    }
    return head(out, "loupe_outbox_oldest_age_seconds", "gauge",
                "Age of the oldest unpublished outbox row (0 when none waits).") |
           lp_buf_printf(out, "loupe_outbox_oldest_age_seconds %.3f\n", age);
}

typedef struct queue_depth {
    char name[LP_QUEUE_FULL_NAME_MAX];
    const char *role; /* work, retry, dead */
    int64_t messages, consumers;
} queue_depth;

/* Work queues: ready messages and consumers; retry and dead queues: messages. */
static int render_queues(lp_ops_metrics *m, lp_amqp *mq, lp_buf *out)
{
    const char *queues[QUEUES_MAX];
    size_t nq = lp_job_queues(queues, QUEUES_MAX), ntiers, n = 0;
    queue_depth *d;
    lp_error err;
    int rc = 0;

    lp_queue_retry_tiers(&ntiers);
    if (!mq || !lp_amqp_ok(mq))
        return 0; /* left out while the broker is away: loupe_broker_up says why */
    if (nq > QUEUES_MAX)
        nq = QUEUES_MAX;
    d = lp_arena_calloc(m->arena, nq * (ntiers + 2), sizeof(*d));
    if (!d)
        return -1;
    lp_error_clear(&err);
    for (size_t i = 0; i < nq; i++) {
        for (size_t t = 0; t < ntiers + 2; t++, n++) {
            if (t == 0)
                lp_queue_work_name(queues[i], d[n].name);
            else if (t == 1)
                lp_queue_dead_name(queues[i], d[n].name);
            else
                lp_queue_retry_name(queues[i], t - 2, d[n].name);
            d[n].role = t == 0 ? "work" : t == 1 ? "dead" : "retry";
            if (lp_queue_depth(mq, d[n].name, &d[n].messages, &d[n].consumers, &err) != 0) {
                failed(m, "queue depths", &err);
                return 0;
            }
        }
    }
    rc |= head(out, "loupe_queue_messages", "gauge",
               "Messages ready in a RabbitMQ queue (work, retry and dead-letter queues), by passive declare.");
    for (size_t i = 0; i < n; i++)
        rc |= lp_buf_printf(out, "loupe_queue_messages{queue=\"%s\",role=\"%s\"} %" PRId64 "\n", d[i].name,
                            d[i].role, d[i].messages);
    rc |= head(out, "loupe_queue_consumers", "gauge", "Consumers (workers) attached to a work queue.");
    for (size_t i = 0; i < n; i++)
        if (strcmp(d[i].role, "work") == 0)
            rc |= lp_buf_printf(out, "loupe_queue_consumers{queue=\"%s\"} %" PRId64 "\n", d[i].name, d[i].consumers);
    return rc;
}

static int render_jobs_active(lp_ops_metrics *m, lp_db *db, lp_buf *out)
{
    lp_ops_jobs_active *rows;
    size_t n;
    lp_error err;
    int rc;
    lp_error_clear(&err);
    if (lp_db_ops_jobs_active(db, m->arena, &rows, &n, &err) != 0) {
        failed(m, "job counts", &err);
        return 0;
    }
    rc = head(out, "loupe_jobs", "gauge", "Jobs waiting (queued) or running now, by kind.");
    for (size_t i = 0; i < n; i++)
        rc |= lp_buf_printf(out, "loupe_jobs{kind=\"%s\",status=\"%s\"} %" PRId64 "\n", rows[i].kind, rows[i].status,
                            rows[i].n);
    return rc;
}

static job_series *series_for(lp_ops_metrics *m, const char *kind, const char *status)
{
    for (size_t i = 0; i < m->nseries; i++)
        if (strcmp(m->series[i].kind, kind) == 0 && strcmp(m->series[i].status, status) == 0)
            return &m->series[i];
    if (m->nseries == SERIES_MAX)
        return NULL;
    job_series *s = &m->series[m->nseries++];
    lp_strlcpy(s->kind, kind, sizeof(s->kind));
    lp_strlcpy(s->status, status, sizeof(s->status));
    return s;
}

/* Adds the jobs finished since the last window to the totals, then renders
 * the totals: counters since this process started, like any other. */
static int render_jobs_finished(lp_ops_metrics *m, lp_db *db, lp_buf *out)
{
    lp_ops_jobs_finished *rows;
    size_t n;
    char until[64];
    lp_error err;
    int rc;

    lp_error_clear(&err);
    if (lp_db_ops_jobs_finished(db, m->arena, m->finished_after[0] ? m->finished_after : NULL, until, &rows, &n,
                                &err) != 0) {
        failed(m, "finished jobs", &err);
    } else {
        lp_strlcpy(m->finished_after, until, sizeof(m->finished_after));
        for (size_t i = 0; i < n; i++) {
            job_series *s = series_for(m, rows[i].kind, rows[i].status);
            if (!s)
                continue; /* more kinds than SERIES_MAX: the registry never has that many */
            s->count += rows[i].count;
            s->sum_s += rows[i].sum_s;
            for (int b = 0; b < LP_OPS_JOB_BUCKETS; b++)
                s->le[b] += rows[i].le[b];
        }
    }
    rc = head(out, "loupe_jobs_finished_total", "counter",
              "Jobs that finished (succeeded, failed for good, cancelled), by kind, since this node started.");
    for (size_t i = 0; i < m->nseries; i++)
        rc |= lp_buf_printf(out, "loupe_jobs_finished_total{kind=\"%s\",status=\"%s\"} %" PRId64 "\n",
                            m->series[i].kind, m->series[i].status, m->series[i].count);
    rc |= head(out, "loupe_job_duration_seconds", "histogram",
               "Run time of finished jobs' last attempt (finished_at - started_at), by kind and status.");
    for (size_t i = 0; i < m->nseries; i++) {
        const job_series *s = &m->series[i];
        for (int b = 0; b < LP_OPS_JOB_BUCKETS; b++)
            rc |= lp_buf_printf(out, "loupe_job_duration_seconds_bucket{kind=\"%s\",status=\"%s\",le=\"%g\"} %" PRId64
                                "\n", s->kind, s->status, lp_ops_job_bounds_s[b], s->le[b]);
        rc |= lp_buf_printf(out,
                            "loupe_job_duration_seconds_bucket{kind=\"%s\",status=\"%s\",le=\"+Inf\"} %" PRId64 "\n"
                            "loupe_job_duration_seconds_sum{kind=\"%s\",status=\"%s\"} %.6f\n"
                            "loupe_job_duration_seconds_count{kind=\"%s\",status=\"%s\"} %" PRId64 "\n",
                            s->kind, s->status, s->count, s->kind, s->status, s->sum_s, s->kind, s->status, s->count);
    }
    return rc;
}

static int render_workers(lp_ops_metrics *m, lp_db *db, lp_buf *out)
{
    lp_ops_worker *rows;
    size_t n, live = 0;
    lp_error err;
    int rc = 0;
    double stale_s = 3.0 * (double)m->cfg->worker_heartbeat / 1000.0;

    lp_error_clear(&err);
    if (lp_db_ops_workers(db, m->arena, WORKERS_MAX, &rows, &n, &err) != 0) {
        failed(m, "workers", &err);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        live += rows[i].last_seen_s <= stale_s;
    rc |= head(out, "loupe_workers", "gauge",
               "Worker processes by state: live (heartbeat within 3 x worker_heartbeat) or stale.");
    rc |= lp_buf_printf(out, "loupe_workers{state=\"live\"} %zu\nloupe_workers{state=\"stale\"} %zu\n", live,
                        n - live);
    rc |= head(out, "loupe_worker_last_seen_seconds", "gauge", "Seconds since a worker's last heartbeat.");
    for (size_t i = 0; i < n; i++) {
        rc |= lp_buf_puts(out, "loupe_worker_last_seen_seconds{worker=\"");
        rc |= put_label(out, rows[i].id);
        rc |= lp_buf_printf(out, "\"} %.3f\n", rows[i].last_seen_s);
    }
    rc |= head(out, "loupe_worker_busy", "gauge", "1 when a worker is running a job at its last heartbeat.");
    for (size_t i = 0; i < n; i++) {
        rc |= lp_buf_puts(out, "loupe_worker_busy{worker=\"");
        rc |= put_label(out, rows[i].id);
        rc |= lp_buf_printf(out, "\"} %d\n", rows[i].busy);
    }
    return rc;
}

static int render_webhooks(lp_ops_metrics *m, lp_db *db, lp_buf *out)
{
    int64_t fresh, retrying;
    double age;
    lp_error err;
    int rc;

    lp_error_clear(&err);
    if (lp_now_mono_ms() >= m->next_totals_ms) {
        m->next_totals_ms = lp_now_mono_ms() + m->cfg->metrics_totals_refresh;
        if (lp_db_ops_webhooks_fold(db, &err) != 0)
            failed(m, "folding the webhook delivery totals", &err);
    }
    lp_error_clear(&err);
    if (lp_db_ops_webhooks_done(db, &m->wh_delivered, &m->wh_failed, &err) == 0)
        m->wh_known = 1;
    else
        failed(m, "webhook delivery totals", &err);
    lp_error_clear(&err);
    if (lp_db_ops_webhooks_pending(db, &fresh, &retrying, &age, &err) != 0) {
        failed(m, "pending webhook deliveries", &err);
        return 0;
    }
    rc = head(out, "loupe_webhook_deliveries", "gauge",
              "Webhook deliveries by status: pending (not tried yet), retrying, delivered, failed (given up).");
    rc |= lp_buf_printf(out, "loupe_webhook_deliveries{status=\"pending\"} %" PRId64 "\n"
                             "loupe_webhook_deliveries{status=\"retrying\"} %" PRId64 "\n",
                        fresh, retrying);
    if (m->wh_known)
        rc |= lp_buf_printf(out, "loupe_webhook_deliveries{status=\"delivered\"} %" PRId64 "\n"
                                 "loupe_webhook_deliveries{status=\"failed\"} %" PRId64 "\n",
                            m->wh_delivered, m->wh_failed);
    rc |= head(out, "loupe_webhook_oldest_pending_age_seconds", "gauge",
               "Age of the oldest pending webhook delivery (0 when none waits).");
    rc |= lp_buf_printf(out, "loupe_webhook_oldest_pending_age_seconds %.3f\n", age);
    return rc;
}

void lp_ops_metrics_refresh(lp_ops_metrics *m, lp_db *db, lp_amqp *mq)
{
    lp_buf text;
    int64_t started = lp_now_mono_us();
    int rc = 0;

    if (!m || !db || lp_now_mono_ms() < m->next_ms)
        return;
    m->next_ms = lp_now_mono_ms() + m->cfg->metrics_refresh;
    lp_arena_reset(m->arena);
    lp_buf_init(&text, TEXT_MAX);
    rc |= render_outbox(m, db, &text);
    rc |= render_queues(m, mq, &text);
    rc |= render_jobs_active(m, db, &text);
    rc |= render_jobs_finished(m, db, &text);
    rc |= render_workers(m, db, &text);
    rc |= render_webhooks(m, db, &text);
    rc |= head(&text, "loupe_metrics_refresh_errors_total", "counter",
               "Reads of the cached /metrics gauges that failed (see the log).");
    rc |= lp_buf_printf(&text, "loupe_metrics_refresh_errors_total %" PRIu64 "\n", m->errors);
    rc |= head(&text, "loupe_metrics_refresh_seconds", "gauge", "Time the last refresh of the cached gauges took.");
    rc |= lp_buf_printf(&text, "loupe_metrics_refresh_seconds %.6f\n", (double)(lp_now_mono_us() - started) / 1e6);
    lp_arena_reset(m->arena);
    if (rc != 0) {
        LP_WARN("metrics", "the cached /metrics gauges did not fit their buffer; keeping the last ones");
        lp_buf_free(&text);
        return;
    }
    pthread_mutex_lock(&m->mu);
    lp_buf_free(&m->text);
    m->text = text;
    m->refreshed_ms = lp_now_mono_ms();
    pthread_mutex_unlock(&m->mu);
}

/* A rendering older than this many refresh periods is not shown: the relay
 * cannot reach the database, and frozen figures would mislead. */
#define STALE_PERIODS 3

int lp_ops_metrics_collect(void *cls, lp_buf *out)
{
    lp_ops_metrics *m = cls;
    int rc = 0;
    pthread_mutex_lock(&m->mu);
    int64_t age_ms = m->refreshed_ms ? lp_now_mono_ms() - m->refreshed_ms : -1;
    if (m->text.len && age_ms <= STALE_PERIODS * m->cfg->metrics_refresh)
        rc = lp_buf_append(out, m->text.data, m->text.len);
    pthread_mutex_unlock(&m->mu);
    rc |= head(out, "loupe_metrics_refresh_age_seconds", "gauge",
               "Age of the cached installation figures (-1 before the first refresh); past 3 x metrics_refresh "
               "they are left out.");
    rc |= lp_buf_printf(out, "loupe_metrics_refresh_age_seconds %.3f\n", age_ms < 0 ? -1.0 : (double)age_ms / 1000.0);
    return rc;
}
