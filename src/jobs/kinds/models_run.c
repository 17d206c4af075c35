/* models.run (queue cpu) and models.run.gpu (queue gpu): a batch run of a
 * registered model over the items a filter selects (POST
 * /api/v1/models/{id}/runs), its predictions stored apart from annotations.
 *
 * payload  {"model_id", "filters": {…item filter…}, "slot"?, "requested_by"?}
 * result   {"model_id", "items", "skipped", "predictions"}
 *
 * The items are read in creation order, model_run_batch at a time; each
 * item's slot (the named one, else its first image slot) is run through the
 * model (loupe/jobs/model_infer.h) and the batch's predictions are stored
 * with one statement. A prediction is keyed by (run, item, slot, ordinal),
 * so an attempt that runs again after a worker died stores nothing twice.
 * Items without a ready image slot are skipped and counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../jobs_int.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/item_filter.h"
#include "loupe/db/predictions_sql.h"
#include "loupe/jobs/model_infer.h"

static const char *const MEMBERS[] = {"model_id", "filters", "slot", "requested_by", NULL};

int lp_job_models_run_validate(const json_t *payload, const lp_config *cfg, lp_error *err)
{
    lp_arena *a = lp_arena_new(0, 0);
    const json_t *filters = json_object_get(payload, "filters"), *slot = json_object_get(payload, "slot");
    const char *key;
    json_t *v;
    lp_item_filter f;
    int rc = 0;

    (void)cfg;
    if (!a)
        return lp_error_set(err, LP_E_NOMEM, "out of memory validating a models.run payload");
    if (!lp_is_uuid(json_string_value(json_object_get(payload, "model_id"))))
        rc = lp_error_field(err, LP_E_INVALID, "model_id", "is required and must be a UUID");
    if (!json_is_object(filters))
        rc = lp_error_field(err, LP_E_INVALID, "filters", "is required and must be an object");
    else if (lp_item_filter_read(filters, LP_FILTER_JSON, NULL, a, &f, err) != 0)
        rc = -1;
    if (slot && (!json_is_string(slot) || json_string_length(slot) == 0))
        rc = lp_error_field(err, LP_E_INVALID, "slot", "must be a slot name");
    json_object_foreach((json_t *)payload, key, v) {
        int known = 0;
        for (size_t i = 0; MEMBERS[i]; i++)
            known |= strcmp(MEMBERS[i], key) == 0;
        if (!known)
            rc = lp_error_field(err, LP_E_INVALID, key, "is not a member of a models.run payload "
                                                        "(model_id, filters, slot, requested_by)");
    }
    lp_arena_free(a);
    return rc ? -1 : 0;
}

/* The slot of item to run on: the named one, else its first image slot; NULL when not ready. */
static const lp_slot_row *pick_slot(const lp_item_row *item, const char *name)
{
    for (size_t i = 0; i < item->nslots; i++) {
        const lp_slot_row *s = &item->slots[i];
        if (name ? strcmp(s->name, name) == 0 : strcmp(s->type, "image") == 0)
            return strcmp(s->status, "ready") == 0 ? s : NULL;
    }
    return NULL;
}

typedef struct run_totals {
    int64_t items, skipped, predictions;
} run_totals;

/* Runs the model on one page of items and stores their predictions. */
static int run_page(lp_job_ctx *ctx, lp_model_loaded *m, const char *slot_name, lp_item_row *rows, size_t n,
                    run_totals *t)
{
    json_t *preds = json_array();
    char *text = NULL;
    int rc = -1;

    if (!preds)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory running job %s", ctx->id);
    for (size_t i = 0; i < n; i++) {
        const lp_slot_row *slot = pick_slot(&rows[i], slot_name);
        lp_model_det *dets;
        size_t k;
        if (lp_job_check(ctx) != 0)
            goto done;
        t->items++;
        if (!slot) {
            t->skipped++;
            continue;
        }
        if (lp_model_infer_slot(ctx->cfg, m, slot, ctx->arena, ctx->deadline_ms, &dets, &k, &ctx->err) != 0) {
            if (ctx->err.code != LP_E_INVALID && ctx->err.code != LP_E_TOO_LARGE && ctx->err.code != LP_E_MEDIA_TYPE)
                goto done;
            LP_WARN("models", "job %s: item %s skipped: %s", ctx->id, rows[i].id, ctx->err.message);
            lp_error_clear(&ctx->err);
            t->skipped++;
            continue;
        }
        for (size_t j = 0; j < k; j++) {
            json_t *p = lp_model_infer_det_json(m, rows[i].id, slot->name, (int)j, &dets[j]);
            if (!p || json_array_append_new(preds, p) != 0) {
                lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory running job %s", ctx->id);
                goto done;
            }
        }
    }
    if (json_array_size(preds) > 0) {
        int64_t stored;
        if (!(text = json_dumps(preds, JSON_COMPACT))) {
            lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory running job %s", ctx->id);
            goto done;
        }
        stored = lp_db_predictions_insert(ctx->db, ctx->team_id, json_string_value(json_object_get(ctx->payload,
                                                                                                   "model_id")),
                                          ctx->id, text, &ctx->err);
        if (stored < 0)
            goto done;
        t->predictions += stored;
    }
    rc = 0;

done:
    free(text);
    json_decref(preds);
    return rc;
}

int lp_job_models_run_run(lp_job_ctx *ctx)
{
    const char *model_id, *slot_name, *after_key = NULL, *after_id = NULL;
    lp_model_loaded *m;
    lp_item_filter f;
    run_totals t = {0, 0, 0};
    int64_t total;
    char last_key[LP_DB_TIME_LEN], last_id[LP_DB_UUID_LEN];

    if (!ctx->team_id)
        return lp_error_set(&ctx->err, LP_E_INVALID, "job %s: models.run needs a team", ctx->id);
    if (lp_job_models_run_validate(ctx->payload, ctx->cfg, &ctx->err) != 0 ||
        lp_item_filter_read(json_object_get(ctx->payload, "filters"), LP_FILTER_JSON, ctx->team_id, ctx->arena, &f,
                            &ctx->err) != 0)
        return -1;
    model_id = json_string_value(json_object_get(ctx->payload, "model_id"));
    slot_name = json_string_value(json_object_get(ctx->payload, "slot"));
    if (lp_model_infer_load(ctx->db, ctx->cfg, ctx->team_id, model_id, &m, &ctx->err) != 0 ||
        (total = lp_db_items_count(ctx->db, &f, 0, &ctx->err)) < 0)
        return -1;
    for (;;) {
        lp_arena *page = lp_arena_new(0, 0);
        lp_item_row *rows = NULL;
        size_t n = 0;
        int rc = page ? 0 : lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory running job %s", ctx->id);
        if (rc == 0)
            rc = lp_db_items_list(ctx->db, page, &f, LP_ITEM_SORT_CREATED, after_key, after_id,
                                  ctx->cfg->model_run_batch, &rows, &n, &ctx->err);
        if (rc == 0 && n > 0)
            rc = lp_db_items_load_slots(ctx->db, page, rows, n, &ctx->err);
        if (rc == 0 && n > 0)
            rc = run_page(ctx, m, slot_name, rows, n, &t);
        if (rc == 0 && n > 0) {
            lp_strlcpy(last_key, rows[n - 1].created_at, sizeof last_key);
            lp_strlcpy(last_id, rows[n - 1].id, sizeof last_id);
            after_key = last_key;
            after_id = last_id;
        }
        lp_arena_free(page);
        if (rc != 0)
            return -1;
        if (lp_job_progress(ctx, total > 0 ? (double)t.items / (double)total : 1.0) != 0)
            return -1;
        if (n < (size_t)ctx->cfg->model_run_batch)
            break;
    }
    lp_job_set_result(ctx, json_pack("{s:s, s:I, s:I, s:I}", "model_id", model_id, "items", (json_int_t)t.items,
                                     "skipped", (json_int_t)t.skipped, "predictions", (json_int_t)t.predictions));
    if (!ctx->result)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory building the result of job %s", ctx->id);
    return 0;
}
