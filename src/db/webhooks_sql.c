/* Statements about webhook subscriptions and deliveries. See
 * loupe/db/webhooks_sql.h and migrations/0011_webhooks.sql. */
#include "loupe/db/webhooks_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "loupe/core/buf.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"

#define WEBHOOK_COLUMNS                                                                                             \
    "id, url, to_jsonb(events)::text, active, ordered, description, disabled_reason, secret, "                     \
    "CASE WHEN previous_secret_expires_at > now() THEN previous_secret END, "                                      \
    "CASE WHEN previous_secret_expires_at > now() THEN " LP_SQL_TS("previous_secret_expires_at") " END, "          \
    LP_SQL_TS("created_at") ", " LP_SQL_TS("updated_at")

#define EVENTS_ARRAY(n) "ARRAY(SELECT jsonb_array_elements_text($" #n "::jsonb))"

static int read_webhook(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_webhook_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    out->url = lp_db_text(a, r, row, 1);
    out->events_json = lp_db_text(a, r, row, 2);
    out->active = lp_db_bool(r, row, 3);
    out->ordered = lp_db_bool(r, row, 4);
    out->description = lp_db_text(a, r, row, 5);
    out->disabled_reason = lp_db_text(a, r, row, 6);
    out->secret = lp_db_text(a, r, row, 7);
    out->previous_secret = lp_db_text(a, r, row, 8);
    lp_db_text_copy(out->previous_secret_expires_at, sizeof out->previous_secret_expires_at, r, row, 9);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 10);
    lp_db_text_copy(out->updated_at, sizeof out->updated_at, r, row, 11);
    if (!out->url || !out->events_json || !out->description || !out->secret)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading webhook %s", out->id);
    return 0;
}

static const char *flag(int v)
{
    return v < 0 ? NULL : v ? "true" : "false";
}

int lp_db_webhook_create(lp_db *db, lp_arena *a, const char *team_id, const char *user_id,
                         const lp_webhook_fields *f, const char *secret, int64_t max, lp_webhook_row *out,
                         lp_error *err)
{
    char lim[24];
    int64_t taken;
    const char *p[8] = {team_id, user_id, f->url, f->events_json, flag(f->active), flag(f->ordered),
                        f->description, secret};
    snprintf(lim, sizeof lim, "%lld", (long long)max);
    /* one creation per team at a time, so the count below holds */
    if (lp_db_exec(db, "SELECT pg_advisory_xact_lock(hashtext('loupe.webhooks.' || $1))", 1, p, err) < 0 ||
        (taken = lp_db_count(db, "SELECT count(*) FROM webhooks WHERE team_id = $1", 1, p, err)) < 0)
        return -1;
    if (taken >= max)
        return lp_error_set(err, LP_E_CONFLICT, "the team has %lld webhook subscriptions, the most allowed "
                                                "(webhooks_max); delete one first", (long long)taken);
    return lp_db_one_found(a,
                           lp_db_query(db,
                                       "INSERT INTO webhooks (team_id, created_by, url, events, active, ordered, "
                                       "description, secret) VALUES ($1, $2, $3, " EVENTS_ARRAY(4) ", "
                                       "coalesce($5::boolean, true), coalesce($6::boolean, false), coalesce($7, ''), $8) "
                                       "RETURNING " WEBHOOK_COLUMNS,
                                       8, p, err),
                           read_webhook, out, err, "webhook not created");
}

int lp_db_webhook_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_id, int64_t limit,
                       lp_webhook_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[3] = {team_id, after_id, lim};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " WEBHOOK_COLUMNS " FROM webhooks WHERE team_id = $1 "
                                  "AND ($2::uuid IS NULL OR id > $2::uuid) ORDER BY id LIMIT $3::bigint",
                                  3, p, err),
                      sizeof **out, read_webhook, "webhooks", n, err);
    return *out ? 0 : -1;
}

int lp_db_webhook_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_webhook_row *out,
                      lp_error *err)
{
    const char *p[2] = {team_id, id};
    if (!lp_is_uuid(id))
        return lp_error_set(err, LP_E_NOT_FOUND, "webhook %s not found", id);
    return lp_db_one_found(a,
                           lp_db_query(db, "SELECT " WEBHOOK_COLUMNS " FROM webhooks WHERE team_id = $1 AND id = $2",
                                       2, p, err),
                           read_webhook, out, err, "webhook %s not found", id);
}

int lp_db_webhook_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, const lp_webhook_fields *f,
                         lp_webhook_row *out, lp_error *err)
{
    const char *p[7] = {team_id, id, f->url, f->events_json, flag(f->active), flag(f->ordered), f->description};
    if (!lp_is_uuid(id))
        return lp_error_set(err, LP_E_NOT_FOUND, "webhook %s not found", id);
    /* a change of ordered is copied into the pending deliveries' held: the
     * lock (FOR UPDATE conflicts with the fan-out's FOR KEY SHARE) lets the
     * fan-outs under way commit first and makes the next ones wait */
    if (f->ordered >= 0 &&
        lp_db_exec(db, "SELECT 1 FROM webhooks WHERE team_id = $1 AND id = $2 FOR UPDATE", 2, p, err) < 0)
        return -1;
    if (lp_db_one_found(a,
                        lp_db_query(db,
                                    "UPDATE webhooks SET url = coalesce($3, url), "
                                    "events = CASE WHEN $4::jsonb IS NULL THEN events ELSE " EVENTS_ARRAY(4) " END, "
                                    "disabled_reason = CASE WHEN $5::boolean THEN NULL ELSE disabled_reason END, "
                                    "failing_since = CASE WHEN $5::boolean AND NOT active THEN NULL "
                                    "ELSE failing_since END, "
                                    "active = coalesce($5::boolean, active), ordered = coalesce($6::boolean, ordered), "
                                    "description = coalesce($7, description), updated_at = now() "
                                    "WHERE team_id = $1 AND id = $2 RETURNING " WEBHOOK_COLUMNS,
                                    7, p, err),
                        read_webhook, out, err, "webhook %s not found", id) != 0)
        return -1;
    if (f->ordered >= 0 &&
        lp_db_exec(db,
                   "UPDATE webhook_deliveries SET held = $3::boolean WHERE webhook_id = $2 AND status = 'pending' "
                   "AND held <> $3::boolean AND team_id = $1",
                   3, (const char *[3]){team_id, id, flag(out->ordered)}, err) < 0)
        return -1;
    if (!out->active || out->ordered)
        return 0;
    /* one wake-up for the pending deliveries an ordered or disabled
     * subscription held back */
    return lp_db_exec(db,
                      "INSERT INTO outbox (exchange, routing_key, body) "
                      "SELECT 'loupe.jobs', '" LP_WEBHOOK_QUEUE "', '{\"v\": 1}' WHERE EXISTS (SELECT 1 "
                      "FROM webhook_deliveries WHERE webhook_id = $2 AND status = 'pending' "
                      "AND next_attempt_at <= now() AND team_id = $1)",
                      2, p, err) < 0
               ? -1
               : 0;
}

int lp_db_webhook_delete(lp_db *db, const char *team_id, const char *id, lp_error *err)
{
    const char *p[2] = {team_id, id};
    if (!lp_is_uuid(id))
        return lp_error_set(err, LP_E_NOT_FOUND, "webhook %s not found", id);
    return lp_db_exec_found(db, "DELETE FROM webhooks WHERE team_id = $1 AND id = $2", 2, p, err,
                            "webhook %s not found", id);
}

int lp_db_webhook_rotate(lp_db *db, lp_arena *a, const char *team_id, const char *id, const char *secret,
                         int64_t grace_ms, lp_webhook_row *out, lp_error *err)
{
    char grace[24];
    snprintf(grace, sizeof grace, "%lld", (long long)grace_ms);
    const char *p[4] = {team_id, id, secret, grace};
    if (!lp_is_uuid(id))
        return lp_error_set(err, LP_E_NOT_FOUND, "webhook %s not found", id);
    return lp_db_one_found(a,
                           lp_db_query(db,
                                       "UPDATE webhooks SET previous_secret = secret, secret = $3, "
                                       "previous_secret_expires_at = now() + $4::bigint * interval '1 millisecond', "
                                       "updated_at = now() WHERE team_id = $1 AND id = $2 RETURNING " WEBHOOK_COLUMNS,
                                       4, p, err),
                           read_webhook, out, err, "webhook %s not found", id);
}

#define DELIVERY_COLUMNS                                                                                            \
    "d.id, d.event_id, d.event_type, d.status, d.attempts, d.last_status_code, d.last_error, "                     \
    "CASE WHEN d.status = 'pending' THEN " LP_SQL_TS("d.next_attempt_at") " END, " LP_SQL_TS("d.created_at") ", " \
    LP_SQL_TS("d.delivered_at")

static int read_delivery(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_webhook_delivery_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->event_id, sizeof out->event_id, r, row, 1);
    out->event_type = lp_db_text(a, r, row, 2);
    lp_db_text_copy(out->status, sizeof out->status, r, row, 3);
    out->attempts = lp_db_int_or(r, row, 4, 0);
    out->last_status_code = lp_db_int_or(r, row, 5, -1);
    out->last_error = lp_db_text(a, r, row, 6);
    lp_db_text_copy(out->next_attempt_at, sizeof out->next_attempt_at, r, row, 7);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 8);
    lp_db_text_copy(out->delivered_at, sizeof out->delivered_at, r, row, 9);
    out->attempts_json = PQnfields(r) > 10 ? lp_db_text(a, r, row, 10) : NULL;
    if (!out->event_type)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading delivery %s", out->id);
    return 0;
}

static int webhook_exists(lp_db *db, const char *team_id, const char *webhook_id, lp_error *err)
{
    const char *p[2] = {team_id, webhook_id};
    int64_t n;
    if (!lp_is_uuid(webhook_id))
        return lp_error_set(err, LP_E_NOT_FOUND, "webhook %s not found", webhook_id);
    n = lp_db_count(db, "SELECT count(*) FROM webhooks WHERE team_id = $1 AND id = $2", 2, p, err);
    if (n < 0)
        return -1;
    return n ? 0 : lp_error_set(err, LP_E_NOT_FOUND, "webhook %s not found", webhook_id);
}

int lp_db_webhook_delivery_list(lp_db *db, lp_arena *a, const char *team_id, const char *webhook_id,
                                const char *status, const char *before_id, int64_t limit,
                                lp_webhook_delivery_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[5] = {team_id, webhook_id, status, before_id, lim};
    *out = NULL;
    *n = 0;
    if (webhook_exists(db, team_id, webhook_id, err) != 0)
        return -1;
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " DELIVERY_COLUMNS " FROM webhook_deliveries d WHERE d.team_id = $1 "
                                  "AND d.webhook_id = $2 AND ($3::text IS NULL OR d.status = $3) "
                                  "AND ($4::uuid IS NULL OR d.id < $4::uuid) ORDER BY d.id DESC LIMIT $5::bigint",
                                  5, p, err),
                      sizeof **out, read_delivery, "deliveries", n, err);
    return *out ? 0 : -1;
}

int lp_db_webhook_delivery_get(lp_db *db, lp_arena *a, const char *team_id, const char *webhook_id,
                               const char *id, lp_webhook_delivery_row *out, lp_error *err)
{
    const char *p[3] = {team_id, webhook_id, id};
    if (!lp_is_uuid(webhook_id) || !lp_is_uuid(id))
        return lp_error_set(err, LP_E_NOT_FOUND, "delivery %s not found", id);
    return lp_db_one_found(
        a,
        lp_db_query(db,
                    "SELECT " DELIVERY_COLUMNS ", coalesce((SELECT jsonb_agg(jsonb_build_object("
                    "'n', t.n, 'started_at', " LP_SQL_TS("t.started_at") ", 'response_code', t.response_code, "
                    "'duration_ms', t.duration_ms, 'response_body', t.response_body, 'error', t.error) ORDER BY t.n) "
                    "FROM webhook_attempts t WHERE t.delivery_id = d.id), '[]')::text "
                    "FROM webhook_deliveries d WHERE d.team_id = $1 AND d.webhook_id = $2 AND d.id = $3",
                    3, p, err),
        read_delivery, out, err, "delivery %s not found", id);
}

int lp_db_webhook_delivery_redeliver(lp_db *db, const char *team_id, const char *webhook_id, const char *id,
                                     lp_error *err)
{
    const char *p[3] = {team_id, webhook_id, id};
    int64_t n;
    if (!lp_is_uuid(webhook_id) || !lp_is_uuid(id))
        return lp_error_set(err, LP_E_NOT_FOUND, "delivery %s not found", id);
    n = lp_db_exec(db,
                   /* held from the subscription as it is now: locked FOR KEY SHARE, so a change
                    * of ordered under way (FOR UPDATE) is waited for, or waits and sees this row */
                   "WITH w AS MATERIALIZED (SELECT id, ordered FROM webhooks WHERE team_id = $1 AND id = $2 "
                   "AND active FOR KEY SHARE), "
                   /* the row's status before (locked first, so no record changes it meanwhile),
                    * which leaves the totals */
                   "prev AS MATERIALIZED (SELECT status FROM webhook_deliveries WHERE team_id = $1 "
                   "AND webhook_id = $2 AND id = $3 FOR UPDATE), "
                   "d AS (UPDATE webhook_deliveries d SET status = 'pending', retry_base = d.attempts, "
                   "held = w.ordered, next_attempt_at = now(), updated_at = now() FROM w, prev "
                   "WHERE d.team_id = $1 AND d.webhook_id = $2 AND d.id = $3 AND w.id = d.webhook_id "
                   "RETURNING d.id, prev.status AS was), "
                   "t AS (INSERT INTO webhook_delivery_totals (delivered, failed) "
                   "SELECT -(was = 'delivered')::int, -(was = 'failed')::int FROM d WHERE was <> 'pending') "
                   "INSERT INTO outbox (exchange, routing_key, body) "
                   "SELECT 'loupe.jobs', '" LP_WEBHOOK_QUEUE "', '{\"v\": 1}' FROM d",
                   3, p, err);
    if (n < 0)
        return -1;
    if (n > 0)
        return 0;
    n = lp_db_count(db, "SELECT count(*) FROM webhook_deliveries WHERE team_id = $1 AND webhook_id = $2 AND id = $3",
                    3, p, err);
    if (n < 0)
        return -1;
    return n ? lp_error_set(err, LP_E_CONFLICT, "the webhook is disabled; activate it (PATCH active: true) first")
             : lp_error_set(err, LP_E_NOT_FOUND, "delivery %s not found", id);
}

int lp_db_webhook_test_event(lp_db *db, const char *team_id, const char *webhook_id,
                             char delivery_id[LP_DB_UUID_LEN], lp_error *err)
{
    const char *p[2] = {team_id, webhook_id};
    PGresult *r;
    int64_t active;
    delivery_id[0] = '\0';
    if (webhook_exists(db, team_id, webhook_id, err) != 0)
        return -1;
    active = lp_db_count(db, "SELECT count(*) FROM webhooks WHERE team_id = $1 AND id = $2 AND active", 2, p, err);
    if (active < 0)
        return -1;
    if (active == 0)
        return lp_error_set(err, LP_E_CONFLICT, "the webhook is disabled; activate it (PATCH active: true) first");
    r = lp_db_query(db,
                    "WITH e AS (INSERT INTO events (team_id, type, data) VALUES ($1, 'webhook.test', "
                    "jsonb_build_object('webhook_id', $2::uuid)) RETURNING id) SELECT id FROM e",
                    2, p, err);
    if (!r)
        return -1;
    {
        char event_id[LP_DB_UUID_LEN];
        const char *q[2] = {webhook_id, event_id};
        lp_db_text_copy(event_id, sizeof event_id, r, 0, 0);
        PQclear(r);
        /* still pending: this transaction made it */
        r = lp_db_query(db,
                        "SELECT id FROM webhook_deliveries WHERE webhook_id = $1 AND status = 'pending' "
                        "AND event_seq = (SELECT seq FROM events WHERE id = $2)",
                        2, q, err);
        if (!r)
            return -1;
        if (PQntuples(r) == 1)
            lp_db_text_copy(delivery_id, LP_DB_UUID_LEN, r, 0, 0);
        PQclear(r);
    }
    return delivery_id[0] ? 0 : lp_error_set(err, LP_E_INTERNAL, "the test event made no delivery");
}

/* ---- The sender ----------------------------------------------------------- */

static int read_claim(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_webhook_claim *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->webhook_id, sizeof out->webhook_id, r, row, 1);
    lp_db_text_copy(out->tid, sizeof out->tid, r, row, 2);
    out->attempts = (int)lp_db_int_or(r, row, 3, 0);
    out->retry_base = (int)lp_db_int_or(r, row, 4, 0);
    out->url = lp_db_text(a, r, row, 5);
    out->active = lp_db_bool(r, row, 6);
    out->ordered = lp_db_bool(r, row, 7);
    out->secret = lp_db_text(a, r, row, 8);
    out->previous_secret = lp_db_text(a, r, row, 9);
    out->body = lp_db_text(a, r, row, 10);
    out->traceparent = lp_db_text(a, r, row, 11);
    if (!out->url || !out->secret || !out->body)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading delivery %s", out->id);
    return 0;
}

/* What sending a delivery d (with its row address tid) of subscription w
 * needs; e: its event (see the claim). */
#define CLAIM_COLUMNS                                                                                                  \
    "d.id, d.webhook_id, d.tid, d.attempts, d.retry_base, w.url, w.active, w.ordered, w.secret, "                     \
    "CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END, e.body, e.traceparent "
#define CLAIM_DUE(d) d ".status = 'pending' AND " d ".next_attempt_at <= now() + $2::bigint * interval '1 millisecond' "
#define CLAIM_ROW(f) f ".ctid AS tid, " f ".id, " f ".webhook_id, " f ".event_id, " f ".attempts, " f ".retry_base "
/* The session advisory lock that marks a delivery as being sent (two keys:
 * a class of its own, and the delivery id's hash), taken only when cond
 * holds (a CASE: the planner orders plain conditions by their cost, and
 * would try the lock first). */
#define SENDING_LOCK "1464353355"
#define CLAIM_LOCK(f, cond) "CASE WHEN " cond "THEN pg_try_advisory_lock(" SENDING_LOCK ", uuid_hash(" f ".id)) END "

int lp_db_webhook_claim_due(lp_db *db, lp_arena *a, int64_t limit, int64_t slack_ms, lp_webhook_claim **out,
                            size_t *nout, lp_error *err)
{
    char lim[24], slack[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    snprintf(slack, sizeof slack, "%lld", (long long)slack_ms);
    const char *p[2] = {lim, slack};
    /* free: the rows alone, before anything is joined or built, in no
     * particular order: a scan of webhook_deliveries_due_idx (which holds no
     * held delivery) that stops at the limit whatever the planner thinks of
     * a table that has just grown; a row being sent by another session (its
     * sending lock taken) is passed over; FOR UPDATE (held only for this
     * statement) reads each row's latest version, so that a row recorded
     * meanwhile is not sent again. heads: webhook_deliveries_pending_idx,
     * the first pending row of each ordered subscription when it is due and
     * nobody sends it (its lock), so one sender at a time sends a
     * subscription's deliveries, in event order; held: then that row itself
     * by key, its latest version (FOR UPDATE waits for a record under way,
     * and sees whether it is still due). A lock taken for a row that is then
     * passed over stays with the session until the sender's rounds end
     * (lp_db_webhook_release); it only keeps other senders off that row.
     * e: the body built from the event ({"type", "timestamp", "data"}: the
     * text put together, the event's ids merged into data only when it has
     * any) and its trace, looked up by key, row by row, whatever the planner
     * thinks of the tables. */
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "WITH free AS (SELECT " CLAIM_ROW("f") "FROM webhook_deliveries f "
                                  "WHERE " CLAIM_DUE("f") "AND NOT f.held AND " CLAIM_LOCK("f", CLAIM_DUE("f") "AND NOT f.held ")
                                  "LIMIT $1::bigint FOR UPDATE OF f SKIP LOCKED), "
                                  "heads AS MATERIALIZED (SELECT d.webhook_id, d.id FROM webhooks w CROSS JOIN LATERAL "
                                  "(SELECT h.webhook_id, h.id, h.status, h.next_attempt_at FROM webhook_deliveries h "
                                  "WHERE h.webhook_id = w.id AND h.status = 'pending' ORDER BY h.event_seq LIMIT 1) d "
                                  "WHERE w.ordered AND " CLAIM_DUE("d") "AND " CLAIM_LOCK("d", CLAIM_DUE("d")) "), "
                                  "held AS (SELECT l.* FROM heads CROSS JOIN LATERAL (SELECT " CLAIM_ROW("f")
                                  "FROM webhook_deliveries f WHERE f.webhook_id = heads.webhook_id AND f.id = heads.id "
                                  "AND " CLAIM_DUE("f") "FOR UPDATE) l) "
                                  "SELECT " CLAIM_COLUMNS "FROM (SELECT * FROM free UNION ALL SELECT * FROM held) d "
                                  "JOIN webhooks w ON w.id = d.webhook_id "
                                  "LEFT JOIN LATERAL (SELECT '{\"type\":' || to_json(e.type)::text || ',\"timestamp\":\"' || "
                                  LP_SQL_TS("e.created_at") " || '\",\"data\":' || (CASE WHEN e.workflow_id IS NULL "
                                  "AND e.item_id IS NULL AND e.task_id IS NULL THEN e.data ELSE jsonb_strip_nulls("
                                  "jsonb_build_object('workflow_id', e.workflow_id, 'item_id', e.item_id, 'task_id', "
                                  "e.task_id)) || e.data END)::text || '}' AS body, e.traceparent "
                                  "FROM events e WHERE e.id = d.event_id) e ON true",
                                  2, p, err),
                      sizeof **out, read_claim, "deliveries", nout, err);
    return *out ? 0 : -1;
}

int lp_db_webhook_release(lp_db *db, lp_error *err)
{
    return lp_db_exec(db, "SELECT pg_advisory_unlock_all()", 0, NULL, err) < 0 ? -1 : 0;
}

/* Appends s as a JSON string (or null when NULL) to b. 0, or not 0 when out
 * of memory. */
static int put_json_str(lp_buf *b, const char *s)
{
    char stack[1024], *tmp = stack;
    size_t need;
    int rc;
    if (!s)
        return lp_buf_puts(b, "null");
    need = lp_json_escape(NULL, 0, s) + 1;
    if (need > sizeof stack && !(tmp = malloc(need)))
        return -1;
    lp_json_escape(tmp, need, s);
    rc = lp_buf_printf(b, "\"%s\"", tmp);
    if (tmp != stack)
        free(tmp);
    return rc;
}

int lp_db_webhook_record_many(lp_db *db, const lp_webhook_attempt *ats, size_t n, lp_error *err)
{
    static const char *const outcomes[] = {"delivered", "retry", "failed", "gone", "abandoned"};
    char disable[24];
    lp_buf rows, ids;
    int rc = -1;

    if (n == 0)
        return 0;
    /* the attempts as a JSON array (put together here: jansson's objects
     * cost more than the statement's share) */
    lp_buf_init(&rows, n * 16384 + 2); /* an escaped 2 KiB excerpt and error fit in 16 KiB */
    lp_buf_init(&ids, n * (LP_WEBHOOK_TID_LEN + 2) + 2);
    for (size_t i = 0; i < n; i++) {
        const lp_webhook_attempt *at = &ats[i];
        if (lp_buf_printf(&rows, "%c{\"id\":\"%s\",\"webhook_id\":\"%s\",\"tid\":\"%s\",\"n\":%d,\"started\":%lld,"
                                 "\"code\":",
                          i ? ',' : '[', at->c->id, at->c->webhook_id, at->c->tid, at->n,
                          (long long)at->started_wall_ms) != 0 ||
            (at->response_code ? lp_buf_printf(&rows, "%ld", at->response_code) : lp_buf_puts(&rows, "null")) != 0 ||
            lp_buf_printf(&rows, ",\"duration\":%lld,\"body\":", (long long)at->duration_ms) != 0 ||
            put_json_str(&rows, at->response_body) != 0 || lp_buf_puts(&rows, ",\"error\":") != 0 ||
            put_json_str(&rows, at->error) != 0 ||
            lp_buf_printf(&rows, ",\"outcome\":\"%s\",\"delay\":%lld,\"queue\":", outcomes[at->outcome],
                          (long long)at->delay_ms) != 0 ||
            put_json_str(&rows, at->retry_queue) != 0 || lp_buf_puts(&rows, "}") != 0)
            goto nomem;
    }
    if (lp_buf_puts(&rows, "]") != 0)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        if (lp_buf_printf(&ids, "%c\"%s\"", i ? ',' : '{', ats[i].c->tid) != 0)
            goto nomem;
    }
    if (lp_buf_puts(&ids, "}") != 0)
        goto nomem;
    snprintf(disable, sizeof disable, "%lld", (long long)ats[0].disable_after_ms);
    const char *p[4] = {rows.data, disable, ats[0].disable_reason, ids.data};
    if (lp_db_exec(db,
                   "WITH a AS (SELECT * FROM json_to_recordset($1::json) AS x(id uuid, webhook_id uuid, tid tid, n integer, "
                   "started bigint, code integer, duration integer, body text, error text, outcome text, delay bigint, "
                   "queue text)), "
                   "d AS (UPDATE webhook_deliveries wd SET attempts = a.n, "
                   "status = CASE a.outcome WHEN 'delivered' THEN 'delivered' WHEN 'retry' THEN 'pending' "
                   "ELSE 'failed' END, "
                   "next_attempt_at = CASE WHEN a.outcome = 'retry' "
                   "THEN clock_timestamp() + a.delay * interval '1 millisecond' ELSE wd.next_attempt_at END, "
                   "last_status_code = CASE WHEN a.outcome = 'abandoned' THEN wd.last_status_code ELSE a.code END, "
                   "last_error = a.error, updated_at = now(), "
                   "delivered_at = CASE WHEN a.outcome = 'delivered' THEN now() END FROM a "
                   /* the rows by their addresses (unchanged since the claim unless a
                    * redelivery or a change of ordered rewrote the row meanwhile: its outcome
                    * is then not recorded, and the row is sent again), again as an array:
                    * the planner then fetches them directly (it cannot count the rows of a,
                    * and would scan the table) */
                   "WHERE wd.ctid = a.tid AND wd.id = a.id AND wd.ctid = ANY ($4::tid[]) RETURNING wd.id), "
                   /* what is recorded: the attempts of rows that still exist (a deleted
                    * subscription's are gone with it) */
                   "r AS (SELECT a.* FROM a JOIN d ON d.id = a.id), "
                   /* the rows that were pending and are now delivered or failed, into the totals */
                   "t AS (INSERT INTO webhook_delivery_totals (delivered, failed) "
                   "SELECT count(*) FILTER (WHERE outcome = 'delivered'), "
                   "count(*) FILTER (WHERE outcome NOT IN ('delivered', 'retry')) FROM r "
                   "HAVING count(*) FILTER (WHERE outcome <> 'retry') > 0), "
                   "ins AS (INSERT INTO webhook_attempts (delivery_id, n, started_at, response_code, duration_ms, "
                   "response_body, error) SELECT id, n, to_timestamp(started / 1000.0), code, duration, body, error "
                   "FROM r WHERE outcome <> 'abandoned'), "
                   /* one wake-up per retry queue and 250 ms of due time, when the last of them is due */
                   "o AS (INSERT INTO outbox (exchange, routing_key, body) "
                   "SELECT '', q.queue, jsonb_build_object('v', 1, 'due_at', max(q.due_at)) "
                   "FROM (SELECT queue, (extract(epoch FROM clock_timestamp()) * 1000)::bigint + delay AS due_at FROM r "
                   "WHERE outcome = 'retry') q GROUP BY q.queue, q.due_at / 250), "
                   "s AS (SELECT webhook_id, bool_or(outcome = 'delivered') AS ok, bool_or(outcome = 'gone') AS gone "
                   "FROM r WHERE outcome <> 'abandoned' GROUP BY webhook_id), "
                   "w AS (UPDATE webhooks w SET "
                   "failing_since = CASE WHEN s.ok THEN NULL ELSE coalesce(w.failing_since, now()) END, "
                   "active = w.active AND NOT s.gone AND (s.ok "
                   "OR coalesce(w.failing_since, now()) > now() - $2::bigint * interval '1 millisecond'), "
                   "disabled_reason = CASE WHEN s.gone THEN 'the receiver answered 410 Gone' "
                   "WHEN NOT s.ok AND coalesce(w.failing_since, now()) <= now() - $2::bigint * interval "
                   "'1 millisecond' THEN $3 ELSE w.disabled_reason END, updated_at = now() "
                   "FROM s WHERE w.id = s.webhook_id AND (NOT s.ok OR s.gone OR w.failing_since IS NOT NULL)) "
                   /* then (d has run to its end: the rows are locked by this statement
                    * until it commits) the sending locks of the claim go */
                   "SELECT count(pg_advisory_unlock(" SENDING_LOCK ", uuid_hash(a.id))) FROM a "
                   "WHERE (SELECT count(*) FROM d) >= 0",
                   4, p, err) >= 0)
        rc = 0;
    goto cleanup;

nomem:
    lp_error_set(err, LP_E_NOMEM, "out of memory recording %zu attempts", n);
cleanup:
    lp_buf_free(&ids);
    lp_buf_free(&rows);
    return rc;
}

int lp_db_webhook_wake(lp_db *db, const char *queue, const char *body, lp_error *err)
{
    const char *p[2] = {queue, body};
    return lp_db_exec(db, "INSERT INTO outbox (exchange, routing_key, body) VALUES ('', $1, $2::jsonb)", 2, p, err) <
                   0
               ? -1
               : 0;
}
