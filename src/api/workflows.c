/* Workflows (docs/WORKFLOWS.md):
 *   POST   /api/v1/workflows              {name, dataset_ids, stages, edges} → 201 (MANAGE)
 *   GET    /api/v1/workflows              cursor pages in creation order (READ)
 *   GET    /api/v1/workflows/{id}         ETag "<version>" (READ)
 *   PUT    /api/v1/workflows/{id}         If-Match; {name, dataset_ids, stages, edges, moves?} → version + 1
 *   DELETE /api/v1/workflows/{id}         the workflow and its tasks; items stay (MANAGE)
 *   POST   /api/v1/workflows/{id}/enter   {filters, mode?} → 200 {count} | 202 workflow.enter job (MANAGE)
 *   GET    /api/v1/workflows/{id}/board   tasks per stage and state (READ)
 *   GET    /api/v1/workflows/{id}/stats   ?from=&to= per annotator (READ)
 *
 * A dataset feeds at most one workflow (409 naming dataset_ids[i]). A new
 * version keeps the tasks where they are when their stage still exists; a
 * version that removes stages holding tasks must say where they go
 * ("moves"), else 409 naming each such stage with its count. Every change
 * writes an audit row in its transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers_int.h"
#include "identity_int.h"
#include "items_int.h"
#include "respond_int.h"
#include "loupe/api/input.h"
#include "loupe/core/util.h"
#include "loupe/db/item_filter.h"
#include "loupe/db/models_sql.h"
#include "loupe/db/workflows_sql.h"
#include "loupe/http/etag.h"
#include "loupe/workflow/engine.h"

/* Not a setting: the workflows table holds names of 1 to 200 characters
 * (a CHECK constraint, migration 0010); 200 bytes are never more. */
#define WORKFLOW_NAME_MAX 200

/* ---- Representation ------------------------------------------------------------- */

static const char *etag_of(lp_req *req, int version)
{
    return lp_arena_printf(req->arena, "\"%d\"", version);
}

static json_t *workflow_json(const lp_workflow_row *w)
{
    json_t *def = json_loads(w->definition, 0, NULL);
    json_t *ds = json_loads(w->dataset_ids, 0, NULL);
    json_t *out = NULL;
    if (def && ds)
        out = json_pack("{s:s, s:s, s:i, s:O, s:O, s:O, s:s?, s:s, s:s}", "id", w->id, "name", w->name, "version",
                        w->version, "dataset_ids", ds, "stages", json_object_get(def, "stages"), "edges",
                        json_object_get(def, "edges"), "created_by", w->created_by[0] ? w->created_by : NULL,
                        "created_at", w->created_at, "updated_at", w->updated_at);
    json_decref(def);
    json_decref(ds);
    return out;
}

/* 200 or 201 with the workflow and its ETag. */
static int respond_workflow(lp_req *req, int status, const lp_workflow_row *w)
{
    const char *etag = etag_of(req, w->version);
    if (!etag || lp_res_header(req, "ETag", etag) != 0)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory answering with workflow %s", w->id);
    if (status == 201)
        return lp_api_respond_created(req, "/api/v1/workflows", w->id, workflow_json(w));
    return lp_res_json(req, status, workflow_json(w));
}

/* ---- Input ---------------------------------------------------------------------- */

typedef struct wf_input {
    const char *name;
    const char **dataset_ids;
    size_t ndatasets;
    lp_wf_graph graph;
    const char *definition;        /* {"stages", "edges"} as compact text (arena) */
    lp_wf_stage_move *moves;
    size_t nmoves;
} wf_input;

static void read_dataset_ids(lp_req *req, json_t *body, wf_input *in)
{
    json_t *arr = NULL;
    size_t max = (size_t)req->svc->cfg->workflow_datasets_max;
    if (lp_in_array(req, body, NULL, "dataset_ids", LP_IN_REQUIRED, max, &arr) != 0 || !arr)
        return;
    in->ndatasets = json_array_size(arr);
    in->dataset_ids = lp_arena_calloc(req->arena, in->ndatasets + 1, sizeof *in->dataset_ids);
    if (!in->dataset_ids) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading dataset_ids");
        return;
    }
    if (in->ndatasets == 0)
        lp_error_field(&req->err, LP_E_INVALID, "dataset_ids", "must list at least one dataset");
    for (size_t k = 0; k < in->ndatasets; k++) {
        const char *v = json_string_value(json_array_get(arr, k));
        const char *field = lp_arena_printf(req->arena, "dataset_ids[%zu]", k);
        if (!v || !lp_is_uuid(v)) {
            lp_error_field(&req->err, LP_E_INVALID, field, "must be a dataset id (a UUID)");
            continue;
        }
        for (size_t j = 0; j < k; j++)
            if (in->dataset_ids[j] && strcasecmp(in->dataset_ids[j], v) == 0)
                lp_error_field(&req->err, LP_E_INVALID, field, "repeats dataset_ids[%zu]", j);
        in->dataset_ids[k] = v;
    }
}

/* moves: {"<old stage>": "<new stage>"}; each target must be a stage of the
 * new graph (checked once the graph is read). */
static void read_moves(lp_req *req, json_t *body, wf_input *in)
{
    json_t *obj = NULL, *v;
    const char *key;
    if (lp_in_object(req, body, NULL, "moves", LP_IN_OPTIONAL, &obj) != 0 || !obj)
        return;
    in->moves = lp_arena_calloc(req->arena, json_object_size(obj) + 1, sizeof *in->moves);
    if (!in->moves) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading moves");
        return;
    }
    json_object_foreach(obj, key, v)
    {
        const char *field = lp_arena_printf(req->arena, "moves.%.64s", key);
        if (!json_is_string(v)) {
            lp_error_field(&req->err, LP_E_INVALID, field, "must be the id of a stage of the new version");
            continue;
        }
        in->moves[in->nmoves++] = (lp_wf_stage_move){.from = key, .to = json_string_value(v)};
    }
}

/* Reads a create (moves refused) or replace body. 0, or -1 with field errors. */
static int read_input(lp_req *req, json_t *body, int replacing, wf_input *in)
{
    static const char *const create_fields[] = {"name", "dataset_ids", "stages", "edges", NULL};
    static const char *const replace_fields[] = {"name", "dataset_ids", "stages", "edges", "moves", NULL};
    lp_wf_limits lim;

    memset(in, 0, sizeof *in);
    lp_in_only(req, body, NULL, replacing ? replace_fields : create_fields);
    lp_in_string(req, body, NULL, "name", LP_IN_REQUIRED, WORKFLOW_NAME_MAX, &in->name);
    read_dataset_ids(req, body, in);
    if (replacing)
        read_moves(req, body, in);
    lp_wf_limits_from_config(req->svc->cfg, &lim);
    /* Every rule broken is one more field error beside ours. */
    if (lp_wf_graph_read(body, &lim, req->arena, &in->graph, &req->err) == 0)
        for (size_t m = 0; m < in->nmoves; m++)
            if (lp_wf_graph_find(&in->graph, in->moves[m].to) < 0)
                lp_error_field(&req->err, LP_E_INVALID,
                               lp_arena_printf(req->arena, "moves.%.64s", in->moves[m].from),
                               "\"%.64s\" is not a stage of the new version", in->moves[m].to);
    if (req->err.code != LP_OK)
        return -1;
    json_t *def = json_pack("{s:O, s:O}", "stages", json_object_get(body, "stages"), "edges",
                            json_object_get(body, "edges"));
    char *text = def ? json_dumps(def, JSON_COMPACT) : NULL;
    in->definition = text ? lp_arena_strdup(req->arena, text) : NULL;
    free(text);
    json_decref(def);
    if (!in->definition)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory storing a workflow definition");
    return 0;
}

/* Checks the datasets inside the transaction: each must be a live dataset
 * of the team (422) that feeds no other workflow (409). 0 or -1. */
static int check_datasets(lp_req *req, lp_db *db, const char *workflow_id, const wf_input *in)
{
    int *status = lp_arena_calloc(req->arena, in->ndatasets + 1, sizeof *status);
    if (!status)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory checking datasets");
    if (lp_db_workflow_datasets_check(db, req->who.team_id, workflow_id, in->dataset_ids, in->ndatasets, status,
                                      &req->err) != 0)
        return -1;
    for (size_t k = 0; k < in->ndatasets; k++) {
        const char *field = lp_arena_printf(req->arena, "dataset_ids[%zu]", k);
        if (status[k] == 1)
            lp_error_field(&req->err, LP_E_INVALID, field, "no such dataset");
        else if (status[k] == 2)
            lp_error_field(&req->err, LP_E_CONFLICT, field, "already feeds another workflow (a dataset feeds one)");
    }
    return req->err.code == LP_OK ? 0 : -1;
}

/* Checks that every stage naming a model — a model stage, a sampling stage ranked by a model's
 * score — names a live model of the team (another team's is no such model: 422 naming
 * stages[i].config.model_id). 0 or -1. */
static int check_models(lp_req *req, lp_db *db, const wf_input *in)
{
    for (size_t s = 0; s < in->graph.nstages; s++) {
        const lp_wf_stage *st = &in->graph.stages[s];
        lp_model_row m;
        lp_error e;
        if (!st->model_id)
            continue;
        lp_error_clear(&e);
        if (lp_db_model_get(db, req->arena, req->who.team_id, st->model_id, &m, &e) == 0)
            continue;
        if (e.code != LP_E_NOT_FOUND)
            return lp_error_set(&req->err, e.code, "%s", e.message);
        lp_error_field(&req->err, LP_E_INVALID, lp_arena_printf(req->arena, "stages[%zu].config.model_id", s),
                       "no model of the team has the id %s", st->model_id);
    }
    return req->err.code == LP_OK ? 0 : -1;
}

/* ---- CRUD ------------------------------------------------------------------------ */

int lp_api_workflows_create(lp_req *req)
{
    json_t *body = lp_req_json(req, 1);
    wf_input in;
    lp_workflow_row w;
    int64_t seed;
    lp_db *db;
    int rc = -1;

    if (!body || read_input(req, body, 0, &in) != 0)
        return -1;
    if (lp_random_bytes(&seed, sizeof seed) != 0)
        return lp_error_set(&req->err, LP_E_INTERNAL, "no random seed for workflow sampling");
    seed &= INT64_MAX;
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 && check_datasets(req, db, NULL, &in) == 0 &&
        check_models(req, db, &in) == 0 &&
        lp_db_workflow_create(db, req->arena, req->who.team_id, in.name, seed, in.definition,
                              req->who.user_id[0] ? req->who.user_id : NULL, in.dataset_ids, in.ndatasets, &w,
                              &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "workflow.create", "workflow", w.id,
                        json_pack("{s:s, s:i}", "name", in.name, "version", 1), &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1 : respond_workflow(req, 201, &w);
}

static json_t *workflow_at(const void *rows, size_t i)
{
    return workflow_json((const lp_workflow_row *)rows + i);
}

static void workflow_cursor(lp_req *req, const void *rows, size_t i, const void *ctx, const char **key,
                            const char **id)
{
    (void)req;
    (void)ctx;
    const lp_workflow_row *w = (const lp_workflow_row *)rows + i;
    *key = w->created_at;
    *id = w->id;
}

int lp_api_workflows_list(lp_req *req)
{
    lp_page page;
    lp_workflow_row *rows;
    size_t n;
    lp_db *db;
    int rc;

    if (lp_page_read_checked(req, &page, lp_item_time_valid) != 0 || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_workflow_list(db, req->arena, req->who.team_id, page.after_key, page.after_id, page.size + 1, &rows,
                             &n, &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    return lp_api_respond_keyset(req, "workflows", &page, rows, n, workflow_at, workflow_cursor, NULL);
}

int lp_api_workflows_get(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "workflow");
    lp_workflow_row w;
    lp_db *db;
    int rc;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_workflow_get(db, req->arena, req->who.team_id, id, LP_DB_LOCK_NONE, &w, &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    const char *etag = etag_of(req, w.version);
    if (etag && lp_req_etag_match(req, "If-None-Match", etag)) {
        if (lp_res_header(req, "ETag", etag) != 0)
            return lp_error_set(&req->err, LP_E_NOMEM, "out of memory answering with workflow %s", id);
        return lp_res_empty(req, 304);
    }
    return respond_workflow(req, 200, &w);
}

/* The stage ids of a stored definition. */
static const char **stored_stage_ids(lp_req *req, const char *definition, json_t **doc, size_t *n)
{
    *n = 0;
    *doc = json_loads(definition, 0, NULL);
    json_t *stages = json_object_get(*doc, "stages");
    const char **ids = lp_arena_calloc(req->arena, json_array_size(stages) + 1, sizeof *ids);
    if (!ids)
        return NULL;
    for (size_t k = 0; k < json_array_size(stages); k++) {
        const char *id = json_string_value(json_object_get(json_array_get(stages, k), "id"));
        if (id)
            ids[(*n)++] = id;
    }
    return ids;
}

/* The removed stages that hold tasks each need a move, and a move must name
 * a removed stage: 0, or -1 with the 409 (or 422) naming them. */
static int check_moves(lp_req *req, lp_db *db, const lp_workflow_row *old, const wf_input *in)
{
    json_t *doc = NULL;
    size_t nold = 0, ncounts = 0;
    lp_wf_count_row *counts = NULL;
    const char **old_ids = stored_stage_ids(req, old->definition, &doc, &nold);
    int rc = -1;

    if (!old_ids) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory comparing workflow versions");
        goto cleanup;
    }
    for (size_t m = 0; m < in->nmoves; m++) {
        int was = 0;
        for (size_t k = 0; k < nold && !was; k++)
            was = strcmp(old_ids[k], in->moves[m].from) == 0;
        const char *field = lp_arena_printf(req->arena, "moves.%.64s", in->moves[m].from);
        if (!was)
            lp_error_field(&req->err, LP_E_INVALID, field, "is not a stage of version %d", old->version);
        else if (lp_wf_graph_find(&in->graph, in->moves[m].from) >= 0)
            lp_error_field(&req->err, LP_E_INVALID, field,
                           "stage \"%.64s\" stays in the new version: its tasks stay on it", in->moves[m].from);
    }
    if (req->err.code != LP_OK)
        goto cleanup;
    if (lp_db_workflow_board(db, req->arena, old->id, &counts, &ncounts, &req->err) != 0)
        goto cleanup;
    int missing = 0;
    for (size_t k = 0; k < nold; k++) {
        if (lp_wf_graph_find(&in->graph, old_ids[k]) >= 0)
            continue;
        int64_t held = 0;
        for (size_t c = 0; c < ncounts; c++)
            if (strcmp(counts[c].stage, old_ids[k]) == 0)
                held += counts[c].count;
        int moved = 0;
        for (size_t m = 0; m < in->nmoves && !moved; m++)
            moved = strcmp(in->moves[m].from, old_ids[k]) == 0;
        if (held > 0 && !moved) {
            lp_error_field(&req->err, LP_E_CONFLICT, lp_arena_printf(req->arena, "moves.%.64s", old_ids[k]),
                           "stage \"%.64s\" is removed but holds %lld task%s: say where they go", old_ids[k],
                           (long long)held, held == 1 ? "" : "s");
            missing++;
        }
    }
    if (missing) {
        lp_error_set(&req->err, LP_E_CONFLICT, "%d removed stage%s still hold%s tasks", missing,
                     missing == 1 ? "" : "s", missing == 1 ? "s" : "");
        lp_error_hint(&req->err, "add \"moves\": {\"<removed stage>\": \"<stage of the new version>\"} to the body");
        goto cleanup;
    }
    rc = 0;
cleanup:
    json_decref(doc);
    return rc;
}

int lp_api_workflows_replace(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "workflow");
    json_t *body, *moves_doc;
    wf_input in;
    lp_workflow_row old, w;
    lp_db *db;
    int rc = -1;

    if (!id)
        return -1;
    if (!lp_req_header(req, "If-Match"))
        return lp_error_set(&req->err, LP_E_PRECONDITION_REQUIRED,
                            "replacing workflow %s needs If-Match with its ETag (from GET)", id);
    if (!(body = lp_req_json(req, 1)) || read_input(req, body, 1, &in) != 0 || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) != 0 ||
        lp_db_workflow_get(db, req->arena, req->who.team_id, id, LP_DB_LOCK_UPDATE, &old, &req->err) != 0)
        goto cleanup;
    if (!lp_req_etag_match(req, "If-Match", etag_of(req, old.version))) {
        lp_error_set(&req->err, LP_E_PRECONDITION, "workflow %s changed since you read it (it is at version %d)", id,
                     old.version);
        lp_error_hint(&req->err, "read it again (GET), apply your change, and retry with If-Match: \"%d\"",
                      old.version);
        goto cleanup;
    }
    if (check_datasets(req, db, id, &in) != 0 || check_models(req, db, &in) != 0 ||
        check_moves(req, db, &old, &in) != 0 ||
        lp_db_workflow_update(db, req->arena, req->who.team_id, id, in.name, in.definition,
                              req->who.user_id[0] ? req->who.user_id : NULL, in.dataset_ids, in.ndatasets, &w,
                              &req->err) != 0)
        goto cleanup;
    lp_wf wf = {.version = w.version, .seed = w.seed, .graph = in.graph, .cfg = req->svc->cfg};
    memcpy(wf.id, w.id, sizeof wf.id);
    memcpy(wf.team_id, w.team_id, sizeof wf.team_id);
    moves_doc = json_object_get(body, "moves");
    if (lp_wf_follow_version(db, req->arena, &wf, in.moves, in.nmoves, req->who.user_id[0] ? req->who.user_id : NULL,
                             &req->err) != 0 ||
        lp_audit_record(db, req->who.team_id, req->who.user_id, "workflow.update", "workflow", id,
                        json_pack("{s:s, s:i, s:O?}", "name", in.name, "version", w.version, "moves", moves_doc),
                        &req->err) != 0 ||
        lp_db_commit(db, &req->err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    lp_req_db_release(req);
    return rc != 0 ? -1 : respond_workflow(req, 200, &w);
}

int lp_api_workflows_delete(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "workflow");
    lp_db *db;
    int rc = -1;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 && lp_db_workflow_delete(db, req->who.team_id, id, &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "workflow.delete", "workflow", id, NULL,
                        &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_empty(req, 204);
}

/* ---- Entry by filter -------------------------------------------------------------- */

/* 1 if dataset_id is among the JSON array text of dataset ids. */
static int feeds(const char *dataset_ids, const char *dataset_id)
{
    json_t *ids = json_loads(dataset_ids, 0, NULL);
    int found = 0;
    for (size_t k = 0; !found && k < json_array_size(ids); k++)
        found = strcasecmp(json_string_value(json_array_get(ids, k)), dataset_id) == 0;
    json_decref(ids);
    return found;
}

int lp_api_workflows_enter(lp_req *req)
{
    static const char *const fields[] = {"filters", "mode", NULL};
    static const char *const modes[] = {"auto", "job", NULL};
    const char *id = lp_identity_uuid_param(req, "id", "workflow");
    json_t *body, *filters = NULL;
    lp_item_filter f;
    lp_wf wf;
    char job_id[37];
    int mode = 0, as_job = 0, rc = -1;
    int64_t count = 0;
    lp_db *db;

    if (!id || !(body = lp_req_json(req, 1)))
        return -1;
    lp_in_only(req, body, NULL, fields);
    lp_in_enum(req, body, NULL, "mode", LP_IN_OPTIONAL, modes, &mode);
    if (lp_in_object(req, body, NULL, "filters", LP_IN_REQUIRED, &filters) == 0 && filters)
        lp_item_filter_read(filters, LP_FILTER_JSON, req->who.team_id, req->arena, &f, &req->err);
    if (req->err.code != LP_OK || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) != 0 ||
        lp_wf_load(db, req->arena, req->svc->cfg, req->who.team_id, id, 1, &wf, &req->err) != 0)
        goto cleanup;
    if (f.dataset_id) {
        lp_workflow_row w;
        if (lp_db_workflow_get(db, req->arena, req->who.team_id, id, LP_DB_LOCK_NONE, &w, &req->err) != 0)
            goto cleanup;
        if (!feeds(w.dataset_ids, f.dataset_id)) {
            lp_error_field(&req->err, LP_E_INVALID, "filters.dataset_id", "does not feed this workflow");
            goto cleanup;
        }
    }
    as_job = mode == 1;
    if (!as_job) {
        count = lp_db_wf_items_count(db, &f, id, LP_ITEMS_BULK_INLINE_MAX + 1, &req->err);
        if (count < 0)
            goto cleanup;
        as_job = count > LP_ITEMS_BULK_INLINE_MAX;
    }
    if (as_job) {
        json_t *payload = json_pack("{s:s, s:O, s:s?}", "workflow_id", id, "filters", filters, "requested_by",
                                    req->who.user_id[0] ? req->who.user_id : NULL);
        if (lp_api_enqueue_job(req, db, "workflow.enter", payload, 0, job_id) != 0)
            goto cleanup;
    } else if ((count = lp_wf_enter_filter(db, req->arena, &wf, &f, 0,
                                           req->who.user_id[0] ? req->who.user_id : NULL, NULL, &req->err)) < 0 ||
               lp_audit_record(db, req->who.team_id, req->who.user_id, "workflow.enter", "workflow", id,
                               json_pack("{s:O, s:I}", "filters", filters, "count", (json_int_t)count),
                               &req->err) != 0) {
        goto cleanup;
    }
    rc = lp_db_commit(db, &req->err);
cleanup:
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    if (as_job)
        return lp_api_respond_job_of(req, "workflow.enter", job_id);
    return lp_res_json(req, 200, json_pack("{s:I}", "count", (json_int_t)count));
}

/* ---- Board and statistics ------------------------------------------------------------ */

int lp_api_workflows_board(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "workflow");
    lp_wf wf;
    lp_wf_count_row *rows = NULL;
    size_t n = 0;
    lp_db *db;
    int rc = -1;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    if (lp_wf_load(db, req->arena, req->svc->cfg, req->who.team_id, id, 0, &wf, &req->err) == 0 &&
        lp_db_workflow_board(db, req->arena, id, &rows, &n, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    if (rc != 0)
        return -1;

    json_t *stages = json_array();
    int64_t total = 0;
    for (size_t s = 0; stages && s < wf.graph.nstages; s++) {
        const lp_wf_stage *st = &wf.graph.stages[s];
        json_t *states = json_array();
        int64_t count = 0;
        /* The stage's own states first, in its order, then any other
         * state a task holds there. */
        for (size_t k = 0; states && k < st->nstates; k++) {
            int64_t c = 0;
            for (size_t r = 0; r < n; r++)
                if (strcmp(rows[r].stage, st->id) == 0 && strcmp(rows[r].state, st->states[k]) == 0)
                    c = rows[r].count;
            json_array_append_new(states, json_pack("{s:s, s:I}", "state", st->states[k], "count", (json_int_t)c));
        }
        for (size_t r = 0; states && r < n; r++) {
            if (strcmp(rows[r].stage, st->id) != 0)
                continue;
            count += rows[r].count;
            if (lp_wf_stage_state(st, rows[r].state) < 0)
                json_array_append_new(states,
                                      json_pack("{s:s, s:I}", "state", rows[r].state, "count", (json_int_t)rows[r].count));
        }
        total += count;
        json_array_append_new(stages, json_pack("{s:s, s:s, s:s, s:I, s:o*}", "id", st->id, "name", st->name,
                                                "type", lp_wf_stage_type_name(st->type), "count", (json_int_t)count,
                                                "states", states));
    }
    return lp_res_json(req, 200,
                       stages ? json_pack("{s:s, s:i, s:I, s:o}", "workflow_id", id, "version", wf.version, "total",
                                          (json_int_t)total, "stages", stages)
                              : NULL);
}

static json_t *number_or_null(double v)
{
    return v < 0 ? json_null() : json_real(v);
}

int lp_api_workflows_stats(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "workflow");
    const char *from = lp_req_query(req, "from"), *to = lp_req_query(req, "to");
    lp_workflow_row w;
    lp_wf_stats_row *rows = NULL;
    size_t n = 0;
    lp_db *db;
    int rc = -1;

    if (!id)
        return -1;
    if (from && !lp_item_time_valid(from))
        lp_error_field(&req->err, LP_E_MALFORMED, "from", "must be an RFC 3339 timestamp or a date");
    if (to && !lp_item_time_valid(to))
        lp_error_field(&req->err, LP_E_MALFORMED, "to", "must be an RFC 3339 timestamp or a date");
    if (req->err.code != LP_OK || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_workflow_get(db, req->arena, req->who.team_id, id, LP_DB_LOCK_NONE, &w, &req->err) == 0 &&
        lp_db_workflow_stats(db, req->arena, id, from, to, &rows, &n, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    json_t *list = json_array();
    for (size_t k = 0; list && k < n; k++) {
        const lp_wf_stats_row *r = &rows[k];
        int64_t reviewed = r->approved + r->rejected;
        json_array_append_new(
            list, json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:o}", "user_id", r->user_id, "submitted",
                            (json_int_t)r->submitted, "approved", (json_int_t)r->approved, "rejected",
                            (json_int_t)r->rejected, "rejection_rate",
                            number_or_null(reviewed ? (double)r->rejected / (double)reviewed : -1.0),
                            "median_time_in_stage_s", number_or_null(r->median_s), "consensus_agreement",
                            number_or_null(r->agreement)));
    }
    return lp_res_json(req, 200,
                       list ? json_pack("{s:s, s:s?, s:s?, s:o}", "workflow_id", id, "from", from, "to", to,
                                        "annotators", list)
                            : NULL);
}
