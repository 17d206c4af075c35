/* Statements about tasks. See loupe/db/tasks_sql.h.
 *
 * Each change is one statement: data-modifying CTEs update the tasks and
 * append their task_history rows and events together. */
#include "loupe/db/tasks_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "loupe/core/util.h"

/* A claim's expiry, ttl milliseconds ($n) from now. */
#define EXPIRY(n) "now() + " n "::bigint * interval '1 millisecond'"

int lp_db_read_task(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_task_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->team_id, sizeof out->team_id, r, row, 1);
    lp_db_text_copy(out->workflow_id, sizeof out->workflow_id, r, row, 2);
    lp_db_text_copy(out->item_id, sizeof out->item_id, r, row, 3);
    out->stage = lp_db_text(a, r, row, 4);
    out->state = lp_db_text(a, r, row, 5);
    lp_db_text_copy(out->assignee_id, sizeof out->assignee_id, r, row, 6);
    lp_db_text_copy(out->claim_expires_at, sizeof out->claim_expires_at, r, row, 7);
    out->claim_lapsed = lp_db_bool(r, row, 8);
    out->priority = lp_db_int_or(r, row, 9, 0);
    lp_db_text_copy(out->stage_entered_at, sizeof out->stage_entered_at, r, row, 10);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 11);
    lp_db_text_copy(out->updated_at, sizeof out->updated_at, r, row, 12);
    if (!out->stage || !out->state)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading task %s", out->id);
    return 0;
}

int lp_db_task_get(lp_db *db, lp_arena *a, const char *team_id, const char *task_id, int lock, lp_task_row *out,
                   lp_error *err)
{
    const char *p[2] = {team_id, task_id};
    const char *sql = lock ? "SELECT " LP_DB_TASK_COLUMNS("t") " FROM tasks t WHERE t.team_id = $1 AND t.id = $2 FOR UPDATE"
                           : "SELECT " LP_DB_TASK_COLUMNS("t") " FROM tasks t WHERE t.team_id = $1 AND t.id = $2";
    return lp_db_one_found(a, lp_db_query(db, sql, 2, p, err), lp_db_read_task, out, err, "task %s not found", task_id);
}

/* A task row (lp_db_read_task) followed by its workflow's head. */
typedef struct task_and_head {
    lp_task_row *task;
    lp_workflow_head *head;
} task_and_head;

static int read_task_and_head(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    task_and_head *out = dst;
    return lp_db_read_task(a, r, row, out->task, err) != 0 ? -1
                                                     : lp_db_read_workflow_head(r, row, LP_DB_TASK_NCOLUMNS, out->head);
}

int lp_db_task_open(lp_db *db, lp_arena *a, const char *team_id, const char *task_id, lp_workflow_head *head,
                    lp_task_row *out, lp_error *err)
{
    const char *p[2] = {team_id, task_id};
    task_and_head both = {out, head};
    if (!task_id || !lp_is_uuid(task_id))
        return lp_error_set(err, LP_E_NOT_FOUND, "task %s not found", task_id ? task_id : "(none)");
    /* Row locks are taken in the order of the locking clauses: the
     * workflow's first, as a PUT of a new version takes it. */
    return lp_db_one_found(a,
                           lp_db_query(db,
                                       "SELECT " LP_DB_TASK_COLUMNS("t") ", " LP_DB_WORKFLOW_HEAD_COLUMNS("w") " "
                                       "FROM tasks t JOIN workflows w ON w.id = t.workflow_id AND w.team_id = $1 "
                                       "WHERE t.team_id = $1 AND t.id = $2 FOR SHARE OF w FOR UPDATE OF t",
                                       2, p, err),
                           read_task_and_head, &both, err, "task %s not found", task_id);
}

static int read_history(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_task_history_row *out = dst;
    char **cols[9] = {&out->action,     &out->actor_id, &out->subject_id, &out->from_stage, &out->from_state,
                      &out->to_stage,   &out->to_state, &out->port,       &out->comment};
    out->id = lp_db_int_or(r, row, 0, 0);
    for (int c = 0; c < 9; c++)
        if (!PQgetisnull(r, row, c + 1) && !(*cols[c] = lp_db_text(a, r, row, c + 1)))
            return lp_error_set(err, LP_E_NOMEM, "out of memory reading a task's history");
    lp_db_text_copy(out->at, sizeof out->at, r, row, 10);
    return 0;
}

int lp_db_task_history(lp_db *db, lp_arena *a, const char *task_id, lp_task_history_row **out, size_t *n,
                       lp_error *err)
{
    const char *p[1] = {task_id};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  /* a row, then the hops of its route (migrations/0017) */
                                  "SELECT h.id, s.action, s.actor_id, s.subject_id, s.from_stage, s.from_state, "
                                  "s.to_stage, s.to_state, s.port, s.comment, " LP_SQL_TS("h.at") " "
                                  "FROM task_history h CROSS JOIN LATERAL ("
                                  "  SELECT 0::bigint AS k, h.action, h.actor_id, h.subject_id, h.from_stage, "
                                  "  h.from_state, h.to_stage, h.to_state, h.port, h.comment "
                                  "  UNION ALL SELECT r.k, 'route', NULL, NULL, r.hop ->> 'from_stage', "
                                  "  r.hop ->> 'from_state', r.hop ->> 'to_stage', r.hop ->> 'to_state', "
                                  "  r.hop ->> 'port', NULL "
                                  "  FROM jsonb_array_elements(h.route) WITH ORDINALITY AS r(hop, k)) s "
                                  "WHERE h.task_id = $1 ORDER BY h.id, s.k",
                                  1, p, err),
                      sizeof **out, read_history, "history rows", n, err);
    return *out ? 0 : -1;
}

int lp_db_task_last_submitter(lp_db *db, const char *task_id, char user_id[LP_DB_UUID_LEN], lp_error *err)
{
    const char *p[1] = {task_id};
    PGresult *r = lp_db_query(db,
                              "SELECT actor_id FROM task_history WHERE task_id = $1 AND action = 'submit' "
                              "ORDER BY id DESC LIMIT 1",
                              1, p, err);
    user_id[0] = '\0';
    if (!r)
        return -1;
    if (PQntuples(r) == 1)
        lp_db_text_copy(user_id, LP_DB_UUID_LEN, r, 0, 0);
    PQclear(r);
    return 0;
}

/* ---- claiming and assignment ------------------------------------------------- */

/* Reads the row of a claim statement: the task, then whether it was the
 * caller's own. */
static int claim_result(lp_arena *a, PGresult *r, lp_task_row *out, lp_error *err)
{
    int rc;
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return LP_TASK_NONE;
    }
    if (lp_db_read_task(a, r, 0, out, err) != 0)
        rc = -1;
    else
        rc = lp_db_bool(r, 0, LP_DB_TASK_NCOLUMNS) ? LP_TASK_OWN : LP_TASK_CLAIMED;
    PQclear(r);
    return rc;
}

/* The history row and event of a new claim, for the rows of CTE `claimed`
 * (tasks columns plus a boolean own), by user $4. */
#define CLAIM_RECORDS                                                                                             \
    "hist AS (INSERT INTO task_history (task_id, team_id, workflow_id, action, actor_id, subject_id, "           \
    "  from_stage, from_state, stage_entered_at) "                                                             \
    "  SELECT id, team_id, workflow_id, 'claim', $4, $4, stage, state, stage_entered_at FROM claimed "           \
    "  WHERE NOT own), "                                                                                         \
    "ev AS (INSERT INTO events (team_id, type, workflow_id, item_id, task_id, data) "                           \
    "  SELECT team_id, 'task.assigned', workflow_id, item_id, id, "                                             \
    "  jsonb_build_object('assignee_id', $4::uuid, 'stage', stage) FROM claimed WHERE NOT own) "

int lp_db_task_claim_next(lp_db *db, lp_arena *a, const char *team_id, const char *workflow_id, const char *stage,
                          const char *user_id, int64_t ttl_ms, int64_t max_open, int version, lp_task_row *out,
                          lp_error *err)
{
    char ttl[24], lim[24], ver[16];
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    snprintf(lim, sizeof lim, "%lld", (long long)max_open);
    snprintf(ver, sizeof ver, "%d", version > 0 ? version : 0);
    const char *p[7] = {team_id, workflow_id, stage, user_id, ttl, lim, ver};
    /* the generic plan: planning this statement costs more than running it */
    int rc = claim_result(
        a,
        lp_db_query_generic(
            db,
            "WITH cur AS (SELECT $7::int = 0 OR EXISTS (SELECT 1 FROM workflows "
            "  WHERE id = $2 AND team_id = $1 AND version = $7::int) AS ok), "
            "mine AS ("
            "  SELECT id FROM tasks WHERE team_id = $1 AND workflow_id = $2 AND stage = $3 AND assignee_id = $4 "
            "  AND claim_expires_at >= now() AND (SELECT ok FROM cur) "
            "  ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE), "
            "held AS ("
            "  SELECT count(*) AS n FROM tasks WHERE assignee_id = $4 AND workflow_id = $2 AND stage = $3 "
            "  AND (claim_expires_at IS NULL OR claim_expires_at >= now())), "
            "go AS (SELECT (SELECT ok FROM cur) AND NOT EXISTS (SELECT 1 FROM mine) "
            "  AND ($6::bigint = 0 OR (SELECT n FROM held) < $6::bigint) AS ok),  "
            "free AS ("
            "  SELECT id, priority, created_at FROM tasks "
            "  WHERE team_id = $1 AND workflow_id = $2 AND stage = $3 AND assignee_id IS NULL "
            "  AND (SELECT ok FROM go) "
            "  ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED), "
            "lapsed AS ("
            "  SELECT id, priority, created_at FROM tasks "
            "  WHERE claim_expires_at < now() AND team_id = $1 AND workflow_id = $2 AND stage = $3 "
            "  AND (SELECT ok FROM go) "
            "  ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED), "
            "chosen AS ("
            "  SELECT id, true AS own FROM mine "
            "  UNION ALL (SELECT id, false FROM (SELECT * FROM free UNION ALL SELECT * FROM lapsed) c "
            "             ORDER BY priority DESC, created_at, id LIMIT 1)), "
            "claimed AS ("
            "  UPDATE tasks t SET assignee_id = $4, claim_expires_at = " EXPIRY("$5") ", updated_at = now() "
            "  FROM chosen WHERE t.id = chosen.id RETURNING t.*, chosen.own), " CLAIM_RECORDS
            "SELECT " LP_DB_TASK_COLUMNS("claimed") ", own FROM claimed",
            7, p, err),
        out, err);
    if (rc != LP_TASK_NONE || max_open <= 0 || version > 0)
        return rc; /* a checked version: the caller reads the workflow and asks again */
    /* nothing claimed: because of the limit? */
    const char *q[4] = {workflow_id, stage, user_id, lim};
    int64_t held = lp_db_count(db,
                               "SELECT count(*) FROM tasks WHERE assignee_id = $3 AND workflow_id = $1 AND stage = $2 "
                               "AND (claim_expires_at IS NULL OR claim_expires_at >= now())",
                               3, q, err);
    if (held < 0)
        return -1;
    return held >= max_open ? LP_TASK_AT_LIMIT : LP_TASK_NONE;
}

int lp_db_task_assign(lp_db *db, lp_arena *a, const char *team_id, const char *task_id, const char *user_id,
                      const char *actor_id, lp_task_row *out, lp_error *err)
{
    const char *p[4] = {team_id, task_id, user_id, actor_id};
    return lp_db_one_found(
        a,
        lp_db_query(
            db,
            "WITH old AS (SELECT id, assignee_id FROM tasks WHERE team_id = $1 AND id = $2), "
            "upd AS ("
            "  UPDATE tasks t SET assignee_id = $3, claim_expires_at = NULL, updated_at = now() FROM old "
            "  WHERE t.id = old.id RETURNING t.*, old.assignee_id AS old_assignee), "
            "hist AS (INSERT INTO task_history (task_id, team_id, workflow_id, action, actor_id, subject_id, "
            "  from_stage, from_state, stage_entered_at) "
            "  SELECT id, team_id, workflow_id, CASE WHEN $3::uuid IS NULL THEN 'unassign' ELSE 'assign' END, $4, "
            "  coalesce($3::uuid, old_assignee), stage, state, stage_entered_at FROM upd), "
            "ev AS (INSERT INTO events (team_id, type, workflow_id, item_id, task_id, data) "
            "  SELECT team_id, 'task.assigned', workflow_id, item_id, id, "
            "  jsonb_build_object('assignee_id', $3::uuid, 'stage', stage) FROM upd) "
            "SELECT " LP_DB_TASK_COLUMNS("upd") " FROM upd",
            4, p, err),
        lp_db_read_task, out, err, "task %s not found", task_id);
}

int lp_db_task_set_state(lp_db *db, lp_arena *a, const char *team_id, const char *task_id, const char *state,
                         const char *actor_id, lp_task_row *out, lp_error *err)
{
    const char *p[4] = {team_id, task_id, state, actor_id};
    if (lp_db_exec(db,
                   "WITH old AS (SELECT id, state FROM tasks WHERE team_id = $1 AND id = $2 AND state <> $3), "
                   "upd AS ("
                   "  UPDATE tasks t SET state = $3, updated_at = now() FROM old WHERE t.id = old.id "
                   "  RETURNING t.*, old.state AS from_state), "
                   "hist AS (INSERT INTO task_history (task_id, team_id, workflow_id, action, actor_id, "
                   "  from_stage, from_state, to_stage, to_state, stage_entered_at) "
                   "  SELECT id, team_id, workflow_id, 'state', $4, stage, from_state, stage, state, "
                   "  stage_entered_at FROM upd) "
                   "INSERT INTO events (team_id, type, workflow_id, item_id, task_id, data) "
                   "SELECT team_id, 'task.state_changed', workflow_id, item_id, id, "
                   "jsonb_build_object('stage', stage, 'from_state', from_state, 'to_state', state) FROM upd",
                   4, p, err) < 0)
        return -1;
    return lp_db_task_get(db, a, team_id, task_id, 0, out, err);
}

int lp_db_task_renew_claim(lp_db *db, const char *team_id, const char *item_id, const char *user_id, int64_t ttl_ms,
                           lp_error *err)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    const char *p[4] = {team_id, item_id, user_id, ttl};
    int64_t n = lp_db_exec(db,
                           "UPDATE tasks SET claim_expires_at = " EXPIRY("$4") " "
                           "WHERE team_id = $1 AND item_id = $2 AND assignee_id = $3 "
                           "AND claim_expires_at IS NOT NULL",
                           4, p, err);
    return n < 0 ? -1 : n > 0;
}

/* ---- consensus ---------------------------------------------------------------- */

/* A seat of the current round: claimed since the task entered the stage. */
#define CURRENT_SEAT(c, t) c ".claimed_at >= " t ".stage_entered_at"

int lp_db_task_consensus_claim(lp_db *db, lp_arena *a, const char *team_id, const char *workflow_id,
                               const char *stage, const char *user_id, int annotators, int64_t ttl_ms,
                               lp_task_row *out, lp_error *err)
{
    char ttl[24], n[16];
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    snprintf(n, sizeof n, "%d", annotators);
    const char *p[6] = {team_id, workflow_id, stage, user_id, ttl, n};
    return claim_result(
        a,
        lp_db_query(
            db,
            "WITH mine AS ("
            "  SELECT t.id FROM task_consensus c JOIN tasks t ON t.id = c.task_id "
            "  WHERE t.team_id = $1 AND t.workflow_id = $2 AND t.stage = $3 AND c.stage = $3 AND c.user_id = $4 "
            "  AND c.submitted_at IS NULL AND c.claim_expires_at >= now() AND " CURRENT_SEAT("c", "t") " "
            "  ORDER BY c.claimed_at LIMIT 1), "
            "pick AS ("
            "  SELECT t.id FROM tasks t "
            "  WHERE t.team_id = $1 AND t.workflow_id = $2 AND t.stage = $3 AND t.assignee_id IS NULL "
            "  AND NOT EXISTS (SELECT 1 FROM mine) "
            "  AND NOT EXISTS (SELECT 1 FROM task_consensus c WHERE c.task_id = t.id AND c.stage = $3 "
            "    AND c.user_id = $4 AND " CURRENT_SEAT("c", "t") " "
            "    AND (c.submitted_at IS NOT NULL OR c.claim_expires_at >= now())) "
            "  AND (SELECT count(*) FROM task_consensus c WHERE c.task_id = t.id AND c.stage = $3 "
            "    AND " CURRENT_SEAT("c", "t") " AND (c.submitted_at IS NOT NULL OR c.claim_expires_at >= now())) "
            "    < $6::int "
            "  ORDER BY t.priority DESC, t.created_at, t.id LIMIT 1 FOR UPDATE OF t SKIP LOCKED), "
            "gone AS ("
            "  DELETE FROM task_consensus c USING pick, tasks t "
            "  WHERE c.task_id = pick.id AND t.id = pick.id AND c.stage = $3 AND c.user_id <> $4 "
            "  AND (c.claimed_at < t.stage_entered_at "
            "       OR (c.submitted_at IS NULL AND c.claim_expires_at < now()))), "
            "seat AS ("
            "  INSERT INTO task_consensus (task_id, stage, user_id, claim_expires_at) "
            "  SELECT id, $3, $4, " EXPIRY("$5") " FROM pick "
            "  ON CONFLICT (task_id, stage, user_id) DO UPDATE SET claimed_at = now(), "
            "  claim_expires_at = EXCLUDED.claim_expires_at, submitted_at = NULL, annotations = NULL, "
            "  agreement = NULL RETURNING task_id), "
            "renew AS ("
            "  UPDATE task_consensus c SET claim_expires_at = " EXPIRY("$5") " FROM mine "
            "  WHERE c.task_id = mine.id AND c.stage = $3 AND c.user_id = $4 RETURNING c.task_id), "
            "claimed AS ("
            "  SELECT t.*, false AS own FROM tasks t JOIN seat ON seat.task_id = t.id "
            "  UNION ALL SELECT t.*, true FROM tasks t JOIN renew ON renew.task_id = t.id), " CLAIM_RECORDS
            "SELECT " LP_DB_TASK_COLUMNS("claimed") ", own FROM claimed",
            6, p, err),
        out, err);
}

static int read_seat(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_task_consensus_row *out = dst;
    lp_db_text_copy(out->user_id, sizeof out->user_id, r, row, 0);
    out->stage = lp_db_text(a, r, row, 1);
    lp_db_text_copy(out->claimed_at, sizeof out->claimed_at, r, row, 2);
    lp_db_text_copy(out->claim_expires_at, sizeof out->claim_expires_at, r, row, 3);
    lp_db_text_copy(out->submitted_at, sizeof out->submitted_at, r, row, 4);
    out->annotations = PQgetisnull(r, row, 5) ? NULL : lp_db_text(a, r, row, 5);
    out->has_agreement = !PQgetisnull(r, row, 6);
    out->agreement = out->has_agreement ? strtod(PQgetvalue(r, row, 6), NULL) : 0.0;
    if (!out->stage || (!PQgetisnull(r, row, 5) && !out->annotations))
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading consensus work");
    return 0;
}

int lp_db_task_consensus_list(lp_db *db, lp_arena *a, const char *task_id, lp_task_consensus_row **out, size_t *n,
                              lp_error *err)
{
    const char *p[1] = {task_id};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT user_id, stage, " LP_SQL_TS("claimed_at") ", " LP_SQL_TS("claim_expires_at")
                                  ", " LP_SQL_TS("submitted_at") ", annotations::text, agreement "
                                  "FROM task_consensus WHERE task_id = $1 ORDER BY claimed_at, user_id",
                                  1, p, err),
                      sizeof **out, read_seat, "consensus seats", n, err);
    return *out ? 0 : -1;
}

int64_t lp_db_task_consensus_submit(lp_db *db, const char *task_id, const char *team_id, const char *workflow_id,
                                    const char *stage, const char *user_id, const char *annotations_json,
                                    lp_error *err)
{
    const char *p[6] = {task_id, team_id, workflow_id, stage, user_id, annotations_json};
    return lp_db_count(
        db,
        "WITH t AS (SELECT id, team_id, workflow_id, state, stage_entered_at FROM tasks "
        "  WHERE id = $1 AND team_id = $2 AND workflow_id = $3 AND stage = $4), "
        "s AS ("
        "  UPDATE task_consensus c SET submitted_at = now(), annotations = $6::jsonb, claim_expires_at = NULL "
        "  FROM t WHERE c.task_id = t.id AND c.stage = $4 AND c.user_id = $5 AND c.submitted_at IS NULL "
        "  AND " CURRENT_SEAT("c", "t") " RETURNING c.task_id), "
        "hist AS (INSERT INTO task_history (task_id, team_id, workflow_id, action, actor_id, from_stage, "
        "  from_state, stage_entered_at) "
        "  SELECT t.id, t.team_id, t.workflow_id, 'submit', $5, $4, t.state, t.stage_entered_at FROM t "
        "  WHERE EXISTS (SELECT 1 FROM s)) "
        "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM s) THEN 0 ELSE 1 + "
        "  (SELECT count(*) FROM task_consensus c JOIN t ON t.id = c.task_id "
        "   WHERE c.stage = $4 AND c.submitted_at IS NOT NULL AND " CURRENT_SEAT("c", "t") ") END",
        6, p, err);
}

int lp_db_task_consensus_agreements(lp_db *db, const char *task_id, const char *stage, const char *user_ids_json,
                                    const char *agreements_json, lp_error *err)
{
    const char *p[4] = {task_id, stage, user_ids_json, agreements_json};
    return lp_db_exec(db,
                      "UPDATE task_consensus c SET agreement = v.agreement "
                      "FROM (SELECT u.value::uuid AS user_id, g.value::double precision AS agreement "
                      "      FROM jsonb_array_elements_text($3::jsonb) WITH ORDINALITY u (value, k) "
                      "      JOIN jsonb_array_elements_text($4::jsonb) WITH ORDINALITY g (value, k) USING (k)) v "
                      "WHERE c.task_id = $1 AND c.stage = $2 AND c.user_id = v.user_id",
                      4, p, err) < 0
               ? -1
               : 0;
}

/* ---- bulk changes by filter ----------------------------------------------------- */

/* The filter's condition on tasks, parameters $1..$8. */
#define FILTER_WHERE                                                                                              \
    "team_id = $1 AND workflow_id = $2 AND ($3::text IS NULL OR stage = $3) "                                   \
    "AND ($4::text IS NULL OR state = $4) AND ($5::uuid IS NULL OR assignee_id = $5) "                          \
    "AND (NOT $6::boolean OR assignee_id IS NULL OR claim_expires_at < now()) "                                 \
    "AND ($7::jsonb IS NULL OR id IN (SELECT jsonb_array_elements_text($7::jsonb)::uuid)) "                     \
    "AND ($8::jsonb IS NULL OR item_id IN (SELECT jsonb_array_elements_text($8::jsonb)::uuid)) "

static void filter_params(const lp_task_filter *f, const char **p)
{
    p[0] = f->team_id;
    p[1] = f->workflow_id;
    p[2] = f->stage;
    p[3] = f->state;
    p[4] = f->assignee_id;
    p[5] = f->unassigned ? "true" : "false";
    p[6] = f->task_ids_json;
    p[7] = f->item_ids_json;
}

int64_t lp_db_tasks_count(lp_db *db, const lp_task_filter *f, int64_t limit, lp_error *err)
{
    char lim[24];
    const char *p[9];
    filter_params(f, p);
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    p[8] = lim;
    return lp_db_count(db,
                       "SELECT count(*) FROM (SELECT 1 FROM tasks WHERE " FILTER_WHERE
                       "LIMIT CASE WHEN $9::bigint > 0 THEN $9::bigint END) s",
                       9, p, err);
}

/* The selected batch (parameters $1..$10: the filter, the cursor, the batch
 * size), locked. */
#define SELECTED                                                                                                  \
    "sel AS (SELECT id, stage, state, assignee_id, stage_entered_at FROM tasks WHERE " FILTER_WHERE            \
    "  AND ($9::uuid IS NULL OR id > $9::uuid) ORDER BY id "                                                   \
    "  LIMIT CASE WHEN $10::bigint > 0 THEN $10::bigint END FOR UPDATE), "
/* What the statement answers: the batch's size and its last id ($12, the
 * state a send gives, is named by every statement so that its type is
 * known). */
#define BATCH_ANSWER "SELECT (SELECT count(*) FROM sel), (SELECT id FROM sel ORDER BY id DESC LIMIT 1), $12::text"

/* The history row and the event of each changed task (CTE upd: tasks
 * columns plus from_stage, from_state, old_assignee), by actor $13. */
static const char *const apply_sql[] = {
    [LP_TASKS_SEND_TO_STAGE] =
        "WITH " SELECTED
        "upd AS (UPDATE tasks t SET stage = $11, state = $12, assignee_id = NULL, claim_expires_at = NULL, "
        "  stage_entered_at = now(), updated_at = now() FROM sel WHERE t.id = sel.id AND t.stage <> $11 "
        "  RETURNING t.*, sel.stage AS from_stage, sel.state AS from_state, "
        "  sel.stage_entered_at AS from_entered), "
        "hist AS (INSERT INTO task_history (task_id, team_id, workflow_id, action, actor_id, from_stage, "
        "  from_state, to_stage, to_state, stage_entered_at) "
        "  SELECT id, team_id, workflow_id, 'move', $13, from_stage, from_state, stage, state, from_entered "
        "  FROM upd), "
        "ev AS (INSERT INTO events (team_id, type, workflow_id, item_id, task_id, data) "
        "  SELECT team_id, 'task.stage_changed', workflow_id, item_id, id, jsonb_build_object('from_stage', "
        "  from_stage, 'to_stage', stage, 'port', NULL, 'actor_id', $13::uuid) FROM upd) " BATCH_ANSWER,
    [LP_TASKS_SET_STATE] =
        "WITH " SELECTED
        "upd AS (UPDATE tasks t SET state = $11, updated_at = now() FROM sel "
        "  WHERE t.id = sel.id AND t.state <> $11 RETURNING t.*, sel.state AS from_state), "
        "hist AS (INSERT INTO task_history (task_id, team_id, workflow_id, action, actor_id, from_stage, "
        "  from_state, to_stage, to_state, stage_entered_at) "
        "  SELECT id, team_id, workflow_id, 'state', $13, stage, from_state, stage, state, stage_entered_at "
        "  FROM upd), "
        "ev AS (INSERT INTO events (team_id, type, workflow_id, item_id, task_id, data) "
        "  SELECT team_id, 'task.state_changed', workflow_id, item_id, id, jsonb_build_object('stage', stage, "
        "  'from_state', from_state, 'to_state', state) FROM upd) " BATCH_ANSWER,
    [LP_TASKS_ASSIGN] =
        "WITH " SELECTED
        "upd AS (UPDATE tasks t SET assignee_id = $11, claim_expires_at = NULL, updated_at = now() FROM sel "
        "  WHERE t.id = sel.id AND (t.assignee_id IS DISTINCT FROM $11::uuid OR t.claim_expires_at IS NOT NULL) "
        "  RETURNING t.*, sel.assignee_id AS old_assignee), "
        "hist AS (INSERT INTO task_history (task_id, team_id, workflow_id, action, actor_id, subject_id, "
        "  from_stage, from_state, stage_entered_at) "
        "  SELECT id, team_id, workflow_id, CASE WHEN $11::uuid IS NULL THEN 'unassign' ELSE 'assign' END, $13, "
        "  coalesce($11::uuid, old_assignee), stage, state, stage_entered_at FROM upd), "
        "ev AS (INSERT INTO events (team_id, type, workflow_id, item_id, task_id, data) "
        "  SELECT team_id, 'task.assigned', workflow_id, item_id, id, "
        "  jsonb_build_object('assignee_id', $11::uuid, 'stage', stage) FROM upd) " BATCH_ANSWER,
};

int64_t lp_db_tasks_apply(lp_db *db, const lp_task_filter *f, const lp_tasks_change *change,
                          char cursor[LP_DB_UUID_LEN], int64_t batch, lp_error *err)
{
    char lim[24];
    const char *p[13];
    int64_t n;

    if ((unsigned)change->op >= sizeof apply_sql / sizeof apply_sql[0])
        return lp_error_set(err, LP_E_INTERNAL, "unknown bulk action on tasks");
    filter_params(f, p);
    snprintf(lim, sizeof lim, "%lld", (long long)(cursor ? batch : 0));
    p[8] = cursor && cursor[0] ? cursor : NULL;
    p[9] = lim;
    p[10] = change->op == LP_TASKS_ASSIGN ? change->user_id
            : change->op == LP_TASKS_SET_STATE ? change->to_state
                                                : change->to_stage;
    p[11] = change->op == LP_TASKS_SEND_TO_STAGE ? change->to_state : NULL;
    p[12] = change->actor_id;
    PGresult *r = lp_db_query(db, apply_sql[change->op], 13, p, err);
    if (!r)
        return -1;
    n = lp_db_int_or(r, 0, 0, 0);
    if (cursor && !PQgetisnull(r, 0, 1))
        lp_db_text_copy(cursor, LP_DB_UUID_LEN, r, 0, 1);
    PQclear(r);
    return n;
}
