/* Statements about tasks (src/db/tasks_sql.c): reading a task with its
 * history and consensus work, claiming the next open task of a stage,
 * assignment, states, claim renewal, consensus seats, and bulk changes by
 * filter. Moving tasks along the graph is the engine's
 * (loupe/workflow/engine.h, src/db/workflows_sql.c).
 *
 * Every statement that changes a task writes its task_history row and its
 * event (task.assigned, task.state_changed, task.stage_changed) in the same
 * statement, so they commit together; bulk changes are one set-based
 * statement per batch, whatever the number of tasks.
 *
 * Team scoping: every statement takes the team; another team's task is
 * "not found". Strings in rows are copied into the caller's arena;
 * timestamps are RFC 3339 UTC with milliseconds; "" for an absent id or
 * time in the fixed-size members. */
#ifndef LOUPE_DB_TASKS_SQL_H
#define LOUPE_DB_TASKS_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/teams_sql.h"
#include "loupe/db/workflows_sql.h"

typedef struct lp_task_row {
    char id[LP_DB_UUID_LEN];
    char team_id[LP_DB_UUID_LEN];
    char workflow_id[LP_DB_UUID_LEN];
    char item_id[LP_DB_UUID_LEN];
    char *stage;                         /* arena */
    char *state;                         /* arena */
    char assignee_id[LP_DB_UUID_LEN];    /* "" = unassigned */
    char claim_expires_at[LP_DB_TIME_LEN]; /* "" = none (a manager's assignment never lapses) */
    bool claim_lapsed;                   /* assigned by a claim that has expired: open again */
    int64_t priority;
    char stage_entered_at[LP_DB_TIME_LEN];
    char created_at[LP_DB_TIME_LEN];
    char updated_at[LP_DB_TIME_LEN];
} lp_task_row;

/* One step of a task's history (NULL members: absent): a task_history row,
 * or one hop of its route (action "route", no actor; id and time its row's). */
typedef struct lp_task_history_row {
    int64_t id;
    char *action, *actor_id, *subject_id, *from_stage, *from_state, *to_stage, *to_state, *port, *comment;
    char at[LP_DB_TIME_LEN];
} lp_task_history_row;

/* One annotator's seat on a consensus stage. */
typedef struct lp_task_consensus_row {
    char user_id[LP_DB_UUID_LEN];
    char *stage;                         /* arena */
    char claimed_at[LP_DB_TIME_LEN];
    char claim_expires_at[LP_DB_TIME_LEN]; /* "" = none */
    char submitted_at[LP_DB_TIME_LEN];   /* "" = not yet */
    char *annotations;                   /* arena: JSON array text; NULL until submitted */
    bool has_agreement;
    double agreement;
} lp_task_consensus_row;

/* Reads a task of the team. lock: 1 takes FOR UPDATE on its row (call
 * inside a transaction). 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_task_get(lp_db *db, lp_arena *a, const char *team_id, const char *task_id, int lock, lp_task_row *out,
                   lp_error *err);

/* Opens an action on a task of the team, in one statement (call inside a
 * transaction): the task, locked FOR UPDATE, and the current version of its
 * workflow in head, whose row it takes FOR SHARE first (so that a new
 * version waits for the action, as lp_wf_load with lock). 0, or -1 with
 * LP_E_NOT_FOUND naming the task. */
int lp_db_task_open(lp_db *db, lp_arena *a, const char *team_id, const char *task_id, lp_workflow_head *head,
                    lp_task_row *out, lp_error *err);

/* The task's history, oldest first, each row's route expanded into its
 * hops after it (*out new in a). 0 or -1. */
int lp_db_task_history(lp_db *db, lp_arena *a, const char *task_id, lp_task_history_row **out, size_t *n,
                       lp_error *err);

/* Who made the last "submit" of the task, into user_id ("" when none):
 * the subject of an approve or reject. 0 or -1. */
int lp_db_task_last_submitter(lp_db *db, const char *task_id, char user_id[LP_DB_UUID_LEN], lp_error *err);

/* ---- claiming and assignment ------------------------------------------------- */

/* What lp_db_task_claim_next found. */
typedef enum lp_task_claim_result {
    LP_TASK_CLAIMED = 0,   /* a new claim: out filled */
    LP_TASK_OWN,           /* the caller's own unexpired claim on the stage, renewed: out filled */
    LP_TASK_NONE,          /* no open task */
    LP_TASK_AT_LIMIT       /* the caller already holds max_open open tasks of the stage */
} lp_task_claim_result;

/* Claims the next open task of (workflow, stage) for user_id with one
 * statement: the caller's own unexpired claim on that stage first (its
 * expiry renewed), else the open task with the highest priority, then the
 * oldest (created_at, id) — open meaning unassigned or with a lapsed claim —
 * locked FOR UPDATE SKIP LOCKED, so concurrent claimers never get the same
 * task. The claim expires ttl_ms from now; a new claim writes a "claim"
 * history row and a task.assigned event. max_open > 0: no new claim while
 * user_id holds that many unexpired tasks of the stage (claims and
 * assignments). version > 0: only while the team's workflow is at that
 * version (else LP_TASK_NONE and nothing done), so that a caller may claim
 * on a graph it kept without reading the workflow first; 0: unchecked. Call
 * inside a transaction. Returns an lp_task_claim_result, or -1. */
int lp_db_task_claim_next(lp_db *db, lp_arena *a, const char *team_id, const char *workflow_id, const char *stage,
                          const char *user_id, int64_t ttl_ms, int64_t max_open, int version, lp_task_row *out,
                          lp_error *err);

/* Assigns the task to user_id (NULL: unassigns it) on behalf of actor_id:
 * no expiry (a manager's assignment does not lapse). Writes an "assign" /
 * "unassign" history row (subject_id = the assignee) and a task.assigned
 * event. The caller has locked the task. out gets the task as it is now.
 * 0, or -1. */
int lp_db_task_assign(lp_db *db, lp_arena *a, const char *team_id, const char *task_id, const char *user_id,
                      const char *actor_id, lp_task_row *out, lp_error *err);

/* Sets the task's state (one of its stage's states: the caller checks) on
 * behalf of actor_id; a "state" history row and a task.state_changed event
 * when it changes. out gets the task as it is now. 0 or -1. */
int lp_db_task_set_state(lp_db *db, lp_arena *a, const char *team_id, const char *task_id, const char *state,
                         const char *actor_id, lp_task_row *out, lp_error *err);

/* Activity on the item by user_id (saved annotations): renews user_id's
 * expiring claim on the item's task to ttl_ms from now. Returns 1 when a
 * claim was renewed, 0 when there was none, -1 on failure. */
int lp_db_task_renew_claim(lp_db *db, const char *team_id, const char *item_id, const char *user_id, int64_t ttl_ms,
                           lp_error *err);

/* ---- consensus ---------------------------------------------------------------- */

/* Takes a seat for user_id on the next task of consensus stage (workflow,
 * stage) that has fewer than annotators seats held (submitted, or claimed
 * and unexpired) and none of user_id's — highest priority, then oldest,
 * FOR UPDATE SKIP LOCKED on the task. The caller's own unsubmitted,
 * unexpired seat on the stage comes first (renewed: LP_TASK_OWN). A lapsed,
 * unsubmitted seat of someone else on the chosen task is given up. A new
 * seat writes a "claim" history row and a task.assigned event. Returns an
 * lp_task_claim_result (never AT_LIMIT), or -1. */
int lp_db_task_consensus_claim(lp_db *db, lp_arena *a, const char *team_id, const char *workflow_id,
                               const char *stage, const char *user_id, int annotators, int64_t ttl_ms,
                               lp_task_row *out, lp_error *err);

/* Every seat on the task (all its consensus stages), oldest first. */
int lp_db_task_consensus_list(lp_db *db, lp_arena *a, const char *task_id, lp_task_consensus_row **out, size_t *n,
                              lp_error *err);

/* Stores user_id's work (a JSON array of annotation objects) on their seat
 * of (task, stage) and marks it submitted; a "submit" history row. Returns
 * the number of seats of the stage submitted so far (>= 1); 0 when user_id
 * holds no unsubmitted seat there (nothing written); -1 on failure. */
int64_t lp_db_task_consensus_submit(lp_db *db, const char *task_id, const char *team_id, const char *workflow_id,
                                    const char *stage, const char *user_id, const char *annotations_json,
                                    lp_error *err);

/* Stores each annotator's agreement: user_ids_json and agreements_json are
 * JSON arrays of the same length. 0 or -1. */
int lp_db_task_consensus_agreements(lp_db *db, const char *task_id, const char *stage, const char *user_ids_json,
                                    const char *agreements_json, lp_error *err);

/* ---- bulk changes by filter ----------------------------------------------------- */

/* Which tasks (of one workflow of the team). Unset members do not filter. */
typedef struct lp_task_filter {
    const char *team_id;
    const char *workflow_id;             /* required */
    const char *stage;
    const char *state;
    const char *assignee_id;             /* a user id */
    bool unassigned;                     /* only tasks nobody holds */
    const char *task_ids_json;           /* JSON array of UUIDs, or NULL */
    const char *item_ids_json;           /* JSON array of UUIDs, or NULL */
} lp_task_filter;

typedef enum lp_tasks_op { LP_TASKS_SEND_TO_STAGE = 0, LP_TASKS_SET_STATE, LP_TASKS_ASSIGN } lp_tasks_op;

typedef struct lp_tasks_change {
    lp_tasks_op op;
    const char *to_stage;                /* SEND_TO_STAGE: a stage where tasks rest */
    const char *to_state;                /* SEND_TO_STAGE: its first state; SET_STATE: a state of filter.stage */
    const char *user_id;                 /* ASSIGN: NULL unassigns */
    const char *actor_id;                /* who asked; may be NULL */
} lp_tasks_change;

/* Number of tasks the filter selects, counting at most up to limit (0 =
 * all). -1 on failure. */
int64_t lp_db_tasks_count(lp_db *db, const lp_task_filter *f, int64_t limit, lp_error *err);

/* Applies change to the selected tasks with one statement: the tasks, a
 * history row each ("move", "state", "assign"/"unassign") and an event each
 * (task.stage_changed, task.state_changed, task.assigned); tasks already as
 * asked are left alone. cursor NULL: every selected task; else the next at
 * most batch tasks in id order after *cursor ("" = from the start), and
 * *cursor moves past them. Returns the number of tasks selected by this call
 * (a batch shorter than batch is the last), or -1. */
int64_t lp_db_tasks_apply(lp_db *db, const lp_task_filter *f, const lp_tasks_change *change,
                          char cursor[LP_DB_UUID_LEN], int64_t batch, lp_error *err);

#endif
