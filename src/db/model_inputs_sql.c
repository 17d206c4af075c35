/* Statements about the images of live inference held in storage. See
 * loupe/db/model_inputs_sql.h. */
#include "loupe/db/model_inputs_sql.h"

#include <stdio.h>

#include "db_int.h"

int lp_db_model_input_add(lp_db *db, const char *team_id, const char *id, lp_error *err)
{
    const char *p[2] = {id, team_id};
    return lp_db_exec(db, "INSERT INTO model_inputs (id, team_id) VALUES ($1, $2)", 2, p, err) < 0 ? -1 : 0;
}

int lp_db_model_input_remove(lp_db *db, const char *id, lp_error *err)
{
    const char *p[1] = {id};
    return lp_db_exec(db, "DELETE FROM model_inputs WHERE id = $1", 1, p, err) < 0 ? -1 : 0;
}

static int read_input(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_model_input_row *out = dst;
    (void)a;
    (void)err;
    lp_db_text_copy(out->id, sizeof out->id, r, row, 0);
    lp_db_text_copy(out->team_id, sizeof out->team_id, r, row, 1);
    return 0;
}

int lp_db_model_inputs_stale(lp_db *db, lp_arena *a, int64_t older_than_ms, int64_t limit, lp_model_input_row **rows,
                             size_t *n, lp_error *err)
{
    char ms[24], lim[24];
    snprintf(ms, sizeof ms, "%lld", (long long)older_than_ms);
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *p[2] = {ms, lim};
    *rows = lp_db_rows(a,
                       lp_db_query(db,
                                   "SELECT id, team_id FROM model_inputs "
                                   "WHERE created_at < now() - make_interval(secs => $1::bigint / 1000.0) "
                                   "ORDER BY created_at LIMIT $2::bigint FOR UPDATE SKIP LOCKED",
                                   2, p, err),
                       sizeof **rows, read_input, "model inputs", n, err);
    return *rows ? 0 : -1;
}

int lp_db_model_inputs_remove(lp_db *db, lp_arena *a, const char *const *ids, size_t n, lp_error *err)
{
    const char *arr = lp_db_array_literal(a, ids, n);
    const char *p[1] = {arr};
    if (!arr)
        return lp_error_set(err, LP_E_NOMEM, "out of memory removing model inputs");
    return lp_db_exec(db, "DELETE FROM model_inputs WHERE id = ANY($1::uuid[])", 1, p, err) < 0 ? -1 : 0;
}
