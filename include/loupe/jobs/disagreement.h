/* Hard-example mining in the database: the disagreement of a run's
 * predictions with the items' human annotations (loupe/models/disagree.h,
 * at IoU LP_DISAGREEMENT_IOU), computed from what is stored and stored per
 * item and run (loupe/db/disagreements_sql.h; docs/MODELS.md,
 * "Disagreement"). Used by models.run as its pages are stored, and by the
 * API to bring stale rows up to date. */
#ifndef LOUPE_JOBS_DISAGREEMENT_H
#define LOUPE_JOBS_DISAGREEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"

#define LP_DISAGREEMENT_IOU 0.5

/* Items one statement compares at most. */
#define LP_DISAGREEMENT_BATCH 500

/* Computes and stores the disagreement of run_id (a run of model_id) with
 * items[0..n) (n at most LP_ITEMS_IDS_MAX), replacing what was stored for
 * them: a row per item, without a value while the item has no human shape;
 * batches of LP_DISAGREEMENT_BATCH, each in the caller's transaction when
 * one is open, else in its own. 0 or -1. */
int lp_disagreement_store(lp_db *db, const lp_config *cfg, const char *team_id, const char *model_id,
                          const char *run_id, const char *const *item_ids, size_t n, lp_error *err);

/* Computes again the rows of run_id (of item_id only, when not NULL) made
 * stale by annotation changes since they were stored. The number of rows
 * computed, or -1. */
int64_t lp_disagreement_refresh(lp_db *db, const lp_config *cfg, const char *team_id, const char *run_id,
                                const char *item_id, lp_error *err);

/* Computes again the stale rows of the items of item_ids_json (a JSON
 * array of item ids), of every run: called where annotations are saved,
 * after the items' annotation versions were bumped, in the saving
 * transaction, so that filters by disagreement are right once it commits.
 * Costs one probe per item when no run compared them. The number of rows
 * computed, or -1. */
int64_t lp_disagreement_refresh_items(lp_db *db, const lp_config *cfg, const char *team_id,
                                      const char *item_ids_json, lp_error *err);

#endif
