/* Bulk actions on items by filter (MANAGE):
 *   POST /api/v1/items/move    {"filters", "target_dataset_id"}
 *   POST /api/v1/items/copy    {"filters", "target_dataset_id"}  items, slots, annotations
 *   POST /api/v1/items/delete  {"filters"}
 *   POST /api/v1/items/update  {"filters", "priority"?, "metadata"?}
 * plus "mode": "auto" (default) or "job".
 *
 * At most LP_ITEMS_BULK_INLINE_MAX items: one set-based statement inside the
 * request → 200 {"count"}. More, or "mode": "job": an items.bulk job that
 * works in batches with progress → 202 {"job"}. Moves and copies check first
 * that no selected item collides by path and name with an item of the target
 * (409 listing the first collisions; nothing is changed). */
#include <string.h>

#include "identity_int.h"
#include "items_int.h"
#include "handlers_int.h"
#include "loupe/jobs/enqueue.h"

/* Collisions shown in a 409. */
#define CONFLICTS_SHOWN 10

int lp_api_enqueue_job(lp_req *req, lp_db *db, const char *kind, json_t *payload, int max_attempts,
                       char job_id[37])
{
    lp_job_spec spec;
    int rc;

    if (!payload)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory creating a %s job", kind);
    memset(&spec, 0, sizeof spec);
    spec.kind = kind;
    spec.team_id = req->who.team_id;
    spec.created_by = req->who.user_id[0] ? req->who.user_id : NULL;
    spec.payload = payload;
    spec.max_attempts = max_attempts;
    rc = lp_jobs_enqueue(db, req->svc->cfg, &spec, job_id, &req->err);
    json_decref(payload);
    return rc;
}

int lp_api_items_bulk_enqueue(lp_req *req, lp_db *db, const json_t *body, lp_items_op op, char job_id[37])
{
    return lp_api_enqueue_job(req, db, "items.bulk",
                              lp_items_bulk_payload(body, op, req->who.user_id[0] ? req->who.user_id : NULL),
                              op == LP_ITEMS_COPY ? 1 : 0, job_id);
}

int lp_api_respond_job(lp_req *req, const char *job_id)
{
    return lp_api_respond_job_of(req, "items.bulk", job_id);
}

int lp_api_respond_job_of(lp_req *req, const char *kind, const char *job_id)
{
    const char *url = lp_arena_printf(req->arena, "/api/v1/jobs/%s", job_id);
    if (!url || lp_res_header(req, "Location", url) != 0)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory answering with job %s", job_id);
    return lp_res_json(req, 202,
                       json_pack("{s:{s:s, s:s, s:s, s:s}}", "job", "id", job_id, "kind", kind, "status",
                                 "queued", "url", url));
}

/* 409 naming the first collisions. Returns -1. */
static int conflict(lp_req *req, const lp_item_conflict *c, size_t n, const char *target)
{
    lp_error_set(&req->err, LP_E_CONFLICT, "%s selected item%s would collide by path and name with items of "
                 "dataset %s", n >= CONFLICTS_SHOWN ? "some" : n == 1 ? "one" : "several", n == 1 ? "" : "s", target);
    for (size_t k = 0; k < n; k++)
        lp_error_field(&req->err, LP_E_CONFLICT, "target_dataset_id", "\"%s%s%s\" already exists there",
                       strcmp(c[k].path, "/") == 0 ? "" : c[k].path, "/", c[k].name);
    return lp_error_hint(&req->err, "rename or exclude those items (for example with a narrower filter), "
                                    "or choose another target dataset");
}

static int bulk(lp_req *req, lp_items_op op)
{
    json_t *body = lp_req_json(req, 1);
    lp_items_bulk b;
    lp_dataset_row ds;
    lp_item_conflict *conflicts;
    size_t nconflicts = 0;
    char job_id[37];
    int64_t count = 0;
    int as_job = 0, rc = -1;
    lp_db *db;
    char action[32];

    if (!body || lp_items_bulk_read(body, op, req->who.team_id, req->arena, &b, &req->err) != 0)
        return -1;
    if (!(db = lp_req_db(req)))
        return -1;
    if (b.filter.dataset_id && lp_db_dataset_get(db, req->arena, req->who.team_id, b.filter.dataset_id, &ds,
                                                 &req->err) != 0) {
        lp_error_field(&req->err, LP_E_NOT_FOUND, "filters.dataset_id", "no such dataset");
        goto cleanup;
    }
    if (b.change.target_dataset_id && lp_db_dataset_get(db, req->arena, req->who.team_id,
                                                        b.change.target_dataset_id, &ds, &req->err) != 0) {
        lp_error_field(&req->err, LP_E_NOT_FOUND, "target_dataset_id", "no such dataset");
        goto cleanup;
    }
    if (lp_db_begin(db, &req->err) != 0)
        goto cleanup;
    if (b.change.target_dataset_id) {
        if (lp_db_items_conflicts(db, req->arena, &b.filter, op, b.change.target_dataset_id, CONFLICTS_SHOWN,
                                  &conflicts, &nconflicts, &req->err) != 0)
            goto cleanup;
        if (nconflicts > 0) {
            conflict(req, conflicts, nconflicts, b.change.target_dataset_id);
            goto cleanup;
        }
    }
    as_job = b.force_job;
    if (!as_job) {
        count = lp_db_items_count(db, &b.filter, LP_ITEMS_BULK_INLINE_MAX + 1, &req->err);
        if (count < 0)
            goto cleanup;
        as_job = count > LP_ITEMS_BULK_INLINE_MAX;
    }
    if (as_job) {
        /* The job writes the audit row with its final count. */
        if (lp_api_items_bulk_enqueue(req, db, body, op, job_id) != 0)
            goto cleanup;
    } else {
        count = lp_db_items_apply(db, &b.filter, &b.change, NULL, 0, &req->err);
        snprintf(action, sizeof action, "items.%s", lp_items_op_name(op));
        if (count < 0 || lp_audit_record(db, req->who.team_id, req->who.user_id, action, "dataset",
                                           b.filter.dataset_id, lp_items_bulk_audit_data(body, count, NULL),
                                           &req->err) != 0)
            goto cleanup;
    }
    rc = lp_db_commit(db, &req->err);
cleanup:
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    if (as_job)
        return lp_api_respond_job(req, job_id);
    return lp_res_json(req, 200, json_pack("{s:I}", "count", (json_int_t)count));
}

int lp_api_items_move(lp_req *req)
{
    return bulk(req, LP_ITEMS_MOVE);
}

int lp_api_items_copy(lp_req *req)
{
    return bulk(req, LP_ITEMS_COPY);
}

int lp_api_items_bulk_delete(lp_req *req)
{
    return bulk(req, LP_ITEMS_DELETE);
}

int lp_api_items_bulk_update(lp_req *req)
{
    return bulk(req, LP_ITEMS_UPDATE);
}
