/* Delivering webhooks. See loupe/webhooks/sender.h for the sequence. */
#include "loupe/webhooks/sender.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/arena.h"
#include "loupe/core/log.h"
#include "loupe/core/trace.h"
#include "loupe/core/util.h"
#include "loupe/crypto/webhook_sig.h"
#include "loupe/db/db.h"
#include "loupe/db/webhooks_sql.h"
#include "loupe/net/client.h"
#include "loupe/queue/topology.h"
#include "loupe/webhooks/schedule.h"
#include "loupe/webhooks/subscription.h"

#define ARENA_MAX (64LL * 1024 * 1024)
/* How long one wake-up message keeps a worker sending rounds. */
#define ROUNDS_MS 5000

struct lp_webhook_sender {
    const lp_config *cfg;
    lp_net_allowlist allow;
    lp_net_policy policy;
    lp_net_client *http;
    lp_db *db;
    lp_arena *arena;
    int per_host;         /* webhook_host_connections */
};


/* What one attempt's request holds (headers, texts the attempt points to). */
typedef struct outgoing {
    char h_id[64], h_ts[48], h_sig[2 * LP_WEBHOOK_SIG_LEN + 32], h_trace[16 + LP_TRACEPARENT_LEN];
    const char *headers[6];
    char errbuf[512];
    char queue[LP_QUEUE_FULL_NAME_MAX];
} outgoing;

/* One round's attempts on their way: sent, then recorded in small groups
 * as they finish (see send_all). */
typedef struct flight {
    lp_webhook_sender *s;
    lp_webhook_attempt *ats;   /* the round's attempts */
    outgoing *o;               /* of ats, by index */
    lp_net_response *resps;    /* by request */
    int *rcs;
    lp_error *errs;
    size_t *which;             /* request j is the attempt ats[which[j]] */
    lp_webhook_attempt *ready; /* finished, not recorded yet */
    size_t nready;
    int64_t first_ready_ms;    /* when the oldest of them finished (mono) */
    int failed;                /* a record failed: nothing more is recorded */
    lp_error err;
} flight;

lp_webhook_sender *lp_webhook_sender_new(const lp_config *cfg, lp_error *err)
{
    lp_webhook_sender *s = calloc(1, sizeof(*s));
    if (!s) {
        lp_error_set(err, LP_E_NOMEM, "out of memory creating the webhook sender");
        return NULL;
    }
    s->cfg = cfg;
    s->per_host = (int)cfg->webhook_host_connections;
    if (lp_webhook_net_policy(cfg, &s->allow, &s->policy, err) != 0 || !(s->http = lp_net_client_new(err)) ||
        !(s->arena = lp_arena_new(64 * 1024, (size_t)ARENA_MAX))) {
        if (s->http && !s->arena)
            lp_error_set(err, LP_E_NOMEM, "out of memory creating the webhook sender");
        lp_webhook_sender_free(s);
        return NULL;
    }
    return s;
}

void lp_webhook_sender_free(lp_webhook_sender *s)
{
    if (!s)
        return;
    lp_db_close(s->db);
    lp_net_client_free(s->http);
    lp_arena_free(s->arena);
    free(s);
}

int lp_webhook_message_read(const char *body, size_t len, int64_t *due_at)
{
    json_error_t jerr;
    json_t *m = json_loadb(body, len, 0, &jerr);
    json_t *due = json_object_get(m, "due_at");
    int rc = json_is_object(m) && json_integer_value(json_object_get(m, "v")) == 1 && (!due || json_is_integer(due))
                 ? 0
                 : -1;
    *due_at = rc == 0 && due ? (int64_t)json_integer_value(due) : 0;
    json_decref(m);
    return rc;
}

/* The response excerpt as text PostgreSQL accepts: a character cut at the
 * end is dropped; other invalid bytes and NULs become '?'. In place. */
static void text_safe(char *s, size_t *len)
{
    for (int cut = 0; cut < 4 && *len > 0 && !lp_utf8_valid(s, *len); cut++)
        (*len)--;
    if (!lp_utf8_valid(s, *len)) {
        for (size_t i = 0; i < *len; i++) {
            if ((unsigned char)s[i] >= 0x80)
                s[i] = '?';
        }
    }
    for (size_t i = 0; i < *len; i++) {
        if (s[i] == '\0')
            s[i] = '?';
    }
    s[*len] = '\0';
}

/* Signs the delivery of at into o and req (the attempt starts now). 0, or
 * -1 with at->error set. */
static int prepare(lp_webhook_attempt *at, outgoing *o, lp_net_request *req)
{
    const lp_webhook_claim *c = at->c;
    char sig[LP_WEBHOOK_SIG_LEN], sig_old[LP_WEBHOOK_SIG_LEN];
    int64_t ts = lp_now_wall_ms() / 1000;
    size_t body_len = strlen(c->body);
    lp_error err;

    lp_error_clear(&err);
    at->started_wall_ms = lp_now_wall_ms();
    if (lp_webhook_sign(c->secret, c->id, ts, c->body, body_len, sig, &err) != 0 ||
        (c->previous_secret &&
         lp_webhook_sign(c->previous_secret, c->id, ts, c->body, body_len, sig_old, &err) != 0)) {
        snprintf(o->errbuf, sizeof o->errbuf, "%s", err.message);
        at->error = o->errbuf;
        return -1;
    }
    snprintf(o->h_id, sizeof o->h_id, "webhook-id: %s", c->id);
    snprintf(o->h_ts, sizeof o->h_ts, "webhook-timestamp: %lld", (long long)ts);
    if (c->previous_secret)
        snprintf(o->h_sig, sizeof o->h_sig, "webhook-signature: %s %s", sig, sig_old);
    else
        snprintf(o->h_sig, sizeof o->h_sig, "webhook-signature: %s", sig);
    o->headers[0] = "Content-Type: application/json";
    o->headers[1] = o->h_id;
    o->headers[2] = o->h_ts;
    o->headers[3] = o->h_sig;
    o->headers[4] = NULL;
    {
        /* the event's trace continues: a span of its own for this attempt */
        lp_trace parent, t;
        char tp[LP_TRACEPARENT_LEN + 1];
        if (lp_trace_parse(c->traceparent, &parent) == 0 && lp_trace_child(&parent, &t) == 0 &&
            lp_trace_format(&t, tp) == 0) {
            snprintf(o->h_trace, sizeof o->h_trace, "traceparent: %s", tp);
            o->headers[4] = o->h_trace;
            o->headers[5] = NULL;
        }
    }
    *req = (lp_net_request){.method = "POST",
                            .url = c->url,
                            .headers = o->headers,
                            .body = c->body,
                            .body_len = body_len,
                            .keep_bytes = LP_WEBHOOK_LOG_BODY_BYTES};
    return 0;
}

/* Fills at from the answer of its POST (rc, resp, err). */
static void conclude(lp_webhook_sender *s, lp_webhook_attempt *at, outgoing *o, int rc, lp_net_response *resp,
                     const lp_error *err)
{
    at->duration_ms = resp->elapsed_ms;
    if (rc != 0) {
        snprintf(o->errbuf, sizeof o->errbuf, "%s", err->message);
        at->error = o->errbuf;
    } else {
        at->response_code = resp->status;
        text_safe(resp->body, &resp->body_len);
        at->response_body = lp_arena_strdup(s->arena, resp->body);
        if (resp->status < 200 || resp->status > 299) {
            snprintf(o->errbuf, sizeof o->errbuf, "the receiver answered %ld", resp->status);
            at->error = o->errbuf;
        }
    }
}

/* The outcome of the attempt in at, and for a retry its delay and queue. */
static void decide(lp_webhook_sender *s, lp_webhook_attempt *at, char *queue)
{
    const lp_webhook_claim *c = at->c;
    uint32_t r;
    int step = at->n - c->retry_base;
    if (!at->error) {
        at->outcome = LP_WEBHOOK_DELIVERED;
        return;
    }
    if (at->response_code == 410) {
        at->outcome = LP_WEBHOOK_GONE;
        return;
    }
    if (lp_random_bytes(&r, sizeof r) != 0)
        r = 0x80000000u;
    at->delay_ms = lp_webhook_retry_delay_ms(step, s->cfg->webhook_retry_scale, (double)r / 4294967296.0);
    if (at->delay_ms < 0) {
        at->outcome = LP_WEBHOOK_FAILED;
        return;
    }
    at->delay_ms = lp_webhook_retry_wait_ms(at->delay_ms);
    at->outcome = LP_WEBHOOK_RETRY;
    lp_queue_retry_name(LP_WEBHOOK_QUEUE, lp_webhook_park_tier(at->delay_ms), queue);
    at->retry_queue = queue;
}

static void log_attempt(const lp_webhook_attempt *at);

/* Records the finished attempts of r in one statement (committed at once),
 * which releases their sending locks. After a failure nothing more is
 * recorded (those deliveries are sent again later). */
static void flush(flight *r)
{
    if (r->nready == 0)
        return;
    if (!r->failed && lp_db_webhook_record_many(r->s->db, r->ready, r->nready, &r->err) != 0)
        r->failed = 1;
    if (!r->failed) {
        for (size_t j = 0; j < r->nready; j++)
            log_attempt(&r->ready[j]);
    }
    r->nready = 0;
}

/* at has finished (or failed unsent): it joins the group to record. */
static void finished(flight *r, const lp_webhook_attempt *at)
{
    if (r->nready == 0)
        r->first_ready_ms = lp_now_mono_ms();
    r->ready[r->nready++] = *at;
}

/* Flushes the group when it is full or its oldest has waited
 * webhook_record_every; the ms until that is due (-1: nothing waits). */
static int64_t flush_due(flight *r)
{
    const lp_config *cfg = r->s->cfg;
    int64_t waited;
    if (r->nready == 0)
        return -1;
    waited = lp_now_mono_ms() - r->first_ready_ms;
    if (r->nready >= (size_t)cfg->webhook_record_max || waited >= cfg->webhook_record_every) {
        flush(r);
        return -1;
    }
    return cfg->webhook_record_every - waited;
}

/* lp_net_progress: requests done[0..ndone) have their answers. */
static int64_t on_progress(void *ctx, const size_t *done, size_t ndone)
{
    flight *r = ctx;
    for (size_t k = 0; k < ndone; k++) {
        size_t j = done[k], i = r->which[j];
        conclude(r->s, &r->ats[i], &r->o[i], r->rcs[j], &r->resps[j], &r->errs[j]);
        lp_net_response_free(&r->resps[j]);
        decide(r->s, &r->ats[i], r->o[i].queue);
        finished(r, &r->ats[i]);
    }
    return flush_due(r);
}

/* The attempts r->ats[0..n) (c, n and the disabling set) are signed and
 * POSTed at once through the SSRF guard (at most per_host at a time to one
 * host); each one's outcome is decided as its answer arrives and recorded
 * within webhook_record_every (or once webhook_record_max are waiting), so
 * that a worker killed mid-round sends again only what was in flight. 0, or
 * -1 when out of memory (nothing sent). */
static int send_all(flight *r, size_t n)
{
    lp_webhook_sender *s = r->s;
    lp_net_progress progress = {on_progress, r};
    size_t m = 0;

    r->o = lp_arena_calloc(s->arena, n, sizeof *r->o);
    lp_net_request *reqs = lp_arena_calloc(s->arena, n, sizeof *reqs);
    r->resps = lp_arena_calloc(s->arena, n, sizeof *r->resps);
    r->errs = lp_arena_calloc(s->arena, n, sizeof *r->errs);
    r->rcs = lp_arena_calloc(s->arena, n, sizeof *r->rcs);
    r->which = lp_arena_calloc(s->arena, n, sizeof *r->which);
    if (!r->o || !reqs || !r->resps || !r->errs || !r->rcs || !r->which)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (prepare(&r->ats[i], &r->o[i], &reqs[m]) == 0) {
            r->which[m++] = i;
        } else { /* a bad secret: the attempt fails unsent */
            decide(s, &r->ats[i], r->o[i].queue);
            finished(r, &r->ats[i]);
        }
    }
    return lp_net_fetch_many_progress(s->http, &s->policy, reqs, m, s->per_host, r->resps, r->rcs, r->errs,
                                      &progress);
}

/* The attempt of claim c, before it is sent. */
static void attempt_init(lp_webhook_sender *s, const lp_webhook_claim *c, lp_webhook_attempt *at, const char *reason)
{
    memset(at, 0, sizeof *at);
    at->c = c;
    at->n = c->attempts + 1;
    at->disable_after_ms = s->cfg->webhook_disable_after;
    at->disable_reason = reason;
}

static void log_attempt(const lp_webhook_attempt *at)
{
    if (at->outcome == LP_WEBHOOK_DELIVERED)
        LP_DEBUG("webhooks", "delivery %s delivered (attempt %d, %ld)", at->c->id, at->n, at->response_code);
    else if (at->outcome == LP_WEBHOOK_ABANDONED)
        LP_INFO("webhooks", "delivery %s failed unsent: %s", at->c->id, at->error);
    else
        LP_INFO("webhooks", "delivery %s attempt %d failed: %s%s", at->c->id, at->n, at->error,
                at->outcome == LP_WEBHOOK_RETRY ? "; will retry" : at->outcome == LP_WEBHOOK_GONE
                                                                       ? "; the subscription is disabled (410)"
                                                                       : "; no attempt left");
}

static const char *disable_reason(lp_webhook_sender *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "every delivery failed for %lld s without a success; fix the receiver, then activate the "
                       "subscription again",
             (long long)(s->cfg->webhook_disable_after / 1000));
    return buf;
}

static int ensure_db(lp_webhook_sender *s, lp_error *err)
{
    if (s->db && lp_db_ok(s->db))
        return 0;
    lp_db_close(s->db);
    /* a session of its own (db_direct_url under a transaction pooler): the
     * claims' sending locks belong to it */
    s->db = lp_db_connect(lp_db_session_url(s->cfg->db_url, s->cfg->db_direct_url), 0, err);
    return s->db ? 0 : -1;
}

/* One round: claims the due deliveries (at most webhook_batch, one
 * statement), sends those of active subscriptions at once and records
 * their outcomes in small groups as they finish (those of a disabled
 * subscription's deliveries, failed unsent, with the first group).
 * *claimed is how many it claimed (0: none was due and free). 0, or -1
 * with err (what was not recorded is sent again later). */
static int send_round(lp_webhook_sender *s, size_t *claimed, lp_error *err)
{
    lp_webhook_claim *cs;
    size_t nc, m = 0;
    char reason[160];
    flight r;

    *claimed = 0;
    memset(&r, 0, sizeof r);
    r.s = s;
    lp_error_clear(&r.err);
    lp_arena_reset(s->arena);
    if (lp_db_webhook_claim_due(s->db, s->arena, s->cfg->webhook_batch, lp_webhook_due_slack_ms(), &cs, &nc, err) !=
        0)
        return -1;
    if (nc == 0)
        return 0;
    *claimed = nc;
    if (!(r.ats = lp_arena_calloc(s->arena, nc, sizeof *r.ats)) ||
        !(r.ready = lp_arena_calloc(s->arena, nc, sizeof *r.ready)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory sending %zu deliveries", nc);
    disable_reason(s, reason, sizeof reason);
    for (size_t i = 0; i < nc; i++) {
        if (!cs[i].active) {
            lp_webhook_attempt at;
            attempt_init(s, &cs[i], &at, reason);
            at.n = cs[i].attempts;
            at.outcome = LP_WEBHOOK_ABANDONED;
            at.error = "the subscription is disabled";
            finished(&r, &at);
        } else {
            attempt_init(s, &cs[i], &r.ats[m++], reason);
        }
    }
    if (m > 0 && send_all(&r, m) != 0 && !r.failed) { /* nothing was sent */
        lp_error_set(&r.err, LP_E_NOMEM, "out of memory sending %zu deliveries", m);
        r.failed = 1;
    }
    flush(&r);
    if (r.failed) {
        *err = r.err;
        return -1;
    }
    return 0;
}

/* Rounds until none finds a due, free delivery. After ROUNDS_MS it stops
 * and queues a wake-up for the rest, so that a message is never held for
 * long. 0, or -1 with err. */
static int send_due(lp_webhook_sender *s, lp_error *err)
{
    int64_t until = lp_now_mono_ms() + ROUNDS_MS;
    size_t claimed;
    char queue[LP_QUEUE_FULL_NAME_MAX];
    lp_error ignored;
    int rc;

    do {
        rc = send_round(s, &claimed, err);
    } while (rc == 0 && claimed > 0 && lp_now_mono_ms() < until);
    /* nothing claimed is unrecorded now: the sending locks of rows a claim
     * passed over go too (those of what a failure left unrecorded with them,
     * for another sender to send) */
    lp_error_clear(&ignored);
    lp_db_webhook_release(s->db, &ignored);
    if (rc != 0 || claimed == 0)
        return rc;
    lp_queue_work_name(LP_WEBHOOK_QUEUE, queue);
    return lp_db_webhook_wake(s->db, queue, "{\"v\": 1}", err);
}

/* Queues msgs[i] (a wake-up due later than the slack) again in the retry
 * tier of its remaining wait; one transaction for all of them. 0 or -1. */
static int park(lp_webhook_sender *s, const lp_webhook_message *msgs, const int64_t *due_at, size_t n,
                lp_error *err)
{
    int64_t now = lp_now_wall_ms();
    char queue[LP_QUEUE_FULL_NAME_MAX];

    if (lp_db_begin(s->db, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char *body;
        int rc;
        if (due_at[i] - now <= lp_webhook_due_slack_ms())
            continue;
        if (!(body = strndup(msgs[i].body, msgs[i].len))) {
            lp_error_set(err, LP_E_NOMEM, "out of memory parking a wake-up");
            goto failed;
        }
        lp_queue_retry_name(LP_WEBHOOK_QUEUE, lp_webhook_park_tier(due_at[i] - now), queue);
        rc = lp_db_webhook_wake(s->db, queue, body, err);
        free(body);
        if (rc != 0)
            goto failed;
    }
    return lp_db_commit(s->db, err);

failed:
    lp_db_rollback(s->db);
    return -1;
}

void lp_webhook_sender_handle_batch(lp_webhook_sender *s, const lp_webhook_message *msgs, size_t n,
                                    lp_webhook_settle *out)
{
    int64_t *due_at = calloc(n ? n : 1, sizeof *due_at), now = lp_now_wall_ms();
    size_t wake = 0, later = 0;
    lp_error err;
    int rc = 0;

    lp_error_clear(&err);
    for (size_t i = 0; i < n; i++) {
        out[i] = LP_WEBHOOK_ACK;
        if (!due_at) {
            out[i] = LP_WEBHOOK_REQUEUE;
        } else if (lp_webhook_message_read(msgs[i].body, msgs[i].len, &due_at[i]) != 0) {
            LP_ERROR("webhooks", "dead-lettering an unreadable message of the webhooks queue");
            out[i] = LP_WEBHOOK_REJECT;
        } else if (lp_webhook_due(due_at[i] - now)) {
            wake++;
        } else {
            later++;
        }
    }
    if (!due_at || wake + later == 0)
        goto done;
    if (ensure_db(s, &err) != 0) {
        LP_ERROR("webhooks", "database unavailable: %s; handing %zu messages back", err.message, wake + later);
        rc = -1;
    } else if (later > 0 && park(s, msgs, due_at, n, &err) != 0) {
        LP_ERROR("webhooks", "parking %zu wake-ups: %s; handing the messages back", later, err.message);
        rc = -1;
    } else if (wake > 0 && send_due(s, &err) != 0) {
        LP_ERROR("webhooks", "sending the due deliveries: %s; handing the messages back", err.message);
        rc = -1;
    }
    lp_arena_reset(s->arena);
    for (size_t i = 0; rc != 0 && i < n; i++) {
        if (out[i] == LP_WEBHOOK_ACK)
            out[i] = LP_WEBHOOK_REQUEUE;
    }

done:
    free(due_at);
}
