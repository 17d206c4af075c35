/* Workflow model stages: the runs that tasks arriving on one start, and
 * what the run does with them once their predictions are stored. See
 * loupe/jobs/model_stage.h. */
#include "loupe/jobs/model_stage.h"

#include <stdlib.h>
#include <string.h>

#include "loupe/annotation/stored.h"
#include "loupe/core/buf.h"
#include "loupe/core/util.h"
#include "loupe/crypto/encode.h"
#include "loupe/db/annotations_sql.h"
#include "loupe/db/imports_sql.h"
#include "loupe/db/item_filter.h"
#include "loupe/db/model_stage_sql.h"
#include "loupe/db/models_sql.h"
#include "loupe/jobs/disagreement.h"
#include "loupe/jobs/enqueue.h"

lp_ann *lp_predictions_as_annotations(lp_arena *a, const lp_prediction_row *rows, size_t n, lp_error *err)
{
    lp_ann *anns = lp_arena_calloc(a, n ? n : 1, sizeof *anns);
    if (!anns) {
        lp_error_set(err, LP_E_NOMEM, "out of memory accepting predictions");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        lp_ann *an = &anns[i];
        size_t len = rows[i].geom_hex ? strlen(rows[i].geom_hex) / 2 : 0;
        uint8_t *blob = lp_arena_alloc(a, len + 1);
        if (!blob) {
            lp_error_set(err, LP_E_NOMEM, "out of memory accepting predictions");
            return NULL;
        }
        if (lp_hex_decode(rows[i].geom_hex ? rows[i].geom_hex : "", 2 * len, blob, len) != (long)len) {
            lp_error_set(err, LP_E_INTERNAL, "the shape of prediction %s is damaged", rows[i].id);
            return NULL;
        }
        if (lp_ann_geom_decode(blob, len, a, &an->body.geom, err) != 0)
            return NULL;
        an->class_id = rows[i].class_id;
        an->slot = rows[i].slot;
        an->has_source = true;
        an->source = LP_ANN_MODEL;
        an->has_confidence = true;
        an->confidence = rows[i].score;
        an->type = an->body.geom.type;
        an->body.data = "{}";
        an->body.data_len = 2;
    }
    return anns;
}

const char *lp_model_run_kind(const char *queue)
{
    return queue && strcmp(queue, "gpu") == 0 ? "models.run.gpu" : "models.run";
}

int lp_model_stage_payload_check(const json_t *stage, lp_error *err)
{
    const char *key;
    json_t *v;
    int rc = 0;
    if (!json_is_object(stage))
        return lp_error_field(err, LP_E_INVALID, "stage", "must be an object {\"workflow_id\", \"stage_id\"}");
    if (!lp_is_uuid(json_string_value(json_object_get(stage, "workflow_id"))))
        rc = lp_error_field(err, LP_E_INVALID, "stage.workflow_id", "is required and must be a UUID");
    if (!json_is_string(json_object_get(stage, "stage_id")))
        rc = lp_error_field(err, LP_E_INVALID, "stage.stage_id", "is required: the id of a model stage");
    json_object_foreach((json_t *)stage, key, v) {
        if (strcmp(key, "workflow_id") != 0 && strcmp(key, "stage_id") != 0)
            rc = lp_error_field(err, LP_E_INVALID, "stage", "\"%.64s\" is not a member (workflow_id, stage_id)", key);
    }
    return rc ? -1 : 0;
}

/* One job for tasks[0..n) of stage, with its records. */
static int start_one(lp_db *db, lp_arena *a, const lp_wf *wf, const lp_wf_stage *stage, const char *kind,
                     const lp_model_stage_task *tasks, size_t n, const char *actor_id, lp_error *err)
{
    json_t *ids = json_array();
    const char **task_ids = lp_arena_calloc(a, n + 1, sizeof *task_ids);
    char job_id[37];
    int rc = -1;
    for (size_t k = 0; ids && task_ids && k < n; k++) {
        task_ids[k] = tasks[k].task_id;
        if (json_array_append_new(ids, json_string(tasks[k].item_id)) != 0)
            break;
    }
    json_t *payload = ids && task_ids && json_array_size(ids) == n
                          ? json_pack("{s:s, s:{s:O}, s:s*, s:s*, s:{s:s, s:s}}", "model_id", stage->model_id,
                                      "filters", "item_ids", ids, "slot", stage->model_slot, "requested_by", actor_id,
                                      "stage", "workflow_id", wf->id, "stage_id", stage->id)
                          : NULL;
    lp_job_spec spec = {kind, wf->team_id, actor_id, payload, 0};
    if (!payload)
        lp_error_set(err, LP_E_NOMEM, "out of memory starting a model run");
    else if (lp_jobs_enqueue(db, wf->cfg, &spec, job_id, err) == 0 &&
             lp_db_model_stage_wait(db, a, job_id, wf->team_id, wf->id, stage->id, task_ids, n, err) == 0)
        rc = 0;
    json_decref(payload);
    json_decref(ids);
    return rc;
}

int lp_model_stage_start(lp_db *db, lp_arena *a, const lp_wf *wf, const lp_wf_stage *stage,
                         const char *const *task_ids, size_t n, const char *actor_id, lp_error *err)
{
    lp_model_stage_task *tasks;
    lp_model_row m;
    lp_error ignored;
    const char *queue = NULL;
    size_t nt;

    if (!wf->cfg)
        return lp_error_set(err, LP_E_INTERNAL, "workflow %s was loaded without its configuration", wf->id);
    if (lp_db_model_stage_resting(db, a, wf->id, stage->id, task_ids, n, &tasks, &nt, err) != 0)
        return -1;
    if (nt == 0)
        return 0;
    /* A model deleted since the workflow was saved still gets its run: the run fails, visibly, and
     * the tasks wait on the stage rather than the whole transition failing. */
    lp_error_clear(&ignored);
    if (lp_db_model_get(db, a, wf->team_id, stage->model_id, &m, &ignored) == 0)
        queue = m.queue;
    else if (ignored.code != LP_E_NOT_FOUND)
        return lp_error_set(err, ignored.code, "%s", ignored.message);
    for (size_t at = 0; at < nt; at += LP_ITEMS_IDS_MAX) {
        size_t k = nt - at < LP_ITEMS_IDS_MAX ? nt - at : LP_ITEMS_IDS_MAX;
        if (start_one(db, a, wf, stage, lp_model_run_kind(queue), tasks + at, k, actor_id, err) != 0)
            return -1;
    }
    return 0;
}

/* JSON array text of the tasks' item ids (a), or NULL. */
static const char *item_ids_json(lp_arena *a, const lp_model_stage_task *t, size_t n)
{
    json_t *ids = json_array();
    char *text = NULL;
    const char *out = NULL;
    for (size_t k = 0; ids && k < n; k++)
        if (json_array_append_new(ids, json_string(t[k].item_id)) != 0)
            break;
    if (ids && json_array_size(ids) == n && (text = json_dumps(ids, JSON_COMPACT)))
        out = lp_arena_strdup(a, text);
    free(text);
    json_decref(ids);
    return out;
}

/* The stage's accept: the run's predictions of the tasks' items scoring at least min_score become
 * annotations (new rows of their items, counts and versions refreshed, each prediction marked with
 * its annotation, an audit row per item, their disagreements computed again), all with a few
 * set-based statements. */
static int accept_run(lp_job_ctx *ctx, lp_arena *a, const lp_wf_stage *st, const lp_model_stage_task *t, size_t n)
{
    const char *ids = item_ids_json(a, t, n), **items;
    const char *actor = json_string_value(json_object_get(ctx->payload, "requested_by"));
    lp_prediction_row *rows;
    lp_ann_row *arows;
    lp_ann_frame_row *frames;
    const lp_ann **ptrs;
    lp_ann *anns;
    size_t np, nframes;
    json_t *pairs = NULL;
    char *pairs_text = NULL;
    lp_buf blobs;
    int rc = -1;

    if (!ids)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory accepting predictions");
    if (lp_db_import_lock(ctx->db, ids, &ctx->err) != 0 ||
        lp_db_predictions_acceptable_run(ctx->db, a, ctx->team_id, ctx->id, ids, st->min_score, &rows, &np,
                                         &ctx->err) != 0)
        return -1;
    if (np == 0)
        return 0;
    if (!(anns = lp_predictions_as_annotations(a, rows, np, &ctx->err)))
        return -1;
    ptrs = lp_arena_calloc(a, np, sizeof *ptrs);
    items = lp_arena_calloc(a, np, sizeof *items);
    pairs = json_array();
    if (!ptrs || !items || !pairs) {
        json_decref(pairs);
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory accepting predictions");
    }
    lp_buf_init(&blobs, (size_t)ctx->cfg->http_bulk_body_limit * 2);
    for (size_t i = 0; i < np; i++) {
        char *id = lp_arena_alloc(a, 37);
        if (!id || lp_uuid_v4(id) != 0) {
            lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory accepting predictions");
            goto done;
        }
        anns[i].id = id;
        ptrs[i] = &anns[i];
        items[i] = rows[i].item_id;
        if (json_array_append_new(pairs, json_pack("{s:s, s:s}", "id", rows[i].id, "annotation_id", id)) != 0) {
            lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory accepting predictions");
            goto done;
        }
    }
    if (!(pairs_text = json_dumps(pairs, JSON_COMPACT))) {
        lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory accepting predictions");
        goto done;
    }
    if (lp_ann_store(ptrs, np, a, &blobs, &arows, &frames, &nframes, &ctx->err) != 0 ||
        lp_db_ann_insert_items(ctx->db, ctx->team_id, items, NULL, arows, np, &ctx->err) != 0 ||
        lp_db_import_items_commit(ctx->db, ids, &ctx->err) != 0 ||
        lp_disagreement_refresh_items(ctx->db, ctx->cfg, ctx->team_id, ids, &ctx->err) < 0 ||
        lp_db_predictions_mark_accepted(ctx->db, ctx->team_id, actor, ctx->id, pairs_text, &ctx->err) != 0)
        goto done;
    rc = 0;
done:
    free(pairs_text);
    json_decref(pairs);
    lp_buf_free(&blobs);
    return rc;
}

/* The tasks' moves through the stage's port done. */
static lp_wf_move *moves_of(lp_arena *a, size_t stage, const lp_model_stage_task *t, size_t n)
{
    lp_wf_move *mv = lp_arena_calloc(a, n + 1, sizeof *mv);
    for (size_t k = 0; mv && k < n; k++)
        mv[k] = (lp_wf_move){.task_id = t[k].task_id,
                             .from = stage,
                             .port = 0,
                             .item_id = t[k].item_id,
                             .state = t[k].state,
                             .stage_entered_at = t[k].stage_entered_at};
    return mv;
}

int lp_model_stage_finish(lp_job_ctx *ctx)
{
    const json_t *st = json_object_get(ctx->payload, "stage");
    const char *workflow_id = json_string_value(json_object_get(st, "workflow_id"));
    const char *stage_id = json_string_value(json_object_get(st, "stage_id"));
    lp_arena *a;
    lp_model_stage_task *tasks;
    size_t n = 0;
    lp_wf wf;
    int rc = -1, k;

    if (!st)
        return 0;
    if (!(a = lp_arena_new(0, 0)))
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory finishing job %s", ctx->id);
    if (lp_db_begin(ctx->db, &ctx->err) != 0)
        goto done;
    if (lp_wf_load(ctx->db, a, ctx->cfg, ctx->team_id, workflow_id, 1, &wf, &ctx->err) != 0) {
        if (ctx->err.code != LP_E_NOT_FOUND)
            goto done;
        lp_error_clear(&ctx->err); /* the workflow is gone, and its tasks with it */
    } else if (lp_db_model_stage_claim(ctx->db, a, ctx->id, &tasks, &n, &ctx->err) != 0) {
        goto done;
    } else if (n > 0 && (k = lp_wf_graph_find(&wf.graph, stage_id)) >= 0 && wf.graph.stages[k].type == LP_WF_MODEL) {
        lp_wf_move *mv = moves_of(a, (size_t)k, tasks, n);
        if (!mv) {
            lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory finishing job %s", ctx->id);
            goto done;
        }
        if ((wf.graph.stages[k].accept && accept_run(ctx, a, &wf.graph.stages[k], tasks, n) != 0) ||
            lp_wf_advance(ctx->db, a, &wf, "model", NULL, NULL, mv, n, NULL, &ctx->err) != 0)
            goto done;
    }
    if (lp_db_model_stage_done(ctx->db, ctx->id, &ctx->err) != 0 || lp_db_commit(ctx->db, &ctx->err) != 0)
        goto done;
    rc = 0;
done:
    if (rc != 0 && lp_db_in_transaction(ctx->db))
        lp_db_rollback(ctx->db);
    lp_arena_free(a);
    return rc;
}
