/* items.bulk: a bulk action on items by filter that is too large for one
 * request (POST /api/v1/items/move|copy|delete|update over
 * LP_ITEMS_BULK_INLINE_MAX items, or "mode": "job"), and the deletion of a
 * deleted dataset's contents.
 *
 * payload  the bulk body ({"filters", "target_dataset_id"?, "priority"?,
 *          "metadata"?}) plus "action" and "requested_by" — see
 *          loupe/db/item_filter.h
 * result   {"action", "count"}
 *
 * The items are visited in (created_at, id) order in batches of
 * LP_ITEMS_BULK_BATCH, one set-based statement and one transaction per batch,
 * with progress recorded after each. A retried attempt starts again from the
 * beginning: move, delete and update are idempotent that way; copy is not, so
 * copies are enqueued with a single attempt. The audit row is written with the
 * final count when the last batch is done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../jobs_int.h"
#include "loupe/db/audit_sql.h"
#include "loupe/db/item_filter.h"

int lp_job_items_bulk_validate(const json_t *payload, const lp_config *cfg, lp_error *err)
{
    lp_arena *a = lp_arena_new(0, 0);
    lp_items_bulk b;
    int rc;

    (void)cfg;
    if (!a)
        return lp_error_set(err, LP_E_NOMEM, "out of memory validating an items.bulk payload");
    rc = lp_items_bulk_read_payload(payload, NULL, a, &b, err);
    lp_arena_free(a);
    return rc;
}

/* One batch in its own transaction. Returns items selected, or -1. */
static int64_t run_batch(lp_job_ctx *ctx, const lp_items_bulk *b, lp_items_cursor *cursor)
{
    int64_t n;
    if (lp_db_begin(ctx->db, &ctx->err) != 0)
        return -1;
    n = lp_db_items_apply(ctx->db, &b->filter, &b->change, cursor, LP_ITEMS_BULK_BATCH, &ctx->err);
    if (n < 0 || lp_db_commit(ctx->db, &ctx->err) != 0) {
        lp_db_rollback(ctx->db);
        return -1;
    }
    return n;
}

static int write_audit(lp_job_ctx *ctx, const lp_items_bulk *b, int64_t count)
{
    const json_t *by = json_object_get(ctx->payload, "requested_by");
    json_t *data = lp_items_bulk_audit_data(ctx->payload, count, ctx->id);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    char action[32];
    int rc = -1;

    snprintf(action, sizeof action, "items.%s", lp_items_op_name(b->change.op));
    if (!text)
        lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory writing the audit record of job %s", ctx->id);
    else
        rc = lp_db_audit_job(ctx->db, ctx->team_id, json_is_string(by) ? json_string_value(by) : NULL, action,
                             "dataset", b->filter.dataset_id, text, ctx->id, &ctx->err);
    free(text);
    json_decref(data);
    return rc;
}

int lp_job_items_bulk_run(lp_job_ctx *ctx)
{
    lp_items_bulk b;
    lp_items_cursor cursor;
    int64_t total, done = 0, n;

    if (!ctx->team_id || !*ctx->team_id)
        return lp_error_set(&ctx->err, LP_E_INVALID, "job %s: items.bulk needs a team", ctx->id);
    if (lp_items_bulk_read_payload(ctx->payload, ctx->team_id, ctx->arena, &b, &ctx->err) != 0)
        return -1;
    total = lp_db_items_count(ctx->db, &b.filter, 0, &ctx->err);
    if (total < 0)
        return -1;
    memset(&cursor, 0, sizeof cursor);
    do {
        if (lp_job_check(ctx) != 0)
            return -1;
        n = run_batch(ctx, &b, &cursor);
        if (n < 0)
            return -1;
        done += n;
        if (lp_job_progress(ctx, total > 0 ? (double)done / (double)total : 1.0) != 0)
            return -1;
    } while (n == LP_ITEMS_BULK_BATCH);

    if (write_audit(ctx, &b, done) != 0)
        return -1;
    lp_job_set_result(ctx, json_pack("{s:s, s:I}", "action", lp_items_op_name(b.change.op), "count",
                                     (json_int_t)done));
    if (!ctx->result)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory building the result of job %s", ctx->id);
    return 0;
}
