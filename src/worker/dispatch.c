/* loupe-worker's dispatch loop.
 *
 * DESIGN (threads):
 *   main thread   owns the consuming RabbitMQ connection: connects (with
 *                 backoff), declares the topology, consumes worker_queues with
 *                 prefetch amqp_prefetch (webhooks: webhook_prefetch) and
 *                 their live queues (live inference requests,
 *                 loupe/queue/topology.h), and acks or rejects each delivery
 *                 once its job thread has finished. While a job runs it keeps
 *                 servicing the connection (heartbeats; further deliveries of
 *                 the prefetch window are buffered in order).
 *   job thread    one per delivery: lp_job_runner_handle (or, for a live
 *                 inference request with a reply address,
 *                 lp_job_runner_answer), which owns the
 *                 runner's database and publishing connections meanwhile;
 *                 for the webhooks queue one per run of wake-up messages
 *                 at the head of the buffer (at most webhook_batch):
 *                 lp_webhook_sender_handle_batch, which owns the sender's
 *                 database connection and HTTP client.
 *   heartbeat     lp_heartbeat (own database connection).
 * One job runs at a time per process; scale by running more processes.
 *
 * Signals: SIGTERM/SIGINT set a flag; the job in hand finishes and is
 * acknowledged, buffered deliveries go back to their queue when the
 * connection closes, the decoder stops and its temporary directories are
 * removed (lp_job_process_end), and the process exits 0. A job past
 * job_timeout plus a grace period that ignores its deadline ends the
 * process (exit 70): its delivery returns to the queue and the next worker
 * records the abandoned attempt. A worker that ends that way, or by
 * kill -9 or the OOM killer, leaves its temporary directories; the next
 * worker to start removes them (lp_job_dirs_sweep: only those whose lock no
 * running worker holds). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loupe/core/log.h"
#include "loupe/db/db.h"
#include "loupe/core/util.h"
#include "loupe/worker/heartbeat.h"
#include "loupe/worker/nvml.h"
#include "loupe/jobs/job.h"
#include "loupe/jobs/model_infer.h"
#include "loupe/worker/runner.h"
#include "loupe/queue/connection.h"
#include "loupe/queue/consume.h"
#include "loupe/queue/topology.h"
#include "loupe/webhooks/sender.h"
#include "worker_int.h"

#define CONNECT_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define POLL_MS 250
#define JOB_WAIT_SLICE_MS 200
#define REQUEUE_PAUSE_MS 1000
#define HARD_TIMEOUT_GRACE_MS 30000
#define EXIT_JOB_STUCK 70

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int lp_worker_parse_queues(const char *text, char *buf, size_t bufcap, const char **out, size_t cap, lp_error *err)
{
    size_t n = 0;
    char *save = NULL, *tok;

    if (!text || lp_strlcpy(buf, text, bufcap) >= bufcap)
        return lp_error_field(err, LP_E_INVALID, "worker_queues", "is too long");
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        while (*tok == ' ' || *tok == '\t')
            tok++;
        end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (!*tok)
            continue;
        if (!lp_queue_name_valid(tok))
            return lp_error_field(err, LP_E_INVALID, "worker_queues",
                                  "\"%s\" is not a queue name (1 to %d of a-z, 0-9, '_', '-')", tok, LP_QUEUE_NAME_MAX);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(out[i], tok) == 0)
                return lp_error_field(err, LP_E_INVALID, "worker_queues", "names \"%s\" twice", tok);
        }
        if (n == cap)
            return lp_error_field(err, LP_E_INVALID, "worker_queues", "names more than %zu queues", cap);
        out[n++] = tok;
    }
    if (n == 0)
        return lp_error_field(err, LP_E_INVALID, "worker_queues", "names no queue; e.g. \"system,media\"");
    return (int)n;
}

/* A delivery waiting in the prefetch window, with the connection it came on. */
typedef struct held {
    lp_amqp_delivery d;
    unsigned gen;
} held;

typedef struct dispatcher {
    const lp_config *cfg;
    const char *queues[LP_WORKER_QUEUES_MAX];   /* consumed */
    size_t nqueues;
    const char *topology[2 * LP_WORKER_QUEUES_MAX]; /* declared: registry ∪ consumed */
    size_t ntopology;
    lp_amqp *mq;
    unsigned gen;          /* bumped at every (re)connect */
    int64_t backoff_ms;
    held *buf;             /* FIFO of buffered deliveries */
    size_t nbuf, capbuf;
    lp_job_runner *runner;
    lp_webhook_sender *sender;     /* NULL unless the webhooks queue is consumed */
    char webhooks_queue[LP_QUEUE_FULL_NAME_MAX];
} dispatcher;

typedef struct job_thread {
    lp_job_runner *runner;
    lp_webhook_sender *sender;     /* set: webhook deliveries (msgs), else a job (body) */
    const char *body;
    size_t len;
    const char *reply_to;          /* set: a request to answer (live inference), not a job */
    const char *correlation_id;
    const lp_webhook_message *msgs;
    size_t nmsgs;
    lp_webhook_settle *settles;    /* nmsgs */
    lp_delivery_outcome outcome;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done;
} job_thread;

static void pause_ms(int64_t ms)
{
    int64_t end = lp_now_mono_ms() + ms;
    while (!stop_requested && lp_now_mono_ms() < end) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void drop_buffer(dispatcher *w)
{
    for (size_t i = 0; i < w->nbuf; i++)
        lp_amqp_delivery_free(&w->buf[i].d);
    w->nbuf = 0;
}

static int connect_broker(dispatcher *w)
{
    lp_error err;
    lp_error_clear(&err);
    lp_amqp_close(w->mq);
    drop_buffer(w); /* the broker requeues what the old connection held */
    w->mq = lp_amqp_connect(w->cfg->amqp_url, (int)w->cfg->amqp_heartbeat, CONNECT_TIMEOUT_MS, &err);
    if (w->mq && lp_queue_declare_topology(w->mq, w->topology, w->ntopology, &err) == 0) {
        size_t i;
        for (i = 0; i < w->nqueues; i++) {
            char name[LP_QUEUE_FULL_NAME_MAX], live[LP_QUEUE_FULL_NAME_MAX];
            int webhooks;
            lp_queue_work_name(w->queues[i], name);
            webhooks = w->sender && strcmp(name, w->webhooks_queue) == 0;
            if (lp_amqp_consume(w->mq, name, (int)(webhooks ? w->cfg->webhook_prefetch : w->cfg->amqp_prefetch),
                                &err) != 0)
                break;
            /* requests answered at once (live inference) come on the queue's live queue */
            lp_queue_live_name(w->queues[i], live);
            if (!webhooks && (lp_queue_declare_live(w->mq, w->queues[i], &err) != 0 ||
                              lp_amqp_consume(w->mq, live, (int)w->cfg->amqp_prefetch, &err) != 0))
                break;
        }
        if (i == w->nqueues) {
            w->gen++;
            w->backoff_ms = 0;
            LP_INFO("worker", "consuming from RabbitMQ at %s (prefetch %lld)", lp_amqp_where(w->mq),
                    (long long)w->cfg->amqp_prefetch);
            return 0;
        }
    }
    if (w->backoff_ms == 0)
        LP_WARN("worker", "cannot consume from RabbitMQ: %s; retrying with backoff", err.message);
    lp_amqp_close(w->mq);
    w->mq = NULL;
    w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (w->backoff_ms > BACKOFF_MAX_MS)
        w->backoff_ms = BACKOFF_MAX_MS;
    return -1;
}

/* Reads deliveries without waiting longer than timeout_ms, into the buffer.
 * Returns -1 when the connection failed. */
static int pump(dispatcher *w, int64_t timeout_ms)
{
    lp_error err;
    for (;;) {
        held h;
        int got;
        lp_error_clear(&err);
        got = lp_amqp_next(w->mq, timeout_ms, &h.d, &err);
        if (got < 0) {
            LP_WARN("worker", "%s", err.message);
            return -1;
        }
        if (got == 0)
            return 0;
        if (w->nbuf == w->capbuf) {
            size_t cap = w->capbuf ? w->capbuf * 2 : 8;
            held *nb = realloc(w->buf, cap * sizeof(*nb));
            if (!nb) {
                lp_amqp_reject(w->mq, h.d.tag, 1, &err);
                lp_amqp_delivery_free(&h.d);
                return 0;
            }
            w->buf = nb;
            w->capbuf = cap;
        }
        h.gen = w->gen;
        w->buf[w->nbuf++] = h;
        timeout_ms = 0; /* take what is there, then return */
    }
}

static const lp_delivery_outcome settle_of[] = {
    [LP_WEBHOOK_ACK] = LP_DELIVERY_ACK,
    [LP_WEBHOOK_REQUEUE] = LP_DELIVERY_REQUEUE,
    [LP_WEBHOOK_REJECT] = LP_DELIVERY_DEAD_LETTER,
};

static void *job_main(void *arg)
{
    job_thread *t = arg;
    lp_delivery_outcome out = LP_DELIVERY_ACK;
    if (t->sender)
        lp_webhook_sender_handle_batch(t->sender, t->msgs, t->nmsgs, t->settles);
    else if (t->reply_to)
        out = lp_job_runner_answer(t->runner, t->body, t->len, t->reply_to, t->correlation_id);
    else
        out = lp_job_runner_handle(t->runner, t->body, t->len);
    pthread_mutex_lock(&t->mu);
    t->outcome = out;
    t->done = 1;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* Runs t (a job, or a batch of webhook deliveries) on a job thread while
 * servicing the connection; the job's outcome in t.outcome, the
 * deliveries' in t.settles. */
static void run_job(dispatcher *w, job_thread *tp)
{
    job_thread t = *tp;
    pthread_t th;
    sigset_t all, old;
    int64_t hard_deadline = lp_now_mono_ms() + w->cfg->job_timeout + HARD_TIMEOUT_GRACE_MS;
    int rc;

    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cond, NULL);
    /* Signals are for the main thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&th, NULL, job_main, &t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        LP_ERROR("worker", "cannot start a job thread: %s", strerror(rc));
        pthread_mutex_destroy(&t.mu);
        pthread_cond_destroy(&t.cond);
        tp->outcome = LP_DELIVERY_REQUEUE;
        for (size_t i = 0; i < t.nmsgs; i++)
            t.settles[i] = LP_WEBHOOK_REQUEUE;
        return;
    }
    pthread_mutex_lock(&t.mu);
    while (!t.done) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += JOB_WAIT_SLICE_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&t.cond, &t.mu, &until);
        if (t.done)
            break;
        pthread_mutex_unlock(&t.mu);
        if (lp_amqp_ok(w->mq))
            pump(w, 0);
        if (lp_now_mono_ms() > hard_deadline) {
            LP_ERROR("worker", "a job ignored its deadline (job_timeout %lld ms + %d ms grace); exiting so that "
                               "its message goes back to the queue",
                     (long long)w->cfg->job_timeout, HARD_TIMEOUT_GRACE_MS);
            _exit(EXIT_JOB_STUCK);
        }
        pthread_mutex_lock(&t.mu);
    }
    pthread_mutex_unlock(&t.mu);
    pthread_join(th, NULL);
    pthread_mutex_destroy(&t.mu);
    pthread_cond_destroy(&t.cond);
    tp->outcome = t.outcome;
}

static void settle(dispatcher *w, const held *h, lp_delivery_outcome out)
{
    lp_error err;
    int rc = 0;

    if (h->gen != w->gen || !lp_amqp_ok(w->mq)) {
        /* The connection it came on is gone; the broker redelivers it. */
        LP_INFO("worker", "delivery from %s not settled: its connection closed (it will be redelivered)",
                h->d.queue);
        return;
    }
    lp_error_clear(&err);
    switch (out) {
    case LP_DELIVERY_ACK:
        rc = lp_amqp_ack(w->mq, h->d.tag, &err);
        break;
    case LP_DELIVERY_DEAD_LETTER:
        rc = lp_amqp_reject(w->mq, h->d.tag, 0, &err);
        break;
    case LP_DELIVERY_REQUEUE:
        pause_ms(REQUEUE_PAUSE_MS);
        rc = lp_amqp_reject(w->mq, h->d.tag, 1, &err);
        break;
    }
    if (rc != 0)
        LP_WARN("worker", "%s", err.message);
}

/* 1 if h is a webhook delivery this worker sends. */
static int is_webhook(const dispatcher *w, const held *h)
{
    return w->sender && !h->d.too_large && strcmp(h->d.queue, w->webhooks_queue) == 0;
}

static void handle(dispatcher *w, held *h)
{
    job_thread t;
    memset(&t, 0, sizeof(t));
    if (h->d.too_large) {
        LP_ERROR("worker", "dead-lettering a %zu-byte message from %s: over %d bytes", h->d.body_len, h->d.queue,
                 LP_AMQP_BODY_MAX);
        settle(w, h, LP_DELIVERY_DEAD_LETTER);
        return;
    }
    t.runner = w->runner;
    t.body = h->d.body;
    t.len = h->d.body_len;
    if (h->d.reply_to[0] && lp_model_infer_is_request(h->d.body, h->d.body_len)) {
        t.reply_to = h->d.reply_to;
        t.correlation_id = h->d.correlation_id;
    }
    run_job(w, &t);
    settle(w, h, t.outcome);
}

/* Takes the webhook wake-up messages at the head of the buffer (h, the
 * first, already taken; at most webhook_batch) and handles them together. */
static void handle_webhooks(dispatcher *w, held *h)
{
    size_t max = (size_t)w->cfg->webhook_batch, n = 1;
    held *batch = NULL;
    lp_webhook_message *msgs = NULL;
    lp_webhook_settle *settles = NULL;
    job_thread t;

    if (lp_amqp_ok(w->mq))
        pump(w, 0);
    while (n < max && n - 1 < w->nbuf && is_webhook(w, &w->buf[n - 1]))
        n++;
    if (!(batch = malloc(n * sizeof(*batch))) || !(msgs = malloc(n * sizeof(*msgs))) ||
        !(settles = malloc(n * sizeof(*settles)))) {
        LP_ERROR("worker", "out of memory taking %zu webhook deliveries; handing one back", n);
        settle(w, h, LP_DELIVERY_REQUEUE);
        goto cleanup;
    }
    batch[0] = *h;
    memcpy(batch + 1, w->buf, (n - 1) * sizeof(*batch));
    memmove(w->buf, w->buf + (n - 1), (w->nbuf - (n - 1)) * sizeof(*w->buf));
    w->nbuf -= n - 1;
    for (size_t i = 0; i < n; i++)
        msgs[i] = (lp_webhook_message){batch[i].d.body, batch[i].d.body_len};
    memset(&t, 0, sizeof(t));
    t.sender = w->sender;
    t.msgs = msgs;
    t.nmsgs = n;
    t.settles = settles;
    run_job(w, &t);
    for (size_t i = 0; i < n; i++) {
        settle(w, &batch[i], settle_of[settles[i]]);
        if (i > 0)
            lp_amqp_delivery_free(&batch[i].d); /* the caller frees h's */
    }

cleanup:
    free(batch);
    free(msgs);
    free(settles);
}

int lp_worker_gpu_queue(const char **queues, size_t n, size_t cap, size_t ngpus, const char *gpu_queue,
                        lp_error *err)
{
    if (!gpu_queue || !*gpu_queue || ngpus == 0)
        return (int)n;
    if (!lp_queue_name_valid(gpu_queue))
        return lp_error_field(err, LP_E_INVALID, "worker_gpu_queue",
                              "\"%s\" is not a queue name (1 to %d of a-z, 0-9, '_', '-')", gpu_queue,
                              LP_QUEUE_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(queues[i], gpu_queue) == 0)
            return (int)n;
    }
    if (n == cap)
        return lp_error_field(err, LP_E_INVALID, "worker_gpu_queue", "worker_queues leaves no room for \"%s\"",
                              gpu_queue);
    queues[n] = gpu_queue;
    return (int)n + 1;
}

/* A worker with a GPU consumes worker_gpu_queue too. */
static int add_gpu_queue(dispatcher *w, const lp_config *cfg, lp_error *err)
{
    lp_gpu_info gpus[LP_HOST_GPUS_MAX];
    lp_nvml *nvml = lp_nvml_open(cfg->nvml_library);
    size_t ngpus = lp_nvml_read(nvml, gpus, LP_HOST_GPUS_MAX);
    lp_nvml_close(nvml);
    int n = lp_worker_gpu_queue(w->queues, w->nqueues, LP_WORKER_QUEUES_MAX, ngpus, cfg->worker_gpu_queue, err);
    if (n < 0)
        return -1;
    if ((size_t)n > w->nqueues)
        LP_INFO("worker", "%zu GPU(s) (%s): consuming queue %s too", ngpus, gpus[0].name, cfg->worker_gpu_queue);
    w->nqueues = (size_t)n;
    return 0;
}

static int setup(dispatcher *w, const lp_config *cfg, char *qbuf, size_t qcap)
{
    lp_error err;
    const char *reg[LP_WORKER_QUEUES_MAX];
    size_t nreg;
    int n;

    lp_error_clear(&err);
    memset(w, 0, sizeof(*w));
    w->cfg = cfg;
    if (lp_db_use_pooler(cfg->db_pooler, &err) != 0) {
        LP_ERROR("worker", "%s %s", err.fields[0].field, err.fields[0].message);
        return -1;
    }
    n = lp_worker_parse_queues(cfg->worker_queues, qbuf, qcap, w->queues, LP_WORKER_QUEUES_MAX, &err);
    if (n < 0) {
        LP_ERROR("worker", "worker_queues: %s", err.nfields ? err.fields[0].message : err.message);
        return -1;
    }
    w->nqueues = (size_t)n;
    if (add_gpu_queue(w, cfg, &err) != 0) {
        LP_ERROR("worker", "worker_gpu_queue: %s", err.nfields ? err.fields[0].message : err.message);
        return -1;
    }
    nreg = lp_job_queues(reg, LP_WORKER_QUEUES_MAX);
    if (nreg > LP_WORKER_QUEUES_MAX)
        nreg = LP_WORKER_QUEUES_MAX;
    for (size_t i = 0; i < nreg; i++)
        w->topology[w->ntopology++] = reg[i];
    for (size_t i = 0; i < w->nqueues; i++) {
        size_t j;
        for (j = 0; j < w->ntopology && strcmp(w->topology[j], w->queues[i]) != 0; j++) {
        }
        if (j == w->ntopology)
            w->topology[w->ntopology++] = w->queues[i];
    }
    w->runner = lp_job_runner_new(cfg, &err);
    if (!w->runner) {
        LP_ERROR("worker", "%s", err.message);
        return -1;
    }
    lp_queue_work_name(LP_WEBHOOK_QUEUE, w->webhooks_queue);
    for (size_t i = 0; i < w->nqueues; i++) {
        if (strcmp(w->queues[i], LP_WEBHOOK_QUEUE) == 0 && !(w->sender = lp_webhook_sender_new(cfg, &err))) {
            LP_ERROR("worker", "%s%s%s", err.nfields ? err.fields[0].field : "", err.nfields ? ": " : "",
                     err.nfields ? err.fields[0].message : err.message);
            lp_job_runner_free(w->runner);
            return -1;
        }
    }
    return 0;
}

int lp_worker_run(const lp_config *cfg)
{
    dispatcher w;
    lp_heartbeat *hb;
    lp_error err;
    char qbuf[1024], worker_id[128];
    struct sigaction sa;

    if (setup(&w, cfg, qbuf, sizeof(qbuf)) != 0)
        return 1;
    lp_job_dirs_sweep(cfg); /* what workers that died left in worker_tmp_dir and worker_scratch_dir */
    lp_job_decoder_warm(cfg, w.queues, w.nqueues); /* starting up while the broker connects */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lp_error_clear(&err);
    hb = lp_heartbeat_start(cfg, w.queues, w.nqueues, w.runner, worker_id, &err);
    if (!hb) {
        LP_ERROR("worker", "%s", err.message);
        lp_webhook_sender_free(w.sender);
        lp_job_runner_free(w.runner);
        return 1;
    }
    lp_log_set_context(worker_id);

    while (!stop_requested) {
        if (!lp_amqp_ok(w.mq)) {
            if (connect_broker(&w) != 0) {
                pause_ms(w.backoff_ms);
                continue;
            }
        }
        if (w.nbuf == 0 && pump(&w, POLL_MS) != 0)
            continue; /* reconnect */
        if (w.nbuf > 0) {
            held h = w.buf[0];
            memmove(w.buf, w.buf + 1, (w.nbuf - 1) * sizeof(*w.buf));
            w.nbuf--;
            if (is_webhook(&w, &h))
                handle_webhooks(&w, &h);
            else
                handle(&w, &h);
            lp_amqp_delivery_free(&h.d);
            lp_log_set_context(worker_id);
        }
    }

    LP_INFO("worker", "stopping");
    drop_buffer(&w);
    free(w.buf);
    lp_amqp_close(w.mq);
    lp_heartbeat_stop(hb);
    lp_webhook_sender_free(w.sender);
    lp_job_runner_free(w.runner);
    lp_job_process_end(); /* the decoder stopped, its directories removed */
    LP_INFO("worker", "stopped");
    return 0;
}
