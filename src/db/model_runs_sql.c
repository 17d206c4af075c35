/* Statements about what batch runs of models learned per item. See loupe/db/model_runs_sql.h. */
#include "loupe/db/model_runs_sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

const char *const lp_db_rank_by_names[] = {"least_confidence", "margin", "entropy", "novelty", NULL};

int lp_db_rank_by_from_name(const char *name, lp_db_rank_by *out)
{
    for (int i = 0; name && lp_db_rank_by_names[i]; i++)
        if (strcmp(lp_db_rank_by_names[i], name) == 0) {
            *out = (lp_db_rank_by)i;
            return 0;
        }
    return -1;
}

int64_t lp_db_model_run_items_insert(lp_db *db, const char *team_id, const char *model_id, const char *run_id,
                                     const char *rows_json, lp_error *err)
{
    const char *p[4] = {team_id, model_id, run_id, rows_json};
    return lp_db_exec(db,
                      "INSERT INTO model_run_items (run_id, item_id, team_id, model_id, slot, detections, "
                      "least_confidence, margin, entropy, embedding, embedding_source) "
                      "SELECT $3, r.item_id, $1, $2, r.slot, r.detections, r.least_confidence, r.margin, r.entropy, "
                      "ARRAY(SELECT e::real FROM jsonb_array_elements_text(r.embedding) WITH ORDINALITY AS t(e, k) "
                      "ORDER BY k), r.embedding_source "
                      "FROM jsonb_to_recordset($4::jsonb) AS r(item_id uuid, slot text, detections int, "
                      "least_confidence real, margin real, entropy real, embedding jsonb, embedding_source text) "
                      "ON CONFLICT (run_id, item_id) DO NOTHING",
                      4, p, err);
}

/* Parses a real[] in its text form ("{0.1,-2,3e-05}") into x (cap values): the count, or -1. */
static long parse_reals(const char *s, float *x, size_t cap)
{
    size_t n = 0;
    char *end;
    if (*s++ != '{')
        return -1;
    while (*s && *s != '}') {
        float v = strtof(s, &end);
        if (end == s || n >= cap)
            return -1;
        x[n++] = v;
        s = *end == ',' ? end + 1 : end;
    }
    return *s == '}' ? (long)n : -1;
}

int lp_db_model_run_embedding_size(lp_db *db, const char *run_id, size_t *n, size_t *dims, lp_error *err)
{
    const char *p[1] = {run_id};
    PGresult *r = lp_db_query(db,
                              "SELECT count(*), coalesce(max(cardinality(embedding)), 0) FROM model_run_items "
                              "WHERE run_id = $1",
                              1, p, err);
    if (!r)
        return -1;
    *n = (size_t)lp_db_int_or(r, 0, 0, 0);
    *dims = (size_t)lp_db_int_or(r, 0, 1, 0);
    PQclear(r);
    return 0;
}

int lp_db_model_run_embeddings_page(lp_db *db, lp_arena *a, const char *run_id, const char *after_item, size_t limit,
                                    size_t dims, const char ***ids, float **x, size_t *n, lp_error *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", limit);
    const char *p[3] = {run_id, after_item, lim};
    PGresult *r = lp_db_query(db,
                              "SELECT item_id, embedding::text, cardinality(embedding) FROM model_run_items "
                              "WHERE run_id = $1 AND ($2::uuid IS NULL OR item_id > $2::uuid) "
                              "ORDER BY item_id LIMIT $3::bigint",
                              3, p, err);
    int rc = -1;
    if (!r)
        return -1;
    size_t rows = (size_t)PQntuples(r);
    *n = rows;
    *ids = lp_arena_calloc(a, rows ? rows : 1, sizeof **ids);
    *x = lp_arena_alloc(a, (rows * dims > 0 ? rows * dims : 1) * sizeof **x);
    if (!*ids || !*x) {
        lp_error_set(err, LP_E_NOMEM, "out of memory reading the embeddings of run %s", run_id);
        goto done;
    }
    for (size_t i = 0; i < rows; i++) {
        if (!((*ids)[i] = lp_db_text(a, r, (int)i, 0))) {
            lp_error_set(err, LP_E_NOMEM, "out of memory reading the embeddings of run %s", run_id);
            goto done;
        }
        if (parse_reals(PQgetvalue(r, (int)i, 1), *x + i * dims, dims) != (long)dims) {
            lp_error_set(err, LP_E_INVALID, "run %s: the embedding of item %s has %lld values, not %zu like the "
                         "others", run_id, (*ids)[i], (long long)lp_db_int_or(r, (int)i, 2, 0), dims);
            goto done;
        }
    }
    rc = 0;

done:
    PQclear(r);
    return rc;
}

int lp_db_model_run_rank(lp_db *db, const char *run_id, const char *const *ids, const double *novelty,
                         const size_t *rank, size_t n, lp_error *err)
{
    lp_buf b;
    int64_t rc = -1;
    lp_buf_init(&b, (size_t)1 << 30);
    int bad = lp_buf_puts(&b, "[");
    for (size_t i = 0; i < n && !bad; i++)
        bad = lp_buf_printf(&b, "%s{\"item_id\":\"%s\",\"novelty\":%.9g,\"novelty_rank\":%zu}", i ? "," : "", ids[i],
                            isfinite(novelty[i]) ? novelty[i] : 0.0, rank[i]);
    if (bad || lp_buf_puts(&b, "]") != 0) {
        lp_buf_free(&b);
        return lp_error_set(err, LP_E_NOMEM, "out of memory ranking run %s", run_id);
    }
    const char *p[2] = {run_id, b.data};
    rc = lp_db_exec(db,
                    "WITH nov AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS n(item_id uuid, novelty real, "
                    "novelty_rank int)), "
                    "r AS (SELECT m.item_id, "
                    "row_number() OVER (ORDER BY m.least_confidence DESC, m.item_id) AS lc, "
                    "row_number() OVER (ORDER BY m.margin DESC, m.item_id) AS mg, "
                    "row_number() OVER (ORDER BY m.entropy DESC, m.item_id) AS en "
                    "FROM model_run_items m WHERE m.run_id = $1) "
                    "UPDATE model_run_items m SET least_confidence_rank = r.lc, margin_rank = r.mg, "
                    "entropy_rank = r.en, novelty = nov.novelty, novelty_rank = nov.novelty_rank "
                    "FROM r LEFT JOIN nov ON nov.item_id = r.item_id "
                    "WHERE m.run_id = $1 AND m.item_id = r.item_id",
                    2, p, err);
    lp_buf_free(&b);
    return rc < 0 ? -1 : 0;
}

int lp_db_model_run_status(lp_db *db, const char *team_id, const char *model_id, const char *run_id, char *status,
                           size_t cap, lp_error *err)
{
    const char *p[3] = {team_id, model_id, run_id};
    PGresult *r = lp_db_query(db,
                              "SELECT j.status FROM jobs j JOIN models m ON m.id = $2 AND m.team_id = $1 "
                              "AND m.deleted_at IS NULL WHERE j.id = $3 AND j.team_id = $1 "
                              "AND j.kind IN ('models.run', 'models.run.gpu') AND j.payload ->> 'model_id' = $2::text",
                              3, p, err);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    if (found)
        lp_db_text_copy(status, cap, r, 0, 0);
    PQclear(r);
    return found ? 0 : lp_error_set(err, LP_E_NOT_FOUND, "model %s has no run %s", model_id, run_id);
}

static int read_rank(lp_arena *a, const PGresult *r, int row, void *dst, lp_error *err)
{
    lp_model_rank_row *out = dst;
    lp_db_text_copy(out->item_id, sizeof out->item_id, r, row, 0);
    out->slot = lp_db_text(a, r, row, 1);
    out->embedding_source = lp_db_text(a, r, row, 2);
    out->rank = lp_db_int_or(r, row, 3, 0);
    out->detections = lp_db_int_or(r, row, 4, 0);
    out->least_confidence = strtod(PQgetvalue(r, row, 5), NULL);
    out->margin = strtod(PQgetvalue(r, row, 6), NULL);
    out->entropy = strtod(PQgetvalue(r, row, 7), NULL);
    out->novelty = PQgetisnull(r, row, 8) ? 0 : strtod(PQgetvalue(r, row, 8), NULL);
    if (!out->slot || !out->embedding_source)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a ranking");
    return 0;
}

/* The ranking statement of one rank column (a constant of this file). */
#define RANKING(col)                                                                                              \
    "SELECT item_id, slot, embedding_source, " col ", detections, least_confidence::float8, margin::float8, "     \
    "entropy::float8, novelty::float8 FROM model_run_items WHERE team_id = $1 AND run_id = $2 AND " col " > $3 "  \
    "ORDER BY " col " LIMIT $4"

int lp_db_model_ranking(lp_db *db, lp_arena *a, const char *team_id, const char *run_id, lp_db_rank_by by,
                        int64_t after, int64_t limit, lp_model_rank_row **out, size_t *n, lp_error *err)
{
    static const char *const sql[LP_DB_RANK_COUNT] = {RANKING("least_confidence_rank"), RANKING("margin_rank"),
                                                      RANKING("entropy_rank"), RANKING("novelty_rank")};
    char a_text[24], l_text[24];
    snprintf(a_text, sizeof a_text, "%lld", (long long)after);
    snprintf(l_text, sizeof l_text, "%lld", (long long)limit);
    const char *p[4] = {team_id, run_id, a_text, l_text};
    *out = lp_db_rows(a, lp_db_query(db, sql[by], 4, p, err), sizeof **out, read_rank, "ranking", n, err);
    return *out ? 0 : -1;
}

/* The latest finished score of one column per item (a constant of this file). */
#define LATEST(col)                                                                                               \
    "SELECT u.ord, s.score FROM unnest($3::uuid[]) WITH ORDINALITY AS u(id, ord) "                               \
    "CROSS JOIN LATERAL (SELECT m." col "::float8 AS score FROM model_run_items m WHERE m.model_id = $2 "        \
    "AND m.team_id = $1 AND m.item_id = u.id AND m.entropy_rank IS NOT NULL ORDER BY m.created_at DESC LIMIT 1) s"

int lp_db_model_scores_latest(lp_db *db, const char *team_id, const char *model_id, lp_db_rank_by by,
                              const char *const *item_ids, size_t n, double *scores, lp_error *err)
{
    static const char *const sql[LP_DB_RANK_COUNT] = {LATEST("least_confidence"), LATEST("margin"),
                                                      LATEST("entropy"), LATEST("novelty")};
    lp_sqlb b;
    for (size_t i = 0; i < n; i++)
        scores[i] = NAN;
    if (n == 0)
        return 0;
    if (lp_sqlb_init(&b, err) != 0)
        return -1;
    lp_sqlb_param(&b, team_id);
    lp_sqlb_param(&b, model_id);
    lp_sqlb_param(&b, lp_sqlb_array(&b, item_ids, n));
    PGresult *r = lp_sqlb_query_batch(&b, db, sql[by], err);
    if (!r)
        return -1;
    for (int row = 0; row < PQntuples(r); row++) {
        int64_t ord = lp_db_int_or(r, row, 0, 0);
        if (ord >= 1 && (size_t)ord <= n && !PQgetisnull(r, row, 1))
            scores[ord - 1] = strtod(PQgetvalue(r, row, 1), NULL);
    }
    PQclear(r);
    return 0;
}
