/* Statements about workflows and the engine's set-based task statements.
 * See loupe/db/workflows_sql.h.
 *
 * Many tasks travel as parallel arrays (array literals, one per column)
 * joined back with unnest ... WITH ORDINALITY, so one statement serves one
 * task or a hundred thousand. */
#include "loupe/db/workflows_sql.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "loupe/core/util.h"

/* The datasets of workflow row w as a sorted JSON array. */
#define WF_DATASETS(w)                                                                                            \
    "coalesce((SELECT json_agg(wd.dataset_id ORDER BY wd.dataset_id) FROM workflow_datasets wd "                  \
    "WHERE wd.workflow_id = " w ".id), '[]')::text"
#define WF_COLUMNS_BUT_DATASETS                                                                                   \
    "w.id, w.team_id, w.name, w.version, w.seed, w.definition::text, "
#define WF_COLUMNS_TAIL                                                                                           \
    ", w.created_by, " LP_SQL_TS("w.created_at") ", " LP_SQL_TS("w.updated_at")
#define WF_COLUMNS WF_COLUMNS_BUT_DATASETS WF_DATASETS("w") WF_COLUMNS_TAIL
/* A written row: its datasets are the ones just given ($n), since a
 * statement does not see its own inserts. */
#define WF_COLUMNS_WRITTEN(param)                                                                                  \
    WF_COLUMNS_BUT_DATASETS "coalesce((SELECT json_agg(x ORDER BY x) FROM unnest(" param                         \
                            "::uuid[]) x), '[]')::text" WF_COLUMNS_TAIL

/* ---- Helpers ----------------------------------------------------------------- */

/* Rows go in the order of their arrays: unnest yields them in that order,
 * and a plain INSERT ... SELECT FROM unnest takes serial values (history
 * ids, event seq) in it. Statements with array parameters gather them in an lp_sqlb (its arena
 * holds the literals) and run through sqlb_rows
 * (or lp_sqlb_query where a result needs more than its rows), which free it. */

/* Runs the statement in b (and frees b) and reads its rows with lp_db_rows
 * into the arena array whose address is out (a T ** for elem_size-byte rows
 * of type T). 0, or -1 with the array NULL and err set. */
/* The rows of r (consumed) read into an arena array stored at out. */
static int rows_out(lp_arena *a, PGresult *r, size_t elem_size, lp_db_row_reader read, const char *what, void *out,
                    size_t *n, lp_error *err)
{
    void *rows = lp_db_rows(a, r, elem_size, read, what, n, err);
    memcpy(out, &rows, sizeof rows);
    return rows ? 0 : -1;
}

static int sqlb_rows(lp_sqlb *b, lp_db *db, lp_arena *a, const char *sql, size_t elem_size, lp_db_row_reader read,
                     const char *what, void *out, size_t *n, lp_error *err)
{
    return rows_out(a, lp_sqlb_query(b, db, sql, err), elem_size, read, what, out, n, err);
}

/* Reads a JSON array of strings (or of [name, value] pairs when pairs) into
 * arena arrays. Empty or NULL text gives none. 0 or -1. */
static int json_strings(lp_arena *a, const char *text, int pairs, const char ***first, const char ***second,
                        size_t *n)
{
    *first = NULL;
    *n = 0;
    if (second)
        *second = NULL;
    if (!text || !*text)
        return 0;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL);
    int rc = -1;
    if (!doc || !json_is_array(doc))
        goto cleanup;
    size_t count = json_array_size(doc);
    *first = lp_arena_calloc(a, count + 1, sizeof **first);
    if (pairs)
        *second = lp_arena_calloc(a, count + 1, sizeof **second);
    if (!*first || (pairs && !*second))
        goto cleanup;
    for (size_t k = 0; k < count; k++) {
        json_t *e = json_array_get(doc, k);
        const char *x = json_string_value(pairs ? json_array_get(e, 0) : e);
        const char *y = pairs ? json_string_value(json_array_get(e, 1)) : NULL;
        if (!x || (pairs && !y))
            continue; /* a property without a name or value routes as absent */
        (*first)[*n] = lp_arena_strdup(a, x);
        if (pairs)
            (*second)[*n] = lp_arena_strdup(a, y);
        if (!(*first)[*n] || (pairs && !(*second)[*n]))
            goto cleanup;
        (*n)++;
    }
    rc = 0;
cleanup:
    json_decref(doc);
    return rc;
}

/* ---- Workflows --------------------------------------------------------------- */

static int read_workflow(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_workflow_row *out = dst;
    memset(out, 0, sizeof *out);
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->team_id, sizeof out->team_id, r, row, 1);
    out->name = lp_db_text(a, r, row, 2);
    out->version = (int)lp_db_int_or(r, row, 3, 1);
    out->seed = lp_db_int_or(r, row, 4, 0);
    out->definition = lp_db_text(a, r, row, 5);
    out->dataset_ids = lp_db_text(a, r, row, 6);
    lp_db_text_copy(out->created_by, sizeof out->created_by, r, row, 7);
    lp_db_text_copy(out->created_at, sizeof out->created_at, r, row, 8);
    lp_db_text_copy(out->updated_at, sizeof out->updated_at, r, row, 9);
    if (!out->name || !out->definition || !out->dataset_ids)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading workflow %s", out->id);
    return 0;
}

int lp_db_workflow_datasets_check(lp_db *db, const char *team_id, const char *workflow_id,
                                  const char *const *dataset_ids, size_t n, int *status, lp_error *err)
{
    lp_sqlb b;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_param(&b, team_id);
    lp_sqlb_param(&b, workflow_id);
    lp_sqlb_param(&b, lp_sqlb_array(&b, dataset_ids, n));
    PGresult *r = lp_sqlb_query(&b, db,
                                "SELECT CASE WHEN d.id IS NULL THEN 1 "
                                "WHEN wd.workflow_id IS NOT NULL AND wd.workflow_id IS DISTINCT FROM $2::uuid THEN 2 "
                                "ELSE 0 END "
                                "FROM unnest($3::uuid[]) WITH ORDINALITY AS u(id, ord) "
                                "LEFT JOIN datasets d ON d.id = u.id AND d.team_id = $1 AND d.deleted_at IS NULL "
                                "LEFT JOIN workflow_datasets wd ON wd.dataset_id = u.id ORDER BY u.ord",
                                err);
    if (!r)
        return -1;
    for (size_t k = 0; k < n; k++)
        status[k] = k < (size_t)PQntuples(r) ? (int)lp_db_int_or(r, (int)k, 0, 1) : 1;
    PQclear(r);
    return 0;
}

int lp_db_workflow_create(lp_db *db, lp_arena *a, const char *team_id, const char *name, int64_t seed,
                          const char *definition, const char *created_by, const char *const *dataset_ids, size_t n,
                          lp_workflow_row *out, lp_error *err)
{
    lp_sqlb b;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_param(&b, team_id);
    lp_sqlb_param(&b, name);
    lp_sqlb_param(&b, lp_sqlb_int(&b, seed));
    lp_sqlb_param(&b, definition);
    lp_sqlb_param(&b, created_by);
    lp_sqlb_param(&b, lp_sqlb_array(&b, dataset_ids, n));
    return lp_db_one_found(a,
                           lp_sqlb_query(&b, db,
                                         "WITH w AS (INSERT INTO workflows (team_id, name, seed, definition, "
                                         "created_by) VALUES ($1, $2, $3::bigint, $4::jsonb, $5::uuid) RETURNING *), "
                                         "v AS (INSERT INTO workflow_versions (workflow_id, version, definition, "
                                         "created_by) SELECT id, version, definition, created_by FROM w), "
                                         "d AS (INSERT INTO workflow_datasets (dataset_id, team_id, workflow_id) "
                                         "SELECT x, w.team_id, w.id FROM w, unnest($6::uuid[]) x) "
                                         "SELECT " WF_COLUMNS_WRITTEN("$6") " FROM w",
                                         err),
                           read_workflow, out, err, "workflow not created");
}

int lp_db_workflow_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_db_lock lock,
                       lp_workflow_row *out, lp_error *err)
{
    static const char *const SQL[] = {
        [LP_DB_LOCK_NONE] = "SELECT " WF_COLUMNS " FROM workflows w WHERE w.team_id = $1 AND w.id = $2",
        [LP_DB_LOCK_SHARE] = "SELECT " WF_COLUMNS " FROM workflows w WHERE w.team_id = $1 AND w.id = $2 FOR SHARE",
        [LP_DB_LOCK_UPDATE] = "SELECT " WF_COLUMNS " FROM workflows w WHERE w.team_id = $1 AND w.id = $2 "
                              "FOR UPDATE",
    };
    const char *p[2] = {team_id, id};
    if ((unsigned)lock > LP_DB_LOCK_UPDATE)
        return lp_error_set(err, LP_E_INTERNAL, "unknown lock mode %d", (int)lock);
    if (!lp_is_uuid(id))
        return lp_error_set(err, LP_E_NOT_FOUND, "workflow %s not found", id);
    return lp_db_one_found(a, lp_db_query(db, SQL[lock], 2, p, err), read_workflow, out, err,
                           "workflow %s not found", id);
}

int lp_db_read_workflow_head(const PGresult *r, int row, int col, lp_workflow_head *out)
{
    memset(out, 0, sizeof *out);
    lp_db_text_copy(out->id, sizeof out->id, r, row, col);
    lp_db_text_copy(out->team_id, sizeof out->team_id, r, row, col + 1);
    out->version = (int)lp_db_int_or(r, row, col + 2, 1);
    out->seed = lp_db_int_or(r, row, col + 3, 0);
    return 0;
}

static int read_head(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    (void)a;
    (void)err;
    return lp_db_read_workflow_head(r, row, 0, dst);
}

int lp_db_workflow_head(lp_db *db, const char *team_id, const char *workflow_id, lp_db_lock lock,
                        lp_workflow_head *out, lp_error *err)
{
    static const char *const SQL[] = {
        [LP_DB_LOCK_NONE] = "SELECT " LP_DB_WORKFLOW_HEAD_COLUMNS("w") " FROM workflows w "
                            "WHERE w.team_id = $1 AND w.id = $2",
        [LP_DB_LOCK_SHARE] = "SELECT " LP_DB_WORKFLOW_HEAD_COLUMNS("w") " FROM workflows w "
                             "WHERE w.team_id = $1 AND w.id = $2 FOR SHARE",
        [LP_DB_LOCK_UPDATE] = "SELECT " LP_DB_WORKFLOW_HEAD_COLUMNS("w") " FROM workflows w "
                              "WHERE w.team_id = $1 AND w.id = $2 FOR UPDATE",
    };
    const char *p[2] = {team_id, workflow_id};
    if ((unsigned)lock > LP_DB_LOCK_UPDATE)
        return lp_error_set(err, LP_E_INTERNAL, "unknown lock mode %d", (int)lock);
    if (!workflow_id || !lp_is_uuid(workflow_id))
        return lp_error_set(err, LP_E_NOT_FOUND, "workflow %s not found", workflow_id ? workflow_id : "(none)");
    return lp_db_one_found(NULL, lp_db_query(db, SQL[lock], 2, p, err), read_head, out, err,
                           "workflow %s not found", workflow_id);
}

int lp_db_workflow_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_created, const char *after_id,
                        int64_t limit, lp_workflow_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[4] = {team_id, after_created, after_id, lim};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT " WF_COLUMNS " FROM workflows w WHERE w.team_id = $1 "
                                  "AND ($2::timestamptz IS NULL OR (w.created_at, w.id) > ($2::timestamptz, $3::uuid)) "
                                  "ORDER BY w.created_at, w.id LIMIT $4::bigint",
                                  4, p, err),
                      sizeof **out, read_workflow, "workflows", n, err);
    return *out ? 0 : -1;
}

int lp_db_workflow_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, const char *name,
                          const char *definition, const char *updated_by, const char *const *dataset_ids, size_t n,
                          lp_workflow_row *out, lp_error *err)
{
    lp_sqlb b;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_param(&b, team_id);
    lp_sqlb_param(&b, id);
    lp_sqlb_param(&b, name);
    lp_sqlb_param(&b, definition);
    lp_sqlb_param(&b, updated_by);
    lp_sqlb_param(&b, lp_sqlb_array(&b, dataset_ids, n));
    /* A dataset linked to another workflow meanwhile makes the insert fail
     * on the primary key (LP_E_CONFLICT), never a silent skip. */
    return lp_db_one_found(
        a,
        lp_sqlb_query(&b, db,
                      "WITH w AS (UPDATE workflows SET name = $3, definition = $4::jsonb, version = version + 1, "
                      "updated_at = now() WHERE team_id = $1 AND id = $2 RETURNING *), "
                      "v AS (INSERT INTO workflow_versions (workflow_id, version, definition, created_by) "
                      "SELECT id, version, definition, $5::uuid FROM w), "
                      "del AS (DELETE FROM workflow_datasets wd USING w WHERE wd.workflow_id = w.id "
                      "AND wd.dataset_id <> ALL ($6::uuid[])), "
                      "ins AS (INSERT INTO workflow_datasets (dataset_id, team_id, workflow_id) "
                      "SELECT x, w.team_id, w.id FROM w, unnest($6::uuid[]) x WHERE NOT EXISTS "
                      "(SELECT 1 FROM workflow_datasets o WHERE o.dataset_id = x AND o.workflow_id = w.id)) "
                      "SELECT " WF_COLUMNS_WRITTEN("$6") " FROM w",
                      err),
        read_workflow, out, err, "workflow %s not found", id);
}

int lp_db_workflow_delete(lp_db *db, const char *team_id, const char *id, lp_error *err)
{
    const char *p[2] = {team_id, id};
    if (!lp_is_uuid(id))
        return lp_error_set(err, LP_E_NOT_FOUND, "workflow %s not found", id);
    /* The tasks go by a trigger (migrations/0017), their history and counts
     * with them. */
    if (lp_db_exec_found(db, "DELETE FROM workflows WHERE team_id = $1 AND id = $2", 2, p, err,
                         "workflow %s not found", id) != 0)
        return -1;
    return lp_db_exec(db, "DELETE FROM workflow_task_counts WHERE workflow_id = $1", 1, &p[1], err) < 0 ? -1 : 0;
}

/* ---- Counts and statistics ------------------------------------------------------- */

static int read_count(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_wf_count_row *out = dst;
    out->stage = lp_db_text(a, r, row, 0);
    out->state = lp_db_text(a, r, row, 1);
    out->count = lp_db_int_or(r, row, 2, 0);
    if (!out->stage || !out->state)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading counts");
    return 0;
}

int lp_db_workflow_board(lp_db *db, lp_arena *a, const char *workflow_id, lp_wf_count_row **out, size_t *n,
                         lp_error *err)
{
    const char *p[1] = {workflow_id};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "SELECT stage, state, count FROM workflow_task_counts "
                                  "WHERE workflow_id = $1 AND count <> 0 ORDER BY stage, state",
                                  1, p, err),
                      sizeof **out, read_count, "counts", n, err);
    return *out ? 0 : -1;
}

static double double_or(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? -1.0 : strtod(PQgetvalue(r, row, col), NULL);
}

static int read_stats(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    (void)a;
    (void)err;
    lp_wf_stats_row *out = dst;
    lp_db_text_copy(out->user_id, sizeof out->user_id, r, row, 0);
    out->submitted = lp_db_int_or(r, row, 1, 0);
    out->approved = lp_db_int_or(r, row, 2, 0);
    out->rejected = lp_db_int_or(r, row, 3, 0);
    out->median_s = double_or(r, row, 4);
    out->agreement = double_or(r, row, 5);
    return 0;
}

int lp_db_workflow_stats(lp_db *db, lp_arena *a, const char *workflow_id, const char *from, const char *to,
                         lp_wf_stats_row **out, size_t *n, lp_error *err)
{
    const char *p[3] = {workflow_id, from, to};
    /* submit rows count for their actor, approve/reject rows for the work's
     * author (subject_id); task_history_stats_idx serves the range. */
    *out = lp_db_rows(
        a,
        lp_db_query(db,
                    "WITH h AS (SELECT action, actor_id, subject_id, at, stage_entered_at FROM task_history "
                    "WHERE workflow_id = $1 AND at >= coalesce($2::timestamptz, '-infinity') "
                    "AND at < coalesce($3::timestamptz, 'infinity') "
                    "AND action IN ('submit', 'approve', 'reject')), "
                    "sub AS (SELECT actor_id AS user_id, count(*) AS submitted, "
                    "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM at - stage_entered_at)) AS med "
                    "FROM h WHERE action = 'submit' AND actor_id IS NOT NULL GROUP BY actor_id), "
                    "rev AS (SELECT subject_id AS user_id, count(*) FILTER (WHERE action = 'approve') AS approved, "
                    "count(*) FILTER (WHERE action = 'reject') AS rejected FROM h "
                    "WHERE action IN ('approve', 'reject') AND subject_id IS NOT NULL GROUP BY subject_id), "
                    "con AS (SELECT c.user_id, avg(c.agreement) AS agreement FROM task_consensus c "
                    "JOIN tasks t ON t.id = c.task_id WHERE t.workflow_id = $1 AND c.agreement IS NOT NULL "
                    "AND c.submitted_at >= coalesce($2::timestamptz, '-infinity') "
                    "AND c.submitted_at < coalesce($3::timestamptz, 'infinity') GROUP BY c.user_id) "
                    "SELECT user_id, coalesce(sub.submitted, 0), coalesce(rev.approved, 0), "
                    "coalesce(rev.rejected, 0), sub.med, con.agreement "
                    "FROM sub FULL JOIN rev USING (user_id) FULL JOIN con USING (user_id) ORDER BY user_id",
                    3, p, err),
        sizeof **out, read_stats, "statistics", n, err);
    return *out ? 0 : -1;
}

/* ---- What routing reads of items --------------------------------------------------- */

/* Columns of an lp_wf_item_row from items i (and tasks t, or NULLs), the
 * optional ones computed only when their flag parameter is true. */
#define WF_ITEM_COLUMNS(task, flags)                                                                              \
    "i.id, " task ", i.name, i.path, i.priority, i.annotation_count, "                                            \
    "CASE WHEN (" flags "::integer & 1) <> 0 THEN array_to_json(i.class_ids)::text END, "                         \
    "CASE WHEN (" flags "::integer & 2) <> 0 THEN (SELECT coalesce(json_agg(json_build_array(p ->> 'name', "      \
    "p ->> 'value')), '[]')::text FROM annotations an, jsonb_array_elements(CASE WHEN "                          \
    "jsonb_typeof(an.data -> 'properties') = 'array' THEN an.data -> 'properties' ELSE '[]' END) p "             \
    "WHERE an.item_id = i.id) END, "                                                                              \
    "CASE WHEN (" flags "::integer & 4) <> 0 THEN i.metadata::text END, "                                         \
    "CASE WHEN (" flags "::integer & 8) <> 0 THEN (SELECT coalesce(json_agg(DISTINCT s.type), '[]')::text "       \
    "FROM slots s WHERE s.item_id = i.id) END"
#define WF_NO_TASK "NULL::uuid, NULL::text, NULL::text"
#define WF_TASK "t.id, t.state, " LP_SQL_TS("t.stage_entered_at")
/* Items of the live datasets that feed workflow $param. */
#define WF_ATTACHED(param)                                                                                        \
    "i.dataset_id IN (SELECT wd.dataset_id FROM workflow_datasets wd JOIN datasets d ON d.id = wd.dataset_id "   \
    "AND d.deleted_at IS NULL WHERE wd.workflow_id = " param "::uuid) "                                           \
    "AND NOT EXISTS (SELECT 1 FROM tasks x WHERE x.item_id = i.id)"

static int read_item(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_wf_item_row *out = dst;
    memset(out, 0, sizeof *out);
    lp_db_text_copy(out->item_id, sizeof out->item_id, r, row, 0);
    lp_db_text_copy(out->task_id, sizeof out->task_id, r, row, 1);
    out->state = lp_db_text(a, r, row, 2);
    lp_db_text_copy(out->task_entered_at, sizeof out->task_entered_at, r, row, 3);
    out->name = lp_db_text(a, r, row, 4);
    out->path = lp_db_text(a, r, row, 5);
    out->priority = lp_db_int_or(r, row, 6, 0);
    out->annotation_count = lp_db_int_or(r, row, 7, 0);
    out->metadata = lp_db_text(a, r, row, 10);
    if (!out->name || !out->path || (!PQgetisnull(r, row, 10) && !out->metadata) ||
        json_strings(a, PQgetisnull(r, row, 8) ? NULL : PQgetvalue(r, row, 8), 0, &out->class_ids, NULL,
                     &out->nclass_ids) != 0 ||
        json_strings(a, PQgetisnull(r, row, 9) ? NULL : PQgetvalue(r, row, 9), 1, &out->prop_names,
                     &out->prop_values, &out->nprops) != 0 ||
        json_strings(a, PQgetisnull(r, row, 11) ? NULL : PQgetvalue(r, row, 11), 0, &out->slot_types, NULL,
                     &out->nslot_types) != 0)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading item %s", out->item_id);
    return 0;
}

/* Appends the selection of the items f selects that may enter workflow_id,
 * at most limit (0 = all): their id and created_at in (created_at, id)
 * order when ordered, else just a row each (to count). The filter comes
 * first: its team is $1. */
static void entering_items(lp_sqlb *b, const lp_item_filter *f, const char *workflow_id, int64_t limit, int ordered)
{
    lp_sqlb_add(b, ordered ? "SELECT i.id, i.created_at FROM items i WHERE " : "SELECT 1 FROM items i WHERE ");
    lp_sqlb_item_filter(b, f);
    int wf = lp_sqlb_param(b, workflow_id);
    int lim = lp_sqlb_param(b, limit > 0 ? lp_sqlb_int(b, limit) : NULL);
    lp_sqlb_add(b, ordered ? " AND " WF_ATTACHED("$%d") " ORDER BY i.created_at, i.id LIMIT $%d::bigint"
                           : " AND " WF_ATTACHED("$%d") " LIMIT $%d::bigint",
                wf, lim);
}

int lp_db_wf_items_by_filter(lp_db *db, lp_arena *a, const lp_item_filter *f, const char *workflow_id,
                             unsigned want, int64_t limit, lp_wf_item_row **out, size_t *n, lp_error *err)
{
    lp_sqlb b;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_add(&b, "WITH sel AS (");
    entering_items(&b, f, workflow_id, limit, 1);
    int fl = lp_sqlb_param(&b, lp_sqlb_int(&b, want));
    lp_sqlb_add(&b, ") SELECT " WF_ITEM_COLUMNS(WF_NO_TASK, "$%d") " FROM sel JOIN items i ON i.id = sel.id "
                "ORDER BY sel.created_at, sel.id", fl, fl, fl, fl);
    /* planned for each batch: the tasks it anti-joins grow by a batch each time */
    return rows_out(a, lp_sqlb_query_batch(&b, db, NULL, err), sizeof **out, read_item, "items", out, n, err);
}

int64_t lp_db_wf_items_count(lp_db *db, const lp_item_filter *f, const char *workflow_id, int64_t limit,
                             lp_error *err)
{
    lp_sqlb b;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_add(&b, "SELECT count(*) FROM (");
    entering_items(&b, f, workflow_id, limit, 0);
    lp_sqlb_add(&b, ") s");
    PGresult *r = lp_sqlb_query_batch(&b, db, NULL, err);
    if (!r)
        return -1;
    int64_t count = lp_db_int_or(r, 0, 0, 0);
    PQclear(r);
    return count;
}

int lp_db_wf_items_by_ids(lp_db *db, lp_arena *a, const char *team_id, const char *workflow_id,
                          const char *const *item_ids, size_t n, unsigned want, lp_wf_item_row **out, size_t *nout,
                          lp_error *err)
{
    lp_sqlb b;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_param(&b, team_id);
    lp_sqlb_param(&b, workflow_id);
    lp_sqlb_param(&b, lp_sqlb_array(&b, item_ids, n));
    lp_sqlb_param(&b, lp_sqlb_int(&b, want));
    PGresult *r = lp_sqlb_query_batch(&b, db,
                                      "SELECT " WF_ITEM_COLUMNS(WF_NO_TASK, "$4") " FROM unnest($3::uuid[]) "
                                      "WITH ORDINALITY AS u(id, ord) JOIN items i ON i.id = u.id AND i.team_id = $1 "
                                      "WHERE " WF_ATTACHED("$2") " ORDER BY u.ord",
                                      err);
    return rows_out(a, r, sizeof **out, read_item, "items", out, nout, err);
}

int lp_db_wf_items_by_tasks(lp_db *db, lp_arena *a, const char *workflow_id, const char *const *task_ids, size_t n,
                            unsigned want, lp_wf_item_row *out, lp_error *err)
{
    lp_sqlb b;
    int rc = 0;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_param(&b, workflow_id);
    lp_sqlb_param(&b, lp_sqlb_array(&b, task_ids, n));
    lp_sqlb_param(&b, lp_sqlb_int(&b, want));
    PGresult *r = lp_sqlb_query(&b, db,
                                "SELECT " WF_ITEM_COLUMNS(WF_TASK, "$3") " FROM unnest($2::uuid[]) "
                                "WITH ORDINALITY AS u(id, ord) JOIN tasks t ON t.id = u.id AND t.workflow_id = $1 "
                                "JOIN items i ON i.id = t.item_id ORDER BY u.ord",
                                err);
    if (!r)
        return -1;
    if ((size_t)PQntuples(r) != n)
        rc = lp_error_set(err, LP_E_NOT_FOUND, "%zu of %zu tasks are not in workflow %s", n - (size_t)PQntuples(r),
                          n, workflow_id);
    for (size_t k = 0; rc == 0 && k < n; k++)
        rc = read_item(a, r, (int)k, &out[k], err);
    PQclear(r);
    return rc;
}

/* ---- Tasks, many at once ------------------------------------------------------------ */

int64_t lp_db_wf_tasks_enter(lp_db *db, const char *team_id, const char *workflow_id, const char *actor_id,
                             const char *entry_stage, const char *entry_state, const char *const *task_ids,
                             const char *const *item_ids, const char *const *route_nos,
                             const char *const *event_ids, size_t n, const lp_wf_entry_route *routes,
                             size_t nroutes, lp_error *err)
{
    static const size_t route_cols[] = {
        offsetof(lp_wf_entry_route, stage),   offsetof(lp_wf_entry_route, state),
        offsetof(lp_wf_entry_route, route),   offsetof(lp_wf_entry_route, created),
        offsetof(lp_wf_entry_route, events),
    };
    lp_sqlb b;
    if (n == 0)
        return 0;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_param(&b, team_id);
    lp_sqlb_param(&b, workflow_id);
    lp_sqlb_param(&b, actor_id);
    lp_sqlb_param(&b, entry_stage);
    lp_sqlb_param(&b, entry_state);
    lp_sqlb_param(&b, lp_sqlb_array(&b, task_ids, n));
    lp_sqlb_param(&b, lp_sqlb_array(&b, item_ids, n));
    lp_sqlb_param(&b, lp_sqlb_array(&b, route_nos, n));
    lp_sqlb_param(&b, lp_sqlb_array(&b, event_ids, n));
    for (size_t i = 0; i < sizeof route_cols / sizeof *route_cols; i++)
        lp_sqlb_param(&b, lp_sqlb_column(&b, routes, sizeof *routes, route_cols[i], nroutes));
    /* Per task only its ids and route travel; what a route writes is sent
     * once. History ids and event seq follow the tasks' order. */
    static const char *const sql =
        "WITH u AS (SELECT * FROM unnest($6::uuid[], $7::uuid[], $8::int[], $9::uuid[]) "
        "  WITH ORDINALITY AS u(id, item_id, route_no, event_id, ord)), "
        "r AS (SELECT * FROM unnest($10::text[], $11::text[], $12::jsonb[], $13::jsonb[], $14::jsonb[]) "
        "  WITH ORDINALITY AS r(stage, state, hops, created, events, no)), "
        /* the items locked as a foreign key would, in one pass (migrations/0017) */
        "it AS (SELECT i.id, i.priority FROM u JOIN items i ON i.id = u.item_id AND i.team_id = $1 "
        "  FOR KEY SHARE OF i), "
        "ins AS (INSERT INTO tasks (id, team_id, workflow_id, item_id, stage, state, priority) "
        "  SELECT u.id, $1, $2, u.item_id, r.stage, r.state, it.priority FROM u JOIN r ON r.no = u.route_no "
        "  JOIN it ON it.id = u.item_id ORDER BY u.ord "
        "  ON CONFLICT (item_id) DO NOTHING RETURNING id), "
        "made AS (SELECT u.id, u.item_id, u.event_id, u.ord, r.hops, r.created, r.events "
        "  FROM u JOIN ins ON ins.id = u.id JOIN r ON r.no = u.route_no), "
        "hist AS (INSERT INTO task_history (task_id, team_id, workflow_id, action, actor_id, to_stage, to_state, "
        "  stage_entered_at, route) "
        "  SELECT id, $1, $2, 'created', $3::uuid, $4, $5, now(), hops FROM made ORDER BY ord), "
        "ev AS (INSERT INTO events (id, team_id, type, workflow_id, item_id, task_id, data) "
        "  SELECT coalesce(e.id, loupe_uuid_v7()), $1, e.type, $2, m.item_id, m.id, e.data FROM made m "
        "  CROSS JOIN LATERAL (SELECT 0::bigint AS k, m.event_id AS id, 'task.created' AS type, m.created AS data "
        "    UNION ALL SELECT x.k, NULL, x.e ->> 'type', x.e -> 'data' "
        "    FROM jsonb_array_elements(m.events) WITH ORDINALITY AS x(e, k)) e "
        "  ORDER BY m.ord, e.k) "
        "SELECT count(*) FROM made";
    PGresult *r = lp_sqlb_query_batch(&b, db, sql, err);
    if (!r)
        return -1;
    int64_t made = lp_db_int_or(r, 0, 0, 0);
    PQclear(r);
    return made;
}

static int read_task_ref(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_wf_task_ref *out = dst;
    lp_db_text_copy(out->task_id, sizeof out->task_id, r, row, 0);
    lp_db_text_copy(out->item_id, sizeof out->item_id, r, row, 1);
    out->stage = lp_db_text(a, r, row, 2);
    out->state = lp_db_text(a, r, row, 3);
    out->new_state = PQnfields(r) > 4 ? lp_db_text(a, r, row, 4) : NULL;
    if (!out->stage || !out->state || (PQnfields(r) > 4 && !out->new_state))
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading tasks");
    return 0;
}

int lp_db_wf_tasks_on_stages(lp_db *db, lp_arena *a, const char *workflow_id, const char *const *stages, size_t n,
                             lp_wf_task_ref **out, size_t *nout, lp_error *err)
{
    lp_sqlb b;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_param(&b, workflow_id);
    lp_sqlb_param(&b, lp_sqlb_array(&b, stages, n));
    return sqlb_rows(&b, db, a,
                     "SELECT t.id, t.item_id, t.stage, t.state FROM tasks t "
                     "WHERE t.workflow_id = $1 AND t.stage = ANY ($2::text[]) "
                     "ORDER BY t.stage, t.created_at, t.id FOR UPDATE",
                     sizeof **out, read_task_ref, "tasks", out, nout, err);
}

int lp_db_wf_tasks_reset_states(lp_db *db, lp_arena *a, const char *workflow_id, const char *const *stages,
                                const char *const *first_states, const char *const *states_json, size_t n,
                                lp_wf_task_ref **out, size_t *nout, lp_error *err)
{
    lp_sqlb b;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_param(&b, workflow_id);
    lp_sqlb_param(&b, lp_sqlb_array(&b, stages, n));
    lp_sqlb_param(&b, lp_sqlb_array(&b, first_states, n));
    lp_sqlb_param(&b, lp_sqlb_array(&b, states_json, n));
    return sqlb_rows(&b, db, a,
                     "WITH u AS (SELECT * FROM unnest($2::text[], $3::text[], $4::jsonb[]) "
                     "AS u(stage, first_state, states)), "
                     "old AS (SELECT t.id, t.item_id, t.stage, t.state, u.first_state FROM tasks t "
                     "JOIN u ON u.stage = t.stage WHERE t.workflow_id = $1 "
                     "AND NOT (u.states ? t.state) FOR UPDATE OF t), "
                     "upd AS (UPDATE tasks t SET state = old.first_state, updated_at = now() FROM old "
                     "WHERE t.id = old.id) "
                     "SELECT id, item_id, stage, state, first_state FROM old ORDER BY stage, id",
                     sizeof **out, read_task_ref, "tasks", out, nout, err);
}

/* ---- History and events ----------------------------------------------------------------- */

int lp_db_wf_write(lp_db *db, lp_arena *a, const char *team_id, const char *workflow_id, const lp_wf_writes *w,
                   struct lp_task_row *placed, lp_error *err)
{
    static const size_t hist_cols[] = {
        offsetof(lp_wf_history_row, task_id),    offsetof(lp_wf_history_row, action),
        offsetof(lp_wf_history_row, actor_id),   offsetof(lp_wf_history_row, subject_id),
        offsetof(lp_wf_history_row, from_stage), offsetof(lp_wf_history_row, from_state),
        offsetof(lp_wf_history_row, to_stage),   offsetof(lp_wf_history_row, to_state),
        offsetof(lp_wf_history_row, port),       offsetof(lp_wf_history_row, comment),
        offsetof(lp_wf_history_row, stage_entered_at), offsetof(lp_wf_history_row, route),
    };
    static const size_t ev_cols[] = {
        offsetof(lp_wf_event_row, id),      offsetof(lp_wf_event_row, type), offsetof(lp_wf_event_row, item_id),
        offsetof(lp_wf_event_row, task_id), offsetof(lp_wf_event_row, data),
    };
    lp_sqlb b;
    if (w->nplace == 0 && w->nhist == 0 && w->nev == 0)
        return 0;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_param(&b, team_id);
    lp_sqlb_param(&b, workflow_id);
    lp_sqlb_param(&b, lp_sqlb_array(&b, w->task_ids, w->nplace));
    lp_sqlb_param(&b, lp_sqlb_array(&b, w->stages, w->nplace));
    lp_sqlb_param(&b, lp_sqlb_array(&b, w->states, w->nplace));
    for (size_t i = 0; i < sizeof hist_cols / sizeof *hist_cols; i++)
        lp_sqlb_param(&b, lp_sqlb_column(&b, w->hist, sizeof *w->hist, hist_cols[i], w->nhist));
    for (size_t i = 0; i < sizeof ev_cols / sizeof *ev_cols; i++)
        lp_sqlb_param(&b, lp_sqlb_column(&b, w->ev, sizeof *w->ev, ev_cols[i], w->nev));
    /* The events' fan-out trigger (migrations/0011) runs once, on all of
     * them. The first task placed comes back (for the answer to one). */
    static const char *const sql =
                    "WITH place AS (UPDATE tasks t SET stage = u.stage, state = u.state, assignee_id = NULL, "
                    "  claim_expires_at = NULL, stage_entered_at = now(), updated_at = now() "
                    "  FROM unnest($3::uuid[], $4::text[], $5::text[]) WITH ORDINALITY AS u(id, stage, state, ord) "
                    "  WHERE t.id = u.id AND t.workflow_id = $2 RETURNING t.*, u.ord), "
                    "hist AS (INSERT INTO task_history (task_id, team_id, workflow_id, action, actor_id, subject_id, "
                    "  from_stage, from_state, to_stage, to_state, port, comment, stage_entered_at, route) "
                    "  SELECT u.task_id, $1, $2, u.action, u.actor_id, u.subject_id, u.from_stage, u.from_state, "
                    "  u.to_stage, u.to_state, u.port, u.comment, coalesce(u.entered, now()), u.route "
                    "  FROM unnest($6::uuid[], $7::text[], $8::uuid[], $9::uuid[], $10::text[], $11::text[], "
                    "  $12::text[], $13::text[], $14::text[], $15::text[], $16::timestamptz[], $17::jsonb[]) "
                    "  AS u(task_id, action, actor_id, subject_id, from_stage, from_state, to_stage, to_state, "
                    "  port, comment, entered, route)), "
                    "ev AS (INSERT INTO events (id, team_id, type, workflow_id, item_id, task_id, data) "
                    "  SELECT coalesce(u.id, loupe_uuid_v7()), $1, u.type, $2, u.item_id, u.task_id, u.data "
                    "  FROM unnest($18::uuid[], $19::text[], $20::uuid[], $21::uuid[], $22::jsonb[]) "
                    "  AS u(id, type, item_id, task_id, data)) "
                    "SELECT " LP_DB_TASK_COLUMNS("place") " FROM place ORDER BY ord LIMIT 1";
    /* One task (a person's action): the generic plan, planning it would
     * cost more than running it; many: without JIT. */
    PGresult *r = NULL;
    if (lp_sqlb_check(&b, err) == 0)
        r = w->nplace == 1 ? lp_db_query_generic(db, sql, b.n, b.params, err)
                           : lp_db_query_batch(db, sql, b.n, b.params, err);
    lp_sqlb_free(&b);
    int rc = r ? 0 : -1;
    if (r && placed && PQntuples(r) == 1)
        rc = lp_db_read_task(a, r, 0, placed, err);
    PQclear(r);
    return rc;
}

/* ---- The inbox of the workflow router ----------------------------------------------------- */

static int read_inbox(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    (void)a;
    (void)err;
    lp_wf_inbox_row *out = dst;
    lp_db_text_copy(out->item_id, sizeof out->item_id, r, row, 0);
    lp_db_text_copy(out->team_id, sizeof out->team_id, r, row, 1);
    lp_db_text_copy(out->workflow_id, sizeof out->workflow_id, r, row, 2);
    return 0;
}

int lp_db_wf_inbox_take(lp_db *db, lp_arena *a, int64_t limit, lp_wf_inbox_row **out, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[1] = {lim};
    *out = lp_db_rows(a,
                      lp_db_query(db,
                                  "WITH one AS (SELECT workflow_id FROM workflow_inbox ORDER BY created_at "
                                  "LIMIT 1 FOR UPDATE SKIP LOCKED), "
                                  "sel AS (SELECT b.item_id FROM workflow_inbox b "
                                  "WHERE b.workflow_id = (SELECT workflow_id FROM one) ORDER BY b.created_at "
                                  "LIMIT $1::bigint FOR UPDATE SKIP LOCKED) "
                                  "DELETE FROM workflow_inbox b USING sel WHERE b.item_id = sel.item_id "
                                  "RETURNING b.item_id, b.team_id, b.workflow_id",
                                  1, p, err),
                      sizeof **out, read_inbox, "inbox rows", n, err);
    return *out ? 0 : -1;
}

/* ---- An item's task ---------------------------------------------------------------------------- */

static int read_item_task(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_item_task_row *out = dst;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->workflow_id, sizeof out->workflow_id, r, row, 1);
    out->stage = lp_db_text(a, r, row, 2);
    out->state = lp_db_text(a, r, row, 3);
    if (!out->stage || !out->state)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a task");
    return 0;
}

int lp_db_item_task(lp_db *db, lp_arena *a, const char *team_id, const char *item_id, lp_item_task_row *out,
                    lp_error *err)
{
    const char *p[2] = {team_id, item_id};
    return lp_db_one(a,
                     lp_db_query(db,
                                 "SELECT id, workflow_id, stage, state FROM tasks WHERE team_id = $1 AND item_id = $2",
                                 2, p, err),
                     read_item_task, out, err);
}

int lp_db_items_load_tasks(lp_db *db, lp_arena *a, lp_item_row *rows, size_t n, lp_error *err)
{
    PGresult *r;
    int rc = 0;

    for (size_t k = 0; k < n; k++) {
        rows[k].task = NULL;
        rows[k].task_known = true;
    }
    if (n == 0)
        return 0;
    /* tasks.item_id is unique: one probe of its index per item */
    r = lp_db_items_by_ids(db, rows, n,
                           "SELECT t.id, t.workflow_id, t.stage, t.state, u.ord FROM unnest($1::uuid[]) "
                           "WITH ORDINALITY AS u(item_id, ord) JOIN tasks t ON t.item_id = u.item_id",
                           err);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        long long ord = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        lp_item_task_row *t = lp_arena_calloc(a, 1, sizeof *t);
        if (ord < 1 || (size_t)ord > n)
            rc = lp_error_set(err, LP_E_INTERNAL, "a task row names no listed item");
        else if (!t)
            rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading tasks");
        else if ((rc = read_item_task(a, r, i, t, err)) == 0)
            rows[ord - 1].task = t;
    }
    PQclear(r);
    return rc;
}
