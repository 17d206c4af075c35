/* The workflow engine: tasks entering a workflow and moving along its graph,
 * written to the database (tasks, task_history, events) with set-based
 * statements, whatever the number of tasks. The graph and the routing rules
 * are pure (loupe/workflow/graph.h, route.h); the statements are in
 * src/db/workflows_sql.c; this module joins them.
 *
 * Every function here works inside the caller's transaction (begin before,
 * commit after), so a transition, its history rows and its events commit or
 * roll back together. */
#ifndef LOUPE_WORKFLOW_ENGINE_H
#define LOUPE_WORKFLOW_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/items_sql.h"
#include "loupe/db/tasks_sql.h"
#include "loupe/db/workflows_sql.h"
#include "loupe/workflow/graph.h"

/* A workflow's current version, read and validated. */
typedef struct lp_wf {
    char id[37];
    char team_id[37];
    int version;
    int64_t seed;
    lp_wf_graph graph;            /* arena */
    const lp_config *cfg;         /* borrowed: the configuration it was loaded with */
} lp_wf;

/* What starts the model runs of a model stage (docs/WORKFLOWS.md, "model"):
 * called by the engine in the caller's transaction, once per model stage
 * and batch, with the ids of the tasks it has just placed on stage (task
 * ids whose item already had another task were not placed: the starter
 * runs only the tasks it finds resting there). 0 or -1; a failure fails
 * the transition, so no task rests on a model stage without its run. */
typedef int (*lp_wf_model_starter)(lp_db *db, lp_arena *a, const lp_wf *wf, const lp_wf_stage *stage,
                                   const char *const *task_ids, size_t n, const char *actor_id, lp_error *err);

/* Sets the process's starter (at start-up, before any transition). A
 * transition that places tasks on a model stage in a process without one
 * fails with LP_E_INTERNAL. */
void lp_wf_set_model_starter(lp_wf_model_starter fn);

/* Reads the current version of a workflow of the team (404 when none) and
 * its graph. lock: 1 takes FOR SHARE on the workflow row, so that a PUT of
 * a new version waits for transitions in flight (and they for it). 0 or -1. */
int lp_wf_load(lp_db *db, lp_arena *a, const lp_config *cfg, const char *team_id, const char *workflow_id, int lock,
               lp_wf *out, lp_error *err);

/* As lp_wf_load, for the version head names (read by the caller, e.g.
 * with its task by lp_db_task_open). The graph of a version read before
 * comes from a process-wide cache (workflow_graph_cache graphs;
 * loupe/workflow/graph_cache.h), borrowed until a is freed. 0 or -1. */
int lp_wf_load_head(lp_db *db, lp_arena *a, const lp_config *cfg, const lp_workflow_head *head, lp_wf *out,
                    lp_error *err);

/* Items enter: a task is created at the entry stage for every item the
 * filter selects (or ids lists) that belongs to a live dataset feeding the
 * workflow and has no task yet (its id made here, lp_uuid_v7), and is
 * routed on at once; one history row per task ("created", the hops the
 * workflow made as its route) and one task.created event are written. The filter takes the first limit such
 * items in (created_at, id) order (0 = all): a job enters batch after
 * batch, and stops once *selected (may be NULL: the items the filter
 * selected) is below limit. actor_id may be NULL (the workflow router).
 * Returns the number of tasks created, or -1. */
int64_t lp_wf_enter_filter(lp_db *db, lp_arena *a, const lp_wf *wf, const lp_item_filter *f, int64_t limit,
                           const char *actor_id, size_t *selected, lp_error *err);
int64_t lp_wf_enter_items(lp_db *db, lp_arena *a, const lp_wf *wf, const char *const *item_ids, size_t n,
                          const char *actor_id, lp_error *err);

/* One task leaving its stage. */
typedef struct lp_wf_move {
    const char *task_id;
    size_t from;                  /* stage index the task is on */
    size_t port;                  /* port index of that stage */
    const char *subject_id;       /* whose work is judged (approve/reject), or NULL */
    /* The task's item, state and stage_entered_at as the caller read them
     * with its lock, or NULL: when given and the port leads to a stage
     * where tasks rest, nothing of the item is read again. */
    const char *item_id, *state, *stage_entered_at;
} lp_wf_move;

/* Sends tasks out of their stage through a port and routes them on to the
 * stage where each rests (lp_wf_route_batch), in its first state and
 * unassigned; appends one history row per task (action on the first hop,
 * the hops the workflow made by itself as its route, read back as "route"
 * steps) and the events
 * (task.stage_changed per task, task.completed on complete/discard,
 * task.webhook for each webhook stage reached). The caller has locked the
 * tasks (FOR UPDATE) and checked that each is on moves[i].from. comment may
 * be NULL. placed, when not NULL, receives moves[0]'s task as it is then
 * (in a). 0 or -1. */
int lp_wf_advance(lp_db *db, lp_arena *a, const lp_wf *wf, const char *action, const char *actor_id,
                  const char *comment, const lp_wf_move *moves, size_t n, lp_task_row *placed, lp_error *err);

/* Where the tasks of a stage that a new version removes go. */
typedef struct lp_wf_stage_move {
    const char *from;             /* a stage id of the old version */
    const char *to;               /* a stage id of wf (the new version) */
} lp_wf_stage_move;

/* After a new version of the workflow is stored (wf is that version): tasks
 * on a stage that kept its id but not their state go to the stage's first
 * state (history "move", task.state_changed); tasks on each moves[i].from
 * go to moves[i].to in its first state, unassigned (history "move",
 * task.stage_changed), and are routed on at once when that stage routes by
 * itself, as lp_wf_advance does. The caller holds the workflow row FOR
 * UPDATE and has checked that every removed stage holding tasks has a
 * move. 0 or -1. */
int lp_wf_follow_version(lp_db *db, lp_arena *a, const lp_wf *wf, const lp_wf_stage_move *moves, size_t nmoves,
                         const char *actor_id, lp_error *err);

#endif
