/* Statements about what batch runs of models learned per item
 * (src/db/model_runs_sql.c, migrations/0039_model_run_items.sql): the
 * active-learning scores stored per (run, item), their ranks, and the
 * latest score of an item by a model. Scoped by team. */
#ifndef LOUPE_DB_MODEL_RUNS_SQL_H
#define LOUPE_DB_MODEL_RUNS_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/teams_sql.h"

/* The ranking strategies (docs/MODELS.md "Active learning"). */
typedef enum lp_db_rank_by {
    LP_DB_RANK_LEAST_CONFIDENCE = 0,
    LP_DB_RANK_MARGIN,
    LP_DB_RANK_ENTROPY,
    LP_DB_RANK_NOVELTY,
    LP_DB_RANK_COUNT
} lp_db_rank_by;

/* "least_confidence", "margin", "entropy", "novelty", NULL. */
extern const char *const lp_db_rank_by_names[];

/* 0 with *out, or -1 when name is none of lp_db_rank_by_names. */
int lp_db_rank_by_from_name(const char *name, lp_db_rank_by *out);

/* Stores one page of a run's items, given as a JSON array of {"item_id",
 * "slot", "detections", "least_confidence", "margin", "entropy",
 * "embedding": [floats], "embedding_source": "model" | "descriptor"}, with
 * one statement; an item the run stored already is left as it is.
 * Returns the rows inserted, or -1. */
int64_t lp_db_model_run_items_insert(lp_db *db, const char *team_id, const char *model_id, const char *run_id,
                                     const char *rows_json, lp_error *err);

/* How many items run_id scored (*n) and the longest of their embeddings
 * (*dims). 0 or -1. */
int lp_db_model_run_embedding_size(lp_db *db, const char *run_id, size_t *n, size_t *dims, lp_error *err);

/* One page of the run's embeddings in item id order: up to limit items
 * after after_item (NULL: from the first), their ids (arena strings) and
 * n × dims floats (*x, arena). LP_E_INVALID when one is not dims long.
 * 0 or -1. */
int lp_db_model_run_embeddings_page(lp_db *db, lp_arena *a, const char *run_id, const char *after_item, size_t limit,
                                    size_t dims, const char ***ids, float **x, size_t *n, lp_error *err);

/* Writes the run's ranks with one statement: novelty[i] and novelty_rank
 * rank[i] for item ids[i], and the ranks of least confidence, margin and
 * entropy (highest first, ties by item id). 0 or -1. */
int lp_db_model_run_rank(lp_db *db, const char *run_id, const char *const *ids, const double *novelty,
                         const size_t *rank, size_t n, lp_error *err);

/* Whether run_id is a batch run of the team's model model_id: 0 with its
 * job status in status (cap bytes), or -1 with LP_E_NOT_FOUND. */
int lp_db_model_run_status(lp_db *db, const char *team_id, const char *model_id, const char *run_id, char *status,
                           size_t cap, lp_error *err);

typedef struct lp_model_rank_row {
    char item_id[LP_DB_UUID_LEN];
    const char *slot, *embedding_source;
    int64_t rank, detections;
    double least_confidence, margin, entropy, novelty;
} lp_model_rank_row;

/* A page of the run's items in rank order of by, after rank after (0: from
 * the first), at most limit. 0 or -1. */
int lp_db_model_ranking(lp_db *db, lp_arena *a, const char *team_id, const char *run_id, lp_db_rank_by by,
                        int64_t after, int64_t limit, lp_model_rank_row **out, size_t *n, lp_error *err);

/* The latest finished score by of each of the n items by the team's model
 * model_id: scores[i] for item_ids[i], NAN when no finished run of the
 * model scored it. 0 or -1. */
int lp_db_model_scores_latest(lp_db *db, const char *team_id, const char *model_id, lp_db_rank_by by,
                              const char *const *item_ids, size_t n, double *scores, lp_error *err);

#endif
