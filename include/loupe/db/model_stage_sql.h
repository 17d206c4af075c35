/* Statements about the tasks waiting on workflow model stages
 * (src/db/model_stage_sql.c, migrations/0040_model_stage.sql): which run
 * will move each one on. */
#ifndef LOUPE_DB_MODEL_STAGE_SQL_H
#define LOUPE_DB_MODEL_STAGE_SQL_H

#include <stddef.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/teams_sql.h"

/* A task resting on a model stage. */
typedef struct lp_model_stage_task {
    char task_id[LP_DB_UUID_LEN];
    char item_id[LP_DB_UUID_LEN];
    const char *state;            /* arena */
    char stage_entered_at[32];
} lp_model_stage_task;

/* Of the n task ids, those of the workflow resting on stage, in id order. 0 or -1. */
int lp_db_model_stage_resting(lp_db *db, lp_arena *a, const char *workflow_id, const char *stage,
                              const char *const *task_ids, size_t n, lp_model_stage_task **out, size_t *nout,
                              lp_error *err);

/* Records that job_id moves the n tasks on (a task's earlier record is
 * replaced). 0 or -1. */
int lp_db_model_stage_wait(lp_db *db, lp_arena *a, const char *job_id, const char *team_id, const char *workflow_id,
                           const char *stage, const char *const *task_ids, size_t n, lp_error *err);

/* Inside a transaction: the tasks job_id is to move on that still rest on
 * the stage it was recorded for, locked FOR UPDATE, in id order. 0 or -1. */
int lp_db_model_stage_claim(lp_db *db, lp_arena *a, const char *job_id, lp_model_stage_task **out, size_t *n,
                            lp_error *err);

/* Forgets job_id's records (its tasks have moved on, or left). 0 or -1. */
int lp_db_model_stage_done(lp_db *db, const char *job_id, lp_error *err);

/* The run a task waits for on a model stage: its job's id, status and
 * error (NULL when none). 1 when the task waits for one, 0 when not, -1 on
 * error. */
int lp_db_model_stage_run_of(lp_db *db, lp_arena *a, const char *task_id, char job_id[LP_DB_UUID_LEN],
                             const char **status, const char **error, lp_error *err);

#endif
