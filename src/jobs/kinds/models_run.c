/* models.run (queue cpu) and models.run.gpu (queue gpu): a batch run of a
 * registered model over the items a filter selects (POST
 * /api/v1/models/{id}/runs), its predictions stored apart from annotations.
 *
 * payload  {"model_id", "filters": {…item filter…}, "slot"?, "requested_by"?,
 *          "stage"?: {"workflow_id", "stage_id"}}
 * result   {"model_id", "items", "skipped", "predictions", "stages_ms": {"images",
 *           "runs", "fetch", "decode", "wait", "pack", "run", "outputs", "store"},
 *           "novelty": {"items", "dims", "embedding_dims"}}
 *
 * The items are read in creation order, model_run_batch at a time; the
 * page's slots (each item's named one, else its first image slot) are run
 * through the model together (lp_model_infer_slots: decoded on a second
 * thread ahead of the model, run in batches) and the page's predictions
 * are stored with one statement; stages_ms says where the time went
 * (milliseconds; fetch and decode overlap the model's run, wait is the
 * model's time waiting for them). A prediction is keyed by (run, item, slot, ordinal),
 * so an attempt that runs again after a worker died stores nothing twice.
 * Items without a ready image slot are skipped and counted.
 *
 * Active learning: with each page, each item run gets its row of
 * model_run_items (uncertainty scores of loupe/models/score.h, the
 * embedding: the model's or the image descriptor); when every page is
 * stored, k-center greedy over the run's embeddings (read a page at a time,
 * at most model_novelty_max_bytes of them: projected to fewer values when
 * larger) gives novelty, and the ranks of every strategy are written with
 * one statement.
 *
 * Hard-example mining: each page's items that were run are compared with
 * their human annotations (loupe/jobs/disagreement.h). A run of a workflow
 * model stage ("stage") moves its tasks on at the end, once the ranks are
 * written (loupe/jobs/model_stage.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../jobs_int.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/item_filter.h"
#include "loupe/db/model_runs_sql.h"
#include "loupe/db/predictions_sql.h"
#include "loupe/jobs/disagreement.h"
#include "loupe/jobs/model_infer.h"
#include "loupe/jobs/model_stage.h"
#include "loupe/models/score.h"

static const char *const MEMBERS[] = {"model_id", "filters", "slot", "requested_by", "stage", NULL};

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
    if (json_object_get(payload, "stage") && lp_model_stage_payload_check(json_object_get(payload, "stage"), err) != 0)
        rc = -1;
    json_object_foreach((json_t *)payload, key, v) {
        int known = 0;
        for (size_t i = 0; MEMBERS[i]; i++)
            known |= strcmp(MEMBERS[i], key) == 0;
        if (!known)
            rc = lp_error_field(err, LP_E_INVALID, key, "is not a member of a models.run payload "
                                                        "(model_id, filters, slot, requested_by, stage)");
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
    int64_t store_us;
    lp_model_infer_stats stages;
} run_totals;

/* The item's row of model_run_items: its scores and embedding. New reference, NULL out of memory. */
static json_t *run_item_json(const char *item_id, const char *slot, const lp_model_det *dets, size_t n,
                             const lp_model_embedding *emb)
{
    lp_model_uncertainty u;
    json_t *v = json_array();
    lp_model_item_uncertainty(dets, n, &u);
    for (size_t i = 0; v && i < emb->dims; i++)
        if (json_array_append_new(v, json_real(emb->v[i])) != 0) {
            json_decref(v);
            return NULL;
        }
    return v ? json_pack("{s:s, s:s, s:I, s:f, s:f, s:f, s:o, s:s}", "item_id", item_id, "slot", slot, "detections",
                         (json_int_t)n, "least_confidence", u.least_confidence, "margin", u.margin, "entropy",
                         u.entropy, "embedding", v, "embedding_source", emb->from_model ? "model" : "descriptor")
             : NULL;
}

/* Stores rows (a JSON array) with store; adds the rows inserted to *count. */
static int store_rows(lp_job_ctx *ctx, json_t *rows,
                      int64_t (*store)(lp_db *, const char *, const char *, const char *, const char *, lp_error *),
                      int64_t *count)
{
    char *text;
    int64_t stored;
    if (json_array_size(rows) == 0)
        return 0;
    if (!(text = json_dumps(rows, JSON_COMPACT)))
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory running job %s", ctx->id);
    stored = store(ctx->db, ctx->team_id, json_string_value(json_object_get(ctx->payload, "model_id")), ctx->id, text,
                   &ctx->err);
    free(text);
    if (stored < 0)
        return -1;
    if (count)
        *count += stored;
    return 0;
}

/* Runs the model on one page of items (lp_model_infer_slots: decoded ahead, batched) and stores
 * their predictions and run items. */
static int run_page(lp_job_ctx *ctx, lp_arena *page, lp_model_loaded *m, const char *slot_name, lp_item_row *rows,
                    size_t n, run_totals *t)
{
    json_t *preds = json_array(), *items = json_array();
    lp_model_infer_item *run = lp_arena_calloc(page, n ? n : 1, sizeof *run);
    size_t *row_of = lp_arena_calloc(page, n ? n : 1, sizeof *row_of), k = 0;
    int rc = -1;

    if (!preds || !items || !run || !row_of) {
        lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory running job %s", ctx->id);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const lp_slot_row *slot = pick_slot(&rows[i], slot_name);
        t->items++;
        if (!slot) {
            t->skipped++;
            continue;
        }
        run[k].slot = slot;
        run[k].embed = 1;
        row_of[k++] = i;
    }
    if (lp_job_check(ctx) != 0 ||
        lp_model_infer_slots(ctx->cfg, m, run, k, page, ctx->deadline_ms, &t->stages, &ctx->err) != 0)
        goto done;
    for (size_t i = 0; i < k; i++) {
        const lp_item_row *row = &rows[row_of[i]];
        lp_model_infer_item *it = &run[i];
        json_t *item;
        if (it->err.code != LP_OK) {
            if (it->err.code != LP_E_INVALID && it->err.code != LP_E_TOO_LARGE && it->err.code != LP_E_MEDIA_TYPE) {
                ctx->err = it->err;
                goto done;
            }
            LP_WARN("models", "job %s: item %s skipped: %s", ctx->id, row->id, it->err.message);
            t->skipped++;
            continue;
        }
        for (size_t j = 0; j < it->n; j++) {
            json_t *p = lp_model_infer_det_json(m, row->id, it->slot->name, (int)j, &it->dets[j]);
            if (!p || json_array_append_new(preds, p) != 0) {
                lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory running job %s", ctx->id);
                goto done;
            }
        }
        if (!(item = run_item_json(row->id, it->slot->name, it->dets, it->n, &it->emb)) ||
            json_array_append_new(items, item) != 0) {
            lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory running job %s", ctx->id);
            goto done;
        }
    }
    int64_t t0 = lp_now_mono_us();
    if (store_rows(ctx, preds, lp_db_predictions_insert, &t->predictions) != 0 ||
        store_rows(ctx, items, lp_db_model_run_items_insert, NULL) != 0)
        goto done;
    t->store_us += lp_now_mono_us() - t0;
    rc = 0;

done:
    json_decref(preds);
    json_decref(items);
    return rc;
}

/* The result's "stages_ms": where the run's time went. */
static json_t *stages_json(const run_totals *t)
{
    const lp_model_infer_stats *s = &t->stages;
    return json_pack("{s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "images", (json_int_t)s->images, "runs",
                     (json_int_t)s->runs, "fetch", s->fetch_us / 1000.0, "decode", s->decode_us / 1000.0, "wait",
                     s->wait_us / 1000.0, "pack", s->pack_us / 1000.0, "run", s->run_us / 1000.0, "outputs",
                     s->outputs_us / 1000.0, "store", t->store_us / 1000.0);
}

/* Embeddings read per statement while ranking. */
#define EMBEDDINGS_PAGE 1000

/* The run's embeddings, a page at a time, into x (n × k floats, row after row), each projected to k
 * values when k < dims; ids (a) in the same order. */
static int read_embeddings(lp_job_ctx *ctx, lp_arena *a, size_t n, size_t dims, size_t k, const char **ids, float *x)
{
    const char *after = NULL;
    size_t at = 0;
    while (at < n) {
        lp_arena *page = lp_arena_new(0, 0);
        const char **pids;
        float *px;
        size_t got = 0;
        int rc = page ? lp_db_model_run_embeddings_page(ctx->db, page, ctx->id, after, EMBEDDINGS_PAGE, dims, &pids,
                                                        &px, &got, &ctx->err)
                      : lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory ranking run %s", ctx->id);
        for (size_t i = 0; rc == 0 && i < got && at < n; i++, at++) {
            if (!(ids[at] = lp_arena_strdup(a, pids[i])))
                rc = lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory ranking run %s", ctx->id);
            else if (k < dims)
                lp_model_project(px + i * dims, dims, x + at * k, k);
            else
                memcpy(x + at * k, px + i * dims, k * sizeof *x);
        }
        after = at > 0 ? ids[at - 1] : NULL;
        lp_arena_free(page);
        if (rc != 0)
            return -1;
        if (got < EMBEDDINGS_PAGE)
            break;
    }
    if (at != n)
        return lp_error_set(&ctx->err, LP_E_CONFLICT, "run %s: its items changed while it was ranked", ctx->id);
    return 0;
}

/* When every page is stored: novelty by k-center greedy over the run's embeddings (at most
 * model_novelty_max_bytes of them: projected to fewer values when they are larger), and every rank.
 * *out receives {"items", "dims", "embedding_dims"} (new). */
static int rank_run(lp_job_ctx *ctx, json_t **out)
{
    lp_arena *a = lp_arena_new(1u << 20, (size_t)1 << 40);
    const char **ids = NULL;
    float *x = NULL;
    size_t n = 0, dims = 0, k, *order = NULL, *rank = NULL;
    double *novelty = NULL;
    int rc = -1;

    *out = NULL;
    if (!a)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory ranking run %s", ctx->id);
    if (lp_db_model_run_embedding_size(ctx->db, ctx->id, &n, &dims, &ctx->err) != 0)
        goto done;
    k = dims;
    if (n > 0 && (size_t)ctx->cfg->model_novelty_max_bytes / n / sizeof *x < k)
        k = (size_t)ctx->cfg->model_novelty_max_bytes / n / sizeof *x;
    if (n > 0 && dims > 0 && k == 0) {
        lp_error_set(&ctx->err, LP_E_TOO_LARGE, "run %s has %zu items: model_novelty_max_bytes cannot hold even "
                     "one value of each item's embedding", ctx->id, n);
        lp_error_hint(&ctx->err, "raise model_novelty_max_bytes to %zu bytes at least", n * sizeof *x);
        goto done;
    }
    if (!(ids = lp_arena_calloc(a, n ? n : 1, sizeof *ids)) || !(x = malloc((n * k > 0 ? n * k : 1) * sizeof *x)) ||
        !(order = calloc(n ? n : 1, sizeof *order)) || !(rank = calloc(n ? n : 1, sizeof *rank)) ||
        !(novelty = calloc(n ? n : 1, sizeof *novelty))) {
        lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory ranking the %zu items of run %s", n, ctx->id);
        goto done;
    }
    if (read_embeddings(ctx, a, n, dims, k, ids, x) != 0 ||
        lp_model_kcenter(x, n, k, (size_t)ctx->cfg->model_novelty_picks, order, novelty, &ctx->err) != 0)
        goto done;
    for (size_t r = 0; r < n; r++)
        rank[order[r]] = r + 1;
    if (lp_db_model_run_rank(ctx->db, ctx->id, ids, novelty, rank, n, &ctx->err) != 0)
        goto done;
    if (!(*out = json_pack("{s:I, s:I, s:I}", "items", (json_int_t)n, "dims", (json_int_t)k, "embedding_dims",
                           (json_int_t)dims))) {
        lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory ranking run %s", ctx->id);
        goto done;
    }
    rc = 0;

done:
    free(x);
    free(order);
    free(rank);
    free(novelty);
    lp_arena_free(a);
    return rc;
}

/* Compares the page's items that had a slot to run on with their human annotations. */
static int compare_page(lp_job_ctx *ctx, const char *model_id, const char *slot_name, const lp_item_row *rows, size_t n)
{
    const char **ids = lp_arena_calloc(ctx->arena, n + 1, sizeof *ids);
    size_t k = 0;
    if (!ids)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory running job %s", ctx->id);
    for (size_t i = 0; i < n; i++)
        if (pick_slot(&rows[i], slot_name))
            ids[k++] = rows[i].id;
    return lp_disagreement_store(ctx->db, ctx->cfg, ctx->team_id, model_id, ctx->id, ids, k, &ctx->err);
}

int lp_job_models_run_run(lp_job_ctx *ctx)
{
    const char *model_id, *slot_name, *after_key = NULL, *after_id = NULL;
    lp_model_loaded *m;
    lp_item_filter f;
    run_totals t;
    int64_t total;
    char last_key[LP_DB_TIME_LEN], last_id[LP_DB_UUID_LEN];

    memset(&t, 0, sizeof t);
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
            rc = run_page(ctx, page, m, slot_name, rows, n, &t);
        if (rc == 0 && n > 0)
            rc = compare_page(ctx, model_id, slot_name, rows, n);
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
    json_t *novelty;
    if (rank_run(ctx, &novelty) != 0)
        return -1;
    if (lp_model_stage_finish(ctx) != 0) {
        json_decref(novelty);
        return -1;
    }
    lp_job_set_result(ctx, json_pack("{s:s, s:I, s:I, s:I, s:o, s:o}", "model_id", model_id, "items",
                                     (json_int_t)t.items, "skipped", (json_int_t)t.skipped, "predictions",
                                     (json_int_t)t.predictions, "stages_ms", stages_json(&t), "novelty", novelty));
    if (!ctx->result)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory building the result of job %s", ctx->id);
    return 0;
}
