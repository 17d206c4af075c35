/* Outbound webhook subscriptions and their delivery log (docs/WEBHOOKS.md):
 *
 *   POST   /api/v1/webhooks                      {url, events, active?, ordered?, description?} → 201 with secret
 *   GET    /api/v1/webhooks                      the team's subscriptions
 *   GET    /api/v1/webhooks/{id}
 *   PATCH  /api/v1/webhooks/{id}                 any of the create members
 *   DELETE /api/v1/webhooks/{id}                 → 204
 *   POST   /api/v1/webhooks/{id}/rotate-secret   → 200 with the new secret (the old one valid 24 h more)
 *   POST   /api/v1/webhooks/{id}/test            → 202: a webhook.test event for this subscription
 *   GET    /api/v1/webhooks/{id}/deliveries      newest first; ?status=pending|delivered|failed
 *   GET    /api/v1/webhooks/{id}/deliveries/{delivery_id}            with every attempt
 *   POST   /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver → 202
 *
 * All need the MANAGE role; another team's subscription is a 404. The
 * secret is shown by create and rotate-secret only. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "handlers_int.h"
#include "identity_int.h"
#include "respond_int.h"
#include "loupe/api/audit.h"
#include "loupe/api/input.h"
#include "loupe/core/util.h"
#include "loupe/crypto/webhook_sig.h"
#include "loupe/db/webhooks_sql.h"
#include "loupe/webhooks/subscription.h"

static json_t *webhook_json(lp_req *req, const void *row)
{
    const lp_webhook_row *w = row;
    (void)req;
    json_t *events = json_loads(w->events_json, 0, NULL);
    return json_pack("{s:s, s:s, s:o, s:b, s:b, s:s, s:s?, s:s?, s:s, s:s}", "id", w->id, "url", w->url, "events",
                     events ? events : json_array(), "active", w->active, "ordered", w->ordered, "description",
                     w->description, "disabled_reason", w->disabled_reason, "previous_secret_expires_at",
                     w->previous_secret_expires_at[0] ? w->previous_secret_expires_at : NULL, "created_at",
                     w->created_at, "updated_at", w->updated_at);
}

/* Reads the members of a create (required = 1) or an update into f; the
 * events pattern list becomes JSON text in the arena. */
static int read_fields(lp_req *req, json_t *body, int required, lp_webhook_fields *f)
{
    static const char *const members[] = {"url", "events", "active", "ordered", "description", NULL};
    int flags = required ? LP_IN_REQUIRED : LP_IN_OPTIONAL;
    json_t *events = NULL;
    lp_net_allowlist allow;
    lp_net_policy policy;
    lp_error perr;

    memset(f, 0, sizeof *f);
    f->active = f->ordered = -1;
    lp_in_only(req, body, NULL, members);
    lp_in_string(req, body, NULL, "url", flags, LP_WEBHOOK_URL_MAX, &f->url);
    lp_in_array(req, body, NULL, "events", flags, LP_WEBHOOK_PATTERNS_MAX, &events);
    lp_in_bool(req, body, NULL, "active", LP_IN_OPTIONAL, &f->active);
    lp_in_bool(req, body, NULL, "ordered", LP_IN_OPTIONAL, &f->ordered);
    lp_in_string(req, body, NULL, "description", LP_IN_OPTIONAL, LP_WEBHOOK_DESCRIPTION_MAX, &f->description);
    if (f->url) {
        lp_error_clear(&perr);
        if (lp_webhook_net_policy(req->svc->cfg, &allow, &policy, &perr) != 0)
            return lp_error_set(&req->err, LP_E_INTERNAL, "the net_allow setting is wrong: %s",
                                perr.nfields ? perr.fields[0].message : perr.message);
        lp_webhook_url_check(&policy, f->url, "url", &req->err);
    }
    if (events) {
        size_t i;
        json_t *v;
        if (json_array_size(events) == 0)
            lp_error_field(&req->err, LP_E_INVALID, "events", "must name at least one event type or pattern (e.g. "
                                                              "\"item.ready\", \"task.*\", \"*\")");
        json_array_foreach(events, i, v) {
            char field[32];
            snprintf(field, sizeof field, "events[%zu]", i);
            if (!json_is_string(v) || !lp_webhook_pattern_valid(json_string_value(v)))
                lp_error_field(&req->err, LP_E_INVALID, field,
                               "is not an event type or pattern (\"item.ready\", \"task.*\", \"*\"; see "
                               "docs/EVENTS.md)");
        }
        if (req->err.code == LP_OK) {
            char *text = json_dumps(events, JSON_COMPACT);
            f->events_json = text ? lp_arena_strdup(req->arena, text) : NULL;
            free(text);
            if (!f->events_json)
                return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        }
    }
    return req->err.code == LP_OK ? 0 : -1;
}

int lp_api_webhooks_create(lp_req *req)
{
    json_t *body = lp_req_json(req, 1);
    char secret[LP_WEBHOOK_SECRET_MAX];
    lp_webhook_fields f;
    lp_webhook_row w;
    lp_db *db;
    int rc = -1;

    if (!body || read_fields(req, body, 1, &f) != 0)
        return -1;
    if (lp_webhook_secret_new(secret, sizeof secret) != 0)
        return lp_error_set(&req->err, LP_E_INTERNAL, "cannot generate a secret (no randomness available)");
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        lp_db_webhook_create(db, req->arena, req->who.team_id, req->who.user_id[0] ? req->who.user_id : NULL, &f,
                             secret, req->svc->cfg->webhooks_max, &w, &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "webhook.create", "webhook", w.id,
                        json_pack("{s:s}", "url", w.url), &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_api_respond_secret(req, "/api/v1/webhooks", w.id, webhook_json(req, &w), secret);
}

int lp_api_webhooks_list(lp_req *req)
{
    lp_page page;
    lp_webhook_row *rows;
    size_t n;
    lp_db *db;
    int rc;

    if (lp_page_read_checked(req, &page, lp_api_uuid_cursor_ok) != 0 || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_webhook_list(db, req->arena, req->who.team_id, page.after_id, page.size + 1, &rows, &n, &req->err);
    lp_req_db_release(req);
    return rc != 0 ? -1
                   : lp_api_respond_id_keyset(req, "items", &page, rows, n, sizeof *rows, offsetof(lp_webhook_row, id),
                                              webhook_json);
}

int lp_api_webhooks_get(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "webhook");
    lp_webhook_row w;
    lp_db *db;
    int rc;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_webhook_get(db, req->arena, req->who.team_id, id, &w, &req->err);
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_json(req, 200, webhook_json(req, &w));
}

int lp_api_webhooks_update(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "webhook");
    json_t *body;
    lp_webhook_fields f;
    lp_webhook_row w;
    lp_db *db;
    int rc = -1;

    if (!id || !(body = lp_req_json(req, 1)) || read_fields(req, body, 0, &f) != 0 || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        lp_db_webhook_update(db, req->arena, req->who.team_id, id, &f, &w, &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "webhook.update", "webhook", id,
                        json_deep_copy(body), &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_json(req, 200, webhook_json(req, &w));
}

int lp_api_webhooks_delete(lp_req *req)
{
    return lp_api_respond_deleted(req, "webhook", "webhook", lp_db_webhook_delete);
}

int lp_api_webhooks_rotate_secret(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "webhook");
    char secret[LP_WEBHOOK_SECRET_MAX];
    lp_webhook_row w;
    lp_db *db;
    int rc = -1;

    if (!id)
        return -1;
    if (lp_webhook_secret_new(secret, sizeof secret) != 0)
        return lp_error_set(&req->err, LP_E_INTERNAL, "cannot generate a secret (no randomness available)");
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        lp_db_webhook_rotate(db, req->arena, req->who.team_id, id, secret, LP_WEBHOOK_ROTATION_GRACE_MS, &w,
                             &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "webhook.rotate_secret", "webhook", id, NULL,
                        &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_api_respond_secret(req, NULL, NULL, webhook_json(req, &w), secret);
}

int lp_api_webhooks_test(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "webhook");
    char delivery[LP_DB_UUID_LEN];
    lp_db *db;
    int rc = -1;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        lp_db_webhook_test_event(db, req->who.team_id, id, delivery, &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_json(req, 202, json_pack("{s:s, s:s}", "delivery_id", delivery, "status", "pending"));
}

static json_t *delivery_json(lp_req *req, const void *row)
{
    const lp_webhook_delivery_row *d = row;
    (void)req;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:s?, s:s?, s:s, s:s?}", "id", d->id, "event_id",
                          d->event_id, "event_type", d->event_type, "status", d->status, "attempts",
                          (json_int_t)d->attempts, "last_status_code",
                          d->last_status_code >= 0 ? json_integer(d->last_status_code) : json_null(), "last_error",
                          d->last_error, "next_attempt_at", d->next_attempt_at[0] ? d->next_attempt_at : NULL,
                          "created_at", d->created_at, "delivered_at",
                          d->delivered_at[0] ? d->delivered_at : NULL);
    if (o && d->attempts_json) {
        json_t *log = json_loads(d->attempts_json, 0, NULL);
        json_object_set_new(o, "attempt_log", log ? log : json_array());
    }
    return o;
}

int lp_api_webhook_deliveries_list(lp_req *req)
{
    static const char *const statuses[] = {"pending", "delivered", "failed", NULL};
    const char *id = lp_identity_uuid_param(req, "id", "webhook"), *status = lp_req_query(req, "status");
    lp_webhook_delivery_row *rows;
    lp_page page;
    size_t n;
    lp_db *db;
    int rc;

    if (!id || lp_page_read_checked(req, &page, lp_api_uuid_cursor_ok) != 0)
        return -1;
    if (status) {
        size_t k;
        for (k = 0; statuses[k] && strcmp(statuses[k], status) != 0; k++) {
        }
        if (!statuses[k])
            return lp_error_field(&req->err, LP_E_MALFORMED, "status", "must be pending, delivered or failed");
    }
    if (!(db = lp_req_db(req)))
        return -1;
    rc = lp_db_webhook_delivery_list(db, req->arena, req->who.team_id, id, status, page.after_id, page.size + 1,
                                     &rows, &n, &req->err);
    lp_req_db_release(req);
    return rc != 0 ? -1
                   : lp_api_respond_id_keyset(req, "items", &page, rows, n, sizeof *rows,
                                              offsetof(lp_webhook_delivery_row, id), delivery_json);
}

int lp_api_webhook_deliveries_get(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "webhook");
    const char *delivery = id ? lp_identity_uuid_param(req, "delivery_id", "delivery") : NULL;
    lp_webhook_delivery_row d;
    lp_db *db;
    int rc;

    if (!delivery || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_webhook_delivery_get(db, req->arena, req->who.team_id, id, delivery, &d, &req->err);
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_json(req, 200, delivery_json(req, &d));
}

int lp_api_webhook_deliveries_redeliver(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "webhook");
    const char *delivery = id ? lp_identity_uuid_param(req, "delivery_id", "delivery") : NULL;
    lp_db *db;
    int rc = -1;

    if (!delivery || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        lp_db_webhook_delivery_redeliver(db, req->who.team_id, id, delivery, &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "webhook.redeliver", "webhook_delivery", delivery,
                        NULL, &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_json(req, 202, json_pack("{s:s, s:s}", "delivery_id", delivery, "status", "pending"));
}
