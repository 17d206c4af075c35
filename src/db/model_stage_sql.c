/* Statements about the tasks waiting on workflow model stages. See
 * loupe/db/model_stage_sql.h. */
#include "loupe/db/model_stage_sql.h"

#include <string.h>

#include "db_int.h"

#define TASK_COLUMNS "t.id, t.item_id, t.state, " LP_SQL_TS("t.stage_entered_at")

static int read_task(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_model_stage_task *out = dst;
    lp_db_text_copy(out->task_id, sizeof out->task_id, r, row, 0);
    lp_db_text_copy(out->item_id, sizeof out->item_id, r, row, 1);
    out->state = lp_db_text(a, r, row, 2);
    lp_db_text_copy(out->stage_entered_at, sizeof out->stage_entered_at, r, row, 3);
    return out->state ? 0 : lp_error_set(err, LP_E_NOMEM, "out of memory reading tasks");
}

int lp_db_model_stage_resting(lp_db *db, lp_arena *a, const char *workflow_id, const char *stage,
                              const char *const *task_ids, size_t n, lp_model_stage_task **out, size_t *nout,
                              lp_error *err)
{
    const char *ids = lp_db_array_literal(a, task_ids, n);
    const char *p[3] = {workflow_id, stage, ids};
    if (!ids)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading tasks");
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " TASK_COLUMNS " FROM tasks t WHERE t.id = ANY($3::uuid[]) "
                                  "AND t.workflow_id = $1 AND t.stage = $2 ORDER BY t.id",
                                  3, p, err),
                      sizeof **out, read_task, "tasks", nout, err);
    return *out ? 0 : -1;
}

int lp_db_model_stage_wait(lp_db *db, lp_arena *a, const char *job_id, const char *team_id, const char *workflow_id,
                           const char *stage, const char *const *task_ids, size_t n, lp_error *err)
{
    const char *ids = lp_db_array_literal(a, task_ids, n);
    const char *p[5] = {job_id, team_id, workflow_id, stage, ids};
    if (!ids)
        return lp_error_set(err, LP_E_NOMEM, "out of memory recording a model run");
    return lp_db_exec(db,
                      "INSERT INTO model_stage_tasks (task_id, job_id, team_id, workflow_id, stage) "
                      "SELECT t, $1, $2, $3, $4 FROM unnest($5::uuid[]) t "
                      "ON CONFLICT (task_id) DO UPDATE SET job_id = EXCLUDED.job_id, team_id = EXCLUDED.team_id, "
                      "workflow_id = EXCLUDED.workflow_id, stage = EXCLUDED.stage, created_at = now()",
                      5, p, err) < 0
               ? -1
               : 0;
}

int lp_db_model_stage_claim(lp_db *db, lp_arena *a, const char *job_id, lp_model_stage_task **out, size_t *n,
                            lp_error *err)
{
    const char *p[1] = {job_id};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " TASK_COLUMNS " FROM model_stage_tasks m "
                                  "JOIN tasks t ON t.id = m.task_id AND t.workflow_id = m.workflow_id "
                                  "AND t.stage = m.stage WHERE m.job_id = $1 ORDER BY t.id FOR UPDATE OF t",
                                  1, p, err),
                      sizeof **out, read_task, "tasks", n, err);
    return *out ? 0 : -1;
}

int lp_db_model_stage_done(lp_db *db, const char *job_id, lp_error *err)
{
    const char *p[1] = {job_id};
    return lp_db_exec(db, "DELETE FROM model_stage_tasks WHERE job_id = $1", 1, p, err) < 0 ? -1 : 0;
}

int lp_db_model_stage_run_of(lp_db *db, lp_arena *a, const char *task_id, char job_id[LP_DB_UUID_LEN],
                             const char **status, const char **error, lp_error *err)
{
    const char *p[1] = {task_id};
    PGresult *r = lp_db_query(db,
                              "SELECT j.id, j.status, j.error FROM model_stage_tasks m "
                              "JOIN tasks t ON t.id = m.task_id AND t.stage = m.stage "
                              "JOIN jobs j ON j.id = m.job_id WHERE m.task_id = $1",
                              1, p, err);
    int found;
    if (!r)
        return -1;
    found = PQntuples(r) > 0;
    if (found) {
        lp_db_text_copy(job_id, LP_DB_UUID_LEN, r, 0, 0);
        *status = lp_db_text(a, r, 0, 1);
        *error = PQgetisnull(r, 0, 2) ? NULL : lp_db_text(a, r, 0, 2);
    }
    PQclear(r);
    return found;
}
