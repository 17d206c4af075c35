/* One attempt of a job in a worker, from delivery to result. See
 * loupe/worker/runner.h for the sequence and the threading rules. */
#include "loupe/worker/runner.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loupe/core/arena.h"
#include "loupe/core/log.h"
#include "loupe/core/trace.h"
#include "loupe/core/util.h"
#include "loupe/db/db.h"
#include "loupe/db/jobs_sql.h"
#include "loupe/jobs/job.h"
#include "loupe/jobs/message.h"
#include "loupe/jobs/model_infer.h"
#include "loupe/queue/connection.h"
#include "loupe/queue/publish.h"
#include "loupe/queue/topology.h"

#define CONNECT_TIMEOUT_MS 5000
#define CONFIRM_TIMEOUT_MS 10000
/* A job's advisory lock may outlive a killed worker by a moment (until its
 * server backend notices the closed socket): try this long before deciding
 * that another live worker holds the job. */
#define LOCK_WAIT_MS 3000
#define LOCK_RETRY_MS 100
/* A job another live worker holds is looked at again after this tier ("5s"). */
#define BUSY_RETRY_TIER 1
#define JOB_ARENA_MAX (256LL * 1024 * 1024)
#define MESSAGE_MAX 2048

struct lp_job_runner {
    const lp_config *cfg;
    lp_db *db;
    lp_amqp *pub;
    lp_arena *arena;
    pthread_mutex_t mu; /* guards current */
    char current[37];
};

lp_claim_decision lp_job_claim_decide(const char *status, int attempts, int max_attempts, int msg_attempt,
                                      int *attempt_out, int *abandoned_out)
{
    *attempt_out = 0;
    *abandoned_out = 0;
    if (!strcmp(status, "succeeded") || !strcmp(status, "failed") || !strcmp(status, "cancelled"))
        return LP_CLAIM_FINISHED;
    if (!strcmp(status, "queued")) {
        if (msg_attempt <= attempts)
            return LP_CLAIM_STALE;
    } else {
        /* "running", yet we hold the job's advisory lock: the worker that
         * ran it is gone (its lock went with its connection). */
        *abandoned_out = 1;
    }
    if (attempts >= max_attempts)
        return LP_CLAIM_EXHAUSTED;
    *attempt_out = attempts + 1;
    return LP_CLAIM_RUN;
}

lp_job_runner *lp_job_runner_new(const lp_config *cfg, lp_error *err)
{
    lp_job_runner *r = calloc(1, sizeof(*r));
    if (!r || !(r->arena = lp_arena_new(64 * 1024, (size_t)JOB_ARENA_MAX))) {
        free(r);
        lp_error_set(err, LP_E_NOMEM, "out of memory creating the job runner");
        return NULL;
    }
    r->cfg = cfg;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void lp_job_runner_free(lp_job_runner *r)
{
    if (!r)
        return;
    lp_db_close(r->db);
    lp_amqp_close(r->pub);
    lp_arena_free(r->arena);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int lp_job_runner_current(lp_job_runner *r, char out[37])
{
    int rc;
    pthread_mutex_lock(&r->mu);
    rc = r->current[0] ? 0 : -1;
    memcpy(out, r->current, 37);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* The job this thread runs (NULL: none) and, for its log lines and the
 * messages it writes, its trace: a span of the message's traceparent. */
static void set_current(lp_job_runner *r, const lp_job_msg *m)
{
    lp_trace parent, t;
    pthread_mutex_lock(&r->mu);
    lp_strlcpy(r->current, m ? m->job_id : "", sizeof(r->current));
    pthread_mutex_unlock(&r->mu);
    lp_log_set_context(m ? m->job_id : NULL);
    if (m && lp_trace_parse(m->traceparent, &parent) == 0 && lp_trace_child(&parent, &t) == 0)
        lp_trace_set_current(&t);
    else
        lp_trace_set_current(NULL);
}

static int ensure_db(lp_job_runner *r, lp_error *err)
{
    if (r->db && lp_db_ok(r->db))
        return 0;
    lp_db_close(r->db);
    /* A session of its own: the job locks are session advisory locks, held
     * for as long as the job runs (db_direct_url under a transaction pooler). */
    r->db = lp_db_connect(lp_db_session_url(r->cfg->db_url, r->cfg->db_direct_url), 0, err);
    return r->db ? 0 : -1;
}

/* Publishes one message with confirm, reconnecting once if the publishing
 * connection went stale while idle. */
static int publish_msg(lp_job_runner *r, const lp_amqp_msg *msg, lp_error *err);

static int publish(lp_job_runner *r, const char *exchange, const char *routing_key, const char *body,
                   const char *message_id, lp_error *err)
{
    lp_amqp_msg m = {exchange, routing_key, body, strlen(body), message_id, NULL, NULL, 0};
    return publish_msg(r, &m, err);
}

static int publish_msg(lp_job_runner *r, const lp_amqp_msg *msg, lp_error *err)
{
    const lp_amqp_msg m = *msg;
    for (int attempt = 0; attempt < 2; attempt++) {
        lp_error_clear(err);
        if (!lp_amqp_ok(r->pub)) {
            lp_amqp_close(r->pub);
            r->pub = lp_amqp_connect(r->cfg->amqp_url, (int)r->cfg->amqp_heartbeat, CONNECT_TIMEOUT_MS, err);
            if (!r->pub)
                return -1;
        }
        if (lp_amqp_publish(r->pub, &m, 1, NULL, CONFIRM_TIMEOUT_MS, err) == 0)
            return 0;
        if (lp_amqp_ok(r->pub))
            return -1; /* refused by the broker: retrying will not help */
    }
    return -1;
}

static char *error_detail(lp_arena *a, const char *error)
{
    json_t *o = json_pack("{s:s}", "error", lp_utf8_valid(error, strlen(error)) ? error : "(not valid UTF-8)");
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    char *copy = text ? lp_arena_strdup(a, text) : NULL;
    free(text);
    json_decref(o);
    return copy;
}

/* Marks the job failed for good and leaves a copy of its message, with the
 * reason, in loupe.Q.dead for inspection. */
static lp_delivery_outcome finish_dead(lp_job_runner *r, const lp_job_row *row, int attempt, const char *error)
{
    lp_error err;
    lp_job_msg m;
    char body[MESSAGE_MAX], msg_id[64];
    int changed;

    lp_error_clear(&err);
    changed = lp_db_job_fail(r->db, row->id, attempt, error, &err);
    if (changed < 0) {
        LP_ERROR("jobs", "job %s: cannot record the failure: %s", row->id, err.message);
        return LP_DELIVERY_REQUEUE;
    }
    if (changed == 0) {
        LP_WARN("jobs", "job %s: attempt %d no longer owns the job; not marking it failed", row->id, attempt);
        return LP_DELIVERY_ACK;
    }
    LP_ERROR("jobs", "job %s (%s) failed after %d attempt(s): %s", row->id, row->kind, attempt, error);
    memset(&m, 0, sizeof(m));
    m.v = LP_JOB_MSG_VERSION;
    m.attempt = attempt;
    lp_strlcpy(m.job_id, row->id, sizeof(m.job_id));
    lp_strlcpy(m.kind, row->kind, sizeof(m.kind));
    lp_trace_format(lp_trace_current(), m.traceparent);
    snprintf(msg_id, sizeof(msg_id), "job-%s-dead", row->id);
    if (lp_job_msg_format(&m, error, body, sizeof(body)) < 0 ||
        publish(r, LP_QUEUE_DLX, row->queue, body, msg_id, &err) != 0)
        LP_WARN("jobs", "job %s: failed, but its dead letter was not published: %s", row->id,
                err.message[0] ? err.message : "message too large");
    return LP_DELIVERY_ACK;
}

/* After a failed attempt with attempts left: park the next attempt's message
 * in the retry queue of the backoff tier, then record the retry. */
static lp_delivery_outcome finish_retry(lp_job_runner *r, const lp_job_row *row, int attempt, const char *error)
{
    size_t ntiers, tier = lp_queue_retry_tier_for(attempt);
    const lp_retry_tier *tiers = lp_queue_retry_tiers(&ntiers);
    char retry_queue[LP_QUEUE_FULL_NAME_MAX], body[MESSAGE_MAX], msg_id[64];
    lp_job_msg m;
    lp_error err;

    lp_error_clear(&err);
    memset(&m, 0, sizeof(m));
    m.v = LP_JOB_MSG_VERSION;
    m.attempt = attempt + 1;
    lp_strlcpy(m.job_id, row->id, sizeof(m.job_id));
    lp_strlcpy(m.kind, row->kind, sizeof(m.kind));
    lp_trace_format(lp_trace_current(), m.traceparent);
    snprintf(msg_id, sizeof(msg_id), "job-%s-%d", row->id, m.attempt);
    if (lp_queue_retry_name(row->queue, tier, retry_queue) != 0 || lp_job_msg_format(&m, NULL, body, sizeof(body)) < 0)
        return finish_dead(r, row, attempt, error);
    if (publish(r, "", retry_queue, body, msg_id, &err) != 0) {
        /* Keep the job running under this attempt and hand the delivery
         * back: its redelivery takes the job over as an abandoned attempt. */
        LP_WARN("jobs", "job %s: cannot schedule its retry: %s", row->id, err.message);
        lp_db_job_event(r->db, row->id, "failed", attempt, error_detail(r->arena, error), &err);
        return LP_DELIVERY_REQUEUE;
    }
    if (lp_db_job_retry(r->db, row->id, attempt, error, tiers[tier].ttl_ms, &err) < 0)
        LP_WARN("jobs", "job %s: retry scheduled but not recorded: %s", row->id, err.message);
    LP_WARN("jobs", "job %s (%s) attempt %d of %d failed: %s; retrying in %s", row->id, row->kind, attempt,
            row->max_attempts, error, tiers[tier].name);
    return LP_DELIVERY_ACK;
}

static lp_delivery_outcome run_attempt(lp_job_runner *r, const lp_job_row *row, int attempt)
{
    const lp_job_kind *kind = lp_job_kind_find(row->kind);
    lp_job_ctx ctx;
    json_error_t jerr;
    lp_delivery_outcome out;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    lp_error_clear(&ctx.err);
    ctx.id = row->id;
    ctx.kind = row->kind;
    ctx.team_id = row->team_id[0] ? row->team_id : NULL;
    ctx.attempt = attempt;
    ctx.max_attempts = row->max_attempts;
    ctx.arena = r->arena;
    ctx.db = r->db;
    ctx.cfg = r->cfg;
    ctx.deadline_ms = lp_now_mono_ms() + r->cfg->job_timeout;
    ctx.payload = json_loads(row->payload, 0, &jerr);

    LP_INFO("jobs", "job %s (%s) attempt %d of %d started", row->id, row->kind, attempt, row->max_attempts);
    if (!kind)
        rc = lp_error_set(&ctx.err, LP_E_INVALID, "this worker has no handler for job kind %s", row->kind);
    else if (!json_is_object(ctx.payload))
        rc = lp_error_set(&ctx.err, LP_E_INVALID, "the job's payload is not a JSON object");
    else
        rc = kind->run(&ctx);

    if (rc == 0) {
        lp_error err;
        char *text;
        int changed;
        if (!ctx.result)
            ctx.result = json_object();
        text = ctx.result ? json_dumps(ctx.result, JSON_COMPACT) : NULL;
        lp_error_clear(&err);
        changed = text ? lp_db_job_succeed(r->db, row->id, attempt, text, &err)
                       : lp_error_set(&err, LP_E_NOMEM, "out of memory serialising the result");
        free(text);
        if (changed < 0) {
            LP_ERROR("jobs", "job %s: cannot record its result: %s", row->id, err.message);
            out = LP_DELIVERY_REQUEUE;
        } else {
            if (changed == 0)
                LP_WARN("jobs", "job %s: attempt %d no longer owns the job; result discarded", row->id, attempt);
            else
                LP_INFO("jobs", "job %s (%s) succeeded on attempt %d", row->id, row->kind, attempt);
            out = LP_DELIVERY_ACK;
        }
    } else {
        const char *error = ctx.err.message[0] ? ctx.err.message : "the job's handler failed without a message";
        if (lp_job_error_retryable(ctx.err.code) && attempt < row->max_attempts)
            out = finish_retry(r, row, attempt, error);
        else
            out = finish_dead(r, row, attempt, error);
    }
    json_decref(ctx.payload);
    json_decref(ctx.result);
    return out;
}

/* Locks the row, decides, and starts the attempt in one transaction. */
static lp_delivery_outcome claim_and_run(lp_job_runner *r, const lp_job_msg *m)
{
    lp_job_row row;
    lp_error err;
    int attempt = 0, abandoned = 0;
    lp_claim_decision d;

    lp_error_clear(&err);
    lp_arena_reset(r->arena);
    if (lp_db_begin(r->db, &err) != 0 || lp_db_job_lock_row(r->db, r->arena, m->job_id, &row, &err) != 0) {
        lp_db_rollback(r->db);
        if (err.code == LP_E_NOT_FOUND) {
            LP_WARN("jobs", "job %s no longer exists; dropping its message", m->job_id);
            return LP_DELIVERY_ACK;
        }
        LP_ERROR("jobs", "job %s: cannot read the job: %s", m->job_id, err.message);
        return LP_DELIVERY_REQUEUE;
    }
    d = lp_job_claim_decide(row.status, row.attempts, row.max_attempts, m->attempt, &attempt, &abandoned);
    if (d == LP_CLAIM_FINISHED || d == LP_CLAIM_STALE) {
        lp_db_rollback(r->db);
        LP_INFO("jobs", "job %s is %s (attempt %d); message for attempt %d dropped", row.id, row.status, row.attempts,
                m->attempt);
        return LP_DELIVERY_ACK;
    }
    if (abandoned) {
        char reason[160];
        snprintf(reason, sizeof(reason), "attempt %d was abandoned: its worker stopped before finishing", row.attempts);
        LP_WARN("jobs", "job %s: %s", row.id, reason);
        if (lp_db_job_event(r->db, row.id, "failed", row.attempts, error_detail(r->arena, reason), &err) != 0)
            goto db_failed;
        if (d == LP_CLAIM_EXHAUSTED) {
            if (lp_db_commit(r->db, &err) != 0)
                goto db_failed;
            return finish_dead(r, &row, row.attempts, reason);
        }
    } else if (d == LP_CLAIM_EXHAUSTED) {
        lp_db_rollback(r->db);
        LP_WARN("jobs", "job %s: queued but its %d attempts are used up; dropping the message", row.id,
                row.max_attempts);
        return LP_DELIVERY_ACK;
    }
    if (lp_db_job_start(r->db, row.id, attempt, &err) != 0 || lp_db_commit(r->db, &err) != 0)
        goto db_failed;
    return run_attempt(r, &row, attempt);

db_failed:
    lp_db_rollback(r->db);
    LP_ERROR("jobs", "job %s: cannot start the attempt: %s", row.id, err.message);
    return LP_DELIVERY_REQUEUE;
}

/* Another live worker holds the job (a duplicate message): look again later. */
static lp_delivery_outcome defer_busy(lp_job_runner *r, const lp_job_msg *m)
{
    const lp_job_kind *kind = lp_job_kind_find(m->kind);
    char retry_queue[LP_QUEUE_FULL_NAME_MAX], msg_id[64], body[MESSAGE_MAX];
    lp_error err;

    lp_error_clear(&err);
    if (!kind || lp_queue_retry_name(kind->queue, BUSY_RETRY_TIER, retry_queue) != 0 ||
        lp_job_msg_format(m, NULL, body, sizeof(body)) < 0) {
        LP_WARN("jobs", "job %s is held by another worker and its kind %s is unknown here; dropping the duplicate",
                m->job_id, m->kind);
        return LP_DELIVERY_ACK;
    }
    snprintf(msg_id, sizeof(msg_id), "job-%s-busy", m->job_id);
    if (publish(r, "", retry_queue, body, msg_id, &err) != 0) {
        LP_WARN("jobs", "job %s is held by another worker; cannot defer the duplicate: %s", m->job_id, err.message);
        return LP_DELIVERY_REQUEUE;
    }
    LP_INFO("jobs", "job %s is held by another worker; looking again later", m->job_id);
    return LP_DELIVERY_ACK;
}

lp_delivery_outcome lp_job_runner_handle(lp_job_runner *r, const char *body, size_t len)
{
    lp_job_msg m;
    lp_error err;
    lp_delivery_outcome out;
    int locked;

    lp_error_clear(&err);
    if (lp_job_msg_parse(body, len, &m, &err) != 0) {
        LP_ERROR("jobs", "dead-lettering an unreadable job message: %s%s%s%s", err.message,
                 err.nfields ? " (" : "", err.nfields ? err.fields[0].field : "", err.nfields ? ")" : "");
        return LP_DELIVERY_DEAD_LETTER;
    }
    if (ensure_db(r, &err) != 0) {
        LP_ERROR("jobs", "job %s: database unavailable: %s", m.job_id, err.message);
        return LP_DELIVERY_REQUEUE;
    }
    for (int64_t until = lp_now_mono_ms() + LOCK_WAIT_MS;;) {
        locked = lp_db_job_try_advisory_lock(r->db, m.job_id, &err);
        if (locked != 0 || lp_now_mono_ms() >= until)
            break;
        struct timespec ts = {0, LOCK_RETRY_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (locked < 0) {
        LP_ERROR("jobs", "job %s: %s", m.job_id, err.message);
        return LP_DELIVERY_REQUEUE;
    }
    if (locked == 0)
        return defer_busy(r, &m);

    set_current(r, &m);
    out = claim_and_run(r, &m);
    set_current(r, NULL);
    lp_error_clear(&err);
    if (lp_db_ok(r->db) && lp_db_job_advisory_unlock(r->db, m.job_id, &err) != 0)
        LP_WARN("jobs", "job %s: cannot release its advisory lock: %s", m.job_id, err.message);
    lp_arena_reset(r->arena);
    return out;
}

lp_delivery_outcome lp_job_runner_answer(lp_job_runner *r, const char *body, size_t len, const char *reply_to,
                                         const char *correlation_id)
{
    lp_error err;
    json_t *answer = NULL;
    char *text = NULL;

    lp_error_clear(&err);
    lp_arena_reset(r->arena);
    if (ensure_db(r, &err) != 0) {
        answer = json_pack("{s:{s:s, s:s}}", "error", "code", lp_code_name(LP_E_UNAVAILABLE), "message",
                           "the worker's database is unavailable");
    } else {
        answer = lp_model_infer_answer(r->db, r->cfg, r->arena, body, len);
    }
    if (answer && (text = json_dumps(answer, JSON_COMPACT))) {
        lp_amqp_msg m = {"", reply_to, text, strlen(text), NULL, NULL, correlation_id, 1};
        if (publish_msg(r, &m, &err) != 0)
            LP_WARN("worker", "a live inference answer was not delivered (its caller may have gone): %s",
                    err.message);
    }
    free(text);
    json_decref(answer);
    lp_arena_reset(r->arena);
    return LP_DELIVERY_ACK;
}
