/* tasks.bulk: a bulk action on tasks by filter that is too large for one
 * request (POST /api/v1/tasks/bulk over LP_TASKS_BULK_INLINE_MAX tasks, or
 * "mode": "job").
 *
 * payload  {"filters", "action", "stage"?, "state"?, "user_id"?,
 *          "requested_by"?}, checked against the workflow's graph by the
 *          request that made it (loupe/db/task_filter.h)
 * result   {"action", "count"}
 *
 * The tasks are visited in id order in batches of LP_TASKS_BULK_BATCH, one
 * set-based statement and one transaction per batch, with progress recorded
 * after each. Every action is idempotent (tasks already as asked are left
 * alone), so a retried attempt simply starts again. The audit row is written
 * with the final count when the last batch is done, once per job (a retried
 * attempt does not write it again). */
#include <stdlib.h>
#include <string.h>

#include "../jobs_int.h"
#include "loupe/db/audit_sql.h"
#include "loupe/db/task_filter.h"

int lp_job_tasks_bulk_validate(const json_t *payload, const lp_config *cfg, lp_error *err)
{
    lp_arena *a = lp_arena_new(0, 0);
    lp_task_filter f;
    lp_tasks_change c;
    int rc;

    (void)cfg;
    if (!a)
        return lp_error_set(err, LP_E_NOMEM, "out of memory validating a tasks.bulk payload");
    rc = lp_tasks_bulk_read_payload(payload, NULL, a, &f, &c, err);
    lp_arena_free(a);
    return rc;
}

/* One batch in its own transaction. Returns tasks selected, or -1. */
static int64_t run_batch(lp_job_ctx *ctx, const lp_task_filter *f, const lp_tasks_change *c, char cursor[37])
{
    int64_t n;
    if (lp_db_begin(ctx->db, &ctx->err) != 0)
        return -1;
    n = lp_db_tasks_apply(ctx->db, f, c, cursor, LP_TASKS_BULK_BATCH, &ctx->err);
    if (n < 0 || lp_db_commit(ctx->db, &ctx->err) != 0) {
        lp_db_rollback(ctx->db);
        return -1;
    }
    return n;
}

static int write_audit(lp_job_ctx *ctx, const lp_task_filter *f, const lp_tasks_change *c, int64_t count)
{
    json_t *data = json_pack("{s:s, s:O, s:I, s:s}", "action", lp_tasks_op_name(c->op), "filters",
                             json_object_get(ctx->payload, "filters"), "count", (json_int_t)count, "job_id", ctx->id);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    int rc = -1;

    if (!text)
        lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory writing the audit record of job %s", ctx->id);
    else
        rc = lp_db_audit_job(ctx->db, ctx->team_id, c->actor_id, "tasks.bulk", "workflow", f->workflow_id, text,
                             ctx->id, &ctx->err);
    free(text);
    json_decref(data);
    return rc;
}

int lp_job_tasks_bulk_run(lp_job_ctx *ctx)
{
    lp_task_filter f;
    lp_tasks_change c;
    char cursor[37] = "";
    int64_t total, done = 0, n;

    if (!ctx->team_id || !*ctx->team_id)
        return lp_error_set(&ctx->err, LP_E_INVALID, "job %s: tasks.bulk needs a team", ctx->id);
    if (lp_tasks_bulk_read_payload(ctx->payload, ctx->team_id, ctx->arena, &f, &c, &ctx->err) != 0)
        return -1;
    total = lp_db_tasks_count(ctx->db, &f, 0, &ctx->err);
    if (total < 0)
        return -1;
    do {
        if (lp_job_check(ctx) != 0)
            return -1;
        n = run_batch(ctx, &f, &c, cursor);
        if (n < 0)
            return -1;
        done += n;
        if (lp_job_progress(ctx, total > 0 ? (double)done / (double)total : 1.0) != 0)
            return -1;
    } while (n == LP_TASKS_BULK_BATCH);

    if (write_audit(ctx, &f, &c, done) != 0)
        return -1;
    lp_job_set_result(ctx, json_pack("{s:s, s:I}", "action", lp_tasks_op_name(c.op), "count", (json_int_t)done));
    if (!ctx->result)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory building the result of job %s", ctx->id);
    return 0;
}
