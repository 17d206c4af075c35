/* Hard-example mining (docs/MODELS.md, "Disagreement"):
 *   GET  /api/v1/items/{id}/disagreement[?run=]       how far each run's predictions disagree with
 *                                                     the item's human annotations: 1 − F1, per
 *                                                     class, matched, missed and extra (READ)
 *   POST /api/v1/models/{id}/runs/{run}/send-to-review {"workflow_id", "stage_id", "top"}: the
 *                                                     tasks of the run's top disagreements sent
 *                                                     to a review stage (MANAGE)
 * Both first compute again what annotation changes made stale. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "handlers_int.h"
#include "identity_int.h"
#include "loupe/api/audit.h"
#include "loupe/api/input.h"
#include "loupe/core/util.h"
#include "loupe/db/disagreements_sql.h"
#include "loupe/db/items_sql.h"
#include "loupe/db/jobs_sql.h"
#include "loupe/db/models_sql.h"
#include "loupe/db/task_filter.h"
#include "loupe/db/tasks_sql.h"
#include "loupe/jobs/disagreement.h"
#include "loupe/workflow/engine.h"

/* One stored row as answered: its detail's members beside run, model, value and freshness. */
static json_t *row_json(const lp_dis_row *r)
{
    json_t *doc = json_loads(r->detail, 0, NULL);
    if (!doc)
        return NULL;
    if (json_object_set_new(doc, "run_id", json_string(r->run_id)) ||
        json_object_set_new(doc, "model_id", json_string(r->model_id)) ||
        json_object_set_new(doc, "disagreement", r->has_value ? json_real(r->disagreement) : json_null()) ||
        json_object_set_new(doc, "annotation_version", json_integer(r->annotation_version)) ||
        json_object_set_new(doc, "computed_at", json_string(r->computed_at))) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

int lp_api_item_disagreement(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "item"), *run = NULL;
    lp_dis_row *rows;
    lp_item_row item;
    size_t n, stale = 0;
    json_t *list;
    lp_db *db;

    if (!id || lp_query_uuid(req, "run", &run) != 0 || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_item_get(db, req->arena, req->who.team_id, id, &item, &req->err) != 0 ||
        lp_db_disagreement_of_item(db, req->arena, req->who.team_id, id, run, &rows, &n, &req->err) != 0)
        return -1;
    for (size_t k = 0; k < n; k++)
        if (!rows[k].fresh) {
            stale++;
            if (lp_disagreement_refresh(db, req->svc->cfg, req->who.team_id, rows[k].run_id, id, &req->err) < 0)
                return -1;
        }
    if (stale && lp_db_disagreement_of_item(db, req->arena, req->who.team_id, id, run, &rows, &n, &req->err) != 0)
        return -1;
    lp_req_db_release(req);
    if (run && n == 0)
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "run %s compared nothing of item %s", run, id);
    if (!(list = json_array()))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory answering");
    for (size_t k = 0; k < n; k++)
        if (json_array_append_new(list, row_json(&rows[k])) != 0) {
            json_decref(list);
            return lp_error_set(&req->err, LP_E_NOMEM, "out of memory answering");
        }
    return lp_res_json(req, 200, json_pack("{s:s, s:o}", "item_id", id, "disagreements", list));
}

/* The run `run` of model m (a job of the team whose payload names it), else 404. 0 or -1. */
static int run_of_model(lp_req *req, lp_db *db, const char *model_id, const char *run)
{
    lp_job_row job;
    json_t *payload;
    int ok;
    if (lp_db_job_get(db, req->arena, req->who.team_id, run, &job, &req->err) != 0) {
        lp_error_clear(&req->err);
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "model %s has no run %s", model_id, run);
    }
    payload = json_loads(job.payload, 0, NULL);
    const char *of = json_string_value(json_object_get(payload, "model_id"));
    ok = strncmp(job.kind, "models.run", 10) == 0 && of && strcmp(of, model_id) == 0;
    json_decref(payload);
    return ok ? 0 : lp_error_set(&req->err, LP_E_NOT_FOUND, "model %s has no run %s", model_id, run);
}

int lp_api_models_runs_send_to_review(lp_req *req)
{
    static const char *const allowed[] = {"workflow_id", "stage_id", "top", NULL};
    const char *model_id = lp_identity_uuid_param(req, "id", "model"), *run = NULL;
    const char *workflow_id = NULL, *stage_id = NULL, **items;
    lp_task_filter f;
    lp_tasks_change ch;
    lp_model_row m;
    lp_wf wf;
    int64_t top = 0, count = 0;
    double *values;
    size_t n = 0;
    json_t *body, *ids = NULL, *sent = NULL;
    char *ids_text = NULL;
    lp_db *db;
    int rc = -1, k;

    if (!model_id || !(run = lp_identity_uuid_param(req, "run", "run")) || !(body = lp_req_json(req, 1)))
        return -1;
    lp_in_only(req, body, NULL, allowed);
    lp_in_uuid(req, body, NULL, "workflow_id", LP_IN_REQUIRED, &workflow_id);
    lp_in_string(req, body, NULL, "stage_id", LP_IN_REQUIRED, 0, &stage_id);
    lp_in_int(req, body, NULL, "top", LP_IN_REQUIRED, 1, LP_TASKS_IDS_MAX, &top);
    if (req->err.code != LP_OK || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_model_get(db, req->arena, req->who.team_id, model_id, &m, &req->err) != 0 ||
        run_of_model(req, db, model_id, run) != 0 || lp_db_begin(db, &req->err) != 0)
        goto done;
    if (lp_wf_load(db, req->arena, req->svc->cfg, req->who.team_id, workflow_id, 1, &wf, &req->err) != 0) {
        if (req->err.code == LP_E_NOT_FOUND)
            lp_error_field(&req->err, LP_E_NOT_FOUND, "workflow_id", "no such workflow");
        goto done;
    }
    if ((k = lp_wf_graph_find(&wf.graph, stage_id)) < 0 || wf.graph.stages[k].type != LP_WF_REVIEW) {
        lp_error_field(&req->err, LP_E_INVALID, "stage_id", "must be the id of a review stage of workflow %s",
                       wf.id);
        goto done;
    }
    /* rows made stale by annotation changes first, so that the ranking is of what is there now */
    if (lp_disagreement_refresh(db, req->svc->cfg, req->who.team_id, run, NULL, &req->err) < 0 ||
        lp_db_disagreement_top(db, req->arena, req->who.team_id, run, wf.id, top, &items, &values, &n,
                               &req->err) != 0)
        goto done;
    if (!(ids = json_array()) || !(sent = json_array())) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory sending tasks to review");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(ids, json_string(items[i])) != 0 ||
            json_array_append_new(sent, json_pack("{s:s, s:f}", "item_id", items[i], "disagreement", values[i])) != 0) {
            lp_error_set(&req->err, LP_E_NOMEM, "out of memory sending tasks to review");
            goto done;
        }
    if (n > 0) {
        if (!(ids_text = json_dumps(ids, JSON_COMPACT))) {
            lp_error_set(&req->err, LP_E_NOMEM, "out of memory sending tasks to review");
            goto done;
        }
        f = (lp_task_filter){.team_id = req->who.team_id, .workflow_id = wf.id, .item_ids_json = ids_text};
        ch = (lp_tasks_change){.op = LP_TASKS_SEND_TO_STAGE,
                               .to_stage = wf.graph.stages[k].id,
                               .to_state = wf.graph.stages[k].states[0],
                               .actor_id = req->who.user_id[0] ? req->who.user_id : NULL};
        if ((count = lp_db_tasks_apply(db, &f, &ch, NULL, 0, &req->err)) < 0)
            goto done;
    }
    if (lp_audit_record(db, req->who.team_id, req->who.user_id, "model.send_to_review", "model", model_id,
                        json_pack("{s:s, s:s, s:s, s:I, s:I}", "run_id", run, "workflow_id", wf.id, "stage_id",
                                  stage_id, "top", (json_int_t)top, "count", (json_int_t)count),
                        &req->err) != 0 ||
        lp_db_commit(db, &req->err) != 0)
        goto done;
    rc = 0;
done:
    lp_req_db_release(req); /* rolls back what was not committed */
    free(ids_text);
    json_decref(ids);
    if (rc != 0) {
        json_decref(sent);
        return -1;
    }
    return lp_res_json(req, 200, json_pack("{s:I, s:o}", "count", (json_int_t)count, "items", sent));
}
