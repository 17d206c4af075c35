/* Statements about workflows, their versions and datasets, and the
 * set-based task statements of the workflow engine (src/db/workflows_sql.c).
 *
 * Every statement about many tasks or items takes them as arrays (one
 * statement whatever their number, never one round trip per row). Every
 * statement is scoped by team. Strings in rows are copied into the caller's
 * arena; timestamps are RFC 3339 UTC with milliseconds. */
#ifndef LOUPE_DB_WORKFLOWS_SQL_H
#define LOUPE_DB_WORKFLOWS_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/db/items_sql.h"
#include "loupe/db/teams_sql.h"

/* ---- Workflows ------------------------------------------------------------- */

typedef struct lp_workflow_row {
    char id[LP_DB_UUID_LEN];
    char team_id[LP_DB_UUID_LEN];
    char *name;                   /* arena */
    int version;
    int64_t seed;
    char *definition;             /* arena: JSON object text {"stages", "edges"} */
    char *dataset_ids;            /* arena: JSON array text of UUIDs, sorted */
    char created_by[LP_DB_UUID_LEN]; /* "" when unknown */
    char created_at[LP_DB_TIME_LEN];
    char updated_at[LP_DB_TIME_LEN];
} lp_workflow_row;

/* Row locks a read may take: FOR SHARE lets transitions run together and
 * makes a new version wait for them; FOR UPDATE is the new version's. */
typedef enum lp_db_lock { LP_DB_LOCK_NONE = 0, LP_DB_LOCK_SHARE, LP_DB_LOCK_UPDATE } lp_db_lock;

/* How each of n dataset ids stands for a workflow (workflow_id NULL: a new
 * one): status[i] = 0 usable, 1 not a live dataset of the team, 2 already
 * feeds another workflow. status is the caller's (n entries). 0 or -1. */
int lp_db_workflow_datasets_check(lp_db *db, const char *team_id, const char *workflow_id,
                                  const char *const *dataset_ids, size_t n, int *status, lp_error *err);

/* Inserts a workflow at version 1 with its first version row and its
 * datasets. 0 (out filled), or -1 (LP_E_CONFLICT when a dataset was taken
 * by another workflow meanwhile: the transaction is aborted). */
int lp_db_workflow_create(lp_db *db, lp_arena *a, const char *team_id, const char *name, int64_t seed,
                          const char *definition, const char *created_by, const char *const *dataset_ids, size_t n,
                          lp_workflow_row *out, lp_error *err);

/* Reads a workflow of the team, taking lock on its row. 0, or -1 with
 * LP_E_NOT_FOUND. */
int lp_db_workflow_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_db_lock lock,
                       lp_workflow_row *out, lp_error *err);

/* What identifies a workflow's current version, without its definition. */
typedef struct lp_workflow_head {
    char id[LP_DB_UUID_LEN];
    char team_id[LP_DB_UUID_LEN];
    int version;
    int64_t seed;
} lp_workflow_head;

/* The current version of a workflow of the team, taking lock on the
 * workflow's row. 0, or -1 with LP_E_NOT_FOUND. (A task's workflow comes
 * with the task: lp_db_task_open.) */
int lp_db_workflow_head(lp_db *db, const char *team_id, const char *workflow_id, lp_db_lock lock,
                        lp_workflow_head *out, lp_error *err);

/* The team's workflows in (created_at, id) order after (after_created,
 * after_id) when both are given; at most limit rows. 0 or -1. */
int lp_db_workflow_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_created, const char *after_id,
                        int64_t limit, lp_workflow_row **out, size_t *n, lp_error *err);

/* Stores a new version: name, definition and datasets replaced, version + 1,
 * a version row by updated_by. 0 (out filled), or -1 (LP_E_NOT_FOUND,
 * LP_E_CONFLICT as for create). */
int lp_db_workflow_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, const char *name,
                          const char *definition, const char *updated_by, const char *const *dataset_ids, size_t n,
                          lp_workflow_row *out, lp_error *err);

/* Deletes a workflow with its tasks, versions, inbox rows and dataset links
 * (items stay). 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_workflow_delete(lp_db *db, const char *team_id, const char *id, lp_error *err);

/* ---- Counts and statistics --------------------------------------------------- */

typedef struct lp_wf_count_row {
    char *stage;                  /* arena */
    char *state;                  /* arena */
    int64_t count;
} lp_wf_count_row;

/* Tasks of a workflow per stage and state (only those with tasks), in
 * (stage, state) order: the rows of workflow_task_counts, which triggers on
 * tasks keep exact in every transaction. 0 or -1. */
int lp_db_workflow_board(lp_db *db, lp_arena *a, const char *workflow_id, lp_wf_count_row **out, size_t *n,
                         lp_error *err);

typedef struct lp_wf_stats_row {
    char user_id[LP_DB_UUID_LEN];
    int64_t submitted;            /* submit actions by the user */
    int64_t approved, rejected;   /* reviews of the user's work */
    double median_s;              /* median time in stage of the user's submits; < 0 = none */
    double agreement;             /* mean consensus agreement; < 0 = none */
} lp_wf_stats_row;

/* Per-user numbers of a workflow between from and to (RFC 3339, inclusive
 * from, exclusive to; NULL = unbounded), in user id order. 0 or -1. */
int lp_db_workflow_stats(lp_db *db, lp_arena *a, const char *workflow_id, const char *from, const char *to,
                         lp_wf_stats_row **out, size_t *n, lp_error *err);

/* ---- What routing reads of items ---------------------------------------------- */

/* Which of the optional facts to read (the cheap ones always come). */
enum {
    LP_DB_WF_CLASSES = 1 << 0,    /* class_ids */
    LP_DB_WF_PROPS = 1 << 1,      /* annotation property values */
    LP_DB_WF_METADATA = 1 << 2,   /* metadata */
    LP_DB_WF_SLOT_TYPES = 1 << 3  /* slot types */
};

/* An item as the engine reads it, with its task when it has one. */
typedef struct lp_wf_item_row {
    char item_id[LP_DB_UUID_LEN];
    char task_id[LP_DB_UUID_LEN]; /* "" when the item has no task */
    char *state;                  /* arena: the task's state; NULL without a task */
    char task_entered_at[LP_DB_TIME_LEN]; /* the task's stage_entered_at; "" without a task */
    char *name, *path;            /* arena */
    int64_t priority;
    int64_t annotation_count;
    const char **class_ids;       /* arena (LP_DB_WF_CLASSES) */
    size_t nclass_ids;
    const char **prop_names;      /* arena (LP_DB_WF_PROPS): pairs name/value, values as text */
    const char **prop_values;
    size_t nprops;
    char *metadata;               /* arena: JSON object text (LP_DB_WF_METADATA), else NULL */
    const char **slot_types;      /* arena (LP_DB_WF_SLOT_TYPES) */
    size_t nslot_types;
} lp_wf_item_row;

/* Items the filter selects that belong to a dataset feeding workflow_id and
 * have no task yet, in (created_at, id) order; at most limit (0 = all). */
int lp_db_wf_items_by_filter(lp_db *db, lp_arena *a, const lp_item_filter *f, const char *workflow_id,
                             unsigned want, int64_t limit, lp_wf_item_row **out, size_t *n, lp_error *err);

/* How many items lp_db_wf_items_by_filter would read, counting at most up
 * to limit (0 = all). -1 on failure. */
int64_t lp_db_wf_items_count(lp_db *db, const lp_item_filter *f, const char *workflow_id, int64_t limit,
                             lp_error *err);

/* The items among ids (of the team) that belong to a dataset feeding
 * workflow_id and have no task yet, in the order of ids. */
int lp_db_wf_items_by_ids(lp_db *db, lp_arena *a, const char *team_id, const char *workflow_id,
                          const char *const *item_ids, size_t n, unsigned want, lp_wf_item_row **out, size_t *nout,
                          lp_error *err);

/* The items of n tasks of the workflow, with the tasks' state: out[i] for
 * task_ids[i] (the caller holds the tasks locked). -1 with LP_E_NOT_FOUND
 * when one is missing. */
int lp_db_wf_items_by_tasks(lp_db *db, lp_arena *a, const char *workflow_id, const char *const *task_ids, size_t n,
                            unsigned want, lp_wf_item_row *out, lp_error *err);

/* ---- Tasks, many at once ------------------------------------------------------- */

/* One of the few routes the tasks entering together take: where they rest
 * and what each task that takes it records. */
typedef struct lp_wf_entry_route {
    const char *stage, *state;    /* where the task rests, in which state */
    const char *route;            /* history: the hops from the entry stage (JSON array), or NULL */
    const char *created;          /* data of the task.created event (JSON object) */
    const char *events;           /* further events, [{"type", "data"}] (JSON array), or NULL */
} lp_wf_entry_route;

/* Items enter, in one statement: task i (id task_ids[i], made by the
 * caller: lp_uuid_v7) for item_ids[i] rests where route route_nos[i] (1 +
 * an index into routes, as text) ends, with the item's priority; its
 * "created" history row by actor_id (NULL: the workflow) at the entry
 * stage, with the route's hops; its task.created event (id event_ids[i])
 * and the route's further events. Items that have a task already are
 * skipped, with their rows. Returns the number of tasks created, or -1. */
int64_t lp_db_wf_tasks_enter(lp_db *db, const char *team_id, const char *workflow_id, const char *actor_id,
                             const char *entry_stage, const char *entry_state, const char *const *task_ids,
                             const char *const *item_ids, const char *const *route_nos,
                             const char *const *event_ids, size_t n, const lp_wf_entry_route *routes,
                             size_t nroutes, lp_error *err);

/* A task of a stage that a new version changes. */
typedef struct lp_wf_task_ref {
    char task_id[LP_DB_UUID_LEN];
    char item_id[LP_DB_UUID_LEN];
    char *stage;                  /* arena */
    char *state;                  /* arena: before the change */
    char *new_state;              /* arena: lp_db_wf_tasks_reset_states only */
} lp_wf_task_ref;

/* Tasks of the workflow on any of n stages, locked FOR UPDATE, in (stage,
 * created_at, id) order. 0 or -1. */
int lp_db_wf_tasks_on_stages(lp_db *db, lp_arena *a, const char *workflow_id, const char *const *stages, size_t n,
                             lp_wf_task_ref **out, size_t *nout, lp_error *err);

/* For each of n stages, tasks in a state not among states_json[i] (a JSON
 * array of the stage's states) go to first_states[i]; the tasks changed are
 * returned. 0 or -1. */
int lp_db_wf_tasks_reset_states(lp_db *db, lp_arena *a, const char *workflow_id, const char *const *stages,
                                const char *const *first_states, const char *const *states_json, size_t n,
                                lp_wf_task_ref **out, size_t *nout, lp_error *err);

/* ---- History and events ------------------------------------------------------- */

/* One task_history row; NULL members are SQL NULL. */
typedef struct lp_wf_history_row {
    const char *task_id;
    const char *action;
    const char *actor_id, *subject_id;
    const char *from_stage, *from_state, *to_stage, *to_state;
    const char *port;
    const char *comment;
    const char *stage_entered_at; /* RFC 3339 when the task entered from_stage; NULL = now */
    const char *route;            /* JSON array of the hops the workflow made after this step
                                   * ({"from_stage", "from_state", "port", "to_stage", "to_state"}), or NULL */
} lp_wf_history_row;

/* One event row: its id (NULL: the database makes one), type
 * ("task.created"), the item and task, data (a JSON object text). */
typedef struct lp_wf_event_row {
    const char *id;
    const char *type;
    const char *item_id, *task_id;
    const char *data;
} lp_wf_event_row;

/* What one transition of many tasks writes, in one statement: tasks
 * placed (task_ids[i] on stages[i] in states[i], unassigned, entered now;
 * nplace may be 0), history rows and events appended in order. */
typedef struct lp_wf_writes {
    const char *const *task_ids, *const *stages, *const *states;
    size_t nplace;
    const lp_wf_history_row *hist;
    size_t nhist;
    const lp_wf_event_row *ev;
    size_t nev;
} lp_wf_writes;

/* Writes w for the workflow's tasks (team_id, workflow_id on every row);
 * when placed is not NULL and w places tasks, the first one placed is read
 * back into it as it is now (strings in a). 0 or -1. */
struct lp_task_row; /* loupe/db/tasks_sql.h */
int lp_db_wf_write(lp_db *db, lp_arena *a, const char *team_id, const char *workflow_id, const lp_wf_writes *w,
                   struct lp_task_row *placed, lp_error *err);

/* ---- The inbox of the workflow router ------------------------------------------ */

/* The channel the items trigger notifies when it queues an item. */
#define LP_DB_WORKFLOW_INBOX_CHANNEL "loupe_workflow_inbox"

typedef struct lp_wf_inbox_row {
    char item_id[LP_DB_UUID_LEN];
    char team_id[LP_DB_UUID_LEN];
    char workflow_id[LP_DB_UUID_LEN];
} lp_wf_inbox_row;

/* Takes at most limit inbox rows of one workflow (the oldest row's), locked
 * with SKIP LOCKED and deleted; they come back in the caller's transaction
 * (roll back to give them back). 0 (*n may be 0) or -1. */
int lp_db_wf_inbox_take(lp_db *db, lp_arena *a, int64_t limit, lp_wf_inbox_row **out, size_t *n, lp_error *err);

/* ---- An item's task -------------------------------------------------------------- */

/* (lp_item_task_row is in items_sql.h: an item row carries its task.) */

/* The task of an item of the team: 0 (out filled), 1 when it has none, -1. */
int lp_db_item_task(lp_db *db, lp_arena *a, const char *team_id, const char *item_id, lp_item_task_row *out,
                    lp_error *err);

/* Fills rows[i].task (new in a; NULL for an item in no workflow) and sets
 * rows[i].task_known, for n rows with one statement. 0 or -1. */
int lp_db_items_load_tasks(lp_db *db, lp_arena *a, lp_item_row *rows, size_t n, lp_error *err);

#endif
