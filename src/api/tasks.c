/* Tasks: one item's journey through a workflow (docs/WORKFLOWS.md, "Tasks").
 *
 * GET  /api/v1/tasks/{id}                              READ      the task, its history, consensus work
 * POST /api/v1/workflows/{id}/stages/{stage}/next      ANNOTATE  claim the next open task (REVIEW on review stages)
 * POST /api/v1/tasks/{id}/assign {"user_id"}           MANAGE
 * POST /api/v1/tasks/{id}/unassign                     MANAGE
 * POST /api/v1/tasks/{id}/submit                       ANNOTATE  annotate: port done; consensus: {"annotations"}
 * POST /api/v1/tasks/{id}/approve {"comment"?}         REVIEW
 * POST /api/v1/tasks/{id}/reject {"comment"}           REVIEW
 * POST /api/v1/tasks/{id}/state {"state"}              ANNOTATE  the assignee or a manager
 * POST /api/v1/tasks/{id}/continue                     MANAGE    a webhook stage that waits, or a model stage
 * POST /api/v1/tasks/bulk                              MANAGE    by filter, inline or as a tasks.bulk job
 *
 * Every action runs in one transaction: the task's workflow is read FOR
 * SHARE (so that a new version waits for it; its graph comes from the
 * cache of validated graphs), then the task is locked; moves go
 * through the engine (lp_wf_advance), which writes history and events with
 * them. An action on a task in another stage answers 409 naming the stage
 * the task is in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "annotations_int.h"
#include "handlers_int.h"
#include "identity_int.h"
#include "items_int.h"
#include "loupe/api/audit.h"
#include "loupe/api/input.h"
#include "loupe/db/annotations_sql.h"
#include "loupe/db/memberships_sql.h"
#include "loupe/db/model_stage_sql.h"
#include "loupe/db/task_filter.h"
#include "loupe/db/tasks_sql.h"
#include "loupe/identity/role.h"
#include "loupe/jobs/enqueue.h"
#include "loupe/workflow/consensus.h"
#include "loupe/workflow/engine.h"
#include "loupe/workflow/graph_cache.h"

/* Polygon overlaps in a consensus may cost this many edge crossings per
 * vertex a shape may have (lp_geom_polygon_overlap). */
#define CROSSINGS_PER_POINT 16

/* ---- JSON ------------------------------------------------------------------------ */

static json_t *text_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *task_json(const lp_task_row *t)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:s, s:s, s:s}", "id", t->id, "item_id", t->item_id,
                     "workflow_id", t->workflow_id, "stage", t->stage, "state", t->state, "assignee_id",
                     text_or_null(t->claim_lapsed ? "" : t->assignee_id), "claim_expires_at",
                     text_or_null(t->claim_lapsed ? "" : t->claim_expires_at), "priority", (json_int_t)t->priority,
                     "stage_entered_at", t->stage_entered_at, "created_at", t->created_at, "updated_at",
                     t->updated_at);
}

static json_t *history_json(const lp_task_history_row *h, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "action", h[i].action, "actor_id",
                              text_or_null(h[i].actor_id), "subject_id", text_or_null(h[i].subject_id), "from_stage",
                              text_or_null(h[i].from_stage), "from_state", text_or_null(h[i].from_state), "to_stage",
                              text_or_null(h[i].to_stage), "to_state", text_or_null(h[i].to_state), "port",
                              text_or_null(h[i].port), "comment", text_or_null(h[i].comment), "at", h[i].at);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *consensus_json(const lp_task_consensus_row *c, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *anns = c[i].annotations ? json_loads(c[i].annotations, 0, NULL) : json_null();
        json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "user_id", c[i].user_id, "stage", c[i].stage,
                              "claimed_at", c[i].claimed_at, "submitted_at", text_or_null(c[i].submitted_at),
                              "agreement", c[i].has_agreement ? json_real(c[i].agreement) : json_null(),
                              "annotations", anns ? anns : json_null());
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Gives the request's connection back, rolling back what a failed action
 * left open. */
static void release(lp_req *req, lp_db *db)
{
    lp_db_rollback(db);
    lp_req_db_release(req);
}

/* ---- the task an action is about -------------------------------------------------- */

typedef struct task_ctx {
    lp_db *db;
    lp_task_row task;
    lp_wf wf;
    size_t stage;             /* index of the task's stage in wf.graph */
    const lp_wf_stage *st;
    int moved;                /* after: the task as the action left it */
    lp_task_row after;
} task_ctx;

static int is_manager(const lp_req *req)
{
    return (req->who.perms & LP_PERM_BIT(LP_PERM_MANAGE)) != 0;
}

/* 1 when the caller holds the task. */
static int is_holder(const lp_req *req, const lp_task_row *t)
{
    return t->assignee_id[0] && !t->claim_lapsed && strcasecmp(t->assignee_id, req->who.user_id) == 0;
}

static int in_pool(const lp_wf_stage *st, const char *user_id)
{
    if (st->pool.any)
        return 1;
    for (size_t i = 0; i < st->pool.nuser_ids; i++)
        if (strcasecmp(st->pool.user_ids[i], user_id) == 0)
            return 1;
    return 0;
}

/* Begins the action's transaction: finds the path's task (404) and its
 * workflow, taking FOR SHARE on the workflow then FOR UPDATE on the task,
 * in one statement. 0 or -1. */
static int task_open(lp_req *req, task_ctx *c)
{
    const char *id = lp_identity_uuid_param(req, "id", "task");
    lp_workflow_head head;
    int k;

    memset(c, 0, sizeof *c);
    if (!id || !(c->db = lp_req_db(req)) || lp_db_begin(c->db, &req->err) != 0 ||
        lp_db_task_open(c->db, req->arena, req->who.team_id, id, &head, &c->task, &req->err) != 0 ||
        lp_wf_load_head(c->db, req->arena, req->svc->cfg, &head, &c->wf, &req->err) != 0)
        return -1;
    if ((k = lp_wf_graph_find(&c->wf.graph, c->task.stage)) < 0)
        return lp_error_set(&req->err, LP_E_CONFLICT, "task %s is in stage \"%s\", which workflow %s no longer has",
                            c->task.id, c->task.stage, c->wf.id);
    c->stage = (size_t)k;
    c->st = &c->wf.graph.stages[k];
    return 0;
}

/* 409 naming the stage the task is in; `want` says where the action
 * applies ("an annotate or consensus stage"). Returns -1. */
static int wrong_stage(lp_req *req, const task_ctx *c, const char *want)
{
    lp_error_set(&req->err, LP_E_CONFLICT, "task %s is in stage \"%s\" (%s), not in %s", c->task.id, c->task.stage,
                 lp_wf_stage_type_name(c->st->type), want);
    return lp_error_field(&req->err, LP_E_CONFLICT, "stage", "the task is in stage \"%s\"", c->task.stage);
}

/* Sends the task out of its stage through port (the engine routes it on). */
static int advance(lp_req *req, task_ctx *c, const char *action, const char *port, const char *subject_id,
                   const char *comment)
{
    int p = lp_wf_stage_port(c->st, port);
    if (p < 0)
        return lp_error_set(&req->err, LP_E_INTERNAL, "stage \"%s\" has no port %s", c->task.stage, port);
    lp_wf_move mv = {c->task.id,       c->stage,         (size_t)p, subject_id && *subject_id ? subject_id : NULL,
                     c->task.item_id, c->task.state, c->task.stage_entered_at};
    if (lp_wf_advance(c->db, req->arena, &c->wf, action, req->who.user_id[0] ? req->who.user_id : NULL, comment, &mv,
                      1, &c->after, &req->err) != 0)
        return -1;
    c->moved = 1;
    return 0;
}

/* Commits and answers 200 with the task as it is now (as the move left it,
 * or read again). */
static int finish(lp_req *req, task_ctx *c)
{
    lp_task_row t;
    if ((!c->moved && lp_db_task_get(c->db, req->arena, req->who.team_id, c->task.id, 0, &t, &req->err) != 0) ||
        lp_db_commit(c->db, &req->err) != 0)
        return -1;
    return lp_res_json(req, 200, task_json(c->moved ? &c->after : &t));
}

/* The member who is to hold tasks of st: a member of the team whose role
 * may work on st, in st's pool; else a 422 on field. 0 or -1. */
static int check_assignee(lp_req *req, lp_db *db, const lp_wf_stage *st, const char *user_id, const char *field)
{
    lp_member_row m;
    lp_role role;
    if (lp_db_member_get(db, req->arena, req->who.team_id, user_id, &m, &req->err) != 0) {
        if (req->err.code != LP_E_NOT_FOUND)
            return -1;
        lp_error_clear(&req->err);
        return lp_error_field(&req->err, LP_E_INVALID, field, "user %s is not a member of this team", user_id);
    }
    if (!st)
        return 0;
    lp_perm need = st->type == LP_WF_REVIEW ? LP_PERM_REVIEW : LP_PERM_ANNOTATE;
    if (lp_role_parse(m.role, &role) != 0 || !lp_role_has(role, need))
        return lp_error_field(&req->err, LP_E_INVALID, field, "user %s is a%s %s and cannot take tasks of stage \"%s\"",
                              user_id, m.role[0] == 'a' || m.role[0] == 'o' ? "n" : "", m.role, st->id);
    if (!in_pool(st, user_id))
        return lp_error_field(&req->err, LP_E_INVALID, field, "user %s is not in the pool of stage \"%s\"", user_id,
                              st->id);
    return 0;
}

/* ---- GET ------------------------------------------------------------------------- */

int lp_api_tasks_get(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "task");
    lp_task_row t;
    lp_task_history_row *hist;
    lp_task_consensus_row *seats;
    size_t nhist, nseats;
    lp_db *db;
    json_t *doc = NULL;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    char run_id[LP_DB_UUID_LEN];
    const char *run_status = NULL, *run_error = NULL;
    int waits = 0;
    if (lp_db_task_get(db, req->arena, req->who.team_id, id, 0, &t, &req->err) != 0 ||
        lp_db_task_history(db, req->arena, t.id, &hist, &nhist, &req->err) != 0 ||
        lp_db_task_consensus_list(db, req->arena, t.id, &seats, &nseats, &req->err) != 0 ||
        (waits = lp_db_model_stage_run_of(db, req->arena, t.id, run_id, &run_status, &run_error, &req->err)) < 0)
        return -1;
    lp_req_db_release(req);
    if (!(doc = task_json(&t)) || json_object_set_new(doc, "history", history_json(hist, nhist)) != 0 ||
        (nseats && json_object_set_new(doc, "consensus", consensus_json(seats, nseats)) != 0) ||
        (waits && json_object_set_new(doc, "model_run", json_pack("{s:s, s:s?, s:s?}", "job_id", run_id, "status",
                                                                  run_status, "error", run_error)) != 0)) {
        json_decref(doc);
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory answering with task %s", id);
    }
    return lp_res_json(req, 200, doc);
}

/* ---- claiming --------------------------------------------------------------------- */

/* Claims the next task of stage for the caller on wf's graph (version as
 * lp_db_task_claim_next takes it: > 0 when the graph is a kept one that the
 * statement checks). An lp_task_claim_result, or -1 with req->err set. */
static int claim_on(lp_req *req, lp_db *db, const char *wf_id, const lp_wf *wf, const char *stage, int version,
                    lp_task_row *t)
{
    const lp_config *cfg = req->svc->cfg;
    int k = lp_wf_graph_find(&wf->graph, stage);
    if (k < 0)
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "workflow %s has no stage \"%.64s\"", wf_id, stage);
    const lp_wf_stage *st = &wf->graph.stages[k];
    if (st->type != LP_WF_ANNOTATE && st->type != LP_WF_REVIEW && st->type != LP_WF_CONSENSUS)
        return lp_error_field(&req->err, LP_E_INVALID, "stage",
                              "stage \"%s\" is a %s stage: tasks are handed out on annotate, review and consensus "
                              "stages",
                              st->id, lp_wf_stage_type_name(st->type));
    if (st->type == LP_WF_REVIEW && lp_req_require(req, LP_PERM_REVIEW) != 0)
        return -1;
    if (!in_pool(st, req->who.user_id)) {
        lp_error_set(&req->err, LP_E_FORBIDDEN, "you are not in the pool of stage \"%s\"", st->id);
        return lp_error_hint(&req->err, "a manager adds you to the stage's assignees in the workflow");
    }
    if (st->type == LP_WF_CONSENSUS)
        return version > 0 ? LP_TASK_NONE /* claimed once the workflow is read */
                           : lp_db_task_consensus_claim(db, req->arena, req->who.team_id, wf_id, st->id,
                                                        req->who.user_id, st->annotators, cfg->task_claim_ttl, t,
                                                        &req->err);
    int got = lp_db_task_claim_next(db, req->arena, req->who.team_id, wf_id, st->id, req->who.user_id,
                                    cfg->task_claim_ttl, st->max_open_tasks, version, t, &req->err);
    if (got == LP_TASK_AT_LIMIT) {
        lp_error_set(&req->err, LP_E_CONFLICT, "you hold %lld open tasks of stage \"%s\", its max_open_tasks",
                     (long long)st->max_open_tasks, st->id);
        return lp_error_hint(&req->err, "submit one of them first");
    }
    return got;
}

int lp_api_tasks_next(lp_req *req)
{
    const char *wf_id = lp_identity_uuid_param(req, "id", "workflow"), *stage = lp_req_param(req, "stage");
    lp_task_row t;
    lp_wf wf;
    lp_db *db;
    int version = 0, got = -1, rc = -1, kept;

    if (!wf_id || !(db = lp_req_db(req)))
        return -1;
    /* No transaction: the claim, its history row and its event are one
     * statement. It runs first on the newest graph this process keeps of
     * the workflow, and checks that version (and the team) itself; only
     * when none is kept, or that claim gets no task or is refused, is the
     * workflow read (without a lock) and the claim made on its graph. */
    memset(&wf, 0, sizeof wf);
    if ((kept = lp_wf_graph_cache_newest(wf_id, req->arena, &wf.graph, &version, &req->err)) < 0)
        goto done;
    if (kept) {
        got = claim_on(req, db, wf_id, &wf, stage, version, &t);
        if (got != LP_TASK_CLAIMED && got != LP_TASK_OWN) {
            lp_error_clear(&req->err);
            kept = 0;
        }
    }
    if (!kept && (lp_wf_load(db, req->arena, req->svc->cfg, req->who.team_id, wf_id, 0, &wf, &req->err) != 0 ||
                  (got = claim_on(req, db, wf_id, &wf, stage, 0, &t)) < 0))
        goto done;
    rc = got == LP_TASK_NONE ? lp_res_empty(req, 204) : lp_res_json(req, 200, task_json(&t));
done:
    release(req, db);
    return rc;
}

/* What an action does to the task c holds open (arg: its input). 0 or -1. */
typedef int (*task_action)(lp_req *req, task_ctx *c, const void *arg);

/* Runs one action on the task of the path in one transaction: open it
 * (task_open), act, commit and answer with the task as it is now. */
static int run_action(lp_req *req, task_action act, const void *arg)
{
    task_ctx c;
    int rc = -1;
    if (task_open(req, &c) == 0 && act(req, &c, arg) == 0)
        rc = finish(req, &c);
    release(req, c.db);
    return rc;
}

/* The one member of a small JSON body (name, read as a UUID or as text):
 * 0 with *out set (NULL when optional and absent, or when the body is empty
 * and may be), or -1 with a field error. */
static int read_member(lp_req *req, const char *name, int uuid, int flags, const char **out)
{
    const char *const known[] = {name, NULL};
    json_t *body;
    *out = NULL;
    if (req->body_len == 0 && !(flags & LP_IN_REQUIRED))
        return 0;
    if (!(body = lp_req_json(req, 1)))
        return -1;
    lp_in_only(req, body, "", known);
    if (uuid)
        lp_in_uuid(req, body, "", name, flags, out);
    else
        lp_in_string(req, body, "", name, flags, 0, out);
    return req->err.code == LP_OK ? 0 : -1;
}

/* ---- assignment and states ---------------------------------------------------------- */

static int act_assign(lp_req *req, task_ctx *c, const void *arg)
{
    const char *user_id = arg;
    lp_task_row t;
    if (c->st->type != LP_WF_ANNOTATE && c->st->type != LP_WF_REVIEW)
        return wrong_stage(req, c, "an annotate or review stage");
    return check_assignee(req, c->db, c->st, user_id, "user_id") != 0
               ? -1
               : lp_db_task_assign(c->db, req->arena, req->who.team_id, c->task.id, user_id, req->who.user_id, &t,
                                   &req->err);
}

int lp_api_tasks_assign(lp_req *req)
{
    const char *user_id;
    return read_member(req, "user_id", 1, LP_IN_REQUIRED, &user_id) != 0 ? -1 : run_action(req, act_assign, user_id);
}

static int act_unassign(lp_req *req, task_ctx *c, const void *arg)
{
    lp_task_row t;
    (void)arg;
    if (!c->task.assignee_id[0])
        return 0;
    return lp_db_task_assign(c->db, req->arena, req->who.team_id, c->task.id, NULL, req->who.user_id, &t, &req->err);
}

int lp_api_tasks_unassign(lp_req *req)
{
    return run_action(req, act_unassign, NULL);
}

static int act_state(lp_req *req, task_ctx *c, const void *arg)
{
    const char *state = arg;
    lp_task_row t;
    if (!is_holder(req, &c->task) && !is_manager(req))
        return lp_error_set(&req->err, LP_E_FORBIDDEN,
                            "only the assignee of task %s or a manager may change its state", c->task.id);
    if (lp_wf_stage_state(c->st, state) < 0)
        return lp_error_field(&req->err, LP_E_INVALID, "state",
                              "\"%.64s\" is not a state of stage \"%s\" (its states: %s%s%s)", state, c->st->id,
                              c->st->states[0], c->st->nstates > 1 ? ", " : "", c->st->nstates > 1 ? c->st->states[1] : "");
    return lp_db_task_set_state(c->db, req->arena, req->who.team_id, c->task.id, state, req->who.user_id, &t,
                                &req->err);
}

int lp_api_tasks_state(lp_req *req)
{
    const char *state;
    return read_member(req, "state", 0, LP_IN_REQUIRED, &state) != 0 ? -1 : run_action(req, act_state, state);
}

/* ---- consensus ---------------------------------------------------------------------- */

/* Reads the body of a consensus submission, {"annotations": [...]}, with
 * the reader of the annotation batch route. 0 or -1. */
static int read_work(lp_req *req, lp_ann **anns, size_t *n)
{
    lp_jscan s;
    lp_jstr key;
    int more, seen = 0;

    if (!req->body || req->body_len == 0)
        return lp_error_field(&req->err, LP_E_INVALID, "annotations",
                              "is required: the body is {\"annotations\": [Darwin JSON 2.0 annotations]}");
    lp_jscan_init(&s, req->body, req->body_len);
    if (lp_jscan_peek(&s) != LP_JT_OBJECT) {
        if (s.failed || lp_jscan_skip(&s, NULL, NULL) != 0 || lp_jscan_finish(&s) != 0)
            return lp_jscan_error(&s, &req->err);
        return lp_error_set(&req->err, LP_E_INVALID, "the request body must be a JSON object {\"annotations\": […]}");
    }
    lp_jscan_object_begin(&s);
    while ((more = lp_jscan_object_next(&s, &key)) == 1) {
        if (!lp_jstr_eq(&key, "annotations") || seen) {
            char f[80];
            snprintf(f, sizeof f, "%.*s", (int)(key.n < 60 ? key.n : 60), key.p);
            lp_error_field(&req->err, LP_E_INVALID, f, seen ? "appears more than once" : "is not a known field (annotations)");
            if (lp_jscan_skip(&s, NULL, NULL) != 0)
                return lp_jscan_error(&s, &req->err);
            continue;
        }
        seen = 1;
        if (lp_api_ann_read_list(req, &s, "annotations", anns, n) != 0 && req->err.code != LP_E_INVALID)
            return -1;
    }
    if (more < 0 || lp_jscan_finish(&s) != 0)
        return lp_jscan_error(&s, &req->err);
    if (!seen)
        lp_error_field(&req->err, LP_E_INVALID, "annotations", "is required");
    return req->err.code == LP_OK ? 0 : -1;
}

/* Every annotator of this round has submitted: the agreement decides the
 * port. 0 or -1. */
static int consensus_decide(lp_req *req, task_ctx *c)
{
    lp_task_consensus_row *seats;
    size_t nseats, n = 0;
    lp_wf_agreement agr;
    lp_wf_work *work;

    if (lp_db_task_consensus_list(c->db, req->arena, c->task.id, &seats, &nseats, &req->err) != 0)
        return -1;
    if (!(work = lp_arena_calloc(req->arena, nseats ? nseats : 1, sizeof *work)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nseats; i++) {
        const lp_task_consensus_row *s = &seats[i];
        lp_ann *anns;
        size_t nanns;
        lp_jscan js;
        if (strcmp(s->stage, c->task.stage) != 0 || !s->submitted_at[0] || !s->annotations ||
            strcmp(s->claimed_at, c->task.stage_entered_at) < 0)
            continue;
        lp_jscan_init(&js, s->annotations, strlen(s->annotations));
        if (lp_api_ann_read_list(req, &js, "annotations", &anns, &nanns) != 0)
            return -1;
        work[n++] = (lp_wf_work){s->user_id, anns, nanns};
    }
    size_t crossings = (size_t)req->svc->cfg->annotation_max_points * CROSSINGS_PER_POINT;
    if (lp_wf_consensus(work, n, c->st->iou_threshold, c->st->agreement_threshold, crossings, req->arena, &agr,
                        &req->err) != 0)
        return -1;
    json_t *users = json_array(), *scores = json_array();
    for (size_t i = 0; users && scores && i < n; i++)
        if (json_array_append_new(users, json_string(work[i].user_id)) != 0 ||
            json_array_append_new(scores, json_real(agr.per_annotator[i])) != 0)
            break;
    char *uj = users ? json_dumps(users, JSON_COMPACT) : NULL, *sj = scores ? json_dumps(scores, JSON_COMPACT) : NULL;
    json_decref(users);
    json_decref(scores);
    int rc = uj && sj ? lp_db_task_consensus_agreements(c->db, c->task.id, c->task.stage, uj, sj, &req->err)
                      : lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    free(uj);
    free(sj);
    /* agree: the best annotator's work becomes the item's annotations */
    if (rc != 0 ||
        (agr.agree && lp_api_ann_replace(req, c->db, c->task.item_id, work[agr.best].anns, work[agr.best].nanns) != 0))
        return -1;
    const char *comment = lp_arena_printf(req->arena, "agreement %.3f", agr.score);
    return advance(req, c, "consensus", agr.agree ? "agree" : "disagree", work[agr.best].user_id, comment);
}

/* One annotator's work on a consensus task; the last of the round decides. */
static int consensus_submit(lp_req *req, task_ctx *c)
{
    lp_ann *anns = NULL;
    size_t nanns = 0;
    json_t *doc;
    char *text;
    int64_t n;

    if (read_work(req, &anns, &nanns) != 0 ||
        lp_api_ann_check(req, c->db, c->task.item_id, anns, nanns, "annotations") != 0 ||
        !(doc = lp_req_json(req, 1)))
        return -1;
    if (!(text = json_dumps(json_object_get(doc, "annotations"), JSON_COMPACT)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    n = lp_db_task_consensus_submit(c->db, c->task.id, req->who.team_id, c->task.workflow_id, c->task.stage,
                                    req->who.user_id, text, &req->err);
    free(text);
    if (n < 0)
        return -1;
    if (n == 0) {
        lp_error_set(&req->err, LP_E_CONFLICT, "you hold no open seat on task %s in stage \"%s\"", c->task.id,
                     c->task.stage);
        return lp_error_hint(&req->err, "take one with POST /api/v1/workflows/%s/stages/%s/next", c->task.workflow_id,
                             c->task.stage);
    }
    return n < c->st->annotators ? 0 : consensus_decide(req, c);
}

/* ---- moving on ----------------------------------------------------------------------- */

static int act_submit(lp_req *req, task_ctx *c, const void *arg)
{
    (void)arg;
    if (c->st->type == LP_WF_CONSENSUS)
        return consensus_submit(req, c);
    if (c->st->type != LP_WF_ANNOTATE)
        return wrong_stage(req, c, "an annotate or consensus stage");
    if (!is_holder(req, &c->task) && !is_manager(req))
        return lp_error_set(&req->err, LP_E_FORBIDDEN, "only the assignee of task %s or a manager may submit it",
                            c->task.id);
    return advance(req, c, "submit", "done", NULL, NULL);
}

int lp_api_tasks_submit(lp_req *req)
{
    return run_action(req, act_submit, NULL);
}

/* A review's verdict: the port it leaves by (also the history's action) and its comment. */
typedef struct verdict {
    const char *port;
    const char *comment;
} verdict;

static int act_review(lp_req *req, task_ctx *c, const void *arg)
{
    const verdict *v = arg;
    char subject[LP_DB_UUID_LEN];
    if (c->st->type != LP_WF_REVIEW)
        return wrong_stage(req, c, "a review stage");
    if (!is_manager(req) && !in_pool(c->st, req->who.user_id))
        return lp_error_set(&req->err, LP_E_FORBIDDEN, "you are not in the pool of stage \"%s\"", c->st->id);
    if (lp_db_task_last_submitter(c->db, c->task.id, subject, &req->err) != 0)
        return -1;
    return advance(req, c, v->port, v->port, subject, v->comment);
}

int lp_api_tasks_approve(lp_req *req)
{
    verdict v = {"approve", NULL};
    return read_member(req, "comment", 0, LP_IN_OPTIONAL, &v.comment) != 0 ? -1 : run_action(req, act_review, &v);
}

int lp_api_tasks_reject(lp_req *req)
{
    verdict v = {"reject", NULL};
    return read_member(req, "comment", 0, LP_IN_REQUIRED, &v.comment) != 0 ? -1 : run_action(req, act_review, &v);
}

static int act_continue(lp_req *req, task_ctx *c, const void *arg)
{
    (void)arg;
    if (c->st->type == LP_WF_MODEL) /* on without waiting for its run (one that failed, say) */
        return advance(req, c, "continue", "done", NULL, NULL);
    if (c->st->type != LP_WF_WEBHOOK || !c->st->wait)
        return wrong_stage(req, c, "a webhook stage that waits, or a model stage");
    return advance(req, c, "continue", "next", NULL, NULL);
}

int lp_api_tasks_continue(lp_req *req)
{
    return run_action(req, act_continue, NULL);
}

/* ---- bulk ------------------------------------------------------------------------------ */

/* Checks the action against the workflow's graph and completes change. 0 or -1. */
static int bulk_check(lp_req *req, lp_db *db, const lp_wf *wf, const lp_task_filter *f, json_t *body,
                      lp_tasks_change *ch)
{
    const char *name = NULL;
    int k;
    const lp_wf_stage *fst = NULL;

    if (f->stage) {
        if ((k = lp_wf_graph_find(&wf->graph, f->stage)) < 0)
            return lp_error_field(&req->err, LP_E_INVALID, "filters.stage", "workflow %s has no stage \"%.64s\"",
                                  wf->id, f->stage);
        fst = &wf->graph.stages[k];
    }
    switch (ch->op) {
    case LP_TASKS_SEND_TO_STAGE:
        if (lp_in_string(req, body, "", "stage", LP_IN_REQUIRED, 0, &name) != 0)
            return -1;
        if ((k = lp_wf_graph_find(&wf->graph, name)) < 0)
            return lp_error_field(&req->err, LP_E_INVALID, "stage", "workflow %s has no stage \"%.64s\"", wf->id, name);
        if (wf->graph.stages[k].type == LP_WF_MODEL)
            return lp_error_field(&req->err, LP_E_INVALID, "stage",
                                  "stage \"%s\" is a model stage: tasks reach it along an edge, which starts its run",
                                  name);
        if (!lp_wf_stage_rests(&wf->graph.stages[k]))
            return lp_error_field(&req->err, LP_E_INVALID, "stage",
                                  "stage \"%s\" is a %s stage, which routes tasks on by itself: send them to a stage "
                                  "where tasks wait",
                                  name, lp_wf_stage_type_name(wf->graph.stages[k].type));
        ch->to_stage = wf->graph.stages[k].id;
        ch->to_state = wf->graph.stages[k].states[0];
        return 0;
    case LP_TASKS_SET_STATE:
        if (lp_in_string(req, body, "", "state", LP_IN_REQUIRED, 0, &name) != 0)
            return -1;
        if (!fst)
            return lp_error_field(&req->err, LP_E_INVALID, "filters.stage",
                                  "is required for set_state: states belong to a stage");
        if (lp_wf_stage_state(fst, name) < 0)
            return lp_error_field(&req->err, LP_E_INVALID, "state", "\"%.64s\" is not a state of stage \"%s\"", name,
                                  fst->id);
        ch->to_state = name;
        return 0;
    case LP_TASKS_ASSIGN:
        if (!json_object_get(body, "user_id"))
            return lp_error_field(&req->err, LP_E_INVALID, "user_id", "is required (null unassigns)");
        if (lp_in_uuid(req, body, "", "user_id", LP_IN_NULLABLE, &ch->user_id) != 0)
            return -1;
        return ch->user_id ? check_assignee(req, db, fst && lp_wf_stage_human(fst) ? fst : NULL, ch->user_id, "user_id")
                           : 0;
    }
    return lp_error_set(&req->err, LP_E_INTERNAL, "unknown bulk action");
}

int lp_api_tasks_bulk(lp_req *req)
{
    static const char *const KNOWN[] = {"filters", "action", "stage", "state", "user_id", "mode", NULL};
    static const char *const ACTIONS[] = {"send_to_stage", "set_state", "assign", NULL};
    static const char *const MODES[] = {"auto", "job", NULL};
    json_t *body = lp_req_json(req, 1), *filters;
    lp_tasks_change ch;
    lp_task_filter f;
    lp_wf wf;
    lp_db *db;
    char job_id[37];
    int action = 0, mode = 0, as_job = 0, rc = -1;
    int64_t count = 0;

    if (!body)
        return -1;
    memset(&ch, 0, sizeof ch);
    lp_in_only(req, body, "", KNOWN);
    lp_in_enum(req, body, "", "action", LP_IN_REQUIRED, ACTIONS, &action);
    lp_in_enum(req, body, "", "mode", LP_IN_OPTIONAL, MODES, &mode);
    if (!(filters = json_object_get(body, "filters")))
        lp_error_field(&req->err, LP_E_INVALID, "filters", "is required");
    else
        lp_task_filter_read(filters, req->who.team_id, req->arena, &f, &req->err);
    if (req->err.code != LP_OK)
        return -1;
    ch.op = (lp_tasks_op)action;
    ch.actor_id = req->who.user_id[0] ? req->who.user_id : NULL;
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) != 0)
        goto done;
    if (lp_wf_load(db, req->arena, req->svc->cfg, req->who.team_id, f.workflow_id, 1, &wf, &req->err) != 0) {
        if (req->err.code == LP_E_NOT_FOUND)
            lp_error_field(&req->err, LP_E_NOT_FOUND, "filters.workflow_id", "no such workflow");
        goto done;
    }
    if (bulk_check(req, db, &wf, &f, body, &ch) != 0)
        goto done;
    count = lp_db_tasks_count(db, &f, LP_TASKS_BULK_INLINE_MAX + 1, &req->err);
    if (count < 0)
        goto done;
    as_job = mode == 1 || count > LP_TASKS_BULK_INLINE_MAX;
    if (as_job) {
        json_t *payload = lp_tasks_bulk_payload(filters, &ch);
        lp_job_spec spec = {"tasks.bulk", req->who.team_id, ch.actor_id, payload, 0};
        int erc = payload ? lp_jobs_enqueue(db, req->svc->cfg, &spec, job_id, &req->err)
                          : lp_error_set(&req->err, LP_E_NOMEM, "out of memory creating a tasks.bulk job");
        json_decref(payload);
        if (erc != 0)
            goto done;
    } else {
        count = lp_db_tasks_apply(db, &f, &ch, NULL, 0, &req->err);
        if (count < 0 ||
            lp_audit_record(db, req->who.team_id, ch.actor_id, "tasks.bulk", "workflow", f.workflow_id,
                            json_pack("{s:s, s:O, s:I}", "action", lp_tasks_op_name(ch.op), "filters", filters,
                                      "count", (json_int_t)count),
                            &req->err) != 0)
            goto done;
    }
    if (lp_db_commit(db, &req->err) != 0)
        goto done;
    rc = 0;
done:
    release(req, db);
    if (rc != 0)
        return -1;
    if (as_job)
        return lp_api_respond_job_of(req, "tasks.bulk", job_id);
    return lp_res_json(req, 200, json_pack("{s:I}", "count", (json_int_t)count));
}
