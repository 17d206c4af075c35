/* workflow.enter: items entering a workflow by filter, too many for one
 * request (POST /api/v1/workflows/{id}/enter over LP_ITEMS_BULK_INLINE_MAX
 * items, or "mode": "job").
 *
 * payload  {"workflow_id", "filters", "requested_by"?}
 * result   {"workflow_id", "count"}
 *
 * Batches of LP_ITEMS_BULK_BATCH items, each in its own transaction: the
 * first items the filter selects that have no task yet enter (and are
 * routed) together, with progress after each batch, until a batch selects
 * fewer than LP_ITEMS_BULK_BATCH (no query for an empty last batch). A retried attempt goes
 * on where the last one stopped, since entered items have their task. The
 * audit row is written with the final count. */
#include <stdlib.h>
#include <string.h>

#include "../jobs_int.h"
#include "loupe/core/util.h"
#include "loupe/db/audit_sql.h"
#include "loupe/db/item_filter.h"
#include "loupe/db/workflows_sql.h"
#include "loupe/workflow/engine.h"

/* Reads the payload: workflow id and filter (team_id may be NULL when only
 * validating). 0 or -1 with field errors. */
static int read_payload(const json_t *payload, const char *team_id, lp_arena *a, const char **workflow_id,
                        lp_item_filter *f, lp_error *err)
{
    *workflow_id = json_string_value(json_object_get(payload, "workflow_id"));
    if (!*workflow_id || !lp_is_uuid(*workflow_id))
        lp_error_field(err, LP_E_INVALID, "workflow_id", "must be a workflow id (a UUID)");
    const json_t *filters = json_object_get(payload, "filters");
    if (!json_is_object(filters))
        return lp_error_field(err, LP_E_INVALID, "filters", "must be an item filter object");
    if (lp_item_filter_read(filters, LP_FILTER_JSON, team_id, a, f, err) != 0)
        return -1;
    return err->code == LP_OK ? 0 : -1;
}

int lp_job_workflow_enter_validate(const json_t *payload, const lp_config *cfg, lp_error *err)
{
    lp_arena *a = lp_arena_new(0, 0);
    const char *workflow_id;
    lp_item_filter f;
    int rc;

    (void)cfg;
    if (!a)
        return lp_error_set(err, LP_E_NOMEM, "out of memory validating a workflow.enter payload");
    rc = read_payload(payload, NULL, a, &workflow_id, &f, err);
    lp_arena_free(a);
    return rc;
}

/* One batch in its own transaction (the workflow read again, so that a new
 * version saved meanwhile routes the next batch). Returns tasks created;
 * *selected: the items the filter selected (below the batch size: none
 * are left). */
static int64_t run_batch(lp_job_ctx *ctx, const char *workflow_id, const lp_item_filter *f, const char *actor,
                         size_t *selected)
{
    lp_arena *a = lp_arena_new(0, 1024u * 1024 * 1024);
    lp_wf wf;
    int64_t n = -1;

    if (!a)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory entering items");
    if (lp_db_begin(ctx->db, &ctx->err) == 0 &&
        lp_wf_load(ctx->db, a, ctx->cfg, ctx->team_id, workflow_id, 1, &wf, &ctx->err) == 0)
        n = lp_wf_enter_filter(ctx->db, a, &wf, f, LP_ITEMS_BULK_BATCH, actor, selected, &ctx->err);
    if (n < 0 || lp_db_commit(ctx->db, &ctx->err) != 0) {
        lp_db_rollback(ctx->db);
        n = -1;
    }
    lp_arena_free(a);
    return n;
}

int lp_job_workflow_enter_run(lp_job_ctx *ctx)
{
    const json_t *by = json_object_get(ctx->payload, "requested_by");
    const char *actor = json_is_string(by) ? json_string_value(by) : NULL;
    const char *workflow_id;
    lp_item_filter f;
    int64_t total, done = 0, n;
    size_t selected = 0;

    if (!ctx->team_id || !*ctx->team_id)
        return lp_error_set(&ctx->err, LP_E_INVALID, "job %s: workflow.enter needs a team", ctx->id);
    if (read_payload(ctx->payload, ctx->team_id, ctx->arena, &workflow_id, &f, &ctx->err) != 0)
        return -1;
    total = lp_db_wf_items_count(ctx->db, &f, workflow_id, 0, &ctx->err);
    if (total < 0)
        return -1;
    do {
        if (lp_job_check(ctx) != 0)
            return -1;
        n = run_batch(ctx, workflow_id, &f, actor, &selected);
        if (n < 0)
            return -1;
        done += n;
        if (lp_job_progress(ctx, total > 0 ? (double)done / (double)total : 1.0) != 0)
            return -1;
    } while (selected == LP_ITEMS_BULK_BATCH); /* a short batch was the last */

    json_t *data = json_pack("{s:O, s:I, s:s}", "filters", json_object_get(ctx->payload, "filters"), "count",
                             (json_int_t)done, "job_id", ctx->id);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    int rc = text ? lp_db_audit_job(ctx->db, ctx->team_id, actor, "workflow.enter", "workflow", workflow_id, text,
                                    ctx->id, &ctx->err)
                  : lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory writing the audit record of job %s", ctx->id);
    free(text);
    if (rc != 0)
        return -1;
    lp_job_set_result(ctx, json_pack("{s:s, s:I}", "workflow_id", workflow_id, "count", (json_int_t)done));
    if (!ctx->result)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory building the result of job %s", ctx->id);
    return 0;
}
